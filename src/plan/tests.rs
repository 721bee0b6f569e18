//! The plan's unit tests: defaults, modes, ranges, seeds, faults and timeouts.

use super::*;
use crate::limits::{MAX_OPS, MAX_WORKERS};

fn request() -> Request {
    Request {
        trials: 10,
        ..Request::default()
    }
}

fn build(req: Request) -> Result<Plan, UsageError> {
    Plan::build(req, || 7)
}

#[test]
fn defaults_fill_in_and_seed_is_drawn_only_when_missing() {
    let plan = build(request()).unwrap();
    assert_eq!(plan.scenario, Scenario::LostUpdate);
    assert_eq!(plan.initial, 200);
    assert_eq!(plan.seed, 7);
    let plan = build(Request {
        seed: Some(99),
        ..request()
    })
    .unwrap();
    assert_eq!(plan.seed, 99);
}

#[test]
fn modes_follow_the_flags() {
    use LockChoice::{All, Default, One};
    let lost = Scenario::LostUpdate;
    let memory = BackendKind::Memory;
    let m = |no_lock, locks: &[LockChoice]| modes(lost, no_lock, locks, memory);
    assert_eq!(m(false, &[]), [Mode::NoLock, Mode::Mutex]);
    assert_eq!(m(true, &[]), [Mode::NoLock]);
    assert_eq!(m(false, &[One(Mode::Flock)]), [Mode::Flock]);
    assert_eq!(
        m(true, &[One(Mode::Spin), One(Mode::Atomic), One(Mode::Spin)]),
        [Mode::NoLock, Mode::Spin, Mode::Atomic]
    );
    assert_eq!(
        m(false, &[One(Mode::Spin), All]),
        [Mode::Spin, Mode::Mutex, Mode::Flock, Mode::Atomic]
    );
    assert_eq!(m(false, &[Default]), [Mode::Mutex]);
    let db = BackendKind::Postgres;
    assert_eq!(modes(lost, false, &[], db), [Mode::NoLock, Mode::Row]);
    assert_eq!(modes(lost, false, &[Default], db), [Mode::Row]);
    assert_eq!(
        modes(lost, true, &[All], db).len(),
        1 + Mode::DB_STRATEGIES.len()
    );
    assert_eq!(
        modes(Scenario::Transfer, false, &[], memory),
        Mode::TRANSFER_DEFAULT
    );
}

#[test]
fn strategies_belong_to_their_backend_and_the_db_cannot_be_traced() {
    let db = |locks: Vec<LockChoice>| Request {
        db: Some("embedded".into()),
        locks,
        ..request()
    };
    let plan = build(db(vec![])).unwrap();
    assert_eq!(plan.backend, BackendKind::Postgres);
    assert_eq!(plan.max_retries, DEFAULT_MAX_RETRIES);
    let err = build(db(vec![LockChoice::One(Mode::Mutex)])).unwrap_err();
    assert!(
        err.0.contains("--lock=mutex") && err.0.contains("row"),
        "{err}"
    );
    let err = build(Request {
        locks: vec![LockChoice::One(Mode::Serializable)],
        ..request()
    })
    .unwrap_err();
    assert!(err.0.contains("--db"), "{err}");
    let err = build(Request {
        trace: true,
        ..db(vec![])
    })
    .unwrap_err();
    assert!(err.0.contains("--trace"), "{err}");
    let err = build(Request {
        max_retries: Some(-1),
        ..db(vec![])
    })
    .unwrap_err();
    assert!(err.0.contains("--max-retries"), "{err}");
}

#[test]
fn expected_balance_per_scenario() {
    let plan = build(Request {
        depositors: Some(3),
        withdrawers: Some(1),
        ops: Some(10),
        amount: Some(5),
        ..request()
    })
    .unwrap();
    assert_eq!(plan.expected_balance(), 200 + 2 * 10 * 5);

    let atm = build(Request {
        scenario: Some(Scenario::Overdraft),
        ..request()
    })
    .unwrap();
    assert_eq!(atm.expected_balance(), 5_000);

    let more = build(Request {
        scenario: Some(Scenario::Overdraft),
        depositors: Some(1),
        ops: Some(2),
        ..request()
    })
    .unwrap();
    // 15,000 + 2 × 10,000 = 35,000; three of the four withdrawals fit.
    assert_eq!(more.expected_balance(), 5_000);
}

#[test]
fn rejects_values_out_of_range() {
    let cases = [
        Request {
            trials: 0,
            ..request()
        },
        Request {
            depositors: Some(0),
            withdrawers: Some(0),
            ..request()
        },
        Request {
            depositors: Some(i64::from(MAX_WORKERS) + 1),
            ..request()
        },
        Request {
            depositors: Some(200),
            withdrawers: Some(200),
            ..request()
        },
        Request {
            ops: Some(MAX_OPS as i64 + 1),
            ..request()
        },
        Request {
            amount: Some(0),
            ..request()
        },
        Request {
            amount: Some(-3),
            ..request()
        },
        Request {
            pause: Some(Duration::from_secs(11)),
            ..request()
        },
        Request {
            initial: Some(i64::MAX),
            ..request()
        },
        Request {
            initial: Some(i64::MIN),
            ..request()
        },
    ];
    for req in cases {
        let shown = format!("{req:?}");
        assert!(build(req).is_err(), "accepted {shown}");
    }
}

