//! The reports of `bankrace bench`: a table for people and one JSON document for programs. Pure.

use std::fmt::Write as _;
use std::time::Duration;

use super::text::si;
use crate::bench::{BenchResults, ModeBench, Spread};
use crate::bench_db::DbBenchResults;
use crate::duration;

/// The JSON report: the results, serialized.
pub fn json(results: &BenchResults) -> String {
    super::json::document(results)
}

/// What both benches measured the throughput of: where (`on`, empty for
/// the memory-mapped ledger), with how many workers and repetitions, and
/// each mode's figures.
struct Rates<'a> {
    on: String,
    workers: u32,
    cpus: usize,
    repetitions: u32,
    warmup: u32,
    ops_per_worker: u64,
    modes: &'a [ModeBench],
}

/// The heading line and the throughput table, one row per mode.
fn throughput(out: &mut String, m: &Rates) {
    let _ = writeln!(
        out,
        "bankrace bench: {}{} worker{} on {} CPU{} · {} repetition{} after {} warm-up{} · min, median, max",
        m.on,
        m.workers,
        plural(m.workers),
        m.cpus,
        plural(m.cpus as u32),
        m.repetitions,
        plural(m.repetitions),
        m.warmup,
        plural(m.warmup),
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "Throughput: {} operations per worker, no pause, no window, every worker deposits 1",
        m.ops_per_worker
    );
    let mut rows = vec![row(
        "ops/s",
        ["min", "median", "max", "lost updates"].map(String::from),
    )];
    for mode in m.modes {
        let s = &mode.ops_per_sec;
        rows.push(row(
            mode.mode.name(),
            [
                si(s.min),
                si(s.median),
                si(s.max),
                percent(mode.lost_updates.median),
            ],
        ));
    }
    table(out, &rows);
}

/// The JSON report of `bankrace bench --db`.
pub fn db_json(results: &DbBenchResults) -> String {
    super::json::document(results)
}

/// The text report of `bankrace bench --db`: a throughput table, one row
/// per database mode, and the set-up cost of a run's database.
pub fn db_text(r: &DbBenchResults) -> String {
    let mut out = String::new();
    throughput(
        &mut out,
        &Rates {
            on: format!("postgres at {} · ", r.db),
            workers: r.workers,
            cpus: r.cpus,
            repetitions: r.repetitions,
            warmup: r.warmup,
            ops_per_worker: r.ops_per_worker,
            modes: &r.modes,
        },
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "Set-up: a whole run of one trial of one operation, and the same less its trial"
    );
    let ms = |s: &Spread| [s.min, s.median, s.max].map(|v| format!("{v:.0}ms"));
    let [a, b, c] = ms(&r.run_ms);
    let [d, e, f] = ms(&r.setup_ms);
    let rows = vec![
        row("", ["min", "median", "max"].map(String::from)),
        row("whole run", [a, b, c]),
        row("set-up", [d, e, f]),
    ];
    table(&mut out, &rows);
    out
}

/// The text report: a throughput table, one row per mode, and an overhead
/// table with the ratio to starting the same number of processes.
pub fn text(r: &BenchResults) -> String {
    let mut out = String::new();
    throughput(
        &mut out,
        &Rates {
            on: String::new(),
            workers: r.workers,
            cpus: r.cpus,
            repetitions: r.repetitions,
            warmup: r.warmup,
            ops_per_worker: r.ops_per_worker,
            modes: &r.modes,
        },
    );
    out.push('\n');

    let o = &r.overhead;
    let _ = writeln!(
        out,
        "Overhead: {} trial{} of {} fresh worker{} with one operation each, per repetition",
        o.trials,
        plural(o.trials),
        r.workers,
        plural(r.workers),
    );
    let us = |s: &Spread| [s.min, s.median, s.max].map(|v| duration::human(micros(v)));
    let rows = [
        row("", ["min", "median", "max"].map(String::from)),
        row("one fresh trial", us(&o.trial_us)),
        row(
            &format!("start and reap {} × bankrace --version", r.workers),
            us(&o.spawn_us),
        ),
        row(
            "trial / start and reap",
            [o.ratio.min, o.ratio.median, o.ratio.max].map(|v| format!("{v:.2}")),
        ),
    ];
    table(&mut out, &rows);
    out.push('\n');
    reuse_tables(&mut out, r);
    notes(&mut out, r.workers);
    out
}

