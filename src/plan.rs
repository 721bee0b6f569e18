//! The validated plan of a run (scenario, parameters, modes, seed) and of a benchmark. Pure; every check on a user's value lives here.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::duration;
use crate::schedule::{self, Schedule, Shape, WorkerName};

/// The most workers (depositors plus withdrawers) in one trial.
pub const MAX_WORKERS: u32 = 256;
/// The most trials per mode.
pub const MAX_TRIALS: u32 = 1_000_000;
/// The most operations per worker.
pub const MAX_OPS: u64 = 100_000_000;
/// The largest amount moved by one operation.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// The longest pause or race window.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// Bounds of `--timeout`.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The most operations `--trace` records in one trial (workers × ops): the
/// trace region of the ledger is 48 bytes per operation, so at most 48 MB.
pub const MAX_TRACED_OPS_PER_TRIAL: u64 = 1_000_000;
/// The most operations `--trace` records in one run (trials × modes ×
/// workers × ops): the coordinator keeps every trace until the report is
/// written, about 48 bytes per operation.
pub const MAX_TRACED_OPS_PER_RUN: u64 = 4_000_000;

/// Which race a run demonstrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Read-modify-write: deposits and withdrawals overwrite each other.
    LostUpdate,
    /// Check-then-act: two withdrawals both see enough money.
    Overdraft,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::LostUpdate => "lost-update",
            Scenario::Overdraft => "overdraft",
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> Option<Scenario> {
        [Scenario::LostUpdate, Scenario::Overdraft]
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// Defaults chosen so that the race shows in nearly every unlocked trial,
    /// on two cores and on one, and a run of 50 trials per mode stays short.
    /// The README's "Defaults" section has the measurements behind them.
    pub fn defaults(self) -> Defaults {
        match self {
            Scenario::LostUpdate => Defaults {
                initial: 200,
                depositors: 1,
                withdrawers: 1,
                ops: 50,
                amount: 1,
                pause: Duration::from_micros(100),
                window: Duration::from_micros(100),
            },
            Scenario::Overdraft => Defaults {
                initial: 15_000,
                depositors: 0,
                withdrawers: 2,
                ops: 1,
                amount: 10_000,
                pause: Duration::ZERO,
                window: Duration::from_millis(2),
            },
        }
    }
}

/// A scenario's default parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub initial: i64,
    pub depositors: u32,
    pub withdrawers: u32,
    pub ops: u64,
    pub amount: i64,
    pub pause: Duration,
    pub window: Duration,
}

/// How the workers of a mode make their updates safe, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Robust, process-shared pthread mutex in the mapping.
    Mutex,
    /// `flock(2)` on the ledger file, through each worker's own open file.
    Flock,
    /// Compare-and-swap spin lock in the mapping.
    Spin,
    /// No lock: atomic read-modify-write instructions.
    Atomic,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 4] = [
        StrategyKind::Mutex,
        StrategyKind::Flock,
        StrategyKind::Spin,
        StrategyKind::Atomic,
    ];

    /// What bare `--lock` means: the robust mutex, the fastest real lock
    /// that recovers when its holder dies.
    pub const DEFAULT: StrategyKind = StrategyKind::Mutex;

    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Mutex => "mutex",
            StrategyKind::Flock => "flock",
            StrategyKind::Spin => "spin",
            StrategyKind::Atomic => "atomic",
        }
    }

    /// The number stored in the ledger header (0 is "no lock").
    pub fn code(self) -> u32 {
        self as u32 + 1
    }
}

/// One column of the side-by-side comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    NoLock,
    Lock(StrategyKind),
}

impl Mode {
    /// The name used in reports: `no lock`, `mutex`, `flock`, ...
    pub fn name(self) -> &'static str {
        match self {
            Mode::NoLock => "no lock",
            Mode::Lock(kind) => kind.name(),
        }
    }

    /// The name a program reads: `no-lock`, or the strategy's name as
    /// `--lock=NAME` takes it.
    pub fn id(self) -> &'static str {
        match self {
            Mode::NoLock => "no-lock",
            Mode::Lock(kind) => kind.name(),
        }
    }

    /// The strategy, or `None` for the unlocked mode (JSON's `lock: null`).
    pub fn strategy(self) -> Option<StrategyKind> {
        match self {
            Mode::NoLock => None,
            Mode::Lock(kind) => Some(kind),
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self.strategy().map_or(0, StrategyKind::code)
    }

    pub fn from_code(code: u32) -> Option<Mode> {
        if code == 0 {
            return Some(Mode::NoLock);
        }
        StrategyKind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .map(Mode::Lock)
    }
}

