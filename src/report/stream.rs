//! A run's reports fed as its trials end: the JSON and CSV documents written one trial at a time (by the writers in `json.rs` and `csv.rs`), the statistics folded for every other report.

use std::io::{self, Write};

use super::csv::CsvStream;
use super::json::JsonStream;
use crate::host::Host;
use crate::outcome::TrialOutcome;
use crate::plan::Plan;
use crate::stats::{Fold, Keep, Results};

/// A run's reports, fed one trial at a time: the JSON and CSV documents are
/// written as the trials end, and the statistics every other report needs
/// are folded, keeping whole only the trials `keep` says. With
/// `--export-history`, each transfer trial's history is rendered as it ends.
pub struct Streams {
    plan: Plan,
    host: Host,
    keep: Keep,
    fold: Fold,
    history: Option<String>,
    json: Vec<JsonStream<Box<dyn Write>>>,
    csv: Vec<CsvStream<Box<dyn Write>>>,
    /// Modes whose JSON part is opened so far.
    opened: usize,
}

impl Streams {
    /// Starts a JSON document on each of `json` and a CSV one on each of
    /// `csv`, for a run of `plan` on `host`.
    pub fn new(
        plan: &Plan,
        host: &Host,
        keep: Keep,
        json: Vec<Box<dyn Write>>,
        csv: Vec<Box<dyn Write>>,
    ) -> io::Result<Streams> {
        Ok(Streams {
            plan: plan.clone(),
            host: host.clone(),
            keep,
            fold: Fold::new(plan, &plan.modes, keep),
            history: plan.history.then(String::new),
            json: json
                .into_iter()
                .map(|w| JsonStream::begin(w, host, plan))
                .collect::<io::Result<_>>()?,
            csv: csv
                .into_iter()
                .map(|w| CsvStream::begin(w, plan))
                .collect::<io::Result<_>>()?,
            opened: 0,
        })
    }

