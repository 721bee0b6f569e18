//! The checks on a run's parameters, each failing with one sentence that says how to fix it. (Output options are checked by `cli::run`.)

use crate::duration;
use crate::limits::{
    MAX_AMOUNT, MAX_DELAY, MAX_TRACED_OPS_PER_RUN, MAX_TRACED_OPS_PER_TRIAL, MAX_WORKERS,
};
use crate::schedule::Shape;
use crate::usage::UsageError;
use crate::vocab::{BackendKind, Mode, Scenario};

use super::Plan;

impl Plan {
    pub(super) fn check(&self) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        let workers = self.workers();
        if workers == 0 {
            return fail(
                "a trial needs at least one worker: set --depositors or --withdrawers to 1 or more"
                    .into(),
            );
        }
        if workers > MAX_WORKERS {
            return fail(format!(
                "the workers of a trial (--depositors plus --withdrawers, or --transferers \
                 plus --auditors) must be at most {MAX_WORKERS} (got {workers})"
            ));
        }
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            return fail(format!(
                "--amount must be between 1 and {MAX_AMOUNT} (got {})",
                self.amount
            ));
        }
        for (flag, d) in [("--pause", self.pause), ("--window", self.window)] {
            if d > MAX_DELAY {
                return fail(format!(
                    "{flag} must be at most {} (got {})",
                    duration::format(MAX_DELAY),
                    duration::format(d)
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.kill_holder) {
            return fail(format!(
                "--kill-holder must be a fraction between 0 and 1 (got {})",
                self.kill_holder
            ));
        }
        // Whatever the interleaving, the balance stays between these bounds:
        // every deposit applied and no withdrawal, or the other way round.
        let moved = |n: u32| i128::from(n) * i128::from(self.ops) * i128::from(self.amount);
        let highest = i128::from(self.initial) + moved(self.depositors);
        let lowest = i128::from(self.initial) - moved(self.withdrawers);
        if highest > i128::from(i64::MAX) || lowest < i128::from(i64::MIN) {
            return fail(format!(
                "the balance could reach {} which does not fit in a 64-bit account: \
                 lower --initial, --ops, --amount or the number of workers",
                if highest > i128::from(i64::MAX) {
                    highest
                } else {
                    lowest
                }
            ));
        }
        // Every deviation lies between the bounds' difference and its
        // negative, and each report sums deviations and overpayments over
        // all of a mode's trials: that sum must fit too.
        let summed = (highest - lowest) * i128::from(self.trials);
        if summed > i128::from(i64::MAX) {
            return fail(format!(
                "summed over {} trials, the deviations could reach {summed}, which does not fit \
                 in a 64-bit number: lower --trials, --ops, --amount or the number of workers",
                self.trials
            ));
        }
        self.check_reuse()?;
        self.check_backend()?;
        self.check_transfer()?;
        self.check_trace()?;
        self.check_schedule()
    }

    /// Every mode must run on the backend, and a database run cannot be
    /// traced: the trace and the turnstile see accesses to the ledger's
    /// words, not statements.
    fn check_backend(&self) -> Result<(), UsageError> {
        if let Some(mode) = self.modes.iter().find(|m| !m.runs_on(self.backend)) {
            let names = |b: BackendKind| {
                b.strategies()
                    .iter()
                    .map(|m| m.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(UsageError(match self.backend {
                BackendKind::Postgres => format!(
                    "--lock={} works on the memory-mapped ledger only: with --db use {}",
                    mode.id(),
                    names(BackendKind::Postgres)
                ),
                BackendKind::Memory => format!(
                    "--lock={} is a database strategy: add --db embedded or --db URL \
                     (without --db use {})",
                    mode.id(),
                    names(BackendKind::Memory)
                ),
            }));
        }
        if self.backend == BackendKind::Postgres && (self.trace || self.schedule.is_some()) {
            return Err(UsageError(
                "--trace, --explain, --export-trace and --schedule work on the memory-mapped \
                 ledger only, not with --db"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Reused workers run the single-account scenarios on the memory-mapped
    /// ledger only: a transfer trial's deadlock handling ends its workers,
    /// and a database worker's session would carry state from one trial to
    /// the next.
    fn check_reuse(&self) -> Result<(), UsageError> {
        if !self.reuse_workers {
            return Ok(());
        }
        if self.scenario == Scenario::Transfer {
            return Err(UsageError(
                "--reuse-workers works with the lost-update and overdraft scenarios only, \
                 not --scenario transfer: drop --reuse-workers"
                    .into(),
            ));
        }
        if self.backend == BackendKind::Postgres {
            return Err(UsageError(
                "--reuse-workers works on the memory-mapped ledger only, not with --db: \
                 drop --reuse-workers"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The trace must fit the documented limits, per trial and per run.
    fn check_trace(&self) -> Result<(), UsageError> {
        if !self.trace {
            return Ok(());
        }
        // A transfer is three records: its debit, its credit, its locks.
        let (records, what) = match self.scenario {
            Scenario::Transfer => (3, "3 x workers x ops"),
            _ => (1, "workers x ops"),
        };
        let per_trial = self.ops_per_trial().saturating_mul(records);
        if per_trial > MAX_TRACED_OPS_PER_TRIAL {
            return Err(UsageError(format!(
                "--trace records at most {MAX_TRACED_OPS_PER_TRIAL} operations per trial \
                 ({what}), this plan makes {per_trial}: lower --ops or the number of workers"
            )));
        }
        let per_run = per_trial
            .saturating_mul(u64::from(self.trials))
            .saturating_mul(self.modes.len() as u64);
        if per_run > MAX_TRACED_OPS_PER_RUN {
            return Err(UsageError(format!(
                "--trace records at most {MAX_TRACED_OPS_PER_RUN} operations per run \
                 (trials x modes x {what}), this plan makes {per_run}: \
                 lower --trials, --ops or the number of workers"
            )));
        }
        Ok(())
    }

    fn check_schedule(&self) -> Result<(), UsageError> {
        let Some(schedule) = &self.schedule else {
            return Ok(());
        };
        if self.kill_holder > 0.0 {
            return Err(UsageError(
                "--schedule cannot be combined with --kill-holder: the other workers would \
                 wait for the dead worker's turn until the timeout"
                    .into(),
            ));
        }
        if self.modes.contains(&Mode::Atomic) {
            return Err(UsageError(
                "--schedule cannot force --lock=atomic: an atomic update is one indivisible \
                 access, with no read and write to interleave"
                    .into(),
            ));
        }
        schedule.check(&Shape {
            scenario: self.scenario,
            depositors: self.depositors,
            withdrawers: self.withdrawers,
            ops: self.ops,
        })
    }
}

/// `value` if it lies in `lo..=hi`, else the sentence that says so.
pub(super) fn in_range(flag: &str, value: i64, lo: i64, hi: i64) -> Result<i64, UsageError> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError(format!(
            "{flag} must be between {lo} and {hi} (got {value})"
        )))
    }
}
