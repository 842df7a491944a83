//! A Kubernetes manifest (its parsed tree) to the validated [`Pod`] the TOML
//! reader would give, collecting every error with its line, column and field path.
//!
//! Every field is in one of three classes (the tables below): used, ignored
//! with an INFO line (it matters only on a cluster: image, resources, …), or
//! refused (it would change what runs and podinit cannot do it: envFrom, …).
//! A field in no table is an error, as an unknown key of the pod file is: a
//! typo must not be silently dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::yaml::{self, Key, Node, Pos, Val};
use super::{ANN, HOOK_EXE, HOOK_HTTP_GET, HOOK_SLEEP};
use crate::config::suggest::closest;
use crate::config::{
    parse_duration, ConfigError, Entry, Kind, Pod, Probe, ProbeAction, RestartPolicy, WaitFor, WaitTarget,
};
use crate::sys::signals;

/// What the reader does with a field.
#[derive(Clone, Copy)]
enum Act {
    /// Read it.
    Use,
    /// Accept it with an INFO line saying why it has no effect here.
    Ignore(&'static str),
    /// An error: it would change behaviour and podinit cannot honour it.
    Refuse(&'static str),
}
use Act::{Ignore, Refuse, Use};

const IMAGE: &str = "podinit runs the command from this machine's filesystem, not an image";
const VOLUMES: &str = "entries share this machine's filesystem (an emptyDir is any directory they agree on)";
const SCHEDULING: &str = "scheduling and placement: podinit runs the pod right here";
const RESOURCES: &str = "podinit sets no resource requests or limits";
const NETWORK: &str = "networking and DNS are those of the machine or container podinit runs in";
const NAMESPACES: &str = "every entry shares podinit's own namespaces and process tree";
const PORTS: &str = "entries share one network, so ports need no declaring";
const TERMINAL: &str = "entries inherit podinit's stdin, stdout and stderr";
const TERM_MESSAGE: &str = "podinit writes no termination message";
const SECURITY: &str = "of the security context podinit applies only runAsUser, runAsGroup and runAsNonRoot";
const ACCOUNT: &str = "entries get no Kubernetes API credentials";
const STATUS: &str = "status is written by a cluster, not read from the manifest";
const BOOKKEEPING: &str = "cluster bookkeeping";
const WORKLOAD: &str = "a setting of the workload, not of its pod: podinit runs one pod";
const NO_CONFIGMAPS: &str = "podinit cannot read ConfigMaps or Secrets: list the variables under env";

const POD_SPEC: &[(&str, Act)] = &[
    ("containers", Use),
    ("initContainers", Use),
    ("restartPolicy", Use),
    ("terminationGracePeriodSeconds", Use),
    ("activeDeadlineSeconds", Use),
    ("securityContext", Use),
    ("nodeName", Use),
    ("serviceAccountName", Use),
    ("serviceAccount", Use),
    ("os", Use),
    ("volumes", Ignore(VOLUMES)),
    (
        "ephemeralContainers",
        Refuse("ephemeral containers are added to a running pod (kubectl debug), not written in a manifest"),
    ),
    ("shareProcessNamespace", Ignore(NAMESPACES)),
    ("hostPID", Ignore(NAMESPACES)),
    ("hostIPC", Ignore(NAMESPACES)),
    ("hostNetwork", Ignore(NAMESPACES)),
    ("hostUsers", Ignore(NAMESPACES)),
    ("hostname", Ignore(NETWORK)),
    ("subdomain", Ignore(NETWORK)),
    ("setHostnameAsFQDN", Ignore(NETWORK)),
    ("dnsPolicy", Ignore(NETWORK)),
    ("dnsConfig", Ignore(NETWORK)),
    ("hostAliases", Ignore(NETWORK)),
    ("enableServiceLinks", Ignore(NETWORK)),
    ("affinity", Ignore(SCHEDULING)),
    ("nodeSelector", Ignore(SCHEDULING)),
    ("tolerations", Ignore(SCHEDULING)),
    ("topologySpreadConstraints", Ignore(SCHEDULING)),
    ("schedulerName", Ignore(SCHEDULING)),
    ("schedulingGates", Ignore(SCHEDULING)),
    ("priority", Ignore(SCHEDULING)),
    ("priorityClassName", Ignore(SCHEDULING)),
    ("preemptionPolicy", Ignore(SCHEDULING)),
    ("runtimeClassName", Ignore(SCHEDULING)),
    ("readinessGates", Ignore(SCHEDULING)),
    ("overhead", Ignore(RESOURCES)),
    ("resources", Ignore(RESOURCES)),
    ("resourceClaims", Ignore(RESOURCES)),
    ("imagePullSecrets", Ignore(IMAGE)),
    ("automountServiceAccountToken", Ignore(ACCOUNT)),
];

const CONTAINER: &[(&str, Act)] = &[
    ("name", Use),
    ("command", Use),
    ("args", Use),
    ("env", Use),
    ("workingDir", Use),
    ("securityContext", Use),
    ("restartPolicy", Use),
    ("startupProbe", Use),
    ("readinessProbe", Use),
    ("livenessProbe", Use),
    ("lifecycle", Use),
    ("ports", Use),
    ("envFrom", Refuse(NO_CONFIGMAPS)),
    ("restartPolicyRules", Refuse("podinit restarts by the pod's restartPolicy (and Always for sidecars) only")),
    ("image", Ignore(IMAGE)),
    ("imagePullPolicy", Ignore(IMAGE)),
    ("resources", Ignore(RESOURCES)),
    ("resizePolicy", Ignore(RESOURCES)),
    ("volumeMounts", Ignore(VOLUMES)),
    ("volumeDevices", Ignore(VOLUMES)),
    ("terminationMessagePath", Ignore(TERM_MESSAGE)),
    ("terminationMessagePolicy", Ignore(TERM_MESSAGE)),
    ("stdin", Ignore(TERMINAL)),
    ("stdinOnce", Ignore(TERMINAL)),
    ("tty", Ignore(TERMINAL)),
];

const PROBE: &[(&str, Act)] = &[
    ("exec", Use),
    ("httpGet", Use),
    ("tcpSocket", Use),
    ("initialDelaySeconds", Use),
    ("periodSeconds", Use),
    ("timeoutSeconds", Use),
    ("successThreshold", Use),
    ("failureThreshold", Use),
    ("grpc", Refuse("podinit probes with exec, httpGet or tcpSocket (an exec probe can run grpc_health_probe)")),
    ("terminationGracePeriodSeconds", Refuse("podinit stops a failed entry within the pod's grace period")),
];

const HANDLER: &[(&str, Act)] = &[
    ("exec", Use),
    ("httpGet", Use),
    ("sleep", Use),
    ("tcpSocket", Refuse("Kubernetes does not run tcpSocket hooks either: use exec, httpGet or sleep")),
];

const HTTP_GET: &[(&str, Act)] = &[
    ("path", Use),
    ("port", Use),
    ("host", Use),
    ("scheme", Use),
    ("httpHeaders", Refuse("podinit's HTTP check sends no extra headers (an exec probe can run curl -H)")),
];

const ENV_VAR: &[(&str, Act)] = &[("name", Use), ("value", Use), ("valueFrom", Use)];
const VALUE_FROM: &[(&str, Act)] = &[
    ("fieldRef", Use),
    ("configMapKeyRef", Refuse(NO_CONFIGMAPS)),
    ("secretKeyRef", Refuse(NO_CONFIGMAPS)),
    ("fileKeyRef", Refuse("podinit reads no env files: list the variables under env")),
    ("resourceFieldRef", Refuse("podinit sets no resource limits for a resourceFieldRef to read")),
];

/// The kinds whose pod podinit runs, their apiVersion and where their pod template is.
const POD_KINDS: &[(&str, &str, &[&str])] = &[
    ("Pod", "v1", &[]),
    ("Deployment", "apps/v1", &["spec", "template"]),
    ("StatefulSet", "apps/v1", &["spec", "template"]),
    ("DaemonSet", "apps/v1", &["spec", "template"]),
    ("ReplicaSet", "apps/v1", &["spec", "template"]),
    ("ReplicationController", "v1", &["spec", "template"]),
    ("Job", "batch/v1", &["spec", "template"]),
    ("CronJob", "batch/v1", &["spec", "jobTemplate", "spec", "template"]),
];

/// Pod-level `podinit.dev/` annotations.
const POD_ANNOTATIONS: &[&str] =
    &["marker-dir", "state-dir", "log-prefix", "pod-env", "termination-grace-period", "active-deadline"];
/// Per-entry annotations, `podinit.dev/<field>.<container>`, and the kinds each applies to.
const ENTRY_ANNOTATIONS: &[(&str, &[Kind])] = &[
    ("once", &[Kind::Init]),
    ("timeout", &[Kind::Init]),
    ("wait-for", &[Kind::Init]),
    ("essential", &[Kind::App]),
    ("user", &[Kind::Init, Kind::Sidecar, Kind::App]),
    ("stop-signal", &[Kind::Init, Kind::Sidecar, Kind::App]),
    ("startup-probe", &[Kind::Sidecar, Kind::App]),
    ("readiness-probe", &[Kind::Sidecar, Kind::App]),
    ("liveness-probe", &[Kind::Sidecar, Kind::App]),
];

/// Entry names become marker file names; the same rule as the pod file's.
const MAX_NAME_LEN: usize = 63;

/// Reads the manifest `text` of `file` into a validated pod; on success also
/// logs one INFO line per ignored field.
pub fn read(file: &Path, text: &str) -> Result<Pod, Vec<ConfigError>> {
    let mut r = Reader { file, errors: Vec::new(), infos: Vec::new() };
    let pod = match yaml::parse(text) {
        Ok(docs) => r.documents(&docs),
        Err(e) => {
            let what = if text.trim_start().starts_with('{') { "JSON" } else { "YAML" };
            r.error(e.at, "", format!("invalid {what}: {}", e.message));
            None
        }
    };
    match pod {
        Some(pod) if r.errors.is_empty() => {
            for (at, line) in &r.infos {
                log::info!("{}:{}:{}: {line}", file.display(), at.line, at.col);
            }
            Ok(pod)
        }
        _ => {
            let mut errors = r.errors;
            errors.sort_by_key(|e| (e.line, e.col));
            errors.dedup();
            Err(errors)
        }
    }
}

/// Where each entry and its fields came from, for errors found after mapping.
struct Origin {
    at: Pos,
    path: String,
}

struct Reader<'a> {
    file: &'a Path,
    errors: Vec<ConfigError>,
    infos: Vec<(Pos, String)>,
}

/// The used fields of one mapping.
struct Obj<'n> {
    rows: Vec<(&'n Key, &'n Node)>,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.rows.iter().find(|(k, _)| k.name == key).map(|(_, v)| *v)
    }

    /// Where `key` itself is, for "this field is not valid here".
    fn key_at(&self, key: &str) -> Pos {
        self.rows.iter().find(|(k, _)| k.name == key).map_or(Pos::default(), |(k, _)| k.at)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// What the downward API can give an env var (`valueFrom.fieldRef`).
struct Downward {
    uid: String,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    node_name: Option<String>,
    service_account: Option<String>,
}

/// One container of the manifest, mapped.
struct Container {
    entry: Entry,
    origin: Origin,
    /// Its env before the pod-level part is split off: (name, value, where).
    env: Vec<(String, String, Pos)>,
    env_path: String,
}

impl Reader<'_> {
    fn error(&mut self, at: Pos, path: &str, message: impl AsRef<str>) {
        // One line per error, even when it quotes a value holding a newline.
        let mut one_line = String::new();
        if !path.is_empty() {
            one_line.push_str(path);
            one_line.push_str(": ");
        }
        for c in message.as_ref().chars() {
            if c.is_control() {
                one_line.extend(c.escape_debug());
            } else {
                one_line.push(c);
            }
        }
        let (line, col) = if at.line == 0 { (None, None) } else { (Some(at.line), Some(at.col)) };
        self.errors.push(ConfigError { path: self.file.to_path_buf(), line, col, message: one_line });
    }

    fn type_error(&mut self, n: &Node, path: &str, expected: &str) {
        let hint = match n.val {
            Val::Bool(_) | Val::Int(_) | Val::Float(_) if expected == "a string" => " (quote it)",
            _ => "",
        };
        let message = format!("must be {expected}, found {}{hint}", n.describe());
        self.error(n.at, path, message);
    }

    /// The mapping `n` with its keys checked against `table`; `rest` is what to do
    /// with keys not in it (None: unknown key, an error).
    fn object<'n>(&mut self, n: &'n Node, path: &str, table: &[(&str, Act)], rest: Option<Act>) -> Obj<'n> {
        let mut obj = Obj { rows: Vec::new() };
        let rows = match &n.val {
            Val::Map(rows) => rows,
            Val::Null => return obj,
            _ => {
                self.type_error(n, path, "a mapping");
                return obj;
            }
        };
        for (k, v) in rows {
            let field = join(path, &k.name);
            match table.iter().find(|(name, _)| *name == k.name).map(|(_, act)| *act).or(rest) {
                // null is how YAML and JSON say "not set".
                Some(Use) if v.val == Val::Null => {}
                Some(Use) => obj.rows.push((k, v)),
                Some(Ignore(why)) => self.infos.push((k.at, format!("{field} ignored: {why}"))),
                Some(Refuse(why)) => self.error(k.at, &field, format!("not supported: {why}")),
                None => {
                    let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
                    let hint = closest(&k.name, &names).map(|s| format!(", did you mean '{s}'?")).unwrap_or_default();
                    self.error(k.at, &field, format!("unknown field{hint}"));
                }
            }
        }
        obj
    }

    fn string(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.val {
            Val::Str(s) if s.contains('\0') => {
                self.error(n.at, path, "contains a NUL character");
                None
            }
            Val::Str(s) => Some(s.clone()),
            _ => {
                self.type_error(n, path, "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, n: &Node, path: &str) -> Option<String> {
        let s = self.string(n, path)?;
        if s.is_empty() {
            self.error(n.at, path, "must not be empty");
            return None;
        }
        Some(s)
    }

    fn int(&mut self, n: &Node, path: &str, min: i64, max: i64) -> Option<i64> {
        let Val::Int(v) = n.val else {
            self.type_error(n, path, "a whole number");
            return None;
        };
        if v < min || v > max {
            self.error(n.at, path, format!("must be from {min} to {max}, found {v}"));
            return None;
        }
        Some(v)
    }

    fn boolean(&mut self, n: &Node, path: &str) -> Option<bool> {
        match n.val {
            Val::Bool(b) => Some(b),
            _ => {
                self.type_error(n, path, "true or false");
                None
            }
        }
    }

    fn list<'n>(&mut self, n: &'n Node, path: &str) -> &'n [Node] {
        match &n.val {
            Val::Seq(items) => items,
            Val::Null => &[],
            _ => {
                self.type_error(n, path, "a list");
                &[]
            }
        }
    }

    /// A non-empty argv whose program is not empty.
    fn argv(&mut self, n: &Node, path: &str) -> Option<Vec<String>> {
        let items = self.list(n, path);
        let mut argv = Vec::new();
        for (i, item) in items.iter().enumerate() {
            argv.push(self.string(item, &format!("{path}[{i}]"))?);
        }
        match argv.first() {
            None if matches!(n.val, Val::Seq(_)) => {
                self.error(n.at, path, "empty: it needs at least the program to run")
            }
            None => {}
            Some(p) if p.is_empty() => self.error(items[0].at, &format!("{path}[0]"), "the program name is empty"),
            Some(_) => return Some(argv),
        }
        None
    }

    fn seconds(&mut self, n: &Node, path: &str, min: i64) -> Option<Duration> {
        self.int(n, path, min, i64::from(i32::MAX)).map(|s| Duration::from_secs(s as u64))
    }

    // -----------------------------------------------------------------------
    // Documents and the pod template.

    fn documents(&mut self, docs: &[Node]) -> Option<Pod> {
        // A `kind: List` (what `kubectl get -o yaml` prints for several objects) holds its items.
        let mut objects: Vec<(&Node, String)> = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            let label = if docs.len() > 1 { format!("document {}", i + 1) } else { String::new() };
            if d.val == Val::Null {
                continue;
            }
            if d.get("kind").and_then(Node::as_str) == Some("List") {
                if let Some(items) = d.get("items") {
                    for (j, item) in self.list(items, "items").iter().enumerate() {
                        objects.push((item, format!("items[{j}]")));
                    }
                }
                continue;
            }
            objects.push((d, label));
        }
        let mut pods = Vec::new();
        let mut others = Vec::new();
        for (obj, label) in &objects {
            if !matches!(obj.val, Val::Map(_)) {
                self.type_error(obj, label, "a Kubernetes object (a mapping with apiVersion and kind)");
                continue;
            }
            let Some(kind) = obj.get("kind") else {
                self.error(obj.at, label, "no 'kind': a Kubernetes object needs apiVersion and kind");
                continue;
            };
            let Some(kind) = self.string(kind, &join(label, "kind")) else { continue };
            let name = obj.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("");
            let desc = format!("{kind} '{name}' (line {})", obj.at.line);
            match POD_KINDS.iter().find(|(k, ..)| *k == kind) {
                Some(&(_, api, template)) => pods.push((*obj, label.clone(), kind, api, template, desc)),
                None => others.push((obj.at, desc)),
            }
        }
        if !self.errors.is_empty() {
            return None;
        }
        let kinds = POD_KINDS.iter().map(|(k, ..)| *k).collect::<Vec<_>>().join(", ");
        match pods.len() {
            0 => {
                let found = if others.is_empty() {
                    "the file holds no Kubernetes object".to_string()
                } else {
                    format!("found {}", others.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>().join(", "))
                };
                let at = others.first().map_or(Pos { line: 1, col: 1 }, |(at, _)| *at);
                self.error(at, "", format!("no pod spec: podinit runs a {kinds}; {found}"));
                None
            }
            1 => {
                for (at, desc) in others {
                    self.infos.push((at, format!("{desc} ignored: podinit reads only the pod spec")));
                }
                let (obj, label, kind, api, template, _) = pods.remove(0);
                self.workload(obj, &label, &kind, api, template)
            }
            n => {
                let list = pods.iter().map(|p| p.5.as_str()).collect::<Vec<_>>().join(", ");
                self.error(pods[1].0.at, "", format!("{n} documents have a pod spec ({list}): podinit runs one pod"));
                None
            }
        }
    }

    /// A Pod, or a workload whose pod template is at `template`.
    fn workload(&mut self, obj: &Node, label: &str, kind: &str, api: &str, template: &[&str]) -> Option<Pod> {
        let table = [("apiVersion", Use), ("kind", Use), ("metadata", Use), ("spec", Use), ("status", Ignore(STATUS))];
        let top = self.object(obj, label, &table, None);
        let api_path = join(label, "apiVersion");
        match top.get("apiVersion") {
            None => self.error(obj.at, label, format!("no 'apiVersion' (a {kind} is apiVersion: {api})")),
            Some(v) => {
                if let Some(found) = self.string(v, &api_path) {
                    if found != api {
                        self.error(v.at, &api_path, format!("a {kind} is {api}, found '{found}'"));
                    }
                }
            }
        }
        let meta = top.get("metadata");
        let mut path = join(label, "spec");
        let Some(mut node) = top.get("spec") else {
            self.error(obj.at, &path, format!("missing: a {kind} needs a spec"));
            return None;
        };
        if template.is_empty() {
            return self.pod(meta, None, node, &path, label);
        }
        // Down to the pod template; the other fields on the way are the workload's own.
        for step in &template[1..] {
            let o = self.object(node, &path, &[(step, Use)], Some(Ignore(WORKLOAD)));
            let Some(next) = o.get(step) else {
                self.error(node.at, &join(&path, step), format!("missing: a {kind} needs its pod template here"));
                return None;
            };
            path = join(&path, step);
            node = next;
        }
        let t = self.object(node, &path, &[("metadata", Use), ("spec", Use)], None);
        let Some(spec) = t.get("spec") else {
            self.error(node.at, &join(&path, "spec"), "missing: the pod template needs a spec");
            return None;
        };
        let tmeta = t.get("metadata").map(|m| (m, join(&path, "metadata")));
        self.pod(meta, tmeta, spec, &join(&path, "spec"), label)
    }

    /// name, namespace, uid, annotations and labels of a `metadata`.
    fn metadata(&mut self, n: &Node, path: &str) -> Meta {
        let table = [("name", Use), ("namespace", Use), ("uid", Use), ("labels", Use), ("annotations", Use)];
        let m = self.object(n, path, &table, Some(Ignore(BOOKKEEPING)));
        let name = m.get("name").and_then(|v| self.nonempty(v, &join(path, "name")));
        let namespace = m.get("namespace").and_then(|v| self.nonempty(v, &join(path, "namespace")));
        let uid = m.get("uid").and_then(|v| self.string(v, &join(path, "uid")));
        let mut labels = Vec::new();
        if let Some(l) = m.get("labels") {
            for (k, v) in self.string_map(l, &join(path, "labels")) {
                labels.push((k.name, v));
            }
        }
        let mut annotations = Vec::new();
        if let Some(a) = m.get("annotations") {
            if let Val::Map(rows) = &a.val {
                for (k, v) in rows {
                    if matches!(v.val, Val::Str(_)) || v.val == Val::Null {
                        annotations.push((k.clone(), v.clone()));
                    } else {
                        self.type_error(v, &format!("{path}.annotations['{}']", k.name), "a string");
                    }
                }
            } else {
                self.type_error(a, &join(path, "annotations"), "a mapping of strings");
            }
        }
        (name, namespace, uid, annotations, labels)
    }

    fn string_map(&mut self, n: &Node, path: &str) -> Vec<(Key, String)> {
        let mut out = Vec::new();
        match &n.val {
            Val::Map(rows) => {
                for (k, v) in rows {
                    if let Some(s) = self.string(v, &format!("{path}['{}']", k.name)) {
                        out.push((k.clone(), s));
                    }
                }
            }
            Val::Null => {}
            _ => self.type_error(n, path, "a mapping of strings"),
        }
        out
    }

    fn pod(
        &mut self,
        meta: Option<&Node>,
        template_meta: Option<(&Node, String)>,
        spec: &Node,
        spec_path: &str,
        label: &str,
    ) -> Option<Pod> {
        let (mut name, mut namespace, mut uid, mut annotations, mut labels) = match meta {
            Some(m) => self.metadata(m, &join(label, "metadata")),
            None => (None, None, None, Vec::new(), Vec::new()),
        };
        if let Some((tm, tpath)) = template_meta {
            let (n, ns, u, a, l) = self.metadata(tm, &tpath);
            name = n.or(name);
            namespace = ns.or(namespace);
            uid = u.or(uid);
            // The template's own annotations win over the workload's; its labels are the pod's.
            annotations.retain(|(k, _)| !a.iter().any(|(k2, _)| k2.name == k.name));
            annotations.extend(a);
            labels = l;
        }
        let mut pod = Pod {
            path: self.file.to_path_buf(),
            name: name.unwrap_or_else(|| super::env_or("POD_NAME", "pod")),
            namespace: namespace.unwrap_or_else(|| super::env_or("POD_NAMESPACE", "default")),
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
        let ann = self.annotations(&annotations, label);
        let s = self.object(spec, spec_path, POD_SPEC, None);
        let p = |k: &str| join(spec_path, k);
        if let Some(v) = s.get("restartPolicy") {
            if let Some(rp) = self.string(v, &p("restartPolicy")) {
                pod.restart_policy = match rp.as_str() {
                    "Always" => RestartPolicy::Always,
                    "OnFailure" => RestartPolicy::OnFailure,
                    "Never" => RestartPolicy::Never,
                    other => {
                        self.error(v.at, &p("restartPolicy"), format!("'{other}' is not Always, OnFailure or Never"));
                        RestartPolicy::Always
                    }
                };
            }
        }
        if let Some(v) = s.get("terminationGracePeriodSeconds") {
            pod.termination_grace_period =
                self.seconds(v, &p("terminationGracePeriodSeconds"), 0).unwrap_or(pod.termination_grace_period);
        }
        if let Some(v) = s.get("activeDeadlineSeconds") {
            pod.active_deadline = self.seconds(v, &p("activeDeadlineSeconds"), 1);
        }
        if let Some(os) = s.get("os") {
            let o = self.object(os, &p("os"), &[("name", Use)], None);
            if let Some(n) = o.get("name") {
                if let Some(name) = self.string(n, &p("os.name")) {
                    if name != "linux" {
                        self.error(n.at, &p("os.name"), format!("podinit runs on Linux, found '{name}'"));
                    }
                }
            }
        }
        let node_name = s.get("nodeName").and_then(|v| self.string(v, &p("nodeName")));
        let service_account = s
            .get("serviceAccountName")
            .map(|v| (v, "serviceAccountName"))
            .or(s.get("serviceAccount").map(|v| (v, "serviceAccount")))
            .and_then(|(v, k)| self.string(v, &p(k)));
        let pod_sc = s.get("securityContext").map(|v| self.security(v, &p("securityContext"))).unwrap_or_default();
        let downward = Downward {
            uid: uid.unwrap_or_else(random_uid),
            labels,
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.name.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            node_name,
            service_account,
        };
        let mut containers: Vec<Container> = Vec::new();
        for (key, kind) in [("initContainers", Kind::Init), ("containers", Kind::App)] {
            let Some(list) = s.get(key) else {
                if key == "containers" {
                    self.error(spec.at, &p("containers"), "missing: a pod needs at least one container");
                }
                continue;
            };
            let items = self.list(list, &p(key));
            if items.is_empty() && key == "containers" && matches!(list.val, Val::Seq(_)) {
                self.error(list.at, &p("containers"), "empty: a pod needs at least one container");
            }
            for (i, item) in items.iter().enumerate() {
                let path = format!("{}[{i}]", p(key));
                if let Some(c) = self.container(item, &path, kind, &pod_sc, &downward, &ann) {
                    containers.push(c);
                }
            }
        }
        self.unique_names(&containers);
        self.apply_annotations(&mut pod, &ann, &mut containers);
        if !self.errors.is_empty() {
            return None;
        }
        let (lines, entry_lines) = super::toml_out::emit_with_lines(&pod_with(&pod, &containers));
        let full = pod_with(&pod, &containers);
        // The same checks as a pod file gets: the TOML reader validates the pod this manifest
        // maps to. Anything it finds that the checks above missed is reported at the container.
        match crate::config::parse(self.file, &lines) {
            Ok(back) if back == full => {}
            Ok(_) => self.error(spec.at, spec_path, "internal error: the pod does not read back the same"),
            Err(errors) => {
                for e in errors {
                    let line = e.line.unwrap_or(0);
                    let i = entry_lines.iter().rposition(|&l| l <= line);
                    let (at, path) = match i.and_then(|i| containers.get(i)) {
                        Some(c) => (c.origin.at, c.origin.path.clone()),
                        None => (spec.at, spec_path.to_string()),
                    };
                    self.error(at, &path, e.message);
                }
            }
        }
        if self.errors.is_empty() {
            Some(full)
        } else {
            None
        }
    }

    /// runAsUser, runAsGroup, runAsNonRoot of a security context; the rest is ignored.
    fn security(&mut self, n: &Node, path: &str) -> Security {
        let table = [("runAsUser", Use), ("runAsGroup", Use), ("runAsNonRoot", Use)];
        let o = self.object(n, path, &table, Some(Ignore(SECURITY)));
        let id = |r: &mut Self, k: &str| {
            o.get(k).and_then(|v| {
                r.int(v, &join(path, k), 0, i64::from(u32::MAX - 1)).map(|n| (n as u32, v.at, join(path, k)))
            })
        };
        Security {
            user: id(self, "runAsUser"),
            group: id(self, "runAsGroup"),
            non_root: o
                .get("runAsNonRoot")
                .and_then(|v| self.boolean(v, &join(path, "runAsNonRoot")).map(|b| (b, v.at))),
        }
    }

    fn container(
        &mut self,
        n: &Node,
        path: &str,
        section: Kind,
        pod_sc: &Security,
        downward: &Downward,
        ann: &Annotations,
    ) -> Option<Container> {
        let before = self.errors.len();
        let c = self.object(n, path, CONTAINER, None);
        // After an unknown field (`comand`), "no command" would only repeat the problem.
        let clean = self.errors.len() == before;
        let p = |k: &str| join(path, k);
        let name = match c.get("name") {
            Some(v) => self.entry_name(v, &p("name"))?,
            None => {
                self.error(n.at, path, "no 'name'");
                return None;
            }
        };
        let mut kind = section;
        if let Some(v) = c.get("restartPolicy") {
            if section == Kind::App {
                let why =
                    "only init containers have a restartPolicy (Always makes one a sidecar); apps follow the pod's";
                self.error(c.key_at("restartPolicy"), &p("restartPolicy"), why);
            } else if let Some(rp) = self.string(v, &p("restartPolicy")) {
                if rp == "Always" {
                    kind = Kind::Sidecar;
                } else {
                    self.error(v.at, &p("restartPolicy"), format!("'{rp}' is not supported: only Always (a sidecar)"));
                }
            }
        }
        let mut entry = Entry { name: name.clone(), ..Entry::defaults(kind) };
        let waiter = kind == Kind::Init && ann.entries.iter().any(|a| a.field == "wait-for" && a.container == name);
        match (c.get("command"), c.get("args")) {
            // A waiter's command is the shell stand-in `podinit export` wrote for a cluster.
            _ if waiter => {}
            (Some(cmd), args) => {
                let mut argv = self.argv(cmd, &p("command")).unwrap_or_default();
                if let Some(args) = args {
                    for (i, a) in self.list(args, &p("args")).iter().enumerate() {
                        argv.extend(self.string(a, &format!("{}[{i}]", p("args"))));
                    }
                }
                entry.command = argv;
            }
            (None, Some(args)) => self.error(
                args.at,
                &p("args"),
                "args without command: Kubernetes appends args to the image's entrypoint, and podinit runs no \
                 image; put the program and its arguments in command",
            ),
            (None, None) if clean => {
                self.error(n.at, path, "no command: podinit runs no image, so it needs the program in command")
            }
            (None, None) => {}
        }
        let ports = c.get("ports").map(|v| self.ports(v, &p("ports"))).unwrap_or_default();
        let mut env = Vec::new();
        if let Some(v) = c.get("env") {
            for (i, item) in self.list(v, &p("env")).iter().enumerate() {
                if let Some(var) = self.env_var(item, &format!("{}[{i}]", p("env")), downward) {
                    env.push(var);
                }
            }
        }
        if let Some(v) = c.get("workingDir") {
            entry.working_dir = self.nonempty(v, &p("workingDir")).map(PathBuf::from);
        }
        let sc = c.get("securityContext").map(|v| self.security(v, &p("securityContext"))).unwrap_or_default();
        let user = sc.user.clone().or(pod_sc.user.clone());
        let group = sc.group.clone().or(pod_sc.group.clone());
        entry.user = match (&user, &group) {
            (Some((u, ..)), Some((g, ..))) => Some(format!("{u}:{g}")),
            (Some((u, ..)), None) => Some(u.to_string()),
            (None, Some((_, at, gpath))) => {
                let has_user_annotation = ann.entries.iter().any(|a| a.field == "user" && a.container == name);
                if !has_user_annotation {
                    self.error(
                        *at,
                        gpath,
                        "runAsGroup without runAsUser: podinit needs both to switch user (set runAsUser too)",
                    );
                }
                None
            }
            (None, None) => None,
        };
        if let Some((true, at)) = sc.non_root.or(pod_sc.non_root) {
            let uid = user.as_ref().map(|(u, ..)| *u).unwrap_or_else(|| nix::unistd::geteuid().as_raw());
            let has_user_annotation = ann.entries.iter().any(|a| a.field == "user" && a.container == name);
            if uid == 0 && !has_user_annotation {
                let why = if user.is_some() {
                    "runAsUser is 0"
                } else {
                    "podinit itself runs as root and no runAsUser is set"
                };
                self.error(at, &format!("{path}.securityContext.runAsNonRoot"), format!("true, but {why}"));
            }
        }
        for (key, field) in [("startupProbe", 0), ("readinessProbe", 1), ("livenessProbe", 2)] {
            let Some(v) = c.get(key) else { continue };
            if kind == Kind::Init {
                let why =
                    "init containers have no probes (restartPolicy: Always makes one a sidecar, which can have them)";
                self.error(c.key_at(key), &p(key), why);
                continue;
            }
            let probe = self.probe(v, &p(key), key, &ports);
            match field {
                0 => entry.startup_probe = probe,
                1 => entry.readiness_probe = probe,
                _ => entry.liveness_probe = probe,
            }
        }
        if let Some(v) = c.get("lifecycle") {
            if kind == Kind::Init {
                let why =
                    "init containers have no lifecycle (restartPolicy: Always makes one a sidecar, which can have it)";
                self.error(c.key_at("lifecycle"), &p("lifecycle"), why);
            } else {
                let l =
                    self.object(v, &p("lifecycle"), &[("postStart", Use), ("preStop", Use), ("stopSignal", Use)], None);
                if let Some(h) = l.get("postStart") {
                    entry.post_start = self.handler(h, &p("lifecycle.postStart"), &ports);
                }
                if let Some(h) = l.get("preStop") {
                    entry.pre_stop = self.handler(h, &p("lifecycle.preStop"), &ports);
                }
                if let Some(sig) = l.get("stopSignal") {
                    entry.stop_signal = self.signal(sig, &p("lifecycle.stopSignal")).unwrap_or(entry.stop_signal);
                }
            }
        }
        if let Some(v) = c.get("ports") {
            self.infos.push((v.at, format!("{} ignored: {PORTS}", p("ports"))));
        }
        Some(Container { entry, origin: Origin { at: n.at, path: path.to_string() }, env, env_path: p("env") })
    }

    fn entry_name(&mut self, n: &Node, path: &str) -> Option<String> {
        let name = self.nonempty(n, path)?;
        let len = name.chars().count();
        let tame =
            name.chars().enumerate().all(|(i, c)| c.is_ascii_alphanumeric() || (i > 0 && matches!(c, '.' | '_' | '-')));
        if len > MAX_NAME_LEN {
            self.error(n.at, path, format!("'{name}' is too long ({len} characters, at most {MAX_NAME_LEN})"));
            return None;
        }
        if !tame {
            let why = "use letters, digits, '.', '_' and '-', starting with a letter or digit";
            self.error(n.at, path, format!("bad name '{name}': {why} (it becomes the marker file {name}.done)"));
            return None;
        }
        Some(name)
    }

    fn unique_names(&mut self, containers: &[Container]) {
        for (i, c) in containers.iter().enumerate() {
            if let Some(first) = containers[..i].iter().find(|f| f.entry.name == c.entry.name) {
                let message = format!(
                    "duplicate container name '{}' (first at {}, line {}): names are unique across initContainers and containers",
                    c.entry.name, first.origin.path, first.origin.at.line
                );
                self.error(c.origin.at, &join(&c.origin.path, "name"), message);
            }
        }
    }

    /// `ports[].name` → `containerPort`, for probes that name their port.
    fn ports(&mut self, n: &Node, path: &str) -> Vec<(String, u16)> {
        let mut out = Vec::new();
        for (i, item) in self.list(n, path).iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let table = [("name", Use), ("containerPort", Use)];
            let o = self.object(item, &ipath, &table, Some(Ignore(PORTS)));
            let port = o.get("containerPort").and_then(|v| self.int(v, &join(&ipath, "containerPort"), 1, 65535));
            let name = o.get("name").and_then(|v| self.string(v, &join(&ipath, "name")));
            if let (Some(name), Some(port)) = (name, port) {
                out.push((name, port as u16));
            }
        }
        out
    }

    fn env_var(&mut self, n: &Node, path: &str, downward: &Downward) -> Option<(String, String, Pos)> {
        let o = self.object(n, path, ENV_VAR, None);
        let Some(name_node) = o.get("name") else {
            self.error(n.at, path, "no 'name'");
            return None;
        };
        let name = self.string(name_node, &join(path, "name"))?;
        if name.is_empty() || name.contains('=') {
            self.error(
                name_node.at,
                &join(path, "name"),
                format!("bad variable name '{name}' (non-empty, without '=')"),
            );
            return None;
        }
        let value = match (o.get("value"), o.get("valueFrom")) {
            (Some(v), Some(f)) => {
                let _ = v;
                self.error(f.at, &join(path, "valueFrom"), "has both value and valueFrom");
                return None;
            }
            (Some(v), None) => self.string(v, &join(path, "value"))?,
            (None, Some(f)) => self.value_from(f, &join(path, "valueFrom"), downward)?,
            // Kubernetes: a variable without a value is set to the empty string.
            (None, None) => String::new(),
        };
        Some((name, value, n.at))
    }

    fn value_from(&mut self, n: &Node, path: &str, d: &Downward) -> Option<String> {
        let o = self.object(n, path, VALUE_FROM, None);
        let Some(f) = o.get("fieldRef") else {
            if o.rows.is_empty() && self.errors.iter().all(|e| !e.message.starts_with(path)) {
                self.error(n.at, path, "needs fieldRef");
            }
            return None;
        };
        let fpath = join(path, "fieldRef");
        let r = self.object(f, &fpath, &[("fieldPath", Use), ("apiVersion", Use)], None);
        if let Some(v) = r.get("apiVersion") {
            if self.string(v, &join(&fpath, "apiVersion")).is_some_and(|a| a != "v1") {
                self.error(v.at, &join(&fpath, "apiVersion"), "must be v1");
            }
        }
        let Some(fp) = r.get("fieldPath") else {
            self.error(f.at, &fpath, "no 'fieldPath'");
            return None;
        };
        let field = self.string(fp, &join(&fpath, "fieldPath"))?;
        // Literal values are escaped: Kubernetes does not expand $(VAR) in what the downward API gives.
        let literal = |s: &str| s.replace('$', "$$");
        let keyed = |prefix: &str| {
            let rest = field.strip_prefix(prefix)?.strip_suffix(']')?;
            let key = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
            key.or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'))).map(str::to_string)
        };
        let lookup = |map: &[(String, String)], k: &str| map.iter().find(|(n, _)| n == k).map(|(_, v)| literal(v));
        let value = match field.as_str() {
            "metadata.name" => "$(POD_NAME)".to_string(),
            "metadata.namespace" => "$(POD_NAMESPACE)".to_string(),
            "metadata.uid" => literal(&d.uid),
            "spec.nodeName" => literal(&d.node_name.clone().unwrap_or_else(hostname)),
            "spec.serviceAccountName" => literal(d.service_account.as_deref().unwrap_or("default")),
            "status.podIP" => pod_ip(),
            _ => {
                if let Some(k) = keyed("metadata.labels[") {
                    lookup(&d.labels, &k).unwrap_or_default()
                } else if let Some(k) = keyed("metadata.annotations[") {
                    lookup(&d.annotations, &k).unwrap_or_default()
                } else {
                    let known = "metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], \
                                 metadata.annotations['KEY'], spec.nodeName, spec.serviceAccountName, status.podIP";
                    self.error(
                        fp.at,
                        &join(&fpath, "fieldPath"),
                        format!("'{field}' is not supported (podinit knows {known})"),
                    );
                    return None;
                }
            }
        };
        Some(value)
    }

    fn probe(&mut self, n: &Node, path: &str, which: &str, ports: &[(String, u16)]) -> Option<Probe> {
        let before = self.errors.len();
        let o = self.object(n, path, PROBE, None);
        let mut probe = Probe {
            action: ProbeAction::Exec(Vec::new()),
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        };
        let mut action = None;
        for (key, _) in &o.rows {
            let v = o.get(&key.name)?;
            let kp = join(path, &key.name);
            let found = match key.name.as_str() {
                "exec" => {
                    let e = self.object(v, &kp, &[("command", Use)], None);
                    match e.get("command") {
                        Some(c) => self.argv(c, &join(&kp, "command")).map(ProbeAction::Exec),
                        None => {
                            self.error(v.at, &kp, "no 'command'");
                            None
                        }
                    }
                }
                "httpGet" => self.http_get(v, &kp, ports).map(ProbeAction::Http),
                "tcpSocket" => {
                    let t = self.object(v, &kp, &[("port", Use), ("host", Use)], None);
                    self.host_port(v, &t, &kp, ports).map(|(h, p)| ProbeAction::Tcp(format!("{h}:{p}")))
                }
                "initialDelaySeconds" => {
                    probe.initial_delay = self.seconds(v, &kp, 0).unwrap_or(probe.initial_delay);
                    continue;
                }
                "periodSeconds" => {
                    probe.period = self.seconds(v, &kp, 1).unwrap_or(probe.period);
                    continue;
                }
                "timeoutSeconds" => {
                    probe.timeout = self.seconds(v, &kp, 1).unwrap_or(probe.timeout);
                    continue;
                }
                "successThreshold" => {
                    probe.success_threshold = self.int(v, &kp, 1, i64::from(i32::MAX)).unwrap_or(1) as u32;
                    if probe.success_threshold != 1 && which != "readinessProbe" {
                        self.error(v.at, &kp, format!("must be 1 for a {which} (as in Kubernetes)"));
                    }
                    continue;
                }
                "failureThreshold" => {
                    probe.failure_threshold = self.int(v, &kp, 1, i64::from(i32::MAX)).unwrap_or(3) as u32;
                    continue;
                }
                _ => continue,
            };
            if let Some((first, _)) = &action {
                self.error(key.at, path, format!("has both {first} and {}: a probe does exactly one check", key.name));
            } else {
                action = Some((key.name.clone(), found));
            }
        }
        match action {
            Some((_, Some(a))) => {
                probe.action = a;
                Some(probe)
            }
            Some((_, None)) => None,
            None => {
                // Not after an unknown or refused field there: that one is the problem.
                if matches!(n.val, Val::Map(_)) && self.errors.len() == before {
                    self.error(n.at, path, "needs one of exec, httpGet or tcpSocket");
                }
                None
            }
        }
    }

    /// A hook: exec runs its command; httpGet and sleep are run by podinit itself
    /// (`podinit --hook-http-get URL`, `--hook-sleep SECONDS`), so they need no curl
    /// or sleep binary.
    fn handler(&mut self, n: &Node, path: &str, ports: &[(String, u16)]) -> Option<Vec<String>> {
        let before = self.errors.len();
        let o = self.object(n, path, HANDLER, None);
        let mut found: Option<(String, Option<Vec<String>>)> = None;
        for (key, v) in &o.rows {
            let kp = join(path, &key.name);
            let argv = match key.name.as_str() {
                "exec" => {
                    let e = self.object(v, &kp, &[("command", Use)], None);
                    match e.get("command") {
                        Some(c) => self.argv(c, &join(&kp, "command")),
                        None => {
                            self.error(v.at, &kp, "no 'command'");
                            None
                        }
                    }
                }
                "httpGet" => {
                    self.http_get(v, &kp, ports).map(|url| vec![HOOK_EXE.to_string(), HOOK_HTTP_GET.to_string(), url])
                }
                _ => {
                    let s = self.object(v, &kp, &[("seconds", Use)], None);
                    match s.get("seconds") {
                        Some(secs) => self
                            .int(secs, &join(&kp, "seconds"), 0, i64::from(i32::MAX))
                            .map(|secs| vec![HOOK_EXE.to_string(), HOOK_SLEEP.to_string(), secs.to_string()]),
                        None => {
                            self.error(v.at, &kp, "no 'seconds'");
                            None
                        }
                    }
                }
            };
            if let Some((first, _)) = &found {
                self.error(key.at, path, format!("has both {first} and {}: a hook does exactly one thing", key.name));
            } else {
                found = Some((key.name.clone(), argv));
            }
        }
        match found {
            Some((_, argv)) => argv,
            None => {
                if matches!(n.val, Val::Map(_)) && self.errors.len() == before {
                    self.error(n.at, path, "needs one of exec, httpGet or sleep");
                }
                None
            }
        }
    }

    /// `http://host:port/path` from an httpGet action.
    fn http_get(&mut self, n: &Node, path: &str, ports: &[(String, u16)]) -> Option<String> {
        let o = self.object(n, path, HTTP_GET, None);
        if let Some(s) = o.get("scheme") {
            match self.string(s, &join(path, "scheme"))?.as_str() {
                "HTTP" => {}
                "HTTPS" => {
                    let why =
                        "HTTPS is not supported: podinit's HTTP check speaks plain HTTP (an exec probe can run curl)";
                    self.error(s.at, &join(path, "scheme"), why);
                    return None;
                }
                other => {
                    self.error(s.at, &join(path, "scheme"), format!("'{other}' is not HTTP or HTTPS"));
                    return None;
                }
            }
        }
        let (host, port) = self.host_port(n, &o, path, ports)?;
        let mut p = match o.get("path") {
            Some(v) => self.string(v, &join(path, "path"))?,
            None => "/".to_string(),
        };
        if p.chars().any(char::is_whitespace) {
            self.error(o.get("path")?.at, &join(path, "path"), format!("'{p}' has white space in it"));
            return None;
        }
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        Some(format!("http://{host}:{port}{p}"))
    }

    /// The host (default 127.0.0.1; IPv6 in brackets) and port of a tcpSocket or httpGet.
    fn host_port(&mut self, n: &Node, o: &Obj, path: &str, ports: &[(String, u16)]) -> Option<(String, u16)> {
        let host = match o.get("host") {
            Some(h) => {
                let host = self.nonempty(h, &join(path, "host"))?;
                if host.chars().any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#' | '[' | ']')) {
                    self.error(h.at, &join(path, "host"), format!("'{host}' is not a host name or address"));
                    return None;
                }
                if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                }
            }
            // Kubernetes' default is the pod's IP; podinit's entries share one network, so loopback.
            None => "127.0.0.1".to_string(),
        };
        let Some(p) = o.get("port") else {
            self.error(n.at, path, "no 'port'");
            return None;
        };
        let port = match &p.val {
            Val::Str(name) => match ports.iter().find(|(n, _)| n == name) {
                Some((_, port)) => *port,
                None => {
                    let message = format!("no port named '{name}' in this container's ports");
                    self.error(p.at, &join(path, "port"), message);
                    return None;
                }
            },
            _ => self.int(p, &join(path, "port"), 1, 65535)? as u16,
        };
        Some((host, port))
    }

    fn signal(&mut self, n: &Node, path: &str) -> Option<i32> {
        let s = self.string(n, path)?;
        match signals::parse(&s) {
            Ok(sig) => Some(sig),
            Err(e) => {
                self.error(n.at, path, e.to_string());
                None
            }
        }
    }

    // -----------------------------------------------------------------------
    // podinit's own annotations.

    fn annotations(&mut self, rows: &[(Key, Node)], label: &str) -> Annotations {
        let mut ann = Annotations::default();
        for (k, v) in rows {
            let Some(rest) = k.name.strip_prefix(ANN) else { continue };
            let path = format!("{}.annotations['{}']", join(label, "metadata"), k.name);
            let value = v.as_str().unwrap_or_default().to_string();
            let at = if v.val == Val::Null { k.at } else { v.at };
            if POD_ANNOTATIONS.contains(&rest) {
                ann.pod.push((rest.to_string(), value, at, path));
                continue;
            }
            let (field, container) = rest.split_once('.').unwrap_or((rest, ""));
            if !ENTRY_ANNOTATIONS.iter().any(|(f, _)| *f == field) {
                let mut known: Vec<&str> = POD_ANNOTATIONS.to_vec();
                known.extend(ENTRY_ANNOTATIONS.iter().map(|(f, _)| *f));
                let hint = closest(field, &known).map(|s| format!(", did you mean '{ANN}{s}'?")).unwrap_or_default();
                self.error(k.at, &path, format!("unknown podinit annotation{hint}"));
                continue;
            }
            if container.is_empty() {
                self.error(k.at, &path, format!("names no container: write {ANN}{field}.<container>"));
                continue;
            }
            ann.entries.push(EntryAnnotation {
                field: field.to_string(),
                container: container.to_string(),
                value,
                at,
                path,
            });
        }
        ann
    }

    fn apply_annotations(&mut self, pod: &mut Pod, ann: &Annotations, containers: &mut [Container]) {
        for (field, value, at, path) in &ann.pod {
            let at = *at;
            match field.as_str() {
                "marker-dir" | "state-dir" => {
                    if value.is_empty() {
                        self.error(at, path, "must not be empty");
                    } else if field == "marker-dir" {
                        pod.marker_dir = PathBuf::from(value);
                    } else {
                        pod.state_dir = PathBuf::from(value);
                    }
                }
                "log-prefix" => pod.log_prefix = self.ann_bool(value, at, path).unwrap_or(false),
                "termination-grace-period" => {
                    pod.termination_grace_period =
                        self.ann_duration(value, at, path, false).unwrap_or(pod.termination_grace_period)
                }
                "active-deadline" => {
                    pod.active_deadline = self.ann_duration(value, at, path, true).or(pod.active_deadline)
                }
                _ => {}
            }
        }
        for a in &ann.entries {
            let Some(c) = containers.iter_mut().find(|c| c.entry.name == a.container) else {
                self.error(a.at, &a.path, format!("no container named '{}'", a.container));
                continue;
            };
            let valid = ENTRY_ANNOTATIONS.iter().find(|(f, _)| *f == a.field).map(|(_, k)| *k).unwrap_or(&[]);
            if !valid.contains(&c.entry.kind) {
                let what = match c.entry.kind {
                    Kind::Init => "an init step",
                    Kind::Sidecar => "a sidecar",
                    Kind::App => "an app",
                };
                self.error(a.at, &a.path, format!("'{}' is {what}, and {} does not apply to it", a.container, a.field));
                continue;
            }
            let e = &mut c.entry;
            let (v, at, path) = (a.value.as_str(), a.at, a.path.as_str());
            match a.field.as_str() {
                "once" => e.once = self.ann_bool(v, at, path).unwrap_or(true),
                "timeout" => e.timeout = self.ann_duration(v, at, path, true),
                "essential" => e.essential = self.ann_bool(v, at, path).unwrap_or(false),
                "user" => {
                    if v.is_empty() || v.split(':').count() > 2 || v.split(':').any(str::is_empty) {
                        self.error(at, path, format!("bad user '{v}' (expected a user name, or uid[:gid])"));
                    } else {
                        e.user = Some(v.to_string());
                    }
                }
                "stop-signal" => match signals::parse(v) {
                    Ok(sig) => e.stop_signal = sig,
                    Err(err) => self.error(at, path, err.to_string()),
                },
                "wait-for" => {
                    e.wait_for = self.ann_wait_for(v, at, path);
                    e.command.clear();
                }
                probe => {
                    let slot = match probe {
                        "startup-probe" => &mut e.startup_probe,
                        "readiness-probe" => &mut e.readiness_probe,
                        _ => &mut e.liveness_probe,
                    };
                    match slot {
                        Some(p) => {
                            let mut p2 = p.clone();
                            self.ann_probe(v, at, path, &mut p2);
                            *p = p2;
                        }
                        None => self.error(at, path, format!("'{}' has no {probe}", a.container)),
                    }
                }
            }
        }
        self.split_pod_env(pod, ann, containers);
    }

    /// The env of every container starts with the pod-level variables `podinit.dev/pod-env` names
    /// (that is how `podinit export` writes the pod's [env]): take them out once, as the pod's.
    fn split_pod_env(&mut self, pod: &mut Pod, ann: &Annotations, containers: &mut [Container]) {
        for c in containers.iter_mut() {
            // What podinit sets by itself anyway (export adds them for a cluster): drop them.
            let name = c.entry.name.clone();
            let mut seen: Vec<String> = Vec::new();
            c.env.retain(|(k, v, _)| {
                let redundant = !seen.contains(k)
                    && ((k == "POD_NAME" && v == "$(POD_NAME)")
                        || (k == "POD_NAMESPACE" && v == "$(POD_NAMESPACE)")
                        || (k == "CONTAINER_NAME" && *v == name));
                seen.push(k.clone());
                !redundant
            });
        }
        let names: Vec<String> = match ann.pod.iter().find(|(f, ..)| f == "pod-env") {
            Some((_, v, ..)) => v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            None => Vec::new(),
        };
        let path = ann.pod.iter().find(|(f, ..)| f == "pod-env").map(|(.., p)| p.clone()).unwrap_or_default();
        let mut shared: Option<Vec<(String, String)>> = None;
        for c in containers.iter() {
            let head: Vec<(String, String)> =
                c.env.iter().take(names.len()).map(|(k, v, _)| (k.clone(), v.clone())).collect();
            let names_match = head.len() == names.len() && head.iter().zip(&names).all(|((k, _), n)| k == n);
            if !names_match || shared.as_ref().is_some_and(|s| *s != head) {
                let message = format!(
                    "{path} says every container's env starts with {}, but this one's does not",
                    names.join(", ")
                );
                let at = c.env.first().map_or(c.origin.at, |(_, _, at)| *at);
                self.error(at, &c.env_path, message);
                return;
            }
            shared = Some(head);
        }
        pod.env = shared.unwrap_or_default();
        for c in containers.iter_mut() {
            c.entry.env = c.env.iter().skip(names.len()).map(|(k, v, _)| (k.clone(), v.clone())).collect();
        }
    }

    fn ann_bool(&mut self, v: &str, at: Pos, path: &str) -> Option<bool> {
        match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.error(at, path, format!("'{v}' is not \"true\" or \"false\""));
                None
            }
        }
    }

    fn ann_duration(&mut self, v: &str, at: Pos, path: &str, nonzero: bool) -> Option<Duration> {
        match parse_duration(v) {
            Ok(d) if nonzero && d.is_zero() => self.error(at, path, "must be longer than 0"),
            Ok(d) => return Some(d),
            Err(why) => self.error(at, path, format!("bad duration '{v}' ({why})")),
        }
        None
    }

    /// A JSON object in an annotation value, as (key, value node) rows.
    fn ann_object(&mut self, v: &str, at: Pos, path: &str) -> Vec<(Key, Node)> {
        match yaml::parse(v).map(|mut d| d.pop()) {
            Ok(Some(Node { val: Val::Map(rows), .. })) => rows,
            Ok(_) => {
                self.error(at, path, "must be a JSON object, like {\"tcp\": \"127.0.0.1:5432\"}");
                Vec::new()
            }
            Err(e) => {
                self.error(at, path, format!("invalid JSON: {}", e.message));
                Vec::new()
            }
        }
    }

    fn ann_string(&mut self, n: &Node, at: Pos, path: &str) -> Option<String> {
        match &n.val {
            Val::Str(s) if !s.is_empty() && !s.contains('\0') => Some(s.clone()),
            _ => {
                self.error(at, path, format!("must be a non-empty string, found {}", n.describe()));
                None
            }
        }
    }

    fn ann_wait_for(&mut self, v: &str, at: Pos, path: &str) -> Option<WaitFor> {
        let before = self.errors.len();
        let mut target = None;
        let (mut timeout, mut period) = (None, Duration::from_secs(1));
        for (k, n) in self.ann_object(v, at, path) {
            let kp = format!("{path}: {}", k.name);
            let t = match k.name.as_str() {
                "tcp" => self.ann_string(&n, at, &kp).map(WaitTarget::Tcp),
                "http" => self.ann_string(&n, at, &kp).map(WaitTarget::Http),
                "file" => self.ann_string(&n, at, &kp).map(|s| WaitTarget::File(s.into())),
                "unix" => self.ann_string(&n, at, &kp).map(|s| WaitTarget::Unix(s.into())),
                "timeout" | "period" => {
                    let d = self.ann_string(&n, at, &kp).and_then(|s| self.ann_duration(&s, at, &kp, true));
                    if k.name == "timeout" {
                        timeout = d;
                    } else {
                        period = d.unwrap_or(period);
                    }
                    continue;
                }
                other => {
                    self.error(
                        at,
                        path,
                        format!("unknown key '{other}' (valid: tcp, http, file, unix, timeout, period)"),
                    );
                    continue;
                }
            };
            if target.is_some() {
                self.error(at, path, "waits for exactly one of tcp, http, file or unix");
            }
            target = t.or(target);
        }
        match target {
            Some(target) => Some(WaitFor { target, timeout, period }),
            None => {
                if self.errors.len() == before {
                    self.error(at, path, "needs one of tcp, http, file or unix");
                }
                None
            }
        }
    }

    /// Exact values `podinit export` could not write in Kubernetes' fields (sub-second
    /// durations, a URL in a form other than http://host:port/path).
    fn ann_probe(&mut self, v: &str, at: Pos, path: &str, p: &mut Probe) {
        for (k, n) in self.ann_object(v, at, path) {
            let kp = format!("{path}: {}", k.name);
            match k.name.as_str() {
                "exec" => {
                    let argv = match &n.val {
                        Val::Seq(items) => {
                            items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()
                        }
                        _ => None,
                    };
                    match argv.filter(|a| a.first().is_some_and(|p| !p.is_empty())) {
                        Some(argv) => p.action = ProbeAction::Exec(argv),
                        None => self.error(at, &kp, "must be a non-empty list of strings"),
                    }
                }
                "tcp" => p.action = self.ann_string(&n, at, &kp).map(ProbeAction::Tcp).unwrap_or(p.action.clone()),
                "http" => p.action = self.ann_string(&n, at, &kp).map(ProbeAction::Http).unwrap_or(p.action.clone()),
                "initial_delay" | "period" | "timeout" => {
                    let nonzero = k.name != "initial_delay";
                    if let Some(d) = self.ann_string(&n, at, &kp).and_then(|s| self.ann_duration(&s, at, &kp, nonzero))
                    {
                        match k.name.as_str() {
                            "initial_delay" => p.initial_delay = d,
                            "period" => p.period = d,
                            _ => p.timeout = d,
                        }
                    }
                }
                other => self.error(
                    at,
                    path,
                    format!("unknown key '{other}' (valid: exec, tcp, http, initial_delay, period, timeout)"),
                ),
            }
        }
    }
}

