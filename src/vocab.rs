//! The vocabulary: scenarios, modes, trial statuses, access kinds and worker names, each with its names, wire code and command-line values, defined once.
//!
//! Every other file uses these types. A name that users or programs read
//! (`lost-update`, `no-lock`, `mutex`, `ok`, `read`, `D1`) is written here and
//! nowhere else, and so is the number a type is stored as in the ledger.

use std::fmt;

use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde::{Serialize, Serializer};

/// Which race a run demonstrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Read-modify-write: deposits and withdrawals overwrite each other.
    LostUpdate,
    /// Check-then-act: two withdrawals both see enough money.
    Overdraft,
    /// Transfers between several accounts: lost money, deadlocks, audits.
    Transfer,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [
        Scenario::LostUpdate,
        Scenario::Overdraft,
        Scenario::Transfer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::LostUpdate => "lost-update",
            Scenario::Overdraft => "overdraft",
            Scenario::Transfer => "transfer",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Scenario::LostUpdate => {
                "Deposits and withdrawals overwrite each other (read-modify-write)"
            }
            Scenario::Overdraft => "Two ATMs both see enough money (check-then-act)",
            Scenario::Transfer => {
                "Transfers between accounts: money vanishes, locks deadlock, audits see wrong totals"
            }
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Scenario> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl ValueEnum for Scenario {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.help()))
    }
}

impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How the workers of one column of the comparison apply their operations:
/// with no protection, or with one named strategy. Four strategies take a
/// lock (`mutex`, `flock`, `spin`); `atomic` takes none and makes each
/// update one indivisible instruction instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    NoLock,
    /// Robust, process-shared pthread mutex in the mapping.
    Mutex,
    /// `flock(2)` on the ledger file, through each worker's own open file.
    Flock,
    /// Compare-and-swap spin lock in the mapping.
    Spin,
    /// Atomic read-modify-write instructions: no lock at all.
    Atomic,
    /// Transfer scenario: one robust mutex per account, taken in the order
    /// the transfer names them (source, then destination). Deadlocks.
    MutexUnordered,
    /// Transfer scenario: one robust mutex for the whole bank.
    Global,
}

impl Mode {
    pub const ALL: [Mode; 7] = [
        Mode::NoLock,
        Mode::Mutex,
        Mode::Flock,
        Mode::Spin,
        Mode::Atomic,
        Mode::MutexUnordered,
        Mode::Global,
    ];

    /// The modes of the transfer scenario, in the order they are shown.
    pub(crate) const TRANSFER: [Mode; 4] = [
        Mode::NoLock,
        Mode::MutexUnordered,
        Mode::Mutex,
        Mode::Global,
    ];

    /// What the transfer scenario runs when no mode is named.
    pub(crate) const TRANSFER_DEFAULT: [Mode; 3] =
        [Mode::NoLock, Mode::MutexUnordered, Mode::Mutex];

    /// Whether the mode is meant for `scenario`: the transfer scenario has
    /// its own set, and `mutex-unordered` and `global` exist only there.
    pub(crate) fn fits(self, scenario: Scenario) -> bool {
        match scenario {
            Scenario::Transfer => Self::TRANSFER.contains(&self),
            _ => !matches!(self, Mode::MutexUnordered | Mode::Global),
        }
    }

    /// The strategies, in the order `--lock=all` runs them.
    pub(crate) const STRATEGIES: [Mode; 4] = [Mode::Mutex, Mode::Flock, Mode::Spin, Mode::Atomic];

    /// What bare `--lock` means: the robust mutex, the fastest real lock that
    /// recovers when its holder dies.
    pub(crate) const DEFAULT_STRATEGY: Mode = Mode::Mutex;

