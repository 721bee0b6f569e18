//! Unit tests of the trace analysis: lost updates, overdrafts, the accounting identity and the order of accesses.

use super::*;

fn analyze(trace: &Trace, cx: &Context) -> Analysis {
    super::analyze(trace, cx, Detail::Events).unwrap()
}

fn update(read_seq: u64, seen: i64, write_seq: u64, overwritten: i64, delta: i64) -> OpRecord {
    OpRecord {
        kind: OpKind::Update,
        account: 0,
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
        finals: Vec::new(),
    }
}

#[test]
fn the_classic_interleaving_loses_the_deposit() {
    // D1 reads 200 (1), W1 reads 200 (2), D1 writes 201 (3), W1 writes 199 over it (4).
    let trace = Trace {
        locks: Vec::new(),
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
        locks: Vec::new(),
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
        locks: Vec::new(),
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
        locks: Vec::new(),
        workers: vec![vec![update(1, 200, 4, 200, 1)]],
    };
    let id = analyze(&gap, &cx(200, 201, 201)).identity.unwrap();
    assert!(id.problem.unwrap().contains("no access numbered 2"));
    // A worker killed in its window took number 2 for a read it never
    // recorded: accounted for, once, and only when a worker was killed.
    let killed = Context {
        killed: Some(1),
        finals: Vec::new(),
        ..cx(200, 201, 201)
    };
    let one_gap = Trace {
        locks: Vec::new(),
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
        account: 0,
        read_seq,
        write_seq,
        seen,
        written: before - 10_000,
        overwritten: before,
    };
    let trace = Trace {
        locks: Vec::new(),
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
        account: 0,
        read_seq: seq,
        write_seq: seq,
        seen: before,
        written: before + delta,
        overwritten: before,
    };
    let trace = Trace {
        locks: Vec::new(),
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

#[test]
fn findings_are_the_same_without_the_events() {
    // The classic interleaving, and the same trace with a write that does
    // not replace what the previous one left (a broken trace).
    let good = Trace {
        locks: Vec::new(),
        workers: vec![
            vec![update(1, 200, 3, 200, 1)],
            vec![update(2, 200, 4, 201, -1)],
        ],
    };
    let broken = Trace {
        locks: Vec::new(),
        workers: vec![
            vec![update(1, 200, 3, 200, 1)],
            vec![update(2, 200, 4, 205, -1)],
        ],
    };
    for trace in [good, broken] {
        let context = cx(200, 200, 199);
        let all = super::analyze(&trace, &context, Detail::Events).unwrap();
        let findings = super::analyze(&trace, &context, Detail::Findings).unwrap();
        assert_eq!(all.events.len(), 4);
        assert!(findings.events.is_empty());
        assert_eq!(findings.lost_updates, all.lost_updates);
        assert_eq!(findings.overdrafts, all.overdrafts);
        assert_eq!(findings.identity, all.identity);
    }
    let broken = super::analyze(
        &Trace {
            locks: Vec::new(),
            workers: vec![
                vec![update(1, 200, 3, 200, 1)],
                vec![update(2, 200, 4, 205, -1)],
            ],
        },
        &cx(200, 200, 199),
        Detail::Findings,
    )
    .unwrap();
    let id = broken.identity.unwrap();
    assert!(!id.holds);
    assert_eq!(
        id.problem.as_deref(),
        Some("access 4 (W1 write of op 1) saw 205, but the previous write left 201")
    );
}
