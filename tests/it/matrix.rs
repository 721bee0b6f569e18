//! `bankrace matrix`, the anomaly table, in real processes: every cell that fits is there, locked cells never show the anomaly, certain races always do, the JSON validates against its schema, bad input is a usage error, a signal ends it leaving nothing behind, and `--db embedded` runs it on one server.
//!
//! Certain outcomes come from the set-up, not from luck: one operation per
//! worker and a 300 ms window between each one's read (or check) and its
//! write. The workers leave the start barrier together; for the race not
//! to show, the second read would have to come more than 300 ms after the
//! first, even on a busy machine.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;
use serde_json::Value;

use bankrace::matrix::{modes, scenarios};
use bankrace::vocab::{BackendKind, Scenario};

use crate::common::{
    assert_empty, assert_usage_error, bankrace_in, eventually, signal, workers_of,
};
use crate::schema::violations_of;

/// The certain set-up above, two trials per cell.
const CERTAIN: [&str; 10] = [
    "--trials", "2", "--ops", "1", "--window", "300ms", "--pause", "0", "--seed", "11",
];

/// `bankrace matrix ARGS --format json -q` in `tmp`: status, report, stderr.
fn matrix_json(args: &[&str], tmp: &Path) -> (Option<i32>, Value, String) {
    let mut all = vec!["matrix", "--format", "json", "-q"];
    all.extend_from_slice(args);
    let out = bankrace_in(&all, Some(tmp));
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The cell of `mode` in `scenario`'s row.
fn cell<'a>(report: &'a Value, scenario: &str, mode: &str) -> &'a Value {
    let row = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no row {scenario}"));
    row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["mode"] == mode)
        .unwrap_or_else(|| panic!("no cell {mode} in {scenario}"))
}

/// Every scenario the backend runs is a row, in order, and each row has
/// exactly the modes that fit it, as the vocabulary says: nothing is listed
/// by hand here, so a new scenario or strategy is checked too.
fn assert_every_fitting_cell(report: &Value, backend: BackendKind) {
    let rows = report["scenarios"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = scenarios().iter().map(|s| s.name()).collect();
    assert_eq!(names, expected);
    for (row, scenario) in rows.iter().zip(scenarios()) {
        let got: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["mode"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = modes(scenario, backend).iter().map(|m| m.id()).collect();
        assert_eq!(got, want, "{}", scenario.name());
        assert_eq!(row["parameters"]["scenario"], scenario.name());
    }
}

#[test]
fn memory_matrix_has_every_cell_locks_prevent_and_certain_races_show() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, stderr) = matrix_json(&CERTAIN, tmp.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    let errors = violations_of("matrix.schema.json", &report);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["backend"], "memory");
    assert!(report["db"].is_null() && report["server_version"].is_null());
    assert_every_fitting_cell(&report, BackendKind::Memory);
    for row in report["scenarios"].as_array().unwrap() {
        let scenario = row["scenario"].as_str().unwrap();
        for c in row["cells"].as_array().unwrap() {
            let mode = c["mode"].as_str().unwrap();
            assert_eq!(c["trials"], 2, "{scenario} {mode}");
            assert_eq!(c["failed"], 0, "{scenario} {mode}: {c}");
            // The write skew's `own` locks only the account it writes: it
            // is a lock that does not prevent the anomaly (checked below).
            if mode == "no-lock" || (scenario == "write-skew" && mode == "own") {
                continue;
            }
            // A lock (or one atomic step) never lets a trial end wrong.
            assert_eq!(c["anomalies"], 0, "{scenario} {mode}: {c}");
            let deadlocks = c["deadlocked"].as_u64().unwrap();
            let verdict = if deadlocks > 0 {
                "deadlock"
            } else {
                "prevented"
            };
            assert_eq!(c["verdict"], verdict, "{scenario} {mode}: {c}");
        }
    }
    // Both read (or checked) inside the window, in every trial.
    for (scenario, mode) in [
        (Scenario::LostUpdate, "no-lock"),
        (Scenario::Overdraft, "no-lock"),
        (Scenario::WriteSkew, "no-lock"),
        (Scenario::WriteSkew, "own"),
    ] {
        let c = cell(&report, scenario.name(), mode);
        assert_eq!(c["verdict"], "anomaly", "{c}");
        assert_eq!(c["anomalies"], 2, "{c}");
    }
}

