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
    /// `trials` unlocked trials with no operations: the cost of a trial.
    pub overhead: Plan,
}

impl BenchPlan {
    pub fn build(req: BenchRequest) -> Result<BenchPlan, UsageError> {
        let workers = in_range("--workers", req.workers, 1, i64::from(MAX_WORKERS))?;
        let ops = in_range("--ops", req.ops, 1, MAX_OPS as i64)?;
        let trials = in_range("--trials", req.trials, 1, i64::from(MAX_TRIALS))?;
        let max = i64::from(MAX_REPETITIONS);
        let repetitions = in_range("--repetitions", req.repetitions, 1, max)? as u32;
        let warmup = in_range("--warmup", req.warmup, 0, max)? as u32;
        let base = Request {
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
        };
        let overhead = Request {
            trials,
            ops: Some(0),
            locks: Vec::new(),
            ..base.clone()
        };
        Ok(BenchPlan {
            workers: workers as u32,
            repetitions,
            warmup,
            throughput: Plan::build(base, || 0)?,
            overhead: Plan::build(overhead, || 0)?,
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
        assert_eq!((b.overhead.trials, b.overhead.ops), (10, 0));
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
