//! Reconstructs what happened in a traced trial: every access in order, every lost update, every overdraft, and the accounting identity. Pure.
//!
//! # Which updates were lost
//!
//! Every traced access has a sequence number that orders it exactly as the
//! balance saw it. A read-modify-write computes its write from its read, so
//! the value a write leaves depends on the last write before its *read*; an
//! atomic update (and an overdraft debit) depends on the last write before
//! itself. Following these dependencies back from the last write of the trial
//! gives the chain of updates the final balance is made of. Every other
//! update is lost: some later write was computed from a value read before it
//! landed, and replaced it. That later write (the first write of the chain
//! after the lost one) is the one that erased it; the lost update lies
//! between that write's read and the write itself.
//!
//! # The accounting identity
//!
//! The final balance is the starting balance plus the amounts of the chain,
//! so `expected − final = the sum of the lost amounts` (a lost deposit of 1
//! counts +1, a lost withdrawal −1), where `expected` is what the bank's
//! books say, counted from the workers' completed operations (not from the
//! trace). Every traced write is a `swap` and knows the value it replaced,
//! so the trace can also be replayed access by access: every read must see
//! the value the previous write left, every write must replace it, and the
//! last one must leave the final balance. A trial where any of this fails is
//! a bug in bankrace, reported loudly.

use serde::Serialize;

use crate::trace::{OpKind, OpRecord, Trace};
use crate::vocab::{AccessKind, LockStepKind, WorkerName};

mod transfer;

/// One access to the balance, in the global order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub seq: u64,
    /// `D1`, `W2`, ...
    pub worker: String,
    #[serde(skip)]
    pub index: u32,
    /// 1-based operation of that worker.
    pub op: u64,
    pub access: AccessKind,
    /// What a read or check saw; what a write, debit or atomic update left.
    pub value: i64,
    /// What a write, debit or atomic update replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrote: Option<i64>,
    /// A check that refused the withdrawal (or the transfer).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
    /// Transfer scenario: the account (from 1, as `#1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<u32>,
}

/// An update whose effect the final balance does not contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostUpdate {
    /// Whose update was lost, which operation, and the sequence numbers of
    /// its read (its write for an atomic update) and its write.
    pub worker: String,
    pub op: u64,
    pub read_seq: u64,
    pub write_seq: u64,
    /// The money it moved: +amount for a deposit, −amount for a withdrawal.
    pub amount: i64,
    /// The write that replaced it, computed from a read made before it landed.
    pub erased_by: String,
    pub erased_by_op: u64,
    pub erased_by_read_seq: u64,
    pub erased_by_write_seq: u64,
    /// Transfer scenario: the account (from 1) of the lost debit (a
    /// negative amount) or credit (a positive one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<u32>,
}

/// A withdrawal paid from funds another withdrawal had already taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdraft {
    pub worker: String,
    pub op: u64,
    pub check_seq: u64,
    /// What its check saw: enough.
    pub seen: i64,
    pub debit_seq: u64,
    /// The balance its debit found, and left.
    pub before: i64,
    pub after: i64,
    /// Writes that landed between its check and its debit: who spent the funds it saw.
    pub spent_by: Vec<Spender>,
}

/// A write between an overdraft's check and its debit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spender {
    pub worker: String,
    pub op: u64,
    /// Its own check (or read), and its write.
    pub check_seq: u64,
    pub seq: u64,
    /// The change it made to the balance.
    pub change: i64,
}

/// `expected − final = sum of the lost amounts`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub expected: i64,
    pub final_balance: i64,
    /// The sum of the lost updates' amounts.
    pub lost: i64,
    pub holds: bool,
    /// What does not add up, when `holds` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The number of the read (or check) a killed worker made before it
    /// died, which no record holds: a partial operation that changed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<u64>,
}

/// Everything reconstructed from one trial's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub events: Vec<Event>,
    pub lost_updates: Vec<LostUpdate>,
    pub overdrafts: Vec<Overdraft>,
    /// Checked for trials whose workers all finished; `null` otherwise (a
    /// killed worker may have made an access it never recorded).
    pub identity: Option<Identity>,
    /// Transfer scenario, with every access: every step of the account
    /// locks, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock_steps: Vec<LockEvent>,
    /// Transfer scenario: the lock steps of the transfers still waiting for
    /// a lock when the trial ended (in a deadlock, how the cycle closed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stuck_steps: Vec<LockEvent>,
}

