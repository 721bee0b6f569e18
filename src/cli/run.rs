//! `bankrace run`'s arguments, and how they become a checked plan and checked output choices before anything starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args};

use super::from::Parameters;
use super::{ColorArg, ExpectArg, Format, parse_duration};
use crate::expect::Expectation;
use crate::export::Target;
use crate::plan::{DEFAULT_TRIALS, Plan, Request};
use crate::usage::UsageError;
use crate::vocab::{LockChoice, Mode, Scenario};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which race: read-modify-write (lost-update) or check-then-act (overdraft).
    #[arg(long, value_enum, value_name = "NAME", help_heading = "Scenario")]
    pub scenario: Option<Scenario>,

    /// Trials per mode [default: 50].
    #[arg(
        short = 'n',
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub trials: Option<i64>,

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
        short,
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario"
    )]
    pub seed: Option<u64>,

    /// Transfer scenario: accounts in the bank [default: 4].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Transfers (--scenario transfer)"
    )]
    pub accounts: Option<i64>,

    /// Transfer scenario: worker processes that transfer (T1, T2, ...) [default: 3].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Transfers (--scenario transfer)"
    )]
    pub transferers: Option<i64>,

    /// Transfer scenario: worker processes that audit every balance (R1, R2, ...) [default: 0].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Transfers (--scenario transfer)"
    )]
    pub auditors: Option<i64>,

    /// Transfer scenario: auditors take no lock, whatever the mode (shows the read skew).
    #[arg(long, help_heading = "Transfers (--scenario transfer)")]
    pub unlocked_audits: bool,

    /// Transfer scenario: force each transferer's first transfer round the accounts (T1 #1->#2, T2 #2->#3, ...) and hold it after its first access until every transferer made its own: a certain collision (see docs/transfers.md).
    #[arg(long, help_heading = "Transfers (--scenario transfer)")]
    pub collide: bool,

    /// Transfer scenario: write every transfer and audit to FILE as a Jepsen history (EDN, one op per line).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Transfers (--scenario transfer)"
    )]
    pub export_history: Option<PathBuf>,

    /// Run locked, with a strategy: mutex (default), flock, spin, atomic; transfers: mutex-unordered, mutex, spin, range, global; write skew: own, mutex, global; with --db: row (default), advisory, atomic, cas, repeatable-read, serializable; or all. Repeatable.
    #[arg(
        long,
        value_enum,
        value_name = "KIND",
        num_args = 0..=1,
        // `run` takes no positional arguments, so the word after a bare
        // --lock is its value if it names one: `--lock mutex` and
        // `--lock=mutex` alike, as completion offers them.
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

    /// Keep the accounts in a PostgreSQL table: `embedded` (a throwaway server for the run) or a connection string (postgresql://user@host/db, host=... dbname=...). The password may come from PGPASSWORD or ~/.pgpass.
    #[arg(long, value_name = "TARGET", help_heading = "Database")]
    pub db: Option<String>,

    /// With --db: retries of one operation (serialization failures, deadlocks, compare-and-set misses) before its trial fails.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Database"
    )]
    pub max_retries: Option<i64>,

    /// Kill a trial's workers after this long [default: 10x the slowest schedule, at least 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Faults")]
    pub timeout: Option<Duration>,

    /// Stop at the first failed trial (exit status 1) instead of going on.
    #[arg(long, help_heading = "Faults")]
    pub fail_fast: bool,

    /// Start each mode's workers once and run every trial with the same processes (much faster trials; see docs/scale.md).
    #[arg(long, help_heading = "Scenario")]
    pub reuse_workers: bool,

    /// In this fraction of trials (0 to 1), one worker kills itself with SIGKILL while it holds the lock [default: 0].
    #[arg(
        long,
        value_name = "RATE",
        allow_negative_numbers = true,
        help_heading = "Faults"
    )]
    pub kill_holder: Option<f64>,

    /// Run the plan of a JSON report (its `parameters`); options given here override them.
    #[arg(long, value_name = "FILE", help_heading = "Scenario")]
    pub from: Option<PathBuf>,

    /// Force the workers' accesses through a schedule, e.g. "D1:read W1:read D1:write W1:write" (see the README).
    #[arg(long, value_name = "STEPS", help_heading = "Scenario")]
    pub schedule: Option<String>,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT", help_heading = "Output")]
    pub format: Format,

    /// Also write the JSON report to FILE (- for standard output).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_json: Option<PathBuf>,

    /// Also write one CSV row per trial to FILE (- for standard output).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_csv: Option<PathBuf>,

    /// Also write the summary as a Markdown table to FILE (- for standard output).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_markdown: Option<PathBuf>,

    /// Also write a self-contained HTML report (figures inline, no network) to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_html: Option<PathBuf>,

    /// Also write the histogram figure as SVG to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_svg: Option<PathBuf>,

    /// After the report, exit with status 3 unless every trial was exact (exact) or an unlocked trial showed the race (race).
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Output")]
    pub expect: Option<ExpectArg>,

    /// Colour on stdout and the progress bar: auto means on a terminal, unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorArg,

    /// Columns the text report fits in [default: the terminal's, else $COLUMNS, else 80].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub width: Option<usize>,

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

    /// Write the traced history to FILE (- for standard output), one invoke/ok event per line (JSON). Implies --trace.
    #[arg(long, value_name = "FILE", help_heading = "Tracing")]
    pub export_trace: Option<PathBuf>,
}

