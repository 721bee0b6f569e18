//! The vocabulary: scenarios, modes, trial statuses, access kinds and worker names, each with its names, wire code and command-line values, defined once.
//!
//! Every other file uses these types. A name that users or programs read
//! (`lost-update`, `no-lock`, `mutex`, `ok`, `read`, `D1`) is written here and
//! nowhere else, and so is the number a type is stored as in the ledger.
//! `backend.rs` holds the words of the database backend: which backend holds
//! the accounts, and why a worker on it gave up; `verdict.rs` the words of
//! the anomaly table (`bankrace matrix`).

use std::fmt;

use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde::{Serialize, Serializer};

/// Which race a run demonstrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Read-modify-write: deposits and withdrawals overwrite each other.
    LostUpdate,
    /// Check-then-act: two withdrawals both see enough money.
    Overdraft,
    /// Transfers between several accounts: lost money, deadlocks, audits.
    Transfer,
    /// Each worker debits its own account if the sum of all of them covers
    /// it: the on-call doctors' constraint, broken by write skew.
    WriteSkew,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::LostUpdate,
        Scenario::Overdraft,
        Scenario::Transfer,
        Scenario::WriteSkew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::LostUpdate => "lost-update",
            Scenario::Overdraft => "overdraft",
            Scenario::Transfer => "transfer",
            Scenario::WriteSkew => "write-skew",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Scenario::LostUpdate => {
                "Deposits and withdrawals overwrite each other (read-modify-write)"
            }
            Scenario::Overdraft => "Two ATMs both see enough money (check-then-act)",
            Scenario::Transfer => {
                "Transfers between accounts: money vanishes, locks deadlock, audits see wrong totals"
            }
            Scenario::WriteSkew => {
                "Each debits its own account if the sum covers it: the sum goes below zero (write skew)"
            }
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The scenario keeps several accounts (one per transfer's end, or one
    /// per worker of the write skew), and its balance is their sum.
    pub(crate) fn several_accounts(self) -> bool {
        matches!(self, Scenario::Transfer | Scenario::WriteSkew)
    }

    pub(crate) fn from_code(code: u32) -> Option<Scenario> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl ValueEnum for Scenario {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.help()))
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How the workers of one column of the comparison apply their operations:
/// with no protection, or with one named strategy. In memory, three
/// strategies take a lock (`mutex`, `flock`, `spin`); in a database, `row`
/// and `advisory` do, `cas` retries an optimistic write, and
/// `repeatable-read` and `serializable` leave it to the isolation level.
/// `atomic` (both backends) makes each update one indivisible step instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    NoLock,
    /// Robust, process-shared pthread mutex in the mapping.
    Mutex,
    /// `flock(2)` on the ledger file, through each worker's own open file.
    Flock,
    /// Compare-and-swap spin lock in the mapping.
    Spin,
    /// Atomic read-modify-write instructions, or one SQL statement: no lock.
    Atomic,
    /// Transfer scenario: one robust mutex per account, taken in the order
    /// the transfer names them (source, then destination). Deadlocks.
    MutexUnordered,
    /// Transfer scenario: one robust mutex for the whole bank.
    Global,
    /// `SELECT ... FOR UPDATE`, then the update, in one transaction.
    Row,
    /// `pg_advisory_xact_lock` around the read-modify-write.
    Advisory,
    /// Optimistic compare-and-set: `UPDATE ... WHERE balance = <read>`.
    Cas,
    /// The naive statements under REPEATABLE READ, retried on 40001.
    RepeatableRead,
    /// The naive statements under SERIALIZABLE, retried on 40001.
    Serializable,
    /// Write-skew scenario: a robust mutex on the worker's own account
    /// only, the one it writes. Skews: the other account it read is not
    /// covered.
    Own,
    /// Transfer scenario: an OFD byte-range lock (`fcntl`) per account, one
    /// byte of the ledger file each, taken in account order.
    Range,
}

impl Mode {
    pub const ALL: [Mode; 14] = [
        Mode::NoLock,
        Mode::Mutex,
        Mode::Flock,
        Mode::Spin,
        Mode::Atomic,
        Mode::MutexUnordered,
        Mode::Global,
        Mode::Row,
        Mode::Advisory,
        Mode::Cas,
        Mode::RepeatableRead,
        Mode::Serializable,
        Mode::Own,
        Mode::Range,
    ];

