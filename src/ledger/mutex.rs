//! The robust, process-shared pthread mutexes in the ledger (the bank's one, and one per account): their initialisation, locking with recovery from a dead holder, and a guard that stays on its thread.
#![allow(unsafe_code)]

use std::io::{self, Write};
use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use super::Ledger;

/// Which of the ledger's mutexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MutexId {
    /// The one for the whole bank: `--lock=mutex` in the scenarios of one
    /// account, `--lock=global` in the transfer scenario.
    Bank,
    /// Account `a`'s own (from 0).
    Account(u32),
}

impl Ledger {
    #[inline(always)]
    fn mutex_ptr(&self, id: MutexId) -> *mut libc::pthread_mutex_t {
        match id {
            MutexId::Bank => self.map.shared().mutex.0.mutex.get(),
            MutexId::Account(a) => self.account_lock(a).mutex.get(),
        }
    }

    /// Initialises every mutex of the ledger. Coordinator only, as
    /// [`Ledger::init_mutex`].
    pub(super) fn init_mutexes(&self) -> io::Result<()> {
        self.init_mutex(MutexId::Bank)?;
        for a in 0..self.job.accounts {
            self.init_mutex(MutexId::Account(a))?;
        }
        Ok(())
    }

    /// Initialises one mutex as robust and process-shared. Coordinator only,
    /// before any worker is started (or between trials, once every worker of
    /// the last one has been reaped).
    fn init_mutex(&self, id: MutexId) -> io::Result<()> {
        // SAFETY:
        // - `attr` is a local that lives until after `pthread_mutexattr_destroy`;
        // - the mutex pointer points into the mapping and is suitably aligned
        //   (its line is 64-byte aligned); no worker process is running, so
        //   nothing else can be using the mutex while it is initialised.
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
            .and_then(|()| check(libc::pthread_mutex_init(self.mutex_ptr(id), &attr)));
            libc::pthread_mutexattr_destroy(&mut attr);
            set
        }
    }

    /// Locks the bank's robust mutex (see [`Ledger::lock`]).
    #[inline(always)]
    pub(crate) fn lock_mutex(&self) -> io::Result<MutexGuard<'_>> {
        self.lock(MutexId::Bank)
    }

    /// Locks one robust mutex. If its previous holder died while holding it,
    /// marks it consistent again and reports that in the guard.
    ///
    /// The mutex bytes of a ledger cannot be validated: a worker trusts them
    /// because the ledger came from its own coordinator, run by the same
    /// user (see "The worker's trust boundary" in the README).
    ///
    /// Inlined into every strategy's hot loop; the rare paths (a dead
    /// holder, an error) are a cold function of their own.
    #[inline(always)]
    pub(crate) fn lock(&self, id: MutexId) -> io::Result<MutexGuard<'_>> {
        // SAFETY:
        // - the mutex was initialised by `init_mutexes` before the magic
        //   number was published, and `open` refuses a ledger without it;
        // - it lives in the mapping, which outlives the returned guard.
        let rc = unsafe { libc::pthread_mutex_lock(self.mutex_ptr(id)) };
        let recovered = if rc == 0 {
            false
        } else {
            self.recover(id, rc)?
        };
        Ok(MutexGuard {
            mutex: self.mutex_ptr(id),
            recovered,
            _held: PhantomData,
        })
    }

    /// What `pthread_mutex_lock` returning `rc` (not 0) means: `EOWNERDEAD`
    /// is a lock taken from a dead holder, made consistent again here
    /// (`Ok(true)`); anything else is an error, and the lock is not held.
    #[cold]
    #[inline(never)]
    fn recover(&self, id: MutexId, rc: libc::c_int) -> io::Result<bool> {
        if rc != libc::EOWNERDEAD {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: we own the mutex now (EOWNERDEAD means the lock was
        // acquired), which is what `pthread_mutex_consistent` requires.
        let made = check(unsafe { libc::pthread_mutex_consistent(self.mutex_ptr(id)) });
        if let Err(e) = made {
            // SAFETY: we hold the mutex; giving it back leaves it
            // unrecoverable, which the next locker reports.
            unsafe { libc::pthread_mutex_unlock(self.mutex_ptr(id)) };
            return Err(e);
        }
        self.map
            .shared()
            .mutex
            .0
            .recoveries
            .fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// How often a locker recovered the robust mutex from a dead holder.
    pub(crate) fn mutex_recoveries(&self) -> u64 {
        self.map.shared().mutex.0.recoveries.load(Ordering::Relaxed)
    }
}

/// Holds the robust mutex; unlocks it when dropped. Neither `Send` nor
/// `Sync`: a pthread mutex must be unlocked by the thread that locked it.
pub struct MutexGuard<'a> {
    /// The mutex held, in the mapping of the ledger the guard borrows. The
    /// pointer itself, so that unlocking has nothing to look up first.
    mutex: *mut libc::pthread_mutex_t,
    /// The previous holder died while holding the lock.
    pub recovered: bool,
    /// Borrows the ledger (whose mapping holds the mutex) and, being a raw
    /// pointer, keeps the guard on this thread.
    _held: PhantomData<(&'a Ledger, *const ())>,
}

impl Drop for MutexGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: this guard exists only while this thread holds the mutex,
        // and it cannot move to another thread (it is `!Send`); the pointer
        // is into the mapping of the ledger the guard borrows, so it is
        // still mapped.
        let rc = unsafe { libc::pthread_mutex_unlock(self.mutex) };
        if rc != 0 {
            unlock_failed(rc);
        }
    }
}

/// The mutex is not ours or is broken: no operation after this can be
/// trusted, so the worker stops at once and its trial fails.
#[cold]
#[inline(never)]
fn unlock_failed(rc: libc::c_int) -> ! {
    let _ = writeln!(
        io::stderr().lock(),
        "bankrace: cannot unlock the ledger's mutex: {}",
        io::Error::from_raw_os_error(rc)
    );
    std::process::abort();
}

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use crate::ledger::Ledger;
    use crate::spec::Job;

    #[test]
    fn robust_mutex_locks_and_unlocks() {
        let ledger = Ledger::anonymous(&Job::plain(1, 5, 200)).unwrap();
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
        let ledger = Ledger::anonymous(&Job::plain(1, 5, 200)).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| std::mem::forget(ledger.lock_mutex().unwrap()));
        });
        let g = ledger.lock_mutex().unwrap();
        assert!(g.recovered);
        drop(g);
        assert_eq!(ledger.mutex_recoveries(), 1);
        assert!(!ledger.lock_mutex().unwrap().recovered, "consistent again");
    }

    #[test]
    fn each_account_has_a_mutex_of_its_own() {
        use crate::ledger::MutexId;
        let job = Job {
            accounts: 3,
            scenario: crate::vocab::Scenario::Transfer,
            ..Job::plain(1, 5, 200)
        };
        let ledger = Ledger::anonymous(&job).unwrap();
        let all: Vec<_> = (0..3)
            .map(|a| ledger.lock(MutexId::Account(a)).unwrap())
            .collect();
        let bank = ledger.lock_mutex().unwrap();
        assert!(all.iter().all(|g| !g.recovered) && !bank.recovered);
    }
}
