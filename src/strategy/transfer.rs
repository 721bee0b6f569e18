//! Transfers and audits on several accounts: each transfer's seeded choices, the locks each mode takes and in which order, and the bodies (read, window, debit, window, credit; or read every balance).
//!
//! The order of the locks is the mode:
//!
//! - `no-lock`: none;
//! - `mutex-unordered`: a transfer locks each account when it first needs
//!   it, so the source before it reads it and the destination before it
//!   credits it. Two transfers between the same accounts in opposite
//!   directions each hold one lock and wait for the other's: a deadlock;
//! - `mutex`: both accounts' locks before anything else, the lower account
//!   first. Everyone climbs the same order, so nobody waits for a lock held
//!   by someone who waits for a lock below it: never a deadlock;
//! - `spin` and `range`: the same order with other locks per account: a
//!   compare-and-swap spin lock on the account's holder word, or an OFD
//!   byte-range lock on the account's byte of the ledger file (see
//!   `ledger/waits.rs` and `ledger/range.rs`);
//! - `global`: the bank's one lock around the whole transfer.
//!
//! Auditors that lock (every mode but `no-lock`, unless the audits are
//! unlocked) take every account's lock in account order (or the bank's
//! lock) before reading, so they never close a cycle with ordered transfers.
//!
//! The debit is the read-window-write of the lost update; the credit is one
//! atomic addition, so money vanishes or appears only through a debit whose
//! window another transfer's debit or credit fell into.

use std::fs::File;
use std::io;

use super::Hooks;
use crate::ledger::{Ledger, PerAccount};
use crate::vocab::Mode;

/// One transfer: `amount` from account `from` to account `to` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub from: u32,
    pub to: u32,
    pub amount: i64,
}

/// The splitmix64 finaliser: a bijective, well-mixing hash of a `u64`.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `r` mapped onto `0..n` by a widening multiply.
fn below(r: u64, n: u64) -> u64 {
    ((u128::from(r) * u128::from(n)) >> 64) as u64
}

/// Operation `op` of the transferer with `seed`: a source, a different
/// destination and an amount in `1..=max_amount`. A pure function of its
/// arguments (not of an RNG's stream), so that a seed replays the same
/// transfers whatever the `rand` version.
pub(crate) fn choose(seed: u64, op: u64, accounts: u32, max_amount: i64) -> Transfer {
    assert!(accounts >= 2 && max_amount >= 1, "the plan ensures both");
    let base = splitmix64(seed ^ splitmix64(op));
    let n = u64::from(accounts);
    let from = below(splitmix64(base), n);
    let to = (from + 1 + below(splitmix64(base ^ 1), n - 1)) % n;
    Transfer {
        from: from as u32,
        to: to as u32,
        amount: 1 + below(splitmix64(base ^ 2), max_amount as u64) as i64,
    }
}

/// `--collide`: transferer `k`'s (from 0) first transfer goes round the
/// accounts, from `#k+1` to the next one: with as many transferers as
/// accounts (or more) every lock is wanted by two of them, in a ring.
pub(crate) fn collision(k: u32, accounts: u32, amount: i64) -> Transfer {
    Transfer {
        from: k % accounts,
        to: (k + 1) % accounts,
        amount,
    }
}

/// The lock each account takes under `mode`, given `own`, this worker's own
/// open of the ledger file (which the `range` mode locks bytes of). Modes
/// without per-account locks get the mutexes, which they never take.
pub(crate) fn per_account(mode: Mode, own: Option<&File>) -> io::Result<PerAccount<'_>> {
    Ok(match (mode, own) {
        (Mode::Spin, _) => PerAccount::Spin,
        (Mode::Range, Some(file)) => PerAccount::Range(file),
        (Mode::Range, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "byte-range locks need the worker's own open of the ledger file",
            ));
        }
        _ => PerAccount::Mutex,
    })
}

