//! End-to-end tests of `bankrace run`: the real binary, real worker processes, real shared memory.

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::{CERTAIN_RACE, DOUBLE_CHECK, run_json};

fn mode<'a>(report: &'a Value, lock: Option<&str>) -> &'a Value {
    report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["lock"].as_str() == lock)
        .unwrap_or_else(|| panic!("no mode with lock {lock:?}"))
}

fn summary(mode: &Value, field: &str) -> i64 {
    mode["summary"][field]
        .as_i64()
        .unwrap_or_else(|| panic!("summary.{field}"))
}

#[test]
fn every_strategy_is_exact_in_every_trial_with_many_workers() {
    // Three depositors and three withdrawers hammering the balance with no
    // pause: any lock that failed to exclude would lose updates here.
    for scenario in ["lost-update", "overdraft"] {
        let report = run_json(&[
            "--scenario",
            scenario,
            "--lock=all",
            "--trials",
            "4",
            "--depositors",
            "3",
            "--withdrawers",
            "3",
            "--ops",
            "2000",
            "--amount",
            "1",
            "--initial",
            "100",
            "--pause",
            "0",
            "--window",
            "0",
        ]);
        assert_eq!(report["modes"].as_array().unwrap().len(), 4);
        for m in report["modes"].as_array().unwrap() {
            assert_eq!(summary(m, "consistent"), 4, "{scenario}/{}: {m}", m["lock"]);
            assert_eq!(summary(m, "failed"), 0);
            for t in m["trials"].as_array().unwrap() {
                assert_eq!(t["status"], "ok");
                assert_eq!(t["overdrawn"], false);
                assert_eq!(t["final_balance"], t["expected_balance"]);
            }
        }
    }
}

#[test]
fn locks_serialize_a_wide_window() {
    // With a 1ms window inside the lock, an unlocked run would lose nearly
    // every update; every locked mode must still be exact.
    let report = run_json(&[
        "--lock=mutex",
        "--lock=flock",
        "--lock=spin",
        "--trials",
        "3",
        "--depositors",
        "2",
        "--withdrawers",
        "1",
        "--ops",
        "10",
        "--window",
        "1ms",
        "--pause",
        "0",
    ]);
    for m in report["modes"].as_array().unwrap() {
        assert_eq!(summary(m, "consistent"), 3, "{}", m["lock"]);
        assert_eq!(m["expected_balance"], 200 + 10);
    }
}

#[test]
fn an_unlocked_forced_interleaving_always_loses_an_update() {
    // Two depositors, one deposit each, forced through the turnstile: both
    // read 200 before either writes, so both write 201 and one deposit is
    // lost in every trial. No window needed: the schedule makes it certain.
    let mut args = CERTAIN_RACE.to_vec();
    args.extend(["--trials", "3"]);
    let report = run_json(&args);
    let m = mode(&report, None);
    assert_eq!(m["expected_balance"], 202);
    for t in m["trials"].as_array().unwrap() {
        assert_eq!(t["final_balance"], 201, "{t}");
        assert_eq!(t["deviation"], -1);
    }
    assert_eq!(summary(m, "inconsistent"), 3);
}

#[test]
fn an_unlocked_forced_interleaving_always_overdraws_the_atm() {
    // The tutorial's ATMs: 15,000 in the account, two withdrawals of 10,000.
    // The schedule makes both check before either debits: both checks see
    // 15,000, both debits go through, and the account ends at -5,000.
    let report = run_json(&[
        "--scenario",
        "overdraft",
        "--no-lock",
        "--window",
        "0",
        "--trials",
        "2",
        "--schedule",
        DOUBLE_CHECK,
    ]);
    let unlocked = mode(&report, None);
    for t in unlocked["trials"].as_array().unwrap() {
        assert_eq!(t["final_balance"], -5_000, "{t}");
        assert_eq!(t["overdrawn"], true);
        assert_eq!(t["withdrawals_succeeded"], 2);
        assert_eq!(t["overpaid"], 5_000);
    }
    assert_eq!(summary(unlocked, "overdrawn"), 2);
}

#[test]
fn a_lock_lets_only_one_atm_withdrawal_through() {
    // Whatever the timing, under the lock the second check sees 5,000.
    let report = run_json(&["--scenario", "overdraft", "--lock", "--trials", "2"]);
    let locked = mode(&report, Some("mutex"));
    for t in locked["trials"].as_array().unwrap() {
        assert_eq!(t["final_balance"], 5_000, "{t}");
        assert_eq!(t["withdrawals_succeeded"], 1);
        assert_eq!(t["withdrawals_refused"], 1);
    }
    assert_eq!(summary(locked, "overdrawn"), 0);
}

#[test]
fn json_carries_the_contract_fields() {
    let report = run_json(&["--trials", "3", "--seed", "42", "--ops", "5"]);
    assert_eq!(report["seed"], 42);
    assert_eq!(report["parameters"]["seed"], 42);
    let modes = report["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 2, "no flag runs both modes");
    assert!(modes[0]["lock"].is_null(), "the unlocked mode comes first");
    assert_eq!(modes[1]["lock"], "mutex");
    for m in modes {
        assert!(m["expected_balance"].is_i64());
        let trials = m["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 3);
        for (i, t) in trials.iter().enumerate() {
            assert_eq!(t["trial"], i as u64 + 1);
            assert!(t["final_balance"].is_i64());
            assert_eq!(t["status"], "ok");
        }
        for f in ["trials", "consistent", "inconsistent", "failed"] {
            assert!(m["summary"][f].is_u64(), "summary.{f}");
        }
        for f in ["min", "max", "mean", "median", "stddev", "ops_per_sec"] {
            assert!(m["summary"][f].is_number(), "summary.{f}");
        }
        assert_eq!(
            summary(m, "consistent") + summary(m, "inconsistent") + summary(m, "failed"),
            3
        );
    }
}

#[test]
fn the_text_report_shows_both_modes_a_histogram_and_a_verdict() {
    cargo_bin_cmd!("bankrace")
        .args(["run", "--trials", "3", "--ops", "5", "--seed", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no lock"))
        .stdout(predicate::str::contains("mutex"))
        .stdout(predicate::str::contains("seed 1"))
        .stdout(predicate::str::contains("◀ expected"))
        .stdout(predicate::str::contains("mutex: 3 of 3 exact"));
}

#[test]
fn bad_input_gets_a_usage_error_and_status_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--trials", "0"], "--trials must be between 1"),
        (&["--trials", "many"], "invalid value"),
        (
            &["--depositors", "0", "--withdrawers", "0"],
            "at least one worker",
        ),
        (&["--depositors", "300"], "between 0 and 256"),
        (&["--amount", "0"], "--amount must be between 1"),
        (&["--ops", "1000000000"], "--ops must be between 0"),
        (&["--pause", "10"], "has no unit"),
        (&["--window", "5 fortnights"], "unknown unit"),
        (&["--pause", "11s"], "at most 10s"),
        (&["--initial", "9223372036854775807"], "does not fit"),
        (&["--lock=sometimes"], "invalid value"),
        (&["--scenario", "heist"], "invalid value"),
        (&["--frobnicate"], "unexpected argument"),
    ];
    for (args, message) in cases {
        let out = cargo_bin_cmd!("bankrace")
            .arg("run")
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed a report");
    }
}
