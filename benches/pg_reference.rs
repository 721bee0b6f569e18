//! The reference for bankrace's unlocked mode on PostgreSQL: a minimal loop of the same naive read-committed statements over one connection per process, measured side by side with `bankrace run --db` in one run, round after round.
//!
//! `cargo bench --bench pg_reference` starts a throwaway server of its own
//! (initdb into a temporary directory, a Unix socket only, fsync,
//! synchronous_commit and full_page_writes off: the settings of `--db
//! embedded`), unless `BANKRACE_BENCH_DB` names a connection string to use
//! instead. Each round then measures, in alternating order:
//!
//! - the reference: `WORKERS` processes of this very program, each with
//!   one connection, the two statements prepared, released together once
//!   all are connected, each making `OPS` deposits of 1 as `SELECT balance`
//!   then `UPDATE ... SET balance = <read + 1>`, autocommit;
//! - bankrace: `bankrace run --db ... --no-lock` with as many depositors
//!   and operations, no window and no pause, one trial.
//!
//! Both count throughput the same way: every operation over the time from
//! the first worker starting to the last one finishing. It prints each
//! round, the medians and their ratio, with the load average before and
//! after (the machine may be shared). `WORKERS` (2), `OPS` (1000) and
//! `ROUNDS` (5) are environment variables.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use postgres::{Client, NoTls};

const BANKRACE: &str = env!("CARGO_BIN_EXE_bankrace");
const SCHEMA: &str = "bankrace_reference";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Monotonic nanoseconds, comparable across the processes of one machine.
fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], args[3].parse().unwrap());
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is taken.
    let (workers, ops, rounds) = (
        env_or("WORKERS", 2),
        env_or("OPS", 1000),
        env_or("ROUNDS", 5),
    );
    let server = match std::env::var("BANKRACE_BENCH_DB") {
        Ok(conninfo) => Server::Given(conninfo),
        Err(_) => Server::start(),
    };
    let conninfo = server.conninfo();
    let mut admin = Client::connect(&conninfo, NoTls).expect("cannot connect to the server");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; \
             CREATE TABLE {SCHEMA}.accounts (id int PRIMARY KEY, balance bigint NOT NULL); \
             INSERT INTO {SCHEMA}.accounts VALUES (0, 0)"
        ))
        .unwrap();
    println!(
        "pg_reference: {workers} workers x {ops} deposits, naive read committed, {rounds} rounds"
    );
    println!("load average before: {}", loadavg());
    println!("round  reference ops/s  bankrace ops/s  ratio   lost (ref, bankrace)");
    let (mut refs, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (r, b) = if round % 2 == 0 {
            let r = reference(&mut admin, &conninfo, workers, ops);
            (r, bankrace(&conninfo, workers, ops))
        } else {
            let b = bankrace(&conninfo, workers, ops);
            (reference(&mut admin, &conninfo, workers, ops), b)
        };
        println!(
            "{:>5}  {:>15.0}  {:>14.0}  {:>5.2}   {:.1}%, {:.1}%",
            round + 1,
            r.0,
            b.0,
            b.0 / r.0,
            r.1 * 100.0,
            b.1 * 100.0
        );
        refs.push(r.0);
        ours.push(b.0);
        ratios.push(b.0 / r.0);
    }
    let (mr, mb) = (median(&mut refs), median(&mut ours));
    println!(
        "median: reference {mr:.0} ops/s, bankrace {mb:.0} ops/s: bankrace / reference = {:.2} \
         (median of the rounds' ratios {:.2})",
        mb / mr,
        median(&mut ratios)
    );
    println!("load average after: {}", loadavg());
    admin
        .batch_execute(&format!("DROP SCHEMA {SCHEMA} CASCADE"))
        .unwrap();
    drop(admin);
    drop(server);
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One reference worker: connect, prepare, say ready, wait for the start
/// byte, deposit `ops` times, print when it started and finished.
fn child(conninfo: &str, ops: u64) {
    let mut client = Client::connect(conninfo, NoTls).expect("child cannot connect");
    client
        .batch_execute(&format!("SET search_path TO {SCHEMA}"))
        .unwrap();
    let select = client
        .prepare("SELECT balance FROM accounts WHERE id = $1")
        .unwrap();
    let update = client
        .prepare("UPDATE accounts SET balance = $2 WHERE id = $1")
        .unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go).unwrap();
    let id = 0i32;
    let started = now_ns();
    for _ in 0..ops {
        let seen: i64 = client.query_one(&select, &[&id]).unwrap().get(0);
        client.execute(&update, &[&id, &(seen + 1)]).unwrap();
    }
    println!("{started} {}", now_ns());
}

