//! bankrace: the entry point. Parses the command line, runs the chosen command, writes reports and exports, maps errors, interruptions and expectations to exit statuses.
#![deny(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use bankrace::cli::{self, BenchArgs, BenchFormat, Cli, Command, Format, QuizArgs, RunArgs};
use bankrace::exit::{EXIT_EXPECTATION, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};
use bankrace::report::Paint;
use bankrace::signals::{self, Interrupts};
use bankrace::stats::Results;
use bankrace::usage::UsageError;
use bankrace::vocab::Mode;
use bankrace::{bench, coordinator, exit, expect, progress, report, worker};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(parsed) = cli::WorkerOnly::detect(&args) {
        return match parsed {
            Ok(w) => finish(worker_main(&w.args)),
            Err(e) => {
                eprintln!("bankrace: {}", one_line(&e.to_string()));
                ExitCode::from(EXIT_USAGE)
            }
        };
    }
    let cli = match Cli::try_parse_from(&args) {
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
        Command::Quiz(args) => quiz(&args),
        Command::Completions { shell } => print(&cli::completions(shell)).map(|()| EXIT_OK),
        Command::Man => print(&cli::man_page()).map(|()| EXIT_OK),
        Command::Bench(args) => bench(&args),
        Command::Worker(args) => worker_main(&args),
    };
    finish(result)
}

/// A worker's whole life, after its arguments were parsed.
fn worker_main(args: &cli::WorkerCli) -> anyhow::Result<u8> {
    match worker::run(args.args()) {
        Ok(()) => Ok(EXIT_OK),
        // The coordinator reports why the schedule cannot be followed.
        Err(e) if worker::is_gave_up(&e) => Ok(EXIT_RUNTIME),
        Err(e) => Err(e.context(format!("worker {}", args.index))),
    }
}

