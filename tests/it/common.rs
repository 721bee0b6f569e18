//! Helpers shared by the integration tests: starting the real binary in a private TMPDIR, parsing its JSON report, finding its worker processes in /proc, and the argument lists of runs whose outcome is certain.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

/// A race that shows in every unlocked trial: two depositors, one deposit
/// each, forced through a schedule in which both read 200 before either
/// writes, so both write 201 and one deposit is lost, every time.
pub const CERTAIN_RACE: [&str; 11] = [
    "--depositors",
    "2",
    "--withdrawers",
    "0",
    "--ops",
    "1",
    "--window",
    "0",
    "--no-lock",
    "--schedule",
    "D1:read D2:read D1:write D2:write",
];

/// The tutorial's two ATMs, forced: both check before either debits.
pub const DOUBLE_CHECK: &str = "W1:check W2:check W1:debit W2:debit";

/// `--db embedded` keeps no template cluster (in ~/.cache otherwise): tests
/// leave nothing behind. The cache's own test sets a directory of its own.
pub const PG_CACHE_OFF: (&str, &str) = ("BANKRACE_PG_CACHE", "");

/// Runs `bankrace ARGS` (ARGS start with the subcommand), with TMPDIR set to
/// `tmpdir` if given, and returns its output. Checks nothing.
pub fn bankrace_in(args: &[&str], tmpdir: Option<&Path>) -> Output {
    let mut cmd = Command::new(cargo_bin!("bankrace"));
    // The text report fits COLUMNS when it is set: tests want the default 80.
    // No cache of template clusters outside the test's directories.
    cmd.args(args)
        .env_remove("COLUMNS")
        .env(PG_CACHE_OFF.0, PG_CACHE_OFF.1);
    if let Some(dir) = tmpdir {
        cmd.env("TMPDIR", dir);
    }
    cmd.output().unwrap()
}

/// Runs `bankrace ARGS` (ARGS start with the subcommand) and returns its output.
pub fn bankrace(args: &[&str]) -> Output {
    bankrace_in(args, None)
}

/// Runs `bankrace run ARGS` in a private TMPDIR, checks that it left nothing
/// behind there, and returns its output.
pub fn run(args: &[&str]) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = bankrace_in(&all, Some(tmp.path()));
    assert_empty(tmp.path());
    out
}

/// `run`, as (status, stdout, stderr), both streams UTF-8.
pub fn run_text(args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(args);
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `bankrace run ARGS --format json` in a private TMPDIR, checks that it
/// succeeded, reported no BUG and left nothing behind, and returns the
/// parsed report.
pub fn run_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, stdout, stderr) = run_text(&all);
    assert_eq!(code, Some(0), "bankrace failed: {stderr}");
    assert!(!stderr.contains("BUG"), "{stderr}");
    serde_json::from_str(&stdout).expect("stdout is one JSON document")
}

/// Output as text, which must be UTF-8.
pub fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

/// Checks that `dir` (a test's private TMPDIR) is empty.
pub fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
}

/// Starts `bankrace run ARGS --format json` with `tmp` as TMPDIR, stdout and
/// stderr piped, without waiting for it.
/// Interrupting signals are reset to their defaults first, as an
/// interactive shell starts a command, whatever the test runner inherited.
pub fn start(args: &[&str], tmp: &Path) -> Child {
    Command::new("env")
        .arg("--default-signal=HUP,INT,TERM")
        .arg(cargo_bin!("bankrace"))
        .arg("run")
        .args(args)
        .args(["--format", "json"])
        .env("TMPDIR", tmp)
        .env(PG_CACHE_OFF.0, PG_CACHE_OFF.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Live (not zombie) worker processes whose coordinator is `parent`.
pub fn workers_of(parent: u32) -> Vec<u32> {
    let marker = "worker\0--fd\0";
    let parent_arg = format!("\0--parent\0{parent}\0");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        if !(cmdline.contains(marker) && cmdline.contains(&parent_arg)) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .chars()
            .next();
        if state.is_some_and(|s| s != 'Z' && s != 'X') {
            found.push(pid);
        }
    }
    found
}

/// Waits up to `limit` for `check` to hold.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    check()
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: Signal) {
    kill_process(Pid::from_raw(pid as i32).unwrap(), sig).unwrap();
}

/// Sends `sig` to `pid` if it still exists.
pub fn signal_if_alive(pid: u32, sig: Signal) {
    let _ = kill_process(Pid::from_raw(pid as i32).unwrap(), sig);
}

/// A usage error (status 2) in clap's form: `error:` and the sentence on
/// the first line, where to find help on the last (clap adds a `Usage:`
/// line except after a value it could not parse); no panic, no colour
/// (stderr is not a terminal here).
pub fn assert_usage_error(stderr: &str, message: &str) {
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "not clap's form: {stderr:?}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in {stderr:?}"
    );
    assert!(
        stderr.ends_with("\n\nFor more information, try '--help'.\n"),
        "not clap's form: {stderr:?}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "coloured into a pipe: {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
