//! The rules about a pod's values, whatever file it was read from.
//!
//! A reader (`check.rs` for the pod file, `k8s/read` for a manifest) checks only
//! its format's syntax — a TOML type, a duration string, a YAML mapping, an
//! int32 — while it builds the [`Pod`], and records where it read each field.
//! Then it calls [`validate`] once and places each [`Problem`] at the recorded
//! origin of the problem's [`FieldRef`]. A rule written here holds for both
//! formats, checked once, on the model rather than on text: before this, a
//! manifest was validated by printing it as TOML and reading that back.
//!
//! Messages name a field as the file spells it ([`Format`]): the pod file's
//! `startup_probe.period` is the manifest's `startupProbe.periodSeconds`.

use std::collections::HashMap;

use super::check::dns1123_error;
use super::model::entry_name_problem;
use super::{http_target, split_host_port};
use super::{Entry, Kind, Pod, Probe, ProbeAction, ProbeKind, RestartPolicy, WaitTarget};

/// Which file the pod came from, for the names of fields in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A pod file (`snake_case` keys).
    Toml,
    /// A Kubernetes manifest (`camelCase` fields, containers).
    Manifest,
}

/// What a field belongs to: the pod, or one of its entries by its place in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// The pod itself.
    Pod,
    /// `pod.init[i]`: an init step or a sidecar (an `[[init]]` table, an initContainer).
    Init(usize),
    /// `pod.apps[i]` (an `[[app]]` table, a container).
    App(usize),
}

/// A field of a probe (or of a waiter's `wait_for`, [`ProbeKind::Wait`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeField {
    /// What it checks: `tcp`, `http`, `exec`, … (`tcpSocket`, `httpGet`, …).
    Action,
    /// `period` (`periodSeconds`).
    Period,
    /// `timeout` (`timeoutSeconds`).
    Timeout,
    /// `success_threshold` (`successThreshold`).
    SuccessThreshold,
    /// `failure_threshold` (`failureThreshold`).
    FailureThreshold,
}

/// A field of the model, independent of how a file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The subject itself: an entry's table or container, the pod.
    Whole,
    /// The pod's or an entry's name.
    Name,
    /// The pod's namespace.
    Namespace,
    /// An entry's command.
    Command,
    /// An init step's `wait_for`.
    WaitFor,
    /// An entry's own restart policy.
    RestartPolicy,
    /// An entry's restart rules.
    RestartRules,
    /// A field of one of an entry's probes.
    Probe(ProbeKind, ProbeField),
    /// The pod's restart back-off (`backoff`, the `podinit.dev/backoff` annotation).
    Backoff,
}

/// One field of one subject: where a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldRef {
    /// The pod or the entry.
    pub(crate) of: Subject,
    /// The field of it.
    pub(crate) field: Field,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// The field at fault; a reader places the message where it read that field,
    /// or at the entry (the pod) when the field was not written.
    pub(crate) at: FieldRef,
    /// What is wrong, in one line, without a position.
    pub(crate) message: String,
    /// For a duplicate: the field it repeats, which the reader names by its
    /// position (a line, a YAML path) after the message.
    pub(crate) first: Option<FieldRef>,
}

impl Format {
    /// How this format spells a field of a probe (or of `wait_for`).
    fn probe_key(self, field: ProbeField) -> &'static str {
        match (self, field) {
            (Format::Toml, ProbeField::Period) => "period",
            (Format::Toml, ProbeField::Timeout) => "timeout",
            (Format::Toml, ProbeField::SuccessThreshold) => "success_threshold",
            (Format::Toml, ProbeField::FailureThreshold) => "failure_threshold",
            (Format::Manifest, ProbeField::Period) => "periodSeconds",
            (Format::Manifest, ProbeField::Timeout) => "timeoutSeconds",
            (Format::Manifest, ProbeField::SuccessThreshold) => "successThreshold",
            (Format::Manifest, ProbeField::FailureThreshold) => "failureThreshold",
            (_, ProbeField::Action) => "",
        }
    }

    fn probe_name(self, kind: ProbeKind) -> &'static str {
        match self {
            Format::Toml => kind.toml_key(),
            Format::Manifest => kind.manifest_key(),
        }
    }
}

