//! The worker's side of `--trace` and `--schedule`: hooks that record every access to the balance and make each one wait for its turn.
//!
//! A worker of a plain trial uses the strategies' default hooks, which are
//! the bare atomic accesses. A worker of a traced or scheduled trial uses
//! [`Instrumented`] instead. For each access it
//!
//! 1. waits at the turnstile until the access's step of the schedule comes
//!    (or, for an access the schedule does not name, until the schedule is
//!    done), giving up with a recorded cause when the schedule cannot be
//!    followed;
//! 2. makes the access, through the ledger's sequencer when tracing, so that
//!    the access and its sequence number are one step. A traced write is a
//!    `swap` instead of a `store`: the same write, but it also returns the
//!    value it replaced, which is what makes the accounting identity exact;
//! 3. moves the turnstile on.
//!
//! After each operation the worker stores the operation's record in its own
//! region of the mapping: no lock, no sharing. A transferer stores its
//! records as it goes instead (the debit after each of its accesses, the
//! credit, each lock step), so that a trial ended by a deadlock keeps the
//! steps that closed the cycle. Auditors are not traced: their reads take
//! no number.

use std::io;
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use super::hooks::{OpHooks, die};
use crate::ledger::Ledger;
use crate::schedule::{Access, Stuck};
use crate::strategy::{Hooks, compare_and_debit};
use crate::trace::{LockRecord, LockStep, OpKind, OpRecord};
use crate::vocab::{Role, Scenario};

/// How long a worker sleeps at the turnstile before it looks around again
/// (for a cause recorded by another worker, or a deadlock with a lock).
/// Moving the turnstile wakes it at once; this only bounds the checks.
const TURNSTILE_CHECK: Duration = Duration::from_millis(10);

/// The error a worker returns when the schedule cannot be followed. The
/// cause is in the ledger, for the coordinator to report.
#[derive(Debug)]
pub(crate) struct GaveUp;

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the forced schedule in the ledger cannot be followed")
    }
}

impl std::error::Error for GaveUp {}

fn gave_up() -> io::Error {
    io::Error::other(GaveUp)
}

/// Whether `e` is a worker giving up on the schedule.
pub fn is_gave_up(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<GaveUp>()
            || c.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<GaveUp>())
    })
}

/// The hooks of a traced or scheduled worker.
pub(crate) struct Instrumented<'a> {
    ledger: &'a Ledger,
    index: u32,
    window: Duration,
    trace: bool,
    /// This worker's steps of the schedule, in order: (step, access).
    steps: Vec<(u32, Access)>,
    /// The next of `steps` to take.
    next: usize,
    /// Steps of the whole schedule, 0 for none.
    total: u32,
    /// Between `locked` and `unlocked`.
    holding_lock: bool,
    /// The record of the operation under way.
    rec: OpRecord,
    /// Fault injection (`--kill-holder`): die in the next window.
    die_now: bool,
    /// A traced transferer: records stored as they are made, three per
    /// operation (see `trace.rs`).
    transfer: bool,
    /// The operation under way (0-based).
    op: u64,
    /// The locks of the transfer under way.
    locks: LockRecord,
}

impl<'a> Instrumented<'a> {
    /// Whether a worker of this ledger needs these hooks at all.
    pub fn needed(ledger: &Ledger) -> bool {
        let job = ledger.job();
        job.trace_ops > 0 || job.steps > 0
    }

