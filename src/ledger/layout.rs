//! The ledger's `#[repr(C)]` layout, the offsets of its regions, and the one place where raw pointers into the mapping become references.
//!
//! # Layout
//!
//! ```text
//! offset  size        what
//! 0       192         header: twenty-four words, the job (header.rs)
//! 192     64          start barrier, fault gate, collisions, generation (AtomicU32 each)
//! 256     64          spin lock word (AtomicU32)
//! 320     64          robust, process-shared pthread mutex
//! 384     64          instruments: sequencer, turnstile, why a schedule got stuck
//! 448     64 × a      one balance per account (AtomicI64), each on its own cache line
//! ...     64 × a      one robust mutex per account, with its holder word
//! ...     192 × n     one Slot per worker: its role, seed, fault, results, locks held and wanted
//! ...     4 × n       lock-wait flags, one per worker (forced schedules), padded to 64
//! ...     4 × steps   the forced schedule, one word per step, padded to 64
//! ...     48 × n × t  trace records: t per worker (`--trace`; t = 0 otherwise;
//!                     three per operation in the transfer scenario)
//! ...     8 × r × n × h  history records of r words: h per worker (`--export-history`)
//! ```
//!
//! # Why structs of atomics
//!
//! Every type reached here is made only of atomics (or, for the pthread
//! mutex, an `UnsafeCell` that is only ever handed to libc as a raw pointer).
//! A `&Shared` is then the same thing as a bundle of `AtomicU64::from_ptr`
//! results: every byte another process writes is reached through an atomic,
//! never through a plain `&u8` or `&mut [u8]`, and the compiler computes and
//! checks the offsets. Volatile accesses are never used: they would be a data
//! race, and undefined behaviour, when two processes touch the same word.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::mem::{align_of, size_of};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64};

use memmap2::MmapRaw;

use super::header::WORDS;
use crate::spec::Job;

/// The fixed header: the job, encoded (see `header.rs`). Written once by the
/// coordinator; the magic word last, with `Release`.
#[repr(C, align(64))]
pub(super) struct Header {
    pub words: [AtomicU64; WORDS],
}

/// One value alone on a 64-byte cache line, so that the balances, the
/// barrier and the lock words do not share a line by accident.
#[repr(C, align(64))]
pub(super) struct Line<T>(pub T);

/// The start barrier, the fault gate, and the words of reused workers.
#[repr(C)]
pub(super) struct BarrierWords {
    /// How many workers have arrived.
    pub arrived: AtomicU32,
    /// 0 while workers gather, 1 once the last one arrived. Futex word.
    pub released: AtomicU32,
    /// In a trial with an injected kill: 0 until the doomed worker holds the
    /// lock it is about to die with (or has passed its fault without taking
    /// a lock), then 1. The other workers wait for it, so the death always
    /// lands while they still need the lock. Futex word.
    pub fault_gate: AtomicU32,
    /// Transfer scenario with `--collide`: how many transferers have made
    /// the first access of their first transfer.
    pub collided: AtomicU32,
    /// Reused workers: the trial the coordinator has released, counted from
    /// 1 (0 before the first; `GENERATION_QUIT` tells them to exit). Never
    /// cleared by a reset: it is what moves from one trial to the next.
    /// Futex word.
    pub generation: AtomicU32,
}

/// What `--trace` and `--schedule` need besides their regions.
#[repr(C)]
pub(super) struct Instruments {
    /// The sequencer: twice the number of traced accesses so far, plus 1
    /// while one is in progress. See `Ledger::sequenced`.
    pub sequencer: AtomicU64,
    /// Why a forced schedule could not be followed: 0 while it can, else an
    /// encoded cause (`schedule::Stuck`). Set once, by compare-and-swap.
    pub stuck: AtomicU64,
    /// The turnstile: steps of the schedule done so far. Futex word.
    pub turn: AtomicU32,
}

/// The robust mutex and how often it was recovered from a dead holder.
#[repr(C)]
pub(super) struct MutexWords {
    /// A robust, process-shared `pthread_mutex_t`; only ever passed to libc by pointer.
    pub mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// Times a locker found `EOWNERDEAD` and made the mutex consistent again.
    pub recoveries: AtomicU64,
}

/// One account's robust mutex and who holds it.
#[repr(C)]
pub(super) struct AccountLock {
    /// A robust, process-shared `pthread_mutex_t`; only ever passed to libc by pointer.
    pub mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// 0 while free, else 1 + the index of the worker that holds it. Written
    /// by the holder only, after locking and before unlocking; in the `spin`
    /// mode it is the lock itself (taken by compare-and-swap from 0).
    pub holder: AtomicU32,
}