/// Runs one transfer for worker `me` under `mode`, with the per-account
/// locks `how`. `gate` is called after the transfer's first access (its
/// first lock, or without locks its read of the source). Returns whether
/// the money moved (`false`: the source lacked it, and the transfer was
/// refused).
pub(crate) fn transfer<H: Hooks>(
    ledger: &Ledger,
    mode: Mode,
    how: PerAccount<'_>,
    me: u32,
    t: Transfer,
    gate: &mut dyn FnMut() -> io::Result<()>,
    hooks: &mut H,
) -> io::Result<bool> {
    let (src, dst) = (ledger.account(t.from), ledger.account(t.to));
    // The body once the locks it needs first are held: read, window, debit;
    // then `before_credit` (where mutex-unordered takes its second lock),
    // window, credit.
    let body = |before_credit: &mut dyn FnMut(&mut H) -> io::Result<()>, hooks: &mut H| {
        let seen = hooks.read(src)?;
        if seen < t.amount {
            return Ok(false);
        }
        hooks.window();
        hooks.write(src, seen - t.amount)?;
        before_credit(hooks)?;
        hooks.window();
        hooks.add(dst, t.amount)?;
        Ok(true)
    };
    match mode {
        Mode::MutexUnordered => {
            let first = take(ledger, how, me, t.from, hooks)?;
            gate()?;
            let mut second = None;
            let done = body(
                &mut |hooks| {
                    second = Some(take(ledger, how, me, t.to, hooks)?);
                    Ok(())
                },
                hooks,
            );
            drop(second);
            drop(first);
            done
        }
        Mode::Global => {
            let bank = ledger.lock_bank(me)?;
            gate()?;
            let done = body(&mut |_| Ok(()), hooks);
            drop(bank);
            done
        }
        Mode::NoLock => {
            let seen = hooks.read(src)?;
            gate()?;
            if seen < t.amount {
                return Ok(false);
            }
            hooks.window();
            hooks.write(src, seen - t.amount)?;
            hooks.window();
            hooks.add(dst, t.amount)?;
            Ok(true)
        }
        // `mutex`, `spin`, `range`: both accounts' locks in account order,
        // so that no two transfers can wait for each other in a circle. The
        // plan gives the transfer scenario no other mode; any other a ledger
        // names gets this safe order too.
        _ => {
            let (low, high) = (t.from.min(t.to), t.from.max(t.to));
            let first = take(ledger, how, me, low, hooks)?;
            gate()?;
            let second = take(ledger, how, me, high, hooks)?;
            let done = body(&mut |_| Ok(()), hooks);
            drop(second);
            drop(first);
            done
        }
    }
}

/// Account `account`'s lock for worker `me`, the hooks told before it
/// asks and once it holds it (what `--trace` records of a transfer's locks).
fn take<'a, H: Hooks>(
    ledger: &'a Ledger,
    how: PerAccount<'a>,
    me: u32,
    account: u32,
    hooks: &mut H,
) -> io::Result<crate::ledger::AccountGuard<'a>> {
    hooks.waiting_for(account);
    let guard = ledger.lock_account(how, me, account)?;
    hooks.holding(account);
    Ok(guard)
}

