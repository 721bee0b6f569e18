//! Renders results for people and programs. Each format is a pure function of the results that returns text; JSON and CSV are also written one trial at a time as a run goes (`stream.rs`), to the same bytes.

mod bank;
pub mod bench;
mod csv;
mod explain;
pub(crate) mod fit;
mod heading;
mod history;
pub mod json;
mod markdown;
pub mod matrix;
pub mod picture;
mod skew;
mod stream;
pub mod sweep;
mod text;

pub use csv::render as csv;
pub use explain::render as explain;
pub use explain::{trial_explanation, violations};
pub use history::render as history;
pub use json::render as json;
pub use markdown::render as markdown;
pub use stream::Streams;
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

use crate::explain::Detail;
use crate::outcome::{RunOutcome, TrialOutcome};
use crate::plan::Plan;
use crate::stats::{self, Fold, Keep, Results, TrialRecord};
use crate::vocab::{Mode, TrialStatus};

/// `--export-history`: every trial of every mode as a Jepsen history (see
/// `history.rs` at the crate's root), one after another.
pub fn jepsen_history(run: &RunOutcome) -> String {
    let mut out = String::new();
    for mode in &run.modes {
        for t in &mode.trials {
            out.push_str(&trial_history(mode.mode, t));
        }
    }
    out
}

/// The Jepsen history of one trial of `mode`; empty if it kept none.
pub(crate) fn trial_history(mode: Mode, t: &TrialOutcome) -> String {
    match t.transfers.as_ref().and_then(|b| b.history.as_ref()) {
        Some(h) => {
            let deadlocked = t.status == TrialStatus::Deadlocked;
            crate::history::render(h, mode.id(), t.trial, deadlocked)
        }
        None => String::new(),
    }
}

/// What every report renders: the statistics of a run's outcomes and,
/// beside them, the analysis of each traced trial. Every trial is kept
/// whole. Fails only when the memory for an analysis cannot be had.
pub fn results(plan: &Plan, run: &RunOutcome) -> anyhow::Result<Results> {
    let modes: Vec<_> = run.modes.iter().map(|m| m.mode).collect();
    let mut fold = Fold::new(plan, &modes, Keep::All);
    for (m, mode) in run.modes.iter().enumerate() {
        for t in &mode.trials {
            fold.add(m, t, record(plan, t, Detail::Events)?);
        }
    }
    Ok(fold.finish(
        run.host.clone(),
        run.interrupted,
        run.stopped_early,
        run.database_lost.clone(),
    ))
}

/// One trial as reports show it, with its trace's analysis if traced.
pub fn record(plan: &Plan, t: &TrialOutcome, detail: Detail) -> anyhow::Result<TrialRecord> {
    let mut record = stats::record(plan, t);
    let Some(trace) = &t.trace else {
        return Ok(record);
    };
    let transfer = plan.scenario == crate::vocab::Scenario::Transfer;
    let context = crate::explain::Context {
        initial: plan.initial,
        depositors: if transfer {
            plan.transferers
        } else {
            plan.depositors
        },
        expected: record.expected_balance,
        final_balance: record.final_balance,
        complete: record.status == TrialStatus::Ok,
        killed: record.killed_worker,
        finals: t
            .transfers
            .as_ref()
            .map(|b| b.balances.clone())
            .unwrap_or_default(),
    };
    // Under `ulimit -v`, an analysis that would leave too little room for
    // the small allocations after it is refused here, before it starts.
    let need = detail.bytes_needed(trace.len()) + crate::headroom::MARGIN;
    if let Some(left) = crate::headroom::left().filter(|&left| left < need) {
        anyhow::bail!(
            "out of memory for the analysis of trial {} ({} traced operations): it needs \
             about {} MB and the address-space limit (ulimit -v) leaves {} MB",
            record.trial,
            trace.len(),
            need >> 20,
            left >> 20
        );
    }
    let analysis = crate::explain::analyze(trace, &context, detail).map_err(|_| {
        anyhow::anyhow!(
            "out of memory for the analysis of trial {} ({} traced operations)",
            record.trial,
            trace.len()
        )
    })?;
    record.trace = Some(analysis);
    Ok(record)
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
            database_lost: None,
            host: crate::host::Host::fixture(),
        }
    }

    /// Lost update, four trials per mode: the unlocked mode loses updates in
    /// two trials and has one failed trial; the mutex is exact.
    pub fn results() -> Results {
        let (plan, run) = results_run();
        stats::results(&plan, &run)
    }

    /// The plan and outcomes behind [`results`].
    pub fn results_run() -> (Plan, RunOutcome) {
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
        (plan, complete(modes))
    }

    /// A run interrupted by SIGINT during its second mode's first trial:
    /// the first mode has two trials, one failed; the second has none.
    pub fn interrupted() -> Results {
        let (plan, run) = interrupted_run();
        stats::results(&plan, &run)
    }

    /// The plan and outcomes behind [`interrupted`].
    pub fn interrupted_run() -> (Plan, RunOutcome) {
        let plan = Plan::build(
            Request {
                trials: 2,
                ops: Some(5),
                seed: Some(11),
                kill_holder: 0.5,
                ..Request::default()
            },
            || unreachable!("the seed is given"),
        )
        .expect("a valid plan");
        let mut failed = trial(2, 201, 30);
        failed.status = TrialStatus::Failed;
        failed.cause = Some("timed out after 1s: 1 of 2 workers finished".into());
        failed.killed_worker = Some(1);
        let mut killed = trial(1, 200, 9);
        killed.killed_worker = Some(0);
        killed.recoveries = 1;
        let modes = vec![
            ModeOutcomes {
                mode: Mode::NoLock,
                trials: vec![killed, failed],
            },
            ModeOutcomes {
                mode: Mode::Mutex,
                trials: Vec::new(),
            },
        ];
        let run = RunOutcome {
            modes,
            interrupted: Some(2),
            stopped_early: false,
            database_lost: None,
            host: crate::host::Host::fixture(),
        };
        (plan, run)
    }

    /// Overdraft, two trials per mode: both unlocked trials overdraw.
    pub fn overdraft() -> Results {
        let (plan, run) = overdraft_run();
        stats::results(&plan, &run)
    }

    /// The plan and outcomes behind [`overdraft`].
    pub fn overdraft_run() -> (Plan, RunOutcome) {
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
        (plan, complete(modes))
    }
}