/// What `run` prints and writes, besides the plan: checked before any
/// process starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// Reports to export, each with its format, in the order json, csv,
    /// markdown, html, svg; every target checked before the run.
    pub exports: Vec<(Format, Target)>,
    /// Where `--export-trace` writes the traced history.
    pub trace_export: Option<Target>,
    /// Where `--export-history` writes the transfers' Jepsen history.
    pub history_export: Option<Target>,
    pub expect: Option<Expectation>,
    pub color: ColorArg,
    pub quiet: bool,
}

impl RunArgs {
    /// Checks every value and applies defaults. Nothing has started yet.
    /// With `--from`, the report's parameters fill in every option not given.
    pub fn plan(&self) -> Result<Plan, UsageError> {
        let file = match &self.from {
            Some(path) => super::from::load(path)?,
            None => Parameters::default(),
        };
        // The modes come from the command line if it names any.
        let (locks, no_lock) = if self.lock.is_empty() && !self.no_lock {
            (file.locks, file.no_lock)
        } else {
            (self.lock.clone(), self.no_lock)
        };
        let request = Request {
            scenario: self.scenario.or(file.scenario),
            trials: self.trials.or(file.trials).unwrap_or(DEFAULT_TRIALS),
            initial: self.initial.or(file.initial),
            depositors: self.depositors.or(file.depositors),
            withdrawers: self.withdrawers.or(file.withdrawers),
            ops: self.ops.or(file.ops),
            amount: self.amount.or(file.amount),
            pause: self.pause.or(file.pause),
            window: self.window.or(file.window),
            seed: self.seed.or(file.seed),
            locks,
            no_lock,
            kill_holder: self.kill_holder.or(file.kill_holder).unwrap_or(0.0),
            timeout: self.timeout.or(file.timeout),
            fail_fast: self.fail_fast || file.fail_fast,
            trace: self.trace
                || file.trace
                || self.explain.is_some()
                || self.export_trace.is_some(),
            schedule: self.schedule.clone().or(file.schedule),
            accounts: self.accounts.or(file.accounts),
            transferers: self.transferers.or(file.transferers),
            auditors: self.auditors.or(file.auditors),
            collide: self.collide || file.collide,
            unlocked_audits: self.unlocked_audits || file.unlocked_audits,
            history: self.export_history.is_some(),
            db: self.db.clone().or(file.db),
            max_retries: self.max_retries.or(file.max_retries),
            reuse_workers: self.reuse_workers || file.reuse_workers,
        };
        // A drawn seed stays below 2^53, so that every JSON reader (JavaScript,
        // jq) keeps it exact and a result file can always repeat its run.
        Plan::build(request, || rand::random::<u64>() >> 11)
    }
}

impl RunArgs {
    /// `--trace` was given, but nothing that shows the trace: no `--explain`,
    /// no JSON on stdout or in a file, no `--export-trace`, no HTML report.
    pub fn trace_unseen(&self) -> bool {
        self.trace
            && self.explain.is_none()
            && self.export_trace.is_none()
            && self.export_json.is_none()
            && self.export_html.is_none()
            && self.format != Format::Json
    }

    /// Checks the output options against the plan. Nothing has started yet.
    pub fn output(&self, plan: &Plan) -> anyhow::Result<Output> {
        let expect = self.expect.map(|e| match e {
            ExpectArg::Exact => Expectation::Exact,
            ExpectArg::Race => Expectation::Race,
        });
        if expect == Some(Expectation::Race) && !plan.modes.contains(&Mode::NoLock) {
            return Err(UsageError(
                "--expect race needs the unlocked mode: add --no-lock (the race cannot show under a lock)"
                    .into(),
            )
            .into());
        }
        let mut named: Vec<(&str, Format, &Path)> = Vec::new();
        for (flag, format, path) in [
            ("--export-json", Format::Json, &self.export_json),
            ("--export-csv", Format::Csv, &self.export_csv),
            ("--export-markdown", Format::Markdown, &self.export_markdown),
            ("--export-html", Format::Html, &self.export_html),
            ("--export-svg", Format::Svg, &self.export_svg),
            // The trace and the history are not report formats; text
            // stands for them here. They come last: their targets are
            // taken off the end.
            ("--export-trace", Format::Text, &self.export_trace),
            ("--export-history", Format::Text, &self.export_history),
        ] {
            if let Some(path) = path {
                named.push((flag, format, path));
            }
        }
        let flags: Vec<(&str, &Path)> = named.iter().map(|&(f, _, p)| (f, p)).collect();
        let mut targets = crate::export::check(&flags)?;
        let history_export = (self.export_history.is_some())
            .then(|| targets.pop())
            .flatten();
        let trace_export = (self.export_trace.is_some())
            .then(|| targets.pop())
            .flatten();
        let exports = named.iter().map(|&(_, f, _)| f).zip(targets).collect();
        Ok(Output {
            format: self.format,
            exports,
            trace_export,
            history_export,
            expect,
            color: self.color,
            quiet: self.quiet,
        })
    }
}

#[cfg(test)]
mod tests;
