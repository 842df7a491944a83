//! The pod's status file (`state_dir/status.json`), `podinit status` and `podinit health`.
//!
//! The state machine fills the plain [`PodStatus`] / [`EntryStatus`] structs on
//! every state change and calls [`write()`]; the `status` and `health` commands
//! [`read`] the file back and print [`render_table`] or act on [`health`].
//! This module knows nothing of the state machine: it only moves data.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::config::Kind;
use crate::sys::atomic_file;
use serde::{Deserialize, Serialize};

/// Name of the status file inside `state_dir`.
pub(crate) const FILE_NAME: &str = "status.json";
/// A status file is a few kB; refuse to slurp anything absurd.
const MAX_BYTES: u64 = 4 << 20;

/// The whole pod as `podinit status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodStatus {
    /// Pod name (`name` in the pod file).
    pub name: String,
    /// Pod namespace (`namespace` in the pod file).
    pub namespace: String,
    /// kubectl STATUS column, computed by the state machine: `Init:1/3`, `Running`, `NotReady`, `Completed`, `Terminating`, ...
    pub status: String,
    /// The pod Ready condition; drives `podinit health`.
    pub ready: bool,
    /// podinit's own pid.
    pub pid: u32,
    /// When podinit started, unix seconds (pod AGE).
    pub started_at: u64,
    /// When this status was written, unix seconds.
    pub updated_at: u64,
    /// Init steps, sidecars and apps in pod-file order.
    pub entries: Vec<EntryStatus>,
    /// The pod conditions (Initialized, ContainersReady, Ready, PodReadyToStartContainers).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What happened, aggregated as `kubectl describe` shows it (oldest first seen first).
    #[serde(default)]
    pub events: Vec<EventStatus>,
}

/// One pod condition. In JSON a `[type, status, last_transition]` array: a
/// tuple's serde code is a fraction of a named struct's, and the binary has a
/// size budget (the Kubernetes-shaped form is `status -o json`'s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "(String, bool, u64)", into = "(String, bool, u64)")]
pub struct Condition {
    /// `Initialized`, `ContainersReady`, `Ready`, `PodReadyToStartContainers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it holds.
    pub status: bool,
    /// Unix seconds of its last change.
    pub last_transition: u64,
}

