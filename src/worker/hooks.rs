//! What the worker loop asks of its hooks besides the strategies' part, the plain hooks of an untraced trial, and death by injected fault.

use std::time::Duration;

use crate::ledger::Ledger;
use crate::strategy::Hooks;

/// What the worker loop needs from its hooks besides the strategy's part.
pub(super) trait OpHooks: Hooks {
    /// Fault injection: die in the next window (`true`), or not (`false`).
    fn arm_fault(&mut self, armed: bool);
    /// Operation `op` (0-based) is complete.
    fn op_done(&mut self, op: u64);
    /// Every operation is complete.
    fn finished(&mut self) -> std::io::Result<()>;
}

/// The plain hooks: the race window, a sleep between read and write where a
/// lock (if any) is held, and the strategies' bare accesses. Also where an
/// injected fault strikes.
pub(super) struct Window<'a> {
    pub ledger: &'a Ledger,
    /// This worker's slot.
    pub index: u32,
    pub length: Duration,
    /// Fault injection: kill this process now, holding whatever it holds.
    pub die_now: bool,
}

impl Hooks for Window<'_> {
    fn window(&mut self) {
        if self.die_now {
            die(self.ledger, self.index);
        }
        if !self.length.is_zero() {
            std::thread::sleep(self.length);
        }
    }
}

impl OpHooks for Window<'_> {
    #[inline(always)]
    fn arm_fault(&mut self, armed: bool) {
        self.die_now = armed;
    }
    #[inline(always)]
    fn op_done(&mut self, _: u64) {}
    #[inline(always)]
    fn finished(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Kills this process with SIGKILL, on purpose: no unwinding, no unlocking,
/// no cleanup, as a crash or the OOM killer would. First marks itself
/// through with the trial (for reused workers: so that the last survivor
/// knows it is the last) and opens the fault gate, so that the other workers
/// of the trial start and want what it holds.
pub(super) fn die(ledger: &Ledger, index: u32) -> ! {
    ledger.mark_through(index, ledger.generation());
    ledger.open_fault_gate();
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught or ignored; this is never reached.
    std::process::abort()
}
