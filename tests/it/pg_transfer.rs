//! Transfers and audits on PostgreSQL (`--db embedded`), in real processes: a forced collision that the server breaks with 40P01, counted and retried; and Jepsen's bank invariants in every trial of the modes that lock or read one snapshot.
//!
//! Certain by construction: with `--collide`, T1's first transfer goes
//! `#1→#2` and T2's `#2→#1`, and neither goes on past its first access (under
//! `row`, its source's `FOR UPDATE`) until both have made it. Each then asks
//! for the row the other holds: a cycle, which the server finds and breaks by
//! aborting one of them, which retries (how often the retry closes the cycle
//! again depends on the scheduler: at least one abort is certain).
//! The invariants (money conserved, no account negative, every audit the
//! true total) are asserted in every trial, whoever wins each race.

use serde_json::Value;

use super::common::*;
use super::pg::{modes, reachable_tmp, run_in, server_binaries};

fn bank_holds(id: &str, t: &Value) {
    assert_eq!(t["status"], "ok", "{id}: {t}");
    assert_eq!(t["total_after"], t["total_before"], "{id}: {t}");
    assert_eq!(t["negative_accounts"], serde_json::json!([]), "{id}: {t}");
    assert_eq!(t["audits_wrong_total"], 0, "{id}: {t}");
    assert_eq!(t["consistent"], true, "{id}: {t}");
}

#[test]
fn a_forced_collision_under_row_locks_is_a_deadlock_the_server_breaks() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let args = [
        "--scenario",
        "transfer",
        "--accounts",
        "2",
        "--transferers",
        "2",
        "--ops",
        "1",
        "--collide",
        "--lock=row",
        "--lock=advisory",
        "--trials",
        "2",
        "--db",
        "embedded",
    ];
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    let found = modes(&report);
    assert_eq!(found.len(), 2);
    for (id, trials) in &found {
        for t in trials {
            bank_holds(id, t);
            // Both transfers went through, the victim on its retry.
            assert_eq!(t["transfers"], 2, "{id}: {t}");
            // Row locks in naming order close the cycle in every trial, at
            // least once: the victim's retry may take its source back before
            // the survivor, woken, takes it, and close the cycle again.
            // Advisory locks in account order never do.
            let aborts = t["deadlock_aborts"].as_u64().unwrap();
            if id == "row" {
                assert!(aborts >= 1, "{id}: {t}");
            } else {
                assert_eq!(aborts, 0, "{id}: {t}");
            }
        }
    }
    let summed = report["modes"][0]["summary"]["deadlock_aborts"].as_u64();
    assert!(summed >= Some(2), "{report}");
}

#[test]
fn locks_and_snapshots_keep_the_bank_s_invariants_in_every_trial() {
    if server_binaries().is_none() {
        return;
    }
    let tmp = reachable_tmp();
    let args = [
        "--scenario",
        "transfer",
        "--auditors",
        "1",
        "--ops",
        "10",
        "--lock=row",
        "--lock=advisory",
        "--lock=repeatable-read",
        "--lock=serializable",
        "--trials",
        "2",
        "--db",
        "embedded",
    ];
    let (code, report, stderr) = run_in(tmp.path(), &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_empty(tmp.path());
    for (id, trials) in modes(&report) {
        for t in &trials {
            bank_holds(&id, t);
            assert_eq!(t["audits"], 10, "{id}: {t}");
        }
    }
}

#[test]
fn memory_modes_with_db_and_db_modes_without_it_are_usage_errors() {
    for (args, needle) in [
        (
            vec!["--lock=mutex-unordered", "--db", "embedded"],
            "memory-mapped ledger only",
        ),
        (vec!["--lock=row"], "not available in the transfer scenario"),
        (vec!["--lock=atomic"], "on the memory ledger"),
    ] {
        let mut all = vec!["--scenario", "transfer"];
        all.extend(args);
        let (code, _, err) = run_text(&all);
        assert_eq!(code, Some(2), "{all:?}: {err}");
        assert_usage_error(&err, needle);
    }
}