/// What `metadata` gives: name, namespace, uid, annotations, labels.
type Meta = (Option<String>, Option<String>, Option<String>, Vec<(Key, Node)>, Vec<(String, String)>);

#[derive(Default, Clone)]
struct Security {
    user: Option<(u32, Pos, String)>,
    group: Option<(u32, Pos, String)>,
    non_root: Option<(bool, Pos)>,
}

#[derive(Default)]
struct Annotations {
    /// (field, value, where, field path)
    pod: Vec<(String, String, Pos, String)>,
    entries: Vec<EntryAnnotation>,
}

struct EntryAnnotation {
    field: String,
    container: String,
    value: String,
    at: Pos,
    path: String,
}

/// `pod` with the mapped containers as its init entries and apps.
fn pod_with(pod: &Pod, containers: &[Container]) -> Pod {
    let mut p = pod.clone();
    p.init = containers.iter().filter(|c| c.entry.kind != Kind::App).map(|c| c.entry.clone()).collect();
    p.apps = containers.iter().filter(|c| c.entry.kind == Kind::App).map(|c| c.entry.clone()).collect();
    p
}

/// A fresh pod UID when the manifest has none (a cluster gives each pod a new one).
fn random_uid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `spec.nodeName` when the manifest has none: the machine's host name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `status.podIP`: the first address of an up, non-loopback interface (IPv4 first),
/// else 127.0.0.1.
fn pod_ip() -> String {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return "127.0.0.1".to_string() };
    let mut v6 = None;
    for a in addrs {
        let up = a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP)
            && !a.flags.contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK);
        let Some(addr) = a.address.filter(|_| up) else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            return v4.ip().to_string();
        }
        if let Some(s6) = addr.as_sockaddr_in6() {
            let ip = s6.ip();
            // Link-local addresses need a scope to be usable; a pod IP never is one.
            if v6.is_none() && (ip.segments()[0] & 0xffc0) != 0xfe80 {
                v6 = Some(ip.to_string());
            }
        }
    }
    v6.unwrap_or_else(|| "127.0.0.1".to_string())
}
