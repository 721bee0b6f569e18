//! How the processes of a trial wait for each other through the ledger: the start barrier, the fault gate, the generation reused workers wait on between trials, the turnstile of a forced schedule and the sequencer of a trace. Safe code over the layout's accessors.

use std::io;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use rustix::thread::futex;

use super::{Ledger, SlotState};

/// Every futex wait is at most this long; callers re-check their condition
/// in a loop, so a lost wake-up costs a delay, never a hang.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Waits on a shared futex word while it holds `value`, at most `timeout`.
/// Returns early on a wake-up, a signal, or when the word already changed.
fn wait_while(word: &AtomicU32, value: u32, timeout: Duration) -> io::Result<()> {
    let ts = rustix::time::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    // A shared (not PRIVATE) futex: the other waiters are other processes.
    match futex::wait(word, futex::Flags::empty(), value, Some(&ts)) {
        Ok(()) => Ok(()),
        Err(e)
            if e == rustix::io::Errno::AGAIN
                || e == rustix::io::Errno::INTR
                || e == rustix::io::Errno::TIMEDOUT =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The generation that tells reused workers to exit instead of running
/// another trial.
pub const GENERATION_QUIT: u32 = u32::MAX;

/// Wakes every process waiting on `word`. The count is an `int` in the
/// kernel: `i32::MAX` means "everyone" (`u32::MAX` would read as -1).
fn wake_all(word: &AtomicU32) -> io::Result<()> {
    futex::wake(word, futex::Flags::empty(), i32::MAX as u32)?;
    Ok(())
}

impl Ledger {
    /// Counts worker `index` in at the start barrier and blocks until every
    /// worker of the trial has arrived, so that they start together instead
    /// of in the order they happened to be spawned. Gives up with
    /// `TimedOut` after `limit`: a worker never waits without a bound.
    pub(crate) fn wait_at_barrier(&self, index: u32, limit: Duration) -> io::Result<()> {
        self.slot(index)
            .state
            .store(SlotState::Arrived as u32, Ordering::Release);
        let b = &self.map.shared().barrier.0;
        if b.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.job.workers {
            b.released.store(1, Ordering::Release);
            return wake_all(&b.released);
        }
        let end = std::time::Instant::now() + limit;
        while b.released.load(Ordering::Acquire) == 0 {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the other workers never reached the start barrier",
                ));
            }
            wait_while(&b.released, 0, left.min(WAIT_SLICE))?;
        }
        Ok(())
    }

    /// The trial generation the coordinator released last (reused workers).
    pub(crate) fn generation(&self) -> u32 {
        self.map
            .shared()
            .barrier
            .0
            .generation
            .load(Ordering::Acquire)
    }

    /// Releases generation `g` to the reused workers waiting for it. The
    /// ledger must already hold that trial's spec: `Release` publishes it.
    pub(crate) fn release_generation(&self, g: u32) -> io::Result<()> {
        let word = &self.map.shared().barrier.0.generation;
        word.store(g, Ordering::Release);
        wake_all(word)
    }

    /// A reused worker's wait between trials: blocks while the generation
    /// is `seen` and returns the new one, or `None` after `limit`.
    pub(crate) fn wait_for_generation(
        &self,
        seen: u32,
        limit: Duration,
    ) -> io::Result<Option<u32>> {
        let word = &self.map.shared().barrier.0.generation;
        let end = std::time::Instant::now() + limit;
        loop {
            let g = word.load(Ordering::Acquire);
            if g != seen {
                return Ok(Some(g));
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            wait_while(word, seen, left.min(WAIT_SLICE))?;
        }
    }

    /// Marks worker `index` through with generation `g`, as its last write
    /// to the ledger in that trial, and tells whether every worker is:
    /// then it is the one to wake the coordinator. `SeqCst` on both sides:
    /// of two workers finishing at once, at least one sees the other through.
    pub(crate) fn mark_through(&self, index: u32, g: u32) -> bool {
        self.slot(index).through.store(g, Ordering::SeqCst);
        (0..self.job.workers).all(|w| self.is_through(w, g))
    }

    /// Whether worker `index` is through with generation `g`: its results
    /// are published and it no longer touches this trial's words.
    pub(crate) fn is_through(&self, index: u32, g: u32) -> bool {
        self.slot(index).through.load(Ordering::SeqCst) == g
    }

    /// Whether some worker of this trial has an injected fault.
    pub(crate) fn fault_injected(&self) -> bool {
        (0..self.job.workers).any(|w| self.slot(w).kill_at().is_some())
    }

    /// Opens the fault gate and wakes every worker waiting at it. Called by
    /// the doomed worker just before it dies holding the lock, or right after
    /// the operation it was to die in, if that operation held nothing.
    pub(crate) fn open_fault_gate(&self) {
        let gate = &self.map.shared().barrier.0.fault_gate;
        gate.store(1, Ordering::Release);
        // Nothing useful can be done if waking fails: the waiters re-check
        // the word at least every slice.
        let _ = wake_all(gate);
    }

    /// Blocks until the fault gate is open. The coordinator's timeout bounds
    /// the whole trial; a doomed worker that fails before its fault ends the
    /// trial, and with it this wait.
    pub(crate) fn wait_at_fault_gate(&self) -> io::Result<()> {
        let gate = &self.map.shared().barrier.0.fault_gate;
        while gate.load(Ordering::Acquire) == 0 {
            wait_while(gate, 0, WAIT_SLICE)?;
        }
        Ok(())
    }

    /// The turnstile: how many steps of the forced schedule are done.
    pub(crate) fn turn(&self) -> u32 {
        self.map.shared().instruments.0.turn.load(Ordering::Acquire)
    }

    /// Marks one more step done and wakes every worker waiting at the turnstile.
    pub(crate) fn advance_turn(&self) -> io::Result<()> {
        let turn = &self.map.shared().instruments.0.turn;
        turn.fetch_add(1, Ordering::Release);
        wake_all(turn)
    }

    /// Sleeps until the turnstile moves past `seen`, `timeout` passes, or a
    /// signal arrives, whichever is first. Callers re-check in a loop.
    pub(crate) fn wait_turn(&self, seen: u32, timeout: Duration) -> io::Result<()> {
        wait_while(&self.map.shared().instruments.0.turn, seen, timeout)
    }

    /// Records why the forced schedule cannot be followed, unless a cause is
    /// already recorded, and wakes every worker at the turnstile so that
    /// they give up too. Returns whether this cause was the one recorded.
    pub(crate) fn report_stuck(&self, cause: u64) -> io::Result<bool> {
        assert!(cause != 0, "0 means not stuck");
        let ins = &self.map.shared().instruments.0;
        let first = ins
            .stuck
            .compare_exchange(0, cause, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        wake_all(&ins.turn)?;
        Ok(first)
    }

    /// The encoded cause recorded by [`Ledger::report_stuck`], 0 for none.
    pub(crate) fn stuck(&self) -> u64 {
        self.map
            .shared()
            .instruments
            .0
            .stuck
            .load(Ordering::Acquire)
    }

    /// Runs `access` on `balance` (one of this ledger's accounts) as one
    /// step of the sequencer and returns its sequence number (1 for the
    /// first access of the trial) with its result. A lock step of a transfer
    /// takes its number with an `access` that touches no balance.
    ///
    /// The sequencer is a tiny lock around *one* access, not around a
    /// read-modify-write: it makes "touch the balance" and "take the next
    /// number" one indivisible step, so that the numbers order the accesses
    /// exactly as the balance saw them. (A counter taken just before or after
    /// an unguarded access could be overtaken by another worker's access in
    /// between, and the record would then lie about the order.) The race
    /// window between a worker's read and its write stays wide open: between
    /// two sequenced accesses any number of other workers' accesses can land,
    /// which is the whole point. It costs two more atomic operations per
    /// access; the README measures what that does to the race.
    pub(crate) fn sequenced<T>(
        &self,
        balance: &AtomicI64,
        access: impl FnOnce(&AtomicI64) -> T,
    ) -> (u64, T) {
        let word = &self.map.shared().instruments.0.sequencer;
        let mut spins = 0u32;
        let taken = loop {
            let s = word.load(Ordering::Relaxed);
            if s & 1 == 0
                && word
                    .compare_exchange_weak(s, s | 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                break s;
            }
            // The holder is between two instructions; if it was preempted
            // there, spinning on would only delay it.
            if spins < 64 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        };
        let value = access(balance);
        word.store(taken + 2, Ordering::Release);
        (taken / 2 + 1, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Job;

    #[test]
    fn the_sequencer_numbers_every_access_once() {
        let ledger = Ledger::anonymous(&Job::plain(4, 5, 200)).unwrap();
        let seqs: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..500)
                            .map(|_| {
                                ledger
                                    .sequenced(ledger.balance(), |b| {
                                        b.fetch_add(1, Ordering::Relaxed)
                                    })
                                    .0
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=2000).collect::<Vec<u64>>());
        assert_eq!(ledger.balance().load(Ordering::Relaxed), 2200);
    }

    #[test]
    fn barrier_releases_when_all_arrived() {
        let ledger = Ledger::anonymous(&Job::plain(4, 5, 200)).unwrap();
        std::thread::scope(|s| {
            for i in 0..4 {
                let ledger = &ledger;
                s.spawn(move || ledger.wait_at_barrier(i, Duration::from_secs(60)).unwrap());
            }
        });
        for i in 0..4 {
            assert_eq!(ledger.slot(i).state(), SlotState::Arrived);
        }
    }

    #[test]
    fn a_barrier_that_is_never_released_times_out() {
        let ledger = Ledger::anonymous(&Job::plain(2, 5, 200)).unwrap();
        let e = ledger
            .wait_at_barrier(0, Duration::from_millis(20))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_reused_worker_waits_for_the_next_generation_and_no_longer() {
        let ledger = Ledger::anonymous(&Job::plain(2, 5, 200)).unwrap();
        assert_eq!(ledger.generation(), 0);
        let idle = ledger
            .wait_for_generation(0, Duration::from_millis(20))
            .unwrap();
        assert_eq!(idle, None, "nothing released: the wait is bounded");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| ledger.wait_for_generation(0, Duration::from_secs(60)));
            ledger.release_generation(1).unwrap();
            assert_eq!(waiter.join().unwrap().unwrap(), Some(1));
        });
        assert!(!ledger.mark_through(0, 1), "worker 1 is not through yet");
        assert!(ledger.mark_through(1, 1), "the last one through knows it");
        assert!(ledger.is_through(0, 1) && !ledger.is_through(0, 2));
    }

    #[test]
    fn the_fault_gate_lets_waiters_through_once_opened() {
        let ledger = Ledger::anonymous(&Job::plain(2, 5, 200)).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| ledger.wait_at_fault_gate());
            ledger.open_fault_gate();
            waiter.join().unwrap().unwrap();
        });
    }
}