/// Every problem with `pod`'s values, pod first, then each entry in `read`
/// order: the order the file wrote them in (None: the model's, init entries
/// first), so that of two equal names the one written first is the first.
pub(crate) fn validate(pod: &Pod, format: Format, read: Option<&[Subject]>) -> Vec<Problem> {
    let mut out = Problems { list: Vec::new() };
    // The pod's name and namespace, as the API server validates them (apimachinery
    // `NameIsDNSSubdomain` for a pod, `NameIsDNSLabel` for a namespace), so that
    // `podinit export` never writes a manifest it refuses.
    for (field, key, value, label) in
        [(Field::Name, "name", &pod.name, false), (Field::Namespace, "namespace", &pod.namespace, true)]
    {
        if let Some(why) = dns1123_error(value, label) {
            let what = if label { "an RFC 1123 label" } else { "an RFC 1123 subdomain" };
            out.add(Subject::Pod, field, format!("bad {key} '{value}': {why} (Kubernetes needs {what})"));
        }
    }
    // A curve that starts above its cap would never double; the kubelet's starts below it too.
    let b = pod.backoff;
    if b.max < b.initial {
        let message = match format {
            Format::Toml => format!("'backoff' max ({:?}) is shorter than initial ({:?})", b.max, b.initial),
            Format::Manifest => format!("max ({:?}) is shorter than initial ({:?})", b.max, b.initial),
        };
        out.add(Subject::Pod, Field::Backoff, message);
    }
    let entries: Vec<(Subject, &Entry)> = match read {
        Some(read) => read
            .iter()
            .filter_map(|&of| match of {
                Subject::Init(i) => pod.init.get(i).map(|e| (of, e)),
                Subject::App(i) => pod.apps.get(i).map(|e| (of, e)),
                Subject::Pod => None,
            })
            .collect(),
        None => (pod.init.iter().enumerate().map(|(i, e)| (Subject::Init(i), e)))
            .chain(pod.apps.iter().enumerate().map(|(i, e)| (Subject::App(i), e)))
            .collect(),
    };
    // The first entry of each valid name, so that uniqueness is one map lookup per
    // entry, not a scan of the ones before (a 1 MiB pod file has ~30,000 entries).
    let mut first_of: HashMap<&str, Subject> = HashMap::new();
    for &(of, e) in &entries {
        out.name(of, e, &mut first_of, format);
        out.entry(of, e, format);
        for kind in ProbeKind::PROBES {
            if let Some(p) = e.probe(kind) {
                out.probe(of, kind, p, format);
            }
        }
        if let Some(w) = &e.wait_for {
            let at = |f| Field::Probe(ProbeKind::Wait, f);
            match &w.target {
                WaitTarget::Tcp(addr) => out.address(of, ProbeKind::Wait, "tcp", addr),
                WaitTarget::Http(url) => out.url(of, ProbeKind::Wait, url),
                WaitTarget::File(_) | WaitTarget::Unix(_) => {}
            }
            if w.period.is_zero() {
                out.add(of, at(ProbeField::Period), must_be_longer(format, format.probe_key(ProbeField::Period)));
            }
            if w.timeout.is_some_and(|t| t.is_zero()) {
                out.add(of, at(ProbeField::Timeout), must_be_longer(format, format.probe_key(ProbeField::Timeout)));
            }
        }
    }
    out.list
}

/// A period or a timeout of zero: a duration in a pod file, whole seconds in a manifest.
fn must_be_longer(format: Format, key: &str) -> String {
    match format {
        Format::Toml => format!("'{key}' must be longer than 0"),
        Format::Manifest => format!("'{key}' must be at least 1, found 0"),
    }
}

