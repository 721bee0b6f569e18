//! The write-skew scenario's part of the text report: the lines that say who debits what and what the constraint is, and each mode's verdict (the sum never below zero, or how often it went). Pure.

use super::Tone;
use crate::duration;
use crate::plan::Plan;
use crate::stats::ModeResult;

/// The header's second and third lines: the withdrawers and their debits,
/// the accounts and the constraint.
pub(super) fn header_lines(p: &Plan) -> [String; 2] {
    [
        format!(
            "{} withdrawers, each debits {} from its own account ({} debit{} each) \
             if the sum of all covers it, window {}, pause {}",
            p.withdrawers,
            p.amount,
            p.ops,
            if p.ops == 1 { "" } else { "s" },
            duration::format(p.window),
            duration::format(p.pause),
        ),
        format!(
            "{} accounts of {} each: the sum starts at {} and must never go below 0 \
             (one at a time, the debits end at {})",
            p.accounts,
            p.initial,
            p.total(),
            p.expected_balance()
        ),
    ]
}

/// One mode's part of the verdict, and its tone.
pub(super) fn verdict(m: &ModeResult) -> (String, Tone) {
    let s = &m.summary;
    if s.trials == 0 {
        return ("not run".into(), Tone::Warn);
    }
    let ok = s.trials - s.failed - s.deadlocked;
    let mut part = if s.constraint_broken > 0 {
        format!(
            "sum below zero in {} of {} trials (lowest {})",
            s.constraint_broken,
            s.trials,
            s.min.map_or_else(|| "-".into(), |v| v.to_string())
        )
    } else if s.inconsistent == 0 {
        format!("sum never below zero in {ok} of {}", s.trials)
    } else {
        format!(
            "{} of {} trials ended off the books",
            s.inconsistent, s.trials
        )
    };
    if s.failed > 0 {
        part.push_str(&format!(", {} failed", s.failed));
    }
    let tone = if s.inconsistent > 0 {
        Tone::Bad
    } else if s.failed > 0 {
        Tone::Warn
    } else {
        Tone::Good
    };
    (part, tone)
}
