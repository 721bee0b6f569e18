//! Text that fits: every documented example of `run` and `sweep` (as `--help` lists them), run for real at 60, 80 and 120 columns, prints no line wider than the width; `COLUMNS` is the width when stdout is not a terminal.

use crate::common::bankrace_in;

const WIDTHS: [usize; 3] = [60, 80, 120];

/// The examples `bankrace COMMAND --help` lists, as argument lists (double
/// quotes group words); examples whose output is not the text report
/// (other formats, redirections, pipes) are left out.
fn examples(command: &str) -> Vec<Vec<String>> {
    let help = bankrace_in(&[command, "--help"], None);
    let help = String::from_utf8(help.stdout).unwrap();
    let prefix = format!("  bankrace {command}");
    help.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| {
            // The description follows two or more spaces.
            let cmd = l.trim_start().split("  ").next().unwrap();
            cmd.to_string()
        })
        .filter(|c| !c.contains('>') && !c.contains('|') && !c.contains("--format"))
        .map(|c| split(&c)[2..].to_vec())
        .collect()
}

/// Splits a command line at spaces, keeping double-quoted words together.
fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The example with one trial (per point and mode), so that the test stays short.
fn one_trial(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--trials" {
            it.next();
        } else {
            out.push(a.clone());
        }
    }
    out.extend(["--trials".into(), "1".into()]);
    out
}

fn assert_fits(text: &str, width: usize, what: &str) {
    for line in text.lines() {
        let n = line.chars().count();
        assert!(
            n <= width,
            "{what} at {width}: a line of {n} columns:\n{line}\n\n{text}"
        );
    }
}

#[test]
fn every_documented_example_fits_60_80_and_120_columns() {
    let mut seen = 0;
    for command in ["run", "sweep"] {
        let examples = examples(command);
        assert!(
            examples.len() >= 3,
            "{command}: too few examples found: {examples:?}"
        );
        for example in examples {
            let tmp = tempfile::tempdir().unwrap();
            for width in WIDTHS {
                let mut args = vec![command.to_string()];
                args.extend(one_trial(&example));
                // Exports land in the private directory.
                let mut args: Vec<String> = args
                    .into_iter()
                    .map(|a| {
                        if a.ends_with(".csv")
                            || a.ends_with(".md")
                            || a.ends_with(".html")
                            || a.ends_with(".svg")
                        {
                            tmp.path().join(a).to_str().unwrap().to_string()
                        } else {
                            a
                        }
                    })
                    .collect();
                args.extend(["--width".into(), width.to_string()]);
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = bankrace_in(&refs, Some(tmp.path()));
                let what = refs.join(" ");
                // 3: one trial may not show the race `--expect race` wants.
                assert!(
                    matches!(out.status.code(), Some(0 | 3)),
                    "{what}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_fits(&String::from_utf8(out.stdout).unwrap(), width, &what);
                seen += 1;
            }
        }
    }
    assert!(seen >= 24, "ran only {seen} examples");
}

#[test]
fn columns_sets_the_width_off_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("bankrace"))
        .args([
            "run",
            "--no-lock",
            "--lock=all",
            "--trials",
            "2",
            "--window",
            "0",
        ])
        .env("TMPDIR", tmp.path())
        .env("COLUMNS", "60")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_fits(&text, 60, "COLUMNS=60");
    // Five modes do not fit side by side in 60 columns: the table stacks,
    // the second group's heading on a line of its own.
    let heading = |mode: &str| {
        text.lines()
            .position(|l| !l.contains(':') && l.split("  ").any(|c| c.trim() == mode))
            .unwrap_or_else(|| panic!("no heading with {mode}:\n{text}"))
    };
    assert!(heading("no lock") < heading("spin"), "{text}");
}
