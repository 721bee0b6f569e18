//! Renders results for people and programs. Each format is a pure function of the results that returns text.

mod bank;
pub mod bench;
mod csv;
mod explain;
pub(crate) mod fit;
mod history;
pub mod json;
mod markdown;
pub mod picture;
pub mod sweep;
mod text;

pub use csv::render as csv;
pub use explain::render as explain;
pub use explain::{trial_explanation, violations};
pub use history::render as history;
pub use json::render as json;
pub use markdown::render as markdown;
pub use text::{
    Paint, render as text, render_with as text_with, verdict, verdict_fitted, verdict_with,
};

/// One row of a side-by-side table: its label and one cell per mode.
type Row = (&'static str, Vec<String>);

/// What a piece of text says, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Titles and mode names.
    Strong,
    /// Exact, never overdrawn.
    Good,
    /// Lost updates, overdrafts.
    Bad,
    /// Failed trials.
    Warn,
}

use crate::outcome::RunOutcome;
use crate::plan::Plan;
use crate::stats::{self, Results};
use crate::vocab::TrialStatus;

/// `--export-history`: every trial of every mode as a Jepsen history (see
/// `history.rs` at the crate's root), one after another.
pub fn jepsen_history(run: &RunOutcome) -> String {
    let mut out = String::new();
    for mode in &run.modes {
        for t in &mode.trials {
            if let Some(h) = t.transfers.as_ref().and_then(|b| b.history.as_ref()) {
                let deadlocked = t.status == TrialStatus::Deadlocked;
                out.push_str(&crate::history::render(
                    h,
                    mode.mode.id(),
                    t.trial,
                    deadlocked,
                ));
            }
        }
    }
    out
}

/// What every report renders: the statistics of a run's outcomes and,
/// beside them, the analysis of each traced trial. Fails only when the
/// memory for an analysis cannot be had.
pub fn results(plan: &Plan, run: &RunOutcome) -> anyhow::Result<Results> {
    let mut results = stats::results(plan, run);
    for (mode, outcomes) in results.modes.iter_mut().zip(&run.modes) {
        for (record, outcome) in mode.trials.iter_mut().zip(&outcomes.trials) {
            let Some(trace) = &outcome.trace else {
                continue;
            };
            let context = crate::explain::Context {
                initial: plan.initial,
                depositors: plan.depositors,
                expected: record.expected_balance,
                final_balance: record.final_balance,
                complete: record.status == TrialStatus::Ok,
                killed: record.killed_worker,
            };
            let analysis = crate::explain::analyze(trace, &context).map_err(|_| {
                anyhow::anyhow!(
                    "out of memory for the analysis of trial {} ({} traced operations)",
                    record.trial,
                    trace.len()
                )
            })?;
            record.trace = Some(analysis);
        }
    }
    Ok(results)
}

/// Results built from fixed outcomes, for the renderers' snapshot tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::time::Duration;

    use crate::outcome::{ModeOutcomes, RunOutcome, TrialOutcome};
    use crate::plan::{Plan, Request};
    use crate::stats::{self, Results};
    use crate::vocab::{Mode, Scenario, TrialStatus};

    /// A cause with a comma and quotes, which CSV must quote.
    pub(crate) const FAILED_CAUSE: &str = "worker 1 killed by signal 9 (SIGKILL), \"oom\"";

    fn trial(trial: u32, final_balance: i64, ms: u64) -> TrialOutcome {
        TrialOutcome {
            deposits: 5,
            withdrawals: 5,
            elapsed: Duration::from_millis(ms),
            busy: Duration::from_millis(ms / 2),
            ..TrialOutcome::ok(trial, final_balance)
        }
    }

    /// A run that was neither interrupted nor stopped early.
    pub fn complete(modes: Vec<ModeOutcomes>) -> RunOutcome {
        RunOutcome {
            modes,
            interrupted: None,
            stopped_early: false,
            host: crate::host::Host::fixture(),
        }
    }

    /// Lost update, four trials per mode: the unlocked mode loses updates in
    /// two trials and has one failed trial; the mutex is exact.
    pub fn results() -> Results {
        let plan = Plan::build(
            Request {
                trials: 4,
                ops: Some(5),
                seed: Some(2026),
                ..Request::default()
            },
            || unreachable!("the seed is given"),
        )
        .expect("a valid plan");
        let mut failed = trial(4, 198, 12);
        failed.status = TrialStatus::Failed;
        failed.cause = Some(FAILED_CAUSE.into());
        failed.withdrawals = 3;
        let modes = vec![
            ModeOutcomes {
                mode: Mode::NoLock,
                trials: vec![
                    trial(1, 197, 10),
                    trial(2, 200, 12),
                    trial(3, 202, 14),
                    failed,
                ],
            },
            ModeOutcomes {
                mode: Mode::Mutex,
                trials: (1..=4).map(|i| trial(i, 200, 16)).collect(),
            },
        ];
        stats::results(&plan, &complete(modes))
    }

    /// Overdraft, two trials per mode: both unlocked trials overdraw.
    pub fn overdraft() -> Results {
        let plan = Plan::build(
            Request {
                scenario: Some(Scenario::Overdraft),
                trials: 2,
                seed: Some(7),
                ..Request::default()
            },
            || unreachable!("the seed is given"),
        )
        .expect("a valid plan");
        let atm = |trial: u32, paid: u64| TrialOutcome {
            withdrawals: 2,
            withdrawals_succeeded: paid,
            withdrawals_refused: 2 - paid,
            overdrafts: u64::from(paid == 2),
            elapsed: Duration::from_millis(6),
            busy: Duration::from_millis(2),
            ..TrialOutcome::ok(trial, 15_000 - 10_000 * paid as i64)
        };
        let modes = vec![
            ModeOutcomes {
                mode: Mode::NoLock,
                trials: vec![atm(1, 2), atm(2, 2)],
            },
            ModeOutcomes {
                mode: Mode::Mutex,
                trials: vec![atm(1, 1), atm(2, 1)],
            },
        ];
        stats::results(&plan, &complete(modes))
    }
}
