//! The small adapter between bankrace's results and the pictures' plain data: a run's `Results` (with the analyses of explained trials) and a sweep's `SweepResults` become a `Report`, a `Figure`, `Lanes` and a `SweepCurve`.

use super::model::{
    Access, Figure, Lanes, LostWrite, ModeSeries, OverdraftLink, Report, SweepCurve,
    SweepModePoint, SweepPoint, Verdict,
};
use crate::duration;
use crate::explain::Analysis;
use crate::plan::Plan;
use crate::report::Tone;
use crate::report::text::verdict_parts;
use crate::stats::{Results, TrialRecord};
use crate::sweep::SweepResults;
use crate::vocab::{Scenario, TrialStatus};

/// The explained trials drawn per mode.
const EXPLAINED_PER_MODE: usize = 2;
/// The most accesses one swimlane figure shows.
const MAX_ACCESSES: usize = 60;

/// A run's page: its parameters, verdict, figures and explained trials.
pub(super) fn report(results: &Results) -> Report {
    let p = &results.parameters;
    let figure = figure(results);
    let lead = format!(
        "{} mode{}, {} trial{} each. {} {}.",
        results.modes.len(),
        plural(results.modes.len()),
        p.trials,
        plural(p.trials as usize),
        match p.scenario {
            Scenario::LostUpdate => "A correct bank ends at",
            Scenario::Overdraft => "A bank that never overdraws ends at",
            Scenario::Transfer => "Transfers conserve money: the bank's total stays at",
            Scenario::WriteSkew => "Debits one at a time leave the accounts' sum at",
        },
        figure.expected
    );
    Report {
        title: format!("bankrace: {}", p.scenario.name()),
        lead,
        parameters: parameters(p),
        verdict: verdict_parts(results)
            .into_iter()
            .map(|(m, text, tone)| Verdict {
                mode: m.mode.name().to_string(),
                text,
                bad: tone != Tone::Good,
            })
            .collect(),
        figure: Some(figure),
        explained: explained(results),
        sweep: None,
    }
}

/// The final balances of every mode, trial by trial.
pub(super) fn figure(results: &Results) -> Figure {
    Figure {
        title: format!("Final balances: {}", results.parameters.scenario.name()),
        expected: results.parameters.expected_balance(),
        modes: results
            .modes
            .iter()
            .map(|m| ModeSeries {
                name: m.mode.name().to_string(),
                finals: m
                    .trials
                    .iter()
                    .map(|t| (t.status == TrialStatus::Ok).then_some(t.final_balance))
                    .collect(),
            })
            .collect(),
    }
}

/// The parameters as name and value pairs, as the text header says them.
fn parameters(p: &Plan) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        ("scenario", p.scenario.name().to_string()),
        ("trials per mode", p.trials.to_string()),
        ("depositors", p.depositors.to_string()),
        ("withdrawers", p.withdrawers.to_string()),
        ("operations each", p.ops.to_string()),
        ("amount", p.amount.to_string()),
        ("window", duration::format(p.window)),
        ("pause", duration::format(p.pause)),
        ("starting balance", p.initial.to_string()),
        ("seed", p.seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(s) = &p.schedule {
        out.push(("forced schedule".into(), s.to_string()));
    }
    out
}

/// The first explained trials of each mode that lost updates or overdrew.
fn explained(results: &Results) -> Vec<Lanes> {
    let mut out = Vec::new();
    for m in &results.modes {
        let odd = m.trials.iter().filter_map(|t| {
            let a = t.trace.as_ref()?;
            (t.status == TrialStatus::Ok
                && (!a.lost_updates.is_empty() || !a.overdrafts.is_empty()))
            .then_some((t, a))
        });
        for (t, a) in odd.take(EXPLAINED_PER_MODE) {
            out.push(lanes(m.mode.name(), t, a));
        }
    }
    out
}

/// One explained trial, around its lost updates and overdrafts.
fn lanes(mode: &str, t: &TrialRecord, a: &Analysis) -> Lanes {
    let mut shown = Vec::new();
    for range in super::super::explain::rows(a, false) {
        for seq in range {
            if let Ok(i) = a.events.binary_search_by_key(&seq, |e| e.seq)
                && shown.len() < MAX_ACCESSES
            {
                shown.push(&a.events[i]);
            }
        }
    }
    let mut workers: Vec<(u32, String)> =
        shown.iter().map(|e| (e.index, e.worker.clone())).collect();
    workers.sort();
    workers.dedup();
    let lane = |index: u32| workers.iter().position(|(i, _)| *i == index).unwrap_or(0);
    let seen = |seq: u64| shown.iter().any(|e| e.seq == seq);
    let caption = match &a.identity {
        Some(id) => format!(
            "Final {} − expected {} = {:+}: the lost updates change the balance by {:+}{}",
            id.final_balance,
            id.expected,
            id.final_balance.wrapping_sub(id.expected),
            id.lost.wrapping_neg(),
            if id.holds {
                ", so the trace accounts for every unit."
            } else {
                ". This does not add up: a bug in bankrace."
            }
        ),
        None => String::new(),
    };
    Lanes {
        title: format!("{mode}, trial {}: {}", t.trial, crate::explain::summary(a)),
        accesses: shown
            .iter()
            .map(|e| Access {
                seq: e.seq,
                worker: lane(e.index),
                op: e.op,
                kind: e.access,
                value: e.value,
                overwrote: e.overwrote,
                refused: e.refused,
            })
            .collect(),
        workers: workers.into_iter().map(|(_, name)| name).collect(),
        lost: a
            .lost_updates
            .iter()
            .filter(|l| seen(l.write_seq) && seen(l.erased_by_write_seq))
            .map(|l| LostWrite {
                write_seq: l.write_seq,
                erased_by_read_seq: l.erased_by_read_seq,
                erased_by_write_seq: l.erased_by_write_seq,
                amount: l.amount,
            })
            .collect(),
        overdrafts: a
            .overdrafts
            .iter()
            .filter(|o| seen(o.debit_seq))
            .map(|o| OverdraftLink {
                check_seq: o.check_seq,
                debit_seq: o.debit_seq,
                seen: o.seen,
                after: o.after,
                spent_by: o
                    .spent_by
                    .iter()
                    .map(|s| s.seq)
                    .filter(|&s| seen(s))
                    .collect(),
            })
            .collect(),
        caption,
    }
}

