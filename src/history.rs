//! The transfer scenario's record of every operation (`--export-history`), and a trial's records as a Jepsen history: EDN, one operation per line, in the shape Jepsen's bank checker reads. Pure.
//!
//! Each operation is two lines: an `:invoke` when it starts and its
//! completion when it ends (docs/transfers.md has the whole mapping):
//!
//! - a transfer: `:f :transfer`, `:value {:from 1, :to 2, :amount 5}`,
//!   completed `:ok`, or `:fail` with `:error :insufficient-funds` when the
//!   source lacked the money;
//! - an audit: `:f :read`, `:value nil` when invoked, completed `:ok` with
//!   `:value {1 10, 2 20, ...}` (account to balance);
//! - an operation still in flight when the trial ended (a deadlock, a
//!   timeout, a failure) completes `:info`, with `:error :deadlocked` or
//!   `:error :ended`: its outcome is unknown.
//!
//! `:process` is the worker's index, `:time` nanoseconds since the first
//! operation of the trial started, `:index` the line's place in the trial
//! (from 0, in time order). `:bankrace/mode` and `:bankrace/trial` say which
//! history a line belongs to: every trial of every mode is a history of its own.

use std::fmt::Write as _;

/// What one operation does. Accounts from 0 (shown from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Transfer {
        from: u32,
        to: u32,
        amount: i64,
    },
    /// An audit: a read of every balance.
    Read,
}

/// How an operation that completed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Ok,
    /// The source lacked the money: nothing moved.
    Refused,
}

/// One operation of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRecord {
    pub what: What,
    /// `None` while it was in flight.
    pub done: Option<Done>,
    /// CLOCK_MONOTONIC nanoseconds.
    pub start_ns: u64,
    pub end_ns: u64,
    /// What a completed audit read, account 0 first.
    pub balances: Vec<i64>,
}

impl OpRecord {
    /// The record's code in the ledger: 1 to 3 for a transfer started, done,
    /// refused; 4 and 5 for an audit started and done.
    pub(crate) fn code(&self) -> u64 {
        match (self.what, self.done) {
            (What::Transfer { .. }, None) => 1,
            (What::Transfer { .. }, Some(Done::Ok)) => 2,
            (What::Transfer { .. }, Some(Done::Refused)) => 3,
            (What::Read, None) => 4,
            (What::Read, Some(_)) => 5,
        }
    }

    /// `(is a read, how it ended)` of a code; `None` for an empty record.
    pub(crate) fn decode(code: u64) -> Option<(bool, Option<Done>)> {
        Some(match code {
            1 => (false, None),
            2 => (false, Some(Done::Ok)),
            3 => (false, Some(Done::Refused)),
            4 => (true, None),
            5 => (true, Some(Done::Ok)),
            _ => return None,
        })
    }
}

/// Every worker's records of one trial, by worker index, in operation order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub workers: Vec<Vec<OpRecord>>,
}

/// One line before it has its index.
struct Line {
    time: u64,
    kind: &'static str,
    f: &'static str,
    value: String,
    process: usize,
    error: Option<&'static str>,
}

