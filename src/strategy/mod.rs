//! How a worker applies one operation to the shared balance: the `Strategy` trait and the bodies every strategy shares.
//!
//! Each strategy lives in a file of its own. Those that lock implement the
//! small [`Lock`] trait and get their operations from [`Locked`], which runs
//! the very same read-window-write body as the unlocked mode, only inside the
//! lock: the one difference between the columns of the report is the lock.
//!
//! Strategies take a [`Ledger`], not a mapping, so their unit tests run on
//! threads over an anonymous ledger while the integration tests run the same
//! code in real processes.
//!
//! Every access a strategy makes to the balance goes through [`Hooks`]. The
//! plain worker uses the trait's default methods, which are exactly the
//! atomic loads, stores and read-modify-writes the race is made of; since the
//! strategies are generic over the hooks, those defaults are inlined and the
//! untraced run pays nothing for the indirection. The worker of a traced or
//! scheduled trial overrides them to record each access and to wait for its
//! turn (`worker/instrument.rs`).

mod atomic;
mod flock;
mod mutex;
mod none;
pub(crate) mod skew;
mod spin;
pub(crate) mod transfer;

pub use atomic::Atomic;
pub use flock::Flock;
pub use mutex::Mutex;
pub use none::NoLock;
pub use spin::Spin;

use std::io;
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::Relaxed;

use crate::ledger::Ledger;

/// What a withdrawal attempt in the overdraft scenario (or a debit of the
/// write skew) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// The balance covered the amount and it was paid out. `overdrew` says the
    /// payment took the balance below zero (only possible without atomicity).
    Paid { overdrew: bool },
    /// The balance did not cover the amount.
    Refused,
}

/// Called by a strategy for each access to the balance, for the race window
/// and around a lock. The defaults are the bare accesses and no-ops.
///
/// An implementation must make each access exactly as the default does (the
/// same atomic operation, the same value): it may add around an access
/// (record it, wait for its turn), never change it.
pub trait Hooks {
    /// The race window: after the read (or the check), before the write.
    /// A lock, if any, is held while this runs.
    fn window(&mut self);

    /// Reads (or checks) the balance: the first access of an operation.
    #[inline(always)]
    fn read(&mut self, balance: &AtomicI64) -> io::Result<i64> {
        Ok(balance.load(Relaxed))
    }

    /// Writes `value` back: the second access of a read-modify-write.
    #[inline(always)]
    fn write(&mut self, balance: &AtomicI64, value: i64) -> io::Result<()> {
        balance.store(value, Relaxed);
        Ok(())
    }

    /// Debits `amount` in one atomic step and returns the balance before.
    #[inline(always)]
    fn debit(&mut self, balance: &AtomicI64, amount: i64) -> io::Result<i64> {
        Ok(balance.fetch_sub(amount, Relaxed))
    }

    /// Adds `delta` in one atomic step and returns the balance before.
    #[inline(always)]
    fn add(&mut self, balance: &AtomicI64, delta: i64) -> io::Result<i64> {
        Ok(balance.fetch_add(delta, Relaxed))
    }

    /// Debits `amount` in one indivisible step if the balance covers it:
    /// `Ok(before)` when paid, `Err(seen)` when refused.
    #[inline(always)]
    fn debit_if_covered(
        &mut self,
        balance: &AtomicI64,
        amount: i64,
    ) -> io::Result<Result<i64, i64>> {
        Ok(compare_and_debit(balance, amount))
    }