/// A step of a transfer's account lock, in the global order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockEvent {
    pub seq: u64,
    pub worker: String,
    #[serde(skip)]
    pub index: u32,
    /// 1-based transfer of that worker.
    pub op: u64,
    pub step: LockStepKind,
    /// The account (from 1).
    pub account: u32,
}

/// What [`analyze`] needs to know besides the trace.
#[derive(Debug, Clone)]
pub struct Context {
    pub initial: i64,
    /// Workers of the first role: depositors, or transferers.
    pub depositors: u32,
    /// The balance the books say the trial should end at.
    pub expected: i64,
    pub final_balance: i64,
    /// Every worker finished: check the identity.
    pub complete: bool,
    /// The worker `--kill-holder` killed: it died in its window, after its
    /// last read (or check) took a number, before the operation was recorded.
    pub killed: Option<u32>,
    /// Transfer scenario: every account's balance at the end (empty otherwise).
    pub finals: Vec<i64>,
}

/// A write, with what the chain computation needs.
#[derive(Debug, Clone, Copy)]
struct Write {
    seq: u64,
    /// The sequence number the value it wrote was computed at: its read for
    /// a read-modify-write, itself for an atomic update.
    basis_seq: u64,
    read_seq: u64,
    worker: u32,
    op: u64,
    /// The change the operation meant to make.
    delta: i64,
}

/// Which parts of an analysis the reports will read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, with every access as an [`Event`]: for `--explain`,
    /// JSON, the trace export and the pictures.
    Events,
    /// The findings only (lost updates, overdrafts, the identity), with no
    /// events: all a run with `-q` shows, at a third of the memory.
    Findings,
}

impl Detail {
    /// About the most bytes an analysis of `ops` traced operations takes:
    /// per operation, its write, two places in the order, its share of the
    /// chain and, at worst, a lost update with two names; with events, two
    /// events with their worker's name each.
    pub(crate) fn bytes_needed(self, ops: usize) -> u64 {
        let per_op: u64 = match self {
            Detail::Findings => 256,
            Detail::Events => 512,
        };
        per_op.saturating_mul(ops as u64)
    }
}

/// One access as the trace holds it: worker `worker`'s operation number
/// `at >> 1` (from 0), its first access if `at` is even, else its second.
/// 16 bytes, so that the whole order of a large trace stays small.
#[derive(Debug, Clone, Copy)]
struct Place {
    seq: u64,
    worker: u32,
    at: u32,
}

/// One access of an operation, as [`accesses`] reads it from its record.
#[derive(Debug, Clone, Copy)]
struct Access {
    seq: u64,
    kind: AccessKind,
    value: i64,
    overwrote: Option<i64>,
    refused: bool,
}

/// The accesses an operation made, in its own order: a read or check first
/// (if any), then its write.
fn accesses(r: &OpRecord) -> [Option<Access>; 2] {
    let read = |kind, refused| Access {
        seq: r.read_seq,
        kind,
        value: r.seen,
        overwrote: None,
        refused,
    };
    let write = |kind| Access {
        seq: r.write_seq,
        kind,
        value: r.written,
        overwrote: Some(r.overwritten),
        refused: false,
    };
    match r.kind {
        OpKind::Update => [
            Some(read(AccessKind::Read, false)),
            Some(write(AccessKind::Write)),
        ],
        OpKind::Paid => [
            Some(read(AccessKind::Check, false)),
            Some(write(AccessKind::Debit)),
        ],
        OpKind::Refused => [Some(read(AccessKind::Check, true)), None],
        OpKind::Atomic => [Some(write(AccessKind::Atomic)), None],
    }
}

impl Place {
    /// The access this place names in `trace`.
    fn access(self, trace: &Trace) -> Access {
        let r = &trace.workers[self.worker as usize][(self.at >> 1) as usize];
        accesses(r)[(self.at & 1) as usize].expect("a place names an access its record has")
    }

    /// The access as an [`Event`], its worker named by `name`.
    fn event(self, trace: &Trace, name: &dyn Fn(u32) -> String) -> Event {
        let a = self.access(trace);
        Event {
            seq: a.seq,
            worker: name(self.worker),
            index: self.worker,
            op: u64::from(self.at >> 1) + 1,
            access: a.kind,
            value: a.value,
            overwrote: a.overwrote,
            refused: a.refused,
            account: None,
        }
    }
}

