//! The pod file (SPEC §4): its data model, the TOML reader and the validator.
//!
//! Reading happens in two steps. The TOML text is first parsed by
//! [`crate::config::tomlparse`] into a small tree that remembers where every key and
//! value came from ([`Val`], [`Key`]); the tree is then checked by hand against
//! the schema. Checking by hand, rather than deriving serde structs, is what
//! lets podinit report *every* problem in a file, each as `FILE:LINE:COL:
//! message`, instead of stopping at the first.

pub mod expand;
pub mod k8s;
pub mod tomlparse;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sys::signals::{self, SigNum};
use tomlparse::{Key, Node, Span, Val};

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
    /// Environment for every process, in file order.
    pub env: Vec<(String, String)>,
    /// `[[init]]` entries in file order: kind Init, or Sidecar when `restart = "Always"`.
    pub init: Vec<Entry>,
    /// `[[app]]` entries in file order: kind App.
    pub apps: Vec<Entry>,
}

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
pub fn default_path() -> PathBuf {
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
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads and validates a pod file; returns every error found (at least one on `Err`).
/// Regular files and pipes (`-c <(...)`) are read; devices and sockets are refused.
pub fn load(path: &Path) -> Result<Pod, Vec<ConfigError>> {
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
    let mut ck = Checker { path, text, errors: Vec::new(), names: Vec::new() };
    let rows = match tomlparse::parse(text) {
        Ok(rows) => rows,
        Err(e) => {
            // A syntax error leaves no tree to check, so it is the only error.
            ck.error(&Some(e.at..e.at), format!("invalid TOML: {}", e.message));
            return Err(ck.errors);
        }
    };
    let pod = ck.pod(&rows);
    if ck.errors.is_empty() {
        Ok(pod)
    } else {
        let mut errors = ck.errors;
        errors.sort_by_key(|e| (e.line, e.col));
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

/// `$var` when set and not empty, else `default`.
fn env_or(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

/// Parses a duration: a sequence of whole numbers each followed by a unit
/// (`ms`, `s`, `m`, `h`), e.g. `500ms`, `30s`, `2m`, `1h`, `1m30s`.
/// The error is the reason, meant to follow the offending text in a message.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a number with a unit: ms, s, m, h";
    // Instants later add durations to now(), which panics on overflow; a century is plenty.
    const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    const TOO_LARGE: &str = "too large: the limit is 100 years";
    if s.starts_with('-') {
        return Err("durations cannot be negative".to_string());
    }
    if s.is_empty() {
        return Err(EXPECTED.to_string());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        // Every split below is at an ASCII digit boundary, so none can panic.
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(EXPECTED.to_string()),
        };
        if number.is_empty() {
            return Err(EXPECTED.to_string());
        }
        // Only digits are left, so parsing fails only on overflow.
        let millis = number.parse::<u64>().ok().and_then(|n| n.checked_mul(millis_per_unit)).ok_or(TOO_LARGE)?;
        total = total.checked_add(Duration::from_millis(millis)).ok_or(TOO_LARGE)?;
        rest = next;
    }
    if total > MAX {
        return Err(TOO_LARGE.to_string());
    }
    Ok(total)
}

// ---------------------------------------------------------------------------
// The TOML tree with positions (built by crate::config::tomlparse).

/// "a string", "an array", … for "found …" in messages.
fn describe(node: &Node) -> &'static str {
    match node {
        Node::Str(_) => "a string",
        Node::Int(_) => "an integer",
        Node::Float => "a float",
        Node::Bool(_) => "a boolean",
        Node::Datetime => "a date-time",
        Node::Array(_) => "an array",
        Node::Table(_) => "a table",
    }
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

// ---------------------------------------------------------------------------
// The schema.

const POD_KEYS: &[&str] = &[
    "name",
    "namespace",
    "restart_policy",
    "termination_grace_period",
    "active_deadline",
    "marker_dir",
    "state_dir",
    "log_prefix",
    "env",
    "init",
    "app",
];

const ANY: &[Kind] = &[Kind::Init, Kind::Sidecar, Kind::App];
const SUPERVISED: &[Kind] = &[Kind::Sidecar, Kind::App];
const NO_PROBES: &str =
    "Init steps have no probes (restart = \"Always\" makes an init entry a sidecar, which can have them)";
const NO_HOOKS: &str =
    "init steps have no hooks (restart = \"Always\" makes an init entry a sidecar, which can have them)";

/// Every key of an entry, the kinds it is valid on and why not on the others.
const ENTRY_KEYS: &[(&str, &[Kind], &str)] = &[
    ("name", ANY, ""),
    ("command", ANY, ""),
    ("env", ANY, ""),
    ("working_dir", ANY, ""),
    ("user", ANY, ""),
    ("stop_signal", ANY, ""),
    (
        "restart",
        &[Kind::Init, Kind::Sidecar],
        "apps follow the pod's restart_policy; restart = \"Always\" on an [[init]] entry makes a sidecar",
    ),
    ("timeout", &[Kind::Init], "only init steps have a timeout"),
    ("once", &[Kind::Init], "only init steps run once"),
    ("wait_for", &[Kind::Init], "only init steps can wait_for"),
    ("essential", &[Kind::App], "only apps can be essential"),
    ("startup_probe", SUPERVISED, NO_PROBES),
    ("readiness_probe", SUPERVISED, NO_PROBES),
    ("liveness_probe", SUPERVISED, NO_PROBES),
    ("post_start", SUPERVISED, NO_HOOKS),
    ("pre_stop", SUPERVISED, NO_HOOKS),
];

const PROBE_KEYS: &[&str] =
    &["exec", "tcp", "http", "initial_delay", "period", "timeout", "success_threshold", "failure_threshold"];
const WAIT_KEYS: &[&str] = &["tcp", "http", "file", "unix", "timeout", "period"];

/// Entry names become file names (`<name>.done`), so they are kept short and tame.
const MAX_NAME_LEN: usize = 63;

/// Which array of tables an entry came from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Init,
    App,
}

impl Section {
    fn header(self) -> &'static str {
        match self {
            Section::Init => "[[init]]",
            Section::App => "[[app]]",
        }
    }

    /// The keys valid somewhere in this section, for "valid keys: …".
    fn keys(self) -> Vec<&'static str> {
        let kinds: &[Kind] = match self {
            Section::Init => &[Kind::Init, Kind::Sidecar],
            Section::App => &[Kind::App],
        };
        ENTRY_KEYS
            .iter()
            .filter(|(_, valid_on, _)| valid_on.iter().any(|k| kinds.contains(k)))
            .map(|(key, ..)| *key)
            .collect()
    }
}

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Init => "init step",
        Kind::Sidecar => "sidecar",
        Kind::App => "app",
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

