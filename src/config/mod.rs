//! Pod file and Kubernetes manifest → the [`Pod`] model (README "The pod
//! file"), with every problem as `FILE:LINE:COL: message`.
//!
//! Reading happens in three steps. The text is parsed: the `toml` crate gives
//! its spanned document tree (`document.rs`), in which every key and value
//! carries the byte range it was written at (a manifest: `k8s/yaml.rs`, nodes
//! with positions); a syntax error (a key written twice included) stops there,
//! as the only error. A reader then walks the tree by hand against the schema
//! (`check.rs`; a manifest: `k8s/read`): it checks the format's own rules —
//! types, duration and size strings, signal names, unknown keys, with
//! suggestions for misspelt ones — builds the [`Pod`] and records where it read
//! each field. Last, `validate.rs` checks the rules about the model's values
//! (names, command or wait_for, restart policies, probes, targets), the same
//! for both formats, and the reader places each problem at its field's origin.
//! Walking by hand, rather than deriving serde structs, is what lets podinit
//! report *every* problem in a file instead of stopping at the first.
//!
//! The other files: `model.rs` holds the types the rest of podinit uses (all
//! re-exported here), `duration.rs` the duration syntax, [`expand`] `$(VAR)`
//! expansion.

mod check;
mod document;
pub(crate) mod dotenv;
mod duration;
pub(crate) mod expand;
pub(crate) mod k8s;
mod model;
mod suggest;
mod url;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use duration::parse_duration;
pub(crate) use model::{
    Backoff, Entry, ExitCodeOperator, FileEnv, FromImage, HttpGet, Kind, Mount, Pod, Probe, ProbeAction, RestartPolicy,
    RestartRule, Volume, VolumeContent, VolumeFile, WaitFor, WaitTarget,
};
// Public: the fuzz targets name it (`fuzzing`, through pod::probe).
pub use model::ProbeKind;
pub(crate) use url::{check_header_name, http_target, split_host_port, HttpTarget};

/// One problem in a pod file. Displays as a single line, `FILE:LINE:COL: message`,
/// or `FILE: message` when the problem has no position (an unreadable file).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The pod file.
    pub path: PathBuf,
    /// 1-based line of the offending key or value.
    pub line: Option<usize>,
    /// 1-based column, in characters.
    pub col: Option<usize>,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.line, self.col) {
            (Some(line), Some(col)) => write!(f, "{path}:{line}:{col}: {}", self.message),
            (Some(line), None) => write!(f, "{path}:{line}: {}", self.message),
            _ => write!(f, "{path}: {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The default pod file path: `$PODINIT_CONFIG` if set and non-empty, else
/// `/etc/podinit/pod.toml`.
pub(crate) fn default_path() -> PathBuf {
    default_path_from(std::env::var_os("PODINIT_CONFIG"))
}

fn default_path_from(var: Option<std::ffi::OsString>) -> PathBuf {
    match var {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("/etc/podinit/pod.toml"),
    }
}

/// A pod file is a few kB. Reading stops past this, so a pod file that is
/// `/dev/zero`, or a runaway generated one, cannot exhaust PID 1's memory.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads and validates a pod file; returns every error found (at least one on `Err`).
/// Regular files and pipes (`-c <(...)`) are read; devices and sockets are refused.
pub(crate) fn load(path: &Path) -> Result<Pod, Vec<ConfigError>> {
    let unreadable = |message: String| vec![ConfigError { path: path.to_path_buf(), line: None, col: None, message }];
    let bytes = read_limited(path).map_err(|e| unreadable(format!("cannot read: {e}")))?;
    match String::from_utf8(bytes) {
        // A Kubernetes manifest (YAML or JSON) maps to the same Pod (config::k8s).
        Ok(text) if k8s::is_manifest(path, &text) => k8s::parse(path, &text),
        Ok(text) => parse(path, &text),
        Err(e) => {
            let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            Err(vec![ConfigError {
                path: path.to_path_buf(),
                line: Some(line),
                col: Some(col),
                message: "not valid UTF-8".to_string(),
            }])
        }
    }
}

/// Parses and validates a pod file held in `text`; `path` is only used in messages
/// and as [`Pod::path`]. Returns every error found (at least one on `Err`), sorted
/// by position.
pub fn parse(path: &Path, text: &str) -> Result<Pod, Vec<ConfigError>> {
    let mut ck = check::Checker::new(path, text);
    let root = match document::parse(text) {
        Ok(root) => root,
        Err(e) => {
            // A syntax error leaves no tree to check, so it is the only error.
            ck.error(e.at, format!("invalid TOML: {}", e.message));
            return Err(ck.finish());
        }
    };
    let pod = ck.pod(&root);
    ck.validate(&pod);
    let errors = ck.finish();
    if errors.is_empty() {
        Ok(pod)
    } else {
        Err(errors)
    }
}

/// The bytes of the pod file at `path`, at most [`MAX_FILE_BYTES`]; the error is
/// the reason, without Rust's " (os error N)".
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let ft = file.metadata().map_err(|e| io_reason(&e))?.file_type();
    let kind = if ft.is_char_device() {
        Some("a character device")
    } else if ft.is_block_device() {
        Some("a block device")
    } else if ft.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(kind) = kind {
        return Err(format!("it is {kind}, not a file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB; a pod file is a few kB", MAX_FILE_BYTES >> 20));
    }
    Ok(bytes)
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
/// Works on bytes so that no offset, however odd, can make it panic.
fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let col = before.iter().skip(line_start).filter(|&&b| b & 0xC0 != 0x80).count() + 1;
    (line, col)
}

/// The io error text without Rust's " (os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests;
