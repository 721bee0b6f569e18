//! The ledger's header: the [`Job`] encoded as twenty-four 64-bit words, and the pure check a worker applies before it trusts a ledger.
//!
//! The same words are read from a file with `pread` before anything is
//! mapped, and again through the mapping afterwards; [`decode`] checks both
//! the same way, and every field gets the range the plan enforces on a user.

use std::io;

use crate::limits::{
    MAX_ACCOUNTS, MAX_AMOUNT, MAX_DELAY, MAX_HISTORY_WORDS_PER_RUN, MAX_OPS, MAX_RETRIES,
    MAX_STEPS, MAX_TIMEOUT, MAX_TRACED_OPS_PER_TRIAL, MAX_WORKERS, MIN_TIMEOUT,
};
use crate::spec::Job;
use crate::vocab::{BackendKind, Mode, Scenario};

/// `b"BANKRACE"` read as a little-endian `u64`.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"BANKRACE");
/// Bumped whenever the layout or the meaning of a field changes.
pub(crate) const VERSION: u64 = 9;
/// Words in the header.
pub(crate) const WORDS: usize = 24;

/// Where each field sits, as a word index.
pub(super) mod at {
    pub(crate) const MAGIC: usize = 0;
    pub(crate) const VERSION: usize = 1;
    pub(crate) const LAYOUT_SIZE: usize = 2;
    pub(crate) const WORKERS: usize = 3;
    pub(crate) const ACCOUNTS: usize = 4;
    pub(crate) const TRACE_OPS: usize = 5;
    pub(crate) const STEPS: usize = 6;
    pub(crate) const SCENARIO: usize = 7;
    pub(crate) const MODE: usize = 8;
    pub const OPS: usize = 9;
    pub(crate) const AMOUNT: usize = 10;
    pub(crate) const INITIAL: usize = 11;
    pub(crate) const PAUSE_NS: usize = 12;
    pub(crate) const WINDOW_NS: usize = 13;
    pub(crate) const TIMEOUT_NS: usize = 14;
    pub(crate) const FLAGS: usize = 15;
    pub(crate) const BACKEND: usize = 16;
    pub(crate) const MAX_RETRIES: usize = 17;
}

/// The bits of the flags word.
mod flag {
    pub(super) const COLLIDE: u64 = 1;
    pub(super) const AUDITS_UNLOCKED: u64 = 2;
    pub(super) const HISTORY: u64 = 4;
    pub(super) const ALL: u64 = COLLIDE | AUDITS_UNLOCKED | HISTORY;
}

