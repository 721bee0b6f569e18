//! The worker processes of a trial (or, reused, of a mode): started in a process group of their own, watched through pidfds, replaced one by one, killed and reaped when dropped.

use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::event::{PollFd, PollFlags};
use rustix::fd::OwnedFd;
use rustix::process::{Pid, Signal};

use crate::deadlock::Deadlock;
use crate::ledger::Ledger;
use crate::signals::Interrupts;

/// How often the coordinator copies the wait-for graph while a trial of
/// the transfer scenario runs. A deadlock is confirmed by two copies, so it
/// is found between one and two of these after its cycle closed.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// Looks at the wait-for graph: a deadlock it confirms, and how long after
/// its cycle closed.
pub(super) type Sampler<'a> = &'a mut dyn FnMut() -> Option<(Deadlock, Duration)>;

/// How waiting for a trial's workers ended.
pub(super) enum Wait {
    /// Fresh workers: every one exited. Reused workers: every one is through
    /// with the trial.
    AllDone,
    /// The first worker that did not exit with status 0 (fresh), or that
    /// exited before it was through with the trial (reused).
    Failed(u32, ExitStatus),
    TimedOut,
    /// Workers wait for each other's locks in a cycle: the cycle, and how
    /// long after it closed it was confirmed.
    Deadlocked(Deadlock, Duration),
    /// A signal arrived: the run is to stop.
    Interrupted,
}

/// What a reused worker is told on its command line besides the ledger.
#[derive(Clone, Copy)]
pub(super) struct ReuseArgs<'a> {
    /// The write end of the coordinator's pipe.
    pub notify: BorrowedFd<'a>,
    /// The generation already released: the worker runs the next one.
    pub generation: u32,
}

/// Worker processes in a process group of their own. Dropping the group
/// kills whatever still runs and reaps every child, also when the
/// coordinator unwinds from an error.
pub(super) struct WorkerGroup {
    children: Vec<Child>,
    /// A pidfd per child, to wait for several children with one `poll`.
    pidfds: Vec<OwnedFd>,
    exited: Vec<Option<ExitStatus>>,
    pgid: Option<Pid>,
}

