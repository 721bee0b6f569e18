//! bankrace: the entry point. Parses the command line, runs the chosen command, writes reports and exports, maps errors, interruptions and expectations to exit statuses.
#![deny(unsafe_code)]

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::Context;
use clap::Parser;

use bankrace::cli::{
    self, BenchArgs, BenchFormat, Cli, Command, Format, MatrixArgs, MatrixFormat, QuizArgs,
    RunArgs, SweepArgs, SweepFormat,
};
use bankrace::exit::{EXIT_EXPECTATION, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};
use bankrace::export::{self, Target};
use bankrace::report::Paint;
use bankrace::signals::{self, Interrupts};
use bankrace::stats::{Keep, Results};
use bankrace::usage::UsageError;
use bankrace::vocab::Mode;
use bankrace::{bench, coordinator, exit, expect, progress, report, worker};

fn main() -> ExitCode {
    // The hidden worker command, started once per trial or per mode, skips
    // the rest of the command line's machinery; a worker command line it
    // cannot take falls through to the full parser, which says why.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(Ok(w)) = cli::WorkerOnly::detect(&args) {
        return match worker_main(&w.args) {
            Ok(status) => ExitCode::from(status),
            Err(e) => ExitCode::from(finish(EXIT_RUNTIME, &[format!("error: {e:#}")])),
        };
    }
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
    let cli = match Cli::try_parse_from(&args) {
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
        Command::Matrix(args) => matrix(&args),
        Command::Quiz(args) => quiz(&args),
        Command::Completions { shell } => print(&cli::completions(shell)).map(|()| EXIT_OK),
        Command::Man => print(&cli::man_page()).map(|()| EXIT_OK),
        Command::Bench(args) => bench(&args),
        Command::DbCleanup(args) => bankrace::db_cleanup(args.db.as_deref()).and_then(|lines| {
            let mut text = lines.join("\n");
            if lines.is_empty() {
                text.push_str("nothing left behind by dead runs");
            }
            text.push('\n');
            print(text.as_bytes()).map(|()| EXIT_OK)
        }),
        Command::DbServer(args) => match bankrace::db_server(&args.start()) {
            Ok(never) => match never {},
            Err(e) => Err(e),
        },
        Command::Worker(args) => worker_main(&args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) if e.is::<UsageError>() => usage(&cli::usage_error(subcommand, &format!("{e:#}"))),
        // Runtime errors (status 1) stay one line.
        Err(e) => ExitCode::from(finish(EXIT_RUNTIME, &[format!("error: {e:#}")])),
    }
}

