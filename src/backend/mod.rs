//! The seam between the worker's loop and where the accounts live: the [`Backend`] trait, the operations of every scenario on numbered accounts, and the coordinator's view of the same accounts.
//!
//! A worker process always maps its trial's ledger: the start barrier, its
//! slot, the trace and the fault gate live there whatever the backend. The
//! accounts themselves live in a backend. The memory backend keeps them in
//! the ledger too and applies operations with a strategy (`memory.rs`); a
//! database backend would keep them in a table and apply the same operations
//! as statements, each worker on its own connection.
//!
//! The worker's loop is generic over the backend and the strategies over the
//! hooks, so each combination is monomorphized: the seam costs nothing.
//!
//! Accounts are numbered from 0 in code and shown from `#1` to people. The
//! scenarios of one account use account 0; the operations on several
//! accounts (a transfer, an audit of every balance) are methods of their
//! own, so that each backend says how it makes them atomic.

mod memory;

pub(crate) use memory::Memory;

use std::io;

use crate::ledger::Ledger;
use crate::strategy::transfer::Transfer;
use crate::strategy::{Hooks, Withdrawal};

/// How one worker applies the operations of a scenario to the accounts.
pub(crate) trait Backend {
    /// Adds `delta` (negative for a withdrawal) to `account` as a
    /// read-modify-write: the lost-update scenario.
    fn update<H: Hooks>(&mut self, account: u32, delta: i64, hooks: &mut H) -> io::Result<()>;

    /// Pays `amount` out of `account` if its balance covers it, check then
    /// act: the overdraft scenario's withdrawal.
    fn withdraw<H: Hooks>(
        &mut self,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal>;

    /// Adds `amount` to `account` in one indivisible step: the overdraft
    /// scenario's deposit, which cannot break "never below zero".
    fn deposit<H: Hooks>(&mut self, account: u32, amount: i64, hooks: &mut H) -> io::Result<()>;

    /// Moves `t.amount` from `t.from` to `t.to` for worker `me`, locked as
    /// the trial's mode says; `gate` runs after its first access (see
    /// `--collide`). `false` when the source lacked the money.
    fn transfer<H: Hooks>(
        &mut self,
        me: u32,
        t: Transfer,
        gate: &mut dyn FnMut() -> io::Result<()>,
        hooks: &mut H,
    ) -> io::Result<bool>;

    /// Reads every balance for worker `me`, account 0 first.
    fn audit<H: Hooks>(&mut self, me: u32, hooks: &mut H) -> io::Result<Vec<i64>>;
}

/// Where a run's accounts live, as the coordinator sees them: made ready
/// before each trial, read once its workers are gone.
pub(crate) trait Accounts {
    /// Puts every account at its starting balance for the trial whose spec
    /// `ledger` now holds.
    fn prepare(&mut self, ledger: &Ledger) -> io::Result<()>;

    /// Every account's balance, once no worker runs.
    fn balances(&self, ledger: &Ledger) -> io::Result<Vec<i64>>;
}

/// The memory backend's accounts: the balances in the ledger itself, set by
/// the ledger when it is created or reset.
pub(crate) struct InLedger;

impl Accounts for InLedger {
    fn prepare(&mut self, _: &Ledger) -> io::Result<()> {
        Ok(())
    }

    fn balances(&self, ledger: &Ledger) -> io::Result<Vec<i64>> {
        Ok((0..ledger.job().accounts)
            .map(|a| ledger.account(a).load(std::sync::atomic::Ordering::Relaxed))
            .collect())
    }
}
