//! The unlocked mode: the bare read-modify-write and check-then-act, racing.

use std::io;

use super::{Hooks, Strategy, Withdrawal, check_window_debit, read_window_write};
use crate::ledger::Ledger;

/// No protection at all. This is the mode that loses money.
pub struct NoLock;

impl Strategy for NoLock {
    fn update<H: Hooks>(&mut self, ledger: &Ledger, delta: i64, hooks: &mut H) -> io::Result<()> {
        read_window_write(ledger, delta, hooks)
    }

    fn withdraw<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        check_window_debit(ledger, amount, hooks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{atm, hammer};
    use std::time::Duration;

    #[test]
    fn a_wide_window_makes_both_withdrawals_pass() {
        // Two threads released together each sleep 50ms between their check
        // and their debit; both checks happen long before either debit.
        let (balance, paid) = atm(|_| NoLock, 2, Duration::from_millis(50));
        assert_eq!((balance, paid), (-5_000, 2));
    }

    #[test]
    fn a_wide_window_loses_updates() {
        // Each thread sleeps 5ms between reading and writing; with four
        // threads released together, their first reads all see 0, so only the
        // last of their first writes survives: the exact result is impossible.
        let balance = hammer(|_| NoLock, 4, 1, Duration::from_millis(5));
        assert_ne!(balance, crate::strategy::testing::hammer_expected(4, 1));
    }
}