/// A worker's whole life, after its arguments were parsed.
fn worker_main(args: &cli::WorkerCli) -> anyhow::Result<u8> {
    match worker::run(args.args()) {
        Ok(()) => Ok(EXIT_OK),
        // Its coordinator reports why, once per trial, from the ledger.
        Err(e)
            if (worker::is_gave_up(&e) || worker::in_slot(&e))
                && worker::under_its_coordinator() =>
        {
            Ok(EXIT_RUNTIME)
        }
        Err(e) => Err(e.context(format!("worker {}", args.index))),
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

    let explained = args.explain.is_some() && !output.quiet && output.format == Format::Text;
    let (mut streams, mut files) = open_streams(&plan, &output, explained)?;

    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let mut bar = progress::Bar::new(plan.modes.len(), plan.trials, !output.quiet, paint_stderr);
    let end = coordinator::stream(&plan, &interrupts, &mut |m, p, t| {
        bar.update(p);
        streams.trial(m, &t).map_err(named_error)?;
        Ok(coordinator::Next::Continue)
    });
    bar.finish();
    let end = end?;
    let lost = end.database_lost.clone();
    let (results, history) =
        (streams.finish(end.interrupted, end.stopped_early, lost)).map_err(named_error)?;
    // The streamed files are complete: each takes its name now.
    for file in files.drain(..) {
        file.commit()?;
    }

    let shown = stdout_report(args, &output, &results, paint_stdout, width);
    let mut items = vec![(Target::Stdout, shown.into_bytes())];
    for (format, target) in output
        .exports
        .iter()
        .filter(|(f, t)| !export_streamed(*f, t))
    {
        items.push((target.clone(), render(&results, *format).into_bytes()));
    }
    if let Some(target) = &output.trace_export {
        items.push((target.clone(), report::history(&results).into_bytes()));
    }
    if let Some(target) = &output.history_export {
        items.push((target.clone(), history.unwrap_or_default().into_bytes()));
    }
    // A signal that arrives while the output is written still ends the run
    // with 128 + N, even after every trial finished.
    let late = deliver(items, &interrupts)?;
    let (status, lines) = exit::status(&ending(end, late, &results, output.expect));
    Ok(finish(status, &lines))
}

/// How a run that printed its report ended, for its exit status: `late` is
/// a signal caught while the output was written.
fn ending(
    end: coordinator::RunEnd,
    late: Option<i32>,
    results: &bankrace::stats::Results,
    expect: Option<expect::Expectation>,
) -> exit::Ending {
    exit::Ending {
        interrupted: end
            .interrupted
            .or(late)
            .map(|sig| (sig, signals::name(sig))),
        // A traced trial whose books do not balance is a bug in bankrace.
        violations: report::violations(results),
        stopped_early: end.stopped_early,
        database_lost: end.database_lost,
        unmet: expect
            .and_then(|e| expect::check(results, e).err())
            .map(|unmet| unmet.to_string()),
    }
}

/// What goes to stdout at the end: the verdict with `--quiet`, the text
/// report (and `--explain`), another format, or nothing for JSON and CSV,
/// which were streamed as the trials ended.
fn stdout_report(
    args: &RunArgs,
    output: &cli::Output,
    results: &Results,
    colour: bool,
    width: usize,
) -> String {
    let paint = if colour { Paint::Color } else { Paint::Plain };
    if output.quiet {
        return format!("{}\n", report::verdict_fitted(results, paint, width));
    }
    match output.format {
        Format::Text => {
            let mut shown = report::text_with(results, paint, width);
            if let Some(limit) = args.explain {
                shown.push_str(&report::explain(results, limit, width));
            }
            shown
        }
        f if streamed(f) => String::new(),
        f => render(results, f),
    }
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
    let late = deliver(items, &interrupts)?;
    Ok(interrupted_or_ok(results.signal.or(late)))
}

/// Runs every cell of the anomaly table and prints it. An interruption
/// still prints the cells that ran (the rest say "not run"), after the
/// schema and any embedded server are gone: 128 + N.
fn matrix(args: &MatrixArgs) -> anyhow::Result<u8> {
    let plan = args.plan()?;
    let width = cli::text_width(args.width)?;
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let bar = progress::Steps::new(plan.total_trials(), !args.quiet);
    let results = bankrace::matrix::run(&plan, &interrupts, &mut |p| bar.update(p.done, &p.label));
    bar.finish();
    let results = results?;
    let text = match args.format {
        MatrixFormat::Text => report::matrix::text(&results, width),
        MatrixFormat::Markdown => report::matrix::markdown(&results),
        MatrixFormat::Json => report::matrix::json(&results),
    };
    let late = deliver(vec![(Target::Stdout, text.into_bytes())], &interrupts)?;
    Ok(interrupted_or_ok(results.signal.or(late)))
}

/// Writes `items` (stdout and exports); the signal that interrupted the
/// writing, or that came while the output was written, if any.
fn deliver(items: Vec<(Target, Vec<u8>)>, interrupts: &Interrupts) -> anyhow::Result<Option<i32>> {
    Ok(match export::deliver(items, interrupts)? {
        export::Delivered::Done => interrupts.caught(),
        export::Delivered::Interrupted(sig) => Some(sig),
    })
}

/// 128 + N with one line after signal N, else 0.
fn interrupted_or_ok(signal: Option<i32>) -> u8 {
    match signal {
        Some(sig) => finish(
            128 + sig as u8,
            &[format!("interrupted by {}", signals::name(sig))],
        ),
        None => EXIT_OK,
    }
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

/// Measures (on a database with `--db`), then prints the chosen format. An
/// interruption ends the benchmark without a report (its numbers would be
/// partial): 128 + N.
fn bench(args: &BenchArgs) -> anyhow::Result<u8> {
    if let Some(db) = &args.db {
        let plan = args.db_plan(db)?;
        let rounds = plan.warmup + plan.repetitions;
        return benched(
            rounds,
            |i, p| bankrace::bench_db::measure(&plan, i, p),
            |r| match args.format {
                BenchFormat::Text => report::bench::db_text(r),
                BenchFormat::Json => report::bench::db_json(r),
            },
        );
    }
    let plan = args.plan()?;
    benched(
        plan.warmup + plan.repetitions,
        |i, p| bench::measure(&plan, i, p),
        |r| match args.format {
            BenchFormat::Text => report::bench::text(r),
            BenchFormat::Json => report::bench::json(r),
        },
    )
}

/// Measures with a progress bar of `rounds`, then prints what `render`
/// makes of the results; an interruption prints nothing: 128 + N.
fn benched<R>(
    rounds: u32,
    measure: impl FnOnce(&Interrupts, &mut dyn FnMut(u32, u32)) -> anyhow::Result<bench::Measured<R>>,
    render: impl FnOnce(&R) -> String,
) -> anyhow::Result<u8> {
    let interrupts = Interrupts::install().context("cannot install signal handlers")?;
    let bar = progress::Rounds::new(rounds);
    let measured = measure(&interrupts, &mut |done, _| bar.update(done));
    bar.finish();
    match measured? {
        bench::Measured::Done(results) => {
            print(render(&results).as_bytes())?;
            Ok(EXIT_OK)
        }
        bench::Measured::Interrupted(sig) => Ok(interrupted_or_ok(Some(sig))),
    }
}

/// Where JSON and CSV go as the trials end: stdout (`--format json|csv`)
/// and export files that are regular files, each written unnamed beside its
/// target and given its name once complete. Every other report is rendered
/// at the end from statistics folded on the way; when one of those needs
/// every trial (pictures, JSON or CSV to a FIFO), the fold keeps them all.
fn open_streams(
    plan: &bankrace::plan::Plan,
    output: &cli::Output,
    explained: bool,
) -> anyhow::Result<(report::Streams, Vec<Pending>)> {
    let mut json: Vec<Box<dyn Write>> = Vec::new();
    let mut csv: Vec<Box<dyn Write>> = Vec::new();
    if !output.quiet && streamed(output.format) {
        let stdout: Box<dyn Write> = Box::new(std::io::BufWriter::new(Stdout::default()));
        match output.format {
            Format::Json => json.push(stdout),
            _ => csv.push(stdout),
        }
    }
    let mut pending = Vec::new();
    for (format, target) in &output.exports {
        let (true, Target::Replace(path)) = (streamed(*format), target) else {
            continue;
        };
        let file = export::Replacement::begin(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let file = Pending(Rc::new(RefCell::new(file)), path.clone());
        let writer: Box<dyn Write> = Box::new(file.clone());
        match format {
            Format::Json => json.push(writer),
            _ => csv.push(writer),
        }
        pending.push(file);
    }
    // Pictures need every trial; so does a transfer run's Markdown, whose
    // table lists every trial's books.
    let transfer = plan.scenario == bankrace::vocab::Scenario::Transfer;
    let whole =
        |f: Format| matches!(f, Format::Html | Format::Svg) || (transfer && f == Format::Markdown);
    let all = output
        .exports
        .iter()
        .any(|(f, t)| whole(*f) || (streamed(*f) && !matches!(t, Target::Replace(_))))
        || (!output.quiet && whole(output.format));
    // A traced trial is kept whole only for a report that shows its
    // accesses; otherwise only its findings are folded in, so that a large
    // trace costs its memory one trial at a time.
    let keep = if all {
        Keep::All
    } else if explained || output.trace_export.is_some() {
        Keep::Traced
    } else {
        Keep::Summaries
    };
    let host = bankrace::host::Host::current();
    let streams = report::Streams::new(plan, &host, keep, json, csv).map_err(named_error)?;
    Ok((streams, pending))
}

/// The formats written as the trials end.
fn streamed(format: Format) -> bool {
    matches!(format, Format::Json | Format::Csv)
}

/// Whether an export was written as the trials ended.
fn export_streamed(format: Format, target: &Target) -> bool {
    streamed(format) && matches!(target, Target::Replace(_))
}

/// A report rendered at the end, without colour, as files get it. JSON and
/// CSV to regular files and stdout are streamed instead (see
/// [`report::Streams`]).
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

/// A streamed export file: written by the report as the trials end, named
/// by [`Pending::commit`] once complete. Names itself in its errors.
#[derive(Clone)]
struct Pending(Rc<RefCell<export::Replacement>>, std::path::PathBuf);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf).map_err(|e| self.name(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush().map_err(|e| self.name(e))
    }
}

impl Pending {
    fn name(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("cannot write {}: {e}", self.1.display()))
    }

    /// Names the complete file; the report that wrote it is finished.
    fn commit(self) -> anyhow::Result<()> {
        match Rc::try_unwrap(self.0) {
            Ok(file) => file.into_inner().commit(),
            Err(_) => anyhow::bail!("{} is still being written", self.1.display()),
        }
    }
}

/// An error of a streamed report, whose message already says which file.
fn named_error(e: std::io::Error) -> anyhow::Error {
    anyhow::Error::new(e)
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
