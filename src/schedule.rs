//! Forced schedules (`--schedule "D1:read W1:read D1:write W1:write"`): the syntax, its checks against a plan, a pure simulation, and why a schedule got stuck.
//!
//! # Syntax
//!
//! A schedule is a list of steps separated by spaces or commas. A step is
//! `WORKER:ACCESS`:
//!
//! - `WORKER` is `D1`, `D2`, ... for the depositors and `W1`, `W2`, ... for the
//!   withdrawers, numbered from 1 in each role (upper or lower case);
//! - `ACCESS` is `read` (or `r`, or `check`) for the first access of an
//!   operation, and `write` (or `w`, or `debit`) for the second.
//!
//! Each worker's steps name its own accesses in order: its first step is its
//! first access, and so on. In the lost-update scenario every operation is a
//! read and then a write; in the overdraft scenario a withdrawal is a check
//! (`read`) and, if the balance covered it, a debit (`write`), and a deposit
//! is a single atomic addition (`write`).
//!
//! The workers start together and then every access named by the schedule
//! waits at a turnstile in the shared mapping until the steps before it are
//! done. Accesses the schedule does not name (a worker's later operations,
//! or workers it does not mention) wait until the whole schedule is done,
//! then run freely. So the schedule fixes a prefix of the trial, exactly.

use std::fmt;

use crate::limits::MAX_STEPS;
use crate::usage::UsageError;
use crate::vocab::{AccessKind, Role, Scenario, WorkerName};

/// One access to the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// The first access of an operation: a read, or a withdrawal's check.
    Read,
    /// A write, a debit, or a single indivisible update.
    Write,
}

impl Access {
    /// `read` or `write`: the names of the trace's access kinds.
    pub fn name(self) -> &'static str {
        match self {
            Access::Read => AccessKind::Read.name(),
            Access::Write => AccessKind::Write.name(),
        }
    }

    /// The access a schedule step names: its own name, its first letter, or
    /// the overdraft scenario's word for it (`check`, `debit`).
    fn parse(word: &str) -> Option<Access> {
        let word = word.to_ascii_lowercase();
        [
            (Access::Read, AccessKind::Check),
            (Access::Write, AccessKind::Debit),
        ]
        .into_iter()
        .find(|(a, alias)| {
            word == a.name() || word == alias.name() || a.name().get(..1) == Some(word.as_str())
        })
        .map(|(a, _)| a)
    }
}

/// One step of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub worker: WorkerName,
    pub access: Access,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.worker, self.access.name())
    }
}

/// A parsed schedule. Printed back in the canonical syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub steps: Vec<Step>,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses a schedule. The error says which step is wrong and how to write it.
pub fn parse(text: &str) -> Result<Schedule, String> {
    let mut steps = Vec::new();
    for (i, token) in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        steps.push(parse_step(token).map_err(|why| format!("step {} '{token}': {why}", i + 1))?);
    }
    if steps.is_empty() {
        return Err("the schedule is empty: write steps like \"D1:read W1:read D1:write\"".into());
    }
    if steps.len() > MAX_STEPS as usize {
        return Err(format!(
            "the schedule has {} steps, at most {MAX_STEPS} are allowed",
            steps.len()
        ));
    }
    Ok(Schedule { steps })
}

fn parse_step(token: &str) -> Result<Step, String> {
    let (who, what) = token
        .split_once(':')
        .ok_or("write WORKER:ACCESS, for example D1:read or W2:write")?;
    let mut chars = who.chars();
    let role = match chars.next().and_then(Role::from_letter) {
        Some(role) => role,
        None => {
            return Err(format!(
                "'{who}' is not a worker: depositors are D1, D2, ... and withdrawers W1, W2, ..."
            ));
        }
    };
    let number: u32 = chars
        .as_str()
        .parse()
        .map_err(|_| format!("'{who}' is not a worker: a D or W followed by a number, like D1"))?;
    if number == 0 {
        return Err(format!("'{who}': workers are numbered from 1"));
    }
    let access = Access::parse(what).ok_or_else(|| {
        format!(
            "'{what}' is not an access: use {} or {}",
            Access::Read.name(),
            Access::Write.name()
        )
    })?;
    Ok(Step {
        worker: WorkerName { role, number },
        access,
    })
}

