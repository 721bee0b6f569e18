//! `bankrace matrix`, the anomaly table: every scenario, under the unlocked mode and every strategy available to it on the backend, one plan per scenario run by the coordinator one after another in accounts opened once, each cell counted by [`stats::Tally`].

use anyhow::Result;
use serde::Serialize;

use crate::backend::DbTarget;
use crate::coordinator::{self, Next, RunAccounts};
use crate::host::Host;
use crate::plan::{Plan, Request};
use crate::signals::Interrupts;
use crate::stats::{self, Fold, Keep, Tally};
use crate::usage::UsageError;
use crate::vocab::{BackendKind, LockChoice, Mode, Scenario, Verdict};

/// Trials per cell when `--trials` is not given: enough to see a race that
/// bites in most trials, few enough that the memory matrix takes seconds.
pub const DEFAULT_TRIALS: i64 = 20;

/// A checked matrix: one plan per scenario, all with the same seed, trials
/// and backend.
#[derive(Debug, Clone)]
pub struct MatrixPlan {
    pub plans: Vec<Plan>,
}

/// The modes of `scenario`'s row on `backend`, in the order [`Mode::ALL`]
/// lists them: the unlocked mode, then every strategy that fits the
/// scenario and runs on the backend.
pub fn modes(scenario: Scenario, backend: BackendKind) -> Vec<Mode> {
    Mode::ALL
        .into_iter()
        .filter(|&m| m == Mode::NoLock || m.available(scenario, backend))
        .collect()
}

/// The scenarios of a matrix, in [`Scenario::ALL`]'s order: every one runs
/// on both backends.
pub fn scenarios() -> Vec<Scenario> {
    Scenario::ALL.to_vec()
}