    /// The name programs read: `no-lock`, or the strategy's name as
    /// `--lock=NAME` takes it.
    pub fn id(self) -> &'static str {
        match self {
            Mode::NoLock => "no-lock",
            Mode::Mutex => "mutex",
            Mode::Flock => "flock",
            Mode::Spin => "spin",
            Mode::Atomic => "atomic",
            Mode::MutexUnordered => "mutex-unordered",
            Mode::Global => "global",
        }
    }

    /// The name people read in reports: `no lock`, `mutex`, ...
    pub fn name(self) -> &'static str {
        match self {
            Mode::NoLock => "no lock",
            other => other.id(),
        }
    }

    /// The strategy's name, or `None` for the unlocked mode (JSON's `lock`).
    pub fn strategy(self) -> Option<&'static str> {
        (self != Mode::NoLock).then(|| self.id())
    }

    /// The strategy leaves a window between a read and a write (every mode
    /// but `atomic`, whose update is one instruction).
    pub(crate) fn has_window(self) -> bool {
        self != Mode::Atomic
    }

    fn help(self) -> &'static str {
        match self {
            Mode::NoLock => "No protection: the bare read-modify-write",
            Mode::Mutex => "Robust process-shared pthread mutex in the mapping",
            Mode::Flock => "flock(2) on the ledger file",
            Mode::Spin => "Compare-and-swap spin lock in the mapping",
            Mode::Atomic => "No lock: atomic instructions (fetch_add, compare_exchange)",
            Mode::MutexUnordered => {
                "Transfers: a mutex per account, taken source first (deadlocks)"
            }
            Mode::Global => "Transfers: one mutex for the whole bank",
        }
    }

    /// The number stored in the ledger header.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Mode> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serializes a mode as its `id`.
impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// A value of `--lock`: one strategy, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChoice {
    One(Mode),
    All,
}

impl LockChoice {
    const VALUES: [LockChoice; 7] = [
        LockChoice::One(Mode::Mutex),
        LockChoice::One(Mode::Flock),
        LockChoice::One(Mode::Spin),
        LockChoice::One(Mode::Atomic),
        LockChoice::One(Mode::MutexUnordered),
        LockChoice::One(Mode::Global),
        LockChoice::All,
    ];
    const ALL_NAME: &'static str = "all";

    /// The modes this choice stands for in `scenario`.
    pub fn modes(self, scenario: Scenario) -> &'static [Mode] {
        match self {
            LockChoice::All if scenario == Scenario::Transfer => &Mode::TRANSFER[1..],
            LockChoice::One(mode) => match mode {
                Mode::NoLock => &[Mode::NoLock],
                Mode::Mutex => &[Mode::Mutex],
                Mode::Flock => &[Mode::Flock],
                Mode::Spin => &[Mode::Spin],
                Mode::Atomic => &[Mode::Atomic],
                Mode::MutexUnordered => &[Mode::MutexUnordered],
                Mode::Global => &[Mode::Global],
            },
            LockChoice::All => &Mode::STRATEGIES,
        }
    }

    /// The name bare `--lock` stands for.
    pub(crate) fn default_name() -> &'static str {
        Mode::DEFAULT_STRATEGY.id()
    }
}

impl ValueEnum for LockChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::VALUES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            LockChoice::One(mode) => PossibleValue::new(mode.id()).help(mode.help()),
            LockChoice::All => PossibleValue::new(Self::ALL_NAME).help("Every strategy above"),
        })
    }
}

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrialStatus {
    /// Every worker finished its operations.
    Ok,
    /// A worker failed, was killed or timed out.
    Failed,
    /// The coordinator found workers waiting for each other's locks in a
    /// cycle, and ended the trial.
    Deadlocked,
}

impl TrialStatus {
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Ok => "ok",
            TrialStatus::Failed => "failed",
            TrialStatus::Deadlocked => "deadlocked",
        }
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TrialStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One access to the balance as a trace shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// The read of a read-modify-write (lost-update).
    Read,
    /// The write of a read-modify-write.
    Write,
    /// A withdrawal's check of the balance (overdraft).
    Check,
    /// A withdrawal's debit, after its check.
    Debit,
    /// One indivisible read-modify-write.
    Atomic,
}

impl AccessKind {
    pub fn name(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::Check => "check",
            AccessKind::Debit => "debit",
            AccessKind::Atomic => "atomic",
        }
    }

    /// The access reads the balance without changing it.
    pub(crate) fn only_reads(self) -> bool {
        matches!(self, AccessKind::Read | AccessKind::Check)
    }
}

impl fmt::Display for AccessKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for AccessKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which kind of worker: depositors come first in a trial's numbering,
/// and transferers before auditors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Depositor,
    Withdrawer,
    /// Transfer scenario: moves money from one account to another.
    Transferer,
    /// Transfer scenario: reads every balance and adds them up.
    Auditor,
}

impl Role {
    const ALL: [Role; 4] = [
        Role::Depositor,
        Role::Withdrawer,
        Role::Transferer,
        Role::Auditor,
    ];

