//! The wait-for words of the transfer scenario: account locks that say who holds them and workers that say what they hold and wait for, the `--collide` gate, and the coordinator's copy of those words. Safe code over the layout's accessors.
//!
//! A worker publishes in a fixed order, so that the coordinator, reading the
//! words one by one while the workers run, never sees a cycle that is not
//! there (see `deadlock.rs` for the rules it applies to a torn copy):
//!
//! - to lock: its `waits_for` (and the time) before the lock call; once it
//!   holds the lock, the lock's holder word, then its own `holds`, then it
//!   clears `waits_for`, then bumps `progress`;
//! - to unlock: it clears its `holds` bit, then the holder word, then unlocks,
//!   then bumps `progress`.
//!
//! An account's lock is one of three kinds ([`PerAccount`]), and all three
//! publish these words the same way, so the detector needs to know none of
//! them: the account's robust mutex; a spin lock that *is* the holder word
//! (a compare-and-swap from 0 to 1 + the worker takes it, so "lock, then
//! write the holder" is one step, and storing 0 releases it); or a byte-range
//! lock on byte `account` of the worker's own open of the ledger file
//! (`range.rs`).

use std::fs::File;
use std::hint;
use std::io;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::{Ledger, MutexGuard, MutexId};

/// `waits_for` of a worker blocked on the bank's one lock (`--lock=global`).
pub(crate) const GLOBAL_WAIT: u64 = u64::MAX;

/// One worker's wait-for words, as the coordinator copied them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitWords {
    /// Bit `a` set: holds account `a`'s lock (accounts from 0).
    pub holds: u64,
    /// 0 for none, 1 + an account, or the global lock.
    pub waits_for: u64,
    pub progress: u64,
    /// CLOCK_MONOTONIC nanoseconds when `waits_for` was last set.
    pub wait_since_ns: u64,
}

/// Which lock guards each account.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PerAccount<'f> {
    /// The account's robust, process-shared mutex.
    Mutex,
    /// A compare-and-swap spin lock on the account's holder word.
    Spin,
    /// An OFD byte-range lock on byte `account` of this worker's own open
    /// file description of the ledger.
    Range(&'f File),
}

/// Busy-wait iterations before a spinning waiter starts yielding its CPU
/// (as `strategy::spin` does, for runs pinned to one core).
const SPINS_BEFORE_YIELD: u32 = 64;

/// What an [`AccountGuard`] releases.
enum Held<'a> {
    Mutex(MutexGuard<'a>),
    /// Released by storing 0 in the holder word.
    Spin,
    Range(&'a File),
}

/// Holds account `account`'s lock for worker `worker`, with its wait-for
/// words published; releases both, in order, when dropped.
pub(crate) struct AccountGuard<'a> {
    ledger: &'a Ledger,
    worker: u32,
    account: u32,
    inner: Option<Held<'a>>,
}

impl Drop for AccountGuard<'_> {
    fn drop(&mut self) {
        let slot = self.ledger.slot(self.worker);
        slot.holds.fetch_and(!(1u64 << self.account), Release);
        // For a spin lock this store is the unlock.
        self.ledger
            .account_lock(self.account)
            .holder
            .store(0, Release);
        match self.inner.take() {
            Some(Held::Range(file)) => {
                // Unlocking a byte we hold fails only with a bad descriptor,
                // and closing the file (the worker's end) releases it anyway.
                let _ = super::range::set_byte(file, self.account, false);
            }
            Some(Held::Mutex(guard)) => drop(guard),
            Some(Held::Spin) | None => {}
        }
        slot.progress.fetch_add(1, Release);
    }
}

/// Holds the bank's lock for a worker; `progress` is bumped once released.
pub(crate) struct BankGuard<'a> {
    ledger: &'a Ledger,
    worker: u32,
    inner: Option<MutexGuard<'a>>,
}

impl Drop for BankGuard<'_> {
    fn drop(&mut self) {
        drop(self.inner.take());
        self.ledger.slot(self.worker).progress.fetch_add(1, Release);
    }
}

