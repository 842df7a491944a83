//! The data model of a validated pod file: what [`crate::config::parse`] builds
//! and the supervisor runs. Nothing here reads text; see `check.rs` for that.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sys::signals::SigNum;

/// Restart policy, Kubernetes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart an app whenever it exits.
    Always,
    /// Restart an app only when it exits non-zero or dies of a signal.
    OnFailure,
    /// Never restart.
    Never,
}

/// What an entry of the pod file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An `[[init]]` step: runs to completion before the next entry starts.
    Init,
    /// An `[[init]]` entry with `restart = "Always"`: starts in order, then runs beside the apps.
    Sidecar,
    /// An `[[app]]`: started together with the other apps after the init entries, supervised.
    App,
}

/// What a probe does to check its entry.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeAction {
    /// Run this command; exit 0 is success.
    Exec(Vec<String>),
    /// Connect to this `host:port`.
    Tcp(String),
    /// GET this `http://` URL; a status of 200-399 is success.
    Http(String),
}

/// A startup, readiness or liveness probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The check itself.
    pub action: ProbeAction,
    /// Wait this long after the start before the first check (default 0).
    pub initial_delay: Duration,
    /// Time between checks (default 10s).
    pub period: Duration,
    /// A check that takes longer has failed (default 1s).
    pub timeout: Duration,
    /// Consecutive successes that make the probe pass (default 1).
    pub success_threshold: u32,
    /// Consecutive failures that make the probe fail (default 3).
    pub failure_threshold: u32,
}

/// What a waiter step waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitTarget {
    /// A TCP connection to `host:port` succeeds.
    Tcp(String),
    /// A GET of this `http://` URL answers 200-399.
    Http(String),
    /// This path exists.
    File(PathBuf),
    /// A connection to this Unix socket succeeds.
    Unix(PathBuf),
}

/// The built-in waiter of an init step (`wait_for = { tcp = "db:5432" }`).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitFor {
    /// What to wait for.
    pub target: WaitTarget,
    /// Give up (the step fails) after this long; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Time between attempts (default 1s).
    pub period: Duration,
}

/// One `[[init]]` or `[[app]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unique across the pod; also the marker file name `<name>.done` and `CONTAINER_NAME`.
    pub name: String,
    /// Init step, sidecar or app.
    pub kind: Kind,
    /// Program and arguments; empty only for a waiter step (`wait_for` set).
    pub command: Vec<String>,
    /// The entry's own environment, in file order; overrides the pod's.
    pub env: Vec<(String, String)>,
    /// Directory to start in; `None` keeps podinit's.
    pub working_dir: Option<PathBuf>,
    /// User to run as: a name or `uid[:gid]`, resolved when the entry starts.
    pub user: Option<String>,
    /// Signal that asks the process to stop (default SIGTERM).
    pub stop_signal: SigNum,
    /// Apps only: the app's final exit stops the pod with its status (default false).
    pub essential: bool,
    /// Init steps only: a step that runs longer is killed and has failed.
    pub timeout: Option<Duration>,
    /// Init steps only: skip the step on a later start when its marker matches (default true).
    pub once: bool,
    /// Init steps only: the built-in waiter this step runs instead of a command.
    pub wait_for: Option<WaitFor>,
    /// Sidecars and apps: gates the other probes (and, for a sidecar, the next entry).
    pub startup_probe: Option<Probe>,
    /// Sidecars and apps: decides Ready.
    pub readiness_probe: Option<Probe>,
    /// Sidecars and apps: a failure restarts the process.
    pub liveness_probe: Option<Probe>,
    /// Sidecars and apps: run right after the process starts.
    pub post_start: Option<Vec<String>>,
    /// Sidecars and apps: run before the stop signal.
    pub pre_stop: Option<Vec<String>>,
}

/// A validated pod file.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// The file it was read from.
    pub path: PathBuf,
    /// `POD_NAME` (default: `$POD_NAME` from the downward API, else "pod").
    pub name: String,
    /// `POD_NAMESPACE` (default: `$POD_NAMESPACE`, else "default").
    pub namespace: String,
    /// How apps are restarted (default Always).
    pub restart_policy: RestartPolicy,
    /// How long a stop may take before SIGKILL (default 30s).
    pub termination_grace_period: Duration,
    /// The pod fails with DeadlineExceeded after running this long.
    pub active_deadline: Option<Duration>,
    /// Where run-once markers live (default /var/lib/podinit).
    pub marker_dir: PathBuf,
    /// Where status.json and the control socket live (default /run/podinit).
    pub state_dir: PathBuf,
    /// Prefix every output line of a child with `[name] ` (default false).
    pub log_prefix: bool,
    /// Output settings: buffers, timestamps, files (issue 26).
    pub logs: LogSettings,
    /// Environment for every process, in file order.
    pub env: Vec<(String, String)>,
    /// `[[init]]` entries in file order: kind Init, or Sidecar when `restart = "Always"`.
    pub init: Vec<Entry>,
    /// `[[app]]` entries in file order: kind App.
    pub apps: Vec<Entry>,
}

impl Pod {
    /// A pod read from `path` with nothing set yet: every top-level default
    /// (name and namespace from the downward API when podinit runs under Kubernetes).
    pub fn defaults(path: &Path) -> Pod {
        Pod {
            path: path.to_path_buf(),
            name: env_or("POD_NAME", "pod"),
            namespace: env_or("POD_NAMESPACE", "default"),
            restart_policy: RestartPolicy::Always,
            termination_grace_period: Duration::from_secs(30),
            active_deadline: None,
            marker_dir: PathBuf::from("/var/lib/podinit"),
            state_dir: PathBuf::from("/run/podinit"),
            log_prefix: false,
            logs: LogSettings::default(),
            env: Vec::new(),
            init: Vec::new(),
            apps: Vec::new(),
        }
    }
}

/// What podinit does with entries' output besides passing it through.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// `log_buffer`: bytes of output kept per run of each entry for `podinit logs` (0: none).
    pub buffer: u64,
    /// `log_timestamps`: an RFC 3339 time before each passed-through line.
    pub timestamps: bool,
    /// `log_dir`: write `<dir>/<namespace>_<pod>_<uid>/<entry>/<restart>.log` in the CRI format.
    pub dir: Option<PathBuf>,
    /// `log_max_size`: rotate a log file before it passes this many bytes (kubelet: 10Mi).
    pub max_size: u64,
    /// `log_max_files`: files kept per run, current included (kubelet: 5).
    pub max_files: u32,
}

impl Default for LogSettings {
    fn default() -> LogSettings {
        LogSettings { buffer: 64 * 1024, timestamps: false, dir: None, max_size: 10 << 20, max_files: 5 }
    }
}

impl Entry {
    /// An entry of `kind` with every optional key at its default.
    pub fn defaults(kind: Kind) -> Entry {
        Entry {
            name: String::new(),
            kind,
            command: Vec::new(),
            env: Vec::new(),
            working_dir: None,
            user: None,
            stop_signal: libc::SIGTERM,
            essential: false,
            timeout: None,
            once: kind == Kind::Init,
            wait_for: None,
            startup_probe: None,
            readiness_probe: None,
            liveness_probe: None,
            post_start: None,
            pre_stop: None,
        }
    }
}

/// `$var` when set and not empty, else `default`.
pub(crate) fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}
