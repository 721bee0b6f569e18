//! `--explain`: the interleaving around each lost update and overdraft, one column per worker and one row per access, and a one-line summary per trial.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::fit;
use crate::explain::{Analysis, Event};
use crate::stats::{Results, TrialRecord};
use crate::vocab::{AccessKind, LockStepKind, Mode, Scenario, TrialStatus};

/// The most rows of accesses shown for one trial.
const MAX_ROWS: usize = 60;

/// The explanation of the first `limit` traced trials of each mode that
/// lost updates or overdrew, no line wider than `width`.
pub fn render(results: &Results, limit: usize, width: usize) -> String {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let mut out = String::new();
    for mode in &results.modes {
        let traced: Vec<(&TrialRecord, &Analysis)> = mode
            .trials
            .iter()
            .filter_map(|t| t.trace.as_ref().map(|a| (t, a)))
            .collect();
        if traced.is_empty() {
            continue;
        }
        let finished: Vec<_> = traced
            .iter()
            .filter(|(t, _)| t.status == TrialStatus::Ok)
            .collect();
        // Trials off the books, as the verdict counts them; and trials whose
        // lost deposits and withdrawals cancelled, ending exact.
        let off = finished.iter().filter(|(t, _)| !t.consistent).count();
        let cancelled = finished
            .iter()
            .filter(|(t, a)| t.consistent && !a.lost_updates.is_empty())
            .count();
        let odd: Vec<_> = finished
            .iter()
            .filter(|(t, a)| {
                !t.consistent || !a.lost_updates.is_empty() || !a.overdrafts.is_empty()
            })
            .collect();
        let deadlocked: Vec<_> = traced
            .iter()
            .filter(|(t, a)| t.status == TrialStatus::Deadlocked && !a.stuck_steps.is_empty())
            .collect();
        let name = mode.mode.name();
        let what = if overdraft { "overdrew" } else { "ended wrong" };
        let head = if finished.is_empty() {
            format!("{name}: nothing to explain, no traced trial finished")
        } else if odd.is_empty() {
            format!("{name}: nothing to explain, no traced trial lost updates or overdrew")
        } else {
            let mut head = format!("{name}: {off} of {} traced trials {what}", traced.len());
            if cancelled > 0 {
                let _ = write!(
                    head,
                    "; {cancelled} more lost updates whose amounts cancelled out, so {} exact",
                    if cancelled == 1 {
                        "it ended"
                    } else {
                        "they ended"
                    }
                );
            }
            head.push_str(&if odd.len() > limit {
                format!("; the first {limit}:")
            } else {
                ":".into()
            });
            head
        };
        // A mode whose traced trials all deadlocked has only its cycles to tell.
        if !finished.is_empty() || deadlocked.is_empty() {
            out.push('\n');
            push_wrapped(&mut out, &head, width, "", "  ");
        }
        for (t, a) in odd.iter().take(limit) {
            out.push('\n');
            trial(&mut out, name, t, a, false, width);
        }
        deadlocks(&mut out, name, &deadlocked, traced.len(), limit, width);
        for (trial, problem) in &mode.unbalanced {
            out.push('\n');
            push_wrapped(&mut out, &violation(name, *trial, problem), width, "", "  ");
        }
    }
    out
}

/// How the cycle closed in each of the first `limit` deadlocked traced trials.
fn deadlocks(
    out: &mut String,
    name: &str,
    deadlocked: &[&(&TrialRecord, &Analysis)],
    traced: usize,
    limit: usize,
    width: usize,
) {
    if deadlocked.is_empty() {
        return;
    }
    out.push('\n');
    let head = format!(
        "{name}: {} of {traced} traced trials deadlocked; how the cycle closed{}",
        deadlocked.len(),
        if deadlocked.len() > limit {
            format!(" in the first {limit}:")
        } else {
            ":".into()
        }
    );
    push_wrapped(out, &head, width, "", "  ");
    for (t, a) in deadlocked.iter().take(limit) {
        let line = format!("{name}, trial {}: {}", t.trial, lock_story(a));
        push_wrapped(out, &line, width, "", "  ");
    }
}