    /// The modes of the transfer scenario, in the order they are shown.
    pub(crate) const TRANSFER: [Mode; 6] = [
        Mode::NoLock,
        Mode::MutexUnordered,
        Mode::Mutex,
        Mode::Spin,
        Mode::Range,
        Mode::Global,
    ];

    /// What the transfer scenario runs when no mode is named.
    pub(crate) const TRANSFER_DEFAULT: [Mode; 3] =
        [Mode::NoLock, Mode::MutexUnordered, Mode::Mutex];

    /// The memory modes of the write-skew scenario, in the order shown:
    /// unlocked, the worker's own account locked, every account locked (in
    /// account order), the bank's one lock.
    pub(crate) const WRITE_SKEW: [Mode; 4] = [Mode::NoLock, Mode::Own, Mode::Mutex, Mode::Global];

    /// What the write-skew scenario runs on the memory backend when no mode
    /// is named: the skew, the lock that does not prevent it, the one that does.
    pub(crate) const WRITE_SKEW_DEFAULT: [Mode; 3] = [Mode::NoLock, Mode::Own, Mode::Mutex];

    /// The modes of several accounts on the ledger, which the single-account
    /// scenarios do not have.
    const LEDGER_ONLY: [Mode; 4] = [Mode::MutexUnordered, Mode::Global, Mode::Range, Mode::Own];

    /// Whether the mode is meant for `scenario`: the transfer scenario and
    /// the write skew each have their memory set and every database
    /// strategy (`atomic` there has no memory counterpart: the plan refuses
    /// it without `--db`); `mutex-unordered` and `range` fit only transfers,
    /// `own` only the write skew, `global` both.
    pub(crate) fn fits(self, scenario: Scenario) -> bool {
        match scenario {
            Scenario::Transfer | Scenario::WriteSkew if Self::DB_STRATEGIES.contains(&self) => true,
            Scenario::Transfer => Self::TRANSFER.contains(&self),
            Scenario::WriteSkew => {
                Self::WRITE_SKEW.contains(&self) || Self::DB_STRATEGIES.contains(&self)
            }
            _ => !Self::LEDGER_ONLY.contains(&self),
        }
    }

    /// The memory strategies, in the order `--lock=all` runs them.
    pub(crate) const STRATEGIES: [Mode; 4] = [Mode::Mutex, Mode::Flock, Mode::Spin, Mode::Atomic];

    /// The database strategies, in the order `--db ... --lock=all` runs them.
    pub(crate) const DB_STRATEGIES: [Mode; 6] = [
        Mode::Row,
        Mode::Advisory,
        Mode::Atomic,
        Mode::Cas,
        Mode::RepeatableRead,
        Mode::Serializable,
    ];

