//! The limits of a run, defined once: the plan enforces them on what a user asks, the ledger on what a worker is handed.

use std::time::Duration;

/// The most workers (depositors plus withdrawers) in one trial.
pub(crate) const MAX_WORKERS: u32 = 256;
/// The most accounts one ledger holds.
pub(crate) const MAX_ACCOUNTS: u32 = 64;
/// The most trials per mode.
pub(crate) const MAX_TRIALS: u32 = 1_000_000;
/// The most operations per worker.
pub(crate) const MAX_OPS: u64 = 100_000_000;
/// The largest amount moved by one operation.
pub(crate) const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// The longest pause or race window.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(10);
/// Bounds of `--timeout`.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_millis(1);
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The most retries of one database operation (`--max-retries`).
pub(crate) const MAX_RETRIES: u32 = 1_000_000;
/// The most values one `bankrace sweep` runs.
pub(crate) const MAX_SWEEP_POINTS: usize = 100;
/// Bounds of `--width`, the columns the text report fits in.
pub(crate) const MIN_WIDTH: usize = 40;
pub(crate) const MAX_WIDTH: usize = 1_000;
/// The most steps a forced schedule may have.
pub(crate) const MAX_STEPS: u32 = 1_000;
/// The most operations `--trace` records in one trial (workers × ops): the
/// trace region of the ledger is 48 bytes per operation, so at most 48 MB.
pub(crate) const MAX_TRACED_OPS_PER_TRIAL: u64 = 1_000_000;
/// The most operations `--trace` records in one run (trials × modes ×
/// workers × ops): the coordinator keeps every trace until the report is
/// written.
pub(crate) const MAX_TRACED_OPS_PER_RUN: u64 = 4_000_000;

/// The most words `--export-history` records in one run (trials × modes ×
/// workers × ops × (5 + accounts)): the ledger holds one trial's share, the
/// coordinator every trial's until the history is written (32 MB of words).
pub(crate) const MAX_HISTORY_WORDS_PER_RUN: u64 = 4_000_000;

const _: () = {
    assert!(MAX_TRACED_OPS_PER_TRIAL <= MAX_TRACED_OPS_PER_RUN);
    assert!(MIN_TIMEOUT.as_nanos() < MAX_TIMEOUT.as_nanos());
    // Every sum of amounts over a trial fits an i128 with room to spare, and
    // one operation's amount fits the ledger's i64 words.
    assert!(MAX_AMOUNT as u64 <= i64::MAX as u64 / MAX_WORKERS as u64);
};
