//! In-process hot paths, for developers: one operation of each strategy on an anonymous ledger, statistics over many outcomes, the renderers.
//!
//! `cargo bench` runs them. Processes, spawning and cross-process contention
//! are measured by `bankrace bench` instead; here everything runs on one
//! thread, uncontended, so the numbers are the code's own cost.

use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bankrace::bench::{
    BenchResults, LossComparison, LossRate, ModeBench, Overhead, Spread, TrialRates,
};
use bankrace::ledger::Ledger;
use bankrace::outcome::{ModeOutcomes, RunOutcome, TrialOutcome};
use bankrace::plan::{Plan, Request};
use bankrace::spec::Job;
use bankrace::strategy::{self, Hooks, Locked, Strategy};
use bankrace::vocab::Mode;
use bankrace::{report, stats};
use divan::Bencher;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

/// No race window: the strategy's own cost only.
struct NoWindow;

impl Hooks for NoWindow {
    fn window(&mut self) {}
}

fn ledger() -> Ledger {
    let job = Job::plain(1, 0, 0);
    Ledger::anonymous(&job).expect("an anonymous ledger")
}

/// Operations per sample, so that a sample is long enough to time.
const OPS: u64 = 1_000;

fn updates<S: Strategy>(bencher: Bencher, mut strategy: S) {
    let ledger = ledger();
    bencher.counter(ItemsCount::new(OPS)).bench_local(|| {
        for _ in 0..OPS {
            strategy
                .update(
                    black_box(&ledger),
                    ledger.balance(),
                    black_box(1),
                    &mut NoWindow,
                )
                .expect("an update");
        }
    });
    black_box(ledger.balance().load(Relaxed));
}

mod update {
    use super::*;

    #[divan::bench]
    fn no_lock(b: Bencher) {
        updates(b, strategy::NoLock);
    }

    #[divan::bench]
    fn atomic(b: Bencher) {
        updates(b, strategy::Atomic);
    }

    #[divan::bench]
    fn spin(b: Bencher) {
        updates(b, Locked(strategy::Spin));
    }

    #[divan::bench]
    fn mutex(b: Bencher) {
        updates(b, Locked(strategy::Mutex));
    }

    #[divan::bench]
    fn flock(b: Bencher) {
        let file = tempfile::tempfile().expect("a file to lock");
        updates(b, Locked(strategy::Flock::new(file)));
    }
}

fn plan(trials: u32) -> Plan {
    Plan::build(
        Request {
            trials: i64::from(trials),
            seed: Some(1),
            ..Request::default()
        },
        || 1,
    )
    .expect("a valid plan")
}

/// `trials` plausible outcomes per mode, unlocked and mutex.
fn outcomes(trials: u32) -> RunOutcome {
    let modes = [Mode::NoLock, Mode::Mutex]
        .into_iter()
        .map(|mode| ModeOutcomes {
            mode,
            trials: (1..=trials)
                .map(|trial| {
                    let balance = match mode {
                        Mode::NoLock => 180 + i64::from(trial % 41),
                        _ => 200,
                    };
                    TrialOutcome {
                        deposits: 50,
                        withdrawals: 50,
                        elapsed: Duration::from_micros(15_000 + u64::from(trial % 97)),
                        busy: Duration::from_micros(9_000 + u64::from(trial % 89)),
                        ..TrialOutcome::ok(trial, balance)
                    }
                })
                .collect(),
        })
        .collect();
    RunOutcome {
        modes,
        interrupted: None,
        stopped_early: false,
        database_lost: None,
        host: bankrace::host::Host::fixture(),
    }
}

#[divan::bench(args = [1_000, 100_000])]
fn statistics(b: Bencher, trials: u32) {
    let (plan, outcomes) = (plan(trials), outcomes(trials));
    b.counter(ItemsCount::new(2 * trials))
        .bench(|| stats::results(black_box(&plan), black_box(&outcomes)));
}

mod render {
    use super::*;

    #[divan::bench(args = [50, 10_000])]
    fn text(b: Bencher, trials: u32) {
        let results = stats::results(&plan(trials), &outcomes(trials));
        b.bench(|| report::text(black_box(&results)));
    }

    #[divan::bench(args = [50, 10_000])]
    fn json(b: Bencher, trials: u32) {
        let results = stats::results(&plan(trials), &outcomes(trials));
        b.bench(|| report::json(black_box(&results)));
    }

    #[divan::bench]
    fn bench_table(b: Bencher) {
        let spread = |v: f64| Spread::of(vec![v * 0.9, v, v * 1.1]);
        let results = BenchResults {
            host: bankrace::host::Host::fixture(),
            workers: 2,
            cpus: 2,
            ops_per_worker: 200_000,
            warmup: 1,
            repetitions: 3,
            modes: Mode::ALL
                .into_iter()
                .map(|mode| ModeBench {
                    lock: mode.strategy(),
                    mode,
                    ops_per_sec: spread(10e6),
                    lost_updates: spread(0.1),
                })
                .collect(),
            overhead: Overhead {
                trials: 50,
                trial_us: spread(2_000.0),
                spawn_us: spread(1_800.0),
                ratio: spread(1.1),
            },
            trials_per_sec: TrialRates {
                reused_trials: 1_000,
                fresh: spread(400.0),
                reused: spread(10e3),
                speedup: spread(25.0),
            },
            loss: LossComparison {
                fresh: LossRate::of(&[-3, 0, -9, -1]),
                reused: LossRate::of(&[-2, -4, 0, -1]),
            },
        };
        b.bench(|| report::bench::text(black_box(&results)));
    }
}
