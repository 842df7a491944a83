//! The data model of a validated pod: what [`crate::config::parse`] and the
//! manifest reader build and the supervisor runs. Nothing here reads text (see
//! `check.rs`, `k8s/read`); the rules about its values are in `validate.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sys::signals::SigNum;

/// Where status.json, the control socket and the pid file live unless the pod says.
pub(super) const DEFAULT_STATE_DIR: &str = "/run/podinit";
/// Where run-once markers live unless the pod says.
pub(super) const DEFAULT_MARKER_DIR: &str = "/var/lib/podinit";

/// The longest entry name: names become file names (`<name>.done`), so they
/// are kept short and tame, in both file formats.
pub(super) const MAX_ENTRY_NAME: usize = 63;

/// Why `name` cannot name an entry (init step, sidecar, app), or None: the one
/// rule for pod files and manifests alike.
pub(super) fn entry_name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if len > MAX_ENTRY_NAME {
        return Some(format!("name '{name}' is too long ({len} characters, at most {MAX_ENTRY_NAME})"));
    }
    let tame =
        name.chars().enumerate().all(|(i, c)| c.is_ascii_alphanumeric() || (i > 0 && matches!(c, '.' | '_' | '-')));
    (!tame || name.is_empty()).then(|| {
        format!(
            "bad name '{name}': use letters, digits, '.', '_' and '-', starting with a letter or digit \
             (it becomes the file name {name}.done)"
        )
    })
}

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

impl RestartPolicy {
    /// The Kubernetes spelling, the one word both file formats use.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "Always",
            RestartPolicy::OnFailure => "OnFailure",
            RestartPolicy::Never => "Never",
        }
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of Always, OnFailure, Never (case matters, as in Kubernetes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRestartPolicy;

impl std::fmt::Display for BadRestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("expected Always, OnFailure or Never")
    }
}

impl std::str::FromStr for RestartPolicy {
    type Err = BadRestartPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RestartPolicy::Always, RestartPolicy::OnFailure, RestartPolicy::Never]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(BadRestartPolicy)
    }
}

/// How `restart_rules` compares an exit code with its values (Kubernetes
/// `ContainerRestartRuleOnExitCodes.operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCodeOperator {
    /// The rule matches when the exit code is one of the values.
    In,
    /// The rule matches when the exit code is none of the values.
    NotIn,
}

/// One of an entry's `restart_rules` (KEP-5307 `ContainerRestartRule`). Its
/// action is always `Restart`, the only one Kubernetes defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRule {
    /// In or NotIn.
    pub operator: ExitCodeOperator,
    /// The exit codes (at most 255); a death by signal N counts as 128+N.
    pub values: Vec<i32>,
}

impl RestartRule {
    /// Whether an exit with `code` matches the rule.
    pub fn matches(&self, code: i32) -> bool {
        self.values.contains(&code) == (self.operator == ExitCodeOperator::In)
    }
}

/// The CrashLoopBackOff curve: the first restart is immediate, the second
/// waits `initial`, each later one twice the one before, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the second restart (default 10s, the kubelet's).
    pub initial: Duration,
    /// The longest delay (default 300s, the kubelet's).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { initial: Duration::from_secs(10), max: Duration::from_secs(300) }
    }
}

/// A variable read from a file when its entry starts (the manifest's
/// `env[].valueFrom.fileKeyRef`, KEP-3721; in the pod file
/// `env = { NAME = { file = "…", key = "…" } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEnv {
    /// The variable to set.
    pub name: String,
    /// The dotenv file to read.
    pub path: PathBuf,
    /// The key in it.
    pub key: String,
    /// A missing file or key leaves the variable unset instead of failing the start.
    pub optional: bool,
}

/// What an entry of the pod file is; in status.json `init`, `sidecar`, `app`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An `[[init]]` step: runs to completion before the next entry starts.
    Init,
    /// An `[[init]]` entry with `restart = "Always"`: starts in order, then runs beside the apps.
    Sidecar,
    /// An `[[app]]`: started together with the other apps after the init entries, supervised.
    #[default]
    App,
}

impl Kind {
    /// The KIND column's word (and status.json's).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Init => "init",
            Kind::Sidecar => "sidecar",
            Kind::App => "app",
        }
    }
}

/// Which of an entry's probes (and, for the pod machine, an init step's `wait_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// Gates the other probes and, for a sidecar, the next init entry.
    Startup,
    /// Decides Ready.
    Readiness,
    /// A failure restarts the entry.
    Liveness,
    /// An init step's `wait_for`.
    Wait,
}

impl ProbeKind {
    /// The three probes an entry can have, in the order both file formats write them.
    pub const PROBES: [ProbeKind; 3] = [ProbeKind::Startup, ProbeKind::Readiness, ProbeKind::Liveness];

