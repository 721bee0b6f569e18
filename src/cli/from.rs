//! `run --from FILE`: the `parameters` of a JSON report read back as `run`'s options, each key the option of the same name, for the command line to override.

use std::path::Path;
use std::time::Duration;

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::usage::UsageError;
use crate::vocab::{LockChoice, Mode, Scenario};

/// The options a report's `parameters` give; `None` where it gives none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters {
    pub scenario: Option<Scenario>,
    pub trials: Option<i64>,
    pub initial: Option<i64>,
    pub depositors: Option<i64>,
    pub withdrawers: Option<i64>,
    pub ops: Option<i64>,
    pub amount: Option<i64>,
    pub pause: Option<Duration>,
    pub window: Option<Duration>,
    pub seed: Option<u64>,
    pub trace: bool,
    pub schedule: Option<String>,
    /// `--lock=NAME` values, in order.
    pub locks: Vec<LockChoice>,
    pub no_lock: bool,
    pub kill_holder: Option<f64>,
    pub timeout: Option<Duration>,
    pub fail_fast: bool,
    /// `--reuse-workers`.
    pub reuse_workers: bool,
    /// Transfer scenario: `--accounts`, `--transferers`, `--auditors`,
    /// `--collide`, `--unlocked-audits`.
    pub accounts: Option<i64>,
    pub transferers: Option<i64>,
    pub auditors: Option<i64>,
    pub collide: bool,
    pub unlocked_audits: bool,
    /// `--db` (its password never in a report) and `--max-retries`.
    pub db: Option<String>,
    pub max_retries: Option<i64>,
}

/// Reads `path` (a `bankrace run --format json` document, or an
/// `--export-json` file) and returns its parameters.
pub fn load(path: &Path) -> Result<Parameters, UsageError> {
    let fail = |what: String| UsageError(format!("--from {}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("not a JSON report of bankrace run ({e})")))?;
    let Some(params) = doc.get("parameters").and_then(Value::as_object) else {
        return Err(fail(
            "no \"parameters\" object: give a report of bankrace run --format json".into(),
        ));
    };
    parse(params).map_err(fail)
}

/// Each key as the option of the same name would take it.
fn parse(params: &Map<String, Value>) -> Result<Parameters, String> {
    let mut p = Parameters::default();
    for (key, value) in params {
        let bad = || {
            format!(
                "parameters.{key} is {value}, which --{} does not take",
                key.replace('_', "-")
            )
        };
        let int = || value.as_i64().ok_or_else(bad);
        let text = || value.as_str().ok_or_else(bad);
        let flag = || value.as_bool().ok_or_else(bad);
        let duration =
            || crate::duration::parse(text()?).map_err(|e| format!("parameters.{key}: {e}"));
        match key.as_str() {
            "scenario" => p.scenario = Some(Scenario::from_str(text()?, false).map_err(|_| bad())?),
            "trials" => p.trials = Some(int()?),
            "initial" => p.initial = Some(int()?),
            "depositors" => p.depositors = Some(int()?),
            "withdrawers" => p.withdrawers = Some(int()?),
            "ops" => p.ops = Some(int()?),
            "amount" => p.amount = Some(int()?),
            "pause" => p.pause = Some(duration()?),
            "window" => p.window = Some(duration()?),
            "timeout" => p.timeout = Some(duration()?),
            "seed" => p.seed = Some(value.as_u64().ok_or_else(bad)?),
            "trace" => p.trace = flag()?,
            "fail_fast" => p.fail_fast = flag()?,
            "reuse_workers" => p.reuse_workers = flag()?,
            "schedule" => p.schedule = Some(text()?.to_string()),
            "kill_holder" => p.kill_holder = Some(value.as_f64().ok_or_else(bad)?),
            "accounts" => p.accounts = Some(int()?),
            "transferers" => p.transferers = Some(int()?),
            "auditors" => p.auditors = Some(int()?),
            "collide" => p.collide = flag()?,
            "unlocked_audits" => p.unlocked_audits = flag()?,
            "max_retries" => p.max_retries = Some(int()?),
            // A report of a run on the memory backend says `null`.
            "db" if value.is_null() => {}
            "db" => p.db = Some(text()?.to_string()),
            // Follows from `db`.
            "backend" => {}
            "modes" => {
                for mode in value.as_array().ok_or_else(bad)? {
                    let name = mode.as_str().ok_or_else(bad)?;
                    if name == Mode::NoLock.id() {
                        p.no_lock = true;
                    } else {
                        let lock = LockChoice::from_str(name, false)
                            .map_err(|_| format!("parameters.modes has {mode}, which is neither no-lock nor a --lock strategy"))?;
                        p.locks.push(lock);
                    }
                }
            }
            _ => {
                return Err(format!(
                    "parameters.{key} is not an option of this bankrace (a report of a newer version?)"
                ));
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(v: Value) -> Result<Parameters, String> {
        parse(v.as_object().unwrap())
    }

    #[test]
    fn every_key_is_its_option() {
        let p = parsed(json!({
            "scenario": "overdraft", "trials": 7, "initial": 300, "depositors": 1,
            "withdrawers": 2, "ops": 3, "amount": 5, "pause": "10us", "window": "2ms",
            "seed": 9, "trace": true, "schedule": "W1:check W2:check",
            "modes": ["no-lock", "flock", "atomic"], "kill_holder": 0.5,
            "timeout": "1s", "fail_fast": true, "reuse_workers": true
        }))
        .unwrap();
        assert_eq!(p.scenario, Some(Scenario::Overdraft));
        assert_eq!(
            (p.trials, p.initial, p.ops, p.seed),
            (Some(7), Some(300), Some(3), Some(9))
        );
        assert_eq!(p.window, Some(Duration::from_millis(2)));
        assert!(p.no_lock && p.trace && p.fail_fast && p.reuse_workers);
        assert_eq!(
            p.locks,
            [LockChoice::One(Mode::Flock), LockChoice::One(Mode::Atomic)]
        );
        assert_eq!(p.kill_holder, Some(0.5));
        assert_eq!(p.schedule.as_deref(), Some("W1:check W2:check"));
    }

    #[test]
    fn a_key_or_value_it_cannot_take_is_named() {
        let err = parsed(json!({"colour": "red"})).unwrap_err();
        assert!(err.contains("parameters.colour is not an option"), "{err}");
        let err = parsed(json!({"trials": "many"})).unwrap_err();
        assert!(
            err.contains("parameters.trials is \"many\", which --trials does not take"),
            "{err}"
        );
        let err = parsed(json!({"kill_holder": true})).unwrap_err();
        assert!(err.contains("--kill-holder"), "{err}");
        assert!(parsed(json!({"modes": ["sometimes"]})).is_err());
        assert!(
            parsed(json!({"window": "5 fortnights"}))
                .unwrap_err()
                .contains("parameters.window")
        );
    }
}
