//! Unit tests of `run`'s options: bare `--lock`, the plan they make, and the output they ask for.

use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;

#[test]
fn bare_lock_means_the_default_strategy() {
    let cli = Cli::try_parse_from(["bankrace", "run", "--lock", "--lock=flock"]).unwrap();
    let Command::Run(args) = cli.command else {
        panic!()
    };
    assert_eq!(
        args.lock,
        [LockChoice::Default, LockChoice::One(Mode::Flock)]
    );
    assert_eq!(args.plan().unwrap().modes, [Mode::Mutex, Mode::Flock]);
    let args = run_args(&["--lock", "spin", "--lock", "--no-lock", "--lock=atomic"]);
    assert_eq!(
        args.lock,
        [
            LockChoice::One(Mode::Spin),
            LockChoice::Default,
            LockChoice::One(Mode::Atomic)
        ]
    );
    assert!(args.no_lock);
    assert!(Cli::try_parse_from(["bankrace", "run", "--lock", "nonsense"]).is_err());
}

fn run_args(args: &[&str]) -> Box<RunArgs> {
    let cli = Cli::try_parse_from(["bankrace", "run"].iter().chain(args)).unwrap();
    let Command::Run(args) = cli.command else {
        panic!()
    };
    args
}

fn output(args: &[&str]) -> anyhow::Result<Output> {
    let args = run_args(args);
    let plan = args.plan().unwrap();
    args.output(&plan)
}

#[test]
fn expect_race_needs_the_unlocked_mode() {
    assert!(output(&["--expect", "race"]).is_ok());
    assert!(output(&["--expect", "race", "--no-lock"]).is_ok());
    let err = output(&["--expect", "race", "--lock=all"]).unwrap_err();
    assert!(err.to_string().contains("--no-lock"), "{err}");
    assert!(output(&["--expect", "exact", "--lock=all"]).is_ok());
}

/// The options that give `parameters` (a report's JSON object) back.
fn options_of(parameters: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in parameters.as_object().unwrap() {
        let flag = format!("--{}", key.replace('_', "-"));
        match (key.as_str(), value) {
            ("modes", serde_json::Value::Array(modes)) => {
                for m in modes {
                    out.push(match m.as_str().unwrap() {
                        "no-lock" => "--no-lock".to_string(),
                        name => format!("--lock={name}"),
                    });
                }
            }
            // The backend follows from --db, and null is an option not given.
            ("backend", _) | (_, serde_json::Value::Null) => {}
            (_, serde_json::Value::Bool(true)) => out.push(flag),
            (_, serde_json::Value::Bool(false)) => {}
            (_, serde_json::Value::String(s)) => out.extend([flag, s.clone()]),
            (_, other) => out.extend([flag, other.to_string()]),
        }
    }
    out
}

#[test]
fn every_parameter_is_accepted_back_as_its_option() {
    let cases: &[&[&str]] = &[
        &[],
        // A default timeout of 20202s.
        &["--ops", "100000", "--window", "10ms"],
        // One clamped to the longest --timeout.
        &[
            "--ops",
            "100000000",
            "--window",
            "10s",
            "--depositors",
            "256",
            "--withdrawers",
            "0",
        ],
        &["--timeout", "86400s", "--pause", "1.5ms", "--window", "0"],
        &[
            "--scenario",
            "overdraft",
            "--initial",
            "-5",
            "--kill-holder",
            "0.3",
            "--lock=all",
        ],
        &[
            "--trace",
            "--fail-fast",
            "--seed",
            "9007199254740991",
            "--amount",
            "1000000000000",
        ],
        &[
            "--schedule",
            "D1:read W1:read D1:write W1:write",
            "--ops",
            "1",
            "--no-lock",
        ],
    ];
    for args in cases {
        let first = run_args(args).plan().unwrap();
        let parameters = serde_json::to_value(&first).unwrap();
        let options = options_of(&parameters);
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let cli = Cli::try_parse_from(["bankrace", "run"].iter().chain(&options));
        let again = cli
            .unwrap_or_else(|e| panic!("{args:?}: {options:?}: {e}"))
            .command;
        let Command::Run(again) = again else { panic!() };
        assert_eq!(again.plan().unwrap(), first, "{args:?} -> {options:?}");
    }
}

#[test]
fn a_trace_nothing_shows_is_noticed() {
    assert!(run_args(&["--trace"]).trace_unseen());
    assert!(!run_args(&["--trace", "--explain"]).trace_unseen());
    assert!(!run_args(&["--trace", "--format", "json"]).trace_unseen());
    assert!(!run_args(&["--trace", "--export-html", "r.html"]).trace_unseen());
    assert!(!run_args(&[]).trace_unseen());
}

#[test]
fn quiet_and_an_explicit_format_conflict() {
    assert!(Cli::try_parse_from(["bankrace", "run", "--quiet"]).is_ok());
    assert!(Cli::try_parse_from(["bankrace", "run", "-q", "--format", "json"]).is_err());
}
