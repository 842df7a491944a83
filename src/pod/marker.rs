//! Run-once markers for init steps (the `once` key; README, "Pod file
//! reference" and "Lifecycle").
//!
//! When a `once` step exits 0, the runtime writes `marker_dir/<name>.done`
//! holding a hash of the step's definition. On a later start a step whose marker
//! holds the same hash is skipped; a changed step runs again. `podinit reset`
//! removes markers.
//!
//! Crash safety: a marker is written to a temp file, fsynced, renamed over the
//! final name and the directory is fsynced, so after a crash either the old
//! state or the complete new marker exists, never half a marker.
//!
//! Symlink safety: the marker directory is opened once with `O_NOFOLLOW` and
//! every later operation is relative to that directory fd (`openat`,
//! `renameat`, `unlinkat`), so nobody can redirect our writes by swapping the
//! directory or planting a symlink named like a marker.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::sys::atomic_file::{self, IoError};

/// First line of every marker file; bump the version if the format changes.
const MAGIC: &str = "podinit-marker v1";
/// Suffix of a finished marker.
const DONE: &str = ".done";
/// Infix of a temp file being written (`<name>.done.tmp.<pid>`).
const TMP: &str = ".done.tmp.";
/// A marker is a few dozen bytes; anything larger is not ours.
const MAX_MARKER_BYTES: u64 = 4096;
/// Longest step name we accept, so `<name>.done.tmp.<pid>` fits NAME_MAX (255).
const MAX_NAME_BYTES: usize = 200;

/// Why a marker operation failed. Every message names the path and the OS error,
/// so the user can fix permissions, a read-only mount or a stray symlink.
#[derive(Debug)]
pub(crate) enum MarkerError {
    /// The step name cannot be used as a file name (empty, `.`/`..`, contains `/` or NUL, too long).
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// `marker_dir` is a symlink; we refuse to follow it.
    DirIsSymlink {
        /// The marker directory.
        dir: PathBuf,
    },
    /// `marker_dir` exists but is not a directory.
    NotADirectory {
        /// The marker directory.
        dir: PathBuf,
    },
    /// The marker at this path is a symlink or not a regular file; we neither follow nor replace it.
    NotRegularFile {
        /// The marker path.
        path: PathBuf,
    },
    /// An OS call failed.
    Io(IoError),
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarkerError::InvalidName { name } => write!(
                f,
                "step name {name:?} cannot be used as a marker file name \
                 (it must be non-empty, at most {MAX_NAME_BYTES} bytes, not '.' or '..', without '/' or NUL)"
            ),
            MarkerError::DirIsSymlink { dir } => write!(
                f,
                "marker directory {} is a symlink; refusing to follow it (set marker_dir to the real directory)",
                dir.display()
            ),
            MarkerError::NotADirectory { dir } => {
                write!(f, "marker directory {} exists but is not a directory", dir.display())
            }
            MarkerError::NotRegularFile { path } => write!(
                f,
                "marker {} is a symlink or not a regular file; refusing to touch it (remove it by hand)",
                path.display()
            ),
            MarkerError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MarkerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MarkerError::Io(e) => Some(&e.source),
            _ => None,
        }
    }
}

/// What [`MarkerStore::inspect`] found for a step; lets the caller log why a step runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MarkerState {
    /// A valid marker holding the expected hash: the step can be skipped.
    Match,
    /// No marker (or no marker directory): the step runs.
    Missing,
    /// A valid marker for a different definition: the step changed and runs again.
    Mismatch,
    /// Something is there but we do not trust it (symlink, not a regular file,
    /// unreadable, not a podinit marker); the string says what, naming the path.
    Refused(String),
}

/// Stable 64-bit FNV-1a hash, as 16 lowercase hex digits, of a step's definition.
///
/// Callers pass the parts in a fixed order (command args, sorted env pairs, user,
/// working_dir, wait_for description). Each part is prefixed with its length as
/// 8 little-endian bytes, so `["ab","c"]` and `["a","bc"]` hash differently.
/// FNV-1a is spelled out here (not std's `DefaultHasher`, whose output may change
/// between Rust releases) because the value is persisted across podinit upgrades.
pub(crate) fn definition_hash(parts: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for part in parts {
        feed(&(part.len() as u64).to_le_bytes());
        feed(part.as_bytes());
    }
    format!("{h:016x}")
}

/// The marker directory (`marker_dir` of the pod file).
#[derive(Debug, Clone)]
pub(crate) struct MarkerStore {
    dir: PathBuf,
}

impl MarkerStore {
    /// A store over `dir`; touches nothing until a method is called.
    pub(crate) fn new(dir: &Path) -> MarkerStore {
        MarkerStore { dir: dir.to_path_buf() }
    }

