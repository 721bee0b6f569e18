//! End-to-end tests of what `bankrace run` prints and writes: formats, exports, `--expect` and exit statuses, seeds, colour, completions and the man page.

use serde_json::Value;

use crate::common::{CERTAIN_RACE, bankrace, run, run_json, text};

/// A run that cannot race: one worker has nobody to collide with.
const LONE_WORKER: [&str; 7] = [
    "--no-lock",
    "--depositors",
    "1",
    "--withdrawers",
    "0",
    "--ops",
    "3",
];

/// A short, quick run of both modes.
const SHORT: [&str; 4] = ["--ops", "3", "--pause", "0"];

/// Any ANSI SGR sequence (`ESC [ digits ; ... m`): what colour looks like.
fn has_colour(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b[" && {
            let rest = &bytes[i + 2..];
            let end = rest
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b';'));
            end.is_some_and(|e| rest[e] == b'm')
        }
    })
}

#[test]
fn expect_race_passes_and_expect_exact_fails_with_status_3_after_the_full_report() {
    let mut race = CERTAIN_RACE.to_vec();
    race.extend(["--trials", "2", "--expect", "race"]);
    let out = run(&race);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("no lock: 2 of 2 trials ended wrong"));

    let mut exact = CERTAIN_RACE.to_vec();
    exact.extend(["--trials", "2", "--expect", "exact"]);
    let out = run(&exact);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // The whole report came first: header, table, histogram and verdict.
    for part in [
        "bankrace: lost-update",
        "exact trials",
        "final balances of 2 trials",
        "no lock: 2 of 2 trials ended wrong",
    ] {
        assert!(stdout.contains(part), "no {part:?} in\n{stdout}");
    }
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--expect exact"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn expect_exact_passes_under_a_lock_and_expect_race_fails_without_a_collision() {
    let mut locked = SHORT.to_vec();
    locked.extend(["--lock=mutex", "--trials", "2", "--expect", "exact"]);
    let out = run(&locked);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut lone = LONE_WORKER.to_vec();
    lone.extend(["--trials", "2", "--expect", "race", "--quiet"]);
    let out = run(&lone);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "no lock: 2 of 2 exact\n");
    assert!(text(&out.stderr).contains("never showed in 2 unlocked trials"));
}

#[test]
fn expect_race_without_the_unlocked_mode_is_a_usage_error() {
    let out = run(&["--lock=all", "--expect", "race"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("--no-lock"));
}

#[test]
fn csv_on_stdout_matches_the_json_and_markdown_exports_of_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("run.json");
    let md_file = dir.path().join("run.md");
    let csv_file = dir.path().join("run.csv");
    let mut args = SHORT.to_vec();
    let (j, m, c) = (
        json_file.to_str().unwrap(),
        md_file.to_str().unwrap(),
        csv_file.to_str().unwrap(),
    );
    args.extend([
        "--trials",
        "3",
        "--seed",
        "11",
        "--format",
        "csv",
        "--export-json",
        j,
        "--export-markdown",
        m,
        "--export-csv",
        c,
    ]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The CSV export is the same document as stdout.
    assert_eq!(std::fs::read(&csv_file).unwrap(), out.stdout);

    let report: Value = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let trials: Vec<(&str, &Value)> = report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            let id = m["lock"].as_str().unwrap_or("no-lock");
            m["trials"].as_array().unwrap().iter().map(move |t| (id, t))
        })
        .collect();
    assert_eq!(rows.len(), 6, "3 trials × 2 modes");
    assert_eq!(rows.len(), trials.len());
    for (row, (mode, t)) in rows.iter().zip(&trials) {
        assert_eq!(row.len(), header.len());
        assert_eq!(&row[col("mode")], *mode);
        assert_eq!(row[col("trial")], t["trial"].to_string());
        assert_eq!(row[col("final_balance")], t["final_balance"].to_string());
        assert_eq!(row[col("deviation")], t["deviation"].to_string());
        assert_eq!(&row[col("status")], t["status"].as_str().unwrap());
        assert_eq!(&row[col("scenario")], "lost-update");
        assert_eq!(&row[col("seed")], "11");
        let seeds: Vec<&str> = t["worker_seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().expect("seeds are strings"))
            .collect();
        assert_eq!(row[col("worker_seeds")], seeds.join(" "));
        let ms: f64 = row[col("duration_ms")].parse().unwrap();
        assert!((ms - t["duration_ms"].as_f64().unwrap()).abs() < 1e-3);
    }

    let markdown = std::fs::read_to_string(&md_file).unwrap();
    assert!(markdown.contains("| | no lock | mutex |"), "{markdown}");
    assert!(markdown.contains("| exact trials |"), "{markdown}");
    assert!(markdown.contains("seed 11"), "{markdown}");
    let mutex = &report["modes"][1]["summary"];
    assert!(
        markdown.contains(&format!("mutex: {} of 3 exact", mutex["consistent"])),
        "{markdown}"
    );
}

