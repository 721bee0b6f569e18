//! The robust, process-shared pthread mutex in the mapping: recovers when its holder dies.

use std::io;

use super::Lock;
use crate::ledger::{Ledger, MutexGuard};

/// Locks the ledger's robust mutex. When a holder died with the lock held,
/// the next locker gets `EOWNERDEAD`, marks the mutex consistent and carries on
/// (the ledger does this, and counts it, in [`Ledger::lock_mutex`]).
pub struct Mutex;

impl Lock for Mutex {
    type Guard<'a> = MutexGuard<'a>;

    #[inline(always)]
    fn acquire<'a>(&'a mut self, ledger: &'a Ledger) -> io::Result<MutexGuard<'a>> {
        ledger.lock_mutex()
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
        let got = hammer(|_| Locked(Mutex), 4, 20_000, Duration::ZERO);
        assert_eq!(got, hammer_expected(4, 20_000));
    }

    #[test]
    fn updates_are_exact_with_a_window() {
        let got = hammer(|_| Locked(Mutex), 3, 20, Duration::from_micros(200));
        assert_eq!(got, hammer_expected(3, 20));
    }

    #[test]
    fn only_one_withdrawal_fits() {
        let got = atm(|_| Locked(Mutex), 4, Duration::from_millis(5));
        assert_eq!(got, (5_000, 1));
    }
}
