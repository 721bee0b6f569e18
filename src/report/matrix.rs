//! The reports of `bankrace matrix`, the anomaly table: text fitted to the terminal, Markdown and JSON, one row per mode and one column per scenario, each cell what [`Tally`] counted. Pure.

use std::fmt::Write as _;

use super::fit;
use crate::matrix::{Cell, MatrixResults};
use crate::stats::Tally;
use crate::vocab::{Mode, Verdict};

/// What one cell says: `anomaly in 3 of 20 trials`, `prevented (41
/// retries)`, `deadlock in 20 of 20 trials`.
pub fn cell_text(c: &Cell) -> String {
    let t: &Tally = &c.tally;
    let mut text = match c.verdict {
        Verdict::Anomaly => format!("anomaly in {} of {} trials", t.anomalies, t.trials),
        Verdict::Deadlock => format!("deadlock in {} of {} trials", t.deadlocked, t.trials),
        Verdict::Prevented => match t.all_retries() {
            0 => "prevented".to_string(),
            1 => "prevented (1 retry)".to_string(),
            r => format!("prevented ({r} retries)"),
        },
        Verdict::Failed => format!("failed in {} of {} trials", t.failed, t.trials),
        Verdict::NotRun => "not run".to_string(),
    };
    if c.verdict == Verdict::Anomaly && t.deadlocked > 0 {
        let _ = write!(text, ", {} deadlocked", t.deadlocked);
    }
    if !matches!(c.verdict, Verdict::Failed | Verdict::NotRun) && t.failed > 0 {
        let _ = write!(text, ", {} failed", t.failed);
    }
    text
}

/// The modes of every row, in [`Mode::ALL`]'s order, each once.
fn modes(r: &MatrixResults) -> Vec<Mode> {
    Mode::ALL
        .into_iter()
        .filter(|m| {
            r.scenarios
                .iter()
                .any(|s| s.cells.iter().any(|c| c.mode == *m))
        })
        .collect()
}

/// One row per mode: its name and one cell per scenario (`-` where the
/// mode does not fit the scenario).
fn grid(r: &MatrixResults, cell: impl Fn(&Cell) -> String) -> Vec<(String, Vec<String>)> {
    modes(r)
        .into_iter()
        .map(|m| {
            let cells = r
                .scenarios
                .iter()
                .map(|s| {
                    s.cells
                        .iter()
                        .find(|c| c.mode == m)
                        .map_or_else(|| "-".to_string(), &cell)
                })
                .collect();
            (m.name().to_string(), cells)
        })
        .collect()
}

/// Where the table was measured: `20 trials per cell, on the memory-mapped
/// ledger, seed 7`, or on PostgreSQL 15.4 (embedded).
fn heading(r: &MatrixResults) -> String {
    let place = match (&r.db, &r.server_version) {
        (Some(db), Some(v)) => format!("PostgreSQL {v} ({})", db.shown()),
        (Some(db), None) => format!("PostgreSQL ({})", db.shown()),
        _ => "the memory-mapped ledger".to_string(),
    };
    format!(
        "The anomaly table: {} trial{} per cell, on {place}, seed {}",
        r.trials,
        if r.trials == 1 { "" } else { "s" },
        r.seed
    )
}

/// What the words of a cell mean; the retries only where there can be some.
fn legend(r: &MatrixResults) -> String {
    let retries = if r.db.is_some() {
        "; retries count the transactions the database retried (40001, 40P01) and the \
         compare-and-set writes that missed"
    } else {
        ""
    };
    format!(
        "anomaly: a trial ended off the books (a lost update), overdrew, broke the bank's \
         invariants (money changed, an account negative, an audit saw a wrong total), or took \
         the write skew's sum below zero. \
         deadlock: the workers' locks waited for each other in a cycle. prevented: every \
         trial ended right{retries}. Failed trials (a worker died or timed out) count for \
         neither."
    )
}

