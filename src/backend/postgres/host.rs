//! What the embedded server needs from this machine: its binaries, the unprivileged account it runs as when bankrace is root, the start that makes it die with bankrace, and the removal of directories that dead runs left.

use std::convert::Infallible;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal};

/// The environment variable naming the directory of `initdb` and `postgres`.
pub(crate) const BINDIR_ENV: &str = "BANKRACE_PG_BINDIR";
/// The account the server runs as when bankrace runs as root: PostgreSQL
/// refuses to run as root.
pub(crate) const RUN_AS: &str = "postgres";
/// Embedded server directories are named `bankrace-pg-*`.
pub(crate) const DIR_PREFIX: &str = "bankrace-pg-";
/// The file in such a directory that holds the pid of the run that made it.
pub(crate) const OWNER_FILE: &str = "owner.pid";

/// The one sentence when no server binaries are found.
pub(crate) const NOT_FOUND: &str = "no PostgreSQL server binaries (initdb, postgres) found: \
     install the PostgreSQL server package (e.g. `apt-get install postgresql`) or name their \
     directory with BANKRACE_PG_BINDIR";

fn is_bindir(dir: &Path) -> bool {
    ["initdb", "postgres"].iter().all(|b| {
        fs::metadata(dir.join(b)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Where to look for the server binaries, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Search {
    /// `BANKRACE_PG_BINDIR`.
    pub env: Option<OsString>,
    /// What `pg_config --bindir` printed, if it ran.
    pub pg_config: Option<PathBuf>,
    pub path: Option<OsString>,
    /// Normally `/usr/lib/postgresql`, holding one directory per version.
    pub versioned_root: PathBuf,
}

impl Search {
    /// This process's environment.
    pub fn from_env() -> Search {
        let pg_config = Command::new("pg_config")
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        Search {
            env: std::env::var_os(BINDIR_ENV).filter(|v| !v.is_empty()),
            pg_config,
            path: std::env::var_os("PATH"),
            versioned_root: PathBuf::from("/usr/lib/postgresql"),
        }
    }

    /// The first directory holding both binaries: the environment variable
    /// (which must hold them), `pg_config --bindir`, `PATH`, then the newest
    /// `<versioned_root>/<version>/bin`.
    pub fn find(&self) -> Result<PathBuf, String> {
        if let Some(dir) = &self.env {
            let dir = PathBuf::from(dir);
            return if is_bindir(&dir) {
                Ok(dir)
            } else {
                Err(format!(
                    "{BINDIR_ENV}={} holds no initdb and postgres binaries",
                    dir.display()
                ))
            };
        }
        if let Some(dir) = self.pg_config.as_ref().filter(|d| is_bindir(d)) {
            return Ok(dir.clone());
        }
        if let Some(dir) = self
            .path
            .as_ref()
            .and_then(|p| std::env::split_paths(p).find(|d| is_bindir(d)))
        {
            return Ok(dir);
        }
        newest_versioned(&self.versioned_root).ok_or_else(|| NOT_FOUND.to_string())
    }
}

/// "15", "9.6" as numbers that sort.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|p| p.parse().ok()).collect()
}

fn newest_versioned(root: &Path) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let key = e.file_name().to_str().and_then(version_key)?;
            let bin = e.path().join("bin");
            is_bindir(&bin).then_some((key, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// An account to run the server as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    pub uid: u32,
    pub gid: u32,
}

/// `None` when bankrace is not root; the `postgres` account when it is.
pub(crate) fn run_as() -> Result<Option<Account>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    match lookup(RUN_AS) {
        Some(account) if account.uid != 0 => Ok(Some(account)),
        _ => bail!(
            "PostgreSQL refuses to run as root and there is no `{RUN_AS}` user to run it as: \
             run bankrace as an ordinary user, or create one (`useradd --system {RUN_AS}`)"
        ),
    }
}

/// The uid and gid of `user`, through `getent` (so NSS users count too).
fn lookup(user: &str) -> Option<Account> {
    let out = Command::new("getent")
        .args(["passwd", user])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    parse_passwd_line(&String::from_utf8_lossy(&out.stdout))
}

/// `name:x:uid:gid:...` as an account.
fn parse_passwd_line(line: &str) -> Option<Account> {
    let mut fields = line.trim().split(':').skip(2);
    Some(Account {
        uid: fields.next()?.parse().ok()?,
        gid: fields.next()?.parse().ok()?,
    })
}

/// `bankrace db-server`: the embedded server's first moments, in the process
/// that becomes it. Drops to `account` if given; only then asks the kernel
/// for SIGQUIT (PostgreSQL's immediate shutdown) when `parent` dies, since a
/// change of user clears that request; checks `parent` is still there; and
/// executes the server. The process stays bankrace's direct child.
///
/// The process is single-threaded here, so the per-thread credential calls
/// change the whole process.
pub(crate) fn become_server(
    parent: u32,
    account: Option<Account>,
    command: &[OsString],
) -> Result<Infallible> {
    if let Some(a) = account {
        use rustix::thread::{set_thread_gid, set_thread_groups, set_thread_uid};
        set_thread_groups(&[]).context("cannot drop supplementary groups")?;
        set_thread_gid(rustix::fs::Gid::from_raw(a.gid)).context("cannot switch group")?;
        set_thread_uid(rustix::fs::Uid::from_raw(a.uid)).context("cannot switch user")?;
    }
    rustix::process::set_parent_process_death_signal(Some(Signal::QUIT))
        .context("cannot ask to die with bankrace")?;
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_pid() as u32);
    if ppid != parent {
        bail!("bankrace (pid {parent}) is gone");
    }
    let (program, args) = command.split_first().context("no server command")?;
    let err = Command::new(program).args(args).exec();
    Err(err).with_context(|| format!("cannot execute {}", Path::new(program).display()))
}

/// Whether a process with this pid exists.
pub(crate) fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// This machine's name, which schema comments carry.
pub(crate) fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Removes the embedded server directories in `tmp` whose run and server
/// are both gone (left by a run killed with SIGKILL); returns them.
pub(crate) fn remove_dead_dirs(tmp: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(tmp) else {
        return Vec::new();
    };
    let first_pid = |p: PathBuf| {
        fs::read_to_string(p)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let owner = first_pid(e.path().join(OWNER_FILE));
        let server = first_pid(e.path().join("data").join("postmaster.pid"));
        // No owner yet: a run is making it right now.
        let live = owner.is_none_or(alive) || server.is_some_and(alive);
        if !live && fs::remove_dir_all(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bindir(root: &Path, rel: &str) -> PathBuf {
        let d = root.join(rel);
        fs::create_dir_all(&d).unwrap();
        for b in ["initdb", "postgres"] {
            let p = d.join(b);
            fs::write(&p, "#!/bin/sh\n").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        d
    }

    #[test]
    fn binaries_are_searched_in_the_documented_order() {
        let t = tempfile::tempdir().unwrap();
        let b = fake_bindir(t.path(), "b");
        let c = fake_bindir(t.path(), "c");
        let d = fake_bindir(t.path(), "d");
        fake_bindir(t.path(), "lib/9.6/bin");
        let v16 = fake_bindir(t.path(), "lib/16/bin");
        fake_bindir(t.path(), "lib/15/bin");
        let mut s = Search {
            env: Some(b.clone().into()),
            pg_config: Some(c.clone()),
            path: Some(std::env::join_paths([t.path().join("none"), d.clone()]).unwrap()),
            versioned_root: t.path().join("lib"),
        };
        assert_eq!(s.find().unwrap(), b);
        s.env = None;
        assert_eq!(s.find().unwrap(), c);
        // A client-only pg_config names a directory without a server.
        s.pg_config = Some(t.path().join("client-only"));
        assert_eq!(s.find().unwrap(), d);
        s.path = None;
        assert_eq!(s.find().unwrap(), v16, "the newest version, numerically");
        s.versioned_root = t.path().join("absent");
        assert_eq!(s.find().unwrap_err(), NOT_FOUND);
        s.env = Some(t.path().into());
        assert!(s.find().unwrap_err().contains("holds no initdb"));
    }

    #[test]
    fn passwd_lines_give_uid_and_gid() {
        assert_eq!(
            parse_passwd_line("postgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/bash\n"),
            Some(Account { uid: 101, gid: 104 })
        );
        assert_eq!(parse_passwd_line(""), None);
    }

    #[test]
    fn a_reaped_child_is_not_alive() {
        assert!(alive(std::process::id()));
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(!alive(pid));
        assert!(!alive(0) && !alive(u32::MAX));
    }
}
