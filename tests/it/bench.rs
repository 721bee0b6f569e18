//! End-to-end tests of `bankrace bench`: it runs with tiny parameters and prints one valid JSON document. No timing assertions.

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::{assert_empty, bankrace_in};

#[test]
fn tiny_bench_prints_valid_json_with_every_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let out = bankrace_in(
        &[
            "bench",
            "--workers",
            "2",
            "--ops",
            "100",
            "--trials",
            "2",
            "--repetitions",
            "2",
            "--warmup",
            "0",
            "--loss-trials",
            "3",
            "--format",
            "json",
        ],
        Some(tmp.path()),
    );
    assert!(
        out.status.success(),
        "bankrace bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["workers"], 2);
    assert_eq!(v["ops_per_worker"], 100);
    let modes = v["modes"].as_array().unwrap();
    let locks: Vec<&Value> = modes.iter().map(|m| &m["lock"]).collect();
    assert_eq!(
        locks,
        [
            &Value::Null,
            &Value::from("mutex"),
            &Value::from("flock"),
            &Value::from("spin"),
            &Value::from("atomic")
        ]
    );
    for m in modes {
        let ops = &m["ops_per_sec"];
        assert_eq!(ops["samples"].as_array().unwrap().len(), 2, "{m}");
        assert!(ops["min"].as_f64().unwrap() <= ops["median"].as_f64().unwrap());
        assert!(ops["median"].as_f64().unwrap() <= ops["max"].as_f64().unwrap());
        let lost = m["lost_updates"]["max"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&lost), "{m}");
        if !m["lock"].is_null() {
            // Every locked mode is exact, whatever the timing.
            assert_eq!(lost, 0.0, "{m}");
        }
    }
    let o = &v["overhead"];
    assert_eq!(o["trials"], 2);
    for field in ["trial_us", "spawn_us", "ratio"] {
        assert!(o[field]["median"].as_f64().unwrap() > 0.0, "{field}: {o}");
    }
    let rates = &v["trials_per_sec"];
    assert_eq!(rates["reused_trials"], 40);
    for field in ["fresh", "reused", "speedup"] {
        assert!(rates[field]["median"].as_f64().unwrap() > 0.0, "{rates}");
    }
    for side in ["fresh", "reused"] {
        let loss = &v["loss"][side];
        // Two repetitions of three trials of run's unlocked defaults.
        assert_eq!(loss["trials"], 6, "{loss}");
        let (low, share, high) = (
            loss["share_low"].as_f64().unwrap(),
            loss["share"].as_f64().unwrap(),
            loss["share_high"].as_f64().unwrap(),
        );
        assert!(
            0.0 <= low && low <= share && share <= high && high <= 1.0,
            "{loss}"
        );
    }
    assert_empty(tmp.path());
}

#[test]
fn bench_refuses_zero_workers_as_a_usage_error() {
    cargo_bin_cmd!("bankrace")
        .args(["bench", "--workers", "0"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("error: --workers"))
        .stderr(predicate::str::contains("Usage: bankrace bench"));
}