    /// Trial `t` of the plan's mode number `m`; modes come in order.
    pub fn trial(&mut self, m: usize, t: &TrialOutcome) -> io::Result<()> {
        self.open_through(m + 1)?;
        // JSON shows every access of a traced trial, whatever is kept.
        let detail = match self.json.is_empty() {
            true => self.keep.detail(),
            false => crate::explain::Detail::Events,
        };
        let record = super::record(&self.plan, t, detail)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, format!("{e:#}")))?;
        let mode = self.plan.modes[m];
        if let Some(history) = &mut self.history {
            history.push_str(&super::trial_history(mode, t));
        }
        for j in &mut self.json {
            j.trial(&record)?;
        }
        for c in &mut self.csv {
            c.trial(mode, &record)?;
        }
        self.fold.add(m, t, record);
        Ok(())
    }

    /// Opens modes until `n` are open, closing each one before the next.
    fn open_through(&mut self, n: usize) -> io::Result<()> {
        while self.opened < n {
            if self.opened > 0 {
                self.close(self.opened - 1)?;
            }
            let mode = self.plan.modes[self.opened];
            let expected = self.plan.expected_balance();
            for j in &mut self.json {
                j.mode(mode, expected)?;
            }
            self.opened += 1;
        }
        Ok(())
    }

    fn close(&mut self, m: usize) -> io::Result<()> {
        let summary = self.fold.summary(m);
        for j in &mut self.json {
            j.end_mode(&summary)?;
        }
        Ok(())
    }

    /// Ends every document (modes that never ran appear with no trials) and
    /// returns the results the other reports render, and the Jepsen history
    /// if `--export-history` asked for it.
    pub fn finish(
        mut self,
        interrupted: Option<i32>,
        stopped_early: bool,
        database_lost: Option<String>,
    ) -> io::Result<(Results, Option<String>)> {
        self.open_through(self.plan.modes.len())?;
        self.close(self.plan.modes.len() - 1)?;
        let signal = interrupted.map(crate::signals::name);
        for j in self.json {
            j.finish(signal.as_deref(), stopped_early, database_lost.as_deref())?;
        }
        for c in self.csv {
            c.finish()?.flush()?;
        }
        let results = self
            .fold
            .finish(self.host, interrupted, stopped_early, database_lost);
        Ok((results, self.history))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ModeOutcomes, RunOutcome};
    use crate::report::fixtures;

    /// A writer the test can read back after the stream owned it.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    /// Feeds `run` through `Streams` and checks that the streamed JSON and
    /// CSV are the documents of the whole run, and that the folded results
    /// render the same text and Markdown. A transfer run's Markdown lists
    /// every trial, so main keeps them all for it, as this does.
    fn streams_like_the_whole(plan: &Plan, run: &RunOutcome) {
        let whole = crate::report::results(plan, run).unwrap();
        let (json, csv) = (Shared::default(), Shared::default());
        let transfer = plan.scenario == crate::vocab::Scenario::Transfer;
        let keep = if transfer { Keep::All } else { Keep::Traced };
        let mut s = Streams::new(
            plan,
            &run.host,
            keep,
            vec![Box::new(json.clone())],
            vec![Box::new(csv.clone())],
        )
        .unwrap();
        for (m, mode) in run.modes.iter().enumerate() {
            for t in &mode.trials {
                s.trial(m, t).unwrap();
            }
        }
        let (folded, _) = s.finish(run.interrupted, run.stopped_early, None).unwrap();
        assert_eq!(json.text(), crate::report::json(&whole));
        assert_eq!(csv.text(), crate::report::csv(&whole));
        assert_eq!(crate::report::text(&folded), crate::report::text(&whole));
        assert_eq!(
            crate::report::markdown(&folded),
            crate::report::markdown(&whole)
        );
        assert!(
            transfer || folded.modes.iter().all(|m| m.trials.is_empty()),
            "untraced trials are not kept"
        );
    }

    /// Transfer scenario: a trial that created money with wrong audits, a
    /// deadlocked one with its cycle, and database counters; every field
    /// main's reports gained for them goes through the streams too.
    fn transfer_run() -> (Plan, RunOutcome) {
        use crate::deadlock::{Deadlock, Link};
        use crate::outcome::TransferOutcome;
        use crate::vocab::{Scenario, TrialStatus};
        let plan = Plan::build(
            crate::plan::Request {
                scenario: Some(Scenario::Transfer),
                trials: 2,
                seed: Some(3),
                ..crate::plan::Request::default()
            },
            || unreachable!("the seed is given"),
        )
        .expect("a valid plan");
        let total = plan.total();
        let bank = |balances: Vec<i64>| TransferOutcome {
            transfers: 7,
            refused: 1,
            audits: 4,
            audits_wrong_total: 2,
            wrong_totals: Some((total - 5, total + 3)),
            ..TransferOutcome {
                balances,
                ..TransferOutcome::default()
            }
        };
        let mut ok = TrialOutcome::ok(1, total + 5);
        ok.transfers = Some(bank(vec![total + 5]));
        (ok.retries, ok.deadlock_aborts, ok.cas_misses) = (3, 1, 2);
        let mut stuck = TrialOutcome::failed(2, "deadlock: T1 waits for T2".into(), total);
        stuck.status = TrialStatus::Deadlocked;
        let mut locked = bank(vec![total]);
        locked.deadlock = Some(Deadlock {
            cycle: vec![
                Link {
                    worker: 0,
                    holds: vec![1],
                    waits_for: 2,
                },
                Link {
                    worker: 1,
                    holds: vec![2],
                    waits_for: 1,
                },
            ],
        });
        locked.detected_after = Some(std::time::Duration::from_millis(12));
        stuck.transfers = Some(locked);
        let modes = plan
            .modes
            .iter()
            .map(|&mode| ModeOutcomes {
                mode,
                trials: vec![ok.clone(), stuck.clone()],
            })
            .collect();
        (plan, fixtures::complete(modes))
    }

    #[test]
    fn streamed_documents_are_the_whole_documents() {
        for (plan, run) in [
            fixtures::results_run(),
            fixtures::overdraft_run(),
            fixtures::interrupted_run(),
            transfer_run(),
        ] {
            streams_like_the_whole(&plan, &run);
        }
        // The folded summary counts what main's summary counted.
        let (plan, run) = transfer_run();
        let s = &crate::report::results(&plan, &run).unwrap().modes[0].summary;
        assert_eq!((s.trials, s.failed, s.deadlocked), (2, 0, 1));
        assert_eq!((s.money_changed, s.audits_wrong_total), (1, 4));
        assert_eq!((s.retries, s.deadlock_aborts, s.cas_misses), (3, 1, 2));
        assert_eq!((s.bank.money_created, s.bank.audits), (1, 8));
        assert_eq!(s.bank.detection.len(), 1);
        // A run stopped before its first trial: every mode, none with trials.
        let (plan, mut run) = fixtures::results_run();
        run.modes = run
            .modes
            .iter()
            .map(|m| ModeOutcomes {
                mode: m.mode,
                trials: Vec::new(),
            })
            .collect();
        run.interrupted = Some(15);
        streams_like_the_whole(&plan, &run);
    }

    /// A run that shows only summaries keeps no trial, and analyses its
    /// traced trials without their events, yet still reports a trial whose
    /// books do not balance.
    #[test]
    fn summaries_keep_no_trial_but_every_broken_book() {
        use crate::trace::{OpKind, OpRecord, Trace};
        let plan = Plan::build(
            crate::plan::Request {
                trials: 2,
                seed: Some(3),
                ..crate::plan::Request::default()
            },
            || unreachable!("the seed is given"),
        )
        .expect("a valid plan");
        // An access numbered 2 with no access 1: the books cannot balance.
        let gap = OpRecord {
            kind: OpKind::Atomic,
            account: 0,
            read_seq: 0,
            write_seq: 2,
            seen: 0,
            written: plan.initial + 1,
            overwritten: plan.initial,
        };
        let mut broken = crate::outcome::TrialOutcome::ok(2, plan.initial + 1);
        broken.deposits = 1;
        broken.trace = Some(Trace {
            locks: Vec::new(),
            workers: vec![vec![gap]],
        });
        let run = fixtures::complete(vec![ModeOutcomes {
            mode: plan.modes[0],
            trials: vec![crate::outcome::TrialOutcome::ok(1, plan.initial), broken],
        }]);
        let mut s = Streams::new(&plan, &run.host, Keep::Summaries, vec![], vec![]).unwrap();
        for t in &run.modes[0].trials {
            s.trial(0, t).unwrap();
        }
        let (folded, _) = s.finish(None, false, None).unwrap();
        assert!(folded.modes[0].trials.is_empty());
        let bugs = crate::report::violations(&folded);
        assert_eq!(bugs.len(), 1, "{bugs:?}");
        assert!(
            bugs[0].contains(
                "trial 2: the accounting identity does not hold: \
                 the trace has no access numbered 1"
            ),
            "{}",
            bugs[0]
        );
        let whole = crate::report::results(&plan, &run).unwrap();
        assert_eq!(crate::report::violations(&whole), bugs);
    }
}
