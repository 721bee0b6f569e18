//! `--trace`, `--explain` and `--export-trace` in the transfer scenario: the certain lost debit named with its account and the write that erased it, the certain deadlock told by its lock steps, both in real processes.

use serde_json::Value;

use crate::common::{run_json, run_text};
use crate::transfer::assert_invariants;

/// The certain lost debit of `tests/it/transfer.rs` (three transferers on
/// two accounts with `--collide`: T1 and T3 both read `#1` before either
/// writes it; the 300 ms window is what keeps T2's credit to `#1` out of
/// their debits, see there).
const LOST_DEBIT: [&str; 16] = [
    "--scenario",
    "transfer",
    "--accounts",
    "2",
    "--transferers",
    "3",
    "--ops",
    "1",
    "--collide",
    "--window",
    "300ms",
    "--amount",
    "7",
    "--trials",
    "1",
    "--no-lock",
];

/// Two transferers in opposite directions under locks taken in naming
/// order: `--collide` holds each after its first lock until both hold
/// one, so the cycle closes in every trial.
const DEADLOCK: [&str; 13] = [
    "--scenario",
    "transfer",
    "--accounts",
    "2",
    "--transferers",
    "2",
    "--ops",
    "1",
    "--collide",
    "--lock=mutex-unordered",
    "--trials",
    "2",
    "--trace",
];

/// The text with every run of white space (the wrapping) made one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_lost_debit_is_named_with_its_account_and_the_write_that_erased_it() {
    let mut args = LOST_DEBIT.to_vec();
    args.push("--explain");
    let (code, stdout, stderr) = run_text(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("BUG"), "{stderr}");
    let text = flat(&stdout);
    for needle in [
        "no lock, trial 1: 1 debit lost: 7 created",
        "read #1 100",
        "write #1 93",
        "'s debit of 7 from #1 (seq ",
        "was overwritten by T",
        "final 207 - expected 200 = +7",
        "the trace accounts for all of it",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{stdout}");
    }
}

#[test]
fn the_lost_debit_in_json_carries_its_account_and_the_identity_holds() {
    let mut args = LOST_DEBIT.to_vec();
    args.push("--trace");
    let report = run_json(&args);
    assert_invariants(&report);
    let trace = &report["modes"][0]["trials"][0]["trace"];
    let lost = trace["lost_updates"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "{trace}");
    assert_eq!(
        (lost[0]["account"].as_u64(), lost[0]["amount"].as_i64()),
        (Some(1), Some(-7))
    );
    // Both debits of #1 were T1's and T3's; the eraser is the other one.
    let (victim, eraser) = (&lost[0]["worker"], &lost[0]["erased_by"]);
    assert!(victim != eraser && ["T1", "T3"].contains(&victim.as_str().unwrap()));
    assert_eq!(trace["identity"]["holds"], true, "{trace}");
    assert_eq!(trace["identity"]["lost"], -7);
    // Every access names its account; three reads, three writes, three credits.
    let events = trace["events"].as_array().unwrap();
    assert_eq!(events.len(), 9);
    assert!(events.iter().all(|e| e["account"].is_u64()));
    let credits = events.iter().filter(|e| e["access"] == "credit").count();
    assert_eq!(credits, 3);
}

/// The lock steps that stayed open when the trial ended, as (step, worker, account, seq).
fn stuck(trial: &Value) -> Vec<(String, String, u64, u64)> {
    trial["trace"]["stuck_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["worker"].as_str().unwrap().to_string(),
                s["account"].as_u64().unwrap(),
                s["seq"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_deadlock_is_told_by_the_lock_steps_that_closed_the_cycle() {
    let report = run_json(&DEADLOCK);
    assert_invariants(&report);
    for t in report["modes"][0]["trials"].as_array().unwrap() {
        assert_eq!(t["status"], "deadlocked");
        let steps = stuck(t);
        let locked: Vec<_> = steps.iter().filter(|s| s.0 == "locked").collect();
        let mut held: Vec<(&str, u64)> = locked.iter().map(|s| (s.1.as_str(), s.2)).collect();
        held.sort();
        assert_eq!(held, [("T1", 1), ("T2", 2)], "{steps:?}");
        // The waits never granted: each for the lock the other holds.
        let mut open: Vec<(&str, u64)> = steps
            .iter()
            .filter(|s| s.0 == "waits-for" && !held.contains(&(s.1.as_str(), s.2)))
            .map(|s| (s.1.as_str(), s.2))
            .collect();
        open.sort();
        assert_eq!(open, [("T1", 2), ("T2", 1)], "{steps:?}");
        // The gate holds each after its first lock until both hold one:
        // both lockings come before either open wait.
        let last_lock = locked.iter().map(|s| s.3).max().unwrap();
        let first_open_wait = steps
            .iter()
            .filter(|s| s.0 == "waits-for" && !held.contains(&(s.1.as_str(), s.2)))
            .map(|s| s.3)
            .min()
            .unwrap();
        assert!(last_lock < first_open_wait, "{steps:?}");
        assert!(t["trace"]["identity"].is_null());
    }
}

#[test]
fn explain_tells_each_deadlock_in_words_and_the_export_marks_its_transfers_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.jsonl");
    let mut args = DEADLOCK.to_vec();
    args.extend(["--explain", "--export-trace", file.to_str().unwrap()]);
    let (code, stdout, stderr) = run_text(&args);
    assert_eq!(code, Some(0), "{stderr}");
    let text = flat(&stdout);
    assert!(
        text.contains("mutex-unordered: 2 of 2 traced trials deadlocked; how the cycle closed:"),
        "{stdout}"
    );
    for needle in [
        "T1 locked #1 (seq",
        "T2 locked #2 (seq",
        "T1 waits for #2 (seq",
        "T2 waits for #1 (seq",
        "each waits for a lock another holds",
    ] {
        assert_eq!(text.matches(needle).count(), 2, "{needle:?} in:\n{stdout}");
    }
    let lines: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Per trial, each transfer invoked and, stopped before its credit, info.
    assert_eq!(lines.len(), 8);
    assert_eq!(lines.iter().filter(|l| l["type"] == "info").count(), 4);
    assert!(lines.iter().all(|l| l["type"] != "ok"));
    let first = &lines.iter().find(|l| l["type"] == "info").unwrap()["value"];
    let register = first[0][1].as_str().unwrap();
    assert!(register == "#1" || register == "#2", "{first}");
}
