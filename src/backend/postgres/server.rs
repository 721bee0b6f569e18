//! `--db embedded`: a throwaway PostgreSQL server for one run, in a private 0700 directory, on a Unix socket only, durability off, a direct child of bankrace that dies with it; stopped and removed when dropped.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal};

use super::host::{self, Account, DIR_PREFIX, OWNER_FILE};
use super::template;

/// The superuser `initdb` creates. Trust authentication is safe: the socket
/// lives in a 0700 directory that only this user (and root) can enter.
pub(crate) const SUPERUSER: &str = "bankrace";
/// With a Unix socket only, the port just names the socket file.
const PORT: u16 = 5432;
/// How long the server may take to accept its first connection.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fast shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running throwaway server. Dropping it stops the server (fast shutdown,
/// a bounded wait, then SIGKILL to its process group) and removes its
/// directory.
pub(crate) struct Embedded {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

impl Embedded {
    /// Finds the binaries, makes the directory and cluster, starts the
    /// server and waits until it accepts a connection.
    pub fn start() -> Result<Embedded> {
        let bindir = host::Search::from_env()
            .find()
            .map_err(anyhow::Error::msg)?;
        let account = host::run_as()?;
        // tempfile asks for 0700 but the umask still applies: set it.
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .context("cannot create the embedded server's directory")?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
            .context("cannot make the embedded server's directory private")?;
        fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string())
            .context("cannot write the embedded server's owner file")?;
        if let Some(a) = account {
            std::os::unix::fs::chown(dir.path(), Some(a.uid), Some(a.gid))
                .context("cannot give the server directory to the postgres user")?;
            reachable(dir.path(), a)?;
        }
        let data = dir.path().join("data");
        new_cluster(&bindir, &data, account)?;

        let log_path = dir.path().join("server.log");
        let log = File::create(&log_path).context("cannot create the server log")?;
        if let Some(a) = account {
            std::os::unix::fs::chown(&log_path, Some(a.uid), Some(a.gid))
                .context("cannot give the server log to the postgres user")?;
        }
        let mut server = Command::new(crate::exe::own_executable()?);
        server
            .arg("db-server")
            .arg("--parent")
            .arg(std::process::id().to_string());
        if let Some(a) = account {
            server.args(["--uid", &a.uid.to_string(), "--gid", &a.gid.to_string()]);
        }
        server
            .arg("--")
            .arg(bindir.join("postgres"))
            .arg("-D")
            .arg(&data);
        server
            .arg("-k")
            .arg(dir.path())
            .arg("-p")
            .arg(PORT.to_string());
        for (key, value) in [
            ("listen_addresses", ""),
            ("unix_socket_permissions", "0700"),
            // Throwaway: nothing needs to survive a crash.
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("max_connections", "300"),
            // Transfers in opposite directions under `row` deadlock, and the
            // server looks for a cycle only once a lock wait lasts this long:
            // at the default 1s, a transfer trial would mostly wait.
            ("deadlock_timeout", "20ms"),
        ] {
            server.arg("-c").arg(format!("{key}={value}"));
        }
        server
            .current_dir(dir.path())
            .env_remove("PGDATA")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cannot share the server log")?)
            .stderr(log)
            // A group of its own: a Ctrl-C at the terminal reaches bankrace,
            // which stops the server in order.
            .process_group(0);
        let child = server.spawn().context("cannot start postgres")?;
        let mut me = Embedded {
            child: Some(child),
            dir: Some(dir),
        };
        me.wait_ready()?;
        Ok(me)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!(
                    "the embedded server exited while starting ({status}): {}",
                    self.log_tail()
                );
            }
            let mut config = self.config();
            config.connect_timeout(Duration::from_secs(1));
            let last = match config.connect(postgres::NoTls) {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                bail!("the embedded server did not accept connections in time: {last}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The private directory: the socket, `data/` and `server.log`.
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("a running server has its directory")
            .path()
    }

    /// The superuser's connection over the socket.
    pub fn config(&self) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host_path(self.dir())
            .port(PORT)
            .user(SUPERUSER)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        c
    }

    /// The same, as a key/value connection string for the workers.
    pub fn conninfo(&self) -> String {
        format!(
            "host='{}' port={PORT} user={SUPERUSER} dbname=postgres sslmode=disable",
            self.dir().display()
        )
    }

    /// The last lines of the server's log, on one line.
    fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let Ok(mut f) = File::open(dir.path().join("server.log")) else {
            return String::new();
        };
        let len = f.metadata().map_or(0, |m| m.len());
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(2000)));
        let mut s = String::new();
        let _ = f.read_to_string(&mut s);
        let lines: Vec<&str> = s.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// Fast shutdown (SIGINT), a bounded wait, then SIGKILL to the group.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, Signal::INT);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                _ => break,
            }
        }
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        let _ = child.wait();
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
        // The TempDir's own drop removes the directory.
    }
}

/// What `initdb` is given besides the directory and the superuser.
const INITDB_ARGS: [&str; 4] = [
    "--no-sync",
    "--auth=trust",
    "--encoding=UTF8",
    "--no-locale",
];

/// A fresh cluster in `data`: a copy of the cached template for these
/// binaries if there is one, else `initdb`, whose result then becomes the
/// template (see `template.rs`).
fn new_cluster(bindir: &Path, data: &Path, account: Option<Account>) -> Result<()> {
    let cached = template::cache_dir().and_then(|cache| {
        Some((
            template::key(bindir, account, &format!("{INITDB_ARGS:?} {SUPERUSER}"))?,
            cache,
        ))
    });
    if let Some((key, cache)) = &cached
        && template::restore(cache, key, data)
    {
        return Ok(());
    }
    initdb(bindir, data, account)?;
    if let Some((key, cache)) = &cached {
        template::keep(cache, key, data);
    }
    Ok(())
}

/// `initdb --no-sync` into `data`, as `account` if given.
fn initdb(bindir: &Path, data: &Path, account: Option<Account>) -> Result<()> {
    let mut cmd = Command::new(bindir.join("initdb"));
    cmd.arg("-D")
        .arg(data)
        .args(INITDB_ARGS)
        .arg(format!("--username={SUPERUSER}"))
        // The postgres user may not be able to enter bankrace's directory.
        .current_dir(data.parent().unwrap_or(Path::new("/")))
        .env_remove("PGDATA")
        .stdin(Stdio::null())
        .process_group(0);
    if let Some(a) = account {
        // std drops the supplementary groups, then sets the gid and the uid.
        cmd.uid(a.uid).gid(a.gid);
    }
    let out = cmd.output().context("cannot run initdb")?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        bail!("initdb failed ({}): {}", out.status, last.trim());
    }
    Ok(())
}

/// Every directory above `dir` must let `account` through, or the server
/// cannot reach its own directory (a TMPDIR under /root, say).
fn reachable(dir: &Path, account: Account) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    for above in dir.ancestors().skip(1) {
        let Ok(m) = fs::metadata(above) else { continue };
        let bit = if m.uid() == account.uid {
            0o100
        } else if m.gid() == account.gid {
            0o010
        } else {
            0o001
        };
        if m.mode() & bit == 0 {
            bail!(
                "the `{}` user cannot enter {}: set TMPDIR to a directory it can reach, such as /tmp",
                host::RUN_AS,
                above.display()
            );
        }
    }
    Ok(())
}
