//! What `--trace` records: one plain record per operation, the accesses it made and the values it saw and wrote.
//!
//! A worker fills an [`OpRecord`] for every operation and stores it in its
//! own region of the ledger (see `ledger/`); the coordinator reads the
//! records back after the trial into a [`Trace`]. Nothing here touches shared
//! memory: these are the values, copied out.
//!
//! Every access to the balance of a traced trial takes a number from one
//! sequencer in the mapping, in the same indivisible step as the access
//! itself, so the sequence numbers order the accesses exactly as the balance
//! saw them (see `Ledger::sequenced`).
//!
//! In the transfer scenario a transfer is two records and its locks: the
//! debit (a read and a write of the source), the credit (an atomic add to
//! the destination), each naming its account, and a [`LockRecord`] of the
//! account locks it waited for and took, numbered by the same sequencer.
//! A transferer stores each record as soon as the access is made, not when
//! the transfer ends, so a trial ended by a deadlock keeps what led to it.

use serde::Serialize;

/// What kind of operation a record describes, and so which of its fields mean something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    /// The lost-update read-modify-write: a read (`read_seq`, `seen`), then a
    /// write (`write_seq`, `written`) that replaced `overwritten`.
    Update,
    /// An overdraft withdrawal that passed its check (`read_seq`, `seen`) and
    /// then debited atomically (`write_seq`): the balance went from
    /// `overwritten` to `written`.
    Paid,
    /// An overdraft withdrawal whose check (`read_seq`, `seen`) refused it: no write.
    Refused,
    /// One indivisible read-modify-write (an atomic add, a deposit in the
    /// overdraft scenario, a compare-and-swap withdrawal that went through):
    /// `read_seq == write_seq`, `seen == overwritten`.
    Atomic,
}

impl OpKind {
    /// The number stored in the ledger (0 means "not recorded").
    pub fn code(self) -> u64 {
        match self {
            OpKind::Update => 1,
            OpKind::Paid => 2,
            OpKind::Refused => 3,
            OpKind::Atomic => 4,
        }
    }

    pub(crate) fn from_code(code: u64) -> Option<OpKind> {
        [
            OpKind::Update,
            OpKind::Paid,
            OpKind::Refused,
            OpKind::Atomic,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// One traced operation. Sequence numbers start at 1; 0 means "no such access".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpRecord {
    pub kind: OpKind,
    /// The account (from 0) the accesses were made to; 0 in the
    /// single-account scenarios.
    pub account: u32,
    pub read_seq: u64,
    pub write_seq: u64,
    /// The balance the read (or the check) saw.
    pub seen: i64,
    /// The balance the write left.
    pub written: i64,
    /// The balance the write replaced (the write is a `swap`, so it knows).
    pub overwritten: i64,
}

impl OpRecord {
    /// The record of an operation that has not made any access yet.
    pub(crate) const EMPTY: OpRecord = OpRecord {
        kind: OpKind::Refused,
        account: 0,
        read_seq: 0,
        write_seq: 0,
        seen: 0,
        written: 0,
        overwritten: 0,
    };

    /// Whether the operation wrote the balance.
    pub fn wrote(&self) -> bool {
        self.write_seq != 0
    }

    /// Whether the operation made any access (a transfer's credit that
    /// never came is stored as a record without one).
    pub fn accessed(&self) -> bool {
        self.read_seq != 0 || self.write_seq != 0
    }
}

/// One account lock a transfer asked for: the account, when it announced
/// the wait and when it held the lock (sequence numbers, 0 for "not yet").
/// The wait is numbered just before the worker asks for the lock, the
/// taking just after it has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockStep {
    pub account: u32,
    pub wait_seq: u64,
    pub locked_seq: u64,
}

/// The account locks of one transfer, in the order it asked for them
/// (at most two; `None` for a lock it never asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockRecord {
    pub steps: [Option<LockStep>; 2],
}

/// Everything one traced trial recorded: per worker, its operations in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub workers: Vec<Vec<OpRecord>>,
    /// Transfer scenario: per worker, each transfer's locks; the records
    /// of `workers` are then two per transfer (its debit, then its credit).
    /// Empty in the other scenarios.
    pub locks: Vec<Vec<LockRecord>>,
}

impl Trace {
    /// How many operations were recorded, all workers together.
    pub fn len(&self) -> usize {
        self.workers.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records per operation: 2 for a transfer trace, else 1.
    pub fn per_op(&self) -> usize {
        if self.locks.is_empty() { 1 } else { 2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_codes_round_trip_and_zero_is_nothing() {
        for kind in [
            OpKind::Update,
            OpKind::Paid,
            OpKind::Refused,
            OpKind::Atomic,
        ] {
            assert_eq!(OpKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(OpKind::from_code(0), None);
    }
}
