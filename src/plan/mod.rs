//! The validated plan of a run: scenario, parameters, modes and seed, after defaults and checks. Pure.
//!
//! - `check.rs`: every check on a user's value, each with a sentence;
//! - `trial.rs`: trial n of a mode as a [`TrialSpec`], with its seeds and faults;
//! - `bench.rs`: the plan of `bankrace bench`.
//!
//! The JSON contract of `parameters` is [`Plan`]'s serde form: every key is
//! the option of the same name.

mod bench;
mod check;
mod trial;

pub use bench::{BenchPlan, BenchRequest};

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::duration;
use crate::limits::{MAX_OPS, MAX_TIMEOUT, MAX_TRIALS, MAX_WORKERS, MIN_TIMEOUT};
use crate::schedule::{self, Schedule};
use crate::usage::UsageError;
use crate::vocab::{LockChoice, Mode, Scenario, WorkerName};
use check::in_range;

/// Defaults chosen so that the race shows in nearly every unlocked trial, on
/// two cores and on one, and a run of 50 trials per mode stays short. The
/// README's "Defaults" section has the measurements behind them.
pub(crate) fn defaults(scenario: Scenario) -> Defaults {
    match scenario {
        Scenario::LostUpdate => Defaults {
            initial: 200,
            depositors: 1,
            withdrawers: 1,
            ops: 50,
            amount: 1,
            pause: Duration::from_micros(100),
            window: Duration::from_micros(100),
        },
        Scenario::Overdraft => Defaults {
            initial: 15_000,
            depositors: 0,
            withdrawers: 2,
            ops: 1,
            amount: 10_000,
            pause: Duration::ZERO,
            window: Duration::from_millis(2),
        },
    }
}

/// A scenario's default parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub initial: i64,
    pub depositors: u32,
    pub withdrawers: u32,
    pub ops: u64,
    pub amount: i64,
    pub pause: Duration,
    pub window: Duration,
}

/// What the user asked for, before defaults and checks. Built by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub scenario: Option<Scenario>,
    /// Counts arrive as signed 64-bit numbers so that a negative or huge
    /// value gets the same sentence, with the allowed range, as any other.
    pub trials: i64,
    pub initial: Option<i64>,
    pub depositors: Option<i64>,
    pub withdrawers: Option<i64>,
    pub ops: Option<i64>,
    pub amount: Option<i64>,
    pub pause: Option<Duration>,
    pub window: Option<Duration>,
    pub seed: Option<u64>,
    /// Values of `--lock`, in order; may repeat.
    pub locks: Vec<LockChoice>,
    pub no_lock: bool,
    pub tmpdir: PathBuf,
    /// Fraction of trials in which one worker dies holding the lock.
    pub kill_holder: f64,
    /// Overrides [`Plan::timeout`]'s default.
    pub timeout: Option<Duration>,
    pub fail_fast: bool,
    /// Record every operation (`--trace`).
    pub trace: bool,
    /// A forced schedule, as the user wrote it (`--schedule`).
    pub schedule: Option<String>,
    /// Start each mode's workers once and run every trial with them.
    pub reuse_workers: bool,
}

/// A run that has passed every check and can be executed as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub scenario: Scenario,
    pub trials: u32,
    pub initial: i64,
    pub depositors: u32,
    pub withdrawers: u32,
    pub ops: u64,
    pub amount: i64,
    #[serde(serialize_with = "serialize_duration")]
    pub pause: Duration,
    #[serde(serialize_with = "serialize_duration")]
    pub window: Duration,
    pub seed: u64,
    /// Every operation is recorded.
    pub trace: bool,
    /// The forced schedule, in its canonical syntax; absent when none was
    /// given, so that every parameter maps back to its option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The modes in the order they run: `no-lock` and the strategies'
    /// names, as `--no-lock` and `--lock=NAME` take them.
    pub modes: Vec<Mode>,
    #[serde(skip)]
    pub tmpdir: PathBuf,
    /// Fraction of trials (0 to 1) in which one worker, chosen by the seeded
    /// RNG, kills itself with SIGKILL while holding the lock.
    pub kill_holder: f64,
    /// How long one trial may run before its workers are killed.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Stop at the first failed trial.
    pub fail_fast: bool,
    /// Each mode's workers start once and run every trial of the mode
    /// (`--reuse-workers`); shown only when set, so that the documents of
    /// runs with fresh workers stay as they were.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reuse_workers: bool,
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration::format(*d))
}

