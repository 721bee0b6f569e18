//! Faults and interruptions: signals to the coordinator, killed workers, dead lock holders, and what is left behind (nothing).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use rustix::process::Signal;
use serde_json::Value;

use crate::common::{assert_empty, eventually, signal, signal_if_alive, start, workers_of};

#[test]
fn a_signal_ends_the_run_reports_what_completed_and_leaves_nothing() {
    for (sig, status, name) in [
        (Signal::INT, 130, "SIGINT"),
        (Signal::TERM, 143, "SIGTERM"),
        (Signal::HUP, 129, "SIGHUP"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        // Trials of 50 operations with a 2ms window: long enough that the
        // signal lands while workers are running.
        let child = start(&["--trials", "1000", "--window", "2ms"], tmp.path());
        let pid = child.id();
        assert!(eventually(Duration::from_secs(10), || !workers_of(pid).is_empty()));
        signal(pid, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(status), "{name}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("a report is printed");
        assert_eq!(report["interrupted"], name);
        for m in report["modes"].as_array().unwrap() {
            assert!(m["trials"].as_array().unwrap().len() < 1000);
            for t in m["trials"].as_array().unwrap() {
                assert_eq!(t["status"], "ok", "only completed trials are reported");
            }
        }
        assert!(
            workers_of(pid).is_empty(),
            "{name}: workers outlived the run"
        );
        assert_empty(tmp.path());
    }
}

#[test]
fn a_signal_ends_a_run_of_reused_workers_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--reuse-workers", "--trials", "100000", "--window", "2ms"];
    let child = start(&args, tmp.path());
    let pid = child.id();
    assert!(eventually(Duration::from_secs(10), || !workers_of(pid).is_empty()));
    signal(pid, Signal::INT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    // The streamed document is complete: the run's ending comes last.
    let report: Value = serde_json::from_slice(&out.stdout).expect("a whole JSON document");
    assert_eq!(report["interrupted"], "SIGINT");
    assert_eq!(report["modes"].as_array().unwrap().len(), 2);
    assert!(
        workers_of(pid).is_empty(),
        "reused workers outlived the run"
    );
    assert_empty(tmp.path());
}

#[test]
fn sigkill_of_the_coordinator_takes_its_workers_along() {
    let tmp = tempfile::tempdir().unwrap();
    // Each worker sleeps 5s in its window, so they are alive when we strike.
    let mut child = start(
        &["--trials", "1", "--ops", "2", "--window", "5s", "--no-lock"],
        tmp.path(),
    );
    let pid = child.id();
    assert!(eventually(Duration::from_secs(10), || workers_of(pid)
        .len()
        == 2));
    signal(pid, Signal::KILL);
    child.wait().unwrap();
    assert_empty(tmp.path());
    assert!(
        eventually(Duration::from_secs(1), || workers_of(pid).is_empty()),
        "workers still alive 1s after their coordinator died: {:?}",
        workers_of(pid)
    );
}

/// Starts a run whose first trial's two workers sit in a 1s window, kills
/// worker `which` of them from outside, and returns the coordinator's pid
/// and output.
///
/// Certain by construction: as soon as both workers are seen, both are
/// stopped with SIGSTOP, so neither can finish its window however long this
/// test is descheduled; only then is one killed and the other continued.
/// The 1s window only has to outlast the 10ms between two looks at /proc.
fn kill_a_worker_of_the_first_trial(extra: &[&str], which: usize, tmp: &Path) -> (u32, Output) {
    let mut args = vec!["--ops", "1", "--window", "1s", "--no-lock"];
    args.extend_from_slice(extra);
    let child = start(&args, tmp);
    let pid = child.id();
    let mut workers = Vec::new();
    assert!(eventually(Duration::from_secs(10), || {
        workers = workers_of(pid);
        workers.len() == 2
    }));
    for &w in &workers {
        signal(w, Signal::STOP);
    }
    assert_eq!(
        workers_of(pid),
        workers,
        "a worker ended before it was stopped"
    );
    signal(workers[which], Signal::KILL);
    // The coordinator may already have ended the other worker on seeing the
    // death (a stopped process still dies of SIGKILL): then there is
    // nothing left to continue.
    signal_if_alive(workers[1 - which], Signal::CONT);
    (pid, child.wait_with_output().unwrap())
}

#[test]
fn a_killed_worker_fails_its_trial_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (pid, out) = kill_a_worker_of_the_first_trial(&["--trials", "2"], 0, tmp.path());
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let trials = report["modes"][0]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2, "the run went on after the failed trial");
    assert_eq!(trials[0]["status"], "failed");
    assert!(
        trials[0]["cause"]
            .as_str()
            .unwrap()
            .contains("killed by SIGKILL"),
        "{}",
        trials[0]
    );
    assert_eq!(trials[1]["status"], "ok");
    let summary = &report["modes"][0]["summary"];
    assert_eq!(
        (
            summary["failed"].as_u64(),
            summary["consistent"].as_u64().unwrap() + summary["inconsistent"].as_u64().unwrap()
        ),
        (Some(1), 1)
    );
    assert!(workers_of(pid).is_empty());
    assert_empty(tmp.path());
}