impl MatrixPlan {
    /// Builds and checks every scenario's plan before anything starts.
    /// `base` carries what every scenario shares (trials, seed, `--db`,
    /// window, ...); each scenario keeps its own defaults for the rest.
    /// `only` keeps the rows of the scenarios it names (all when empty).
    pub fn build(base: Request, only: &[Scenario]) -> Result<MatrixPlan, UsageError> {
        let seed = base
            .seed
            .expect("the matrix's seed is drawn before its plans");
        let backend = match base.db {
            Some(_) => BackendKind::Postgres,
            None => BackendKind::Memory,
        };
        let plans = scenarios()
            .into_iter()
            .filter(|s| only.is_empty() || only.contains(s))
            .map(|scenario| {
                let mut r = base.clone();
                r.scenario = Some(scenario);
                r.no_lock = true;
                r.locks = modes(scenario, backend)
                    .into_iter()
                    .filter(|&m| m != Mode::NoLock)
                    .map(LockChoice::One)
                    .collect();
                Plan::build(r, || seed)
                    .map_err(|e| UsageError(format!("{} (scenario {})", e.0, scenario.name())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MatrixPlan { plans })
    }

    /// Every trial of every cell.
    pub fn total_trials(&self) -> u64 {
        self.plans
            .iter()
            .map(|p| p.modes.len() as u64 * u64::from(p.trials))
            .sum()
    }
}

/// Everything the anomaly table's reports show. The JSON format is this
/// struct (see docs/json.md and docs/matrix.schema.json).
#[derive(Debug, Clone, Serialize)]
pub struct MatrixResults {
    pub host: Host,
    pub seed: u64,
    /// Trials per cell.
    pub trials: u32,
    pub backend: BackendKind,
    /// `embedded`, or the connection string without its password; `null`
    /// for the memory backend.
    pub(crate) db: Option<DbTarget>,
    /// The server's version (`SHOW server_version`); `null` in memory.
    pub server_version: Option<String>,
    /// One row per scenario, in the order they ran.
    pub scenarios: Vec<ScenarioRow>,
    /// The signal that cut the matrix short, or `null`.
    pub interrupted: Option<String>,
    /// Its number, for the exit status.
    #[serde(skip)]
    pub signal: Option<i32>,
}

/// One scenario under every mode that fits it.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    pub scenario: Scenario,
    /// The scenario's plan, as `run`'s JSON shows it: every option after
    /// the scenario's defaults.
    pub parameters: Plan,
    pub cells: Vec<Cell>,
}

/// One scenario under one mode.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// `no-lock`, or the strategy's name.
    pub mode: Mode,
    pub verdict: Verdict,
    #[serde(flatten)]
    pub tally: Tally,
    /// Operations per second over the finished trials.
    pub ops_per_sec: f64,
}

/// Where a matrix is, for the progress bar.
#[derive(Debug, Clone)]
pub struct MatrixProgress {
    /// Trials run so far, of [`MatrixPlan::total_trials`].
    pub done: u64,
    /// `lost-update · mutex`.
    pub label: String,
}

/// Runs every scenario's plan through the coordinator, one after another,
/// in accounts opened once (with `--db embedded`, one server for the whole
/// matrix). An interruption ends the matrix: the cells not reached are
/// `not-run`, and the accounts are closed before this returns.
pub fn run(
    plan: &MatrixPlan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(&MatrixProgress),
) -> Result<MatrixResults> {
    let first = &plan.plans[0];
    let mut accounts = RunAccounts::open(first)?;
    let server_version = accounts.server_version()?;
    let mut rows = Vec::new();
    let mut done = 0u64;
    let mut signal = None;
    for p in &plan.plans {
        let mut fold = Fold::new(p, &p.modes, Keep::Traced);
        if signal.is_none() {
            let end = coordinator::stream_in(p, &mut accounts, interrupts, &mut |m, pr, t| {
                done += 1;
                progress(&MatrixProgress {
                    done,
                    label: format!("{} · {}", p.scenario.name(), pr.mode.name()),
                });
                let record = stats::record(p, &t);
                fold.add(m, &t, record);
                Ok(Next::Continue)
            })?;
            signal = end.interrupted;
        }
        rows.push(row(p, &fold));
    }
    drop(accounts);
    Ok(MatrixResults {
        host: Host::current(),
        seed: first.seed,
        trials: first.trials,
        backend: first.backend,
        db: first.db.clone(),
        server_version,
        scenarios: rows,
        interrupted: signal.map(crate::signals::name),
        signal,
    })
}

/// A scenario's cells from its fold, in its plan's mode order.
fn row(plan: &Plan, fold: &Fold) -> ScenarioRow {
    let cells = plan
        .modes
        .iter()
        .enumerate()
        .map(|(m, &mode)| {
            let summary = fold.summary(m);
            let tally = Tally::of(&summary);
            Cell {
                mode,
                verdict: tally.verdict(),
                tally,
                ops_per_sec: summary.ops_per_sec,
            }
        })
        .collect();
    ScenarioRow {
        scenario: plan.scenario,
        parameters: plan.clone(),
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(db: Option<&str>) -> Request {
        Request {
            trials: 3,
            seed: Some(5),
            db: db.map(str::to_string),
            ..Request::default()
        }
    }

    #[test]
    fn every_fitting_cell_is_planned_once_and_nothing_else() {
        for (db, backend) in [
            (None, BackendKind::Memory),
            (Some("embedded"), BackendKind::Postgres),
        ] {
            let plan = MatrixPlan::build(request(db), &[]).unwrap();
            let planned: Vec<Scenario> = plan.plans.iter().map(|p| p.scenario).collect();
            assert_eq!(planned, scenarios());
            for p in &plan.plans {
                assert_eq!((p.seed, p.trials, p.backend), (5, 3, backend));
                assert_eq!(p.modes[0], Mode::NoLock);
                for mode in Mode::ALL {
                    let fits = mode == Mode::NoLock || mode.available(p.scenario, backend);
                    let count = p.modes.iter().filter(|&&m| m == mode).count();
                    assert_eq!(count, usize::from(fits), "{mode} in {}", p.scenario.name());
                }
            }
        }
    }

    #[test]
    fn the_memory_matrix_has_the_scenarios_and_strategies_it_knows() {
        let plan = MatrixPlan::build(request(None), &[]).unwrap();
        let lost = &plan.plans[0];
        assert_eq!(lost.scenario, Scenario::LostUpdate);
        for m in [Mode::Mutex, Mode::Flock, Mode::Spin, Mode::Atomic] {
            assert!(lost.modes.contains(&m), "{m}");
        }
        assert!(!lost.modes.contains(&Mode::Row));
        let transfer = plan
            .plans
            .iter()
            .find(|p| p.scenario == Scenario::Transfer)
            .unwrap();
        assert!(transfer.modes.contains(&Mode::MutexUnordered));
        assert!(!transfer.modes.contains(&Mode::Atomic));
        // The database runs every scenario, and no memory strategy.
        let db = MatrixPlan::build(request(Some("embedded")), &[]).unwrap();
        assert_eq!(db.plans.len(), Scenario::ALL.len());
        assert!(db.plans.iter().all(|p| !p.modes.contains(&Mode::Mutex)));
        assert!(db.plans[0].modes.contains(&Mode::Serializable));
        assert_eq!(
            plan.total_trials(),
            plan.plans
                .iter()
                .map(|p| 3 * p.modes.len() as u64)
                .sum::<u64>()
        );
    }

    #[test]
    fn scenarios_named_keep_their_rows_in_the_usual_order() {
        let only = [Scenario::Transfer, Scenario::LostUpdate];
        let plan = MatrixPlan::build(request(None), &only).unwrap();
        let rows: Vec<Scenario> = plan.plans.iter().map(|p| p.scenario).collect();
        assert_eq!(rows, [Scenario::LostUpdate, Scenario::Transfer]);
    }

    #[test]
    fn a_value_no_scenario_takes_is_refused_before_anything_runs() {
        let mut r = request(None);
        r.ops = Some(-1);
        assert!(MatrixPlan::build(r, &[]).unwrap_err().0.contains("--ops"));
    }
}
