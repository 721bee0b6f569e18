//! The JSON and CSV documents written one trial at a time, byte for byte what the whole run rendered at once gives, and a run's reports fed as its trials end.
//!
//! A JSON document is the pretty-printed [`Results`]: its pieces are written
//! in that order, each value pretty-printed alone and indented to the depth
//! it sits at. Within a mode the trials come before the summary, and the
//! run's ending (`interrupted`, `stopped_early`) comes last: so nothing is
//! written that a later trial could change.

use std::io::{self, Write};

use serde::Serialize;

use super::csv::COLUMNS;
use crate::duration;
use crate::outcome::TrialOutcome;
use crate::plan::Plan;
use crate::stats::{Fold, Keep, ModeResult, Results, Summary, TrialRecord};
use crate::vocab::Mode;

/// `value` pretty-printed as it appears `depth` levels deep in a document.
fn pretty_at<T: Serialize + ?Sized>(value: &T, depth: usize) -> String {
    let text = serde_json::to_string_pretty(value).expect("results always serialize");
    text.replace('\n', &format!("\n{}", "  ".repeat(depth)))
}

/// A JSON report being written.
pub(crate) struct JsonStream<W: Write> {
    out: W,
    /// Modes opened so far; trials written in the open one.
    modes: usize,
    trials: usize,
}

impl<W: Write> JsonStream<W> {
    /// Writes everything before the first mode.
    pub fn begin(mut out: W, plan: &Plan) -> io::Result<JsonStream<W>> {
        write!(
            out,
            "{{\n  \"seed\": {},\n  \"parameters\": {},\n  \"modes\": [",
            plan.seed,
            pretty_at(plan, 1)
        )?;
        Ok(JsonStream {
            out,
            modes: 0,
            trials: 0,
        })
    }

    /// Opens the next mode.
    pub fn mode(&mut self, mode: Mode, expected_balance: i64) -> io::Result<()> {
        let comma = if self.modes > 0 { "," } else { "" };
        self.modes += 1;
        self.trials = 0;
        write!(
            self.out,
            "{comma}\n    {{\n      \"lock\": {},\n      \"expected_balance\": {expected_balance},\n      \"trials\": [",
            pretty_at(&mode.strategy(), 3),
        )
    }

    /// One trial of the open mode.
    pub fn trial(&mut self, record: &TrialRecord) -> io::Result<()> {
        let comma = if self.trials > 0 { "," } else { "" };
        self.trials += 1;
        write!(self.out, "{comma}\n        {}", pretty_at(record, 4))
    }

    /// Closes the open mode with its summary.
    pub fn end_mode(&mut self, summary: &Summary) -> io::Result<()> {
        let close = if self.trials > 0 { "\n      ]" } else { "]" };
        write!(
            self.out,
            "{close},\n      \"summary\": {}\n    }}",
            pretty_at(summary, 3)
        )
    }

    /// Writes how the run ended and returns the writer, flushed.
    pub fn finish(mut self, interrupted: Option<&str>, stopped_early: bool) -> io::Result<W> {
        let close = if self.modes > 0 { "\n  ]" } else { "]" };
        writeln!(
            self.out,
            "{close},\n  \"interrupted\": {},\n  \"stopped_early\": {stopped_early}\n}}",
            pretty_at(&interrupted, 1)
        )?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// A whole mode whose trials are all in `mode`.
    pub fn whole_mode(&mut self, mode: &ModeResult) -> io::Result<()> {
        self.mode(mode.mode, mode.expected_balance)?;
        for t in &mode.trials {
            self.trial(t)?;
        }
        self.end_mode(&mode.summary)
    }
}

/// A CSV report being written: the header, then one row per trial.
pub(crate) struct CsvStream<W: Write> {
    out: ::csv::Writer<W>,
    /// The columns every row repeats: the parameters and the seed.
    parameters: [String; 13],
}

impl<W: Write> CsvStream<W> {
    pub fn begin(out: W, p: &Plan) -> io::Result<CsvStream<W>> {
        let mut out = ::csv::Writer::from_writer(out);
        out.write_record(COLUMNS)?;
        let parameters = [
            p.scenario.name().to_string(),
            p.trials.to_string(),
            p.initial.to_string(),
            p.depositors.to_string(),
            p.withdrawers.to_string(),
            p.ops.to_string(),
            p.amount.to_string(),
            duration::format(p.pause),
            duration::format(p.window),
            p.kill_holder.to_string(),
            duration::format(p.timeout),
            p.fail_fast.to_string(),
            p.seed.to_string(),
        ];
        Ok(CsvStream { out, parameters })
    }

