//! `bankrace bench`: measures each mode's throughput, a trial's overhead next to starting as many trivial processes, trials per second with fresh and reused workers, and how often the defaults' race bites with each. Never prints.
//!
//! The measurements reuse the run pipeline unchanged: each repetition is a
//! [`coordinator::run`] of the benchmark's plans, turned into numbers by
//! [`stats::results`]. The only processes started here, and not by the
//! coordinator, are the baseline's: `bankrace --version`, the cheapest thing
//! the same binary can be asked to do.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::coordinator;
use crate::plan::{BenchPlan, Plan};
use crate::signals::Interrupts;
use crate::stats::{self, Results};
use crate::vocab::{Mode, TrialStatus};

/// The spread of one quantity over the measured repetitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    /// Every repetition's value, in the order they were measured.
    pub samples: Vec<f64>,
}

impl Spread {
    /// The spread of `samples`; all zero when there are none.
    pub fn of(samples: Vec<f64>) -> Spread {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Spread {
            min: sorted.first().copied().unwrap_or(0.0),
            median,
            max: sorted.last().copied().unwrap_or(0.0),
            samples,
        }
    }
}

/// Everything `bankrace bench` reports. The JSON format is this struct,
/// serialized.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResults {
    /// The machine it ran on.
    pub host: crate::host::Host,
    pub workers: u32,
    /// CPUs this process may run on.
    pub cpus: usize,
    pub ops_per_worker: u64,
    pub warmup: u32,
    pub repetitions: u32,
    /// One entry per mode: the unlocked one first, then every strategy.
    pub modes: Vec<ModeBench>,
    pub overhead: Overhead,
    /// Trials per second with one operation, fresh against reused workers.
    pub trials_per_sec: TrialRates,
    /// How often the race bites in `run`'s unlocked defaults, fresh against
    /// reused workers, over every measured repetition's trials.
    pub loss: LossComparison,
}

/// Trials per second of the overhead's trials, fresh and reused.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRates {
    /// Trials per repetition with reused workers (fresh: `overhead.trials`).
    pub reused_trials: u32,
    pub fresh: Spread,
    pub reused: Spread,
    /// reused / fresh, per repetition.
    pub speedup: Spread,
}

/// The unlocked defaults' race, run with fresh and with reused workers.
#[derive(Debug, Clone, Serialize)]
pub struct LossComparison {
    pub fresh: LossRate,
    pub reused: LossRate,
}

/// How often, and by how much, the unlocked defaults missed the books.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossRate {
    pub trials: u32,
    /// Trials whose final balance was not the one the books give.
    pub raced: u32,
    /// raced / trials, with its 95% Wilson score interval.
    pub share: f64,
    pub share_low: f64,
    pub share_high: f64,
    /// The mean of |final − expected| over the trials, with the half-width
    /// of its 95% confidence interval (normal approximation).
    pub mean_deviation: f64,
    pub mean_deviation_ci: f64,
}

impl LossRate {
    /// The rate of `deviations`, one per trial.
    pub fn of(deviations: &[i64]) -> LossRate {
        let n = deviations.len() as f64;
        let raced = deviations.iter().filter(|&&d| d != 0).count() as u32;
        let (low, high) = wilson(f64::from(raced), n);
        let abs: Vec<i64> = deviations.iter().map(|d| d.abs()).collect();
        let mean = crate::stats::mean(&abs).unwrap_or(0.0);
        let sd = crate::stats::stddev(&abs).unwrap_or(0.0);
        LossRate {
            trials: deviations.len() as u32,
            raced,
            share: if n > 0.0 { f64::from(raced) / n } else { 0.0 },
            share_low: low,
            share_high: high,
            mean_deviation: mean,
            mean_deviation_ci: if n > 0.0 { Z95 * sd / n.sqrt() } else { 0.0 },
        }
    }
}

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.96;

/// The 95% Wilson score interval of `k` successes in `n` trials.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let p = k / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Throughput of one mode with no pause and no window.
#[derive(Debug, Clone, Serialize)]
pub struct ModeBench {
    /// `null` for the unlocked mode, else the strategy's name.
    pub lock: Option<&'static str>,
    /// The mode measured.
    #[serde(skip)]
    pub mode: Mode,
    /// Operations per second, all workers together, while they ran.
    pub ops_per_sec: Spread,
    /// The share of the deposits missing from the final balance (0 to 1).
    pub lost_updates: Spread,
}