/// Every access of `trace` in the global order, reserved fallibly.
fn order(trace: &Trace) -> Result<Vec<Place>, std::collections::TryReserveError> {
    let mut order = Vec::new();
    order.try_reserve_exact(trace.len() * 2)?;
    for (w, ops) in trace.workers.iter().enumerate() {
        for (i, r) in ops.iter().enumerate() {
            for (half, a) in accesses(r).iter().enumerate() {
                // A transfer's credit that never came has no access.
                if let Some(a) = a
                    && a.seq != 0
                {
                    order.push(Place {
                        seq: a.seq,
                        worker: w as u32,
                        at: (i as u32) << 1 | half as u32,
                    });
                }
            }
        }
    }
    order.sort_unstable_by_key(|p| p.seq);
    Ok(order)
}

/// Analyses one trial's trace, with the parts `detail` asks for. Its large
/// vectors are reserved fallibly: a trace too large for the memory left is
/// an error, not an abort.
pub(crate) fn analyze(
    trace: &Trace,
    cx: &Context,
    detail: Detail,
) -> Result<Analysis, std::collections::TryReserveError> {
    if !trace.locks.is_empty() {
        return transfer::analyze(trace, cx, detail);
    }
    let name = |w: u32| WorkerName::of(w, cx.depositors).to_string();
    let mut writes = writes(trace)?;
    // Unstable sorts need no scratch memory, and every seq is distinct.
    writes.sort_unstable_by_key(|w| w.seq);

    let chain = chain(&writes)?;
    let mut lost_updates = Vec::new();
    let mut lost = 0i64;
    let mut members = Vec::new();
    members.try_reserve_exact(chain.iter().filter(|&&m| m).count())?;
    members.extend((0..writes.len()).filter(|&i| chain[i]));
    for (i, w) in writes.iter().enumerate() {
        if chain[i] {
            continue;
        }
        lost = lost.wrapping_add(w.delta);
        // The first write of the chain after the lost one erased it.
        let at = members.partition_point(|&m| writes[m].seq < w.seq);
        let Some(&e) = members.get(at) else { continue };
        let eraser = &writes[e];
        lost_updates.try_reserve(1)?;
        lost_updates.push(LostUpdate {
            worker: name(w.worker),
            op: w.op,
            read_seq: w.read_seq,
            write_seq: w.seq,
            amount: w.delta,
            erased_by: name(eraser.worker),
            erased_by_op: eraser.op,
            erased_by_read_seq: eraser.read_seq,
            erased_by_write_seq: eraser.seq,
            account: None,
        });
    }

    let overdrafts = overdrafts(trace, &writes, &name);
    drop(writes);
    let order = order(trace)?;
    let identity = cx
        .complete
        .then(|| identity(trace, &order, cx, lost, &name));
    let mut events = Vec::new();
    if detail == Detail::Events {
        events.try_reserve_exact(order.len())?;
        events.extend(order.iter().map(|p| p.event(trace, &name)));
    }
    Ok(Analysis {
        events,
        lost_updates,
        overdrafts,
        identity,
        lock_steps: Vec::new(),
        stuck_steps: Vec::new(),
    })
}

/// Every write of a single-account trace, in no particular order.
fn writes(trace: &Trace) -> Result<Vec<Write>, std::collections::TryReserveError> {
    let mut writes = Vec::new();
    writes.try_reserve_exact(trace.len())?;
    for (w, ops) in trace.workers.iter().enumerate() {
        let w = w as u32;
        for (i, r) in ops.iter().enumerate() {
            let op = i as u64 + 1;
            if r.wrote() {
                writes.push(Write {
                    seq: r.write_seq,
                    basis_seq: match r.kind {
                        OpKind::Update => r.read_seq,
                        _ => r.write_seq,
                    },
                    read_seq: r.read_seq,
                    worker: w,
                    op,
                    delta: match r.kind {
                        OpKind::Update => r.written.wrapping_sub(r.seen),
                        _ => r.written.wrapping_sub(r.overwritten),
                    },
                });
            }
        }
    }
    Ok(writes)
}

/// Marks the writes the final balance is made of: from the last write, each
/// one's basis is the last write before its `basis_seq`.
fn chain(writes: &[Write]) -> Result<Vec<bool>, std::collections::TryReserveError> {
    let mut member = Vec::new();
    member.try_reserve_exact(writes.len())?;
    member.resize(writes.len(), false);
    let mut at = writes.len().checked_sub(1);
    while let Some(i) = at {
        member[i] = true;
        let basis = writes[i].basis_seq;
        // For an atomic update `basis_seq` is its own seq: the write before it.
        let before = writes[..i].partition_point(|w| w.seq < basis);
        at = before.checked_sub(1);
    }
    Ok(member)
}

