//! The plan of `bankrace bench`: the two plans it runs over and over, checked.

use std::time::Duration;

use crate::limits::{MAX_OPS, MAX_TRIALS, MAX_WORKERS};
use crate::usage::UsageError;
use crate::vocab::{LockChoice, Scenario};

use super::check::in_range;
use super::{Plan, Request};

/// The most repetitions (or warm-up rounds) of `bankrace bench`.
pub(crate) const MAX_REPETITIONS: u32 = 1_000;

/// What `bankrace bench` asks for, before checks. Built by the CLI layer;
/// counts arrive as signed numbers, as they do for [`Request`].
#[derive(Debug, Clone, Default)]
pub struct BenchRequest {
    pub workers: i64,
    pub ops: i64,
    pub trials: i64,
    pub repetitions: i64,
    pub warmup: i64,
    /// Trials of the defaults per repetition, fresh and reused each.
    pub loss_trials: i64,
}

/// A benchmark that has passed every check: the two plans it runs, over and
/// over. Every worker deposits 1, so that each lost update shows as exactly
/// one unit missing from the final balance.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchPlan {
    pub workers: u32,
    pub repetitions: u32,
    pub warmup: u32,
    /// One trial of every mode (no lock first), `ops` per worker, no pause
    /// and no window: the cost of synchronization alone.
    pub throughput: Plan,
    /// `trials` unlocked trials of one operation, no pause, no window, each
    /// with fresh workers: the cost of a trial.
    pub overhead: Plan,
    /// Unlocked trials of one operation, no pause, no window, with reused
    /// workers: `trials` × [`REUSED_TRIALS_FACTOR`] of them, for as long
    /// a measurement as the fresh ones get.
    pub reused: Plan,
    /// The unlocked defaults of `run` (lost update), `loss_trials` trials:
    /// how often the race bites, run with fresh and with reused workers.
    pub loss: Plan,
}

/// `bankrace bench --db`: the plans it runs over and over on the database.
#[derive(Debug, Clone, PartialEq)]
pub struct DbBenchPlan {
    pub workers: u32,
    pub repetitions: u32,
    pub warmup: u32,
    /// One trial of the unlocked mode and of every database strategy,
    /// `ops` per worker, no pause and no window.
    pub throughput: Plan,
    /// One unlocked trial of one operation: timed whole, it is what opening
    /// and closing the run's database costs.
    pub setup: Plan,
}

/// The operations per worker of `bankrace bench` when `--ops` is not given:
/// a million in memory, a thousand statements' worth on a database.
pub(crate) fn default_ops(db: bool) -> i64 {
    if db { 1_000 } else { 1_000_000 }
}

/// One trial of every mode (no lock first) in which `workers` depositors
/// each add 1 `ops` times from 0, with no pause and no window: the
/// throughput trial of both benches.
fn throughput(workers: i64, ops: i64) -> Request {
    Request {
        scenario: Some(Scenario::LostUpdate),
        trials: 1,
        initial: Some(0),
        depositors: Some(workers),
        withdrawers: Some(0),
        ops: Some(ops),
        amount: Some(1),
        pause: Some(Duration::ZERO),
        window: Some(Duration::ZERO),
        seed: Some(0),
        locks: vec![LockChoice::All],
        no_lock: true,
        ..Request::default()
    }
}

impl DbBenchPlan {
    /// The plans on database `db` (`embedded` or a connection string).
    pub fn build(req: BenchRequest, db: &str) -> Result<DbBenchPlan, UsageError> {
        let workers = in_range("--workers", req.workers, 1, i64::from(MAX_WORKERS))?;
        let ops = in_range("--ops", req.ops, 1, MAX_OPS as i64)?;
        let max = i64::from(MAX_REPETITIONS);
        let repetitions = in_range("--repetitions", req.repetitions, 1, max)? as u32;
        let warmup = in_range("--warmup", req.warmup, 0, max)? as u32;
        let throughput = Request {
            db: Some(db.to_string()),
            ..throughput(workers, ops)
        };
        let setup = Request {
            ops: Some(1),
            locks: Vec::new(),
            ..throughput.clone()
        };
        Ok(DbBenchPlan {
            workers: workers as u32,
            repetitions,
            warmup,
            throughput: Plan::build(throughput, || 0)?,
            setup: Plan::build(setup, || 0)?,
        })
    }
}