    /// The name in log lines ("readiness probe failed").
    pub fn label(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Wait => "wait",
        }
    }

    /// The pod file's key (`startup_probe`); `wait_for` for a waiter.
    pub fn toml_key(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startup_probe",
            ProbeKind::Readiness => "readiness_probe",
            ProbeKind::Liveness => "liveness_probe",
            ProbeKind::Wait => "wait_for",
        }
    }

    /// The manifest's key (`startupProbe`); a waiter is the `podinit.dev/wait-for` annotation.
    pub fn manifest_key(self) -> &'static str {
        match self {
            ProbeKind::Startup => "startupProbe",
            ProbeKind::Readiness => "readinessProbe",
            ProbeKind::Liveness => "livenessProbe",
            ProbeKind::Wait => "wait-for",
        }
    }
}

/// What a probe does to check its entry.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeAction {
    /// Run this command; exit 0 is success.
    Exec(Vec<String>),
    /// Connect to this `host:port`.
    Tcp(String),
    /// GET this `http://` URL (with these headers); a status of 200-399 is success.
    Http(HttpGet),
    /// The gRPC health check (grpc.health.v1.Health/Check over h2c) at
    /// `host:port` answers SERVING for `service` ("" is the server as a whole).
    Grpc {
        /// `host:port`, as a `tcp` probe's.
        addr: String,
        /// The service name in the HealthCheckRequest.
        service: String,
    },
}

/// An HTTP GET check: a probe's `http` with its `headers`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpGet {
    /// `http://host[:port][/path]`.
    pub url: String,
    /// Extra request headers in order, a name repeated for several values
    /// (Kubernetes' `httpGet.httpHeaders`). `Host` replaces the URL's
    /// authority; a `User-Agent` or `Accept` given empty is not sent.
    pub headers: Vec<(String, String)>,
}

impl From<&str> for HttpGet {
    fn from(url: &str) -> HttpGet {
        HttpGet { url: url.to_string(), headers: Vec::new() }
    }
}

impl From<String> for HttpGet {
    fn from(url: String) -> HttpGet {
        HttpGet { url, headers: Vec::new() }
    }
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

impl Probe {
    /// A probe of `action` with Kubernetes' defaults: no initial delay, every
    /// 10 s, a 1 s timeout, passing on 1 success, failing on 3 failures. Both
    /// readers start from it, so a field a file leaves out means the same in each.
    pub fn new(action: ProbeAction) -> Probe {
        Probe {
            action,
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
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
    /// Init steps and apps: overrides the pod's restart_policy (KEP-5307).
    pub restart_policy: Option<RestartPolicy>,
    /// Init steps and apps: checked in order on each exit, before the policy (KEP-5307).
    pub restart_rules: Vec<RestartRule>,
    /// Sidecars and apps: gets `NOTIFY_SOCKET`; its `READY=1` marks it started and ready.
    pub notify: bool,
    /// dotenv files read at each start, after the pod's env, before `env`.
    pub env_files: Vec<PathBuf>,
    /// Variables read from a file at each start (after `env`).
    pub file_env: Vec<FileEnv>,
    /// Manifests only: what the container runtime sets under the entry's env and
    /// the pod's (`HOSTNAME`, the image's `Env`, `JOB_COMPLETION_INDEX`), in that order.
    pub base_env: Vec<(String, String)>,
    /// Manifests only: what of this entry came from its image's configuration.
    pub from_image: Option<FromImage>,
}

/// What a manifest container took from its image's configuration (`--images`),
/// kept apart so a writer can tell the source's fields from the image's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FromImage {
    /// The image reference as the manifest wrote it.
    pub image: String,
    /// `command` is the image's Entrypoint (the container had no command).
    pub entrypoint: bool,
    /// The arguments are the image's Cmd (the container had neither command nor args).
    pub cmd: bool,
    /// `working_dir` is the image's WorkingDir.
    pub working_dir: bool,
    /// `user` is the image's User.
    pub user: bool,
}

/// A volume of a manifest's pod that podinit makes real when the pod starts
/// (src/pod/volumes.rs): an emptyDir is one directory, the others files.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// `volumes[].name`.
    pub name: String,
    /// What is in it.
    pub content: VolumeContent,
    /// Where the containers mount it.
    pub mounts: Vec<Mount>,
}

/// What a volume holds.
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeContent {
    /// emptyDir, persistentVolumeClaim: one directory that every mount path shows.
    Dir,
    /// hostPath: this path of the machine, shown at every mount path.
    Host {
        /// `hostPath.path`.
        path: PathBuf,
        /// `hostPath.type` ("" for no check).
        kind: String,
    },
    /// Storage only a cluster attaches (csi, nfs, a cloud disk): podinit takes it as
    /// mounted at every mount path already, and checks that it is there.
    Provided {
        /// The volume source's field (`csi`, `nfs`, …), for the error.
        kind: String,
    },
    /// configMap, secret, downwardAPI, projected: these files, written at each mount path.
    Files(Vec<VolumeFile>),
}

/// One file of a configMap, secret, downwardAPI or projected volume.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeFile {
    /// Relative path inside the volume (`items[].path`, else the key).
    pub path: PathBuf,
    /// Its content.
    pub data: Vec<u8>,
    /// Its permission bits (`items[].mode`, else `defaultMode`, else 0644).
    pub mode: u32,
    /// A downwardAPI file whose data is a `$(FIELD)` reference of
    /// [`crate::config::expand::DOWNWARD`] (`$`-escaped otherwise), resolved when
    /// the pod starts, with the same values as the env vars.
    pub downward: bool,
}

