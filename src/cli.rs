//! The command line: clap definitions, turning arguments into a validated plan and output choices, exit statuses, completions and the man page. The only module that knows clap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::expect::Expectation;
use crate::plan::{
    BenchPlan, BenchRequest, Mode, Plan, Request, Scenario, StrategyKind, UsageError,
};
use crate::worker::WorkerArgs;

const ABOUT: &str = "Watch race conditions happen: real processes sharing one bank balance, with and without a lock.";

/// The run completed (and met `--expect`, if given).
pub const EXIT_OK: u8 = 0;
/// A runtime error: a ledger, a worker process or an export file failed.
pub const EXIT_RUNTIME: u8 = 1;
/// A usage error: an unknown option, a malformed or impossible value.
pub const EXIT_USAGE: u8 = 2;
/// The run completed and printed its report, but did not meet `--expect`;
/// for `bankrace quiz`, the answer was wrong.
pub const EXIT_EXPECTATION: u8 = 3;

/// Every exit status and its meaning, for `--help` and the man page. A run
/// cut short by signal N exits with 128 + N, as a shell would report it.
pub const EXIT_STATUSES: [(&str, &str); 5] = [
    ("0", "the run completed (and met --expect, if given)"),
    (
        "1",
        "runtime error: a ledger, a worker process or an export file failed,\n\
         or a trial failed with --fail-fast",
    ),
    ("2", "usage error: a malformed or impossible option"),
    (
        "3",
        "the report printed, but the run did not meet --expect\n\
         (bankrace quiz: the answer was wrong)",
    ),
    (
        "128+N",
        "interrupted by signal N (130 for Ctrl-C); the report shows the\n\
         trials that completed",
    ),
];

/// The commands people copy, with what they do: in `--help` and the man page.
pub const EXAMPLES: [(&str, &str); 15] = [
    ("bankrace run", "both modes side by side, 50 trials"),
    (
        "bankrace run --trials 200 --seed 7",
        "more trials, repeatable choices",
    ),
    (
        "bankrace run --scenario overdraft",
        "two ATMs withdraw from one account",
    ),
    (
        "bankrace run --no-lock --lock=all",
        "every strategy next to no lock",
    ),
    (
        "bankrace run --ops 100 --pause 10ms --window 0",
        "the tutorial's schedule",
    ),
    ("bankrace run --format json > results.json", "for scripts"),
    (
        "bankrace run --format markdown > table.md",
        "the summary table, for slides",
    ),
    (
        "bankrace run --export-csv trials.csv --export-markdown table.md",
        "the report here, the data in files",
    ),
    (
        "bankrace run --no-lock --trials 20 --expect race",
        "CI: exit 3 unless the race shows",
    ),
    (
        "bankrace run --lock=all --kill-holder 0.5 --timeout 1s --window 1ms",
        "what happens when a lock holder dies",
    ),
    (
        "bankrace run --no-lock --trace --explain",
        "show how the money was lost",
    ),
    (
        "bankrace run --no-lock --ops 1 --schedule \"D1:read W1:read D1:write W1:write\"",
        "force the classic lost update",
    ),
    (
        "bankrace completions bash > ~/.local/share/bash-completion/completions/bankrace",
        "shell completions",
    ),
    ("bankrace man | man -l -", "this help as a manual page"),
    ("bankrace bench", "what each lock costs on this machine"),
];

/// What `bankrace bench --help` adds after its options.
const BENCH_HELP: &str = "\
Every repetition runs one trial of each mode (no lock, then every strategy)
with no pause and no window, then --trials trials with no operations, next
to starting and reaping as many `bankrace --version` processes. The defaults
take about 10 seconds on 2 cores.

Examples:
  bankrace bench                                  the defaults
  bankrace bench --repetitions 11 --warmup 2      steadier numbers, takes longer
  bankrace bench --workers 4 --format json        for scripts";