fn push_wrapped(out: &mut String, text: &str, width: usize, first: &str, rest: &str) {
    for line in fit::wrap_with(text, width, first, rest) {
        let _ = writeln!(out, "{line}");
    }
}

/// One line per traced trial whose accounting identity does not hold: a bug
/// in bankrace, which the caller prints loudly.
pub fn violations(results: &Results) -> Vec<String> {
    results
        .modes
        .iter()
        .flat_map(|m| {
            let name = m.mode.name();
            m.unbalanced
                .iter()
                .map(move |(t, p)| violation(name, *t, p))
        })
        .collect()
}

fn violation(mode: &str, trial: u32, problem: &str) -> String {
    format!(
        "BUG: {mode}, trial {trial}: the accounting identity does not hold: {problem}. \
         Please report this with the command line."
    )
}

/// The explanation of one traced trial, with every access (up to the
/// usual limit), or `None` for an untraced one.
pub fn trial_explanation(mode: Mode, t: &TrialRecord) -> Option<String> {
    let a = t.trace.as_ref()?;
    let mut out = String::new();
    trial(&mut out, mode.name(), t, a, true, 80);
    Some(out)
}

fn trial(out: &mut String, mode: &str, t: &TrialRecord, a: &Analysis, all: bool, width: usize) {
    let title = format!("{mode}, trial {}: {}", t.trial, crate::explain::summary(a));
    push_wrapped(out, &title, width, "", "  ");
    let mut shown: Vec<&Event> = Vec::new();
    let mut hidden = 0usize;
    for range in rows(a, all) {
        for seq in range {
            match a.events.binary_search_by_key(&seq, |e| e.seq) {
                Ok(i) if shown.len() < MAX_ROWS => shown.push(&a.events[i]),
                Ok(_) => hidden += 1,
                Err(_) => {}
            }
        }
    }
    grid(out, &shown, &notes(a), width);
    if hidden > 0 {
        let text = format!(
            "({hidden} more accesses not shown: --format json and --export-trace have them all)"
        );
        push_wrapped(out, &text, width, "  ", "   ");
    }
    for l in a.lost_updates.iter().filter(|l| l.account.is_some()) {
        push_wrapped(out, &lost_sentence(l), width, "  ", "    ");
    }
    if let Some(id) = &a.identity {
        push_wrapped(out, &identity_line(id, a), width, "  ", "    ");
    }
}

/// A lost debit or credit in words: "T1's debit of 7 from #1 was
/// overwritten by T3's write, computed from its read at seq 1: 7 created".
fn lost_sentence(l: &crate::explain::LostUpdate) -> String {
    let a = l.account.unwrap_or(0);
    let (what, money) = if l.amount < 0 {
        (format!("debit of {} from #{a}", -l.amount), "created")
    } else {
        (format!("credit of {} to #{a}", l.amount), "destroyed")
    };
    format!(
        "{}'s {what} (seq {}) was overwritten by {}'s write at seq {}, computed from its read at seq {}: {} {money}",
        l.worker,
        l.write_seq,
        l.erased_by,
        l.erased_by_write_seq,
        l.erased_by_read_seq,
        l.amount.unsigned_abs()
    )
}

/// The accounting identity in the verdict's sign convention: final −
/// expected, negative when money is gone, and what the lost updates did to
/// the balance. For an overdraft it names which books it means.
fn identity_line(id: &crate::explain::Identity, a: &Analysis) -> String {
    let verdict = if id.holds {
        "the trace accounts for all of it"
    } else {
        "DOES NOT ADD UP (a bug)"
    };
    let gap = id.final_balance.wrapping_sub(id.expected);
    if a.lost_updates.is_empty() && !a.overdrafts.is_empty() {
        return format!(
            "books (the starting balance less the withdrawals paid) {}, final {}: no update was lost, {verdict}; the bank paid out money it did not have",
            id.expected, id.final_balance
        );
    }
    format!(
        "final {} - expected {} = {gap:+}, and the lost updates changed the balance by {:+}: {verdict}",
        id.final_balance,
        id.expected,
        id.lost.wrapping_neg()
    )
}

