//! The CSV report: one row per trial of every mode, failed ones included, with the scenario's parameters on each row (and, for transfers, the bank's invariants); written whole or one trial at a time as a run goes, to the same bytes.

use std::io::{self, Write};

use crate::duration;
use crate::plan::Plan;
use crate::stats::{BankCheck, CycleLink, Results, TrialRecord};
use crate::vocab::{Mode, Scenario};

/// The header row. Scripts may rely on these names; new columns are added at
/// the end.
pub(crate) const COLUMNS: [&str; 35] = [
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
    "retries",
    "deadlock_aborts",
    "cas_misses",
    "backend",
    "db",
];

/// The columns the transfer scenario adds after [`COLUMNS`], and only it
/// (the other scenarios' rows keep their shape): its sizes, then per trial
/// the bank's invariants as the JSON has them. `negative_accounts` lists the
/// accounts below zero (from 1) separated by spaces; `deadlock` is the cycle
/// of a deadlocked trial, one `WORKER:HELD->WANTED` per worker separated by
/// spaces (`T1:1->2 T2:2->1`, several held accounts joined by `+`), empty
/// otherwise.
pub(crate) const TRANSFER_COLUMNS: [&str; 11] = [
    "accounts",
    "transferers",
    "auditors",
    "total_before",
    "total_after",
    "negative_accounts",
    "transfers",
    "transfers_refused",
    "audits",
    "audits_wrong_total",
    "deadlock",
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

/// A CSV report being written: the header, then one row per trial.
pub(crate) struct CsvStream<W: Write> {
    out: ::csv::Writer<W>,
    /// The columns every row repeats: the parameters and the seed.
    parameters: [String; 13],
    /// The columns of the backend every row repeats.
    backend: [String; 2],
    /// The transfer scenario's sizes, which its rows repeat; `None` in the
    /// other scenarios, whose rows have no transfer columns.
    bank: Option<[String; 3]>,
}

impl<W: Write> CsvStream<W> {
    pub fn begin(out: W, p: &Plan) -> io::Result<CsvStream<W>> {
        let mut out = ::csv::Writer::from_writer(out);
        let bank = (p.scenario == Scenario::Transfer).then(|| {
            [
                p.accounts.to_string(),
                p.transferers.to_string(),
                p.auditors.to_string(),
            ]
        });
        let extra: &[&str] = if bank.is_some() {
            &TRANSFER_COLUMNS
        } else {
            &[]
        };
        out.write_record(COLUMNS.iter().chain(extra))?;
        let parameters = [
            p.scenario.name().to_string(),
            p.trials.to_string(),
            p.initial.to_string(),
            p.depositors.to_string(),
            p.withdrawers.to_string(),
            p.ops.to_string(),
            p.amount.to_string(),
            duration::format(p.pause),
            duration::format(p.window),
            p.kill_holder.to_string(),
            duration::format(p.timeout),
            p.fail_fast.to_string(),
            p.seed.to_string(),
        ];
        let backend = [
            p.backend.name().to_string(),
            p.db.as_ref().map(|d| d.shown()).unwrap_or_default(),
        ];
        Ok(CsvStream {
            out,
            parameters,
            backend,
            bank,
        })
    }

    /// The row of one trial of `mode`.
    pub fn trial(&mut self, mode: Mode, t: &TrialRecord) -> io::Result<()> {
        let seeds: Vec<String> = t.worker_seeds.iter().map(u64::to_string).collect();
        let own = [
            mode.id().to_string(),
            t.trial.to_string(),
            t.final_balance.to_string(),
            t.expected_balance.to_string(),
            t.deviation.to_string(),
            t.status.to_string(),
            t.cause.clone().unwrap_or_default(),
            t.consistent.to_string(),
            t.overdrawn.to_string(),
            t.withdrawals_succeeded.to_string(),
            t.withdrawals_refused.to_string(),
            t.overpaid.to_string(),
            format!("{:.3}", t.duration_ms),
            format!("{:.1}", t.ops_per_sec),
            t.killed_worker.map(|w| w.to_string()).unwrap_or_default(),
            t.recoveries.to_string(),
        ];
        let after = [
            seeds.join(" "),
            t.retries.to_string(),
            t.deadlock_aborts.to_string(),
            t.cas_misses.to_string(),
        ];
        let bank = match &self.bank {
            Some(sizes) => sizes
                .iter()
                .cloned()
                .chain(bank_cells(t.bank.as_ref()))
                .collect(),
            None => Vec::new(),
        };
        let row = own
            .iter()
            .chain(&self.parameters)
            .chain(&after)
            .chain(&self.backend)
            .chain(&bank);
        self.out.write_record(row)?;
        Ok(())
    }

    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// A transfer trial's cells after its sizes: empty when it has no books
/// (which only a trial of another scenario lacks).
fn bank_cells(bank: Option<&BankCheck>) -> Vec<String> {
    let Some(b) = bank else {
        return vec![String::new(); TRANSFER_COLUMNS.len() - 3];
    };
    let joined = |values: &[u32], sep: &str| {
        let text: Vec<String> = values.iter().map(u32::to_string).collect();
        text.join(sep)
    };
    let link = |l: &CycleLink| format!("{}:{}->{}", l.worker, joined(&l.holds, "+"), l.waits_for);
    let cycle: Vec<String> = b.deadlock.iter().flatten().map(link).collect();
    vec![
        b.total_before.to_string(),
        b.total_after.to_string(),
        joined(&b.negative_accounts, " "),
        b.transfers.to_string(),
        b.transfers_refused.to_string(),
        b.audits.to_string(),
        b.audits_wrong_total.to_string(),
        cycle.join(" "),
    ]
}

const _: () = assert!(COLUMNS.len() == 16 + 13 + 4 + 2);

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
