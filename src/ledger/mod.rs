//! The memory-mapped ledger one trial's processes share: created from a `TrialSpec`, checked before a worker trusts it, reset for the next trial. All of the crate's `unsafe` lives in this folder.
//!
//! - `layout.rs`: the `#[repr(C)]` layout and the one accessor that turns an
//!   offset into a reference (the only `unsafe` besides the mutex's and the
//!   byte-range lock's FFI);
//! - `header.rs`: the job encoded as header words, and its pure check;
//! - `mutex.rs`: the robust, process-shared pthread mutexes;
//! - `sync.rs`: the barrier, fault gate, turnstile and sequencer;
//! - `waits.rs`: the account locks' holders and the workers' wait-for words;
//! - `range.rs`: byte-range OFD locks on the ledger file, one byte per account;
//! - `records.rs`: the transfer scenario's history records.
//!
//! One ledger backs one trial at a time. The coordinator creates it from the
//! trial's spec, and each worker process maps the same file, checks it and
//! reads its own part back. [`Ledger::reset`] writes the next trial's spec
//! into the same mapping, once every worker of the last one is gone or,
//! with reused workers, idle (waiting for the next generation).

mod header;
mod layout;
mod mutex;
mod range;
mod records;
mod sync;
mod waits;

pub use header::LedgerError;
pub use layout::Slot;
pub use mutex::MutexGuard;
pub(crate) use mutex::MutexId;
pub use sync::GENERATION_QUIT;
pub use waits::WaitWords;
pub(crate) use waits::{AccountGuard, PerAccount};

use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use crate::spec::{Job, StepSpec, TrialSpec, WorkerSpec};
use crate::trace::{LockRecord, LockStep, OpKind, OpRecord};
use crate::vocab::Role;
use layout::{AccountLock, Line, Mapping, Regions, TraceSlot};

/// A mapped ledger. Dropping it unmaps the memory.
pub struct Ledger {
    map: Mapping,
    job: Job,
    regions: Regions,
}

/// Where a worker is in its life, as seen through its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Idle = 0,
    Arrived = 1,
    Done = 2,
}

impl Slot {
    pub(crate) fn role(&self) -> Role {
        Role::from_code(self.role.load(Ordering::Relaxed)).unwrap_or(Role::Withdrawer)
    }

    pub fn seed(&self) -> u64 {
        self.seed.load(Ordering::Relaxed)
    }

    /// The operation during which this worker is to die holding the lock.
    pub(crate) fn kill_at(&self) -> Option<u64> {
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
    pub(crate) fn mark_done(&self) {
        self.state.store(SlotState::Done as u32, Ordering::Release);
    }

    /// This worker's part of the trial, as the coordinator wrote it.
    pub fn spec(&self) -> WorkerSpec {
        WorkerSpec {
            role: self.role(),
            seed: self.seed(),
            kill_at: self.kill_at(),
        }
    }

    fn configure(&self, w: &WorkerSpec) {
        self.role.store(w.role.code(), Ordering::Relaxed);
        self.seed.store(w.seed, Ordering::Relaxed);
        let kill = w.kill_at.map_or(0, |op| op.saturating_add(1));
        self.kill_at.store(kill, Ordering::Relaxed);
        self.state.store(SlotState::Idle as u32, Ordering::Relaxed);
        for counter in self.results() {
            counter.store(0, Ordering::Relaxed);
        }
        self.audit_low.store(i64::MAX, Ordering::Relaxed);
        self.audit_high.store(i64::MIN, Ordering::Relaxed);
    }

    fn results(&self) -> [&AtomicU64; 15] {
        [
            &self.ops_done,
            &self.succeeded,
            &self.refused,
            &self.overdrew,
            &self.started_ns,
            &self.finished_ns,
            &self.holds,
            &self.waits_for,
            &self.progress,
            &self.wait_since_ns,
            &self.audits_wrong,
            &self.retries,
            &self.deadlock_aborts,
            &self.cas_misses,
            &self.failure,
        ]
    }

    /// Records an audit that saw `total` where the bank holds `truth`.
    pub(crate) fn audited(&self, total: i64, truth: i64) {
        if total != truth {
            self.audits_wrong.fetch_add(1, Ordering::Relaxed);
            self.audit_low.fetch_min(total, Ordering::Relaxed);
            self.audit_high.fetch_max(total, Ordering::Relaxed);
        }
    }

    /// The lowest and highest wrong total this auditor saw, if any.
    pub(crate) fn wrong_totals(&self) -> Option<(i64, i64)> {
        (self.audits_wrong.load(Ordering::Relaxed) > 0).then(|| {
            (
                self.audit_low.load(Ordering::Relaxed),
                self.audit_high.load(Ordering::Relaxed),
            )
        })
    }
}

impl Ledger {
    /// Size in bytes of a ledger for `job`.
    pub(crate) fn size_of(job: &Job) -> u64 {
        Regions::of(job).size as u64
    }

