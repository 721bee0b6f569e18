//! The command line: clap's definitions of every command and option, and the small enums of output choices. The only place that defines arguments; `help.rs` holds the help text, `run.rs` turns `run`'s arguments into a plan.

mod from;
mod help;
mod matrix;
mod run;
mod sweep;

pub use help::{completions, man_page};
pub use matrix::{MatrixArgs, MatrixFormat};
pub use run::{Output, RunArgs};
pub use sweep::{SweepArgs, SweepFormat};

use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::plan::{BenchPlan, BenchRequest, DbBenchPlan};
use crate::usage::UsageError;
use crate::worker::WorkerArgs;
use help::{ABOUT, BENCH_HELP, QUIZ_EXAMPLES, long_help};

#[derive(Debug, Parser)]
#[command(name = "bankrace", version = crate::VERSION, about = ABOUT, after_long_help = long_help())]
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
    /// Run the same race over a list of values of one parameter, and show how often it bites.
    #[command(after_long_help = help::SWEEP_EXAMPLES)]
    Sweep(Box<SweepArgs>),
    /// The anomaly table: every scenario under every strategy of the backend, N trials per cell, measured on this machine or your own server.
    #[command(after_long_help = help::MATRIX_EXAMPLES)]
    Matrix(Box<MatrixArgs>),
    /// Work out a small interleaving by hand; bankrace checks your answer by running it for real.
    #[command(after_long_help = QUIZ_EXAMPLES)]
    Quiz(QuizArgs),
    /// Remove what runs killed with SIGKILL left behind (embedded server directories, and with --db their schemas on that server) and the cached template cluster of --db embedded.
    DbCleanup(DbCleanupArgs),
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
    /// Internal: becomes the embedded PostgreSQL server (started by `run --db embedded`).
    #[command(hide = true)]
    DbServer(DbServerCli),
}

#[derive(Debug, Args)]
pub struct DbCleanupArgs {
    /// Also drop the schemas of dead runs of this machine on this server (a connection string; `embedded` servers hold their schemas in their directories).
    #[arg(long, value_name = "TARGET")]
    pub db: Option<String>,
}

/// The embedded server's start: switch to `uid`/`gid` if given, ask to die
/// with `parent`, then execute `program` with `args`.
#[derive(Debug, Args)]
pub struct DbServerCli {
    #[arg(long)]
    pub parent: u32,
    #[arg(long)]
    pub uid: Option<u32>,
    #[arg(long)]
    pub gid: Option<u32>,
    /// The server binary and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<std::ffi::OsString>,
}

impl DbServerCli {
    /// The start these arguments describe.
    pub fn start(&self) -> crate::backend::ServerStart {
        crate::backend::ServerStart {
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            command: self.command.clone(),
        }
    }
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Sweep(_) => "sweep",
            Command::Matrix(_) => "matrix",
            Command::Bench(_) => "bench",
            Command::DbCleanup(_) => "db-cleanup",
            Command::DbServer(_) => "db-server",
            Command::Quiz(_) => "quiz",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
            Command::Worker(_) => "worker",
        }
    }
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

    /// Operations per worker in the throughput trials [default: 1000000; with --db, 1000].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub ops: Option<i64>,

    /// Trials of one operation with fresh workers per repetition (and 20 times as many with reused workers), to measure what a trial costs.
    #[arg(
        short = 'n',
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

    /// Measure on a PostgreSQL database instead: `embedded` or a connection string, as `run --db` takes it. Measures every database mode's throughput and the set-up cost of a run's database (--trials and --loss-trials do not apply).
    #[arg(long, value_name = "TARGET")]
    pub db: Option<String>,
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
        BenchPlan::build(self.request())
    }

    /// Checks every value of `bankrace bench --db`.
    pub fn db_plan(&self, db: &str) -> Result<DbBenchPlan, UsageError> {
        DbBenchPlan::build(self.request(), db)
    }

    fn request(&self) -> BenchRequest {
        BenchRequest {
            workers: self.workers,
            ops: self
                .ops
                .unwrap_or_else(|| crate::plan::default_ops(self.db.is_some())),
            trials: self.trials,
            repetitions: self.repetitions,
            warmup: self.warmup,
            loss_trials: self.loss_trials,
        }
    }
}

