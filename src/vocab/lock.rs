//! The values of `--lock`: one strategy, the backend's default one, or all of them, with the modes each stands for in a scenario on a backend.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use super::{BackendKind, Mode, Scenario};

/// A value of `--lock`: one strategy, the backend's default one (bare
/// `--lock`), or all of the backend's strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChoice {
    One(Mode),
    Default,
    All,
}

impl LockChoice {
    const VALUES: [LockChoice; 15] = [
        LockChoice::One(Mode::Mutex),
        LockChoice::One(Mode::Flock),
        LockChoice::One(Mode::Spin),
        LockChoice::One(Mode::Atomic),
        LockChoice::One(Mode::MutexUnordered),
        LockChoice::One(Mode::Global),
        LockChoice::One(Mode::Own),
        LockChoice::One(Mode::Range),
        LockChoice::One(Mode::Row),
        LockChoice::One(Mode::Advisory),
        LockChoice::One(Mode::Cas),
        LockChoice::One(Mode::RepeatableRead),
        LockChoice::One(Mode::Serializable),
        LockChoice::All,
        LockChoice::Default,
    ];
    const ALL_NAME: &'static str = "all";
    /// What clap hands over for bare `--lock`; not listed in the help.
    const DEFAULT_NAME: &'static str = "default";

    /// The modes this choice stands for in `scenario` on `backend`.
    pub fn modes(self, scenario: Scenario, backend: BackendKind) -> Vec<Mode> {
        match self {
            LockChoice::One(mode) => vec![mode],
            LockChoice::Default => vec![backend.default_strategy()],
            LockChoice::All if backend == BackendKind::Memory && scenario == Scenario::Transfer => {
                Mode::TRANSFER[1..].to_vec()
            }
            LockChoice::All
                if backend == BackendKind::Memory && scenario == Scenario::WriteSkew =>
            {
                Mode::WRITE_SKEW[1..].to_vec()
            }
            LockChoice::All => backend.strategies().to_vec(),
        }
    }

    /// The value bare `--lock` stands for.
    pub(crate) fn default_name() -> &'static str {
        Self::DEFAULT_NAME
    }
}

impl ValueEnum for LockChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::VALUES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            LockChoice::One(mode) => PossibleValue::new(mode.id()).help(mode.help()),
            LockChoice::All => {
                PossibleValue::new(Self::ALL_NAME).help("Every strategy of the backend")
            }
            LockChoice::Default => PossibleValue::new(Self::DEFAULT_NAME).hide(true),
        })
    }
}
