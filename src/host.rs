//! The machine a run happened on (operating system, kernel release, architecture, CPUs), recorded in every JSON and Markdown report so that result files can be compared.

use serde::Serialize;

/// Where a run or a benchmark ran. Two result files are comparable only
/// when these agree; the JSON carries them as `host`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    /// `linux`: the only operating system bankrace builds for.
    pub os: &'static str,
    /// The kernel release, as `uname -r` prints it (`unknown` if unreadable).
    pub kernel: String,
    /// The CPU architecture, e.g. `x86_64`.
    pub arch: &'static str,
    /// CPUs this process may run on (its affinity: `taskset` lowers it).
    pub cpus: usize,
}

impl Host {
    /// This machine, now.
    pub fn current() -> Host {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Host {
            os: std::env::consts::OS,
            kernel,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }

    /// One line for people: `linux 6.1.0-18-amd64 x86_64, 2 CPUs`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}, {} CPU{}",
            self.os,
            self.kernel,
            self.arch,
            self.cpus,
            if self.cpus == 1 { "" } else { "s" }
        )
    }

    /// A fixed host for tests and snapshots.
    pub fn fixture() -> Host {
        Host {
            os: "linux",
            kernel: "6.1.0-test".into(),
            arch: "x86_64",
            cpus: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_is_linux_with_a_kernel_and_a_cpu() {
        let h = Host::current();
        assert_eq!(h.os, "linux");
        assert!(h.cpus >= 1);
        // A release starts with its major version number.
        assert!(h.kernel.starts_with(|c: char| c.is_ascii_digit()), "{h:?}");
    }

    #[test]
    fn described_in_one_line() {
        assert_eq!(
            Host::fixture().describe(),
            "linux 6.1.0-test x86_64, 2 CPUs"
        );
    }
}