/// A value a user gave that cannot be run, with a sentence saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// What the user asked for, before defaults and checks. Built by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub scenario: Option<Scenario>,
    /// Counts arrive as signed 64-bit numbers so that a negative or huge
    /// value gets the same sentence, with the allowed range, as any other.
    pub trials: i64,
    pub initial: Option<i64>,
    pub depositors: Option<i64>,
    pub withdrawers: Option<i64>,
    pub ops: Option<i64>,
    pub amount: Option<i64>,
    pub pause: Option<Duration>,
    pub window: Option<Duration>,
    pub seed: Option<u64>,
    /// Strategies named with `--lock`, in order; may repeat.
    pub locks: Vec<StrategyKind>,
    pub no_lock: bool,
    pub tmpdir: PathBuf,
    /// Fraction of trials in which one worker dies holding the lock.
    pub kill_holder: f64,
    /// Overrides [`Plan::timeout`]'s default.
    pub timeout: Option<Duration>,
    pub fail_fast: bool,
    /// Record every operation (`--trace`).
    pub trace: bool,
    /// A forced schedule, as the user wrote it (`--schedule`).
    pub schedule: Option<String>,
}

/// A run that has passed every check and can be executed as it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub scenario: Scenario,
    pub trials: u32,
    pub initial: i64,
    pub depositors: u32,
    pub withdrawers: u32,
    pub ops: u64,
    pub amount: i64,
    #[serde(serialize_with = "serialize_duration")]
    pub pause: Duration,
    #[serde(serialize_with = "serialize_duration")]
    pub window: Duration,
    pub seed: u64,
    /// Every operation is recorded.
    pub trace: bool,
    /// The forced schedule, in its canonical syntax; absent when none was
    /// given, so that every parameter maps back to its option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The modes in the order they run: `no-lock` and the strategies'
    /// names, as `--no-lock` and `--lock=NAME` take them.
    #[serde(serialize_with = "serialize_modes")]
    pub modes: Vec<Mode>,
    #[serde(skip)]
    pub tmpdir: PathBuf,
    /// Fraction of trials (0 to 1) in which one worker, chosen by the seeded
    /// RNG, kills itself with SIGKILL while holding the lock.
    pub kill_holder: f64,
    /// How long one trial may run before its workers are killed.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Stop at the first failed trial.
    pub fail_fast: bool,
}

/// A fault to inject into one trial: worker `worker` dies during operation
/// `op` (0-based), while it holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub worker: u32,
    pub op: u64,
}

fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration::format(*d))
}

fn serialize_modes<S: serde::Serializer>(modes: &[Mode], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(modes.iter().map(|m| m.id()))
}

