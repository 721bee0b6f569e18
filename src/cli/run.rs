//! `bankrace run`'s arguments, and how they become a checked plan and checked output choices before anything starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args};

use super::{ColorArg, ExpectArg, Format, parse_duration};
use crate::expect::Expectation;
use crate::plan::{Plan, Request};
use crate::usage::UsageError;
use crate::vocab::{LockChoice, Mode, Scenario};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which race: read-modify-write (lost-update) or check-then-act (overdraft).
    #[arg(long, value_enum, value_name = "NAME", help_heading = "Scenario")]
    pub scenario: Option<Scenario>,

    /// Trials per mode.
    #[arg(
        long,
        default_value_t = 50,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub trials: i64,

    /// Starting balance [default: 200; overdraft: 15000].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub initial: Option<i64>,

    /// Worker processes that deposit [default: 1; overdraft: 0].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub depositors: Option<i64>,

    /// Worker processes that withdraw [default: 1; overdraft: 2].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub withdrawers: Option<i64>,

    /// Operations per worker [default: 50; overdraft: 1].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub ops: Option<i64>,

    /// Money moved by one operation [default: 1; overdraft: 10000].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub amount: Option<i64>,

    /// Pause between a worker's operations, jittered ±50% (e.g. 10ms, 50us, 0) [default: 100us; overdraft: 0].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Scenario")]
    pub pause: Option<Duration>,

    /// Race window: time between reading the balance and writing it back [default: 100us; overdraft: 2ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Scenario")]
    pub window: Option<Duration>,

    /// Seed for every random choice; drawn and reported when not given.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub seed: Option<u64>,

    /// Run locked, with a strategy: mutex (default), flock, spin, atomic, or all. Repeatable.
    #[arg(
        long,
        value_enum,
        value_name = "KIND",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = LockChoice::default_name(),
        action = ArgAction::Append,
        help_heading = "Modes (neither flag: no lock and mutex side by side)"
    )]
    pub lock: Vec<LockChoice>,

    /// Run without a lock (together with --lock, side by side).
    #[arg(
        long,
        help_heading = "Modes (neither flag: no lock and mutex side by side)"
    )]
    pub no_lock: bool,

    /// Kill a trial's workers after this long [default: 10x the slowest schedule, at least 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Faults")]
    pub timeout: Option<Duration>,

    /// Stop at the first failed trial (exit status 1) instead of going on.
    #[arg(long, help_heading = "Faults")]
    pub fail_fast: bool,

    /// Start each mode's workers once and run every trial with the same processes (much faster trials; see docs/scale.md).
    #[arg(long, help_heading = "Scenario")]
    pub reuse_workers: bool,

    /// In this fraction of trials (0 to 1), one worker kills itself with SIGKILL while it holds the lock.
    #[arg(
        long,
        value_name = "RATE",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        help_heading = "Faults"
    )]
    pub kill_holder: f64,

    /// Force the workers' accesses through a schedule, e.g. "D1:read W1:read D1:write W1:write" (see the README).
    #[arg(long, value_name = "STEPS", help_heading = "Scenario")]
    pub schedule: Option<String>,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT", help_heading = "Output")]
    pub format: Format,

    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_json: Option<PathBuf>,

    /// Also write one CSV row per trial to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_csv: Option<PathBuf>,

    /// Also write the summary as a Markdown table to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_markdown: Option<PathBuf>,

    /// After the report, exit with status 3 unless every trial was exact (exact) or an unlocked trial showed the race (race).
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Output")]
    pub expect: Option<ExpectArg>,

    /// Colour on stdout and the progress bar: auto means on a terminal, unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorArg,

    /// Print only the verdict line (no progress bar, no table).
    #[arg(short, long, conflicts_with = "format", help_heading = "Output")]
    pub quiet: bool,
    /// Record every access: its sequence number, the worker, the value read and written.
    #[arg(long, help_heading = "Tracing")]
    pub trace: bool,

    /// Show the interleaving that lost money, for the first N such trials per mode [default: 3]. Implies --trace.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "3",
        help_heading = "Tracing"
    )]
    pub explain: Option<usize>,

    /// Write the traced history to FILE, one invoke/ok event per line (JSON). Implies --trace.
    #[arg(long, value_name = "FILE", help_heading = "Tracing")]
    pub export_trace: Option<std::path::PathBuf>,
}

/// What `run` prints and writes, besides the plan: checked before any
/// process starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// Files to write, each with its format, in the order json, csv, markdown.
    pub exports: Vec<(Format, PathBuf)>,
    pub expect: Option<Expectation>,
    pub color: ColorArg,
    pub quiet: bool,
}

