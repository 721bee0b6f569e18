//! Turns trial outcomes into the results every report renders: per-trial records and per-mode summaries. Pure.
//!
//! - `fold.rs`: the summaries folded one trial at a time, in memory that
//!   does not grow with the trials (a value-to-count map of final balances,
//!   running sums), keeping whole records only where a report needs them.

mod fold;

pub use fold::{Fold, Keep};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::{RunOutcome, TrialOutcome};
use crate::plan::Plan;
use crate::vocab::{Mode, Scenario, TrialStatus};

/// Everything a report shows. The JSON format is this struct, serialized;
/// its field names are a contract with users' scripts.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub seed: u64,
    /// The effective parameters, after defaults.
    pub parameters: Plan,
    pub modes: Vec<ModeResult>,
    /// The signal that cut the run short ("SIGINT", ...), or `null`.
    pub interrupted: Option<String>,
    /// `--fail-fast` stopped the run at its first failed trial.
    pub stopped_early: bool,
}

/// One column of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ModeResult {
    /// `null` for the unlocked mode, else the strategy's name.
    pub lock: Option<&'static str>,
    /// The mode, named in reports by `name()` and for programs by `id()`.
    #[serde(skip)]
    pub mode: Mode,
    pub expected_balance: i64,
    /// The trials kept whole: every one from [`results`]; from a streamed
    /// run (see [`Keep`]), only the traced ones, which `--explain` and
    /// `--export-trace` need.
    pub trials: Vec<TrialRecord>,
    pub summary: Summary,
    /// Final balances of the trials with status "ok", value to count: exact
    /// medians and histograms without a value per trial.
    #[serde(skip)]
    pub balances: BTreeMap<i64, u32>,
    /// The failed trials in order, each with its cause (an index into `causes`).
    #[serde(skip)]
    pub failures: Vec<(u32, u32)>,
    /// Every distinct cause of a failed trial, in order of first appearance.
    #[serde(skip)]
    pub causes: Vec<String>,
}

/// One trial as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRecord {
    pub trial: u32,
    pub status: TrialStatus,
    /// Why a failed trial failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub final_balance: i64,
    /// What the bank's books say the balance should be, given the operations
    /// that completed (for overdraft: the withdrawals that were paid).
    pub expected_balance: i64,
    /// final − expected: the money lost (negative) or created (positive).
    pub deviation: i64,
    /// The trial ended where the books say, and never overdrew the account.
    pub consistent: bool,
    /// A withdrawal took the balance below zero.
    pub overdrawn: bool,
    pub withdrawals_succeeded: u64,
    pub withdrawals_refused: u64,
    /// Money paid out beyond what the account held.
    pub overpaid: i64,
    pub duration_ms: f64,
    /// Operations per second while the workers ran (barrier to last finish).
    pub ops_per_sec: f64,
    /// Fault injection: the worker that died holding the lock, or `null`.
    pub killed_worker: Option<u32>,
    /// Times the robust mutex was recovered from a dead holder.
    pub recoveries: u64,
    /// The seed each worker's private RNG (its pause jitter) started from,
    /// by worker index (depositors first). Derived from the run's seed, the
    /// trial and the worker only: the same in every mode and every rerun.
    /// Serialized as decimal strings: they use all 64 bits, and many JSON
    /// readers (JavaScript, jq) round numbers beyond 2^53.
    #[serde(serialize_with = "as_decimal_strings")]
    pub worker_seeds: Vec<u64>,
    /// With `--trace`: every access, the lost updates, the overdrafts and
    /// the accounting identity (see `explain.rs`), filled in by
    /// `report::results` beside these statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::explain::Analysis>,
}

/// The distribution of one mode's trials. Balance statistics count only
/// trials with status "ok"; they are `null` when there are none.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub trials: u32,
    pub consistent: u32,
    pub inconsistent: u32,
    pub failed: u32,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub stddev: Option<f64>,
    /// Sum of the deviations of the ok trials.
    pub total_deviation: i64,
    pub mean_deviation: Option<f64>,
    /// Trials in which the account went below zero.
    pub overdrawn: u32,
    /// Money paid out beyond what the account held, all trials together.
    pub overpaid: i64,
    pub mean_trial_ms: f64,
    /// Operations per second over all ok trials (operations / busy time).
    pub ops_per_sec: f64,
    /// Trials in which a worker died holding the lock (`--kill-holder`).
    pub holder_killed: u32,
    /// Of those, the trials that still completed.
    pub survived_kill: u32,
}

fn as_decimal_strings<S: serde::Serializer>(values: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(u64::to_string))
}

/// Builds the results of a run from its outcomes, every trial kept whole;
/// traces are analysed beside this, by `report::results`.
pub fn results(plan: &Plan, run: &RunOutcome) -> Results {
    let modes: Vec<_> = run.modes.iter().map(|m| m.mode).collect();
    let mut fold = Fold::new(plan, &modes, Keep::All);
    for (m, mode) in run.modes.iter().enumerate() {
        for t in &mode.trials {
            let record = record(plan, t);
            fold.add(m, t, record);
        }
    }
    fold.finish(run.interrupted, run.stopped_early)
}

