//! `bankrace sweep`: the same scenario over a list of values of one parameter, each point a plan run by the coordinator, summarized per mode as the share of trials that ended wrong with a Wilson 95 % interval.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::coordinator::{self, Next, Progress};
use crate::duration;
use crate::limits::MAX_SWEEP_POINTS;
use crate::outcome::RunOutcome;
use crate::plan::{Plan, Request};
use crate::signals::Interrupts;
use crate::stats::{self, ModeResult};
use crate::usage::UsageError;
use crate::vocab::{Mode, Scenario};
use crate::wilson;

/// The parameter a sweep varies, named as its `run` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Parameter {
    Window,
    Pause,
    Ops,
    Depositors,
    Withdrawers,
    Amount,
}

impl Parameter {
    pub const ALL: [Parameter; 6] = [
        Parameter::Window,
        Parameter::Pause,
        Parameter::Ops,
        Parameter::Depositors,
        Parameter::Withdrawers,
        Parameter::Amount,
    ];

    /// `window`, `pause`, ...: the option without its dashes.
    pub fn name(self) -> &'static str {
        match self {
            Parameter::Window => "window",
            Parameter::Pause => "pause",
            Parameter::Ops => "ops",
            Parameter::Depositors => "depositors",
            Parameter::Withdrawers => "withdrawers",
            Parameter::Amount => "amount",
        }
    }

    /// Durations are measured in seconds; the others are counts.
    pub fn is_duration(self) -> bool {
        matches!(self, Parameter::Window | Parameter::Pause)
    }

    /// The unit of a point's numeric `value`: `s` or nothing.
    pub fn unit(self) -> &'static str {
        if self.is_duration() { "s" } else { "" }
    }
}

/// One value of the swept parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Duration(Duration),
    Count(i64),
}

impl Value {
    /// The value as a number: seconds for a duration.
    pub fn number(self) -> f64 {
        match self {
            Value::Duration(d) => d.as_secs_f64(),
            Value::Count(n) => n as f64,
        }
    }

    /// As a user writes it: `50us`, `10`.
    pub fn label(self) -> String {
        match self {
            Value::Duration(d) => duration::format(d),
            Value::Count(n) => n.to_string(),
        }
    }
}

/// Parses a comma-separated list of values for `parameter`:
/// `0,50us,100us` for durations, `1,2,4` for counts.
pub fn parse_values(parameter: Parameter, text: &str) -> Result<Vec<Value>, UsageError> {
    let flag = parameter.name();
    text.split(',')
        .map(str::trim)
        .map(|item| {
            if item.is_empty() {
                return Err(UsageError(format!(
                    "--{flag}: empty value in {text:?}: separate values with single commas, e.g. --{flag} {}",
                    example(parameter)
                )));
            }
            if parameter.is_duration() {
                duration::parse(item)
                    .map(Value::Duration)
                    .map_err(|why| UsageError(format!("--{flag}: {why}")))
            } else {
                item.parse::<i64>().map(Value::Count).map_err(|_| {
                    UsageError(format!(
                        "--{flag}: {item:?} is not a whole number (e.g. --{flag} {})",
                        example(parameter)
                    ))
                })
            }
        })
        .collect()
}

fn example(parameter: Parameter) -> &'static str {
    if parameter.is_duration() {
        "0,50us,100us"
    } else {
        "1,2,4"
    }
}

/// What the user asked for: the scenario's other parameters, already with
/// its seed, and the values to sweep.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub base: Request,
    pub parameter: Parameter,
    pub values: Vec<Value>,
    /// Stop a mode at a point once its interval is narrower than this.
    pub ci_width: Option<f64>,
}

/// A checked sweep: one plan per value, all with the same seed.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    pub parameter: Parameter,
    pub values: Vec<Value>,
    pub plans: Vec<Plan>,
    pub ci_width: Option<f64>,
}