#[test]
fn text_and_markdown_show_the_same_table() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--trials", "1", "--ops", "1", "--window", "300ms", "-q"];
    let mut text = vec!["matrix"];
    text.extend(args);
    let out = bankrace_in(&text, Some(tmp.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.starts_with("The anomaly table: 1 trial per cell, on the memory-mapped ledger"));
    assert!(shown.lines().all(|l| l.chars().count() <= 80), "{shown}");
    for s in scenarios() {
        assert!(shown.contains(s.name()), "{shown}");
    }
    assert!(shown.contains("anomaly in 1 of 1 trials"), "{shown}");
    assert!(shown.contains("prevented"), "{shown}");

    text.extend(["--format", "markdown"]);
    let out = bankrace_in(&text, Some(tmp.path()));
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    let memory_modes: std::collections::HashSet<_> = scenarios()
        .into_iter()
        .flat_map(|s| modes(s, BackendKind::Memory))
        .collect();
    // The heading row, then one row per mode of any scenario.
    assert_eq!(rows.len(), 1 + memory_modes.len(), "{md}");
    assert!(
        rows[1].starts_with("| no lock | anomaly in 1 of 1 trials |"),
        "{md}"
    );
    assert!(md.contains("*bankrace "), "{md}");
    assert_empty(tmp.path());
}

#[test]
fn bad_input_is_one_usage_error_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, message) in [
        (
            &["matrix", "--trials", "0"][..],
            "--trials must be between 1",
        ),
        (
            &["matrix", "--window", "20s"][..],
            "--window must be at most",
        ),
        (&["matrix", "--format", "yaml"][..], "invalid value 'yaml'"),
        (&["matrix", "--db", " "][..], "--db needs"),
    ] {
        let out = bankrace_in(args, Some(tmp.path()));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_usage_error(&String::from_utf8_lossy(&out.stderr), message);
        assert!(out.stdout.is_empty());
    }
    assert_empty(tmp.path());
}

#[test]
fn a_signal_ends_the_matrix_with_its_status_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--trials", "50", "--ops", "1", "--window", "300ms"];
    let child = spawn_matrix(&args, tmp.path());
    let pid = child.id();
    assert!(
        eventually(Duration::from_secs(30), || !workers_of(pid).is_empty()),
        "no worker started"
    );
    signal(pid, Signal::TERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 15));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["interrupted"], "SIGTERM");
    // The cells never reached say so.
    let rows = report["scenarios"].as_array().unwrap();
    let last = rows.last().unwrap()["cells"].as_array().unwrap();
    assert_eq!(last.last().unwrap()["verdict"], "not-run");
    assert!(violations_of("matrix.schema.json", &report).is_empty());
    assert!(workers_of(pid).is_empty());
    assert_empty(tmp.path());
}

