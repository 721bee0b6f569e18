//! End-to-end tests of `bankrace quiz`: the answer is checked against real worker processes.

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

#[test]
fn a_right_answer_passes_and_a_wrong_one_gets_status_3() {
    for seed in 0..4u64 {
        // The schedule's own arithmetic; the binary checks that the real
        // processes agree with it, and fails with status 1 if not.
        let right = bankrace::quiz::generate(seed).predicted();
        cargo_bin_cmd!("bankrace")
            .args([
                "quiz",
                "--seed",
                &seed.to_string(),
                "--answer",
                &right.to_string(),
            ])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(format!("seed {seed}")))
            .stdout(predicate::str::contains(format!(
                "Correct: the real run ended at {right}."
            )))
            .stdout(predicate::str::contains("the trace accounts for all of it"));
        cargo_bin_cmd!("bankrace")
            .args([
                "quiz",
                "--seed",
                &seed.to_string(),
                "--answer",
                &(right + 1).to_string(),
            ])
            .assert()
            .code(3)
            .stdout(predicate::str::contains(format!(
                "Not quite: you said {}, the real run ended at {right}.",
                right + 1
            )));
    }
}

#[test]
fn answers_come_from_stdin_and_a_missing_one_is_a_usage_error() {
    let right = bankrace::quiz::generate(9).predicted();
    cargo_bin_cmd!("bankrace")
        .args(["quiz", "--seed", "9"])
        .write_stdin(format!("plenty\n{right}\n"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("'plenty' is not a whole number"))
        .stdout(predicate::str::contains("Correct"));
    cargo_bin_cmd!("bankrace")
        .args(["quiz", "--seed", "9"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no answer: the input ended before a number was given",
        ))
        .stderr(predicate::str::contains("panicked").not());
}
