//! A trial, specified once: the job every worker runs and each worker's own part. Pure data: the plan makes it, the ledger stores it, each worker reads its part back.

use crate::vocab::{BackendKind, Mode, Role, Scenario};

/// What every worker of a trial runs, and the sizes of the ledger's regions.
/// The ledger's header is this struct, encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub scenario: Scenario,
    /// Where the accounts live: which backend a worker builds.
    pub backend: BackendKind,
    pub mode: Mode,
    /// On a database: how often one operation is retried (serialization
    /// failures, deadlocks, compare-and-set misses) before the worker gives up.
    pub max_retries: u32,
    /// Operations per worker.
    pub ops: u64,
    /// Money moved by one operation.
    pub amount: i64,
    /// The starting balance of every account.
    pub initial: i64,
    pub pause_ns: u64,
    pub window_ns: u64,
    /// How long the trial may run before the coordinator ends it; a worker
    /// bounds its own waits by it.
    pub timeout_ns: u64,
    /// Worker processes (and slots).
    pub workers: u32,
    /// Accounts in the ledger.
    pub accounts: u32,
    /// Trace records per worker: the operations when tracing, else 0.
    pub trace_ops: u64,
    /// Steps of the forced schedule, 0 for none.
    pub steps: u32,
    /// Transfer scenario: force a collision in the first transfer (see
    /// `--collide` in `plan`).
    pub collide: bool,
    /// Transfer scenario: auditors read without taking any lock.
    pub audits_unlocked: bool,
    /// Transfer scenario: every operation is recorded for `--export-history`.
    pub history: bool,
}

/// One worker's part of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSpec {
    pub role: Role,
    /// The seed of its private RNG (pause jitter).
    pub seed: u64,
    /// Fault injection: the operation (0-based) during which it kills itself
    /// while holding the lock.
    pub kill_at: Option<u64>,
}

/// One step of a forced schedule: worker `worker` makes its next access, a
/// write if `write` is set, else a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    pub worker: u32,
    pub write: bool,
}

/// Everything that makes trial `trial` of one mode what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialSpec {
    /// 1-based.
    pub trial: u32,
    pub job: Job,
    /// One per worker, by index (depositors first).
    pub workers: Vec<WorkerSpec>,
    /// The forced schedule, `job.steps` long.
    pub steps: Vec<StepSpec>,
}

impl TrialSpec {
    /// The worker that is to die holding the lock, if any.
    pub(crate) fn doomed(&self) -> Option<u32> {
        self.workers
            .iter()
            .position(|w| w.kill_at.is_some())
            .map(|w| w as u32)
    }
}

impl Job {
    /// Trace records per traced operation: a transfer has three (its
    /// debit, its credit and its locks, see `trace.rs`), any other
    /// operation one.
    pub(crate) fn trace_slots_per_op(&self) -> u64 {
        if self.scenario == Scenario::Transfer {
            3
        } else {
            1
        }
    }

    /// Trace records per worker.
    pub(crate) fn trace_slots(&self) -> u64 {
        self.trace_ops * self.trace_slots_per_op()
    }

    /// The plainest job: lost-update on the memory backend with no lock, one
    /// account, deposits of 1, no pause, window, trace or schedule. Tests and
    /// benchmarks run strategies on threads over a ledger made for it.
    pub fn plain(workers: u32, ops: u64, initial: i64) -> Job {
        Job {
            scenario: Scenario::LostUpdate,
            backend: BackendKind::Memory,
            mode: Mode::NoLock,
            max_retries: 0,
            ops,
            amount: 1,
            initial,
            pause_ns: 0,
            window_ns: 0,
            timeout_ns: 60_000_000_000,
            workers,
            accounts: 1,
            trace_ops: 0,
            steps: 0,
            collide: false,
            audits_unlocked: false,
            history: false,
        }
    }
}
