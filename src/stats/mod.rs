//! Turns trial outcomes into the results every report renders: per-trial records and per-mode summaries. Pure.
//!
//! - `fold.rs`: the summaries folded one trial at a time, in memory that
//!   does not grow with the trials (a value-to-count map of final balances,
//!   running sums), keeping whole records only where a report needs them;
//! - `anomaly.rs`: what counts as an anomaly in the anomaly table, per mode.

mod anomaly;
mod fold;

pub use anomaly::Tally;
pub use fold::{Fold, Keep};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::{RunOutcome, TransferOutcome, TrialOutcome};
use crate::plan::Plan;
use crate::vocab::{Mode, Scenario, TrialStatus};

/// Everything a report shows. The JSON format is this struct, serialized;
/// its field names are a contract with users' scripts.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The machine the trials ran on.
    pub host: crate::host::Host,
    pub seed: u64,
    /// The effective parameters, after defaults.
    pub parameters: Plan,
    pub modes: Vec<ModeResult>,
    /// The signal that cut the run short ("SIGINT", ...), or `null`.
    pub interrupted: Option<String>,
    /// `--fail-fast` stopped the run at its first failed trial.
    pub stopped_early: bool,
    /// The database went away mid-run (the server stopped): the trial it
    /// cut short and why, or `null`. The trials before it are reported.
    pub database_lost: Option<String>,
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
    /// Every distinct cause of a failed or deadlocked trial, with that
    /// status, in order of first appearance.
    #[serde(skip)]
    pub causes: Vec<(TrialStatus, String)>,
    /// Some trial checked the bank's books (the transfer scenario) or the
    /// write skew's sum: its balances are totals of several accounts.
    #[serde(skip)]
    pub banked: bool,
    /// Traced trials whose books do not balance (a bug in bankrace): the
    /// trial and what does not add up. Kept whatever [`Keep`] says.
    #[serde(skip)]
    pub unbalanced: Vec<(u32, String)>,
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
    /// On a database: transactions retried after a serialization failure
    /// (SQLSTATE 40001); 0 in memory.
    pub retries: u64,
    /// On a database: transactions the server aborted to break a deadlock
    /// (40P01), then retried.
    pub deadlock_aborts: u64,
    /// On a database: compare-and-set writes that changed no row, retried.
    pub cas_misses: u64,
    /// The seed each worker's private RNG (its pause jitter) started from,
    /// by worker index (depositors first). Derived from the run's seed, the
    /// trial and the worker only: the same in every mode and every rerun.
    /// Serialized as decimal strings: they use all 64 bits, and many JSON
    /// readers (JavaScript, jq) round numbers beyond 2^53.
    #[serde(serialize_with = "as_decimal_strings")]
    pub worker_seeds: Vec<u64>,
    /// Transfer scenario: the bank's invariants in this trial.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankCheck>,
    /// Write-skew scenario: the accounts and whether their sum broke the
    /// constraint.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub skew: Option<SkewCheck>,
    /// With `--trace`: every access, the lost updates, the overdrafts and
    /// the accounting identity (see `explain.rs`), filled in by
    /// `report::results` beside these statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::explain::Analysis>,
}

/// The bank's invariants in one trial of the transfer scenario, after
/// Jepsen's bank checker: money conserved, no account negative, every audit
/// saw the true total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BankCheck {
    pub total_before: i64,
    pub total_after: i64,
    /// The accounts (from 1) below zero at the end.
    pub negative_accounts: Vec<u32>,
    pub transfers: u64,
    pub transfers_refused: u64,
    pub audits: u64,
    pub audits_wrong_total: u64,
    /// The lowest and highest total a wrong audit saw.
    #[serde(skip)]
    pub wrong_totals: Option<(i64, i64)>,
    /// The cycle of a deadlocked trial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlock: Option<Vec<CycleLink>>,
    /// How long after the cycle closed the coordinator confirmed it.
    #[serde(skip)]
    pub detected_after: Option<std::time::Duration>,
}