/// The fixed part of the mapping. The regions of [`Regions`] follow it.
#[repr(C)]
pub(super) struct Shared {
    pub header: Header,
    pub barrier: Line<BarrierWords>,
    /// 0 = free, 1 = held. Only `strategy::spin` touches it.
    pub spin: Line<AtomicU32>,
    pub mutex: Line<MutexWords>,
    pub instruments: Line<Instruments>,
}

/// One worker's corner of the ledger: its part of the trial (written by the
/// coordinator before the worker starts) and its results (written by the worker).
#[repr(C, align(64))]
pub struct Slot {
    /// `Role` as a number: 0 = depositor, 1 = withdrawer.
    pub(super) role: AtomicU32,
    /// `SlotState` as a number.
    pub(super) state: AtomicU32,
    /// Seed of this worker's private RNG (pause jitter).
    pub(super) seed: AtomicU64,
    /// Fault injection: 1 + the operation (0-based) during which this worker
    /// kills itself while holding the lock; 0, as in a fresh file, for never.
    pub(super) kill_at: AtomicU64,
    /// Operations finished so far, updated after each one.
    pub ops_done: AtomicU64,
    /// Withdrawals that went through (overdraft scenario).
    pub succeeded: AtomicU64,
    /// Withdrawals refused for lack of funds (overdraft scenario).
    pub refused: AtomicU64,
    /// Withdrawals that took the balance below zero.
    pub overdrew: AtomicU64,
    /// CLOCK_MONOTONIC nanoseconds when the worker passed the barrier.
    pub started_ns: AtomicU64,
    /// CLOCK_MONOTONIC nanoseconds when it finished its last operation.
    pub finished_ns: AtomicU64,
    /// Transfer scenario: bit `a` set while this worker holds account `a`'s lock.
    pub(super) holds: AtomicU64,
    /// The lock this worker is blocked on (or about to block on): 0 for
    /// none, 1 + an account, or `GLOBAL_WAIT`. Set before the lock call.
    pub(super) waits_for: AtomicU64,
    /// Bumped after every lock taken and every lock released.
    pub(super) progress: AtomicU64,
    /// CLOCK_MONOTONIC nanoseconds when `waits_for` was last set.
    pub(super) wait_since_ns: AtomicU64,
    /// Audits whose total differed from the bank's true total.
    pub audits_wrong: AtomicU64,
    /// The lowest and highest wrong total this auditor saw.
    pub audit_low: AtomicI64,
    pub audit_high: AtomicI64,
    /// On a database: transactions retried after a serialization failure
    /// (SQLSTATE 40001).
    pub retries: AtomicU64,
    /// On a database: transactions the server aborted to break a deadlock
    /// (SQLSTATE 40P01), then retried.
    pub deadlock_aborts: AtomicU64,
    /// On a database: compare-and-set writes that changed no row, then retried.
    pub cas_misses: AtomicU64,
    /// Why the worker gave up (`vocab::Failure`'s code), 0 if it did not.
    pub failure: AtomicU64,
    /// Reused workers: the last generation this worker is through with
    /// (done and reported, or about to die by an injected fault). Its last
    /// write to the ledger in a trial; never cleared by a reset.
    pub(super) through: AtomicU32,
}

/// One traced operation in the mapping, written only by the worker that made
/// it and read by the coordinator once that worker is gone. The fields mirror
/// `trace::OpRecord`; `kind` is stored last, with `Release`, and 0 means "empty".
#[repr(C)]
pub(super) struct TraceSlot {
    pub kind: AtomicU64,
    pub read_seq: AtomicU64,
    pub write_seq: AtomicU64,
    pub seen: AtomicI64,
    pub written: AtomicI64,
    pub overwritten: AtomicI64,
}

const _: () = {
    assert!(size_of::<Header>() == 192);
    assert!(size_of::<Slot>() == 192);
    assert!(size_of::<Line<AccountLock>>() == 64);
    assert!(align_of::<Slot>() == 64);
    assert!(size_of::<Line<AtomicI64>>() == 64);
    assert!(size_of::<Shared>() == 192 + 64 * 4);
    assert!(size_of::<MutexWords>() <= 64);
    assert!(size_of::<Instruments>() <= 64);
    assert!(size_of::<BarrierWords>() <= 64);
    assert!(size_of::<TraceSlot>() == 48);
    assert!(align_of::<TraceSlot>() == 8);
    assert!(align_of::<Shared>() <= 4096, "mappings are page aligned");
};