impl SweepPlan {
    /// Builds and checks the plan of every point before anything starts.
    pub fn build(req: SweepRequest) -> Result<SweepPlan, UsageError> {
        if req.values.len() > MAX_SWEEP_POINTS {
            return Err(UsageError(format!(
                "--{} has {} values: a sweep takes at most {MAX_SWEEP_POINTS}",
                req.parameter.name(),
                req.values.len()
            )));
        }
        if let Some(w) = req.ci_width
            && !(w > 0.0 && w <= 1.0)
        {
            return Err(UsageError(format!(
                "--ci-width must be above 0 and at most 1 (got {w}): it is the width of a share's interval"
            )));
        }
        let seed = req.base.seed;
        let plans = req
            .values
            .iter()
            .map(|&v| {
                let mut r = req.base.clone();
                set(&mut r, req.parameter, v);
                Plan::build(r, || {
                    seed.expect("the sweep's seed is drawn before its plans")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SweepPlan {
            parameter: req.parameter,
            values: req.values,
            plans,
            ci_width: req.ci_width,
        })
    }

    /// Trials the sweep runs at most: every point, mode and trial.
    pub fn total_trials(&self) -> u64 {
        self.plans
            .iter()
            .map(|p| p.modes.len() as u64 * u64::from(p.trials))
            .sum()
    }
}

/// Sets `parameter` to `v` in a request.
pub(crate) fn set(r: &mut Request, parameter: Parameter, v: Value) {
    match (parameter, v) {
        (Parameter::Window, Value::Duration(d)) => r.window = Some(d),
        (Parameter::Pause, Value::Duration(d)) => r.pause = Some(d),
        (Parameter::Ops, Value::Count(n)) => r.ops = Some(n),
        (Parameter::Depositors, Value::Count(n)) => r.depositors = Some(n),
        (Parameter::Withdrawers, Value::Count(n)) => r.withdrawers = Some(n),
        (Parameter::Amount, Value::Count(n)) => r.amount = Some(n),
        _ => unreachable!("values are parsed for their parameter"),
    }
}

/// Everything a sweep's reports show. The JSON format is this struct.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResults {
    pub seed: u64,
    pub scenario: Scenario,
    /// The swept parameter, and the unit of each point's `value`.
    pub parameter: Parameter,
    pub unit: &'static str,
    /// The plan of the first point: every other parameter is the same at
    /// every point.
    pub parameters: Plan,
    pub ci_width: Option<f64>,
    /// One entry per point and mode, points in the order given.
    pub points: Vec<PointResult>,
    /// The signal that cut the sweep short, or `null`.
    pub interrupted: Option<String>,
    /// Its number, for the exit status.
    #[serde(skip)]
    pub signal: Option<i32>,
}

/// One mode at one value of the parameter.
#[derive(Debug, Clone, Serialize)]
pub struct PointResult {
    /// The parameter's value as a number (seconds for durations), and as written.
    pub value: f64,
    pub label: String,
    /// `no-lock`, or the strategy's name.
    pub mode: &'static str,
    #[serde(skip)]
    pub kind: Mode,
    /// Trials that finished; failed trials are counted apart.
    pub trials: u32,
    pub failed: u32,
    /// Trials whose final balance was off the books, or that overdrew.
    pub inconsistent: u32,
    pub inconsistent_share: f64,
    /// The Wilson 95 % interval of the share.
    pub ci_low: f64,
    pub ci_high: f64,
    /// The mean over finished trials of |final − expected| / operations.
    pub mean_abs_deviation_per_op: Option<f64>,
    pub ops_per_sec: f64,
    /// `--ci-width` ended this mode's trials before `--trials`.
    pub stopped_early: bool,
}

/// Where a sweep is, for the progress bar.
#[derive(Debug, Clone)]
pub struct SweepProgress {
    /// Trials run or skipped so far, of [`SweepPlan::total_trials`].
    pub done: u64,
    /// `window 50us · no lock`.
    pub label: String,
}

/// Runs every point through the coordinator, one after another. An
/// interruption ends the sweep with the points that completed.
pub fn run(
    plan: &SweepPlan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(&SweepProgress),
) -> Result<SweepResults> {
    let mut points = Vec::new();
    let mut done = 0u64;
    for (value, point) in plan.values.iter().zip(&plan.plans) {
        let label = format!("{} {}", plan.parameter.name(), value.label());
        let mut counts = (Mode::NoLock, 0u64, 0u64);
        let outcome = coordinator::run_each(point, interrupts, &mut |p: Progress, t| {
            if counts.0 != p.mode || p.done == 1 {
                counts = (p.mode, 0, 0);
            }
            if let Some(ok) = stats::consistent(point, t) {
                counts.1 += u64::from(!ok);
                counts.2 += 1;
            }
            let enough = plan.ci_width.is_some_and(|w| {
                let (lo, hi) = wilson::interval(counts.1, counts.2);
                counts.2 > 0 && hi - lo < w
            });
            let skipped = if enough { point.trials - p.done } else { 0 };
            done += 1 + u64::from(skipped);
            progress(&SweepProgress {
                done,
                label: format!("{label} · {}", p.mode.name()),
            });
            if enough {
                Next::NextMode
            } else {
                Next::Continue
            }
        })?;
        points.extend(summarize(point, *value, &outcome));
        if outcome.interrupted.is_some() {
            return Ok(results(plan, points, outcome.interrupted));
        }
    }
    Ok(results(plan, points, None))
}

fn results(plan: &SweepPlan, points: Vec<PointResult>, sig: Option<i32>) -> SweepResults {
    let first = &plan.plans[0];
    SweepResults {
        seed: first.seed,
        scenario: first.scenario,
        parameter: plan.parameter,
        unit: plan.parameter.unit(),
        parameters: first.clone(),
        ci_width: plan.ci_width,
        points,
        interrupted: sig.map(crate::signals::name),
        signal: sig,
    }
}

/// One result per mode of a point, from the statistics of its run.
pub(crate) fn summarize(plan: &Plan, value: Value, run: &RunOutcome) -> Vec<PointResult> {
    let results = stats::results(plan, run);
    results
        .modes
        .iter()
        .map(|m| point(plan, value, m))
        .collect()
}

fn point(plan: &Plan, value: Value, m: &ModeResult) -> PointResult {
    let s = &m.summary;
    let finished = s.trials - s.failed;
    let (ci_low, ci_high) = wilson::interval(u64::from(s.inconsistent), u64::from(finished));
    let ops = plan.ops_per_trial();
    let deviations: Vec<f64> = m
        .trials
        .iter()
        .filter(|t| t.status == crate::vocab::TrialStatus::Ok)
        .map(|t| t.deviation.unsigned_abs() as f64 / ops.max(1) as f64)
        .collect();
    PointResult {
        value: value.number(),
        label: value.label(),
        mode: m.mode.id(),
        kind: m.mode,
        trials: finished,
        failed: s.failed,
        inconsistent: s.inconsistent,
        inconsistent_share: if finished == 0 {
            0.0
        } else {
            f64::from(s.inconsistent) / f64::from(finished)
        },
        ci_low,
        ci_high,
        mean_abs_deviation_per_op: (!deviations.is_empty() && ops > 0)
            .then(|| deviations.iter().sum::<f64>() / deviations.len() as f64),
        ops_per_sec: s.ops_per_sec,
        stopped_early: s.trials < plan.trials && !plan.fail_fast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(parameter: Parameter, text: &str) -> Result<SweepPlan, UsageError> {
        SweepPlan::build(SweepRequest {
            base: Request {
                trials: 3,
                seed: Some(9),
                ..Request::default()
            },
            parameter,
            values: parse_values(parameter, text)?,
            ci_width: None,
        })
    }

    #[test]
    fn values_parse_with_units_and_keep_their_order() {
        let v = parse_values(Parameter::Window, "0, 50us,1ms").unwrap();
        assert_eq!(
            v,
            [
                Value::Duration(Duration::ZERO),
                Value::Duration(Duration::from_micros(50)),
                Value::Duration(Duration::from_millis(1))
            ]
        );
        assert_eq!(v[1].label(), "50us");
        assert!((v[2].number() - 0.001).abs() < 1e-12);
        assert_eq!(
            parse_values(Parameter::Ops, "1,2,4").unwrap(),
            [Value::Count(1), Value::Count(2), Value::Count(4)]
        );
    }

    #[test]
    fn bad_values_get_a_sentence() {
        assert!(
            parse_values(Parameter::Ops, "1,,2")
                .unwrap_err()
                .0
                .contains("empty value")
        );
        assert!(
            parse_values(Parameter::Ops, "1,x")
                .unwrap_err()
                .0
                .contains("not a whole number")
        );
        assert!(
            parse_values(Parameter::Window, "5 parsecs")
                .unwrap_err()
                .0
                .starts_with("--window")
        );
        // A value the plan refuses is refused before anything runs.
        assert!(
            request(Parameter::Ops, "1,-5")
                .unwrap_err()
                .0
                .contains("--ops")
        );
    }

    #[test]
    fn every_point_has_its_value_and_the_same_seed() {
        let plan = request(Parameter::Depositors, "1,3").unwrap();
        assert_eq!(plan.plans[0].depositors, 1);
        assert_eq!(plan.plans[1].depositors, 3);
        assert!(plan.plans.iter().all(|p| p.seed == 9 && p.trials == 3));
        // Two modes (no lock and mutex), three trials, two points.
        assert_eq!(plan.total_trials(), 12);
    }

    #[test]
    fn the_interval_width_is_checked() {
        let mut req = SweepRequest {
            base: Request {
                trials: 3,
                seed: Some(1),
                ..Request::default()
            },
            parameter: Parameter::Ops,
            values: vec![Value::Count(1)],
            ci_width: Some(0.0),
        };
        assert!(SweepPlan::build(req.clone()).is_err());
        req.ci_width = Some(0.2);
        assert!(SweepPlan::build(req).is_ok());
    }
}