/// One row per access: a column per worker when they fit the width, else
/// abbreviated cells, else one access per line. Notes go on the right of
/// their row when they fit, else on the lines below it.
fn grid(out: &mut String, shown: &[&Event], notes: &BTreeMap<u64, Vec<String>>, width: usize) {
    let workers: BTreeSet<(u32, &str)> =
        shown.iter().map(|e| (e.index, e.worker.as_str())).collect();
    let columns: Vec<(u32, &str)> = workers.into_iter().collect();
    let seq_width = shown.last().map_or(3, |e| e.seq.to_string().len().max(3));
    let lead = 2 + seq_width + 2;
    let layout = |short: bool| {
        let cells: Vec<String> = shown.iter().map(|e| cell(e, short)).collect();
        let gap = if short { 1 } else { 2 };
        let w = cells
            .iter()
            .map(|c| c.chars().count())
            .chain(columns.iter().map(|(_, n)| n.len()))
            .max()
            .unwrap_or(0)
            + gap;
        (cells, w)
    };
    let (full, full_w) = layout(false);
    let (short, short_w) = layout(true);
    let (cells, col_w, columned) = if lead + columns.len() * full_w <= width {
        (full, full_w, true)
    } else if lead + columns.len() * short_w <= width {
        let legend = if shown.iter().any(|e| e.account.is_some()) {
            "  (r read, w write, cr credit, c check that refused the transfer)"
        } else {
            "  (r read, w write, c check, d debit, a atomic update)"
        };
        let _ = writeln!(out, "{legend}");
        (short, short_w, true)
    } else {
        (full, 0, false)
    };
    let mut line = format!("  {:>seq_width$}  ", "seq");
    if columned {
        for (_, name) in &columns {
            let _ = write!(line, "{name:<col_w$}");
        }
    } else {
        line.push_str("worker  access");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    let mut previous: Option<u64> = None;
    for (e, text) in shown.iter().zip(&cells) {
        if previous.is_some_and(|p| e.seq > p + 1) {
            let _ = writeln!(out, "  {:>seq_width$}", "...");
        }
        previous = Some(e.seq);
        let mut line = format!("  {:>seq_width$}  ", e.seq);
        if columned {
            for (index, _) in &columns {
                let content = if *index == e.index { text.as_str() } else { "" };
                let _ = write!(line, "{content:<col_w$}");
            }
        } else {
            let _ = write!(line, "{:<6}  {text}", e.worker);
        }
        let note = notes.get(&e.seq).map(|n| n.join("; "));
        match note {
            Some(n) if fit::width_of(&line) + fit::width_of(&n) <= width => {
                let _ = writeln!(out, "{}", format!("{line}{n}").trim_end());
            }
            Some(n) => {
                let _ = writeln!(out, "{}", line.trim_end());
                let indent = " ".repeat(lead + 2);
                push_wrapped(out, &n, width, &indent, &indent);
            }
            None => {
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
    }
}

/// What a cell shows for an access; `short` names the access by its
/// first letter (`r 200`, `d 15000->5000`).
fn cell(e: &Event, short: bool) -> String {
    let name = if short {
        e.access.short().to_string()
    } else {
        e.access.name().to_string()
    };
    let name = match e.account {
        Some(a) => format!("{name} #{a}"),
        None => name,
    };
    match (e.access, e.overwrote) {
        (AccessKind::Check, _) if e.refused => format!("{name} {} refused", e.value),
        (AccessKind::Debit | AccessKind::Atomic | AccessKind::Credit, Some(before)) => {
            format!("{name} {before}->{}", e.value)
        }
        (_, _) => format!("{name} {}", e.value),
    }
}

/// The sequence numbers to show: around each lost update (the eraser's read
/// to its write) and each overdraft (the first check to the debit), merged
/// when they overlap or nearly touch. Every access with `all`, or when
/// nothing was lost.
pub(super) fn rows(a: &Analysis, all: bool) -> Vec<std::ops::RangeInclusive<u64>> {
    if all || (a.lost_updates.is_empty() && a.overdrafts.is_empty()) {
        return a
            .events
            .first()
            .zip(a.events.last())
            .map(|(f, l)| f.seq..=l.seq)
            .into_iter()
            .collect();
    }
    let mut ranges: Vec<(u64, u64)> = a
        .lost_updates
        .iter()
        .map(|l| (l.read_seq.min(l.erased_by_read_seq), l.erased_by_write_seq))
        .chain(a.overdrafts.iter().map(|o| {
            let first = o
                .spent_by
                .iter()
                .map(|s| s.check_seq)
                .fold(o.check_seq, u64::min);
            (first, o.debit_seq)
        }))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 + 2 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged.into_iter().map(|(s, e)| s..=e).collect()
}

/// How the transfers a trial's end left waiting got there, in the order of
/// their lock steps: "T1 locked #1 (seq 2); T2 locked #2 (seq 4); T1 waits
/// for #2 (seq 7); T2 waits for #1 (seq 8)". A wait that was granted is
/// told by its "locked" step alone.
pub(super) fn lock_story(a: &Analysis) -> String {
    let granted = |e: &crate::explain::LockEvent| {
        a.stuck_steps
            .iter()
            .any(|l| l.step == LockStepKind::Locked && l.index == e.index && l.account == e.account)
    };
    let steps: Vec<String> = a
        .stuck_steps
        .iter()
        .filter(|e| e.step == LockStepKind::Locked || !granted(e))
        .map(|e| {
            format!(
                "{} {} #{} (seq {})",
                e.worker,
                e.step.name(),
                e.account,
                e.seq
            )
        })
        .collect();
    format!("{}: each waits for a lock another holds", steps.join("; "))
}

/// The notes on the right of a row, by sequence number.
fn notes(a: &Analysis) -> BTreeMap<u64, Vec<String>> {
    let mut notes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut erased: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut read_of: BTreeMap<u64, u64> = BTreeMap::new();
    for l in &a.lost_updates {
        notes.entry(l.write_seq).or_default().push(format!(
            "✗ lost: {} writes over it at seq {}",
            l.erased_by, l.erased_by_write_seq
        ));
        let what = match l.account {
            Some(a) if l.amount < 0 => format!("debit of {} from #{a}", -l.amount),
            Some(a) => format!("credit of {} to #{a}", l.amount),
            None => format!("{:+}", l.amount),
        };
        erased
            .entry(l.erased_by_write_seq)
            .or_default()
            .push(format!("{}'s {what} (seq {})", l.worker, l.write_seq));
        read_of.insert(l.erased_by_write_seq, l.erased_by_read_seq);
    }
    for (seq, victims) in erased {
        notes.entry(seq).or_default().push(format!(
            "erases {}: computed from its read at seq {}",
            victims.join(", "),
            read_of[&seq]
        ));
    }
    for o in &a.overdrafts {
        let spenders: Vec<String> = o
            .spent_by
            .iter()
            .map(|s| format!("{} took {} at seq {}", s.worker, -s.change, s.seq))
            .collect();
        notes.entry(o.debit_seq).or_default().push(format!(
            "✗ overdrawn: its check at seq {} saw {}, but {}",
            o.check_seq,
            o.seen,
            if spenders.is_empty() {
                "the funds were gone".into()
            } else {
                spenders.join(", ")
            }
        ));
    }
    notes
}
