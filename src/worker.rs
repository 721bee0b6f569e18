//! The worker process: maps the trial's ledger, waits at the start barrier, applies its operations, reports in its slot.
//!
//! Started by the coordinator as `bankrace worker --fd N --index I --parent P`.
//! It depends only on the ledger and the strategies: no statistics, no
//! reporting, no progress bars.

use std::fs::{File, OpenOptions};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::instrument::Instrumented;
use crate::ledger::{Job, Ledger, Slot};
use crate::plan::{Mode, Scenario, StrategyKind};
use crate::strategy::{self, Hooks, Locked, Strategy, Withdrawal};

/// What the coordinator tells a worker on its command line.
#[derive(Debug, Clone, Copy)]
pub struct WorkerArgs {
    /// The inherited descriptor of the ledger file.
    pub fd: i32,
    /// This worker's slot.
    pub index: u32,
    /// The coordinator's pid: the worker exits if its parent is already gone.
    pub parent: u32,
}

/// The worker's whole life. An error ends the process with status 1; the
/// coordinator then marks the trial failed. When the worker gave up because
/// the forced schedule cannot be followed, the error is
/// [`crate::instrument::GaveUp`] and says nothing more: the cause is in the
/// ledger, and the coordinator reports it.
pub fn run(args: WorkerArgs) -> Result<()> {
    die_with_parent(args.parent)?;
    // Sleeps of a few microseconds would otherwise be stretched by the
    // default 50us timer slack, which blurs the window the user asked for.
    let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));

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
    let scenario = Scenario::from_code(job.scenario).context("unknown scenario in ledger")?;
    let mode = Mode::from_code(job.strategy).context("unknown strategy in ledger")?;
    let slot = ledger.slot(args.index);
    let work = Work {
        ledger: &ledger,
        slot,
        job,
        scenario,
        index: args.index,
        no_window: mode == Mode::Lock(StrategyKind::Atomic),
    };
    match mode {
        Mode::NoLock => work.run(strategy::NoLock),
        Mode::Lock(StrategyKind::Atomic) => work.run(strategy::Atomic),
        Mode::Lock(StrategyKind::Spin) => work.run(Locked(strategy::Spin)),
        Mode::Lock(StrategyKind::Mutex) => work.run(Locked(strategy::Mutex::default())),
        Mode::Lock(StrategyKind::Flock) => work.run(Locked(strategy::Flock::new(file))),
    }
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
fn open_own(fd: i32) -> Result<File> {
    let path = format!("/proc/self/fd/{fd}");
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the ledger through {path}"))
}

/// One worker's share of a trial.
struct Work<'a> {
    ledger: &'a Ledger,
    slot: &'a Slot,
    job: Job,
    scenario: Scenario,
    index: u32,
    /// The strategy has no window to die in (atomic instructions).
    no_window: bool,
}

