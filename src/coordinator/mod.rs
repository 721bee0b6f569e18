//! Runs trials: opens the run's accounts (the ledger's own, or a database's), creates each trial's ledger from its spec, starts its worker processes (or reuses a mode's), waits for them and collects outcomes. Never prints.
//!
//! - `group.rs`: the worker processes, watched through pidfds;
//! - `reuse.rs`: workers started once per mode, a ledger reset per trial.

mod group;
mod reuse;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::backend::{Accounts, DbTarget, InLedger};
use crate::deadlock::{Deadlock, Detector, Snapshot};
use crate::history::History;
use crate::ledger::{Ledger, SlotState};
use crate::outcome::{ModeOutcomes, RunOutcome, TransferOutcome, TrialOutcome};
use crate::plan::Plan;
use crate::signals::{self, Interrupts};
use crate::spec::TrialSpec;
use crate::trace::{LockRecord, OpRecord, Trace};
use crate::vocab::{Failure, Mode, Role, Scenario, TrialStatus};
use group::{Wait, WorkerGroup};

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub mode: Mode,
    /// Trials finished in this mode so far.
    pub done: u32,
}

/// How a run ended, besides its trials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// The signal that interrupted the run; the trial it cut short was not
    /// handed on.
    pub interrupted: Option<i32>,
    /// `--fail-fast` stopped the run at its first failed trial.
    pub stopped_early: bool,
    /// The run's database went away (the server stopped): which trial it
    /// cut short and why, in words. That trial is not handed on: its
    /// balance can no longer be read.
    pub database_lost: Option<String>,
}

/// How one trial ended, as the run loop sees it.
pub(crate) enum Ran {
    Outcome(Box<TrialOutcome>),
    /// A signal cut it short.
    Interrupted,
    /// The database cannot be used any more: why, in words.
    DatabaseLost(String),
}

/// Runs every mode of `plan`, one trial after another, and returns their
/// outcomes. `progress` is called after each trial. A signal caught by
/// `interrupts` ends the trial in flight (its workers are killed and reaped)
/// and returns what completed before it. With `plan.reuse_workers`, each
/// mode's workers start once and run all its trials.
pub fn run(
    plan: &Plan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutcome> {
    run_each(plan, interrupts, &mut |p, _| {
        progress(p);
        Next::Continue
    })
}

/// What the caller of [`run_each`] wants after a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Skip this mode's remaining trials (a sweep point that has seen enough).
    NextMode,
}

/// [`run`], with a look at each trial's outcome as it completes: `after`
/// may end the mode early.
pub fn run_each(
    plan: &Plan,
    interrupts: &Interrupts,
    after: &mut dyn FnMut(Progress, &TrialOutcome) -> Next,
) -> Result<RunOutcome> {
    let mut modes: Vec<ModeOutcomes> = plan
        .modes
        .iter()
        .map(|&mode| ModeOutcomes {
            mode,
            trials: Vec::new(),
        })
        .collect();
    let host = crate::host::Host::current();
    let end = stream(plan, interrupts, &mut |m, p, outcome| {
        let next = after(p, &outcome);
        modes[m].trials.push(outcome);
        Ok(next)
    })?;
    Ok(RunOutcome {
        modes,
        interrupted: end.interrupted,
        stopped_early: end.stopped_early,
        database_lost: end.database_lost,
        host,
    })
}

/// Runs every mode of `plan` as [`run`] does, but hands each trial's outcome
/// to `each` (with the mode's index in `plan.modes` and the progress) as
/// soon as it ends, and keeps nothing: memory does not grow with the
/// trials. An error from `each` ends the run.
pub fn stream(
    plan: &Plan,
    interrupts: &Interrupts,
    each: &mut dyn FnMut(usize, Progress, TrialOutcome) -> Result<Next>,
) -> Result<RunEnd> {
    // Dropped when the run ends, however it ends: a database's schema is
    // dropped and an embedded server stopped and removed.
    let mut accounts = RunAccounts::open(plan)?;
    stream_in(plan, &mut accounts, interrupts, each)
}

/// A run's accounts, opened once and shared by the plans run in them (the
/// plans of `bankrace matrix`, one per scenario): the ledger's own, or a
/// database's schema, on the embedded server if asked. Dropping them drops
/// the schema and stops and removes the server.
pub struct RunAccounts(Box<dyn Accounts>);

