//! `run --reuse-workers`: the same processes run every trial of a mode, and the race, the locks, the faults and the traces behave as with fresh workers.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

use crate::common::{CERTAIN_RACE, assert_empty, run_json, start, workers_of};

#[test]
fn reused_workers_keep_every_locked_trial_exact() {
    let report = run_json(&[
        "--reuse-workers",
        "--lock=all",
        "--trials",
        "200",
        "--depositors",
        "2",
        "--withdrawers",
        "1",
        "--ops",
        "50",
        "--pause",
        "0",
        "--window",
        "0",
        "--expect",
        "exact",
    ]);
    assert_eq!(report["parameters"]["reuse_workers"], true);
    for m in report["modes"].as_array().unwrap() {
        assert_eq!(m["summary"]["consistent"], 200, "{}", m["lock"]);
        assert_eq!(m["trials"].as_array().unwrap().len(), 200);
    }
}

#[test]
fn the_same_two_processes_run_every_trial() {
    // Three trials whose single operation sits in a 500ms window: the
    // workers are alive for about 1.5 seconds. With fresh workers, /proc would
    // show a new pair per trial; reused, only the first pair ever exists.
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--reuse-workers", "--no-lock", "--trials", "3"];
    let mut child = start(
        &[&args[..], &["--ops", "1", "--window", "500ms"]].concat(),
        tmp.path(),
    );
    let mut seen = BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        seen.extend(workers_of(child.id()));
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["modes"][0]["summary"]["trials"], 3);
    assert_eq!(seen.len(), 2, "worker processes seen: {seen:?}");
    assert_empty(tmp.path());
}

#[test]
fn the_forced_race_and_its_explanation_are_the_same_with_reused_workers() {
    let mut args = CERTAIN_RACE.to_vec();
    args.extend(["--trials", "4", "--explain=4", "--seed", "3"]);
    let fresh = run_json(&args);
    args.push("--reuse-workers");
    let reused = run_json(&args);
    let trials = |r: &Value| r["modes"][0]["trials"].as_array().unwrap().clone();
    let (fresh, reused) = (trials(&fresh), trials(&reused));
    assert_eq!(reused.len(), 4);
    for (f, r) in fresh.iter().zip(&reused) {
        // Every trial loses exactly the one deposit the schedule forces, and
        // its trace tells the same story access by access.
        assert_eq!(r["deviation"], -1, "{r}");
        assert_eq!(r["trace"], f["trace"]);
        assert_eq!(r["worker_seeds"], f["worker_seeds"]);
    }
}

#[test]
fn a_dead_holder_is_replaced_and_the_next_trials_run() {
    // As in faults.rs: every trial's doomed worker dies holding the lock
    // while the others still need it. With reused workers the dead one is
    // replaced before the next trial: had it not been, trials 2 and 3 would
    // time out at the start barrier. Spin never recovers: its trials time
    // out, and each next trial starts a whole new set of workers.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(cargo_bin("bankrace"))
        .args(["run", "--reuse-workers", "--lock=mutex", "--lock=flock"])
        .args(["--lock=spin", "--kill-holder", "1", "--timeout", "1s"])
        .args(["--trials", "3", "--ops", "100", "--window", "1ms"])
        .args(["--pause", "0", "--depositors", "2", "--withdrawers", "1"])
        .args(["--seed", "7", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for m in report["modes"].as_array().unwrap() {
        let lock = m["lock"].as_str().unwrap();
        let trials = m["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 3);
        for t in trials {
            assert!(t["killed_worker"].is_u64(), "{lock}: no holder died: {t}");
            if lock == "spin" {
                assert_eq!(t["status"], "failed", "{t}");
                assert!(
                    t["cause"].as_str().unwrap().contains("lock never released"),
                    "{t}"
                );
            } else {
                assert_eq!(t["status"], "ok", "{lock}: {t}");
                assert_eq!(t["consistent"], true, "{lock}: {t}");
            }
        }
    }
    assert_empty(tmp.path());
}
