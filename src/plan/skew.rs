//! The write-skew scenario's part of a plan: one account per withdrawer, and the checks that keep other scenarios' options and modes out of it. Pure.

use crate::limits::MAX_ACCOUNTS;
use crate::usage::UsageError;
use crate::vocab::{BackendKind, Mode, Scenario};

use super::check::in_range;
use super::{Plan, Request};

impl Plan {
    /// Gives a write-skew plan one account per withdrawer (each debits its
    /// own), or refuses what the scenario does not have.
    pub(super) fn skew_parts(&mut self, req: &Request) -> Result<(), UsageError> {
        if self.scenario != Scenario::WriteSkew {
            return Ok(());
        }
        let fail = |msg: String| Err(UsageError(msg));
        for (flag, given) in [
            ("--depositors", req.depositors.is_some_and(|d| d != 0)),
            ("--trace", req.trace),
            ("--schedule", req.schedule.is_some()),
            ("--kill-holder", req.kill_holder != 0.0),
            ("--reuse-workers", req.reuse_workers),
        ] {
            if given {
                return fail(format!(
                    "{flag} is not available in the {} scenario \
                     (its workers are withdrawers, each with its own account: see --withdrawers)",
                    Scenario::WriteSkew.name()
                ));
            }
        }
        let withdrawers = i64::from(self.withdrawers);
        if withdrawers < 2 {
            return fail(format!(
                "--withdrawers must be at least 2 in the {} scenario (got {withdrawers}): \
                 the skew needs two workers, each debiting its own account",
                Scenario::WriteSkew.name()
            ));
        }
        self.accounts = in_range("--withdrawers", withdrawers, 2, i64::from(MAX_ACCOUNTS))? as u32;
        if let Some(m) = self.modes.iter().find(|m| !m.fits(Scenario::WriteSkew)) {
            return fail(format!(
                "--lock={} is not available in the {} scenario: choose {} (with --db: {})",
                m.id(),
                Scenario::WriteSkew.name(),
                Mode::listed(&Mode::WRITE_SKEW[1..]),
                Mode::listed(&Mode::DB_STRATEGIES)
            ));
        }
        if self.backend == BackendKind::Memory && self.modes.contains(&Mode::Atomic) {
            return fail(format!(
                "--lock={} in the {} scenario is one SQL statement and needs --db \
                 (in memory no one instruction reads one account and writes another): \
                 choose {}",
                Mode::Atomic.id(),
                Scenario::WriteSkew.name(),
                Mode::listed(&Mode::WRITE_SKEW[1..])
            ));
        }
        // However the debits interleave, the sum stays above this.
        let lowest = i128::from(self.initial) * i128::from(self.withdrawers)
            - i128::from(self.withdrawers) * i128::from(self.ops) * i128::from(self.amount);
        if lowest * i128::from(self.trials) < i128::from(i64::MIN) {
            return fail(
                "the accounts' sum could leave a 64-bit number: lower --ops, --amount or --trials"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{Plan, Request};
    use crate::vocab::{LockChoice, Mode, Scenario};

    fn build(req: Request) -> Result<Plan, String> {
        Plan::build(req, || 1).map_err(|e| e.0)
    }

    fn skew() -> Request {
        Request {
            scenario: Some(Scenario::WriteSkew),
            trials: 2,
            ..Request::default()
        }
    }

    #[test]
    fn the_default_write_skew_is_the_on_call_doctors() {
        let plan = build(skew()).unwrap();
        assert_eq!(plan.modes, Mode::WRITE_SKEW_DEFAULT);
        assert_eq!(
            (plan.accounts, plan.withdrawers, plan.depositors),
            (2, 2, 0)
        );
        assert_eq!((plan.initial, plan.amount, plan.ops), (100, 200, 1));
        // Serially, the first debit passes (sum 200) and the second is
        // refused (sum 0): the bank ends at 0.
        assert_eq!(plan.expected_balance(), 0);
        assert_eq!(plan.worker_name(1).to_string(), "W2");
        let db = build(Request {
            db: Some("embedded".into()),
            ..skew()
        })
        .unwrap();
        assert_eq!(db.modes, [Mode::NoLock, Mode::Row]);
    }

    #[test]
    fn what_the_write_skew_lacks_gets_a_sentence() {
        let one = build(Request {
            withdrawers: Some(1),
            ..skew()
        });
        assert!(one.unwrap_err().contains("at least 2"));
        let depositors = build(Request {
            depositors: Some(1),
            ..skew()
        });
        assert!(
            depositors
                .unwrap_err()
                .contains("--depositors is not available")
        );
        let atomic = build(Request {
            locks: vec![LockChoice::One(Mode::Atomic)],
            ..skew()
        });
        assert!(atomic.unwrap_err().contains("needs --db"));
        let unordered = build(Request {
            locks: vec![LockChoice::One(Mode::MutexUnordered)],
            ..skew()
        });
        assert!(
            unordered
                .unwrap_err()
                .contains("not available in the write-skew")
        );
        let own_elsewhere = build(Request {
            trials: 1,
            locks: vec![LockChoice::One(Mode::Own)],
            ..Request::default()
        });
        assert!(
            own_elsewhere
                .unwrap_err()
                .contains("add --scenario write-skew")
        );
        let own_on_db = build(Request {
            locks: vec![LockChoice::One(Mode::Own)],
            db: Some("embedded".into()),
            ..skew()
        });
        assert!(own_on_db.unwrap_err().contains("memory-mapped ledger only"));
    }
}