impl Work<'_> {
    /// Runs with the bare hooks, or with the recording and turnstile ones
    /// when the trial is traced or scheduled. Two monomorphized copies: the
    /// plain one is exactly the untraced loop.
    fn run<S: Strategy>(&self, strategy: S) -> Result<()> {
        let window = Duration::from_nanos(self.job.window_ns);
        if Instrumented::needed(self.ledger) {
            let hooks = Instrumented::new(self.ledger, self.index, window);
            self.run_with(strategy, hooks)
        } else {
            self.run_with(
                strategy,
                Window {
                    ledger: self.ledger,
                    length: window,
                    die_now: false,
                },
            )
        }
    }

    fn run_with<S: Strategy, H: OpHooks>(&self, mut strategy: S, mut hooks: H) -> Result<()> {
        let (ledger, slot, job) = (self.ledger, self.slot, &self.job);
        let mut rng = SmallRng::seed_from_u64(slot.seed());
        let depositor = slot.is_depositor();
        let kill_at = slot.kill_at();

        ledger.wait_at_barrier(self.index)?;
        // In a trial with an injected fault, the doomed worker goes first and
        // the others start once it holds the lock it dies with: so the death
        // always strikes while they still need that lock, however the
        // machine schedules the processes.
        if kill_at.is_none() && ledger.fault_injected() {
            ledger.wait_at_fault_gate()?;
        }
        slot.started_ns.store(now_ns(), Relaxed);
        for done in 1..=job.ops {
            if kill_at == Some(done - 1) {
                if self.no_window {
                    // Atomic instructions hold nothing: die before the
                    // operation, which then never happened.
                    die(ledger);
                }
                // Die inside the window, that is while holding the lock.
                hooks.arm_fault(true);
            }
            match (self.scenario, depositor) {
                (Scenario::LostUpdate, true) => strategy.update(ledger, job.amount, &mut hooks)?,
                (Scenario::LostUpdate, false) => {
                    strategy.update(ledger, -job.amount, &mut hooks)?
                }
                // Deposits cannot break "never below zero", so in this
                // scenario they are plain atomic additions in every mode.
                (Scenario::Overdraft, true) => {
                    hooks.add(ledger.balance(), job.amount)?;
                }
                (Scenario::Overdraft, false) => {
                    match strategy.withdraw(ledger, job.amount, &mut hooks)? {
                        Withdrawal::Paid { overdrew } => {
                            slot.succeeded.fetch_add(1, Relaxed);
                            slot.overdrew.fetch_add(u64::from(overdrew), Relaxed);
                        }
                        Withdrawal::Refused => {
                            slot.refused.fetch_add(1, Relaxed);
                        }
                    }
                }
            }
            if kill_at == Some(done - 1) {
                // The operation held no lock to die with (a withdrawal was
                // refused before the window): the others may start.
                hooks.arm_fault(false);
                ledger.open_fault_gate();
            }
            hooks.op_done(done - 1);
            slot.ops_done.store(done, Relaxed);
            if done < job.ops {
                pause(job.pause_ns, &mut rng);
            }
        }
        hooks.finished()?;
        slot.finished_ns.store(now_ns(), Relaxed);
        slot.mark_done();
        Ok(())
    }
}

/// What the worker loop needs from its hooks besides the strategy's part.
trait OpHooks: Hooks {
    /// Fault injection: die in the next window (`true`), or not (`false`).
    fn arm_fault(&mut self, armed: bool);
    /// Operation `op` (0-based) is complete.
    fn op_done(&mut self, op: u64);
    /// Every operation is complete.
    fn finished(&mut self) -> std::io::Result<()>;
}

impl OpHooks for Window<'_> {
    #[inline(always)]
    fn arm_fault(&mut self, armed: bool) {
        self.die_now = armed;
    }
    #[inline(always)]
    fn op_done(&mut self, _: u64) {}
    #[inline(always)]
    fn finished(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl OpHooks for Instrumented<'_> {
    fn arm_fault(&mut self, armed: bool) {
        Instrumented::arm_fault(self, armed);
    }
    fn op_done(&mut self, op: u64) {
        Instrumented::op_done(self, op);
    }
    fn finished(&mut self) -> std::io::Result<()> {
        Instrumented::finished(self)
    }
}

/// The plain hooks: the race window, a sleep between read and write where a
/// lock (if any) is held, and the strategies' bare accesses. Also where an
/// injected fault strikes.
struct Window<'a> {
    ledger: &'a Ledger,
    length: Duration,
    /// Fault injection: kill this process now, holding whatever it holds.
    die_now: bool,
}

impl Hooks for Window<'_> {
    fn window(&mut self) {
        if self.die_now {
            die(self.ledger);
        }
        if !self.length.is_zero() {
            std::thread::sleep(self.length);
        }
    }
}

/// Kills this process with SIGKILL, on purpose: no unwinding, no unlocking,
/// no cleanup, as a crash or the OOM killer would. First opens the fault gate,
/// so that the other workers of the trial start and want what it holds.
pub(crate) fn die(ledger: &Ledger) -> ! {
    ledger.open_fault_gate();
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught or ignored; this is never reached.
    std::process::abort()
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

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
pub fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}
