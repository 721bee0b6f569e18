//! The transfer scenario's books in CSV and Markdown: the same facts as the JSON of the same run, row by row, and the summary's counts from them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::run_text;
use crate::transfer::assert_invariants;

/// One run, three reports: JSON on stdout, CSV and Markdown exported. With
/// `--collide` and unlocked audits, T1 (#1 -> #2) and T2 (#2 -> #1) close a
/// cycle under `mutex-unordered` in every trial (the auditor takes no lock),
/// so the deadlock columns are filled; the unlocked and ordered modes fill
/// the rest.
fn three_reports() -> (Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("run.csv");
    let md = dir.path().join("run.md");
    let (code, stdout, stderr) = run_text(&[
        "--scenario",
        "transfer",
        "--accounts",
        "2",
        "--transferers",
        "2",
        "--auditors",
        "1",
        "--unlocked-audits",
        "--ops",
        "4",
        "--collide",
        "--trials",
        "3",
        "--seed",
        "11",
        "--no-lock",
        "--lock=mutex-unordered",
        "--lock=mutex",
        "--format",
        "json",
        "--export-csv",
        csv.to_str().unwrap(),
        "--export-markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let csv = std::fs::read_to_string(csv).unwrap();
    let md = std::fs::read_to_string(md).unwrap();
    (report, csv, md)
}

/// The JSON trial of `mode` (its `lock`, or `no-lock`) and `trial`.
fn json_trial<'a>(report: &'a Value, mode: &str, trial: u64) -> &'a Value {
    let m = report["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["lock"].as_str().unwrap_or("no-lock") == mode)
        .unwrap();
    m["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trial"] == trial)
        .unwrap()
}

/// A JSON list of accounts, as the CSV writes it: `1 3`.
fn accounts(v: &Value, sep: &str, prefix: &str) -> String {
    let names: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{prefix}{a}"))
        .collect();
    names.join(sep)
}

/// What the CSV's `deadlock` cell says of a JSON trial's cycle:
/// `T1:1->2 T2:2->1`, or nothing.
fn cycle_cell(deadlock: &Value) -> String {
    let Some(links) = deadlock.as_array() else {
        return String::new();
    };
    let link = |l: &Value| {
        let holds = accounts(&l["holds"], "+", "");
        format!(
            "{}:{holds}->{}",
            l["worker"].as_str().unwrap(),
            l["waits_for"]
        )
    };
    links.iter().map(link).collect::<Vec<_>>().join(" ")
}

#[test]
fn csv_rows_carry_the_json_books_and_sum_to_its_summary() {
    let (report, csv, _) = three_reports();
    assert_invariants(&report);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    // The transfer columns come after every column the other scenarios have.
    assert_eq!(at("accounts"), 35, "{header:?}");
    assert_eq!(header.last().map(String::as_str), Some("deadlock"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9, "three trials of three modes");
    // Per mode: deadlocked, money changed, wrong audits, from the rows.
    let mut sums: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for row in &rows {
        assert_eq!(row.len(), header.len());
        let t = json_trial(&report, &row[at("mode")], row[at("trial")].parse().unwrap());
        assert_eq!(
            (
                &row[at("accounts")],
                &row[at("transferers")],
                &row[at("auditors")]
            ),
            ("2", "2", "1")
        );
        assert_eq!(row[at("status")], t["status"]);
        for field in [
            "total_before",
            "total_after",
            "transfers",
            "transfers_refused",
            "audits",
            "audits_wrong_total",
        ] {
            assert_eq!(row[at(field)], t[field].to_string(), "{field} of {t}");
        }
        assert_eq!(
            row[at("negative_accounts")],
            accounts(&t["negative_accounts"], " ", "")
        );
        assert_eq!(row[at("deadlock")], cycle_cell(&t["deadlock"]));
        let ok = &row[at("status")] == "ok";
        let sum = sums.entry(row[at("mode")].to_string()).or_default();
        sum.0 += u64::from(&row[at("status")] == "deadlocked");
        sum.1 += u64::from(ok && row[at("total_after")] != row[at("total_before")]);
        sum.2 += row[at("audits_wrong_total")].parse::<u64>().unwrap();
    }
    for m in report["modes"].as_array().unwrap() {
        let s = &m["summary"];
        let id = m["lock"].as_str().unwrap_or("no-lock");
        assert_eq!(
            sums[id],
            (
                s["deadlocked"].as_u64().unwrap(),
                s["money_changed"].as_u64().unwrap(),
                s["audits_wrong_total"].as_u64().unwrap()
            ),
            "{id}"
        );
    }
    // Certain by construction: the collision deadlocks every unordered trial,
    // and the cycle is T1's and T2's.
    assert_eq!(sums["mutex-unordered"].0, 3);
    let unordered = rows.iter().find(|r| &r[at("mode")] == "mutex-unordered");
    assert_eq!(&unordered.unwrap()[at("deadlock")], "T1:1->2 T2:2->1");
}

#[test]
fn the_markdown_table_lists_every_trials_books() {
    let (report, _, md) = three_reports();
    assert_invariants(&report);
    let rows: Vec<Vec<&str>> = md
        .lines()
        .skip_while(|l| !l.starts_with("| mode | trial | status | total before"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 9, "{md}");
    for row in &rows {
        let mode = if row[0] == "no lock" {
            "no-lock"
        } else {
            row[0]
        };
        let t = json_trial(&report, mode, row[1].parse().unwrap());
        assert_eq!(row[2], t["status"]);
        let numbers = [
            "total_before",
            "total_after",
            "transfers",
            "transfers_refused",
            "audits",
            "audits_wrong_total",
        ];
        let cells = [row[3], row[4], row[6], row[7], row[8], row[9]];
        for (field, cell) in numbers.iter().zip(cells) {
            assert_eq!(cell, t[field].to_string(), "{field} of {t}");
        }
        assert_eq!(row[5], accounts(&t["negative_accounts"], " ", "#"));
        if t["status"] == "deadlocked" {
            assert_eq!(
                row[10],
                "T1 holds #1, waits for #2; T2 holds #2, waits for #1"
            );
        } else {
            assert_eq!(row[10], "");
        }
    }
    // Deadlocked trials are listed as deadlocked, with the cycle in words.
    assert!(
        md.contains(
            "- mutex-unordered: trial 1 deadlocked: T1 holds #1 and waits for #2; \
             T2 holds #2 and waits for #1"
        ),
        "{md}"
    );
}

#[test]
fn other_scenarios_keep_their_columns() {
    let (code, stdout, stderr) = run_text(&["--trials", "1", "--ops", "5", "--format", "csv"]);
    assert_eq!(code, Some(0), "{stderr}");
    let header = stdout.lines().next().unwrap();
    assert_eq!(header.split(',').count(), 35, "{header}");
    assert!(!header.contains("total_before"));
    let (code, stdout, _) = run_text(&["--trials", "1", "--ops", "5", "--format", "markdown"]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("| mode | trial |"), "{stdout}");
}