/// What a schedule is checked against: the plan's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub scenario: Scenario,
    pub depositors: u32,
    pub withdrawers: u32,
    pub ops: u64,
}

impl Schedule {
    /// Checks that every step names a worker of the plan and that each
    /// worker's steps are accesses it can make, in an order it can make them.
    pub fn check(&self, shape: &Shape) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(format!("--schedule: {msg}")));
        // Per worker: accesses named so far, operations started, last access.
        let workers = (shape.depositors + shape.withdrawers) as usize;
        let mut last: Vec<Option<Access>> = vec![None; workers];
        let mut ops: Vec<u64> = vec![0; workers];
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let who = step.worker;
            let count = match who.role {
                Role::Depositor => shape.depositors,
                Role::Withdrawer => shape.withdrawers,
                // The plan refuses schedules in the transfer scenario.
                Role::Transferer | Role::Auditor => 0,
            };
            if who.number > count {
                let role = who.role.name();
                return fail(format!(
                    "step {n} names {who}, but there {} {count} {role}{} (set --{role}s)",
                    if count == 1 { "is" } else { "are" },
                    if count == 1 { "" } else { "s" },
                ));
            }
            let w = who.index(shape.depositors) as usize;
            let single = shape.scenario == Scenario::Overdraft && who.role == Role::Depositor;
            let starts_op = match (single, step.access, last[w]) {
                // A deposit in the overdraft scenario is one atomic addition.
                (true, Access::Write, _) => true,
                (true, Access::Read, _) => {
                    return fail(format!(
                        "step {n} is {step}, but in the overdraft scenario a deposit is a \
                         single atomic addition: name it {who}:write"
                    ));
                }
                (false, Access::Read, None | Some(Access::Write)) => true,
                // A withdrawal whose check refused it makes no write: its
                // next access is the next operation's check.
                (false, Access::Read, Some(Access::Read))
                    if shape.scenario == Scenario::Overdraft =>
                {
                    true
                }
                (false, Access::Read, Some(Access::Read)) => {
                    return fail(format!(
                        "step {n} is {step}, but {who} read at its previous step: \
                         each operation reads, then writes"
                    ));
                }
                (false, Access::Write, Some(Access::Read)) => false,
                (false, Access::Write, None | Some(Access::Write)) => {
                    return fail(format!(
                        "step {n} is {step}, but {who} has not read since its last write: \
                         each operation reads, then writes"
                    ));
                }
            };
            if starts_op {
                ops[w] += 1;
                if ops[w] > shape.ops {
                    return fail(format!(
                        "step {n} is {step}, operation {} of {who}, but each worker makes \
                         {} (set --ops)",
                        ops[w], shape.ops
                    ));
                }
            }
            last[w] = Some(step.access);
        }
        Ok(())
    }

    /// The balance after exactly the scheduled accesses, starting from
    /// `initial`, each operation moving `amount`, played one step after
    /// another with no concurrency left: what the real run must end at when
    /// the schedule names every access of the trial.
    pub(crate) fn simulate(&self, scenario: Scenario, initial: i64, amount: i64) -> i64 {
        let mut balance = initial;
        // What each worker's pending read saw (None: no read pending).
        let mut seen: std::collections::HashMap<WorkerName, i64> = Default::default();
        for step in &self.steps {
            let sign = match step.worker.role {
                Role::Withdrawer => -1,
                Role::Depositor | Role::Transferer | Role::Auditor => 1,
            };
            match (scenario, step.worker.role, step.access) {
                (Scenario::Overdraft, Role::Depositor, _) => balance += amount,
                (_, _, Access::Read) => {
                    seen.insert(step.worker, balance);
                }
                (Scenario::LostUpdate, _, Access::Write) => {
                    let read = seen.remove(&step.worker).unwrap_or(balance);
                    balance = read + sign * amount;
                }
                (Scenario::Overdraft, Role::Withdrawer, Access::Write) => {
                    // The check passed (a refused one makes no write): debit.
                    seen.remove(&step.worker);
                    balance -= amount;
                }
                // Only the single-account scenarios follow schedules.
                (Scenario::Overdraft, _, Access::Write)
                | (Scenario::Transfer | Scenario::WriteSkew, _, _) => {}
            }
        }
        balance
    }
}

