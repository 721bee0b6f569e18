//! What `--help` and the man page say beyond the options: examples, exit statuses, and the generated completions and manual page.

use clap::CommandFactory;

use super::Cli;

pub(super) const ABOUT: &str = "Watch race conditions happen: real processes sharing one bank balance, with and without a lock.";

/// Every exit status and its meaning, for `--help` and the man page. A run
/// cut short by signal N exits with 128 + N, as a shell would report it.
pub(crate) const EXIT_STATUSES: [(&str, &str); 5] = [
    ("0", "the run completed (and met --expect, if given)"),
    (
        "1",
        "runtime error: a ledger, a worker process or an export file failed,\n\
         or a trial failed with --fail-fast",
    ),
    ("2", "usage error: a malformed or impossible option"),
    (
        "3",
        "the report printed, but the run did not meet --expect\n\
         (bankrace quiz: the answer was wrong)",
    ),
    (
        "128+N",
        "interrupted by signal N (130 for Ctrl-C); the report shows the\n\
         trials that completed",
    ),
];

/// The commands people copy, with what they do: in `--help` and the man page.
pub(crate) const EXAMPLES: [(&str, &str); 15] = [
    ("bankrace run", "both modes side by side, 50 trials"),
    (
        "bankrace run --trials 200 --seed 7",
        "more trials, repeatable choices",
    ),
    (
        "bankrace run --scenario overdraft",
        "two ATMs withdraw from one account",
    ),
    (
        "bankrace run --no-lock --lock=all",
        "every strategy next to no lock",
    ),
    (
        "bankrace run --ops 100 --pause 10ms --window 0",
        "the tutorial's schedule",
    ),
    ("bankrace run --format json > results.json", "for scripts"),
    (
        "bankrace run --format markdown > table.md",
        "the summary table, for slides",
    ),
    (
        "bankrace run --export-csv trials.csv --export-markdown table.md",
        "the report here, the data in files",
    ),
    (
        "bankrace run --no-lock --trials 20 --expect race",
        "CI: exit 3 unless the race shows",
    ),
    (
        "bankrace run --lock=all --kill-holder 0.5 --timeout 1s --window 1ms",
        "what happens when a lock holder dies",
    ),
    (
        "bankrace run --no-lock --trace --explain",
        "show how the money was lost",
    ),
    (
        "bankrace run --no-lock --ops 1 --schedule \"D1:read W1:read D1:write W1:write\"",
        "force the classic lost update",
    ),
    (
        "bankrace completions bash > ~/.local/share/bash-completion/completions/bankrace",
        "shell completions",
    ),
    ("bankrace man | man -l -", "this help as a manual page"),
    ("bankrace bench", "what each lock costs on this machine"),
];

/// What `bankrace bench --help` adds after its options.
pub(super) const BENCH_HELP: &str = "\
Every repetition runs one trial of each mode (no lock, then every strategy)
with no pause and no window; --trials trials of one operation with fresh
workers, next to starting and reaping as many `bankrace --version`
processes; 20 × --trials such trials with reused workers; and --loss-trials
trials of run's unlocked defaults with fresh and with reused workers. The
defaults took 24 s on 2 cores at load average 7 and 61 s at load 13, flock's
operations most of it; --ops 100000 took 13 s at load 5.

Examples:
  bankrace bench                                  the defaults
  bankrace bench --repetitions 11 --warmup 2      steadier numbers, takes longer
  bankrace bench --workers 4 --format json        for scripts";

/// The section after the options in `--help`: examples and exit statuses.
pub(super) fn long_help() -> String {
    const COLUMN: usize = 50;
    let mut out = String::from("Examples:\n");
    for (command, what) in EXAMPLES {
        if command.chars().count() + 4 <= COLUMN {
            out.push_str(&format!("  {command:<width$}{what}\n", width = COLUMN - 2));
        } else {
            out.push_str(&format!("  {command}\n{:COLUMN$}{what}\n", ""));
        }
    }
    out.push_str("\nExit status:\n");
    for (code, meaning) in EXIT_STATUSES {
        let meaning = meaning.replace('\n', &format!("\n{:9}", ""));
        out.push_str(&format!("  {code:<5}  {meaning}\n"));
    }
    out.truncate(out.trim_end().len());
    out
}

pub(super) const QUIZ_EXAMPLES: &str = "\
Examples:
  bankrace quiz                      a new puzzle; type your answer
  bankrace quiz --seed 3             the same puzzle every time
  bankrace quiz --seed 3 --answer 90 for scripts: no question asked

Exit status: 0 right answer, 3 wrong answer, 1 runtime error, 2 usage error
(including no answer on standard input).";

pub(super) const SWEEP_EXAMPLES: &str = "\
Examples:
  bankrace sweep --window 0,20us,100us,500us
                     how often the race bites as the window widens
  bankrace sweep --depositors 1,2,4,8 --withdrawers 0 --ops 20
                     more workers, more lost deposits
  bankrace sweep --window 0,1ms --trials 400 --ci-width 0.1
                     stop each point once its interval is 10 points wide
  bankrace sweep --window 0,50us,1ms --export-html sweep.html --format csv

Every point runs the same plan as `bankrace run` with that value, for each
mode (no lock and mutex unless --no-lock or --lock say otherwise), with the
same seed. Exit status: 0 done, 1 runtime error, 2 usage error, 128+N signal.";