    /// A fresh file for a ledger that never has a name: a `memfd_create`
    /// file, which exists only as open descriptors and mappings, so that
    /// nothing can be left behind at any instant, even if the coordinator is
    /// killed with SIGKILL, and no directory plays a part. Its mode is set to
    /// 0600 whatever the umask (a memfd starts as 0777 less the umask).
    /// [`Ledger::create`] seals its size once it is set.
    pub fn unnamed_file() -> io::Result<File> {
        use rustix::fs::{MemfdFlags, Mode};
        let fd = rustix::fs::memfd_create(
            "bankrace-ledger",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        rustix::fs::fchmod(&fd, Mode::RUSR | Mode::WUSR)?;
        Ok(File::from(fd))
    }

    /// Sizes `file` for the trial, maps it and writes the spec. The
    /// coordinator's side.
    pub fn create(file: &File, spec: &TrialSpec) -> io::Result<Ledger> {
        let size = Self::size_of(&spec.job);
        file.set_len(size)?;
        // Reserve the blocks now: on a full tmpfs, touching a page of a sparse
        // file would raise SIGBUS; fallocate turns that into ENOSPC here.
        rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, size)?;
        seal_size(file)?;
        let map = MmapOptions::new().len(size as usize).map_raw(file)?;
        Self::with(map, spec)
    }

    /// An anonymous, private-to-this-process ledger, for unit tests and
    /// benchmarks that run strategies on threads.
    pub fn anonymous(job: &Job) -> io::Result<Ledger> {
        let size = Self::size_of(job) as usize;
        let map = MmapRaw::from(MmapOptions::new().len(size).map_anon()?);
        let spec = TrialSpec {
            trial: 1,
            job: *job,
            workers: vec![
                WorkerSpec {
                    role: Role::Depositor,
                    seed: 0,
                    kill_at: None,
                };
                job.workers as usize
            ],
            steps: Vec::new(),
        };
        Self::with(map, &spec)
    }

    fn with(map: MmapRaw, spec: &TrialSpec) -> io::Result<Ledger> {
        let regions = Regions::of(&spec.job);
        assert_eq!(map.len(), regions.size, "the mapping has the spec's size");
        let ledger = Ledger {
            map: Mapping::new(map),
            job: spec.job,
            regions,
        };
        ledger.write(spec)?;
        Ok(ledger)
    }

    /// Writes the next trial's spec into this ledger: balances, slots, locks,
    /// barrier and instruments as for a new one. Only between trials, once
    /// every worker of the last one is gone or idle. The spec must have the
    /// dimensions this ledger was created with.
    pub fn reset(&mut self, spec: &TrialSpec) -> io::Result<()> {
        assert_eq!(Regions::of(&spec.job), self.regions, "same dimensions");
        self.job = spec.job;
        self.write(spec)
    }

    fn write(&self, spec: &TrialSpec) -> io::Result<()> {
        let job = &spec.job;
        assert_eq!(
            spec.workers.len(),
            job.workers as usize,
            "one spec per worker"
        );
        assert_eq!(spec.steps.len(), job.steps as usize, "the schedule's steps");
        let words = header::encode(job, self.regions.size as u64);
        let h = &self.map.shared().header.words;
        h[header::at::MAGIC].store(0, Ordering::Relaxed);
        for (i, word) in words.iter().enumerate().skip(1) {
            h[i].store(*word, Ordering::Relaxed);
        }
        for a in 0..job.accounts {
            self.account(a).store(job.initial, Ordering::Relaxed);
        }
        for (i, w) in spec.workers.iter().enumerate() {
            self.slot(i as u32).configure(w);
            self.lock_wait_flag(i as u32).store(0, Ordering::Relaxed);
        }
        for (i, step) in spec.steps.iter().enumerate() {
            let word = step.worker << 1 | u32::from(step.write);
            self.step_word(i as u32).store(word, Ordering::Relaxed);
        }
        for w in 0..job.workers {
            for at in 0..job.trace_slots() {
                self.trace_slot(w, at).kind.store(0, Ordering::Relaxed);
            }
        }
        self.clear_history();
        for a in 0..job.accounts {
            self.account_lock(a).holder.store(0, Ordering::Relaxed);
        }
        let shared = self.map.shared();
        let b = &shared.barrier.0;
        // Not the generation: reused workers wait on it between trials.
        for word in [
            &b.arrived,
            &b.released,
            &b.fault_gate,
            &b.collided,
            &shared.spin.0,
        ] {
            word.store(0, Ordering::Relaxed);
        }
        let ins = &shared.instruments.0;
        ins.sequencer.store(0, Ordering::Relaxed);
        ins.stuck.store(0, Ordering::Relaxed);
        ins.turn.store(0, Ordering::Relaxed);
        shared.mutex.0.recoveries.store(0, Ordering::Relaxed);
        self.init_mutexes()?;
        h[header::at::MAGIC].store(words[header::at::MAGIC], Ordering::Release);
        Ok(())
    }

