//! The per-mode summaries, folded one trial at a time: counts, running sums and a value-to-count map of final balances, so that a million trials cost no more memory than ten. Pure.

use std::collections::BTreeMap;

use super::{BankSummary, ModeResult, Results, Summary, TrialRecord, ops, rate};
use crate::outcome::TrialOutcome;
use crate::plan::Plan;
use crate::vocab::{Mode, TrialStatus};

/// Which trials a fold keeps whole, beside the summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every trial: for renderers handed the whole run at once.
    All,
    /// Only traced trials, which `--explain` and `--export-trace` read: for
    /// a run whose records are streamed as they come.
    Traced,
    /// None: the reports read only the summaries (and the traced trials'
    /// books, kept apart in `unbalanced`).
    Summaries,
}

impl Keep {
    /// What an analysis of a traced trial must hold for the reports that
    /// read the trials this policy keeps.
    pub fn detail(self) -> crate::explain::Detail {
        match self {
            Keep::All | Keep::Traced => crate::explain::Detail::Events,
            Keep::Summaries => crate::explain::Detail::Findings,
        }
    }
}

/// A run's results, built one trial at a time.
pub struct Fold {
    plan: Plan,
    keep: Keep,
    modes: Vec<ModeFold>,
}

/// What one mode's summary needs of its trials, and nothing more.
struct ModeFold {
    mode: Mode,
    trials: u32,
    ok: u32,
    consistent: u32,
    balances: BTreeMap<i64, u32>,
    /// The ok trials' final balances as `f64`, added in trial order.
    balance_sum: f64,
    total_deviation: i64,
    overdrawn: u32,
    overpaid: i64,
    /// Every trial's duration, added in trial order.
    duration_ms: f64,
    /// Operations and busy seconds of the ok trials.
    ops: u64,
    busy: f64,
    holder_killed: u32,
    survived_kill: u32,
    rolled_back: u32,
    deadlocked: u32,
    /// Transfer scenario: ok trials whose bank total changed, audits that
    /// saw a wrong total, and the bank's own summary.
    money_changed: u32,
    audits_wrong_total: u64,
    bank: BankSummary,
    /// Write-skew scenario: ok trials whose sum went below zero.
    constraint_broken: u32,
    /// On a database: what its concurrency control cost, all trials.
    retries: u64,
    deadlock_aborts: u64,
    cas_misses: u64,
    failures: Vec<(u32, u32)>,
    causes: Vec<(TrialStatus, String)>,
    banked: bool,
    unbalanced: Vec<(u32, String)>,
    kept: Vec<TrialRecord>,
}

impl Fold {
    /// An empty fold of `modes` (a run of `plan` has the plan's modes).
    pub fn new(plan: &Plan, modes: &[Mode], keep: Keep) -> Fold {
        let modes = modes.iter().map(|&mode| ModeFold::new(mode)).collect();
        Fold {
            plan: plan.clone(),
            keep,
            modes,
        }
    }

    /// Adds trial `t` of mode number `m` (in the order given), whose
    /// record is `record`.
    pub fn add(&mut self, m: usize, t: &TrialOutcome, record: TrialRecord) {
        let keep = match self.keep {
            Keep::All => true,
            Keep::Traced => record.trace.is_some(),
            Keep::Summaries => false,
        };
        self.modes[m].add(t, record, keep);
    }

    /// The summary of mode number `m` so far.
    pub fn summary(&self, m: usize) -> Summary {
        self.modes[m].summary()
    }

    /// The results of every trial added; `interrupted` and `stopped_early`
    /// say how the run ended.
    pub fn finish(
        self,
        host: crate::host::Host,
        interrupted: Option<i32>,
        stopped_early: bool,
        database_lost: Option<String>,
    ) -> Results {
        let expected = self.plan.expected_balance();
        Results {
            host,
            seed: self.plan.seed,
            modes: self.modes.into_iter().map(|m| m.finish(expected)).collect(),
            parameters: self.plan,
            interrupted: interrupted.map(crate::signals::name),
            stopped_early,
            database_lost,
        }
    }
}