/// The write skew's constraint in one trial: the sum of the accounts must
/// never go below zero.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkewCheck {
    /// Every account's balance at the end, `#1` first. One account below
    /// zero is allowed: only the sum is constrained.
    pub balances: Vec<i64>,
    /// Debits were paid and took the sum below zero: two checks both saw a
    /// sum that covered only one of them.
    pub constraint_broken: bool,
}

/// One worker of a deadlock cycle, as the JSON shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CycleLink {
    /// `T1`, `R2`.
    pub worker: String,
    /// Accounts (from 1) whose locks it holds.
    pub holds: Vec<u32>,
    /// The account whose lock it waits for.
    pub waits_for: u32,
}

impl BankCheck {
    /// Every invariant holds.
    pub fn holds(&self) -> bool {
        self.total_after == self.total_before
            && self.negative_accounts.is_empty()
            && self.audits_wrong_total == 0
    }
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
    /// Of those, on a database, the trials whose dead worker died inside
    /// its open transaction (`row`, `advisory`, `repeatable-read`,
    /// `serializable`), which the server rolled back when its connection
    /// dropped, releasing its locks; 0 in memory.
    pub rolled_back: u32,
    /// Trials ended by a deadlock (not counted in `failed`).
    pub deadlocked: u32,
    /// Transfer scenario: completed trials whose bank total changed.
    pub money_changed: u32,
    /// Transfer scenario: audits that saw a total other than the bank's.
    pub audits_wrong_total: u64,
    /// Write-skew scenario: completed trials whose sum went below zero.
    pub constraint_broken: u32,
    /// The rest of the transfer scenario's summary, for the text report.
    #[serde(skip)]
    pub bank: BankSummary,
    /// `retries` of every trial, summed.
    pub retries: u64,
    /// `deadlock_aborts` of every trial, summed.
    pub deadlock_aborts: u64,
    /// `cas_misses` of every trial, summed.
    pub cas_misses: u64,
}

/// Per mode, what the text report says about the bank's invariants.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BankSummary {
    /// Trials whose total went down, and up.
    pub money_lost: u32,
    pub money_created: u32,
    /// Trials that ended with an account below zero.
    pub negative: u32,
    pub audits: u64,
    /// The lowest and highest total a wrong audit saw.
    pub wrong_totals: Option<(i64, i64)>,
    /// How long each deadlock took to confirm, sorted.
    pub detection: Vec<std::time::Duration>,
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
    fold.finish(
        run.host.clone(),
        run.interrupted,
        run.stopped_early,
        run.database_lost.clone(),
    )
}

/// Whether a finished trial ended where the books say and never overdrew;
/// `None` for a failed trial. For a sweep's early stop.
pub(crate) fn consistent(plan: &Plan, t: &TrialOutcome) -> Option<bool> {
    (t.status == TrialStatus::Ok).then(|| record(plan, t).consistent)
}

/// One trial as reports show it, without its trace's analysis.
pub fn record(plan: &Plan, t: &TrialOutcome) -> TrialRecord {
    let mut r = books(plan, t);
    if let Some(bank) = &t.transfers {
        let check = bank_check(plan, t, bank);
        r.consistent = t.status == TrialStatus::Ok && check.holds();
        r.bank = Some(check);
    }
    if let Some(balances) = &t.accounts {
        // A sum that starts below the amount never passes a check, so a
        // sum below zero after a paid debit is always the skew's doing.
        let broken = t.withdrawals_succeeded > 0 && t.final_balance < 0;
        r.consistent &= !broken;
        r.skew = Some(SkewCheck {
            balances: balances.clone(),
            constraint_broken: broken,
        });
    }
    r
}

