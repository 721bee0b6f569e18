//! The report for people: the modes side by side in one table, a histogram per mode, and a verdict in plain words.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::duration;
use crate::histogram;
use crate::plan::Plan;
use crate::stats::{ModeResult, Results, Summary};
use crate::vocab::Scenario;

/// The widest histogram bar, chosen so that lines stay within 80 columns.
const BAR_WIDTH: usize = 40;
/// The most bins a histogram gets.
const MAX_BINS: usize = 16;
/// How the histogram flags the bin holding the expected balance.
const MARKER: &str = "◀ expected";

/// Whether the report carries ANSI colours. The caller decides (a terminal,
/// `NO_COLOR`, `--color`); rendering stays a pure function of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Color,
}

/// What a piece of text says, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    /// Titles and mode names.
    Strong,
    /// Exact, never overdrawn.
    Good,
    /// Lost updates, overdrafts.
    Bad,
    /// Failed trials.
    Warn,
}

impl Paint {
    fn paint(self, tone: Tone, text: &str) -> String {
        if self == Paint::Plain || text.is_empty() {
            return text.to_string();
        }
        let style = match tone {
            Tone::Strong => Style::new().bold(),
            Tone::Good => AnsiColor::Green.on_default(),
            Tone::Bad => AnsiColor::Red.on_default().bold(),
            Tone::Warn => AnsiColor::Yellow.on_default(),
        };
        format!("{style}{text}{style:#}")
    }
}

/// The whole report, without colour.
pub fn render(results: &Results) -> String {
    render_with(results, Paint::Plain)
}

/// The whole report; with [`Paint::Color`], the same text with ANSI styles
/// around titles, mode names, the expected-balance marker and the verdict.
pub fn render_with(results: &Results, paint: Paint) -> String {
    let mut out = String::new();
    let lines = header(&results.parameters, results.seed);
    let _ = writeln!(out, "{}", paint.paint(Tone::Strong, &lines[0]));
    for line in &lines[1..] {
        let _ = writeln!(out, "{line}");
    }
    for line in run_notes(results) {
        let _ = writeln!(out, "{}", paint.paint(Tone::Warn, &line));
    }
    out.push('\n');
    table(&mut out, results, paint);
    if results.modes.iter().any(|m| m.summary.holder_killed > 0) {
        out.push_str(
            "a trial whose lock holder died expects only the operations its workers completed:\n\
             its deviation is the money lost beyond the dead worker's unfinished share\n",
        );
    }
    for mode in &results.modes {
        out.push('\n');
        histogram_of(&mut out, mode, paint);
    }
    out.push('\n');
    out.push_str(&verdict_with(results, paint));
    out.push('\n');
    out
}

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
    notes
}

