//! The transfer scenario's part of the text report: the rows on the bank's invariants (money changed, deadlocks, audits, negative balances) and each mode's verdict. Pure.

use std::time::Duration;

use super::{Row, Tone};
use crate::duration;
use crate::stats::{ModeResult, Results, Summary};
use crate::vocab::TrialStatus;

/// The table rows on the bank's invariants, one cell per mode.
pub(super) fn rows(results: &Results) -> Vec<Row> {
    let cells = |cell: &dyn Fn(&Summary) -> String| -> Vec<String> {
        results.modes.iter().map(|m| cell(&m.summary)).collect()
    };
    let mut rows: Vec<Row> = vec![
        (
            TrialStatus::Deadlocked.name(),
            cells(&|s| s.deadlocked.to_string()),
        ),
        (
            "money changed",
            cells(&|s| {
                format!(
                    "{} (-{} +{})",
                    s.money_changed, s.bank.money_lost, s.bank.money_created
                )
            }),
        ),
        ("negative balance", cells(&|s| s.bank.negative.to_string())),
    ];
    if results.parameters.auditors > 0 {
        rows.push((
            "wrong audits",
            cells(&|s| format!("{} of {}", s.audits_wrong_total, s.bank.audits)),
        ));
        rows.push((
            "audit totals seen",
            cells(&|s| seen(s, &results.parameters.total())),
        ));
    }
    if results.modes.iter().any(|m| m.summary.deadlocked > 0) {
        rows.push((
            "deadlock found in",
            cells(&|s| detection(&s.bank.detection)),
        ));
    }
    rows
}

/// "312..455" when some audit saw a wrong total, else "all 400".
fn seen(s: &Summary, total: &i64) -> String {
    match s.bank.wrong_totals {
        Some((lo, hi)) => format!("{}..{}", lo.min(*total), hi.max(*total)),
        None if s.bank.audits > 0 => format!("all {total}"),
        None => "-".into(),
    }
}

/// "21ms (max 30ms)": the median and the longest time from a cycle closing
/// to its confirmation.
fn detection(sorted: &[Duration]) -> String {
    match sorted {
        [] => "-".into(),
        _ => format!(
            "{} (max {})",
            duration::human(sorted[sorted.len() / 2]),
            duration::human(sorted[sorted.len() - 1])
        ),
    }
}

/// One mode's sentence in the verdict line.
pub(super) fn verdict(m: &ModeResult) -> (String, Tone) {
    let s = &m.summary;
    let mut parts = Vec::new();
    if s.consistent == s.trials {
        parts.push(format!("{} of {} exact", s.consistent, s.trials));
    }
    if s.money_changed > 0 {
        parts.push(format!(
            "money changed in {} of {} trials",
            s.money_changed, s.trials
        ));
    }
    if s.deadlocked > 0 {
        parts.push(format!("{} of {} deadlocked", s.deadlocked, s.trials));
    }
    if s.audits_wrong_total > 0 {
        parts.push(format!(
            "{} of {} audits saw a wrong total",
            s.audits_wrong_total, s.bank.audits
        ));
    }
    if s.bank.negative > 0 {
        parts.push(format!("{} with a negative balance", s.bank.negative));
    }
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if parts.is_empty() {
        parts.push(format!("{} of {} exact", s.consistent, s.trials));
    }
    let tone = if s.consistent == s.trials {
        Tone::Good
    } else {
        Tone::Bad
    };
    (parts.join(", "), tone)
}
