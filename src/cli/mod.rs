//! The command line: clap's definitions of every command and option, and the small enums of output choices. The only place that defines arguments; `help.rs` holds the help text, `run.rs` turns `run`'s arguments into a plan.

mod help;
mod run;

pub use help::{completions, man_page};
pub use run::{Output, RunArgs};

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::{BenchPlan, BenchRequest};
use crate::usage::UsageError;
use crate::worker::WorkerArgs;
use help::{ABOUT, BENCH_HELP, QUIZ_EXAMPLES, long_help};

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

    /// Trials of one operation with fresh workers per repetition (and 20 times as many with reused workers), to measure what a trial costs.
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

    /// Trials of run's unlocked defaults per repetition, with fresh and with reused workers each, to compare how often the race bites.
    #[arg(
        long,
        default_value_t = 40,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub loss_trials: i64,

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
            loss_trials: self.loss_trials,
            tmpdir: crate::coordinator::default_ledger_dir(),
        })
    }
}

#[derive(Debug, Args)]
pub struct QuizArgs {
    /// Your answer, for scripts; without it the answer is read from standard input.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub answer: Option<i64>,

    /// Which puzzle: the same seed gives the same one; drawn and shown when not given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
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

/// The worker's command line alone: `bankrace worker ...` is parsed with
/// this small parser instead of the whole command tree, which a worker
/// would otherwise build (every option and help text of every command) each
/// time it starts. The arguments are [`WorkerCli`]'s, declared once.
#[derive(Debug, Parser)]
#[command(name = "bankrace worker", no_binary_name = true)]
pub struct WorkerOnly {
    #[command(flatten)]
    pub args: WorkerCli,
}

impl WorkerOnly {
    /// The worker's arguments if `args` (the whole command line, program
    /// name first) starts a worker; `None` for any other command.
    pub fn detect(args: &[std::ffi::OsString]) -> Option<Result<WorkerOnly, clap::Error>> {
        (args.get(1)?.as_os_str() == "worker").then(|| WorkerOnly::try_parse_from(&args[2..]))
    }
}

#[derive(Debug, Args)]
pub struct WorkerCli {
    #[arg(long)]
    pub fd: i32,
    #[arg(long)]
    pub index: u32,
    #[arg(long)]
    pub parent: u32,
    /// Reused workers: the write end of the coordinator's pipe.
    #[arg(long, requires = "generation")]
    pub notify: Option<i32>,
    /// Reused workers: the generation already run.
    #[arg(long, requires = "notify")]
    pub generation: Option<u32>,
}

impl WorkerCli {
    pub fn args(&self) -> WorkerArgs {
        WorkerArgs {
            fd: self.fd,
            index: self.index,
            parent: self.parent,
            reuse: self
                .notify
                .zip(self.generation)
                .map(|(notify, generation)| crate::worker::Reuse { notify, generation }),
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
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
    fn bench_defaults_make_a_valid_plan() {
        let cli = Cli::try_parse_from(["bankrace", "bench"]).unwrap();
        let Command::Bench(args) = cli.command else {
            panic!()
        };
        let plan = args.plan().unwrap();
        assert_eq!((plan.workers, plan.repetitions, plan.warmup), (2, 5, 1));
        assert_eq!((plan.throughput.ops, plan.overhead.trials), (1_000_000, 50));
    }
}
