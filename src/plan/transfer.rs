//! The transfer scenario's part of a plan: accounts, transferers and auditors, and the checks that keep its options and modes apart from the other scenarios'. Pure.

use crate::limits::{MAX_ACCOUNTS, MAX_HISTORY_WORDS_PER_RUN, MAX_WORKERS};
use crate::usage::UsageError;
use crate::vocab::{BackendKind, Mode, Scenario};

use super::check::in_range;
use super::{Plan, Request, TRANSFER};

impl Plan {
    /// Sets the accounts, transferers and auditors of a transfer plan, or
    /// refuses them (and the other transfer-only options) elsewhere.
    pub(super) fn transfer_parts(&mut self, req: &Request) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        if self.scenario != Scenario::Transfer {
            return self.without_transfer_parts(req);
        }
        for (flag, given) in [
            ("--depositors", req.depositors.is_some()),
            ("--withdrawers", req.withdrawers.is_some()),
            ("--schedule", req.schedule.is_some()),
            ("--kill-holder", req.kill_holder != 0.0),
        ] {
            if given {
                return fail(format!(
                    "{flag} is not available in the {} scenario \
                     (it has transferers and auditors: see --transferers, --auditors)",
                    Scenario::Transfer.name()
                ));
            }
        }
        let in_memory = self.backend == BackendKind::Memory;
        if let Some(m) = self
            .modes
            .iter()
            .find(|m| !m.fits(Scenario::Transfer) || (in_memory && !Mode::TRANSFER.contains(m)))
        {
            return fail(format!(
                "--lock={} is not available in the {} scenario{}: choose {} (with --db: {})",
                m.id(),
                Scenario::Transfer.name(),
                if in_memory {
                    " on the memory ledger"
                } else {
                    ""
                },
                Mode::listed(&Mode::TRANSFER[1..]),
                Mode::listed(&Mode::DB_STRATEGIES)
            ));
        }
        let accounts = req.accounts.unwrap_or(i64::from(TRANSFER.accounts));
        if accounts < 2 {
            return fail(format!(
                "--accounts must be at least 2 (got {accounts}): a transfer needs a source and another account to credit"
            ));
        }
        let workers = i64::from(MAX_WORKERS);
        self.accounts = in_range("--accounts", accounts, 2, i64::from(MAX_ACCOUNTS))? as u32;
        self.transferers = in_range(
            "--transferers",
            req.transferers.unwrap_or(i64::from(TRANSFER.transferers)),
            1,
            workers,
        )? as u32;
        self.auditors = in_range("--auditors", req.auditors.unwrap_or(0), 0, workers)? as u32;
        if self.unlocked_audits && self.auditors == 0 {
            return fail("--unlocked-audits needs auditors: add --auditors N".into());
        }
        Ok(())
    }

    /// Outside the transfer scenario: its options are refused, and so are
    /// the modes that belong to another scenario (the write skew checks its
    /// own in `skew.rs`).
    fn without_transfer_parts(&self, req: &Request) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        for (flag, given) in [
            ("--accounts", req.accounts.is_some()),
            ("--transferers", req.transferers.is_some()),
            ("--auditors", req.auditors.is_some()),
            ("--collide", req.collide),
            ("--unlocked-audits", req.unlocked_audits),
            ("--export-history", req.history),
        ] {
            if given {
                let transfer = Scenario::Transfer.name();
                return fail(format!(
                    "{flag} belongs to the {transfer} scenario: add --scenario {transfer}"
                ));
            }
        }
        if self.scenario == Scenario::WriteSkew {
            return Ok(()); // its modes are checked in `skew.rs`
        }
        if let Some(m) = self.modes.iter().find(|m| !m.fits(self.scenario)) {
            let owner = if m.fits(Scenario::Transfer) {
                Scenario::Transfer
            } else {
                Scenario::WriteSkew
            };
            return fail(format!(
                "--lock={} is a mode of the {} scenario: add --scenario {}, or choose {}",
                m.id(),
                owner.name(),
                owner.name(),
                Mode::listed(&Mode::STRATEGIES)
            ));
        }
        Ok(())
    }

    /// The transfer plan's sizes fit: every balance stays in an account's
    /// 64 bits, the history in its limit.
    pub(super) fn check_transfer(&self) -> Result<(), UsageError> {
        if self.scenario != Scenario::Transfer {
            return Ok(());
        }
        // However the transfers interleave, no balance leaves these bounds:
        // every transfer's amount lost or created at most once per operation.
        let swing = i128::from(self.transferers) * i128::from(self.ops) * i128::from(self.amount);
        let total = i128::from(self.initial) * i128::from(self.accounts);
        if total + swing > i128::from(i64::MAX) || total - swing < i128::from(i64::MIN) {
            return Err(UsageError(
                "the balances could leave a 64-bit account: lower --initial, --ops or --amount"
                    .into(),
            ));
        }
        if self.history {
            let words = u64::from(self.trials)
                .saturating_mul(self.modes.len() as u64)
                .saturating_mul(u64::from(self.workers()))
                .saturating_mul(self.ops)
                .saturating_mul(5 + u64::from(self.accounts));
            if words > MAX_HISTORY_WORDS_PER_RUN {
                return Err(UsageError(format!(
                    "--export-history records at most {MAX_HISTORY_WORDS_PER_RUN} words per run \
                     (trials x modes x workers x ops x (5 + accounts)), this plan makes {words}: \
                     lower --trials or --ops"
                )));
            }
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

    fn transfer() -> Request {
        Request {
            scenario: Some(Scenario::Transfer),
            trials: 2,
            ..Request::default()
        }
    }

    #[test]
    fn the_default_transfer_plan_compares_three_modes() {
        let plan = build(transfer()).unwrap();
        assert_eq!(
            plan.modes,
            [Mode::NoLock, Mode::MutexUnordered, Mode::Mutex]
        );
        assert_eq!((plan.accounts, plan.transferers, plan.auditors), (4, 3, 0));
        assert_eq!(plan.expected_balance(), 400);
        assert_eq!(plan.worker_name(2).to_string(), "T3");
    }

    #[test]
    fn one_account_and_strangers_get_a_sentence() {
        let one = build(Request {
            accounts: Some(1),
            ..transfer()
        });
        assert!(one.unwrap_err().contains("a transfer needs"));
        let many = build(Request {
            accounts: Some(65),
            ..transfer()
        });
        assert!(
            many.unwrap_err()
                .contains("--accounts must be between 2 and 64")
        );
        let auditors = build(Request {
            trials: 1,
            auditors: Some(1),
            ..Request::default()
        });
        assert!(auditors.unwrap_err().contains("add --scenario transfer"));
        let global = build(Request {
            trials: 1,
            locks: vec![LockChoice::One(Mode::Global)],
            ..Request::default()
        });
        assert!(
            global
                .unwrap_err()
                .contains("--lock=global is a mode of the transfer")
        );
        let flock = build(Request {
            locks: vec![LockChoice::One(Mode::Flock)],
            ..transfer()
        });
        assert!(flock.unwrap_err().contains("not available in the transfer"));
        let unlocked = build(Request {
            unlocked_audits: true,
            ..transfer()
        });
        assert!(unlocked.unwrap_err().contains("needs auditors"));
    }

    #[test]
    fn transfers_are_traced_and_each_counts_three_records() {
        let traced = |ops| {
            build(Request {
                trace: true,
                trials: 1,
                ops: Some(ops),
                transferers: Some(2),
                locks: vec![LockChoice::One(Mode::Mutex)],
                ..transfer()
            })
        };
        // 2 transferers x 166,666 transfers x 3 records fits in 1,000,000.
        assert!(traced(166_666).unwrap().trace);
        let over = traced(166_667).unwrap_err();
        assert!(over.contains("(3 x workers x ops)"), "{over}");
    }

    #[test]
    fn lock_all_means_every_transfer_lock() {
        let plan = build(Request {
            locks: vec![LockChoice::All],
            no_lock: true,
            ..transfer()
        })
        .unwrap();
        assert_eq!(plan.modes, Mode::TRANSFER);
    }
}