fn bank_check(plan: &Plan, t: &TrialOutcome, bank: &TransferOutcome) -> BankCheck {
    let name = |w: u32| plan.worker_name(w).to_string();
    BankCheck {
        total_before: plan.total(),
        total_after: t.final_balance,
        negative_accounts: (1..)
            .zip(&bank.balances)
            .filter(|(_, b)| **b < 0)
            .map(|(a, _)| a)
            .collect(),
        transfers: bank.transfers,
        transfers_refused: bank.refused,
        audits: bank.audits,
        audits_wrong_total: bank.audits_wrong_total,
        wrong_totals: bank.wrong_totals,
        deadlock: bank.deadlock.as_ref().map(|d| {
            d.cycle
                .iter()
                .map(|l| CycleLink {
                    worker: name(l.worker),
                    holds: l.holds.clone(),
                    waits_for: l.waits_for,
                })
                .collect()
        }),
        detected_after: bank.detected_after,
    }
}

/// The trial against the books of its scenario.
fn books(plan: &Plan, t: &TrialOutcome) -> TrialRecord {
    let amount = i128::from(plan.amount);
    // The books, in i128: the plan bounds every sum to i64, but a failed
    // trial's counters are whatever the worker left behind.
    let credited = match plan.scenario {
        Scenario::LostUpdate => i128::from(t.deposits) - i128::from(t.withdrawals),
        Scenario::Overdraft | Scenario::WriteSkew => {
            i128::from(t.deposits) - i128::from(t.withdrawals_succeeded)
        }
        // The books of a bank of transfers: its total, whatever moved.
        Scenario::Transfer => 0,
    };
    let initial = if plan.scenario.several_accounts() {
        plan.total()
    } else {
        plan.initial
    };
    let books = i128::from(initial) + credited * amount;
    let expected = clamp(books);
    let deviation = clamp(i128::from(t.final_balance) - books);
    let overdrawn = t.overdrafts > 0;
    let ops = ops(t);
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
        // What was paid out beyond the funds: never more than was paid, so
        // a bank that starts in debt and pays nothing overpaid nothing.
        overpaid: if plan.scenario == Scenario::Overdraft {
            let paid = i128::from(t.withdrawals_succeeded) * amount;
            clamp((-books).clamp(0, paid))
        } else {
            0
        },
        duration_ms: t.elapsed.as_secs_f64() * 1e3,
        ops_per_sec: rate(ops, t.busy.as_secs_f64()),
        killed_worker: t.killed_worker,
        recoveries: t.recoveries,
        retries: t.retries,
        deadlock_aborts: t.deadlock_aborts,
        cas_misses: t.cas_misses,
        // The coordinator gives each worker exactly this seed (`Plan::worker_seed`).
        worker_seeds: (0..plan.workers())
            .map(|w| plan.worker_seed(t.trial, w))
            .collect(),
        bank: None,
        skew: None,
        trace: None,
    }
}

/// Operations a trial completed: deposits and withdrawals, or transfers
/// (refused ones too) and audits.
pub(crate) fn ops(t: &TrialOutcome) -> u64 {
    let bank = t
        .transfers
        .as_ref()
        .map_or(0, |b| b.transfers + b.refused + b.audits);
    t.deposits + t.withdrawals + bank
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
            database_lost: None,
            host: crate::host::Host::fixture(),
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
        // A bank that starts in debt and pays nothing overpays nothing; one
        // that pays one withdrawal from debt overpaid exactly that.
        let debt = Plan {
            initial: -100,
            ..plan.clone()
        };
        let mut refused = outcome(1, -100);
        (
            refused.deposits,
            refused.withdrawals,
            refused.withdrawals_refused,
        ) = (0, 2, 2);
        let mut paid = outcome(2, -100 - plan.amount);
        (paid.deposits, paid.withdrawals) = (0, 2);
        (paid.withdrawals_succeeded, paid.overdrafts) = (1, 1);
        let d = results(&debt, &run(vec![refused, paid]));
        let overpaid: Vec<i64> = d.modes[0].trials.iter().map(|t| t.overpaid).collect();
        assert_eq!(overpaid, [0, plan.amount]);
        assert_eq!(r.modes[0].expected_balance, 5_000);
    }
}
