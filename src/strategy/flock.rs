//! The kernel's file lock, `flock(2)`, on the ledger file through each worker's own open file description.

use std::fs::File;
use std::io;

use super::Lock;
use crate::ledger::Ledger;

/// Locks the ledger file. A `flock` belongs to an open file description, so
/// every worker must open the file itself: two descriptors that share one
/// description (a `dup`, or a descriptor inherited across `exec`) would share
/// the lock and not exclude each other. The kernel drops the lock when its
/// holder dies.
pub struct Flock {
    file: File,
}

impl Flock {
    /// `file` must be this worker's own open of the ledger file.
    pub fn new(file: File) -> Flock {
        Flock { file }
    }
}

/// Holds the file lock; unlocks when dropped.
pub(crate) struct FlockGuard<'a>(&'a File);

impl Drop for FlockGuard<'_> {
    fn drop(&mut self) {
        // Unlocking an flock we hold cannot fail short of a bad descriptor,
        // and closing the file would release it anyway.
        let _ = self.0.unlock();
    }
}

impl Lock for Flock {
    type Guard<'a> = FlockGuard<'a>;

    fn acquire<'a>(&'a mut self, _: &'a Ledger) -> io::Result<FlockGuard<'a>> {
        loop {
            match self.file.lock() {
                Ok(()) => return Ok(FlockGuard(&self.file)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Locked;
    use crate::strategy::testing::{atm, hammer, hammer_expected};
    use std::time::Duration;

    /// Each thread opens the file anew, as each worker process does.
    fn own_open(path: &std::path::Path) -> Flock {
        Flock::new(File::open(path).unwrap())
    }

    #[test]
    fn updates_are_exact_under_contention() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let got = hammer(|_| Locked(own_open(tmp.path())), 4, 2_000, Duration::ZERO);
        assert_eq!(got, hammer_expected(4, 2_000));
    }

    #[test]
    fn only_one_withdrawal_fits() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let got = atm(
            |_| Locked(own_open(tmp.path())),
            4,
            Duration::from_millis(5),
        );
        assert_eq!(got, (5_000, 1));
    }
}
