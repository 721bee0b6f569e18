//! Runs trials: creates each trial's ledger from its spec, starts its worker processes (or reuses a mode's), waits for them and collects outcomes. Never prints.
//!
//! - `group.rs`: the worker processes, watched through pidfds;
//! - `reuse.rs`: workers started once per mode, a ledger reset per trial.

mod group;
mod reuse;

use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::backend::{Accounts, InLedger};
use crate::ledger::{Ledger, SlotState};
use crate::outcome::{ModeOutcomes, RunOutcome, TrialOutcome};
use crate::plan::Plan;
use crate::signals::{self, Interrupts};
use crate::spec::TrialSpec;
use crate::trace::Trace;
use crate::vocab::{Mode, Role, TrialStatus};
use group::{Wait, WorkerGroup};

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub mode: Mode,
    /// Trials finished in this mode so far.
    pub done: u32,
}

/// How a run ended, besides its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEnd {
    /// The signal that interrupted the run; the trial it cut short was not
    /// handed on.
    pub interrupted: Option<i32>,
    /// `--fail-fast` stopped the run at its first failed trial.
    pub stopped_early: bool,
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
    let mut modes: Vec<ModeOutcomes> = plan
        .modes
        .iter()
        .map(|&mode| ModeOutcomes {
            mode,
            trials: Vec::new(),
        })
        .collect();
    let end = run_each(plan, interrupts, progress, &mut |m, outcome| {
        modes[m].trials.push(outcome);
        Ok(())
    })?;
    Ok(RunOutcome {
        modes,
        interrupted: end.interrupted,
        stopped_early: end.stopped_early,
    })
}

/// Runs every mode of `plan` as [`run`] does, but hands each trial's outcome
/// to `each` (with the mode's index in `plan.modes`) as soon as it ends, and
/// keeps nothing: memory does not grow with the trials. An error from
/// `each` ends the run.
pub fn run_each(
    plan: &Plan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(Progress),
    each: &mut dyn FnMut(usize, TrialOutcome) -> Result<()>,
) -> Result<RunEnd> {
    let exe = own_executable()?;
    let mut stopped_early = false;
    'modes: for (m, &mode) in plan.modes.iter().enumerate() {
        // Dropped on every way out of the loop, which kills and reaps them.
        let mut reused: Option<reuse::Reused> = None;
        for trial in 1..=plan.trials {
            if interrupts.caught().is_some() {
                break 'modes;
            }
            let spec = plan.trial(mode, trial);
            let outcome = if plan.reuse_workers {
                reuse::run_trial(plan, &spec, &exe, interrupts, &mut reused, &mut InLedger)?
            } else {
                run_trial(plan, &spec, &exe, interrupts, &mut InLedger)?
            };
            let Some(outcome) = outcome else {
                break 'modes;
            };
            let failed = outcome.status != TrialStatus::Ok;
            each(m, outcome)?;
            progress(Progress { mode, done: trial });
            if failed && plan.fail_fast {
                stopped_early = true;
                break 'modes;
            }
        }
        if let Some(workers) = reused {
            workers.finish()?;
        }
    }
    Ok(RunEnd {
        interrupted: interrupts.caught(),
        stopped_early,
    })
}

/// The binary to re-execute for workers: `/proc/self/exe` names exactly the
/// file this process runs, even if its path was changed since.
pub(crate) fn own_executable() -> Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe().context("cannot find the bankrace executable to start workers")
}

/// Runs one trial; `None` if a signal interrupted it.
fn run_trial(
    plan: &Plan,
    spec: &TrialSpec,
    exe: &Path,
    interrupts: &Interrupts,
    accounts: &mut impl Accounts,
) -> Result<Option<TrialOutcome>> {
    let started = Instant::now();
    let file = ledger_file(&plan.tmpdir)?;
    let ledger = Ledger::create(&file, spec).context("cannot create the ledger")?;
    accounts
        .prepare(&ledger)
        .context("cannot prepare the accounts")?;
    let mut group = WorkerGroup::spawn(exe, &file, spec.job.workers, None)?;
    // The workers hold the descriptor now; ours is no longer needed, and the
    // mapping keeps the memory alive.
    drop(file);
    let doomed = spec.doomed();
    let ended = match group.wait(started + plan.timeout, doomed, interrupts)? {
        Wait::AllDone => None,
        // A worker that gave up on the schedule left the cause in the ledger.
        Wait::Failed(index, status) => Some(
            stuck_cause(plan, spec.job.mode, &ledger).unwrap_or_else(|| describe(index, status)),
        ),
        Wait::TimedOut => Some(timed_out(plan, &ledger, &group, doomed)),
        Wait::Interrupted => return Ok(None),
    };
    let killed_worker = doomed.filter(|&w| group.was_killed(w));
    drop(group); // ends and reaps any worker still running
    let outcome = outcome_of(spec, &ledger, accounts, ended, started, killed_worker)?;
    Ok(Some(outcome))
}