/// One `key = value` row of a table.
#[derive(Clone, Copy)]
struct Field<'t> {
    key: &'t Key,
    val: &'t Val,
}

impl<'t> Field<'t> {
    fn name(&self) -> &'t str {
        &self.key.name
    }

    /// Where a problem with the value is: the value itself, or its key when the
    /// value has no position (an implicit table).
    fn span(&self) -> Span {
        self.val.span.clone().or_else(|| self.key.span.clone())
    }
}

fn fields(rows: &[(Key, Val)]) -> impl Iterator<Item = Field<'_>> {
    rows.iter().map(|(key, val)| Field { key, val })
}

/// Walks the tree, building the [`Pod`] and collecting every error on the way.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
    /// Entry names seen so far and the line of each, to report duplicates.
    names: Vec<(String, Option<usize>)>,
}

impl Checker<'_> {
    fn position(&self, span: &Span) -> (Option<usize>, Option<usize>) {
        match span {
            Some(r) => {
                let (line, col) = line_col(self.text.as_bytes(), r.start);
                (Some(line), Some(col))
            }
            None => (None, None),
        }
    }

    fn error(&mut self, span: &Span, message: impl AsRef<str>) {
        let (line, col) = self.position(span);
        // One line per error, even when it quotes a value holding a newline.
        let mut one_line = String::new();
        for c in message.as_ref().chars() {
            if c.is_control() {
                one_line.extend(c.escape_debug());
            } else {
                one_line.push(c);
            }
        }
        self.errors.push(ConfigError { path: self.path.to_path_buf(), line, col, message: one_line });
    }

    fn type_error(&mut self, f: Field, expected: &str) {
        let message = format!("'{}' must be {expected}, found {}", f.name(), describe(&f.val.node));
        self.error(&f.span(), message);
    }

    fn unknown_key(&mut self, key: &Key, section: &str, valid: &[&str]) {
        let hint = closest(&key.name, valid).map(|k| format!(", did you mean '{k}'?")).unwrap_or_default();
        let message = format!("unknown key '{}' in {section}{hint} (valid keys: {})", key.name, valid.join(", "));
        self.error(&key.span, message);
    }

    fn pod(&mut self, rows: &[(Key, Val)]) -> Pod {
        let mut pod = Pod {
            path: self.path.to_path_buf(),
            // Under Kubernetes the downward API already names the pod; a pod
            // file that does not say otherwise keeps those names.
            name: env_or("POD_NAME", "pod"),
            namespace: env_or("POD_NAMESPACE", "default"),
            restart_policy: RestartPolicy::Always,
            termination_grace_period: Duration::from_secs(30),
            active_deadline: None,
            marker_dir: PathBuf::from("/var/lib/podinit"),
            state_dir: PathBuf::from("/run/podinit"),
            log_prefix: false,
            env: Vec::new(),
            init: Vec::new(),
            apps: Vec::new(),
        };
        for f in fields(rows) {
            match f.name() {
                "name" => pod.name = self.nonempty(f).unwrap_or(pod.name),
                "namespace" => pod.namespace = self.nonempty(f).unwrap_or(pod.namespace),
                "restart_policy" => pod.restart_policy = self.restart_policy(f).unwrap_or(pod.restart_policy),
                "termination_grace_period" => {
                    pod.termination_grace_period = self.duration(f).unwrap_or(pod.termination_grace_period)
                }
                "active_deadline" => pod.active_deadline = self.period(f),
                "marker_dir" => pod.marker_dir = self.path(f).unwrap_or(pod.marker_dir),
                "state_dir" => pod.state_dir = self.path(f).unwrap_or(pod.state_dir),
                "log_prefix" => pod.log_prefix = self.boolean(f).unwrap_or(false),
                "env" => pod.env = self.env(f),
                "init" => {
                    for (rows, span) in self.entry_tables(f) {
                        pod.init.push(self.entry(Section::Init, rows, span));
                    }
                }
                "app" => {
                    for (rows, span) in self.entry_tables(f) {
                        pod.apps.push(self.entry(Section::App, rows, span));
                    }
                }
                _ => self.unknown_key(f.key, "the pod file", POD_KEYS),
            }
        }
        pod
    }

    fn restart_policy(&mut self, f: Field) -> Option<RestartPolicy> {
        match self.string(f)?.as_str() {
            "Always" => Some(RestartPolicy::Always),
            "OnFailure" => Some(RestartPolicy::OnFailure),
            "Never" => Some(RestartPolicy::Never),
            other => {
                let message = format!("bad restart_policy '{other}' (expected Always, OnFailure or Never)");
                self.error(&f.span(), message);
                None
            }
        }
    }

    /// The tables of `[[init]]` or `[[app]]`, each with where it starts.
    fn entry_tables<'t>(&mut self, f: Field<'t>) -> Vec<(&'t [(Key, Val)], Span)> {
        let items = match &f.val.node {
            Node::Array(items) => items,
            Node::Table(_) => {
                let name = f.name();
                let message = format!("'{name}' must be an array of tables: write [[{name}]], not [{name}]");
                self.error(&f.span(), message);
                return Vec::new();
            }
            _ => {
                self.type_error(f, "an array of tables");
                return Vec::new();
            }
        };
        let mut tables = Vec::new();
        for item in items {
            let span = item.span.clone().or_else(|| f.span());
            match &item.node {
                Node::Table(rows) => tables.push((rows.as_slice(), span)),
                other => {
                    let message = format!("each '{}' entry must be a table, found {}", f.name(), describe(other));
                    self.error(&span, message);
                }
            }
        }
        tables
    }

    fn entry(&mut self, section: Section, rows: &[(Key, Val)], span: Span) -> Entry {
        let kind = self.entry_kind(section, rows);
        // For messages only: the name as written, before it is validated.
        let written_name = rows.iter().find_map(|(key, val)| match &val.node {
            Node::Str(name) if key.name == "name" => Some(name),
            _ => None,
        });
        let label = match written_name {
            Some(name) => format!("{} '{name}'", kind_label(kind)),
            None => kind_label(kind).to_string(),
        };
        let mut entry = Entry::defaults(kind);
        let (mut has_name, mut has_command, mut wait_for_key) = (false, false, None);
        for f in fields(rows) {
            let Some((_, valid_on, why)) = ENTRY_KEYS.iter().find(|(key, ..)| *key == f.name()) else {
                self.unknown_key(f.key, section.header(), &section.keys());
                continue;
            };
            if !valid_on.contains(&kind) {
                self.error(&f.key.span, format!("'{}' is not valid on {label}: {why}", f.name()));
                continue;
            }
            match f.name() {
                "name" => {
                    has_name = true;
                    entry.name = self.entry_name(f).unwrap_or_default();
                }
                "command" => {
                    has_command = true;
                    entry.command = self.command(f).unwrap_or_default();
                }
                "env" => entry.env = self.env(f),
                "working_dir" => entry.working_dir = self.path(f),
                "user" => entry.user = self.user(f),
                "stop_signal" => entry.stop_signal = self.signal(f).unwrap_or(libc::SIGTERM),
                "timeout" => entry.timeout = self.period(f),
                "once" => entry.once = self.boolean(f).unwrap_or(true),
                "wait_for" => {
                    wait_for_key = Some(f.key.span.clone());
                    entry.wait_for = self.wait_for(f);
                }
                "essential" => entry.essential = self.boolean(f).unwrap_or(false),
                "startup_probe" => entry.startup_probe = self.probe(f),
                "readiness_probe" => entry.readiness_probe = self.probe(f),
                "liveness_probe" => entry.liveness_probe = self.probe(f),
                "post_start" => entry.post_start = self.command(f),
                "pre_stop" => entry.pre_stop = self.command(f),
                // "restart" was read by entry_kind.
                _ => {}
            }
        }
        if !has_name {
            self.error(&span, format!("{} entry has no 'name'", section.header()));
        }
        match (kind, has_command, wait_for_key) {
            (Kind::Init, true, Some(key)) => {
                let message = format!("{label} has both 'command' and 'wait_for' (a waiter step runs no command)");
                self.error(&key, message);
            }
            (Kind::Init, false, None) => self.error(&span, format!("{label} has no 'command' or 'wait_for'")),
            (Kind::Sidecar | Kind::App, false, _) => self.error(&span, format!("{label} has no 'command'")),
            _ => {}
        }
        entry
    }

    /// An `[[init]]` entry with a `restart` key is a sidecar; a wrong value is
    /// reported but still taken as meaning one, so its sidecar keys raise no more errors.
    fn entry_kind(&mut self, section: Section, rows: &[(Key, Val)]) -> Kind {
        if section == Section::App {
            return Kind::App;
        }
        let Some(f) = fields(rows).find(|f| f.name() == "restart") else {
            return Kind::Init;
        };
        match self.string(f) {
            Some(value) if value != "Always" => {
                let message = format!(
                    "bad restart '{value}' (the only valid value is \"Always\", which makes an init entry a sidecar)"
                );
                self.error(&f.span(), message);
            }
            _ => {}
        }
        Kind::Sidecar
    }

    fn entry_name(&mut self, f: Field) -> Option<String> {
        let name = self.nonempty(f)?;
        let tame =
            name.chars().enumerate().all(|(i, c)| c.is_ascii_alphanumeric() || (i > 0 && matches!(c, '.' | '_' | '-')));
        let len = name.chars().count();
        if len > MAX_NAME_LEN {
            let message = format!("name '{name}' is too long ({len} characters, at most {MAX_NAME_LEN})");
            self.error(&f.span(), message);
            return None;
        }
        if !tame {
            let message = format!(
                "bad name '{name}': use letters, digits, '.', '_' and '-', starting with a letter or digit \
                 (it becomes the file name {name}.done)"
            );
            self.error(&f.span(), message);
            return None;
        }
        let (line, _) = self.position(&f.span());
        if let Some((_, first)) = self.names.iter().find(|(seen, _)| *seen == name) {
            let first = first.map(|l| format!(" (first used on line {l})")).unwrap_or_default();
            self.error(&f.span(), format!("duplicate name '{name}'{first}"));
            return None;
        }
        self.names.push((name.clone(), line));
        Some(name)
    }

    fn string(&mut self, f: Field) -> Option<String> {
        match &f.val.node {
            // Every string ends up in a C string (argv, env, paths), which cannot hold NUL.
            Node::Str(s) if s.contains('\0') => {
                self.error(&f.span(), format!("'{}' contains a NUL character", f.name()));
                None
            }
            Node::Str(s) => Some(s.clone()),
            _ => {
                self.type_error(f, "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, f: Field) -> Option<String> {
        let s = self.string(f)?;
        if s.is_empty() {
            self.error(&f.span(), format!("'{}' must not be empty", f.name()));
            return None;
        }
        Some(s)
    }

    fn path(&mut self, f: Field) -> Option<PathBuf> {
        self.nonempty(f).map(PathBuf::from)
    }

    fn user(&mut self, f: Field) -> Option<String> {
        let user = self.nonempty(f)?;
        if user.split(':').count() > 2 || user.split(':').any(str::is_empty) {
            self.error(&f.span(), format!("bad user '{user}' (expected a user name, or uid[:gid])"));
            return None;
        }
        Some(user)
    }

    fn boolean(&mut self, f: Field) -> Option<bool> {
        match f.val.node {
            Node::Bool(b) => Some(b),
            _ => {
                self.type_error(f, "true or false");
                None
            }
        }
    }

    fn duration(&mut self, f: Field) -> Option<Duration> {
        let message = match &f.val.node {
            Node::Str(s) => match parse_duration(s) {
                Ok(d) => return Some(d),
                Err(why) => format!("bad duration '{s}' for '{}' ({why})", f.name()),
            },
            Node::Int(n) => {
                format!("bad duration {n} for '{}' (write it as a string with a unit, like \"{n}s\")", f.name())
            }
            _ => {
                self.type_error(f, "a duration like \"30s\"");
                return None;
            }
        };
        self.error(&f.span(), message);
        None
    }

    /// A duration that must not be zero: periods, timeouts, deadlines.
    fn period(&mut self, f: Field) -> Option<Duration> {
        let d = self.duration(f)?;
        if d.is_zero() {
            self.error(&f.span(), format!("'{}' must be longer than 0", f.name()));
            return None;
        }
        Some(d)
    }

    fn threshold(&mut self, f: Field) -> Option<u32> {
        let Node::Int(n) = f.val.node else {
            self.type_error(f, "a whole number");
            return None;
        };
        if let Some(n) = u32::try_from(n).ok().filter(|&n| n >= 1) {
            return Some(n);
        }
        let why = if n < 1 { format!("must be at least 1, found {n}") } else { format!("is too large: {n}") };
        self.error(&f.span(), format!("'{}' {why}", f.name()));
        None
    }

    fn signal(&mut self, f: Field) -> Option<SigNum> {
        let text = match &f.val.node {
            Node::Str(s) => s.clone(),
            Node::Int(n) => n.to_string(),
            _ => {
                self.type_error(f, "a signal name like \"SIGTERM\"");
                return None;
            }
        };
        match signals::parse(&text) {
            Ok(sig) => Some(sig),
            Err(e) => {
                self.error(&f.span(), format!("bad {}: {e}", f.name()));
                None
            }
        }
    }

    /// An argv: a non-empty array of strings whose first one (the program) is not empty.
    fn command(&mut self, f: Field) -> Option<Vec<String>> {
        let Node::Array(items) = &f.val.node else {
            self.type_error(f, "an array of strings, like [\"sh\", \"-c\", \"echo hi\"]");
            return None;
        };
        let mut argv = Vec::with_capacity(items.len());
        for item in items {
            let span = item.span.clone().or_else(|| f.span());
            match &item.node {
                Node::Str(s) if s.contains('\0') => {
                    self.error(&span, format!("'{}' contains a NUL character", f.name()))
                }
                Node::Str(s) => argv.push(s.clone()),
                other => {
                    let message =
                        format!("'{}' must be an array of strings, found {} in it", f.name(), describe(other));
                    self.error(&span, message);
                }
            }
        }
        if argv.len() != items.len() {
            return None;
        }
        match argv.first() {
            None => {
                let message = format!("empty command: '{}' needs at least the program to run", f.name());
                self.error(&f.span(), message);
                None
            }
            Some(program) if program.is_empty() => {
                let span = items.first().and_then(|i| i.span.clone()).or_else(|| f.span());
                self.error(&span, format!("'{}' has an empty program name", f.name()));
                None
            }
            Some(_) => Some(argv),
        }
    }

    fn env(&mut self, f: Field) -> Vec<(String, String)> {
        let Some(rows) = self.table(f, "a table of strings, like { LANG = \"C.UTF-8\" }") else {
            return Vec::new();
        };
        let mut env = Vec::new();
        for var in fields(rows) {
            let name = var.name();
            if name.is_empty() || name.contains(['=', '\0']) {
                let span = var.key.span.clone().or_else(|| f.span());
                let message = format!("bad environment variable name '{name}' (it must be non-empty, without '=')");
                self.error(&span, message);
                continue;
            }
            if let Some(value) = self.string(var) {
                env.push((name.to_string(), value));
            }
        }
        env
    }

    fn table<'t>(&mut self, f: Field<'t>, like: &str) -> Option<&'t [(Key, Val)]> {
        match &f.val.node {
            Node::Table(rows) => Some(rows),
            _ => {
                self.type_error(f, like);
                None
            }
        }
    }

    fn tcp(&mut self, f: Field) -> Option<String> {
        let target = self.string(f)?;
        match check_host_port(&target) {
            Ok(()) => Some(target),
            Err(why) => {
                self.error(&f.span(), format!("bad tcp address '{target}' ({why})"));
                None
            }
        }
    }

    fn http(&mut self, f: Field) -> Option<String> {
        let url = self.string(f)?;
        match check_http_url(&url) {
            Ok(()) => Some(url),
            Err(why) => {
                self.error(&f.span(), format!("bad http URL '{url}' ({why})"));
                None
            }
        }
    }

    fn probe(&mut self, f: Field) -> Option<Probe> {
        let rows = self.table(f, "a table like { tcp = \"127.0.0.1:80\" }")?;
        let (mut action, mut action_key) = (None, None);
        let mut initial_delay = Duration::ZERO;
        let (mut period, mut timeout) = (Duration::from_secs(10), Duration::from_secs(1));
        let (mut success_threshold, mut failure_threshold) = (1, 3);
        for g in fields(rows) {
            let found = match g.name() {
                "exec" => self.command(g).map(ProbeAction::Exec),
                "tcp" => self.tcp(g).map(ProbeAction::Tcp),
                "http" => self.http(g).map(ProbeAction::Http),
                "initial_delay" => {
                    initial_delay = self.duration(g).unwrap_or(initial_delay);
                    continue;
                }
                "period" => {
                    period = self.period(g).unwrap_or(period);
                    continue;
                }
                "timeout" => {
                    timeout = self.period(g).unwrap_or(timeout);
                    continue;
                }
                "success_threshold" => {
                    success_threshold = self.threshold(g).unwrap_or(1);
                    // Kubernetes' rule: liveness and startup probes pass on the first success.
                    if success_threshold != 1 && f.name() != "readiness_probe" {
                        self.error(&g.span(), format!("'success_threshold' must be 1 for a {}", f.name()));
                    }
                    continue;
                }
                "failure_threshold" => {
                    failure_threshold = self.threshold(g).unwrap_or(3);
                    continue;
                }
                _ => {
                    self.unknown_key(g.key, &format!("'{}'", f.name()), PROBE_KEYS);
                    continue;
                }
            };
            if let Some(first) = action_key {
                let message = format!(
                    "'{}' has both '{first}' and '{}': a probe does exactly one of exec, tcp or http",
                    f.name(),
                    g.name()
                );
                self.error(&g.key.span, message);
            } else {
                (action, action_key) = (found, Some(g.name()));
            }
        }
        if action_key.is_none() {
            self.error(&f.span(), format!("'{}' needs one of exec, tcp or http", f.name()));
        }
        Some(Probe { action: action?, initial_delay, period, timeout, success_threshold, failure_threshold })
    }

    fn wait_for(&mut self, f: Field) -> Option<WaitFor> {
        let rows = self.table(f, "a table like { tcp = \"127.0.0.1:5432\" }")?;
        let (mut target, mut target_key) = (None, None);
        let (mut timeout, mut period) = (None, Duration::from_secs(1));
        for g in fields(rows) {
            let found = match g.name() {
                "tcp" => self.tcp(g).map(WaitTarget::Tcp),
                "http" => self.http(g).map(WaitTarget::Http),
                "file" => self.path(g).map(WaitTarget::File),
                "unix" => self.path(g).map(WaitTarget::Unix),
                "timeout" => {
                    timeout = self.period(g);
                    continue;
                }
                "period" => {
                    period = self.period(g).unwrap_or(period);
                    continue;
                }
                _ => {
                    self.unknown_key(g.key, "'wait_for'", WAIT_KEYS);
                    continue;
                }
            };
            if let Some(first) = target_key {
                let message = format!(
                    "'wait_for' has both '{first}' and '{}': it waits for exactly one of tcp, http, file or unix",
                    g.name()
                );
                self.error(&g.key.span, message);
            } else {
                (target, target_key) = (found, Some(g.name()));
            }
        }
        if target_key.is_none() {
            self.error(&f.span(), "'wait_for' needs one of tcp, http, file or unix");
        }
        Some(WaitFor { target: target?, timeout, period })
    }
}