/// Why workers could not follow a schedule. Encoded into one word of the
/// mapping by the worker that notices it, decoded by the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stuck {
    /// `holder` holds the lock and waits for `step`, which belongs to
    /// `owner`, and `owner` waits for that lock: neither can move.
    Lock { step: u32, holder: u32, owner: u32 },
    /// `step` names an access of `worker`, but its next access is the other kind.
    Mismatch { step: u32, worker: u32 },
    /// `worker` finished its operations before its `step` came.
    Unused { step: u32, worker: u32 },
}

impl Stuck {
    pub(crate) fn encode(self) -> u64 {
        let (code, step, a, b) = match self {
            Stuck::Lock {
                step,
                holder,
                owner,
            } => (1u64, step, holder, owner),
            Stuck::Mismatch { step, worker } => (2, step, worker, 0),
            Stuck::Unused { step, worker } => (3, step, worker, 0),
        };
        code << 56 | u64::from(step) << 32 | u64::from(a & 0xffff) << 16 | u64::from(b & 0xffff)
    }

    pub(crate) fn decode(word: u64) -> Option<Stuck> {
        let step = (word >> 32 & 0xff_ffff) as u32;
        let a = (word >> 16 & 0xffff) as u32;
        let b = (word & 0xffff) as u32;
        match word >> 56 {
            1 => Some(Stuck::Lock {
                step,
                holder: a,
                owner: b,
            }),
            2 => Some(Stuck::Mismatch { step, worker: a }),
            3 => Some(Stuck::Unused { step, worker: a }),
            _ => None,
        }
    }

    /// The cause in words. `depositors` turns worker indices into names,
    /// `lock` is the strategy's name.
    pub(crate) fn describe(self, schedule: &Schedule, depositors: u32, lock: &str) -> String {
        let name = |i: u32| WorkerName::of(i, depositors).to_string();
        let step_text = |step: u32| {
            schedule
                .steps
                .get(step as usize)
                .map_or_else(|| "?".to_string(), Step::to_string)
        };
        match self {
            Stuck::Lock {
                step,
                holder,
                owner,
            } => format!(
                "{STUCK_PREFIX} past the lock ({lock}): {} holds it and waits \
                 for step {} ({}), but {} is waiting for the lock",
                name(holder),
                step + 1,
                step_text(step),
                name(owner),
            ),
            Stuck::Mismatch { step, worker } => format!(
                "{STUCK_PREFIX}: step {} is {}, but {}'s next access is not \
                 a {} (a refused withdrawal makes no write)",
                step + 1,
                step_text(step),
                name(worker),
                schedule
                    .steps
                    .get(step as usize)
                    .map_or("?", |s| s.access.name()),
            ),
            Stuck::Unused { step, worker } => format!(
                "{STUCK_PREFIX}: {} finished its operations before step {} ({})",
                name(worker),
                step + 1,
                step_text(step),
            ),
        }
    }
}