impl RunAccounts {
    /// Opens the accounts `plan.db` names: connects (or starts the embedded
    /// server) and creates the run's schema.
    pub fn open(plan: &Plan) -> Result<RunAccounts> {
        open_accounts(plan.db.as_ref()).map(RunAccounts)
    }

    /// The database server's version (`SHOW server_version`), or `None`
    /// for the memory-mapped ledger.
    pub fn server_version(&mut self) -> Result<Option<String>> {
        self.0
            .server_version()
            .context("cannot ask the server for its version")
    }
}

/// [`stream`], in accounts already open: a plan's own `db` is not opened
/// again (the caller opened the accounts from a plan with the same one).
pub fn stream_in(
    plan: &Plan,
    accounts: &mut RunAccounts,
    interrupts: &Interrupts,
    each: &mut dyn FnMut(usize, Progress, TrialOutcome) -> Result<Next>,
) -> Result<RunEnd> {
    let exe = crate::exe::own_executable()?;
    let accounts = &mut accounts.0;
    let mut stopped_early = false;
    let mut database_lost = None;
    'modes: for (m, &mode) in plan.modes.iter().enumerate() {
        // Dropped on every way out of the loop, which kills and reaps them.
        let mut reused: Option<reuse::Reused> = None;
        for trial in 1..=plan.trials {
            if interrupts.caught().is_some() {
                break 'modes;
            }
            let spec = plan.trial(mode, trial);
            let accounts = accounts.as_mut();
            let ran = if plan.reuse_workers {
                reuse::run_trial(plan, &spec, &exe, interrupts, &mut reused, accounts)?
            } else {
                run_trial(plan, &spec, &exe, interrupts, accounts)?
            };
            let outcome = match ran {
                Ran::Outcome(outcome) => *outcome,
                Ran::Interrupted => break 'modes,
                Ran::DatabaseLost(cause) => {
                    database_lost = Some(format!("trial {trial} of {}: {cause}", mode.name()));
                    break 'modes;
                }
            };
            let failed = outcome.status != TrialStatus::Ok;
            let next = each(m, Progress { mode, done: trial }, outcome)?;
            if failed && plan.fail_fast {
                stopped_early = true;
                break 'modes;
            }
            if next == Next::NextMode {
                continue 'modes;
            }
        }
        if let Some(workers) = reused {
            workers.finish()?;
        }
    }
    Ok(RunEnd {
        interrupted: interrupts.caught(),
        stopped_early,
        database_lost,
    })
}

/// Where the run's accounts live: in the ledger, or in the database `db`.
fn open_accounts(db: Option<&DbTarget>) -> Result<Box<dyn Accounts>> {
    match db {
        None => Ok(Box::new(InLedger)),
        #[cfg(feature = "postgres")]
        Some(target) => Ok(Box::new(crate::backend::postgres::Session::open(target)?)),
        #[cfg(not(feature = "postgres"))]
        Some(_) => anyhow::bail!(
            "this bankrace was built without the `postgres` feature: --db is not available"
        ),
    }
}