impl WorkerGroup {
    /// Starts `workers` workers on `ledger`, with `env` added to their
    /// environment; reused ones with `reuse`.
    pub fn spawn(
        exe: &Path,
        ledger: &File,
        workers: u32,
        env: &[(&'static str, String)],
        reuse: Option<ReuseArgs>,
    ) -> Result<WorkerGroup> {
        let mut group = WorkerGroup {
            children: Vec::with_capacity(workers as usize),
            pidfds: Vec::with_capacity(workers as usize),
            exited: Vec::with_capacity(workers as usize),
            pgid: None,
        };
        for index in 0..workers {
            let (child, pidfd) = group.start(exe, ledger, index, env, reuse)?;
            group.children.push(child);
            group.pidfds.push(pidfd);
            group.exited.push(None);
        }
        Ok(group)
    }

    /// Starts worker `index` in this group.
    fn start(
        &mut self,
        exe: &Path,
        ledger: &File,
        index: u32,
        env: &[(&'static str, String)],
        reuse: Option<ReuseArgs>,
    ) -> Result<(Child, OwnedFd)> {
        // The workers inherit the ledger's descriptor (and the pipe's) across exec.
        rustix::io::fcntl_setfd(ledger, rustix::io::FdFlags::empty())?;
        let mut cmd = Command::new(exe);
        cmd.args(["worker", "--fd", &ledger.as_raw_fd().to_string()])
            .args(["--parent", &std::process::id().to_string()])
            .args(["--index", &index.to_string()]);
        if let Some(r) = reuse {
            rustix::io::fcntl_setfd(r.notify, rustix::io::FdFlags::empty())?;
            cmd.args(["--notify", &r.notify.as_raw_fd().to_string()])
                .args(["--generation", &r.generation.to_string()]);
        }
        let child = cmd
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(self.pgid.map_or(0, |p| p.as_raw_nonzero().get()))
            .spawn()
            .context("cannot start a worker process")?;
        let pid = Pid::from_child(&child);
        self.pgid.get_or_insert(pid);
        // If this fails, the child is killed and reaped with the group,
        // because it is pushed first.
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty());
        match pidfd {
            Ok(fd) => Ok((child, fd)),
            Err(e) => {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                Err(e).context("cannot watch a worker process (pidfd_open)")
            }
        }
    }

    /// Reused workers: notices every worker that has exited since the last
    /// look (an injected fault, a kill from outside, an idle timeout) and
    /// starts another in its place. Returns how many were replaced.
    pub fn replace_exited(&mut self, exe: &Path, ledger: &File, reuse: ReuseArgs) -> Result<u32> {
        self.poll_exits(Duration::ZERO)?;
        if self.exited.iter().all(Option::is_some) {
            // Nobody is left in the old group to join.
            self.pgid = None;
        }
        let mut replaced = 0;
        for index in 0..self.children.len() {
            if self.exited[index].is_some() {
                let (child, pidfd) = self.start(exe, ledger, index as u32, &[], Some(reuse))?;
                self.children[index] = child;
                self.pidfds[index] = pidfd;
                self.exited[index] = None;
                replaced += 1;
            }
        }
        Ok(replaced)
    }

    /// Waits, at most `timeout`, for any worker still running to exit, and
    /// reaps every one that has.
    fn poll_exits(&mut self, left: Duration) -> Result<()> {
        let pending = self.pending();
        let mut fds: Vec<PollFd> = pending
            .iter()
            .map(|&i| PollFd::new(&self.pidfds[i], PollFlags::IN))
            .collect();
        poll(&mut fds, left)?;
        let ready = ready(&pending, &fds);
        drop(fds);
        for i in ready {
            self.reap(i)?;
        }
        Ok(())
    }

    fn pending(&self) -> Vec<usize> {
        (0..self.children.len())
            .filter(|&i| self.exited[i].is_none())
            .collect()
    }

    /// Reaps worker `i` if it has exited; returns its status.
    fn reap(&mut self, i: usize) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.children[i].try_wait()? {
            self.exited[i] = Some(status);
        }
        Ok(self.exited[i])
    }

    /// Fresh workers: waits until every worker exited, one failed,
    /// `deadline` passed, a signal arrived or `sampler` (called every
    /// [`SAMPLE_EVERY`]) confirmed a deadlock. Worker `expected_death`, told
    /// to kill itself, may die by SIGKILL without failing the trial.
    pub fn wait(
        &mut self,
        deadline: Instant,
        expected_death: Option<u32>,
        interrupts: &Interrupts,
        sampler: Option<Sampler>,
    ) -> Result<Wait> {
        let mut sampler = sampler;
        let waits = Waits {
            deadline,
            interrupts,
            notify: None,
        };
        self.wait_for(waits, &mut sampler, &mut |group, i, status| {
            let injected = expected_death == Some(i as u32) && is_sigkill(status);
            (!status.success() && !injected)
                .then_some(Wait::Failed(i as u32, status))
                .or_else(|| group.pending().is_empty().then_some(Wait::AllDone))
        })
    }

    /// Reused workers: waits until every worker still running is through
    /// with generation `g`, one exited before it was, `deadline` passed or
    /// a signal arrived. `notify` is the read end of the pipe the last
    /// worker through writes to.
    pub fn wait_reused(
        &mut self,
        ledger: &Ledger,
        g: u32,
        deadline: Instant,
        expected_death: Option<u32>,
        interrupts: &Interrupts,
        notify: &OwnedFd,
    ) -> Result<Wait> {
        loop {
            let workers = self.children.len() as u32;
            if (0..workers).all(|i| !self.is_running(i) || ledger.is_through(i, g)) {
                return Ok(Wait::AllDone);
            }
            let waits = Waits {
                deadline,
                interrupts,
                notify: Some(notify),
            };
            let end = self.wait_for(waits, &mut None, &mut |_, i, status| {
                let injected = expected_death == Some(i as u32) && is_sigkill(status);
                (!injected && !ledger.is_through(i as u32, g))
                    .then_some(Wait::Failed(i as u32, status))
            })?;
            if !matches!(end, Wait::AllDone) {
                return Ok(end);
            }
            // The pipe spoke, or every worker exited: look again.
        }
    }

    /// The poll loop under both waits: pidfds of running workers, the
    /// interrupt pipe and, for reused workers, the notify pipe; every
    /// [`SAMPLE_EVERY`], the deadlock `sampler` if any. `on_exit` is told of
    /// every reaped worker and may end the wait. Returns `AllDone` when
    /// every worker has exited (fresh) or the notify pipe spoke.
    fn wait_for(
        &mut self,
        waits: Waits,
        sampler: &mut Option<Sampler>,
        on_exit: &mut dyn FnMut(&WorkerGroup, usize, ExitStatus) -> Option<Wait>,
    ) -> Result<Wait> {
        let Waits {
            deadline,
            interrupts,
            notify,
        } = waits;
        loop {
            let pending = self.pending();
            if pending.is_empty() {
                return Ok(Wait::AllDone);
            }
            if let Some((cycle, after)) = sampler.as_mut().and_then(|sample| sample()) {
                return Ok(Wait::Deadlocked(cycle, after));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Wait::TimedOut);
            }
            let left = match sampler {
                Some(_) => left.min(SAMPLE_EVERY),
                None => left,
            };
            let mut fds: Vec<PollFd> = pending
                .iter()
                .map(|&i| PollFd::new(&self.pidfds[i], PollFlags::IN))
                .collect();
            fds.push(PollFd::from_borrowed_fd(interrupts.fd(), PollFlags::IN));
            if let Some(n) = notify {
                fds.push(PollFd::new(n, PollFlags::IN));
            }
            poll(&mut fds, left)?;
            if interrupts.caught().is_some() {
                interrupts.drain();
                return Ok(Wait::Interrupted);
            }
            let spoke = notify.is_some() && !fds[pending.len() + 1].revents().is_empty();
            let ready = ready(&pending, &fds);
            drop(fds);
            for i in ready {
                if let Some(status) = self.reap(i)?
                    && let Some(end) = on_exit(self, i, status)
                {
                    return Ok(end);
                }
            }
            if let Some(n) = notify.filter(|_| spoke) {
                drain(n);
                return Ok(Wait::AllDone);
            }
        }
    }

    /// Whether worker `index` is running (not seen to exit).
    pub fn is_running(&self, index: u32) -> bool {
        self.exited.get(index as usize).is_some_and(Option::is_none)
    }

    /// Waits, until `deadline`, for worker `index` to exit.
    pub fn await_exit(&mut self, index: u32, deadline: Instant) -> Result<()> {
        while self.is_running(index) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut fds = [PollFd::new(&self.pidfds[index as usize], PollFlags::IN)];
            poll(&mut fds, left)?;
            self.reap(index as usize)?;
        }
        Ok(())
    }