/// The words every message about a schedule that could not be followed
/// starts with.
const STUCK_PREFIX: &str = "the schedule cannot be followed";

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(scenario: Scenario, depositors: u32, withdrawers: u32, ops: u64) -> Shape {
        Shape {
            scenario,
            depositors,
            withdrawers,
            ops,
        }
    }

    #[test]
    fn parses_the_documented_example_and_prints_it_back() {
        let s = parse("D1:read W1:read D1:write W1:write").unwrap();
        assert_eq!(s.steps.len(), 4);
        assert_eq!(
            s.steps[1],
            Step {
                worker: WorkerName {
                    role: Role::Withdrawer,
                    number: 1
                },
                access: Access::Read
            }
        );
        assert_eq!(s.to_string(), "D1:read W1:read D1:write W1:write");
        // Aliases, commas, case and extra spaces all read the same.
        let t = parse(" d1:r,W1:check  D1:W, w1:debit ").unwrap();
        assert_eq!(t, s);
    }

    #[test]
    fn parse_errors_name_the_step_and_say_how() {
        let cases = [
            ("", "empty"),
            ("D1:read W1", "step 2 'W1': write WORKER:ACCESS"),
            ("X1:read", "'X1' is not a worker"),
            ("D:read", "a D or W followed by a number"),
            ("D0:read", "numbered from 1"),
            ("D1:jump", "'jump' is not an access"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let long = vec!["D1:read D1:write"; MAX_STEPS as usize / 2 + 1].join(" ");
        assert!(parse(&long).unwrap_err().contains("at most"));
    }

    #[test]
    fn check_accepts_what_workers_can_do() {
        let lu = shape(Scenario::LostUpdate, 1, 1, 1);
        parse("D1:read W1:read D1:write W1:write")
            .unwrap()
            .check(&lu)
            .unwrap();
        // A refused withdrawal reads twice in a row; a deposit is one write.
        let od = shape(Scenario::Overdraft, 1, 2, 3);
        parse("W1:read W2:read W1:write W2:write W1:read D1:write W1:read")
            .unwrap()
            .check(&od)
            .unwrap();
    }

    #[test]
    fn check_refuses_what_workers_cannot_do() {
        let lu = shape(Scenario::LostUpdate, 1, 1, 1);
        let od = shape(Scenario::Overdraft, 1, 2, 1);
        let cases = [
            ("W2:read", lu, "there is 1 withdrawer"),
            ("D2:read", lu, "there is 1 depositor"),
            ("D1:write", lu, "has not read"),
            ("D1:read D1:read", lu, "read at its previous step"),
            ("D1:read D1:write D1:read", lu, "each worker makes 1"),
            ("D1:read", od, "single atomic addition"),
            ("W1:read W1:read", od, "each worker makes 1"),
        ];
        for (text, shape, want) in cases {
            let err = parse(text).unwrap().check(&shape).unwrap_err().0;
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("--schedule: "), "{err}");
        }
    }

    #[test]
    fn simulation_loses_the_overwritten_update() {
        let s = parse("D1:read W1:read D1:write W1:write").unwrap();
        // Both read 200; D1 writes 201, then W1 writes 199 over it.
        assert_eq!(s.simulate(Scenario::LostUpdate, 200, 1), 199);
        let serial = parse("D1:read D1:write W1:read W1:write").unwrap();
        assert_eq!(serial.simulate(Scenario::LostUpdate, 200, 1), 200);
        let atm = parse("W1:read W2:read W1:write W2:write").unwrap();
        assert_eq!(atm.simulate(Scenario::Overdraft, 15_000, 10_000), -5_000);
    }

    #[test]
    fn stuck_causes_round_trip_and_read_well() {
        let s = parse("D1:read W1:read D1:write W1:write").unwrap();
        for cause in [
            Stuck::Lock {
                step: 1,
                holder: 0,
                owner: 1,
            },
            Stuck::Mismatch { step: 3, worker: 1 },
            Stuck::Unused { step: 2, worker: 0 },
        ] {
            assert_eq!(Stuck::decode(cause.encode()), Some(cause));
            assert!(cause.describe(&s, 1, "mutex").starts_with(STUCK_PREFIX));
        }
        assert_eq!(Stuck::decode(0), None);
        let text = Stuck::Lock {
            step: 1,
            holder: 0,
            owner: 1,
        }
        .describe(&s, 1, "mutex");
        assert!(
            text.contains("D1 holds it and waits for step 2 (W1:read), but W1 is waiting"),
            "{text}"
        );
    }
}