/// Runs one trial.
fn run_trial(
    plan: &Plan,
    spec: &TrialSpec,
    exe: &Path,
    interrupts: &Interrupts,
    accounts: &mut dyn Accounts,
) -> Result<Ran> {
    let started = Instant::now();
    let file = Ledger::unnamed_file().context("cannot create the ledger (memfd_create)")?;
    let ledger = Ledger::create(&file, spec).context("cannot create the ledger")?;
    if let Err(e) = accounts.prepare(&ledger) {
        return Ok(Ran::DatabaseLost(format!(
            "cannot prepare the accounts: {e}"
        )));
    }
    let mut group = WorkerGroup::spawn(exe, &file, spec.job.workers, &accounts.worker_env(), None)?;
    // The workers hold the descriptor now; ours is no longer needed, and the
    // mapping keeps the memory alive.
    drop(file);
    let doomed = spec.doomed();
    let mut detector = Detector::new();
    let mut sample = || detect(&ledger, &mut detector);
    let sampler = (spec.job.scenario == Scenario::Transfer && spec.job.mode != Mode::NoLock)
        .then_some(&mut sample as &mut dyn FnMut() -> Option<(Deadlock, Duration)>);
    let mut deadlock = None;
    let ended = match group.wait(started + plan.timeout, doomed, interrupts, sampler)? {
        Wait::AllDone => None,
        // A worker that gave up on the schedule left the cause in the ledger.
        Wait::Failed(index, status) => Some(
            stuck_cause(plan, spec.job.mode, &ledger)
                .or_else(|| gave_up(&ledger, index))
                .unwrap_or_else(|| describe(index, status)),
        ),
        Wait::TimedOut => Some(timed_out(plan, &ledger, &group, doomed)),
        Wait::Deadlocked(cycle, after) => {
            let cause = cycle.sentence_with(|w| plan.worker_name(w).to_string());
            deadlock = Some((cycle, after));
            Some(cause)
        }
        Wait::Interrupted => return Ok(Ran::Interrupted),
    };
    let killed_worker = doomed.filter(|&w| group.was_killed(w));
    drop(group); // ends and reaps any worker still running
    let balances = match accounts.balances(&ledger) {
        Ok(balances) => balances,
        Err(e) => return Ok(Ran::DatabaseLost(lost(ended, &e))),
    };
    let outcome = outcome_of(
        spec,
        &ledger,
        balances,
        ended,
        started,
        killed_worker,
        deadlock,
    )?;
    Ok(Ran::Outcome(Box::new(outcome)))
}

/// The outcome of a trial that ended (with `cause` if it failed, and
/// `deadlock` if the wait found one) once no worker touches the ledger any
/// more: the balances, the counters, the trace, the transfers.
fn outcome_of(
    spec: &TrialSpec,
    ledger: &Ledger,
    balances: Vec<i64>,
    cause: Option<String>,
    started: Instant,
    killed_worker: Option<u32>,
    deadlock: Option<(Deadlock, Duration)>,
) -> Result<TrialOutcome> {
    let balance = if spec.job.scenario.several_accounts() {
        balances.iter().fold(0i64, |t, b| t.saturating_add(*b))
    } else {
        balances[0]
    };
    let mut outcome = match cause {
        None => TrialOutcome::ok(spec.trial, balance),
        Some(cause) => TrialOutcome::failed(spec.trial, cause, balance),
    };
    outcome.elapsed = started.elapsed();
    outcome.killed_worker = killed_worker;
    collect(spec, ledger, &mut outcome)?;
    if spec.job.scenario == Scenario::WriteSkew {
        outcome.accounts = Some(balances.clone());
    }
    if spec.job.scenario == Scenario::Transfer {
        let mut t = collect_transfers(spec, ledger, balances);
        if let Some((cycle, after)) = deadlock {
            outcome.status = TrialStatus::Deadlocked;
            t.deadlock = Some(cycle);
            t.detected_after = Some(after);
        }
        outcome.transfers = Some(t);
    }
    Ok(outcome)
}

/// Why a trial whose balances could not be read was cut short: what its
/// workers said (`ended`, a worker that lost the server), else the failed
/// read itself.
fn lost(ended: Option<String>, read: &std::io::Error) -> String {
    ended.unwrap_or_else(|| format!("cannot read the balances: {read}"))
}

/// Copies the wait-for graph and feeds it to `detector`: a deadlock it
/// confirms, and how long after its cycle closed.
fn detect(ledger: &Ledger, detector: &mut Detector) -> Option<(Deadlock, Duration)> {
    let (words, holders) = ledger.wait_words();
    let triples: Vec<(u64, u64, u64)> = words
        .iter()
        .map(|w| (w.holds, w.waits_for, w.progress))
        .collect();
    let cycle = detector.observe(Snapshot::of_words(&triples, &holders))?;
    let closed = cycle
        .cycle
        .iter()
        .map(|l| words[l.worker as usize].wait_since_ns)
        .max()
        .unwrap_or(0);
    let after = Duration::from_nanos(crate::ledger::now_ns().saturating_sub(closed));
    Some((cycle, after))
}

