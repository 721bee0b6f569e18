//! The command line: clap definitions, and turning arguments into a validated plan. The only module that knows clap.

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::plan::{Plan, Request, Scenario, StrategyKind, UsageError};
use crate::worker::WorkerArgs;

const ABOUT: &str = "Watch race conditions happen: real processes sharing one bank balance, with and without a lock.";

const EXAMPLES: &str = "\
Examples:
  bankrace run                                  both modes side by side, 50 trials
  bankrace run --trials 200 --seed 7            more trials, repeatable choices
  bankrace run --scenario overdraft             two ATMs withdraw from one account
  bankrace run --no-lock --lock=all             every strategy next to no lock
  bankrace run --ops 100 --pause 10ms --window 0    the tutorial's schedule
  bankrace run --format json > results.json     for scripts
  bankrace run --lock=all --kill-holder 0.5 --timeout 1s --window 1ms
                                                what happens when a lock holder dies

Exit status: 0 success, 1 runtime error (or a failed trial with --fail-fast),\n2 usage error, 128+N interrupted by signal N (130 for Ctrl-C).";

#[derive(Debug, Parser)]
#[command(name = "bankrace", version, about = ABOUT, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run trials of a race, unlocked and locked, and compare final balances.
    #[command(after_long_help = EXAMPLES)]
    Run(RunArgs),
    /// Internal: one worker process of a trial (started by `run`).
    #[command(hide = true)]
    Worker(WorkerCli),
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

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT", help_heading = "Output")]
    pub format: Format,
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
            tmpdir: std::env::temp_dir(),
            kill_holder: self.kill_holder,
            timeout: self.timeout,
            fail_fast: self.fail_fast,
        };
        Plan::build(request, rand::random)
    }
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
    fn bare_lock_means_the_default_strategy() {
        let cli = Cli::try_parse_from(["bankrace", "run", "--lock", "--lock=flock"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.lock, [LockArg::Mutex, LockArg::Flock]);
    }
}
