//! The report for people: the modes side by side in one table, a histogram per mode, and a verdict in plain words.

use std::fmt::Write as _;

use crate::duration;
use crate::histogram;
use crate::plan::{Plan, Scenario};
use crate::stats::{ModeResult, Results, Summary};

/// The widest histogram bar, chosen so that lines stay within 80 columns.
const BAR_WIDTH: usize = 40;
/// The most bins a histogram gets.
const MAX_BINS: usize = 16;

pub fn render(results: &Results) -> String {
    let mut out = String::new();
    header(&mut out, &results.parameters, results.seed);
    if let Some(sig) = &results.interrupted {
        let _ = writeln!(
            out,
            "interrupted by {sig}: showing the trials that completed"
        );
    }
    if results.stopped_early {
        let _ = writeln!(out, "stopped at the first failed trial (--fail-fast)");
    }
    out.push('\n');
    table(&mut out, results);
    if results.modes.iter().any(|m| m.summary.holder_killed > 0) {
        out.push_str(
            "a trial whose lock holder died expects only the operations its workers completed:\n\
             its deviation is the money lost beyond the dead worker's unfinished share\n",
        );
    }
    for mode in &results.modes {
        out.push('\n');
        histogram_of(&mut out, mode);
    }
    out.push('\n');
    out.push_str(&verdict(results));
    out.push('\n');
    out
}

fn header(out: &mut String, p: &Plan, seed: u64) {
    let _ = writeln!(
        out,
        "bankrace: {} · {} trial{} per mode · seed {seed}",
        p.scenario.name(),
        p.trials,
        plural(u64::from(p.trials))
    );
    let _ = writeln!(
        out,
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
    );
    let expected = p.expected_balance();
    let _ = match p.scenario {
        Scenario::LostUpdate => writeln!(
            out,
            "starting balance {}, expected final balance {expected}",
            p.initial
        ),
        Scenario::Overdraft => writeln!(
            out,
            "starting balance {}, a bank that never overdraws ends at {expected} (deposits first)",
            p.initial
        ),
    };
}

/// The side-by-side table: one row per statistic, one column per mode.
fn table(out: &mut String, results: &Results) {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let any_failed = results.modes.iter().any(|m| m.summary.failed > 0);
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    let mut row = |label: &'static str, cell: &dyn Fn(&Summary) -> String| {
        rows.push((
            label,
            results.modes.iter().map(|m| cell(&m.summary)).collect(),
        ));
    };
    row("", &|_| String::new());
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

    // The header row holds the mode names.
    rows[0].1 = results.modes.iter().map(|m| m.name.to_string()).collect();
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
    for (label, cells) in rows {
        let mut line = format!("{label:<label_width$}");
        for cell in cells {
            let _ = write!(line, "{cell:>col_width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

fn histogram_of(out: &mut String, mode: &ModeResult) {
    let balances: Vec<i64> = mode
        .trials
        .iter()
        .filter(|t| t.status == "ok")
        .map(|t| t.final_balance)
        .collect();
    let _ = writeln!(
        out,
        "{}: final balances of {} trial{}",
        mode.name,
        balances.len(),
        plural(balances.len() as u64)
    );
    for line in histogram::render(
        &histogram::bins(&balances, MAX_BINS),
        BAR_WIDTH,
        Some(mode.expected_balance),
    ) {
        let _ = writeln!(out, "  {line}");
    }
    for t in mode.trials.iter().filter(|t| t.status != "ok") {
        let _ = writeln!(
            out,
            "  trial {} failed: {}",
            t.trial,
            t.cause.as_deref().unwrap_or("unknown cause")
        );
    }
}

/// One sentence per mode: what happened, in words.
pub fn verdict(results: &Results) -> String {
    let overdraft = results.parameters.scenario == Scenario::Overdraft;
    let parts: Vec<String> = results
        .modes
        .iter()
        .map(|m| {
            let s = &m.summary;
            let ok = s.trials - s.failed;
            if s.trials == 0 {
                return format!("{}: not run", m.name);
            }
            let mut part = if s.inconsistent == 0 {
                if overdraft {
                    format!("{}: never overdrawn in {} of {}", m.name, ok, s.trials)
                } else {
                    format!("{}: {} of {} exact", m.name, ok, s.trials)
                }
            } else if overdraft {
                format!(
                    "{}: {} of {} trials overdrawn, {} paid beyond the funds",
                    m.name, s.overdrawn, s.trials, s.overpaid
                )
            } else {
                format!(
                    "{}: {} of {} trials lost updates (total {:+})",
                    m.name, s.inconsistent, s.trials, s.total_deviation
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
            part
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
fn si(v: f64) -> String {
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
    fn si_prefixes() {
        assert_eq!(si(7_012.0), "7.0k");
        assert_eq!(si(45_100_000.0), "45.1M");
        assert_eq!(si(812.0), "812");
        assert_eq!(si(0.0), "0");
    }
}
