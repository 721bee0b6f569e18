//! The binary bankrace re-executes for its workers and for the embedded database server: this very file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The binary to re-execute: `/proc/self/exe` names exactly the file this
/// process runs, even if its path was changed since.
pub(crate) fn own_executable() -> Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe().context("cannot find the bankrace executable to re-execute")
}
