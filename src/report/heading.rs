//! The lines around a report's table: the header that names the run, the notes on how it ended early, and on a database the statements each mode ran. Pure.

use std::fmt::Write as _;

use crate::duration;
use crate::plan::Plan;
use crate::stats::Results;
use crate::vocab::Scenario;

/// How the run ended, when it ended early: lines below the header.
pub(super) fn run_notes(results: &Results) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(sig) = &results.interrupted {
        notes.push(format!(
            "interrupted by {sig}: showing the trials that completed"
        ));
    }
    if results.stopped_early {
        notes.push("stopped at the first failed trial (--fail-fast)".to_string());
    }
    if let Some(lost) = &results.database_lost {
        notes.push(format!(
            "the database went away during {lost}: showing the trials that completed"
        ));
    }
    notes
}

/// On a database: what each mode ran, its isolation level and statements,
/// no line wider than `width` (a long one goes on under its first words).
pub(super) fn statements(results: &Results, width: usize) -> String {
    let names = results
        .modes
        .iter()
        .map(|m| m.mode.name().chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("what each mode ran on the database:\n");
    let indent = " ".repeat(names + 4);
    for m in &results.modes {
        let said = m.mode.statements_in(results.parameters.scenario);
        let first = format!("  {:<names$}  ", m.mode.name());
        for line in super::fit::wrap_with(said, width, &first, &indent) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The three lines above the table: the run, the workers, the balances.
pub(super) fn header(p: &Plan, seed: u64) -> [String; 3] {
    let expected = p.expected_balance();
    let [workers, accounts] = super::skew::header_lines(p);
    [
        format!(
            "bankrace: {}{} · {} trial{} per mode · seed {seed}",
            p.scenario.name(),
            p.db.as_ref()
                .map(|db| format!(" · {} at {}", p.backend, db.shown()))
                .unwrap_or_default(),
            p.trials,
            plural(u64::from(p.trials))
        ),
        if p.scenario == Scenario::WriteSkew {
            workers
        } else if p.scenario == Scenario::Transfer {
            format!(
                "{} transferer{} ({} transfer{} of 1 to {} each) and {} auditor{}{}, window {}, pause {}",
                p.transferers,
                plural(u64::from(p.transferers)),
                p.ops,
                plural(p.ops),
                p.amount,
                p.auditors,
                plural(u64::from(p.auditors)),
                if p.unlocked_audits { " (unlocked)" } else { "" },
                duration::format(p.window),
                duration::format(p.pause),
            )
        } else {
            format!(
                "{} depositor{} and {} withdrawer{}, {} operation{} of {} each, window {}, pause {}",
                p.depositors,
                plural(u64::from(p.depositors)),
                p.withdrawers,
                plural(u64::from(p.withdrawers)),
                p.ops,
                plural(p.ops),
                p.amount,
                duration::format(p.window),
                duration::format(p.pause),
            )
        },
        match p.scenario {
            Scenario::WriteSkew => accounts,
            Scenario::Transfer => format!(
                "{} accounts of {} each: the bank holds {expected}, and transfers never change that",
                p.accounts, p.initial
            ),
            Scenario::LostUpdate => format!(
                "starting balance {}, expected final balance {expected}",
                p.initial
            ),
            Scenario::Overdraft => format!(
                "starting balance {}, a bank that never overdraws ends at {expected} (deposits first)",
                p.initial
            ),
        },
    ]
}

/// "s" unless `n` is 1.
pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
