//! The validated plan of a run: scenario, parameters, modes and seed, after defaults and checks. Pure.
//!
//! - `check.rs`: every check on a user's value, each with a sentence;
//! - `trial.rs`: trial n of a mode as a [`TrialSpec`], with its seeds and faults;
//! - `bench.rs`: the plan of `bankrace bench`.
//!
//! The JSON contract of `parameters` is [`Plan`]'s serde form: every key is
//! the option of the same name, except `backend`, which follows from `db`.

mod bench;
mod check;
mod skew;
mod transfer;
mod trial;

pub(crate) use bench::default_ops;
pub use bench::{BenchPlan, BenchRequest, DbBenchPlan};

use std::time::Duration;

use serde::Serialize;

use crate::backend::DbTarget;
use crate::duration;
use crate::limits::{MAX_OPS, MAX_RETRIES, MAX_TIMEOUT, MAX_TRIALS, MAX_WORKERS, MIN_TIMEOUT};
use crate::schedule::{self, Schedule};
use crate::usage::UsageError;
use crate::vocab::{BackendKind, LockChoice, Mode, Scenario, WorkerName};
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
        // Per account; the transferers and accounts are in `TRANSFER`.
        Scenario::Transfer => Defaults {
            initial: 100,
            depositors: 0,
            withdrawers: 0,
            ops: 20,
            amount: 10,
            pause: Duration::from_micros(100),
            window: Duration::from_micros(100),
        },
        // The on-call doctors: two accounts (one per withdrawer) of 100,
        // each withdrawer debits 200 from its own if the sum covers it. The
        // 2ms window between the check and the debit is the overdraft's:
        // both checks fall before either debit in nearly every unlocked
        // trial (see `docs/write-skew.md`).
        Scenario::WriteSkew => Defaults {
            initial: 100,
            depositors: 0,
            withdrawers: 2,
            ops: 1,
            amount: 200,
            pause: Duration::ZERO,
            window: Duration::from_millis(2),
        },
    }
}

/// The transfer scenario's own defaults (see `docs/transfers.md` for the
/// measurements behind them).
pub(crate) const TRANSFER: TransferDefaults = TransferDefaults {
    accounts: 4,
    transferers: 3,
};

/// How many accounts and transferers a transfer trial has by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TransferDefaults {
    pub accounts: u32,
    pub transferers: u32,
}
/// Trials per mode when `--trials` is not given.
pub const DEFAULT_TRIALS: i64 = 50;

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
    /// Fraction of trials in which one worker dies holding the lock.
    pub kill_holder: f64,
    /// Overrides [`Plan::timeout`]'s default.
    pub timeout: Option<Duration>,
    pub fail_fast: bool,
    /// Record every operation (`--trace`).
    pub trace: bool,
    /// A forced schedule, as the user wrote it (`--schedule`).
    pub schedule: Option<String>,
    /// Transfer scenario: `--accounts`, `--transferers`, `--auditors`.
    pub accounts: Option<i64>,
    pub transferers: Option<i64>,
    pub auditors: Option<i64>,
    /// `--collide`: force a collision in every transferer's first transfer.
    pub collide: bool,
    /// `--unlocked-audits`: auditors take no lock, whatever the mode.
    pub unlocked_audits: bool,
    /// `--export-history`: record every transfer and audit.
    pub history: bool,
    /// `--db`: `embedded` or a connection string; none for the memory backend.
    pub db: Option<String>,
    /// `--max-retries`: retries of one database operation.
    pub max_retries: Option<i64>,
    /// Start each mode's workers once and run every trial with them.
    pub reuse_workers: bool,
}

