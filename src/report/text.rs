//! The report for people: the modes side by side in one table, a histogram per mode, and a verdict in plain words.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::fit;
use crate::duration;
use crate::histogram;
use crate::stats::{ModeResult, Results, Summary};
use crate::vocab::{BackendKind, Scenario, TrialStatus};

use super::heading::{header, plural, run_notes, statements};
use super::{Row, Tone};

/// The widest histogram bar, however wide the terminal.
const BAR_WIDTH: usize = 40;
/// The most bins a histogram gets.
const MAX_BINS: usize = 16;

/// Whether the report carries ANSI colours. The caller decides (a terminal,
/// `NO_COLOR`, `--color`); rendering stays a pure function of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Plain,
    Color,
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

/// The whole report, without colour, in 80 columns.
pub fn render(results: &Results) -> String {
    render_with(results, Paint::Plain, 80)
}

/// The whole report, no line wider than `width` columns: wide tables stack
/// their modes, histogram bars shrink, long sentences wrap. With
/// [`Paint::Color`], the same text with ANSI styles around titles, mode
/// names, the expected-balance marker and the verdict.
pub fn render_with(results: &Results, paint: Paint, width: usize) -> String {
    let mut out = String::new();
    let mut lines = header(&results.parameters, results.seed).to_vec();
    if let Some(schedule) = &results.parameters.schedule {
        lines.push(format!("forced schedule: {schedule}"));
    }
    for (i, line) in lines.iter().enumerate() {
        let tone = if i == 0 { Some(Tone::Strong) } else { None };
        wrapped(&mut out, line, width, paint, tone);
    }
    for line in run_notes(results) {
        wrapped(&mut out, &line, width, paint, Some(Tone::Warn));
    }
    out.push('\n');
    table(&mut out, results, paint, width);
    if results.parameters.backend == BackendKind::Postgres {
        out.push('\n');
        out.push_str(&statements(results, width));
    }
    if results.modes.iter().any(|m| m.summary.holder_killed > 0) {
        wrapped(
            &mut out,
            "a trial whose lock holder died expects only the operations its workers completed: \
             its deviation is the money lost beyond the dead worker's unfinished share",
            width,
            paint,
            None,
        );
    }
    if results.modes.iter().any(|m| m.summary.rolled_back > 0) {
        wrapped(
            &mut out,
            "rolled back: the killed worker died inside its transaction; the server rolled it \
             back when the connection dropped, which released its locks, and the others went on",
            width,
            paint,
            None,
        );
    }
    for mode in &results.modes {
        out.push('\n');
        histogram_of(&mut out, mode, paint, width);
    }
    out.push('\n');
    out.push_str(&verdict_fitted(results, paint, width));
    out.push('\n');
    out
}

/// `text` wrapped to `width` with a hanging indent of two spaces, each
/// line painted in `tone`.
fn wrapped(out: &mut String, text: &str, width: usize, paint: Paint, tone: Option<Tone>) {
    for line in fit::wrap_with(text, width, "", "  ") {
        let line = match tone {
            Some(t) => paint.paint(t, &line),
            None => line,
        };
        let _ = writeln!(out, "{line}");
    }
}

