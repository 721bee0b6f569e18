//! What `--expect` asserts about a finished run: every trial exact, or the race shown at least once. Pure.

use std::fmt;

use std::time::Duration;

use crate::duration;
use crate::limits::{MAX_DELAY, MAX_TRIALS};
use crate::plan::Plan;
use crate::stats::Results;

/// A claim about the outcome that a script can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Every trial of every mode finished and ended where the books say,
    /// never overdrawn. A failed trial does not meet it.
    Exact,
    /// At least one unlocked trial that finished showed the race: lost
    /// updates (off the books) or an overdrawn account. Needs the unlocked
    /// mode among the modes; the command line refuses it otherwise.
    Race,
}

/// Why an expectation was not met, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet(pub String);

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks `expectation` against a run's results.
pub fn check(results: &Results, expectation: Expectation) -> Result<(), Unmet> {
    match expectation {
        Expectation::Exact => {
            let off: Vec<String> = results
                .modes
                .iter()
                .filter(|m| m.summary.consistent < m.summary.trials)
                .map(|m| {
                    let s = &m.summary;
                    let mut part = format!(
                        "{}: {} of {} trials not exact",
                        m.mode.name(),
                        s.inconsistent,
                        s.trials
                    );
                    if s.failed > 0 {
                        part.push_str(&format!(", {} failed", s.failed));
                    }
                    part
                })
                .collect();
            if off.is_empty() {
                Ok(())
            } else {
                Err(Unmet(format!(
                    "--expect exact: not every trial was exact ({}){}",
                    off.join("; "),
                    exact_hint(results)
                )))
            }
        }
        Expectation::Race => {
            let unlocked: Vec<_> = results.modes.iter().filter(|m| m.lock.is_none()).collect();
            if unlocked.is_empty() {
                return Err(Unmet(
                    "--expect race: no unlocked trials ran, so the race could not show".into(),
                ));
            }
            if unlocked.iter().any(|m| m.summary.inconsistent > 0) {
                return Ok(());
            }
            let (trials, failed) = unlocked.iter().fold((0, 0), |(t, f), m| {
                (t + m.summary.trials, f + m.summary.failed)
            });
            let mut msg = format!(
                "--expect race: the race never showed in {trials} unlocked trial{}",
                if trials == 1 { "" } else { "s" }
            );
            if failed > 0 {
                msg.push_str(&format!(" ({failed} failed)"));
            }
            msg.push_str(&race_hint(&results.parameters));
            Err(Unmet(msg))
        }
    }
}

/// What would make `--expect exact` hold, after its reasons.
fn exact_hint(results: &Results) -> String {
    let unlocked_off = results
        .modes
        .iter()
        .any(|m| m.lock.is_none() && m.summary.inconsistent > 0);
    let failed: u32 = results.modes.iter().map(|m| m.summary.failed).sum();
    let mut hints = Vec::new();
    if unlocked_off {
        hints.push(
            "without a lock updates get lost: drop --no-lock and run only --lock modes, or expect the race with --expect race"
                .to_string(),
        );
    }
    if failed > 0 {
        hints.push(format!(
            "{failed} failed trial{} (causes in the report above; if they timed out, give a longer --timeout)",
            if failed == 1 { "" } else { "s" }
        ));
    }
    if hints.is_empty() {
        String::new()
    } else {
        format!(": {}", hints.join("; "))
    }
}