/// What the workers of a transfer trial left in the ledger: their counts,
/// the auditors' findings and, with `--export-history`, every operation.
fn collect_transfers(spec: &TrialSpec, ledger: &Ledger, balances: Vec<i64>) -> TransferOutcome {
    let mut t = TransferOutcome {
        balances,
        ..TransferOutcome::default()
    };
    for (w, part) in spec.workers.iter().enumerate() {
        let slot = ledger.slot(w as u32);
        if part.role == Role::Auditor {
            t.audits += slot.ops_done.load(Relaxed);
            t.audits_wrong_total += slot.audits_wrong.load(Relaxed);
            if let Some((lo, hi)) = slot.wrong_totals() {
                let (l, h) = t.wrong_totals.unwrap_or((lo, hi));
                t.wrong_totals = Some((l.min(lo), h.max(hi)));
            }
        } else {
            t.transfers += slot.succeeded.load(Relaxed);
            t.refused += slot.refused.load(Relaxed);
        }
    }
    t.history = spec.job.history.then(|| History {
        workers: (0..ledger.workers())
            .map(|w| {
                (0..spec.job.ops)
                    .map_while(|op| ledger.load_history(w, op))
                    .collect()
            })
            .collect(),
    });
    t
}

/// Why worker `index` gave up, if it said so in its slot.
fn gave_up(ledger: &Ledger, index: u32) -> Option<String> {
    let failure = Failure::from_code(ledger.slot(index).failure.load(Relaxed))?;
    Some(format!("worker {index} {}", failure.describe()))
}

/// Why a trial timed out, as far as the ledger tells.
fn timed_out(plan: &Plan, ledger: &Ledger, group: &WorkerGroup, killed: Option<u32>) -> String {
    let workers = ledger.workers();
    let waiting: Vec<u32> = (0..workers)
        .filter(|&w| ledger.slot(w).state() != SlotState::Done && Some(w) != killed)
        .collect();
    let idle = waiting
        .iter()
        .copied()
        .find(|&w| ledger.slot(w).state() == SlotState::Idle);
    timeout_cause(&Stalled {
        after: plan.timeout,
        mode: ledger.job().mode,
        died: killed.filter(|&k| group.was_killed(k)),
        idle,
        finished: workers - waiting.len() as u32,
        workers,
    })
}

/// What the coordinator knows of a trial that timed out.
struct Stalled {
    after: std::time::Duration,
    mode: Mode,
    /// The worker `--kill-holder` killed, if it died.
    died: Option<u32>,
    /// A worker that never reached the start barrier.
    idle: Option<u32>,
    finished: u32,
    workers: u32,
}

/// The cause of a timed-out trial in words. Pure.
fn timeout_cause(s: &Stalled) -> String {
    let after = format!("timed out after {}", crate::duration::human(s.after));
    match (s.died, s.idle) {
        (Some(k), _) if s.mode.lock_outlives_holder() => {
            format!("{after}: lock never released (worker {k} died holding it)")
        }
        (_, Some(w)) => format!("{after}: worker {w} never reached the start barrier"),
        // The dead holder's lock was released: the others were slow.
        (Some(k), None) => format!(
            "{after}: {} of {} workers finished (worker {k} died holding the lock, \
             which was released)",
            s.finished, s.workers
        ),
        (None, None) => format!("{after}: {} of {} workers finished", s.finished, s.workers),
    }
}

/// Why the forced schedule could not be followed, if a worker said so.
fn stuck_cause(plan: &Plan, mode: Mode, ledger: &Ledger) -> Option<String> {
    let schedule = plan.schedule.as_ref()?;
    let stuck = crate::schedule::Stuck::decode(ledger.stuck())?;
    Some(stuck.describe(schedule, plan.depositors, mode.name()))
}

/// Reads back every worker's trace records, in operation order. The
/// records are the largest allocation of a traced run, so their room is
/// reserved fallibly: running out of memory is an error with a sentence,
/// not an abort.
fn read_trace(ledger: &Ledger) -> Result<Trace> {
    let job = ledger.job();
    let trace_ops = job.trace_ops;
    let per_op = job.trace_slots_per_op();
    let mut workers = Vec::new();
    let mut locks = Vec::new();
    for w in 0..ledger.workers() {
        let mut ops = Vec::new();
        let room = (trace_ops * per_op.min(2)) as usize;
        ops.try_reserve_exact(room).with_context(|| {
            format!("out of memory for the trace ({trace_ops} operations of worker {w})")
        })?;
        if per_op == 1 {
            ops.extend((0..trace_ops).map_while(|op| ledger.load_record(w, op)));
        } else {
            locks.push(read_transfers(ledger, w, &mut ops));
        }
        workers.push(ops);
    }
    Ok(Trace { workers, locks })
}

