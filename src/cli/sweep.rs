//! `bankrace sweep`'s arguments: the scenario as `run` takes it, one parameter given as a list of values, and the output choices; turned into a checked sweep plan before anything starts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

use super::{Format, parse_duration};
use crate::export::Target;
use crate::plan::Request;
use crate::sweep::{Parameter, SweepPlan, SweepRequest, Value, parse_values, set};
use crate::usage::UsageError;
use crate::vocab::{LockChoice, Scenario};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Race windows to sweep, e.g. 0,50us,100us,1ms.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub window: Option<String>,
    /// Pauses between operations to sweep, e.g. 0,100us,1ms.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub pause: Option<String>,
    /// Operations per worker to sweep, e.g. 1,10,100.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub ops: Option<String>,
    /// Depositor counts to sweep, e.g. 1,2,4.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub depositors: Option<String>,
    /// Withdrawer counts to sweep, e.g. 1,2,4.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub withdrawers: Option<String>,
    /// Amounts per operation to sweep, e.g. 1,100.
    #[arg(
        long,
        value_name = "LIST",
        allow_hyphen_values = true,
        help_heading = "Parameters: the swept one takes a list, the others one value"
    )]
    pub amount: Option<String>,

    /// Which race: read-modify-write (lost-update) or check-then-act (overdraft).
    #[arg(long, value_enum, value_name = "NAME")]
    pub scenario: Option<Scenario>,
    /// Trials per point and mode (fewer with --ci-width).
    #[arg(
        long,
        default_value_t = 20,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub trials: i64,
    /// Stop a mode at a point once its 95% interval is narrower than W (0 to 1), e.g. 0.2.
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub ci_width: Option<f64>,
    /// Starting balance [default: as for run].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub initial: Option<i64>,
    /// Seed for every random choice, the same at every point; drawn and reported when not given.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run locked, with a strategy: mutex (default), flock, spin, atomic, or all. Repeatable.
    #[arg(long, value_enum, value_name = "KIND", num_args = 0..=1, require_equals = true,
          default_missing_value = LockChoice::default_name(), action = ArgAction::Append)]
    pub lock: Vec<LockChoice>,
    /// Run without a lock (together with --lock, side by side).
    #[arg(long)]
    pub no_lock: bool,
    /// Kill a trial's workers after this long [default: as for run].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    pub timeout: Option<Duration>,
    /// Force the workers' accesses through a schedule at every point (see `bankrace run --help`).
    #[arg(long, value_name = "STEPS")]
    pub schedule: Option<String>,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = SweepFormat::Text, value_name = "FORMAT", help_heading = "Output")]
    pub format: SweepFormat,
    /// Also write a self-contained HTML page with the curve to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_html: Option<PathBuf>,
    /// Also write the curve as SVG to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub export_svg: Option<PathBuf>,
    /// Columns the text report fits in [default: the terminal's, else $COLUMNS, else 80].
    #[arg(long, value_name = "N", help_heading = "Output")]
    pub width: Option<usize>,
    /// Print no progress bar.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
}

/// The formats of `bankrace sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    /// Tables of the share per value and mode, fitted to the width.
    Text,
    /// One JSON document, one entry per point and mode.
    Json,
    /// One row per point and mode, with a header.
    Csv,
    /// One Markdown table.
    Markdown,
}

