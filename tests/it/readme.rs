//! The README's examples are real: every ```console transcript is run again and must print the same thing, every number aside; `tests/regenerate-readme.sh` rewrites them from the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::assert_empty;

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

/// One ```console block: where its lines are, and its commands with what
/// each printed (stdout and stderr, as a terminal would show them).
struct Transcript {
    /// Line range of the block's contents in the README.
    lines: std::ops::Range<usize>,
    steps: Vec<(String, String)>,
}

fn transcripts(readme: &str) -> Vec<Transcript> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```console" {
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.starts_with("```"))
                .unwrap();
        let mut steps: Vec<(String, String)> = Vec::new();
        for line in &lines[start..end] {
            match line.strip_prefix("$ ") {
                Some(command) => steps.push((command.to_string(), String::new())),
                None => {
                    let (_, output) = steps.last_mut().expect("a transcript starts with `$ `");
                    output.push_str(line);
                    output.push('\n');
                }
            }
        }
        out.push(Transcript {
            lines: start..end,
            steps,
        });
        i = end + 1;
    }
    out
}

/// Runs one transcript's commands in order, in one fresh directory (so
/// that a file one command writes is there for the next), with this
/// build's `bankrace` first on the PATH.
fn replay(t: &Transcript) -> Vec<String> {
    let bin = Path::new(assert_cmd::cargo::cargo_bin!("bankrace"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    // The embedded server runs as `postgres` when the tests run as root, so
    // its TMPDIR must be one that user can enter.
    let tmp = if on_a_database(t) {
        crate::pg::reachable_tmp()
    } else {
        tempfile::tempdir().unwrap()
    };
    let outputs = t
        .steps
        .iter()
        .map(|(command, _)| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("exec 2>&1; {command}"))
                .current_dir(cwd.path())
                .env("PATH", &path)
                .env("TMPDIR", tmp.path())
                // No template cluster is cached in the home directory.
                .env("BANKRACE_PG_CACHE", "")
                .env_remove("NO_COLOR")
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_empty(tmp.path());
    outputs
}

/// The transcript runs on a database (`--db`).
fn on_a_database(t: &Transcript) -> bool {
    t.steps.iter().any(|(command, _)| command.contains("--db"))
}

/// What must not change: the words, the punctuation and the shape. Every
/// word with a digit in it (a number, a duration, a seed, a kernel release)
/// becomes `#`, histogram bars and spacing go, and so does the "◀ expected"
/// marker (a histogram whose trials all missed the expected balance has
/// none), and runs of lines that became the same collapse into one (a
/// histogram has as many rows as its spread needs).
fn normalize(text: &str) -> Vec<String> {
    let word = |c: char| c.is_alphanumeric() || "._-+%/'^".contains(c);
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut tokens: Vec<String> = Vec::new();
        let mut current = String::new();
        let flush = |current: &mut String, tokens: &mut Vec<String>| {
            if !current.is_empty() {
                let t = std::mem::take(current);
                // Numbers, and the booleans a trial's row or record holds
                // (`consistent`, `overdrawn`), are what one run of a race
                // draws: only the words around them must stay the same.
                let drawn = t.contains(|c: char| c.is_ascii_digit()) || t == "true" || t == "false";
                tokens.push(if drawn { "#".into() } else { t });
            }
        };
        for c in line.chars() {
            if word(c) {
                current.push(c);
                continue;
            }
            flush(&mut current, &mut tokens);
            if !c.is_whitespace() && !('\u{2588}'..='\u{258f}').contains(&c) {
                tokens.push(c.to_string());
            }
        }
        flush(&mut current, &mut tokens);
        if let Some(at) = tokens.windows(2).position(|w| w == ["◀", "expected"]) {
            tokens.drain(at..at + 2);
        }
        let line = tokens.join(" ");
        if lines.last() != Some(&line) {
            lines.push(line);
        }
    }
    lines
}

#[test]
fn normalizing_keeps_words_and_drops_numbers_bars_and_repeats() {
    let a = "  180..182 │███▊   1\n  183..185 │       0\n  198..200 │████ 11  ◀ expected\nmean ± σ  198.5 ± 9.3";
    let b = "  195..197 │█▌  2\n  200 │███ 9  ◀ expected\n  201..203 │ 7\nmean ± σ 200.1 ± 10.0";
    assert_eq!(normalize(a), normalize(b));
    assert_eq!(normalize(a)[0], "# │ #");
    // Words, their order and punctuation still count.
    assert_ne!(
        normalize("no lock: 3 of 5 exact"),
        normalize("no lock: 3 of 5 lost")
    );
    assert_ne!(normalize("exit status 3"), normalize("exit status: 3"));
    assert_eq!(normalize("linux 6.1.0-18-amd64 x86_64"), ["linux # #"]);
    // A trial's booleans are drawn by the race, like its numbers.
    assert_eq!(
        normalize("no-lock,1,ok,,false,false"),
        normalize("no-lock,2,ok,,true,false")
    );
}

#[test]
fn every_transcript_prints_what_the_binary_prints_today() {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path).unwrap();
    let all = transcripts(&readme);
    assert!(all.len() >= 8, "only {} transcripts found", all.len());
    let update = std::env::var_os("BANKRACE_README_UPDATE").is_some();
    let mut lines: Vec<String> = readme.lines().map(String::from).collect();
    let mut problems = Vec::new();
    // From the last block up, so that rewriting one keeps the others' lines.
    for t in all.iter().rev() {
        // Without PostgreSQL's server binaries, as the database tests do.
        if on_a_database(t) && crate::pg::server_binaries().is_none() {
            continue;
        }
        let outputs = replay(t);
        if update {
            let mut block = Vec::new();
            for ((command, _), output) in t.steps.iter().zip(&outputs) {
                block.push(format!("$ {command}"));
                block.extend(output.lines().map(|l| l.trim_end().to_string()));
            }
            lines.splice(t.lines.clone(), block);
            continue;
        }
        for ((command, shown), printed) in t.steps.iter().zip(&outputs) {
            if normalize(shown) != normalize(printed) {
                problems.push(format!(
                    "$ {command}\n--- the README shows:\n{shown}--- the binary prints:\n{printed}"
                ));
            }
        }
    }
    if update {
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        problems.is_empty(),
        "README examples are stale (run tests/regenerate-readme.sh):\n\n{}",
        problems.join("\n")
    );
}

/// The README's GitHub Actions job: every `bankrace` command in it passes
/// here (the job's `cargo install` is run by `.ci/run`).
#[test]
fn the_ci_job_s_commands_pass() {
    let readme = std::fs::read_to_string(readme_path()).unwrap();
    let start = readme.find("```yaml\n").expect("a yaml block") + 8;
    let job = &readme[start..start + readme[start..].find("```").unwrap()];
    let commands: Vec<&str> = job
        .lines()
        .map(|l| l.trim().trim_start_matches("run: "))
        .filter(|l| l.starts_with("bankrace "))
        .collect();
    assert!(
        commands.iter().any(|c| c.contains("--expect race")),
        "{job}"
    );
    assert!(
        commands.iter().any(|c| c.contains("--expect exact")),
        "{job}"
    );
    let t = Transcript {
        lines: 0..0,
        steps: commands
            .iter()
            .map(|c| (format!("{c}; echo \"exit status $?\""), String::new()))
            .collect(),
    };
    for ((command, _), printed) in t.steps.iter().zip(replay(&t)) {
        assert!(
            printed.ends_with("exit status 0\n"),
            "$ {command}\n{printed}"
        );
    }
}
