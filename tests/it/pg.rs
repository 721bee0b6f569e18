//! The PostgreSQL backend against real servers: `--db embedded` end to end, its death with bankrace and the cleanup after a SIGKILL, and a second, independent server over TCP with password authentication and TLS. Skipped with a message where no PostgreSQL server binaries exist, unless BANKRACE_REQUIRE_PG is set.
//!
//! Outcomes are certain by construction: two workers, one operation each,
//! both connected before the start barrier releases them, and a 300 ms
//! window between each one's read and its write. The second read would have
//! to be delayed by more than the whole window for the race not to show.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use serde_json::Value;

use super::common::*;

/// The directory of `initdb` and `postgres`, or `None` after saying the test
/// is skipped. With BANKRACE_REQUIRE_PG set, a missing server fails the test.
pub(crate) fn server_binaries() -> Option<PathBuf> {
    let found = std::env::var_os("BANKRACE_PG_BINDIR")
        .map(PathBuf::from)
        .or_else(|| {
            let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
                .collect();
            versions.sort();
            versions.pop().map(|(_, bin)| bin)
        })
        .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists());
    if found.is_none() {
        assert!(
            std::env::var_os("BANKRACE_REQUIRE_PG").is_none(),
            "BANKRACE_REQUIRE_PG is set but no PostgreSQL server binaries were found"
        );
        eprintln!("SKIPPED: no PostgreSQL server binaries (install postgresql to run this test)");
    }
    found
}

/// A private TMPDIR the `postgres` user can enter (the embedded server runs
/// as that user when the tests run as root).
pub(crate) fn reachable_tmp() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    tmp
}

/// `bankrace run ARGS --format json` in `tmp`; its exit status, the parsed
/// report (if any) and stderr.
pub(super) fn run_in(
    tmp: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, Value, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
        .arg("run")
        .args(args)
        .args(["--format", "json"])
        .env("TMPDIR", tmp)
        .env(PG_CACHE_OFF.0, PG_CACHE_OFF.1)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code(),
        report,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Each mode's trials, by mode id.
pub(super) fn modes(report: &Value) -> Vec<(String, Vec<Value>)> {
    report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let id = m["lock"].as_str().unwrap_or("no-lock").to_string();
            (id, m["trials"].as_array().unwrap().clone())
        })
        .collect()
}

const TWO_DEPOSITS: [&str; 14] = [
    "--depositors",
    "2",
    "--withdrawers",
    "0",
    "--ops",
    "1",
    "--pause",
    "0",
    "--window",
    "300ms",
    "--trials",
    "1",
    "--no-lock",
    "--lock=all",
];

#[test]
fn embedded_lost_update_in_every_mode_with_the_costs_each_pays() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let mut args = TWO_DEPOSITS.to_vec();
    args.extend(["--db", "embedded"]);
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    assert_eq!(report["parameters"]["backend"], "postgres");
    assert_eq!(report["parameters"]["db"], "embedded");
    let modes = modes(&report);
    let ids: Vec<&str> = modes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "no-lock",
            "row",
            "advisory",
            "atomic",
            "cas",
            "repeatable-read",
            "serializable"
        ]
    );
    for (id, trials) in &modes {
        let t = &trials[0];
        assert_eq!(t["status"], "ok", "{id}: {t}");
        // Both read 200 inside the window: the unlocked mode writes 201 twice.
        let expected = if id == "no-lock" { 201 } else { 202 };
        assert_eq!(t["final_balance"], expected, "{id}");
        // The second writer of the optimistic modes finds the row changed
        // since it read it, exactly once.
        let (retries, misses) = (&t["retries"], &t["cas_misses"]);
        match id.as_str() {
            "repeatable-read" | "serializable" => assert_eq!(retries, 1, "{id}"),
            "cas" => assert_eq!(misses, 1, "{id}"),
            _ => assert_eq!((retries, misses), (&0.into(), &0.into()), "{id}"),
        }
        assert_eq!(t["deadlock_aborts"], 0);
    }
    let summary = &report["modes"][5]["summary"];
    assert_eq!(summary["retries"], 1);
}

