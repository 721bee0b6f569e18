//! The seam between the worker's loop and where the accounts live: the [`Backend`] trait, the operations of every scenario on numbered accounts, and the coordinator's view of the same accounts.
//!
//! A worker process always maps its trial's ledger: the start barrier, its
//! slot, the trace and the fault gate live there whatever the backend. The
//! accounts themselves live in a backend. The memory backend keeps them in
//! the ledger too and applies operations with a strategy (`memory.rs`); the
//! PostgreSQL backend (`postgres/`, behind the cargo feature `postgres`)
//! keeps them in a table and applies the same operations as statements, each
//! worker on its own connection. `target.rs` says what `--db` names.
//!
//! The worker's loop is generic over the backend and the strategies over the
//! hooks, so each combination is monomorphized: the seam costs nothing.
//!
//! Accounts are numbered from 0 in code and shown from `#1` to people. The
//! scenarios of one account use account 0; the operations on several
//! accounts (a transfer, an audit of every balance) are methods of their
//! own, so that each backend says how it makes them atomic.

mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod target;

pub(crate) use memory::Memory;
pub(crate) use target::DbTarget;

use std::io;

use crate::ledger::Ledger;
use crate::strategy::transfer::Transfer;
use crate::strategy::{Hooks, Withdrawal};
use crate::vocab::Failure;

/// What a database's concurrency control cost one worker so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Costs {
    /// Transactions retried after a serialization failure (40001).
    pub retries: u64,
    /// Transactions the server aborted to break a deadlock (40P01), retried.
    pub deadlock_aborts: u64,
    /// Compare-and-set writes that changed no row, retried.
    pub cas_misses: u64,
}

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

    /// Debits `amount` from `account` for worker `me` if the sum of every
    /// account covers it, check then act across rows: the write-skew
    /// scenario. `Paid` says nothing about overdrawing here (one account
    /// below zero is allowed; only the sum is constrained).
    fn debit_if_sum_covers<H: Hooks>(
        &mut self,
        me: u32,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal>;
    /// The backend counts [`Costs`]: the worker stores them after each
    /// operation (the memory backend has none, and pays nothing).
    const COUNTS: bool = false;

    /// The costs so far.
    fn costs(&self) -> Costs {
        Costs::default()
    }

    /// Why the last failed operation failed, if the backend knows.
    fn failure(&self) -> Option<Failure> {
        None
    }
}

/// Where a run's accounts live, as the coordinator sees them: made ready
/// before each trial, read once its workers are gone.
pub(crate) trait Accounts {
    /// Puts every account at its starting balance for the trial whose spec
    /// `ledger` now holds.
    fn prepare(&mut self, ledger: &Ledger) -> io::Result<()>;

    /// Every account's balance, once no worker runs.
    fn balances(&mut self, ledger: &Ledger) -> io::Result<Vec<i64>>;

    /// What the workers need in their environment to reach the accounts.
    fn worker_env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The database server's version, for reports that say where they
    /// measured; `None` for the memory-mapped ledger.
    fn server_version(&mut self) -> io::Result<Option<String>> {
        Ok(None)
    }
}

/// The memory backend's accounts: the balances in the ledger itself, set by
/// the ledger when it is created or reset.
pub(crate) struct InLedger;

impl Accounts for InLedger {
    fn prepare(&mut self, _: &Ledger) -> io::Result<()> {
        Ok(())
    }

    fn balances(&mut self, ledger: &Ledger) -> io::Result<Vec<i64>> {
        Ok((0..ledger.job().accounts)
            .map(|a| ledger.account(a).load(std::sync::atomic::Ordering::Relaxed))
            .collect())
    }
}

/// How the hidden `db-server` step starts the embedded server: switch to
/// `uid`/`gid` if given, ask to die with `parent`, then execute `command`.
#[derive(Debug, Clone)]
pub struct ServerStart {
    pub parent: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The server binary and its arguments.
    pub command: Vec<std::ffi::OsString>,
}

/// `bankrace db-server`: becomes the embedded server (see
/// `postgres::become_server`). Returns only on failure.
pub fn db_server(args: &ServerStart) -> anyhow::Result<std::convert::Infallible> {
    #[cfg(feature = "postgres")]
    {
        let account = match (args.uid, args.gid) {
            (Some(uid), Some(gid)) => Some(postgres::Account { uid, gid }),
            _ => None,
        };
        postgres::become_server(args.parent, account, &args.command)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = args;
        anyhow::bail!("this bankrace was built without the `postgres` feature")
    }
}

/// `bankrace db-cleanup`: what dead runs left, removed; one line each.
pub fn db_cleanup(db: Option<&str>) -> anyhow::Result<Vec<String>> {
    let target = match db {
        Some(text) => Some(DbTarget::parse(text).map_err(anyhow::Error::msg)?),
        None => None,
    };
    #[cfg(feature = "postgres")]
    {
        postgres::cleanup(&std::env::temp_dir(), target.as_ref())
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = target;
        anyhow::bail!("this bankrace was built without the `postgres` feature")
    }
}
