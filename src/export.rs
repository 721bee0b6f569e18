//! Where reports and exports go: every target checked before the first trial, regular files replaced only by complete content, standard output, FIFOs and devices written in place where a signal can still end the run.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rustix::event::{PollFd, PollFlags};

use crate::signals::Interrupts;
use crate::usage::UsageError;

/// The file name that means standard output.
pub const STDOUT: &str = "-";

/// Where one piece of output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Standard output (`-`).
    Stdout,
    /// A regular file, existing or not: written beside it, then renamed
    /// over it, so that it holds either its old content or the new one.
    Replace(PathBuf),
    /// A FIFO or a device: opened and written in place, never replaced.
    InPlace(PathBuf),
}

/// What identifies a target however it is spelled: the same file reached
/// through `./a`, `a` or a symlink is one file.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Stdout,
    Existing(u64, u64),
    New(u64, u64, OsString),
}

/// Checks the targets of `--export-*` options (flag, path), before any trial:
/// each can be written (runtime error, status 1, if not), no two name the
/// same file and at most one is standard output (usage errors, status 2).
pub fn check(targets: &[(&str, &Path)]) -> Result<Vec<Target>> {
    let mut seen: Vec<(&str, Identity)> = Vec::new();
    let mut out = Vec::new();
    for &(flag, path) in targets {
        let (target, identity) = classify(flag, path)?;
        if let Some((other, _)) = seen.iter().find(|(_, id)| *id == identity) {
            let what = match identity {
                Identity::Stdout => "standard output".to_string(),
                _ => path.display().to_string(),
            };
            return Err(UsageError(format!(
                "{other} and {flag} both write to {what}: give each its own file"
            ))
            .into());
        }
        seen.push((flag, identity));
        out.push(target);
    }
    Ok(out)
}

fn classify(flag: &str, path: &Path) -> Result<(Target, Identity)> {
    if path.as_os_str() == STDOUT {
        return Ok((Target::Stdout, Identity::Stdout));
    }
    if path.as_os_str().is_empty() {
        return Err(UsageError(format!("{flag} needs a file name")).into());
    }
    let cannot = |e: io::Error| {
        anyhow::Error::new(e).context(format!("cannot write {flag} {}", path.display()))
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(UsageError(format!(
            "{flag} {} is a directory: name a file",
            path.display()
        ))
        .into()),
        Ok(meta) => {
            writable(path).map_err(cannot)?;
            let id = Identity::Existing(meta.dev(), meta.ino());
            let ft = meta.file_type();
            if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
                return Ok((Target::InPlace(path.to_path_buf()), id));
            }
            can_create_beside(path).map_err(cannot)?;
            Ok((Target::Replace(path.to_path_buf()), id))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = parent_of(path);
            let Ok(meta) = std::fs::metadata(&dir).and_then(|m| {
                if m.is_dir() {
                    Ok(m)
                } else {
                    Err(io::ErrorKind::NotADirectory.into())
                }
            }) else {
                return Err(UsageError(format!(
                    "{flag} {}: the directory {} does not exist",
                    path.display(),
                    dir.display()
                ))
                .into());
            };
            can_create_beside(path).map_err(cannot)?;
            let name = path.file_name().map(OsString::from).unwrap_or_default();
            let id = Identity::New(meta.dev(), meta.ino(), name);
            Ok((Target::Replace(path.to_path_buf()), id))
        }
        Err(e) => Err(cannot(e)),
    }
}

fn writable(path: &Path) -> io::Result<()> {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).map_err(io::Error::from)
}

/// Whether a file can be created beside `path`, as [`replace`] will: tried
/// for real, since permissions alone do not tell (root, read-only mounts,
/// `/proc`). An unnamed file leaves nothing; where the file system has no
/// unnamed files, a named one is created and removed at once.
fn can_create_beside(path: &Path) -> io::Result<()> {
    match unnamed_in(&parent_of(path)) {
        Ok(_) => Ok(()),
        Err(e) if no_unnamed_files(&e) => {
            let beside = beside(path);
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&beside)?;
            std::fs::remove_file(&beside)
        }
        Err(e) => Err(e),
    }
}

fn unnamed_in(dir: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o666)
        .open(dir)
}

/// `O_TMPFILE` is not supported there (`EOPNOTSUPP`; `EISDIR` or `EINVAL`
/// from older kernels and some file systems).
fn no_unnamed_files(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)
    )
}

/// The name a new content has beside `path` just before it is renamed over it.
fn beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    parent_of(path).join(format!(".{name}.bankrace-{}", std::process::id()))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How writing the output ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    Done,
    /// A signal arrived while standard output, a FIFO or a device blocked.
    Interrupted(i32),
}

