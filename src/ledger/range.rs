//! Byte-range locks on the ledger file, one byte per account, as open file description (OFD) locks: `fcntl(F_OFD_SETLKW)`. The transfer scenario's `range` mode takes them; the one FFI call lives here.
//!
//! # OFD locks, not POSIX record locks
//!
//! Linux offers two kinds of byte-range lock through `fcntl`, and they differ
//! in who owns a lock:
//!
//! - a POSIX record lock (`F_SETLKW`) belongs to the *process*. Closing any
//!   descriptor of the file in that process drops all its locks on it, two
//!   threads of one process never exclude each other, and the kernel looks for
//!   a cycle among waiting processes: a request that would close one fails
//!   with `EDEADLK` instead of sleeping forever;
//! - an OFD lock (`F_OFD_SETLKW`) belongs to the *open file description*, like
//!   an `flock`. Each worker opens the ledger itself (through `/proc/self/fd`),
//!   so each worker owns its locks, closing another descriptor does not drop
//!   them, and threads that open the file themselves exclude each other (which
//!   the unit tests rely on). The kernel does no deadlock detection for them.
//!
//! `range` takes its locks in account order, so no cycle can form and the
//! kernel's detection would have nothing to find: the ownership that matches
//! the other strategies (a worker's own open file, as `flock` has) decides.
//! The holder and wait-for words are published around these locks exactly as
//! around the mutexes (`waits.rs`), so the coordinator's detector would see a
//! cycle among them as it sees one among mutexes.
//!
//! The locks are advisory: they exclude other lockers of the same bytes and
//! nothing else; the mapping's words are read and written as always.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Takes (waiting for it) or releases the write lock on byte `at` of `file`,
/// as an OFD lock owned by `file`'s open file description.
pub(super) fn set_byte(file: &File, at: u32, lock: bool) -> io::Result<()> {
    let request = libc::flock {
        l_type: if lock { libc::F_WRLCK } else { libc::F_UNLCK } as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: libc::off_t::from(at),
        l_len: 1,
        // OFD requests must leave the owner's pid at 0.
        l_pid: 0,
    };
    loop {
        // SAFETY: `F_OFD_SETLKW` reads one `struct flock` through the
        // pointer, which points at `request`, alive and initialised for the
        // whole call; the descriptor is `file`'s, open while it is borrowed.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLKW, &request) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sealed memfd, as every ledger is, reopened as a second description.
    fn two_descriptions() -> (File, File) {
        let file = crate::ledger::Ledger::unnamed_file().unwrap();
        file.set_len(4096).unwrap();
        crate::ledger::seal_size(&file).unwrap();
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let again = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        (file, again)
    }

    /// Whether `file` could take byte `at` now, without waiting.
    fn free(file: &File, at: u32) -> bool {
        let probe = libc::flock {
            l_type: libc::F_WRLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: libc::off_t::from(at),
            l_len: 1,
            l_pid: 0,
        };
        // SAFETY: as in `set_byte`; F_OFD_SETLK only reads `probe`.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &probe) };
        if rc == 0 {
            set_byte(file, at, false).unwrap();
        }
        rc == 0
    }

    #[test]
    fn a_byte_excludes_another_description_and_only_that_byte() {
        let (mine, theirs) = two_descriptions();
        set_byte(&mine, 1, true).unwrap();
        assert!(!free(&theirs, 1), "byte 1 is held by the other description");
        assert!(
            free(&theirs, 0) && free(&theirs, 2),
            "its neighbours are not"
        );
        // Its owner's own request does not wait for itself.
        assert!(free(&mine, 1));
        set_byte(&mine, 1, true).unwrap();
        set_byte(&mine, 1, false).unwrap();
        assert!(free(&theirs, 1));
    }

    #[test]
    fn closing_the_owner_releases_its_bytes() {
        let (mine, theirs) = two_descriptions();
        set_byte(&mine, 5, true).unwrap();
        drop(mine);
        assert!(free(&theirs, 5));
    }
}