/// A trial's history as EDN lines. `mode` is the mode's id, `deadlocked`
/// says why operations in flight were cut off.
pub fn render(history: &History, mode: &str, trial: u32, deadlocked: bool) -> String {
    let t0 = history
        .workers
        .iter()
        .flatten()
        .map(|r| r.start_ns)
        .min()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for (process, records) in history.workers.iter().enumerate() {
        for r in records {
            let (f, invoked) = match r.what {
                What::Transfer { from, to, amount } => (
                    "transfer",
                    format!("{{:from {}, :to {}, :amount {amount}}}", from + 1, to + 1),
                ),
                What::Read => ("read", "nil".to_owned()),
            };
            let line = |time: u64, kind, value: String, error| Line {
                time: time.saturating_sub(t0),
                kind,
                f,
                value,
                process,
                error,
            };
            lines.push(line(r.start_ns, "invoke", invoked.clone(), None));
            lines.push(match (r.what, r.done) {
                (What::Read, Some(_)) => line(r.end_ns, "ok", read_value(&r.balances), None),
                (_, Some(Done::Ok)) => line(r.end_ns, "ok", invoked, None),
                (_, Some(Done::Refused)) => {
                    line(r.end_ns, "fail", invoked, Some("insufficient-funds"))
                }
                (_, None) => {
                    let why = if deadlocked { "deadlocked" } else { "ended" };
                    // Cut off: it never ended, so it is placed after its start.
                    line(r.start_ns, "info", invoked, Some(why))
                }
            });
        }
    }
    // Stable: an invoke stays before its completion at the same time.
    lines.sort_by_key(|l| l.time);
    let mut out = String::new();
    for (index, l) in lines.iter().enumerate() {
        let _ = write!(
            out,
            "{{:type :{}, :f :{}, :value {}, :process {}, :time {}, :index {index}",
            l.kind, l.f, l.value, l.process, l.time
        );
        if let Some(e) = l.error {
            let _ = write!(out, ", :error :{e}");
        }
        let _ = writeln!(
            out,
            ", :bankrace/mode \"{mode}\", :bankrace/trial {trial}}}"
        );
    }
    out
}

/// `{1 10, 2 20}`: account (from 1) to balance.
fn read_value(balances: &[i64]) -> String {
    let pairs: Vec<String> = balances
        .iter()
        .enumerate()
        .map(|(a, b)| format!("{} {b}", a + 1))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(what: What, done: Option<Done>, start_ns: u64, end_ns: u64) -> OpRecord {
        OpRecord {
            what,
            done,
            start_ns,
            end_ns,
            balances: if what == What::Read && done.is_some() {
                vec![10, 20]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn codes_round_trip() {
        let t = What::Transfer {
            from: 0,
            to: 1,
            amount: 3,
        };
        for (what, done) in [
            (t, None),
            (t, Some(Done::Ok)),
            (t, Some(Done::Refused)),
            (What::Read, None),
            (What::Read, Some(Done::Ok)),
        ] {
            let r = rec(what, done, 0, 0);
            assert_eq!(OpRecord::decode(r.code()), Some((what == What::Read, done)));
        }
        assert_eq!(OpRecord::decode(0), None);
    }

    #[test]
    fn lines_have_the_shape_the_bank_checker_reads() {
        let t = |from, to| What::Transfer {
            from,
            to,
            amount: 5,
        };
        let h = History {
            workers: vec![
                vec![rec(t(0, 1), Some(Done::Ok), 1000, 1500)],
                vec![rec(t(1, 0), Some(Done::Refused), 1100, 1200)],
                vec![rec(What::Read, Some(Done::Ok), 1050, 1600)],
                vec![rec(t(1, 0), None, 1700, 0)],
            ],
        };
        let text = render(&h, "mutex", 3, true);
        let lines: Vec<&str> = text.lines().collect();
        let tag = ", :bankrace/mode \"mutex\", :bankrace/trial 3}";
        assert_eq!(lines.len(), 8);
        assert_eq!(
            lines[0],
            format!(
                "{{:type :invoke, :f :transfer, :value {{:from 1, :to 2, :amount 5}}, :process 0, :time 0, :index 0{tag}"
            )
        );
        assert_eq!(
            lines[1],
            format!("{{:type :invoke, :f :read, :value nil, :process 2, :time 50, :index 1{tag}")
        );
        assert_eq!(
            lines[3],
            format!(
                "{{:type :fail, :f :transfer, :value {{:from 2, :to 1, :amount 5}}, :process 1, :time 200, :index 3, :error :insufficient-funds{tag}"
            )
        );
        assert_eq!(
            lines[5],
            format!(
                "{{:type :ok, :f :read, :value {{1 10, 2 20}}, :process 2, :time 600, :index 5{tag}"
            )
        );
        assert!(lines[7].starts_with("{:type :info, :f :transfer,"));
        assert!(lines[7].contains(":error :deadlocked"));
    }
}