/// The text report, no line wider than `width`.
pub fn text(r: &MatrixResults, width: usize) -> String {
    let mut out = String::new();
    for l in fit::wrap(&heading(r), width) {
        let _ = writeln!(out, "{l}");
    }
    out.push('\n');
    let columns: Vec<String> = r
        .scenarios
        .iter()
        .map(|s| s.scenario.name().to_string())
        .collect();
    for line in fit::table(&columns, &grid(r, cell_text), width) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    for l in fit::wrap(&legend(r), width) {
        let _ = writeln!(out, "{l}");
    }
    if let Some(sig) = &r.interrupted {
        out.push('\n');
        let note = format!("interrupted by {sig}: the cells marked \"not run\" did not run.");
        for l in fit::wrap(&note, width) {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

/// The Markdown report: the heading, one table, the legend, and the
/// facts a JSON document carries on top.
pub fn markdown(r: &MatrixResults) -> String {
    let mut out = format!("**{}**\n\n", super::markdown::escape(&heading(r)));
    let _ = write!(out, "| mode |");
    for s in &r.scenarios {
        let _ = write!(out, " {} |", s.scenario.name());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(r.scenarios.len()));
    out.push('\n');
    for (mode, cells) in grid(r, cell_text) {
        let _ = writeln!(out, "| {mode} | {} |", cells.join(" | "));
    }
    let _ = writeln!(out, "\n{}", legend(r));
    if let Some(sig) = &r.interrupted {
        let _ = writeln!(
            out,
            "\nInterrupted by {sig}: the cells marked \"not run\" did not run."
        );
    }
    let facts = format!(
        "bankrace {}, schema {} · {}",
        super::json::BANKRACE_VERSION,
        super::json::SCHEMA_VERSION,
        r.host.describe()
    );
    let _ = writeln!(out, "\n*{}*", super::markdown::escape(&facts));
    out
}

/// The JSON document: the versions, then [`MatrixResults`]' fields.
pub fn json(r: &MatrixResults) -> String {
    super::json::document(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(verdict: Verdict, anomalies: u32, deadlocked: u32, failed: u32, retries: u64) -> Cell {
        Cell {
            mode: Mode::NoLock,
            verdict,
            tally: Tally {
                trials: 20,
                anomalies,
                deadlocked,
                failed,
                retries,
                ..Tally::default()
            },
            ops_per_sec: 0.0,
        }
    }

    /// Two rows whose modes differ, on a server named by a URL.
    fn results() -> MatrixResults {
        use crate::matrix::ScenarioRow;
        use crate::plan::{Plan, Request};
        use crate::vocab::{BackendKind, Scenario};
        let plan = |scenario| {
            let r = Request {
                scenario: Some(scenario),
                trials: 20,
                ..Request::default()
            };
            Plan::build(r, || 1).unwrap()
        };
        let row = |scenario, cells| ScenarioRow {
            scenario,
            parameters: plan(scenario),
            cells,
        };
        let mut deadlocked = cell(Verdict::Deadlock, 0, 20, 0, 0);
        deadlocked.mode = Mode::MutexUnordered;
        let mut locked = cell(Verdict::Prevented, 0, 0, 0, 0);
        locked.mode = Mode::Mutex;
        MatrixResults {
            host: crate::host::Host::fixture(),
            seed: 1,
            trials: 20,
            backend: BackendKind::Postgres,
            db: Some(crate::backend::DbTarget::Url(
                "postgresql://me:secret@db_1/x".into(),
            )),
            server_version: Some("15.4".into()),
            scenarios: vec![
                row(
                    Scenario::LostUpdate,
                    vec![cell(Verdict::Anomaly, 20, 0, 0, 0), locked.clone()],
                ),
                row(
                    Scenario::Transfer,
                    vec![cell(Verdict::Anomaly, 3, 0, 0, 0), deadlocked, locked],
                ),
            ],
            interrupted: None,
            signal: None,
        }
    }

    #[test]
    fn markdown_has_a_row_per_mode_a_dash_where_it_does_not_fit_and_no_password() {
        let md = markdown(&results());
        assert!(md.starts_with("**The anomaly table: 20 trials per cell, on PostgreSQL 15.4"));
        assert!(md.contains("postgresql://me@db\\_1/x"), "{md}");
        assert!(!md.contains("secret"));
        assert!(
            md.contains("| mode | lost-update | transfer |\n|---|---|---|\n"),
            "{md}"
        );
        assert!(
            md.contains("| no lock | anomaly in 20 of 20 trials | anomaly in 3 of 20 trials |")
        );
        assert!(md.contains("| mutex | prevented | prevented |"));
        assert!(md.contains("| mutex-unordered | - | deadlock in 20 of 20 trials |"));
        let text = text(&results(), 60);
        assert!(text.lines().all(|l| fit::width_of(l) <= 60), "{text}");
        assert!(text.contains("deadlock in 20 of 20 trials"), "{text}");
        // Retries are explained where a database could have paid some.
        assert!(md.contains("40001"));
        let mut memory = results();
        memory.db = None;
        assert!(!markdown(&memory).contains("40001"));
    }

    #[test]
    fn cells_say_what_their_tally_counted() {
        assert_eq!(
            cell_text(&cell(Verdict::Anomaly, 3, 0, 0, 0)),
            "anomaly in 3 of 20 trials"
        );
        assert_eq!(
            cell_text(&cell(Verdict::Anomaly, 3, 2, 1, 0)),
            "anomaly in 3 of 20 trials, 2 deadlocked, 1 failed"
        );
        assert_eq!(
            cell_text(&cell(Verdict::Deadlock, 0, 20, 0, 0)),
            "deadlock in 20 of 20 trials"
        );
        assert_eq!(
            cell_text(&cell(Verdict::Prevented, 0, 0, 0, 0)),
            "prevented"
        );
        assert_eq!(
            cell_text(&cell(Verdict::Prevented, 0, 0, 0, 41)),
            "prevented (41 retries)"
        );
        assert_eq!(
            cell_text(&cell(Verdict::Failed, 0, 0, 20, 0)),
            "failed in 20 of 20 trials"
        );
    }
}
