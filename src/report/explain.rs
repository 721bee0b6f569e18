//! `--explain`: the interleaving around each lost update and overdraft, one column per worker and one row per access, and a one-line summary per trial.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::explain::{Analysis, Event};
use crate::stats::{Results, TrialRecord};
use crate::vocab::{AccessKind, Mode, TrialStatus};

/// The most rows of accesses shown for one trial.
const MAX_ROWS: usize = 60;

/// The explanation of the first `limit` inconsistent traced trials of each mode.
pub fn render(results: &Results, limit: usize) -> String {
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
        let odd: Vec<_> = traced
            .iter()
            .filter(|(t, a)| {
                t.status == TrialStatus::Ok
                    && (!t.consistent || !a.lost_updates.is_empty() || !a.overdrafts.is_empty())
            })
            .collect();
        out.push('\n');
        if traced.iter().all(|(t, _)| t.status != TrialStatus::Ok) {
            let _ = writeln!(
                out,
                "{}: nothing to explain, no traced trial finished",
                mode.mode.name()
            );
        } else if odd.is_empty() {
            let _ = writeln!(
                out,
                "{}: nothing to explain, no traced trial lost money",
                mode.mode.name()
            );
        } else {
            let _ = writeln!(
                out,
                "{}: {} of {} traced trials lost money{}",
                mode.mode.name(),
                odd.len(),
                traced.len(),
                if odd.len() > limit {
                    format!("; the first {limit}:")
                } else {
                    ":".into()
                }
            );
        }
        for (t, a) in odd.iter().take(limit) {
            out.push('\n');
            trial(&mut out, mode.mode.name(), t, a, false);
        }
        for line in violations_of(mode.mode.name(), &traced) {
            let _ = writeln!(out, "\n{line}");
        }
    }
    out
}

/// One line per traced trial whose accounting identity does not hold: a bug
/// in bankrace, which the caller prints loudly.
pub fn violations(results: &Results) -> Vec<String> {
    results
        .modes
        .iter()
        .flat_map(|m| {
            let traced: Vec<_> = m
                .trials
                .iter()
                .filter_map(|t| t.trace.as_ref().map(|a| (t, a)))
                .collect();
            violations_of(m.mode.name(), &traced)
        })
        .collect()
}

fn violations_of(mode: &str, traced: &[(&TrialRecord, &Analysis)]) -> Vec<String> {
    traced
        .iter()
        .filter_map(|(t, a)| {
            let id = a.identity.as_ref()?;
            (!id.holds).then(|| {
                format!(
                    "BUG: {mode}, trial {}: the accounting identity does not hold: {}. \
                     Please report this with the command line.",
                    t.trial,
                    id.problem.as_deref().unwrap_or("unknown")
                )
            })
        })
        .collect()
}

/// The explanation of one traced trial, with every access (up to the
/// usual limit), or `None` for an untraced one.
pub fn trial_explanation(mode: Mode, t: &TrialRecord) -> Option<String> {
    let a = t.trace.as_ref()?;
    let mut out = String::new();
    trial(&mut out, mode.name(), t, a, true);
    Some(out)
}

fn trial(out: &mut String, mode: &str, t: &TrialRecord, a: &Analysis, all: bool) {
    let _ = writeln!(
        out,
        "{mode}, trial {}: {}",
        t.trial,
        crate::explain::summary(a)
    );
    let notes = notes(a);
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
    let workers: BTreeSet<(u32, &str)> =
        shown.iter().map(|e| (e.index, e.worker.as_str())).collect();
    let columns: Vec<(u32, &str)> = workers.into_iter().collect();
    let cells: Vec<String> = shown.iter().map(|e| cell(e)).collect();
    let width = cells
        .iter()
        .map(|c| c.chars().count())
        .chain(columns.iter().map(|(_, n)| n.len()))
        .max()
        .unwrap_or(0)
        + 2;
    let seq_width = shown.last().map_or(3, |e| e.seq.to_string().len().max(3));
    let mut line = format!("  {:>seq_width$}  ", "seq");
    for (_, name) in &columns {
        let _ = write!(line, "{name:<width$}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    let mut previous: Option<u64> = None;
    for (e, text) in shown.iter().zip(&cells) {
        if previous.is_some_and(|p| e.seq > p + 1) {
            let _ = writeln!(out, "  {:>seq_width$}", "...");
        }
        previous = Some(e.seq);
        let mut line = format!("  {:>seq_width$}  ", e.seq);
        for (index, _) in &columns {
            let content = if *index == e.index { text.as_str() } else { "" };
            let _ = write!(line, "{content:<width$}");
        }
        if let Some(n) = notes.get(&e.seq) {
            line.push_str(&n.join("; "));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  ({hidden} more accesses not shown: --format json and --export-trace have them all)"
        );
    }
    if let Some(id) = &a.identity {
        let gap = id.expected.wrapping_sub(id.final_balance);
        let _ = writeln!(
            out,
            "  expected {} - final {} = {gap}, lost amounts add up to {}: {}",
            id.expected,
            id.final_balance,
            id.lost,
            if id.holds {
                "the books balance"
            } else {
                "DOES NOT ADD UP (a bug)"
            }
        );
    }
}

/// What a cell shows for an access.
fn cell(e: &Event) -> String {
    match (e.access, e.overwrote) {
        (AccessKind::Check, _) if e.refused => format!("{} {} refused", e.access, e.value),
        (AccessKind::Debit | AccessKind::Atomic, Some(before)) => {
            format!("{} {before}->{}", e.access, e.value)
        }
        (access, _) => format!("{access} {}", e.value),
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
        erased
            .entry(l.erased_by_write_seq)
            .or_default()
            .push(format!(
                "{}'s {:+} (seq {})",
                l.worker, l.amount, l.write_seq
            ));
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
