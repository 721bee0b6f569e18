//! Every mistake a user can make gets one clear line on stderr, a documented exit status, and no panic.

use std::path::Path;

use crate::common::bankrace_in;

/// Exit statuses from the README.
const USAGE: i32 = 2;
const RUNTIME: i32 = 1;

/// One line on stderr containing `message`, nothing on stdout, no panic.
fn assert_refused(args: &[&str], tmpdir: Option<&Path>, status: i32, message: &str) {
    let out = bankrace_in(args, tmpdir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr:?}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
}

#[test]
fn usage_errors_exit_2_with_the_allowed_range() {
    let cases: &[(&[&str], &str)] = &[
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
            "possible values: mutex, flock, spin, atomic, all",
        ),
        (&["run", "--lock", "mutex"], "unexpected argument 'mutex'"),
        (
            &["run", "--scenario", "heist"],
            "possible values: lost-update, overdraft",
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
    ];
    assert!(cases.len() >= 30);
    for (args, message) in cases {
        assert_refused(args, None, USAGE, message);
    }
}

#[test]
fn environment_errors_exit_1_and_name_the_cause() {
    // TMPDIR that does not exist, that is a file, and that nobody (not even
    // root) can create directories in.
    let missing = Path::new("/nonexistent/bankrace");
    assert_refused(
        &["run", "--trials", "1"],
        Some(missing),
        RUNTIME,
        "/nonexistent/bankrace",
    );
    assert_refused(
        &["run", "--trials", "1"],
        Some(Path::new("/etc/passwd")),
        RUNTIME,
        "cannot create a private directory in /etc/passwd",
    );
    assert_refused(
        &["run", "--trials", "1"],
        Some(Path::new("/proc")),
        RUNTIME,
        "cannot create a private directory in /proc",
    );
}

#[test]
fn a_full_tmpdir_is_an_error_not_a_crash() {
    // A 16 KiB tmpfs, filled to the last byte. Mounting needs root; where it
    // is refused, this test says so and checks nothing.
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let filler = dir.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 64 * 1024]);
    let out = bankrace_in(&["run", "--trials", "1"], Some(dir.path()));
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(RUNTIME), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
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
    // Its own small parser still gives a usage error one line, status 2;
    // a reused worker needs both of its options.
    for args in [
        &["worker", "--fd", "x", "--index", "0", "--parent", "1"][..],
        &[
            "worker", "--fd", "3", "--index", "0", "--parent", "1", "--notify", "4",
        ],
    ] {
        let out = bankrace_in(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("bankrace: error:"), "{stderr}");
    }
}
