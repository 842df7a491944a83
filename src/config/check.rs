//! The pod file's reader: walks the spanned TOML tree by hand against the pod
//! file schema, building the [`Pod`] and collecting every problem of the
//! format on the way (types, durations, sizes, signals, unknown keys), with
//! where each field was written; then places the problems `validate.rs` finds
//! in the model at those places.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeValue;

use super::document::{self, describe, Key, Table, Value};
use super::validate::{self, Field, FieldRef, Format, ProbeField, Subject};
use super::ProbeKind;
use super::{check_header_name, WaitFor, WaitTarget};
use super::{parse_duration, ConfigError, Entry, Kind, Pod, Probe, ProbeAction, RestartPolicy};
use super::{Backoff, ExitCodeOperator, FileEnv, RestartRule};
use crate::config::suggest::closest;
use crate::sys::signals::{self, SigNum};

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
    "log_buffer",
    "log_timestamps",
    "log_dir",
    "log_max_size",
    "log_max_files",
    "backoff",
    "env_file",
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
        "an app's own policy is restart_policy; restart = \"Always\" on an [[init]] entry makes a sidecar",
    ),
    ("restart_policy", &[Kind::Init, Kind::App], "a sidecar always restarts"),
    ("restart_rules", &[Kind::Init, Kind::App], "a sidecar always restarts"),
    ("notify", SUPERVISED, "an init step is done when it exits 0; notify is for sidecars and apps"),
    ("env_file", ANY, ""),
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

const PROBE_KEYS: &[&str] = &[
    "exec",
    "tcp",
    "http",
    "grpc",
    "headers",
    "service",
    "initial_delay",
    "period",
    "timeout",
    "success_threshold",
    "failure_threshold",
];
const WAIT_KEYS: &[&str] = &["tcp", "http", "file", "unix", "timeout", "period"];
const BACKOFF_KEYS: &[&str] = &["initial", "max"];
const RULE_KEYS: &[&str] = &["action", "exit_codes"];
const EXIT_CODES_KEYS: &[&str] = &["operator", "values"];
const FILE_REF_KEYS: &[&str] = &["file", "key", "optional"];
/// Variables read from a file, each with where it is written.
type FileVars = Vec<(FileEnv, usize)>;
/// Kubernetes' limits on restartPolicyRules (KEP-5307).
const MAX_RULES: usize = 20;
const MAX_RULE_VALUES: usize = 255;

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

/// One `key = value` row of a table.
#[derive(Clone, Copy)]
struct Row<'t> {
    key: &'t Key<'t>,
    val: &'t Value<'t>,
}

impl<'t> Row<'t> {
    fn name(&self) -> &'t str {
        self.key.get_ref()
    }

    fn value(&self) -> &'t DeValue<'t> {
        self.val.get_ref()
    }

    /// Where a problem with the value is: the value itself (a table only
    /// implied by a dotted key or header spans that key).
    fn at(&self) -> usize {
        self.val.span().start
    }

    /// Where the key is, for problems with the key rather than its value.
    fn key_at(&self) -> usize {
        self.key.span().start
    }
}

/// The rows of `table` in file order: the crate's tables iterate in key order,
/// but messages, `env` and the entries follow the file.
fn fields<'t>(table: &'t Table<'t>) -> Vec<Row<'t>> {
    let mut rows: Vec<Row<'t>> = table.iter().map(|(key, val)| Row { key, val }).collect();
    rows.sort_by_key(|f| f.key.span().start);
    rows
}

/// Walks the tree, building the [`Pod`] and collecting every error on the way.
pub(super) struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    /// Every problem found so far, in the order found, each with its byte offset.
    errors: Vec<(Option<usize>, String)>,
    /// Where each field the model's rules may fault was written (`validate.rs`).
    origins: Origins,
    /// The pod or the entry being read, for `origins`.
    subject: Subject,
    /// The entries in the order they were read: `[[init]]` and `[[app]]` in the
    /// order their arrays start in the file, for which of two equal names is first.
    read: Vec<Subject>,
    /// Offsets of the text's newlines, once a duplicate name needs a line number.
    newlines: Option<Vec<usize>>,
}

/// Where each field was written: the pod's own fields, then one short list per
/// init entry and per app. A lookup goes straight to its subject's list, so the
/// ~30,000 entries of a 1 MiB file cost no search across entries.
#[derive(Default)]
struct Origins {
    pod: Vec<(Field, usize)>,
    init: Vec<Vec<(Field, usize)>>,
    apps: Vec<Vec<(Field, usize)>>,
}

impl Origins {
    /// Records that `at` was written at byte `offset`; the first record of a field stands.
    fn record(&mut self, at: FieldRef, offset: usize) {
        let list = match at.of {
            Subject::Pod => &mut self.pod,
            Subject::Init(i) => Self::slot(&mut self.init, i),
            Subject::App(i) => Self::slot(&mut self.apps, i),
        };
        if !list.iter().any(|(f, _)| *f == at.field) {
            list.push((at.field, offset));
        }
    }

    /// Entry `i`'s list, made (with any before it) on its first field.
    fn slot(lists: &mut Vec<Vec<(Field, usize)>>, i: usize) -> &mut Vec<(Field, usize)> {
        if lists.len() <= i {
            lists.resize_with(i + 1, Vec::new);
        }
        &mut lists[i]
    }

