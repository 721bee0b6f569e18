//! bankrace: the entry point. Parses the command line, runs the chosen command, maps errors to exit statuses.
#![deny(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use bankrace::cli::{Cli, Command, Format, RunArgs};
use bankrace::plan::UsageError;
use bankrace::signals::{self, Interrupts};
use bankrace::{coordinator, progress, report, stats, worker};

/// Exit statuses, documented in the README and in `--help`. A run cut short
/// by signal N exits with 128 + N, as a shell would report it.
const EXIT_RUNTIME: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version: stdout, status 0
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        Err(e) => {
            eprintln!("bankrace: {}", one_line(&e.to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Worker(args) => worker::run(args.args())
            .map(|()| ExitCode::SUCCESS)
            .map_err(|e| e.context(format!("worker {}", args.index))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let status = if e.is::<UsageError>() {
                EXIT_USAGE
            } else {
                EXIT_RUNTIME
            };
            eprintln!("bankrace: error: {e:#}");
            ExitCode::from(status)
        }
    }
}

/// Clap's message without its usage block, on one line: the mistake and,
/// where clap lists them, the values that would have been accepted.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let plan = args.plan()?;
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let mut bar = progress::Bar::new(plan.modes.len(), plan.trials);
    let outcome = coordinator::run(&plan, &interrupts, &mut |p| bar.update(p));
    bar.finish();
    let outcome = outcome?;
    let results = stats::results(&plan, &outcome);
    let text = match args.format {
        Format::Text => report::text(&results),
        Format::Json => report::json(&results),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`bankrace run | head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if let Some(sig) = outcome.interrupted {
        eprintln!("bankrace: interrupted by {}", signals::name(sig));
        return Ok(ExitCode::from(128 + sig as u8));
    }
    if outcome.stopped_early {
        eprintln!("bankrace: error: stopped at the first failed trial (--fail-fast)");
        return Ok(ExitCode::from(EXIT_RUNTIME));
    }
    Ok(ExitCode::SUCCESS)
}
