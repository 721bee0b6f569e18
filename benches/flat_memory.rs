//! Peak memory of the statistics and the streaming renderers: feeds synthetic trial outcomes through `report::Streams` for text, CSV and JSON, each in a process of its own, and compares the peak RSS of 1,000,000 outcomes with that of 10.
//!
//! `cargo bench --bench flat_memory` prints one line per format. The child
//! processes are this same executable, started with `--outcomes N --format F`.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use bankrace::outcome::TrialOutcome;
use bankrace::plan::{Plan, Request};
use bankrace::report::{self, Streams};
use bankrace::stats::Keep;
use bankrace::vocab::TrialStatus;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--outcomes") {
        let n: u32 = args[i + 1].parse().expect("a count");
        let format = args[i + 3].clone();
        feed(n, &format);
        return;
    }
    let exe = std::env::current_exe().expect("this executable");
    println!("format  peak RSS of 10 outcomes  of 1,000,000  ratio  time for 1,000,000");
    for format in ["text", "csv", "json"] {
        let small = child(&exe, 10, format).0;
        let (large, took) = child(&exe, 1_000_000, format);
        println!(
            "{format:<6}  {small:>20} kB  {large:>8} kB  {:>5.2}  {:>8.1}s",
            large as f64 / small as f64,
            took.as_secs_f64()
        );
    }
}

/// Runs `--outcomes n --format f` and returns its peak RSS in kB and its time.
fn child(exe: &std::path::Path, n: u32, format: &str) -> (u64, Duration) {
    let started = Instant::now();
    let out = Command::new(exe)
        .args(["--outcomes", &n.to_string(), "--format", format])
        .output()
        .expect("the child runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kb = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (kb, started.elapsed())
}

/// Feeds `n` outcomes per mode of the default plan through the streams,
/// renders the format into a sink, and prints the peak RSS (VmHWM) in kB.
fn feed(n: u32, format: &str) {
    let plan = Plan::build(
        Request {
            trials: i64::from(n),
            seed: Some(1),
            ..Request::default()
        },
        || 1,
    )
    .unwrap();
    let sink = || -> Vec<Box<dyn Write>> { vec![Box::new(std::io::sink())] };
    let (json, csv) = match format {
        "json" => (sink(), Vec::new()),
        "csv" => (Vec::new(), sink()),
        _ => (Vec::new(), Vec::new()),
    };
    let host = bankrace::host::Host::current();
    let mut streams = Streams::new(&plan, &host, Keep::Traced, json, csv).unwrap();
    for m in 0..plan.modes.len() {
        for trial in 1..=n {
            // 41 distinct balances, and one failed trial in a thousand.
            let balance = 200 - i64::from(trial * 7_919 % 41);
            let mut t = TrialOutcome {
                deposits: 50,
                withdrawals: 50,
                elapsed: Duration::from_micros(150 + u64::from(trial % 97)),
                busy: Duration::from_micros(40),
                ..TrialOutcome::ok(trial, balance)
            };
            if trial % 1_000 == 0 {
                t.status = TrialStatus::Failed;
                t.cause = Some(format!("worker {} killed by SIGKILL", trial % 2));
            }
            streams.trial(m, &t).unwrap();
        }
    }
    let (results, _) = streams.finish(None, false, None).unwrap();
    if format == "text" {
        std::io::sink()
            .write_all(report::text(&results).as_bytes())
            .unwrap();
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    println!("{}", hwm.trim().trim_end_matches("kB").trim());
}
