//! `--export-trace FILE`: the traced operations as a history of invoke/ok events, one JSON object per line, in the shape Jepsen-style history checkers (such as Elle's rw-register) read.
//!
//! Each operation of a worker is one transaction on a single register,
//! `balance`: a read and then a write (`[["r","balance",200],["w","balance",201]]`),
//! just a read for a refused withdrawal. It appears twice: an `invoke` at the
//! sequence number of its first access (the read's value still `null`) and
//! an `ok` at the sequence number of its last access, with the value read.
//! `process` is the worker's index, `time` the sequence number (a logical
//! clock: the exact order of the accesses), and `index` the line's position
//! in the trial's history. Extra keys (`lock`, `trial`, `worker`, `op`) say
//! which history a line belongs to: each trial of each mode is one history,
//! with its own `index` from 0.
//!
//! In the transfer scenario each transfer is one transaction over the
//! registers of its two accounts, named `#1`, `#2`, ...: the debit's read
//! and write of the source, then the credit (a read and a write in one
//! step) of the destination. A transfer a deadlock stopped before its
//! credit completes as `info` (indeterminate), not `ok`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::explain::Event;
use crate::stats::Results;
use crate::vocab::AccessKind;

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    value: Value,
    process: u32,
    time: u64,
    index: usize,
    lock: Option<&'a str>,
    trial: u32,
    worker: &'a str,
    op: u64,
}

/// The history of every traced trial, as JSON lines.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    for mode in &results.modes {
        let lock = mode.lock;
        for t in &mode.trials {
            let Some(a) = &t.trace else { continue };
            // (time, 0 = invoke / 1 = ok, value, the op's first event)
            let mut lines: Vec<(u64, u8, Value, &Event)> = Vec::new();
            let mut ops: std::collections::BTreeMap<(u32, u64), Vec<&Event>> = Default::default();
            for e in &a.events {
                ops.entry((e.index, e.op)).or_default().push(e);
            }
            for events in ops.values() {
                let first = events[0];
                let last = events[events.len() - 1];
                let (invoke, ok) = transaction(events);
                let unfinished = first.account.is_some()
                    && !events
                        .iter()
                        .any(|e| e.access == AccessKind::Credit || e.refused);
                lines.push((first.seq, 0, invoke, first));
                lines.push((last.seq, if unfinished { 2 } else { 1 }, ok, first));
            }
            lines.sort_by_key(|(time, kind, _, _)| (*time, *kind));
            for (index, (time, kind, value, e)) in lines.into_iter().enumerate() {
                let line = Line {
                    kind: ["invoke", "ok", "info"][usize::from(kind)],
                    f: "txn",
                    value,
                    process: e.index,
                    time,
                    index,
                    lock,
                    trial: t.trial,
                    worker: &e.worker,
                    op: e.op,
                };
                out.push_str(&serde_json::to_string(&line).expect("a line always serializes"));
                out.push('\n');
            }
        }
    }
    out
}

/// The transaction of one operation's events: (as invoked, as completed).
fn transaction(events: &[&Event]) -> (Value, Value) {
    let mut invoke = Vec::new();
    let mut ok = Vec::new();
    for e in events {
        let register = match e.account {
            Some(a) => format!("#{a}"),
            None => "balance".into(),
        };
        let key = register.as_str();
        match e.access {
            access if access.only_reads() => {
                invoke.push(json!(["r", key, null]));
                ok.push(json!(["r", key, e.value]));
            }
            // An atomic update (a credit) reads and writes in one indivisible step.
            AccessKind::Atomic | AccessKind::Credit => {
                invoke.push(json!(["r", key, null]));
                invoke.push(json!(["w", key, e.value]));
                ok.push(json!(["r", key, e.overwrote]));
                ok.push(json!(["w", key, e.value]));
            }
            _ => {
                invoke.push(json!(["w", key, e.value]));
                ok.push(json!(["w", key, e.value]));
            }
        }
    }
    (Value::Array(invoke), Value::Array(ok))
}
