//! End-to-end tests of `--trace`, `--explain`, `--export-trace` and `--schedule`: real worker processes, real turnstile.

use serde_json::Value;

use crate::common::{DOUBLE_CHECK, run_json, run_text};

/// The schedule the README documents: both read 200, D1 writes 201, W1 writes 199 over it.
const CLASSIC: &str = "D1:read W1:read D1:write W1:write";

fn trials(mode: &Value) -> &Vec<Value> {
    mode["trials"].as_array().unwrap()
}

/// Checks the identity of every trial of `report` and returns how many
/// lost updates and overdrafts the traces found, all modes together.
fn check_identity_everywhere(report: &Value) -> (usize, usize) {
    let (mut lost, mut overdrafts) = (0, 0);
    for m in report["modes"].as_array().unwrap() {
        for t in trials(m) {
            assert_eq!(t["status"], "ok", "{t}");
            let trace = &t["trace"];
            let id = &trace["identity"];
            assert_eq!(id["holds"], true, "{}: {id}", m["lock"]);
            // expected − final = the sum of the lost amounts, from the report's
            // own fields (the books), not only the trace's.
            let gap =
                t["expected_balance"].as_i64().unwrap() - t["final_balance"].as_i64().unwrap();
            let sum: i64 = trace["lost_updates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["amount"].as_i64().unwrap())
                .sum();
            assert_eq!(gap, sum, "{}", m["lock"]);
            // Every access is in the trace: two per operation that wrote.
            let events = trace["events"].as_array().unwrap();
            assert!(!events.is_empty());
            // The trace sees an overdraft exactly when the workers did.
            let found = trace["overdrafts"].as_array().unwrap().len();
            assert_eq!(t["overdrawn"], found > 0, "{t}");
            if m["lock"].is_string() {
                assert_eq!(sum, 0, "a lock lost an update");
                assert_eq!(found, 0, "a lock overdrew");
            }
            lost += trace["lost_updates"].as_array().unwrap().len();
            overdrafts += found;
        }
    }
    (lost, overdrafts)
}

#[test]
fn the_identity_holds_in_every_traced_trial_of_both_scenarios() {
    // Three depositors and three withdrawers with no pause or window: the
    // unlocked mode loses updates (or overdraws) at random, and every trial
    // must still add up exactly, in every mode.
    for _run in 0..2 {
        let report = run_json(&[
            "--trace",
            "--no-lock",
            "--lock=mutex",
            "--lock=atomic",
            "--trials",
            "5",
            "--depositors",
            "3",
            "--withdrawers",
            "3",
            "--ops",
            "200",
            "--pause",
            "0",
            "--window",
            "0",
        ]);
        check_identity_everywhere(&report);
        // A few depositors against many withdrawers of an almost empty
        // account: checks pass and fail, and unlocked ones overdraw.
        let report = run_json(&[
            "--scenario",
            "overdraft",
            "--trace",
            "--no-lock",
            "--lock=spin",
            "--lock=atomic",
            "--trials",
            "5",
            "--depositors",
            "1",
            "--withdrawers",
            "4",
            "--initial",
            "3",
            "--amount",
            "1",
            "--ops",
            "100",
            "--window",
            "10us",
            "--pause",
            "0",
        ]);
        check_identity_everywhere(&report);
    }
}

#[test]
fn the_classic_schedule_loses_the_deposit_in_every_one_of_100_trials() {
    let report = run_json(&[
        "--no-lock",
        "--trace",
        "--trials",
        "100",
        "--ops",
        "1",
        "--pause",
        "0",
        "--window",
        "0",
        "--schedule",
        CLASSIC,
    ]);
    let m = &report["modes"][0];
    assert_eq!(report["parameters"]["schedule"], CLASSIC);
    assert_eq!(trials(m).len(), 100);
    for t in trials(m) {
        assert_eq!(t["final_balance"], 199, "{t}");
        let lost = t["trace"]["lost_updates"].as_array().unwrap();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0]["worker"], "D1");
        assert_eq!(lost[0]["erased_by"], "W1");
        // The order of the accesses is the schedule's.
        let order: Vec<String> = t["trace"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["worker"].as_str().unwrap(),
                    e["access"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(order.join(" "), CLASSIC);
    }
    assert_eq!(m["summary"]["inconsistent"], 100);
}

#[test]
fn under_a_lock_the_schedule_is_refused_with_its_cause_instead_of_hanging() {
    let report = run_json(&[
        "--lock=mutex",
        "--lock=flock",
        "--lock=spin",
        "--trials",
        "2",
        "--ops",
        "1",
        "--pause",
        "0",
        "--window",
        "0",
        "--schedule",
        CLASSIC,
    ]);
    for m in report["modes"].as_array().unwrap() {
        let lock = m["lock"].as_str().unwrap();
        for t in trials(m) {
            assert_eq!(t["status"], "failed");
            let cause = t["cause"].as_str().unwrap();
            assert_eq!(
                cause,
                format!(
                    "the schedule cannot be followed past the lock ({lock}): D1 holds it and \
                     waits for step 2 (W1:read), but W1 is waiting for the lock"
                )
            );
        }
    }
    // The coordinator says why, in the report; its workers, which gave up,
    // add nothing on the user's terminal.
    let (code, _, stderr) = run_text(&[
        "--lock=mutex",
        "--trials",
        "2",
        "--ops",
        "1",
        "--pause",
        "0",
        "--window",
        "0",
        "--schedule",
        CLASSIC,
        "-q",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("worker"), "{stderr}");
    // A serial schedule goes through the lock step by step.
    let report = run_json(&[
        "--lock",
        "--trials",
        "2",
        "--ops",
        "1",
        "--pause",
        "0",
        "--window",
        "0",
        "--schedule",
        "W1:read W1:write D1:read D1:write",
    ]);
    assert_eq!(report["modes"][0]["summary"]["consistent"], 2);
}

#[test]
fn a_refused_withdrawal_the_schedule_expected_to_debit_is_a_clear_failure() {
    // 5,000 in the account, withdrawals of 10,000: W1's check refuses, so it
    // never makes the write the schedule names. With one operation it has
    // finished; with two, its next access is the second check.
    for (ops, want) in [
        (
            "1",
            "the schedule cannot be followed: W1 finished its operations before step 2 (W1:write)",
        ),
        (
            "2",
            "the schedule cannot be followed: step 2 is W1:write, but W1's next access is not \
             a write (a refused withdrawal makes no write)",
        ),
    ] {
        let report = run_json(&[
            "--scenario",
            "overdraft",
            "--no-lock",
            "--initial",
            "5000",
            "--trials",
            "1",
            "--ops",
            ops,
            "--schedule",
            "W1:read W1:write",
        ]);
        let t = &report["modes"][0]["trials"][0];
        assert_eq!(t["status"], "failed");
        assert_eq!(t["cause"], want);
    }
}

/// The explanation part of a text report: everything after the verdict.
fn explanation(stdout: &str) -> String {
    let at = stdout.find(" traced trials ").expect("an explanation");
    let start = stdout[..at].rfind("\n\n").unwrap() + 2;
    stdout[start..].to_string()
}

#[test]
fn explain_shows_the_lost_write() {
    let (code, stdout, stderr) = run_text(&[
        "--no-lock",
        "--explain",
        "--trials",
        "2",
        "--ops",
        "1",
        "--window",
        "0",
        "--schedule",
        CLASSIC,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(explanation(&stdout));
}

#[test]
fn explain_shows_the_double_check_of_an_overdraft() {
    let (code, stdout, stderr) = run_text(&[
        "--scenario",
        "overdraft",
        "--no-lock",
        "--explain=1",
        "--trials",
        "2",
        "--window",
        "0",
        "--schedule",
        DOUBLE_CHECK,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(explanation(&stdout));
}

#[test]
fn export_trace_writes_invoke_ok_pairs_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.jsonl");
    let (code, _, stderr) = run_text(&[
        "--no-lock",
        "--trials",
        "2",
        "--ops",
        "1",
        "--window",
        "0",
        "--schedule",
        CLASSIC,
        "--export-trace",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two trials, two operations each, an invoke and an ok per operation.
    assert_eq!(lines.len(), 8);
    let first: Vec<String> = lines[..4]
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                l["type"].as_str().unwrap(),
                l["worker"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(first, ["invoke D1", "invoke W1", "ok D1", "ok W1"]);
    assert_eq!(
        lines[2]["value"],
        serde_json::json!([["r", "balance", 200], ["w", "balance", 201]])
    );
    assert_eq!(
        lines[3]["value"],
        serde_json::json!([["r", "balance", 200], ["w", "balance", 199]])
    );
    assert_eq!(
        lines[1]["value"],
        serde_json::json!([["r", "balance", null], ["w", "balance", 199]])
    );
    for (i, l) in lines[4..].iter().enumerate() {
        assert_eq!(l["trial"], 2);
        assert_eq!(l["index"], i);
        assert_eq!(l["f"], "txn");
    }
}

#[test]
fn bad_schedules_and_traces_get_a_usage_error_and_status_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--schedule", "D1:read W1"], "--schedule: step 2 'W1'"),
        (&["--schedule", "D3:read"], "there is 1 depositor"),
        (&["--schedule", "D1:write"], "has not read"),
        (
            &["--lock=atomic", "--schedule", "D1:read"],
            "cannot force --lock=atomic",
        ),
        (
            &["--trace", "--ops", "600000"],
            "at most 1000000 operations per trial",
        ),
        (&["--trace", "--ops", "100000", "--trials", "11"], "per run"),
    ];
    for (args, message) in cases {
        let (code, stdout, stderr) = run_text(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        crate::common::assert_usage_error(&stderr, message);
        assert!(stdout.is_empty());
    }
    let (code, _, stderr) = run_text(&[
        "--trials",
        "1",
        "--export-trace",
        "/nonexistent/dir/h.jsonl",
    ]);
    // Checked with the other exports, before any trial: a usage error.
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/dir/h.jsonl: the directory /nonexistent/dir does not exist"),
        "{stderr}"
    );
}

#[test]
fn a_killed_holder_is_accounted_for_not_reported_as_a_bug() {
    // The dying worker took a sequence number for its read and died before
    // recording the operation: the analysis knows it was killed.
    let (code, _, stderr) = crate::common::run_text(&[
        "--lock=mutex",
        "--trace",
        "--kill-holder",
        "1",
        "--trials",
        "3",
        "--seed",
        "1",
        "-q",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    for scenario in ["lost-update", "overdraft"] {
        let (code, _, stderr) = crate::common::run_text(&[
            "--scenario",
            scenario,
            "--no-lock",
            "--lock=mutex",
            "--lock=flock",
            "--lock=atomic",
            "--explain",
            "--kill-holder",
            "1",
            "--trials",
            "3",
            "--seed",
            "3",
        ]);
        assert_eq!(code, Some(0), "{scenario}: {stderr}");
        assert!(!stderr.contains("BUG"), "{scenario}: {stderr}");
    }
}