impl Plan {
    /// Applies the scenario's defaults and checks every value. `draw_seed` is
    /// called only when the user gave no seed.
    pub fn build(req: Request, draw_seed: impl FnOnce() -> u64) -> Result<Plan, UsageError> {
        let scenario = req.scenario.unwrap_or(Scenario::LostUpdate);
        let d = scenario.defaults();
        let schedule = match &req.schedule {
            Some(text) => Some(
                schedule::parse(text).map_err(|why| UsageError(format!("--schedule: {why}")))?,
            ),
            None => None,
        };
        let workers = i64::from(MAX_WORKERS);
        let mut plan = Plan {
            scenario,
            trials: in_range("--trials", req.trials, 1, i64::from(MAX_TRIALS))? as u32,
            initial: req.initial.unwrap_or(d.initial),
            depositors: in_range(
                "--depositors",
                req.depositors.unwrap_or(i64::from(d.depositors)),
                0,
                workers,
            )? as u32,
            withdrawers: in_range(
                "--withdrawers",
                req.withdrawers.unwrap_or(i64::from(d.withdrawers)),
                0,
                workers,
            )? as u32,
            ops: in_range("--ops", req.ops.unwrap_or(d.ops as i64), 0, MAX_OPS as i64)? as u64,
            amount: req.amount.unwrap_or(d.amount),
            pause: req.pause.unwrap_or(d.pause),
            window: req.window.unwrap_or(d.window),
            seed: req.seed.unwrap_or_else(draw_seed),
            trace: req.trace,
            schedule,
            modes: modes(req.no_lock, &req.locks),
            tmpdir: req.tmpdir,
            kill_holder: req.kill_holder,
            timeout: Duration::ZERO,
            fail_fast: req.fail_fast,
        };
        plan.check()?;
        if let Some(t) = req.timeout
            && !(MIN_TIMEOUT..=MAX_TIMEOUT).contains(&t)
        {
            return Err(UsageError(format!(
                "--timeout must be between {} and {} (got {})",
                duration::format(MIN_TIMEOUT),
                duration::format(MAX_TIMEOUT),
                duration::format(t)
            )));
        }
        plan.timeout = req.timeout.unwrap_or_else(|| plan.default_timeout());
        Ok(plan)
    }