/// One trial as reports show it, without its trace's analysis.
pub fn record(plan: &Plan, t: &TrialOutcome) -> TrialRecord {
    let amount = i128::from(plan.amount);
    // The books, in i128: the plan bounds every sum to i64, but a failed
    // trial's counters are whatever the worker left behind.
    let credited = match plan.scenario {
        Scenario::LostUpdate => i128::from(t.deposits) - i128::from(t.withdrawals),
        Scenario::Overdraft => i128::from(t.deposits) - i128::from(t.withdrawals_succeeded),
    };
    let books = i128::from(plan.initial) + credited * amount;
    let expected = clamp(books);
    let deviation = clamp(i128::from(t.final_balance) - books);
    let overdrawn = t.overdrafts > 0;
    let ops = t.deposits + t.withdrawals;
    TrialRecord {
        trial: t.trial,
        status: t.status,
        cause: t.cause.clone(),
        final_balance: t.final_balance,
        expected_balance: expected,
        deviation,
        consistent: t.status == TrialStatus::Ok && deviation == 0 && !overdrawn,
        overdrawn,
        withdrawals_succeeded: t.withdrawals_succeeded,
        withdrawals_refused: t.withdrawals_refused,
        overpaid: if plan.scenario == Scenario::Overdraft {
            clamp((-books).max(0))
        } else {
            0
        },
        duration_ms: t.elapsed.as_secs_f64() * 1e3,
        ops_per_sec: rate(ops, t.busy.as_secs_f64()),
        killed_worker: t.killed_worker,
        recoveries: t.recoveries,
        // The coordinator gives each worker exactly this seed (`Plan::worker_seed`).
        worker_seeds: (0..plan.workers())
            .map(|w| plan.worker_seed(t.trial, w))
            .collect(),
        trace: None,
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

pub(crate) fn rate(ops: u64, secs: f64) -> f64 {
    if secs > 0.0 { ops as f64 / secs } else { 0.0 }
}

pub fn mean(xs: &[i64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some(xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64)
}

pub fn median(xs: &[i64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        (sorted[mid - 1] as f64 + sorted[mid] as f64) / 2.0
    })
}

/// The sample standard deviation (n − 1 in the denominator); 0 for one value.
pub fn stddev(xs: &[i64]) -> Option<f64> {
    let m = mean(xs)?;
    if xs.len() < 2 {
        return Some(0.0);
    }
    let var = xs.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    Some(var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ModeOutcomes;
    use crate::plan::Request;
    use std::time::Duration;

    #[test]
    fn mean_median_stddev() {
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[3, 1, 2]), Some(2.0));
        assert_eq!(median(&[4, 1, 2, 3]), Some(2.5));
        assert_eq!(mean(&[1, 2, 3, 4]), Some(2.5));
        assert_eq!(stddev(&[5]), Some(0.0));
        let s = stddev(&[2, 4, 4, 4, 5, 5, 7, 9]).unwrap();
        assert!((s - 2.138).abs() < 1e-3, "{s}");
    }

    fn plan(scenario: Scenario) -> Plan {
        Plan::build(
            Request {
                scenario: Some(scenario),
                trials: 3,
                ..Request::default()
            },
            || 1,
        )
        .unwrap()
    }

    fn run(trials: Vec<TrialOutcome>) -> RunOutcome {
        RunOutcome {
            modes: vec![ModeOutcomes {
                mode: Mode::NoLock,
                trials,
            }],
            interrupted: None,
            stopped_early: false,
        }
    }

    fn outcome(trial: u32, final_balance: i64) -> TrialOutcome {
        TrialOutcome {
            deposits: 50,
            withdrawals: 50,
            elapsed: Duration::from_millis(10),
            busy: Duration::from_millis(5),
            ..TrialOutcome::ok(trial, final_balance)
        }
    }

    #[test]
    fn lost_updates_count_as_inconsistent_and_failed_trials_stay_out() {
        let plan = plan(Scenario::LostUpdate);
        let mut failed = outcome(3, 0);
        failed.status = TrialStatus::Failed;
        failed.cause = Some("worker 1 killed by SIGKILL".into());
        failed.withdrawals = 20;
        let trials = vec![outcome(1, 200), outcome(2, 197), failed];
        let r = results(&plan, &run(trials));
        let s = &r.modes[0].summary;
        assert_eq!(
            (s.trials, s.consistent, s.inconsistent, s.failed),
            (3, 1, 1, 1)
        );
        assert_eq!(
            (s.min, s.max, s.total_deviation),
            (Some(197), Some(200), -3)
        );
        assert_eq!(s.median, Some(198.5));
        assert_eq!(r.modes[0].trials[1].deviation, -3);
        assert_eq!(r.modes[0].trials[2].status, TrialStatus::Failed);
        assert!(!r.modes[0].trials[2].consistent);
        // Every trial records its workers' seeds: one per worker, as the
        // coordinator derived them, different from trial to trial.
        let seeds: Vec<&Vec<u64>> = r.modes[0].trials.iter().map(|t| &t.worker_seeds).collect();
        assert_eq!(seeds[0], &[plan.worker_seed(1, 0), plan.worker_seed(1, 1)]);
        assert_ne!(seeds[0], seeds[1]);
        // 100 operations in 5ms of busy time, twice.
        assert!((s.ops_per_sec - 20_000.0).abs() < 1e-6);
    }

    #[test]
    fn overdraft_checks_the_books_and_the_sign() {
        let plan = plan(Scenario::Overdraft);
        let mut both_paid = outcome(1, -5_000);
        (both_paid.deposits, both_paid.withdrawals) = (0, 2);
        (both_paid.withdrawals_succeeded, both_paid.overdrafts) = (2, 1);
        let mut one_paid = outcome(2, 5_000);
        (one_paid.deposits, one_paid.withdrawals) = (0, 2);
        (one_paid.withdrawals_succeeded, one_paid.withdrawals_refused) = (1, 1);
        let r = results(&plan, &run(vec![both_paid, one_paid]));
        let t = &r.modes[0].trials;
        assert!(t[0].overdrawn && !t[0].consistent && t[0].overpaid == 5_000);
        assert!(!t[1].overdrawn && t[1].consistent && t[1].overpaid == 0);
        assert_eq!(r.modes[0].summary.overdrawn, 1);
        assert_eq!(r.modes[0].expected_balance, 5_000);
    }
}
