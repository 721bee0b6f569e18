//! The names of workers (`D1`, `T2`) and of the lock steps a traced transfer records.

use std::fmt;

use serde::{Serialize, Serializer};

use super::{Role, Scenario};

/// A worker as schedules and explanations name it: `D1`, `W2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerName {
    pub role: Role,
    /// 1-based within its role.
    pub number: u32,
}

impl WorkerName {
    /// The name of worker `index` of a trial with `depositors` depositors
    /// (depositors come first).
    pub fn of(index: u32, depositors: u32) -> WorkerName {
        Self::in_scenario(Scenario::LostUpdate, index, depositors)
    }

    /// The name of worker `index` of a `scenario` trial whose first role
    /// (depositors, or transferers) has `firsts` workers.
    pub fn in_scenario(scenario: Scenario, index: u32, firsts: u32) -> WorkerName {
        let (first, second) = Role::pair(scenario);
        if index < firsts {
            WorkerName {
                role: first,
                number: index + 1,
            }
        } else {
            WorkerName {
                role: second,
                number: index - firsts + 1,
            }
        }
    }

    /// The worker's index in a trial with `depositors` depositors (or
    /// transferers).
    pub fn index(self, depositors: u32) -> u32 {
        match self.role {
            Role::Depositor | Role::Transferer => self.number - 1,
            Role::Withdrawer | Role::Auditor => depositors + self.number - 1,
        }
    }
}

impl fmt::Display for WorkerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.role.letter(), self.number)
    }
}

/// A step of a transfer's account lock, as `--trace` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStepKind {
    /// About to ask for the lock.
    WaitsFor,
    /// Holds the lock.
    Locked,
}

impl LockStepKind {
    pub fn name(self) -> &'static str {
        match self {
            LockStepKind::WaitsFor => "waits for",
            LockStepKind::Locked => "locked",
        }
    }

    /// The name in JSON and in the trace export.
    pub fn id(self) -> &'static str {
        match self {
            LockStepKind::WaitsFor => "waits-for",
            LockStepKind::Locked => "locked",
        }
    }
}

impl Serialize for LockStepKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}
