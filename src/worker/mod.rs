//! The worker process: maps the trial's ledger, reads its part of the trial back, waits at the start barrier, applies its operations through a backend, reports in its slot.
//!
//! Started by the coordinator as `bankrace worker --fd N --index I --parent P`.
//! A reused worker (`--notify FD --generation G` besides) runs one trial per
//! generation the coordinator releases after G, re-reading its part of each
//! from its slot, and writes a byte to FD when it is the last through one.
//! It depends only on the ledger, the vocabulary, the backend and the
//! strategies: no plan, no statistics, no reporting, no progress bars.
//!
//! - `hooks.rs`: the plain hooks of an untraced trial, and death by fault;
//! - `instrument.rs`: the hooks of a traced or scheduled trial.

mod hooks;
mod instrument;

pub use instrument::is_gave_up;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::backend::{Backend, Memory};
use crate::history::{Done, OpRecord, What};
use crate::ledger::{Ledger, Slot};
use crate::spec::{Job, WorkerSpec};
use crate::strategy::{self, Locked, Withdrawal, transfer};
use crate::vocab::{BackendKind, Failure, Mode, Role, Scenario};
use hooks::{OpHooks, Window, die};
use instrument::Instrumented;

/// What the coordinator tells a worker on its command line.
#[derive(Debug, Clone, Copy)]
pub struct WorkerArgs {
    /// The inherited descriptor of the ledger file.
    pub fd: i32,
    /// This worker's slot.
    pub index: u32,
    /// The coordinator's pid: the worker exits if its parent is already gone.
    pub parent: u32,
    /// Reused workers only: how to hear of the next trial and say when one is over.
    pub reuse: Option<Reuse>,
}

/// How a reused worker learns of trials and reports the end of each.
#[derive(Debug, Clone, Copy)]
pub struct Reuse {
    /// The inherited write end of the coordinator's pipe.
    pub notify: i32,
    /// The generation already run (or skipped) when this worker started:
    /// it runs the next one released.
    pub generation: u32,
}

/// A worker whose connection to the database broke, or could not be
/// opened: its coordinator says so, from the slot, in the trial's cause and
/// (when the whole database is gone) in its one line on stderr, so the
/// worker says nothing itself. (The coordinator opens its own connection
/// first, so a server that cannot be reached at all is its one line.)
#[derive(Debug)]
pub struct InSlot(Failure);

impl std::fmt::Display for InSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.describe())
    }
}

/// Whether `e` is a failure the coordinator reports (see [`InSlot`]).
pub fn in_slot(e: &anyhow::Error) -> bool {
    e.downcast_ref::<InSlot>().is_some()
}

