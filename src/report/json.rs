//! The JSON report: the results, serialized, whole or one trial at a time as a run goes (to the same bytes). Its field names are a contract (see docs/json.md).
//!
//! A document is the pretty-printed [`Results`] under the versions: its
//! pieces are written in that order, each value pretty-printed alone and
//! indented to the depth it sits at. Within a mode the trials come before
//! the summary, and the run's ending (`interrupted`, `stopped_early`) comes
//! last: so nothing is written that a later trial could change.

use std::io::{self, Write};

use serde::Serialize;

use crate::host::Host;
use crate::plan::Plan;
use crate::stats::{ModeResult, Results, Summary, TrialRecord};
use crate::vocab::Mode;

/// The layout of every JSON document bankrace writes (`run` and `bench`).
/// Bumped by one whenever a field is added, renamed or removed, or changes
/// its meaning, in either document; never for a new value of an existing
/// field. A reader checks it before trusting the field names.
pub const SCHEMA_VERSION: u32 = 4;

/// The package version that wrote a document (without the git commit, so
/// that reports do not change from one commit to the next).
pub const BANKRACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A document: the versions first, then the results' own fields.
#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    bankrace_version: &'static str,
    schema_version: u32,
    #[serde(flatten)]
    body: &'a T,
}

/// `body` as a JSON document, pretty-printed, with the versions on top.
pub fn document<T: Serialize>(body: &T) -> String {
    let doc = Document {
        bankrace_version: BANKRACE_VERSION,
        schema_version: SCHEMA_VERSION,
        body,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("reports always serialize");
    s.push('\n');
    s
}

/// The document of a run whose every trial is in `results`: the same bytes
/// as [`document`] gives, written the way a streamed run writes them.
pub fn render(results: &Results) -> String {
    let mut stream = JsonStream::begin(Vec::new(), &results.host, &results.parameters)
        .expect("writing to memory");
    for mode in &results.modes {
        stream.whole_mode(mode).expect("writing to memory");
    }
    let bytes = stream
        .finish(
            results.interrupted.as_deref(),
            results.stopped_early,
            results.database_lost.as_deref(),
        )
        .expect("writing to memory");
    String::from_utf8(bytes).expect("JSON is UTF-8")
}

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
    /// Writes everything before the first mode: the versions, the host,
    /// the seed and the parameters.
    pub fn begin(mut out: W, host: &Host, plan: &Plan) -> io::Result<JsonStream<W>> {
        write!(
            out,
            "{{\n  \"bankrace_version\": {},\n  \"schema_version\": {},\n  \"host\": {},\n  \"seed\": {},\n  \"parameters\": {},\n  \"modes\": [",
            pretty_at(BANKRACE_VERSION, 1),
            SCHEMA_VERSION,
            pretty_at(host, 1),
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
    pub fn finish(
        mut self,
        interrupted: Option<&str>,
        stopped_early: bool,
        database_lost: Option<&str>,
    ) -> io::Result<W> {
        let close = if self.modes > 0 { "\n  ]" } else { "]" };
        writeln!(
            self.out,
            "{close},\n  \"interrupted\": {},\n  \"stopped_early\": {stopped_early},\n  \
             \"database_lost\": {}\n}}",
            pretty_at(&interrupted, 1),
            pretty_at(&database_lost, 1)
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

#[cfg(test)]
mod tests {
    #[test]
    fn versions_and_host_come_first() {
        let text = super::render(&crate::report::fixtures::results());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], super::SCHEMA_VERSION);
        assert_eq!(v["bankrace_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["host"]["os"], "linux");
        assert_eq!(v["host"]["cpus"], 2);
        let at = |key: &str| text.find(&format!("\n  \"{key}\": ")).unwrap();
        assert!(at("bankrace_version") < at("schema_version"));
        assert!(at("schema_version") < at("host"));
        assert!(at("host") < at("seed"));
    }

    use crate::outcome::{ModeOutcomes, RunOutcome, TrialOutcome};
    use crate::plan::{Plan, Request};
    use crate::vocab::Mode;
    use std::time::Duration;

    #[test]
    fn carries_the_contract_fields() {
        let plan = Plan::build(
            Request {
                trials: 1,
                ..Request::default()
            },
            || 5,
        )
        .unwrap();
        let trial = TrialOutcome {
            deposits: 50,
            withdrawals: 50,
            elapsed: Duration::from_millis(3),
            busy: Duration::from_millis(2),
            ..TrialOutcome::ok(1, 200)
        };
        let modes = vec![
            ModeOutcomes {
                mode: Mode::NoLock,
                trials: vec![trial.clone()],
            },
            ModeOutcomes {
                mode: Mode::Mutex,
                trials: vec![trial],
            },
        ];
        let run = RunOutcome {
            modes,
            interrupted: None,
            stopped_early: false,
            database_lost: None,
            host: crate::host::Host::fixture(),
        };
        let text = super::render(&crate::stats::results(&plan, &run));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["seed"], 5);
        assert!(v["modes"][0]["lock"].is_null());
        assert_eq!(v["modes"][1]["lock"], "mutex");
        assert_eq!(v["modes"][0]["expected_balance"], 200);
        let t = &v["modes"][0]["trials"][0];
        assert_eq!(
            (
                t["trial"].as_u64(),
                t["final_balance"].as_i64(),
                t["status"].as_str()
            ),
            (Some(1), Some(200), Some("ok"))
        );
        for field in [
            "trials",
            "consistent",
            "inconsistent",
            "failed",
            "min",
            "max",
            "mean",
            "median",
            "stddev",
        ] {
            assert!(
                v["modes"][1]["summary"].get(field).is_some(),
                "summary.{field} missing"
            );
        }
        assert_eq!(v["parameters"]["scenario"], "lost-update");
        assert_eq!(
            v["parameters"]["modes"],
            serde_json::json!(["no-lock", "mutex"])
        );
        // Full 64-bit seeds as strings, which no JSON reader rounds.
        let seeds = t["worker_seeds"].as_array().unwrap();
        assert_eq!(seeds.len(), 2);
        assert_eq!(
            seeds[0].as_str(),
            Some(plan.worker_seed(1, 0).to_string().as_str())
        );
        assert_eq!(v["parameters"]["window"], "100us");
    }

    #[test]
    fn the_document_is_the_results_serialized() {
        use crate::report::fixtures;
        for results in [
            fixtures::results(),
            fixtures::overdraft(),
            fixtures::interrupted(),
        ] {
            assert_eq!(super::render(&results), super::document(&results));
        }
    }

    #[test]
    fn snapshots() {
        use crate::report::fixtures;
        insta::assert_snapshot!("results", super::render(&fixtures::results()));
        insta::assert_snapshot!("overdraft", super::render(&fixtures::overdraft()));
        insta::assert_snapshot!("interrupted", super::render(&fixtures::interrupted()));
    }
}
