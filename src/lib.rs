//! bankrace as a library: the vocabulary, the plan, the ledger and backends, the worker, the coordinator, statistics and reports.
//!
//! Data flows one way: `cli` → `plan` → `coordinator` → `outcome` → `stats`
//! (with `explain` beside it for traced trials) → `report`, and `exit`
//! decides the status. `sweep` builds one plan per value of a parameter,
//! and `matrix` one per scenario, and runs each through the same coordinator. The worker process uses `ledger`, `backend`,
//! `strategy`, `spec` and `vocab` only. The binary (`main.rs`) is a thin
//! shell around this library; the library exists so that benchmarks and
//! tests can drive the strategies, statistics and renderers directly.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

// Real processes racing on a shared mapping need Linux's pidfds, futexes and
// robust process-shared mutexes; on any other target this is the only error.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "bankrace runs only on Linux (kernel 5.3 or later: pidfd_open, futex, robust process-shared mutexes); on Windows use WSL2, on macOS a Linux VM or container"
);

/// The version `--version` prints: the package's, and the git commit and its
/// date when built from a repository (recorded by `src/build.rs`).
pub const VERSION: &str = env!("BANKRACE_VERSION");

#[cfg(target_os = "linux")]
pub(crate) mod backend;
#[cfg(target_os = "linux")]
pub mod bench;
#[cfg(target_os = "linux")]
pub mod bench_db;
#[cfg(target_os = "linux")]
pub mod cli;
#[cfg(target_os = "linux")]
pub mod coordinator;
#[cfg(target_os = "linux")]
pub mod deadlock;
#[cfg(target_os = "linux")]
pub(crate) mod duration;
#[cfg(target_os = "linux")]
pub(crate) mod exe;
#[cfg(target_os = "linux")]
pub mod exit;
#[cfg(target_os = "linux")]
pub mod expect;
#[cfg(target_os = "linux")]
pub mod explain;
#[cfg(target_os = "linux")]
pub mod export;
#[cfg(target_os = "linux")]
pub(crate) mod headroom;
#[cfg(target_os = "linux")]
pub(crate) mod histogram;
#[cfg(target_os = "linux")]
pub mod history;
#[cfg(target_os = "linux")]
pub mod host;
#[cfg(target_os = "linux")]
pub mod ledger;
#[cfg(target_os = "linux")]
pub(crate) mod limits;
#[cfg(target_os = "linux")]
pub mod matrix;
#[cfg(target_os = "linux")]
pub mod outcome;
#[cfg(target_os = "linux")]
pub mod plan;
#[cfg(target_os = "linux")]
pub mod progress;
#[cfg(target_os = "linux")]
pub mod quiz;
#[cfg(target_os = "linux")]
pub mod report;
#[cfg(target_os = "linux")]
pub mod schedule;
#[cfg(target_os = "linux")]
pub mod signals;
#[cfg(target_os = "linux")]
pub mod spec;
#[cfg(target_os = "linux")]
pub mod stats;
#[cfg(target_os = "linux")]
pub mod strategy;
#[cfg(target_os = "linux")]
pub mod sweep;
#[cfg(target_os = "linux")]
pub mod trace;
#[cfg(target_os = "linux")]
pub mod usage;
#[cfg(target_os = "linux")]
pub mod vocab;
#[cfg(target_os = "linux")]
pub mod wilson;
#[cfg(target_os = "linux")]
pub mod worker;

#[cfg(target_os = "linux")]
pub use backend::{db_cleanup, db_server};
