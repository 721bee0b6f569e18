//! What counts as an anomaly, defined once for the anomaly table: over one mode's summary, the trials that finished wrong (off the books, overdrawn, the bank's invariants broken), those that deadlocked, those that failed, and what the concurrency control cost in retries. Pure.

use serde::Serialize;

use super::Summary;
use crate::vocab::Verdict;

/// One mode's trials, counted as the anomaly table counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Tally {
    /// Trials run, whatever their status.
    pub trials: u32,
    /// Trials that finished with the anomaly their scenario is about: a
    /// lost update (off the books), an overdraft, money changed, a wrong
    /// audit or a negative account. [`Summary::inconsistent`].
    pub anomalies: u32,
    /// Trials ended by a deadlock among the workers' locks.
    pub deadlocked: u32,
    /// Trials that failed (a worker died, timed out, ran out of retries):
    /// they say nothing either way.
    pub failed: u32,
    /// What the database did to prevent the anomaly, all trials together:
    /// transactions retried on 40001, deadlocks the server broke (40P01)
    /// and compare-and-set writes that changed no row.
    pub retries: u64,
    pub deadlock_aborts: u64,
    pub cas_misses: u64,
}

impl Tally {
    /// The counts of a mode's summary.
    pub fn of(s: &Summary) -> Tally {
        Tally {
            trials: s.trials,
            anomalies: s.inconsistent,
            deadlocked: s.deadlocked,
            failed: s.failed,
            retries: s.retries,
            deadlock_aborts: s.deadlock_aborts,
            cas_misses: s.cas_misses,
        }
    }

    /// Every retried transaction or write, whatever made it retry.
    pub fn all_retries(&self) -> u64 {
        self.retries + self.deadlock_aborts + self.cas_misses
    }

    /// Trials that showed the anomaly or deadlocked.
    pub fn anomalous(&self) -> u32 {
        self.anomalies + self.deadlocked
    }

    /// The cell's verdict: an anomaly as soon as one trial showed it, a
    /// deadlock if only deadlocks did, prevented when trials finished and
    /// none did, failed when no trial could be judged.
    pub fn verdict(&self) -> Verdict {
        if self.trials == 0 {
            Verdict::NotRun
        } else if self.anomalies > 0 {
            Verdict::Anomaly
        } else if self.deadlocked > 0 {
            Verdict::Deadlock
        } else if self.failed == self.trials {
            Verdict::Failed
        } else {
            Verdict::Prevented
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(trials: u32, anomalies: u32, deadlocked: u32, failed: u32) -> Tally {
        Tally {
            trials,
            anomalies,
            deadlocked,
            failed,
            ..Tally::default()
        }
    }

    #[test]
    fn one_wrong_trial_is_an_anomaly_whatever_else_happened() {
        assert_eq!(tally(10, 1, 0, 0).verdict(), Verdict::Anomaly);
        assert_eq!(tally(10, 1, 5, 3).verdict(), Verdict::Anomaly);
        assert_eq!(tally(10, 0, 2, 0).verdict(), Verdict::Deadlock);
        assert_eq!(tally(10, 0, 0, 3).verdict(), Verdict::Prevented);
        assert_eq!(tally(10, 0, 0, 10).verdict(), Verdict::Failed);
        assert_eq!(tally(0, 0, 0, 0).verdict(), Verdict::NotRun);
        assert_eq!(tally(10, 2, 3, 0).anomalous(), 5);
    }

    #[test]
    fn a_summary_counts_as_its_fields_say() {
        let s = Summary {
            trials: 7,
            consistent: 2,
            inconsistent: 3,
            failed: 1,
            min: None,
            max: None,
            mean: None,
            median: None,
            stddev: None,
            total_deviation: 0,
            mean_deviation: None,
            overdrawn: 0,
            overpaid: 0,
            mean_trial_ms: 0.0,
            ops_per_sec: 0.0,
            holder_killed: 0,
            survived_kill: 0,
            deadlocked: 1,
            money_changed: 0,
            audits_wrong_total: 0,
            constraint_broken: 0,
            rolled_back: 0,
            bank: super::super::BankSummary::default(),
            retries: 4,
            deadlock_aborts: 5,
            cas_misses: 6,
        };
        let t = Tally::of(&s);
        assert_eq!(
            (t.trials, t.anomalies, t.deadlocked, t.failed),
            (7, 3, 1, 1)
        );
        assert_eq!(t.all_retries(), 15);
    }
}
