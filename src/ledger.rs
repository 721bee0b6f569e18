//! The shared account: the layout of the memory-mapped ledger, its validation, and every `unsafe` block of the crate.
//!
//! One ledger file backs one trial. The coordinator creates it, writes the job
//! description and initialises the locks; each worker process maps the same
//! file, validates it and then touches it only through the safe accessors here.
//!
//! # Layout
//!
//! ```text
//! offset  size        what
//! 0       128         Header: magic, version, worker count, layout size, the job
//! 128     64          balance (AtomicI64), alone on its cache line
//! 192     64          start barrier: arrived, released (AtomicU32 each)
//! 256     64          spin lock word (AtomicU32)
//! 320     64          robust, process-shared pthread mutex
//! 384     64          instruments: sequencer, turnstile, why a schedule got stuck
//! 448     128 × n     one Slot per worker: its role, seed, fault and results
//! ...     4 × n       lock-wait flags, one per worker (forced schedules), padded to 64
//! ...     4 × steps   the forced schedule, one word per step, padded to 64
//! ...     48 × n × t  trace records: t per worker (`--trace`; t = 0 otherwise)
//! ```
//!
//! The three regions after the slots are sized from [`Dims`], whose numbers
//! the header records; [`Ledger::open`] recomputes the size from them and
//! refuses a file that does not match.
//!
//! # Why structs of atomics
//!
//! The design brief asks for fields reached through `AtomicI64::from_ptr` on
//! aligned offsets. We go one step further: the layout is a `#[repr(C)]` struct
//! whose every field is an atomic (or, for the pthread mutex, an `UnsafeCell`
//! that is only ever handed to libc as a raw pointer). A `&Shared` is then the
//! same thing as a bundle of `from_ptr` results: every byte another process
//! writes is reached through an atomic, never through a plain `&u8` or
//! `&mut [u8]`, and the offsets are computed and checked by the compiler
//! instead of by hand. Volatile accesses are never used: they would be a data
//! race, and undefined behaviour, when two processes touch the same word.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fs::File;
use std::io;
use std::mem::{align_of, offset_of, size_of};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};
use rustix::thread::futex;

use crate::trace::{OpKind, OpRecord};

/// `b"BANKRACE"` read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"BANKRACE");
/// Bumped whenever the layout below changes.
pub const VERSION: u32 = 4;
/// The most workers one ledger holds; the plan enforces it before anything starts.
pub const MAX_WORKERS: u32 = 1024;
/// The most trace records one ledger holds, all workers together (48 MiB).
/// The plan's own, documented limit is lower.
pub const MAX_TRACE_RECORDS: u64 = 1 << 20;
/// The most steps of a forced schedule one ledger holds.
pub const MAX_STEPS: u32 = 1 << 16;

/// How big the variable regions of a ledger are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub workers: u32,
    /// Trace records per worker: the plan's operations when tracing, else 0.
    pub trace_ops: u64,
    /// Steps of the forced schedule, 0 for none.
    pub steps: u32,
}

impl Dims {
    /// A ledger with neither trace nor schedule.
    pub fn plain(workers: u32) -> Dims {
        Dims {
            workers,
            trace_ops: 0,
            steps: 0,
        }
    }

    fn in_range(&self) -> bool {
        (1..=MAX_WORKERS).contains(&self.workers)
            && self.steps <= MAX_STEPS
            && u64::from(self.workers)
                .checked_mul(self.trace_ops)
                .is_some_and(|n| n <= MAX_TRACE_RECORDS)
    }

    fn flags_offset(&self) -> usize {
        size_of::<Shared>() + size_of::<Slot>() * self.workers as usize
    }

    fn steps_offset(&self) -> usize {
        self.flags_offset() + pad64(4 * self.workers as usize)
    }

    fn records_offset(&self) -> usize {
        self.steps_offset() + pad64(4 * self.steps as usize)
    }

    /// The size of the whole mapping. Only meaningful when `in_range`.
    fn size(&self) -> u64 {
        (self.records_offset()
            + size_of::<TraceSlot>() * self.workers as usize * self.trace_ops as usize)
            as u64
    }
}

/// `n` rounded up to a multiple of 64, so every region starts on a cache line.
const fn pad64(n: usize) -> usize {
    n.div_ceil(64) * 64
}

/// What went wrong when a worker checked a ledger it was handed.
#[derive(Debug, PartialEq, Eq)]
pub enum LedgerError {
    /// The file is shorter or longer than a ledger for its worker count.
    Size { actual: u64, expected: u64 },
    /// The first eight bytes are not `BANKRACE`.
    Magic,
    /// A ledger of another format version.
    Version(u32),
    /// The header's own fields do not agree with each other.
    Layout(&'static str),
    /// Not a regular file (a directory, a device, a pipe...).
    NotRegular,
    /// The file belongs to another user.
    Owner(u32),
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
            LedgerError::Io(kind) => write!(f, "cannot read the ledger: {kind}"),
        }
    }
}

impl std::error::Error for LedgerError {}