/// What the columns mean, below the tables.
fn notes(out: &mut String, workers: u32) {
    let _ = writeln!(
        out,
        "ops/s counts every operation over the time the workers ran (start barrier to last finish);"
    );
    let _ = writeln!(
        out,
        "lost updates is the median share of deposits missing from the final balance;"
    );
    let _ = writeln!(
        out,
        "trial / start and reap divides a fresh trial's wall time (ledger, {n} worker starts, barrier,",
        n = workers
    );
    let _ = writeln!(
        out,
        "operation, {n} exits and reaps) by the time to start and reap {n} × bankrace --version;",
        n = workers
    );
    let _ = writeln!(
        out,
        "both sides start and reap as many processes, so below 1 would mean a worker starts and exits\n\
         faster than a --version run; it never means a trial costs less than starting its processes."
    );
}

/// Trials per second, fresh against reused, and the defaults' race with each.
fn reuse_tables(out: &mut String, r: &BenchResults) {
    let t = &r.trials_per_sec;
    let _ = writeln!(
        out,
        "Trials per second: one operation, no pause, no window; {} fresh and {} reused trials per repetition",
        r.overhead.trials, t.reused_trials
    );
    let rate = |s: &Spread| [si(s.min), si(s.median), si(s.max)];
    let rows = [
        row("", ["min", "median", "max"].map(String::from)),
        row("fresh workers", rate(&t.fresh)),
        row("reused workers (--reuse-workers)", rate(&t.reused)),
        row(
            "reused / fresh",
            [t.speedup.min, t.speedup.median, t.speedup.max].map(|v| format!("{v:.1}x")),
        ),
    ];
    table(out, &rows);
    out.push('\n');
    let l = &r.loss;
    let _ = writeln!(
        out,
        "The race in run's unlocked defaults, {} trials each, 95% intervals",
        l.fresh.trials
    );
    let mut rows = vec![row(
        "",
        ["trials that missed the books", "mean |final - expected|"].map(String::from),
    )];
    for (label, rate) in [("fresh workers", &l.fresh), ("reused workers", &l.reused)] {
        rows.push(row(
            label,
            [
                format!(
                    "{:.1}% [{:.1}%, {:.1}%]",
                    rate.share * 100.0,
                    rate.share_low * 100.0,
                    rate.share_high * 100.0
                ),
                format!("{:.2} ± {:.2}", rate.mean_deviation, rate.mean_deviation_ci),
            ],
        ));
    }
    table(out, &rows);
    out.push('\n');
}

fn row<const N: usize>(label: &str, cells: [String; N]) -> (String, Vec<String>) {
    (label.to_string(), cells.into())
}