/// The three lines above the table: the run, the workers, the balances.
pub(super) fn header(p: &Plan, seed: u64) -> [String; 3] {
    let expected = p.expected_balance();
    [
        format!(
            "bankrace: {} · {} trial{} per mode · seed {seed}",
            p.scenario.name(),
            p.trials,
            plural(u64::from(p.trials))
        ),
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
        ),
        match p.scenario {
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

/// One row of the side-by-side summary: a label and one cell per mode.
pub(super) type Row = (&'static str, Vec<String>);

/// The side-by-side summary as rows of cells, one column per mode, in the
/// order the text and Markdown tables show them (mode names not included).
pub(super) fn summary_rows(results: &Results) -> Vec<Row> {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let any_failed = results.modes.iter().any(|m| m.summary.failed > 0);
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |label: &'static str, cell: &dyn Fn(&Summary) -> String| {
        rows.push((
            label,
            results.modes.iter().map(|m| cell(&m.summary)).collect(),
        ));
    };
    if overdraft {
        row("never overdrawn", &|s| {
            format!("{} of {}", s.consistent, s.trials)
        });
        row("overdrawn", &|s| s.overdrawn.to_string());
        row("paid beyond funds", &|s| s.overpaid.to_string());
    } else {
        row("exact trials", &|s| {
            format!("{} of {}", s.consistent, s.trials)
        });
    }
    if any_failed {
        row("failed trials", &|s| s.failed.to_string());
    }
    if results.parameters.kill_holder > 0.0 {
        row("holder killed", &|s| s.holder_killed.to_string());
        row("completed anyway", &|s| s.survived_kill.to_string());
    }
    row("min", &|s| opt_int(s.min));
    row("median", &|s| opt_num(s.median, 1));
    row("max", &|s| opt_int(s.max));
    row("mean ± σ", &|s| match (s.mean, s.stddev) {
        (Some(m), Some(sd)) => format!("{m:.1} ± {sd:.1}"),
        _ => "-".into(),
    });
    if !overdraft {
        row("total deviation", &|s| s.total_deviation.to_string());
        row("mean deviation", &|s| opt_num(s.mean_deviation, 2));
    }
    row("time per trial", &|s| {
        if s.trials == 0 {
            return "-".into();
        }
        duration::human(std::time::Duration::from_secs_f64(s.mean_trial_ms / 1e3))
    });
    row("throughput", &|s| {
        if s.trials == 0 {
            return "-".into();
        }
        format!("{} ops/s", si(s.ops_per_sec))
    });
    rows
}

/// The side-by-side table: one row per statistic, one column per mode.
fn table(out: &mut String, results: &Results, paint: Paint) {
    let mut rows = summary_rows(results);
    // The header row holds the mode names.
    rows.insert(
        0,
        (
            "",
            results
                .modes
                .iter()
                .map(|m| m.mode.name().to_string())
                .collect(),
        ),
    );
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let col_width = rows
        .iter()
        .flat_map(|(_, cells)| cells.iter().map(|c| c.chars().count()))
        .max()
        .unwrap_or(0)
        + 2;
    for (i, (label, cells)) in rows.into_iter().enumerate() {
        let mut line = format!("{label:<label_width$}");
        for cell in cells {
            let _ = write!(line, "{cell:>col_width$}");
        }
        let line = line.trim_end();
        if i == 0 {
            out.push_str(&paint.paint(Tone::Strong, line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn histogram_of(out: &mut String, mode: &ModeResult, paint: Paint) {
    let ok = mode.summary.trials - mode.summary.failed;
    let _ = writeln!(
        out,
        "{}: final balances of {} trial{}",
        paint.paint(Tone::Strong, mode.mode.name()),
        ok,
        plural(u64::from(ok))
    );
    for line in histogram::render(
        &histogram::bins(&mode.balances, MAX_BINS),
        BAR_WIDTH,
        Some(mode.expected_balance),
    ) {
        let line = line.replace(MARKER, &paint.paint(Tone::Good, MARKER));
        let _ = writeln!(out, "  {line}");
    }
    for (cause, trials) in failures_by_cause(mode) {
        let text = match trials.as_slice() {
            [one] => format!("trial {one} failed: {cause}"),
            many => format!("trials {} failed: {cause}", list_trials(many)),
        };
        let _ = writeln!(out, "  {}", paint.paint(Tone::Warn, &text));
    }
}

/// The failed trials of a mode, grouped by cause in order of first
/// appearance, so that a lock that fails the same way in every trial says so
/// once.
fn failures_by_cause(mode: &ModeResult) -> Vec<(&str, Vec<u32>)> {
    // The causes are already in order of first appearance.
    let mut groups: Vec<(&str, Vec<u32>)> = mode
        .causes
        .iter()
        .map(|c| (c.as_str(), Vec::new()))
        .collect();
    for &(trial, cause) in &mode.failures {
        groups[cause as usize].1.push(trial);
    }
    groups
}

/// "1, 2, 5", or "1, 2, 3, 4, 5 and 45 more" for long lists.
fn list_trials(trials: &[u32]) -> String {
    const SHOWN: usize = 5;
    let head: Vec<String> = trials.iter().take(SHOWN).map(u32::to_string).collect();
    match trials.len().checked_sub(SHOWN) {
        Some(rest) if rest > 0 => format!("{} and {rest} more", head.join(", ")),
        _ => head.join(", "),
    }
}

/// One sentence per mode: what happened, in words. The line `--quiet` prints.
pub fn verdict(results: &Results) -> String {
    verdict_with(results, Paint::Plain)
}

/// [`verdict`], each mode's part coloured by what it shows.
pub fn verdict_with(results: &Results, paint: Paint) -> String {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let parts: Vec<String> = results
        .modes
        .iter()
        .map(|m| {
            let s = &m.summary;
            let ok = s.trials - s.failed;
            if s.trials == 0 {
                return format!("{}: not run", m.mode.name());
            }
            let mut part = if s.inconsistent == 0 {
                if overdraft {
                    format!(
                        "{}: never overdrawn in {} of {}",
                        m.mode.name(),
                        ok,
                        s.trials
                    )
                } else {
                    format!("{}: {} of {} exact", m.mode.name(), ok, s.trials)
                }
            } else if overdraft {
                format!(
                    "{}: {} of {} trials overdrawn, {} paid beyond the funds",
                    m.mode.name(),
                    s.overdrawn,
                    s.trials,
                    s.overpaid
                )
            } else {
                format!(
                    "{}: {} of {} trials lost updates (total {:+})",
                    m.mode.name(),
                    s.inconsistent,
                    s.trials,
                    s.total_deviation
                )
            };
            if s.failed > 0 {
                let _ = write!(part, ", {} failed", s.failed);
            }
            if s.holder_killed > 0 {
                let _ = write!(
                    part,
                    " ({} of {} trials with a dead lock holder completed)",
                    s.survived_kill, s.holder_killed
                );
            }
            let tone = if s.inconsistent > 0 {
                Tone::Bad
            } else if s.failed > 0 {
                Tone::Warn
            } else {
                Tone::Good
            };
            paint.paint(tone, &part)
        })
        .collect();
    parts.join("; ")
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn opt_int(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn opt_num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.digits$}"),
        None => "-".into(),
    }
}

/// 7.0k, 45.1M, 812: three significant figures with an SI prefix.
pub(super) fn si(v: f64) -> String {
    let (v, prefix) = if v >= 1e9 {
        (v / 1e9, "G")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if v >= 100.0 || prefix.is_empty() {
        format!("{v:.0}{prefix}")
    } else {
        format!("{v:.1}{prefix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_of_trials_are_cut() {
        assert_eq!(list_trials(&[1, 2, 5]), "1, 2, 5");
        assert_eq!(
            list_trials(&(1..=50).collect::<Vec<_>>()),
            "1, 2, 3, 4, 5 and 45 more"
        );
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(7_012.0), "7.0k");
        assert_eq!(si(45_100_000.0), "45.1M");
        assert_eq!(si(812.0), "812");
        assert_eq!(si(0.0), "0");
    }

    /// Removes ANSI SGR sequences (`ESC [ ... m`).
    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colour_is_only_added_when_asked_for_and_changes_no_text() {
        let results = crate::report::fixtures::results();
        let plain = render(&results);
        let colored = render_with(&results, Paint::Color);
        assert!(!plain.contains('\x1b'), "plain text has escapes");
        assert!(colored.contains('\x1b'), "no escapes in colour");
        assert_eq!(strip_ansi(&colored), plain);
        assert_eq!(
            strip_ansi(&verdict_with(&results, Paint::Color)),
            verdict(&results)
        );
    }

    #[test]
    fn snapshot_with_a_failed_trial() {
        insta::assert_snapshot!(render(&crate::report::fixtures::results()));
    }

    #[test]
    fn more_snapshots() {
        use crate::report::fixtures;
        insta::assert_snapshot!("overdraft", render(&fixtures::overdraft()));
        insta::assert_snapshot!("interrupted", render(&fixtures::interrupted()));
    }
}