/// The job every worker of a trial runs, written by the coordinator before any
/// worker starts and read-only afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// `Scenario` as a number (see `plan::Scenario::code`).
    pub scenario: u32,
    /// `StrategyKind` as a number, 0 for no lock (see `plan::StrategyKind::code`).
    pub strategy: u32,
    pub ops: u64,
    pub amount: i64,
    pub initial: i64,
    pub pause_ns: u64,
    pub window_ns: u64,
}

#[cfg(test)]
impl Job {
    /// A lost-update job without pause or window, for tests on threads.
    pub(crate) fn for_tests(ops: u64, initial: i64) -> Job {
        Job {
            scenario: 0,
            strategy: 0,
            ops,
            amount: 1,
            initial,
            pause_ns: 0,
            window_ns: 0,
        }
    }
}

/// The fixed header. Every field is written once by the coordinator.
#[repr(C, align(64))]
struct Header {
    /// [`MAGIC`]; stored last, with `Release`, so a worker that sees it sees the rest.
    magic: AtomicU64,
    version: AtomicU32,
    workers: AtomicU32,
    /// Total size of the mapping in bytes, checked against the file size.
    layout_size: AtomicU64,
    scenario: AtomicU32,
    strategy: AtomicU32,
    ops: AtomicU64,
    amount: AtomicI64,
    initial: AtomicI64,
    pause_ns: AtomicU64,
    window_ns: AtomicU64,
    /// Trace records per worker ([`Dims::trace_ops`]), 0 when not tracing.
    trace_ops: AtomicU64,
    /// Steps of the forced schedule ([`Dims::steps`]), 0 for none.
    steps: AtomicU32,
}

/// One value alone on a 64-byte cache line, so that the balance, the barrier
/// and the lock words do not share a line by accident.
#[repr(C, align(64))]
struct Line<T>(T);

/// The start barrier: workers count themselves in, the last one releases all.
#[repr(C)]
struct BarrierWords {
    /// How many workers have arrived.
    arrived: AtomicU32,
    /// 0 while workers gather, 1 once the last one arrived. Futex word.
    released: AtomicU32,
    /// The fault gate of a trial with an injected kill: 0 until the doomed
    /// worker holds the lock it is about to die with (or has passed its fault
    /// without taking a lock), then 1. The other workers wait for it, so the
    /// death always lands while they still need the lock. Futex word.
    fault_gate: AtomicU32,
}

/// What `--trace` and `--schedule` need besides their regions.
#[repr(C)]
struct Instruments {
    /// The sequencer: twice the number of traced accesses so far, plus 1
    /// while one is in progress. See [`Ledger::sequenced`].
    sequencer: AtomicU64,
    /// Why a forced schedule could not be followed: 0 while it can, else an
    /// encoded cause (`schedule::Stuck`). Set once, by compare-and-swap.
    stuck: AtomicU64,
    /// The turnstile: steps of the schedule done so far. Futex word.
    turn: AtomicU32,
}

/// The fixed part of the mapping. Slots follow it.
#[repr(C)]
struct Shared {
    header: Header,
    balance: Line<AtomicI64>,
    barrier: Line<BarrierWords>,
    /// 0 = free, 1 = held. Only `strategy::spin` touches it.
    spin: Line<AtomicU32>,
    mutex: Line<MutexWords>,
    instruments: Line<Instruments>,
}

/// One traced operation in the mapping, written only by the worker that made
/// it and read by the coordinator once that worker is gone. The fields mirror
/// [`OpRecord`]; `kind` is stored last, with `Release`, and 0 means "empty".
#[repr(C)]
struct TraceSlot {
    kind: AtomicU64,
    read_seq: AtomicU64,
    write_seq: AtomicU64,
    seen: AtomicI64,
    written: AtomicI64,
    overwritten: AtomicI64,
}

/// The robust mutex and how often it was recovered from a dead holder.
#[repr(C)]
struct MutexWords {
    /// A robust, process-shared `pthread_mutex_t`; only ever passed to libc by pointer.
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    /// Times a locker found `EOWNERDEAD` and made the mutex consistent again.
    recoveries: AtomicU64,
}

/// One worker's corner of the ledger: its configuration (written by the
/// coordinator before the worker starts) and its results (written by the worker).
#[repr(C, align(64))]
pub struct Slot {
    /// 0 = depositor, 1 = withdrawer.
    role: AtomicU32,
    /// [`SlotState`] as a number.
    state: AtomicU32,
    /// Seed of this worker's private RNG (pause jitter).
    seed: AtomicU64,
    /// Fault injection: 1 + the operation (0-based) during which this worker
    /// kills itself while holding the lock; 0, as in a fresh file, for never.
    kill_at: AtomicU64,
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
}

/// Where a worker is in its life, as seen through its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Idle = 0,
    Arrived = 1,
    Done = 2,
}

const _: () = {
    assert!(size_of::<Header>() == 128);
    assert!(size_of::<Slot>() == 128);
    assert!(align_of::<Slot>() == 64);
    assert!(size_of::<Shared>() == 128 + 64 * 5);
    assert!(size_of::<MutexWords>() <= 64);
    assert!(size_of::<Instruments>() <= 64);
    assert!(size_of::<TraceSlot>() == 48);
    assert!(align_of::<TraceSlot>() == 8);
    assert!(align_of::<Shared>() <= 4096, "mappings are page aligned");
};