#[test]
fn embedded_overdraft_only_the_unlocked_mode_overdraws() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let args = [
        "--scenario",
        "overdraft",
        "--window",
        "300ms",
        "--trials",
        "1",
        "--no-lock",
        "--lock=all",
        "--db",
        "embedded",
    ];
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for (id, trials) in modes(&report) {
        let t = &trials[0];
        if id == "no-lock" {
            // Both checks see 15,000; both relative debits land: -5,000.
            assert_eq!(
                (t["final_balance"].as_i64(), t["overdrawn"].as_bool()),
                (Some(-5_000), Some(true))
            );
        } else {
            assert_eq!(t["final_balance"], 5_000, "{id}");
            assert_eq!(t["withdrawals_refused"], 1, "{id}");
        }
    }
    assert_empty(tmp.path());
}

/// The embedded server's pid, once its directory in `tmp` has one.
pub(crate) fn postmaster_in(tmp: &Path) -> Option<(PathBuf, u32)> {
    std::fs::read_dir(tmp).ok()?.flatten().find_map(|e| {
        let pid = std::fs::read_to_string(e.path().join("data/postmaster.pid")).ok()?;
        Some((e.path(), pid.lines().next()?.trim().parse().ok()?))
    })
}

/// Waits until the embedded server in `tmp` has a pid and, given the pid
/// of the run (or matrix) that started it, until that run has workers:
/// the server's directory and pid.
pub(crate) fn server_started(tmp: &Path, run: Option<u32>) -> (PathBuf, u32) {
    let mut server = None;
    assert!(
        eventually(Duration::from_secs(60), || {
            server = postmaster_in(tmp);
            server.is_some() && run.is_none_or(|pid| !workers_of(pid).is_empty())
        }),
        "the embedded server{} never got going",
        run.map_or("", |_| " and its workers")
    );
    server.unwrap()
}

pub(crate) fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .next();
    state.is_some_and(|s| s != 'Z' && s != 'X')
}

/// A long embedded run in `tmp`, once its server and workers are up.
fn long_embedded_run(tmp: &Path) -> (std::process::Child, PathBuf, u32) {
    let args = [
        "--db", "embedded", "--trials", "100000", "--ops", "1000", "--window", "1ms",
    ];
    let child = start(&args, tmp);
    let (dir, postmaster) = server_started(tmp, Some(child.id()));
    (child, dir, postmaster)
}

#[test]
fn sigkill_takes_the_embedded_server_along_and_db_cleanup_removes_its_directory() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let (mut child, dir, postmaster) = long_embedded_run(tmp.path());
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL: nothing of bankrace's runs after this
    child.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(20), || !alive(postmaster)
            && workers_of(pid).is_empty()),
        "the server or a worker outlived bankrace"
    );
    assert!(
        dir.exists(),
        "a SIGKILL leaves the directory for db-cleanup"
    );
    let out = bankrace_in(&["db-cleanup"], Some(tmp.path()));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains(&dir.display().to_string()),
        "{:?}",
        out
    );
    assert_empty(tmp.path());
}

#[test]
fn sigint_drops_the_schema_stops_the_server_and_removes_its_directory() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let (child, _, postmaster) = long_embedded_run(tmp.path());
    signal(child.id(), Signal::INT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["interrupted"], "SIGINT");
    assert!(!alive(postmaster));
    assert_empty(tmp.path());
}

/// A second, independent server over TCP on 127.0.0.1: scram-sha-256
/// passwords for TCP, TLS with a self-signed certificate made here, trust on
/// its private socket for the set-up. Dies with this test process (the
/// server start asks for it). Dropped: stopped and removed.
pub(crate) struct TcpServer {
    child: std::process::Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        signal_if_alive(self.child.id(), Signal::INT);
        let _ = self.child.wait();
    }
}