/// The exit status of a command's result; an error is printed first.
fn finish(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(status) => ExitCode::from(status),
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

/// Runs the trials, prints the chosen format, writes the exports, and only
/// then decides the exit status: an interruption (128 + N), `--fail-fast`
/// (1), or an expectation not met (3). A report is always complete first.
fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    let output = args.output(&plan)?;
    // Created before the run, so that a path that cannot be written is
    // known before minutes of trials, not after.
    let trace_export = match &args.export_trace {
        Some(path) => Some((
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
            path,
        )),
        None => None,
    };
    let no_color = std::env::var_os("NO_COLOR");
    let paint_stdout = output
        .color
        .enabled(std::io::stdout().is_terminal(), no_color.as_deref());
    let paint_stderr = output
        .color
        .enabled(std::io::stderr().is_terminal(), no_color.as_deref());

    let mut streams = open_streams(&plan, &output)?;

    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let mut bar = progress::Bar::new(plan.modes.len(), plan.trials, !output.quiet, paint_stderr);
    let end = coordinator::run_each(&plan, &interrupts, &mut |p| bar.update(p), &mut |m, t| {
        streams.trial(m, &t).map_err(named_error)
    });
    bar.finish();
    let end = end?;
    let results = streams
        .finish(end.interrupted, end.stopped_early)
        .map_err(named_error)?;

    let paint = if paint_stdout {
        Paint::Color
    } else {
        Paint::Plain
    };
    let mut shown = if output.quiet {
        format!("{}\n", report::verdict_with(&results, paint))
    } else if output.format == Format::Text {
        report::text_with(&results, paint)
    } else if output.format == Format::Markdown {
        report::markdown(&results)
    } else {
        String::new() // streamed already
    };
    if let Some(limit) = args.explain
        && output.format == Format::Text
        && !output.quiet
    {
        shown.push_str(&report::explain(&results, limit));
    }
    print(shown.as_bytes())?;

    for (format, path) in output.exports.iter().filter(|(f, _)| !streamed(*f)) {
        std::fs::write(path, render(&results, *format))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some((mut file, path)) = trace_export {
        file.write_all(report::history(&results).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let (status, lines) = exit::status(&exit::Ending {
        interrupted: end.interrupted.map(|sig| (sig, signals::name(sig))),
        // A traced trial whose books do not balance is a bug in bankrace.
        violations: report::violations(&results),
        stopped_early: end.stopped_early,
        unmet: output
            .expect
            .and_then(|e| expect::check(&results, e).err())
            .map(|unmet| unmet.to_string()),
    });
    for line in lines {
        eprintln!("bankrace: {line}");
    }
    Ok(status)
}

/// Asks the puzzle, runs it for real, and says whether the answer was right:
/// status 0 for a right answer, 3 for a wrong one.
fn quiz(args: &QuizArgs) -> anyhow::Result<u8> {
    let puzzle = bankrace::quiz::generate(args.seed.unwrap_or_else(|| rand::random::<u64>() >> 11));
    print(puzzle.question().as_bytes())?;
    let answer = match args.answer {
        Some(n) => n,
        None => bankrace::quiz::ask(&mut std::io::stdin().lock(), &mut std::io::stdout()).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => anyhow::Error::new(UsageError(e.to_string())),
                _ => anyhow::Error::new(e).context("cannot read the answer"),
            },
        )?,
    };
    let plan = bankrace::plan::Plan::build(puzzle.request(), || puzzle.seed)?;
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let outcome = coordinator::run(&plan, &interrupts, &mut |_| {})?;
    if let Some(sig) = outcome.interrupted {
        eprintln!("bankrace: interrupted by {}", signals::name(sig));
        return Ok(128 + sig as u8);
    }
    let results = report::results(&plan, &outcome);
    let trial = &results.modes[0].trials[0];
    if let Some(cause) = &trial.cause {
        anyhow::bail!("the real run failed: {cause}");
    }
    // The real processes, forced through the schedule, must end where the
    // schedule says; anything else is a bug in the turnstile.
    if trial.final_balance != puzzle.predicted() {
        anyhow::bail!(
            "BUG: the schedule should end at {}, the real run ended at {}",
            puzzle.predicted(),
            trial.final_balance
        );
    }
    let mut text = format!(
        "\n{}\n\nThis is how the real processes went:\n\n",
        bankrace::quiz::verdict(answer, trial.final_balance)
    );
    text.push_str(&report::trial_explanation(Mode::NoLock, trial).unwrap_or_default());
    print(text.as_bytes())?;
    Ok(if answer == trial.final_balance {
        EXIT_OK
    } else {
        EXIT_EXPECTATION
    })
}

/// Measures, then prints the chosen format. An interruption ends the
/// benchmark without a report (its numbers would be partial): 128 + N.
fn bench(args: &BenchArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let bar = progress::Rounds::new(plan.warmup + plan.repetitions);
    let measured = bench::measure(&plan, &interrupts, &mut |done, _| bar.update(done));
    bar.finish();
    let results = match measured? {
        bench::Measured::Done(results) => results,
        bench::Measured::Interrupted(sig) => {
            eprintln!("bankrace: interrupted by {}", signals::name(sig));
            return Ok(128 + sig as u8);
        }
    };
    let text = match args.format {
        BenchFormat::Text => report::bench::text(&results),
        BenchFormat::Json => report::bench::json(&results),
    };
    print(text.as_bytes())?;
    Ok(EXIT_OK)
}

/// Where JSON and CSV go as the trials end: stdout and export files alike;
/// every other report is rendered at the end from statistics folded on the
/// way. Export files are created now, so that a path that cannot be written
/// is known before minutes of trials.
fn open_streams(
    plan: &bankrace::plan::Plan,
    output: &cli::Output,
) -> anyhow::Result<report::Streams> {
    let mut json: Vec<Box<dyn Write>> = Vec::new();
    let mut csv: Vec<Box<dyn Write>> = Vec::new();
    if !output.quiet && streamed(output.format) {
        let stdout: Box<dyn Write> = Box::new(std::io::BufWriter::new(Stdout::default()));
        match output.format {
            Format::Json => json.push(stdout),
            _ => csv.push(stdout),
        }
    }
    for (format, path) in output.exports.iter().filter(|(f, _)| streamed(*f)) {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let file: Box<dyn Write> = Box::new(Named(std::io::BufWriter::new(file), path.clone()));
        match format {
            Format::Json => json.push(file),
            _ => csv.push(file),
        }
    }
    report::Streams::new(plan, json, csv).map_err(named_error)
}

/// The formats written as the trials end.
fn streamed(format: Format) -> bool {
    matches!(format, Format::Json | Format::Csv)
}

/// A report rendered at the end, without colour, as files get it. JSON and
/// CSV are streamed instead (see [`report::Streams`]).
fn render(results: &Results, format: Format) -> String {
    match format {
        Format::Markdown => report::markdown(results),
        _ => report::text(results),
    }
}

/// Stdout for a streamed report. A closed pipe (`bankrace run --format json
/// | head`) is the reader's choice, not an error: the rest is dropped.
#[derive(Default)]
struct Stdout {
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match std::io::stdout().lock().write_all(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.closed = true,
            other => other?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().lock().flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// An export file that names itself in its errors.
struct Named(std::io::BufWriter<std::fs::File>, std::path::PathBuf);

impl Write for Named {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(|e| self.name(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(|e| self.name(e))
    }
}

impl Named {
    fn name(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("cannot write {}: {e}", self.1.display()))
    }
}

/// An error of a streamed report, whose message already says which file.
fn named_error(e: std::io::Error) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// Writes to stdout. A closed pipe (`bankrace run | head`) is the reader's
/// choice, not an error.
fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