/// The default of `--max-retries`: enough for two workers contending on one
/// row without a window (a few retries per operation at most), bounded so a
/// livelock ends the trial instead of the run.
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 100;

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
    /// Where the accounts live: `memory` or `postgres`.
    pub backend: BackendKind,
    /// `embedded`, or the connection string without its password; `null`
    /// for the memory backend.
    pub(crate) db: Option<DbTarget>,
    /// On a database: retries of one operation before its trial fails.
    pub max_retries: u32,
    /// Fraction of trials (0 to 1) in which one worker, chosen by the seeded
    /// RNG, kills itself with SIGKILL while holding the lock.
    pub kill_holder: f64,
    /// How long one trial may run before its workers are killed.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Stop at the first failed trial.
    pub fail_fast: bool,
    /// Transfer scenario: accounts (1 otherwise), transferers and auditors
    /// (0 otherwise). Absent from the JSON outside the transfer scenario,
    /// where the options do not exist.
    #[serde(skip_serializing_if = "is_one")]
    pub accounts: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub transferers: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub auditors: u32,
    /// Every transferer's first transfer collides (`--collide`).
    pub collide: bool,
    /// Auditors take no lock, whatever the mode.
    pub unlocked_audits: bool,
    /// Every transfer and audit is recorded for `--export-history`.
    #[serde(skip)]
    pub history: bool,
    /// Each mode's workers start once and run every trial of the mode
    /// (`--reuse-workers`); shown only when set, so that the documents of
    /// runs with fresh workers stay as they were.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reuse_workers: bool,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
        let db = match &req.db {
            Some(text) => Some(DbTarget::parse(text).map_err(UsageError)?),
            None => None,
        };
        let backend = if db.is_some() {
            BackendKind::Postgres
        } else {
            BackendKind::Memory
        };
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
            modes: modes(scenario, req.no_lock, &req.locks, backend),
            backend,
            db,
            max_retries: in_range(
                "--max-retries",
                req.max_retries.unwrap_or(i64::from(DEFAULT_MAX_RETRIES)),
                0,
                i64::from(MAX_RETRIES),
            )? as u32,
            kill_holder: req.kill_holder,
            timeout: Duration::ZERO,
            fail_fast: req.fail_fast,
            accounts: 1,
            transferers: 0,
            auditors: 0,
            collide: req.collide,
            unlocked_audits: req.unlocked_audits,
            history: req.history,
            reuse_workers: req.reuse_workers,
        };
        plan.transfer_parts(&req)?;
        plan.skew_parts(&req)?;
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

    /// Worker `index`'s name in reports and schedules: `D1`, `W2`, `T1`, `R1`.
    pub(crate) fn worker_name(&self, index: u32) -> WorkerName {
        match self.scenario {
            Scenario::Transfer => WorkerName::in_scenario(self.scenario, index, self.transferers),
            _ => WorkerName::of(index, self.depositors),
        }
    }

    pub fn workers(&self) -> u32 {
        self.depositors + self.withdrawers + self.transferers + self.auditors
    }

    /// The money in the bank, which transfers move but never change.
    pub(crate) fn total(&self) -> i64 {
        self.initial.saturating_mul(i64::from(self.accounts))
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
            // The serial order: debits pass while the sum covers them.
            Scenario::WriteSkew => {
                let funds = self.total();
                let affordable = if funds > 0 { funds / self.amount } else { 0 };
                funds - affordable.min(i64::from(self.withdrawers) * ops) * self.amount
            }
            Scenario::Overdraft => {
                let funds = self.initial + i64::from(self.depositors) * ops * self.amount;
                let affordable = if funds > 0 { funds / self.amount } else { 0 };
                let paid = affordable.min(i64::from(self.withdrawers) * ops);
                funds - paid * self.amount
            }
            // The bank's total: transfers conserve it.
            Scenario::Transfer => self.total(),
        }
    }

    /// The default of `--timeout`: ten times the slowest honest schedule
    /// (every operation one after another, at an assumed microsecond each
    /// plus its pause and window), at least 10s and at most the longest
    /// `--timeout` accepts, so that the value in a report's `parameters` can
    /// always be given back.
    pub(crate) fn default_timeout(&self) -> Duration {
        // A statement costs about a millisecond at worst on a busy machine.
        let access = match self.backend {
            BackendKind::Memory => Duration::from_micros(1),
            BackendKind::Postgres => Duration::from_millis(1),
        };
        let per_op = self.pause + self.window + access;
        let ops = u32::try_from(self.ops_per_trial()).unwrap_or(u32::MAX);
        per_op
            .saturating_mul(ops)
            .saturating_mul(10)
            .max(Duration::from_secs(10))
            .min(MAX_TIMEOUT)
    }
}

/// Which modes run, in the order they are shown: the unlocked one first, then
/// each named strategy once. With neither flag, both sides of the comparison
/// (in the transfer scenario: no lock, unordered and ordered locks).
fn modes(
    scenario: Scenario,
    no_lock: bool,
    locks: &[LockChoice],
    backend: BackendKind,
) -> Vec<Mode> {
    // In memory, the scenarios of several accounts compare their own modes;
    // on a database, every scenario compares no lock and the row lock.
    let by_default = !no_lock && locks.is_empty() && backend == BackendKind::Memory;
    if by_default && scenario == Scenario::Transfer {
        return Mode::TRANSFER_DEFAULT.to_vec();
    }
    if by_default && scenario == Scenario::WriteSkew {
        return Mode::WRITE_SKEW_DEFAULT.to_vec();
    }
    let mut modes = Vec::new();
    if no_lock || locks.is_empty() {
        modes.push(Mode::NoLock);
    }
    if !no_lock && locks.is_empty() {
        modes.push(backend.default_strategy());
    }
    for mode in locks.iter().flat_map(|l| l.modes(scenario, backend)) {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    modes
}

#[cfg(test)]
mod tests;