    /// About to wait for a lock. May wait first (for a turn of a schedule).
    #[inline(always)]
    fn locking(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The lock is held.
    #[inline(always)]
    fn locked(&mut self) {}

    /// The lock was released.
    #[inline(always)]
    fn unlocked(&mut self) {}

    /// Transfer scenario: about to ask for account `account`'s lock.
    #[inline(always)]
    fn waiting_for(&mut self, _account: u32) {}

    /// Transfer scenario: account `account`'s lock is held.
    #[inline(always)]
    fn holding(&mut self, _account: u32) {}
}

/// The lock-free check-then-act: a `compare_exchange` loop that debits only
/// if nobody changed the balance since it was checked. `Ok(before)` when
/// paid, `Err(seen)` when the balance did not cover `amount`.
pub(crate) fn compare_and_debit(balance: &AtomicI64, amount: i64) -> Result<i64, i64> {
    let mut seen = balance.load(Relaxed);
    loop {
        if seen < amount {
            return Err(seen);
        }
        match balance.compare_exchange_weak(seen, seen - amount, Relaxed, Relaxed) {
            Ok(before) => return Ok(before),
            Err(now) => seen = now,
        }
    }
}

/// How a worker applies one operation to the shared balance.
pub trait Strategy {
    /// Adds `delta` (negative for a withdrawal) to `balance`, one of the
    /// ledger's accounts, as a read-modify-write.
    fn update<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        balance: &AtomicI64,
        delta: i64,
        hooks: &mut H,
    ) -> io::Result<()>;

    /// Pays out `amount` from `balance`, one of the ledger's accounts, if it
    /// covers it: check, then act.
    fn withdraw<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        balance: &AtomicI64,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal>;
}

/// A lock that works across processes. The guard releases it when dropped.
///
/// # Contract
///
/// While a guard returned by `acquire` lives, no other holder of the same
/// lock (in this process or another one that maps the same ledger) has a
/// guard: the guarded code runs alone, and what it wrote is visible to the
/// next holder once the guard is dropped.
pub(crate) trait Lock {
    type Guard<'a>
    where
        Self: 'a;

    fn acquire<'a>(&'a mut self, ledger: &'a Ledger) -> io::Result<Self::Guard<'a>>;
}

/// A [`Lock`] turned into a [`Strategy`]: the unlocked bodies, under the lock.
pub struct Locked<L>(pub L);

impl<L: Lock> Strategy for Locked<L> {
    #[inline(always)]
    fn update<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        balance: &AtomicI64,
        delta: i64,
        hooks: &mut H,
    ) -> io::Result<()> {
        hooks.locking()?;
        let guard = self.0.acquire(ledger)?;
        hooks.locked();
        let done = read_window_write(balance, delta, hooks);
        drop(guard);
        hooks.unlocked();
        done
    }

    #[inline(always)]
    fn withdraw<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        balance: &AtomicI64,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        hooks.locking()?;
        let guard = self.0.acquire(ledger)?;
        hooks.locked();
        let done = check_window_debit(balance, amount, hooks);
        drop(guard);
        hooks.unlocked();
        done
    }
}

/// The read-modify-write of the lost-update race: two separate atomic
/// accesses with the window between them. Each access is atomic, so there is
/// no data race and no undefined behaviour; the pair is not, so without a
/// lock another worker's write can land in between and be overwritten.
#[inline(always)]
fn read_window_write<H: Hooks>(balance: &AtomicI64, delta: i64, hooks: &mut H) -> io::Result<()> {
    let seen = hooks.read(balance)?;
    hooks.window();
    hooks.write(balance, seen.wrapping_add(delta))
}

