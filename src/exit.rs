//! Exit statuses and the policy that picks one once a run's report is out: a pure function with its unit tests.

/// The run completed (and met `--expect`, if given).
pub const EXIT_OK: u8 = 0;
/// A runtime error: a ledger, a worker process or an export file failed.
pub const EXIT_RUNTIME: u8 = 1;
/// A usage error: an unknown option, a malformed or impossible value.
pub const EXIT_USAGE: u8 = 2;
/// The run completed and printed its report, but did not meet `--expect`;
/// for `bankrace quiz`, the answer was wrong.
pub const EXIT_EXPECTATION: u8 = 3;

/// What happened in a run whose report has been printed, as far as the
/// exit status is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
    /// The signal that cut the run short, and its name.
    pub interrupted: Option<(i32, String)>,
    /// Traced trials whose books did not balance (a bug), in words.
    pub violations: Vec<String>,
    /// `--fail-fast` stopped the run.
    pub stopped_early: bool,
    /// The database went away mid-run: the trial it cut short, and why.
    pub database_lost: Option<String>,
    /// `--expect` was not met: why, in words.
    pub unmet: Option<String>,
}

/// The exit status of a run that printed its report, and the lines to say on
/// stderr first. An interruption wins (128 + N, as a shell reports it), then
/// a bug in the accounting, then a database gone away, then `--fail-fast`,
/// then `--expect`.
pub fn status(e: &Ending) -> (u8, Vec<String>) {
    let mut lines: Vec<String> = e.violations.clone();
    if let Some((sig, name)) = &e.interrupted {
        lines.push(format!("interrupted by {name}"));
        return (128u8.wrapping_add(*sig as u8), lines);
    }
    if !e.violations.is_empty() {
        lines.push(format!(
            "error: {} traced trial(s) broke the accounting identity",
            e.violations.len()
        ));
        return (EXIT_RUNTIME, lines);
    }
    if let Some(lost) = &e.database_lost {
        lines.push(format!("error: the database went away during {lost}"));
        return (EXIT_RUNTIME, lines);
    }
    if e.stopped_early {
        lines.push("error: stopped at the first failed trial (--fail-fast)".into());
        return (EXIT_RUNTIME, lines);
    }
    if let Some(unmet) = &e.unmet {
        lines.push(unmet.clone());
        return (EXIT_EXPECTATION, lines);
    }
    (EXIT_OK, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_run_exits_0_silently() {
        assert_eq!(status(&Ending::default()), (EXIT_OK, vec![]));
    }

    #[test]
    fn an_interruption_wins_over_everything() {
        let e = Ending {
            interrupted: Some((2, "SIGINT".into())),
            stopped_early: true,
            unmet: Some("no race".into()),
            ..Ending::default()
        };
        assert_eq!(status(&e), (130, vec!["interrupted by SIGINT".into()]));
    }

    #[test]
    fn violations_then_fail_fast_then_expect() {
        let bug = Ending {
            violations: vec!["BUG: x".into()],
            stopped_early: true,
            ..Ending::default()
        };
        let (code, lines) = status(&bug);
        assert_eq!(code, EXIT_RUNTIME);
        assert_eq!(lines[0], "BUG: x");
        let ff = Ending {
            stopped_early: true,
            unmet: Some("no race".into()),
            ..Ending::default()
        };
        assert_eq!(status(&ff).0, EXIT_RUNTIME);
        let unmet = Ending {
            unmet: Some("no race".into()),
            ..Ending::default()
        };
        assert_eq!(status(&unmet), (EXIT_EXPECTATION, vec!["no race".into()]));
    }

    #[test]
    fn a_lost_database_exits_1_and_says_which_trial() {
        let e = Ending {
            database_lost: Some("trial 3 of row: worker 0 lost its connection".into()),
            stopped_early: true,
            unmet: Some("no race".into()),
            ..Ending::default()
        };
        assert_eq!(
            status(&e),
            (
                EXIT_RUNTIME,
                vec![
                    "error: the database went away during trial 3 of row: worker 0 lost its \
                     connection"
                        .into()
                ]
            )
        );
    }
}