/// How long a reused worker waits for the next trial before it exits
/// quietly; a coordinator that comes back later replaces it.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// The worker's whole life. An error ends the process with status 1; the
/// coordinator then marks the trial failed. When the worker gave up because
/// the forced schedule cannot be followed, the error is
/// [`crate::instrument::GaveUp`] and says nothing more: the cause is in the
/// ledger, and the coordinator reports it.
pub fn run(args: WorkerArgs) -> Result<()> {
    die_with_parent(args.parent)?;

    let file = open_own(args.fd)?;
    let ledger = Ledger::open(&file).context("refusing the ledger it was given")?;
    if args.index >= ledger.workers() {
        bail!(
            "worker index {} out of range: the ledger has {} workers",
            args.index,
            ledger.workers()
        );
    }
    let job = ledger.job();
    if job.pause_ns > 0 || job.window_ns > 0 {
        // Sleeps of a few microseconds would otherwise be stretched by the
        // default 50us timer slack, which blurs the window the user asked for.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    }
    let slot = ledger.slot(args.index);
    let transferers = (0..ledger.workers())
        .filter(|&w| ledger.slot(w).role() == Role::Transferer)
        .count() as u32;
    let work = Work {
        transferers,
        ledger: &ledger,
        slot,
        job: ledger.job(),
        me: slot.spec(),
        index: args.index,
        reuse: args.reuse,
    };
    match (work.job.backend, work.job.mode) {
        (BackendKind::Postgres, _) => work.run_on_database(),
        (BackendKind::Memory, Mode::NoLock) => work.serve(Memory::new(&ledger, strategy::NoLock)),
        (BackendKind::Memory, Mode::Atomic) => work.serve(Memory::new(&ledger, strategy::Atomic)),
        (BackendKind::Memory, Mode::Spin) => {
            work.serve(Memory::new(&ledger, Locked(strategy::Spin)))
        }
        (BackendKind::Memory, Mode::Mutex) => {
            work.serve(Memory::new(&ledger, Locked(strategy::Mutex)))
        }
        (BackendKind::Memory, Mode::Flock) => {
            work.serve(Memory::new(&ledger, Locked(strategy::Flock::new(file))))
        }
        // Modes of several accounts: transfers, audits and the write skew's
        // debits choose their own locks.
        (BackendKind::Memory, Mode::MutexUnordered | Mode::Global | Mode::Own) => {
            work.serve(Memory::new(&ledger, strategy::NoLock))
        }
        (BackendKind::Memory, Mode::Range) => {
            work.serve(Memory::with_file(&ledger, strategy::NoLock, &file))
        }
        (BackendKind::Memory, mode) => bail!("{} is not a memory strategy", mode.id()),
    }
}

/// Whether this worker's parent runs this very executable: a coordinator
/// that started it (it re-executes `/proc/self/exe`), not a person or a
/// script. A coordinator reports a schedule that cannot be followed once
/// per trial, from the ledger, so its workers say nothing about it; a worker
/// started by hand says it itself.
pub fn under_its_coordinator() -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |path: &str| std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
    let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_pid());
    let mine = id("/proc/self/exe");
    mine.is_some() && mine == id(&format!("/proc/{parent}/exe"))
}

/// Asks the kernel to kill this process when the coordinator dies, then
/// checks that it has not died already (it may have, between our spawn and
/// the `prctl`).
fn die_with_parent(parent: u32) -> Result<()> {
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .context("cannot ask to die with the coordinator")?;
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_pid() as u32);
    if ppid != parent {
        bail!("the coordinator (pid {parent}) is gone");
    }
    Ok(())
}

/// Opens the ledger anew through `/proc/self/fd`, which gives this worker an
/// open file description of its own (needed for `flock`). `Ledger::open`
/// then checks what it is before anything maps it.
///
/// Reopening a descriptor by its `/proc` path may grant more access than the
/// descriptor had, so a descriptor that was not opened for both reading and
/// writing is refused first: a worker never writes through a file it was
/// only allowed to read.
fn open_own(fd: i32) -> Result<File> {
    let path = format!("/proc/self/fd/{fd}");
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("cannot open the ledger through {path}"))?;
    if !meta.is_file() {
        bail!("{}", crate::ledger::LedgerError::NotRegular);
    }
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .with_context(|| format!("cannot open the ledger through {path}"))?;
    if !opened_read_write(&info) {
        bail!("{}", crate::ledger::LedgerError::ReadOnly);
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the ledger through {path}"))
}

/// The inherited write end of the coordinator's pipe, checked to be a pipe
/// opened for writing.
fn open_notify(fd: i32) -> Result<std::os::fd::OwnedFd> {
    let path = format!("/proc/self/fd/{fd}");
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("cannot find the coordinator's pipe at {path}"))?;
    if !std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) {
        bail!("descriptor {fd} is not the coordinator's pipe");
    }
    // Non-blocking: a full pipe already wakes the coordinator.
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .with_context(|| format!("cannot open the coordinator's pipe through {path}"))?;
    Ok(file.into())
}

/// Whether an `/proc/self/fdinfo` text describes a descriptor opened for
/// both reading and writing (`O_RDWR` in its octal `flags:` line).
fn opened_read_write(fdinfo: &str) -> bool {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 == 0o2)
}

/// One worker's share of its trials.
struct Work<'a> {
    ledger: &'a Ledger,
    slot: &'a Slot,
    job: Job,
    /// This worker's part of the trial.
    me: WorkerSpec,
    index: u32,
    reuse: Option<Reuse>,
    /// Transferers in the trial (they come first).
    transferers: u32,
}