#[test]
fn markdown_on_stdout_is_only_the_table_and_its_captions() {
    let mut args = SHORT.to_vec();
    args.extend(["--trials", "2", "--format", "markdown"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    let md = text(&out.stdout);
    assert!(md.starts_with("**bankrace: lost-update"), "{md}");
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table[1], "|:--|--:|--:|");
    assert!(table.iter().all(|l| l.matches('|').count() == 4), "{md}");
    assert!(!md.contains('█'), "a histogram in the Markdown");
}

#[test]
fn an_export_into_a_missing_directory_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nowhere/run.csv");
    let out = run(&["--export-csv", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "a report before the refusal");
    assert!(text(&out.stderr).contains("does not exist"));
}

fn worker_seeds(report: &Value) -> Vec<Value> {
    report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["trials"].as_array().unwrap())
        .map(|t| t["worker_seeds"].clone())
        .collect()
}

fn killed_workers(report: &Value) -> Vec<Value> {
    report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["trials"].as_array().unwrap())
        .map(|t| t["killed_worker"].clone())
        .collect()
}

/// The command line that repeats a run, built from its JSON `parameters`
/// alone: each key is the option of the same name, a true flag is the bare
/// option, and each mode is `--no-lock` or `--lock=NAME`.
fn command_from(parameters: &Value) -> Vec<String> {
    let mut args = Vec::new();
    for (key, value) in parameters.as_object().unwrap() {
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            // `backend` follows from `--db`, which is null without one.
            _ if key == "backend" => {}
            Value::Null => {}
            Value::Array(modes) if key == "modes" => {
                for mode in modes {
                    args.push(match mode.as_str().unwrap() {
                        "no-lock" => "--no-lock".to_string(),
                        strategy => format!("--lock={strategy}"),
                    });
                }
            }
            Value::Bool(true) => args.push(flag),
            Value::Bool(false) => {}
            Value::String(s) => args.extend([flag, s.clone()]),
            other => args.extend([flag, other.to_string()]),
        }
    }
    args
}

#[test]
fn one_seed_repeats_every_choice_and_a_result_file_is_enough_to_repeat_a_run() {
    let args = [
        "--trials",
        "4",
        "--depositors",
        "2",
        "--withdrawers",
        "1",
        "--ops",
        "3",
        "--pause",
        "10us",
        "--window",
        "0",
        "--lock=mutex",
        "--no-lock",
        // A seeded choice per trial: whether a worker dies, which, and when.
        "--kill-holder",
        "0.5",
    ];
    // No seed given: one is drawn and reported.
    let first = run_json(&args);
    let seed = first["seed"].as_u64().expect("a drawn seed");
    assert!(seed < 1 << 53, "a drawn seed that JSON readers may round");
    assert_eq!(first["parameters"]["seed"], seed);
    assert_eq!(
        first["parameters"]["modes"],
        serde_json::json!(["no-lock", "mutex"])
    );

    // Repeat it from the result file alone.
    let again = command_from(&first["parameters"]);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let second = run_json(&again);
    assert_eq!(second["parameters"], first["parameters"]);
    let seeds = worker_seeds(&first);
    assert_eq!(seeds.len(), 8);
    assert!(seeds.iter().all(|s| s.as_array().unwrap().len() == 3));
    assert_eq!(worker_seeds(&second), seeds, "same seed, same jitter seeds");
    assert_eq!(
        killed_workers(&second),
        killed_workers(&first),
        "same seed, same injected faults"
    );

    // Another seed makes other choices.
    let other_seed = (seed ^ 1).to_string();
    let mut other = args.to_vec();
    other.extend(["--seed", &other_seed]);
    let third = run_json(&other);
    assert_ne!(worker_seeds(&third), seeds);
}

