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
use crate::vocab::{AccessKind, WorkerName};

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
    /// A check that refused the withdrawal.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
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
}

/// What [`analyze`] needs to know besides the trace.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub initial: i64,
    pub depositors: u32,
    /// The balance the books say the trial should end at.
    pub expected: i64,
    pub final_balance: i64,
    /// Every worker finished: check the identity.
    pub complete: bool,
    /// The worker `--kill-holder` killed: it died in its window, after its
    /// last read (or check) took a number, before the operation was recorded.
    pub killed: Option<u32>,
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

/// Analyses one trial's trace. Its two large vectors are reserved fallibly:
/// a trace too large for the memory left is an error, not an abort.
pub(crate) fn analyze(
    trace: &Trace,
    cx: &Context,
) -> Result<Analysis, std::collections::TryReserveError> {
    let name = |w: u32| WorkerName::of(w, cx.depositors).to_string();
    let mut events = Vec::new();
    events.try_reserve_exact(trace.len() * 2)?;
    let mut writes = Vec::new();
    writes.try_reserve_exact(trace.len())?;
    for (w, ops) in trace.workers.iter().enumerate() {
        let w = w as u32;
        for (i, r) in ops.iter().enumerate() {
            let op = i as u64 + 1;
            push_events(&mut events, w, op, r, &name);
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
    events.sort_by_key(|e| e.seq);
    writes.sort_by_key(|w| w.seq);

    let chain = chain(&writes);
    let mut lost_updates = Vec::new();
    let mut lost = 0i64;
    let members: Vec<usize> = (0..writes.len()).filter(|&i| chain[i]).collect();
    for (i, w) in writes.iter().enumerate() {
        if chain[i] {
            continue;
        }
        lost = lost.wrapping_add(w.delta);
        // The first write of the chain after the lost one erased it.
        let at = members.partition_point(|&m| writes[m].seq < w.seq);
        let Some(&e) = members.get(at) else { continue };
        let eraser = &writes[e];
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
        });
    }

    let overdrafts = overdrafts(trace, &writes, &name);
    let identity = cx.complete.then(|| identity(&events, cx, lost));
    Ok(Analysis {
        events,
        lost_updates,
        overdrafts,
        identity,
    })
}

fn push_events(
    events: &mut Vec<Event>,
    w: u32,
    op: u64,
    r: &OpRecord,
    name: &dyn Fn(u32) -> String,
) {
    let event = |seq, access, value, overwrote, refused| Event {
        seq,
        worker: name(w),
        index: w,
        op,
        access,
        value,
        overwrote,
        refused,
    };
    match r.kind {
        OpKind::Update => {
            events.push(event(r.read_seq, AccessKind::Read, r.seen, None, false));
            events.push(event(
                r.write_seq,
                AccessKind::Write,
                r.written,
                Some(r.overwritten),
                false,
            ));
        }
        OpKind::Paid => {
            events.push(event(r.read_seq, AccessKind::Check, r.seen, None, false));
            events.push(event(
                r.write_seq,
                AccessKind::Debit,
                r.written,
                Some(r.overwritten),
                false,
            ));
        }
        OpKind::Refused => events.push(event(r.read_seq, AccessKind::Check, r.seen, None, true)),
        OpKind::Atomic => {
            events.push(event(
                r.write_seq,
                AccessKind::Atomic,
                r.written,
                Some(r.overwritten),
                false,
            ));
        }
    }
}