/// Checks `host:port` (an IPv6 host in brackets, `[::1]:80`).
fn check_host_port(s: &str) -> Result<(), String> {
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err("expected host:port, like \"127.0.0.1:80\"".to_string());
    };
    check_host(host)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("port '{port}' is not a number from 1 to 65535")),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.is_empty() {
        return Err("the host is missing".to_string());
    }
    if bare.len() == host.len() && host.contains(':') {
        return Err("an IPv6 host needs brackets, like [::1]:80".to_string());
    }
    if host.chars().any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#')) {
        return Err(format!("'{host}' is not a host name or address"));
    }
    Ok(())
}

/// Checks `http://host[:port][/path]`: the probe speaks plain HTTP only.
fn check_http_url(url: &str) -> Result<(), String> {
    if url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        return Err("https is not supported: use http://, or an exec probe that runs curl".to_string());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("expected a URL like http://127.0.0.1:8080/healthz".to_string());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // A port is present when a ':' follows the (possibly bracketed) host.
    let has_port = authority.rsplit_once(':').is_some_and(|(host, _)| !host.starts_with('[') || host.ends_with(']'));
    if has_port {
        check_host_port(authority)
    } else {
        check_host(authority)
    }
}

/// The valid key closest to a misspelt one, if any is close enough to suggest.
fn closest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_ascii_lowercase(), c), *c))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(text: &str) -> Pod {
        match parse(Path::new("pod.toml"), text) {
            Ok(pod) => pod,
            Err(errors) => panic!("unexpected errors: {errors:#?}"),
        }
    }

    fn errors(text: &str) -> Vec<String> {
        match parse(Path::new("pod.toml"), text) {
            Ok(pod) => panic!("parsed, expected errors: {pod:#?}"),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    const APP: &str = "[[app]]\nname = \"app\"\ncommand = [\"true\"]\n";

    /// The example of SPEC §4, verbatim.
    const SPEC_EXAMPLE: &str = r#"name = "web"                      # exported to every process as POD_NAME
namespace = "demo"                # POD_NAMESPACE
restart_policy = "Always"         # Always | OnFailure | Never (Kubernetes meaning)
termination_grace_period = "30s"  # default 30s
active_deadline = "1h"            # optional: pod fails with DeadlineExceeded after this
marker_dir = "/var/lib/podinit"   # where run-once markers live (default shown)
state_dir = "/run/podinit"        # status.json and the control socket/pid (default shown)

[env]                             # for every process; per-process env overrides
LANG = "C.UTF-8"

[[init]]                          # run in file order, one at a time
name = "download"
command = ["wget", "-O", "/data/index.html", "$(SOURCE_URL)"]
env = { SOURCE_URL = "http://example.org/" }
timeout = "60s"                   # a step that runs longer is killed and has failed
once = true                       # default true: skip on later starts if its marker matches

[[init]]
name = "wait-db"
wait_for = { tcp = "127.0.0.1:5432", timeout = "2m" }  # built-in waiter: tcp, http, file, unix

[[init]]
name = "log-shipper"              # a sidecar: an init entry with restart = "Always"
restart = "Always"
command = ["/bin/shipper"]
startup_probe = { exec = ["test", "-S", "/run/shipper.sock"] }

[[app]]                           # Kubernetes "containers": started together, supervised
name = "nginx"
command = ["nginx", "-g", "daemon off;"]
working_dir = "/srv"
user = "www-data"                 # name or uid[:gid]; resolved from /etc/passwd, /etc/group
stop_signal = "SIGQUIT"           # default SIGTERM
essential = true                  # its final exit stops the pod with its status
readiness_probe = { http = "http://127.0.0.1:80/healthz", period = "5s" }
liveness_probe  = { tcp = "127.0.0.1:80", failure_threshold = 3 }
post_start = ["sh", "-c", "echo started"]
pre_stop = ["nginx", "-s", "quit"]
"#;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn probe(action: ProbeAction) -> Probe {
        Probe {
            action,
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }

    #[test]
    fn spec_example_parses_to_the_expected_pod() {
        let download = Entry {
            name: "download".into(),
            command: strings(&["wget", "-O", "/data/index.html", "$(SOURCE_URL)"]),
            env: vec![("SOURCE_URL".into(), "http://example.org/".into())],
            timeout: Some(Duration::from_secs(60)),
            ..Entry::defaults(Kind::Init)
        };
        let wait_db = Entry {
            name: "wait-db".into(),
            wait_for: Some(WaitFor {
                target: WaitTarget::Tcp("127.0.0.1:5432".into()),
                timeout: Some(Duration::from_secs(120)),
                period: Duration::from_secs(1),
            }),
            ..Entry::defaults(Kind::Init)
        };
        let shipper = Entry {
            name: "log-shipper".into(),
            command: strings(&["/bin/shipper"]),
            startup_probe: Some(probe(ProbeAction::Exec(strings(&["test", "-S", "/run/shipper.sock"])))),
            ..Entry::defaults(Kind::Sidecar)
        };
        let nginx = Entry {
            name: "nginx".into(),
            command: strings(&["nginx", "-g", "daemon off;"]),
            working_dir: Some("/srv".into()),
            user: Some("www-data".into()),
            stop_signal: libc::SIGQUIT,
            essential: true,
            readiness_probe: Some(Probe {
                period: Duration::from_secs(5),
                ..probe(ProbeAction::Http("http://127.0.0.1:80/healthz".into()))
            }),
            liveness_probe: Some(probe(ProbeAction::Tcp("127.0.0.1:80".into()))),
            post_start: Some(strings(&["sh", "-c", "echo started"])),
            pre_stop: Some(strings(&["nginx", "-s", "quit"])),
            ..Entry::defaults(Kind::App)
        };
        let expected = Pod {
            path: "pod.toml".into(),
            name: "web".into(),
            namespace: "demo".into(),
            restart_policy: RestartPolicy::Always,
            termination_grace_period: Duration::from_secs(30),
            active_deadline: Some(Duration::from_secs(3600)),
            marker_dir: "/var/lib/podinit".into(),
            state_dir: "/run/podinit".into(),
            log_prefix: false,
            env: vec![("LANG".into(), "C.UTF-8".into())],
            init: vec![download, wait_db, shipper],
            apps: vec![nginx],
        };
        assert_eq!(pod(SPEC_EXAMPLE), expected);
    }

    #[test]
    fn defaults() {
        let p = pod(APP);
        assert_eq!(p.name, "pod");
        assert_eq!(p.namespace, "default");
        assert_eq!(p.restart_policy, RestartPolicy::Always);
        assert_eq!(p.termination_grace_period, Duration::from_secs(30));
        assert_eq!(p.active_deadline, None);
        assert_eq!(p.marker_dir, PathBuf::from("/var/lib/podinit"));
        assert_eq!(p.state_dir, PathBuf::from("/run/podinit"));
        assert!(!p.log_prefix);
        assert!(p.env.is_empty() && p.init.is_empty());
        let app = &p.apps[0];
        assert_eq!((app.kind, app.stop_signal, app.essential, app.once), (Kind::App, libc::SIGTERM, false, false));
        assert_eq!((app.timeout, app.user.clone(), app.working_dir.clone()), (None, None, None));
        // An empty file is a valid pod with nothing in it.
        assert_eq!(pod("").apps, vec![]);
    }

    #[test]
    fn sidecar_detection_and_once_defaults() {
        let p = pod(r#"
[[init]]
name = "step"
command = ["true"]
[[init]]
name = "side"
restart = "Always"
command = ["sleep", "inf"]
readiness_probe = { tcp = "[::1]:8080" }
[[init]]
name = "again"
command = ["true"]
once = false
"#);
        let kinds: Vec<_> = p.init.iter().map(|e| (e.name.as_str(), e.kind, e.once)).collect();
        assert_eq!(kinds, [("step", Kind::Init, true), ("side", Kind::Sidecar, false), ("again", Kind::Init, false)]);
        assert_eq!(p.init[1].readiness_probe.as_ref().map(|p| &p.action), Some(&ProbeAction::Tcp("[::1]:8080".into())));
    }

    #[test]
    fn top_level_keys_env_order_and_waiters() {
        let p = pod(r#"
restart_policy = "OnFailure"
termination_grace_period = "0s"
log_prefix = true
marker_dir = "/tmp/m"
state_dir = "/tmp/s"
env.ZED = "1"
env.ALPHA = "2"
env.MID = "3"

[[init]]
name = "f"
wait_for = { file = "/tmp/ready", period = "250ms" }
[[init]]
name = "u"
wait_for = { unix = "/run/db.sock" }
[[init]]
name = "h"
wait_for = { http = "http://localhost/health?x=1" }
"#);
        assert_eq!(p.restart_policy, RestartPolicy::OnFailure);
        assert_eq!(p.termination_grace_period, Duration::ZERO);
        assert!(p.log_prefix);
        assert_eq!((p.marker_dir, p.state_dir), (PathBuf::from("/tmp/m"), PathBuf::from("/tmp/s")));
        let names: Vec<_> = p.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ZED", "ALPHA", "MID"]);
        let targets: Vec<_> = p.init.iter().filter_map(|e| e.wait_for.clone()).map(|w| w.target).collect();
        assert_eq!(
            targets,
            [
                WaitTarget::File("/tmp/ready".into()),
                WaitTarget::Unix("/run/db.sock".into()),
                WaitTarget::Http("http://localhost/health?x=1".into())
            ]
        );
        assert_eq!(p.init[0].wait_for.as_ref().map(|w| w.period), Some(Duration::from_millis(250)));
        assert!(p.init.iter().all(|e| e.command.is_empty()));
    }

    /// (pod file, "LINE:COL", a phrase of the message at that position)
    #[rustfmt::skip]
    const BAD: &[(&str, &str, &str)] = &[
        ("[[init]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"10x\"\n", "4:11", "bad duration '10x' for 'timeout' (expected a number with a unit: ms, s, m, h)"),
        ("name = \"p\"\ncolour = \"blue\"\n", "2:1", "unknown key 'colour' in the pod file (valid keys: name, namespace"),
        ("[[app]]\nname = \"a\"\ncomand = [\"x\"]\n", "3:1", "unknown key 'comand' in [[app]], did you mean 'command'?"),
        ("[[init]]\nname = \"a\"\ncommand = [\"x\"]\n[[app]]\nname = \"a\"\ncommand = [\"y\"]\n", "5:8", "duplicate name 'a' (first used on line 2)"),
        ("[[app]]\nname = \"a\"\ncommand = []\n", "3:11", "empty command"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nstop_signal = \"SIGFOO\"\n", "4:15", "bad stop_signal: unknown signal 'SIGFOO'"),
        ("restart_policy = \"always\"\n", "1:18", "bad restart_policy 'always' (expected Always, OnFailure or Never)"),
        ("name = \"a\"\n[[app]\n", "2:6", "invalid TOML: invalid table header"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nessential = \"yes\"\n", "4:13", "'essential' must be true or false, found a string"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"1s\"\n", "4:1", "'timeout' is not valid on app 'a': only init steps have a timeout"),
        ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nessential = true\n", "4:1", "'essential' is not valid on init step 'i': only apps"),
        ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nliveness_probe = { tcp = \"h:1\" }\n", "4:1", "Init steps have no probes"),
        ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\npre_stop = [\"x\"]\n", "4:1", "init steps have no hooks"),
        (APP_WITH_PROBE_HTTPS, "4:28", "https is not supported"),
        ("[[init]]\nname = \"w\"\nwait_for = { tcp = \"db\" }\n", "3:20", "bad tcp address 'db' (expected host:port"),
        ("[[init]]\nname = \"w\"\nwait_for = { tcp = \"db:0\" }\n", "3:20", "port '0' is not a number from 1 to 65535"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nliveness_probe = { tcp = \"h:1\", failure_threshold = 0 }\n", "4:53", "'failure_threshold' must be at least 1, found 0"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { tcp = \"h:1\", period = \"0s\" }\n", "4:43", "'period' must be longer than 0"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { exec = [\"x\"], tcp = \"h:1\" }\n", "4:35", "has both 'exec' and 'tcp'"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { period = \"5s\" }\n", "4:19", "'readiness_probe' needs one of exec, tcp or http"),
        ("[[init]]\nname = \"i\"\n", "1:1", "init step 'i' has no 'command' or 'wait_for'"),
        ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nwait_for = { file = \"/f\" }\n", "4:1", "has both 'command' and 'wait_for'"),
        ("[[app]]\nname = \"web/1\"\ncommand = [\"x\"]\n", "2:8", "bad name 'web/1'"),
        ("[[app]]\nname = \"-x\"\ncommand = [\"x\"]\n", "2:8", "starting with a letter or digit"),
        (APP_WITH_LONG_NAME, "2:8", "is too long (64 characters, at most 63)"),
        ("x = 1\n\n[[app]]\ncommand = [\"x\"]\n", "3:1", "[[app]] entry has no 'name'"),
        ("[init]\nname = \"i\"\n", "1:1", "'init' must be an array of tables: write [[init]], not [init]"),
        ("[[init]]\nname = \"s\"\nrestart = \"OnFailure\"\ncommand = [\"x\"]\n", "3:11", "bad restart 'OnFailure' (the only valid value is \"Always\""),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nrestart = \"Always\"\n", "4:1", "'restart' is not valid on app 'a'"),
        ("termination_grace_period = 30\n", "1:28", "bad duration 30 for 'termination_grace_period' (write it as a string with a unit, like \"30s\")"),
        ("active_deadline = \"-5m\"\n", "1:19", "durations cannot be negative"),
        ("[env]\nLANG = \"C\"\nPORT = 8080\n", "3:8", "'PORT' must be a string, found an integer"),
        ("[env]\n\"A=B\" = \"x\"\n", "2:1", "bad environment variable name 'A=B'"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { tcp = \"h:1\", perod = \"1s\" }\n", "4:34", "unknown key 'perod' in 'readiness_probe', did you mean 'period'?"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nstartup_probe = { tcp = \"h:1\", success_threshold = 2 }\n", "4:52", "'success_threshold' must be 1 for a startup_probe"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\", 2]\n", "3:17", "'command' must be an array of strings, found an integer in it"),
        ("[[app]]\nname = \"a\"\ncommand = \"nginx -g\"\n", "3:11", "'command' must be an array of strings"),
        ("[[app]]\nname = 1979-05-27\ncommand = [\"x\"]\n", "2:8", "'name' must be a string, found a date-time"),
        ("[[init]]\nname = \"s\"\nrestart = \"Always\"\n", "1:1", "sidecar 's' has no 'command'"),
        ("[[init]]\nname = \"s\"\nrestart = \"Always\"\ncommand = [\"x\"]\ntimeout = \"1s\"\n", "5:1", "'timeout' is not valid on sidecar 's'"),
        ("[[init]]\nname = \"w\"\nwait_for = { dns = \"x\" }\n", "3:14", "unknown key 'dns' in 'wait_for'"),
        ("[[init]]\nname = \"w\"\nwait_for = { dns = \"x\" }\n", "3:12", "'wait_for' needs one of tcp, http, file or unix"),
        ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nuser = \"1000:\"\n", "4:8", "bad user '1000:'"),
        ("[[app]]\nname = \"a\"\ncommand = [\"\"]\n", "3:12", "'command' has an empty program name"),
        // Columns count characters, not bytes.
        ("env = { \"É\" = \"é\", X = true }\n", "1:24", "'X' must be a string, found a boolean"),
        ("namespace = \"\"\n", "1:13", "'namespace' must not be empty"),
        // Messages stay on one line whatever the value holds.
        ("[[app]]\nname = \"a\\nb\\tc\"\ncommand = [\"x\"]\n", "2:8", "bad name 'a\\nb\\tc'"),
        ("app = 3\n", "1:7", "'app' must be an array of tables, found an integer"),
    ];
    const APP_WITH_PROBE_HTTPS: &str =
        "[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"https://h/\" }\n";
    const APP_WITH_LONG_NAME: &str =
        "[[app]]\nname = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\ncommand = [\"x\"]\n";

    #[test]
    fn bad_inputs_name_line_column_and_problem() {
        let mut misses = Vec::new();
        for (text, at, phrase) in BAD {
            let errors = errors(text);
            let prefix = format!("pod.toml:{at}: ");
            if !errors.iter().any(|e| e.starts_with(&prefix) && e.contains(phrase)) {
                misses.push(format!("want {prefix}…{phrase}… for\n{text}got {errors:#?}"));
            }
        }
        assert!(misses.is_empty(), "{}", misses.join("\n\n"));
    }

    #[test]
    fn every_error_is_collected_in_file_order() {
        let errors = errors(
            "name = 1\n[[init]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"1x\"\n\
             [[app]]\nname = \"a\"\ncommand = [\"x\"]\nstop_signal = \"NOPE\"\nfoo = 1\n\
             [[app]]\nname = \"a\"\ncommand = []\n",
        );
        let positions: Vec<_> = errors.iter().map(|e| e.split(": ").next().unwrap_or_default()).collect();
        assert_eq!(
            positions,
            [
                "pod.toml:1:8",
                "pod.toml:5:11",
                "pod.toml:7:8",
                "pod.toml:9:15",
                "pod.toml:10:1",
                "pod.toml:12:8",
                "pod.toml:13:11"
            ],
            "{errors:#?}"
        );
    }

    #[test]
    fn error_display() {
        let mut e = ConfigError { path: "p.toml".into(), line: Some(3), col: Some(7), message: "bad".into() };
        assert_eq!(e.to_string(), "p.toml:3:7: bad");
        (e.line, e.col) = (None, None);
        assert_eq!(e.to_string(), "p.toml: bad");
    }

    #[test]
    fn load_reports_unreadable_and_non_utf8_files() {
        let missing = Path::new("/nonexistent/podinit/pod.toml");
        let errors = load(missing).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), "/nonexistent/podinit/pod.toml: cannot read: No such file or directory");

        let path = std::env::temp_dir().join(format!("podinit-config-test-{}.toml", std::process::id()));
        std::fs::write(&path, b"name = \"ok\"\nnamespace = \"\xff\"\n").unwrap();
        let errors = load(&path).unwrap_err();
        std::fs::write(&path, APP).unwrap();
        let loaded = load(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!((errors[0].line, errors[0].col), (Some(2), Some(14)));
        assert!(errors[0].message.contains("UTF-8"));
        assert_eq!(loaded.map(|p| p.path), Ok(path));
    }

    #[test]
    fn load_refuses_devices_and_huge_files() {
        // Found by the hardening suite: `-c /dev/zero` used to read until memory ran out.
        let errors = load(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(errors[0].to_string(), "/dev/zero: cannot read: it is a character device, not a file");
        let path = std::env::temp_dir().join(format!("podinit-config-big-{}.toml", std::process::id()));
        let mut big = b"# ".to_vec();
        big.resize(MAX_FILE_BYTES as usize + 1, b'x');
        std::fs::write(&path, &big).unwrap();
        let too_big = load(&path);
        big.truncate(MAX_FILE_BYTES as usize);
        std::fs::write(&path, &big).unwrap();
        let just_fits = load(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(too_big.unwrap_err()[0].message, "cannot read: larger than 1 MiB; a pod file is a few kB");
        assert!(just_fits.is_ok(), "{just_fits:?}");
        // A directory still says so.
        let dir = load(Path::new("/")).unwrap_err();
        assert_eq!(dir[0].to_string(), "/: cannot read: Is a directory");
    }

    #[test]
    fn default_path_prefers_a_non_empty_variable() {
        assert_eq!(default_path_from(None), PathBuf::from("/etc/podinit/pod.toml"));
        assert_eq!(default_path_from(Some("".into())), PathBuf::from("/etc/podinit/pod.toml"));
        assert_eq!(default_path_from(Some("/x.toml".into())), PathBuf::from("/x.toml"));
    }

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("500ms", ms(500)),
            ("30s", ms(30_000)),
            ("2m", ms(120_000)),
            ("1h", ms(3_600_000)),
            ("1m30s", ms(90_000)),
            ("1h2m3s4ms", ms(3_723_004)),
            ("0s", ms(0)),
            ("007s", ms(7_000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for text in ["", "10", "10x", "s", "1.5s", " 1s", "1s ", "1 s", "1S", "ms", "1sm", "1µs", "10m-5s"] {
            assert!(parse_duration(text).unwrap_err().contains("expected a number with a unit"), "{text:?}");
        }
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        for text in ["99999999999999999999s", "18446744073709551615h", "876001h", "876000h1ms"] {
            assert!(parse_duration(text).unwrap_err().contains("too large"), "{text}");
        }
        assert!(parse_duration("876000h").is_ok());
    }

    #[test]
    fn host_port_and_url_checks() {
        for ok in ["127.0.0.1:80", "db:5432", "[::1]:65535", "a.b-c:1"] {
            assert_eq!(check_host_port(ok), Ok(()), "{ok}");
        }
        for bad in ["db", ":80", "db:", "db:x", "db:65536", "::1:80", "[]:80", "a b:1"] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
        for ok in ["http://h", "http://h/", "http://h:8080/x?y#z", "http://[::1]/", "http://[::1]:81"] {
            assert_eq!(check_http_url(ok), Ok(()), "{ok}");
        }
        for bad in
            ["https://h/", "HTTPS://h", "ftp://h", "h:80", "http://", "http://:80/", "http://h:0/", "http://u@h/"]
        {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("comand", POD_KEYS), None);
        assert_eq!(closest("Name", POD_KEYS), Some("name"));
        assert_eq!(closest("restartPolicy", POD_KEYS), Some("restart_policy"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    /// A small deterministic fuzz: no prefix or single-character mutation of a
    /// full pod file may panic, and every failure must carry at least one error.
    #[test]
    fn never_panics_on_mangled_input() {
        // Every feature of the pod file, without the example's comments, to keep it quick.
        let text = r#"name = "w"
termination_grace_period = "1m30s"
env = { A = "1" }
[[init]]
name = "i"
command = ["x", "$(A)"]
timeout = "5s"
[[init]]
name = "w"
wait_for = { http = "http://[::1]:8/", timeout = "1s", period = "1ms" }
[[init]]
name = "s"
restart = "Always"
command = ["y"]
startup_probe = { exec = ["t"], initial_delay = "1s" }
[[app]]
name = "a"
command = ["z"]
env.B = "2"
stop_signal = 3
essential = true
liveness_probe = { tcp = "h:2", success_threshold = 1, failure_threshold = 9 }
pre_stop = ["q"]
[app.readiness_probe]
http = "http://h/"
"#;
        assert!(parse(Path::new("f"), text).is_ok());
        let check = |t: &str| {
            if let Err(errors) = parse(Path::new("f"), t) {
                assert!(!errors.is_empty());
            }
        };
        for (i, _) in text.char_indices() {
            check(&text[..i]);
            for c in ['"', '[', ']', '{', '=', '\n', '1', 'é'] {
                let mut t = text.to_string();
                t.replace_range(i..i + text[i..].chars().next().map_or(0, char::len_utf8), &c.to_string());
                check(&t);
            }
        }
    }

    /// The sample bad pod files under tests/pods/bad, which the shell tests run
    /// through `podinit check`, each fail with the text their first line expects.
    #[test]
    fn sample_bad_files_fail_as_they_expect() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pods/bad");
        let mut seen = 0;
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension() != Some(std::ffi::OsStr::new("toml")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let expect = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap();
            let errors: Vec<String> = load(&path).unwrap_err().iter().map(ToString::to_string).collect();
            assert!(errors.iter().any(|e| e.contains(expect)), "{}: want {expect:?}, got {errors:#?}", path.display());
            seen += 1;
        }
        assert!(seen >= 15, "only {seen} sample files");
    }
}