/// A sweep's page: its parameters, the curve and the table.
pub(super) fn sweep_report(s: &SweepResults) -> Report {
    let curve = curve(s);
    let mut parameters = parameters(&s.parameters);
    parameters.retain(|(k, _)| k != s.parameter.name() && !swept_count(k, s));
    for (k, _) in &mut parameters {
        if k == "trials per mode" {
            *k = "trials per point and mode".into();
        }
    }
    parameters.insert(
        0,
        (
            format!("swept: {}", s.parameter.name()),
            curve
                .points
                .iter()
                .map(|p| p.value_label.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    Report {
        title: format!(
            "bankrace sweep: {} over {}",
            s.scenario.name(),
            s.parameter.name()
        ),
        lead: format!(
            "The share of trials that {} at each {}, per mode, with 95 % intervals.",
            curve.outcome,
            s.parameter.name()
        ),
        parameters,
        verdict: sweep_verdict(&curve),
        figure: None,
        explained: Vec::new(),
        sweep: Some(curve),
    }
}

/// Per mode, the lowest and the highest share and where they were seen.
fn sweep_verdict(c: &SweepCurve) -> Vec<Verdict> {
    let mut modes: Vec<&str> = Vec::new();
    for m in c.points.iter().flat_map(|p| &p.modes) {
        if !modes.contains(&m.name.as_str()) {
            modes.push(&m.name);
        }
    }
    modes
        .into_iter()
        .map(|mode| {
            let shares: Vec<(&str, &SweepModePoint)> = c
                .points
                .iter()
                .filter_map(|p| {
                    Some((
                        p.value_label.as_str(),
                        p.modes.iter().find(|m| m.name == mode)?,
                    ))
                })
                .collect();
            let pct = |s: f64| format!("{:.0} %", s * 100.0);
            let lo = shares.iter().min_by(|a, b| a.1.share.total_cmp(&b.1.share));
            let hi = shares.iter().max_by(|a, b| a.1.share.total_cmp(&b.1.share));
            let text = match (lo, hi) {
                (Some(_), Some(hi)) if hi.1.inconsistent == 0 => {
                    format!("never {} at any value", c.outcome)
                }
                (Some(lo), Some(hi)) => format!(
                    "{} at {}, up to {} at {}",
                    pct(lo.1.share),
                    lo.0,
                    pct(hi.1.share),
                    hi.0
                ),
                _ => "not run".into(),
            };
            Verdict {
                mode: mode.to_string(),
                text,
                bad: shares.iter().any(|(_, m)| m.inconsistent > 0),
            }
        })
        .collect()
}

/// The parameter table names ops as "operations each": drop it too when swept.
fn swept_count(key: &str, s: &SweepResults) -> bool {
    key == "operations each" && s.parameter == crate::sweep::Parameter::Ops
}

/// The sweep's points, grouped by value, each with its modes.
pub(super) fn curve(s: &SweepResults) -> SweepCurve {
    let mut points: Vec<SweepPoint> = Vec::new();
    for r in &s.points {
        if points.last().is_none_or(|p| p.value_label != r.label) {
            points.push(SweepPoint {
                value_label: r.label.clone(),
                value: if s.parameter.is_duration() {
                    r.value * 1e6
                } else {
                    r.value
                },
                modes: Vec::new(),
            });
        }
        let last = points.last_mut().expect("a point was just pushed");
        last.modes.push(SweepModePoint {
            ci_low: r.ci_low,
            ci_high: r.ci_high,
            ..SweepModePoint::from_counts(r.kind.name(), r.inconsistent, r.trials)
        });
    }
    SweepCurve {
        parameter: s.parameter.name().to_string(),
        unit: if s.parameter.is_duration() {
            "µs".into()
        } else {
            String::new()
        },
        outcome: match s.scenario {
            Scenario::LostUpdate => "ended wrong".into(),
            Scenario::Overdraft => "overdrew".into(),
            Scenario::Transfer => "changed the bank's total".into(),
            Scenario::WriteSkew => "took the sum below zero".into(),
        },
        points,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