/// What a trial costs beyond its operations, next to what starting and
/// reaping as many processes costs.
#[derive(Debug, Clone, Serialize)]
pub struct Overhead {
    /// Trials (and batches of baseline processes) per repetition.
    pub trials: u32,
    /// Wall time per trial with no operations, in microseconds.
    pub trial_us: Spread,
    /// Wall time to start `workers` `bankrace --version` processes and reap
    /// them, in microseconds.
    pub spawn_us: Spread,
    /// trial / spawn, per repetition.
    pub ratio: Spread,
}

/// How a benchmark ended.
#[derive(Debug)]
pub enum Measured<R = BenchResults> {
    Done(Box<R>),
    /// A signal (its number) ended it; the coordinator reaped every worker.
    Interrupted(i32),
}

/// A signal arrived: stop measuring. Travels as an error, out of the loop.
#[derive(Debug)]
struct Stop(i32);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by signal {}", self.0)
    }
}

impl std::error::Error for Stop {}

/// Runs the benchmark: `warmup` rounds whose numbers are dropped, then
/// `repetitions` measured rounds. `progress` gets (rounds done, rounds).
pub fn measure(
    plan: &BenchPlan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<Measured> {
    match measure_rounds(plan, interrupts, progress) {
        Ok(results) => Ok(Measured::Done(Box::new(results))),
        Err(e) => match e.downcast::<Stop>() {
            Ok(Stop(sig)) => Ok(Measured::Interrupted(sig)),
            Err(e) => Err(e),
        },
    }
}

fn measure_rounds(
    plan: &BenchPlan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<BenchResults> {
    // The very file the coordinator starts for its workers.
    let exe = crate::exe::own_executable()?;
    let rounds = plan.warmup + plan.repetitions;
    let modes = plan.throughput.modes.len();
    let mut ops_per_sec = vec![Vec::new(); modes];
    let mut lost = vec![Vec::new(); modes];
    let (mut trial_us, mut spawn_us, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fresh_rate, mut reused_rate, mut speedup) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fresh_loss, mut reused_loss) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let results = run_checked(&plan.throughput, interrupts)?;
        let reused = time_trials(&plan.reused, interrupts)?;
        // Fresh and reused take turns going first, as below.
        let (fresh_dev, reused_dev) = if round % 2 == 0 {
            let f = deviations(&plan.loss, interrupts)?;
            (f, deviations(&reuse(&plan.loss), interrupts)?)
        } else {
            let r = deviations(&reuse(&plan.loss), interrupts)?;
            (deviations(&plan.loss, interrupts)?, r)
        };
        // The overhead and its baseline take turns going first, so that
        // neither always runs on a machine the other just warmed up.
        let spawns = || time_spawns(&exe, plan.workers, plan.overhead.trials, interrupts);
        let (trial, spawn) = if round % 2 == 0 {
            let spawn = spawns()?;
            (time_trials(&plan.overhead, interrupts)?, spawn)
        } else {
            let trial = time_trials(&plan.overhead, interrupts)?;
            (trial, spawns()?)
        };
        if round >= plan.warmup {
            let ops = plan.throughput.ops_per_trial() as f64;
            for (i, mode) in results.modes.iter().enumerate() {
                ops_per_sec[i].push(mode.summary.ops_per_sec);
                lost[i].push((-mode.summary.total_deviation).max(0) as f64 / ops);
            }
            trial_us.push(trial * 1e6);
            spawn_us.push(spawn * 1e6);
            ratio.push(if spawn > 0.0 { trial / spawn } else { 0.0 });
            fresh_rate.push(1.0 / trial);
            reused_rate.push(1.0 / reused);
            speedup.push(trial / reused);
            fresh_loss.extend(fresh_dev);
            reused_loss.extend(reused_dev);
        }
        progress(round + 1, rounds);
    }
    let modes = results_modes(&plan.throughput, ops_per_sec, lost);
    Ok(BenchResults {
        host: crate::host::Host::current(),
        workers: plan.workers,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        ops_per_worker: plan.throughput.ops,
        warmup: plan.warmup,
        repetitions: plan.repetitions,
        modes,
        overhead: Overhead {
            trials: plan.overhead.trials,
            trial_us: Spread::of(trial_us),
            spawn_us: Spread::of(spawn_us),
            ratio: Spread::of(ratio),
        },
        trials_per_sec: TrialRates {
            reused_trials: plan.reused.trials,
            fresh: Spread::of(fresh_rate),
            reused: Spread::of(reused_rate),
            speedup: Spread::of(speedup),
        },
        loss: LossComparison {
            fresh: LossRate::of(&fresh_loss),
            reused: LossRate::of(&reused_loss),
        },
    })
}

