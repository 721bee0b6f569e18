//! `run --from FILE`: a result file alone runs the same plan again, and the command line overrides it.

use crate::common::{assert_usage_error, run_json, run_text};

#[test]
fn a_report_runs_its_own_plan_again_and_options_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    let first = run_json(&[
        "--scenario",
        "overdraft",
        "--no-lock",
        "--lock=flock",
        "--lock=atomic",
        "-n",
        "2",
        "--initial",
        "25000",
        "--depositors",
        "1",
        "--window",
        "1ms",
        "--pause",
        "10us",
        "-s",
        "77",
        "--fail-fast",
        "--timeout",
        "5s",
        "--kill-holder",
        "0.5",
        "--export-json",
        file.to_str().unwrap(),
    ]);
    let again = run_json(&["--from", file.to_str().unwrap()]);
    assert_eq!(again["parameters"], first["parameters"]);
    // Worker seeds follow from the seed: the same plan, to the last choice.
    assert_eq!(
        again["modes"][1]["trials"][1]["worker_seeds"],
        first["modes"][1]["trials"][1]["worker_seeds"]
    );

    let changed = run_json(&[
        "--from",
        file.to_str().unwrap(),
        "-n",
        "1",
        "--lock=mutex",
        "--window",
        "0",
    ]);
    let (p, q) = (&changed["parameters"], &first["parameters"]);
    assert_eq!(p["trials"], 1);
    assert_eq!(p["modes"], serde_json::json!(["mutex"]));
    assert_eq!(p["window"], "0");
    for same in [
        "scenario",
        "initial",
        "depositors",
        "pause",
        "seed",
        "fail_fast",
        "kill_holder",
        "timeout",
    ] {
        assert_eq!(p[same], q[same], "{same}");
    }
}

#[test]
fn a_forced_schedule_comes_back_in_its_canonical_form_and_still_forces() {
    let dir = tempfile::tempdir().unwrap();
    let scheduled = dir.path().join("scheduled.json");
    let first = run_json(&[
        "--no-lock",
        "-n",
        "1",
        "--ops",
        "1",
        "--window",
        "0",
        "--schedule",
        "D1:r W1:r D1:w W1:w",
        "--export-json",
        scheduled.to_str().unwrap(),
    ]);
    let again = run_json(&["--from", scheduled.to_str().unwrap()]);
    assert_eq!(again["parameters"], first["parameters"]);
    assert_eq!(again["modes"][0]["trials"][0]["final_balance"], 199);
}

#[test]
fn a_file_that_is_not_a_report_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"parameters": {"trials": 3, "colour": "red"}}"#).unwrap();
    let cases = [
        (dir.path().join("missing.json"), "cannot read it"),
        (bad, "parameters.colour is not an option"),
    ];
    for (path, message) in cases {
        let (code, stdout, stderr) = run_text(&["--from", path.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stdout.is_empty());
        assert_usage_error(&stderr, message);
    }
}
