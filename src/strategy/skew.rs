//! The write skew on the memory backend: each worker debits its own account if the sum of every account covers it, with the locks each mode takes (none, its own account's, every account's in account order, or the bank's).
//!
//! The debit is one atomic subtraction: nobody else ever writes a worker's
//! own account, so there is no lost update to see, only the check-then-act
//! across rows that snapshot isolation also gets wrong. What goes wrong
//! without the right lock is the check: two workers both see a sum that
//! covers one debit, and both debit.
//!
//! - `no-lock`: none;
//! - `own`: the worker's own account's mutex around the check and the
//!   debit. It is the row the worker writes, so this is what "lock what you
//!   update" gives; but the other account it read is under someone else's
//!   lock, and that someone debits it meanwhile: it still skews;
//! - `mutex`: every account's mutex, in account order (so no two workers
//!   wait for each other in a circle), before the check: never skews;
//! - `global`: the bank's one mutex: never skews.

use std::io;

use super::{Hooks, Withdrawal};
use crate::ledger::{Ledger, PerAccount};
use crate::vocab::Mode;

/// Worker `me` debits `amount` from `account` under `mode` if the sum of
/// every account, read first (with the window between two reads and before
/// the debit), covers it.
pub(crate) fn debit_if_sum_covers<H: Hooks>(
    ledger: &Ledger,
    mode: Mode,
    me: u32,
    account: u32,
    amount: i64,
    hooks: &mut H,
) -> io::Result<Withdrawal> {
    let accounts = ledger.job().accounts;
    let body = |hooks: &mut H| {
        let mut sum = 0i64;
        for a in 0..accounts {
            sum = sum.saturating_add(hooks.read(ledger.account(a))?);
        }
        if sum < amount {
            return Ok(Withdrawal::Refused);
        }
        // The window between the check and the act: every other worker's
        // check that falls in it sees the sum this debit is about to spend.
        hooks.window();
        hooks.debit(ledger.account(account), amount)?;
        // One account below zero is allowed: only the sum, checked by the
        // coordinator once the trial is over, is constrained.
        Ok(Withdrawal::Paid { overdrew: false })
    };
    match mode {
        Mode::NoLock => body(hooks),
        Mode::Own => {
            let _own = ledger.lock_account(PerAccount::Mutex, me, account)?;
            body(hooks)
        }
        Mode::Global => {
            let _bank = ledger.lock_bank(me)?;
            body(hooks)
        }
        // `mutex`, and any other mode a ledger names: every account, in
        // account order, released the last taken first.
        _ => {
            let mut held = Vec::with_capacity(accounts as usize);
            for a in 0..accounts {
                held.push(ledger.lock_account(PerAccount::Mutex, me, a)?);
            }
            let done = body(hooks);
            while let Some(g) = held.pop() {
                drop(g);
            }
            done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::Ordering::Relaxed;

    struct Sleepy(std::time::Duration);
    impl Hooks for Sleepy {
        fn window(&mut self) {
            std::thread::sleep(self.0);
        }
    }

    fn bank() -> Ledger {
        let job = crate::spec::Job {
            accounts: 2,
            workers: 2,
            scenario: crate::vocab::Scenario::WriteSkew,
            ..crate::spec::Job::plain(2, 1, 100)
        };
        Ledger::anonymous(&job).unwrap()
    }

    fn sum(ledger: &Ledger) -> i64 {
        (0..2).map(|a| ledger.account(a).load(Relaxed)).sum()
    }

    #[test]
    fn alone_the_first_debit_passes_and_the_second_is_refused() {
        for mode in Mode::WRITE_SKEW {
            let ledger = bank();
            let mut h = Sleepy(std::time::Duration::ZERO);
            let first = debit_if_sum_covers(&ledger, mode, 0, 0, 200, &mut h).unwrap();
            assert_eq!(first, Withdrawal::Paid { overdrew: false }, "{mode}");
            let second = debit_if_sum_covers(&ledger, mode, 1, 1, 200, &mut h).unwrap();
            assert_eq!(second, Withdrawal::Refused, "{mode}");
            assert_eq!(sum(&ledger), 0, "{mode}");
            let (words, holders) = ledger.wait_words();
            assert!(holders.iter().all(|&h| h == 0), "{mode}");
            assert!(words.iter().all(|w| w.holds == 0 && w.waits_for == 0));
        }
    }

    #[test]
    fn locks_on_every_account_keep_the_sum_at_or_above_zero_on_threads() {
        // Both threads leave the barrier together and hold the window 20ms:
        // whichever checks second waits for the first's locks, then sees 0.
        for mode in [Mode::Mutex, Mode::Global] {
            let ledger = bank();
            let start = Barrier::new(2);
            std::thread::scope(|s| {
                for me in 0..2u32 {
                    let (ledger, start) = (&ledger, &start);
                    s.spawn(move || {
                        let mut h = Sleepy(std::time::Duration::from_millis(20));
                        start.wait();
                        debit_if_sum_covers(ledger, mode, me, me, 200, &mut h).unwrap();
                    });
                }
            });
            assert_eq!(sum(&ledger), 0, "{mode}");
        }
    }
}