    fn check(&self) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        let workers = self.workers();
        if workers == 0 {
            return fail(
                "a trial needs at least one worker: set --depositors or --withdrawers to 1 or more"
                    .into(),
            );
        }
        if workers > MAX_WORKERS {
            return fail(format!(
                "--depositors plus --withdrawers must be at most {MAX_WORKERS} (got {workers})"
            ));
        }
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            return fail(format!(
                "--amount must be between 1 and {MAX_AMOUNT} (got {})",
                self.amount
            ));
        }
        for (flag, d) in [("--pause", self.pause), ("--window", self.window)] {
            if d > MAX_DELAY {
                return fail(format!(
                    "{flag} must be at most {} (got {})",
                    duration::format(MAX_DELAY),
                    duration::format(d)
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.kill_holder) {
            return fail(format!(
                "--kill-holder must be a fraction between 0 and 1 (got {})",
                self.kill_holder
            ));
        }
        // Whatever the interleaving, the balance stays between these bounds:
        // every deposit applied and no withdrawal, or the other way round.
        let moved = |n: u32| i128::from(n) * i128::from(self.ops) * i128::from(self.amount);
        let highest = i128::from(self.initial) + moved(self.depositors);
        let lowest = i128::from(self.initial) - moved(self.withdrawers);
        if highest > i128::from(i64::MAX) || lowest < i128::from(i64::MIN) {
            return fail(format!(
                "the balance could reach {} which does not fit in a 64-bit account: \
                 lower --initial, --ops, --amount or the number of workers",
                if highest > i128::from(i64::MAX) {
                    highest
                } else {
                    lowest
                }
            ));
        }
        self.check_trace()?;
        self.check_schedule()
    }

    /// The trace must fit the documented limits, per trial and per run.
    fn check_trace(&self) -> Result<(), UsageError> {
        if !self.trace {
            return Ok(());
        }
        let per_trial = self.ops_per_trial();
        if per_trial > MAX_TRACED_OPS_PER_TRIAL {
            return Err(UsageError(format!(
                "--trace records at most {MAX_TRACED_OPS_PER_TRIAL} operations per trial \
                 (workers x ops), this plan makes {per_trial}: lower --ops or the number of workers"
            )));
        }
        let per_run = per_trial
            .saturating_mul(u64::from(self.trials))
            .saturating_mul(self.modes.len() as u64);
        if per_run > MAX_TRACED_OPS_PER_RUN {
            return Err(UsageError(format!(
                "--trace records at most {MAX_TRACED_OPS_PER_RUN} operations per run \
                 (trials x modes x workers x ops), this plan makes {per_run}: \
                 lower --trials, --ops or the number of workers"
            )));
        }
        Ok(())
    }

    fn check_schedule(&self) -> Result<(), UsageError> {
        let Some(schedule) = &self.schedule else {
            return Ok(());
        };
        if self.kill_holder > 0.0 {
            return Err(UsageError(
                "--schedule cannot be combined with --kill-holder: the other workers would \
                 wait for the dead worker's turn until the timeout"
                    .into(),
            ));
        }
        if self.modes.contains(&Mode::Lock(StrategyKind::Atomic)) {
            return Err(UsageError(
                "--schedule cannot force --lock=atomic: an atomic update is one indivisible \
                 access, with no read and write to interleave"
                    .into(),
            ));
        }
        schedule.check(&Shape {
            scenario: self.scenario,
            depositors: self.depositors,
            withdrawers: self.withdrawers,
            ops: self.ops,
        })
    }

    /// The sizes of a trial's ledger.
    pub fn dims(&self) -> crate::ledger::Dims {
        crate::ledger::Dims {
            workers: self.workers(),
            trace_ops: if self.trace { self.ops } else { 0 },
            steps: self.schedule.as_ref().map_or(0, |s| s.steps.len() as u32),
        }
    }

    /// Worker `index`'s name in reports and schedules: `D1`, `W2`.
    pub fn worker_name(&self, index: u32) -> WorkerName {
        WorkerName::of(index, self.depositors)
    }

    pub fn workers(&self) -> u32 {
        self.depositors + self.withdrawers
    }

    /// Operations of one trial, all workers together.
    pub fn ops_per_trial(&self) -> u64 {
        u64::from(self.workers()) * self.ops
    }

    /// The final balance a correct bank ends at. For `lost-update` it is
    /// exact: initial + (depositors − withdrawers) · ops · amount. For
    /// `overdraft`, withdrawals are refused when funds are short, so the final
    /// balance depends on the order deposits and withdrawals arrive in; this is
    /// the balance of the serial order with every deposit first.
    pub fn expected_balance(&self) -> i64 {
        let ops = self.ops as i64;
        match self.scenario {
            Scenario::LostUpdate => {
                self.initial
                    + (i64::from(self.depositors) - i64::from(self.withdrawers)) * ops * self.amount
            }
            Scenario::Overdraft => {
                let funds = self.initial + i64::from(self.depositors) * ops * self.amount;
                let affordable = if funds > 0 { funds / self.amount } else { 0 };
                let paid = affordable.min(i64::from(self.withdrawers) * ops);
                funds - paid * self.amount
            }
        }
    }

    /// The default of `--timeout`: ten times the slowest honest schedule
    /// (every operation one after another, at an assumed microsecond each
    /// plus its pause and window), and at least 10s.
    pub fn default_timeout(&self) -> Duration {
        let per_op = self.pause + self.window + Duration::from_micros(1);
        let ops = u32::try_from(self.ops_per_trial()).unwrap_or(u32::MAX);
        per_op
            .saturating_mul(ops)
            .saturating_mul(10)
            .max(Duration::from_secs(10))
    }

    /// The fault injected into trial `trial`, if any: in a `kill_holder`
    /// fraction of trials, one worker and one of its operations, both drawn
    /// from the seed. The same in every mode, so each strategy faces the
    /// same faults.
    pub fn injected_kill(&self, trial: u32) -> Option<Kill> {
        if self.kill_holder <= 0.0 || self.ops == 0 {
            return None;
        }
        let draw = splitmix64(self.seed ^ 0x6b69_6c6c ^ (u64::from(trial) << 40));
        // The top 53 bits as a uniform fraction in [0, 1).
        let fraction = (draw >> 11) as f64 / (1u64 << 53) as f64;
        if fraction >= self.kill_holder {
            return None;
        }
        let pick = splitmix64(draw);
        Some(Kill {
            worker: (pick % u64::from(self.workers())) as u32,
            op: splitmix64(pick) % self.ops,
        })
    }

    /// Worker `index`'s role: depositors come first.
    pub fn is_depositor(&self, index: u32) -> bool {
        index < self.depositors
    }

    /// The seed of worker `worker`'s private RNG in trial `trial`. The same
    /// in every mode, so modes compared side by side get the same jitter.
    pub fn worker_seed(&self, trial: u32, worker: u32) -> u64 {
        splitmix64(splitmix64(self.seed ^ u64::from(trial)) ^ u64::from(worker) << 32)
    }
}

/// `value` if it lies in `lo..=hi`, else the sentence that says so.
fn in_range(flag: &str, value: i64, lo: i64, hi: i64) -> Result<i64, UsageError> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(UsageError(format!(
            "{flag} must be between {lo} and {hi} (got {value})"
        )))
    }
}