impl Plan {
    /// Applies the scenario's defaults and checks every value. `draw_seed` is
    /// called only when the user gave no seed.
    pub fn build(req: Request, draw_seed: impl FnOnce() -> u64) -> Result<Plan, UsageError> {
        let scenario = req.scenario.unwrap_or(Scenario::LostUpdate);
        let d = defaults(scenario);
        let schedule = match &req.schedule {
            Some(text) => Some(
                schedule::parse(text).map_err(|why| UsageError(format!("--schedule: {why}")))?,
            ),
            None => None,
        };
        let workers = i64::from(MAX_WORKERS);
        let mut plan = Plan {
            scenario,
            trials: in_range("--trials", req.trials, 1, i64::from(MAX_TRIALS))? as u32,
            initial: req.initial.unwrap_or(d.initial),
            depositors: in_range(
                "--depositors",
                req.depositors.unwrap_or(i64::from(d.depositors)),
                0,
                workers,
            )? as u32,
            withdrawers: in_range(
                "--withdrawers",
                req.withdrawers.unwrap_or(i64::from(d.withdrawers)),
                0,
                workers,
            )? as u32,
            ops: in_range("--ops", req.ops.unwrap_or(d.ops as i64), 0, MAX_OPS as i64)? as u64,
            amount: req.amount.unwrap_or(d.amount),
            pause: req.pause.unwrap_or(d.pause),
            window: req.window.unwrap_or(d.window),
            seed: req.seed.unwrap_or_else(draw_seed),
            trace: req.trace,
            schedule,
            modes: modes(req.no_lock, &req.locks),
            tmpdir: req.tmpdir,
            kill_holder: req.kill_holder,
            timeout: Duration::ZERO,
            fail_fast: req.fail_fast,
            reuse_workers: req.reuse_workers,
        };
        plan.check()?;
        if let Some(t) = req.timeout
            && !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&t)
        {
            return Err(UsageError(format!(
                "--timeout must be between {} and {} (got {})",
                duration::format(MIN_TIMEOUT),
                duration::format(MAX_TIMEOUT),
                duration::format(t)
            )));
        }
        plan.timeout = req.timeout.unwrap_or_else(|| plan.default_timeout());
        Ok(plan)
    }

    /// The modes of the run, in order.
    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// Worker `index`'s name in reports and schedules: `D1`, `W2`.
    pub(crate) fn worker_name(&self, index: u32) -> WorkerName {
        WorkerName::of(index, self.depositors)
    }

    pub fn workers(&self) -> u32 {
        self.depositors + self.withdrawers
    }

    /// Operations of one trial, all workers together.
    pub(crate) fn ops_per_trial(&self) -> u64 {
        u64::from(self.workers()) * self.ops
    }

    /// The final balance a correct bank ends at. For `lost-update` it is
    /// exact: initial + (depositors − withdrawers) · ops · amount. For
    /// `overdraft`, withdrawals are refused when funds are short, so the final
    /// balance depends on the order deposits and withdrawals arrive in; this is
    /// the balance of the serial order with every deposit first.
    pub fn expected_balance(&self) -> i64 {
        let ops = self.ops as i64;
        match self.scenario {
            Scenario::LostUpdate => {
                self.initial
                    + (i64::from(self.depositors) - i64::from(self.withdrawers)) * ops * self.amount
            }
            Scenario::Overdraft => {
                let funds = self.initial + i64::from(self.depositors) * ops * self.amount;
                let affordable = if funds > 0 { funds / self.amount } else { 0 };
                let paid = affordable.min(i64::from(self.withdrawers) * ops);
                funds - paid * self.amount
            }
        }
    }

    /// The default of `--timeout`: ten times the slowest honest schedule
    /// (every operation one after another, at an assumed microsecond each
    /// plus its pause and window), and at least 10s.
    pub(crate) fn default_timeout(&self) -> Duration {
        let per_op = self.pause + self.window + Duration::from_micros(1);
        let ops = u32::try_from(self.ops_per_trial()).unwrap_or(u32::MAX);
        per_op
            .saturating_mul(ops)
            .saturating_mul(10)
            .max(Duration::from_secs(10))
    }
}

/// Which modes run, in the order they are shown: the unlocked one first, then
/// each named strategy once. With neither flag, both sides of the comparison.
fn modes(no_lock: bool, locks: &[LockChoice]) -> Vec<Mode> {
    let mut modes = Vec::new();
    if no_lock || locks.is_empty() {
        modes.push(Mode::NoLock);
    }
    if !no_lock && locks.is_empty() {
        modes.push(Mode::DEFAULT_STRATEGY);
    }
    for &mode in locks.iter().flat_map(|l| l.modes()) {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    modes
}

#[cfg(test)]
mod tests;