    /// Checks a ledger someone else created and maps it only if it passes:
    /// a regular file of this user, of the exact size its header announces,
    /// with the right magic and version and every field in range. The
    /// worker's side.
    ///
    /// The header is first read with `pread`, so a file that fails is never
    /// mapped; after mapping, it is checked once more through the mapping,
    /// in case the file changed in between.
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
        let mut prefix = [0u8; header::WORDS * 8];
        if actual < prefix.len() as u64 {
            return Err(LedgerError::Size {
                actual,
                expected: Regions::of(&minimal()).size as u64,
            });
        }
        file.read_exact_at(&mut prefix, 0)
            .map_err(|e| LedgerError::Io(e.kind()))?;
        let job = header::decode(&header::words_of(&prefix), actual, Self::size_of)?;
        let map = MmapOptions::new()
            .len(actual as usize)
            .map_raw(file)
            .map_err(|e| LedgerError::Io(e.kind()))?;
        let ledger = Ledger {
            map: Mapping::new(map),
            job,
            regions: Regions::of(&job),
        };
        let h = &ledger.map.shared().header.words;
        let mut again = [0u64; header::WORDS];
        again[header::at::MAGIC] = h[header::at::MAGIC].load(Ordering::Acquire);
        for (i, word) in again.iter_mut().enumerate().skip(1) {
            *word = h[i].load(Ordering::Relaxed);
        }
        if header::decode(&again, actual, Self::size_of)? != job {
            return Err(LedgerError::Layout("header changed while being mapped"));
        }
        Ok(ledger)
    }

    /// The job written by the coordinator.
    pub fn job(&self) -> Job {
        self.job
    }

    /// The worker count recorded in the header.
    pub fn workers(&self) -> u32 {
        self.job.workers
    }

    /// Account `index`'s balance. Panics if out of range.
    #[inline(always)]
    pub fn account(&self, index: u32) -> &AtomicI64 {
        assert!(index < self.job.accounts, "account index out of range");
        let offset = self.regions.accounts + size_of::<Line<AtomicI64>>() * index as usize;
        &self.map.at::<Line<AtomicI64>>(offset).0
    }

    /// Account `index`'s lock and its holder word. Panics if out of range.
    fn account_lock(&self, index: u32) -> &AccountLock {
        assert!(index < self.job.accounts, "account index out of range");
        let offset = self.regions.locks + size_of::<Line<AccountLock>>() * index as usize;
        &self.map.at::<Line<AccountLock>>(offset).0
    }

    /// The first account: the one every single-account scenario races on.
    #[inline(always)]
    pub fn balance(&self) -> &AtomicI64 {
        self.account(0)
    }

    /// The spin lock word: 0 free, 1 held.
    #[inline(always)]
    pub(crate) fn spin_word(&self) -> &AtomicU32 {
        &self.map.shared().spin.0
    }

    /// Worker `index`'s slot. Panics if `index` is out of range: callers
    /// check indices against [`Ledger::workers`] first.
    #[inline]
    pub(crate) fn slot(&self, index: u32) -> &Slot {
        assert!(index < self.job.workers, "slot index out of range");
        self.map
            .at(self.regions.slots + size_of::<Slot>() * index as usize)
    }

    /// Worker `worker`'s lock-wait flag: 1 while it waits to acquire a lock
    /// (set and cleared by the worker itself), so that a worker following a
    /// forced schedule can tell that whoever's turn it is cannot move.
    pub(crate) fn lock_wait_flag(&self, worker: u32) -> &AtomicU32 {
        assert!(worker < self.job.workers, "worker index out of range");
        self.map.at(self.regions.flags + 4 * worker as usize)
    }

    /// Step `index` of the forced schedule.
    pub fn step(&self, index: u32) -> StepSpec {
        let w = self.step_word(index).load(Ordering::Relaxed);
        StepSpec {
            worker: w >> 1,
            write: w & 1 == 1,
        }
    }

    fn step_word(&self, index: u32) -> &AtomicU32 {
        assert!(index < self.job.steps, "schedule step out of range");
        self.map.at(self.regions.steps + 4 * index as usize)
    }

    /// The index of account `balance` (the reference must be one of this
    /// ledger's accounts, as every balance a strategy is given is).
    pub(crate) fn account_index(&self, balance: &AtomicI64) -> u32 {
        (0..self.job.accounts)
            .find(|&a| std::ptr::eq(self.account(a), balance))
            .expect("a balance of this ledger")
    }