#[test]
fn plans_whose_summed_figures_could_leave_i64_are_refused() {
    // The case: each balance fits, but 20 trials' deviations summed
    // would wrap.
    let req = || Request {
        scenario: Some(Scenario::LostUpdate),
        initial: Some(i64::MAX),
        depositors: Some(0),
        withdrawers: Some(2),
        ops: Some(4_000_000),
        amount: Some(1_000_000_000_000),
        no_lock: true,
        ..request()
    };
    let err = build(Request {
        trials: 20,
        ..req()
    })
    .unwrap_err();
    assert!(err.0.contains("summed over 20 trials"), "{err}");
    assert!(build(Request { trials: 1, ..req() }).is_ok());
}

#[test]
fn trace_and_schedule_are_checked_up_front() {
    let traced = |ops, trials| Request {
        trace: true,
        ops: Some(ops),
        trials,
        ..request()
    };
    // 2 workers x 500,000 = the per-trial limit exactly.
    assert!(build(traced(500_000, 1)).is_ok());
    let e = build(traced(500_001, 1)).unwrap_err();
    assert!(e.0.contains("per trial"), "{e}");
    // 2 modes x 2 workers x 100,000 x 10 trials = the per-run limit.
    assert!(build(traced(100_000, 10)).is_ok());
    assert!(
        build(traced(100_000, 21))
            .unwrap_err()
            .0
            .contains("per run")
    );

    let scheduled = |text: &str, locks| Request {
        schedule: Some(text.into()),
        locks,
        ops: Some(1),
        ..request()
    };
    let plan = build(scheduled("D1:read W1:read D1:write W1:write", vec![])).unwrap();
    assert_eq!(plan.trial(Mode::NoLock, 1).job.steps, 4);
    assert_eq!(plan.worker_name(1).to_string(), "W1");
    assert!(build(scheduled("D1:read", vec![LockChoice::One(Mode::Atomic)])).is_err());
    assert!(
        build(scheduled("D1:hop", vec![]))
            .unwrap_err()
            .0
            .starts_with("--schedule: ")
    );
}

#[test]
fn worker_seeds_differ_per_trial_and_worker_but_not_per_mode() {
    let plan = build(request()).unwrap();
    assert_ne!(plan.worker_seed(0, 0), plan.worker_seed(0, 1));
    assert_ne!(plan.worker_seed(0, 0), plan.worker_seed(1, 0));
    assert_eq!(plan.worker_seed(3, 1), plan.worker_seed(3, 1));
}

#[test]
fn kills_follow_the_rate_and_the_seed() {
    let plan = |rate| {
        build(Request {
            kill_holder: rate,
            ..request()
        })
        .unwrap()
    };
    assert!((1..=1000).all(|t| plan(0.0).injected_kill(t).is_none()));
    assert!((1..=1000).all(|t| plan(1.0).injected_kill(t).is_some()));
    let half = plan(0.5);
    let kills = (1..=1000)
        .filter_map(|t| half.injected_kill(t))
        .collect::<Vec<_>>();
    assert!((400..=600).contains(&kills.len()), "{}", kills.len());
    assert!(kills.iter().all(|k| k.worker < 2 && k.op < 50));
    assert_eq!(half.injected_kill(17), plan(0.5).injected_kill(17));
}

#[test]
fn timeout_defaults_scale_with_the_work_and_can_be_set() {
    let plan = build(request()).unwrap();
    assert_eq!(plan.timeout, Duration::from_secs(10));
    let long = build(Request {
        ops: Some(100_000),
        pause: Some(Duration::from_millis(1)),
        ..request()
    })
    .unwrap();
    assert!(long.timeout > Duration::from_secs(1000));
    let set = build(Request {
        timeout: Some(Duration::from_secs(2)),
        ..request()
    })
    .unwrap();
    assert_eq!(set.timeout, Duration::from_secs(2));
    assert!(
        build(Request {
            timeout: Some(Duration::ZERO),
            ..request()
        })
        .is_err()
    );
    assert!(
        build(Request {
            kill_holder: 1.5,
            ..request()
        })
        .is_err()
    );
    assert!(
        build(Request {
            kill_holder: f64::NAN,
            ..request()
        })
        .is_err()
    );
}

#[test]
fn reused_workers_run_the_single_account_scenarios_on_the_ledger_only() {
    let reuse = |scenario, db: Option<&str>| {
        build(Request {
            scenario: Some(scenario),
            reuse_workers: true,
            db: db.map(str::to_string),
            ..request()
        })
    };
    assert!(reuse(Scenario::LostUpdate, None).unwrap().reuse_workers);
    assert!(reuse(Scenario::Overdraft, None).unwrap().reuse_workers);
    let err = reuse(Scenario::Transfer, None).unwrap_err().0;
    assert!(err.contains("not --scenario transfer"), "{err}");
    let err = reuse(Scenario::LostUpdate, Some("embedded")).unwrap_err().0;
    assert!(err.contains("not with --db"), "{err}");
}
