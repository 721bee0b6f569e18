//! No lock, but atomic instructions: `fetch_add` for updates, a `compare_exchange` loop for withdrawals.

use std::io;
use std::sync::atomic::AtomicI64;

use super::{Hooks, Strategy, Withdrawal};
use crate::ledger::Ledger;

/// Atomicity without a lock. The race window has no place here: there is
/// no moment between the read and the write for another worker to slip into.
pub struct Atomic;

impl Strategy for Atomic {
    #[inline(always)]
    fn update<H: Hooks>(
        &mut self,
        _: &Ledger,
        balance: &AtomicI64,
        delta: i64,
        hooks: &mut H,
    ) -> io::Result<()> {
        hooks.add(balance, delta)?;
        Ok(())
    }

    /// A `compare_exchange` loop ([`super::compare_and_debit`]): the debit
    /// succeeds only if nobody changed the balance since it was checked.
    #[inline(always)]
    fn withdraw<H: Hooks>(
        &mut self,
        _: &Ledger,
        balance: &AtomicI64,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        Ok(match hooks.debit_if_covered(balance, amount)? {
            Ok(_) => Withdrawal::Paid { overdrew: false },
            Err(_) => Withdrawal::Refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{atm, hammer, hammer_expected};
    use std::time::Duration;

    #[test]
    fn updates_are_exact_under_contention() {
        assert_eq!(
            hammer(|_| Atomic, 4, 20_000, Duration::ZERO),
            hammer_expected(4, 20_000)
        );
    }

    #[test]
    fn only_one_withdrawal_fits() {
        assert_eq!(atm(|_| Atomic, 4, Duration::from_millis(5)), (5_000, 1));
    }
}