#[test]
fn a_reused_worker_killed_from_outside_fails_its_trial_and_a_new_set_runs_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = ["--trials", "3", "--reuse-workers"];
    let (pid, out) = kill_a_worker_of_the_first_trial(&extra, 1, tmp.path());
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let trials = report["modes"][0]["trials"].as_array().unwrap();
    let statuses: Vec<&str> = trials
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "ok", "ok"]);
    assert!(
        trials[0]["cause"]
            .as_str()
            .unwrap()
            .contains("worker 1 killed by SIGKILL"),
        "{}",
        trials[0]
    );
    assert!(workers_of(pid).is_empty());
    assert_empty(tmp.path());
}

#[test]
fn fail_fast_stops_at_the_first_failed_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) =
        kill_a_worker_of_the_first_trial(&["--trials", "5", "--fail-fast"], 1, tmp.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-fast"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stopped_early"], true);
    assert_eq!(report["modes"][0]["trials"].as_array().unwrap().len(), 1);
}

#[test]
fn a_dead_holder_is_recovered_by_mutex_and_flock_and_deadlocks_spin() {
    let tmp = tempfile::tempdir().unwrap();
    // In every trial one worker kills itself inside the 1ms window, that is
    // while holding the lock. The other workers start only once it holds
    // that lock (the fault gate), and each of them has 100 operations that
    // need it: so the death always strikes while they still want the lock,
    // whatever the machine's load. The seed only picks who dies and when.
    // Mutex and flock get a timeout no busy machine reaches (they recover
    // and finish); spin gets 1s, which only its deadlock reaches.
    let seed = 7;
    let run = |locks: &[&str], timeout: &str| {
        let out = Command::new(cargo_bin!("bankrace"))
            .arg("run")
            .args(locks)
            .args(["--kill-holder", "1", "--timeout", timeout, "--trials", "3"])
            .args(["--ops", "100", "--window", "1ms", "--pause", "0"])
            .args([
                "--depositors",
                "2",
                "--withdrawers",
                "1",
                "--format",
                "json",
            ])
            .arg("--seed")
            .arg(seed.to_string())
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let recovered = run(&["--lock=mutex", "--lock=flock"], "120s");
    let deadlocked = run(&["--lock=spin"], "1s");
    for report in [recovered, deadlocked] {
        for m in report["modes"].as_array().unwrap() {
            let lock = m["lock"].as_str().unwrap();
            for t in m["trials"].as_array().unwrap() {
                assert!(t["killed_worker"].is_u64(), "{lock}: no holder died: {t}");
                if lock == "spin" {
                    assert_eq!(t["status"], "failed", "{t}");
                    assert!(
                        t["cause"].as_str().unwrap().contains("lock never released"),
                        "{t}"
                    );
                } else {
                    // The survivors finish; the books count only the dead
                    // worker's completed operations, and they balance.
                    assert_eq!(t["status"], "ok", "{lock}: {t}");
                    assert_eq!(t["consistent"], true, "{lock}: {t}");
                }
            }
        }
    }
    assert_empty(tmp.path());
}

#[test]
fn soak_every_strategy_more_workers_than_cores_nothing_lost_nothing_left() {
    // The strategies' acceptance load, 8 workers x 10,000 operations x 20
    // trials per strategy and scenario: more workers than cores, so lock
    // holders are regularly preempted while others wait. Raise
    // BANKRACE_SOAK_SCALE (e.g. 10) for a longer run by hand.
    let scale: u32 = std::env::var("BANKRACE_SOAK_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let tmp = tempfile::tempdir().unwrap();
    let trials = 20 * scale;
    for scenario in ["lost-update", "overdraft"] {
        let child = start(
            &[
                "--scenario",
                scenario,
                "--lock=all",
                "--trials",
                &trials.to_string(),
                "--depositors",
                "4",
                "--withdrawers",
                "4",
                "--ops",
                "10000",
                "--amount",
                "1",
                "--initial",
                "1000",
                "--pause",
                "0",
                "--window",
                "0",
            ],
            tmp.path(),
        );
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        for m in report["modes"].as_array().unwrap() {
            let s = &m["summary"];
            let lock = &m["lock"];
            assert_eq!(
                s["consistent"].as_u64(),
                Some(u64::from(trials)),
                "{scenario}/{lock}"
            );
            assert_eq!(s["overdrawn"], 0, "{scenario}/{lock}");
            assert_eq!(s["total_deviation"], 0, "{scenario}/{lock}");
        }
        assert!(workers_of(pid).is_empty());
        assert_empty(tmp.path());
    }
}

#[test]
fn the_same_trials_get_the_same_fault_in_every_mode_with_a_window() {
    // The doomed worker runs alone up to its fault, so the balance its
    // doomed operation sees, and so whether that operation takes the window
    // it dies in, is the same in every mode that has one. Atomic updates
    // have none: the worker dies before the operation, whatever it is.
    for (initial, seed) in [("5000", "5"), ("20000", "3")] {
        let report = crate::common::run_json(&[
            "--scenario",
            "overdraft",
            "--initial",
            initial,
            "--no-lock",
            "--lock=mutex",
            "--lock=flock",
            "--lock=atomic",
            "--kill-holder",
            "1",
            "--trials",
            "12",
            "--seed",
            seed,
        ]);
        let deaths: Vec<Vec<Value>> = report["modes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m["trials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["killed_worker"].clone())
                    .collect()
            })
            .collect();
        assert_eq!(deaths[0], deaths[1], "no lock and mutex");
        assert_eq!(deaths[1], deaths[2], "mutex and flock");
        for (with_window, atomic) in deaths[0].iter().zip(&deaths[3]) {
            assert!(with_window.is_null() || with_window == atomic);
            assert!(!atomic.is_null(), "atomic: every doomed worker dies");
        }
    }
}