    pub fn new(ledger: &'a Ledger, index: u32, window: Duration) -> Instrumented<'a> {
        let total = ledger.job().steps;
        let steps = (0..total)
            .filter_map(|s| {
                let step = ledger.step(s);
                let access = if step.write {
                    Access::Write
                } else {
                    Access::Read
                };
                (step.worker == index).then_some((s, access))
            })
            .collect();
        let job = ledger.job();
        let auditor = ledger.slot(index).role() == Role::Auditor;
        Instrumented {
            ledger,
            index,
            window,
            trace: job.trace_ops > 0 && !auditor,
            transfer: job.scenario == Scenario::Transfer,
            op: 0,
            locks: LockRecord::default(),
            steps,
            next: 0,
            total,
            holding_lock: false,
            rec: OpRecord::EMPTY,
            die_now: false,
        }
    }

    /// Operation `op` (0-based) is over: stores its record.
    pub(crate) fn op_done(&mut self, op: u64) {
        if self.trace && !self.transfer && op < self.ledger.job().trace_ops {
            self.ledger.store_record(self.index, op, &self.rec);
        }
        self.rec = OpRecord::EMPTY;
        self.locks = LockRecord::default();
        self.op = op + 1;
    }

    /// A traced transferer stores `rec` as its operation's `part` (0 the
    /// debit, 1 the credit) at once.
    fn store_now(&self, part: u64, rec: &OpRecord) {
        if self.trace && self.transfer && self.op < self.ledger.job().trace_ops {
            self.ledger
                .store_record(self.index, 3 * self.op + part, rec);
        }
    }

    /// A lock step of a traced transferer: `locked` false for the wait,
    /// true for the taking, numbered by the sequencer and stored at once.
    fn lock_step(&mut self, account: u32, locked: bool) {
        if !(self.trace && self.transfer && self.op < self.ledger.job().trace_ops) {
            return;
        }
        let (seq, ()) = self.ledger.sequenced(self.ledger.account(account), |_| ());
        let steps = &mut self.locks.steps;
        let at = steps
            .iter()
            .position(|s| s.is_some_and(|s| s.account == account))
            .or_else(|| steps.iter().position(Option::is_none));
        let Some(at) = at else { return };
        let step = steps[at].get_or_insert(LockStep {
            account,
            ..LockStep::default()
        });
        if locked {
            step.locked_seq = seq;
        } else {
            step.wait_seq = seq;
        }
        self.ledger
            .store_locks(self.index, 3 * self.op + 2, &self.locks);
    }

    /// The worker made all its operations: the schedule must not expect more.
    pub fn finished(&mut self) -> io::Result<()> {
        if let Some(&(step, _)) = self.steps.get(self.next) {
            self.give_up(Stuck::Unused {
                step,
                worker: self.index,
            })?;
        }
        Ok(())
    }

    fn give_up(&self, cause: Stuck) -> io::Result<()> {
        self.ledger.report_stuck(cause.encode())?;
        Err(gave_up())
    }

    /// Waits until `access` may go. Returns the step it takes, if the
    /// schedule names it.
    fn enter(&mut self, access: Access) -> io::Result<Option<u32>> {
        if self.total == 0 {
            return Ok(None);
        }
        let mine = self.steps.get(self.next).copied();
        if let Some((step, expected)) = mine
            && expected != access
        {
            self.give_up(Stuck::Mismatch {
                step,
                worker: self.index,
            })?;
        }
        let target = mine.map_or(self.total, |(step, _)| step);
        loop {
            if self.ledger.stuck() != 0 {
                return Err(gave_up());
            }
            let turn = self.ledger.turn();
            if turn >= target {
                return Ok(mine.map(|(step, _)| step));
            }
            // Holding the lock while the worker whose turn it is waits for
            // that very lock: neither can ever move.
            let owner = self.ledger.step(turn).worker;
            if self.holding_lock
                && owner != self.index
                && self.ledger.lock_wait_flag(owner).load(Acquire) == 1
            {
                self.give_up(Stuck::Lock {
                    step: turn,
                    holder: self.index,
                    owner,
                })?;
            }
            self.ledger.wait_turn(turn, TURNSTILE_CHECK)?;
        }
    }

    fn leave(&mut self, step: Option<u32>) -> io::Result<()> {
        if step.is_some() {
            self.next += 1;
            self.ledger.advance_turn()?;
        }
        Ok(())
    }

    /// The account `balance` is, for a transfer's record (0 otherwise).
    fn account_of(&self, balance: &AtomicI64) -> u32 {
        if self.transfer && self.trace {
            self.ledger.account_index(balance)
        } else {
            0
        }
    }

    /// One access: wait for its turn, make it (sequenced when tracing), move the turnstile.
    fn access<T>(
        &mut self,
        kind: Access,
        balance: &AtomicI64,
        op: impl FnOnce(&AtomicI64) -> T,
    ) -> io::Result<(u64, T)> {
        let step = self.enter(kind)?;
        let done = if self.trace {
            self.ledger.sequenced(balance, op)
        } else {
            (0, op(balance))
        };
        self.leave(step)?;
        Ok(done)
    }
}

impl Hooks for Instrumented<'_> {
    fn window(&mut self) {
        if self.die_now {
            die(self.ledger, self.index);
        }
        if !self.window.is_zero() {
            std::thread::sleep(self.window);
        }
    }

