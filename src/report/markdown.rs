//! The Markdown report: the side-by-side summary as a table, with the run's parameters above it and the verdict below, for slides and pull-request comments; for transfers, a table of every trial's books too.

use std::fmt::Write as _;

use crate::stats::{ModeResult, Results};
use crate::vocab::Scenario;

pub fn render(results: &Results) -> String {
    let [title, workers, balances] = super::heading::header(&results.parameters, results.seed);
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", escape(&title));
    let _ = writeln!(out, "{}; {}\n", escape(&workers), escape(&balances));
    for note in super::heading::run_notes(results) {
        let _ = writeln!(out, "*{}*\n", escape(&note));
    }

    let names: Vec<String> = results
        .modes
        .iter()
        .map(|m| escape(m.mode.name()))
        .collect();
    let _ = writeln!(out, "| | {} |", names.join(" | "));
    let _ = writeln!(out, "|:--|{}", "--:|".repeat(names.len()));
    for (label, cells) in super::text::summary_rows(results) {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        let _ = writeln!(out, "| {} | {} |", escape(label), cells.join(" | "));
    }
    out.push('\n');
    let mut any_failed = false;
    for mode in &results.modes {
        for &(trial, cause) in &mode.failures {
            any_failed = true;
            let (status, cause) = &mode.causes[cause as usize];
            let _ = writeln!(
                out,
                "- {}: trial {} {}: {}",
                escape(mode.mode.name()),
                trial,
                status,
                escape(cause)
            );
        }
    }
    if any_failed {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", escape(&super::text::verdict(results)));
    if results.parameters.scenario == Scenario::Transfer {
        out.push('\n');
        bank_trials(&mut out, &results.modes);
    }
    // The facts a JSON file carries on top, so that two tables can be compared.
    let _ = writeln!(
        out,
        "\n*{}*",
        escape(&format!(
            "bankrace {}, schema {} · {}",
            super::json::BANKRACE_VERSION,
            super::json::SCHEMA_VERSION,
            results.host.describe()
        ))
    );
    out
}

/// The transfer scenario's per-trial facts, as the JSON and CSV have them:
/// one row per trial of every mode.
fn bank_trials(out: &mut String, modes: &[ModeResult]) {
    let _ = writeln!(
        out,
        "| mode | trial | status | total before | total after | negative accounts \
         | transfers | refused | audits | wrong audits | deadlock |"
    );
    let _ = writeln!(out, "|:--|--:|:--|--:|--:|:--|--:|--:|--:|--:|:--|");
    for m in modes {
        for t in &m.trials {
            let Some(b) = &t.bank else { continue };
            let list = |v: &[u32]| -> String {
                let names: Vec<String> = v.iter().map(|a| format!("#{a}")).collect();
                names.join(" ")
            };
            let cycle: Vec<String> = b
                .deadlock
                .iter()
                .flatten()
                .map(|l| {
                    format!(
                        "{} holds {}, waits for #{}",
                        l.worker,
                        list(&l.holds),
                        l.waits_for
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                escape(m.mode.name()),
                t.trial,
                t.status,
                b.total_before,
                b.total_after,
                escape(&list(&b.negative_accounts)),
                b.transfers,
                b.transfers_refused,
                b.audits,
                b.audits_wrong_total,
                escape(&cycle.join("; ")),
            );
        }
    }
}

/// Escapes the characters that would end a table cell or start emphasis,
/// code or a link.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn escapes_what_markdown_would_interpret() {
        assert_eq!(escape("a|b *c*"), r"a\|b \*c\*");
        assert_eq!(escape("± σ ·"), "± σ ·");
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&fixtures::results()));
    }

    #[test]
    fn interrupted_snapshot() {
        insta::assert_snapshot!("interrupted", render(&fixtures::interrupted()));
    }

    #[test]
    fn an_interrupted_run_says_so_above_the_table() {
        let mut results = fixtures::results();
        results.interrupted = Some("SIGINT".into());
        let md = render(&results);
        let note = md.find("*interrupted by SIGINT: showing the trials that completed*");
        assert!(note.is_some_and(|at| at < md.find("| |").unwrap()), "{md}");
    }

    #[test]
    fn overdraft_snapshot() {
        insta::assert_snapshot!(render(&fixtures::overdraft()));
    }
}