/// The side-by-side summary as rows of cells, one column per mode, in the
/// order the text and Markdown tables show them (mode names not included).
pub(super) fn summary_rows(results: &Results) -> Vec<Row> {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let skew = results.parameters.scenario == Scenario::WriteSkew;
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
    } else if skew {
        row("sum never below 0", &|s| {
            format!("{} of {}", s.consistent, s.trials)
        });
        row("constraint broken", &|s| s.constraint_broken.to_string());
    } else {
        row("exact trials", &|s| {
            format!("{} of {}", s.consistent, s.trials)
        });
    }
    if any_failed {
        row("failed trials", &|s| s.failed.to_string());
    }
    if results.parameters.scenario == Scenario::Transfer {
        rows.extend(super::bank::rows(results));
    }
    let mut row = |label: &'static str, cell: &dyn Fn(&Summary) -> String| {
        rows.push((
            label,
            results.modes.iter().map(|m| cell(&m.summary)).collect(),
        ));
    };
    if results.parameters.kill_holder > 0.0 {
        row("holder killed", &|s| s.holder_killed.to_string());
        row("completed anyway", &|s| s.survived_kill.to_string());
        if results.parameters.backend == BackendKind::Postgres {
            row("rolled back", &|s| s.rolled_back.to_string());
        }
    }
    row("min", &|s| opt_int(s.min));
    row("median", &|s| opt_num(s.median, 1));
    row("max", &|s| opt_int(s.max));
    row("mean ± σ", &|s| match (s.mean, s.stddev) {
        (Some(m), Some(sd)) => format!("{m:.1} ± {sd:.1}"),
        _ => "-".into(),
    });
    if !overdraft && !skew {
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
    if results.parameters.backend == BackendKind::Postgres {
        row("retries (40001)", &|s| s.retries.to_string());
        row("deadlock aborts", &|s| s.deadlock_aborts.to_string());
        row("cas misses", &|s| s.cas_misses.to_string());
    }
    rows
}

/// The side-by-side table: one row per statistic, one column per mode;
/// when the modes do not fit side by side, they stack in narrower tables.
fn table(out: &mut String, results: &Results, paint: Paint, width: usize) {
    let columns: Vec<String> = results
        .modes
        .iter()
        .map(|m| m.mode.name().to_string())
        .collect();
    let rows: Vec<(String, Vec<String>)> = summary_rows(results)
        .into_iter()
        .map(|(label, cells)| (label.to_string(), cells))
        .collect();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    for line in fit::table(&columns, &rows, width) {
        // The heading rows hold only mode names.
        let heading = !line.is_empty()
            && line
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .all(|c| names.contains(&c));
        if heading {
            out.push_str(&paint.paint(Tone::Strong, &line));
        } else {
            out.push_str(&line);
        }
        out.push('\n');
    }
}

fn histogram_of(out: &mut String, mode: &ModeResult, paint: Paint, width: usize) {
    let ok = mode.summary.trials - mode.summary.failed - mode.summary.deadlocked;
    let _ = writeln!(
        out,
        "{}: {} of {} trial{}",
        paint.paint(Tone::Strong, mode.mode.name()),
        if mode.banked {
            "bank totals"
        } else {
            "final balances"
        },
        ok,
        plural(u64::from(ok))
    );
    let bins = histogram::bins(&mode.balances, MAX_BINS);
    let rows: Vec<(String, u64)> = bins
        .iter()
        .map(|b| {
            let label = if b.lo == b.hi {
                b.lo.to_string()
            } else {
                format!("{}..{}", b.lo, b.hi)
            };
            (label, u64::from(b.count))
        })
        .collect();
    let marked = bins
        .iter()
        .position(|b| (b.lo..=b.hi).contains(&mode.expected_balance));
    // Bars no longer than BAR_WIDTH, so that a wide terminal does not
    // stretch them; shorter when the width asks for it.
    let label_w = rows.iter().map(|r| fit::width_of(&r.0)).max().unwrap_or(0);
    let count_w = rows
        .iter()
        .map(|r| r.1.to_string().len())
        .max()
        .unwrap_or(1);
    let marker_w = if marked.is_some() {
        1 + fit::width_of(fit::MARKER)
    } else {
        0
    };
    let natural = label_w + 2 + BAR_WIDTH + 1 + count_w + marker_w;
    for line in fit::histogram(&rows, natural.min(width.saturating_sub(2)), marked) {
        let line = line.replace(fit::MARKER, &paint.paint(Tone::Good, fit::MARKER));
        let _ = writeln!(out, "  {line}");
    }
    for (status, cause, trials) in failures_by_cause(mode) {
        let text = match trials.as_slice() {
            [one] => format!("trial {one} {status}: {cause}"),
            many => format!("trials {} {status}: {cause}", list_trials(many)),
        };
        for line in fit::wrap_with(&text, width, "  ", "    ") {
            let _ = writeln!(out, "{}", paint.paint(Tone::Warn, &line));
        }
    }
}