/// How many schemas named like a run's the TCP server's `racerdb` holds,
/// asked as its admin over its Unix socket.
fn schemas_left(bin: &Path, server: &TcpServer) -> String {
    let psql = bin.join("psql");
    let psql = if psql.exists() {
        psql
    } else {
        PathBuf::from("psql")
    };
    let out = Command::new(psql)
        .arg("-h")
        .arg(server._dir.path())
        .args([
            "-p",
            &server.port.to_string(),
            "-U",
            "admin",
            "-d",
            "racerdb",
        ])
        .args([
            "-tAc",
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bankrace\\_%'",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn self_signed() -> (Vec<u8>, Vec<u8>) {
    use openssl::{
        asn1::Asn1Time, bn::BigNum, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509,
    };
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (
        b.build().to_pem().unwrap(),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
}

/// uid and gid of `postgres` when the tests run as root.
fn run_as() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let out = Command::new("getent")
        .args(["passwd", "postgres"])
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = line.trim().split(':').collect();
    Some((f[2].parse().unwrap(), f[3].parse().unwrap()))
}

pub(crate) fn tcp_server(bin: &Path) -> TcpServer {
    let dir = reachable_tmp();
    let data = dir.path().join("data");
    let ids = run_as();
    if let Some((uid, gid)) = ids {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    init_tls_cluster(bin, dir.path(), &data, ids);
    let port = free_port();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("bankrace"));
    cmd.args(["db-server", "--parent", &std::process::id().to_string()]);
    if let Some((uid, gid)) = ids {
        cmd.args(["--uid", &uid.to_string(), "--gid", &gid.to_string()]);
    }
    cmd.arg("--")
        .arg(bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(dir.path());
    cmd.args([
        "-p",
        &port.to_string(),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "ssl=on",
        "-c",
        "fsync=off",
        "-c",
        "deadlock_timeout=20ms",
    ]);
    let child = cmd
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = TcpServer {
        child,
        port,
        _dir: dir,
    };
    let psql = bin.join("psql");
    let psql = if psql.exists() {
        psql
    } else {
        PathBuf::from("psql")
    };
    let sql = |statement: &str| {
        Command::new(&psql)
            .arg("-h")
            .arg(server._dir.path())
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "admin",
                "-d",
                "postgres",
                "-qc",
                statement,
            ])
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    assert!(
        eventually(Duration::from_secs(30), || sql("SELECT 1")),
        "the TCP server never started"
    );
    assert!(sql("CREATE ROLE racer LOGIN PASSWORD 'Hunter2-pw'"));
    assert!(sql("CREATE DATABASE racerdb OWNER racer"));
    server
}

/// A new cluster in `data` whose host connections need a scram password,
/// with the test's own self-signed certificate, owned by `ids` if given.
fn init_tls_cluster(bin: &Path, dir: &Path, data: &Path, ids: Option<(u32, u32)>) {
    let mut initdb = Command::new(bin.join("initdb"));
    initdb.arg("-D").arg(data).args([
        "--no-sync",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-U",
        "admin",
    ]);
    initdb.current_dir(dir).stdout(Stdio::null());
    if let Some((uid, gid)) = ids {
        use std::os::unix::process::CommandExt;
        initdb.uid(uid).gid(gid);
    }
    assert!(
        initdb.status().unwrap().success(),
        "initdb of the TCP server"
    );
    let (cert, key) = self_signed();
    for (name, bytes) in [("server.crt", cert), ("server.key", key)] {
        let path = data.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
}

#[test]
fn a_connection_string_over_tcp_with_a_password_and_tls() {
    let Some(bin) = server_binaries() else { return };
    let server = tcp_server(&bin);
    let port = server.port;
    let tmp = tempfile::tempdir().unwrap();
    let url = |user: &str, db: &str, query: &str| {
        format!("postgresql://{user}@127.0.0.1:{port}/{db}{query}")
    };
    // The password in the URL, and from PGPASSWORD; TLS required.
    let with_password = url("racer:Hunter2-pw", "racerdb", "?sslmode=require");
    let mut args = TWO_DEPOSITS.to_vec();
    args.extend(["--db", &with_password]);
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let shown = report["parameters"]["db"].as_str().unwrap();
    assert_eq!(shown, url("racer", "racerdb", "?sslmode=require"));
    assert!(!report.to_string().contains("Hunter2") && !stderr.contains("Hunter2"));
    for (id, trials) in modes(&report) {
        let expected = if id == "no-lock" { 201 } else { 202 };
        assert_eq!(trials[0]["final_balance"], expected, "{id}");
    }
    let env_password = url("racer", "racerdb", "?sslmode=require");
    let args = ["--trials", "2", "--db", &env_password];
    let (code, _, stderr) = run_in(tmp.path(), &args, &[("PGPASSWORD", "Hunter2-pw")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    // The scenarios of several accounts over the same connection; each run
    // drops its schema, and the database holds none of bankrace's after.
    for scenario in ["write-skew", "transfer"] {
        let args = [
            "--scenario",
            scenario,
            "--trials",
            "2",
            "--ops",
            "5",
            "--db",
            &with_password,
        ];
        let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
        assert_eq!(code, Some(0), "{scenario}: {stderr}");
        assert_eq!(report["parameters"]["scenario"], scenario);
    }
    assert_eq!(schemas_left(&bin, &server), "0");

    // Bad input: one line each, exit 1, no password anywhere.
    let fails = |target: &str, needle: &str| {
        let started = Instant::now();
        let (code, _, stderr) = run_in(tmp.path(), &["--trials", "1", "--db", target], &[]);
        assert_eq!(code, Some(1), "{target}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(needle) && !stderr.contains("Hunter2") && !stderr.contains("Wrong-pw"),
            "{stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{target} took {:?}",
            started.elapsed()
        );
    };
    fails(
        &url("racer:Wrong-pw", "racerdb", ""),
        "password authentication failed",
    );
    fails(
        &url("racer:Hunter2-pw", "nosuchdb", ""),
        "`nosuchdb` does not exist",
    );
    fails(
        &url("racer:Hunter2-pw", "postgres", ""),
        "no right to create a schema",
    );
    let dead = format!(
        "postgresql://racer:Hunter2-pw@127.0.0.1:{}/racerdb?connect_timeout=2",
        free_port()
    );
    fails(&dead, "cannot reach");
    assert_empty(tmp.path());
}

/// `psql` on the embedded server whose directory is `dir`: one statement,
/// its rows unaligned, or `None` if it failed.
fn psql_in(bin: &Path, dir: &Path, statement: &str) -> Option<String> {
    let out = psql_command(bin, dir)
        .args(["-tAc", statement])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn psql_command(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin.join("psql"));
    cmd.arg("-h")
        .arg(dir)
        .args(["-p", "5432", "-U", "bankrace", "-d", "postgres", "-X", "-q"]);
    cmd
}

/// A `psql` session that takes advisory lock 0 and keeps it until killed.
fn hold_advisory_lock(bin: &Path, dir: &Path) -> std::process::Child {
    use std::io::Write;
    let mut holder = psql_command(bin, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = holder.stdin.as_mut().unwrap();
    stdin
        .write_all(b"SELECT pg_advisory_lock(0::bigint);\n")
        .unwrap();
    stdin.flush().unwrap();
    holder
}

/// Which backends (not psql's) wait for an advisory lock.
const BLOCKED_WORKERS: &str = "FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
     WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name <> 'psql'";

/// Waits until a worker (not psql) waits for an advisory lock.
fn wait_for_a_blocked_worker(bin: &Path, dir: &Path) {
    let count = format!("SELECT count(*) {BLOCKED_WORKERS}");
    assert!(
        eventually(Duration::from_secs(60), || {
            psql_in(bin, dir, &count).is_some_and(|n| n != "0")
        }),
        "no worker ever waited for the held lock"
    );
}

/// The run's balance, once its schema exists.
fn balance_in(bin: &Path, dir: &Path) -> Option<String> {
    let schemas = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bankrace\\_%'";
    let schema = psql_in(bin, dir, schemas).filter(|s| !s.is_empty())?;
    psql_in(bin, dir, &format!("SELECT balance FROM {schema}.accounts"))
}

/// One depositor, one operation per trial, under `advisory`: each trial's
/// worker takes pg_advisory_xact_lock(0) around its update.
const ADVISORY_TRIALS: [&str; 18] = [
    "--db",
    "embedded",
    "--lock=advisory",
    "--depositors",
    "1",
    "--withdrawers",
    "0",
    "--ops",
    "1",
    "--window",
    "0",
    "--pause",
    "0",
    "--trials",
    "100000",
    "--timeout",
    "120s",
    "-q",
];

#[test]
fn a_terminated_worker_fails_its_trial_and_the_run_goes_on() {
    let Some(bin) = server_binaries() else { return };
    let tmp = reachable_tmp();
    let mut args = ADVISORY_TRIALS.to_vec();
    args.pop(); // -q: the JSON report is wanted
    let child = start(&args, tmp.path());
    let (dir, postmaster) = server_started(tmp.path(), None);
    // The server accepts connections once the run's schema holds a balance.
    assert!(
        eventually(Duration::from_secs(60), || balance_in(&bin, &dir).is_some()),
        "the run never made its schema"
    );
    let mut holder = hold_advisory_lock(&bin, &dir);
    wait_for_a_blocked_worker(&bin, &dir);
    // The blocked worker's backend is ended while the server stays up: only
    // that trial fails.
    let terminate = format!("SELECT count(pg_terminate_backend(l.pid)) {BLOCKED_WORKERS}");
    assert_eq!(psql_in(&bin, &dir, &terminate).as_deref(), Some("1"));
    let _ = holder.kill();
    let _ = holder.wait();
    // The failed trial's worker never deposited and the next trial starts
    // at 200: 201 is a later trial's deposit. The balance back at 200 after
    // it is the trial after that being prepared: the one that deposited has
    // ended, so a trial completed after the failed one before the signal.
    assert!(
        eventually(Duration::from_secs(60), || balance_in(&bin, &dir)
            .is_some_and(|b| b == "201")),
        "no trial deposited after the terminated one"
    );
    assert!(
        eventually(Duration::from_secs(60), || balance_in(&bin, &dir)
            .is_some_and(|b| b == "200")),
        "the trial that deposited never ended"
    );
    signal(child.id(), Signal::INT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["database_lost"], Value::Null);
    let trials = report["modes"][0]["trials"].as_array().unwrap();
    let failed: Vec<&Value> = trials.iter().filter(|t| t["status"] != "ok").collect();
    assert_eq!(failed.len(), 1, "{trials:?}");
    let cause = failed[0]["cause"].as_str().unwrap();
    assert!(
        cause.contains("worker 0 lost its connection to the database"),
        "{cause}"
    );
    let after = trials
        .iter()
        .filter(|t| t["trial"].as_u64() > failed[0]["trial"].as_u64() && t["status"] == "ok");
    assert!(after.count() >= 1, "the run went on after the failed trial");
    assert!(!alive(postmaster));
    assert_empty(tmp.path());
}

#[test]
fn a_server_stopped_mid_run_fails_the_trial_in_flight_and_reports_the_rest() {
    let Some(bin) = server_binaries() else { return };
    let tmp = reachable_tmp();
    let out_dir = tempfile::tempdir().unwrap();
    let (md, csv) = (out_dir.path().join("r.md"), out_dir.path().join("r.csv"));
    let mut args = ADVISORY_TRIALS.to_vec();
    args.pop(); // -q: the JSON report is wanted
    args.extend(["--export-markdown", md.to_str().unwrap()]);
    args.extend(["--export-csv", csv.to_str().unwrap()]);
    let child = start(&args, tmp.path());
    let pid = child.id();
    let (dir, postmaster) = server_started(tmp.path(), None);
    // A balance of 201 means a trial's worker committed its deposit (each
    // trial starts at 200): that trial completes, since the coordinator
    // needs no lock to read the balance.
    assert!(
        eventually(Duration::from_secs(60), || balance_in(&bin, &dir)
            .is_some_and(|b| b == "201")),
        "no trial ever completed its deposit"
    );
    // Then this session takes the advisory lock and keeps it: every later
    // trial's worker blocks on it, in flight, until the server stops.
    let mut holder = hold_advisory_lock(&bin, &dir);
    wait_for_a_blocked_worker(&bin, &dir);
    // SIGQUIT: PostgreSQL's immediate shutdown, as `pg_ctl stop -m immediate`.
    signal(postmaster, Signal::QUIT);
    let out = child.wait_with_output().unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // One line: the worker that lost its connection leaves it to the run.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the database went away during trial"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lost = report["database_lost"].as_str().unwrap();
    assert!(
        lost.contains("of advisory") && lost.contains("worker 0"),
        "{lost}"
    );
    let trials = report["modes"][0]["trials"].as_array().unwrap();
    assert!(!trials.is_empty(), "the completed trials are reported");
    for t in trials {
        assert_eq!(
            (&t["status"], &t["final_balance"]),
            (&"ok".into(), &201.into())
        );
    }
    let in_flight: u64 = lost["trial ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(in_flight as usize, trials.len() + 1, "{lost}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("the database went away during trial"), "{md}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("advisory,")).count(),
        trials.len(),
        "{csv}"
    );
    assert!(!alive(postmaster) && workers_of(pid).is_empty());
    assert_empty(tmp.path());
}

#[test]
fn a_worker_killed_holding_a_row_lock_is_rolled_back_and_the_others_go_on() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let out_dir = tempfile::tempdir().unwrap();
    let md = out_dir.path().join("r.md");
    // In every trial one worker dies inside its window, that is after its
    // SELECT ... FOR UPDATE and before its UPDATE: it holds the row lock.
    // The fault gate starts the other worker only once the doomed one is
    // dying, so the other always needs the lock the dead one held.
    let args = [
        "--db",
        "embedded",
        "--lock=row",
        "--kill-holder",
        "1",
        "--depositors",
        "2",
        "--withdrawers",
        "0",
        "--ops",
        "3",
        "--window",
        "100ms",
        "--pause",
        "0",
        "--trials",
        "2",
        "--timeout",
        "60s",
        "--export-markdown",
        md.to_str().unwrap(),
    ];
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let mode = &report["modes"][0];
    for t in mode["trials"].as_array().unwrap() {
        assert_eq!(t["status"], "ok", "{t}");
        assert!(t["killed_worker"].is_u64(), "{t}");
        // The survivor made all 3 deposits, the dead worker fewer than 3;
        // its deposit in flight never landed: the books balance exactly.
        assert_eq!(t["final_balance"], t["expected_balance"], "{t}");
        assert_eq!(t["consistent"], true, "{t}");
        let landed = t["final_balance"].as_i64().unwrap() - 200;
        assert!((3..6).contains(&landed), "{t}");
    }
    let s = &mode["summary"];
    assert_eq!(
        (&s["holder_killed"], &s["survived_kill"], &s["rolled_back"]),
        (&2.into(), &2.into(), &2.into())
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("rolled back") && md.contains("its transaction rolled back in 2"),
        "{md}"
    );
    assert_empty(tmp.path());
}

#[test]
fn bench_on_the_embedded_server_measures_every_database_mode_and_the_set_up() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let args = [
        "bench",
        "--db",
        "embedded",
        "--ops",
        "20",
        "--repetitions",
        "2",
        "--warmup",
        "0",
        "--format",
        "json",
    ];
    let out = bankrace_in(&args, Some(tmp.path()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&v["db"], &v["ops_per_worker"]),
        (&"embedded".into(), &20.into())
    );
    let modes: Vec<&str> = v["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["lock"].as_str().unwrap_or("no-lock"))
        .collect();
    assert_eq!(
        modes,
        [
            "no-lock",
            "row",
            "advisory",
            "atomic",
            "cas",
            "repeatable-read",
            "serializable"
        ]
    );
    for m in v["modes"].as_array().unwrap() {
        assert_eq!(m["ops_per_sec"]["samples"].as_array().unwrap().len(), 2);
        assert!(m["ops_per_sec"]["min"].as_f64().unwrap() > 0.0, "{m}");
        if m["lock"].is_string() {
            assert_eq!(m["lost_updates"]["max"], 0.0, "{m}");
        }
    }
    let (run, setup) = (&v["run_ms"], &v["setup_ms"]);
    for i in 0..2 {
        let (r, s) = (
            run["samples"][i].as_f64().unwrap(),
            setup["samples"][i].as_f64().unwrap(),
        );
        assert!(0.0 < s && s < r, "{v}");
    }
    assert_empty(tmp.path());
}

#[test]
fn the_template_cluster_is_cached_copied_by_the_next_run_and_removed_by_db_cleanup() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let cache = tempfile::tempdir().unwrap();
    let cache_env = [("BANKRACE_PG_CACHE", cache.path().to_str().unwrap())];
    let args = ["--trials", "1", "--ops", "1", "--db", "embedded"];
    let (code, _, stderr) = run_in(tmp.path(), &args, &cache_env);
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    let templates: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert!(templates[0].join("PG_VERSION").exists());
    // A mark only the template has: the next run's cluster is a copy of it.
    std::fs::write(templates[0].join("bankrace-test-mark"), "").unwrap();
    // Interrupting signals at their defaults, whatever the test runner
    // inherited (a background job's SIGINT is ignored, and stays so).
    let mut child = Command::new("env")
        .arg("--default-signal=HUP,INT,TERM")
        .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
        .args([
            "run", "--db", "embedded", "--trials", "100000", "--format", "json",
        ])
        .env("TMPDIR", tmp.path())
        .envs(cache_env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut copied = false;
    assert!(
        eventually(Duration::from_secs(60), || {
            copied = postmaster_in(tmp.path())
                .is_some_and(|(dir, _)| dir.join("data/bankrace-test-mark").exists());
            copied
        }),
        "the second run's cluster is not a copy of the template"
    );
    signal(child.id(), Signal::INT);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_empty(tmp.path());
    // bankrace_in turns the cache off: db-cleanup sees this test's cache.
    let out = Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
        .arg("db-cleanup")
        .env("TMPDIR", tmp.path())
        .envs(cache_env)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("pg-template-"),
        "{}",
        text(&out.stdout)
    );
    assert_empty(cache.path());
}

/// `db-cleanup` also removes the cache directory it chose itself
/// (`$XDG_CACHE_HOME/bankrace`) once the templates are gone, and only then:
/// a directory that still holds anything else stays, and so does its content.
#[test]
fn db_cleanup_removes_its_own_cache_directory_once_empty() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cleanup = || {
        Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
            .arg("db-cleanup")
            .env_remove("BANKRACE_PG_CACHE")
            .env("XDG_CACHE_HOME", home.path())
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap()
    };
    let cache = home.path().join("bankrace");
    let template = cache.join("pg-template-0123456789abcdef");
    std::fs::create_dir_all(&template).unwrap();
    std::fs::write(cache.join("notes"), "not bankrace's").unwrap();
    let out = cleanup();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!template.exists(), "{}", text(&out.stdout));
    assert!(cache.join("notes").exists(), "something else in it stays");

    std::fs::remove_file(cache.join("notes")).unwrap();
    let out = cleanup();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!cache.exists(), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("removed {}", cache.display())
    );
}