/// What went wrong when a worker checked a ledger it was handed.
#[derive(Debug, PartialEq, Eq)]
pub enum LedgerError {
    /// The file is shorter or longer than its header says.
    Size { actual: u64, expected: u64 },
    /// The first eight bytes are not `BANKRACE`.
    Magic,
    /// A ledger of another format version.
    Version(u64),
    /// A field is out of its range, or the fields disagree with each other.
    Layout(&'static str),
    /// Not a regular file (a directory, a device, a pipe...).
    NotRegular,
    /// The file belongs to another user.
    Owner(u32),
    /// The descriptor was not opened for both reading and writing.
    ReadOnly,
    /// The file could not be read or mapped.
    Io(io::ErrorKind),
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerError::Size { actual, expected } => {
                write!(f, "ledger is {actual} bytes, expected {expected}")
            }
            LedgerError::Magic => write!(f, "not a bankrace ledger (bad magic bytes)"),
            LedgerError::Version(v) => {
                write!(f, "ledger format version {v}, this build reads {VERSION}")
            }
            LedgerError::Layout(why) => write!(f, "ledger header is inconsistent: {why}"),
            LedgerError::NotRegular => write!(f, "the ledger is not a regular file"),
            LedgerError::Owner(uid) => write!(f, "the ledger belongs to another user (uid {uid})"),
            LedgerError::ReadOnly => {
                write!(
                    f,
                    "the ledger descriptor is not open for reading and writing"
                )
            }
            LedgerError::Io(kind) => write!(f, "cannot read the ledger: {kind}"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// The header of a ledger of `size` bytes for `job`; the magic word is
/// included, and the ledger stores it last.
pub(crate) fn encode(job: &Job, size: u64) -> [u64; WORDS] {
    let mut w = [0u64; WORDS];
    w[at::MAGIC] = MAGIC;
    w[at::VERSION] = VERSION;
    w[at::LAYOUT_SIZE] = size;
    w[at::WORKERS] = u64::from(job.workers);
    w[at::ACCOUNTS] = u64::from(job.accounts);
    w[at::TRACE_OPS] = job.trace_ops;
    w[at::STEPS] = u64::from(job.steps);
    w[at::SCENARIO] = u64::from(job.scenario.code());
    w[at::MODE] = u64::from(job.mode.code());
    w[at::OPS] = job.ops;
    w[at::AMOUNT] = job.amount as u64;
    w[at::INITIAL] = job.initial as u64;
    w[at::PAUSE_NS] = job.pause_ns;
    w[at::WINDOW_NS] = job.window_ns;
    w[at::TIMEOUT_NS] = job.timeout_ns;
    w[at::FLAGS] = [
        (job.collide, flag::COLLIDE),
        (job.audits_unlocked, flag::AUDITS_UNLOCKED),
        (job.history, flag::HISTORY),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |acc, (_, bit)| acc | bit);
    w[at::BACKEND] = u64::from(job.backend.code());
    w[at::MAX_RETRIES] = u64::from(job.max_retries);
    w
}

/// The header words of a file's first bytes.
pub(crate) fn words_of(bytes: &[u8; WORDS * 8]) -> [u64; WORDS] {
    std::array::from_fn(|i| {
        u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
    })
}

/// Checks header words against the size of the file they came from and
/// returns the job. `size_of` gives the size a ledger for a job must have.
pub(crate) fn decode(
    w: &[u64; WORDS],
    actual: u64,
    size_of: impl Fn(&Job) -> u64,
) -> Result<Job, LedgerError> {
    if w[at::MAGIC] != MAGIC {
        return Err(LedgerError::Magic);
    }
    if w[at::VERSION] != VERSION {
        return Err(LedgerError::Version(w[at::VERSION]));
    }
    let small = |i: usize, max: u32, lo: u32, what| match u32::try_from(w[i]) {
        Ok(v) if (lo..=max).contains(&v) => Ok(v),
        _ => Err(LedgerError::Layout(what)),
    };
    let workers = small(at::WORKERS, MAX_WORKERS, 1, "worker count out of range")?;
    let accounts = small(at::ACCOUNTS, MAX_ACCOUNTS, 1, "account count out of range")?;
    let steps = small(at::STEPS, MAX_STEPS, 0, "schedule size out of range")?;
    let ops = w[at::OPS];
    let trace_ops = w[at::TRACE_OPS];
    if ops > MAX_OPS {
        return Err(LedgerError::Layout("operation count out of range"));
    }
    if trace_ops > ops || u64::from(workers) * trace_ops > MAX_TRACED_OPS_PER_TRIAL {
        return Err(LedgerError::Layout("trace size out of range"));
    }
    let amount = w[at::AMOUNT] as i64;
    check_amount_and_times(w, amount)?;
    let scenario = u32::try_from(w[at::SCENARIO])
        .ok()
        .and_then(Scenario::from_code)
        .ok_or(LedgerError::Layout("unknown scenario"))?;
    let mode = u32::try_from(w[at::MODE])
        .ok()
        .and_then(Mode::from_code)
        .ok_or(LedgerError::Layout("unknown mode"))?;
    let flags = transfer_flags(w[at::FLAGS], scenario, workers, accounts, ops)?;
    let backend = u32::try_from(w[at::BACKEND])
        .ok()
        .and_then(BackendKind::from_code)
        .ok_or(LedgerError::Layout("unknown backend"))?;
    if !mode.runs_on(backend) {
        return Err(LedgerError::Layout("the mode does not run on the backend"));
    }
    let max_retries = small(at::MAX_RETRIES, MAX_RETRIES, 0, "retry limit out of range")?;
    let job = Job {
        scenario,
        backend,
        mode,
        max_retries,
        ops,
        amount,
        initial: w[at::INITIAL] as i64,
        pause_ns: w[at::PAUSE_NS],
        window_ns: w[at::WINDOW_NS],
        timeout_ns: w[at::TIMEOUT_NS],
        workers,
        accounts,
        trace_ops,
        steps,
        collide: flags & flag::COLLIDE != 0,
        audits_unlocked: flags & flag::AUDITS_UNLOCKED != 0,
        history: flags & flag::HISTORY != 0,
    };
    let expected = size_of(&job);
    if w[at::LAYOUT_SIZE] != expected {
        return Err(LedgerError::Layout(
            "layout size does not match worker, trace and schedule sizes",
        ));
    }
    if actual != expected {
        return Err(LedgerError::Size { actual, expected });
    }
    Ok(job)
}

/// The amount, the pause, the window and the timeout, each within the
/// range the plan gives a user.
fn check_amount_and_times(w: &[u64; WORDS], amount: i64) -> Result<(), LedgerError> {
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(LedgerError::Layout("amount out of range"));
    }
    let max_delay = MAX_DELAY.as_nanos() as u64;
    if w[at::PAUSE_NS] > max_delay || w[at::WINDOW_NS] > max_delay {
        return Err(LedgerError::Layout("pause or window out of range"));
    }
    let timeout = MIN_TIMEOUT.as_nanos() as u64..=MAX_TIMEOUT.as_nanos() as u64;
    if !timeout.contains(&w[at::TIMEOUT_NS]) {
        return Err(LedgerError::Layout("timeout out of range"));
    }
    Ok(())
}

/// The flags word, checked with what only the transfer scenario may have:
/// several accounts, and a history of bounded size.
fn transfer_flags(
    flags: u64,
    scenario: Scenario,
    workers: u32,
    accounts: u32,
    ops: u64,
) -> Result<u64, LedgerError> {
    if flags & !flag::ALL != 0 {
        return Err(LedgerError::Layout("unknown flags"));
    }
    if accounts > 1 && !scenario.several_accounts() {
        return Err(LedgerError::Layout(
            "several accounts in a scenario of one account",
        ));
    }
    let history_words = u64::from(workers)
        .saturating_mul(ops)
        .saturating_mul(5 + u64::from(accounts));
    if flags & flag::HISTORY != 0 && history_words > MAX_HISTORY_WORDS_PER_RUN {
        return Err(LedgerError::Layout("history size out of range"));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn good(workers: u32) -> (Job, [u64; WORDS], u64) {
        let job = Job::plain(workers, 5, 200);
        let size = Ledger::size_of(&job);
        (job, encode(&job, size), size)
    }

    #[test]
    fn encode_then_decode_is_the_job() {
        let (job, words, size) = good(3);
        assert_eq!(decode(&words, size, Ledger::size_of), Ok(job));
    }

    #[test]
    fn every_job_field_gets_the_plans_range() {
        for (field, value) in [
            (at::OPS, MAX_OPS + 1),
            (at::AMOUNT, 0),
            (at::AMOUNT, u64::MAX),
            (at::PAUSE_NS, u64::MAX),
            (at::WINDOW_NS, 1 << 63),
            (at::SCENARIO, 7),
            (at::MODE, 1 << 40),
            (at::ACCOUNTS, 0),
            (at::TRACE_OPS, 6),
            (at::TIMEOUT_NS, 0),
            (at::TIMEOUT_NS, u64::MAX),
            (at::FLAGS, 8),
            (at::ACCOUNTS, 2),
            (at::BACKEND, 9),
            (at::MODE, u64::from(Mode::Row.code())),
            (at::MAX_RETRIES, u64::MAX),
        ] {
            let (_, mut words, size) = good(2);
            words[field] = value;
            assert!(
                matches!(
                    decode(&words, size, Ledger::size_of),
                    Err(LedgerError::Layout(_))
                ),
                "field {field} = {value} was accepted"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_never_accepts_garbage(words in proptest::array::uniform24(proptest::num::u64::ANY), size in 0u64..1 << 20) {
            if let Ok(job) = decode(&words, size, Ledger::size_of) {
                proptest::prop_assert_eq!(words[at::MAGIC], MAGIC);
                proptest::prop_assert_eq!(size, Ledger::size_of(&job));
            }
        }

        #[test]
        fn decode_finds_the_one_wrong_field(workers in 1u32..=MAX_WORKERS, field in 0usize..4, noise in 1u64..u64::MAX) {
            let (_, good, size) = good(workers);
            let mut bad = good;
            match field {
                0 => bad[at::MAGIC] ^= noise,
                1 => bad[at::VERSION] ^= noise,
                2 => bad[at::WORKERS] ^= noise,
                _ => bad[at::LAYOUT_SIZE] ^= noise,
            }
            proptest::prop_assert!(decode(&bad, size, Ledger::size_of).is_err());
        }
    }
}