/// Which modes run, in the order they are shown: the unlocked one first, then
/// each named strategy once. With neither flag, both sides of the comparison.
fn modes(no_lock: bool, locks: &[StrategyKind]) -> Vec<Mode> {
    let mut modes = Vec::new();
    if no_lock || locks.is_empty() {
        modes.push(Mode::NoLock);
    }
    if !no_lock && locks.is_empty() {
        modes.push(Mode::Lock(StrategyKind::DEFAULT));
    }
    for &kind in locks {
        if !modes.contains(&Mode::Lock(kind)) {
            modes.push(Mode::Lock(kind));
        }
    }
    modes
}

/// A fast, well-mixing hash of a 64-bit value (SplitMix64's finaliser).
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The most repetitions (or warm-up rounds) of `bankrace bench`.
pub const MAX_REPETITIONS: u32 = 1_000;

/// What `bankrace bench` asks for, before checks. Built by the CLI layer;
/// counts arrive as signed numbers, as they do for [`Request`].
#[derive(Debug, Clone, Default)]
pub struct BenchRequest {
    pub workers: i64,
    pub ops: i64,
    pub trials: i64,
    pub repetitions: i64,
    pub warmup: i64,
    pub tmpdir: PathBuf,
}

/// A benchmark that has passed every check: the two plans it runs, over and
/// over. Every worker deposits 1, so that each lost update shows as exactly
/// one unit missing from the final balance.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchPlan {
    pub workers: u32,
    pub repetitions: u32,
    pub warmup: u32,
    /// One trial of every mode (no lock first), `ops` per worker, no pause
    /// and no window: the cost of synchronization alone.
    pub throughput: Plan,
    /// `trials` unlocked trials with no operations: the cost of a trial.
    pub overhead: Plan,
}

impl BenchPlan {
    pub fn build(req: BenchRequest) -> Result<BenchPlan, UsageError> {
        let workers = in_range("--workers", req.workers, 1, i64::from(MAX_WORKERS))?;
        let ops = in_range("--ops", req.ops, 1, MAX_OPS as i64)?;
        let trials = in_range("--trials", req.trials, 1, i64::from(MAX_TRIALS))?;
        let max = i64::from(MAX_REPETITIONS);
        let repetitions = in_range("--repetitions", req.repetitions, 1, max)? as u32;
        let warmup = in_range("--warmup", req.warmup, 0, max)? as u32;
        let base = Request {
            scenario: Some(Scenario::LostUpdate),
            trials: 1,
            initial: Some(0),
            depositors: Some(workers),
            withdrawers: Some(0),
            ops: Some(ops),
            amount: Some(1),
            pause: Some(Duration::ZERO),
            window: Some(Duration::ZERO),
            seed: Some(0),
            locks: StrategyKind::ALL.to_vec(),
            no_lock: true,
            tmpdir: req.tmpdir,
            ..Request::default()
        };
        let overhead = Request {
            trials,
            ops: Some(0),
            locks: Vec::new(),
            ..base.clone()
        };
        Ok(BenchPlan {
            workers: workers as u32,
            repetitions,
            warmup,
            throughput: Plan::build(base, || 0)?,
            overhead: Plan::build(overhead, || 0)?,
        })
    }
}

#[cfg(test)]
mod bench_tests {
    use super::*;

    fn request() -> BenchRequest {
        BenchRequest {
            workers: 2,
            ops: 1_000,
            trials: 10,
            repetitions: 3,
            warmup: 1,
            tmpdir: PathBuf::from("/tmp"),
        }
    }

