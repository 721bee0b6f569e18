//! Build script: the version string `bankrace --version` prints, with the git commit and its date when built from the crate's own repository.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_string())
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    // Only the crate's own repository: an unpacked crate inside some other
    // repository (or no git at all) gets the plain version, silently.
    let own_repository = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| Path::new(&top) == Path::new(&manifest_dir));
    let commit = own_repository
        .then(|| git(&["log", "-1", "--format=%h %cs", "--abbrev=9"]))
        .flatten()
        .filter(|c| !c.is_empty());
    match commit {
        Some(commit) => {
            println!("cargo:rustc-env=BANKRACE_VERSION={version} ({commit})");
            // Rebuilt when HEAD moves: a new commit, or another branch.
            for path in ["HEAD", "packed-refs"] {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
                && let Some(p) = git(&["rev-parse", "--git-path", &branch])
            {
                println!("cargo:rerun-if-changed={p}");
            }
        }
        None => println!("cargo:rustc-env=BANKRACE_VERSION={version}"),
    }
    println!("cargo:rerun-if-changed=src/build.rs");
}
