//! bankrace: the entry point. Parses the command line, runs the chosen command, writes reports and exports, maps errors, interruptions and expectations to exit statuses.
#![deny(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use bankrace::cli::{
    self, BenchArgs, BenchFormat, Cli, Command, Format, QuizArgs, RunArgs, SweepArgs, SweepFormat,
};
use bankrace::exit::{EXIT_EXPECTATION, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};
use bankrace::export::{self, Target};
use bankrace::report::Paint;
use bankrace::signals::{self, Interrupts};
use bankrace::stats::Results;
use bankrace::usage::UsageError;
use bankrace::vocab::Mode;
use bankrace::{bench, coordinator, exit, expect, progress, report, worker};

fn main() -> ExitCode {
    let color = cli::stderr_color(
        std::env::args_os(),
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    // Usage errors (status 2) take clap's form: `error:`, tips, `Usage:`.
    // A usage error stays status 2 even if stderr cannot take it.
    let usage = |e: &clap::Error| {
        let rendered = cli::render_usage_error(e, color);
        let _ = std::io::stderr().lock().write_all(rendered.as_bytes());
        ExitCode::from(EXIT_USAGE)
    };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A bare command: its help on stderr, status 2 (clap never panics
        // on a failed write).
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            e.exit()
        }
        // --help, --version: on stdout, status 0, unless stdout cannot take it.
        Err(e) if !e.use_stderr() => {
            let status = match print(e.render().to_string().as_bytes()) {
                Ok(()) => EXIT_OK,
                Err(err) => finish(EXIT_RUNTIME, &[format!("error: {err:#}")]),
            };
            return ExitCode::from(status);
        }
        Err(e) => return usage(&e),
    };
    let subcommand = cli.command.name();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Sweep(args) => sweep(&args),
        Command::Quiz(args) => quiz(&args),
        Command::Completions { shell } => print(&cli::completions(shell)).map(|()| EXIT_OK),
        Command::Man => print(&cli::man_page()).map(|()| EXIT_OK),
        Command::Bench(args) => bench(&args),
        Command::DbCleanup(args) => bankrace::db_cleanup(&args).and_then(|lines| {
            let mut text = lines.join("\n");
            if lines.is_empty() {
                text.push_str("nothing left behind by dead runs");
            }
            text.push('\n');
            print(text.as_bytes()).map(|()| EXIT_OK)
        }),
        Command::DbServer(args) => match bankrace::db_server(&args) {
            Ok(never) => match never {},
            Err(e) => Err(e),
        },
        Command::Worker(args) => match worker::run(args.args()) {
            Ok(()) => Ok(EXIT_OK),
            // Its coordinator reports why, once per trial, from the ledger.
            Err(e) if worker::is_gave_up(&e) && worker::under_its_coordinator() => Ok(EXIT_RUNTIME),
            Err(e) => Err(e.context(format!("worker {}", args.index))),
        },
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) if e.is::<UsageError>() => usage(&cli::usage_error(subcommand, &format!("{e:#}"))),
        // Runtime errors (status 1) stay one line.
        Err(e) => ExitCode::from(finish(EXIT_RUNTIME, &[format!("error: {e:#}")])),
    }
}

/// Says `lines` on stderr, each after "bankrace: ", and returns the exit
/// status: `status`, or 1 if stderr could not take the lines of a run that
/// would otherwise have succeeded (a closed pipe excepted). Never panics.
fn finish(status: u8, lines: &[String]) -> u8 {
    let mut err = std::io::stderr().lock();
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(err, "bankrace: {line}"))
        .and_then(|()| err.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe && status == EXIT_OK => EXIT_RUNTIME,
        _ => status,
    }
}

