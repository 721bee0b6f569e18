//! Transfers and audits on the database: a transfer is one transaction that debits the source (refused when short) and credits the destination; an audit reads every row in one transaction, row by row with the window between two reads.
//!
//! What each mode does to a transfer (every one at READ COMMITTED but the
//! two named after their isolation level):
//!
//! - `no-lock`, `repeatable-read`, `serializable`: `SELECT` the source,
//!   window, `UPDATE` it to the value read minus the amount, window,
//!   `UPDATE` the destination `SET balance = balance + amount`. Under READ
//!   COMMITTED a debit overwrites what another transfer did to the source in
//!   its window; the two others get 40001 instead, and retry;
//! - `row`: the source `SELECT ... FOR UPDATE`, the body, and the
//!   destination `FOR UPDATE` before its credit: the locks in the order the
//!   transfer names them, as `mutex-unordered` in memory. Two transfers in
//!   opposite directions deadlock; the server detects it (after its
//!   `deadlock_timeout`, 1 s by default), aborts one with 40P01, and that one
//!   is counted in `deadlock_aborts` and retried;
//! - `advisory`: `pg_advisory_xact_lock` of both accounts, the lower first,
//!   then the body: the order of `mutex` in memory, never a deadlock;
//! - `atomic`: `UPDATE ... SET balance = balance - $2 WHERE id = $1 AND
//!   balance >= $2` (no row: refused), window, the credit. The two row locks
//!   are taken in naming order, so it can deadlock too (40P01, retried);
//! - `cas`: the read, window, `UPDATE ... WHERE balance = <read>` (no row:
//!   a miss, rolled back and retried), window, the credit.
//!
//! The `--collide` gate is passed after the transfer's first access: its
//! read of the source (its lock under `row`, its debit under `atomic`); under
//! `advisory` before the locks, since a worker blocked on one in the server
//! is not seen by the gate, which would wait for it in vain.
//!
//! Audits read the rows one by one in a transaction at the mode's isolation
//! level: under READ COMMITTED each `SELECT` sees what was committed when it
//! ran, so a transfer that commits between two reads is half seen (a read
//! skew); under REPEATABLE READ and SERIALIZABLE all the reads see one
//! snapshot, and the total is always right. Auditors that lock (not
//! `--unlocked-audits`) read each row `FOR SHARE` under `row` (held to the
//! end: no transfer changes a row once read) and take every advisory lock
//! in account order under `advisory`; `atomic` and `cas` have no lock to take.

use std::io;

use postgres::Client;

use super::statements::{Miss, Statements, begin, read};
use crate::strategy::Hooks;
use crate::strategy::transfer::Transfer;
use crate::vocab::Mode;

/// One attempt at transfer `t` under `mode`; `Ok(false)` when the source
/// lacked the money.
pub(super) fn transfer<H: Hooks>(
    client: &mut Client,
    st: &Statements,
    mode: Mode,
    t: Transfer,
    gate: &mut dyn FnMut() -> io::Result<()>,
    hooks: &mut H,
) -> Result<bool, Miss> {
    let (src, dst, amount) = (t.from as i32, t.to as i32, t.amount);
    let mut tx = begin(client, mode)?;
    let pass = |gate: &mut dyn FnMut() -> io::Result<()>| gate().map_err(Miss::Io);
    if mode == Mode::Atomic {
        let debited = tx.execute(&st.debit_if_covered, &[&src, &amount])?;
        pass(gate)?;
        if debited == 0 {
            tx.commit()?;
            return Ok(false);
        }
        hooks.window();
        tx.query_one(&st.add, &[&dst, &amount])?;
        tx.commit()?;
        return Ok(true);
    }
    if mode == Mode::Advisory {
        pass(gate)?;
        for a in [src.min(dst), src.max(dst)] {
            tx.execute(&st.lock, &[&i64::from(a)])?;
        }
    }
    let select = if mode == Mode::Row {
        &st.select_for_update
    } else {
        &st.select
    };
    let seen = read(&mut tx, select, src)?;
    if mode != Mode::Advisory {
        pass(gate)?;
    }
    if seen < amount {
        tx.commit()?;
        return Ok(false);
    }
    hooks.window();
    if mode == Mode::Cas {
        // No row changed: the transaction rolls back as it is dropped.
        if tx.execute(&st.cas, &[&src, &(seen - amount), &seen])? == 0 {
            return Err(Miss::Cas);
        }
    } else {
        tx.execute(&st.set, &[&src, &(seen - amount)])?;
    }
    if mode == Mode::Row {
        read(&mut tx, &st.select_for_update, dst)?;
    }
    hooks.window();
    tx.query_one(&st.add, &[&dst, &amount])?;
    tx.commit()?;
    Ok(true)
}

/// One attempt at an audit of rows `0..accounts` under `mode`, with the
/// mode's locks when `locked`.
pub(super) fn audit<H: Hooks>(
    client: &mut Client,
    st: &Statements,
    mode: Mode,
    accounts: i32,
    locked: bool,
    hooks: &mut H,
) -> Result<Vec<i64>, Miss> {
    let mut tx = begin(client, mode)?;
    if locked && mode == Mode::Advisory {
        for a in 0..accounts {
            tx.execute(&st.lock, &[&i64::from(a)])?;
        }
    }
    let select = if locked && mode == Mode::Row {
        &st.select_for_share
    } else {
        &st.select
    };
    let mut seen = Vec::with_capacity(accounts.max(0) as usize);
    for a in 0..accounts {
        if a > 0 {
            hooks.window();
        }
        seen.push(read(&mut tx, select, a)?);
    }
    tx.commit()?;
    Ok(seen)
}