impl Work<'_> {
    /// One trial, or, for a reused worker, one trial per generation until
    /// the coordinator says quit (or releases none for [`IDLE_LIMIT`]).
    /// A reused worker reads its part of each trial from its slot afresh.
    fn serve<B: Backend>(&self, mut bank: B) -> Result<()> {
        let Some(reuse) = self.reuse else {
            return self.run(bank).0;
        };
        let notify = open_notify(reuse.notify)?;
        let mut seen = reuse.generation;
        loop {
            match self.ledger.wait_for_generation(seen, IDLE_LIMIT)? {
                None | Some(crate::ledger::GENERATION_QUIT) => return Ok(()),
                Some(g) => seen = g,
            }
            let trial = Work {
                me: self.slot.spec(),
                ..*self
            };
            let (ran, kept) = trial.run(bank);
            bank = kept;
            ran?;
            if self.ledger.mark_through(self.index, seen) {
                match rustix::io::write(&notify, &[1]) {
                    Ok(_) | Err(rustix::io::Errno::AGAIN) => {}
                    Err(e) => return Err(e).context("cannot tell the coordinator"),
                }
            }
        }
    }

    /// Connects to the database the environment names, then runs.
    #[cfg(feature = "postgres")]
    fn run_on_database(&self) -> Result<()> {
        let bank = crate::backend::postgres::worker(&self.job).map_err(|e| {
            self.slot.failure.store(Failure::Connect.code(), Relaxed);
            e.context(InSlot(Failure::Connect))
        })?;
        self.serve(bank)
    }

    #[cfg(not(feature = "postgres"))]
    fn run_on_database(&self) -> Result<()> {
        self.slot.failure.store(Failure::Connect.code(), Relaxed);
        bail!("this bankrace was built without the `postgres` feature")
    }

    /// Runs with the bare hooks, or with the recording and turnstile ones
    /// when the trial is traced or scheduled. Two monomorphized copies: the
    /// plain one is exactly the untraced loop.
    ///
    /// The bank moves in and back out (a reused worker keeps it for the next
    /// trial) rather than being borrowed: owned by the loop, its fields are
    /// known not to change, so an operation's lookups are made once, not on
    /// every iteration.
    fn run<B: Backend>(&self, bank: B) -> (Result<()>, B) {
        let window = Duration::from_nanos(self.job.window_ns);
        if Instrumented::needed(self.ledger) {
            let hooks = Instrumented::new(self.ledger, self.index, window);
            self.run_with(bank, hooks)
        } else {
            let hooks = Window {
                ledger: self.ledger,
                index: self.index,
                length: window,
                die_now: false,
            };
            self.run_with(bank, hooks)
        }
    }

    /// Picks this worker's operation once, so that each loop below is
    /// monomorphized for one kind of operation with nothing to decide per
    /// iteration: the unlocked loop is only the accesses that race.
    fn run_with<B: Backend, H: OpHooks>(&self, bank: B, hooks: H) -> (Result<()>, B) {
        let amount = self.job.amount;
        let slot = self.slot;
        match (self.job.scenario, self.me.role) {
            (Scenario::LostUpdate, Role::Depositor) => {
                self.repeat(bank, hooks, |b, h, _| Ok(b.update(0, amount, h)?))
            }
            (Scenario::LostUpdate, Role::Withdrawer) => {
                self.repeat(bank, hooks, |b, h, _| Ok(b.update(0, -amount, h)?))
            }
            (Scenario::Overdraft, Role::Depositor) => {
                self.repeat(bank, hooks, |b, h, _| Ok(b.deposit(0, amount, h)?))
            }
            (Scenario::Overdraft, Role::Withdrawer) => self.repeat(bank, hooks, |b, h, _| {
                match b.withdraw(0, amount, h)? {
                    Withdrawal::Paid { overdrew } => {
                        slot.succeeded.fetch_add(1, Relaxed);
                        slot.overdrew.fetch_add(u64::from(overdrew), Relaxed);
                    }
                    Withdrawal::Refused => {
                        slot.refused.fetch_add(1, Relaxed);
                    }
                }
                Ok(())
            }),
            // Each withdrawer owns the account of its own number.
            (Scenario::WriteSkew, Role::Withdrawer) => {
                let own = self.index;
                self.repeat(bank, hooks, |b, h, _| {
                    let counter = match b.debit_if_sum_covers(own, own, amount, h)? {
                        Withdrawal::Paid { .. } => &slot.succeeded,
                        Withdrawal::Refused => &slot.refused,
                    };
                    counter.fetch_add(1, Relaxed);
                    Ok(())
                })
            }
            (Scenario::Transfer, Role::Transferer) => {
                self.repeat(bank, hooks, |b, h, op| self.transfer(b, h, op))
            }
            (Scenario::Transfer, Role::Auditor) => {
                self.repeat(bank, hooks, |b, h, op| self.audit(b, h, op))
            }
            (_, role) => (
                Err(anyhow::anyhow!("no {} in this scenario", role.name())),
                bank,
            ),
        }
    }

    /// The worker's life around its operations: the start barrier, the fault
    /// gate, `job.ops` calls of `op` (with operation numbers from 0), the
    /// injected fault, the pauses and the slot's bookkeeping.
    #[inline(always)]
    fn repeat<B: Backend, H: OpHooks>(
        &self,
        mut bank: B,
        hooks: H,
        op: impl FnMut(&mut B, &mut H, u64) -> Result<()>,
    ) -> (Result<()>, B) {
        let ran = self.repeat_on(&mut bank, hooks, op);
        (ran, bank)
    }

    #[inline(always)]
    fn repeat_on<B: Backend, H: OpHooks>(
        &self,
        bank: &mut B,
        mut hooks: H,
        mut op: impl FnMut(&mut B, &mut H, u64) -> Result<()>,
    ) -> Result<()> {
        let (ledger, slot, job) = (self.ledger, self.slot, &self.job);
        let kill_at = self.me.kill_at;
        let timeout = Duration::from_nanos(job.timeout_ns);

        ledger.wait_at_barrier(self.index, timeout)?;
        // In a trial with an injected fault, the doomed worker goes first and
        // the others start once it holds the lock it dies with: so the death
        // always strikes while they still need that lock, however the
        // machine schedules the processes.
        if kill_at.is_none() && ledger.fault_injected() {
            ledger.wait_at_fault_gate()?;
        }
        slot.started_ns.store(now_ns(), Relaxed);
        // Without a fault to inject or pauses to take, the loop is a copy of
        // its own with nothing to decide between operations.
        if kill_at.is_none() && job.pause_ns == 0 {
            self.operations::<B, H, false>(bank, &mut hooks, &mut op)?;
        } else {
            self.operations::<B, H, true>(bank, &mut hooks, &mut op)?;
        }
        hooks.finished()?;
        slot.finished_ns.store(now_ns(), Relaxed);
        slot.mark_done();
        Ok(())
    }

    /// `job.ops` calls of `op`; with `CHECKS`, the injected fault and the
    /// pauses between them.
    #[inline(always)]
    fn operations<B: Backend, H: OpHooks, const CHECKS: bool>(
        &self,
        bank: &mut B,
        hooks: &mut H,
        op: &mut impl FnMut(&mut B, &mut H, u64) -> Result<()>,
    ) -> Result<()> {
        let (ledger, slot, job) = (self.ledger, self.slot, &self.job);
        let kill_at = self.me.kill_at;
        let mut rng = SmallRng::seed_from_u64(self.me.seed);
        for done in 1..=job.ops {
            let doomed = CHECKS && kill_at == Some(done - 1);
            if doomed {
                if !job.mode.has_window() {
                    // Atomic instructions hold nothing: die before the
                    // operation, which then never happened.
                    die(ledger, self.index);
                }
                // Die inside the window, that is while holding the lock.
                hooks.arm_fault(true);
            }
            let result = op(bank, hooks, done - 1);
            if B::COUNTS {
                self.store_costs(bank);
            }
            if let Err(e) = result {
                let failure = bank.failure();
                if let Some(failure) = failure {
                    slot.failure.store(failure.code(), Relaxed);
                }
                if failure == Some(Failure::ConnectionLost) {
                    return Err(e.context(InSlot(Failure::ConnectionLost)));
                }
                return Err(e);
            }
            if doomed {
                // The operation held no lock to die with (a withdrawal was
                // refused before the window): the others may start.
                hooks.arm_fault(false);
                ledger.open_fault_gate();
            }
            hooks.op_done(done - 1);
            slot.ops_done.store(done, Relaxed);
            if CHECKS && done < job.ops {
                pause(job.pause_ns, &mut rng);
            }
        }
        Ok(())
    }

    /// Publishes what the database's concurrency control cost so far.
    fn store_costs<B: Backend>(&self, bank: &B) {
        let costs = bank.costs();
        self.slot.retries.store(costs.retries, Relaxed);
        self.slot
            .deadlock_aborts
            .store(costs.deadlock_aborts, Relaxed);
        self.slot.cas_misses.store(costs.cas_misses, Relaxed);
    }

    /// Transfer `op`: seeded, or with `--collide` the first one forced
    /// round the accounts and gated.
    // Kept out of the single-account scenarios' loop, whose every
    // nanosecond the benchmarks see.
    #[inline(never)]
    fn transfer<B: Backend, H: OpHooks>(&self, bank: &mut B, hooks: &mut H, op: u64) -> Result<()> {
        let job = &self.job;
        let forced = job.collide && op == 0;
        let t = if forced {
            transfer::collision(self.index, job.accounts, job.amount)
        } else {
            transfer::choose(self.me.seed, op, job.accounts, job.amount)
        };
        let what = What::Transfer {
            from: t.from,
            to: t.to,
            amount: t.amount,
        };
        let started = self.history(op, what, None, 0, Vec::new());
        let limit = Duration::from_nanos(job.timeout_ns);
        let mut gate = || match forced {
            true => self.ledger.collide(self.index, self.transferers, limit),
            false => Ok(()),
        };
        let moved = bank.transfer(self.index, t, &mut gate, hooks)?;
        let counter = if moved {
            &self.slot.succeeded
        } else {
            &self.slot.refused
        };
        counter.fetch_add(1, Relaxed);
        let done = if moved { Done::Ok } else { Done::Refused };
        self.history(op, what, Some(done), started, Vec::new());
        Ok(())
    }

    /// Audit `op`: every balance, compared with the bank's true total.
    #[inline(never)]
    fn audit<B: Backend, H: OpHooks>(&self, bank: &mut B, hooks: &mut H, op: u64) -> Result<()> {
        let started = self.history(op, What::Read, None, 0, Vec::new());
        let seen = bank.audit(self.index, hooks)?;
        let total = seen.iter().fold(0i64, |t, b| t.saturating_add(*b));
        let truth = self
            .job
            .initial
            .saturating_mul(i64::from(self.job.accounts));
        self.slot.audited(total, truth);
        self.history(op, What::Read, Some(Done::Ok), started, seen);
        Ok(())
    }

    /// Records operation `op` for `--export-history`, if asked: started
    /// now (`done` = `None`), or done now after starting at `started`.
    /// Returns the time it recorded.
    fn history(
        &self,
        op: u64,
        what: What,
        done: Option<Done>,
        started: u64,
        balances: Vec<i64>,
    ) -> u64 {
        if !self.job.history {
            return 0;
        }
        let now = now_ns();
        let rec = OpRecord {
            what,
            done,
            start_ns: if done.is_some() { started } else { now },
            end_ns: now,
            balances,
        };
        self.ledger.store_history(self.index, op, &rec);
        now
    }
}

/// Sleeps about `pause_ns`, jittered uniformly by ±50 % from the worker's
/// seeded RNG so that workers do not fall into a fixed lockstep.
fn pause(pause_ns: u64, rng: &mut SmallRng) {
    if pause_ns == 0 {
        return;
    }
    let ns = rng.random_range(pause_ns / 2..=pause_ns + pause_ns / 2);
    std::thread::sleep(Duration::from_nanos(ns));
}

pub(crate) use crate::ledger::now_ns;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_write_descriptors_are_accepted() {
        let info = |flags: &str| format!("pos:\t0\nflags:\t{flags}\nmnt_id:\t21\n");
        assert!(opened_read_write(&info("0100002")));
        assert!(opened_read_write(&info("02")));
        assert!(!opened_read_write(&info("0100000")), "read-only");
        assert!(!opened_read_write(&info("0100001")), "write-only");
        assert!(!opened_read_write("pos: 0\n"));
    }
}
