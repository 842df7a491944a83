//! A Kubernetes manifest (its parsed tree) to the [`Pod`] the TOML reader would
//! give, collecting every error with its line, column and field path: the
//! format's own here, the model's rules from `config/validate.rs`, each placed
//! at the field it faults.
//!
//! Every field is in one of three classes (the tables below): used, ignored
//! with an INFO line (it matters only on a cluster: image, resources, …), or
//! refused (it would change what runs and podinit cannot do it: envFrom, …).
//! A field in no table is an error, as an unknown key of the pod file is: a
//! typo must not be silently dropped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::images::{ImageConfig, Images};
use super::yaml::{self, Key, Node, Pos, Val};
use super::{Inputs, ANN, HOOK_EXE, HOOK_HTTP_GET, HOOK_SLEEP};
use crate::config::suggest::closest;
use crate::config::validate::{self, Field, FieldRef, Format, ProbeField, Subject};
use crate::config::{
    parse_duration, ConfigError, Entry, FromImage, Kind, Pod, Probe, ProbeAction, ProbeKind, RestartPolicy, WaitFor,
    WaitTarget,
};
use crate::sys::signals;

mod annotations;
mod env;
mod fields;
mod lifecycle;
mod probes;
mod resources;
mod sources;
mod volumes;

#[cfg(test)]
pub(crate) use resources::quantity as quantity_for_tests;
#[cfg(test)]
pub(crate) use sources::decode_base64 as decode_base64_for_tests;

use annotations::*;
use fields::*;

