//! The JSON report: the results, serialized. Its field names are a contract (see the README).

use serde::Serialize;

use crate::stats::Results;

/// The layout of every JSON document bankrace writes (`run` and `bench`).
/// Bumped by one whenever a field is added, renamed or removed, or changes
/// its meaning, in either document; never for a new value of an existing
/// field. A reader checks it before trusting the field names.
pub const SCHEMA_VERSION: u32 = 2;

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

pub fn render(results: &Results) -> String {
    document(results)
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
}