/// `bankrace matrix ARGS --format json -q` in `tmp`, started and not
/// waited for, with interrupting signals at their defaults and no template
/// cluster cached.
fn spawn_matrix(args: &[&str], tmp: &Path) -> std::process::Child {
    Command::new("env")
        .arg("--default-signal=HUP,INT,TERM")
        .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
        .args(["matrix", "--format", "json", "-q"])
        .args(args)
        .env("TMPDIR", tmp)
        // No template cluster is cached in the home directory.
        .env(crate::common::PG_CACHE_OFF.0, crate::common::PG_CACHE_OFF.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn embedded_matrix_runs_every_database_strategy_on_one_server() {
    if crate::pg::server_binaries().is_none() {
        return;
    }
    let tmp = crate::pg::reachable_tmp();
    let mut args = CERTAIN.to_vec();
    args[1] = "1";
    args.extend(["--db", "embedded"]);
    let mut child = spawn_matrix(&args, tmp.path());
    // Every server the matrix starts, seen by its pid file while it runs:
    // one for the whole matrix, not one per scenario. Each scenario takes
    // seconds (300 ms windows), far longer than this poll's 10 ms.
    let mut servers = std::collections::BTreeSet::new();
    let ended = eventually(Duration::from_secs(300), || {
        servers.extend(crate::pg::postmaster_in(tmp.path()).map(|(_, pid)| pid));
        matches!(child.try_wait(), Ok(Some(_)))
    });
    assert!(ended, "the matrix did not end");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(servers.len(), 1, "servers started: {servers:?}");
    // The schema and the server's directory are gone.
    assert_empty(tmp.path());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(violations_of("matrix.schema.json", &report).is_empty());
    assert_eq!(report["backend"], "postgres");
    assert_eq!(report["db"], "embedded");
    assert!(report["server_version"].is_string(), "{report}");
    assert_every_fitting_cell(&report, BackendKind::Postgres);
    for row in report["scenarios"].as_array().unwrap() {
        let scenario = row["scenario"].as_str().unwrap();
        for c in row["cells"].as_array().unwrap() {
            let mode = c["mode"].as_str().unwrap();
            assert_eq!(c["failed"], 0, "{scenario} {mode}: {c}");
            if let Some(expected) = certain_on_postgres(scenario, mode) {
                assert_eq!(c["verdict"], expected, "{scenario} {mode}: {c}");
            }
        }
    }
}

/// What a cell of the embedded matrix certainly shows with a 300 ms window,
/// or `None` where it depends on the interleaving: which transfers collide
/// is seeded, not forced, and the write skew's single conditional `UPDATE`
/// (`atomic`) skews only when both statements' subqueries read before
/// either writes. Every other lock prevents; the write skew's check reads
/// both rows but writes one, so neither REPEATABLE READ nor a
/// compare-and-set on the own row stops it (docs/write-skew.md).
fn certain_on_postgres(scenario: &str, mode: &str) -> Option<&'static str> {
    match (scenario, mode) {
        ("transfer", "no-lock") | ("write-skew", "atomic") => None,
        ("write-skew", "no-lock" | "repeatable-read" | "cas") => Some("anomaly"),
        (_, "no-lock") => Some("anomaly"),
        _ => Some("prevented"),
    }
}

#[test]
fn sigint_during_an_embedded_matrix_stops_the_server_and_removes_everything() {
    if crate::pg::server_binaries().is_none() {
        return;
    }
    let tmp = crate::pg::reachable_tmp();
    let args = [
        "--db", "embedded", "--trials", "1000", "--ops", "1", "--window", "300ms",
    ];
    let child = spawn_matrix(&args, tmp.path());
    let pid = child.id();
    let (_, postmaster) = crate::pg::server_started(tmp.path(), Some(pid));
    signal(pid, Signal::INT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["interrupted"], "SIGINT");
    assert!(
        !crate::pg::alive(postmaster),
        "the server outlived the matrix"
    );
    assert!(workers_of(pid).is_empty());
    assert_empty(tmp.path());
}

/// `--db URL`: a second server over TCP with a password (started by the
/// test, as in `pg.rs`). The password shows nowhere, the server's version
/// heads the table, and the run's schema is gone afterwards: the cleanup
/// command finds nothing of it.
#[test]
fn a_matrix_on_a_server_named_by_a_url_shows_no_password_and_leaves_no_schema() {
    let Some(bin) = crate::pg::server_binaries() else {
        return;
    };
    let server = crate::pg::tcp_server(&bin);
    let url = |user: &str| format!("postgresql://{user}@127.0.0.1:{}/racerdb", server.port);
    let with_password = url("racer:Hunter2-pw");
    let tmp = tempfile::tempdir().unwrap();
    let mut args = CERTAIN.to_vec();
    args[1] = "1";
    args.extend(["--scenario", "overdraft", "--db", &with_password]);
    let (code, report, stderr) = matrix_json(&args, tmp.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!report.to_string().contains("Hunter2") && !stderr.contains("Hunter2"));
    assert_eq!(report["db"], url("racer"));
    assert!(report["server_version"].is_string());
    assert!(violations_of("matrix.schema.json", &report).is_empty());
    for c in report["scenarios"][0]["cells"].as_array().unwrap() {
        let expected = if c["mode"] == "no-lock" {
            "anomaly"
        } else {
            "prevented"
        };
        assert_eq!(c["verdict"], expected, "{c}");
    }
    let out = bankrace_in(&["db-cleanup", "--db", &with_password], Some(tmp.path()));
    assert_eq!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "nothing left behind by dead runs");
    assert_empty(tmp.path());
}
