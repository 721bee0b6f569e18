//! The textbook compare-and-swap spin lock in the mapping: simple, fast when uncontended, and fragile.
//!
//! Two lessons live here. A holder that dies leaves the word at 1 forever:
//! nobody can tell a dead holder from a slow one, so the other workers spin
//! until the coordinator's timeout ends the trial. And a waiter burns its CPU
//! while it spins; when workers outnumber cores, it may spin while the holder
//! is not even running. After a short burst of spinning, waiters therefore
//! yield the CPU, which keeps a run pinned to one core from crawling.

use std::hint;
use std::io;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::Lock;
use crate::ledger::Ledger;

/// Spins on the ledger's lock word (0 = free, 1 = held).
pub struct Spin;

/// Busy-wait iterations before a waiter starts yielding its CPU.
const SPINS_BEFORE_YIELD: u32 = 64;

/// Holds the spin lock; stores 0 with `Release` when dropped. It keeps the
/// word itself, not the ledger, so that releasing is one store with nothing
/// to look up first: the lock is held no longer than the operation.
pub(crate) struct SpinGuard<'a>(&'a AtomicU32);

impl Drop for SpinGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.store(0, Release);
    }
}

impl Lock for Spin {
    type Guard<'a> = SpinGuard<'a>;

    #[inline(always)]
    fn acquire<'a>(&'a mut self, ledger: &'a Ledger) -> io::Result<SpinGuard<'a>> {
        let word = ledger.spin_word();
        let mut spins = 0;
        // Test-and-test-and-set: only try the CAS when the word looks free,
        // so waiters read a shared cache line instead of fighting over it.
        while word.compare_exchange_weak(0, 1, Acquire, Relaxed).is_err() {
            while word.load(Relaxed) != 0 {
                if spins < SPINS_BEFORE_YIELD {
                    spins += 1;
                    hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        Ok(SpinGuard(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Locked;
    use crate::strategy::testing::{atm, hammer, hammer_expected};
    use std::time::Duration;

    #[test]
    fn updates_are_exact_under_contention() {
        let got = hammer(|_| Locked(Spin), 4, 20_000, Duration::ZERO);
        assert_eq!(got, hammer_expected(4, 20_000));
    }

    #[test]
    fn updates_are_exact_with_a_window() {
        let got = hammer(|_| Locked(Spin), 3, 20, Duration::from_micros(200));
        assert_eq!(got, hammer_expected(3, 20));
    }

    #[test]
    fn only_one_withdrawal_fits() {
        assert_eq!(
            atm(|_| Locked(Spin), 4, Duration::from_millis(5)),
            (5_000, 1)
        );
    }
}