impl ModeFold {
    fn new(mode: Mode) -> ModeFold {
        ModeFold {
            mode,
            trials: 0,
            ok: 0,
            consistent: 0,
            balances: BTreeMap::new(),
            balance_sum: 0.0,
            total_deviation: 0,
            overdrawn: 0,
            overpaid: 0,
            duration_ms: 0.0,
            ops: 0,
            busy: 0.0,
            holder_killed: 0,
            survived_kill: 0,
            rolled_back: 0,
            deadlocked: 0,
            money_changed: 0,
            audits_wrong_total: 0,
            constraint_broken: 0,
            bank: BankSummary::default(),
            retries: 0,
            deadlock_aborts: 0,
            cas_misses: 0,
            failures: Vec::new(),
            causes: Vec::new(),
            banked: false,
            unbalanced: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn add(&mut self, t: &TrialOutcome, r: TrialRecord, keep: bool) {
        self.trials += 1;
        self.duration_ms += r.duration_ms;
        self.holder_killed += u32::from(r.killed_worker.is_some());
        self.deadlocked += u32::from(r.status == TrialStatus::Deadlocked);
        self.retries += r.retries;
        self.deadlock_aborts += r.deadlock_aborts;
        self.cas_misses += r.cas_misses;
        self.add_bank(&r);
        // The write skew's balance is a sum of accounts too.
        self.banked |= r.skew.is_some();
        if r.status == TrialStatus::Ok {
            self.ok += 1;
            self.consistent += u32::from(r.consistent);
            *self.balances.entry(r.final_balance).or_default() += 1;
            self.balance_sum += r.final_balance as f64;
            self.total_deviation += r.deviation;
            self.overdrawn += u32::from(r.overdrawn);
            self.constraint_broken +=
                u32::from(r.skew.as_ref().is_some_and(|k| k.constraint_broken));
            self.overpaid += r.overpaid;
            self.ops += ops(t);
            self.busy += t.busy.as_secs_f64();
            self.survived_kill += u32::from(r.killed_worker.is_some());
            // The others went on, so the dead worker's locks were released:
            // on a database only the end of its transaction does that, and
            // it never committed.
            self.rolled_back +=
                u32::from(r.killed_worker.is_some() && self.mode.window_in_transaction());
        } else {
            let cause = r.cause.as_deref().unwrap_or("unknown cause");
            let same = |(s, c): &(TrialStatus, String)| *s == r.status && c == cause;
            let index = match self.causes.iter().position(same) {
                Some(i) => i,
                None => {
                    self.causes.push((r.status, cause.to_string()));
                    self.causes.len() - 1
                }
            };
            self.failures.push((r.trial, index as u32));
        }
        let books = r.trace.as_ref().and_then(|a| a.identity.as_ref());
        if let Some(id) = books.filter(|id| !id.holds) {
            let problem = id.problem.as_deref().unwrap_or("unknown");
            self.unbalanced.push((r.trial, problem.to_string()));
        }
        if keep {
            self.kept.push(r);
        }
    }

    /// Transfer scenario: money and balances count in the trials that
    /// completed (a deadlocked trial was cut off between debits and
    /// credits); audits in every trial.
    fn add_bank(&mut self, r: &TrialRecord) {
        let Some(b) = &r.bank else {
            return;
        };
        self.banked = true;
        let s = &mut self.bank;
        if r.status == TrialStatus::Ok {
            self.money_changed += u32::from(b.total_after != b.total_before);
            s.money_lost += u32::from(b.total_after < b.total_before);
            s.money_created += u32::from(b.total_after > b.total_before);
            s.negative += u32::from(!b.negative_accounts.is_empty());
        }
        self.audits_wrong_total += b.audits_wrong_total;
        s.audits += b.audits;
        if let Some((lo, hi)) = b.wrong_totals {
            let (l, h) = s.wrong_totals.unwrap_or((lo, hi));
            s.wrong_totals = Some((l.min(lo), h.max(hi)));
        }
        s.detection.extend(b.detected_after);
    }

    fn finish(self, expected_balance: i64) -> ModeResult {
        ModeResult {
            lock: self.mode.strategy(),
            mode: self.mode,
            expected_balance,
            summary: self.summary(),
            trials: self.kept,
            balances: self.balances,
            failures: self.failures,
            causes: self.causes,
            banked: self.banked,
            unbalanced: self.unbalanced,
        }
    }

    fn summary(&self) -> Summary {
        let ok = self.ok;
        let mean = (ok > 0).then(|| self.balance_sum / f64::from(ok));
        Summary {
            trials: self.trials,
            consistent: self.consistent,
            inconsistent: ok - self.consistent,
            failed: self.trials - ok - self.deadlocked,
            min: self.balances.keys().next().copied(),
            max: self.balances.keys().next_back().copied(),
            mean,
            median: median(&self.balances, ok),
            stddev: mean.map(|m| stddev(&self.balances, ok, m)),
            total_deviation: self.total_deviation,
            mean_deviation: (ok > 0).then(|| self.total_deviation as f64 / f64::from(ok)),
            overdrawn: self.overdrawn,
            overpaid: self.overpaid,
            mean_trial_ms: if self.trials == 0 {
                0.0
            } else {
                self.duration_ms / f64::from(self.trials)
            },
            ops_per_sec: rate(self.ops, self.busy),
            holder_killed: self.holder_killed,
            survived_kill: self.survived_kill,
            rolled_back: self.rolled_back,
            deadlocked: self.deadlocked,
            money_changed: self.money_changed,
            audits_wrong_total: self.audits_wrong_total,
            constraint_broken: self.constraint_broken,
            bank: {
                let mut bank = self.bank.clone();
                bank.detection.sort_unstable();
                bank
            },
            retries: self.retries,
            deadlock_aborts: self.deadlock_aborts,
            cas_misses: self.cas_misses,
        }
    }
}

/// The value at 0-based rank `rank` of the multiset `counts`.
fn at_rank(counts: &BTreeMap<i64, u32>, rank: u32) -> i64 {
    let mut seen = 0u32;
    for (&value, &count) in counts {
        seen += count;
        if rank < seen {
            return value;
        }
    }
    unreachable!("rank {rank} is below the {seen} values")
}

/// The median of `n` values given as value-to-count: the middle one, or the
/// mean of the two middle ones.
fn median(counts: &BTreeMap<i64, u32>, n: u32) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    Some(if n % 2 == 1 {
        at_rank(counts, mid) as f64
    } else {
        (at_rank(counts, mid - 1) as f64 + at_rank(counts, mid) as f64) / 2.0
    })
}

/// The sample standard deviation of `n` values with mean `mean`, given as
/// value-to-count; 0 for one value.
fn stddev(counts: &BTreeMap<i64, u32>, n: u32, mean: f64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let squares: f64 = counts
        .iter()
        .map(|(&x, &c)| f64::from(c) * (x as f64 - mean).powi(2))
        .sum();
    (squares / f64::from(n - 1)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[i64]) -> BTreeMap<i64, u32> {
        let mut m = BTreeMap::new();
        for &v in values {
            *m.entry(v).or_default() += 1;
        }
        m
    }

    #[test]
    fn the_map_gives_the_same_median_and_spread_as_the_values() {
        for values in [
            vec![5],
            vec![3, 1, 2],
            vec![4, 1, 2, 3],
            vec![2, 4, 4, 4, 5, 5, 7, 9],
            vec![200, 197, 200, 202, 197, -3, 1_000_000],
        ] {
            let (c, n) = (counts(&values), values.len() as u32);
            assert_eq!(median(&c, n), super::super::median(&values), "{values:?}");
            let mean = super::super::mean(&values).unwrap();
            let old = super::super::stddev(&values).unwrap();
            assert!((stddev(&c, n, mean) - old).abs() <= 1e-12 * old.max(1.0));
        }
        assert_eq!(median(&BTreeMap::new(), 0), None);
    }
}