/// One aggregated event. In JSON a `[type, reason, entry, message, count,
/// first_seen, last_seen]` array (see [`Condition`] for why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EventTuple", into = "EventTuple")]
pub struct EventStatus {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Started`, `Killing`, `BackOff`, `Unhealthy`, `Completed`, `Failed`, `Skipped`.
    pub reason: String,
    /// The entry it is about; None: the pod.
    #[serde(default)]
    pub entry: Option<String>,
    /// What happened.
    pub message: String,
    /// How many times.
    pub count: u32,
    /// Unix seconds, first seen.
    pub first_seen: u64,
    /// Unix seconds, last seen.
    pub last_seen: u64,
}

/// An entry's STATE column: the Kubernetes container states as kubectl
/// words them, plus podinit's Skipped (marker), Stopped (by a user) and
/// Terminating. One type for the writer (`view.rs`) and every reader
/// (`health`, `wait`, the Kubernetes JSON), so a renamed word cannot change
/// what a reader decides; in status.json the word itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryState {
    /// Not started yet (or being started).
    #[default]
    Waiting,
    /// Its process runs (or its waiter polls).
    Running,
    /// podinit is stopping it.
    Terminating,
    /// Crashed; restarts after its back-off.
    CrashLoopBackOff,
    /// An init step whose run-once marker matched.
    Skipped,
    /// Stopped through the control socket.
    Stopped,
    /// Exited 0 for good.
    Completed,
    /// Stopped with the pod.
    Terminated,
    /// Killed by the kernel's OOM killer, for good.
    #[serde(rename = "OOMKilled")]
    OomKilled,
    /// Failed for good.
    Error,
}

impl EntryState {
    /// The word, as kubectl shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Waiting => "Waiting",
            EntryState::Running => "Running",
            EntryState::Terminating => "Terminating",
            EntryState::CrashLoopBackOff => "CrashLoopBackOff",
            EntryState::Skipped => "Skipped",
            EntryState::Stopped => "Stopped",
            EntryState::Completed => "Completed",
            EntryState::Terminated => "Terminated",
            EntryState::OomKilled => "OOMKilled",
            EntryState::Error => "Error",
        }
    }

    /// It has ended and will not run again by itself.
    pub fn ended(self) -> bool {
        use EntryState::*;
        matches!(self, Completed | Error | OomKilled | Terminated | Stopped | Skipped)
    }
}

impl std::fmt::Display for EntryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tests write states and kinds as their words.
#[cfg(test)]
impl From<&str> for EntryState {
    fn from(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.into())).expect("a state word")
    }
}

#[cfg(test)]
impl From<&str> for Kind {
    fn from(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.into())).expect("a kind word")
    }
}

/// The pod STATUS words `health` and `wait` act on (the column also holds
/// `Init:1/3`, `PodInitializing`, ...: a string).
pub(crate) mod pod_word {
    /// Every app is ready.
    pub(crate) const RUNNING: &str = "Running";
    /// Running, but an app or sidecar is not ready.
    pub(crate) const NOT_READY: &str = "NotReady";
}

/// One init step, sidecar or app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryStatus {
    /// Entry name.
    pub name: String,
    /// `init`, `sidecar` or `app`.
    pub kind: Kind,
    /// The STATE column.
    pub state: EntryState,
    /// Readiness; `None` for init steps (shown as `-`).
    #[serde(default)]
    pub ready: Option<bool>,
    /// Kubernetes' `started`: running, and post_start and the startup probe
    /// passed; `None` for init steps (and in files of older podinits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    /// How many times it was restarted (or an init step retried).
    pub restarts: u32,
    /// Last exit, e.g. `0`, `137 (liveness)`, `143 (SIGTERM)`; `None` shown as `-`.
    #[serde(default)]
    pub last_exit: Option<String>,
    /// Pid of the running process, if any.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Unix seconds of the last state change (AGE column).
    pub since: u64,
    /// Unix seconds when the current run started (while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// The run that ended last: exit code, reason, start and end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
    /// What a `notify = true` entry last said: `STATUS=…` text, `STOPPING`, or
    /// `waiting for READY=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// The run of an entry that ended last. In JSON a `[exit_code, reason,
/// started, finished]` array (see [`Condition`] for why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RunTuple", into = "RunTuple")]
pub struct LastRun {
    /// Its exit code (128+N for signal N).
    pub exit_code: i32,
    /// `Completed`, `Error`, or what ended it (`liveness`, `SIGTERM`...).
    pub reason: String,
    /// Unix seconds when it started.
    pub started: Option<u64>,
    /// Unix seconds when it ended.
    pub finished: Option<u64>,
}

type RunTuple = (i32, String, Option<u64>, Option<u64>);

impl From<RunTuple> for LastRun {
    fn from((exit_code, reason, started, finished): RunTuple) -> LastRun {
        LastRun { exit_code, reason, started, finished }
    }
}

impl From<LastRun> for RunTuple {
    fn from(r: LastRun) -> Self {
        (r.exit_code, r.reason, r.started, r.finished)
    }
}

type EventTuple = (String, String, Option<String>, String, u32, u64, u64);

impl From<(String, bool, u64)> for Condition {
    fn from((kind, status, last_transition): (String, bool, u64)) -> Condition {
        Condition { kind, status, last_transition }
    }
}

impl From<Condition> for (String, bool, u64) {
    fn from(c: Condition) -> Self {
        (c.kind, c.status, c.last_transition)
    }
}

impl From<EventTuple> for EventStatus {
    fn from((kind, reason, entry, message, count, first_seen, last_seen): EventTuple) -> EventStatus {
        EventStatus { kind, reason, entry, message, count, first_seen, last_seen }
    }
}

impl From<EventStatus> for EventTuple {
    fn from(e: EventStatus) -> Self {
        (e.kind, e.reason, e.entry, e.message, e.count, e.first_seen, e.last_seen)
    }
}

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
    Io {
        /// What we were doing, e.g. "write".
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
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
            StatusError::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StatusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StatusError::Io { source, .. } => Some(source),
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
            atomic_file::Error::Io { op, path, source } => StatusError::Io { op, path, source },
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

/// Parses status JSON text (used by [`read`] and by fuzzing). Unknown fields are
/// ignored so an older `podinit status` can read a newer podinit's file.
pub fn parse(text: &str) -> Result<PodStatus, StatusError> {
    // from_slice, as the control socket reads: one instance of serde_json's reader (~5 KB).
    serde_json::from_slice(text.as_bytes()).map_err(|e| StatusError::Parse { path: None, message: e.to_string() })
}

/// The kubectl-like table of `podinit status`: a POD header and row, then the
/// ENTRY table. Each column is as wide as its widest cell plus two spaces (the
/// last column is not padded, so lines have no trailing blanks). READY is `n/m`
/// over apps and sidecars, RESTARTS the sum over all entries, AGE is computed
/// against `now` (unix seconds) with [`format_age`].
pub fn render_table(st: &PodStatus, now: u64) -> String {
    let (mut ready, mut total, mut restarts) = (0usize, 0usize, 0u64);
    for e in &st.entries {
        if e.kind == Kind::App || e.kind == Kind::Sidecar {
            total += 1;
            if e.ready == Some(true) {
                ready += 1;
            }
        }
        restarts += u64::from(e.restarts);
    }
    let pod = vec![
        vec!["POD".into(), "READY".into(), "STATUS".into(), "RESTARTS".into(), "AGE".into()],
        vec![
            clean(&st.name),
            format!("{ready}/{total}"),
            clean(&st.status),
            restarts.to_string(),
            format_age(now.saturating_sub(st.started_at)),
        ],
    ];
    let mut entries: Vec<Vec<String>> = vec![["ENTRY", "KIND", "STATE", "READY", "RESTARTS", "LAST EXIT", "AGE"]
        .iter()
        .map(|s| s.to_string())
        .collect()];
    for e in &st.entries {
        entries.push(vec![
            clean(&e.name),
            clean(e.kind.as_str()),
            clean(e.state.as_str()),
            match e.ready {
                Some(true) => "true".into(),
                Some(false) => "false".into(),
                None => "-".into(),
            },
            e.restarts.to_string(),
            e.last_exit.as_deref().map_or_else(|| "-".into(), clean),
            format_age(now.saturating_sub(e.since)),
        ]);
    }
    let mut out = align(&pod);
    out.push_str(&align(&entries));
    out
}

/// Health verdict for `podinit health`: `Ok(())` iff the pod is Ready, else a
/// one-line reason such as `pod web is not ready: nginx not ready (Running)` or
/// `pod web is Completed`.
pub fn health(st: &PodStatus) -> Result<(), String> {
    if st.ready {
        return Ok(());
    }
    let name = clean(&st.name);
    // Only a pod whose apps are up can be "not ready because of X"; in any
    // other phase (Init:1/3, Completed, Terminating, ...) the phase says it all.
    if st.status != pod_word::RUNNING && st.status != pod_word::NOT_READY {
        return Err(format!("pod {name} is {}", clean(&st.status)));
    }
    let laggards: Vec<String> = st
        .entries
        .iter()
        .filter(|e| (e.kind == Kind::App || e.kind == Kind::Sidecar) && e.ready != Some(true))
        .map(|e| format!("{} not ready ({})", clean(&e.name), e.state))
        .collect();
    if laggards.is_empty() {
        Err(format!("pod {name} is not ready ({})", clean(&st.status)))
    } else {
        Err(format!("pod {name} is not ready: {}", laggards.join(", ")))
    }
}

/// Formats an age in seconds the way kubectl's AGE column does
/// (apimachinery `HumanDuration`): `45s`, `119s`, `2m5s`, `9m`, `10m`, `3h5m`,
/// `8h`, `2d3h`, `8d`, `2y3d`, `8y`.
pub fn format_age(secs: u64) -> String {
    let minutes = secs / 60;
    let hours = secs / 3600;
    let days = hours / 24;
    if secs < 120 {
        format!("{secs}s")
    } else if minutes < 10 {
        match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if minutes < 3 * 60 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        }
    } else {
        format!("{}y", days / 365)
    }
}

/// Lays out rows as columns padded to the widest cell + 2; the last column is not padded.
fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] + 2 - cell.chars().count();
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Replaces control characters so a hostile or corrupt status file cannot
/// break the table or inject terminal escapes; empty cells become `-`.
fn clean(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> StatusError {
    StatusError::Io { op, path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{names_in, TempDir};
    use std::os::unix::fs::symlink;

    const NOW: u64 = 1_700_000_000;

    fn entry(name: &str, kind: &str, state: &str, ready: Option<bool>) -> EntryStatus {
        EntryStatus {
            name: name.into(),
            kind: kind.into(),
            state: state.into(),
            ready,
            started: ready,
            restarts: 0,
            last_exit: None,
            pid: None,
            since: NOW - 300,
            ..EntryStatus::default()
        }
    }

    fn sample() -> PodStatus {
        let mut download = entry("download", "init", "Completed", None);
        download.last_exit = Some("0".into());
        let mut shipper = entry("log-shipper", "sidecar", "Running", Some(true));
        shipper.pid = Some(12);
        let mut nginx = entry("nginx", "app", "Running", Some(true));
        nginx.restarts = 2;
        nginx.last_exit = Some("137 (liveness)".into());
        nginx.pid = Some(40);
        nginx.since = NOW - 190;
        PodStatus {
            name: "web".into(),
            namespace: "demo".into(),
            status: "Running".into(),
            ready: true,
            pid: 1,
            started_at: NOW - 300,
            updated_at: NOW - 5,
            entries: vec![download, shipper, nginx],
            ..PodStatus::default()
        }
    }

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
    fn table_matches_kubectl_layout() {
        let expected = "\
POD  READY  STATUS   RESTARTS  AGE
web  2/2    Running  2         5m
ENTRY        KIND     STATE      READY  RESTARTS  LAST EXIT       AGE
download     init     Completed  -      0         0               5m
log-shipper  sidecar  Running    true   0         -               5m
nginx        app      Running    true   2         137 (liveness)  3m10s
";
        assert_eq!(render_table(&sample(), NOW), expected);
    }

    #[test]
    fn table_survives_hostile_strings_and_clock_skew() {
        let mut st = sample();
        st.name = "we\nb\x1b[31m".into();
        st.entries[0].since = NOW + 100; // clock went backwards
        let t = render_table(&st, NOW);
        assert_eq!(t.lines().count(), 6);
        assert!(t.starts_with("POD"));
        assert!(!t.contains('\x1b'));
        assert!(t.lines().nth(3).expect("row").ends_with(" 0s"));
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
    fn health_verdicts() {
        let mut st = sample();
        assert_eq!(health(&st), Ok(()));

        st.ready = false;
        st.status = "NotReady".into();
        st.entries[2].ready = Some(false);
        assert_eq!(health(&st), Err("pod web is not ready: nginx not ready (Running)".into()));
        st.entries[1].ready = Some(false);
        st.entries[1].state = "CrashLoopBackOff".into();
        assert_eq!(
            health(&st),
            Err("pod web is not ready: log-shipper not ready (CrashLoopBackOff), nginx not ready (Running)".into())
        );

        st.status = "Completed".into();
        assert_eq!(health(&st), Err("pod web is Completed".into()));
        st.status = "Init:1/3".into();
        assert_eq!(health(&st), Err("pod web is Init:1/3".into()));

        // Not ready although every entry claims readiness: still a clear line.
        let mut st = sample();
        st.ready = false;
        st.status = "NotReady".into();
        assert_eq!(health(&st), Err("pod web is not ready (NotReady)".into()));
    }

    #[test]
    fn format_age_like_kubectl() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (310, "5m10s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60 + 9, "3h5m"),
            (8 * 3600 + 59 * 60, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (733 * 86400, "2y3d"),
            (8 * 365 * 86400, "8y"),
            (u64::MAX, "584942417355y"),
        ] {
            assert_eq!(format_age(secs), want, "{secs}");
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
