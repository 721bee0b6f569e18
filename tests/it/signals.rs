//! Signals at every stage of a run: after the trials (while the output blocks), inherited as ignored, and a second one while the first is being handled.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use rustix::process::Signal;
use serde_json::Value;

use crate::common::{eventually, signal, workers_of};

/// `bankrace run ARGS` with every interrupting signal at its default, as an
/// interactive shell would start it, whatever the test runner inherited.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new("env");
    cmd.arg("--default-signal=HUP,INT,TERM")
        .arg(cargo_bin!("bankrace"))
        .arg("run")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child`, failing the test (and killing it) after 60 s.
fn wait_bounded(mut child: std::process::Child) -> std::process::Output {
    let pid = child.id();
    if !eventually(Duration::from_secs(60), || {
        matches!(child.try_wait(), Ok(Some(_)))
    }) {
        signal(pid, Signal::KILL);
        panic!("bankrace did not end");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_signal_after_the_trials_still_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = command(&["--trials", "2", "-q", "--export-json"])
        .arg(&fifo)
        .spawn()
        .unwrap();
    // The verdict line on stdout means every trial finished; what is left is
    // opening a FIFO that nobody reads, which blocks.
    let mut line = [0u8; 1];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut line).unwrap();
    signal(child.id(), Signal::TERM);
    let out = wait_bounded(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
}

#[test]
fn a_signal_inherited_as_ignored_stays_ignored() {
    let mut cmd = Command::new("env");
    cmd.args(["--default-signal=INT,TERM", "--ignore-signal=HUP"])
        .arg(cargo_bin!("bankrace"))
        .args([
            "run", "--trials", "1000", "--window", "2ms", "--format", "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    assert!(eventually(Duration::from_secs(10), || !workers_of(pid).is_empty()));
    signal(pid, Signal::HUP);
    // Had SIGHUP counted, SIGTERM would be a second signal: an immediate exit
    // without a report.
    signal(pid, Signal::TERM);
    let out = wait_bounded(child);
    assert_eq!(out.status.code(), Some(143));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a report is printed");
    assert_eq!(report["interrupted"], "SIGTERM");
}

#[test]
fn a_second_signal_exits_at_once() {
    let child = command(&["--trials", "1000", "--window", "2ms", "--format", "json"])
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(eventually(Duration::from_secs(10), || !workers_of(pid).is_empty()));
    // Stopped, the coordinator cannot handle the first signal before the
    // second is pending too; both are delivered when it continues, in an
    // order the kernel picks, and the second exits with 128 + its number.
    signal(pid, Signal::STOP);
    signal(pid, Signal::HUP);
    signal(pid, Signal::TERM);
    signal(pid, Signal::CONT);
    let out = wait_bounded(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(129 | 143)),
        "{:?} {stderr}",
        out.status
    );
    assert!(out.stdout.is_empty(), "no report: it exited at once");
    assert!(!stderr.contains("interrupted by"), "{stderr}");
    // The workers die with their coordinator.
    assert!(eventually(Duration::from_secs(10), || workers_of(pid).is_empty()));
}