    /// Where `at` was written, if it was.
    fn get(&self, at: FieldRef) -> Option<usize> {
        let list = match at.of {
            Subject::Pod => Some(&self.pod),
            Subject::Init(i) => self.init.get(i),
            Subject::App(i) => self.apps.get(i),
        }?;
        list.iter().find(|(f, _)| *f == at.field).map(|&(_, offset)| offset)
    }
}

impl<'a> Checker<'a> {
    /// A checker of `text`, the pod file at `path`, with nothing found yet.
    pub(super) fn new(path: &'a Path, text: &'a str) -> Checker<'a> {
        Checker {
            path,
            text,
            errors: Vec::new(),
            origins: Origins::default(),
            subject: Subject::Pod,
            read: Vec::new(),
            newlines: None,
        }
    }

    /// Records a problem at byte `at` of the text, or without a position.
    pub(super) fn error(&mut self, at: Option<usize>, message: impl AsRef<str>) {
        // One line per error, even when it quotes a value holding a newline.
        let mut one_line = String::new();
        for c in message.as_ref().chars() {
            if c.is_control() {
                one_line.extend(c.escape_debug());
            } else {
                one_line.push(c);
            }
        }
        self.errors.push((at, one_line));
    }

    /// The 1-based line of byte `at`.
    fn line_of(&mut self, at: usize) -> usize {
        let text = self.text;
        let newlines = self
            .newlines
            .get_or_insert_with(|| text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i).collect());
        newlines.partition_point(|&nl| nl < at) + 1
    }

    /// Every problem recorded, in file order (those without a position first).
    ///
    /// Offsets become lines and columns here, in one pass over the text: one
    /// search from the start per error would make a 1 MiB file of 100,000
    /// mistakes take minutes.
    pub(super) fn finish(self) -> Vec<ConfigError> {
        let mut errors = self.errors;
        errors.sort_by_key(|&(at, _)| at);
        let bytes = self.text.as_bytes();
        let (mut pos, mut line, mut col) = (0, 1, 1);
        let mut done = Vec::with_capacity(errors.len());
        for (at, message) in errors {
            let (line, col) = match at {
                Some(at) => {
                    for &b in bytes.get(pos..at.min(bytes.len())).unwrap_or_default() {
                        if b == b'\n' {
                            (line, col) = (line + 1, 1);
                        } else if b & 0xC0 != 0x80 {
                            // Columns count characters: UTF-8 continuation bytes do not count.
                            col += 1;
                        }
                    }
                    pos = pos.max(at.min(bytes.len()));
                    (Some(line), Some(col))
                }
                None => (None, None),
            };
            done.push(ConfigError { path: self.path.to_path_buf(), line, col, message });
        }
        done
    }

    /// Records that `field` of the subject being read was written at byte `at`.
    fn origin(&mut self, field: Field, at: usize) {
        self.origins.record(FieldRef { of: self.subject, field }, at);
    }

    /// Where `at` was written: the field, else its entry (a field left to its
    /// default). None for the pod's own fields when the file does not set them:
    /// a default comes from the environment (the downward API), not the file.
    fn origin_of(&self, at: FieldRef) -> Option<usize> {
        let find = |r: FieldRef| self.origins.get(r);
        find(at).or_else(|| match at.of {
            Subject::Pod => None,
            of => find(FieldRef { of, field: Field::Whole }),
        })
    }

    /// Checks the model's rules (`validate.rs`) on `pod`, each problem at where its field was written.
    pub(super) fn validate(&mut self, pod: &Pod) {
        // In the order the entries were read: of two equal names, the one written first is first.
        for problem in validate::validate(pod, Format::Toml, Some(&self.read)) {
            let Some(at) = self.origin_of(problem.at) else { continue };
            let mut message = problem.message;
            if let Some(first) = problem.first {
                let Some(first) = self.origin_of(first) else { continue };
                let line = self.line_of(first);
                message = format!("{message} (first used on line {line})");
            }
            self.error(Some(at), message);
        }
    }

    fn type_error(&mut self, f: Row, expected: &str) {
        let message = format!("'{}' must be {expected}, found {}", f.name(), describe(f.value()));
        self.error(Some(f.at()), message);
    }

    fn unknown_key(&mut self, f: Row, section: &str, valid: &[&str]) {
        let hint = closest(f.name(), valid).map(|k| format!(", did you mean '{k}'?")).unwrap_or_default();
        let message = format!("unknown key '{}' in {section}{hint} (valid keys: {})", f.name(), valid.join(", "));
        self.error(Some(f.key_at()), message);
    }

    /// The integer `f` holds as written, for messages: its value when it has one.
    fn written_int(&self, f: Row, value: &toml::de::DeInteger) -> String {
        match document::integer(value) {
            Some(n) => n.to_string(),
            None => self.text.get(f.val.span()).unwrap_or_default().to_string(),
        }
    }

    /// Checks the whole document.
    pub(super) fn pod(&mut self, root: &Table) -> Pod {
        // Under Kubernetes the downward API already names the pod; a pod
        // file that does not say otherwise keeps those names.
        let mut pod = Pod::defaults(self.path);
        for f in fields(root) {
            match f.name() {
                "name" => pod.name = self.pod_name(f, Field::Name).unwrap_or(pod.name),
                "namespace" => pod.namespace = self.pod_name(f, Field::Namespace).unwrap_or(pod.namespace),
                "restart_policy" => pod.restart_policy = self.restart_policy(f).unwrap_or(pod.restart_policy),
                "termination_grace_period" => {
                    pod.termination_grace_period = self.duration(f).unwrap_or(pod.termination_grace_period)
                }
                "active_deadline" => pod.active_deadline = self.period(f),
                "marker_dir" => pod.marker_dir = self.path(f).unwrap_or(pod.marker_dir),
                "state_dir" => pod.state_dir = self.path(f).unwrap_or(pod.state_dir),
                "log_prefix" => pod.log_prefix = self.boolean(f).unwrap_or(false),
                "log_buffer" => pod.logs.buffer = self.size(f, 0).unwrap_or(pod.logs.buffer),
                "log_timestamps" => pod.logs.timestamps = self.boolean(f).unwrap_or(false),
                "log_dir" => pod.logs.dir = self.path(f),
                "log_max_size" => pod.logs.max_size = self.size(f, 1024).unwrap_or(pod.logs.max_size),
                "log_max_files" => pod.logs.max_files = self.threshold(f).unwrap_or(pod.logs.max_files),
                "env" => {
                    let (env, files) = self.env(f);
                    pod.env = env;
                    if let Some((_, at)) = files.first() {
                        let message = "a variable read from a file is set per entry: put it in the entry's env";
                        self.error(Some(*at), message);
                    }
                }
                "env_file" => pod.env_files = self.paths(f),
                "backoff" => {
                    self.origin(Field::Backoff, f.at());
                    pod.backoff = self.backoff(f).unwrap_or(pod.backoff);
                }
                "init" => {
                    for (rows, at) in self.entry_tables(f) {
                        self.subject = Subject::Init(pod.init.len());
                        pod.init.push(self.entry(Section::Init, rows, at));
                    }
                }
                "app" => {
                    for (rows, at) in self.entry_tables(f) {
                        self.subject = Subject::App(pod.apps.len());
                        pod.apps.push(self.entry(Section::App, rows, at));
                    }
                }
                _ => self.unknown_key(f, "the pod file", POD_KEYS),
            }
            self.subject = Subject::Pod;
        }
        pod
    }

    fn restart_policy(&mut self, f: Row) -> Option<RestartPolicy> {
        let word = self.string(f)?;
        match word.parse() {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(Some(f.at()), format!("bad restart_policy '{word}' ({e})"));
                None
            }
        }
    }

    /// The tables of `[[init]]` or `[[app]]`, each with where it starts.
    fn entry_tables<'t>(&mut self, f: Row<'t>) -> Vec<(&'t Table<'t>, usize)> {
        let items = match f.value() {
            DeValue::Array(items) => items,
            DeValue::Table(_) => {
                let name = f.name();
                let message = format!("'{name}' must be an array of tables: write [[{name}]], not [{name}]");
                self.error(Some(f.at()), message);
                return Vec::new();
            }
            _ => {
                self.type_error(f, "an array of tables");
                return Vec::new();
            }
        };
        let mut tables = Vec::new();
        for item in items.iter() {
            let at = item.span().start;
            match item.get_ref() {
                DeValue::Table(rows) => tables.push((rows, at)),
                other => {
                    let message = format!("each '{}' entry must be a table, found {}", f.name(), describe(other));
                    self.error(Some(at), message);
                }
            }
        }
        tables
    }

    /// One entry, from its table starting at byte `at`.
    fn entry(&mut self, section: Section, rows: &Table, at: usize) -> Entry {
        let kind = self.entry_kind(section, rows);
        self.read.push(self.subject);
        self.origin(Field::Whole, at);
        // For messages only: the name as written, before it is validated.
        let written_name = match rows.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(name)) => Some(name),
            _ => None,
        };
        let label = match written_name {
            Some(name) => format!("{} '{name}'", kind_label(kind)),
            None => kind_label(kind).to_string(),
        };
        let mut entry = Entry::defaults(kind);
        let mut has_name = false;
        for f in fields(rows) {
            let Some((_, valid_on, why)) = ENTRY_KEYS.iter().find(|(key, ..)| *key == f.name()) else {
                self.unknown_key(f, section.header(), &section.keys());
                continue;
            };
            if !valid_on.contains(&kind) {
                self.error(Some(f.key_at()), format!("'{}' is not valid on {label}: {why}", f.name()));
                continue;
            }
            match f.name() {
                "name" => {
                    has_name = true;
                    self.origin(Field::Name, f.at());
                    entry.name = self.nonempty(f).unwrap_or_default();
                }
                "command" => {
                    // A command written but unreadable stands as one for the rules
                    // about having one (validate.rs): its own error says what is wrong.
                    self.origin(Field::Command, f.at());
                    entry.command = self.command(f).unwrap_or_else(|| vec![String::new()]);
                }
                "env" => {
                    let (env, files) = self.env(f);
                    entry.env = env;
                    entry.file_env = files.into_iter().map(|(fe, _)| fe).collect();
                }
                "env_file" => entry.env_files = self.paths(f),
                "restart_policy" => {
                    self.origin(Field::RestartPolicy, f.at());
                    // Unreadable, it still counts as set for the restart rules (validate.rs).
                    entry.restart_policy = Some(self.restart_policy(f).unwrap_or(RestartPolicy::Never));
                }
                "restart_rules" => {
                    self.origin(Field::RestartRules, f.key_at());
                    entry.restart_rules = self.restart_rules(f);
                    // `restart_rules = []` leaves no rule in the model for validate.rs to
                    // see, yet a pod file has always been refused for it without a policy.
                    if entry.restart_rules.is_empty() && !rows.contains_key("restart_policy") {
                        let message = format!("{label} has restart_rules but no restart_policy (the rules need the entry's own policy, as in Kubernetes)");
                        self.error(Some(f.key_at()), message);
                    }
                }
                "notify" => entry.notify = self.boolean(f).unwrap_or(false),
                "working_dir" => entry.working_dir = self.path(f),
                "user" => entry.user = self.user(f),
                "stop_signal" => entry.stop_signal = self.signal(f).unwrap_or(libc::SIGTERM),
                "timeout" => entry.timeout = self.period(f),
                "once" => entry.once = self.boolean(f).unwrap_or(true),
                "wait_for" => {
                    self.origin(Field::WaitFor, f.key_at());
                    entry.wait_for = Some(self.wait_for(f));
                }
                "essential" => entry.essential = self.boolean(f).unwrap_or(false),
                "startup_probe" => entry.startup_probe = self.probe(f, ProbeKind::Startup),
                "readiness_probe" => entry.readiness_probe = self.probe(f, ProbeKind::Readiness),
                "liveness_probe" => entry.liveness_probe = self.probe(f, ProbeKind::Liveness),
                "post_start" => entry.post_start = self.command(f),
                "pre_stop" => entry.pre_stop = self.command(f),
                // "restart" was read by entry_kind.
                _ => {}
            }
        }
        if !has_name {
            self.error(Some(at), format!("{} entry has no 'name'", section.header()));
        }
        entry
    }

    /// An `[[init]]` entry with a `restart` key is a sidecar; a wrong value is
    /// reported but still taken as meaning one, so its sidecar keys raise no more errors.
    fn entry_kind(&mut self, section: Section, rows: &Table) -> Kind {
        if section == Section::App {
            return Kind::App;
        }
        let Some(f) = fields(rows).into_iter().find(|f| f.name() == "restart") else {
            return Kind::Init;
        };
        match self.string(f) {
            Some(value) if value != "Always" => {
                let message = format!(
                    "bad restart '{value}' (the only valid value is \"Always\", which makes an init entry a sidecar)"
                );
                self.error(Some(f.at()), message);
            }
            _ => {}
        }
        Kind::Sidecar
    }

    /// The pod's name or namespace (its rules are in validate.rs).
    fn pod_name(&mut self, f: Row, field: Field) -> Option<String> {
        let name = self.nonempty(f)?;
        self.origin(field, f.at());
        Some(name)
    }

    fn string(&mut self, f: Row) -> Option<String> {
        match f.value() {
            // Every string ends up in a C string (argv, env, paths), which cannot hold NUL.
            DeValue::String(s) if s.contains('\0') => {
                self.error(Some(f.at()), format!("'{}' contains a NUL character", f.name()));
                None
            }
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.type_error(f, "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, f: Row) -> Option<String> {
        let s = self.string(f)?;
        if s.is_empty() {
            self.error(Some(f.at()), format!("'{}' must not be empty", f.name()));
            return None;
        }
        Some(s)
    }

    fn path(&mut self, f: Row) -> Option<PathBuf> {
        self.nonempty(f).map(PathBuf::from)
    }

    fn user(&mut self, f: Row) -> Option<String> {
        let user = self.nonempty(f)?;
        if user.split(':').count() > 2 || user.split(':').any(str::is_empty) {
            self.error(Some(f.at()), format!("bad user '{user}' (expected a user name, or uid[:gid])"));
            return None;
        }
        Some(user)
    }

    fn boolean(&mut self, f: Row) -> Option<bool> {
        match *f.value() {
            DeValue::Boolean(b) => Some(b),
            _ => {
                self.type_error(f, "true or false");
                None
            }
        }
    }

    fn duration(&mut self, f: Row) -> Option<Duration> {
        let message = match f.value() {
            DeValue::String(s) => match parse_duration(s) {
                Ok(d) => return Some(d),
                Err(why) => format!("bad duration '{s}' for '{}' ({why})", f.name()),
            },
            DeValue::Integer(i) => {
                let n = self.written_int(f, i);
                // Suggest the number itself in seconds, when it is one.
                let like = if document::integer(i).is_some() { format!("{n}s") } else { "30s".to_string() };
                format!("bad duration {n} for '{}' (write it as a string with a unit, like \"{like}\")", f.name())
            }
            _ => {
                self.type_error(f, "a duration like \"30s\"");
                return None;
            }
        };
        self.error(Some(f.at()), message);
        None
    }

    /// A size: a whole number of bytes or a string with a unit (`64Ki`,
    /// `10Mi`, as Kubernetes quantities; `KiB`/`MiB` and `K`/`M` too), at
    /// least `min` (0 stays allowed: "off").
    fn size(&mut self, f: Row, min: u64) -> Option<u64> {
        let n = match f.value() {
            DeValue::Integer(i) => document::integer(i).and_then(|n| u64::try_from(n).ok()).ok_or(String::new()),
            DeValue::String(s) => parse_size(s),
            _ => {
                self.type_error(f, "a size like \"64Ki\" or a number of bytes");
                return None;
            }
        };
        match n {
            Ok(n) if n == 0 || n >= min => Some(n),
            Ok(n) => {
                self.error(Some(f.at()), format!("'{}' must be 0 or at least {min} bytes, found {n}", f.name()));
                None
            }
            Err(why) => {
                let written = self.text.get(f.val.span()).unwrap_or_default().to_string();
                let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
                self.error(Some(f.at()), format!("bad size {written} for '{}'{why}", f.name()));
                None
            }
        }
    }

    /// A duration that must not be zero: periods, timeouts, deadlines.
    fn period(&mut self, f: Row) -> Option<Duration> {
        let d = self.duration(f)?;
        if d.is_zero() {
            self.error(Some(f.at()), format!("'{}' must be longer than 0", f.name()));
            return None;
        }
        Some(d)
    }

    /// A whole number of at least 1.
    fn threshold(&mut self, f: Row) -> Option<u32> {
        self.count(f, 1)
    }

    /// A whole number of at least `min` that fits in a u32 (a probe's thresholds
    /// are read from 0: that they are at least 1 is a rule of validate.rs).
    fn count(&mut self, f: Row, min: u32) -> Option<u32> {
        let DeValue::Integer(i) = f.value() else {
            self.type_error(f, "a whole number");
            return None;
        };
        let n = document::integer(i);
        if let Some(n) = n.and_then(|n| u32::try_from(n).ok()).filter(|&n| n >= min) {
            return Some(n);
        }
        let written = self.written_int(f, i);
        // Without a 64-bit value, the sign tells too small from too large.
        let too_small = n.map_or(written.starts_with('-'), |n| n < 1);
        let why =
            if too_small { format!("must be at least 1, found {written}") } else { format!("is too large: {written}") };
        self.error(Some(f.at()), format!("'{}' {why}", f.name()));
        None
    }

    fn signal(&mut self, f: Row) -> Option<SigNum> {
        let text = match f.value() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) => self.written_int(f, i),
            _ => {
                self.type_error(f, "a signal name like \"SIGTERM\"");
                return None;
            }
        };
        match signals::parse(&text) {
            Ok(sig) => Some(sig),
            Err(e) => {
                self.error(Some(f.at()), format!("bad {}: {e}", f.name()));
                None
            }
        }
    }

    /// An argv: a non-empty array of strings whose first one (the program) is not empty.
    fn command(&mut self, f: Row) -> Option<Vec<String>> {
        let DeValue::Array(items) = f.value() else {
            self.type_error(f, "an array of strings, like [\"sh\", \"-c\", \"echo hi\"]");
            return None;
        };
        let mut argv = Vec::with_capacity(items.len());
        for item in items.iter() {
            let at = Some(item.span().start);
            match item.get_ref() {
                DeValue::String(s) if s.contains('\0') => {
                    self.error(at, format!("'{}' contains a NUL character", f.name()))
                }
                DeValue::String(s) => argv.push(s.to_string()),
                other => {
                    let message =
                        format!("'{}' must be an array of strings, found {} in it", f.name(), describe(other));
                    self.error(at, message);
                }
            }
        }
        if argv.len() != items.len() {
            return None;
        }
        match argv.first() {
            None => {
                let message = format!("empty command: '{}' needs at least the program to run", f.name());
                self.error(Some(f.at()), message);
                None
            }
            Some(program) if program.is_empty() => {
                let at = items.iter().next().map_or(f.at(), |i| i.span().start);
                self.error(Some(at), format!("'{}' has an empty program name", f.name()));
                None
            }
            Some(_) => Some(argv),
        }
    }

    /// An `env` table: its plain variables, and those read from a file
    /// (`NAME = { file = "…", key = "…" }`) with where each is written.
    fn env(&mut self, f: Row) -> (Vec<(String, String)>, FileVars) {
        let Some(rows) = self.table(f, "a table of strings, like { LANG = \"C.UTF-8\" }") else {
            return (Vec::new(), Vec::new());
        };
        let mut env = Vec::new();
        let mut files = Vec::new();
        for var in fields(rows) {
            let name = var.name();
            if name.is_empty() || name.contains(['=', '\0']) {
                let message = format!("bad environment variable name '{name}' (it must be non-empty, without '=')");
                self.error(Some(var.key_at()), message);
                continue;
            }
            if let DeValue::Table(_) = var.value() {
                if let Some(fe) = self.file_ref(var) {
                    files.push((fe, var.at()));
                }
                continue;
            }
            if let Some(value) = self.string(var) {
                env.push((name.to_string(), value));
            }
        }
        (env, files)
    }

    /// `NAME = { file = "/shared/app.env", key = "KEY", optional = false }`.
    fn file_ref(&mut self, f: Row) -> Option<FileEnv> {
        let rows = self.table(f, "a string, or a table like { file = \"/shared/app.env\", key = \"KEY\" }")?;
        let (mut path, mut key, mut optional) = (None, None, false);
        for g in fields(rows) {
            match g.name() {
                "file" => path = self.path(g),
                "key" => key = self.nonempty(g),
                "optional" => optional = self.boolean(g).unwrap_or(false),
                _ => self.unknown_key(g, &format!("'{}'", f.name()), FILE_REF_KEYS),
            }
        }
        if !rows.contains_key("file") || !rows.contains_key("key") {
            self.error(Some(f.at()), format!("'{}' read from a file needs both 'file' and 'key'", f.name()));
        }
        Some(FileEnv { name: f.name().to_string(), path: path?, key: key?, optional })
    }

    /// A path, or an array of paths (`env_file`).
    fn paths(&mut self, f: Row) -> Vec<PathBuf> {
        match f.value() {
            DeValue::String(_) => self.path(f).into_iter().collect(),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) if !s.is_empty() && !s.contains('\0') => out.push(PathBuf::from(s.as_ref())),
                        other => {
                            let message =
                                format!("'{}' must hold non-empty paths, found {}", f.name(), describe(other));
                            self.error(Some(item.span().start), message);
                        }
                    }
                }
                out
            }
            _ => {
                self.type_error(f, "a path, or an array of paths");
                Vec::new()
            }
        }
    }

    /// `backoff = { initial = "10s", max = "300s" }`.
    fn backoff(&mut self, f: Row) -> Option<Backoff> {
        let rows = self.table(f, "a table like { initial = \"10s\", max = \"300s\" }")?;
        let mut b = Backoff::default();
        let mut bad = false;
        for g in fields(rows) {
            let slot = match g.name() {
                "initial" => &mut b.initial,
                "max" => &mut b.max,
                _ => {
                    self.unknown_key(g, "'backoff'", BACKOFF_KEYS);
                    continue;
                }
            };
            match self.period(g) {
                Some(d) => *slot = d,
                None => bad = true,
            }
        }
        // max >= initial is validate's rule; a half-read curve is not put to it.
        (!bad).then_some(b)
    }

    /// `restart_rules = [{ action = "Restart", exit_codes = { operator = "In", values = [42] } }]`.
    fn restart_rules(&mut self, f: Row) -> Vec<RestartRule> {
        let DeValue::Array(items) = f.value() else {
            self.type_error(
                f,
                "an array of tables like { action = \"Restart\", exit_codes = { operator = \"In\", values = [42] } }",
            );
            return Vec::new();
        };
        if items.len() > MAX_RULES {
            self.error(
                Some(f.at()),
                format!("'restart_rules' has {} rules; Kubernetes allows at most {MAX_RULES}", items.len()),
            );
        }
        let mut rules = Vec::new();
        for item in items.iter() {
            let at = item.span().start;
            let DeValue::Table(rows) = item.get_ref() else {
                self.error(Some(at), format!("each restart rule must be a table, found {}", describe(item.get_ref())));
                continue;
            };
            let mut rule = None;
            let mut has_action = false;
            for g in fields(rows) {
                match g.name() {
                    "action" => {
                        has_action = true;
                        if let Some(a) = self.string(g) {
                            if a != "Restart" {
                                let message =
                                    format!("bad action '{a}' (the only action Kubernetes defines is \"Restart\")");
                                self.error(Some(g.at()), message);
                            }
                        }
                    }
                    "exit_codes" => rule = self.exit_codes(g),
                    _ => self.unknown_key(g, "a restart rule", RULE_KEYS),
                }
            }
            if !has_action {
                self.error(Some(at), "a restart rule needs action = \"Restart\"");
            }
            if !rows.contains_key("exit_codes") {
                self.error(Some(at), "a restart rule needs exit_codes = { operator = \"In\", values = [...] }");
            }
            rules.extend(rule);
        }
        rules
    }

    fn exit_codes(&mut self, f: Row) -> Option<RestartRule> {
        let rows = self.table(f, "a table like { operator = \"In\", values = [42] }")?;
        let (mut operator, mut values) = (None, Vec::new());
        for g in fields(rows) {
            match g.name() {
                "operator" => {
                    operator = match self.string(g)?.as_str() {
                        "In" => Some(ExitCodeOperator::In),
                        "NotIn" => Some(ExitCodeOperator::NotIn),
                        other => {
                            self.error(Some(g.at()), format!("bad operator '{other}' (expected In or NotIn)"));
                            return None;
                        }
                    }
                }
                "values" => {
                    let DeValue::Array(items) = g.value() else {
                        self.type_error(g, "an array of exit codes, like [42]");
                        return None;
                    };
                    if items.len() > MAX_RULE_VALUES {
                        let message = format!(
                            "'values' has {} exit codes; Kubernetes allows at most {MAX_RULE_VALUES}",
                            items.len()
                        );
                        self.error(Some(g.at()), message);
                    }
                    for item in items.iter() {
                        match item.get_ref() {
                            // A Linux exit status is 0-255 (a death by signal N counts as 128+N).
                            DeValue::Integer(i) => match document::integer(i).filter(|n| (0..=255).contains(n)) {
                                Some(n) => values.push(n as i32),
                                None => {
                                    let message =
                                        format!("bad exit code {}: an exit code is 0 to 255", self.written_int(g, i));
                                    self.error(Some(item.span().start), message);
                                }
                            },
                            other => {
                                let message = format!("'values' must hold whole numbers, found {}", describe(other));
                                self.error(Some(item.span().start), message);
                            }
                        }
                    }
                }
                _ => self.unknown_key(g, "'exit_codes'", EXIT_CODES_KEYS),
            }
        }
        let Some(operator) = operator else {
            self.error(Some(f.at()), "'exit_codes' needs operator = \"In\" or \"NotIn\"");
            return None;
        };
        Some(RestartRule { operator, values })
    }

    fn table<'t>(&mut self, f: Row<'t>, like: &str) -> Option<&'t Table<'t>> {
        match f.value() {
            DeValue::Table(rows) => Some(rows),
            _ => {
                self.type_error(f, like);
                None
            }
        }
    }

    /// What a probe or a waiter checks: a string whose rules (`host:port`, an
    /// `http://` URL) are in validate.rs, which finds it by `kind`.
    fn target(&mut self, f: Row, kind: ProbeKind) -> Option<String> {
        let target = self.string(f)?;
        self.origin(Field::Probe(kind, ProbeField::Action), f.at());
        Some(target)
    }

    /// A probe; one whose check is missing or unreadable stands as an exec probe
    /// of no command, so that the rules on its other fields (validate.rs) still run.
    fn probe(&mut self, f: Row, kind: ProbeKind) -> Option<Probe> {
        let rows = self.table(f, "a table like { tcp = \"127.0.0.1:80\" }")?;
        let (mut action, mut action_key) = (None, None);
        let defaults = Probe::new(ProbeAction::Exec(Vec::new()));
        let (mut initial_delay, mut period, mut timeout) = (defaults.initial_delay, defaults.period, defaults.timeout);
        let (mut success_threshold, mut failure_threshold) = (defaults.success_threshold, defaults.failure_threshold);
        // `headers` go with `http`, `service` with `grpc`: (value, where).
        let (mut headers, mut service) = (None, None);
        for g in fields(rows) {
            let found = match g.name() {
                "exec" => self.command(g).map(ProbeAction::Exec),
                "tcp" => self.target(g, kind).map(ProbeAction::Tcp),
                "http" => self.target(g, kind).map(|url| ProbeAction::Http(url.as_str().into())),
                "grpc" => self.target(g, kind).map(|addr| ProbeAction::Grpc { addr, service: String::new() }),
                "headers" => {
                    headers = Some((self.headers(g), g.key_at()));
                    continue;
                }
                "service" => {
                    service = Some((self.string(g), g.key_at()));
                    continue;
                }
                "initial_delay" => {
                    initial_delay = self.duration(g).unwrap_or(initial_delay);
                    continue;
                }
                "period" => {
                    self.origin(Field::Probe(kind, ProbeField::Period), g.at());
                    period = self.duration(g).unwrap_or(period);
                    continue;
                }
                "timeout" => {
                    self.origin(Field::Probe(kind, ProbeField::Timeout), g.at());
                    timeout = self.duration(g).unwrap_or(timeout);
                    continue;
                }
                "success_threshold" => {
                    self.origin(Field::Probe(kind, ProbeField::SuccessThreshold), g.at());
                    success_threshold = self.count(g, 0).unwrap_or(1);
                    continue;
                }
                "failure_threshold" => {
                    self.origin(Field::Probe(kind, ProbeField::FailureThreshold), g.at());
                    failure_threshold = self.count(g, 0).unwrap_or(3);
                    continue;
                }
                _ => {
                    self.unknown_key(g, &format!("'{}'", f.name()), PROBE_KEYS);
                    continue;
                }
            };
            if let Some(first) = action_key {
                let message = format!(
                    "'{}' has both '{first}' and '{}': a probe does exactly one of exec, tcp, http or grpc",
                    f.name(),
                    g.name()
                );
                self.error(Some(g.key_at()), message);
            } else {
                (action, action_key) = (found, Some(g.name()));
            }
        }
        if action_key.is_none() {
            self.error(Some(f.at()), format!("'{}' needs one of exec, tcp, http or grpc", f.name()));
        }
        // Where `headers` and `service` were written, when the action is not theirs.
        let mut misplaced =
            [("headers", "http", headers.as_ref().map(|h| h.1)), ("service", "grpc", service.as_ref().map(|s| s.1))];
        match (&mut action, headers, service) {
            (Some(ProbeAction::Http(get)), Some((h, _)), _) => (get.headers, misplaced[0].2) = (h, None),
            (Some(ProbeAction::Grpc { service, .. }), _, Some((s, _))) => {
                (*service, misplaced[1].2) = (s.unwrap_or_default(), None)
            }
            _ => {}
        }
        for (key, goes_with, at) in misplaced {
            if let (Some(at), Some(does)) = (at, action_key.filter(|&k| k != goes_with)) {
                self.error(Some(at), format!("'{key}' goes with '{goes_with}' (this probe does {does})"));
            }
        }
        let action = action.unwrap_or(ProbeAction::Exec(Vec::new()));
        Some(Probe { action, initial_delay, period, timeout, success_threshold, failure_threshold })
    }

    /// An http probe's extra request headers: `{ Host = "example.com", X-Key = ["a", "b"] }`
    /// (an array sends the header once per value, in order).
    fn headers(&mut self, f: Row) -> Vec<(String, String)> {
        let Some(rows) = self.table(f, "a table of strings, like { Host = \"example.com\" }") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for h in fields(rows) {
            let name = h.name();
            if let Err(why) = check_header_name(name) {
                self.error(Some(h.key_at()), why);
                continue;
            }
            let values = match h.value() {
                DeValue::Array(_) => self.command(h).unwrap_or_default(),
                _ => self.string(h).into_iter().collect(),
            };
            for v in values {
                if v.contains(['\r', '\n']) {
                    self.error(Some(h.at()), format!("header '{name}' has a line break in its value"));
                } else {
                    out.push((name.to_string(), v));
                }
            }
        }
        out
    }

    /// An init step's `wait_for`; unreadable, it stands as a wait for no file, so
    /// that it still counts as written for the rules about having one (validate.rs).
    fn wait_for(&mut self, f: Row) -> WaitFor {
        let stand_in =
            || WaitFor { target: WaitTarget::File(PathBuf::new()), timeout: None, period: Duration::from_secs(1) };
        let Some(rows) = self.table(f, "a table like { tcp = \"127.0.0.1:5432\" }") else { return stand_in() };
        let (mut target, mut target_key) = (None, None);
        let (mut timeout, mut period) = (None, Duration::from_secs(1));
        for g in fields(rows) {
            let found = match g.name() {
                "tcp" => self.target(g, ProbeKind::Wait).map(WaitTarget::Tcp),
                "http" => self.target(g, ProbeKind::Wait).map(WaitTarget::Http),
                "file" => self.path(g).map(WaitTarget::File),
                "unix" => self.path(g).map(WaitTarget::Unix),
                "timeout" => {
                    self.origin(Field::Probe(ProbeKind::Wait, ProbeField::Timeout), g.at());
                    timeout = self.duration(g);
                    continue;
                }
                "period" => {
                    self.origin(Field::Probe(ProbeKind::Wait, ProbeField::Period), g.at());
                    period = self.duration(g).unwrap_or(period);
                    continue;
                }
                _ => {
                    self.unknown_key(g, "'wait_for'", WAIT_KEYS);
                    continue;
                }
            };
            if let Some(first) = target_key {
                let message = format!(
                    "'wait_for' has both '{first}' and '{}': it waits for exactly one of tcp, http, file or unix",
                    g.name()
                );
                self.error(Some(g.key_at()), message);
            } else {
                (target, target_key) = (found, Some(g.name()));
            }
        }
        if target_key.is_none() {
            self.error(Some(f.at()), "'wait_for' needs one of tcp, http, file or unix");
        }
        match target {
            Some(target) => WaitFor { target, timeout, period },
            None => WaitFor { timeout, period, ..stand_in() },
        }
    }
}