/// A transferer's records: per transfer it started, its debit and its
/// credit (a record without an access for one it never made) into `ops`,
/// and its locks returned.
fn read_transfers(ledger: &Ledger, w: u32, ops: &mut Vec<OpRecord>) -> Vec<LockRecord> {
    let mut locks = Vec::new();
    for op in 0..ledger.job().trace_ops {
        let debit = ledger.load_record(w, 3 * op);
        let held = ledger.load_locks(w, 3 * op + 2);
        if debit.is_none() && held.steps[0].is_none() {
            break;
        }
        ops.push(debit.unwrap_or(OpRecord::EMPTY));
        ops.push(ledger.load_record(w, 3 * op + 1).unwrap_or(OpRecord::EMPTY));
        locks.push(held);
    }
    locks
}

/// Adds what the workers left in their slots to `out`: their counters,
/// when they ran, the trace, the mutex's recoveries.
fn collect(spec: &TrialSpec, ledger: &Ledger, out: &mut TrialOutcome) -> Result<()> {
    out.recoveries = ledger.mutex_recoveries();
    out.trace = if spec.job.trace_ops > 0 {
        Some(read_trace(ledger)?)
    } else {
        None
    };
    let (mut first, mut last) = (u64::MAX, 0);
    for (w, part) in spec.workers.iter().enumerate() {
        let slot = ledger.slot(w as u32);
        let done = slot.ops_done.load(Relaxed);
        match part.role {
            Role::Depositor => out.deposits += done,
            Role::Withdrawer => out.withdrawals += done,
            // Counted by `collect_transfers`.
            Role::Transferer | Role::Auditor => {}
        }
        out.withdrawals_succeeded += slot.succeeded.load(Relaxed);
        out.withdrawals_refused += slot.refused.load(Relaxed);
        out.overdrafts += slot.overdrew.load(Relaxed);
        out.retries += slot.retries.load(Relaxed);
        out.deadlock_aborts += slot.deadlock_aborts.load(Relaxed);
        out.cas_misses += slot.cas_misses.load(Relaxed);
        let (s, f) = (
            slot.started_ns.load(Relaxed),
            slot.finished_ns.load(Relaxed),
        );
        if s != 0 && f != 0 {
            first = first.min(s);
            last = last.max(f);
        }
    }
    if last > first {
        out.busy = Duration::from_nanos(last - first);
    }
    Ok(())
}

/// "worker 2 exited with status 1", "worker 0 killed by SIGKILL".
fn describe(index: u32, status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("worker {index} exited with status {code}"),
        (None, Some(sig)) => format!("worker {index} killed by {}", signals::name(sig)),
        _ => format!("worker {index} ended abnormally"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stalled(mode: Mode, died: Option<u32>, idle: Option<u32>) -> Stalled {
        Stalled {
            after: Duration::from_secs(2),
            mode,
            died,
            idle,
            finished: 1,
            workers: 3,
        }
    }

    #[test]
    fn only_a_lock_that_outlives_its_holder_is_never_released() {
        assert_eq!(
            timeout_cause(&stalled(Mode::Spin, Some(0), None)),
            "timed out after 2.00s: lock never released (worker 0 died holding it)"
        );
        for mode in [Mode::Mutex, Mode::Flock, Mode::Row] {
            assert_eq!(
                timeout_cause(&stalled(mode, Some(0), None)),
                "timed out after 2.00s: 1 of 3 workers finished (worker 0 died holding the lock, \
                 which was released)",
                "{mode}"
            );
        }
        assert_eq!(
            timeout_cause(&stalled(Mode::Mutex, None, Some(2))),
            "timed out after 2.00s: worker 2 never reached the start barrier"
        );
        assert_eq!(
            timeout_cause(&stalled(Mode::NoLock, None, None)),
            "timed out after 2.00s: 1 of 3 workers finished"
        );
    }
}