/// What would make the race show, from the plan that did not show it: a
/// wider window, more operations, more trials.
fn race_hint(plan: &Plan) -> String {
    if plan.workers() < 2 {
        return ": with one worker nothing can race: add --depositors or --withdrawers".into();
    }
    let window = plan.window.max(Duration::from_micros(500)) * 2;
    format!(
        "; to make it show, widen the race window (--window {}, now {}), give each worker more operations (--ops {}, now {}) or run more trials (--trials {}, now {})",
        duration::format(window.min(MAX_DELAY)),
        duration::format(plan.window),
        plan.ops.saturating_mul(10).clamp(10, 100_000),
        plan.ops,
        plan.trials.saturating_mul(4).min(MAX_TRIALS),
        plan.trials
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ModeOutcomes, TrialOutcome};
    use crate::plan::{Plan, Request};
    use crate::report::fixtures;
    use crate::stats;
    use crate::vocab::{Mode, TrialStatus};
    use std::time::Duration;

    fn trial(trial: u32, final_balance: i64) -> TrialOutcome {
        TrialOutcome {
            deposits: 5,
            withdrawals: 5,
            elapsed: Duration::from_millis(1),
            busy: Duration::from_millis(1),
            ..TrialOutcome::ok(trial, final_balance)
        }
    }

    /// Results of one run: the unlocked balances and the mutex's balances
    /// (the books say 200).
    fn results(unlocked: &[i64], locked: &[i64]) -> Results {
        let plan = Plan::build(
            Request {
                trials: 2,
                ops: Some(5),
                ..Request::default()
            },
            || 1,
        )
        .unwrap();
        let mode = |mode, balances: &[i64]| ModeOutcomes {
            mode,
            trials: (1..).zip(balances).map(|(i, &b)| trial(i, b)).collect(),
        };
        let mut outcomes = Vec::new();
        if !unlocked.is_empty() {
            outcomes.push(mode(Mode::NoLock, unlocked));
        }
        outcomes.push(mode(Mode::Mutex, locked));
        stats::results(&plan, &fixtures::complete(outcomes))
    }

    #[test]
    fn exact_needs_every_trial_of_every_mode() {
        assert_eq!(
            check(&results(&[200, 200], &[200, 200]), Expectation::Exact),
            Ok(())
        );
        let err = check(&results(&[200, 199], &[200, 200]), Expectation::Exact).unwrap_err();
        assert!(err.0.contains("no lock: 1 of 2 trials not exact"), "{err}");
        assert!(!err.0.contains("mutex"), "{err}");
        assert!(err.0.contains("drop --no-lock"), "{err}");
        // A locked mode counts too.
        assert!(check(&results(&[], &[200, 201]), Expectation::Exact).is_err());
    }

    #[test]
    fn race_needs_one_unlocked_trial_off_the_books() {
        assert_eq!(
            check(&results(&[200, 199], &[200, 200]), Expectation::Race),
            Ok(())
        );
        let err = check(&results(&[200, 200], &[200, 200]), Expectation::Race).unwrap_err();
        assert!(err.0.contains("never showed in 2 unlocked trials"), "{err}");
        // It says what to change, from the plan that did not show it.
        assert!(
            err.0
                .contains("widen the race window (--window 1ms, now 100us)"),
            "{err}"
        );
        assert!(err.0.contains("--ops 50, now 5"), "{err}");
        // A locked mode that went wrong is not the race being demonstrated.
        assert!(check(&results(&[200, 200], &[199, 200]), Expectation::Race).is_err());
        assert!(check(&results(&[], &[199, 200]), Expectation::Race).is_err());
    }

    #[test]
    fn failed_trials_neither_count_as_exact_nor_as_the_race() {
        let mut r = results(&[200, 199], &[200, 200]);
        // Mark the racing unlocked trial failed, as the statistics would.
        let mut outcomes = vec![trial(1, 200), trial(2, 199)];
        outcomes[1].status = TrialStatus::Failed;
        outcomes[1].cause = Some("worker 0 killed by signal 9".into());
        r = stats::results(
            &r.parameters,
            &fixtures::complete(vec![ModeOutcomes {
                mode: Mode::NoLock,
                trials: outcomes,
            }]),
        );
        assert!(check(&r, Expectation::Exact).is_err());
        let err = check(&r, Expectation::Race).unwrap_err();
        assert!(err.0.contains("1 failed"), "{err}");
    }
}
