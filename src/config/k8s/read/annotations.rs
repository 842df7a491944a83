//! `podinit.dev/` annotations: what Kubernetes has no field for.

use super::*;

impl Reader<'_> {
    pub(super) fn annotations(&mut self, rows: &[(Key, Node)], label: &str) -> Annotations {
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

    /// Applies the `podinit.dev/` annotations; `pod_fields` gets where the pod's
    /// own were read, for `validate`.
    pub(super) fn apply_annotations(
        &mut self,
        pod: &mut Pod,
        ann: &Annotations,
        containers: &mut [Container],
        pod_fields: &mut Vec<(Field, Origin)>,
    ) {
        self.apply_pod_annotations(pod, ann, pod_fields);
        self.apply_entry_annotations(ann, containers);
        self.split_pod_env(pod, ann, containers);
    }

    /// The pod's own annotations: marker-dir, state-dir, log-prefix, durations, backoff, env-file.
    fn apply_pod_annotations(&mut self, pod: &mut Pod, ann: &Annotations, pod_fields: &mut Vec<(Field, Origin)>) {
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
                "backoff" => {
                    pod_fields.push((Field::Backoff, Origin { at, path: path.clone() }));
                    pod.backoff = self.ann_backoff(value, at, path).unwrap_or(pod.backoff);
                }
                "env-file" => pod.env_files = self.ann_paths(value, at, path),
                _ => {}
            }
        }
    }

    /// The annotations of one container each (`podinit.dev/FIELD.CONTAINER`).
    fn apply_entry_annotations(&mut self, ann: &Annotations, containers: &mut [Container]) {
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
                "notify" => e.notify = self.ann_bool(v, at, path).unwrap_or(false),
                "env-file" => e.env_files = self.ann_paths(v, at, path),
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
                    let origin = || Origin { at, path: path.to_string() };
                    c.fields.push((Field::WaitFor, origin()));
                    c.fields.push((Field::Probe(ProbeKind::Wait, ProbeField::Action), origin()));
                    let e = &mut c.entry;
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
    }

    /// The env of every container starts with the pod-level variables `podinit.dev/pod-env` names
    /// (that is how `podinit export` writes the pod's [env]): take them out once, as the pod's.
    pub(super) fn split_pod_env(&mut self, pod: &mut Pod, ann: &Annotations, containers: &mut [Container]) {
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

    pub(super) fn ann_bool(&mut self, v: &str, at: Pos, path: &str) -> Option<bool> {
        match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.error(at, path, format!("'{v}' is not \"true\" or \"false\""));
                None
            }
        }
    }

    pub(super) fn ann_duration(&mut self, v: &str, at: Pos, path: &str, nonzero: bool) -> Option<Duration> {
        match parse_duration(v) {
            Ok(d) if nonzero && d.is_zero() => self.error(at, path, "must be longer than 0"),
            Ok(d) => return Some(d),
            Err(why) => self.error(at, path, format!("bad duration '{v}' ({why})")),
        }
        None
    }

    /// A JSON object in an annotation value, as (key, value node) rows.
    pub(super) fn ann_object(&mut self, v: &str, at: Pos, path: &str) -> Vec<(Key, Node)> {
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

    /// `{"initial": "10s", "max": "300s"}`.
    pub(super) fn ann_backoff(&mut self, v: &str, at: Pos, path: &str) -> Option<crate::config::Backoff> {
        let mut b = crate::config::Backoff::default();
        for (k, n) in self.ann_object(v, at, path) {
            let kp = format!("{path}: {}", k.name);
            let d = self.ann_string(&n, at, &kp).and_then(|s| self.ann_duration(&s, at, &kp, true));
            match (k.name.as_str(), d) {
                ("initial", Some(d)) => b.initial = d,
                ("max", Some(d)) => b.max = d,
                ("initial" | "max", None) => return None,
                (other, _) => {
                    self.error(at, path, format!("unknown key '{other}' (valid: initial, max)"));
                    return None;
                }
            }
        }
        // max >= initial is validate's rule.
        Some(b)
    }

    /// One path, or a JSON list of paths.
    pub(super) fn ann_paths(&mut self, v: &str, at: Pos, path: &str) -> Vec<PathBuf> {
        if !v.trim_start().starts_with('[') {
            if v.is_empty() {
                self.error(at, path, "must not be empty");
                return Vec::new();
            }
            return vec![PathBuf::from(v)];
        }
        match yaml::parse(v).map(|mut d| d.pop()) {
            Ok(Some(Node { val: Val::Seq(items), .. })) => {
                items.iter().filter_map(|n| self.ann_string(n, at, path)).map(PathBuf::from).collect()
            }
            Ok(_) => {
                self.error(at, path, "must be a path or a JSON list of paths");
                Vec::new()
            }
            Err(e) => {
                self.error(at, path, format!("invalid JSON: {}", e.message));
                Vec::new()
            }
        }
    }

    pub(super) fn ann_string(&mut self, n: &Node, at: Pos, path: &str) -> Option<String> {
        match &n.val {
            Val::Str(s) if !s.is_empty() && !s.contains('\0') => Some(s.clone()),
            _ => {
                self.error(at, path, format!("must be a non-empty string, found {}", n.describe()));
                None
            }
        }
    }

    pub(super) fn ann_wait_for(&mut self, v: &str, at: Pos, path: &str) -> Option<WaitFor> {
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
    pub(super) fn ann_probe(&mut self, v: &str, at: Pos, path: &str, p: &mut Probe) {
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
                "http" => match (self.ann_string(&n, at, &kp), &mut p.action) {
                    // The exact URL; the httpGet's headers stay.
                    (Some(url), ProbeAction::Http(get)) => get.url = url,
                    (Some(url), a) => *a = ProbeAction::Http(url.into()),
                    (None, _) => {}
                },
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

#[derive(Default)]
pub(super) struct Annotations {
    /// (field, value, where, field path)
    pub(super) pod: Vec<(String, String, Pos, String)>,
    pub(super) entries: Vec<EntryAnnotation>,
}

pub(super) struct EntryAnnotation {
    pub(super) field: String,
    pub(super) container: String,
    pub(super) value: String,
    pub(super) at: Pos,
    pub(super) path: String,
}