    /// Path of `<dir>/<name>.done`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{DONE}"))
    }

    /// True iff the marker exists, is a regular file (not a symlink) and holds `hash`.
    pub(crate) fn matches(&self, name: &str, hash: &str) -> bool {
        self.inspect(name, hash) == MarkerState::Match
    }

    /// Like [`matches`](Self::matches), but says why a marker does not count.
    pub(crate) fn inspect(&self, name: &str, hash: &str) -> MarkerState {
        if let Err(e) = validate_name(name) {
            return MarkerState::Refused(e.to_string());
        }
        let dir = match self.open_dir() {
            Ok(d) => d,
            Err(MarkerError::Io(e)) if e.source.kind() == io::ErrorKind::NotFound => return MarkerState::Missing,
            Err(e) => return MarkerState::Refused(e.to_string()),
        };
        let path = self.path(name);
        let file_name = format!("{name}{DONE}");
        // O_NOFOLLOW: a symlink fails with ELOOP; O_NONBLOCK: a FIFO planted
        // under the marker's name must not hang podinit.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let file = match openat(Some(dir.as_raw_fd()), file_name.as_str(), flags, Mode::empty()) {
            // SAFETY: openat just returned this fd and nothing else owns it.
            Ok(fd) => unsafe { File::from_raw_fd(fd) },
            Err(Errno::ENOENT) => return MarkerState::Missing,
            Err(Errno::ELOOP) => return MarkerState::Refused(MarkerError::NotRegularFile { path }.to_string()),
            Err(e) => return MarkerState::Refused(io_err("read marker", &path, io::Error::from(e)).to_string()),
        };
        match file.metadata() {
            Ok(m) if m.is_file() => {}
            Ok(_) => return MarkerState::Refused(MarkerError::NotRegularFile { path }.to_string()),
            Err(e) => return MarkerState::Refused(io_err("read marker", &path, e).to_string()),
        }
        let mut text = String::new();
        if let Err(e) = file.take(MAX_MARKER_BYTES).read_to_string(&mut text) {
            return MarkerState::Refused(io_err("read marker", &path, e).to_string());
        }
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return MarkerState::Refused(format!(
                "marker {} is not a podinit marker (first line is not {MAGIC:?})",
                path.display()
            ));
        }
        match lines.find_map(|l| l.strip_prefix("hash ")) {
            Some(h) if !hash.is_empty() && h == hash => MarkerState::Match,
            Some(_) => MarkerState::Mismatch,
            None => MarkerState::Refused(format!("marker {} has no hash line", path.display())),
        }
    }

    /// Writes the marker of step `name` holding `hash`, crash-safely.
    ///
    /// Creates the directory if missing (mode 0755) and refuses it if it is a
    /// symlink. Writes `<name>.done.tmp.<pid>` (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
    /// mode 0644), fsyncs it, renames it over `<name>.done` and fsyncs the
    /// directory. On failure the temp file is removed; an existing marker that is
    /// a symlink or not a regular file is refused, never written through.
    pub(crate) fn write(&self, name: &str, hash: &str) -> Result<(), MarkerError> {
        validate_name(name)?;
        let final_name = format!("{name}{DONE}");
        let content = format!("{MAGIC}\nhash {hash}\nstep {name}\ndone {}\n", crate::now_unix());
        let dir = atomic_file::create_and_open_dir(&self.dir).map_err(|e| self.error(e, &final_name))?;
        atomic_file::replace(&dir, &self.dir, &final_name, content.as_bytes(), true)
            .map_err(|e| self.error(e, &final_name))
    }

    /// A shared atomic-file error in this store's words.
    fn error(&self, e: atomic_file::Error, file_name: &str) -> MarkerError {
        match e {
            atomic_file::Error::DirIsSymlink => MarkerError::DirIsSymlink { dir: self.dir.clone() },
            atomic_file::Error::NotADirectory => MarkerError::NotADirectory { dir: self.dir.clone() },
            atomic_file::Error::NotRegularFile => MarkerError::NotRegularFile { path: self.dir.join(file_name) },
            atomic_file::Error::Io(e) => MarkerError::Io(e),
        }
    }

    /// Removes the markers of `names`, or every `*.done` (and stale
    /// `*.done.tmp.*` temp files) when `names` is empty.
    ///
    /// Returns the step names whose marker was removed, sorted (temp files are
    /// not reported). A name without a marker is simply not in the result. A
    /// missing directory is not an error: there is nothing to reset. A marker
    /// that is a symlink is removed as a link; its target is untouched.
    pub(crate) fn reset(&self, names: &[String]) -> Result<Vec<String>, MarkerError> {
        for n in names {
            validate_name(n)?;
        }
        let dir = match self.open_dir() {
            Ok(d) => d,
            Err(MarkerError::Io(e)) if e.source.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let dfd = dir.as_raw_fd();

        // (file name, step name to report if it was a marker)
        let mut targets: Vec<(String, Option<String>)> = Vec::new();
        if names.is_empty() {
            // Listing goes through the path, but every unlink is relative to the
            // verified directory fd, so a swapped directory cannot redirect it.
            let entries = std::fs::read_dir(&self.dir).map_err(|e| io_err("list marker directory", &self.dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_err("list marker directory", &self.dir, e))?;
                let Ok(file_name) = entry.file_name().into_string() else {
                    continue; // not a name we ever write
                };
                if let Some(step) = file_name.strip_suffix(DONE) {
                    if !step.is_empty() {
                        let step = step.to_string();
                        targets.push((file_name, Some(step)));
                    }
                } else if file_name.contains(TMP) {
                    targets.push((file_name, None));
                }
            }
        } else {
            for n in names {
                targets.push((format!("{n}{DONE}"), Some(n.clone())));
            }
        }

        let mut removed = Vec::new();
        for (file_name, step) in targets {
            match unlinkat(Some(dfd), file_name.as_str(), UnlinkatFlags::NoRemoveDir) {
                Ok(()) => {
                    if let Some(s) = step {
                        removed.push(s);
                    }
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(io_err("remove marker", &self.dir.join(&file_name), e.into())),
            }
        }
        removed.sort();
        removed.dedup();
        Ok(removed)
    }

    /// Opens the marker directory (never through a symlink).
    fn open_dir(&self) -> Result<File, MarkerError> {
        atomic_file::open_dir(&self.dir).map_err(|e| self.error(e, ""))
    }
}

/// Rejects names that would escape the directory or not fit a file name.
fn validate_name(name: &str) -> Result<(), MarkerError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > MAX_NAME_BYTES
        || name.contains('/')
        || name.contains('\0')
    {
        return Err(MarkerError::InvalidName { name: name.to_string() });
    }
    Ok(())
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> MarkerError {
    MarkerError::Io(IoError::new(op, path, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{names_in, TempDir};
    use std::os::unix::fs::symlink;

    #[test]
    fn write_then_match_and_mismatch() {
        let t = TempDir::new("wm");
        let dir = t.0.join("markers"); // does not exist yet: write creates it
        let s = MarkerStore::new(&dir);
        assert_eq!(s.inspect("download", "abc"), MarkerState::Missing);
        assert!(!s.matches("download", "abc"));
        s.write("download", "abc").expect("write");
        assert!(s.matches("download", "abc"));
        assert_eq!(s.inspect("download", "abd"), MarkerState::Mismatch);
        assert!(!s.matches("download", ""));
        assert!(!s.matches("other", "abc"));
        let text = std::fs::read_to_string(s.path("download")).expect("read");
        assert!(text.starts_with("podinit-marker v1\nhash abc\nstep download\ndone "));
        assert!(text.ends_with('\n'));
        // Overwrite with a new hash.
        s.write("download", "def").expect("rewrite");
        assert!(s.matches("download", "def"));
        assert!(!s.matches("download", "abc"));
        assert_eq!(names_in(&dir), vec!["download.done".to_string()]);
        let mode = std::fs::metadata(&dir).expect("meta").permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o700, 0o700);
    }

    #[test]
    fn garbage_marker_does_not_match() {
        let t = TempDir::new("garbage");
        let s = MarkerStore::new(&t.0);
        std::fs::write(s.path("x"), "hash abc\n").expect("write");
        assert!(matches!(s.inspect("x", "abc"), MarkerState::Refused(_)));
        std::fs::write(s.path("x"), "podinit-marker v1\nstep x\n").expect("write");
        assert!(matches!(s.inspect("x", "abc"), MarkerState::Refused(_)));
    }

    #[test]
    fn symlinked_marker_is_refused_and_not_written_through() {
        let t = TempDir::new("symmarker");
        let s = MarkerStore::new(&t.0);
        let target = t.0.join("target");
        std::fs::write(&target, "podinit-marker v1\nhash abc\nstep a\ndone 1\n").expect("write");
        symlink(&target, s.path("a")).expect("symlink");
        assert!(!s.matches("a", "abc"));
        assert!(matches!(s.inspect("a", "abc"), MarkerState::Refused(_)));
        let err = s.write("a", "zzz").expect_err("must refuse");
        assert!(matches!(err, MarkerError::NotRegularFile { .. }), "{err}");
        assert!(err.to_string().contains("a.done"), "{err}");
        // Target untouched, link still a link, no temp file left behind.
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "podinit-marker v1\nhash abc\nstep a\ndone 1\n");
        assert!(std::fs::symlink_metadata(s.path("a")).expect("lstat").file_type().is_symlink());
        assert_eq!(names_in(&t.0), vec!["a.done".to_string(), "target".to_string()]);
    }

    #[test]
    fn symlinked_dir_is_refused() {
        let t = TempDir::new("symdir");
        let real = t.0.join("real");
        std::fs::create_dir(&real).expect("mkdir");
        let link = t.0.join("link");
        symlink(&real, &link).expect("symlink");
        let s = MarkerStore::new(&link);
        let err = s.write("a", "abc").expect_err("must refuse");
        assert!(matches!(err, MarkerError::DirIsSymlink { .. }), "{err}");
        assert!(err.to_string().contains("link"), "{err}");
        assert!(names_in(&real).is_empty());
        // A marker placed in the real dir is not trusted through the link either.
        MarkerStore::new(&real).write("a", "abc").expect("write real");
        assert!(!s.matches("a", "abc"));
        assert!(matches!(s.reset(&[]), Err(MarkerError::DirIsSymlink { .. })));
    }

    #[test]
    fn reset_one_and_all() {
        let t = TempDir::new("reset");
        let s = MarkerStore::new(&t.0);
        for n in ["a", "b", "c"] {
            s.write(n, "h").expect("write");
        }
        std::fs::write(t.0.join("b.done.tmp.1"), "half").expect("stale tmp");
        std::fs::write(t.0.join("unrelated"), "keep").expect("other file");

        let removed = s.reset(&["a".to_string(), "zzz".to_string()]).expect("reset a");
        assert_eq!(removed, vec!["a".to_string()]);
        assert!(!s.matches("a", "h"));
        assert!(s.matches("b", "h"));

        let removed = s.reset(&[]).expect("reset all");
        assert_eq!(removed, vec!["b".to_string(), "c".to_string()]);
        assert_eq!(names_in(&t.0), vec!["unrelated".to_string()]);

        // Missing directory: nothing to reset, not an error.
        let gone = MarkerStore::new(&t.0.join("nope"));
        assert_eq!(gone.reset(&[]).expect("missing dir"), Vec::<String>::new());
        assert_eq!(gone.reset(&["a".to_string()]).expect("missing dir"), Vec::<String>::new());
    }

    #[test]
    fn hash_is_stable_and_length_prefixed() {
        // Literal computed once; it must never change or every marker in the
        // field would be invalidated by an upgrade.
        assert_eq!(definition_hash(&[]), "cbf29ce484222325");
        assert_eq!(
            definition_hash(&["wget", "-O", "/data/index.html", "SOURCE_URL=http://example.org/", "", "", ""]),
            "80096dd32c159246"
        );
        assert_ne!(definition_hash(&["ab", "c"]), definition_hash(&["a", "bc"]));
        assert_ne!(definition_hash(&["a"]), definition_hash(&["a", ""]));
        assert_eq!(definition_hash(&["x", "y"]).len(), 16);
    }

    #[test]
    fn failed_write_leaves_no_temp_file() {
        let t = TempDir::new("fail");
        // The "directory" is a regular file: nothing can be created.
        let file = t.0.join("notadir");
        std::fs::write(&file, "x").expect("write");
        let s = MarkerStore::new(&file);
        let err = s.write("a", "h").expect_err("must fail");
        assert!(matches!(err, MarkerError::NotADirectory { .. }), "{err}");
        assert_eq!(names_in(&t.0), vec!["notadir".to_string()]);

        // The marker name is taken by a directory: refused before any temp file
        // is created, and none is left behind.
        let s = MarkerStore::new(&t.0);
        std::fs::create_dir(s.path("d")).expect("mkdir");
        let err = s.write("d", "h").expect_err("must fail");
        assert!(matches!(err, MarkerError::NotRegularFile { .. }), "{err}");
        assert_eq!(names_in(&t.0), vec!["d.done".to_string(), "notadir".to_string()]);
    }

    #[test]
    fn stale_temp_of_same_pid_is_replaced() {
        let t = TempDir::new("stale");
        let s = MarkerStore::new(&t.0);
        let stale = t.0.join(format!("a.done.tmp.{}", std::process::id()));
        std::fs::write(&stale, "half").expect("write");
        s.write("a", "h").expect("write over stale temp");
        assert!(s.matches("a", "h"));
        assert_eq!(names_in(&t.0), vec!["a.done".to_string()]);
    }

    #[test]
    fn bad_names_are_rejected() {
        let t = TempDir::new("names");
        let s = MarkerStore::new(&t.0);
        for n in ["", ".", "..", "a/b", "../x", "a\0b"] {
            assert!(matches!(s.write(n, "h"), Err(MarkerError::InvalidName { .. })), "{n:?}");
            assert!(!s.matches(n, "h"));
        }
        assert!(s.reset(&["../x".to_string()]).is_err());
        assert!(names_in(&t.0).is_empty());
    }
}