/// "init step 'x'", "sidecar 'x'", "app 'x'": an entry in messages.
fn label(e: &Entry) -> String {
    let kind = match e.kind {
        Kind::Init => "init step",
        Kind::Sidecar => "sidecar",
        Kind::App => "app",
    };
    if e.name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} '{}'", e.name)
    }
}

struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    fn add(&mut self, of: Subject, field: Field, message: String) {
        self.list.push(Problem { at: FieldRef { of, field }, message, first: None });
    }

    /// An entry's name: the one rule for both formats (it becomes a file name), and
    /// unique across init entries and apps (initContainers and containers).
    fn name<'p>(&mut self, of: Subject, e: &'p Entry, first_of: &mut HashMap<&'p str, Subject>, format: Format) {
        // An empty name is one the reader could not read (or was not written): it said so.
        if e.name.is_empty() {
            return;
        }
        if let Some(problem) = entry_name_problem(&e.name) {
            self.add(of, Field::Name, problem);
            return;
        }
        // The first of the same name that is itself a valid name (a bad one was reported as such).
        let first = *first_of.entry(e.name.as_str()).or_insert(of);
        if first != of {
            let what = if format == Format::Toml { "name" } else { "container name" };
            self.list.push(Problem {
                at: FieldRef { of, field: Field::Name },
                message: format!("duplicate {what} '{}'", e.name),
                first: Some(FieldRef { of: first, field: Field::Name }),
            });
        }
    }

    /// The rules that tie an entry's fields together.
    fn entry(&mut self, of: Subject, e: &Entry, format: Format) {
        let label = label(e);
        // On an init entry, Always is what makes a sidecar (`restart = "Always"`, a manifest's
        // `restartPolicy: Always`); an init step with it as its own policy is a contradiction.
        if e.kind == Kind::Init && e.restart_policy == Some(RestartPolicy::Always) {
            let message =
                format!("restart_policy = \"Always\" on {label} would make it a sidecar: write restart = \"Always\"");
            self.add(of, Field::RestartPolicy, message);
        }
        // A sidecar's policy is Always, whatever exits it: rules cannot refine it.
        if e.kind == Kind::Sidecar && !e.restart_rules.is_empty() {
            self.add(
                of,
                Field::RestartRules,
                format!("restart rules are not valid on {label}: a sidecar always restarts"),
            );
        }
        // Kubernetes' rule: the rules refine the container's own policy, so it must be set.
        if e.kind != Kind::Sidecar && !e.restart_rules.is_empty() && e.restart_policy.is_none() {
            let message = match format {
                Format::Toml => format!("{label} has restart_rules but no restart_policy (the rules need the entry's own policy, as in Kubernetes)"),
                Format::Manifest => "needs the container's own restartPolicy (Kubernetes requires it next to the rules)".to_string(),
            };
            self.add(of, Field::RestartRules, message);
        }
        match (e.kind, e.command.is_empty(), e.wait_for.is_some()) {
            (Kind::Init, false, true) => {
                let message = format!("{label} has both 'command' and 'wait_for' (a waiter step runs no command)");
                self.add(of, Field::WaitFor, message);
            }
            (Kind::Init, true, false) => self.add(of, Field::Whole, format!("{label} has no 'command' or 'wait_for'")),
            (Kind::Sidecar | Kind::App, true, _) => self.add(of, Field::Whole, format!("{label} has no 'command'")),
            _ => {}
        }
    }

    /// A `host:port` to connect to (a `tcp` or `grpc` check).
    fn address(&mut self, of: Subject, kind: ProbeKind, key: &str, addr: &str) {
        if let Err(why) = split_host_port(addr) {
            self.add(of, Field::Probe(kind, ProbeField::Action), format!("bad {key} address '{addr}' ({why})"));
        }
    }

    /// An `http://` URL to GET.
    fn url(&mut self, of: Subject, kind: ProbeKind, url: &str) {
        if let Err(why) = http_target(url) {
            self.add(of, Field::Probe(kind, ProbeField::Action), format!("bad http URL '{url}' ({why})"));
        }
    }

    fn probe(&mut self, of: Subject, kind: ProbeKind, p: &Probe, format: Format) {
        let at = |f| Field::Probe(kind, f);
        match &p.action {
            ProbeAction::Tcp(addr) => self.address(of, kind, "tcp", addr),
            ProbeAction::Grpc { addr, .. } => self.address(of, kind, "grpc", addr),
            ProbeAction::Http(get) => self.url(of, kind, &get.url),
            ProbeAction::Exec(_) => {}
        }
        for (field, d) in [(ProbeField::Period, p.period), (ProbeField::Timeout, p.timeout)] {
            if d.is_zero() {
                self.add(of, at(field), must_be_longer(format, format.probe_key(field)));
            }
        }
        for (field, n) in
            [(ProbeField::SuccessThreshold, p.success_threshold), (ProbeField::FailureThreshold, p.failure_threshold)]
        {
            if n == 0 {
                self.add(of, at(field), format!("'{}' must be at least 1, found 0", format.probe_key(field)));
            }
        }
        // Kubernetes' rule: liveness and startup probes pass on the first success.
        if p.success_threshold > 1 && kind != ProbeKind::Readiness {
            let key = format.probe_key(ProbeField::SuccessThreshold);
            let message = format!("'{key}' must be 1 for a {}", format.probe_name(kind));
            self.add(of, at(ProbeField::SuccessThreshold), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::{Probe, WaitFor};

    fn entry(kind: Kind, name: &str) -> Entry {
        Entry { name: name.to_string(), command: vec!["x".to_string()], ..Entry::defaults(kind) }
    }

    fn valid_pod() -> Pod {
        let mut pod = Pod::defaults(Path::new("p"));
        (pod.name, pod.namespace) = ("web".to_string(), "default".to_string());
        let mut waiter = entry(Kind::Init, "wait");
        waiter.command.clear();
        waiter.wait_for = Some(WaitFor {
            target: WaitTarget::Tcp("db:5432".to_string()),
            timeout: None,
            period: Duration::from_secs(1),
        });
        let mut side = entry(Kind::Sidecar, "side");
        side.readiness_probe =
            Some(Probe { success_threshold: 2, ..Probe::new(ProbeAction::Http("http://h:1/x".into())) });
        let mut app = entry(Kind::App, "app");
        app.restart_policy = Some(RestartPolicy::Never);
        app.restart_rules =
            vec![crate::config::RestartRule { operator: crate::config::ExitCodeOperator::In, values: vec![42] }];
        app.liveness_probe =
            Some(Probe::new(ProbeAction::Grpc { addr: "127.0.0.1:9".to_string(), service: String::new() }));
        pod.init = vec![waiter, side];
        pod.apps = vec![app];
        pod
    }

    /// (where, message) of each problem, for `format`.
    fn problems(pod: &Pod, format: Format) -> Vec<(Subject, Field, String)> {
        validate(pod, format, None).into_iter().map(|p| (p.at.of, p.at.field, p.message)).collect()
    }

    #[test]
    fn a_valid_pod_has_no_problem() {
        assert_eq!(problems(&valid_pod(), Format::Toml), vec![]);
        assert_eq!(problems(&valid_pod(), Format::Manifest), vec![]);
    }

    #[test]
    fn each_rule_names_its_field_and_speaks_the_format() {
        let mut pod = valid_pod();
        pod.namespace = "a.b".to_string();
        pod.init[0].command = vec!["x".to_string()];
        pod.init[1].restart_rules = pod.apps[0].restart_rules.clone();
        pod.apps[0].restart_policy = None;
        let live = pod.apps[0].liveness_probe.as_mut().unwrap();
        (live.success_threshold, live.period) = (2, Duration::ZERO);
        let mut dup = entry(Kind::App, "side");
        dup.command.clear();
        pod.apps.push(dup);
        let live = |f| Field::Probe(ProbeKind::Liveness, f);
        let want = |format: Format| {
            let (success, period, probe) = match format {
                Format::Toml => ("success_threshold", "'period' must be longer than 0", "liveness_probe"),
                Format::Manifest => {
                    ("successThreshold", "'periodSeconds' must be at least 1, found 0", "livenessProbe")
                }
            };
            let rules = match format {
                Format::Toml => "app 'app' has restart_rules but no restart_policy (the rules need the entry's own policy, as in Kubernetes)".to_string(),
                Format::Manifest => "needs the container's own restartPolicy (Kubernetes requires it next to the rules)".to_string(),
            };
            let dup = if format == Format::Toml { "duplicate name 'side'" } else { "duplicate container name 'side'" };
            vec![
                (Subject::Pod, Field::Namespace, "bad namespace 'a.b': use lowercase letters, digits and '-', starting and ending with a letter or digit (Kubernetes needs an RFC 1123 label)".to_string()),
                (Subject::Init(0), Field::WaitFor, "init step 'wait' has both 'command' and 'wait_for' (a waiter step runs no command)".to_string()),
                (Subject::Init(1), Field::RestartRules, "restart rules are not valid on sidecar 'side': a sidecar always restarts".to_string()),
                (Subject::App(0), Field::RestartRules, rules),
                (Subject::App(0), live(ProbeField::Period), period.to_string()),
                (Subject::App(0), live(ProbeField::SuccessThreshold), format!("'{success}' must be 1 for a {probe}")),
                (Subject::App(1), Field::Name, dup.to_string()),
                (Subject::App(1), Field::Whole, "app 'side' has no 'command'".to_string()),
            ]
        };
        assert_eq!(problems(&pod, Format::Toml), want(Format::Toml));
        assert_eq!(problems(&pod, Format::Manifest), want(Format::Manifest));
        // The duplicate points at the first of the name.
        let first = validate(&pod, Format::Toml, None).into_iter().find_map(|p| p.first);
        assert_eq!(first, Some(FieldRef { of: Subject::Init(1), field: Field::Name }));
    }

    #[test]
    fn targets_names_and_zero_thresholds() {
        let mut pod = valid_pod();
        pod.name = "My Pod".to_string();
        let wait = pod.init[0].wait_for.as_mut().unwrap();
        (wait.target, wait.timeout) = (WaitTarget::Http("https://h/".to_string()), Some(Duration::ZERO));
        pod.init[1].name = "a/b".to_string();
        pod.init[1].readiness_probe.as_mut().unwrap().failure_threshold = 0;
        pod.apps[0].liveness_probe.as_mut().unwrap().action = ProbeAction::Tcp("nohost".to_string());
        let got = problems(&pod, Format::Toml);
        let at: Vec<(Subject, Field)> = got.iter().map(|(s, f, _)| (*s, *f)).collect();
        assert_eq!(
            at,
            vec![
                (Subject::Pod, Field::Name),
                (Subject::Init(0), Field::Probe(ProbeKind::Wait, ProbeField::Action)),
                (Subject::Init(0), Field::Probe(ProbeKind::Wait, ProbeField::Timeout)),
                (Subject::Init(1), Field::Name),
                (Subject::Init(1), Field::Probe(ProbeKind::Readiness, ProbeField::FailureThreshold)),
                (Subject::App(0), Field::Probe(ProbeKind::Liveness, ProbeField::Action)),
            ],
            "{got:#?}"
        );
        assert!(got[0].2.starts_with("bad name 'My Pod'"), "{got:#?}");
        assert!(got[1].2.starts_with("bad http URL 'https://h/'"), "{got:#?}");
        assert_eq!(got[2].2, "'timeout' must be longer than 0");
        assert!(got[3].2.starts_with("bad name 'a/b'"), "{got:#?}");
        assert_eq!(got[4].2, "'failure_threshold' must be at least 1, found 0");
        assert!(got[5].2.starts_with("bad tcp address 'nohost'"), "{got:#?}");
    }
}
