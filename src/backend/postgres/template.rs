//! The cache of pre-initialised clusters that `--db embedded` copies instead of running `initdb`: where it lives, its key (which changes with the server binaries), its atomic creation, and its removal by `db-cleanup`.
//!
//! A template is the data directory `initdb` made for an earlier run, taken
//! before that run's server started. It lives in
//! `$BANKRACE_PG_CACHE` (empty: no cache), else `$XDG_CACHE_HOME/bankrace`,
//! else `~/.cache/bankrace`, as `pg-template-<key>`. The key hashes the
//! binaries' directory, the `postgres` binary's size and modification time
//! (a package upgrade changes them), the account the server runs as and the
//! `initdb` arguments: any change makes a new template, and the run that
//! makes it removes the others. A template appears by an atomic rename of a
//! complete copy, so concurrent runs never see half of one; a run that finds
//! its copy failed falls back to `initdb`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::host::Account;

/// The environment variable naming the cache directory; empty disables it.
pub(crate) const CACHE_ENV: &str = "BANKRACE_PG_CACHE";
const PREFIX: &str = "pg-template-";

/// The cache directory, if there is one.
pub(crate) fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("bankrace"))
}

/// FNV-1a: a hash that stays the same from one build to the next.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The template's name for these binaries, account and `initdb` arguments.
pub(crate) fn key(bindir: &Path, account: Option<Account>, initdb_args: &str) -> Option<String> {
    let m = fs::metadata(bindir.join("postgres")).ok()?;
    let text = format!(
        "{}|{}|{}.{}|{:?}|{initdb_args}",
        bindir.display(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        account.map(|a| (a.uid, a.gid)),
    );
    Some(format!("{PREFIX}{:016x}", fnv(text.as_bytes())))
}

/// `cp -a from to` (owners, modes and times kept; `to` must not exist).
fn copy(from: &Path, to: &Path) -> bool {
    Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Copies template `key` into `data`; `false` (and nothing left at `data`)
/// if there is none or the copy failed.
pub(crate) fn restore(cache: &Path, key: &str, data: &Path) -> bool {
    let template = cache.join(key);
    if !template.is_dir() {
        return false;
    }
    if copy(&template, data) {
        return true;
    }
    let _ = fs::remove_dir_all(data);
    false
}

/// Keeps a copy of the fresh cluster `data` as template `key`, and removes
/// the templates of other keys. Best effort: a cache that cannot be written
/// only means the next run runs `initdb` too.
pub(crate) fn keep(cache: &Path, key: &str, data: &Path) {
    if fs::create_dir_all(cache).is_err() {
        return;
    }
    let _ = fs::set_permissions(cache, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let partial = cache.join(format!("{key}.{}.tmp", std::process::id()));
    if copy(data, &partial) && fs::rename(&partial, cache.join(key)).is_ok() {
        remove(cache, |name| name != key && !name.ends_with(".tmp"));
    }
    // Someone else's template won the rename, or the copy failed.
    let _ = fs::remove_dir_all(&partial);
}

/// Removes the cache's entries whose names pass `which`; returns them.
fn remove(cache: &Path, which: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(cache) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && which(&name) && fs::remove_dir_all(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// `bankrace db-cleanup`: removes every template, and copies in progress
/// whose run is dead. Returns what it removed.
pub(crate) fn remove_all(cache: &Path) -> Vec<PathBuf> {
    remove(cache, |name| match name.strip_suffix(".tmp") {
        Some(rest) => rest
            .rsplit('.')
            .next()
            .and_then(|pid| pid.parse().ok())
            .is_none_or(|pid| !super::host::alive(pid)),
        None => true,
    })
}

/// `bankrace db-cleanup`, after [`remove_all`]: the cache directory itself,
/// when bankrace chose it (not one `$BANKRACE_PG_CACHE` names) and nothing
/// is left in it. `remove_dir` refuses a directory that is not empty, so a
/// template another run made meanwhile stays, and so does its directory.
pub(crate) fn remove_own_if_empty(cache: &Path) -> Option<PathBuf> {
    if std::env::var_os(CACHE_ENV).is_some() {
        return None;
    }
    fs::remove_dir(cache).ok().map(|()| cache.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_the_binaries_the_account_and_the_arguments() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("postgres");
        fs::write(&bin, "v15").unwrap();
        let k = key(t.path(), None, "-a").unwrap();
        assert!(k.starts_with(PREFIX));
        assert_eq!(key(t.path(), None, "-a").unwrap(), k, "stable");
        assert_ne!(key(t.path(), None, "-b").unwrap(), k);
        let a = Account { uid: 1, gid: 2 };
        assert_ne!(key(t.path(), Some(a), "-a").unwrap(), k);
        fs::write(&bin, "v16 is longer").unwrap();
        assert_ne!(key(t.path(), None, "-a").unwrap(), k, "an upgrade");
        assert_eq!(key(&t.path().join("none"), None, "-a"), None);
    }

    #[test]
    fn a_kept_template_is_restored_and_replaces_older_ones() {
        let t = tempfile::tempdir().unwrap();
        let cache = t.path().join("cache");
        let data = t.path().join("data");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("PG_VERSION"), "15").unwrap();
        keep(&cache, "pg-template-old", &data);
        keep(&cache, "pg-template-new", &data);
        let names: Vec<String> = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["pg-template-new"]);
        let copy = t.path().join("copy");
        assert!(restore(&cache, "pg-template-new", &copy));
        assert_eq!(fs::read_to_string(copy.join("PG_VERSION")).unwrap(), "15");
        assert!(!restore(&cache, "pg-template-none", &t.path().join("x")));
        assert_eq!(remove_all(&cache).len(), 1);
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 0);
    }
}
