//! `bankrace quiz`: a small schedule to work out by hand, the question, the answer read from the user, and the verdict. The real run is the caller's.
//!
//! A puzzle is drawn from a seed: two or three workers, one operation each
//! (a read, then a write of what was read plus or minus the amount), and a
//! random interleaving of their accesses. The answer is never computed here:
//! the caller runs the schedule on real processes, forced through the
//! turnstile, and the balance they leave is the answer. [`Schedule::simulate`]
//! predicts it, and the caller checks that the two agree.

use std::fmt::Write as _;
use std::io::{self, BufRead, Write};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::plan::Request;
use crate::schedule::{Access, Schedule, Step};
use crate::vocab::{Role, Scenario, WorkerName};

/// One quiz question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Puzzle {
    pub seed: u64,
    pub initial: i64,
    pub amount: i64,
    pub depositors: u32,
    pub withdrawers: u32,
    pub schedule: Schedule,
}

/// Draws a puzzle from `seed`: the same seed, the same puzzle.
pub fn generate(seed: u64) -> Puzzle {
    let mut rng = SmallRng::seed_from_u64(seed);
    let workers: u32 = rng.random_range(2..=3);
    let depositors = if workers == 2 {
        1
    } else {
        rng.random_range(1..=2)
    };
    let withdrawers = workers - depositors;
    let initial = rng.random_range(5..=20) * 10;
    let amount = [10, 20, 25, 50][rng.random_range(0..4usize)];
    // Each worker reads, then writes; interleave them at random.
    let mut next: Vec<(WorkerName, u8)> = (0..workers)
        .map(|i| (WorkerName::of(i, depositors), 0))
        .collect();
    let mut steps = Vec::new();
    while !next.is_empty() {
        let pick = rng.random_range(0..next.len());
        let (worker, done) = &mut next[pick];
        steps.push(Step {
            worker: *worker,
            access: if *done == 0 {
                Access::Read
            } else {
                Access::Write
            },
        });
        *done += 1;
        if *done == 2 {
            next.remove(pick);
        }
    }
    Puzzle {
        seed,
        initial,
        amount,
        depositors,
        withdrawers,
        schedule: Schedule { steps },
    }
}

impl Puzzle {
    /// The question, as printed.
    pub fn question(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "bankrace quiz (seed {}): the balance starts at {}.",
            self.seed, self.initial
        );
        let who: Vec<String> = (0..self.depositors + self.withdrawers)
            .map(|i| {
                let w = WorkerName::of(i, self.depositors);
                match w.role {
                    Role::Depositor => format!("{w} deposits {}", self.amount),
                    _ => format!("{w} withdraws {}", self.amount),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{}.\nEach reads the balance, then writes back what it read plus or minus the amount.",
            join_words(&who),
        );
        let _ = writeln!(out, "No lock. They take turns in exactly this order:\n");
        for (i, step) in self.schedule.steps.iter().enumerate() {
            let what = match step.access {
                Access::Read => "reads the balance".to_string(),
                Access::Write => {
                    let sign = if step.worker.role == Role::Depositor {
                        "+"
                    } else {
                        "-"
                    };
                    format!("writes back what it read {sign} {}", self.amount)
                }
            };
            let _ = writeln!(out, "  {}. {} {what}", i + 1, step.worker);
        }
        let _ = writeln!(out, "\nWhat is the final balance?");
        out
    }

    /// The balance the schedule leaves, worked out without running it.
    pub fn predicted(&self) -> i64 {
        self.schedule
            .simulate(Scenario::LostUpdate, self.initial, self.amount)
    }

    /// The run that answers the question: one unlocked, traced trial of
    /// one operation per worker, forced through the schedule.
    pub fn request(&self) -> Request {
        Request {
            scenario: Some(Scenario::LostUpdate),
            trials: 1,
            initial: Some(self.initial),
            depositors: Some(i64::from(self.depositors)),
            withdrawers: Some(i64::from(self.withdrawers)),
            ops: Some(1),
            amount: Some(self.amount),
            pause: Some(std::time::Duration::ZERO),
            window: Some(std::time::Duration::ZERO),
            seed: Some(self.seed),
            no_lock: true,
            trace: true,
            schedule: Some(self.schedule.to_string()),
            ..Request::default()
        }
    }
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Reads an answer: asks on `prompt` and reads lines from `input` until one
/// is a whole number. Ends of input before that is an error in a sentence.
pub fn ask(input: &mut impl BufRead, prompt: &mut impl Write) -> io::Result<i64> {
    loop {
        write!(prompt, "Your answer: ")?;
        prompt.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(prompt)?;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no answer: the input ended before a number was given \
                 (in scripts, pass --answer N)",
            ));
        }
        match parse_answer(&line) {
            Ok(n) => return Ok(n),
            Err(why) => writeln!(prompt, "{why}")?,
        }
    }
}

/// A whole number, spaces around it allowed.
pub(crate) fn parse_answer(text: &str) -> Result<i64, String> {
    let t = text.trim();
    t.parse().map_err(|_| {
        if t.is_empty() {
            "Please type the final balance as a whole number, for example 120.".to_string()
        } else {
            format!("'{t}' is not a whole number: type the final balance, for example 120.")
        }
    })
}

/// The verdict line: whether `answer` is what the real run left.
pub fn verdict(answer: i64, actual: i64) -> String {
    if answer == actual {
        format!("Correct: the real run ended at {actual}.")
    } else {
        format!("Not quite: you said {answer}, the real run ended at {actual}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_valid_puzzle() {
        for seed in 0..50 {
            let p = generate(seed);
            assert_eq!(p, generate(seed));
            let workers = p.depositors + p.withdrawers;
            assert!((2..=3).contains(&workers));
            assert_eq!(p.schedule.steps.len() as u32, workers * 2);
            // Every puzzle is a plan the run accepts.
            crate::plan::Plan::build(p.request(), || 0).unwrap();
        }
        assert_ne!(generate(1).schedule, generate(2).schedule);
    }

    #[test]
    fn the_question_lists_every_step() {
        let p = Puzzle {
            seed: 7,
            initial: 100,
            amount: 10,
            depositors: 1,
            withdrawers: 1,
            schedule: crate::schedule::parse("D1:read W1:read D1:write W1:write").unwrap(),
        };
        let q = p.question();
        assert!(q.contains("D1 deposits 10 and W1 withdraws 10"), "{q}");
        assert!(q.contains("  2. W1 reads the balance\n"), "{q}");
        assert!(q.contains("  4. W1 writes back what it read - 10\n"), "{q}");
        assert_eq!(p.predicted(), 90);
    }

    #[test]
    fn answers_are_asked_again_until_a_number_and_eof_is_a_sentence() {
        let mut shown = Vec::new();
        let mut input = io::Cursor::new("lots\n\n 120 \n");
        assert_eq!(ask(&mut input, &mut shown).unwrap(), 120);
        let shown = String::from_utf8(shown).unwrap();
        assert!(shown.contains("'lots' is not a whole number"), "{shown}");
        assert_eq!(shown.matches("Your answer: ").count(), 3);

        let err = ask(&mut io::Cursor::new("x\n"), &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("--answer N"));
    }

    #[test]
    fn verdicts() {
        assert!(verdict(90, 90).starts_with("Correct"));
        assert!(verdict(100, 90).contains("you said 100, the real run ended at 90"));
    }
}
