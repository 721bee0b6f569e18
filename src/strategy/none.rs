//! The unlocked mode: the bare read-modify-write and check-then-act, racing.

use std::io;
use std::sync::atomic::AtomicI64;

use super::{Hooks, Strategy, Withdrawal, check_window_debit, read_window_write};
use crate::ledger::Ledger;

/// No protection at all. This is the mode that loses money.
pub struct NoLock;

impl Strategy for NoLock {
    #[inline(always)]
    fn update<H: Hooks>(
        &mut self,
        _: &Ledger,
        balance: &AtomicI64,
        delta: i64,
        hooks: &mut H,
    ) -> io::Result<()> {
        read_window_write(balance, delta, hooks)
    }

    #[inline(always)]
    fn withdraw<H: Hooks>(
        &mut self,
        _: &Ledger,
        balance: &AtomicI64,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        check_window_debit(balance, amount, hooks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{Rendezvous, atm_with, hammer_expected, hammer_with};
    use std::sync::Barrier;

    #[test]
    fn both_withdrawals_pass_when_both_check_before_either_debits() {
        // Each thread waits in its window until both have checked: both see
        // 15,000, both pay 10,000, by construction.
        let barrier = Barrier::new(2);
        let (balance, paid) = atm_with(|_| NoLock, 2, || Rendezvous(&barrier));
        assert_eq!((balance, paid), (-5_000, 2));
    }

    #[test]
    fn updates_are_lost_when_every_read_comes_before_every_write() {
        // Four threads each read 0, wait until all four have read, then write
        // their own delta over it: only the last write survives, so the
        // exact sum of the four deltas is impossible.
        let barrier = Barrier::new(4);
        let balance = hammer_with(|_| NoLock, 4, 1, || Rendezvous(&barrier));
        assert!([3, -1].contains(&balance), "{balance}");
        assert_ne!(balance, hammer_expected(4, 1));
    }
}
