//! The history records of the transfer scenario (`--export-history`): each worker writes one per operation, when it starts and again when it ends; the coordinator reads them back once the workers are gone. Safe code over the layout's accessors.
//!
//! A record is `5 + accounts` words: what (0 empty, else a [`Done`] code),
//! the start and end times (CLOCK_MONOTONIC ns), `from | to << 32`, the
//! amount, then the balances an audit read. Only its worker writes it; `what`
//! is stored last, with `Release`.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::Ledger;
use crate::history::{Done, OpRecord, What};

impl Ledger {
    fn history_word(&self, worker: u32, op: u64, word: usize) -> &AtomicU64 {
        assert!(
            self.job.history && worker < self.job.workers && op < self.job.ops,
            "history record index out of range"
        );
        let r = &self.regions;
        assert!(word < r.history_words, "history word out of range");
        let index = (worker as usize * self.job.ops as usize + op as usize) * r.history_words;
        self.map.at(r.history + 8 * (index + word))
    }

    /// Empties every history record. Coordinator only, between trials.
    pub(super) fn clear_history(&self) {
        if !self.job.history {
            return;
        }
        for w in 0..self.job.workers {
            for op in 0..self.job.ops {
                self.history_word(w, op, 0).store(0, Relaxed);
            }
        }
    }

    /// Stores worker `worker`'s record of operation `op`. Only that worker
    /// writes it; a later store of the same operation replaces the earlier.
    pub(crate) fn store_history(&self, worker: u32, op: u64, rec: &OpRecord) {
        let w = |i| self.history_word(worker, op, i);
        w(1).store(rec.start_ns, Relaxed);
        w(2).store(rec.end_ns, Relaxed);
        let (from, to, amount) = match rec.what {
            What::Transfer { from, to, amount } => (from, to, amount),
            What::Read => (0, 0, 0),
        };
        w(3).store(u64::from(from) | u64::from(to) << 32, Relaxed);
        w(4).store(amount as u64, Relaxed);
        for (a, b) in rec.balances.iter().enumerate() {
            w(5 + a).store(*b as u64, Relaxed);
        }
        w(0).store(rec.code(), Release);
    }

    /// Worker `worker`'s record of operation `op`, or `None` if it never
    /// started it.
    pub(crate) fn load_history(&self, worker: u32, op: u64) -> Option<OpRecord> {
        let w = |i| self.history_word(worker, op, i);
        let (read, done) = OpRecord::decode(w(0).load(Acquire))?;
        let pair = w(3).load(Relaxed);
        let what = if read {
            What::Read
        } else {
            What::Transfer {
                from: pair as u32,
                to: (pair >> 32) as u32,
                amount: w(4).load(Relaxed) as i64,
            }
        };
        let balances = if read && done == Some(Done::Ok) {
            (0..self.job.accounts as usize)
                .map(|a| w(5 + a).load(Relaxed) as i64)
                .collect()
        } else {
            Vec::new()
        };
        Some(OpRecord {
            what,
            done,
            start_ns: w(1).load(Relaxed),
            end_ns: w(2).load(Relaxed),
            balances,
        })
    }
}