    /// The row of one trial of `mode`.
    pub fn trial(&mut self, mode: Mode, t: &TrialRecord) -> io::Result<()> {
        let seeds: Vec<String> = t.worker_seeds.iter().map(u64::to_string).collect();
        let own = [
            mode.id().to_string(),
            t.trial.to_string(),
            t.final_balance.to_string(),
            t.expected_balance.to_string(),
            t.deviation.to_string(),
            t.status.to_string(),
            t.cause.clone().unwrap_or_default(),
            t.consistent.to_string(),
            t.overdrawn.to_string(),
            t.withdrawals_succeeded.to_string(),
            t.withdrawals_refused.to_string(),
            t.overpaid.to_string(),
            format!("{:.3}", t.duration_ms),
            format!("{:.1}", t.ops_per_sec),
            t.killed_worker.map(|w| w.to_string()).unwrap_or_default(),
            t.recoveries.to_string(),
        ];
        let seeds = seeds.join(" ");
        let row = own.iter().chain(&self.parameters).chain([&seeds]);
        self.out.write_record(row)?;
        Ok(())
    }

    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

const _: () = assert!(COLUMNS.len() == 16 + 13 + 1);

/// A run's reports, fed one trial at a time: the JSON and CSV documents are
/// written as the trials end, and the statistics every other report needs
/// are folded, keeping whole only the traced trials.
pub struct Streams {
    plan: Plan,
    fold: Fold,
    json: Vec<JsonStream<Box<dyn Write>>>,
    csv: Vec<CsvStream<Box<dyn Write>>>,
    /// Modes whose JSON part is opened so far.
    opened: usize,
}

impl Streams {
    /// Starts a JSON document on each of `json` and a CSV one on each of `csv`.
    pub fn new(
        plan: &Plan,
        json: Vec<Box<dyn Write>>,
        csv: Vec<Box<dyn Write>>,
    ) -> io::Result<Streams> {
        Ok(Streams {
            plan: plan.clone(),
            fold: Fold::new(plan, &plan.modes, Keep::Traced),
            json: json
                .into_iter()
                .map(|w| JsonStream::begin(w, plan))
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
        let record = super::record(&self.plan, t);
        let mode = self.plan.modes[m];
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
    /// returns the results the other reports render.
    pub fn finish(mut self, interrupted: Option<i32>, stopped_early: bool) -> io::Result<Results> {
        self.open_through(self.plan.modes.len())?;
        self.close(self.plan.modes.len() - 1)?;
        let signal = interrupted.map(crate::signals::name);
        for j in self.json {
            j.finish(signal.as_deref(), stopped_early)?;
        }
        for c in self.csv {
            c.finish()?.flush()?;
        }
        Ok(self.fold.finish(interrupted, stopped_early))
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
    /// render the same text and Markdown.
    fn streams_like_the_whole(plan: &Plan, run: &RunOutcome) {
        let whole = crate::report::results(plan, run);
        let (json, csv) = (Shared::default(), Shared::default());
        let mut s = Streams::new(
            plan,
            vec![Box::new(json.clone())],
            vec![Box::new(csv.clone())],
        )
        .unwrap();
        for (m, mode) in run.modes.iter().enumerate() {
            for t in &mode.trials {
                s.trial(m, t).unwrap();
            }
        }
        let folded = s.finish(run.interrupted, run.stopped_early).unwrap();
        assert_eq!(json.text(), crate::report::json(&whole));
        assert_eq!(csv.text(), crate::report::csv(&whole));
        assert_eq!(crate::report::text(&folded), crate::report::text(&whole));
        assert_eq!(
            crate::report::markdown(&folded),
            crate::report::markdown(&whole)
        );
        assert!(
            folded.modes.iter().all(|m| m.trials.is_empty()),
            "untraced trials are not kept"
        );
    }

    #[test]
    fn streamed_documents_are_the_whole_documents() {
        for (plan, run) in [
            fixtures::results_run(),
            fixtures::overdraft_run(),
            fixtures::interrupted_run(),
        ] {
            streams_like_the_whole(&plan, &run);
        }
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
}