/// Types that may be reached through a shared reference into a mapping that
/// other processes write: every byte of them is an atomic, or an
/// `UnsafeCell` only ever handed to libc by pointer.
///
/// # Safety
///
/// Implement only for such types.
pub(super) unsafe trait Shareable {}
// SAFETY: all-atomic, or an UnsafeCell used only through raw pointers (see each type).
unsafe impl Shareable for Shared {}
// SAFETY: an atomic.
unsafe impl Shareable for AtomicU32 {}
// SAFETY: a single atomic, padded.
unsafe impl Shareable for Line<AtomicI64> {}
// SAFETY: every field is an atomic.
unsafe impl Shareable for Slot {}
// SAFETY: an atomic, and an UnsafeCell only ever handed to libc by pointer.
unsafe impl Shareable for Line<AccountLock> {}
// SAFETY: an atomic.
unsafe impl Shareable for AtomicU64 {}
// SAFETY: every field is an atomic.
unsafe impl Shareable for TraceSlot {}

/// Words of a history record before its balances: what, when started, when
/// ended, from and to, amount (see `records.rs`).
pub(super) const HISTORY_FIXED_WORDS: usize = 5;

/// `n` rounded up to a multiple of 64, so every region starts on a cache line.
const fn pad64(n: usize) -> usize {
    n.div_ceil(64) * 64
}

/// Where each variable region of a ledger for a job starts, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Regions {
    pub accounts: usize,
    pub locks: usize,
    pub slots: usize,
    pub flags: usize,
    pub steps: usize,
    pub records: usize,
    pub history: usize,
    /// Words in one history record.
    pub history_words: usize,
    pub size: usize,
}

impl Regions {
    /// The regions of a ledger for `job`, whose sizes the plan (or the
    /// header check) has already bounded.
    pub fn of(job: &Job) -> Regions {
        let accounts = size_of::<Shared>();
        let locks = accounts + size_of::<Line<AtomicI64>>() * job.accounts as usize;
        let slots = locks + size_of::<Line<AccountLock>>() * job.accounts as usize;
        let flags = slots + size_of::<Slot>() * job.workers as usize;
        let steps = flags + pad64(4 * job.workers as usize);
        let records = steps + pad64(4 * job.steps as usize);
        let history =
            records + size_of::<TraceSlot>() * job.workers as usize * job.trace_slots() as usize;
        let history_words = HISTORY_FIXED_WORDS + job.accounts as usize;
        let history_ops = if job.history { job.ops as usize } else { 0 };
        let size = history + 8 * history_words * job.workers as usize * history_ops;
        Regions {
            accounts,
            locks,
            slots,
            flags,
            steps,
            records,
            history,
            history_words,
            size,
        }
    }
}

/// A mapping, reached only as [`Shareable`] values.
pub(super) struct Mapping(MmapRaw);

impl Mapping {
    /// Wraps a mapping of at least `size_of::<Shared>()` bytes.
    pub fn new(map: MmapRaw) -> Mapping {
        assert!(
            map.len() >= size_of::<Shared>(),
            "a mapping holds at least the fixed part"
        );
        Mapping(map)
    }

    /// The value of type `T` at byte `offset`. Panics unless it lies within
    /// the mapping and is aligned for `T`.
    #[inline(always)]
    pub fn at<T: Shareable>(&self, offset: usize) -> &T {
        assert!(
            offset
                .checked_add(size_of::<T>())
                .is_some_and(|end| end <= self.0.len())
                && offset.is_multiple_of(align_of::<T>()),
            "ledger access out of bounds or misaligned"
        );
        // SAFETY:
        // - the value lies within the mapping and is aligned (asserted above;
        //   the mapping starts on a page boundary);
        // - `T: Shareable`: every byte of it is an atomic or an `UnsafeCell`
        //   used only by pointer, so concurrent access from other processes is
        //   interior mutability, not a data race;
        // - the reference borrows `self`, so it cannot outlive the mapping.
        unsafe { &*(self.0.as_ptr().add(offset) as *const T) }
    }

    /// The fixed part at the start of the mapping. Unchecked, unlike
    /// [`Mapping::at`]: the lock words in it are reached on every operation,
    /// and `new` already checked that it fits.
    #[inline(always)]
    pub fn shared(&self) -> &Shared {
        // SAFETY:
        // - `new` asserted that the mapping holds at least a `Shared`, and
        //   the mapping starts on a page boundary, which satisfies its
        //   64-byte alignment;
        // - `Shared: Shareable`: every byte of it is an atomic or an
        //   `UnsafeCell` used only by pointer, so concurrent access from other
        //   processes is interior mutability, not a data race;
        // - the reference borrows `self`, so it cannot outlive the mapping.
        unsafe { &*(self.0.as_ptr() as *const Shared) }
    }
}