    fn read(&mut self, balance: &AtomicI64) -> io::Result<i64> {
        let (seq, seen) = self.access(Access::Read, balance, |b| b.load(Relaxed))?;
        // Until a write follows, the operation is a check that refused.
        self.rec = OpRecord {
            kind: OpKind::Refused,
            account: self.account_of(balance),
            read_seq: seq,
            seen,
            ..OpRecord::EMPTY
        };
        self.store_now(0, &self.rec);
        Ok(seen)
    }

    fn write(&mut self, balance: &AtomicI64, value: i64) -> io::Result<()> {
        let (seq, old) = if self.trace {
            self.access(Access::Write, balance, |b| b.swap(value, Relaxed))?
        } else {
            self.access(Access::Write, balance, |b| {
                b.store(value, Relaxed);
                0
            })?
        };
        self.rec.kind = OpKind::Update;
        self.rec.write_seq = seq;
        self.rec.written = value;
        self.rec.overwritten = old;
        self.store_now(0, &self.rec);
        Ok(())
    }

    fn debit(&mut self, balance: &AtomicI64, amount: i64) -> io::Result<i64> {
        let (seq, before) =
            self.access(Access::Write, balance, |b| b.fetch_sub(amount, Relaxed))?;
        self.rec.kind = OpKind::Paid;
        self.rec.write_seq = seq;
        self.rec.written = before.wrapping_sub(amount);
        self.rec.overwritten = before;
        Ok(before)
    }

    fn add(&mut self, balance: &AtomicI64, delta: i64) -> io::Result<i64> {
        let (seq, before) = self.access(Access::Write, balance, |b| b.fetch_add(delta, Relaxed))?;
        let rec = OpRecord {
            kind: OpKind::Atomic,
            account: self.account_of(balance),
            read_seq: seq,
            write_seq: seq,
            seen: before,
            written: before.wrapping_add(delta),
            overwritten: before,
        };
        if self.transfer {
            // A transfer's credit: its own record, beside the debit's.
            self.store_now(1, &rec);
        } else {
            self.rec = rec;
        }
        Ok(before)
    }

    fn debit_if_covered(
        &mut self,
        balance: &AtomicI64,
        amount: i64,
    ) -> io::Result<Result<i64, i64>> {
        let (seq, paid) = self.access(Access::Write, balance, |b| compare_and_debit(b, amount))?;
        self.rec = match paid {
            Ok(before) => OpRecord {
                kind: OpKind::Atomic,
                account: 0,
                read_seq: seq,
                write_seq: seq,
                seen: before,
                written: before - amount,
                overwritten: before,
            },
            Err(seen) => OpRecord {
                kind: OpKind::Refused,
                read_seq: seq,
                seen,
                ..OpRecord::EMPTY
            },
        };
        Ok(paid)
    }

    /// A worker following a schedule asks for the lock only once the step
    /// of its next access has come: otherwise whoever reached the lock first
    /// would hold it while waiting for someone else's turn, and even a
    /// serial schedule could not be followed.
    fn locking(&mut self) -> io::Result<()> {
        if self.total > 0 {
            let target = self.steps.get(self.next).map_or(self.total, |&(s, _)| s);
            while self.ledger.turn() < target {
                if self.ledger.stuck() != 0 {
                    return Err(gave_up());
                }
                self.ledger.wait_turn(self.ledger.turn(), TURNSTILE_CHECK)?;
            }
        }
        self.ledger.lock_wait_flag(self.index).store(1, Release);
        Ok(())
    }