/// The outcome of a trial that ended (with `cause` if it failed) once no
/// worker touches the ledger any more: the balance, the counters, the trace.
fn outcome_of(
    spec: &TrialSpec,
    ledger: &Ledger,
    accounts: &mut impl Accounts,
    cause: Option<String>,
    started: Instant,
    killed_worker: Option<u32>,
) -> Result<TrialOutcome> {
    let balance = accounts
        .balances(ledger)
        .context("cannot read the balances")?[0];
    let mut outcome = match cause {
        None => TrialOutcome::ok(spec.trial, balance),
        Some(cause) => TrialOutcome::failed(spec.trial, cause, balance),
    };
    outcome.elapsed = started.elapsed();
    outcome.killed_worker = killed_worker;
    collect(spec, ledger, &mut outcome);
    Ok(outcome)
}

/// Why a trial timed out, as far as the ledger tells.
fn timed_out(plan: &Plan, ledger: &Ledger, group: &WorkerGroup, killed: Option<u32>) -> String {
    let after = format!("timed out after {}", crate::duration::human(plan.timeout));
    let workers = ledger.workers();
    let waiting: Vec<u32> = (0..workers)
        .filter(|&w| ledger.slot(w).state() != SlotState::Done && Some(w) != killed)
        .collect();
    if let Some(k) = killed.filter(|&k| group.was_killed(k)) {
        return format!("{after}: lock never released (worker {k} died holding it)");
    }
    if let Some(&w) = waiting
        .iter()
        .find(|&&w| ledger.slot(w).state() == SlotState::Idle)
    {
        return format!("{after}: worker {w} never reached the start barrier");
    }
    format!(
        "{after}: {} of {workers} workers finished",
        workers as usize - waiting.len(),
    )
}

/// Where ledgers are created: `$TMPDIR` when it is set; otherwise
/// `/dev/shm`, the RAM file system where shared memory belongs, if this user
/// can write there; otherwise the system's temporary directory. A ledger on
/// a disk file system costs more to map and unmap (its pages belong to the
/// disk's page cache and journal) and gains nothing: it never outlives a trial.
pub(crate) fn default_ledger_dir() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some_and(|v| !v.is_empty()) {
        return std::env::temp_dir();
    }
    let shm = Path::new("/dev/shm");
    let usable = rustix::fs::access(
        shm,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    );
    if shm.is_dir() && usable.is_ok() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// A fresh, unnamed ledger file (mode 0600). Where the file system
/// supports `O_TMPFILE` (tmpfs, ext4, xfs, btrfs...), it is opened unnamed
/// in `tmpdir` at once: one system call, and no name ever exists. Elsewhere
/// it is created in a private directory (mode 0700) as a temporary file that
/// is unlinked at once, and the directory is removed before any worker
/// starts. Either way the file exists only as open descriptors and mappings
/// from then on, so nothing can be left on disk, even if the coordinator is
/// killed with SIGKILL.
fn ledger_file(tmpdir: &Path) -> Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::open(tmpdir, flags, Mode::from_raw_mode(0o600)) {
        return Ok(File::from(fd));
    }
    let dir = tempfile::Builder::new()
        .prefix("bankrace-")
        .tempdir_in(tmpdir)
        .with_context(|| format!("cannot create a private directory in {}", tmpdir.display()))?;
    let file = tempfile::tempfile_in(dir.path())
        .with_context(|| format!("cannot create the ledger file in {}", tmpdir.display()))?;
    dir.close().with_context(|| {
        format!(
            "cannot remove the private directory in {}",
            tmpdir.display()
        )
    })?;
    Ok(file)
}

/// Why the forced schedule could not be followed, if a worker said so.
fn stuck_cause(plan: &Plan, mode: Mode, ledger: &Ledger) -> Option<String> {
    let schedule = plan.schedule.as_ref()?;
    let stuck = crate::schedule::Stuck::decode(ledger.stuck())?;
    Some(stuck.describe(schedule, plan.depositors, mode.name()))
}

/// Reads back every worker's trace records, in operation order.
fn read_trace(ledger: &Ledger) -> Trace {
    let trace_ops = ledger.job().trace_ops;
    Trace {
        workers: (0..ledger.workers())
            .map(|w| {
                (0..trace_ops)
                    .map_while(|op| ledger.load_record(w, op))
                    .collect()
            })
            .collect(),
    }
}

/// Adds what the workers left in their slots to `out`: their counters,
/// when they ran, the trace, the mutex's recoveries.
fn collect(spec: &TrialSpec, ledger: &Ledger, out: &mut TrialOutcome) {
    out.recoveries = ledger.mutex_recoveries();
    out.trace = (spec.job.trace_ops > 0).then(|| read_trace(ledger));
    let (mut first, mut last) = (u64::MAX, 0);
    for (w, part) in spec.workers.iter().enumerate() {
        let slot = ledger.slot(w as u32);
        let done = slot.ops_done.load(Relaxed);
        match part.role {
            Role::Depositor => out.deposits += done,
            Role::Withdrawer => out.withdrawals += done,
        }
        out.withdrawals_succeeded += slot.succeeded.load(Relaxed);
        out.withdrawals_refused += slot.refused.load(Relaxed);
        out.overdrafts += slot.overdrew.load(Relaxed);
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
}

/// "worker 2 exited with status 1", "worker 0 killed by SIGKILL".
fn describe(index: u32, status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("worker {index} exited with status {code}"),
        (None, Some(sig)) => format!("worker {index} killed by {}", signals::name(sig)),
        _ => format!("worker {index} ended abnormally"),
    }
}
