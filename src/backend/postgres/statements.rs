//! The SQL of every strategy, prepared once per connection; the start of a transaction at a mode's isolation level; one balance read; and how an attempt that did not go through ended (`Miss`).

use std::io;

use postgres::{Client, IsolationLevel, Statement, Transaction};

use crate::vocab::Mode;

const SELECT: &str = "SELECT balance FROM accounts WHERE id = $1";
const SELECT_FOR_UPDATE: &str = "SELECT balance FROM accounts WHERE id = $1 FOR UPDATE";
const SELECT_FOR_SHARE: &str = "SELECT balance FROM accounts WHERE id = $1 FOR SHARE";
const SET: &str = "UPDATE accounts SET balance = $2 WHERE id = $1";
const ADD: &str = "UPDATE accounts SET balance = balance + $2 WHERE id = $1 RETURNING balance";
const DEBIT_IF_COVERED: &str =
    "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2";
const CAS: &str = "UPDATE accounts SET balance = $2 WHERE id = $1 AND balance = $3";
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const SELECT_ALL: &str = "SELECT balance FROM accounts WHERE id < $1 ORDER BY id";
// The rows are locked as the sort hands them over: in account order.
const SELECT_ALL_FOR_UPDATE: &str =
    "SELECT balance FROM accounts WHERE id < $1 ORDER BY id FOR UPDATE";
const DEBIT_IF_SUM_COVERS: &str = "UPDATE accounts SET balance = balance - $2 \
     WHERE id = $1 AND (SELECT sum(balance) FROM accounts WHERE id < $3)::bigint >= $2";

/// Every statement a strategy may use, prepared on the worker's connection.
pub(super) struct Statements {
    pub select: Statement,
    pub select_for_update: Statement,
    pub select_for_share: Statement,
    pub set: Statement,
    pub add: Statement,
    pub debit_if_covered: Statement,
    pub cas: Statement,
    pub lock: Statement,
    pub select_all: Statement,
    pub select_all_for_update: Statement,
    pub debit_if_sum_covers: Statement,
}

impl Statements {
    pub fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            select: client.prepare(SELECT)?,
            select_for_update: client.prepare(SELECT_FOR_UPDATE)?,
            select_for_share: client.prepare(SELECT_FOR_SHARE)?,
            set: client.prepare(SET)?,
            add: client.prepare(ADD)?,
            debit_if_covered: client.prepare(DEBIT_IF_COVERED)?,
            cas: client.prepare(CAS)?,
            lock: client.prepare(LOCK)?,
            select_all: client.prepare(SELECT_ALL)?,
            select_all_for_update: client.prepare(SELECT_ALL_FOR_UPDATE)?,
            debit_if_sum_covers: client.prepare(DEBIT_IF_SUM_COVERS)?,
        })
    }
}

/// How one attempt ended when it did not go through.
pub(super) enum Miss {
    /// A compare-and-set changed no row: try again.
    Cas,
    Db(postgres::Error),
    /// Not the database's doing (the `--collide` gate gave up): not retried.
    Io(io::Error),
}

impl From<postgres::Error> for Miss {
    fn from(e: postgres::Error) -> Miss {
        Miss::Db(e)
    }
}

/// Starts a transaction at the mode's isolation level (READ COMMITTED unless
/// the mode is named after another).
pub(super) fn begin(client: &mut Client, mode: Mode) -> Result<Transaction<'_>, postgres::Error> {
    let level = match mode {
        Mode::RepeatableRead => IsolationLevel::RepeatableRead,
        Mode::Serializable => IsolationLevel::Serializable,
        _ => IsolationLevel::ReadCommitted,
    };
    client.build_transaction().isolation_level(level).start()
}

/// One balance, read with `s` (`SELECT`, or a locking form of it).
pub(super) fn read(
    tx: &mut impl postgres::GenericClient,
    s: &Statement,
    id: i32,
) -> Result<i64, Miss> {
    Ok(tx.query_one(s, &[&id])?.get(0))
}
