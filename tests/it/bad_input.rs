//! Every mistake a user can make gets one clear line on stderr, a documented exit status, and no panic.

use std::path::Path;

use crate::common::{assert_usage_error, bankrace_in};

/// Exit statuses from the README.
const USAGE: i32 = 2;
const RUNTIME: i32 = 1;

/// Nothing on stdout, no panic, `message` on stderr: for a usage error in
/// clap's form (error, tips, usage), for a runtime error on one line.
fn assert_refused(args: &[&str], tmpdir: Option<&Path>, status: i32, message: &str) {
    let out = bankrace_in(args, tmpdir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr:?}"
    );
    if status == USAGE {
        assert_usage_error(&stderr, message);
    } else {
        assert!(stderr.starts_with("bankrace: error: "), "{stderr:?}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {stderr:?}"
        );
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
}

/// Every usage mistake these tests make, with the words its error must say.
const USAGE_MISTAKES: &[(&[&str], &str)] = &[
    (
        &["run", "--trials", "0"],
        "--trials must be between 1 and 1000000 (got 0)",
    ),
    (
        &["run", "--trials", "-1"],
        "--trials must be between 1 and 1000000 (got -1)",
    ),
    (
        &["run", "--trials", "2000000"],
        "--trials must be between 1 and 1000000",
    ),
    (
        &["run", "--trials", "99999999999999999999"],
        "invalid value",
    ),
    (&["run", "--trials", "many"], "invalid value 'many'"),
    (
        &["run", "--reuse-workers", "--scenario", "transfer"],
        "--reuse-workers works with the lost-update and overdraft scenarios only",
    ),
    (
        &["run", "--reuse-workers", "--db", "embedded"],
        "--reuse-workers works on the memory-mapped ledger only, not with --db",
    ),
    (&["run", "--trials"], "a value is required"),
    (
        &["run", "--depositors", "-2"],
        "--depositors must be between 0 and 256",
    ),
    (
        &["run", "--depositors", "257"],
        "--depositors must be between 0 and 256",
    ),
    (
        &["run", "--withdrawers", "1000"],
        "--withdrawers must be between 0 and 256",
    ),
    (
        &["run", "--depositors", "200", "--withdrawers", "100"],
        "must be at most 256 (got 300)",
    ),
    (
        &["run", "--depositors", "0", "--withdrawers", "0"],
        "at least one worker",
    ),
    (
        &["run", "--ops", "-3"],
        "--ops must be between 0 and 100000000",
    ),
    (
        &["run", "--ops", "100000001"],
        "--ops must be between 0 and 100000000",
    ),
    (&["run", "--amount", "0"], "--amount must be between 1"),
    (&["run", "--amount", "-5"], "--amount must be between 1"),
    (
        &["run", "--amount", "1000000000001"],
        "--amount must be between 1 and 1000000000000",
    ),
    (
        &["run", "--initial", "9223372036854775807"],
        "does not fit in a 64-bit account",
    ),
    (
        &["run", "--initial", "-9223372036854775808"],
        "does not fit in a 64-bit account",
    ),
    (
        &[
            "run",
            "--ops",
            "100000000",
            "--amount",
            "1000000000000",
            "--depositors",
            "200",
        ],
        "does not fit",
    ),
    (&["run", "--initial", "lots"], "invalid value 'lots'"),
    (&["run", "--pause", "10"], "has no unit"),
    (&["run", "--pause", "10 parsecs"], "unknown unit"),
    (&["run", "--pause", "1.2.3ms"], "not a number"),
    (&["run", "--window", "-1ms"], "is negative"),
    (&["run", "--window", "11s"], "--window must be at most 10s"),
    (&["run", "--pause", "2h"], "unknown unit 'h'"),
    (&["run", "--seed", "-5"], "invalid value '-5'"),
    (&["run", "--seed", "abc"], "invalid value 'abc'"),
    (
        &["run", "--kill-holder", "1.5"],
        "--kill-holder must be a fraction between 0 and 1",
    ),
    (
        &["run", "--kill-holder", "-0.1"],
        "--kill-holder must be a fraction between 0 and 1",
    ),
    (
        &["run", "--kill-holder", "NaN"],
        "--kill-holder must be a fraction between 0 and 1",
    ),
    (&["run", "--kill-holder", "half"], "invalid value 'half'"),
    (&["run", "--timeout", "0"], "--timeout must be between 1ms"),
    (&["run", "--timeout", "forever"], "invalid value 'forever'"),
    (
        &["run", "--lock=sometimes"],
        "possible values: mutex, flock, spin, atomic, mutex-unordered, global, own, range, row, advisory, cas, repeatable-read, serializable, all",
    ),
    // `--lock mutex` is a value; a second word is not.
    (
        &["run", "--lock", "mutex", "extra"],
        "unexpected argument 'extra'",
    ),
    (
        &["run", "--scenario", "heist"],
        "possible values: lost-update, overdraft, transfer",
    ),
    (&["run", "--format", "yaml"], "invalid value 'yaml'"),
    (
        &["run", "--frobnicate"],
        "unexpected argument '--frobnicate'",
    ),
    (
        &["run", "--no-lock", "--no-lock"],
        "cannot be used multiple times",
    ),
    (&["run", "extra"], "unexpected argument 'extra'"),
    (&["walk"], "unrecognized subcommand 'walk'"),
    (&["run", "-n", "0"], "--trials must be between 1"),
    (&["quiz", "-s", "x"], "invalid value 'x'"),
    (&["bench", "-n", "-1"], "--trials must be between"),
];