impl Slot {
    /// The worker's role: `true` for a depositor.
    pub fn is_depositor(&self) -> bool {
        self.role.load(Ordering::Relaxed) == 0
    }

    pub fn seed(&self) -> u64 {
        self.seed.load(Ordering::Relaxed)
    }

    /// The operation during which this worker is to die holding the lock.
    pub fn kill_at(&self) -> Option<u64> {
        self.kill_at.load(Ordering::Relaxed).checked_sub(1)
    }

    pub fn state(&self) -> SlotState {
        match self.state.load(Ordering::Acquire) {
            1 => SlotState::Arrived,
            2 => SlotState::Done,
            _ => SlotState::Idle,
        }
    }

    /// Marks the slot done; `Release` publishes every result written before.
    pub fn mark_done(&self) {
        self.state.store(SlotState::Done as u32, Ordering::Release);
    }
}

/// The header fields that decide whether a file is a ledger we can map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFields {
    pub magic: u64,
    pub version: u32,
    pub workers: u32,
    pub layout_size: u64,
    pub trace_ops: u64,
    pub steps: u32,
}

impl HeaderFields {
    /// Decodes the fields from a file's first bytes, at `Header`'s offsets.
    pub fn from_bytes(bytes: &[u8; size_of::<Header>()]) -> HeaderFields {
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        HeaderFields {
            magic: u64_at(offset_of!(Header, magic)),
            version: u32_at(offset_of!(Header, version)),
            workers: u32_at(offset_of!(Header, workers)),
            layout_size: u64_at(offset_of!(Header, layout_size)),
            trace_ops: u64_at(offset_of!(Header, trace_ops)),
            steps: u32_at(offset_of!(Header, steps)),
        }
    }
}

/// Size in bytes of the fixed header that [`HeaderFields::from_bytes`] reads.
pub const HEADER_SIZE: usize = size_of::<Header>();

/// Checks a header against the size of the file it came from and returns
/// the ledger's dimensions. Pure: property-tested with random bytes and sizes.
pub fn check_header(h: HeaderFields, actual: u64) -> Result<Dims, LedgerError> {
    if h.magic != MAGIC {
        return Err(LedgerError::Magic);
    }
    if h.version != VERSION {
        return Err(LedgerError::Version(h.version));
    }
    if !(1..=MAX_WORKERS).contains(&h.workers) {
        return Err(LedgerError::Layout("worker count out of range"));
    }
    let dims = Dims {
        workers: h.workers,
        trace_ops: h.trace_ops,
        steps: h.steps,
    };
    if !dims.in_range() {
        return Err(LedgerError::Layout("trace or schedule size out of range"));
    }
    let expected = dims.size();
    if h.layout_size != expected {
        return Err(LedgerError::Layout(
            "layout size does not match worker, trace and schedule sizes",
        ));
    }
    if actual != expected {
        return Err(LedgerError::Size { actual, expected });
    }
    Ok(dims)
}

/// A mapped ledger. Dropping it unmaps the memory.
pub struct Ledger {
    map: MmapRaw,
    dims: Dims,
}

// SAFETY (for the two impls below):
// - every byte of the mapping is reached through atomics, or through the
//   pthread mutex, which is designed for concurrent use from many threads and
//   processes; nothing in `Ledger` is tied to the thread that created it.
unsafe impl Send for Ledger {}
unsafe impl Sync for Ledger {}

impl Ledger {
    /// Size in bytes of a ledger for `workers` workers, without trace or schedule.
    pub fn size_for(workers: u32) -> u64 {
        Dims::plain(workers).size()
    }

    /// Size in bytes of a ledger of these dimensions.
    pub fn size_of(dims: &Dims) -> u64 {
        dims.size()
    }

    /// Sizes `file` for `workers`, maps it, writes `job` and initialises the
    /// locks. The coordinator's side.
    pub fn create(file: &File, workers: u32, job: &Job) -> io::Result<Ledger> {
        Self::create_with(file, &Dims::plain(workers), job)
    }

