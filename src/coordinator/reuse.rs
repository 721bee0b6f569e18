//! Reused workers: a mode's workers start once, and each trial resets the ledger in place and releases them through a new generation instead of starting processes.
//!
//! Between trials every worker waits on the ledger's generation word. The
//! coordinator knows they are idle because each one marks itself through
//! with the generation as its last write to the ledger (the last one through
//! also writes a byte to a pipe the coordinator polls beside the pidfds).
//! Only then does it collect the trial, reset the ledger for the next spec
//! (balances, slots, locks, barrier, fault gate, turnstile, sequencer,
//! trace) and release the next generation. A worker that died by an
//! injected fault, or was found gone between trials, is replaced by a new
//! process before the release; a failed or timed-out trial ends every
//! worker, and the next trial starts a new set.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::fd::OwnedFd;
use rustix::pipe::PipeFlags;

use super::group::{ReuseArgs, Wait, WorkerGroup};
use super::{Ran, describe, gave_up, lost, outcome_of, stuck_cause, timed_out};
use crate::backend::Accounts;
use crate::ledger::{GENERATION_QUIT, Ledger, SlotState};
use crate::plan::Plan;
use crate::signals::Interrupts;
use crate::spec::TrialSpec;

/// How long workers told to quit get before they are killed.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// One mode's workers, their ledger and the pipe they report on.
pub(super) struct Reused {
    file: File,
    ledger: Ledger,
    group: WorkerGroup,
    /// The read end (non-blocking) and the write end the workers inherit.
    notify: (OwnedFd, OwnedFd),
    /// The last generation released.
    generation: u32,
}

impl Reused {
    /// A ledger for `spec` and its workers, waiting for generation 1.
    fn start(spec: &TrialSpec, exe: &Path) -> Result<Reused> {
        let file = Ledger::unnamed_file().context("cannot create the ledger (memfd_create)")?;
        let ledger = Ledger::create(&file, spec).context("cannot create the ledger")?;
        let notify = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .context("cannot create the workers' pipe")?;
        let args = ReuseArgs {
            notify: notify.1.as_fd(),
            generation: 0,
        };
        let group = WorkerGroup::spawn(exe, &file, spec.job.workers, &[], Some(args))?;
        Ok(Reused {
            file,
            ledger,
            group,
            notify,
            generation: 0,
        })
    }

    /// Tells the workers to exit and reaps them (killing any that linger).
    pub fn finish(mut self) -> Result<()> {
        self.ledger
            .release_generation(GENERATION_QUIT)
            .context("cannot tell the workers to quit")?;
        self.group.await_all(Instant::now() + QUIT_GRACE)
    }
}

/// Runs trial `spec` on `session`'s workers, starting them if there are
/// none. A failed trial ends the session. Reused workers run on the
/// memory-mapped ledger only (the plan says so): a failed `prepare` is an
/// error, not a lost database.
pub(super) fn run_trial(
    plan: &Plan,
    spec: &TrialSpec,
    exe: &Path,
    interrupts: &Interrupts,
    session: &mut Option<Reused>,
    accounts: &mut dyn Accounts,
) -> Result<Ran> {
    let started = Instant::now();
    let s = match session {
        Some(s) => {
            s.ledger.reset(spec).context("cannot reset the ledger")?;
            let args = ReuseArgs {
                notify: s.notify.1.as_fd(),
                generation: s.generation,
            };
            s.group.replace_exited(exe, &s.file, args)?;
            s
        }
        None => session.insert(Reused::start(spec, exe)?),
    };
    accounts
        .prepare(&s.ledger)
        .context("cannot prepare the accounts")?;
    s.generation += 1;
    let g = s.generation;
    s.ledger
        .release_generation(g)
        .context("cannot release the workers")?;
    let deadline = started + plan.timeout;
    let doomed = spec.doomed();
    let waited = s
        .group
        .wait_reused(&s.ledger, g, deadline, doomed, interrupts, &s.notify.0)?;
    let ended = match waited {
        Wait::AllDone => None,
        Wait::Failed(index, status) => Some(
            stuck_cause(plan, spec.job.mode, &s.ledger)
                .or_else(|| gave_up(&s.ledger, index))
                .unwrap_or_else(|| describe(index, status)),
        ),
        // No sampler runs here: the plan refuses reused workers for the
        // transfer scenario, where deadlocks are looked for.
        Wait::Deadlocked(cycle, _) => {
            Some(cycle.sentence_with(|w| plan.worker_name(w).to_string()))
        }
        Wait::TimedOut => Some(timed_out(plan, &s.ledger, &s.group, doomed)),
        Wait::Interrupted => return Ok(Ran::Interrupted),
    };
    // The doomed worker marks itself through just before it dies: wait for
    // its death, so that it is reported (and replaced).
    if let Some(d) = doomed
        && ended.is_none()
        && s.ledger.slot(d).state() != SlotState::Done
    {
        s.group.await_exit(d, deadline)?;
    }
    let killed_worker = doomed.filter(|&w| s.group.was_killed(w));
    if ended.is_some() {
        s.group.kill_all();
    }
    let balances = match accounts.balances(&s.ledger) {
        Ok(balances) => balances,
        Err(e) => return Ok(Ran::DatabaseLost(lost(ended, &e))),
    };
    let outcome = outcome_of(
        spec,
        &s.ledger,
        balances,
        ended,
        started,
        killed_worker,
        None,
    )?;
    if outcome.cause.is_some() {
        *session = None;
    }
    Ok(Ran::Outcome(Box::new(outcome)))
}