/// How many more trials the reused-worker measurement runs than the fresh one.
pub(crate) const REUSED_TRIALS_FACTOR: u32 = 20;

impl BenchPlan {
    pub fn build(req: BenchRequest) -> Result<BenchPlan, UsageError> {
        let workers = in_range("--workers", req.workers, 1, i64::from(MAX_WORKERS))?;
        let ops = in_range("--ops", req.ops, 1, MAX_OPS as i64)?;
        let trials = in_range("--trials", req.trials, 1, i64::from(MAX_TRIALS))?;
        let max = i64::from(MAX_REPETITIONS);
        let repetitions = in_range("--repetitions", req.repetitions, 1, max)? as u32;
        let warmup = in_range("--warmup", req.warmup, 0, max)? as u32;
        let loss_trials = in_range("--loss-trials", req.loss_trials, 1, i64::from(MAX_TRIALS))?;
        let throughput = throughput(workers, ops);
        let overhead = Request {
            trials,
            ops: Some(1),
            locks: Vec::new(),
            ..throughput.clone()
        };
        let reused = Request {
            trials: (trials * i64::from(REUSED_TRIALS_FACTOR)).min(i64::from(MAX_TRIALS)),
            reuse_workers: true,
            ..overhead.clone()
        };
        let loss = Request {
            trials: loss_trials,
            no_lock: true,
            seed: Some(0),
            ..Request::default()
        };
        Ok(BenchPlan {
            workers: workers as u32,
            repetitions,
            warmup,
            throughput: Plan::build(throughput, || 0)?,
            overhead: Plan::build(overhead, || 0)?,
            reused: Plan::build(reused, || 0)?,
            loss: Plan::build(loss, || 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Mode;

    fn request() -> BenchRequest {
        BenchRequest {
            workers: 2,
            ops: 1_000,
            trials: 10,
            repetitions: 3,
            warmup: 1,
            loss_trials: 20,
        }
    }

    #[test]
    fn both_plans_share_the_workers_and_every_worker_deposits() {
        let b = BenchPlan::build(request()).unwrap();
        assert_eq!(b.throughput.modes.len(), 1 + Mode::STRATEGIES.len());
        assert_eq!(b.throughput.modes[0], Mode::NoLock);
        assert_eq!((b.throughput.trials, b.throughput.ops), (1, 1_000));
        assert_eq!(b.throughput.expected_balance(), 2_000);
        assert!(b.throughput.pause.is_zero() && b.throughput.window.is_zero());
        assert_eq!(b.overhead.modes, [Mode::NoLock]);
        assert_eq!((b.overhead.trials, b.overhead.ops), (10, 1));
        assert_eq!((b.reused.trials, b.reused.ops), (200, 1));
        assert!(b.reused.reuse_workers && !b.overhead.reuse_workers);
        // The loss comparison runs `run`'s unlocked defaults.
        assert_eq!(b.loss.modes, [Mode::NoLock]);
        assert_eq!((b.loss.trials, b.loss.ops, b.loss.workers()), (20, 50, 2));
        for plan in [&b.throughput, &b.overhead] {
            assert_eq!((plan.depositors, plan.withdrawers), (2, 0));
        }
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_flag_name() {
        let cases: [(BenchRequest, &str); 6] = [
            (
                BenchRequest {
                    workers: 0,
                    ..request()
                },
                "--workers",
            ),
            (
                BenchRequest {
                    workers: 257,
                    ..request()
                },
                "--workers",
            ),
            (
                BenchRequest {
                    ops: 0,
                    ..request()
                },
                "--ops",
            ),
            (
                BenchRequest {
                    warmup: -1,
                    ..request()
                },
                "--warmup",
            ),
            (
                BenchRequest {
                    repetitions: 0,
                    ..request()
                },
                "--repetitions",
            ),
            (
                BenchRequest {
                    trials: 0,
                    ..request()
                },
                "--trials",
            ),
        ];
        for (req, flag) in cases {
            let err = BenchPlan::build(req).unwrap_err();
            assert!(err.0.starts_with(flag), "{err}");
        }
    }
}
