//! The pod's status file, `state_dir/status.json`: written by the runtime on
//! every state change, read back by `podinit status`, `health` and `wait`.
//! The content is [`PodStatus`] (`status.rs`); this module only moves it to
//! and from the disk, atomically and without following symlinks.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::pod::status::PodStatus;
use crate::sys::atomic_file::{self, IoError};

/// Name of the status file inside `state_dir`.
pub(crate) const FILE_NAME: &str = "status.json";
/// A status file is a few kB; refuse to slurp anything absurd.
const MAX_BYTES: u64 = 4 << 20;

/// Why the status file could not be written or read. Display is one line that
/// names the path, so `podinit status` can print it as is.
#[derive(Debug)]
pub enum StatusError {
    /// There is no status file: the pod is not running, or podinit could not write `state_dir`.
    NotFound {
        /// The status file path.
        path: PathBuf,
    },
    /// `state_dir` or `status.json` is a symlink (or not the expected file type); refused.
    Refused {
        /// The offending path.
        path: PathBuf,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The file is not valid status JSON.
    Parse {
        /// The file, when parsing came from [`read`].
        path: Option<PathBuf>,
        /// The parser's message (with line and column).
        message: String,
    },
    /// An OS call failed.
    Io(IoError),
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusError::NotFound { path } => write!(
                f,
                "no status file at {}: the pod is not running, or podinit could not write its state_dir",
                path.display()
            ),
            StatusError::Refused { path, why } => {
                write!(f, "refusing status path {}: {why}", path.display())
            }
            StatusError::Parse { path: Some(p), message } => {
                write!(f, "status file {} is not valid: {message}", p.display())
            }
            StatusError::Parse { path: None, message } => write!(f, "status JSON is not valid: {message}"),
            StatusError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StatusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StatusError::Io(e) => Some(&e.source),
            _ => None,
        }
    }
}

/// Atomically rewrites `<dir>/status.json`.
///
/// Writes `status.json.tmp.<pid>` (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0644)
/// and renames it over `status.json`, so readers see the old or the new file,
/// never half of one. Nothing is fsynced: this is runtime state under /run,
/// rewritten on every change and worthless after a reboot. Creates `dir` (0755)
/// if missing; refuses when `dir` or `status.json` is a symlink.
pub(crate) fn write(dir: &Path, st: &PodStatus) -> Result<(), StatusError> {
    let mut json = serde_json::to_vec_pretty(st)
        .map_err(|e| StatusError::Parse { path: Some(dir.join(FILE_NAME)), message: e.to_string() })?;
    json.push(b'\n');
    // Runtime state under /run: atomic is enough, durable is not needed.
    atomic_file::create_and_open_dir(dir)
        .and_then(|dirf| atomic_file::replace(&dirf, dir, FILE_NAME, &json, false))
        .map_err(|e| match e {
            atomic_file::Error::DirIsSymlink => StatusError::Refused {
                path: dir.to_path_buf(),
                why: "the state directory is a symlink (set state_dir to the real directory)",
            },
            atomic_file::Error::NotADirectory => {
                StatusError::Refused { path: dir.to_path_buf(), why: "the state directory is not a directory" }
            }
            atomic_file::Error::NotRegularFile => {
                StatusError::Refused { path: dir.join(FILE_NAME), why: "it is a symlink or not a regular file" }
            }
            atomic_file::Error::Io(e) => StatusError::Io(e),
        })
}

/// Reads and parses `<dir>/status.json`. Refuses a symlinked file; never panics.
pub(crate) fn read(dir: &Path) -> Result<PodStatus, StatusError> {
    let path = dir.join(FILE_NAME);
    // O_NONBLOCK: a FIFO under that name must not hang `podinit health`.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StatusError::NotFound { path }),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(StatusError::Refused { path, why: "it is a symlink" })
        }
        Err(e) => return Err(io_err("open", &path, e)),
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(StatusError::Refused { path, why: "it is not a regular file" }),
        Err(e) => return Err(io_err("inspect", &path, e)),
    }
    let mut text = String::new();
    file.take(MAX_BYTES).read_to_string(&mut text).map_err(|e| io_err("read", &path, e))?;
    parse(&text).map_err(|e| match e {
        StatusError::Parse { message, .. } => StatusError::Parse { path: Some(path), message },
        other => other,
    })
}