/// The failed trials of a mode, grouped by cause in order of first
/// appearance, so that a lock that fails the same way in every trial says so
/// once.
fn failures_by_cause(mode: &ModeResult) -> Vec<(TrialStatus, &str, Vec<u32>)> {
    // The causes are already in order of first appearance.
    let mut groups: Vec<(TrialStatus, &str, Vec<u32>)> = mode
        .causes
        .iter()
        .map(|(status, c)| (*status, c.as_str(), Vec::new()))
        .collect();
    for &(trial, cause) in &mode.failures {
        groups[cause as usize].2.push(trial);
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

/// The verdict fitted to `width`: on one line when it fits, else each
/// mode's part on lines of its own (wrapped, indented after the first).
pub fn verdict_fitted(results: &Results, paint: Paint, width: usize) -> String {
    let parts = verdict_parts(results);
    let n = parts.len();
    let texts: Vec<(String, Tone)> = parts
        .into_iter()
        .enumerate()
        .map(|(i, (m, text, tone))| {
            let sep = if i + 1 < n { ";" } else { "" };
            (format!("{}: {text}{sep}", m.mode.name()), tone)
        })
        .collect();
    let one: String = texts
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if fit::width_of(&one) <= width {
        return verdict_with(results, paint);
    }
    let mut lines = Vec::new();
    for (text, tone) in &texts {
        for line in fit::wrap_with(text, width, "", "  ") {
            lines.push(paint.paint(*tone, &line));
        }
    }
    lines.join("\n")
}

/// [`verdict`], each mode's part coloured by what it shows.
pub fn verdict_with(results: &Results, paint: Paint) -> String {
    verdict_parts(results)
        .into_iter()
        .map(|(m, text, tone)| paint.paint(tone, &format!("{}: {text}", m.mode.name())))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each mode's part of the verdict, without the mode's name, and what it
/// shows. The HTML report lists them one per line.
pub(crate) fn verdict_parts(results: &Results) -> Vec<(&ModeResult, String, Tone)> {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let transfer = results.parameters.scenario == Scenario::Transfer;
    results
        .modes
        .iter()
        .map(|m| {
            let (text, tone) = if transfer {
                super::bank::verdict(m)
            } else if results.parameters.scenario == Scenario::WriteSkew {
                super::skew::verdict(m)
            } else {
                verdict_part(&m.summary, overdraft)
            };
            (m, text, tone)
        })
        .collect()
}

fn verdict_part(s: &Summary, overdraft: bool) -> (String, Tone) {
    let ok = s.trials - s.failed - s.deadlocked;
    if s.trials == 0 {
        return ("not run".into(), Tone::Warn);
    }
    let mut part = if s.inconsistent == 0 {
        if overdraft {
            format!("never overdrawn in {ok} of {}", s.trials)
        } else {
            format!("{ok} of {} exact", s.trials)
        }
    } else if overdraft {
        format!(
            "{} of {} trials overdrawn, {} paid beyond the funds",
            s.overdrawn, s.trials, s.overpaid
        )
    } else {
        format!(
            "{} of {} trials ended wrong (total {:+})",
            s.inconsistent, s.trials, s.total_deviation
        )
    };
    if s.failed > 0 {
        let _ = write!(part, ", {} failed", s.failed);
    }
    if s.holder_killed > 0 {
        let _ = write!(
            part,
            " ({} of {} trials with a dead lock holder completed",
            s.survived_kill, s.holder_killed
        );
        if s.rolled_back > 0 {
            let _ = write!(part, ", its transaction rolled back in {}", s.rolled_back);
        }
        part.push(')');
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
        let colored = render_with(&results, Paint::Color, 80);
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