/// Marks the writes the final balance is made of: from the last write, each
/// one's basis is the last write before its `basis_seq`.
fn chain(writes: &[Write]) -> Vec<bool> {
    let mut member = vec![false; writes.len()];
    let mut at = writes.len().checked_sub(1);
    while let Some(i) = at {
        member[i] = true;
        let basis = writes[i].basis_seq;
        // For an atomic update `basis_seq` is its own seq: the write before it.
        let before = writes[..i].partition_point(|w| w.seq < basis);
        at = before.checked_sub(1);
    }
    member
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

/// Replays the trace and checks `expected − final = lost`.
fn identity(events: &[Event], cx: &Context, lost: i64) -> Identity {
    let mut problem = None;
    let mut unrecorded = None;
    // Every access took one number: 1, 2, 3, ... with none missing, except
    // the one a killed worker took for the read of the operation it died
    // in (a read changes nothing, so the replay below is unaffected).
    let mut expected_seq = 1;
    for e in events {
        if e.seq != expected_seq && cx.killed.is_some() && unrecorded.is_none() {
            unrecorded = Some(expected_seq);
            expected_seq += 1;
        }
        if e.seq != expected_seq {
            problem = Some(format!(
                "the trace has no access numbered {expected_seq} (it holds {} accesses)",
                events.len()
            ));
            break;
        }
        expected_seq += 1;
    }
    // Replay: every access sees what the previous write left.
    let mut balance = cx.initial;
    if problem.is_none() {
        for e in events {
            let saw = e.overwrote.unwrap_or(e.value);
            if saw != balance {
                problem = Some(format!(
                    "access {} ({} {} of op {}) saw {saw}, but the previous write left {balance}",
                    e.seq, e.worker, e.access, e.op
                ));
                break;
            }
            if e.overwrote.is_some() {
                balance = e.value;
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
mod tests {
    use super::*;

    fn analyze(trace: &Trace, cx: &Context) -> Analysis {
        super::analyze(trace, cx).unwrap()
    }

    fn update(read_seq: u64, seen: i64, write_seq: u64, overwritten: i64, delta: i64) -> OpRecord {
        OpRecord {
            kind: OpKind::Update,
            read_seq,
            write_seq,
            seen,
            written: seen + delta,
            overwritten,
        }
    }

    fn cx(initial: i64, expected: i64, final_balance: i64) -> Context {
        Context {
            initial,
            depositors: 1,
            expected,
            final_balance,
            complete: true,
            killed: None,
        }
    }

    #[test]
    fn the_classic_interleaving_loses_the_deposit() {
        // D1 reads 200 (1), W1 reads 200 (2), D1 writes 201 (3), W1 writes 199 over it (4).
        let trace = Trace {
            workers: vec![
                vec![update(1, 200, 3, 200, 1)],
                vec![update(2, 200, 4, 201, -1)],
            ],
        };
        let a = analyze(&trace, &cx(200, 200, 199));
        assert_eq!(a.events.len(), 4);
        assert_eq!(a.lost_updates.len(), 1);
        let l = &a.lost_updates[0];
        assert_eq!((l.worker.as_str(), l.amount, l.write_seq), ("D1", 1, 3));
        assert_eq!((l.erased_by.as_str(), l.erased_by_read_seq), ("W1", 2));
        let id = a.identity.clone().unwrap();
        assert!(id.holds, "{id:?}");
        assert_eq!(id.lost, 1);
        assert_eq!(summary(&a), "1 deposit lost: -1");
    }

    #[test]
    fn an_update_overwritten_and_then_read_again_is_not_lost() {
        // W reads 0 (1); J reads 0 (2), writes 5 (3); X reads 5 (4); W writes
        // -1 over 5 (5); X writes 6 over -1 (6). X read J's value, so J
        // survives; W's withdrawal is the lost one.
        let trace = Trace {
            workers: vec![
                vec![update(2, 0, 3, 0, 5)],
                vec![update(4, 5, 6, -1, 1)],
                vec![update(1, 0, 5, 5, -1)],
            ],
        };
        let context = Context {
            depositors: 2,
            ..cx(0, 5, 6)
        };
        let a = analyze(&trace, &context);
        assert_eq!(a.lost_updates.len(), 1, "{:?}", a.lost_updates);
        assert_eq!(a.lost_updates[0].worker, "W1");
        assert_eq!(a.lost_updates[0].erased_by, "D2");
        assert!(a.identity.as_ref().unwrap().holds);
    }

    #[test]
    fn a_trace_that_does_not_add_up_is_reported() {
        let trace = Trace {
            workers: vec![
                vec![update(1, 200, 3, 200, 1)],
                vec![update(2, 200, 4, 201, -1)],
            ],
        };
        // The ledger says 198: the trace cannot explain that.
        let id = analyze(&trace, &cx(200, 200, 198)).identity.unwrap();
        assert!(!id.holds);
        assert!(id.problem.unwrap().contains("ends at 199"));
        // A missing access number.
        let gap = Trace {
            workers: vec![vec![update(1, 200, 4, 200, 1)]],
        };
        let id = analyze(&gap, &cx(200, 201, 201)).identity.unwrap();
        assert!(id.problem.unwrap().contains("no access numbered 2"));
        // A worker killed in its window took number 2 for a read it never
        // recorded: accounted for, once, and only when a worker was killed.
        let killed = Context {
            killed: Some(1),
            ..cx(200, 201, 201)
        };
        let one_gap = Trace {
            workers: vec![vec![update(1, 200, 3, 200, 1)]],
        };
        let id = analyze(&one_gap, &killed).identity.unwrap();
        assert!(id.holds, "{:?}", id.problem);
        assert_eq!(id.unrecorded, Some(2));
        // Two numbers missing (1..4 has 2 and 3) are more than one death.
        let id = analyze(&gap, &killed).identity.unwrap();
        assert!(id.problem.unwrap().contains("no access numbered 3"));
        // A failed trial is not checked.
        let failed = Context {
            complete: false,
            ..cx(200, 200, 198)
        };
        assert_eq!(analyze(&trace, &failed).identity, None);
    }

    #[test]
    fn two_checks_that_saw_the_same_funds_overdraw() {
        let paid = |read_seq, seen, write_seq, before| OpRecord {
            kind: OpKind::Paid,
            read_seq,
            write_seq,
            seen,
            written: before - 10_000,
            overwritten: before,
        };
        let trace = Trace {
            workers: vec![
                vec![paid(1, 15_000, 3, 15_000)],
                vec![paid(2, 15_000, 4, 5_000)],
            ],
        };
        let context = Context {
            depositors: 0,
            ..cx(15_000, -5_000, -5_000)
        };
        let a = analyze(&trace, &context);
        assert!(a.lost_updates.is_empty());
        assert_eq!(a.overdrafts.len(), 1);
        let o = &a.overdrafts[0];
        assert_eq!(
            (o.worker.as_str(), o.seen, o.before, o.after),
            ("W2", 15_000, 5_000, -5_000)
        );
        assert_eq!(o.spent_by[0].worker, "W1");
        assert_eq!(o.spent_by[0].change, -10_000);
        assert!(a.identity.as_ref().unwrap().holds);
        assert_eq!(
            summary(&a),
            "1 withdrawal paid from funds another withdrawal had taken: the balance went to -5000"
        );
    }

    #[test]
    fn atomic_updates_are_never_lost() {
        let atomic = |seq, before, delta| OpRecord {
            kind: OpKind::Atomic,
            read_seq: seq,
            write_seq: seq,
            seen: before,
            written: before + delta,
            overwritten: before,
        };
        let trace = Trace {
            workers: vec![
                vec![atomic(1, 0, 3), atomic(3, 2, 3)],
                vec![atomic(2, 3, -1)],
            ],
        };
        let a = analyze(&trace, &cx(0, 5, 5));
        assert!(a.lost_updates.is_empty());
        assert!(a.identity.as_ref().unwrap().holds);
        assert_eq!(summary(&a), "nothing lost, never overdrawn");
    }
}