/// Left-aligned labels, right-aligned cells, each column as wide as it needs.
fn table(out: &mut String, rows: &[(String, Vec<String>)]) {
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let columns = rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|(_, c)| c.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (label, cells) in rows {
        let mut line = format!("{label:<label_width$}");
        for (cell, width) in cells.iter().zip(&widths) {
            let _ = write!(line, "  {cell:>width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn micros(us: f64) -> Duration {
    Duration::from_secs_f64(us.max(0.0) / 1e6)
}

/// `0` for exactly nothing, so that an exact mode reads as exact.
fn percent(share: f64) -> String {
    if share == 0.0 {
        "0".to_string()
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{LossComparison, LossRate, ModeBench, Overhead, TrialRates};
    use crate::vocab::Mode;

    fn spread(v: [f64; 3]) -> Spread {
        Spread::of(v.to_vec())
    }

    fn results() -> BenchResults {
        BenchResults {
            host: crate::host::Host::fixture(),
            workers: 2,
            cpus: 2,
            ops_per_worker: 100_000,
            warmup: 1,
            repetitions: 3,
            modes: vec![
                ModeBench {
                    lock: None,
                    mode: Mode::NoLock,
                    ops_per_sec: spread([80e6, 70e6, 90e6]),
                    lost_updates: spread([0.30, 0.32, 0.31]),
                },
                ModeBench {
                    lock: Mode::Flock.strategy(),
                    mode: Mode::Flock,
                    ops_per_sec: spread([800e3, 812e3, 790e3]),
                    lost_updates: spread([0.0; 3]),
                },
            ],
            overhead: Overhead {
                trials: 50,
                trial_us: spread([1_200.0, 1_100.0, 1_300.0]),
                spawn_us: spread([1_000.0, 1_000.0, 1_000.0]),
                ratio: spread([1.2, 1.1, 1.3]),
            },
            trials_per_sec: TrialRates {
                reused_trials: 1_000,
                fresh: spread([800.0, 900.0, 1_000.0]),
                reused: spread([20e3, 25e3, 30e3]),
                speedup: spread([25.0, 27.0, 30.0]),
            },
            loss: LossComparison {
                fresh: LossRate::of(&[-3, 0, 2, -1]),
                reused: LossRate::of(&[-2, -1, 1, 0]),
            },
        }
    }

    #[test]
    fn text_shows_every_mode_and_the_ratio() {
        insta::assert_snapshot!(text(&results()), @r"
        bankrace bench: 2 workers on 2 CPUs · 3 repetitions after 1 warm-up · min, median, max

        Throughput: 100000 operations per worker, no pause, no window, every worker deposits 1
        ops/s      min  median    max  lost updates
        no lock  70.0M   80.0M  90.0M         31.0%
        flock     790k    800k   812k             0

        Overhead: 50 trials of 2 fresh workers with one operation each, per repetition
                                                  min  median     max
        one fresh trial                        1.10ms  1.20ms  1.30ms
        start and reap 2 × bankrace --version  1.00ms  1.00ms  1.00ms
        trial / start and reap                   1.10    1.20    1.30

        Trials per second: one operation, no pause, no window; 50 fresh and 1000 reused trials per repetition
                                            min  median    max
        fresh workers                       800     900   1.0k
        reused workers (--reuse-workers)  20.0k   25.0k  30.0k
        reused / fresh                    25.0x   27.0x  30.0x

        The race in run's unlocked defaults, 4 trials each, 95% intervals
                        trials that missed the books  mean |final - expected|
        fresh workers           75.0% [30.1%, 95.4%]              1.50 ± 1.27
        reused workers          75.0% [30.1%, 95.4%]              1.00 ± 0.80

        ops/s counts every operation over the time the workers ran (start barrier to last finish);
        lost updates is the median share of deposits missing from the final balance;
        trial / start and reap divides a fresh trial's wall time (ledger, 2 worker starts, barrier,
        operation, 2 exits and reaps) by the time to start and reap 2 × bankrace --version;
        both sides start and reap as many processes, so below 1 would mean a worker starts and exits
        faster than a --version run; it never means a trial costs less than starting its processes.
        ");
    }

    #[test]
    fn json_keeps_the_field_names_and_the_unlocked_mode_is_null() {
        let v: serde_json::Value = serde_json::from_str(&json(&results())).unwrap();
        assert!(v["modes"][0]["lock"].is_null());
        assert_eq!(v["modes"][1]["lock"], "flock");
        assert_eq!(v["modes"][0]["ops_per_sec"]["median"], 80e6);
        assert_eq!(v["modes"][0]["lost_updates"]["max"], 0.32);
        assert_eq!(v["overhead"]["ratio"]["median"], 1.2);
        assert_eq!(v["overhead"]["trial_us"]["samples"][1], 1_100.0);
        assert_eq!(v["workers"], 2);
        assert_eq!(v["schema_version"], super::super::json::SCHEMA_VERSION);
        assert_eq!(v["host"]["kernel"], "6.1.0-test");
        assert!(v["bankrace_version"].is_string());
    }
}