    /// The name programs read: `no-lock`, or the strategy's name as
    /// `--lock=NAME` takes it.
    pub fn id(self) -> &'static str {
        match self {
            Mode::NoLock => "no-lock",
            Mode::Mutex => "mutex",
            Mode::Flock => "flock",
            Mode::Spin => "spin",
            Mode::Atomic => "atomic",
            Mode::MutexUnordered => "mutex-unordered",
            Mode::Global => "global",
            Mode::Own => "own",
            Mode::Row => "row",
            Mode::Advisory => "advisory",
            Mode::Cas => "cas",
            Mode::RepeatableRead => "repeatable-read",
            Mode::Serializable => "serializable",
            Mode::Range => "range",
        }
    }

    /// `modes` as a sentence lists them for `--lock`: "own, mutex or global".
    pub(crate) fn listed(modes: &[Mode]) -> String {
        let ids: Vec<&str> = modes.iter().map(|m| m.id()).collect();
        match ids.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => ids.join(""),
        }
    }

    /// The name people read in reports: `no lock`, `mutex`, ...
    pub fn name(self) -> &'static str {
        match self {
            Mode::NoLock => "no lock",
            other => other.id(),
        }
    }

    /// The strategy's name, or `None` for the unlocked mode (JSON's `lock`).
    pub fn strategy(self) -> Option<&'static str> {
        (self != Mode::NoLock).then(|| self.id())
    }

    /// A lock of this mode stays held when its holder dies: only the spin
    /// lock, a word nobody can tell from a slow holder's. A robust mutex
    /// is handed to the next taker, the kernel drops a dead process's file
    /// locks, and a database rolls back a dead connection's transaction.
    pub(crate) fn lock_outlives_holder(self) -> bool {
        self == Mode::Spin
    }

    /// The strategy leaves a window between a read and a write (every mode
    /// but `atomic`, whose update is one instruction or one statement).
    pub(crate) fn has_window(self) -> bool {
        self != Mode::Atomic
    }

    /// The mode can run `scenario` on `backend`: it fits the scenario and
    /// runs on the backend, and on the memory-mapped ledger the scenarios of
    /// several accounts have only their own modes (`atomic` there is one SQL
    /// statement, which no one instruction can be).
    pub(crate) fn available(self, scenario: Scenario, backend: BackendKind) -> bool {
        let own_set = match (scenario, backend) {
            (Scenario::Transfer, BackendKind::Memory) => Self::TRANSFER.contains(&self),
            (Scenario::WriteSkew, BackendKind::Memory) => Self::WRITE_SKEW.contains(&self),
            _ => true,
        };
        own_set && self.fits(scenario) && self.runs_on(backend)
    }

    /// On a database, the window lies inside an open transaction: a worker
    /// that dies there leaves it to the server to roll back (`row`,
    /// `advisory`, `repeatable-read`, `serializable`; the others run in
    /// autocommit, one statement at a time).
    pub(crate) fn window_in_transaction(self) -> bool {
        matches!(
            self,
            Mode::Row | Mode::Advisory | Mode::RepeatableRead | Mode::Serializable
        )
    }

    /// The mode can run on `backend`: the unlocked mode and `atomic` run on
    /// both, every other strategy on one.
    pub(crate) fn runs_on(self, backend: BackendKind) -> bool {
        let ledger_only = Self::LEDGER_ONLY.contains(&self);
        self == Mode::NoLock
            || backend.strategies().contains(&self)
            || (ledger_only && backend == BackendKind::Memory)
    }

    fn help(self) -> &'static str {
        match self {
            Mode::NoLock => "No protection: the bare read-modify-write",
            Mode::Mutex => "Robust process-shared pthread mutex in the mapping",
            Mode::Flock => "flock(2) on the ledger file",
            Mode::Spin => {
                "Compare-and-swap spin lock in the mapping (transfers: one per account, in order)"
            }
            Mode::Atomic => "No lock: atomic instructions, or one SQL statement with --db",
            Mode::MutexUnordered => {
                "Transfers: a mutex per account, taken source first (deadlocks)"
            }
            Mode::Global => "Transfers and write skew: one mutex for the whole bank",
            Mode::Own => "Write skew: a mutex on the worker's own account only (still skews)",
            Mode::Range => {
                "Transfers: an OFD byte-range lock per account on the ledger file, in order"
            }
            Mode::Row => "--db: SELECT ... FOR UPDATE, then UPDATE",
            Mode::Advisory => "--db: pg_advisory_xact_lock around the read-modify-write",
            Mode::Cas => "--db: UPDATE ... WHERE balance = <value read>, retried",
            Mode::RepeatableRead => "--db: the unlocked statements under REPEATABLE READ",
            Mode::Serializable => "--db: the unlocked statements under SERIALIZABLE",
        }
    }

    /// On a database: the isolation level and the statements of one
    /// operation, as the text report lists them.
    pub fn statements(self) -> &'static str {
        match self {
            Mode::NoLock => {
                "READ COMMITTED, autocommit: SELECT balance; window; \
                 UPDATE SET balance = <read ± amount> (a withdrawal: check, window, \
                 UPDATE SET balance = balance - amount)"
            }
            Mode::Row => {
                "READ COMMITTED: BEGIN; SELECT balance ... FOR UPDATE; window; UPDATE; COMMIT"
            }
            Mode::Advisory => {
                "READ COMMITTED: BEGIN; SELECT pg_advisory_xact_lock(account); SELECT balance; \
                 window; UPDATE; COMMIT"
            }
            Mode::Atomic => {
                "READ COMMITTED, one statement: UPDATE SET balance = balance + $1 \
                 (a withdrawal: ... WHERE balance >= $1)"
            }
            Mode::Cas => {
                "READ COMMITTED, autocommit: SELECT balance; window; \
                 UPDATE SET balance = <new> WHERE balance = <read>, retried when no row changed"
            }
            Mode::RepeatableRead => {
                "REPEATABLE READ: the unlocked statements in one transaction, retried on 40001"
            }
            Mode::Serializable => {
                "SERIALIZABLE: the unlocked statements in one transaction, retried on 40001"
            }
            Mode::Mutex
            | Mode::Flock
            | Mode::Spin
            | Mode::MutexUnordered
            | Mode::Global
            | Mode::Own
            | Mode::Range => "not a database strategy",
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serializes a mode as its `id`.
impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrialStatus {
    /// Every worker finished its operations.
    Ok,
    /// A worker failed, was killed or timed out.
    Failed,
    /// The coordinator found workers waiting for each other's locks in a
    /// cycle, and ended the trial.
    Deadlocked,
}

impl TrialStatus {
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Ok => "ok",
            TrialStatus::Failed => "failed",
            TrialStatus::Deadlocked => "deadlocked",
        }
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TrialStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One access to the balance as a trace shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// The read of a read-modify-write (lost-update).
    Read,
    /// The write of a read-modify-write.
    Write,
    /// A withdrawal's check of the balance (overdraft).
    Check,
    /// A withdrawal's debit, after its check.
    Debit,
    /// One indivisible read-modify-write.
    Atomic,
    /// A transfer's credit: one atomic addition to the destination.
    Credit,
}

