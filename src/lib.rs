//! bankrace as a library: the plan, the ledger, the strategies, the coordinator, statistics and reports.
//!
//! Data flows one way: `cli` → `plan` → `coordinator` → `outcome` → `stats`
//! → `report` (and `expect`, the check of `--expect`). The worker process
//! uses `ledger` and `strategy` only. The binary (`main.rs`) is a thin shell
//! around this library; the library exists so that benchmarks can drive the
//! strategies and renderers directly.
#![deny(unsafe_code)]

pub mod bench;
pub mod cli;
pub mod coordinator;
pub mod duration;
pub mod expect;
pub mod explain;
pub mod histogram;
pub mod instrument;
pub mod ledger;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod quiz;
pub mod report;
pub mod schedule;
pub mod signals;
pub mod stats;
pub mod strategy;
pub mod trace;
pub mod worker;
