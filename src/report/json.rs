//! The JSON report: the results, serialized. Its field names are a contract (see the README).

use super::stream::JsonStream;
use crate::stats::Results;

/// The document of a run whose every trial is in `results`: the same bytes
/// as `serde_json::to_string_pretty(results)` and a newline, written the way
/// a streamed run writes them.
pub fn render(results: &Results) -> String {
    let mut stream = JsonStream::begin(Vec::new(), &results.parameters).expect("writing to memory");
    for mode in &results.modes {
        stream.whole_mode(mode).expect("writing to memory");
    }
    let bytes = stream
        .finish(results.interrupted.as_deref(), results.stopped_early)
        .expect("writing to memory");
    String::from_utf8(bytes).expect("JSON is UTF-8")
}

#[cfg(test)]
mod tests {
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
            let mut whole = serde_json::to_string_pretty(&results).unwrap();
            whole.push('\n');
            assert_eq!(super::render(&results), whole);
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