/// The section after the options in `--help`: examples and exit statuses.
fn long_help() -> String {
    const COLUMN: usize = 50;
    let mut out = String::from("Examples:\n");
    for (command, what) in EXAMPLES {
        if command.chars().count() + 4 <= COLUMN {
            out.push_str(&format!("  {command:<width$}{what}\n", width = COLUMN - 2));
        } else {
            out.push_str(&format!("  {command}\n{:COLUMN$}{what}\n", ""));
        }
    }
    out.push_str("\nExit status:\n");
    for (code, meaning) in EXIT_STATUSES {
        let meaning = meaning.replace('\n', &format!("\n{:9}", ""));
        out.push_str(&format!("  {code:<5}  {meaning}\n"));
    }
    out.truncate(out.trim_end().len());
    out
}

#[derive(Debug, Parser)]
#[command(name = "bankrace", version, about = ABOUT, after_long_help = long_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run trials of a race, unlocked and locked, and compare final balances.
    #[command(after_long_help = long_help())]
    Run(Box<RunArgs>),
    /// Measure what each lock costs per operation, and what a trial costs
    /// next to starting its processes.
    #[command(after_long_help = BENCH_HELP)]
    Bench(BenchArgs),
    /// Work out a small interleaving by hand; bankrace checks your answer by running it for real.
    #[command(after_long_help = QUIZ_EXAMPLES)]
    Quiz(QuizArgs),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    Man,
    /// Internal: one worker process of a trial (started by `run`).
    #[command(hide = true)]
    Worker(WorkerCli),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Worker processes per trial (every one deposits).
    #[arg(
        long,
        default_value_t = 2,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub workers: i64,

    /// Operations per worker in the throughput trials.
    #[arg(
        long,
        default_value_t = 1_000_000,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub ops: i64,

    /// Trials with no operations per repetition, to measure the overhead.
    #[arg(
        long,
        default_value_t = 50,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub trials: i64,

    /// Measured repetitions: the report shows their min, median and max.
    #[arg(
        long,
        default_value_t = 5,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub repetitions: i64,

    /// Repetitions run first and left out of the report.
    #[arg(
        long,
        default_value_t = 1,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub warmup: i64,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text, value_name = "FORMAT")]
    pub format: BenchFormat,
}

/// The formats of `bankrace bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// The throughput and overhead tables.
    Text,
    /// One JSON document with every sample.
    Json,
}

impl BenchArgs {
    /// Checks every value. Nothing has started yet.
    pub fn plan(&self) -> Result<BenchPlan, UsageError> {
        BenchPlan::build(BenchRequest {
            workers: self.workers,
            ops: self.ops,
            trials: self.trials,
            repetitions: self.repetitions,
            warmup: self.warmup,
            tmpdir: crate::coordinator::default_ledger_dir(),
        })
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which race: read-modify-write (lost-update) or check-then-act (overdraft).
    #[arg(long, value_enum, value_name = "NAME", help_heading = "Scenario")]
    pub scenario: Option<ScenarioArg>,

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
        default_missing_value = "mutex",
        action = ArgAction::Append,
        help_heading = "Modes (neither flag: no lock and mutex side by side)"
    )]
    pub lock: Vec<LockArg>,

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

const QUIZ_EXAMPLES: &str = "\
Examples:
  bankrace quiz                      a new puzzle; type your answer
  bankrace quiz --seed 3             the same puzzle every time
  bankrace quiz --seed 3 --answer 90 for scripts: no question asked

Exit status: 0 right answer, 3 wrong answer, 1 runtime error, 2 usage error
(including no answer on standard input).";

#[derive(Debug, Args)]
pub struct QuizArgs {
    /// Your answer, for scripts; without it the answer is read from standard input.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub answer: Option<i64>,

