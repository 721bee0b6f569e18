//! bankrace as a library: the vocabulary, the plan, the ledger and backends, the worker, the coordinator, statistics and reports.
//!
//! Data flows one way: `cli` → `plan` → `coordinator` → `outcome` → `stats`
//! (with `explain` beside it for traced trials) → `report`, and `exit`
//! decides the status. `sweep` builds one plan per value of a parameter
//! and runs each through the same coordinator. The worker process uses `ledger`, `backend`,
//! `strategy`, `spec` and `vocab` only. The binary (`main.rs`) is a thin
//! shell around this library; the library exists so that benchmarks and
//! tests can drive the strategies, statistics and renderers directly.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub(crate) mod backend;
pub mod bench;
pub mod cli;
pub mod coordinator;
pub mod deadlock;
pub(crate) mod duration;
pub mod exit;
pub mod expect;
pub mod explain;
pub mod export;
pub(crate) mod histogram;
pub mod history;
pub mod ledger;
pub(crate) mod limits;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod quiz;
pub mod report;
pub mod schedule;
pub mod signals;
pub mod spec;
pub mod stats;
pub mod strategy;
pub mod sweep;
pub mod trace;
pub mod usage;
pub mod vocab;
pub mod wilson;
pub mod worker;

pub use backend::{db_cleanup, db_server};
