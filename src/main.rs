//! bankrace: the entry point. Parses the command line, runs the chosen command, maps errors to exit statuses.
#![deny(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use bankrace::cli::{Cli, Command, Format, RunArgs};
use bankrace::plan::UsageError;
use bankrace::{coordinator, progress, report, stats, worker};

/// Exit statuses, documented in the README and in `--help`.
const EXIT_RUNTIME: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with status 0; mistakes to stderr with 2.
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Worker(args) => {
            worker::run(args.args()).map_err(|e| e.context(format!("worker {}", args.index)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
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

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let plan = args.plan()?;
    let mut bar = progress::Bar::new(plan.modes.len(), plan.trials);
    let outcomes = coordinator::run(&plan, &mut |p| bar.update(p));
    bar.finish();
    let results = stats::results(&plan, &outcomes?);
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
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
