//! `UsageError`: a value a user gave that cannot be run, with a sentence saying how to fix it (exit status 2).

use std::fmt;

/// A value a user gave that cannot be run, with a sentence saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