#[test]
fn usage_errors_exit_2_with_the_allowed_range() {
    let cases = USAGE_MISTAKES;
    assert!(cases.len() >= 30);
    for (args, message) in cases {
        assert_refused(args, None, USAGE, message);
    }
}

#[test]
fn tmpdir_plays_no_part_in_a_run() {
    // Ledgers are memfds and never have a name: a TMPDIR that does not
    // exist, that is a file, or in which nobody can create anything changes
    // nothing.
    for dir in ["/nonexistent/bankrace", "/etc/passwd", "/proc"] {
        let out = bankrace_in(&["run", "--trials", "1", "-q"], Some(Path::new(dir)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "TMPDIR={dir}: {stderr}");
    }
}

#[test]
fn running_out_of_descriptors_is_one_line_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -n 8 && exec "$0" run --trials 2"#)
        .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    crate::common::assert_empty(tmp.path());
}

/// Under `ulimit -v`, a traced run either fits or says in one line that it
/// does not: at every limit from too little to enough, never an abort in
/// some small allocation after the analysis took the large ones.
#[test]
fn running_out_of_address_space_in_a_traced_run_is_one_line_never_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let mut outcomes = std::collections::BTreeSet::new();
    for mb in (20..=110).step_by(5) {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                r#"ulimit -v {} && exec "$0" run --trace --trials 1 --depositors 10 \
                   --withdrawers 10 --ops 10000 --pause 0 --window 0 --no-lock -q"#,
                mb * 1024
            ))
            .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | RUNTIME)),
            "{mb} MB: {code:?} {stderr}"
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| !l.contains("note:")).collect();
        if code == Some(RUNTIME) {
            assert_eq!(errors.len(), 1, "{mb} MB: {stderr}");
            assert!(errors[0].contains("out of memory") || errors[0].contains("cannot"));
        } else {
            assert!(errors.is_empty(), "{mb} MB: {stderr}");
        }
        outcomes.insert(code);
        crate::common::assert_empty(tmp.path());
    }
    // The range spans both: too little to trace, and enough.
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
}

