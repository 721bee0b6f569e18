//! No lock, but atomic instructions: `fetch_add` for updates, a `compare_exchange` loop for withdrawals.

use std::io;
use std::sync::atomic::Ordering::Relaxed;

use super::{Hooks, Strategy, Withdrawal};
use crate::ledger::Ledger;

/// Atomicity without a lock. The race window has no place here: there is
/// no moment between the read and the write for another worker to slip into.
pub struct Atomic;

impl Strategy for Atomic {
    fn update<H: Hooks>(&mut self, ledger: &Ledger, delta: i64, _: &mut H) -> io::Result<()> {
        ledger.balance().fetch_add(delta, Relaxed);
        Ok(())
    }

    fn withdraw<H: Hooks>(
        &mut self,
        ledger: &Ledger,
        amount: i64,
        _: &mut H,
    ) -> io::Result<Withdrawal> {
        let balance = ledger.balance();
        let mut seen = balance.load(Relaxed);
        loop {
            if seen < amount {
                return Ok(Withdrawal::Refused);
            }
            // Succeeds only if nobody changed the balance since we checked it.
            match balance.compare_exchange_weak(seen, seen - amount, Relaxed, Relaxed) {
                Ok(_) => return Ok(Withdrawal::Paid { overdrew: false }),
                Err(now) => seen = now,
            }
        }
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