/// `plan` with reused workers.
fn reuse(plan: &Plan) -> Plan {
    Plan {
        reuse_workers: true,
        ..plan.clone()
    }
}

/// Every trial's final − expected balance in a run of `plan`'s first mode.
fn deviations(plan: &Plan, interrupts: &Interrupts) -> Result<Vec<i64>> {
    let results = run_checked(plan, interrupts)?;
    Ok(results.modes[0]
        .trials
        .iter()
        .map(|t| t.deviation)
        .collect())
}

fn results_modes(plan: &Plan, ops_per_sec: Vec<Vec<f64>>, lost: Vec<Vec<f64>>) -> Vec<ModeBench> {
    plan.modes
        .iter()
        .zip(ops_per_sec.into_iter().zip(lost))
        .map(|(mode, (ops, lost))| ModeBench {
            lock: mode.strategy(),
            mode: *mode,
            ops_per_sec: Spread::of(ops),
            lost_updates: Spread::of(lost),
        })
        .collect()
}

/// Runs `plan` and turns it into results; a failed trial fails the benchmark,
/// since its numbers would mean nothing.
fn run_checked(plan: &Plan, interrupts: &Interrupts) -> Result<Results> {
    let outcome = coordinator::run(plan, interrupts, &mut |_| {})?;
    if let Some(sig) = outcome.interrupted {
        return Err(Stop(sig).into());
    }
    let results = stats::results(plan, &outcome);
    for mode in &results.modes {
        if let Some(t) = mode.trials.iter().find(|t| t.status != TrialStatus::Ok) {
            bail!(
                "a {} trial failed: {}",
                mode.mode.name(),
                t.cause.as_deref().unwrap_or("unknown cause")
            );
        }
    }
    Ok(results)
}

/// Seconds per trial of `plan`, everything included: ledger, processes,
/// waiting, reaping, collecting.
fn time_trials(plan: &Plan, interrupts: &Interrupts) -> Result<f64> {
    let started = Instant::now();
    run_checked(plan, interrupts)?;
    Ok(per(started.elapsed(), plan.trials))
}

/// Seconds to start `workers` processes of `bankrace --version` and reap
/// them all, averaged over `batches` batches: what starting a trial's workers
/// costs at the least.
fn time_spawns(exe: &Path, workers: u32, batches: u32, interrupts: &Interrupts) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..batches {
        if let Some(sig) = interrupts.caught() {
            return Err(Stop(sig).into());
        }
        let mut children: Vec<Child> = Vec::with_capacity(workers as usize);
        let mut spawned = Ok(());
        for _ in 0..workers {
            match Command::new(exe)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
            {
                Ok(child) => children.push(child),
                Err(e) => {
                    spawned = Err(e);
                    break;
                }
            }
        }
        // Reap whatever started, also when a later spawn failed.
        let mut statuses = Vec::with_capacity(children.len());
        for child in &mut children {
            statuses.push(child.wait());
        }
        spawned.context("cannot start a baseline process")?;
        for status in statuses {
            let status = status.context("cannot wait for a baseline process")?;
            if !status.success() {
                bail!("the baseline `bankrace --version` ended with {status}");
            }
        }
    }
    Ok(per(started.elapsed(), batches))
}

fn per(elapsed: Duration, n: u32) -> f64 {
    elapsed.as_secs_f64() / f64::from(n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_odd_even_and_empty_samples() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
        assert_eq!(s.samples, [3.0, 1.0, 2.0], "samples keep their order");
        let s = Spread::of(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.min, s.median, s.max), (1.0, 2.5, 4.0));
        let s = Spread::of(Vec::new());
        assert_eq!((s.min, s.median, s.max), (0.0, 0.0, 0.0));
    }

    #[test]
    fn a_loss_rate_has_its_wilson_interval() {
        let r = LossRate::of(&[0, -3, 2, -1]);
        assert_eq!((r.trials, r.raced, r.share), (4, 3, 0.75));
        // 3 of 4: the Wilson interval is about 0.30 to 0.95.
        assert!((r.share_low - 0.301).abs() < 1e-3, "{}", r.share_low);
        assert!((r.share_high - 0.954).abs() < 1e-3, "{}", r.share_high);
        assert_eq!(r.mean_deviation, 1.5);
        let all = LossRate::of(&[1; 100]);
        assert!(all.share_high > 0.999_999 && (all.share_low - 0.963).abs() < 1e-3);
        assert_eq!(all.mean_deviation_ci, 0.0);
    }
}