    /// `depositor`, `withdrawer`, ...: as in `--depositors`, `--auditors`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Depositor => "depositor",
            Role::Withdrawer => "withdrawer",
            Role::Transferer => "transferer",
            Role::Auditor => "auditor",
        }
    }

    /// The letter of its workers' names: `D`, `W`, `T`, `R`.
    pub(crate) fn letter(self) -> char {
        match self {
            Role::Depositor => 'D',
            Role::Withdrawer => 'W',
            Role::Transferer => 'T',
            Role::Auditor => 'R',
        }
    }

    pub(crate) fn from_letter(letter: char) -> Option<Role> {
        Self::ALL
            .into_iter()
            .find(|r| r.letter() == letter.to_ascii_uppercase())
    }

    /// The number stored in a worker's slot.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The role that comes first in `scenario`'s numbering, and the second.
    pub(crate) fn pair(scenario: Scenario) -> (Role, Role) {
        match scenario {
            Scenario::Transfer => (Role::Transferer, Role::Auditor),
            _ => (Role::Depositor, Role::Withdrawer),
        }
    }
}

/// A worker as schedules and explanations name it: `D1`, `W2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerName {
    pub role: Role,
    /// 1-based within its role.
    pub number: u32,
}

impl WorkerName {
    /// The name of worker `index` of a trial with `depositors` depositors
    /// (depositors come first).
    pub fn of(index: u32, depositors: u32) -> WorkerName {
        Self::in_scenario(Scenario::LostUpdate, index, depositors)
    }

    /// The name of worker `index` of a `scenario` trial whose first role
    /// (depositors, or transferers) has `firsts` workers.
    pub fn in_scenario(scenario: Scenario, index: u32, firsts: u32) -> WorkerName {
        let (first, second) = Role::pair(scenario);
        if index < firsts {
            WorkerName {
                role: first,
                number: index + 1,
            }
        } else {
            WorkerName {
                role: second,
                number: index - firsts + 1,
            }
        }
    }

    /// The worker's index in a trial with `depositors` depositors (or
    /// transferers).
    pub fn index(self, depositors: u32) -> u32 {
        match self.role {
            Role::Depositor | Role::Transferer => self.number - 1,
            Role::Withdrawer | Role::Auditor => depositors + self.number - 1,
        }
    }
}

impl fmt::Display for WorkerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.role.letter(), self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_code(m.code()), Some(m));
        }
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_code(s.code()), Some(s));
        }
        assert_eq!(Mode::from_code(99), None);
    }

    #[test]
    fn lock_values_are_the_strategies_and_all() {
        let names: Vec<String> = LockChoice::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "mutex",
                "flock",
                "spin",
                "atomic",
                "mutex-unordered",
                "global",
                "all"
            ]
        );
        assert_eq!(
            LockChoice::All.modes(Scenario::LostUpdate),
            &Mode::STRATEGIES
        );
        assert_eq!(
            LockChoice::All.modes(Scenario::Transfer),
            &[Mode::MutexUnordered, Mode::Mutex, Mode::Global]
        );
        assert_eq!(LockChoice::default_name(), "mutex");
    }

    #[test]
    fn only_the_unlocked_mode_has_no_strategy_name() {
        assert_eq!(Mode::NoLock.strategy(), None);
        assert_eq!(Mode::NoLock.name(), "no lock");
        assert_eq!(Mode::Flock.strategy(), Some("flock"));
    }

    #[test]
    fn worker_names_number_each_role_from_one() {
        assert_eq!(WorkerName::of(0, 2).to_string(), "D1");
        assert_eq!(WorkerName::of(2, 2).to_string(), "W1");
        assert_eq!(WorkerName::of(2, 2).index(2), 2);
        assert_eq!(Role::from_letter('w'), Some(Role::Withdrawer));
        let t = WorkerName::in_scenario(Scenario::Transfer, 2, 2);
        assert_eq!(t.to_string(), "R1");
        assert_eq!(t.index(2), 2);
        assert_eq!(
            WorkerName::in_scenario(Scenario::Transfer, 1, 2).to_string(),
            "T2"
        );
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(r));
        }
    }

    #[test]
    fn transfer_only_modes_fit_only_the_transfer_scenario() {
        assert!(!Mode::Global.fits(Scenario::LostUpdate));
        assert!(!Mode::Flock.fits(Scenario::Transfer));
        assert!(Mode::Mutex.fits(Scenario::Transfer) && Mode::Mutex.fits(Scenario::Overdraft));
    }
}