/// The reference's ops/s and share of lost updates in one round.
fn reference(admin: &mut Client, conninfo: &str, workers: u64, ops: u64) -> (f64, f64) {
    admin
        .execute(&format!("UPDATE {SCHEMA}.accounts SET balance = 0"), &[])
        .unwrap();
    let me = std::env::current_exe().unwrap();
    let mut children: Vec<Child> = (0..workers)
        .map(|_| {
            Command::new(&me)
                .args(["--child", conninfo, &ops.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outs: Vec<_> = children
        .iter_mut()
        .map(|c| BufReader::new(c.stdout.take().unwrap()))
        .collect();
    for out in &mut outs {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
    }
    for c in &mut children {
        c.stdin.as_mut().unwrap().write_all(b"g").unwrap();
    }
    let (mut first, mut last) = (u64::MAX, 0);
    for (c, out) in children.iter_mut().zip(&mut outs) {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let t: Vec<u64> = line
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        first = first.min(t[0]);
        last = last.max(t[1]);
        assert!(c.wait().unwrap().success());
    }
    let total = workers * ops;
    let balance: i64 = admin
        .query_one(&format!("SELECT balance FROM {SCHEMA}.accounts"), &[])
        .unwrap()
        .get(0);
    let secs = (last - first) as f64 / 1e9;
    (total as f64 / secs, 1.0 - balance as f64 / total as f64)
}

/// bankrace's unlocked mode on the same server: ops/s and lost share.
fn bankrace(conninfo: &str, workers: u64, ops: u64) -> (f64, f64) {
    let w = workers.to_string();
    let o = ops.to_string();
    let out = Command::new(BANKRACE)
        .args(["run", "--db", conninfo, "--no-lock", "--depositors", &w])
        .args(["--withdrawers", "0", "--ops", &o, "--initial", "0"])
        .args([
            "--window", "0", "--pause", "0", "--trials", "1", "--seed", "0",
        ])
        .args(["--format", "json"])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "bankrace run failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trial = &v["modes"][0]["trials"][0];
    let deviation = trial["deviation"].as_f64().unwrap();
    (
        trial["ops_per_sec"].as_f64().unwrap(),
        -deviation / (workers * ops) as f64,
    )
}

/// The server measured: one given by the user, or a throwaway one.
enum Server {
    Given(String),
    Own(Child, tempfile::TempDir),
}

impl Server {
    /// initdb and a server as `bankrace --db embedded` runs it, started
    /// through `bankrace db-server` so that it dies with this process (and
    /// runs as `postgres` when this runs as root).
    fn start() -> Server {
        let bindir = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(bindir)
            .expect("no /usr/lib/postgresql: set BANKRACE_BENCH_DB")
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        versions.sort();
        let bin = versions.pop().expect("no PostgreSQL server binaries").1;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let ids = run_as();
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["--no-sync", "--auth=trust", "-U", "bench", "--no-locale"])
            .current_dir(dir.path())
            .stdout(Stdio::null());
        if let Some((uid, gid)) = ids {
            use std::os::unix::process::CommandExt;
            initdb.uid(uid).gid(gid);
        }
        assert!(initdb.status().unwrap().success(), "initdb failed");
        let mut cmd = Command::new(BANKRACE);
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
        for setting in [
            "listen_addresses=",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            cmd.args(["-c", setting]);
        }
        let child = cmd
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server::Own(child, dir);
        let conninfo = server.conninfo();
        for _ in 0..3000 {
            if Client::connect(&conninfo, NoTls).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the throwaway server never accepted a connection");
    }

    fn conninfo(&self) -> String {
        match self {
            Server::Given(c) => c.clone(),
            Server::Own(_, dir) => format!(
                "host={} port=5432 user=bench dbname=postgres",
                dir.path().display()
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::Own(child, _) = self {
            // SIGINT: a fast shutdown.
            let pid = rustix::process::Pid::from_child(child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
            let _ = child.wait();
        }
    }
}

/// uid and gid of `postgres` when this runs as root (PostgreSQL refuses
/// to run as root).
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
