//! The vocabulary's unit tests: codes round-trip, lock values, backends and failures.

use super::*;

#[test]
fn codes_round_trip_and_are_distinct() {
    for m in Mode::ALL {
        assert_eq!(Mode::from_code(m.code()), Some(m));
    }
    for s in Scenario::ALL {
        assert_eq!(Scenario::from_code(s.code()), Some(s));
    }
    assert_eq!(Mode::from_code(99), None);
}

#[test]
fn lock_values_are_the_strategies_and_all() {
    let names: Vec<String> = LockChoice::value_variants()
        .iter()
        .map(|v| v.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "mutex",
            "flock",
            "spin",
            "atomic",
            "mutex-unordered",
            "global",
            "own",
            "range",
            "row",
            "advisory",
            "cas",
            "repeatable-read",
            "serializable",
            "all",
            "default"
        ]
    );
    assert_eq!(
        LockChoice::All.modes(Scenario::LostUpdate, BackendKind::Memory),
        Mode::STRATEGIES
    );
    assert_eq!(
        LockChoice::All.modes(Scenario::LostUpdate, BackendKind::Postgres),
        Mode::DB_STRATEGIES
    );
    assert_eq!(
        LockChoice::Default.modes(Scenario::LostUpdate, BackendKind::Memory),
        [Mode::Mutex]
    );
    assert_eq!(
        LockChoice::Default.modes(Scenario::LostUpdate, BackendKind::Postgres),
        [Mode::Row]
    );
}

#[test]
fn all_means_the_transfer_strategies_in_the_transfer_scenario() {
    assert_eq!(
        LockChoice::All.modes(Scenario::Transfer, BackendKind::Memory),
        [
            Mode::MutexUnordered,
            Mode::Mutex,
            Mode::Spin,
            Mode::Range,
            Mode::Global
        ]
    );
}

#[test]
fn the_write_skew_has_its_memory_modes_and_every_database_strategy() {
    assert_eq!(
        LockChoice::All.modes(Scenario::WriteSkew, BackendKind::Memory),
        [Mode::Own, Mode::Mutex, Mode::Global]
    );
    assert_eq!(
        LockChoice::All.modes(Scenario::WriteSkew, BackendKind::Postgres),
        Mode::DB_STRATEGIES
    );
    assert!(Mode::Own.fits(Scenario::WriteSkew) && Mode::Serializable.fits(Scenario::WriteSkew));
    assert!(!Mode::Own.fits(Scenario::Transfer) && !Mode::Own.fits(Scenario::LostUpdate));
    assert!(!Mode::MutexUnordered.fits(Scenario::WriteSkew));
    assert!(!Mode::Flock.fits(Scenario::WriteSkew) && !Mode::Spin.fits(Scenario::WriteSkew));
    assert!(Mode::Own.runs_on(BackendKind::Memory) && !Mode::Own.runs_on(BackendKind::Postgres));
}

#[test]
fn transfer_only_modes_fit_only_the_transfer_scenario() {
    assert!(!Mode::Global.fits(Scenario::LostUpdate));
    assert!(!Mode::Flock.fits(Scenario::Transfer));
    assert!(!Mode::Range.fits(Scenario::LostUpdate) && Mode::Range.fits(Scenario::Transfer));
    assert!(Mode::Spin.fits(Scenario::Transfer) && Mode::Spin.fits(Scenario::LostUpdate));
    assert!(
        Mode::Range.runs_on(BackendKind::Memory) && !Mode::Range.runs_on(BackendKind::Postgres)
    );
    assert!(Mode::Mutex.fits(Scenario::Transfer) && Mode::Mutex.fits(Scenario::Overdraft));
    assert!(Mode::MutexUnordered.runs_on(BackendKind::Memory));
    assert!(!Mode::Global.runs_on(BackendKind::Postgres));
}

#[test]
fn each_strategy_runs_on_one_backend_but_no_lock_and_atomic_on_both() {
    for m in Mode::ALL {
        let both = m.runs_on(BackendKind::Memory) && m.runs_on(BackendKind::Postgres);
        assert_eq!(both, matches!(m, Mode::NoLock | Mode::Atomic), "{m}");
        assert!(m.runs_on(BackendKind::Memory) || m.runs_on(BackendKind::Postgres));
    }
    for b in BackendKind::ALL {
        assert_eq!(BackendKind::from_code(b.code()), Some(b));
    }
    for f in Failure::ALL {
        assert_eq!(Failure::from_code(f.code()), Some(f));
    }
    assert_eq!(Failure::from_code(0), None);
}

#[test]
fn only_the_unlocked_mode_has_no_strategy_name() {
    assert_eq!(Mode::NoLock.strategy(), None);
    assert_eq!(Mode::NoLock.name(), "no lock");
    assert_eq!(Mode::Flock.strategy(), Some("flock"));
}

#[test]
fn worker_names_number_each_role_from_one() {
    assert_eq!(WorkerName::of(0, 2).to_string(), "D1");
    assert_eq!(WorkerName::of(2, 2).to_string(), "W1");
    assert_eq!(WorkerName::of(2, 2).index(2), 2);
    assert_eq!(Role::from_letter('w'), Some(Role::Withdrawer));
    let t = WorkerName::in_scenario(Scenario::Transfer, 2, 2);
    assert_eq!(t.to_string(), "R1");
    assert_eq!(t.index(2), 2);
    assert_eq!(
        WorkerName::in_scenario(Scenario::Transfer, 1, 2).to_string(),
        "T2"
    );
    for r in Role::ALL {
        assert_eq!(Role::from_code(r.code()), Some(r));
    }
}

#[test]
fn modes_are_listed_as_a_sentence() {
    assert_eq!(Mode::listed(&Mode::WRITE_SKEW[1..]), "own, mutex or global");
    assert_eq!(Mode::listed(&[Mode::Row]), "row");
    assert_eq!(Mode::listed(&[]), "");
}