/// Runs the trials, prints the chosen format, writes the exports, and only
/// then decides the exit status: an interruption (128 + N), `--fail-fast`
/// (1), or an expectation not met (3). A report is always complete first.
fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    // Every export target is checked here, before minutes of trials.
    let output = args.output(&plan)?;
    let width = cli::text_width(args.width)?;
    if args.trace_unseen() {
        finish(
            EXIT_OK,
            &[
                "note: --trace records every access, but nothing here shows it: add --explain, \
               --format json, --export-json, --export-trace or --export-html"
                    .to_string(),
            ],
        );
    }
    let no_color = std::env::var_os("NO_COLOR");
    let paint_stdout = output
        .color
        .enabled(std::io::stdout().is_terminal(), no_color.as_deref());
    let paint_stderr = output
        .color
        .enabled(std::io::stderr().is_terminal(), no_color.as_deref());

    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let mut bar = progress::Bar::new(plan.modes.len(), plan.trials, !output.quiet, paint_stderr);
    let outcome = coordinator::run(&plan, &interrupts, &mut |p| bar.update(p));
    bar.finish();
    let outcome = outcome?;
    let results = report::results(&plan, &outcome)?;

    let paint = if paint_stdout {
        Paint::Color
    } else {
        Paint::Plain
    };
    let mut shown = if output.quiet {
        format!("{}\n", report::verdict_fitted(&results, paint, width))
    } else if output.format == Format::Text {
        report::text_with(&results, paint, width)
    } else {
        render(&results, output.format)
    };
    if let Some(limit) = args.explain
        && output.format == Format::Text
        && !output.quiet
    {
        shown.push_str(&report::explain(&results, limit, width));
    }
    let mut items = vec![(Target::Stdout, shown.into_bytes())];
    for (format, target) in &output.exports {
        items.push((target.clone(), render(&results, *format).into_bytes()));
    }
    if let Some(target) = &output.trace_export {
        items.push((target.clone(), report::history(&results).into_bytes()));
    }
    if let Some(target) = &output.history_export {
        items.push((
            target.clone(),
            report::jepsen_history(&outcome).into_bytes(),
        ));
    }
    // A signal that arrives while the output is written still ends the run
    // with 128 + N, even after every trial finished.
    let late = match export::deliver(items, &interrupts)? {
        export::Delivered::Done => interrupts.caught(),
        export::Delivered::Interrupted(sig) => Some(sig),
    };
    let (status, lines) = exit::status(&exit::Ending {
        interrupted: outcome
            .interrupted
            .or(late)
            .map(|sig| (sig, signals::name(sig))),
        // A traced trial whose books do not balance is a bug in bankrace.
        violations: report::violations(&results),
        stopped_early: outcome.stopped_early,
        unmet: output
            .expect
            .and_then(|e| expect::check(&results, e).err())
            .map(|unmet| unmet.to_string()),
    });
    Ok(finish(status, &lines))
}

/// Runs every point of the sweep, prints the chosen format and writes the
/// exports. An interruption still reports the points that completed: 128 + N.
fn sweep(args: &SweepArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    let exports = args.exports()?;
    let width = cli::text_width(args.width)?;
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let bar = progress::Steps::new(plan.total_trials(), !args.quiet);
    let results = bankrace::sweep::run(&plan, &interrupts, &mut |p| bar.update(p.done, &p.label));
    bar.finish();
    let results = results?;
    let text = match args.format {
        SweepFormat::Text => report::sweep::text(&results, width),
        SweepFormat::Json => report::sweep::json(&results),
        SweepFormat::Csv => report::sweep::csv(&results),
        SweepFormat::Markdown => report::sweep::markdown(&results),
    };
    let mut items = vec![(Target::Stdout, text.into_bytes())];
    for (format, target) in exports {
        let page = match format {
            Format::Svg => report::picture::sweep_svg(&results),
            _ => report::picture::sweep_html(&results),
        };
        items.push((target, page.into_bytes()));
    }
    let late = match export::deliver(items, &interrupts)? {
        export::Delivered::Done => interrupts.caught(),
        export::Delivered::Interrupted(sig) => Some(sig),
    };
    Ok(match results.signal.or(late) {
        Some(sig) => finish(
            128 + sig as u8,
            &[format!("interrupted by {}", signals::name(sig))],
        ),
        None => EXIT_OK,
    })
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
        return Ok(finish(
            128 + sig as u8,
            &[format!("interrupted by {}", signals::name(sig))],
        ));
    }
    let results = report::results(&plan, &outcome)?;
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
            return Ok(finish(
                128 + sig as u8,
                &[format!("interrupted by {}", signals::name(sig))],
            ));
        }
    };
    let text = match args.format {
        BenchFormat::Text => report::bench::text(&results),
        BenchFormat::Json => report::bench::json(&results),
    };
    print(text.as_bytes())?;
    Ok(EXIT_OK)
}

/// A format without colour, as files and pipes get it.
fn render(results: &Results, format: Format) -> String {
    match format {
        Format::Text => report::text(results),
        Format::Json => report::json(results),
        Format::Csv => report::csv(results),
        Format::Markdown => report::markdown(results),
        Format::Html => report::picture::html(results),
        Format::Svg => report::picture::svg(results),
    }
}

/// Writes to stdout. A closed pipe (`bankrace run | head`) is the reader's
/// choice, not an error; any other failure is.
fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