fn overdrafts(trace: &Trace, writes: &[Write], name: &dyn Fn(u32) -> String) -> Vec<Overdraft> {
    let mut found = Vec::new();
    for (w, ops) in trace.workers.iter().enumerate() {
        for (i, r) in ops.iter().enumerate() {
            if r.kind != OpKind::Paid || r.written >= 0 {
                continue;
            }
            let from = writes.partition_point(|x| x.seq <= r.read_seq);
            let to = writes.partition_point(|x| x.seq < r.write_seq);
            found.push(Overdraft {
                worker: name(w as u32),
                op: i as u64 + 1,
                check_seq: r.read_seq,
                seen: r.seen,
                debit_seq: r.write_seq,
                before: r.overwritten,
                after: r.written,
                spent_by: writes[from..to]
                    .iter()
                    .map(|x| Spender {
                        worker: name(x.worker),
                        op: x.op,
                        check_seq: x.read_seq,
                        seq: x.seq,
                        change: x.delta,
                    })
                    .collect(),
            });
        }
    }
    found.sort_by_key(|o| o.debit_seq);
    found
}

/// Replays the trace in `order` and checks `expected − final = lost`.
fn identity(
    trace: &Trace,
    order: &[Place],
    cx: &Context,
    lost: i64,
    name: &dyn Fn(u32) -> String,
) -> Identity {
    let mut problem = None;
    let mut unrecorded = None;
    // Every access took one number: 1, 2, 3, ... with none missing, except
    // the one a killed worker took for the read of the operation it died
    // in (a read changes nothing, so the replay below is unaffected).
    let mut expected_seq = 1;
    for p in order {
        if p.seq != expected_seq && cx.killed.is_some() && unrecorded.is_none() {
            unrecorded = Some(expected_seq);
            expected_seq += 1;
        }
        if p.seq != expected_seq {
            problem = Some(format!(
                "the trace has no access numbered {expected_seq} (it holds {} accesses)",
                order.len()
            ));
            break;
        }
        expected_seq += 1;
    }
    // Replay: every access sees what the previous write left.
    let mut balance = cx.initial;
    if problem.is_none() {
        for p in order {
            let a = p.access(trace);
            let saw = a.overwrote.unwrap_or(a.value);
            if saw != balance {
                problem = Some(format!(
                    "access {} ({} {} of op {}) saw {saw}, but the previous write left {balance}",
                    a.seq,
                    name(p.worker),
                    a.kind,
                    (p.at >> 1) + 1
                ));
                break;
            }
            if a.overwrote.is_some() {
                balance = a.value;
            }
        }
    }
    if problem.is_none() && balance != cx.final_balance {
        problem = Some(format!(
            "replaying the trace ends at {balance}, the ledger at {}",
            cx.final_balance
        ));
    }
    let gap = cx.expected.wrapping_sub(cx.final_balance);
    if problem.is_none() && gap != lost {
        problem = Some(format!(
            "expected - final = {gap}, but the lost updates add up to {lost}"
        ));
    }
    Identity {
        expected: cx.expected,
        final_balance: cx.final_balance,
        lost,
        holds: problem.is_none(),
        problem,
        unrecorded,
    }
}

/// The one-line summary of a trial: "3 deposits and 1 withdrawal lost: -2",
/// "1 withdrawal paid from funds another withdrawal had taken: the balance
/// went to -5000", or "nothing lost".
pub fn summary(a: &Analysis) -> String {
    if !a.stuck_steps.is_empty() || a.lost_updates.iter().any(|l| l.account.is_some()) {
        return transfer::summary(a);
    }
    let mut parts = Vec::new();
    if !a.lost_updates.is_empty() {
        let deposits = a.lost_updates.iter().filter(|l| l.amount > 0).count();
        let withdrawals = a.lost_updates.len() - deposits;
        let net: i64 = a.lost_updates.iter().map(|l| l.amount).sum();
        let mut what = Vec::new();
        if deposits > 0 {
            what.push(count(deposits, "deposit"));
        }
        if withdrawals > 0 {
            what.push(count(withdrawals, "withdrawal"));
        }
        parts.push(format!("{} lost: {:+}", what.join(" and "), -net));
    }
    if !a.overdrafts.is_empty() {
        let lowest = a.overdrafts.iter().map(|o| o.after).min().unwrap_or(0);
        parts.push(format!(
            "{} paid from funds another withdrawal had taken: the balance went to {lowest}",
            count(a.overdrafts.len(), "withdrawal")
        ));
    }
    if parts.is_empty() {
        "nothing lost, never overdrawn".into()
    } else {
        parts.join("; ")
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests;