/// One audit by worker `me`: every balance, account 0 first, with the
/// window between two reads; under every account's lock `how` (in account
/// order) or the bank's, when `locked`.
pub(crate) fn audit<H: Hooks>(
    ledger: &Ledger,
    mode: Mode,
    how: PerAccount<'_>,
    me: u32,
    locked: bool,
    hooks: &mut H,
) -> io::Result<Vec<i64>> {
    let accounts = ledger.job().accounts;
    let read_all = |hooks: &mut H| {
        let mut seen = Vec::with_capacity(accounts as usize);
        for a in 0..accounts {
            if a > 0 {
                hooks.window();
            }
            seen.push(hooks.read(ledger.account(a))?);
        }
        Ok(seen)
    };
    if !locked || mode == Mode::NoLock {
        return read_all(hooks);
    }
    if mode == Mode::Global {
        let _bank = ledger.lock_bank(me)?;
        return read_all(hooks);
    }
    let mut held = Vec::with_capacity(accounts as usize);
    for a in 0..accounts {
        held.push(ledger.lock_account(how, me, a)?);
    }
    let seen = read_all(hooks);
    // Released in reverse order, the last taken first.
    while let Some(g) = held.pop() {
        drop(g);
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_pure_in_range_and_cover_every_pair() {
        assert_eq!(choose(7, 3, 4, 5), choose(7, 3, 4, 5));
        let mut pairs = std::collections::BTreeSet::new();
        let mut amounts = std::collections::BTreeSet::new();
        for op in 0..2000 {
            let t = choose(42, op, 4, 5);
            assert!(t.from < 4 && t.to < 4 && t.from != t.to);
            pairs.insert((t.from, t.to));
            amounts.insert(t.amount);
        }
        assert_eq!(pairs.len(), 12, "4 x 3 ordered pairs");
        assert_eq!(amounts, (1..=5).collect());
    }

    #[test]
    fn collisions_go_round_the_accounts() {
        let ring: Vec<(u32, u32)> = (0..3)
            .map(|k| collision(k, 2, 1))
            .map(|t| (t.from, t.to))
            .collect();
        assert_eq!(ring, [(0, 1), (1, 0), (0, 1)]);
    }

    struct Plain;
    impl Hooks for Plain {
        fn window(&mut self) {}
    }

    /// A sealed memfd ledger, as a trial's, and a function that opens it
    /// again as a thread's own open file description (as each worker does).
    fn filed_bank(accounts: u32) -> (std::fs::File, Ledger) {
        let job = crate::spec::Job {
            accounts,
            scenario: crate::vocab::Scenario::Transfer,
            ..crate::spec::Job::plain(4, 5, 100)
        };
        let file = Ledger::unnamed_file().unwrap();
        let spec = crate::spec::TrialSpec {
            trial: 1,
            job,
            workers: vec![
                crate::spec::WorkerSpec {
                    role: crate::vocab::Role::Transferer,
                    seed: 0,
                    kill_at: None,
                };
                4
            ],
            steps: Vec::new(),
        };
        let ledger = Ledger::create(&file, &spec).unwrap();
        (file, ledger)
    }

    fn own_open(file: &std::fs::File) -> std::fs::File {
        use std::os::fd::AsRawFd;
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap()
    }

    #[test]
    fn every_mode_moves_the_money_alone_and_refuses_an_overdraft() {
        for mode in Mode::TRANSFER {
            let (file, ledger) = filed_bank(3);
            let own = own_open(&file);
            let how = per_account(mode, Some(&own)).unwrap();
            let t = Transfer {
                from: 2,
                to: 0,
                amount: 30,
            };
            let moved = transfer(&ledger, mode, how, 0, t, &mut || Ok(()), &mut Plain).unwrap();
            assert!(moved);
            let big = Transfer { amount: 500, ..t };
            let refused = transfer(&ledger, mode, how, 1, big, &mut || Ok(()), &mut Plain).unwrap();
            assert!(!refused);
            let seen = audit(&ledger, mode, how, 2, true, &mut Plain).unwrap();
            assert_eq!(seen, [130, 100, 70], "{mode}");
            // Every lock was given back, and the words say so.
            let (words, holders) = ledger.wait_words();
            assert!(holders.iter().all(|&h| h == 0), "{mode}");
            assert!(words.iter().all(|w| w.holds == 0 && w.waits_for == 0));
        }
    }

    #[test]
    fn byte_range_locks_need_the_workers_own_file() {
        let err = per_account(Mode::Range, None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(matches!(
            per_account(Mode::Spin, None),
            Ok(PerAccount::Spin)
        ));
    }

    /// Sleeps through the window, so that unlocked bodies would overlap.
    struct Sleep;
    impl Hooks for Sleep {
        fn window(&mut self) {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }

    #[test]
    fn ordered_transfers_in_opposite_directions_on_threads_stay_exact() {
        // Opposite transfers at once, each thread with its own open of the
        // ledger file: the ordered locks of every kind never deadlock and
        // conserve the money, with a window that an unlocked debit would
        // be overwritten in. (A deadlock here would hang: the test harness's
        // timeout reports it.)
        for mode in [Mode::Mutex, Mode::Spin, Mode::Range] {
            let (file, ledger) = filed_bank(2);
            std::thread::scope(|s| {
                for me in 0..4u32 {
                    let (ledger, file) = (&ledger, &file);
                    s.spawn(move || {
                        let own = own_open(file);
                        let how = per_account(mode, Some(&own)).unwrap();
                        for _ in 0..200 {
                            let t = Transfer {
                                from: me % 2,
                                to: 1 - me % 2,
                                amount: 1,
                            };
                            transfer(ledger, mode, how, me, t, &mut || Ok(()), &mut Sleep).unwrap();
                        }
                    });
                }
            });
            let total: i64 = (0..2)
                .map(|a| ledger.account(a).load(std::sync::atomic::Ordering::Relaxed))
                .sum();
            assert_eq!(total, 200, "{mode}");
        }
    }
}