#[derive(Debug, Args)]
pub struct QuizArgs {
    /// Your answer, for scripts; without it the answer is read from standard input.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub answer: Option<i64>,

    /// Which puzzle: the same seed gives the same one; drawn and shown when not given.
    #[arg(short, long, value_name = "N")]
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
    /// Export only: the self-contained HTML report.
    #[value(skip)]
    Html,
    /// Export only: the histogram figure as SVG.
    #[value(skip)]
    Svg,
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

/// A usage error (exit status 2) in clap's own form: `error:` and the
/// sentence, then the command's `Usage:` line and where to find more.
pub fn usage_error(subcommand: &str, message: &str) -> clap::Error {
    let mut cmd = Cli::command();
    cmd.build();
    match cmd.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(clap::error::ErrorKind::InvalidValue, message),
        None => cmd.error(clap::error::ErrorKind::InvalidValue, message),
    }
}

/// A usage error as it goes to stderr: coloured or plain.
pub fn render_usage_error(error: &clap::Error, color: bool) -> String {
    let styled = error.render();
    let mut text = if color {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Whether errors on stderr are coloured: `--color` if the command line has
/// one (even a command line clap refused), else a terminal without `NO_COLOR`.
pub fn stderr_color(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
) -> bool {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut choice = ColorArg::Auto;
    for (i, arg) in args.iter().enumerate() {
        let value = match arg.strip_prefix("--color") {
            Some("") => args.get(i + 1).map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(v) = value.and_then(|v| ColorArg::from_str(v, false).ok()) {
            choice = v;
        }
    }
    choice.enabled(terminal, no_color)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

/// The columns the text report fits in: `--width` first, else the
/// terminal's width when stdout is a terminal, else `COLUMNS`, else 80.
pub fn text_width(given: Option<usize>) -> Result<usize, UsageError> {
    use crate::limits::{MAX_WIDTH, MIN_WIDTH};
    if let Some(w) = given {
        if !(MIN_WIDTH..=MAX_WIDTH).contains(&w) {
            return Err(UsageError(format!(
                "--width must be between {MIN_WIDTH} and {MAX_WIDTH} columns (got {w})"
            )));
        }
        return Ok(w);
    }
    let terminal = console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols));
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    Ok(width_from(terminal, columns))
}

/// The rule of [`text_width`] without `--width`, as a pure function.
fn width_from(terminal: Option<usize>, columns: Option<usize>) -> usize {
    use crate::limits::{MAX_WIDTH, MIN_WIDTH};
    terminal
        .filter(|&w| w > 0)
        .or(columns.filter(|&w| w > 0))
        .unwrap_or(80)
        .clamp(MIN_WIDTH, MAX_WIDTH)
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
    fn width_comes_from_the_terminal_then_columns_then_80() {
        assert_eq!(width_from(Some(132), Some(100)), 132);
        assert_eq!(width_from(None, Some(100)), 100);
        assert_eq!(width_from(None, None), 80);
        assert_eq!(width_from(None, Some(10)), 40, "never below the minimum");
        assert!(text_width(Some(10)).is_err());
        assert_eq!(text_width(Some(60)).unwrap(), 60);
    }

    #[test]
    fn error_colour_follows_the_color_option_then_the_terminal() {
        use std::ffi::{OsStr, OsString};
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(stderr_color(args(&["bankrace", "run"]), true, None));
        assert!(!stderr_color(args(&["bankrace", "run"]), false, None));
        let no_color = Some(OsStr::new("1"));
        assert!(!stderr_color(args(&["bankrace", "run"]), true, no_color));
        let always = args(&["bankrace", "run", "--color", "always", "--trails"]);
        assert!(stderr_color(always, false, no_color));
        assert!(!stderr_color(args(&["x", "--color=never"]), true, None));
        // A value that is not a choice leaves the default.
        assert!(stderr_color(args(&["x", "--color=pink"]), true, None));
    }

    #[test]
    fn usage_errors_carry_the_command_usage() {
        let text = render_usage_error(&usage_error("run", "--trials must be between 1"), false);
        assert!(
            text.starts_with("error: --trials must be between 1\n"),
            "{text}"
        );
        assert!(text.contains("Usage: bankrace run"), "{text}");
        let coloured = render_usage_error(&usage_error("run", "x"), true);
        assert!(coloured.contains("\u{1b}["), "{coloured:?}");
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