/// The check-then-act of the overdraft race. The debit itself is an atomic
/// subtraction, so this race is isolated from the lost update: the books
/// always add up, and the only way to lose money is that two checks saw
/// funds only one withdrawal could have.
#[inline(always)]
fn check_window_debit<H: Hooks>(
    balance: &AtomicI64,
    amount: i64,
    hooks: &mut H,
) -> io::Result<Withdrawal> {
    if hooks.read(balance)? < amount {
        return Ok(Withdrawal::Refused);
    }
    hooks.window();
    let before = hooks.debit(balance, amount)?;
    Ok(Withdrawal::Paid {
        overdrew: before.wrapping_sub(amount) < 0,
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs a strategy on threads over one ledger, for the strategies' unit tests.

    use super::*;
    use crate::spec::Job;

    /// Sleeps through the window, so that unlocked operations really overlap.
    pub(crate) struct Sleep(pub std::time::Duration);

    impl Hooks for Sleep {
        fn window(&mut self) {
            if !self.0.is_zero() {
                std::thread::sleep(self.0);
            }
        }
    }

    /// Waits in the window until every thread has reached its window: all
    /// reads (or checks) happen before any write, by construction, whatever
    /// the scheduler does. Only for unlocked strategies, which can all be in
    /// their windows at once.
    pub(crate) struct Rendezvous<'a>(pub &'a std::sync::Barrier);

    impl Hooks for Rendezvous<'_> {
        fn window(&mut self) {
            self.0.wait();
        }
    }

    pub fn job(workers: u32, initial: i64) -> Job {
        Job::plain(workers, 0, initial)
    }

    /// `threads` threads each add `delta` `ops` times with `make()`'s strategy.
    /// Returns the final balance, starting from 0.
    pub(crate) fn hammer<S: Strategy>(
        make: impl Fn(&Ledger) -> S + Sync,
        threads: u32,
        ops: u32,
        window: std::time::Duration,
    ) -> i64 {
        hammer_with(make, threads, ops, || Sleep(window))
    }

    /// [`hammer`] with each thread's hooks made by `hooks`.
    pub(crate) fn hammer_with<S: Strategy, H: Hooks>(
        make: impl Fn(&Ledger) -> S + Sync,
        threads: u32,
        ops: u32,
        hooks: impl Fn() -> H + Sync,
    ) -> i64 {
        let ledger = Ledger::anonymous(&job(threads, 0)).unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (ledger, make, hooks) = (&ledger, &make, &hooks);
                s.spawn(move || {
                    let mut strategy = make(ledger);
                    let mut hooks = hooks();
                    ledger
                        .wait_at_barrier(t, std::time::Duration::from_secs(60))
                        .unwrap();
                    let delta = if t % 2 == 0 { 3 } else { -1 };
                    for _ in 0..ops {
                        strategy
                            .update(ledger, ledger.balance(), delta, &mut hooks)
                            .unwrap();
                    }
                });
            }
        });
        ledger.balance().load(Relaxed)
    }

    /// The balance an exact run of [`hammer`] ends at.
    pub(crate) fn hammer_expected(threads: u32, ops: u32) -> i64 {
        (0..threads)
            .map(|t| if t % 2 == 0 { 3 } else { -1 })
            .sum::<i64>()
            * i64::from(ops)
    }

    /// `threads` threads each try one withdrawal of 10,000 from 15,000.
    /// Returns (final balance, withdrawals paid).
    pub(crate) fn atm<S: Strategy>(
        make: impl Fn(&Ledger) -> S + Sync,
        threads: u32,
        window: std::time::Duration,
    ) -> (i64, u32) {
        atm_with(make, threads, || Sleep(window))
    }

    /// [`atm`] with each thread's hooks made by `hooks`.
    pub(crate) fn atm_with<S: Strategy, H: Hooks>(
        make: impl Fn(&Ledger) -> S + Sync,
        threads: u32,
        hooks: impl Fn() -> H + Sync,
    ) -> (i64, u32) {
        let ledger = Ledger::anonymous(&job(threads, 15_000)).unwrap();
        let paid = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (ledger, make, paid, hooks) = (&ledger, &make, &paid, &hooks);
                s.spawn(move || {
                    let mut strategy = make(ledger);
                    ledger
                        .wait_at_barrier(t, std::time::Duration::from_secs(60))
                        .unwrap();
                    let w = strategy
                        .withdraw(ledger, ledger.balance(), 10_000, &mut hooks())
                        .unwrap();
                    if matches!(w, Withdrawal::Paid { .. }) {
                        paid.fetch_add(1, Relaxed);
                    }
                });
            }
        });
        (ledger.balance().load(Relaxed), paid.load(Relaxed))
    }
}
