//! Trial n of a mode, specified once: the job, each worker's role, seed and fault, and the forced schedule's steps. Pure and seeded.

use crate::spec::{Job, StepSpec, TrialSpec, WorkerSpec};
use crate::vocab::Mode;

use super::Plan;

/// A fault to inject into one trial: worker `worker` dies during operation
/// `op` (0-based), while it holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub worker: u32,
    pub op: u64,
}

impl Plan {
    /// Trial `trial` (1-based) of `mode`: everything its ledger and its
    /// workers need. The same for every mode but the mode itself, so that
    /// modes compared side by side get the same seeds and the same faults.
    pub fn trial(&self, mode: Mode, trial: u32) -> TrialSpec {
        let kill = self.injected_kill(trial);
        let job = Job {
            scenario: self.scenario,
            backend: self.backend,
            mode,
            max_retries: self.max_retries,
            ops: self.ops,
            amount: self.amount,
            initial: self.initial,
            pause_ns: self.pause.as_nanos() as u64,
            window_ns: self.window.as_nanos() as u64,
            timeout_ns: self.timeout.as_nanos() as u64,
            workers: self.workers(),
            accounts: self.accounts,
            trace_ops: if self.trace { self.ops } else { 0 },
            steps: self.schedule.as_ref().map_or(0, |s| s.steps.len() as u32),
            collide: self.collide,
            audits_unlocked: self.unlocked_audits,
            history: self.history,
        };
        let workers = (0..self.workers())
            .map(|w| WorkerSpec {
                role: self.worker_name(w).role,
                seed: self.worker_seed(trial, w),
                kill_at: kill.filter(|k| k.worker == w).map(|k| k.op),
            })
            .collect();
        let steps = self.schedule.as_ref().map_or_else(Vec::new, |s| {
            s.steps
                .iter()
                .map(|step| StepSpec {
                    worker: step.worker.index(self.depositors),
                    write: step.access == crate::schedule::Access::Write,
                })
                .collect()
        });
        TrialSpec {
            trial,
            job,
            workers,
            steps,
        }
    }

    /// The fault injected into trial `trial`, if any: in a `kill_holder`
    /// fraction of trials, one worker and one of its operations, both drawn
    /// from the seed. The same in every mode, so each strategy faces the
    /// same faults.
    pub(crate) fn injected_kill(&self, trial: u32) -> Option<Kill> {
        if self.kill_holder <= 0.0 || self.ops == 0 {
            return None;
        }
        let draw = splitmix64(self.seed ^ 0x6b69_6c6c ^ (u64::from(trial) << 40));
        // The top 53 bits as a uniform fraction in [0, 1).
        let fraction = (draw >> 11) as f64 / (1u64 << 53) as f64;
        if fraction >= self.kill_holder {
            return None;
        }
        let pick = splitmix64(draw);
        Some(Kill {
            worker: (pick % u64::from(self.workers())) as u32,
            op: splitmix64(pick) % self.ops,
        })
    }

    /// The seed of worker `worker`'s private RNG in trial `trial`. The same
    /// in every mode, so modes compared side by side get the same jitter.
    pub(crate) fn worker_seed(&self, trial: u32, worker: u32) -> u64 {
        splitmix64(splitmix64(self.seed ^ u64::from(trial)) ^ u64::from(worker) << 32)
    }
}

/// A fast, well-mixing hash of a 64-bit value (SplitMix64's finaliser).
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Request;
    use crate::vocab::Role;

    #[test]
    fn a_trial_spec_is_the_plan_for_that_trial() {
        let plan = Plan::build(
            Request {
                trials: 3,
                kill_holder: 1.0,
                depositors: Some(2),
                ..Request::default()
            },
            || 5,
        )
        .unwrap();
        let spec = plan.trial(Mode::Spin, 2);
        assert_eq!(spec.job.mode, Mode::Spin);
        assert_eq!(spec.job.workers, 3);
        let roles: Vec<Role> = spec.workers.iter().map(|w| w.role).collect();
        assert_eq!(roles, [Role::Depositor, Role::Depositor, Role::Withdrawer]);
        let kill = plan.injected_kill(2).unwrap();
        assert_eq!(spec.workers[kill.worker as usize].kill_at, Some(kill.op));
        assert_eq!(spec.doomed(), Some(kill.worker));
        // Only the mode differs between the modes of one trial.
        let other = plan.trial(Mode::NoLock, 2);
        assert_eq!(other.workers, spec.workers);
        assert_eq!(
            Job {
                mode: Mode::Spin,
                ..other.job
            },
            spec.job
        );
    }
}
