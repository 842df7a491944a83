//! Replacing a small file so that a reader sees the old content or the new,
//! never a mix, and never through a link someone else planted: the shared core
//! of run-once markers and status.json.
//!
//! The directory is opened once without following a symlink; every later call
//! is relative to that fd (openat, renameat), so swapping the directory while
//! podinit writes cannot redirect the write.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// Why a directory could not be used or a file not be replaced. Callers turn it
/// into their own error, with their own words.
#[derive(Debug)]
pub(crate) enum Error {
    /// The directory's last component is a symlink.
    DirIsSymlink,
    /// The path exists and is not a directory.
    NotADirectory,
    /// The file to replace is a symlink or not a regular file.
    NotRegularFile,
    /// An OS call failed.
    Io(IoError),
}

/// A failed OS call on a path: what was being done, to which file, and why.
/// Displays as `cannot OP PATH: REASON`; the marker and status errors carry it too.
#[derive(Debug)]
pub struct IoError {
    /// What was being done: "create", "write", "fsync", ...
    pub op: &'static str,
    /// The file or directory involved.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

impl IoError {
    /// `op` on `path` failed with `source`.
    pub(crate) fn new(op: &'static str, path: &Path, source: impl Into<io::Error>) -> IoError {
        IoError { op, path: path.to_path_buf(), source: source.into() }
    }
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {} {}: {}", self.op, self.path.display(), self.source)
    }
}

fn io_err(op: &'static str, path: &Path, source: impl Into<io::Error>) -> Error {
    Error::Io(IoError::new(op, path, source))
}

/// Creates `dir` and its parents when missing (0755 whatever the umask), then
/// opens it like [`open_dir`].
pub(crate) fn create_and_open_dir(dir: &Path) -> Result<File, Error> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir).map_err(|e| io_err("create", dir, e))?;
            // mode() is filtered by the umask; podinit's files must never be
            // writable by others, even under umask 000.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io_err("set the mode of", dir, e))?;
        }
        Err(e) => return Err(io_err("inspect", dir, e)),
    }
    open_dir(dir)
}

/// Opens `dir` as a directory fd, refusing a symlink in its last component.
pub(crate) fn open_dir(dir: &Path) -> Result<File, Error> {
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW).open(dir);
    match opened {
        Ok(f) => Ok(f),
        // Linux reports ENOTDIR, not ELOOP, for O_DIRECTORY|O_NOFOLLOW on a symlink.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            match std::fs::symlink_metadata(dir) {
                Ok(m) if m.file_type().is_symlink() => Err(Error::DirIsSymlink),
                _ => Err(Error::NotADirectory),
            }
        }
        Err(e) => Err(io_err("open", dir, e)),
    }
}

/// Replaces `name` in the directory `dirf` (opened from `dir`) with `content`.
///
/// Writes `<name>.tmp.<pid>` (O_EXCL, O_NOFOLLOW, mode 0644), fsyncs it when
/// `durable`, renames it over `name` and then fsyncs the directory when
/// `durable`, since a rename is only on disk once the directory entry is. An
/// existing `name` that is a symlink or not a regular file is refused, never
/// replaced or followed. On failure the temp file is removed.
pub(crate) fn replace(dirf: &File, dir: &Path, name: &str, content: &[u8], durable: bool) -> Result<(), Error> {
    let dfd = dirf.as_raw_fd();
    let path = dir.join(name);
    // rename() would replace a symlink rather than follow it, but a symlink here
    // means someone else is meddling with podinit's directory: refuse loudly.
    match fstatat(Some(dfd), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG => {}
        Ok(_) => return Err(Error::NotRegularFile),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(io_err("inspect", &path, e)),
    }
    let tmp_name = format!("{name}.tmp.{}", std::process::id());
    let tmp_path = dir.join(&tmp_name);
    let mut file = create_exclusive(dfd, &tmp_name, &tmp_path)?;
    let result = file
        .write_all(content)
        .map_err(|e| io_err("write", &tmp_path, e))
        .and_then(|()| if durable { file.sync_all().map_err(|e| io_err("fsync", &tmp_path, e)) } else { Ok(()) })
        .and_then(|()| {
            drop(file);
            renameat(Some(dfd), tmp_name.as_str(), Some(dfd), name).map_err(|e| io_err("rename into place", &path, e))
        });
    if let Err(e) = result {
        // Best effort: the temp file is ours and useless now.
        let _ = unlinkat(Some(dfd), tmp_name.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    if durable {
        // EINVAL: the filesystem cannot sync directories (some FUSE or network
        // filesystems); nothing more can be done, and the file itself is complete.
        match dirf.sync_all() {
            Err(e) if e.raw_os_error() != Some(libc::EINVAL) => return Err(io_err("fsync", dir, e)),
            _ => {}
        }
    }
    Ok(())
}

/// Creates `name` in `dfd` exclusively. A leftover temp file of the same name is
/// removed and the create retried once: as PID 1 podinit's pid is always 1, so a
/// crash mid-write would otherwise block every later write.
fn create_exclusive(dfd: i32, name: &str, path: &Path) -> Result<File, Error> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mode = Mode::from_bits_truncate(0o644);
    let mut retried = false;
    loop {
        match openat(Some(dfd), name, flags, mode) {
            // SAFETY: openat just returned this fd and nothing else owns it.
            Ok(fd) => return Ok(unsafe { File::from_raw_fd(fd) }),
            Err(Errno::EEXIST) if !retried => {
                retried = true;
                unlinkat(Some(dfd), name, UnlinkatFlags::NoRemoveDir).map_err(|e| io_err("remove stale", path, e))?;
            }
            Err(e) => return Err(io_err("create", path, e)),
        }
    }
}