impl RunArgs {
    /// Checks every value and applies defaults. Nothing has started yet.
    pub fn plan(&self) -> Result<Plan, UsageError> {
        let request = Request {
            scenario: self.scenario,
            trials: self.trials,
            initial: self.initial,
            depositors: self.depositors,
            withdrawers: self.withdrawers,
            ops: self.ops,
            amount: self.amount,
            pause: self.pause,
            window: self.window,
            seed: self.seed,
            locks: self.lock.clone(),
            no_lock: self.no_lock,
            tmpdir: crate::coordinator::default_ledger_dir(),
            kill_holder: self.kill_holder,
            timeout: self.timeout,
            fail_fast: self.fail_fast,
            trace: self.trace || self.explain.is_some() || self.export_trace.is_some(),
            schedule: self.schedule.clone(),
            reuse_workers: self.reuse_workers,
        };
        // A drawn seed stays below 2^53, so that every JSON reader (JavaScript,
        // jq) keeps it exact and a result file can always repeat its run.
        Plan::build(request, || rand::random::<u64>() >> 11)
    }
}

impl RunArgs {
    /// Checks the output options against the plan. Nothing has started yet.
    pub fn output(&self, plan: &Plan) -> Result<Output, UsageError> {
        let expect = self.expect.map(|e| match e {
            ExpectArg::Exact => Expectation::Exact,
            ExpectArg::Race => Expectation::Race,
        });
        if expect == Some(Expectation::Race) && !plan.modes.contains(&Mode::NoLock) {
            return Err(UsageError(
                "--expect race needs the unlocked mode: add --no-lock (the race cannot show under a lock)"
                    .into(),
            ));
        }
        let mut exports: Vec<(Format, PathBuf)> = Vec::new();
        for (flag, format, path) in [
            ("--export-json", Format::Json, &self.export_json),
            ("--export-csv", Format::Csv, &self.export_csv),
            ("--export-markdown", Format::Markdown, &self.export_markdown),
        ] {
            let Some(path) = path else { continue };
            check_export_path(flag, path)?;
            if exports.iter().any(|(_, p)| p == path) {
                return Err(UsageError(format!(
                    "{flag} names {} which another --export option also writes: give each its own file",
                    path.display()
                )));
            }
            exports.push((format, path.clone()));
        }
        Ok(Output {
            format: self.format,
            exports,
            expect,
            color: self.color,
            quiet: self.quiet,
        })
    }
}

/// An export file must be creatable: its directory exists and it is not a
/// directory itself. Checked up front so that a long run is not wasted.
fn check_export_path(flag: &str, path: &Path) -> Result<(), UsageError> {
    if path.as_os_str().is_empty() {
        return Err(UsageError(format!("{flag} needs a file name")));
    }
    if path.is_dir() {
        return Err(UsageError(format!(
            "{flag} {} is a directory: name a file",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
            [LockChoice::One(Mode::Mutex), LockChoice::One(Mode::Flock)]
        );
    }

    fn run_args(args: &[&str]) -> Box<RunArgs> {
        let cli = Cli::try_parse_from(["bankrace", "run"].iter().chain(args)).unwrap();
        let Command::Run(args) = cli.command else {
            panic!()
        };
        args
    }

    fn output(args: &[&str]) -> Result<Output, UsageError> {
        let args = run_args(args);
        let plan = args.plan().unwrap();
        args.output(&plan)
    }

    #[test]
    fn expect_race_needs_the_unlocked_mode() {
        assert!(output(&["--expect", "race"]).is_ok());
        assert!(output(&["--expect", "race", "--no-lock"]).is_ok());
        let err = output(&["--expect", "race", "--lock=all"]).unwrap_err();
        assert!(err.0.contains("--no-lock"), "{err}");
        assert!(output(&["--expect", "exact", "--lock=all"]).is_ok());
    }

    #[test]
    fn exports_are_checked_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
        let ok = output(&[
            "--export-csv",
            &file("a.csv"),
            "--export-json",
            &file("a.json"),
        ])
        .unwrap();
        assert_eq!(
            ok.exports,
            [
                (Format::Json, dir.path().join("a.json")),
                (Format::Csv, dir.path().join("a.csv"))
            ]
        );
        let missing = file("missing/a.csv");
        assert!(
            output(&["--export-csv", &missing])
                .unwrap_err()
                .0
                .contains("does not exist")
        );
        let here = dir.path().to_str().unwrap();
        assert!(
            output(&["--export-csv", here])
                .unwrap_err()
                .0
                .contains("is a directory")
        );
        let same = file("same");
        assert!(output(&["--export-csv", &same, "--export-markdown", &same]).is_err());
    }

    #[test]
    fn quiet_and_an_explicit_format_conflict() {
        assert!(Cli::try_parse_from(["bankrace", "run", "--quiet"]).is_ok());
        assert!(Cli::try_parse_from(["bankrace", "run", "-q", "--format", "json"]).is_err());
    }
}