    /// Reused workers: once they were told to quit, waits until `deadline`
    /// for them to exit; the drop kills whatever is still running.
    pub fn await_all(&mut self, deadline: Instant) -> Result<()> {
        while !self.pending().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.poll_exits(left)?;
        }
        Ok(())
    }

    /// Worker `index` has been reaped after dying by SIGKILL.
    pub fn was_killed(&self, index: u32) -> bool {
        self.exited
            .get(index as usize)
            .copied()
            .flatten()
            .is_some_and(is_sigkill)
    }
}

/// What ends a wait besides the workers: the deadline, a signal, and for
/// reused workers the pipe the last one through writes to.
struct Waits<'a> {
    deadline: Instant,
    interrupts: &'a Interrupts,
    notify: Option<&'a OwnedFd>,
}

fn is_sigkill(status: ExitStatus) -> bool {
    status.signal() == Some(libc::SIGKILL)
}

/// The indices of `pending` whose poll entry saw an event.
fn ready(pending: &[usize], fds: &[PollFd]) -> Vec<usize> {
    pending
        .iter()
        .zip(fds)
        .filter(|(_, fd)| !fd.revents().is_empty())
        .map(|(&i, _)| i)
        .collect()
}

/// Empties the (non-blocking) notify pipe.
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 64];
    while matches!(rustix::io::read(fd, &mut buf), Ok(n) if n > 0) {}
}

impl WorkerGroup {
    /// Kills every worker still running and reaps them all.
    pub fn kill_all(&mut self) {
        if self.exited.iter().any(Option::is_none) {
            if let Some(pgid) = self.pgid {
                let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
            }
            for child in &mut self.children {
                let _ = child.kill();
            }
        }
        for (i, child) in self.children.iter_mut().enumerate() {
            if self.exited.get(i).is_none_or(Option::is_none) {
                self.exited[i] = child.wait().ok();
            }
        }
    }
}

impl Drop for WorkerGroup {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Waits on `fds` for at most `left`; a signal ends the wait early, and the
/// caller looks again.
fn poll(fds: &mut [PollFd], left: Duration) -> Result<()> {
    let timeout = rustix::time::Timespec {
        tv_sec: left.as_secs() as i64,
        tv_nsec: i64::from(left.subsec_nanos()),
    };
    match rustix::event::poll(fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e).context("cannot wait for workers"),
    }
}
