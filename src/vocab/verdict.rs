//! The anomaly table's words: what one cell (a scenario under a mode, over its trials) found. Part of the vocabulary.

use std::fmt;

use serde::{Serialize, Serializer};

/// What one cell of the anomaly table (`bankrace matrix`) found: one
/// scenario under one mode, over its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// At least one finished trial ended wrong (off the books, overdrawn,
    /// the bank's invariants broken).
    Anomaly,
    /// No finished trial ended wrong, but some deadlocked.
    Deadlock,
    /// Every trial ran, and none ended wrong or deadlocked.
    Prevented,
    /// No trial finished: every one failed, so nothing could be judged.
    Failed,
    /// The matrix was interrupted before this cell ran.
    NotRun,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Verdict::Anomaly,
        Verdict::Deadlock,
        Verdict::Prevented,
        Verdict::Failed,
        Verdict::NotRun,
    ];

    /// The name programs read (JSON's `verdict`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Anomaly => "anomaly",
            Verdict::Deadlock => "deadlock",
            Verdict::Prevented => "prevented",
            Verdict::Failed => "failed",
            Verdict::NotRun => "not-run",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
