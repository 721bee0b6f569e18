//! The database backend's words: which backend holds the accounts, and why a worker on it gave up. Part of the vocabulary.

use std::fmt;

use serde::{Serialize, Serializer};

use super::Mode;

/// Where a run's accounts live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Words of the memory-mapped ledger.
    Memory,
    /// A table of a PostgreSQL database (`--db`).
    Postgres,
}

impl BackendKind {
    pub const ALL: [BackendKind; 2] = [BackendKind::Memory, BackendKind::Postgres];

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::Postgres => "postgres",
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<BackendKind> {
        Self::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The strategies `--lock=all` runs on this backend, in order.
    pub(crate) fn strategies(self) -> &'static [Mode] {
        match self {
            BackendKind::Memory => &Mode::STRATEGIES,
            BackendKind::Postgres => &Mode::DB_STRATEGIES,
        }
    }

    /// What bare `--lock` means on this backend: the robust mutex in memory
    /// (the fastest real lock that recovers when its holder dies), the row
    /// lock (`SELECT ... FOR UPDATE`) in a database.
    pub(crate) fn default_strategy(self) -> Mode {
        match self {
            BackendKind::Memory => Mode::Mutex,
            BackendKind::Postgres => Mode::Row,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for BackendKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Why a worker gave up, as it leaves it in its slot for the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// An operation was retried `--max-retries` times and never went through.
    RetriesExhausted,
    /// The connection to the database broke (the server stopped, the
    /// network went away).
    ConnectionLost,
    /// The database refused a statement for another reason.
    Database,
    /// The worker could not connect to the database.
    Connect,
}

impl Failure {
    pub(crate) const ALL: [Failure; 4] = [
        Failure::RetriesExhausted,
        Failure::ConnectionLost,
        Failure::Database,
        Failure::Connect,
    ];

    /// What the trial's cause says after the worker's name.
    pub fn describe(self) -> &'static str {
        match self {
            Failure::RetriesExhausted => "gave up: an operation exhausted --max-retries",
            Failure::ConnectionLost => "lost its connection to the database",
            Failure::Database => "had a statement refused by the database",
            Failure::Connect => "could not connect to the database",
        }
    }

    /// The number stored in a slot; 0 means none.
    pub fn code(self) -> u64 {
        self as u64 + 1
    }

    pub(crate) fn from_code(code: u64) -> Option<Failure> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }
}