    fn locked(&mut self) {
        self.ledger.lock_wait_flag(self.index).store(0, Release);
        self.holding_lock = true;
    }

    fn unlocked(&mut self) {
        self.holding_lock = false;
    }

    fn waiting_for(&mut self, account: u32) {
        self.lock_step(account, false);
    }

    fn holding(&mut self, account: u32) {
        self.lock_step(account, true);
    }
}

impl OpHooks for Instrumented<'_> {
    fn arm_fault(&mut self, armed: bool) {
        self.die_now = armed;
    }
    fn op_done(&mut self, op: u64) {
        Instrumented::op_done(self, op);
    }
    fn finished(&mut self) -> io::Result<()> {
        Instrumented::finished(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Job, StepSpec, TrialSpec, WorkerSpec};
    use crate::strategy::{Locked, Mutex, NoLock, Strategy};
    use crate::vocab::Role;

    /// Two threads, one deposit and one withdrawal, forced through
    /// `schedule` ((worker, write) per step); returns the ledger afterwards
    /// and each thread's result.
    fn forced<S: Strategy + Send>(
        make: impl Fn() -> S + Sync,
        schedule: &[(u32, bool)],
    ) -> (Ledger, Vec<io::Result<()>>) {
        let job = Job {
            trace_ops: 1,
            steps: schedule.len() as u32,
            ..Job::plain(2, 1, 200)
        };
        let spec = TrialSpec {
            trial: 1,
            job,
            workers: vec![
                WorkerSpec {
                    role: Role::Depositor,
                    seed: 0,
                    kill_at: None,
                };
                2
            ],
            steps: schedule
                .iter()
                .map(|&(worker, write)| StepSpec { worker, write })
                .collect(),
        };
        let file = tempfile::tempfile().unwrap();
        let ledger = Ledger::create(&file, &spec).unwrap();
        let results = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2u32)
                .map(|w| {
                    let (ledger, make) = (&ledger, &make);
                    s.spawn(move || {
                        let mut hooks = Instrumented::new(ledger, w, Duration::ZERO);
                        let mut strategy = make();
                        let delta = if w == 0 { 1 } else { -1 };
                        strategy.update(ledger, ledger.balance(), delta, &mut hooks)?;
                        hooks.op_done(0);
                        hooks.finished()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        (ledger, results)
    }

    #[test]
    fn the_schedule_loses_the_deposit_and_the_trace_says_so() {
        // D1:read W1:read D1:write W1:write
        let (ledger, results) = forced(|| NoLock, &[(0, false), (1, false), (0, true), (1, true)]);
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(ledger.balance().load(Relaxed), 199);
        let d = ledger.load_record(0, 0).unwrap();
        let w = ledger.load_record(1, 0).unwrap();
        assert_eq!(
            (d.read_seq, d.write_seq, d.seen, d.written),
            (1, 3, 200, 201)
        );
        assert_eq!(
            (w.read_seq, w.write_seq, w.seen, w.overwritten, w.written),
            (2, 4, 200, 201, 199)
        );
    }

    #[test]
    fn under_a_lock_the_schedule_is_refused_not_hung() {
        let (ledger, results) = forced(
            || Locked(Mutex),
            &[(0, false), (1, false), (0, true), (1, true)],
        );
        assert!(results.iter().any(Result::is_err));
        // D1 takes the lock for its read at step 1, then waits for W1's read
        // at step 2 while W1 waits for the lock.
        assert_eq!(
            Stuck::decode(ledger.stuck()),
            Some(Stuck::Lock {
                step: 1,
                holder: 0,
                owner: 1
            })
        );
    }

    #[test]
    fn a_serial_schedule_under_a_lock_is_followed() {
        let (ledger, results) = forced(
            || Locked(Mutex),
            &[(1, false), (1, true), (0, false), (0, true)],
        );
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(ledger.balance().load(Relaxed), 200);
        assert_eq!(ledger.stuck(), 0);
    }
}
