//! A worker's side of the database: its own connection, the statements of each strategy prepared once, and the bounded retries that count serialization failures, deadlock aborts and compare-and-set misses.

use std::io;

use postgres::error::SqlState;
use postgres::{Client, Statement, Transaction};

use super::connect;
use super::statements::{Miss, Statements, begin, read};
use crate::backend::{Backend, Costs};
use crate::spec::Job;
use crate::strategy::transfer::Transfer;
use crate::strategy::{Hooks, Withdrawal};
use crate::vocab::{Failure, Mode};

/// One worker's connection, applying the operations of mode `mode`.
pub(crate) struct Postgres {
    client: Client,
    st: Statements,
    mode: Mode,
    max_retries: u32,
    /// The accounts of the trial: rows `0..accounts`.
    accounts: i32,
    /// Transfer scenario: auditors take the mode's locks (not
    /// `--unlocked-audits`).
    audits_locked: bool,
    costs: Costs,
    failure: Option<Failure>,
}

impl Postgres {
    /// Connects to `conninfo`, confines the session to `schema`, prepares
    /// the statements, to run the operations of `job`.
    pub fn connect(conninfo: &str, schema: &str, job: &Job) -> Result<Postgres, String> {
        let config = connect::parse(conninfo)?;
        let mut client = connect::connect(&config, conninfo)?;
        let ready = client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .and_then(|()| Statements::prepare(&mut client));
        let st =
            ready.map_err(|e| format!("cannot use schema {schema}: {}", connect::message(&e)))?;
        Ok(Postgres {
            client,
            st,
            mode: job.mode,
            max_retries: job.max_retries,
            accounts: job.accounts as i32,
            audits_locked: !job.audits_unlocked,
            costs: Costs::default(),
            failure: None,
        })
    }

    /// Runs `attempt` until it goes through, at most `max_retries + 1`
    /// times: a serialization failure counts in `retries`, a deadlock abort
    /// in `deadlock_aborts`, a compare-and-set miss in `cas_misses`.
    fn retried<T>(
        &mut self,
        mut attempt: impl FnMut(&mut Client, &Statements) -> Result<T, Miss>,
    ) -> io::Result<T> {
        for _ in 0..=self.max_retries {
            let e = match attempt(&mut self.client, &self.st) {
                Ok(v) => return Ok(v),
                Err(Miss::Cas) => {
                    self.costs.cas_misses += 1;
                    continue;
                }
                Err(Miss::Db(e)) => e,
                Err(Miss::Io(e)) => return Err(e),
            };
            match e.code() {
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE => self.costs.retries += 1,
                Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED => {
                    self.costs.deadlock_aborts += 1;
                }
                _ => return Err(self.failed(&e)),
            }
        }
        self.failure = Some(Failure::RetriesExhausted);
        Err(io::Error::other(format!(
            "an operation did not go through in {} attempts (--max-retries {})",
            u64::from(self.max_retries) + 1,
            self.max_retries
        )))
    }

    /// Records why a statement failed, and says it in one line.
    fn failed(&mut self, e: &postgres::Error) -> io::Error {
        // A server shutting down, or a backend ended by pg_terminate_backend,
        // reaches the client either as a closed connection or, first, as
        // the error that says why (57P01 and its kin): both lose the
        // connection, whichever the client happened to read.
        let ended = [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ];
        let failure = match e.code() {
            None => Failure::ConnectionLost,
            Some(c) if ended.contains(c) || e.is_closed() => Failure::ConnectionLost,
            Some(_) => Failure::Database,
        };
        self.failure = Some(failure);
        io::Error::other(format!("{}: {}", failure.describe(), connect::message(e)))
    }
}

/// The first half of a transactional mode's operation: the transaction at
/// the mode's isolation level, the advisory lock (`advisory`), and the
/// balance, read `FOR UPDATE` under `row`.
fn begin_and_read<'c>(
    client: &'c mut Client,
    st: &Statements,
    mode: Mode,
    id: i32,
) -> Result<(Transaction<'c>, i64), Miss> {
    let mut tx = begin(client, mode)?;
    if mode == Mode::Advisory {
        tx.execute(&st.lock, &[&i64::from(id)])?;
    }
    let select = if mode == Mode::Row {
        &st.select_for_update
    } else {
        &st.select
    };
    let seen = read(&mut tx, select, id)?;
    Ok((tx, seen))
}

