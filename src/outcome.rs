//! What the coordinator hands back: plain values describing how each trial ended. No statistics here.

use std::time::Duration;

use crate::deadlock::Deadlock;
use crate::history::History;
use crate::trace::Trace;
use crate::vocab::{Mode, TrialStatus};

/// Everything measured about one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialOutcome {
    /// 1-based trial number.
    pub trial: u32,
    pub status: TrialStatus,
    /// Why a trial that did not end `Ok` ended as it did, in words.
    pub cause: Option<String>,
    /// The balance in the ledger when the last worker was gone.
    pub final_balance: i64,
    /// Operations completed by depositors.
    pub deposits: u64,
    /// Operations (attempts) completed by withdrawers.
    pub withdrawals: u64,
    /// Overdraft scenario: withdrawals paid out.
    pub withdrawals_succeeded: u64,
    /// Overdraft scenario: withdrawals refused for lack of funds.
    pub withdrawals_refused: u64,
    /// Overdraft scenario: payments that took the balance below zero.
    pub overdrafts: u64,
    /// Wall time of the whole trial: ledger, spawning, operations, reaping.
    pub elapsed: Duration,
    /// From the first worker passing the barrier to the last one finishing:
    /// the time spent on the operations themselves.
    pub busy: Duration,
    /// Fault injection: the worker that died holding the lock, if it did.
    pub killed_worker: Option<u32>,
    /// Times the robust mutex was recovered from a dead holder.
    pub recoveries: u64,
    /// On a database: transactions retried after a serialization failure.
    pub retries: u64,
    /// On a database: transactions aborted by the server's deadlock
    /// detector, then retried.
    pub deadlock_aborts: u64,
    /// On a database: compare-and-set writes that changed no row, retried.
    pub cas_misses: u64,
    /// Every operation's record, when the run is traced.
    pub trace: Option<Trace>,
    /// Transfer scenario: what the trial did to the bank.
    pub transfers: Option<TransferOutcome>,
    /// Write-skew scenario: every account's balance when the last worker
    /// was gone, `#1` first (`final_balance` is their sum).
    pub accounts: Option<Vec<i64>>,
}

/// What a trial of the transfer scenario did, besides its status.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransferOutcome {
    /// Every account's balance when the last worker was gone, `#1` first.
    pub balances: Vec<i64>,
    /// Transfers that moved money, and those refused for lack of it.
    pub transfers: u64,
    pub refused: u64,
    /// Audits completed, those whose total was not the bank's, and the
    /// lowest and highest such total.
    pub audits: u64,
    pub audits_wrong_total: u64,
    pub wrong_totals: Option<(i64, i64)>,
    /// The cycle that ended a deadlocked trial.
    pub deadlock: Option<Deadlock>,
    /// From the cycle closing (the last of its workers starting to wait) to
    /// the coordinator confirming it.
    pub detected_after: Option<Duration>,
    /// Every operation, with `--export-history`.
    pub history: Option<History>,
}

impl TrialOutcome {
    /// A trial that ended `Ok` at `final_balance`, before its counters and
    /// times are filled in.
    pub fn ok(trial: u32, final_balance: i64) -> TrialOutcome {
        Self::ended(trial, TrialStatus::Ok, None, final_balance)
    }

    /// A trial that failed for `cause`, with the balance it was left at.
    pub fn failed(trial: u32, cause: String, final_balance: i64) -> TrialOutcome {
        Self::ended(trial, TrialStatus::Failed, Some(cause), final_balance)
    }

    fn ended(
        trial: u32,
        status: TrialStatus,
        cause: Option<String>,
        final_balance: i64,
    ) -> TrialOutcome {
        TrialOutcome {
            trial,
            status,
            cause,
            final_balance,
            deposits: 0,
            withdrawals: 0,
            withdrawals_succeeded: 0,
            withdrawals_refused: 0,
            overdrafts: 0,
            elapsed: Duration::ZERO,
            busy: Duration::ZERO,
            killed_worker: None,
            recoveries: 0,
            retries: 0,
            deadlock_aborts: 0,
            cas_misses: 0,
            trace: None,
            transfers: None,
            accounts: None,
        }
    }
}

/// The trials of one mode, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeOutcomes {
    pub mode: Mode,
    pub trials: Vec<TrialOutcome>,
}

/// A whole run: the trials of each mode, and whether it ended early.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Every mode of the plan, in order; after an early end, the trials that
    /// completed (possibly none).
    pub modes: Vec<ModeOutcomes>,
    /// The signal that interrupted the run; the trial it cut short is not
    /// among the outcomes.
    pub interrupted: Option<i32>,
    /// `--fail-fast` stopped the run at its first failed trial.
    pub stopped_early: bool,
    /// The database went away: the trial it cut short and why (that trial
    /// is not among the outcomes: its balance could not be read).
    pub database_lost: Option<String>,
    /// The machine the trials ran on.
    pub host: crate::host::Host,
}