#[test]
fn quiet_prints_only_the_verdict() {
    let mut args = SHORT.to_vec();
    args.extend(["--lock=mutex", "--trials", "2", "--quiet"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "mutex: 2 of 2 exact\n");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// Runs `bankrace ARGS` with stdout and stderr on a pseudo-terminal, through
/// util-linux's `script` (in Debian's essential set), and returns what the
/// terminal showed.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> Vec<u8> {
    let exe = env!("CARGO_BIN_EXE_bankrace");
    assert!(
        which_script(),
        "this test needs `script` (util-linux) to get a terminal"
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("'{exe}' {args}"), "/dev/null"]);
    cmd.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout
}

fn which_script() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("script").exists()))
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let args = "run --lock=mutex --trials 2 --ops 3 --pause 0";
    assert!(
        has_colour(&on_a_terminal(args, None)),
        "no colour on a terminal"
    );
    assert!(
        !has_colour(&on_a_terminal(args, Some("1"))),
        "NO_COLOR ignored"
    );
    let never = format!("{args} --color never");
    assert!(
        !has_colour(&on_a_terminal(&never, None)),
        "--color never ignored"
    );

    // Into a pipe: plain, unless forced.
    let mut piped = SHORT.to_vec();
    piped.extend(["--lock=mutex", "--trials", "2"]);
    assert!(!has_colour(&run(&piped).stdout));
    piped.extend(["--color", "always"]);
    assert!(has_colour(&run(&piped).stdout));
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = bankrace(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains("bankrace"), "{shell}");
        assert!(
            script.contains("export-markdown"),
            "{shell}: no run options"
        );
    }
    assert_eq!(bankrace(&["completions", "tcsh"]).status.code(), Some(2));

    let out = bankrace(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(page.contains(".TH bankrace 1"));
    assert!(page.contains(".SH \"EXIT STATUS\""));
}

#[test]
fn long_help_lists_the_exit_statuses_and_examples() {
    for args in [&["--help"][..], &["run", "--help"]] {
        let out = bankrace(args);
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        assert!(help.contains("Examples:"), "{args:?}");
        for code in 0..=3 {
            assert!(help.contains(&format!("\n  {code}  ")), "{args:?}: {code}");
        }
    }
}

#[test]
fn exports_name_files_by_identity_and_dash_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str]| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
            .arg("run")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for args in [
        &["--export-json", "t.out", "--export-trace", "t.out"][..],
        &["--export-json", "a.out", "--export-csv", "./a.out"],
        &["--export-json", "-", "--export-csv", "-"],
    ] {
        let out = run_in(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("both write to"), "{stderr}");
    }
    let out = run_in(&["--trials", "2", "-q", "--export-json", "-"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = stdout.split_once('\n').unwrap().1;
    let report: Value = serde_json::from_str(json).expect("the export follows the verdict");
    assert_eq!(report["parameters"]["trials"], 2);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file named -"
    );
}

#[test]
fn an_existing_export_is_untouched_until_the_new_one_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.jsonl");
    std::fs::write(&keep, "old history\n").unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
        .args([
            "run",
            "--trials",
            "1",
            "--ops",
            "2",
            "--window",
            "5s",
            "--no-lock",
        ])
        .arg("--export-trace")
        .arg(&keep)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(crate::common::eventually(
        std::time::Duration::from_secs(10),
        || crate::common::workers_of(pid).len() == 2
    ));
    // The run is under way: the old file is still whole, and after SIGKILL
    // it stays so, with nothing beside it.
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "old history\n");
    crate::common::signal(pid, rustix::process::Signal::KILL);
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "old history\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_write_error_on_stdout_or_stderr_is_an_error_but_a_closed_pipe_is_not() {
    let full = || std::fs::File::create("/dev/full").unwrap();
    let status = |args: &[&str], out: bool| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("bankrace"));
        cmd.args(args);
        if out {
            cmd.stdout(full()).stderr(std::process::Stdio::null());
        } else {
            cmd.stderr(full()).stdout(std::process::Stdio::null());
        }
        cmd.status().unwrap().code()
    };
    assert_eq!(status(&["--help"], true), Some(1));
    assert_eq!(status(&["--version"], true), Some(1));
    assert_eq!(status(&["run", "--trials", "1", "-q"], true), Some(1));
    // A usage error that cannot be said keeps its status, and does not panic
    // (a panic exits 101).
    assert_eq!(status(&["run", "--trials", "0"], false), Some(2));
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#""$0" run --trials 2 | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}"#)
        .arg(assert_cmd::cargo::cargo_bin!("bankrace"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