/// Every balance of rows `0..accounts`, in account order, with `s`
/// (`SELECT_ALL`, or its `FOR UPDATE` form).
fn read_all(
    tx: &mut impl postgres::GenericClient,
    s: &Statement,
    accounts: i32,
) -> Result<Vec<i64>, Miss> {
    Ok(tx
        .query(s, &[&accounts])?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

fn sum(balances: &[i64]) -> i64 {
    balances.iter().fold(0i64, |t, b| t.saturating_add(*b))
}

/// The account's row id.
fn id(account: u32) -> i32 {
    account as i32
}

impl Backend for Postgres {
    const COUNTS: bool = true;

    fn update<H: Hooks>(&mut self, account: u32, delta: i64, hooks: &mut H) -> io::Result<()> {
        let (mode, id) = (self.mode, id(account));
        self.retried(|client, st| match mode {
            Mode::Atomic => {
                client.query_one(&st.add, &[&id, &delta])?;
                Ok(())
            }
            Mode::NoLock | Mode::Cas => {
                let seen = read(client, &st.select, id)?;
                hooks.window();
                if mode == Mode::NoLock {
                    client.execute(&st.set, &[&id, &(seen + delta)])?;
                } else if client.execute(&st.cas, &[&id, &(seen + delta), &seen])? == 0 {
                    return Err(Miss::Cas);
                }
                Ok(())
            }
            _ => {
                let (mut tx, seen) = begin_and_read(client, st, mode, id)?;
                hooks.window();
                tx.execute(&st.set, &[&id, &(seen + delta)])?;
                tx.commit()?;
                Ok(())
            }
        })
    }

    fn withdraw<H: Hooks>(
        &mut self,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        let (mode, id) = (self.mode, id(account));
        let paid = |overdrew| Withdrawal::Paid { overdrew };
        self.retried(|client, st| match mode {
            Mode::Atomic => Ok(
                match client.execute(&st.debit_if_covered, &[&id, &amount])? {
                    0 => Withdrawal::Refused,
                    _ => paid(false),
                },
            ),
            Mode::NoLock | Mode::Cas => {
                let seen = read(client, &st.select, id)?;
                if seen < amount {
                    return Ok(Withdrawal::Refused);
                }
                hooks.window();
                if mode == Mode::NoLock {
                    // Relative, as the memory backend's debit: two approved
                    // withdrawals both take their amount.
                    let after: i64 = client.query_one(&st.add, &[&id, &-amount])?.get(0);
                    Ok(paid(after < 0))
                } else if client.execute(&st.cas, &[&id, &(seen - amount), &seen])? == 0 {
                    Err(Miss::Cas)
                } else {
                    Ok(paid(seen - amount < 0))
                }
            }
            _ => {
                let (mut tx, seen) = begin_and_read(client, st, mode, id)?;
                if seen < amount {
                    tx.commit()?;
                    return Ok(Withdrawal::Refused);
                }
                hooks.window();
                let after: i64 = tx.query_one(&st.add, &[&id, &-amount])?.get(0);
                tx.commit()?;
                Ok(paid(after < 0))
            }
        })
    }

    fn deposit<H: Hooks>(&mut self, account: u32, amount: i64, _: &mut H) -> io::Result<()> {
        // Deposits cannot break "never below zero": one statement, whatever
        // the strategy.
        let id = id(account);
        self.retried(|client, st| {
            client.query_one(&st.add, &[&id, &amount])?;
            Ok(())
        })
    }

    /// The write skew's debit as the mode says (`Mode::skew_statements`):
    /// every balance read (in a transaction, but `cas`), the window, then
    /// the debit of the worker's own row.
    fn debit_if_sum_covers<H: Hooks>(
        &mut self,
        _: u32,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        let (mode, id, accounts) = (self.mode, id(account), self.accounts);
        let paid = Withdrawal::Paid { overdrew: false };
        self.retried(|client, st| match mode {
            Mode::Atomic => Ok(
                match client.execute(&st.debit_if_sum_covers, &[&id, &amount, &accounts])? {
                    0 => Withdrawal::Refused,
                    _ => paid,
                },
            ),
            Mode::Cas => {
                let seen = read_all(client, &st.select_all, accounts)?;
                // `prepare` made every row; a missing one has nothing to debit.
                let Some(&own) = seen.get(account as usize) else {
                    return Ok(Withdrawal::Refused);
                };
                if sum(&seen) < amount {
                    return Ok(Withdrawal::Refused);
                }
                hooks.window();
                // Guards the row it writes only: the other row's debit
                // meanwhile goes unseen, as under REPEATABLE READ.
                if client.execute(&st.cas, &[&id, &(own - amount), &own])? == 0 {
                    return Err(Miss::Cas);
                }
                Ok(paid)
            }
            _ => {
                let mut tx = begin(client, mode)?;
                if mode == Mode::Advisory {
                    // Every account's key, in account order.
                    for a in 0..accounts {
                        tx.execute(&st.lock, &[&i64::from(a)])?;
                    }
                }
                let select = if mode == Mode::Row {
                    &st.select_all_for_update
                } else {
                    &st.select_all
                };
                let seen = read_all(&mut tx, select, accounts)?;
                if sum(&seen) < amount {
                    tx.commit()?;
                    return Ok(Withdrawal::Refused);
                }
                hooks.window();
                tx.query_one(&st.add, &[&id, &-amount])?;
                tx.commit()?;
                Ok(paid)
            }
        })
    }

    fn costs(&self) -> Costs {
        self.costs
    }

    fn failure(&self) -> Option<Failure> {
        self.failure
    }

    /// A transfer as one transaction (see `transfer.rs`), retried after a
    /// deadlock abort, a serialization failure or a compare-and-set miss.
    fn transfer<H: Hooks>(
        &mut self,
        _: u32,
        t: Transfer,
        gate: &mut dyn FnMut() -> io::Result<()>,
        hooks: &mut H,
    ) -> io::Result<bool> {
        let mode = self.mode;
        self.retried(|client, st| super::transfer::transfer(client, st, mode, t, gate, hooks))
    }

    /// Every balance, row by row with the window between two reads, in one
    /// transaction at the mode's isolation level (see `transfer.rs`).
    fn audit<H: Hooks>(&mut self, _: u32, hooks: &mut H) -> io::Result<Vec<i64>> {
        let (mode, accounts, locked) = (self.mode, self.accounts, self.audits_locked);
        self.retried(|client, st| super::transfer::audit(client, st, mode, accounts, locked, hooks))
    }
}
