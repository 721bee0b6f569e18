//! `bankrace bench --db TARGET`: each database mode's throughput, and what a run's database costs to set up and take down (for `embedded`: initdb, server start, schema, stop, removal). Never prints.
//!
//! Like [`crate::bench`], it reuses the run pipeline unchanged: each round
//! is one [`coordinator::run`] of a one-trial, one-operation plan (timed
//! from start to end, less its trial: the set-up) and one of the throughput
//! plan (a trial of every database mode). Reused workers and the spawn
//! baseline are memory-backend measurements and are left out here. The
//! reference loop to compare the unlocked mode with is a separate program,
//! `benches/pg_reference.rs`.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::bench::{Measured, ModeBench, Spread};
use crate::coordinator;
use crate::plan::{DbBenchPlan, Plan};
use crate::signals::Interrupts;
use crate::stats::{self, Results};
use crate::vocab::TrialStatus;

/// Everything `bankrace bench --db` reports; its JSON is this struct.
#[derive(Debug, Clone, Serialize)]
pub struct DbBenchResults {
    pub host: crate::host::Host,
    /// `embedded`, or the connection string without its password.
    pub db: String,
    pub workers: u32,
    pub cpus: usize,
    pub ops_per_worker: u64,
    pub warmup: u32,
    pub repetitions: u32,
    /// The unlocked mode first, then every database strategy.
    pub modes: Vec<ModeBench>,
    /// Wall time of a whole run of one one-operation trial, start to end,
    /// in milliseconds.
    pub run_ms: Spread,
    /// The same less the trial's own time: opening and closing the run's
    /// database (for `embedded`, the server's whole life), in milliseconds.
    pub setup_ms: Spread,
}

/// Runs `warmup` rounds whose numbers are dropped, then `repetitions`.
pub fn measure(
    plan: &DbBenchPlan,
    interrupts: &Interrupts,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<Measured<DbBenchResults>> {
    let rounds = plan.warmup + plan.repetitions;
    let modes = plan.throughput.modes.len();
    let (mut ops_per_sec, mut lost) = (vec![Vec::new(); modes], vec![Vec::new(); modes]);
    let (mut run_ms, mut setup_ms) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let started = Instant::now();
        let Some(one) = run_checked(&plan.setup, interrupts)? else {
            return Ok(Measured::Interrupted(interrupts.caught().unwrap_or(2)));
        };
        let whole = started.elapsed().as_secs_f64() * 1e3;
        let Some(results) = run_checked(&plan.throughput, interrupts)? else {
            return Ok(Measured::Interrupted(interrupts.caught().unwrap_or(2)));
        };
        if round >= plan.warmup {
            let trial_ms = one.modes[0].trials[0].duration_ms;
            run_ms.push(whole);
            setup_ms.push(whole - trial_ms);
            let ops = plan.throughput.ops_per_trial() as f64;
            for (i, mode) in results.modes.iter().enumerate() {
                ops_per_sec[i].push(mode.summary.ops_per_sec);
                lost[i].push((-mode.summary.total_deviation).max(0) as f64 / ops);
            }
        }
        progress(round + 1, rounds);
    }
    let modes = plan
        .throughput
        .modes
        .iter()
        .zip(ops_per_sec.into_iter().zip(lost))
        .map(|(mode, (ops, lost))| ModeBench {
            lock: mode.strategy(),
            mode: *mode,
            ops_per_sec: Spread::of(ops),
            lost_updates: Spread::of(lost),
        })
        .collect();
    Ok(Measured::Done(Box::new(DbBenchResults {
        host: crate::host::Host::current(),
        db: plan
            .throughput
            .db
            .as_ref()
            .map(|d| d.shown())
            .unwrap_or_default(),
        workers: plan.workers,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        ops_per_worker: plan.throughput.ops,
        warmup: plan.warmup,
        repetitions: plan.repetitions,
        modes,
        run_ms: Spread::of(run_ms),
        setup_ms: Spread::of(setup_ms),
    })))
}

/// Runs `plan`; `None` if a signal interrupted it. A failed trial or a lost
/// database fails the benchmark: its numbers would mean nothing.
fn run_checked(plan: &Plan, interrupts: &Interrupts) -> Result<Option<Results>> {
    let outcome = coordinator::run(plan, interrupts, &mut |_| {})?;
    if outcome.interrupted.is_some() {
        return Ok(None);
    }
    if let Some(lost) = &outcome.database_lost {
        anyhow::bail!("the database went away during {lost}");
    }
    let results = stats::results(plan, &outcome);
    for mode in &results.modes {
        if let Some(t) = mode.trials.iter().find(|t| t.status != TrialStatus::Ok) {
            anyhow::bail!(
                "a {} trial failed: {}",
                mode.mode.name(),
                t.cause.as_deref().unwrap_or("unknown cause")
            );
        }
    }
    Ok(Some(results))
}
