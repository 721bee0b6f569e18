//! The reports of `bankrace sweep`: a text table that fits the terminal, JSON, CSV (one row per point and mode) and Markdown. Pure.

use std::fmt::Write as _;

use super::fit;
use super::text::si;
use crate::duration;
use crate::sweep::{PointResult, SweepResults};
use crate::vocab::Scenario;

/// The text report, no line wider than `width`.
pub fn text(s: &SweepResults, width: usize) -> String {
    let mut out = String::new();
    for line in header(s) {
        for l in fit::wrap_with(&line, width, "", "  ") {
            let _ = writeln!(out, "{l}");
        }
    }
    out.push('\n');
    let modes = modes(s);
    let values = values(s);
    let cell = |label: &str, mode: &str, f: &dyn Fn(&PointResult) -> String| {
        s.points
            .iter()
            .find(|p| p.label == label && p.mode == mode)
            .map_or_else(|| "-".into(), f)
    };
    let table = |what: &str, f: &dyn Fn(&PointResult) -> String| {
        let columns: Vec<String> = modes.iter().map(|m| m.1.to_string()).collect();
        let rows: Vec<(String, Vec<String>)> = values
            .iter()
            .map(|v| (v.clone(), modes.iter().map(|m| cell(v, m.0, f)).collect()))
            .collect();
        let mut lines = fit::wrap(what, width);
        lines.extend(fit::table(&columns, &rows, width));
        lines
    };
    let what = match s.scenario {
        Scenario::LostUpdate => "trials that ended wrong, with the 95 % interval (Wilson):",
        Scenario::Overdraft => "trials that overdrew, with the 95 % interval (Wilson):",
        Scenario::Transfer => {
            "trials that changed the bank's total, with the 95 % interval (Wilson):"
        }
        Scenario::WriteSkew => {
            "trials whose accounts' sum went below zero, with the 95 % interval (Wilson):"
        }
    };
    for line in table(what, &|p| share_cell(p)) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    let rate = "mean |final - expected| per operation, and operations per second:";
    for line in table(rate, &|p| {
        let dev = p
            .mean_abs_deviation_per_op
            .map_or_else(|| "-".into(), |d| format!("{d:.3}"));
        format!("{dev} · {}/s", si(p.ops_per_sec))
    }) {
        let _ = writeln!(out, "{line}");
    }
    for note in notes(s) {
        out.push('\n');
        for l in fit::wrap(&note, width) {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

/// `9/20 45% (26-66%)`, and ` 2F` when two trials failed.
fn share_cell(p: &PointResult) -> String {
    format!(
        "{}/{} {:.0}% ({:.0}-{:.0}%){}",
        p.inconsistent,
        p.trials,
        p.inconsistent_share * 100.0,
        p.ci_low * 100.0,
        p.ci_high * 100.0,
        if p.failed > 0 {
            format!(" {}F", p.failed)
        } else {
            String::new()
        }
    )
}

fn header(s: &SweepResults) -> Vec<String> {
    let p = &s.parameters;
    let mut fixed = vec![
        ("depositors", p.depositors.to_string()),
        ("withdrawers", p.withdrawers.to_string()),
        ("ops", p.ops.to_string()),
        ("amount", p.amount.to_string()),
        ("window", duration::format(p.window)),
        ("pause", duration::format(p.pause)),
    ];
    fixed.retain(|(k, _)| *k != s.parameter.name());
    let fixed: Vec<String> = fixed.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut lines = vec![
        format!(
            "bankrace sweep: {} over {} · up to {} trial{} per point and mode · seed {}",
            s.scenario.name(),
            s.parameter.name(),
            p.trials,
            if p.trials == 1 { "" } else { "s" },
            s.seed
        ),
        format!("the rest fixed: {}", fixed.join(", ")),
    ];
    if let Some(schedule) = &p.schedule {
        lines.push(format!("forced schedule: {schedule}"));
    }
    lines
}

fn notes(s: &SweepResults) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(w) = s.ci_width {
        let early = s.points.iter().filter(|p| p.stopped_early).count();
        notes.push(format!(
            "--ci-width {w}: {early} of {} point and mode pairs stopped once their interval was narrower",
            s.points.len()
        ));
    }
    if s.points.iter().any(|p| p.failed > 0) {
        notes.push("nF: n trials failed and are not counted in the share".into());
    }
    if let Some(sig) = &s.interrupted {
        notes.push(format!(
            "interrupted by {sig}: showing the points that completed"
        ));
    }
    notes
}

/// The modes in order of first appearance: (id, name).
fn modes(s: &SweepResults) -> Vec<(&'static str, &'static str)> {
    let mut modes: Vec<(&str, &str)> = Vec::new();
    for p in &s.points {
        if !modes.iter().any(|m| m.0 == p.mode) {
            modes.push((p.mode, p.kind.name()));
        }
    }
    modes
}

/// The values' labels in order of first appearance.
fn values(s: &SweepResults) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for p in &s.points {
        if !values.contains(&p.label) {
            values.push(p.label.clone());
        }
    }
    values
}

/// The sweep as one JSON document: `points` holds one entry per point and mode.
pub fn json(s: &SweepResults) -> String {
    let mut text = serde_json::to_string_pretty(s).expect("sweep results always serialize");
    text.push('\n');
    text
}

/// The CSV columns; scripts may rely on them, new ones go at the end.
pub(crate) const COLUMNS: [&str; 15] = [
    "parameter",
    "value",
    "label",
    "mode",
    "trials",
    "failed",
    "inconsistent",
    "inconsistent_share",
    "ci_low",
    "ci_high",
    "mean_abs_deviation_per_op",
    "ops_per_sec",
    "stopped_early",
    "scenario",
    "seed",
];

/// One row per point and mode, with a header.
pub fn csv(s: &SweepResults) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).expect("writing to memory");
    for p in &s.points {
        w.write_record([
            s.parameter.name().to_string(),
            p.value.to_string(),
            p.label.clone(),
            p.mode.to_string(),
            p.trials.to_string(),
            p.failed.to_string(),
            p.inconsistent.to_string(),
            format!("{:.6}", p.inconsistent_share),
            format!("{:.6}", p.ci_low),
            format!("{:.6}", p.ci_high),
            p.mean_abs_deviation_per_op
                .map_or_else(String::new, |d| format!("{d:.6}")),
            format!("{:.1}", p.ops_per_sec),
            p.stopped_early.to_string(),
            s.scenario.name().to_string(),
            s.seed.to_string(),
        ])
        .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 is UTF-8")
}

/// A Markdown table, one row per point and mode.
pub fn markdown(s: &SweepResults) -> String {
    let mut out = String::new();
    for line in header(s) {
        let _ = writeln!(out, "{line}  ");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "| {} | mode | trials | share | 95 % interval | mean abs. deviation per op | ops/s |",
        s.parameter.name()
    );
    out.push_str("|--:|:--|--:|--:|--:|--:|--:|\n");
    for p in &s.points {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} % | {:.0}–{:.0} % | {} | {} |",
            p.label,
            p.kind.name(),
            p.trials,
            p.inconsistent_share * 100.0,
            p.ci_low * 100.0,
            p.ci_high * 100.0,
            p.mean_abs_deviation_per_op
                .map_or_else(|| "-".into(), |d| format!("{d:.3}")),
            si(p.ops_per_sec)
        );
    }
    out
}