impl AccessKind {
    pub fn name(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::Check => "check",
            AccessKind::Debit => "debit",
            AccessKind::Atomic => "atomic",
            AccessKind::Credit => "credit",
        }
    }

    /// The short name of a cell too narrow for the whole one: the first
    /// letter, `cr` for a credit (`c` is a check).
    pub fn short(self) -> &'static str {
        match self {
            AccessKind::Credit => "cr",
            other => &other.name()[..1],
        }
    }

    /// The access reads the balance without changing it.
    pub(crate) fn only_reads(self) -> bool {
        matches!(self, AccessKind::Read | AccessKind::Check)
    }
}

impl fmt::Display for AccessKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for AccessKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which kind of worker: depositors come first in a trial's numbering,
/// and transferers before auditors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Depositor,
    Withdrawer,
    /// Transfer scenario: moves money from one account to another.
    Transferer,
    /// Transfer scenario: reads every balance and adds them up.
    Auditor,
}

impl Role {
    const ALL: [Role; 4] = [
        Role::Depositor,
        Role::Withdrawer,
        Role::Transferer,
        Role::Auditor,
    ];

    /// `depositor`, `withdrawer`, ...: as in `--depositors`, `--auditors`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Depositor => "depositor",
            Role::Withdrawer => "withdrawer",
            Role::Transferer => "transferer",
            Role::Auditor => "auditor",
        }
    }

    /// The letter of its workers' names: `D`, `W`, `T`, `R`.
    pub(crate) fn letter(self) -> char {
        match self {
            Role::Depositor => 'D',
            Role::Withdrawer => 'W',
            Role::Transferer => 'T',
            Role::Auditor => 'R',
        }
    }

    pub(crate) fn from_letter(letter: char) -> Option<Role> {
        Self::ALL
            .into_iter()
            .find(|r| r.letter() == letter.to_ascii_uppercase())
    }

    /// The number stored in a worker's slot.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The role that comes first in `scenario`'s numbering, and the second.
    pub(crate) fn pair(scenario: Scenario) -> (Role, Role) {
        match scenario {
            Scenario::Transfer => (Role::Transferer, Role::Auditor),
            _ => (Role::Depositor, Role::Withdrawer),
        }
    }
}

mod backend;
mod lock;
mod verdict;
mod worker;

pub use backend::{BackendKind, Failure};
pub use lock::LockChoice;
pub use verdict::Verdict;
pub use worker::{LockStepKind, WorkerName};

#[cfg(test)]
mod tests;