pub(super) const MATRIX_EXAMPLES: &str = "\
Examples:
  bankrace matrix                    the memory-mapped ledger, 20 trials per cell
  bankrace matrix --db embedded      a throwaway PostgreSQL server, started once
  bankrace matrix --db postgresql://me@dbhost/test --trials 50 --format markdown
                                     your own server and version
  bankrace matrix --format json | jq '.scenarios[].cells[] | select(.verdict == \"anomaly\")'

Each scenario the backend runs is one plan, as `bankrace run --scenario NAME
--no-lock --lock=...` would run it, with every strategy that fits it; the
scenarios run one after another with the same seed. A cell says \"anomaly in k
of n trials\" when k trials ended wrong (a lost update, an overdraft, money
changed), \"deadlock in k of n trials\" when the locks deadlocked instead, or
\"prevented (r retries)\" when every trial ended right. Exit status: 0 done,
1 runtime error, 2 usage error, 128+N signal.";

/// The command users see: everything but the hidden `worker` subcommand,
/// which completion generators would otherwise offer.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut public = clap::Command::new("bankrace")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_long_help(long_help())
        .subcommand_required(true)
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    public.build();
    public
}

/// The completion script for `shell`, generated from the clap definitions.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut public_command(), "bankrace", &mut out);
    out
}

/// bankrace(1) in roff: the commands, every option of `run` under its
/// heading, the examples and the exit statuses.
pub fn man_page() -> Vec<u8> {
    let mut out = Vec::new();
    write_man_page(&mut out).expect("writing to memory");
    out
}

/// Every command's options, each taken before clap adds `--help`: `run`'s
/// under their own groups, the others' under one heading each.
fn write_options_sections(out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut intro = roff::Roff::new();
    intro.control("SH", ["RUN OPTIONS"]).text([
        roff::roman("The options of "),
        roff::bold("bankrace run"),
        roff::roman(", by group."),
    ]);
    intro.to_writer(out)?;
    for (name, heading) in [
        ("run", None),
        ("bench", Some("BENCH OPTIONS")),
        ("matrix", Some("MATRIX OPTIONS")),
        ("quiz", Some("QUIZ OPTIONS")),
    ] {
        let mut sub = Cli::command()
            .find_subcommand(name)
            .expect("a subcommand")
            .clone()
            .disable_help_flag(true);
        if let Some(heading) = heading {
            sub = sub.mut_args(|a| a.help_heading(heading));
        }
        clap_mangen::Man::new(sub).render_options_section(out)?;
    }
    Ok(())
}

fn write_man_page(out: &mut Vec<u8>) -> std::io::Result<()> {
    let cmd = public_command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;

    let mut commands = roff::Roff::new();
    commands.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut usage = format!("bankrace {}", sub.get_name());
        for arg in sub.get_positionals() {
            let name = arg.get_value_names().and_then(|n| n.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |n| n.to_string(),
            );
            usage.push_str(&format!(" <{name}>"));
        }
        if sub.get_arguments().any(|a| !a.is_positional()) {
            usage.push_str(" [OPTIONS]");
        }
        commands
            .control("TP", [])
            .text([roff::bold(usage)])
            .text([roff::roman(
                sub.get_about().map(ToString::to_string).unwrap_or_default(),
            )]);
    }
    commands.to_writer(out)?;
    write_options_sections(out)?;

    let mut tail = roff::Roff::new();
    tail.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        tail.control("TP", [])
            .text([roff::bold(command)])
            .text([roff::roman(what)]);
    }
    tail.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUSES {
        tail.control("TP", [])
            .text([roff::bold(code.to_string())])
            .text([roff::roman(meaning.replace('\n', " "))]);
    }
    tail.control("SH", ["ENVIRONMENT"])
        .control("TP", [])
        .text([roff::bold("NO_COLOR")])
        .text([roff::roman(
            "When set to a non-empty value: no colour, unless --color always.",
        )]);
    tail.to_writer(out)?;
    man.render_version_section(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_leave_out_the_hidden_worker_command() {
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Fish] {
            let script = String::from_utf8(completions(shell)).unwrap();
            assert!(script.contains("export-csv"), "{shell}: no run options");
            assert!(script.contains("completions"), "{shell}: no subcommands");
            assert!(
                !script.contains("subcmd__worker") && !script.contains("-a \"worker\""),
                "{shell}: offers worker"
            );
        }
    }

    #[test]
    fn long_help_lists_every_exit_status() {
        let help = long_help();
        for (code, _) in EXIT_STATUSES {
            assert!(help.contains(&format!("\n  {code}  ")), "{help}");
        }
        assert!(help.starts_with("Examples:"));
    }

    #[test]
    fn man_page_has_the_run_options_and_the_exit_statuses() {
        let page = String::from_utf8(man_page()).unwrap();
        assert!(page.contains("\n.TH bankrace 1"), "{page}");
        for needle in [
            "RUN OPTIONS",
            "export\\-csv",
            "BENCH OPTIONS",
            "repetitions",
            "QUIZ OPTIONS",
            "answer",
            "MATRIX OPTIONS",
            "EXIT STATUS",
            "EXAMPLES",
            "NO_COLOR",
        ] {
            assert!(page.contains(needle), "no {needle} in the man page");
        }
        assert!(page.contains("bankrace completions <SHELL>"), "{page}");
        assert!(
            !page.contains("bankrace worker"),
            "the hidden command is in the page"
        );
        assert!(!page.contains("\n.SH OPTIONS"), "a section of help flags");
    }
}
