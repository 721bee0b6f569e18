//! Ctrl-C, SIGTERM and SIGHUP: the first one asks the run to stop cleanly, a second one ends the process at once.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::{flag, low_level::pipe};

/// The signals that interrupt a run.
pub(crate) const INTERRUPTING: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Records which interrupting signal arrived, and wakes a `poll` through a
/// self-pipe so that a coordinator waiting for workers notices at once.
pub struct Interrupts {
    caught: Arc<AtomicUsize>,
    wake: UnixStream,
    /// Our copy of the write end: while it is open, the read end never
    /// reports end-of-file, which `poll` would see as always readable.
    _write: UnixStream,
}

impl Interrupts {
    /// Installs the handlers. The first signal sets the flag and wakes the
    /// pipe; the coordinator then ends the trial's workers, reaps them and
    /// returns. A second signal exits with status 128 + N on the spot, in
    /// case cleaning up hangs: the workers die with us (they asked the kernel
    /// for that) and no ledger has a name on disk, so nothing is left behind.
    pub fn install() -> io::Result<Interrupts> {
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let caught = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        let ignored = inherited_ignored();
        // A signal the parent set to be ignored (`nohup`, a shell's
        // background job) stays ignored, as in every well-behaved tool.
        for sig in INTERRUPTING.into_iter().filter(|&s| !is_set(ignored, s)) {
            // Order matters: actions run in registration order, so the exit
            // check sees `armed` as the previous signal left it.
            flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&armed))?;
            flag::register(sig, Arc::clone(&armed))?;
            flag::register_usize(sig, Arc::clone(&caught), sig as usize)?;
            pipe::register(sig, write.try_clone()?)?;
        }
        Ok(Interrupts {
            caught,
            wake,
            _write: write,
        })
    }

    /// Interrupts that never fire: for callers that handle signals
    /// themselves, and for tests.
    #[cfg(test)]
    pub(crate) fn none() -> io::Result<Interrupts> {
        let (wake, write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        Ok(Interrupts {
            caught: Arc::new(AtomicUsize::new(0)),
            wake,
            _write: write,
        })
    }

    /// The signal that interrupted the run, if one did.
    pub fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::SeqCst) {
            0 => None,
            sig => Some(sig as i32),
        }
    }

    /// Readable once a signal arrived: add it to a `poll`.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Empties the self-pipe after a wake-up.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// The signals this process ignores, as a bit set (bit N-1 for signal N),
/// read from `/proc/self/status`: what the parent left ignored across exec.
/// Unreadable, it counts as none.
fn inherited_ignored() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| parse_sig_ign(&status))
        .unwrap_or(0)
}

/// The `SigIgn:` mask of a `/proc/PID/status` text.
fn parse_sig_ign(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

fn is_set(mask: u64, sig: i32) -> bool {
    (1..=64).contains(&sig) && mask & (1 << (sig - 1)) != 0
}

/// "SIGINT", "SIGTERM", ...: the name of a signal number.
pub fn name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        _ => format!("signal {sig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(libc::SIGINT), "SIGINT");
        assert_eq!(name(libc::SIGKILL), "SIGKILL");
        assert_eq!(name(64), "signal 64");
    }

    #[test]
    fn the_ignored_mask_is_read_from_proc_status() {
        let status = "Name:\tbankrace\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000003\n";
        let mask = parse_sig_ign(status).unwrap();
        assert!(is_set(mask, libc::SIGHUP) && is_set(mask, libc::SIGINT));
        assert!(!is_set(mask, libc::SIGTERM));
        assert_eq!(parse_sig_ign("Name: x"), None);
    }

    #[test]
    fn inert_interrupts_never_fire() {
        let i = Interrupts::none().unwrap();
        assert_eq!(i.caught(), None);
        i.drain();
    }
}
