//! What the pictures draw: plain owned data (final balances, accesses, sweep points) that `adapt.rs` fills from bankrace's results, so the drawing code depends on nothing else.

use crate::vocab::AccessKind;

/// Final balances of every mode of one run, for the histogram and the strips.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    pub title: String,
    /// The balance a correct bank ends at.
    pub expected: i64,
    pub modes: Vec<ModeSeries>,
}

/// One mode's trials, in trial order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ModeSeries {
    pub name: String,
    /// Final balance of trial `i + 1`; `None` for a trial that failed.
    pub finals: Vec<Option<i64>>,
}

/// One access to the balance, as the trace recorded it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Access {
    /// Position in the order the balance saw the accesses (unique).
    pub seq: u64,
    /// Index into [`Lanes::workers`].
    pub worker: usize,
    /// 1-based operation of that worker.
    pub op: u64,
    pub kind: AccessKind,
    /// What a read or check saw; what a write, debit or atomic update left.
    pub value: i64,
    /// What a write replaced.
    pub overwrote: Option<i64>,
    /// A check that refused the withdrawal.
    pub refused: bool,
}

/// A write whose effect the final balance does not contain, and the write
/// that replaced it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LostWrite {
    /// `seq` of the lost write.
    pub write_seq: u64,
    /// `seq` of the write that erased it, and of that write's read (made
    /// before the lost write landed).
    pub erased_by_read_seq: u64,
    pub erased_by_write_seq: u64,
    /// The money it moved: +amount for a deposit, -amount for a withdrawal.
    pub amount: i64,
}

/// A debit that overdrew: its check saw enough, but others spent it first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OverdraftLink {
    pub check_seq: u64,
    pub debit_seq: u64,
    /// What the check saw, and the balance the debit left.
    pub seen: i64,
    pub after: i64,
    /// `seq` of the writes that landed between the check and the debit.
    pub spent_by: Vec<u64>,
}

/// One explained (traced) trial, drawn as swimlanes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lanes {
    /// E.g. "no lock, trial 3".
    pub title: String,
    /// Lane names, e.g. `D1`, `D2`, `W1`.
    pub workers: Vec<String>,
    /// Sorted by `seq` or not: the renderer orders them.
    pub accesses: Vec<Access>,
    pub lost: Vec<LostWrite>,
    pub overdrafts: Vec<OverdraftLink>,
    /// One sentence under the picture, e.g. the accounting identity.
    pub caption: String,
}

/// A sweep over one parameter: the share of inconsistent trials per value
/// and mode, with its 95 % interval.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepCurve {
    /// E.g. "window".
    pub parameter: String,
    /// E.g. "µs"; the unit of [`SweepPoint::value`].
    pub unit: String,
    /// What the share counts, after "trials that": "ended wrong", "overdrew".
    pub outcome: String,
    pub points: Vec<SweepPoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepPoint {
    /// As the user wrote it, e.g. "50us".
    pub value_label: String,
    /// Numeric position on the x axis, in [`SweepCurve::unit`].
    pub value: f64,
    pub modes: Vec<SweepModePoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SweepModePoint {
    pub name: String,
    pub trials: u32,
    pub inconsistent: u32,
    /// `inconsistent / trials`, and its Wilson 95 % interval.
    pub share: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

impl SweepModePoint {
    /// A point from counts, with its share and Wilson interval computed.
    pub(crate) fn from_counts(name: &str, inconsistent: u32, trials: u32) -> Self {
        let (ci_low, ci_high) = crate::wilson::interval(u64::from(inconsistent), u64::from(trials));
        SweepModePoint {
            name: name.to_string(),
            trials,
            inconsistent,
            share: if trials == 0 {
                0.0
            } else {
                f64::from(inconsistent) / f64::from(trials)
            },
            ci_low,
            ci_high,
        }
    }
}

/// Everything the HTML page shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    /// E.g. "bankrace: lost update".
    pub title: String,
    /// One sentence under the title.
    pub lead: String,
    /// Name and value pairs, shown as a table: trials, workers, window, seed...
    pub parameters: Vec<(String, String)>,
    /// The verdict in plain words, one entry per mode.
    pub verdict: Vec<Verdict>,
    /// The histogram and strips of a run; `None` for a sweep's page.
    pub figure: Option<Figure>,
    pub explained: Vec<Lanes>,
    pub sweep: Option<SweepCurve>,
}

/// One mode's verdict: `bad` when it lost updates or overdrew.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub mode: String,
    pub text: String,
    pub bad: bool,
}
