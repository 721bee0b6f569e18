//! The ledger's round trips through a real file: create, open, refuse, reset.

use super::*;
use std::io::{Seek, Write};

fn job() -> Job {
    Job::plain(3, 5, 200)
}

fn spec(job: Job) -> TrialSpec {
    let mut spec = TrialSpec {
        trial: 1,
        job,
        workers: vec![
            WorkerSpec {
                role: Role::Depositor,
                seed: 1,
                kill_at: None,
            };
            job.workers as usize
        ],
        steps: vec![
            StepSpec {
                worker: 0,
                write: false
            };
            job.steps as usize
        ],
    };
    if job.workers > 2 {
        spec.workers[2] = WorkerSpec {
            role: Role::Withdrawer,
            seed: 42,
            kill_at: Some(3),
        };
    }
    spec
}

fn err(file: &File) -> LedgerError {
    match Ledger::open(file) {
        Ok(_) => panic!("a bad ledger was accepted"),
        Err(e) => e,
    }
}

fn write_at_start(file: &File, bytes: &[u8]) {
    let mut f = file.try_clone().unwrap();
    f.rewind().unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn create_then_open_round_trips_the_spec() {
    let file = tempfile::tempfile().unwrap();
    let spec = spec(job());
    let _created = Ledger::create(&file, &spec).unwrap();
    let opened = Ledger::open(&file).unwrap();
    assert_eq!(opened.job(), spec.job);
    assert_eq!(opened.balance().load(Ordering::Relaxed), 200);
    for (w, part) in spec.workers.iter().enumerate() {
        assert_eq!(opened.slot(w as u32).spec(), *part);
    }
}

#[test]
fn open_rejects_bad_magic_version_and_size() {
    let file = tempfile::tempfile().unwrap();
    drop(Ledger::create(&file, &spec(job())).unwrap());
    write_at_start(&file, b"NOTBANKR");
    assert_eq!(err(&file), LedgerError::Magic);
    write_at_start(&file, b"BANKRACE\x0a\0\0\0\0\0\0\0");
    assert_eq!(err(&file), LedgerError::Version(10));
    write_at_start(
        &file,
        &[*b"BANKRACE", header::VERSION.to_le_bytes()].concat(),
    );
    Ledger::open(&file).unwrap();

    file.set_len(Ledger::size_of(&job()) + 64).unwrap();
    assert!(matches!(err(&file), LedgerError::Size { .. }));
    file.set_len(10).unwrap();
    assert!(matches!(err(&file), LedgerError::Size { .. }));
}

#[test]
fn trace_records_and_schedule_steps_survive_open() {
    let file = tempfile::tempfile().unwrap();
    let job = Job {
        trace_ops: 3,
        steps: 5,
        ..Job::plain(2, 5, 200)
    };
    let mut s = spec(job);
    s.steps[4] = StepSpec {
        worker: 1,
        write: true,
    };
    let created = Ledger::create(&file, &s).unwrap();
    let rec = OpRecord {
        kind: OpKind::Update,
        account: 0,
        read_seq: 4,
        write_seq: 9,
        seen: 200,
        written: 201,
        overwritten: 199,
    };
    created.store_record(1, 2, &rec);
    let opened = Ledger::open(&file).unwrap();
    assert_eq!(opened.job(), job);
    assert_eq!(opened.load_record(1, 2), Some(rec));
    assert_eq!(opened.load_record(0, 0), None);
    assert_eq!(opened.step(4), s.steps[4]);
    assert_eq!(opened.step(0), s.steps[0]);
    // A file cut short of its trace region is refused.
    file.set_len(Ledger::size_of(&job) - 48).unwrap();
    assert!(matches!(err(&file), LedgerError::Size { .. }));
}

#[test]
fn transfer_records_name_their_account_and_locks_survive_open() {
    let file = tempfile::tempfile().unwrap();
    let job = Job {
        trace_ops: 2,
        accounts: 3,
        scenario: crate::vocab::Scenario::Transfer,
        ..Job::plain(2, 2, 100)
    };
    let created = Ledger::create(&file, &spec(job)).unwrap();
    assert_eq!(created.account_index(created.account(2)), 2);
    let credit = OpRecord {
        kind: OpKind::Atomic,
        account: 2,
        read_seq: 7,
        write_seq: 7,
        seen: 100,
        written: 105,
        overwritten: 100,
    };
    // Worker 1's second transfer: its credit and its locks (3 records each).
    created.store_record(1, 4, &credit);
    let locks = LockRecord {
        steps: [
            Some(LockStep {
                account: 2,
                wait_seq: 1,
                locked_seq: 2,
            }),
            Some(LockStep {
                account: 0,
                wait_seq: 9,
                locked_seq: 0,
            }),
        ],
    };
    created.store_locks(1, 5, &locks);
    let opened = Ledger::open(&file).unwrap();
    assert_eq!(opened.load_record(1, 4), Some(credit));
    assert_eq!(opened.load_locks(1, 5), locks);
    assert_eq!(opened.load_locks(0, 2), LockRecord::default());
    assert_eq!(opened.load_record(1, 3), None);
}

#[test]
fn reset_makes_the_ledger_new_for_the_next_trial() {
    let file = tempfile::tempfile().unwrap();
    let job = Job {
        trace_ops: 2,
        ..job()
    };
    let first = spec(job);
    let mut ledger = Ledger::create(&file, &first).unwrap();
    ledger.balance().store(-7, Ordering::Relaxed);
    ledger.slot(1).ops_done.store(5, Ordering::Relaxed);
    ledger.slot(1).mark_done();
    ledger.spin_word().store(1, Ordering::Relaxed);
    ledger.store_record(0, 1, &OpRecord::EMPTY);
    std::mem::forget(ledger.lock_mutex().unwrap());
    ledger.release_generation(1).unwrap();
    ledger.mark_through(0, 1);
    ledger.open_fault_gate();

    let mut next = spec(job);
    next.trial = 2;
    next.workers[2].kill_at = None;
    ledger.reset(&next).unwrap();
    let opened = Ledger::open(&file).unwrap();
    assert_eq!(opened.balance().load(Ordering::Relaxed), 200);
    assert_eq!(opened.slot(1).ops_done.load(Ordering::Relaxed), 0);
    assert_eq!(opened.slot(1).state(), SlotState::Idle);
    assert_eq!(opened.slot(2).kill_at(), None);
    assert_eq!(opened.spin_word().load(Ordering::Relaxed), 0);
    assert_eq!(opened.load_record(0, 1), None);
    assert!(!opened.lock_mutex().unwrap().recovered);
    // The fault gate starts over; the generation reused workers wait on
    // between trials, and what each is through with, do not.
    assert_eq!(opened.generation(), 1);
    assert!(opened.is_through(0, 1));
    assert_eq!(
        opened
            .map
            .shared()
            .barrier
            .0
            .fault_gate
            .load(Ordering::Relaxed),
        0
    );
}

proptest::proptest! {
    #[test]
    fn open_never_panics_on_random_files(content in proptest::collection::vec(proptest::num::u8::ANY, 0..4096), magic in proptest::bool::ANY) {
        let mut content = content;
        if magic && content.len() >= 8 {
            content[..8].copy_from_slice(b"BANKRACE");
        }
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&content).unwrap();
        if let Ok(ledger) = Ledger::open(&file) {
            proptest::prop_assert_eq!(content.len() as u64, Ledger::size_of(&ledger.job()));
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
fn an_unnamed_ledger_is_private_and_cannot_be_resized() {
    let old = rustix::process::umask(rustix::fs::Mode::empty());
    let file = Ledger::unnamed_file();
    rustix::process::umask(old);
    let file = file.unwrap();
    let _ledger = Ledger::create(&file, &spec(job())).unwrap();
    let meta = file.metadata().unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600, "whatever the umask");
    // Sealed: truncating it under the workers' mappings is refused, also
    // through a second open file description, as `/proc/PID/fd` gives one.
    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    let again = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    for f in [&file, &again] {
        assert!(f.set_len(0).is_err(), "shrinking is sealed");
        assert!(f.set_len(meta.len() + 4096).is_err(), "growing is sealed");
    }
    assert_eq!(again.metadata().unwrap().len(), meta.len());
    // A reopened memfd is an open file description of its own: flock on one
    // excludes flock on the other, which the flock strategy depends on.
    file.try_lock().unwrap();
    assert!(again.try_lock().is_err(), "a second description must wait");
    file.unlock().unwrap();
    again.try_lock().unwrap();
}

/// Every kind of per-account lock excludes a second worker, which says what
/// it waits for until the holder lets go, and publishes the same words:
/// the holder word, the holder's `holds`, the waiter's `waits_for`.
#[test]
fn every_kind_of_account_lock_excludes_and_says_who_waits() {
    let job = Job {
        accounts: 2,
        scenario: crate::vocab::Scenario::Transfer,
        ..Job::plain(2, 0, 100)
    };
    let file = Ledger::unnamed_file().unwrap();
    let ledger = Ledger::create(&file, &spec(job)).unwrap();
    let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap()
    };
    let (mine, theirs) = (open(), open());
    for (kind, other) in [
        (PerAccount::Mutex, PerAccount::Mutex),
        (PerAccount::Spin, PerAccount::Spin),
        (PerAccount::Range(&mine), PerAccount::Range(&theirs)),
    ] {
        let held = ledger.lock_account(kind, 0, 1).unwrap();
        let (words, holders) = ledger.wait_words();
        assert_eq!((holders[1], words[0].holds), (1, 0b10), "{kind:?}");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| drop(ledger.lock_account(other, 1, 1).unwrap()));
            let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while ledger.wait_words().0[1].waits_for != 2 {
                assert!(std::time::Instant::now() < end, "{kind:?}: no wait seen");
                std::thread::yield_now();
            }
            // Still waiting a moment later: the lock is not shared.
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert_eq!(ledger.wait_words().1[1], 1, "{kind:?}");
            assert!(!waiter.is_finished(), "{kind:?}");
            drop(held);
            waiter.join().unwrap();
        });
        let (words, holders) = ledger.wait_words();
        assert!(holders.iter().all(|&h| h == 0), "{kind:?}");
        assert!(words.iter().all(|w| w.holds == 0 && w.waits_for == 0));
    }
}