/// Parses status JSON text (used by `read` and by fuzzing). Unknown fields are
/// ignored so an older `podinit status` can read a newer podinit's file.
pub fn parse(text: &str) -> Result<PodStatus, StatusError> {
    // from_slice, as the control socket reads: one instance of serde_json's reader (~5 KB).
    serde_json::from_slice(text.as_bytes()).map_err(|e| StatusError::Parse { path: None, message: e.to_string() })
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> StatusError {
    StatusError::Io(IoError::new(op, path, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::status::samples::sample;
    use crate::testutil::{names_in, TempDir};
    use std::os::unix::fs::symlink;

    #[test]
    fn json_round_trip() {
        let st = sample();
        let text = serde_json::to_string(&st).expect("serialize");
        assert_eq!(parse(&text).expect("parse"), st);
        // Unknown fields are tolerated (newer writer, older reader).
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("value");
        v["future"] = serde_json::json!(1);
        assert_eq!(parse(&v.to_string()).expect("parse"), st);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let deep = "[".repeat(100_000);
        for text in [
            "",
            "null",
            "{",
            "[]",
            "{\"name\":1}",
            "\u{0}\u{ffff}",
            deep.as_str(),
            "{\"name\":\"a\",\"namespace\":\"b\",\"status\":\"c\",\"ready\":true,\"pid\":-1,\"started_at\":0,\"updated_at\":0,\"entries\":[]}",
            "{\"name\":\"a\",\"namespace\":\"b\",\"status\":\"c\",\"ready\":true,\"pid\":1,\"started_at\":1e400,\"updated_at\":0,\"entries\":[]}",
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.to_string().starts_with("status JSON is not valid"), "{err}");
        }
    }

    #[test]
    fn write_is_atomic_and_read_back() {
        let t = TempDir::new("write");
        let dir = t.0.join("run"); // missing: write creates it
        let st = sample();
        write(&dir, &st).expect("write");
        assert_eq!(read(&dir).expect("read"), st);
        // A stale temp of our own pid (as after a crash when we are PID 1) is replaced.
        std::fs::write(dir.join(format!("status.json.tmp.{}", std::process::id())), "half").expect("stale");
        let mut st2 = st.clone();
        st2.status = "Terminating".into();
        write(&dir, &st2).expect("rewrite");
        assert_eq!(read(&dir).expect("read"), st2);
        assert_eq!(names_in(&dir), vec!["status.json".to_string()]);
    }

    #[test]
    fn missing_file_says_so() {
        let t = TempDir::new("missing");
        let err = read(&t.0).expect_err("missing");
        assert!(matches!(err, StatusError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("status.json"), "{err}");
        std::fs::write(t.0.join(FILE_NAME), "{garbage").expect("write");
        let err = read(&t.0).expect_err("garbage");
        assert!(matches!(err, StatusError::Parse { path: Some(_), .. }), "{err}");
        assert!(err.to_string().contains("status.json"), "{err}");
    }

    #[test]
    fn symlinks_are_refused() {
        let t = TempDir::new("sym");
        let target = t.0.join("elsewhere.json");
        std::fs::write(&target, "precious").expect("write");
        let dir = t.0.join("state");
        std::fs::create_dir(&dir).expect("mkdir");
        symlink(&target, dir.join(FILE_NAME)).expect("symlink");

        let err = write(&dir, &sample()).expect_err("must refuse");
        assert!(matches!(err, StatusError::Refused { .. }), "{err}");
        assert!(err.to_string().contains("status.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "precious");
        assert_eq!(names_in(&dir), vec!["status.json".to_string()]);
        assert!(matches!(read(&dir), Err(StatusError::Refused { .. })));

        // A symlinked state_dir is refused too.
        let real = t.0.join("real");
        std::fs::create_dir(&real).expect("mkdir");
        let link = t.0.join("link");
        symlink(&real, &link).expect("symlink");
        let err = write(&link, &sample()).expect_err("must refuse");
        assert!(matches!(err, StatusError::Refused { .. }), "{err}");
        assert!(names_in(&real).is_empty());
    }
}