    /// Which puzzle: the same seed gives the same one; drawn and shown when not given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScenarioArg {
    /// Deposits and withdrawals overwrite each other (read-modify-write).
    LostUpdate,
    /// Two ATMs both see enough money (check-then-act).
    Overdraft,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockArg {
    /// Robust process-shared pthread mutex in the mapping.
    Mutex,
    /// flock(2) on the ledger file.
    Flock,
    /// Compare-and-swap spin lock in the mapping.
    Spin,
    /// No lock: atomic instructions (fetch_add, compare_exchange).
    Atomic,
    /// Every strategy above.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Side-by-side table, histograms and a verdict.
    Text,
    /// One JSON document (field names are stable; see the README).
    Json,
    /// One row per trial, with a header.
    Csv,
    /// The side-by-side summary as a Markdown table.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectArg {
    /// Every trial of every mode ended exact (not overdrawn, not failed).
    Exact,
    /// At least one unlocked trial lost updates or overdrew (needs the unlocked mode).
    Race,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set to anything but the empty string.
    Auto,
    /// Always, even into a pipe or with NO_COLOR.
    Always,
    /// Never.
    Never,
}

impl ColorArg {
    /// Whether to colour a stream, given whether it is a terminal and the
    /// value of `NO_COLOR` (which disables colour when set and not empty).
    pub fn enabled(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
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

#[derive(Debug, Args)]
pub struct WorkerCli {
    #[arg(long)]
    pub fd: i32,
    #[arg(long)]
    pub index: u32,
    #[arg(long)]
    pub parent: u32,
}

impl WorkerCli {
    pub fn args(&self) -> WorkerArgs {
        WorkerArgs {
            fd: self.fd,
            index: self.index,
            parent: self.parent,
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

impl RunArgs {
    /// Checks every value and applies defaults. Nothing has started yet.
    pub fn plan(&self) -> Result<Plan, UsageError> {
        let mut locks = Vec::new();
        for &lock in &self.lock {
            match lock {
                LockArg::All => locks.extend(StrategyKind::ALL),
                LockArg::Mutex => locks.push(StrategyKind::Mutex),
                LockArg::Flock => locks.push(StrategyKind::Flock),
                LockArg::Spin => locks.push(StrategyKind::Spin),
                LockArg::Atomic => locks.push(StrategyKind::Atomic),
            }
        }
        let request = Request {
            scenario: self.scenario.map(|s| match s {
                ScenarioArg::LostUpdate => Scenario::LostUpdate,
                ScenarioArg::Overdraft => Scenario::Overdraft,
            }),
            trials: self.trials,
            initial: self.initial,
            depositors: self.depositors,
            withdrawers: self.withdrawers,
            ops: self.ops,
            amount: self.amount,
            pause: self.pause,
            window: self.window,
            seed: self.seed,
            locks,
            no_lock: self.no_lock,
            tmpdir: crate::coordinator::default_ledger_dir(),
            kill_holder: self.kill_holder,
            timeout: self.timeout,
            fail_fast: self.fail_fast,
            trace: self.trace || self.explain.is_some() || self.export_trace.is_some(),
            schedule: self.schedule.clone(),
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

/// The command users see: everything but the hidden `worker` subcommand,
/// which completion generators would otherwise offer.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut public = clap::Command::new("bankrace")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_long_help(long_help())
        .subcommand_required(true)
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    public.build();
    public
}

/// The completion script for `shell`, generated from the clap definitions.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut public_command(), "bankrace", &mut out);
    out
}

/// bankrace(1) in roff: the commands, every option of `run` under its
/// heading, the examples and the exit statuses.
pub fn man_page() -> Vec<u8> {
    let mut out = Vec::new();
    write_man_page(&mut out).expect("writing to memory");
    out
}

fn write_man_page(out: &mut Vec<u8>) -> std::io::Result<()> {
    let cmd = public_command();
    // Taken before clap adds `--help` to it: the page lists what `run` takes.
    let run = Cli::command()
        .find_subcommand("run")
        .expect("run is a subcommand")
        .clone()
        .disable_help_flag(true);
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;

    let mut commands = roff::Roff::new();
    commands.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut usage = format!("bankrace {}", sub.get_name());
        for arg in sub.get_positionals() {
            let name = arg.get_value_names().and_then(|n| n.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |n| n.to_string(),
            );
            usage.push_str(&format!(" <{name}>"));
        }
        if sub.get_name() == "run" {
            usage.push_str(" [OPTIONS]");
        }
        commands
            .control("TP", [])
            .text([roff::bold(usage)])
            .text([roff::roman(
                sub.get_about().map(ToString::to_string).unwrap_or_default(),
            )]);
    }
    commands.control("SH", ["RUN OPTIONS"]).text([
        roff::roman("The options of "),
        roff::bold("bankrace run"),
        roff::roman(", by group."),
    ]);
    commands.to_writer(out)?;
    clap_mangen::Man::new(run).render_options_section(out)?;

    let mut tail = roff::Roff::new();
    tail.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        tail.control("TP", [])
            .text([roff::bold(command)])
            .text([roff::roman(what)]);
    }
    tail.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUSES {
        tail.control("TP", [])
            .text([roff::bold(code.to_string())])
            .text([roff::roman(meaning.replace('\n', " "))]);
    }
    tail.control("SH", ["ENVIRONMENT"])
        .control("TP", [])
        .text([roff::bold("NO_COLOR")])
        .text([roff::roman(
            "When set to a non-empty value: no colour, unless --color always.",
        )])
        .control("TP", [])
        .text([roff::bold("TMPDIR")])
        .text([roff::roman(
            "Where each trial's ledger file is created (and unlinked at once).",
        )]);
    tail.to_writer(out)?;
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_lock_means_the_default_strategy() {
        let cli = Cli::try_parse_from(["bankrace", "run", "--lock", "--lock=flock"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.lock, [LockArg::Mutex, LockArg::Flock]);
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

    #[test]
    fn colour_follows_the_terminal_and_no_color() {
        use std::ffi::OsStr;
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(ColorArg::Auto.enabled(true, None));
        assert!(ColorArg::Auto.enabled(true, empty));
        assert!(!ColorArg::Auto.enabled(true, set));
        assert!(!ColorArg::Auto.enabled(false, None));
        assert!(ColorArg::Always.enabled(false, set));
        assert!(!ColorArg::Never.enabled(true, None));
    }

    #[test]
    fn completions_leave_out_the_hidden_worker_command() {
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Fish] {
            let script = String::from_utf8(completions(shell)).unwrap();
            assert!(script.contains("export-csv"), "{shell}: no run options");
            assert!(script.contains("completions"), "{shell}: no subcommands");
            assert!(
                !script.contains("subcmd__worker") && !script.contains("-a \"worker\""),
                "{shell}: offers worker"
            );
        }
    }

    #[test]
    fn bench_defaults_make_a_valid_plan() {
        let cli = Cli::try_parse_from(["bankrace", "bench"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!()
        };
        let plan = args.plan().unwrap();
        assert_eq!((plan.workers, plan.repetitions, plan.warmup), (2, 5, 1));
        assert_eq!((plan.throughput.ops, plan.overhead.trials), (1_000_000, 50));
    }

    #[test]
    fn long_help_lists_every_exit_status() {
        let help = long_help();
        for (code, _) in EXIT_STATUSES {
            assert!(help.contains(&format!("\n  {code}  ")), "{help}");
        }
        assert!(help.starts_with("Examples:"));
    }

    #[test]
    fn man_page_has_the_run_options_and_the_exit_statuses() {
        let page = String::from_utf8(man_page()).unwrap();
        assert!(page.contains("\n.TH bankrace 1"), "{page}");
        for needle in [
            "RUN OPTIONS",
            "export\\-csv",
            "EXIT STATUS",
            "EXAMPLES",
            "NO_COLOR",
        ] {
            assert!(page.contains(needle), "no {needle} in the man page");
        }
        assert!(page.contains("bankrace completions <SHELL>"), "{page}");
        assert!(
            !page.contains("bankrace worker"),
            "the hidden command is in the page"
        );
        assert!(!page.contains("\n.SH OPTIONS"), "a section of help flags");
    }
}