/// Reads the manifest `text` of `file` into a validated pod; on success also
/// logs one INFO line per ignored field.
/// `inputs` are the image configurations and ConfigMap/Secret directories of the command line.
pub(crate) fn read(file: &Path, text: &str, inputs: &Inputs) -> Result<Pod, Vec<ConfigError>> {
    let mut r = Reader {
        file,
        errors: Vec::new(),
        infos: Vec::new(),
        images: Images::default(),
        store: sources::Store::new(inputs),
        indexed_job: None,
        claims: Vec::new(),
        lenient: inputs.lenient,
        resources: Vec::new(),
        current: String::new(),
        fields: Vec::new(),
    };
    for spec in &inputs.images {
        if let Err(e) = r.images.load(spec, Path::new(".")) {
            r.error(Pos::default(), "", format!("--images {spec}: {e}"));
        }
    }
    let parsed = yaml::parse(text);
    let pod = match &parsed {
        Ok(docs) => r.documents(docs),
        Err(e) => {
            let what = if text.trim_start().starts_with('{') { "JSON" } else { "YAML" };
            r.error(e.at, "", format!("invalid {what}: {}", e.message));
            None
        }
    };
    match pod {
        Some(mut pod) if r.errors.is_empty() => {
            for (at, line) in &r.infos {
                log::info!("{}:{}:{}: {line}", file.display(), at.line, at.col);
            }
            // Kept for `podinit export`, which gives the manifest back (write.rs).
            let manifest = super::Manifest { docs: parsed.unwrap_or_default(), read: pod.clone() };
            pod.source = super::Source(Some(std::sync::Arc::new(manifest)));
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

/// Where a container or a field was read: for the problems `validate` finds in the model.
#[derive(Clone)]
struct Origin {
    at: Pos,
    path: String,
}

struct Reader<'a> {
    file: &'a Path,
    errors: Vec<ConfigError>,
    infos: Vec<(Pos, String)>,
    /// What each image would run (`--images`, `podinit.dev/images`).
    images: Images,
    /// ConfigMaps and Secrets: the file's documents and the `--configmaps`/`--secrets` directories.
    store: sources::Store,
    /// An Indexed Job's name: its pod is index 0 (`JOB_COMPLETION_INDEX`, the host name).
    indexed_job: Option<String>,
    /// A StatefulSet's volumeClaimTemplates: directories, as a persistentVolumeClaim is.
    claims: Vec<String>,
    /// Missing image configurations, ConfigMaps and Secrets are no error (Inputs::lenient).
    lenient: bool,
    /// Each container's resource limits and requests, for `resourceFieldRef`.
    resources: Vec<resources::Resources>,
    /// The container being read, for an env `resourceFieldRef` without containerName.
    current: String,
    /// Where the container being read has each field `validate` may fault.
    fields: Vec<(Field, Origin)>,
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
    /// The pod's name and namespace, for downwardAPI files (env vars refer to $(POD_NAME)).
    name: String,
    namespace: String,
    /// metadata.uid when the manifest sets one (else resolved at start).
    uid: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    node_name: Option<String>,
    service_account: Option<String>,
}

/// One container of the manifest, mapped.
struct Container {
    entry: Entry,
    origin: Origin,
    /// Where each of its fields that `validate` may fault was read.
    fields: Vec<(Field, Origin)>,
    /// Its env before the pod-level part is split off: (name, value, where).
    env: Vec<(String, String, Pos)>,
    env_path: String,
    /// `volumeMounts[]`.
    mounts: Vec<volumes::MountRead>,
}

impl Reader<'_> {
    /// Records that the container being read has `field` at `at`, `path`.
    fn field(&mut self, field: Field, at: Pos, path: String) {
        self.fields.push((field, Origin { at, path }));
    }

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
                Some(&(_, api, template)) => {
                    pods.push(PodObject { node: obj, label: label.clone(), kind, api, template, desc })
                }
                None if kind == "ConfigMap" => self.source_document(obj, label, sources::Source::ConfigMap),
                None if kind == "Secret" => self.source_document(obj, label, sources::Source::Secret),
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
                let p = pods.remove(0);
                self.workload(p.node, &p.label, &p.kind, p.api, p.template)
            }
            n => {
                let list = pods.iter().map(|p| p.desc.as_str()).collect::<Vec<_>>().join(", ");
                self.error(
                    pods[1].node.at,
                    "",
                    format!("{n} documents have a pod spec ({list}): podinit runs one pod"),
                );
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
            // The Job controller gives an Indexed Job's pods their index (this one is 0).
            // A StatefulSet's volumeClaimTemplates are volumes of its pods, named as the templates.
            if let Some(Val::Seq(claims)) = node.get("volumeClaimTemplates").map(|n| &n.val) {
                let names = claims.iter().filter_map(|c| c.get("metadata")?.get("name")?.as_str());
                self.claims.extend(names.map(str::to_string));
            }
            if node.get("completionMode").and_then(Node::as_str) == Some("Indexed") {
                let job = meta.and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("job");
                self.indexed_job = Some(job.to_string());
            }
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
        let named = |r: &mut Self, key: &str| {
            let v = m.get(key)?;
            let path = join(path, key);
            r.nonempty(v, &path).map(|value| (value, Origin { at: v.at, path }))
        };
        let name = named(self, "name");
        let namespace = named(self, "namespace");
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
        Meta { name, namespace, uid, annotations, labels }
    }

    /// The pod's metadata: the object's, under its pod template's (a workload's).
    fn pod_metadata(&mut self, meta: Option<&Node>, template_meta: Option<(&Node, String)>, label: &str) -> Meta {
        let mut m = match meta {
            Some(m) => self.metadata(m, &join(label, "metadata")),
            None => Meta::default(),
        };
        if let Some((tm, tpath)) = template_meta {
            let t = self.metadata(tm, &tpath);
            m.name = t.name.or(m.name);
            m.namespace = t.namespace.or(m.namespace);
            m.uid = t.uid.or(m.uid);
            // The template's own annotations win over the workload's; its labels are the pod's.
            m.annotations.retain(|(k, _)| !t.annotations.iter().any(|(k2, _)| k2.name == k.name));
            m.annotations.extend(t.annotations);
            m.labels = t.labels;
        }
        m
    }

    /// restartPolicy, terminationGracePeriodSeconds, activeDeadlineSeconds and os of a pod spec.
    fn pod_settings(&mut self, s: &Obj, pod: &mut Pod, spec_path: &str) {
        let p = |k: &str| join(spec_path, k);
        if let Some(v) = s.get("restartPolicy") {
            if let Some(rp) = self.string(v, &p("restartPolicy")) {
                pod.restart_policy = rp.parse().unwrap_or_else(|_| {
                    self.error(v.at, &p("restartPolicy"), format!("'{rp}' is not Always, OnFailure or Never"));
                    RestartPolicy::Always
                });
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
    }

    /// initContainers then containers, each mapped (those with an error left out).
    fn containers(
        &mut self,
        s: &Obj,
        spec: &Node,
        spec_path: &str,
        base: &Base,
        downward: &Downward,
        ann: &Annotations,
    ) -> Vec<Container> {
        let p = |k: &str| join(spec_path, k);
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
                if let Some(c) = self.container(item, &path, kind, base, downward, ann) {
                    containers.push(c);
                }
            }
        }
        containers
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
        let Meta { name, namespace, uid, annotations, labels } = self.pod_metadata(meta, template_meta, label);
        let mut pod = Pod::defaults(self.file);
        // Where the pod's own fields were read, for `validate`.
        let mut pod_fields = Vec::new();
        if let Some((n, origin)) = name {
            pod.name = n;
            pod_fields.push((Field::Name, origin));
        }
        if let Some((ns, origin)) = namespace {
            pod.namespace = ns;
            pod_fields.push((Field::Namespace, origin));
        }
        let ann = self.annotations(&annotations, label);
        self.input_annotations(&ann);
        let s = self.object(spec, spec_path, POD_SPEC, None);
        let p = |k: &str| join(spec_path, k);
        self.pod_settings(&s, &mut pod, spec_path);
        let node_name = s.get("nodeName").and_then(|v| self.string(v, &p("nodeName")));
        let service_account = s
            .get("serviceAccountName")
            .map(|v| (v, "serviceAccountName"))
            .or(s.get("serviceAccount").map(|v| (v, "serviceAccount")))
            .and_then(|(v, k)| self.string(v, &p(k)));
        let pod_sc = s.get("securityContext").map(|v| self.security(v, &p("securityContext"))).unwrap_or_default();
        let mut annotations: Vec<(String, String)> =
            annotations.iter().map(|(k, v)| (k.name.clone(), v.as_str().unwrap_or_default().to_string())).collect();
        if self.indexed_job.is_some() {
            // What the Job controller adds to an Indexed Job's pod (the env var reads it).
            annotations.push(("batch.kubernetes.io/job-completion-index".to_string(), "0".to_string()));
        }
        let downward = Downward {
            name: pod.name.clone(),
            namespace: pod.namespace.clone(),
            uid,
            labels,
            annotations,
            node_name,
            service_account,
        };
        self.resources = resources::container_resources(spec);
        let mut declared = s.get("volumes").map(|v| self.volumes(v, &p("volumes"), &downward)).unwrap_or_default();
        for name in std::mem::take(&mut self.claims) {
            if !declared.iter().any(|d| d.volume.name == name) {
                let volume =
                    crate::config::Volume { name, content: crate::config::VolumeContent::Dir, mounts: Vec::new() };
                declared.push(volumes::Declared { volume, ok: true });
            }
        }
        // What the container runtime sets first: HOSTNAME is the pod's host name (spec.hostname,
        // an Indexed Job's `NAME-INDEX`, else the pod's name).
        // The Job controller sets an Indexed Job's pod's hostname whatever the template says.
        let hostname = match (s.get("hostname"), &self.indexed_job) {
            (_, Some(job)) => Some(format!("{}-0", job.replace('$', "$$"))),
            (Some(h), None) => self.nonempty(h, &p("hostname")).map(|h| h.replace('$', "$$")),
            (None, None) => None,
        };
        let base = Base { hostname: hostname.unwrap_or_else(|| "$(POD_NAME)".to_string()), pod_sc: pod_sc.clone() };
        let mut containers = self.containers(&s, spec, spec_path, &base, &downward, &ann);
        pod.volumes = self.attach_mounts(declared, &containers);
        self.apply_annotations(&mut pod, &ann, &mut containers, &mut pod_fields);
        let pod = pod_with(pod, &containers);
        let spec_origin = Origin { at: spec.at, path: spec_path.to_string() };
        self.validate(&pod, &containers, &pod_fields, &spec_origin);
        if self.errors.is_empty() {
            Some(pod)
        } else {
            None
        }
    }

    /// Checks the model's rules (`validate.rs`) on `pod`, each problem at the field it
    /// faults: where it was read, else its container, else the pod's spec.
    fn validate(&mut self, pod: &Pod, containers: &[Container], pod_fields: &[(Field, Origin)], spec: &Origin) {
        // pod.init and pod.apps are the containers in order (pod_with): Init(i) is the
        // i-th that is not an app.
        // After an error, a rule about what a container lacks (a command) would only repeat it.
        let clean = self.errors.is_empty();
        // Indexed once: a problem per container (all named alike) must not scan the list each time.
        let (inits, apps): (Vec<&Container>, Vec<&Container>) =
            containers.iter().partition(|c| c.entry.kind != Kind::App);
        let container = |of: Subject| match of {
            Subject::Pod => None,
            Subject::Init(i) => inits.get(i).copied(),
            Subject::App(i) => apps.get(i).copied(),
        };
        let origin = |at: FieldRef| -> Option<&Origin> {
            match container(at.of) {
                None => Some(field_origin(pod_fields, at.field).unwrap_or(spec)),
                Some(_) if !clean && at.field == Field::Whole => None,
                Some(c) => Some(field_origin(&c.fields, at.field).unwrap_or(&c.origin)),
            }
        };
        let mut placed = Vec::new();
        for problem in validate::validate(pod, Format::Manifest, None) {
            let Some(o) = origin(problem.at) else { continue };
            let (mut o, mut message) = (o.clone(), problem.message);
            if let Some((first, c)) = problem.first.and_then(|f| Some((origin(f)?, container(f.of)?))) {
                let (path, line) = (&c.origin.path, first.at.line);
                message = format!(
                    "{message} (first at {path}, line {line}): names are unique across initContainers and containers"
                );
                // A duplicate is the container's fault, not its name's: at the container (its `- `).
                if let Some(c) = container(problem.at.of) {
                    o.at = c.origin.at;
                }
            }
            placed.push((o, message));
        }
        for (o, message) in placed {
            self.error(o.at, &o.path, message);
        }
    }

    /// runAsUser, runAsGroup, runAsNonRoot of a security context; the rest is ignored.
    fn security(&mut self, n: &Node, path: &str) -> Security {
        let table = [("runAsUser", Use), ("runAsGroup", Use), ("runAsNonRoot", Use)];
        let o = self.object(n, path, &table, Some(Ignore(SECURITY)));
        let id = |r: &mut Self, k: &str| {
            o.get(k).and_then(|v| {
                let path = join(path, k);
                r.int(v, &path, 0, i64::from(u32::MAX - 1))
                    .map(|n| Id { id: n as u32, origin: Origin { at: v.at, path } })
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
        base: &Base,
        downward: &Downward,
        ann: &Annotations,
    ) -> Option<Container> {
        let pod_sc = &base.pod_sc;
        let before = self.errors.len();
        self.fields.clear();
        let c = self.object(n, path, CONTAINER, None);
        // After an unknown field (`comand`), "no command" would only repeat the problem.
        let clean = self.errors.len() == before;
        let p = |k: &str| join(path, k);
        let name = match c.get("name") {
            Some(v) => {
                self.field(Field::Name, v.at, p("name"));
                self.nonempty(v, &p("name"))?
            }
            None => {
                self.error(n.at, path, "no 'name'");
                return None;
            }
        };
        let mut kind = section;
        // KEP-5307: any container may set its own restartPolicy; on an init container Always makes a sidecar.
        let mut own_policy = None;
        if let Some(v) = c.get("restartPolicy") {
            self.field(Field::RestartPolicy, v.at, p("restartPolicy"));
            let (policy, sidecar) = self.container_policy(v, &p("restartPolicy"), section == Kind::Init);
            own_policy = policy;
            if sidecar {
                kind = Kind::Sidecar;
            }
        }
        let mut entry = Entry { name: name.clone(), restart_policy: own_policy, ..Entry::defaults(kind) };
        if let Some(v) = c.get("restartPolicyRules") {
            self.field(Field::RestartRules, c.key_at("restartPolicyRules"), p("restartPolicyRules"));
            entry.restart_rules = self.restart_rules(v, &p("restartPolicyRules"));
        }
        let mut mounts = c.get("volumeMounts").map(|v| self.mounts(v, &p("volumeMounts"), &name)).unwrap_or_default();
        // A fileKeyRef finds its file at the volume's mount path in this container.
        let mount_paths: Vec<(String, PathBuf)> = mounts.iter().map(|(v, m, ..)| (v.clone(), m.path.clone())).collect();
        let waiter = kind == Kind::Init && ann.entries.iter().any(|a| a.field == "wait-for" && a.container == name);
        let (config, mut from_image) = self.container_command(&c, n, path, waiter, clean, &mut entry);
        let ports = c.get("ports").map(|v| self.ports(v, &p("ports"))).unwrap_or_default();
        self.current = name.clone();
        let env = self.container_env(&c, path, downward, &mount_paths, &mut entry);
        if let Some(v) = c.get("workingDir") {
            entry.working_dir = self.nonempty(v, &p("workingDir")).map(PathBuf::from);
        }
        self.expand_sub_paths(&mut mounts, &env, downward);
        // Under the container's env (and the pod's): HOSTNAME, the image's Env, an Indexed Job's index.
        entry.base_env.push(("HOSTNAME".to_string(), base.hostname.clone()));
        let image_user = config.as_ref().and_then(|c| c.user.clone());
        if let Some(cfg) = &config {
            entry.base_env.extend(cfg.env.iter().map(|(k, v)| (k.clone(), v.replace('$', "$$"))));
            if entry.working_dir.is_none() && cfg.working_dir.is_some() {
                entry.working_dir = cfg.working_dir.as_ref().map(PathBuf::from);
                from_image.working_dir = true;
            }
        }
        if self.indexed_job.is_some() {
            entry.base_env.push(("JOB_COMPLETION_INDEX".to_string(), "0".to_string()));
        }
        let has_user_annotation = ann.entries.iter().any(|a| a.field == "user" && a.container == name);
        entry.user = self.container_user(&c, path, pod_sc, image_user, has_user_annotation, &mut from_image);
        self.container_checks(&c, path, kind, &ports, &mut entry);
        if let Some(v) = c.get("ports") {
            self.infos.push((v.at, format!("{} ignored: {PORTS}", p("ports"))));
        }
        if config.is_some() {
            entry.from_image = Some(from_image);
        }
        Some(Container {
            entry,
            origin: Origin { at: n.at, path: path.to_string() },
            fields: std::mem::take(&mut self.fields),
            env,
            env_path: p("env"),
            mounts,
        })
    }

    /// A container's env: envFrom first, then env (which overrides it), as the kubelet
    /// builds them, each with where it was read; fileKeyRef variables go to the entry.
    fn container_env(
        &mut self,
        c: &Obj,
        path: &str,
        downward: &Downward,
        mount_paths: &[(String, PathBuf)],
        entry: &mut Entry,
    ) -> Vec<(String, String, Pos)> {
        let p = |k: &str| join(path, k);
        let mut env = c.get("envFrom").map(|v| self.env_from(v, &p("envFrom"))).unwrap_or_default();
        let mut from_env_from = env.len();
        if let Some(v) = c.get("env") {
            for (i, item) in self.list(v, &p("env")).iter().enumerate() {
                if item.get("valueFrom").and_then(|f| f.get("fileKeyRef")).is_some() {
                    entry.file_env.extend(self.file_key_ref(item, &format!("{}[{i}]", p("env")), mount_paths));
                    continue;
                }
                if let Some(var) = self.env_var(item, &format!("{}[{i}]", p("env")), downward) {
                    // env overrides what envFrom gave under the same name.
                    if let Some(j) = env[..from_env_from].iter().position(|(k, ..)| *k == var.0) {
                        env.remove(j);
                        from_env_from -= 1;
                    }
                    env.push(var);
                }
            }
        }
        env
    }

    /// A container's command: its own (with args), or its image's Entrypoint and Cmd;
    /// also the image's configuration and what of the entry came from it.
    fn container_command(
        &mut self,
        c: &Obj,
        n: &Node,
        path: &str,
        waiter: bool,
        clean: bool,
        entry: &mut Entry,
    ) -> (Option<ImageConfig>, FromImage) {
        let p = |k: &str| join(path, k);
        let image = c.get("image").and_then(|v| self.string(v, &p("image")));
        let config = image.as_deref().and_then(|i| self.images.get(i)).cloned();
        // Kubernetes: an empty command is no command, empty args no args.
        let not_empty = |v: &&Node| !matches!(&v.val, Val::Seq(items) if items.is_empty());
        let command = c.get("command").filter(not_empty);
        let args = c.get("args").filter(not_empty);
        let mut args_argv = Vec::new();
        if let Some(a) = args {
            for (i, item) in self.list(a, &p("args")).iter().enumerate() {
                args_argv.extend(self.string(item, &format!("{}[{i}]", p("args"))));
            }
        }
        let mut from_image = FromImage { image: image.clone().unwrap_or_default(), ..FromImage::default() };
        match (command, &config) {
            // A waiter's command is the shell stand-in `podinit export` wrote for a cluster.
            _ if waiter => {}
            (Some(cmd), _) => {
                self.field(Field::Command, cmd.at, p("command"));
                // command replaces the image's Entrypoint and its Cmd: args alone follow it.
                entry.command = self.argv(cmd, &p("command")).unwrap_or_default();
                entry.command.extend(args_argv);
            }
            (None, Some(cfg)) => {
                entry.command = image_argv(cfg, args.map(|_| args_argv), &mut from_image);
                if entry.command.first().is_none_or(String::is_empty) {
                    let i = image.as_deref().unwrap_or_default();
                    let why = format!("no command, and image '{i}' has no Entrypoint or Cmd to run");
                    self.error(n.at, path, why);
                }
            }
            // `podinit status` and the like only need the pod's state directory.
            (None, None) if self.lenient => {
                entry.command = vec![format!("(the entrypoint of {})", image.as_deref().unwrap_or("?"))]
            }
            (None, None) if clean => self.no_image_config(n.at, path, image.as_deref(), args.is_some()),
            (None, None) => {}
        }
        (config, from_image)
    }

    /// The user a container runs as (runAsUser, runAsGroup, the image's user), and the
    /// runAsNonRoot check; `has_user_annotation`: `podinit.dev/user` names one instead.
    fn container_user(
        &mut self,
        c: &Obj,
        path: &str,
        pod_sc: &Security,
        image_user: Option<String>,
        has_user_annotation: bool,
        from_image: &mut FromImage,
    ) -> Option<String> {
        let p = |k: &str| join(path, k);
        let sc = c.get("securityContext").map(|v| self.security(v, &p("securityContext"))).unwrap_or_default();
        let user = sc.user.clone().or(pod_sc.user.clone());
        let group = sc.group.clone().or(pod_sc.group.clone());
        let entry_user = match (&user, &group) {
            (Some(u), Some(g)) => Some(format!("{}:{}", u.id, g.id)),
            (Some(u), None) => Some(u.id.to_string()),
            // runAsGroup applies to the image's user.
            (None, Some(g)) if image_user.is_some() => {
                from_image.user = true;
                let u = image_user.as_deref().unwrap_or_default();
                Some(format!("{}:{}", u.split(':').next().unwrap_or(u), g.id))
            }
            (None, Some(Id { origin: Origin { at, path: gpath }, .. })) => {
                if !has_user_annotation {
                    self.error(
                        *at,
                        gpath,
                        "runAsGroup without runAsUser: podinit needs both to switch user (set runAsUser too)",
                    );
                }
                None
            }
            (None, None) => {
                from_image.user = image_user.is_some();
                image_user.clone()
            }
        };
        if let Some((true, at)) = sc.non_root.or(pod_sc.non_root) {
            // The image's user counts when it is a number (the kubelet cannot check a name either).
            let image_uid = image_user.as_deref().map(|u| u.split(':').next().unwrap_or(u).parse::<u32>().unwrap_or(1));
            let uid = user.as_ref().map(|u| u.id).or(image_uid).unwrap_or_else(|| nix::unistd::geteuid().as_raw());
            if uid == 0 && !has_user_annotation {
                let why = if user.is_some() {
                    "runAsUser is 0"
                } else {
                    "podinit itself runs as root and no runAsUser is set"
                };
                self.error(at, &format!("{path}.securityContext.runAsNonRoot"), format!("true, but {why}"));
            }
        }
        entry_user
    }

    /// A container's probes and lifecycle (hooks, stop signal): none on an init container.
    fn container_checks(&mut self, c: &Obj, path: &str, kind: Kind, ports: &[(String, u16)], entry: &mut Entry) {
        let p = |k: &str| join(path, k);
        for probe_kind in ProbeKind::PROBES {
            let key = probe_kind.manifest_key();
            let Some(v) = c.get(key) else { continue };
            if kind == Kind::Init {
                let why =
                    "init containers have no probes (restartPolicy: Always makes one a sidecar, which can have them)";
                self.error(c.key_at(key), &p(key), why);
                continue;
            }
            let probe = self.probe(v, &p(key), probe_kind, ports);
            if let Some(slot) = entry.probe_slot(probe_kind) {
                *slot = probe;
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
                    entry.post_start = self.handler(h, &p("lifecycle.postStart"), ports);
                }
                if let Some(h) = l.get("preStop") {
                    entry.pre_stop = self.handler(h, &p("lifecycle.preStop"), ports);
                }
                if let Some(sig) = l.get("stopSignal") {
                    entry.stop_signal = self.signal(sig, &p("lifecycle.stopSignal")).unwrap_or(entry.stop_signal);
                }
            }
        }
    }

    /// A container without command whose image podinit has no configuration for.
    fn no_image_config(&mut self, at: Pos, path: &str, image: Option<&str>, has_args: bool) {
        let Some(image) = image else {
            let why = if has_args { "args without command" } else { "no command" };
            self.error(at, path, format!("{why} and no image: podinit needs the program in command"));
            return;
        };
        let what =
            if has_args { "args without command go to the entrypoint" } else { "no command: it runs the entrypoint" };
        let full = super::images::normalize(image).unwrap_or_else(|e| format!("not a valid reference: {e}"));
        let given = match self.images.files {
            0 => String::new(),
            n => format!(" (not in the {n} image file(s) given)"),
        };
        self.error(
            at,
            path,
            format!(
                "{what} of image '{image}' ({full}), and podinit has no configuration for it{given}: \
                 give it with --images FILE, FILE from 'docker image inspect {image}', or write command"
            ),
        );
    }

    /// `podinit.dev/images`, `configmaps`, `secrets`: files and directories relative to the manifest.
    fn input_annotations(&mut self, ann: &Annotations) {
        let base = self.file.parent().map(Path::to_path_buf).unwrap_or_default();
        for (field, value, at, path) in &ann.pod {
            let items = value.split(',').map(str::trim).filter(|s| !s.is_empty());
            match field.as_str() {
                "images" => {
                    for spec in items {
                        if let Err(e) = self.images.load(spec, &base) {
                            self.error(*at, path, e);
                        }
                    }
                }
                "configmaps" => items.for_each(|d| self.store.add_dir(sources::Source::ConfigMap, base.join(d))),
                "secrets" => items.for_each(|d| self.store.add_dir(sources::Source::Secret, base.join(d))),
                _ => {}
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
}

/// A document (or `List` item) that holds a pod spec: a Pod or a workload.
struct PodObject<'n> {
    node: &'n Node,
    /// `"document 2"`, `"items[0]"` or `""`, for paths.
    label: String,
    kind: String,
    /// The apiVersion the kind must have.
    api: &'static str,
    /// The path from the object's spec down to its pod template (POD_KINDS).
    template: &'static [&'static str],
    /// "Deployment 'web' (line 3)", for messages.
    desc: String,
}

/// What a `metadata` gives.
#[derive(Default)]
struct Meta {
    /// `name`, and where it was read.
    name: Option<(String, Origin)>,
    /// `namespace`, and where it was read.
    namespace: Option<(String, Origin)>,
    uid: Option<String>,
    /// The annotations as written: strings (or null), read by `annotations.rs`.
    annotations: Vec<(Key, Node)>,
    labels: Vec<(String, String)>,
}

/// runAsUser, runAsGroup and runAsNonRoot of a securityContext, each with where it was read.
#[derive(Default, Clone)]
struct Security {
    user: Option<Id>,
    group: Option<Id>,
    non_root: Option<(bool, Pos)>,
}

/// A user or group id as read.
#[derive(Clone)]
struct Id {
    id: u32,
    origin: Origin,
}

/// What the container runtime adds to a manifest's container, taken at the pod level.
struct Base {
    /// `HOSTNAME`'s value ($-escaped, or `$(POD_NAME)`).
    hostname: String,
    pod_sc: Security,
}

/// The command of a container without one, as containerd's `WithProcessArgs` (Docker's
/// rule) builds it: the image's Entrypoint (unless `[""]`), then `args` if the container
/// has any, else the image's Cmd. What comes from the image is not `$(VAR)`-expanded.
fn image_argv(cfg: &ImageConfig, args: Option<Vec<String>>, from: &mut FromImage) -> Vec<String> {
    let literal = |v: &[String]| v.iter().map(|a| a.replace('$', "$$")).collect::<Vec<_>>();
    let mut argv = match cfg.entrypoint.as_deref() {
        Some([only]) if only.is_empty() => Vec::new(),
        Some(ep) => literal(ep),
        None => Vec::new(),
    };
    from.entrypoint = !argv.is_empty();
    match args {
        Some(args) => argv.extend(args),
        None => {
            let cmd = cfg.cmd.as_deref().unwrap_or_default();
            from.cmd = !cmd.is_empty();
            argv.extend(literal(cmd));
        }
    }
    argv
}

/// Where `field` was read, if it was.
fn field_origin(fields: &[(Field, Origin)], field: Field) -> Option<&Origin> {
    fields.iter().find(|(f, _)| *f == field).map(|(_, o)| o)
}

/// `pod` with the mapped containers as its init entries and apps.
fn pod_with(mut pod: Pod, containers: &[Container]) -> Pod {
    pod.init = containers.iter().filter(|c| c.entry.kind != Kind::App).map(|c| c.entry.clone()).collect();
    pod.apps = containers.iter().filter(|c| c.entry.kind == Kind::App).map(|c| c.entry.clone()).collect();
    pod
}
