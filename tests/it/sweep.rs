//! `bankrace sweep` end to end: real trials at every point, the share of trials that ended wrong with its Wilson interval, and the same plan for the same seed.

use serde_json::Value;

use crate::common::{assert_empty, assert_usage_error, bankrace_in};

/// Runs `bankrace sweep ARGS --format json` in a private TMPDIR, checks
/// that it succeeded and left nothing behind, and returns the document.
fn sweep_json(args: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = vec!["sweep"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let out = bankrace_in(&all, Some(tmp.path()));
    assert_empty(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "sweep failed: {stderr}");
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn point<'a>(doc: &'a Value, label: &str, mode: &str) -> &'a Value {
    doc["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == label && p["mode"] == mode)
        .unwrap_or_else(|| panic!("no point {label} {mode} in {doc}"))
}

/// The Wilson 95 % interval of 3 out of 3 is (3 / (3 + z²), 1), z = 1.959964.
const WILSON_3_OF_3_LOW: f64 = 0.438_503;

/// Two depositors, one deposit each, no pause before it: both pass the start
/// barrier together, read at once, then sleep 300 ms before writing. For a
/// deposit to survive, one worker would have to be kept off the CPU for the
/// whole 300 ms between the barrier and its read, far beyond any scheduling
/// delay on a loaded machine (tens of milliseconds at worst): so both read
/// 200, both write 201, and one deposit is lost in every trial. The forced
/// schedule below makes the same outcome certain by construction.
#[test]
fn a_wide_window_loses_a_deposit_in_every_trial() {
    let doc = sweep_json(&[
        "--window",
        "0,300ms",
        "--depositors",
        "2",
        "--withdrawers",
        "0",
        "--ops",
        "1",
        "--no-lock",
        "--trials",
        "3",
        "--seed",
        "11",
    ]);
    assert_eq!(doc["parameter"], "window");
    assert_eq!(doc["unit"], "s");
    let wide = point(&doc, "300ms", "no-lock");
    assert_eq!(wide["value"], 0.3);
    assert_eq!(wide["trials"], 3);
    assert_eq!(wide["inconsistent_share"], 1.0);
    assert_eq!(wide["ci_high"], 1.0);
    let low = wide["ci_low"].as_f64().unwrap();
    assert!((low - WILSON_3_OF_3_LOW).abs() < 1e-6, "{low}");
    // One deposit of 1 lost out of 2 operations.
    assert_eq!(wide["mean_abs_deviation_per_op"], 0.5);
    assert!(wide["ops_per_sec"].as_f64().unwrap() > 0.0);
    // Whatever happened at window 0, its share lies inside its interval.
    let zero = point(&doc, "0", "no-lock");
    let share = zero["inconsistent_share"].as_f64().unwrap();
    assert!(
        zero["ci_low"].as_f64().unwrap() <= share && share <= zero["ci_high"].as_f64().unwrap()
    );
}

#[test]
fn a_forced_schedule_loses_the_deposit_at_every_point() {
    let doc = sweep_json(&[
        "--window",
        "0,300ms",
        "--depositors",
        "2",
        "--withdrawers",
        "0",
        "--ops",
        "1",
        "--no-lock",
        "--trials",
        "3",
        "--seed",
        "11",
        "--schedule",
        "D1:read D2:read D1:write D2:write",
    ]);
    for label in ["0", "300ms"] {
        let p = point(&doc, label, "no-lock");
        assert_eq!(p["inconsistent_share"], 1.0, "{label}");
        assert_eq!(p["ci_high"], 1.0);
        assert!((p["ci_low"].as_f64().unwrap() - WILSON_3_OF_3_LOW).abs() < 1e-6);
    }
}

#[test]
fn the_interval_width_stops_a_point_early_and_a_lock_stays_exact() {
    // The mutex never loses money: 0 of n has the interval (0, z²/(n+z²)),
    // narrower than 0.5 from n = 4 on, so the mode stops after 4 trials.
    let doc = sweep_json(&[
        "--ops",
        "1,2",
        "--lock=mutex",
        "--trials",
        "50",
        "--ci-width",
        "0.5",
        "--window",
        "0",
        "--seed",
        "5",
    ]);
    for label in ["1", "2"] {
        let p = point(&doc, label, "mutex");
        assert_eq!(p["trials"], 4, "{p}");
        assert_eq!(p["inconsistent"], 0);
        assert_eq!(p["stopped_early"], true);
    }
}

#[test]
fn csv_and_markdown_have_a_row_per_point_and_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |format: &'static str| {
        [
            "sweep",
            "--ops",
            "1,2",
            "--lock=mutex",
            "--trials",
            "2",
            "--window",
            "0",
            "--seed",
            "5",
            "--format",
            format,
        ]
    };
    let csv = bankrace_in(&args("csv"), Some(tmp.path()));
    let csv = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("parameter,value,label,mode,trials,failed,inconsistent,inconsistent_share,ci_low,ci_high,mean_abs_deviation_per_op,ops_per_sec"));
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("ops,1,1,mutex,2,0,0,0.000000,0.000000,"),
        "{}",
        lines[1]
    );
    let md = bankrace_in(&args("markdown"), Some(tmp.path()));
    let md = String::from_utf8(md.stdout).unwrap();
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| 1 | mutex |") || l.starts_with("| 2 | mutex |"))
            .count(),
        2,
        "{md}"
    );
    assert_empty(tmp.path());
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let args = [
        "--ops",
        "1,2",
        "--lock=mutex",
        "--trials",
        "1",
        "--window",
        "0",
        "--seed",
        "77",
    ];
    let a = sweep_json(&args);
    let b = sweep_json(&args);
    assert_eq!(a["seed"], 77);
    assert_eq!(a["parameters"], b["parameters"]);
}

#[test]
fn sweep_mistakes_get_a_sentence_and_status_2() {
    for (args, says) in [
        (vec!["sweep"], "needs one parameter"),
        (
            vec!["sweep", "--window", "0,1ms", "--ops", "1,2"],
            "both have lists",
        ),
        (vec!["sweep", "--window", "0,,1ms"], "empty value"),
        (vec!["sweep", "--ops", "1,x"], "not a whole number"),
        (
            vec!["sweep", "--ops", "1,2", "--ci-width", "2"],
            "--ci-width",
        ),
        (vec!["sweep", "--ops", "1,2", "--width", "5"], "--width"),
    ] {
        let out = bankrace_in(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_usage_error(&stderr, says);
    }
}
