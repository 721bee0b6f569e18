//! The memory backend: the accounts are words of the memory-mapped ledger, and a strategy makes each operation safe (or not).

use std::fs::File;
use std::io;
use std::sync::atomic::AtomicI64;

use super::Backend;
use crate::ledger::Ledger;
use crate::strategy::skew;
use crate::strategy::transfer::{self, Transfer};
use crate::strategy::{Hooks, Strategy, Withdrawal};

/// Operations on the ledger's accounts through strategy `S`.
pub(crate) struct Memory<'a, S> {
    ledger: &'a Ledger,
    /// Account 0, found once: every operation of the single-account
    /// scenarios uses it, and finding an account checks its place in the
    /// mapping, which would cost those loops a sixth of their speed.
    first: &'a AtomicI64,
    strategy: S,
    /// This worker's own open of the ledger file, for the transfer
    /// scenario's byte-range locks.
    own: Option<&'a File>,
}

impl<'a, S: Strategy> Memory<'a, S> {
    pub fn new(ledger: &'a Ledger, strategy: S) -> Memory<'a, S> {
        Memory {
            ledger,
            first: ledger.account(0),
            strategy,
            own: None,
        }
    }

    /// The same, with `own`, this worker's own open of the ledger file, whose
    /// bytes the `range` mode locks.
    pub fn with_file(ledger: &'a Ledger, strategy: S, own: &'a File) -> Memory<'a, S> {
        Memory {
            own: Some(own),
            ..Self::new(ledger, strategy)
        }
    }

    /// Account `index`; the worker's loops pass a constant 0, which this
    /// folds into the account found once.
    #[inline(always)]
    fn account(&self, index: u32) -> &'a AtomicI64 {
        if index == 0 {
            self.first
        } else {
            self.ledger.account(index)
        }
    }
}

impl<S: Strategy> Backend for Memory<'_, S> {
    #[inline(always)]
    fn update<H: Hooks>(&mut self, account: u32, delta: i64, hooks: &mut H) -> io::Result<()> {
        self.strategy
            .update(self.ledger, self.account(account), delta, hooks)
    }

    #[inline(always)]
    fn withdraw<H: Hooks>(
        &mut self,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        self.strategy
            .withdraw(self.ledger, self.account(account), amount, hooks)
    }

    #[inline(always)]
    fn deposit<H: Hooks>(&mut self, account: u32, amount: i64, hooks: &mut H) -> io::Result<()> {
        // Deposits cannot break "never below zero", so in the overdraft
        // scenario they are plain atomic additions whatever the strategy.
        hooks.add(self.account(account), amount)?;
        Ok(())
    }

    // Transfers and audits take the locks the mode names, one per account or
    // the bank's (`strategy::transfer`), whatever the strategy `S`.
    fn transfer<H: Hooks>(
        &mut self,
        me: u32,
        t: Transfer,
        gate: &mut dyn FnMut() -> io::Result<()>,
        hooks: &mut H,
    ) -> io::Result<bool> {
        let mode = self.ledger.job().mode;
        let how = transfer::per_account(mode, self.own)?;
        transfer::transfer(self.ledger, mode, how, me, t, gate, hooks)
    }

    fn audit<H: Hooks>(&mut self, me: u32, hooks: &mut H) -> io::Result<Vec<i64>> {
        let job = self.ledger.job();
        let how = transfer::per_account(job.mode, self.own)?;
        transfer::audit(self.ledger, job.mode, how, me, !job.audits_unlocked, hooks)
    }

    // The write skew, like transfers, takes the locks the mode names.
    fn debit_if_sum_covers<H: Hooks>(
        &mut self,
        me: u32,
        account: u32,
        amount: i64,
        hooks: &mut H,
    ) -> io::Result<Withdrawal> {
        let mode = self.ledger.job().mode;
        skew::debit_if_sum_covers(self.ledger, mode, me, account, amount, hooks)
    }
}