    #[test]
    fn both_plans_share_the_workers_and_every_worker_deposits() {
        let b = BenchPlan::build(request()).unwrap();
        assert_eq!(b.throughput.modes.len(), 1 + StrategyKind::ALL.len());
        assert_eq!(b.throughput.modes[0], Mode::NoLock);
        assert_eq!((b.throughput.trials, b.throughput.ops), (1, 1_000));
        assert_eq!(b.throughput.expected_balance(), 2_000);
        assert!(b.throughput.pause.is_zero() && b.throughput.window.is_zero());
        assert_eq!(b.overhead.modes, [Mode::NoLock]);
        assert_eq!((b.overhead.trials, b.overhead.ops), (10, 0));
        for plan in [&b.throughput, &b.overhead] {
            assert_eq!((plan.depositors, plan.withdrawers), (2, 0));
        }
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_flag_name() {
        let cases: [(BenchRequest, &str); 6] = [
            (
                BenchRequest {
                    workers: 0,
                    ..request()
                },
                "--workers",
            ),
            (
                BenchRequest {
                    workers: 257,
                    ..request()
                },
                "--workers",
            ),
            (
                BenchRequest {
                    ops: 0,
                    ..request()
                },
                "--ops",
            ),
            (
                BenchRequest {
                    warmup: -1,
                    ..request()
                },
                "--warmup",
            ),
            (
                BenchRequest {
                    repetitions: 0,
                    ..request()
                },
                "--repetitions",
            ),
            (
                BenchRequest {
                    trials: 0,
                    ..request()
                },
                "--trials",
            ),
        ];
        for (req, flag) in cases {
            let err = BenchPlan::build(req).unwrap_err();
            assert!(err.0.starts_with(flag), "{err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            trials: 10,
            ..Request::default()
        }
    }

    fn build(req: Request) -> Result<Plan, UsageError> {
        Plan::build(req, || 7)
    }

    #[test]
    fn defaults_fill_in_and_seed_is_drawn_only_when_missing() {
        let plan = build(request()).unwrap();
        assert_eq!(plan.scenario, Scenario::LostUpdate);
        assert_eq!(plan.initial, 200);
        assert_eq!(plan.seed, 7);
        let plan = build(Request {
            seed: Some(99),
            ..request()
        })
        .unwrap();
        assert_eq!(plan.seed, 99);
    }

    #[test]
    fn modes_follow_the_flags() {
        use StrategyKind::*;
        assert_eq!(modes(false, &[]), [Mode::NoLock, Mode::Lock(Mutex)]);
        assert_eq!(modes(true, &[]), [Mode::NoLock]);
        assert_eq!(modes(false, &[Flock]), [Mode::Lock(Flock)]);
        assert_eq!(
            modes(true, &[Spin, Atomic, Spin]),
            [Mode::NoLock, Mode::Lock(Spin), Mode::Lock(Atomic)]
        );
    }

    #[test]
    fn expected_balance_per_scenario() {
        let plan = build(Request {
            depositors: Some(3),
            withdrawers: Some(1),
            ops: Some(10),
            amount: Some(5),
            ..request()
        })
        .unwrap();
        assert_eq!(plan.expected_balance(), 200 + 2 * 10 * 5);

        let atm = build(Request {
            scenario: Some(Scenario::Overdraft),
            ..request()
        })
        .unwrap();
        assert_eq!(atm.expected_balance(), 5_000);

        let more = build(Request {
            scenario: Some(Scenario::Overdraft),
            depositors: Some(1),
            ops: Some(2),
            ..request()
        })
        .unwrap();
        // 15,000 + 2 × 10,000 = 35,000; three of the four withdrawals fit.
        assert_eq!(more.expected_balance(), 5_000);
    }

    #[test]
    fn rejects_values_out_of_range() {
        let cases = [
            Request {
                trials: 0,
                ..request()
            },
            Request {
                depositors: Some(0),
                withdrawers: Some(0),
                ..request()
            },
            Request {
                depositors: Some(i64::from(MAX_WORKERS) + 1),
                ..request()
            },
            Request {
                depositors: Some(200),
                withdrawers: Some(200),
                ..request()
            },
            Request {
                ops: Some(MAX_OPS as i64 + 1),
                ..request()
            },
            Request {
                amount: Some(0),
                ..request()
            },
            Request {
                amount: Some(-3),
                ..request()
            },
            Request {
                pause: Some(Duration::from_secs(11)),
                ..request()
            },
            Request {
                initial: Some(i64::MAX),
                ..request()
            },
            Request {
                initial: Some(i64::MIN),
                ..request()
            },
        ];
        for req in cases {
            let shown = format!("{req:?}");
            assert!(build(req).is_err(), "accepted {shown}");
        }
    }

    #[test]
    fn trace_and_schedule_are_checked_up_front() {
        let traced = |ops, trials| Request {
            trace: true,
            ops: Some(ops),
            trials,
            ..request()
        };
        // 2 workers x 500,000 = the per-trial limit exactly.
        assert!(build(traced(500_000, 1)).is_ok());
        let e = build(traced(500_001, 1)).unwrap_err();
        assert!(e.0.contains("per trial"), "{e}");
        // 2 modes x 2 workers x 100,000 x 10 trials = the per-run limit.
        assert!(build(traced(100_000, 10)).is_ok());
        assert!(
            build(traced(100_000, 21))
                .unwrap_err()
                .0
                .contains("per run")
        );

        let scheduled = |text: &str, locks| Request {
            schedule: Some(text.into()),
            locks,
            ops: Some(1),
            ..request()
        };
        let plan = build(scheduled("D1:read W1:read D1:write W1:write", vec![])).unwrap();
        assert_eq!(plan.dims().steps, 4);
        assert_eq!(plan.worker_name(1).to_string(), "W1");
        assert!(build(scheduled("D1:read", vec![StrategyKind::Atomic])).is_err());
        assert!(
            build(scheduled("D1:hop", vec![]))
                .unwrap_err()
                .0
                .starts_with("--schedule: ")
        );
    }

    #[test]
    fn worker_seeds_differ_per_trial_and_worker_but_not_per_mode() {
        let plan = build(request()).unwrap();
        assert_ne!(plan.worker_seed(0, 0), plan.worker_seed(0, 1));
        assert_ne!(plan.worker_seed(0, 0), plan.worker_seed(1, 0));
        assert_eq!(plan.worker_seed(3, 1), plan.worker_seed(3, 1));
    }

    #[test]
    fn kills_follow_the_rate_and_the_seed() {
        let plan = |rate| {
            build(Request {
                kill_holder: rate,
                ..request()
            })
            .unwrap()
        };
        assert!((1..=1000).all(|t| plan(0.0).injected_kill(t).is_none()));
        assert!((1..=1000).all(|t| plan(1.0).injected_kill(t).is_some()));
        let half = plan(0.5);
        let kills = (1..=1000)
            .filter_map(|t| half.injected_kill(t))
            .collect::<Vec<_>>();
        assert!((400..=600).contains(&kills.len()), "{}", kills.len());
        assert!(kills.iter().all(|k| k.worker < 2 && k.op < 50));
        assert_eq!(half.injected_kill(17), plan(0.5).injected_kill(17));
    }

    #[test]
    fn timeout_defaults_scale_with_the_work_and_can_be_set() {
        let plan = build(request()).unwrap();
        assert_eq!(plan.timeout, Duration::from_secs(10));
        let long = build(Request {
            ops: Some(100_000),
            pause: Some(Duration::from_millis(1)),
            ..request()
        })
        .unwrap();
        assert!(long.timeout > Duration::from_secs(1000));
        let set = build(Request {
            timeout: Some(Duration::from_secs(2)),
            ..request()
        })
        .unwrap();
        assert_eq!(set.timeout, Duration::from_secs(2));
        assert!(
            build(Request {
                timeout: Some(Duration::ZERO),
                ..request()
            })
            .is_err()
        );
        assert!(
            build(Request {
                kill_holder: 1.5,
                ..request()
            })
            .is_err()
        );
        assert!(
            build(Request {
                kill_holder: f64::NAN,
                ..request()
            })
            .is_err()
        );
    }

    #[test]
    fn codes_round_trip() {
        for mode in [Mode::NoLock]
            .into_iter()
            .chain(StrategyKind::ALL.map(Mode::Lock))
        {
            assert_eq!(Mode::from_code(mode.code()), Some(mode));
        }
        assert_eq!(Mode::from_code(99), None);
        assert_eq!(
            Scenario::from_code(Scenario::Overdraft.code()),
            Some(Scenario::Overdraft)
        );
    }
}
