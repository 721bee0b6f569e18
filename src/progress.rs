//! The progress bars on stderr during a run or a sweep, with the current mode and an ETA; hidden when stderr is not a terminal or output is quiet, coloured only when asked.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::coordinator::Progress;

/// A bar over every trial of every mode, redrawn at most 10 times a second.
pub struct Bar {
    bar: ProgressBar,
    trials_per_mode: u32,
    finished_modes: u64,
}

impl Bar {
    /// A bar on stderr, or a hidden one when `visible` is false. `color`
    /// is the caller's decision (terminal, `NO_COLOR`, `--color`); it
    /// overrides indicatif's own guess.
    pub fn new(modes: usize, trials_per_mode: u32, visible: bool, color: bool) -> Bar {
        let total = modes as u64 * u64::from(trials_per_mode);
        // `stderr_with_hz` hides itself when stderr is not a terminal.
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        // indicatif styles through console, which asks this switch.
        console::set_colors_enabled_stderr(color);
        let template = if color {
            "{prefix:>8.bold} [{bar:30.cyan}] {pos}/{len} trials, {elapsed}, ETA {eta}"
        } else {
            "{prefix:>8} [{bar:30}] {pos}/{len} trials, {elapsed}, ETA {eta}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        Bar {
            bar,
            trials_per_mode,
            finished_modes: 0,
        }
    }

    pub fn update(&mut self, p: Progress) {
        if self.bar.prefix() != p.mode.name() {
            self.bar.set_prefix(p.mode.name());
        }
        self.bar.set_position(
            self.finished_modes * u64::from(self.trials_per_mode) + u64::from(p.done),
        );
        if p.done == self.trials_per_mode {
            self.finished_modes += 1;
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar over every trial of a sweep, labelled with the point and mode
/// being run; hidden when stderr is not a terminal or output is quiet.
pub struct Steps(ProgressBar);

impl Steps {
    pub fn new(total: u64, visible: bool) -> Steps {
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                "[{bar:24}] {pos}/{len} trials, {elapsed}, ETA {eta}  {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        Steps(bar)
    }

    /// `done` trials run or skipped so far; `label` names the point and mode.
    pub fn update(&self, done: u64, label: &str) {
        self.0.set_position(done);
        self.0.set_message(label.to_string());
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A bar over the rounds of `bankrace bench`, warm-up included; hidden when
/// stderr is not a terminal.
pub struct Rounds(ProgressBar);

impl Rounds {
    pub fn new(rounds: u32) -> Rounds {
        let bar = ProgressBar::with_draw_target(
            Some(u64::from(rounds)),
            ProgressDrawTarget::stderr_with_hz(10),
        );
        bar.set_style(
            ProgressStyle::with_template("   bench [{bar:30}] {pos}/{len} rounds, {elapsed}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        Rounds(bar)
    }

    pub fn update(&self, done: u32) {
        self.0.set_position(u64::from(done));
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
