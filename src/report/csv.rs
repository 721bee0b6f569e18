//! The CSV report: one row per trial of every mode, failed ones included, with the scenario's parameters on each row.

use super::stream::CsvStream;
use crate::stats::Results;

/// The header row. Scripts may rely on these names; new columns are added at
/// the end.
pub(crate) const COLUMNS: [&str; 30] = [
    "mode",
    "trial",
    "final_balance",
    "expected_balance",
    "deviation",
    "status",
    "cause",
    "consistent",
    "overdrawn",
    "withdrawals_succeeded",
    "withdrawals_refused",
    "overpaid",
    "duration_ms",
    "ops_per_sec",
    "killed_worker",
    "recoveries",
    "scenario",
    "trials",
    "initial",
    "depositors",
    "withdrawers",
    "ops",
    "amount",
    "pause",
    "window",
    "kill_holder",
    "timeout",
    "fail_fast",
    "seed",
    "worker_seeds",
];

/// Every trial, in the order the modes ran. `mode` is `no-lock` or the
/// strategy's name; `cause` is empty unless `status` is `failed`;
/// `killed_worker` is empty unless a worker died holding the lock;
/// `worker_seeds` lists each worker's seed, separated by spaces.
pub fn render(results: &Results) -> String {
    let mut stream = CsvStream::begin(Vec::new(), &results.parameters).expect("writing to memory");
    for mode in &results.modes {
        for t in &mode.trials {
            stream.trial(mode.mode, t).expect("writing to memory");
        }
    }
    let bytes = stream.finish().expect("writing to memory");
    String::from_utf8(bytes).expect("every field is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn one_row_per_trial_and_causes_quoted() {
        let results = fixtures::results();
        let text = render(&results);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), COLUMNS.as_slice());
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let trials: usize = results.modes.iter().map(|m| m.trials.len()).sum();
        assert_eq!(rows.len(), trials);
        let failed = rows
            .iter()
            .find(|r| &r[5] == "failed")
            .expect("a failed row");
        // The cause has a comma and quotes in it: it survives as one field.
        assert_eq!(&failed[6], fixtures::FAILED_CAUSE);
        assert_eq!(&failed[7], "false");
        assert!(rows.iter().all(|r| r.len() == COLUMNS.len()));
        assert_eq!(&rows[0][0], "no-lock");
        assert_eq!(&rows.last().unwrap()[0], "mutex");
    }

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(render(&fixtures::results()));
    }

    #[test]
    fn more_snapshots() {
        insta::assert_snapshot!("overdraft", render(&fixtures::overdraft()));
        insta::assert_snapshot!("interrupted", render(&fixtures::interrupted()));
    }
}