/// A `volumeMounts[]` entry.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The container that mounts it.
    pub container: String,
    /// `mountPath`.
    pub path: PathBuf,
    /// `subPath`: only this part of the volume appears at `path`.
    pub sub_path: Option<PathBuf>,
    /// Where in the manifest, for errors at start: "file:line:col: field".
    pub origin: String,
}

/// Where a mount is written does not make it another mount: a manifest and its
/// export (YAML or JSON, other lines) describe the same pod.
impl PartialEq for Mount {
    fn eq(&self, o: &Mount) -> bool {
        (&self.container, &self.path, &self.sub_path) == (&o.container, &o.path, &o.sub_path)
    }
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
    /// dotenv files read at each start of every entry, before `env`.
    pub env_files: Vec<PathBuf>,
    /// The restart back-off curve (default the kubelet's).
    pub backoff: Backoff,
    /// `[[init]]` entries in file order: kind Init, or Sidecar when `restart = "Always"`.
    pub init: Vec<Entry>,
    /// `[[app]]` entries in file order: kind App.
    pub apps: Vec<Entry>,
    /// Manifests only: the volumes made real at start (src/pod/volumes.rs).
    pub volumes: Vec<Volume>,
    /// The Kubernetes manifest the pod was read from, which `podinit export` gives
    /// back (None for a pod file). Not part of equality: the same pod from a pod file.
    pub source: crate::config::k8s::Source,
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
            marker_dir: PathBuf::from(DEFAULT_MARKER_DIR),
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            log_prefix: false,
            logs: LogSettings::default(),
            env: Vec::new(),
            env_files: Vec::new(),
            backoff: Backoff::default(),
            init: Vec::new(),
            apps: Vec::new(),
            volumes: Vec::new(),
            source: Default::default(),
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
            base_env: Vec::new(),
            from_image: None,
            restart_policy: None,
            restart_rules: Vec::new(),
            notify: false,
            env_files: Vec::new(),
            file_env: Vec::new(),
        }
    }

    /// The probe of `kind` (None for [`ProbeKind::Wait`]: that is `wait_for`).
    pub fn probe(&self, kind: ProbeKind) -> Option<&Probe> {
        match kind {
            ProbeKind::Startup => self.startup_probe.as_ref(),
            ProbeKind::Readiness => self.readiness_probe.as_ref(),
            ProbeKind::Liveness => self.liveness_probe.as_ref(),
            ProbeKind::Wait => None,
        }
    }

    /// Where the probe of `kind` goes (`wait_for` has no [`Probe`]: None).
    pub fn probe_slot(&mut self, kind: ProbeKind) -> Option<&mut Option<Probe>> {
        match kind {
            ProbeKind::Startup => Some(&mut self.startup_probe),
            ProbeKind::Readiness => Some(&mut self.readiness_probe),
            ProbeKind::Liveness => Some(&mut self.liveness_probe),
            ProbeKind::Wait => None,
        }
    }
}

impl Entry {
    /// Whether an exit with `code` calls for a restart by the Kubernetes rule
    /// (`ContainerShouldRestart`): the first matching restart rule restarts;
    /// else the entry's own policy, else the pod's. Sidecars always restart;
    /// init steps only on failure (a step that exited 0 is done).
    pub fn should_restart(&self, pod_policy: RestartPolicy, code: i32) -> bool {
        if self.kind == Kind::Sidecar {
            return true;
        }
        if self.kind == Kind::Init && code == 0 {
            return false;
        }
        if self.restart_rules.iter().any(|r| r.matches(code)) {
            return true;
        }
        match self.restart_policy.unwrap_or(pod_policy) {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != 0,
            RestartPolicy::Never => false,
        }
    }
}

/// `$var` when set and not empty, else `default`.
pub(crate) fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}