impl SweepArgs {
    /// Checks every value and builds every point's plan. Nothing has started yet.
    ///
    /// The swept parameter is the one given a list of values; the others
    /// given (one value each) stay fixed at every point.
    pub fn plan(&self) -> Result<SweepPlan, UsageError> {
        let mut given: Vec<(Parameter, Vec<Value>)> = Vec::new();
        for p in Parameter::ALL {
            if let Some(list) = self.list(p) {
                given.push((p, parse_values(p, list)?));
            }
        }
        let lists: Vec<usize> = (0..given.len()).filter(|&i| given[i].1.len() > 1).collect();
        let swept = match (lists.as_slice(), given.len()) {
            ([one], _) => *one,
            ([], 1) => 0,
            ([], 0) => {
                return Err(UsageError(
                    "bankrace sweep needs one parameter with a list of values, e.g. --window 0,50us,100us"
                        .into(),
                ));
            }
            ([], _) => {
                return Err(UsageError(
                    "every parameter has one value: give the swept one a list, e.g. --window 0,50us,100us"
                        .into(),
                ));
            }
            ([a, b, ..], _) => {
                return Err(UsageError(format!(
                    "--{} and --{} both have lists: a sweep varies one parameter, the others take one value",
                    given[*a].0.name(),
                    given[*b].0.name()
                )));
            }
        };
        let (parameter, values) = given.remove(swept);
        let mut base = Request {
            scenario: self.scenario,
            trials: self.trials,
            initial: self.initial,
            seed: Some(self.seed.unwrap_or_else(|| rand::random::<u64>() >> 11)),
            locks: self.lock.clone(),
            no_lock: self.no_lock,
            timeout: self.timeout,
            schedule: self.schedule.clone(),
            ..Request::default()
        };
        for (p, v) in given {
            set(&mut base, p, v[0]);
        }
        SweepPlan::build(SweepRequest {
            base,
            parameter,
            values,
            ci_width: self.ci_width,
        })
    }

    fn list(&self, p: Parameter) -> Option<&String> {
        match p {
            Parameter::Window => self.window.as_ref(),
            Parameter::Pause => self.pause.as_ref(),
            Parameter::Ops => self.ops.as_ref(),
            Parameter::Depositors => self.depositors.as_ref(),
            Parameter::Withdrawers => self.withdrawers.as_ref(),
            Parameter::Amount => self.amount.as_ref(),
        }
    }

    /// The export targets, checked before the sweep starts, as `run`
    /// checks its own: writable, and no two the same file.
    pub fn exports(&self) -> anyhow::Result<Vec<(Format, Target)>> {
        let mut named: Vec<(&str, Format, &std::path::Path)> = Vec::new();
        for (flag, format, path) in [
            ("--export-html", Format::Html, &self.export_html),
            ("--export-svg", Format::Svg, &self.export_svg),
        ] {
            if let Some(path) = path {
                named.push((flag, format, path));
            }
        }
        let flags: Vec<(&str, &std::path::Path)> = named.iter().map(|&(f, _, p)| (f, p)).collect();
        let targets = crate::export::check(&flags)?;
        Ok(named.iter().map(|&(_, f, _)| f).zip(targets).collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<crate::sweep::SweepPlan, crate::usage::UsageError> {
        let cli = Cli::try_parse_from(["bankrace", "sweep"].iter().chain(args)).unwrap();
        let Command::Sweep(args) = cli.command else {
            panic!()
        };
        args.plan()
    }

    #[test]
    fn exactly_one_parameter_is_swept() {
        assert!(plan(&["--window", "0,50us"]).is_ok());
        assert!(plan(&[]).unwrap_err().0.contains("e.g. --window"));
        let both = plan(&["--window", "0,1ms", "--ops", "1,2"]).unwrap_err();
        assert!(both.0.contains("--window and --ops"), "{both}");
        let fixed = plan(&["--window", "0,300ms", "--depositors", "2", "--ops", "1"]).unwrap();
        assert_eq!(fixed.parameter, crate::sweep::Parameter::Window);
        assert!(fixed.plans.iter().all(|p| p.depositors == 2 && p.ops == 1));
        assert!(plan(&["--window", "0", "--ops", "1"]).is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        let a = plan(&["--ops", "1,5", "--seed", "4"]).unwrap();
        let b = plan(&["--ops", "1,5", "--seed", "4"]).unwrap();
        assert_eq!(a.plans, b.plans);
    }
}