/// Why `name` is not a DNS-1123 label (`label`: at most 63 of `a-z0-9-`,
/// alphanumeric at both ends) or subdomain (at most 253; labels joined by
/// '.'), as apimachinery's IsDNS1123Label / IsDNS1123Subdomain; None when it is.
pub(crate) fn dns1123_error(name: &str, label: bool) -> Option<String> {
    let max = if label { 63 } else { 253 };
    let len = name.len();
    if len > max {
        return Some(format!("at most {max} characters, not {len}"));
    }
    let parts: Vec<&str> = if label { vec![name] } else { name.split('.').collect() };
    for part in parts {
        let ok_chars = part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok_chars || !ends(part.chars().next()) || !ends(part.chars().last()) {
            let allowed =
                if label { "lowercase letters, digits and '-'" } else { "lowercase letters, digits, '-' and '.'" };
            return Some(format!("use {allowed}, starting and ending with a letter or digit"));
        }
    }
    None
}

/// Parses `64Ki`, `10Mi`, `1Gi` (Kubernetes quantities), `64KiB`, `10MiB`,
/// `64K`/`64k`, `10M` (powers of 1000, as Kubernetes reads them) or bare digits.
pub(super) fn parse_size(s: &str) -> Result<u64, String> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let mult: u64 = match unit {
        "" => 1,
        "Ki" | "KiB" => 1 << 10,
        "Mi" | "MiB" => 1 << 20,
        "Gi" | "GiB" => 1 << 30,
        "k" | "K" | "KB" => 1_000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        _ => return Err("expected a number with a unit: Ki, Mi, Gi, k, M, G".into()),
    };
    let n: u64 = num.parse().map_err(|_| "expected a number with a unit: Ki, Mi, Gi, k, M, G".to_string())?;
    n.checked_mul(mult).ok_or_else(|| "too large".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names_are_dns1123_as_kubernetes_validates_them() {
        for ok in ["web", "a", "web-1", "0abc", "web.example.com", &"a".repeat(253)] {
            assert_eq!(dns1123_error(ok, false), None, "{ok}");
        }
        for bad in ["My Pod", "Web", "web_1", "-web", "web-", ".web", "web..x", "web.-x", "", "wéb", &"a".repeat(254)]
        {
            assert!(dns1123_error(bad, false).is_some(), "{bad}");
        }
        // A namespace is a label: no dots, at most 63.
        assert_eq!(dns1123_error(&"a".repeat(63), true), None);
        assert!(dns1123_error(&"a".repeat(64), true).is_some());
        assert!(dns1123_error("a.b", true).is_some());
    }

    #[test]
    fn a_bad_pod_name_is_positioned() {
        let errors = crate::config::parse(Path::new("p.toml"), "name = \"My Pod\"\nnamespace = \"x.y\"\n").unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.starts_with("p.toml:1:8: bad name 'My Pod'")), "{text:?}");
        assert!(text.iter().any(|e| e.starts_with("p.toml:2:13: bad namespace 'x.y'")), "{text:?}");
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("comand", POD_KEYS), None);
        assert_eq!(closest("Name", POD_KEYS), Some("name"));
        assert_eq!(closest("restartPolicy", POD_KEYS), Some("restart_policy"));
    }
}
