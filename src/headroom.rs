//! How much address space this process may still take under `ulimit -v`: a large analysis checks it first, so that running out of memory is one line and status 1, not an abort in some small allocation after the large ones.

/// Room kept free for the small allocations no reservation covers (names,
/// messages, the report): what a check asks for beyond its estimate.
pub(crate) const MARGIN: u64 = 16 << 20;

/// Bytes the address-space limit still allows this process, or `None`
/// when there is no limit (or it cannot be read: then nothing is refused).
pub(crate) fn left() -> Option<u64> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::As).current?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(limit.saturating_sub(vm_size(&status)?))
}

/// The `VmSize` line of `/proc/self/status`, in bytes.
fn vm_size(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let kib: u64 = line
        .trim_start_matches("VmSize:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_is_read_from_its_line() {
        let status =
            "Name:\tbankrace\nVmPeak:\t  20000 kB\nVmSize:\t   12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(vm_size(status), Some(12345 * 1024));
        assert_eq!(vm_size("Name:\tbankrace\n"), None);
        assert_eq!(vm_size("VmSize:\tmany kB\n"), None);
    }

    #[test]
    fn this_process_has_a_size() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(vm_size(&status).is_some_and(|b| b > 0));
    }
}
