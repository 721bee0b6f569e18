//! `bankrace matrix`'s arguments: what every scenario of the anomaly table shares (trials, seed, backend, window, ...) and the output choices; turned into a checked matrix plan before anything starts.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::parse_duration;
use crate::matrix::{DEFAULT_TRIALS, MatrixPlan};
use crate::plan::Request;
use crate::usage::UsageError;
use crate::vocab::Scenario;

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Trials per cell (scenario and mode).
    #[arg(long, default_value_t = DEFAULT_TRIALS, value_name = "N", allow_negative_numbers = true)]
    pub trials: i64,
    /// Keep the accounts in a PostgreSQL table: `embedded` (one throwaway server for the whole matrix) or a connection string; without it, the memory-mapped ledger.
    #[arg(long, value_name = "TARGET")]
    pub db: Option<String>,
    /// Only this scenario's row (repeatable) [default: every scenario the backend runs].
    #[arg(long, value_enum, value_name = "NAME")]
    pub scenario: Vec<Scenario>,
    /// Seed for every random choice, the same in every scenario; drawn and reported when not given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Race window between each read and its write, in every scenario [default: each scenario's own].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Scenario (every scenario; each keeps its own defaults)")]
    pub window: Option<Duration>,
    /// Pause between a worker's operations [default: each scenario's own].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Scenario (every scenario; each keeps its own defaults)")]
    pub pause: Option<Duration>,
    /// Operations per worker [default: each scenario's own].
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario (every scenario; each keeps its own defaults)"
    )]
    pub ops: Option<i64>,
    /// Kill a trial's workers after this long [default: as for run].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true, help_heading = "Scenario (every scenario; each keeps its own defaults)")]
    pub timeout: Option<Duration>,
    /// With --db: retries of one operation before its trial fails.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Scenario (every scenario; each keeps its own defaults)"
    )]
    pub max_retries: Option<i64>,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = MatrixFormat::Text, value_name = "FORMAT", help_heading = "Output")]
    pub format: MatrixFormat,
    /// Columns the text report fits in [default: the terminal's, else $COLUMNS, else 80].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub width: Option<usize>,
    /// Print no progress bar.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
}

/// The formats of `bankrace matrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// The table, fitted to the width, and what its words mean.
    Text,
    /// The same table in Markdown.
    Markdown,
    /// One JSON document: every cell's counts (docs/matrix.schema.json).
    Json,
}

impl MatrixArgs {
    /// Checks every value and builds every scenario's plan. Nothing has
    /// started yet.
    pub fn plan(&self) -> Result<MatrixPlan, UsageError> {
        MatrixPlan::build(
            Request {
                trials: self.trials,
                seed: Some(self.seed.unwrap_or_else(|| rand::random::<u64>() >> 11)),
                db: self.db.clone(),
                window: self.window,
                pause: self.pause,
                ops: self.ops,
                timeout: self.timeout,
                max_retries: self.max_retries,
                ..Request::default()
            },
            &self.scenario,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<crate::matrix::MatrixPlan, crate::usage::UsageError> {
        let cli = Cli::try_parse_from(["bankrace", "matrix"].iter().chain(args)).unwrap();
        let Command::Matrix(args) = cli.command else {
            panic!()
        };
        args.plan()
    }

    #[test]
    fn shared_options_reach_every_scenario_and_the_rest_keep_their_defaults() {
        let m = plan(&["--window", "1ms", "--trials", "4", "--seed", "3"]).unwrap();
        assert!(
            m.plans
                .iter()
                .all(|p| p.window == Duration::from_millis(1) && p.trials == 4 && p.seed == 3)
        );
        let initials: Vec<i64> = m.plans.iter().map(|p| p.initial).collect();
        let defaults: Vec<i64> = m
            .plans
            .iter()
            .map(|p| crate::plan::defaults(p.scenario).initial)
            .collect();
        assert_eq!(initials, defaults);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(plan(&["--trials", "0"]).unwrap_err().0.contains("--trials"));
        assert!(plan(&["--db", " "]).unwrap_err().0.contains("--db"));
    }

    use std::time::Duration;
}