    /// Stores worker `worker`'s trace record number `at` (0-based; the
    /// operation's number, or in the transfer scenario `3 × op + part`, see
    /// `trace.rs`). Only that worker writes these words, and may store the
    /// same record again as the operation goes on. Panics if either index
    /// is out of range.
    pub(crate) fn store_record(&self, worker: u32, at: u64, rec: &OpRecord) {
        let t = self.trace_slot(worker, at);
        t.read_seq.store(rec.read_seq, Ordering::Relaxed);
        t.write_seq.store(rec.write_seq, Ordering::Relaxed);
        t.seen.store(rec.seen, Ordering::Relaxed);
        t.written.store(rec.written, Ordering::Relaxed);
        t.overwritten.store(rec.overwritten, Ordering::Relaxed);
        let kind = rec.kind.code() | u64::from(rec.account) << 8;
        t.kind.store(kind, Ordering::Release);
    }

    /// Worker `worker`'s record number `at`, or `None` if it never stored one.
    pub(crate) fn load_record(&self, worker: u32, at: u64) -> Option<OpRecord> {
        let t = self.trace_slot(worker, at);
        let word = t.kind.load(Ordering::Acquire);
        let kind = OpKind::from_code(word & 0xff)?;
        Some(OpRecord {
            kind,
            account: (word >> 8) as u32,
            read_seq: t.read_seq.load(Ordering::Relaxed),
            write_seq: t.write_seq.load(Ordering::Relaxed),
            seen: t.seen.load(Ordering::Relaxed),
            written: t.written.load(Ordering::Relaxed),
            overwritten: t.overwritten.load(Ordering::Relaxed),
        })
    }

    /// Stores a transfer's locks in record number `at`: the kind word holds
    /// 1 + each account (0 for a lock not asked for), the next four words
    /// the sequence numbers of each wait and each taking.
    pub(crate) fn store_locks(&self, worker: u32, at: u64, rec: &LockRecord) {
        let t = self.trace_slot(worker, at);
        let mut kind = 0u64;
        for (i, step) in rec.steps.iter().enumerate() {
            let Some(step) = step else { continue };
            kind |= (u64::from(step.account) + 1) << (32 * i);
            if i == 0 {
                t.read_seq.store(step.wait_seq, Ordering::Relaxed);
                t.write_seq.store(step.locked_seq, Ordering::Relaxed);
            } else {
                t.seen.store(step.wait_seq as i64, Ordering::Relaxed);
                t.written.store(step.locked_seq as i64, Ordering::Relaxed);
            }
        }
        t.kind.store(kind, Ordering::Release);
    }

    /// A transfer's locks, as [`Ledger::store_locks`] left them.
    pub(crate) fn load_locks(&self, worker: u32, at: u64) -> LockRecord {
        let t = self.trace_slot(worker, at);
        let kind = t.kind.load(Ordering::Acquire);
        let seqs = [
            (
                t.read_seq.load(Ordering::Relaxed),
                t.write_seq.load(Ordering::Relaxed),
            ),
            (
                t.seen.load(Ordering::Relaxed) as u64,
                t.written.load(Ordering::Relaxed) as u64,
            ),
        ];
        let mut rec = LockRecord::default();
        for (i, (wait_seq, locked_seq)) in seqs.into_iter().enumerate() {
            let account = (kind >> (32 * i)) as u32;
            rec.steps[i] = account.checked_sub(1).map(|account| LockStep {
                account,
                wait_seq,
                locked_seq,
            });
        }
        rec
    }

    fn trace_slot(&self, worker: u32, at: u64) -> &TraceSlot {
        let per_worker = self.job.trace_slots();
        assert!(
            worker < self.job.workers && at < per_worker,
            "trace record index out of range"
        );
        let index = worker as usize * per_worker as usize + at as usize;
        self.map
            .at(self.regions.records + size_of::<TraceSlot>() * index)
    }
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine.
pub(crate) fn now_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Seals a memfd against shrinking and growing, so that nobody (not even a
/// process of this user reopening it through `/proc/PID/fd`) can truncate
/// the ledger under the mappings, which would raise SIGBUS in every worker.
/// A file that cannot carry seals (`EINVAL`: any file but a memfd, as unit
/// tests use) is left as it is.
fn seal_size(file: &File) -> io::Result<()> {
    use rustix::fs::SealFlags;
    match rustix::fs::fcntl_add_seals(file, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL) {
        Ok(()) | Err(rustix::io::Errno::INVAL) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The smallest ledger there is: what a file too short to hold a header is
/// told it should have been.
fn minimal() -> Job {
    Job::plain(1, 0, 0)
}

#[cfg(test)]
mod tests;