/// Spins until `word` goes from 0 to `me` (test-and-test-and-set: the CAS
/// only when the word looks free, yielding the CPU after a short burst).
fn spin_on(word: &std::sync::atomic::AtomicU32, me: u32) {
    let mut spins = 0;
    while word.compare_exchange_weak(0, me, Acquire, Relaxed).is_err() {
        while word.load(Relaxed) != 0 {
            if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl Ledger {
    /// Says that `worker` is about to block on `what` (see [`WaitWords`]).
    fn announce_wait(&self, worker: u32, what: u64) {
        let slot = self.slot(worker);
        slot.wait_since_ns.store(super::now_ns(), Relaxed);
        slot.waits_for.store(what, Release);
    }

    /// Locks account `account` for worker `worker` with a lock of kind
    /// `how`, publishing the wait and then the hold in the order the module
    /// documents.
    pub(crate) fn lock_account<'a>(
        &'a self,
        how: PerAccount<'a>,
        worker: u32,
        account: u32,
    ) -> io::Result<AccountGuard<'a>> {
        self.announce_wait(worker, u64::from(account) + 1);
        let slot = self.slot(worker);
        let holder = &self.account_lock(account).holder;
        let taken = match how {
            PerAccount::Mutex => self.lock(MutexId::Account(account)).map(Held::Mutex),
            PerAccount::Spin => {
                spin_on(holder, worker + 1);
                Ok(Held::Spin)
            }
            PerAccount::Range(file) => {
                super::range::set_byte(file, account, true).map(|()| Held::Range(file))
            }
        };
        let inner = match taken {
            Ok(held) => held,
            Err(e) => {
                slot.waits_for.store(0, Release);
                return Err(e);
            }
        };
        holder.store(worker + 1, Release);
        slot.holds.fetch_or(1u64 << account, Release);
        slot.waits_for.store(0, Release);
        slot.progress.fetch_add(1, Release);
        Ok(AccountGuard {
            ledger: self,
            worker,
            account,
            inner: Some(inner),
        })
    }

    /// Locks the bank's one lock for worker `worker` (`--lock=global`).
    pub(crate) fn lock_bank(&self, worker: u32) -> io::Result<BankGuard<'_>> {
        self.announce_wait(worker, GLOBAL_WAIT);
        let inner = self.lock_mutex();
        let slot = self.slot(worker);
        slot.waits_for.store(0, Release);
        let inner = inner?;
        slot.progress.fetch_add(1, Release);
        Ok(BankGuard {
            ledger: self,
            worker,
            inner: Some(inner),
        })
    }

    /// The coordinator's copy of every worker's wait-for words and every
    /// account lock's holder (0 free, else 1 + a worker), read word by word
    /// while the workers run.
    pub(crate) fn wait_words(&self) -> (Vec<WaitWords>, Vec<u32>) {
        let holders = (0..self.job.accounts)
            .map(|a| self.account_lock(a).holder.load(Acquire))
            .collect();
        let workers = (0..self.job.workers)
            .map(|w| {
                let s = self.slot(w);
                WaitWords {
                    progress: s.progress.load(Acquire),
                    waits_for: s.waits_for.load(Acquire),
                    holds: s.holds.load(Acquire),
                    wait_since_ns: s.wait_since_ns.load(Relaxed),
                }
            })
            .collect();
        (workers, holders)
    }

    /// The `--collide` gate: worker `worker` has made the first access of its
    /// first transfer, and waits until each of the `transferers` has made
    /// its own or is blocked on a lock (a transferer whose first lock is
    /// held by another cannot make its first access until that one goes on).
    /// Bounded by `limit`.
    pub(crate) fn collide(&self, worker: u32, transferers: u32, limit: Duration) -> io::Result<()> {
        let count = &self.map.shared().barrier.0.collided;
        count.fetch_add(1, Release);
        let end = Instant::now() + limit;
        loop {
            let arrived = count.load(Acquire);
            let blocked = (0..transferers)
                .filter(|&w| w != worker && self.slot(w).waits_for.load(Acquire) != 0)
                .count() as u32;
            if arrived + blocked >= transferers {
                return Ok(());
            }
            if Instant::now() >= end {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the other transferers never made their first access",
                ));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}