/// Writes every piece of output. Regular files first, each written beside
/// its target and renamed over it once complete; then, in order, standard
/// output, FIFOs and devices, in place, on a thread of their own, so that a
/// signal ends the wait (a FIFO nobody reads, a pipe that is slow to drain)
/// and the run exits 128 + N. A closed pipe on standard output is the
/// reader's choice and not an error.
pub fn deliver(items: Vec<(Target, Vec<u8>)>, interrupts: &Interrupts) -> Result<Delivered> {
    let mut in_place = Vec::new();
    for (target, bytes) in items {
        match target {
            Target::Replace(path) => replace(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?,
            other => in_place.push((other, bytes)),
        }
    }
    if in_place.is_empty() {
        return Ok(Delivered::Done);
    }
    let (done, finished) = UnixStream::pair().context("cannot start writing the output")?;
    let writer = std::thread::spawn(move || {
        let result = in_place
            .iter()
            .try_for_each(|(target, bytes)| write_in_place(target, bytes));
        drop(finished); // the other end sees end-of-file: done
        result
    });
    loop {
        let mut fds = [
            PollFd::new(&done, PollFlags::IN),
            PollFd::from_borrowed_fd(interrupts.fd(), PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e).context("cannot wait for the output to be written"),
        }
        if let Some(sig) = interrupts.caught() {
            // The writer may stay blocked; the process exits without it.
            return Ok(Delivered::Interrupted(sig));
        }
        if !fds[0].revents().is_empty() {
            break;
        }
    }
    match writer.join() {
        Ok(result) => result.map(|()| Delivered::Done),
        Err(_) => anyhow::bail!("the output writer failed"),
    }
}

fn write_in_place(target: &Target, bytes: &[u8]) -> Result<()> {
    match target {
        Target::Stdout => {
            let mut out = io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to standard output"),
            }
        }
        Target::InPlace(path) | Target::Replace(path) => OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Replaces the regular file `path` (or creates it) with `bytes`, never
/// leaving it half-written (see [`Replacement`]).
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = Replacement::begin(path)?;
    file.write_all(bytes)?;
    file.finish()
}

/// The new content of a regular file, written as it comes and given the
/// file's name only once complete: it goes into an unnamed file in the same
/// directory (`O_TMPFILE`), which is linked beside `path` and renamed over it
/// by [`Replacement::commit`]. Dropped before that, it leaves nothing (a
/// file system without `O_TMPFILE` gets a named file, removed then). An
/// existing file keeps its permissions.
pub struct Replacement {
    file: io::BufWriter<File>,
    path: PathBuf,
    beside: PathBuf,
    unnamed: bool,
    mode: Option<u32>,
    done: bool,
}

impl Replacement {
    /// Opens the new content of `path`.
    pub fn begin(path: &Path) -> io::Result<Replacement> {
        let dir = parent_of(path);
        let mode = std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        let mut file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_TMPFILE)
            .mode(0o666)
            .open(&dir);
        let unnamed = file.is_ok();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let beside = dir.join(format!(".{name}.bankrace-{}", std::process::id()));
        if !unnamed {
            file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&beside);
        }
        Ok(Replacement {
            file: io::BufWriter::new(file?),
            path: path.to_path_buf(),
            beside,
            unnamed,
            mode,
            done: false,
        })
    }

    /// Gives the complete content its name, with a sentence if it cannot.
    pub fn commit(self) -> Result<()> {
        let path = self.path.clone();
        self.finish()
            .with_context(|| format!("cannot write {}", path.display()))
    }

    fn finish(mut self) -> io::Result<()> {
        self.file.flush()?;
        let file = self.file.get_ref();
        if let Some(mode) = self.mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.sync_data()?;
        if self.unnamed {
            let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
            rustix::fs::linkat(
                rustix::fs::CWD,
                proc.as_str(),
                rustix::fs::CWD,
                &self.beside,
                rustix::fs::AtFlags::SYMLINK_FOLLOW,
            )?;
        }
        std::fs::rename(&self.beside, &self.path)?;
        self.done = true;
        Ok(())
    }
}

impl Write for Replacement {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        // The content is flushed, synced and named by `commit` only.
        Ok(())
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if !self.done && (!self.unnamed || self.beside.exists()) {
            let _ = std::fs::remove_file(&self.beside);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_one(path: &Path) -> Result<Vec<Target>> {
        check(&[("--export-json", path)])
    }

    #[test]
    fn the_same_file_spelled_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.out");
        let dotted = dir.path().join(".").join("a.out");
        // Not there yet, then there.
        for _ in 0..2 {
            let err = check(&[("--export-json", &a), ("--export-csv", &dotted)]).unwrap_err();
            assert!(err.is::<UsageError>(), "{err}");
            assert!(
                err.to_string().contains("--export-json and --export-csv"),
                "{err}"
            );
            std::fs::write(&a, "x").unwrap();
        }
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        assert!(check(&[("--export-json", &a), ("--export-trace", &link)]).is_err());
        let b = dir.path().join("b.out");
        assert_eq!(
            check(&[("--export-json", &a), ("--export-csv", &b)])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn dash_is_standard_output_once() {
        assert_eq!(check_one(Path::new("-")).unwrap(), [Target::Stdout]);
        let err = check(&[
            ("--export-json", Path::new("-")),
            ("--export-csv", Path::new("-")),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("standard output"), "{err}");
    }

    #[test]
    fn unwritable_targets_are_known_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nodir/x.json");
        assert!(check_one(&missing).unwrap_err().is::<UsageError>());
        assert!(check_one(dir.path()).unwrap_err().is::<UsageError>());
        assert!(
            !check_one(Path::new("/proc/x.json"))
                .unwrap_err()
                .is::<UsageError>()
        );
        assert_eq!(
            check_one(Path::new("/dev/null")).unwrap(),
            [Target::InPlace("/dev/null".into())]
        );
    }

    #[test]
    fn a_replaced_file_keeps_its_mode_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