#[test]
fn the_hidden_worker_refuses_what_it_is_handed() {
    // A worker whose named coordinator is not its parent stops at once.
    let parent = bankrace_in(
        &["worker", "--fd", "0", "--index", "0", "--parent", "1"],
        None,
    );
    assert_eq!(parent.status.code(), Some(RUNTIME));
    assert!(String::from_utf8_lossy(&parent.stderr).contains("is gone"));
    // With the right parent, it checks the descriptor: stdin is not a
    // regular file, and descriptor 987 is not open at all.
    for (fd, message) in [
        ("0", "not a regular file"),
        ("987", "cannot open the ledger"),
    ] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
            .args(["worker", "--fd", fd, "--index", "0", "--parent"])
            .arg(std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
        assert!(stderr.contains(message), "fd {fd}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    // A worker command line its own small parser cannot take goes to the
    // full parser, which says why in clap's form, status 2; a reused worker
    // needs both of its options.
    let cases: [(&[&str], &str); 2] = [
        (
            &["worker", "--fd", "x", "--index", "0", "--parent", "1"],
            "invalid value 'x'",
        ),
        (
            &[
                "worker", "--fd", "3", "--index", "0", "--parent", "1", "--notify", "4",
            ],
            "--generation",
        ),
    ];
    for (args, message) in cases {
        assert_refused(args, None, USAGE, message);
    }
}

/// A valid ledger in a file of the test's own, for one depositor, its pause
/// set to a value that can be found in the header again.
fn crafted_ledger(dir: &Path) -> (std::path::PathBuf, u64) {
    crafted_ledger_with(dir, None, |_| {})
}

/// A crafted ledger as above, with a forced schedule, its spec changed by
/// `change` before it is written.
fn crafted_ledger_with(
    dir: &Path,
    schedule: Option<&str>,
    change: impl FnOnce(&mut bankrace::spec::TrialSpec),
) -> (std::path::PathBuf, u64) {
    use bankrace::plan::{Plan, Request};
    let pause_ns = 123_457_000u64;
    let plan = Plan::build(
        Request {
            trials: 1,
            depositors: Some(1),
            withdrawers: Some(0),
            ops: Some(1),
            pause: Some(std::time::Duration::from_nanos(pause_ns)),
            no_lock: true,
            schedule: schedule.map(String::from),
            ..Request::default()
        },
        || 1,
    )
    .unwrap();
    let path = dir.join("ledger");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    let mut spec = plan.trial(plan.modes()[0], 1);
    change(&mut spec);
    drop(bankrace::ledger::Ledger::create(&file, &spec).unwrap());
    (path, pause_ns)
}

/// `bankrace worker --fd 3 ...` with `file` opened as descriptor 3 by bash
/// (`<` read-only, `<>` read-write); this test process is its parent.
fn worker_on(file: &Path, redirect: &str) -> std::process::Output {
    std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"exec 3{redirect}"$1"; exec "$0" worker --fd 3 --index 0 --parent "$2""#
        ))
        .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
        .arg(file)
        .arg(std::process::id().to_string())
        .output()
        .unwrap()
}

#[test]
fn a_worker_never_writes_through_a_read_only_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = crafted_ledger(dir.path());
    let before = std::fs::read(&ledger).unwrap();
    let out = worker_on(&ledger, "<");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
    assert!(
        stderr.contains("not open for reading and writing"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        before,
        "the file was written"
    );
    // Read-write, the same file is a ledger the worker runs on: the refusal
    // above was about the descriptor, not the file.
    let out = worker_on(&ledger, "<>");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(std::fs::read(&ledger).unwrap(), before);
}

#[test]
fn a_worker_refuses_a_header_field_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, pause_ns) = crafted_ledger(dir.path());
    let mut bytes = std::fs::read(&ledger).unwrap();
    let at = bytes[..256]
        .windows(8)
        .position(|w| w == pause_ns.to_le_bytes())
        .expect("the pause is in the header");
    bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&ledger, &bytes).unwrap();
    let out = worker_on(&ledger, "<>");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
    assert!(stderr.contains("pause or window out of range"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_worker_started_by_hand_says_why_it_gives_up_on_the_schedule() {
    // The schedule's first step says write, but D1's first access is a read.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = crafted_ledger_with(dir.path(), Some("D1:read D1:write"), |spec| {
        spec.steps[0].write = true;
    });
    let out = worker_on(&ledger, "<>");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("worker 0: the forced schedule in the ledger cannot be followed"),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_option_gets_clap_s_tip_on_its_own_line() {
    let out = bankrace_in(&["run", "--trails", "5"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(USAGE), "{stderr}");
    assert_usage_error(&stderr, "unexpected argument '--trails' found");
    assert!(
        stderr.contains("\n  tip: a similar argument exists: '--trials'\n"),
        "{stderr:?}"
    );
    assert!(stderr.contains("\nUsage: bankrace run"), "{stderr:?}");
    // A value bankrace refuses takes the same form, with the usage line.
    let out = bankrace_in(&["run", "-n", "0"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_usage_error(&stderr, "--trials must be between 1 and 1000000 (got 0)");
    assert!(
        stderr.contains("\nUsage: bankrace run [OPTIONS]\n"),
        "{stderr:?}"
    );
    // --color always colours it even into a pipe; NO_COLOR alone does not
    // matter when stderr is no terminal.
    let out = bankrace_in(&["run", "--color", "always", "--trails", "5"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("\u{1b}["));
}