    /// [`Ledger::create`] with room for a trace and a forced schedule.
    pub fn create_with(file: &File, dims: &Dims, job: &Job) -> io::Result<Ledger> {
        assert!(
            dims.in_range(),
            "the plan bounds workers, trace and schedule"
        );
        let size = dims.size();
        file.set_len(size)?;
        // Reserve the blocks now: on a full tmpfs, touching a page of a sparse
        // file would raise SIGBUS; fallocate turns that into ENOSPC here.
        rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, size)?;
        let map = MmapOptions::new().len(size as usize).map_raw(file)?;
        let ledger = Ledger { map, dims: *dims };
        ledger.initialise(size, job)?;
        Ok(ledger)
    }

    /// An anonymous, private-to-this-process ledger, for unit tests and
    /// benchmarks that run strategies on threads.
    pub fn anonymous(workers: u32, job: &Job) -> io::Result<Ledger> {
        Self::anonymous_with(&Dims::plain(workers), job)
    }

    /// [`Ledger::anonymous`] with room for a trace and a forced schedule.
    pub fn anonymous_with(dims: &Dims, job: &Job) -> io::Result<Ledger> {
        assert!(
            dims.in_range(),
            "the plan bounds workers, trace and schedule"
        );
        let size = dims.size();
        let map = MmapRaw::from(MmapOptions::new().len(size as usize).map_anon()?);
        let ledger = Ledger { map, dims: *dims };
        ledger.initialise(size, job)?;
        Ok(ledger)
    }

    /// Checks a ledger someone else created and maps it only if it passes:
    /// a regular file of this user, of the exact size its header announces,
    /// with the right magic, version and layout. The worker's side.
    ///
    /// The header is first read with `pread`, so a file that fails is never
    /// mapped; after mapping, the header is checked once more through the
    /// mapping, in case the file changed in between.
    pub fn open(file: &File) -> Result<Ledger, LedgerError> {
        let meta = file.metadata().map_err(|e| LedgerError::Io(e.kind()))?;
        if !meta.file_type().is_file() {
            return Err(LedgerError::NotRegular);
        }
        let owner = rustix::process::geteuid().as_raw();
        if meta.uid() != owner {
            return Err(LedgerError::Owner(meta.uid()));
        }
        let actual = meta.len();
        let mut prefix = [0u8; size_of::<Header>()];
        if actual < prefix.len() as u64 {
            return Err(LedgerError::Size {
                actual,
                expected: Self::size_for(1),
            });
        }
        file.read_exact_at(&mut prefix, 0)
            .map_err(|e| LedgerError::Io(e.kind()))?;
        let dims = check_header(HeaderFields::from_bytes(&prefix), actual)?;
        let map = MmapOptions::new()
            .len(actual as usize)
            .map_raw(file)
            .map_err(|e| LedgerError::Io(e.kind()))?;
        let ledger = Ledger { map, dims };
        let h = &ledger.shared().header;
        let again = HeaderFields {
            magic: h.magic.load(Ordering::Acquire),
            version: h.version.load(Ordering::Relaxed),
            workers: h.workers.load(Ordering::Relaxed),
            layout_size: h.layout_size.load(Ordering::Relaxed),
            trace_ops: h.trace_ops.load(Ordering::Relaxed),
            steps: h.steps.load(Ordering::Relaxed),
        };
        if check_header(again, actual)? != dims {
            return Err(LedgerError::Layout("header changed while being mapped"));
        }
        Ok(ledger)
    }

    fn initialise(&self, size: u64, job: &Job) -> io::Result<()> {
        let h = &self.shared().header;
        h.version.store(VERSION, Ordering::Relaxed);
        h.workers.store(self.dims.workers, Ordering::Relaxed);
        h.layout_size.store(size, Ordering::Relaxed);
        h.scenario.store(job.scenario, Ordering::Relaxed);
        h.strategy.store(job.strategy, Ordering::Relaxed);
        h.ops.store(job.ops, Ordering::Relaxed);
        h.amount.store(job.amount, Ordering::Relaxed);
        h.initial.store(job.initial, Ordering::Relaxed);
        h.pause_ns.store(job.pause_ns, Ordering::Relaxed);
        h.window_ns.store(job.window_ns, Ordering::Relaxed);
        h.trace_ops.store(self.dims.trace_ops, Ordering::Relaxed);
        h.steps.store(self.dims.steps, Ordering::Relaxed);
        self.balance().store(job.initial, Ordering::Relaxed);
        self.init_mutex()?;
        h.magic.store(MAGIC, Ordering::Release);
        Ok(())
    }

    fn shared(&self) -> &Shared {
        // SAFETY:
        // - the mapping is at least `size_of::<Shared>()` bytes (checked in
        //   `create`, `anonymous` and `open`) and page aligned, which satisfies
        //   `Shared`'s 64-byte alignment;
        // - every field of `Shared` is an atomic or an `UnsafeCell`, so shared
        //   access from other processes is interior mutability, not a data race;
        // - the reference borrows `self`, so it cannot outlive the mapping.
        unsafe { &*(self.map.as_ptr() as *const Shared) }
    }

    /// The worker count recorded in the header.
    pub fn workers(&self) -> u32 {
        self.dims.workers
    }

    /// The sizes of the trace and schedule regions, as the header records them.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The job written by the coordinator.
    pub fn job(&self) -> Job {
        let h = &self.shared().header;
        Job {
            scenario: h.scenario.load(Ordering::Relaxed),
            strategy: h.strategy.load(Ordering::Relaxed),
            ops: h.ops.load(Ordering::Relaxed),
            amount: h.amount.load(Ordering::Relaxed),
            initial: h.initial.load(Ordering::Relaxed),
            pause_ns: h.pause_ns.load(Ordering::Relaxed),
            window_ns: h.window_ns.load(Ordering::Relaxed),
        }
    }

    /// The account balance every worker races on.
    pub fn balance(&self) -> &AtomicI64 {
        &self.shared().balance.0
    }

    /// The spin lock word: 0 free, 1 held.
    pub fn spin_word(&self) -> &AtomicU32 {
        &self.shared().spin.0
    }

    fn instruments(&self) -> &Instruments {
        &self.shared().instruments.0
    }

    /// Runs `access` on the balance as one step of the sequencer and returns
    /// its sequence number (1 for the first access of the trial) with its
    /// result.
    ///
    /// The sequencer is a tiny lock around *one* access, not around a
    /// read-modify-write: it makes "touch the balance" and "take the next
    /// number" one indivisible step, so that the numbers order the accesses
    /// exactly as the balance saw them. (A counter taken just before or after
    /// an unguarded access could be overtaken by another worker's access in
    /// between, and the record would then lie about the order.) The race
    /// window between a worker's read and its write stays wide open: between
    /// two sequenced accesses any number of other workers' accesses can land,
    /// which is the whole point. It costs two more atomic operations per
    /// access; the README measures what that does to the race.
    pub fn sequenced<T>(&self, access: impl FnOnce(&AtomicI64) -> T) -> (u64, T) {
        let word = &self.instruments().sequencer;
        let mut spins = 0u32;
        let taken = loop {
            let s = word.load(Ordering::Relaxed);
            if s & 1 == 0
                && word
                    .compare_exchange_weak(s, s | 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                break s;
            }
            // The holder is between two instructions; if it was preempted
            // there, spinning on would only delay it.
            if spins < 64 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        };
        let value = access(self.balance());
        word.store(taken + 2, Ordering::Release);
        (taken / 2 + 1, value)
    }

    /// Stores worker `worker`'s record of operation `op` (0-based). Only that
    /// worker writes these words. Panics if either index is out of range.
    pub fn store_record(&self, worker: u32, op: u64, rec: &OpRecord) {
        let t = self.trace_slot(worker, op);
        t.read_seq.store(rec.read_seq, Ordering::Relaxed);
        t.write_seq.store(rec.write_seq, Ordering::Relaxed);
        t.seen.store(rec.seen, Ordering::Relaxed);
        t.written.store(rec.written, Ordering::Relaxed);
        t.overwritten.store(rec.overwritten, Ordering::Relaxed);
        t.kind.store(rec.kind.code(), Ordering::Release);
    }

    /// Worker `worker`'s record of operation `op`, or `None` if it never stored one.
    pub fn load_record(&self, worker: u32, op: u64) -> Option<OpRecord> {
        let t = self.trace_slot(worker, op);
        let kind = OpKind::from_code(t.kind.load(Ordering::Acquire))?;
        Some(OpRecord {
            kind,
            read_seq: t.read_seq.load(Ordering::Relaxed),
            write_seq: t.write_seq.load(Ordering::Relaxed),
            seen: t.seen.load(Ordering::Relaxed),
            written: t.written.load(Ordering::Relaxed),
            overwritten: t.overwritten.load(Ordering::Relaxed),
        })
    }

    fn trace_slot(&self, worker: u32, op: u64) -> &TraceSlot {
        assert!(
            worker < self.dims.workers && op < self.dims.trace_ops,
            "trace record index out of range"
        );
        let index = worker as usize * self.dims.trace_ops as usize + op as usize;
        let offset = self.dims.records_offset() + size_of::<TraceSlot>() * index;
        // SAFETY:
        // - `offset + size_of::<TraceSlot>()` is within the mapping: the index
        //   is below `workers × trace_ops`, the records region's length, and
        //   the mapping's size was checked to be `self.dims.size()`;
        // - `records_offset` is a multiple of 64 and records are 48 bytes, so
        //   `offset` is a multiple of 8, as `TraceSlot`'s atomics need;
        // - `TraceSlot`'s fields are all atomics; the reference borrows `self`.
        unsafe { &*(self.map.as_ptr().add(offset) as *const TraceSlot) }
    }

    /// The steps of the forced schedule, 0 for none.
    pub fn steps(&self) -> u32 {
        self.dims.steps
    }

    /// Writes step `index` of the forced schedule: `worker` makes an access,
    /// a write if `write` is set, else a read. Coordinator only, before the
    /// workers start.
    pub fn set_step(&self, index: u32, worker: u32, write: bool) {
        self.step_word(index)
            .store(worker << 1 | u32::from(write), Ordering::Relaxed);
    }

    /// Step `index` of the forced schedule: (worker, is a write).
    pub fn step(&self, index: u32) -> (u32, bool) {
        let w = self.step_word(index).load(Ordering::Relaxed);
        (w >> 1, w & 1 == 1)
    }

    fn step_word(&self, index: u32) -> &AtomicU32 {
        assert!(index < self.dims.steps, "schedule step out of range");
        let offset = self.dims.steps_offset() + 4 * index as usize;
        // SAFETY:
        // - the steps region holds `self.dims.steps` words within the checked
        //   mapping and `index` is below that;
        // - it starts on a multiple of 64, so `offset` is 4-byte aligned;
        // - the word is only ever reached as an atomic; the reference borrows `self`.
        unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU32) }
    }

    /// Worker `worker`'s lock-wait flag: 1 while it waits to acquire a lock
    /// (set and cleared by the worker itself), so that a worker following a
    /// forced schedule can tell that whoever's turn it is cannot move.
    pub fn lock_wait_flag(&self, worker: u32) -> &AtomicU32 {
        assert!(worker < self.dims.workers, "worker index out of range");
        let offset = self.dims.flags_offset() + 4 * worker as usize;
        // SAFETY:
        // - the flags region holds one word per worker within the checked
        //   mapping and `worker` is below the worker count;
        // - it starts on a multiple of 64, so `offset` is 4-byte aligned;
        // - the word is only ever reached as an atomic; the reference borrows `self`.
        unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU32) }
    }

    /// The turnstile: how many steps of the forced schedule are done.
    pub fn turn(&self) -> u32 {
        self.instruments().turn.load(Ordering::Acquire)
    }

    /// Marks one more step done and wakes every worker waiting at the turnstile.
    pub fn advance_turn(&self) -> io::Result<()> {
        let turn = &self.instruments().turn;
        turn.fetch_add(1, Ordering::Release);
        futex::wake(turn, futex::Flags::empty(), i32::MAX as u32)?;
        Ok(())
    }

    /// Sleeps until the turnstile moves past `seen`, `timeout` passes, or a
    /// signal arrives, whichever is first. Callers re-check in a loop.
    pub fn wait_turn(&self, seen: u32, timeout: Duration) -> io::Result<()> {
        let ts = rustix::time::Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match futex::wait(
            &self.instruments().turn,
            futex::Flags::empty(),
            seen,
            Some(&ts),
        ) {
            Ok(()) => Ok(()),
            Err(e)
                if e == rustix::io::Errno::AGAIN
                    || e == rustix::io::Errno::INTR
                    || e == rustix::io::Errno::TIMEDOUT =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records why the forced schedule cannot be followed, unless a cause is
    /// already recorded, and wakes every worker at the turnstile so that
    /// they give up too. Returns whether this cause was the one recorded.
    pub fn report_stuck(&self, cause: u64) -> io::Result<bool> {
        assert!(cause != 0, "0 means not stuck");
        let ins = self.instruments();
        let first = ins
            .stuck
            .compare_exchange(0, cause, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        futex::wake(&ins.turn, futex::Flags::empty(), i32::MAX as u32)?;
        Ok(first)
    }

    /// The encoded cause recorded by [`Ledger::report_stuck`], 0 for none.
    pub fn stuck(&self) -> u64 {
        self.instruments().stuck.load(Ordering::Acquire)
    }

    /// Worker `index`'s slot. Panics if `index` is out of range: callers
    /// check indices against [`Ledger::workers`] first.
    pub fn slot(&self, index: u32) -> &Slot {
        assert!(index < self.dims.workers, "slot index out of range");
        let offset = size_of::<Shared>() + size_of::<Slot>() * index as usize;
        // SAFETY:
        // - `offset + size_of::<Slot>()` is within the mapping, whose size was
        //   checked to be `self.dims.size()`, which starts the slots there;
        // - `offset` is a multiple of 64 from a page-aligned base, as `Slot` needs;
        // - `Slot`'s fields are all atomics; the reference borrows `self`.
        unsafe { &*(self.map.as_ptr().add(offset) as *const Slot) }
    }

    /// Writes a worker's configuration into its slot. Coordinator only, before
    /// the worker is started.
    pub fn configure_slot(&self, index: u32, depositor: bool, seed: u64, kill_at: Option<u64>) {
        let slot = self.slot(index);
        slot.role.store(u32::from(!depositor), Ordering::Relaxed);
        slot.seed.store(seed, Ordering::Relaxed);
        let encoded = kill_at.map_or(0, |op| op.saturating_add(1));
        slot.kill_at.store(encoded, Ordering::Relaxed);
    }

    /// How often a locker recovered the robust mutex from a dead holder.
    pub fn mutex_recoveries(&self) -> u64 {
        self.shared().mutex.0.recoveries.load(Ordering::Relaxed)
    }

    /// Counts this worker in at the start barrier and blocks until every
    /// worker of the trial has arrived, so that they start together instead
    /// of in the order they happened to be spawned.
    pub fn wait_at_barrier(&self, index: u32) -> io::Result<()> {
        self.slot(index)
            .state
            .store(SlotState::Arrived as u32, Ordering::Release);
        let b = &self.shared().barrier.0;
        if b.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.dims.workers {
            b.released.store(1, Ordering::Release);
            // A shared (not PRIVATE) futex: the waiters are other processes.
            // The count is an `int` in the kernel: `i32::MAX` means "everyone".
            futex::wake(&b.released, futex::Flags::empty(), i32::MAX as u32)?;
            return Ok(());
        }
        while b.released.load(Ordering::Acquire) == 0 {
            match futex::wait(&b.released, futex::Flags::empty(), 0, None) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::INTR => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Whether some worker of this trial has an injected fault.
    pub fn fault_injected(&self) -> bool {
        (0..self.dims.workers).any(|w| self.slot(w).kill_at().is_some())
    }

    /// Opens the fault gate and wakes every worker waiting at it. Called by
    /// the doomed worker just before it dies holding the lock, or right after
    /// the operation it was to die in, if that operation held nothing.
    pub fn open_fault_gate(&self) {
        let gate = &self.shared().barrier.0.fault_gate;
        gate.store(1, Ordering::Release);
        // Nothing useful can be done if waking fails: the waiters re-check
        // the word at least every 100ms.
        let _ = futex::wake(gate, futex::Flags::empty(), i32::MAX as u32);
    }

    /// Blocks until the fault gate is open. Waits in slices of 100ms so that
    /// a lost wake-up costs a delay, never a hang; the coordinator's timeout
    /// bounds the whole trial.
    pub fn wait_at_fault_gate(&self) -> io::Result<()> {
        let gate = &self.shared().barrier.0.fault_gate;
        let slice = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        while gate.load(Ordering::Acquire) == 0 {
            match futex::wait(gate, futex::Flags::empty(), 0, Some(&slice)) {
                Ok(()) => {}
                Err(e)
                    if e == rustix::io::Errno::AGAIN
                        || e == rustix::io::Errno::INTR
                        || e == rustix::io::Errno::TIMEDOUT => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn mutex_ptr(&self) -> *mut libc::pthread_mutex_t {
        self.shared().mutex.0.mutex.get()
    }

    fn init_mutex(&self) -> io::Result<()> {
        // SAFETY:
        // - `attr` is a local that lives until after `pthread_mutexattr_destroy`;
        // - the mutex pointer points into the mapping, is suitably aligned
        //   (its line is 64-byte aligned) and no other process has been started
        //   yet, so nothing else can be using the mutex while it is initialised.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            check(libc::pthread_mutexattr_init(&mut attr))?;
            let set = check(libc::pthread_mutexattr_setpshared(
                &mut attr,
                libc::PTHREAD_PROCESS_SHARED,
            ))
            .and_then(|()| {
                check(libc::pthread_mutexattr_setrobust(
                    &mut attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))
            })
            .and_then(|()| check(libc::pthread_mutex_init(self.mutex_ptr(), &attr)));
            libc::pthread_mutexattr_destroy(&mut attr);
            set
        }
    }

    /// Locks the robust mutex. If its previous holder died while holding it,
    /// marks it consistent again and reports that in the guard.
    pub fn lock_mutex(&self) -> io::Result<MutexGuard<'_>> {
        // SAFETY:
        // - the mutex was initialised by `init_mutex` before the magic number
        //   was published, and `open` refuses a ledger without it;
        // - it lives in the mapping, which outlives the returned guard.
        let rc = unsafe { libc::pthread_mutex_lock(self.mutex_ptr()) };
        let recovered = match rc {
            0 => false,
            libc::EOWNERDEAD => {
                // SAFETY: we own the mutex now (EOWNERDEAD means the lock was
                // acquired), which is what `pthread_mutex_consistent` requires.
                check(unsafe { libc::pthread_mutex_consistent(self.mutex_ptr()) })?;
                self.shared()
                    .mutex
                    .0
                    .recoveries
                    .fetch_add(1, Ordering::Relaxed);
                true
            }
            e => return Err(io::Error::from_raw_os_error(e)),
        };
        Ok(MutexGuard {
            ledger: self,
            recovered,
        })
    }
}

/// Holds the robust mutex; unlocks it when dropped.
pub struct MutexGuard<'a> {
    ledger: &'a Ledger,
    /// The previous holder died while holding the lock.
    pub recovered: bool,
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this guard exists only while this thread holds the mutex.
        unsafe {
            libc::pthread_mutex_unlock(self.ledger.mutex_ptr());
        }
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, Write};

    fn job() -> Job {
        Job::for_tests(5, 200)
    }

    #[test]
    fn create_then_open_round_trips_the_job() {
        let file = tempfile::tempfile().unwrap();
        let created = Ledger::create(&file, 3, &job()).unwrap();
        created.configure_slot(2, false, 42, Some(3));
        let opened = Ledger::open(&file).unwrap();
        assert_eq!(opened.workers(), 3);
        assert_eq!(opened.job(), job());
        assert_eq!(opened.balance().load(Ordering::Relaxed), 200);
        assert!(!opened.slot(2).is_depositor());
        assert_eq!(opened.slot(2).seed(), 42);
        assert_eq!(opened.slot(2).kill_at(), Some(3));
        assert_eq!(opened.slot(1).kill_at(), None);
    }

    #[test]
    fn open_rejects_bad_magic_version_and_size() {
        let file = tempfile::tempfile().unwrap();
        drop(Ledger::create(&file, 2, &job()).unwrap());
        let mut f = file.try_clone().unwrap();

        f.write_all_at_start(b"NOTBANKR");
        assert_eq!(err(&file), LedgerError::Magic);
        f.write_all_at_start(b"BANKRACE\x09\0\0\0");
        assert_eq!(err(&file), LedgerError::Version(9));
        f.write_all_at_start(b"BANKRACE\x03\0\0\0");
        Ledger::open(&file).unwrap();

        file.set_len(Ledger::size_for(2) + 64).unwrap();
        assert!(matches!(err(&file), LedgerError::Size { .. }));
        file.set_len(10).unwrap();
        assert!(matches!(err(&file), LedgerError::Size { .. }));
    }

    fn err(file: &File) -> LedgerError {
        match Ledger::open(file) {
            Ok(_) => panic!("a bad ledger was accepted"),
            Err(e) => e,
        }
    }

    trait WriteAtStart {
        fn write_all_at_start(&mut self, bytes: &[u8]);
    }
    impl WriteAtStart for File {
        fn write_all_at_start(&mut self, bytes: &[u8]) {
            self.rewind().unwrap();
            self.write_all(bytes).unwrap();
        }
    }

    #[test]
    fn trace_records_and_schedule_steps_survive_open() {
        let file = tempfile::tempfile().unwrap();
        let dims = Dims {
            workers: 2,
            trace_ops: 3,
            steps: 5,
        };
        let created = Ledger::create_with(&file, &dims, &job()).unwrap();
        let rec = OpRecord {
            kind: OpKind::Update,
            read_seq: 4,
            write_seq: 9,
            seen: 200,
            written: 201,
            overwritten: 199,
        };
        created.store_record(1, 2, &rec);
        created.set_step(4, 1, true);
        let opened = Ledger::open(&file).unwrap();
        assert_eq!(opened.dims(), dims);
        assert_eq!(opened.load_record(1, 2), Some(rec));
        assert_eq!(opened.load_record(0, 0), None);
        assert_eq!(opened.step(4), (1, true));
        assert_eq!(opened.step(0), (0, false));
        // A file cut short of its trace region is refused.
        file.set_len(Ledger::size_of(&dims) - 48).unwrap();
        assert!(matches!(err(&file), LedgerError::Size { .. }));
    }

    #[test]
    fn the_sequencer_numbers_every_access_once() {
        let ledger = Ledger::anonymous(4, &job()).unwrap();
        let seqs: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..500)
                            .map(|_| ledger.sequenced(|b| b.fetch_add(1, Ordering::Relaxed)).0)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=2000).collect::<Vec<u64>>());
        assert_eq!(ledger.balance().load(Ordering::Relaxed), 2200);
    }

    #[test]
    fn robust_mutex_locks_and_unlocks() {
        let ledger = Ledger::anonymous(1, &job()).unwrap();
        for _ in 0..3 {
            let g = ledger.lock_mutex().unwrap();
            assert!(!g.recovered);
        }
    }

    #[test]
    fn robust_mutex_recovers_from_a_holder_that_died() {
        // A robust mutex is owned by a thread; when the thread ends while
        // holding it, the kernel marks it and the next locker gets
        // EOWNERDEAD: the same path a dead worker process takes.
        let ledger = Ledger::anonymous(1, &job()).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| std::mem::forget(ledger.lock_mutex().unwrap()));
        });
        let g = ledger.lock_mutex().unwrap();
        assert!(g.recovered);
        drop(g);
        assert_eq!(ledger.mutex_recoveries(), 1);
        assert!(!ledger.lock_mutex().unwrap().recovered, "consistent again");
    }

    proptest::proptest! {
        #[test]
        fn header_check_never_accepts_garbage(bytes in proptest::collection::vec(proptest::num::u8::ANY, HEADER_SIZE), size in 0u64..1 << 20) {
            let bytes: [u8; HEADER_SIZE] = bytes.try_into().unwrap();
            let fields = HeaderFields::from_bytes(&bytes);
            if let Ok(dims) = check_header(fields, size) {
                proptest::prop_assert_eq!(fields.magic, MAGIC);
                proptest::prop_assert_eq!(size, Ledger::size_of(&dims));
            }
        }

        #[test]
        fn header_check_finds_the_one_wrong_field(workers in 1u32..=MAX_WORKERS, field in 0usize..4, noise in 1u64..u64::MAX) {
            let good = HeaderFields { magic: MAGIC, version: VERSION, workers, layout_size: Ledger::size_for(workers), trace_ops: 0, steps: 0 };
            let size = Ledger::size_for(workers);
            proptest::prop_assert_eq!(check_header(good, size), Ok(Dims::plain(workers)));
            let mut bad = good;
            match field {
                0 => bad.magic ^= noise,
                1 => bad.version ^= (noise as u32).max(1),
                2 => bad.workers ^= (noise as u32).max(1),
                _ => bad.layout_size ^= noise,
            }
            proptest::prop_assert!(check_header(bad, size).is_err());
        }

        #[test]
        fn open_never_panics_on_random_files(content in proptest::collection::vec(proptest::num::u8::ANY, 0..4096), magic in proptest::bool::ANY) {
            let mut content = content;
            if magic && content.len() >= 8 {
                content[..8].copy_from_slice(b"BANKRACE");
            }
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&content).unwrap();
            if let Ok(ledger) = Ledger::open(&file) {
                proptest::prop_assert_eq!(content.len() as u64, Ledger::size_of(&ledger.dims()));
            }
        }
    }

    #[test]
    fn open_refuses_what_is_not_a_regular_file() {
        let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
        assert_eq!(err(&dir), LedgerError::NotRegular);
        let null = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(err(&null), LedgerError::NotRegular);
    }

    #[test]
    fn barrier_releases_when_all_arrived() {
        let ledger = Ledger::anonymous(4, &job()).unwrap();
        std::thread::scope(|s| {
            for i in 0..4 {
                let ledger = &ledger;
                s.spawn(move || ledger.wait_at_barrier(i).unwrap());
            }
        });
        for i in 0..4 {
            assert_eq!(ledger.slot(i).state(), SlotState::Arrived);
        }
    }
}
