//! A pod as a Kubernetes manifest (`podinit export`), in YAML or JSON.
//!
//! A pod read from a manifest gives that manifest back, every document and
//! every field (image, labels, volumes, resources, … that podinit ignores),
//! so that the cluster runs what it was given. A pod file becomes a Pod:
//! every entry becomes a container of one image; sidecars are initContainers
//! with `restartPolicy: Always`; POD_NAME and POD_NAMESPACE come from the
//! downward API (podinit sets them itself, a cluster only when asked). What
//! Kubernetes cannot say goes in `podinit.dev/` annotations that the reader
//! takes back, so that reading the manifest gives the very same pod.

use std::fmt::Write as _;
use std::time::Duration;

use super::toml_out::{duration, operator_name, policy_name};
use super::yaml::{Node, Val};
use super::{ANN, HOOK_EXE, HOOK_HTTP_GET, HOOK_SLEEP};
use crate::config::expand::DOWNWARD;
use crate::config::{Backoff, Entry, HttpGet, Kind, Pod, Probe, ProbeAction, WaitFor, WaitTarget};
use crate::sys::signals;

/// A value of the manifest being written; mappings keep their order.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    Str(String),
    Int(u64),
    /// A scalar written as it is in YAML and JSON alike: null, true, false, a number.
    Raw(String),
    Bool(bool),
    Map(Vec<(String, Out)>),
    Seq(Vec<Out>),
}

fn s(v: impl Into<String>) -> Out {
    Out::Str(v.into())
}

fn map(rows: Vec<(&str, Out)>) -> Out {
    Out::Map(rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn strs(items: &[String]) -> Out {
    Out::Seq(items.iter().map(|i| s(i.as_str())).collect())
}

/// Kubernetes limits the part of an annotation key after the '/' to 63 characters.
const MAX_ANNOTATION_NAME: usize = 63;

/// The manifest for `pod`; JSON when `json`. A pod from a manifest gives its
/// documents back; a pod file a Pod whose containers run `image`.
pub(crate) fn export(pod: &Pod, image: &str, json: bool) -> Result<String, String> {
    if let Some(src) = &pod.source.0 {
        if src.read == *pod {
            return Ok(documents(&src.docs, json));
        }
        log::warn!("the pod is no longer the one its manifest describes: exported as a new Pod, without its fields");
    }
    if pod.apps.is_empty() {
        return Err("a Kubernetes Pod needs at least one container, and this pod has no [[app]]".into());
    }
    let mut ann: Vec<(String, Out)> = Vec::new();
    let mut add = |name: String, value: String| -> Result<(), String> {
        if name.len() > MAX_ANNOTATION_NAME {
            return Err(format!(
                "the annotation {ANN}{name} would be longer than Kubernetes allows ({MAX_ANNOTATION_NAME} characters \
                 after the '/'): shorten the entry's name"
            ));
        }
        ann.push((format!("{ANN}{name}"), Out::Str(value)));
        Ok(())
    };
    if pod.marker_dir.as_os_str() != crate::config::model::DEFAULT_MARKER_DIR {
        add("marker-dir".into(), pod.marker_dir.display().to_string())?;
    }
    if pod.state_dir.as_os_str() != crate::config::model::DEFAULT_STATE_DIR {
        add("state-dir".into(), pod.state_dir.display().to_string())?;
    }
    if pod.log_prefix {
        add("log-prefix".into(), "true".into())?;
    }
    if !pod.env.is_empty() {
        if let Some((k, _)) = pod.env.iter().find(|(k, _)| k.contains(',')) {
            return Err(format!("the pod env variable '{k}' has a ',' in its name, which {ANN}pod-env cannot list"));
        }
        add("pod-env".into(), pod.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(","))?;
    }
    if pod.backoff != Backoff::default() {
        let b = map(vec![("initial", s(duration(pod.backoff.initial))), ("max", s(duration(pod.backoff.max)))]);
        add("backoff".into(), json_compact(&b))?;
    }
    if !pod.env_files.is_empty() {
        add("env-file".into(), paths_value(&pod.env_files))?;
    }
    let (grace, inexact) = seconds(pod.termination_grace_period, 0);
    if inexact {
        add("termination-grace-period".into(), duration(pod.termination_grace_period))?;
    }
    let mut spec =
        vec![("restartPolicy", s(pod.restart_policy.as_str())), ("terminationGracePeriodSeconds", Out::Int(grace))];
    if let Some(d) = pod.active_deadline {
        let (secs, inexact) = seconds(d, 1);
        if inexact {
            add("active-deadline".into(), duration(d))?;
        }
        spec.push(("activeDeadlineSeconds", Out::Int(secs)));
    }
    // Kubernetes wants the OS named when a container sets its own stop signal.
    if pod.init.iter().chain(&pod.apps).any(|e| e.kind != Kind::Init && e.stop_signal != libc::SIGTERM) {
        spec.push(("os", map(vec![("name", s("linux"))])));
    }
    let mut containers = |entries: &[Entry]| -> Result<Out, String> {
        let mut out = Vec::new();
        for e in entries {
            out.push(container(pod, e, image, &mut add)?);
        }
        Ok(Out::Seq(out))
    };
    if !pod.init.is_empty() {
        spec.push(("initContainers", containers(&pod.init)?));
    }
    spec.push(("containers", containers(&pod.apps)?));
    // The directories fileKeyRef reads from, as the emptyDir volumes an init container would write to.
    let dirs = env_dirs(pod);
    if !dirs.is_empty() {
        let volumes = dirs.iter().map(|(name, _)| map(vec![("name", s(name.as_str())), ("emptyDir", map(vec![]))]));
        spec.push(("volumes", Out::Seq(volumes.collect())));
    }
    let mut meta = vec![("name", s(pod.name.as_str())), ("namespace", s(pod.namespace.as_str()))];
    if !ann.is_empty() {
        meta.push(("annotations", Out::Map(ann)));
    }
    let manifest = map(vec![("apiVersion", s("v1")), ("kind", s("Pod")), ("metadata", map(meta)), ("spec", map(spec))]);
    Ok(text_of(vec![manifest], json))
}

/// The documents of a manifest as read: YAML documents, or in JSON the one
/// object (several: a `kind: List` of them, as kubectl prints them).
fn documents(docs: &[Node], json: bool) -> String {
    text_of(docs.iter().filter(|d| d.val != Val::Null).map(out_of).collect(), json)
}

fn text_of(mut docs: Vec<Out>, json: bool) -> String {
    let mut text = String::new();
    if json {
        let one = match docs.len() {
            1 => docs.remove(0),
            _ => map(vec![("apiVersion", s("v1")), ("kind", s("List")), ("items", Out::Seq(docs))]),
        };
        json_value(&mut text, &one, Some(0));
        text.push('\n');
        return text;
    }
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        match d {
            Out::Map(rows) if !rows.is_empty() => yaml_map(&mut text, rows, 0),
            // A document that is not a mapping (no Kubernetes object is): JSON is YAML too.
            other => {
                json_value(&mut text, other, None);
                text.push('\n');
            }
        }
    }
    text
}

/// YAML's spellings of a number (`1_000.5`, `+.5`, `007.`, `1e3`) as one JSON
/// and YAML both read, by hand: float formatting would cost PID 1 ~15 KB.
/// None for what JSON has no number for (`.inf`, `.nan`).
fn json_number(f: &str) -> Option<String> {
    let t = f.replace('_', "");
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) || !exp_ok {
        return None;
    }
    let int = int.trim_start_matches('0');
    let mut out = String::from(if neg { "-" } else { "" });
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if let Some(e) = exp {
        out.push('e');
        out.push_str(e);
    }
    Some(out)
}

/// A node of the manifest read, to write back as it was.
fn out_of(n: &Node) -> Out {
    match &n.val {
        Val::Null => Out::Raw("null".into()),
        Val::Bool(b) => Out::Raw(b.to_string()),
        Val::Int(i) => Out::Raw(i.to_string()),
        Val::Float(f) => json_number(f).map_or_else(|| Out::Str(f.clone()), Out::Raw),
        Val::Str(x) => Out::Str(x.clone()),
        Val::Seq(items) => Out::Seq(items.iter().map(out_of).collect()),
        Val::Map(rows) => Out::Map(rows.iter().map(|(k, v)| (k.name.clone(), out_of(v))).collect()),
    }
}

type Annotate<'a> = dyn FnMut(String, String) -> Result<(), String> + 'a;

/// A container's `env` (the downward API's names first, then the pod's and the entry's
/// variables, then those read from files) and the `volumeMounts` those files need.
fn container_env(pod: &Pod, e: &Entry, c: &mut Vec<(&'static str, Out)>) -> Result<(), String> {
    let name = &e.name;
    let field_ref = |path: &str| map(vec![("valueFrom", map(vec![("fieldRef", map(vec![("fieldPath", s(path))]))]))]);
    let mut env = vec![
        with_name("POD_NAME", field_ref("metadata.name")),
        with_name("POD_NAMESPACE", field_ref("metadata.namespace")),
        with_name("CONTAINER_NAME", map(vec![("value", s(name.as_str()))])),
    ];
    for (k, v) in pod.env.iter().chain(&e.env) {
        // `$(status.podIP)` and the like (config::expand::DOWNWARD) are the downward API's.
        let field = v.strip_prefix("$(").and_then(|f| f.strip_suffix(')')).filter(|f| DOWNWARD.contains(f));
        if field.is_none() && crate::config::expand::downward(v, |_| String::new()) != *v {
            return Err(format!(
                "entry '{name}': the value of {k} uses the downward API inside a longer value, which a manifest \
                 cannot say: give the reference a variable of its own (IP = \"$(status.podIP)\") and use $(IP)"
            ));
        }
        env.push(with_name(k, field.map_or_else(|| map(vec![("value", s(v.as_str()))]), field_ref)));
    }
    let dirs = env_dirs(pod);
    let mut mounts: Vec<Out> = Vec::new();
    for f in &e.file_env {
        let (volume, dir, file) = env_volume(&dirs, &f.path);
        let mut r = vec![("volumeName", s(volume.as_str())), ("path", s(file)), ("key", s(f.key.as_str()))];
        if f.optional {
            r.push(("optional", Out::Bool(true)));
        }
        env.push(with_name(&f.name, map(vec![("valueFrom", map(vec![("fileKeyRef", map(r))]))])));
        let mount = map(vec![("name", s(volume.as_str())), ("mountPath", s(dir))]);
        if !mounts.contains(&mount) {
            mounts.push(mount);
        }
    }
    c.push(("env", Out::Seq(env)));
    if !mounts.is_empty() {
        c.push(("volumeMounts", Out::Seq(mounts)));
    }
    Ok(())
}

/// A container's probes (with what Kubernetes cannot hold exactly as annotations) and lifecycle.
fn container_checks(e: &Entry, c: &mut Vec<(&'static str, Out)>, add: &mut Annotate) -> Result<(), String> {
    let name = &e.name;
    for (key, ann_name, p) in [
        ("startupProbe", "startup-probe", &e.startup_probe),
        ("readinessProbe", "readiness-probe", &e.readiness_probe),
        ("livenessProbe", "liveness-probe", &e.liveness_probe),
    ] {
        if let Some(p) = p {
            let (probe, exact) = probe(p)?;
            c.push((key, probe));
            if !exact.is_empty() {
                add(format!("{ann_name}.{name}"), json_compact(&Out::Map(exact)))?;
            }
        }
    }
    let mut lifecycle = Vec::new();
    if let Some(h) = &e.post_start {
        lifecycle.push(("postStart", handler(h)));
    }
    if let Some(h) = &e.pre_stop {
        lifecycle.push(("preStop", handler(h)));
    }
    if e.stop_signal != libc::SIGTERM {
        if e.kind == Kind::Init {
            // Kubernetes allows no lifecycle on an init container.
            add(format!("stop-signal.{name}"), signals::name(e.stop_signal))?;
        } else {
            lifecycle.push(("stopSignal", s(signals::name(e.stop_signal))));
        }
    }
    if !lifecycle.is_empty() {
        c.push(("lifecycle", map(lifecycle)));
    }
    Ok(())
}

fn container(pod: &Pod, e: &Entry, image: &str, add: &mut Annotate) -> Result<Out, String> {
    let name = &e.name;
    if !is_dns_label(name) {
        log::warn!(
            "entry '{name}': Kubernetes wants container names of lowercase letters, digits and '-' \
             (at most 63): a cluster will refuse this manifest"
        );
    }
    let mut c = vec![("name", s(name.as_str())), ("image", s(image))];
    match &e.wait_for {
        Some(w) => {
            c.push(("command", strs(&["sh".into(), "-c".into(), waiter_script(w)])));
            add(format!("wait-for.{name}"), json_compact(&wait_for(w)))?;
        }
        None => c.push(("command", strs(&e.command))),
    }
    container_env(pod, e, &mut c)?;
    if let Some(d) = &e.working_dir {
        c.push(("workingDir", s(d.display().to_string())));
    }
    if let Some(u) = &e.user {
        let ids = numeric_user(u);
        if ids.is_none() {
            add(format!("user.{name}"), u.clone())?;
        }
        match ids.or_else(|| lookup_user(u)) {
            Some((uid, gid)) => {
                let mut sc = vec![("runAsUser", Out::Int(uid.into()))];
                if let Some(g) = gid {
                    sc.push(("runAsGroup", Out::Int(g.into())));
                }
                c.push(("securityContext", map(sc)));
            }
            None => log::warn!("entry '{name}': user '{u}' is not in this machine's /etc/passwd: no runAsUser written"),
        }
    }
    if e.kind == Kind::Sidecar {
        c.push(("restartPolicy", s("Always")));
    }
    if let Some(p) = e.restart_policy {
        c.push(("restartPolicy", s(policy_name(p))));
    }
    if !e.restart_rules.is_empty() {
        let rules = e.restart_rules.iter().map(|r| {
            let values = Out::Seq(r.values.iter().map(|&v| Out::Int(v.max(0) as u64)).collect());
            let codes = map(vec![("operator", s(operator_name(r.operator))), ("values", values)]);
            map(vec![("action", s("Restart")), ("exitCodes", codes)])
        });
        c.push(("restartPolicyRules", Out::Seq(rules.collect())));
    }
    if e.notify {
        add(format!("notify.{name}"), "true".into())?;
    }
    if !e.env_files.is_empty() {
        add(format!("env-file.{name}"), paths_value(&e.env_files))?;
    }
    container_checks(e, &mut c, add)?;
    if let Some(t) = e.timeout {
        add(format!("timeout.{name}"), duration(t))?;
    }
    if e.kind == Kind::Init && !e.once {
        add(format!("once.{name}"), "false".into())?;
    }
    if e.essential {
        add(format!("essential.{name}"), "true".into())?;
    }
    Ok(map(c))
}

/// One path as it is, several as a JSON list (the reader takes both).
fn paths_value(p: &[std::path::PathBuf]) -> String {
    match p {
        [one] if !one.display().to_string().starts_with('[') => one.display().to_string(),
        _ => json_compact(&Out::Seq(p.iter().map(|p| s(p.display().to_string())).collect())),
    }
}

/// Every directory a fileKeyRef of the pod reads from, named `env-N` in order of first use.
fn env_dirs(pod: &Pod) -> Vec<(String, String)> {
    let mut dirs: Vec<(String, String)> = Vec::new();
    for f in pod.init.iter().chain(&pod.apps).flat_map(|e| &e.file_env) {
        let dir = f.path.parent().map_or("/".to_string(), |d| d.display().to_string());
        if !dirs.iter().any(|(_, d)| *d == dir) {
            dirs.push((format!("env-{}", dirs.len() + 1), dir));
        }
    }
    dirs
}

/// The volume, its mount path and the file name in it for a fileKeyRef's `path`.
fn env_volume(dirs: &[(String, String)], path: &std::path::Path) -> (String, String, String) {
    let dir = path.parent().map_or("/".to_string(), |d| d.display().to_string());
    let file = path.file_name().map_or(String::new(), |f| f.to_string_lossy().into_owned());
    let name = dirs.iter().find(|(_, d)| *d == dir).map_or_else(|| "env".to_string(), |(n, _)| n.clone());
    (name, dir, file)
}

fn with_name(name: &str, rest: Out) -> Out {
    let mut rows = vec![("name".to_string(), s(name))];
    if let Out::Map(more) = rest {
        rows.extend(more);
    }
    Out::Map(rows)
}

/// A DNS-1123 label, what Kubernetes requires of a container name.
fn is_dns_label(name: &str) -> bool {
    name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `uid` or `uid:gid`, when the user is given by numbers.
fn numeric_user(u: &str) -> Option<(u32, Option<u32>)> {
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let num = |s: &str| s.parse::<u32>().ok().filter(|_| s.bytes().all(|b| b.is_ascii_digit()));
    Some((
        num(uid)?,
        match gid {
            Some(g) => Some(num(g)?),
            None => None,
        },
    ))
}

/// A user (and group) name's numbers from this machine's files, for runAsUser.
fn lookup_user(u: &str) -> Option<(u32, Option<u32>)> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    crate::sys::user::resolve_in(u, &passwd, &group).ok().map(|c| (c.uid, Some(c.gid)))
}

/// Whole seconds for a Kubernetes `…Seconds` field (rounded up, at least `min`),
/// and whether that is not exact, so the duration needs an annotation.
fn seconds(d: Duration, min: u64) -> (u64, bool) {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let exact = d.subsec_nanos() == 0 && secs >= min;
    (secs.max(min), !exact)
}

/// host and port of `host:port` (brackets off an IPv6 host).
fn split_host_port(t: &str) -> Option<(String, u16)> {
    let (host, port) = t.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Some((host.to_string(), port.parse().ok()?))
}

/// `http://host[:port][/path]` as host (no brackets), port and path.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let t = crate::config::http_target(url).ok()?;
    Some((t.bare_host().to_string(), t.port, t.path))
}

/// What the reader makes of a host and port: `[::1]` in brackets.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The host a probe or hook names, None for the pod itself: the kubelet
/// probes from the node, so a manifest names no host for "this pod", and the
/// reader takes a missing host as 127.0.0.1 again.
fn named_host(host: &str) -> Option<&str> {
    Some(host).filter(|h| !matches!(*h, "127.0.0.1" | "localhost"))
}

/// What the reader makes of a host and port as [`named_host`] writes them.
fn read_back(host: &str, port: u16) -> String {
    join_host_port(named_host(host).unwrap_or("127.0.0.1"), port)
}

fn http_get(host: &str, port: u16, path: &str) -> Out {
    let mut rows = named_host(host).map(|h| vec![("host", s(h))]).unwrap_or_default();
    rows.extend([("port", Out::Int(port.into())), ("path", s(path))]);
    map(rows)
}

/// A probe, and the exact values (annotation keys) Kubernetes' fields cannot hold.
fn probe(p: &Probe) -> Result<(Out, Vec<(String, Out)>), String> {
    let mut exact = Vec::new();
    let mut rows = match &p.action {
        ProbeAction::Exec(c) => vec![("exec", map(vec![("command", strs(c))]))],
        ProbeAction::Tcp(t) => {
            let (host, port) = split_host_port(t).ok_or_else(|| format!("bad tcp probe address '{t}'"))?;
            if read_back(&host, port) != *t {
                exact.push(("tcp".to_string(), s(t.as_str())));
            }
            let mut rows = named_host(&host).map(|h| vec![("host", s(h))]).unwrap_or_default();
            rows.push(("port", Out::Int(port.into())));
            vec![("tcpSocket", map(rows))]
        }
        ProbeAction::Http(HttpGet { url: u, headers }) => {
            let (host, port, path) = split_url(u).ok_or_else(|| format!("bad http probe URL '{u}'"))?;
            if format!("http://{}{path}", read_back(&host, port)) != *u {
                exact.push(("http".to_string(), s(u.as_str())));
            }
            let mut get = http_get(&host, port, &path);
            if let Out::Map(rows) = &mut get {
                if !headers.is_empty() {
                    let list =
                        headers.iter().map(|(n, v)| map(vec![("name", s(n.as_str())), ("value", s(v.as_str()))]));
                    rows.push(("httpHeaders".to_string(), Out::Seq(list.collect())));
                }
            }
            vec![("httpGet", get)]
        }
        ProbeAction::Grpc { addr, service } => {
            let (host, port) = split_host_port(addr).ok_or_else(|| format!("bad grpc probe address '{addr}'"))?;
            // The kubelet's grpc probe has no host: it always dials the pod itself.
            if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
                return Err(format!(
                    "a grpc probe of another host ({addr}) has no Kubernetes form: grpc probes always check the pod itself"
                ));
            }
            let mut g = vec![("port", Out::Int(port.into()))];
            if !service.is_empty() {
                g.push(("service", s(service.as_str())));
            }
            vec![("grpc", map(g))]
        }
    };
    for (key, ann, d, min, default) in [
        ("initialDelaySeconds", "initial_delay", p.initial_delay, 0, 0),
        ("periodSeconds", "period", p.period, 1, 10),
        ("timeoutSeconds", "timeout", p.timeout, 1, 1),
    ] {
        let (secs, inexact) = seconds(d, min);
        if inexact {
            exact.push((ann.to_string(), s(duration(d))));
        }
        if secs != default {
            rows.push((key, Out::Int(secs)));
        }
    }
    if p.success_threshold != 1 {
        rows.push(("successThreshold", Out::Int(p.success_threshold.into())));
    }
    if p.failure_threshold != 3 {
        rows.push(("failureThreshold", Out::Int(p.failure_threshold.into())));
    }
    Ok((map(rows), exact))
}

/// A hook: podinit's own httpGet and sleep runners go back to Kubernetes' handlers
/// when the reader would give back the very same command.
fn handler(argv: &[String]) -> Out {
    if let [exe, hook, arg] = argv {
        if exe == HOOK_EXE && hook == HOOK_SLEEP {
            if let Ok(secs) = arg.parse::<u32>() {
                if secs.to_string() == *arg {
                    return map(vec![("sleep", map(vec![("seconds", Out::Int(secs.into()))]))]);
                }
            }
        }
        if exe == HOOK_EXE && hook == HOOK_HTTP_GET {
            if let Some((host, port, path)) = split_url(arg) {
                if format!("http://{}{path}", read_back(&host, port)) == *arg {
                    return map(vec![("httpGet", http_get(&host, port, &path))]);
                }
            }
        }
    }
    map(vec![("exec", map(vec![("command", strs(argv))]))])
}

/// A waiter as the pod file writes it, for its annotation.
fn wait_for(w: &WaitFor) -> Out {
    let mut rows = vec![match &w.target {
        WaitTarget::Tcp(t) => ("tcp", s(t.as_str())),
        WaitTarget::Http(u) => ("http", s(u.as_str())),
        WaitTarget::File(p) => ("file", s(p.display().to_string())),
        WaitTarget::Unix(p) => ("unix", s(p.display().to_string())),
    }];
    if let Some(t) = w.timeout {
        rows.push(("timeout", s(duration(t))));
    }
    if w.period != Duration::from_secs(1) {
        rows.push(("period", s(duration(w.period))));
    }
    map(rows)
}

/// A shell stand-in for a waiter, for a cluster (podinit itself reads the
/// annotation): busybox's nc and wget are enough. Every `$` is doubled, since
/// Kubernetes expands `$(VAR)` in commands and `$$` is its escape.
fn waiter_script(w: &WaitFor) -> String {
    let q = |x: &str| format!("'{}'", x.replace('\'', "'\\''"));
    let (test, what) = match &w.target {
        WaitTarget::Tcp(t) => match split_host_port(t) {
            Some((host, port)) => (format!("nc -z -w 1 {} {port}", q(&host)), format!("tcp {t}")),
            None => (format!("false {}", q(t)), format!("tcp {t}")),
        },
        WaitTarget::Http(u) => (format!("wget -q -T 1 -O /dev/null {}", q(u)), format!("http {u}")),
        WaitTarget::File(p) => (format!("[ -e {} ]", q(&p.display().to_string())), format!("file {}", p.display())),
        WaitTarget::Unix(p) => (format!("[ -S {} ]", q(&p.display().to_string())), format!("unix {}", p.display())),
    };
    let ms = w.period.as_millis();
    let sleep = format!("{}.{:03}", ms / 1000, ms % 1000).trim_end_matches('0').trim_end_matches('.').to_string();
    let script = match w.timeout {
        None => format!("until {test}; do sleep {sleep}; done"),
        Some(t) => format!(
            "end=$(( $(date +%s) + {} )); until {test}; do [ \"$(date +%s)\" -lt \"$end\" ] || \
             {{ echo {} >&2; exit 1; }}; sleep {sleep}; done",
            seconds(t, 1).0,
            q(&format!("timed out waiting for {what}"))
        ),
    };
    script.replace('$', "$$")
}

// ---------------------------------------------------------------------------
// Writing YAML and JSON.

fn json_compact(v: &Out) -> String {
    let mut out = String::new();
    json_value(&mut out, v, None);
    out
}

/// JSON; pretty-printed with two-space steps from `indent` when it is Some.
fn json_value(out: &mut String, v: &Out, indent: Option<usize>) {
    let (open_nl, sep, close_nl) = match indent {
        Some(i) => {
            (format!("\n{}", " ".repeat(i + 2)), format!(",\n{}", " ".repeat(i + 2)), format!("\n{}", " ".repeat(i)))
        }
        None => (String::new(), ",".to_string(), String::new()),
    };
    let inner = indent.map(|i| i + 2);
    match v {
        Out::Str(x) => out.push_str(&serde_json::to_string(x).unwrap_or_default()),
        Out::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Out::Raw(x) => out.push_str(x),
        Out::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Out::Seq(items) if items.is_empty() => out.push_str("[]"),
        Out::Map(rows) if rows.is_empty() => out.push_str("{}"),
        Out::Seq(items) => {
            out.push('[');
            out.push_str(&open_nl);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&sep);
                }
                json_value(out, item, inner);
            }
            out.push_str(&close_nl);
            out.push(']');
        }
        Out::Map(rows) => {
            out.push('{');
            out.push_str(&open_nl);
            for (i, (k, item)) in rows.iter().enumerate() {
                if i > 0 {
                    out.push_str(&sep);
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(if indent.is_some() { ": " } else { ":" });
                json_value(out, item, inner);
            }
            out.push_str(&close_nl);
            out.push('}');
        }
    }
}

/// A block mapping at `indent` spaces (sequences under a key at the key's
/// indentation, as kubectl writes them).
fn yaml_map(out: &mut String, rows: &[(String, Out)], indent: usize) {
    for (k, v) in rows {
        out.push_str(&" ".repeat(indent));
        out.push_str(&yaml_string(k, indent));
        out.push(':');
        yaml_value(out, v, indent);
    }
}

/// The value after `key:` or `- ` (which ends the line, or continues it with a scalar).
fn yaml_value(out: &mut String, v: &Out, indent: usize) {
    match v {
        Out::Map(rows) if !rows.is_empty() => {
            out.push('\n');
            yaml_map(out, rows, indent + 2);
        }
        Out::Seq(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                match item {
                    Out::Map(rows) if !rows.is_empty() => {
                        // The first key goes on the dash's line.
                        let mut block = String::new();
                        yaml_map(&mut block, rows, indent + 2);
                        out.push(' ');
                        out.push_str(&block[indent + 2..]);
                    }
                    _ => yaml_value(out, item, indent),
                }
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&match v {
                Out::Str(x) => yaml_string(x, indent),
                Out::Int(n) => n.to_string(),
                Out::Raw(x) => x.clone(),
                Out::Bool(b) => b.to_string(),
                Out::Seq(_) => "[]".to_string(),
                _ => "{}".to_string(),
            });
            out.push('\n');
        }
    }
}

/// A YAML scalar for `x` that every reader (YAML 1.1 and 1.2, go-yaml, PyYAML)
/// reads back as that very string: plain when it cannot be mistaken for
/// anything else, a literal block for a script, else double-quoted.
fn yaml_string(x: &str, indent: usize) -> String {
    let first = x.chars().next();
    let plain = first.is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && x.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && matches!(super::yaml::parse(x).as_deref(), Ok([n]) if n.as_str() == Some(x));
    if plain {
        return x.to_string();
    }
    let first_line = x.split('\n').next().unwrap_or_default();
    let block = x.contains('\n')
        && !first_line.is_empty()
        && !first_line.starts_with([' ', '\t'])
        && x.chars().all(|c| c == '\n' || c == '\t' || printable(c));
    if block {
        let trailing = x.len() - x.trim_end_matches('\n').len();
        let chomp = match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        };
        let mut out = format!("|{chomp}");
        let body = if trailing == 0 { x } else { &x[..x.len() - 1] };
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(line);
            }
        }
        return out;
    }
    // Single quotes need no escapes but their own: the JSON in annotations reads best that way.
    if x.contains('"') && !x.contains('\'') && x.chars().all(printable) {
        return format!("'{x}'");
    }
    let mut out = String::from("\"");
    for c in x.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if printable(c) => out.push(c),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// YAML's printable characters, less the line and byte-order marks that some
/// readers treat specially inside a scalar.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_strings_read_back_as_written() {
        let nasty = [
            "plain",
            "yes",
            "No",
            "on",
            "y",
            "~",
            "null",
            "",
            "0755",
            "1e3",
            "12:30",
            "2001-12-14",
            "-c",
            "- d",
            "#c",
            "a #b",
            "a: b",
            "[x]",
            "{y}",
            "*z",
            "&a",
            "!t",
            "%p",
            "@q",
            "`r",
            "|",
            ">",
            "'",
            "\"",
            "q\"'",
            " lead",
            "trail ",
            "tab\there",
            "cr\r\nlf",
            "\u{1}\u{7f}\u{85}\u{9f}",
            "\u{2028}\u{feff}",
            "é ✓ 😀",
            "multi\nline",
            "multi\nline\n",
            "multi\nline\n\n\n",
            "\nleading newline",
            "  indented\nsecond",
            "last line  \n  ",
            "a\n\n\nb",
            "ends\nwith  spaces  ",
        ];
        for s in nasty {
            for indent in [0, 4] {
                let text = format!("{}k: {}\n", " ".repeat(indent), yaml_string(s, indent));
                let docs = crate::config::k8s::yaml::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
                assert_eq!(docs[0].get("k").and_then(|n| n.as_str()), Some(s), "{text}");
            }
        }
        assert_eq!(yaml_string("plain/path_1.x", 0), "plain/path_1.x");
        assert_eq!(yaml_string("a\nb\n", 2), "|\n    a\n    b");
    }

    /// Every document of `text` (YAML, or JSON whose `kind: List` holds several), positions left out.
    fn docs_of(text: &str) -> Vec<Out> {
        let docs: Vec<Out> = super::super::yaml::parse(text).unwrap().iter().map(out_of).collect();
        match docs.as_slice() {
            [Out::Map(rows)] if rows.iter().any(|(k, v)| k == "kind" && *v == s("List")) => {
                match rows.iter().find(|(k, _)| k == "items") {
                    Some((_, Out::Seq(items))) => items.clone(),
                    _ => panic!("a List without items: {text}"),
                }
            }
            _ => docs,
        }
    }

    const DEPLOYMENT: &str = r#"# A Service and its Deployment, as people write them.
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web, tier: "1"}
    spec:
      volumes: [{name: data, emptyDir: {}}]
      containers:
      - name: web
        image: nginx:1.27
        command: [nginx]
        args: ["-g", "daemon off;"]
        resources: {limits: {cpu: 0.5, memory: 64Mi}}
        volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
        env:
        - name: IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: NODE
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: UID
          valueFrom: {fieldRef: {fieldPath: metadata.uid}}
        readinessProbe:
          httpGet: {path: /, port: 8080}
        livenessProbe:
          tcpSocket: {port: 8080}
          periodSeconds: 7
      - name: empty
        image: busybox
        command: [sleep, "1e3", "~"]
        env: [{name: X, value: ""}, {name: NONE}]
"#;

    #[test]
    fn a_manifest_exports_as_itself() {
        let path = std::path::Path::new("web.yaml");
        let pod = super::super::parse(path, DEPLOYMENT).unwrap();
        let source = docs_of(DEPLOYMENT);
        let mut texts = Vec::new();
        for json in [false, true] {
            // --image is for pod files: a manifest keeps its images.
            let text = export(&pod, "busybox:stable", json).unwrap();
            assert_eq!(docs_of(&text), source, "json: {json}\n{text}");
            assert!(!text.contains("namespace") && !text.contains("busybox:stable") && !text.contains("host"));
            // The same pod again, and a fixed point: the export exported is the export.
            let back = super::super::parse(path, &text).unwrap();
            assert_eq!(back, pod);
            assert_eq!(export(&back, "x", json).unwrap(), text);
            texts.push(text);
        }
        // Exports are deterministic: no random UID, no machine's address or name.
        assert_eq!(texts[0], export(&super::super::parse(path, DEPLOYMENT).unwrap(), "x", false).unwrap());
        assert!(texts[1].starts_with("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\","), "{}", texts[1]);
    }

    #[test]
    fn a_changed_pod_is_exported_from_the_pod_not_its_manifest() {
        let path = std::path::Path::new("web.yaml");
        let mut pod = super::super::parse(path, DEPLOYMENT).unwrap();
        pod.apps[0].command.push("-q".into());
        let text = export(&pod, "img", false).unwrap();
        assert!(text.starts_with("apiVersion: v1\nkind: Pod\n") && text.contains("image: img\n"), "{text}");
        // Written from the model as a pod file's pod is: without the manifest's volumes.
        let mut want = pod.clone();
        want.volumes.clear();
        assert_eq!(super::super::parse(path, &text).unwrap(), want);
    }

    #[test]
    fn pod_file_references_export_as_field_refs() {
        let toml =
            "[[app]]\nname = \"a\"\ncommand = [\"a\"]\nenv = { IP = \"$(status.podIP)\", NODE = \"$(spec.nodeName)\", \
                    U = \"$(metadata.uid)\", H = \"$(status.hostIP)\", L = \"$$(status.podIP)\" }\n";
        let mut pod = crate::config::parse(std::path::Path::new("p.toml"), toml).unwrap();
        let text = export(&pod, "img", false).unwrap();
        for (name, field) in
            [("IP", "status.podIP"), ("NODE", "spec.nodeName"), ("U", "metadata.uid"), ("H", "status.hostIP")]
        {
            let want = format!("  - name: {name}\n      valueFrom:\n        fieldRef:\n          fieldPath: {field}\n");
            assert!(text.contains(&want), "{want}\n{text}");
        }
        assert!(text.contains("value: \"$$(status.podIP)\"\n"), "{text}");
        // Less the HOSTNAME every manifest's container gets.
        let back = super::super::parse(std::path::Path::new("p.toml"), &text).unwrap();
        assert_eq!(super::super::tests::no_hostname(back), pod);
        pod.apps[0].env.push(("M".into(), "x$(status.podIP)".into()));
        let err = export(&pod, "img", false).unwrap_err();
        assert!(err.starts_with("entry 'a': the value of M uses the downward API"), "{err}");
    }

    #[test]
    fn yaml_numbers_become_json_numbers() {
        for (yaml, json) in
            [("1.5", "1.5"), ("1_000.25", "1000.25"), ("+.5", "0.5"), ("-007.", "-7"), ("2.5e-3", "2.5e-3")]
        {
            assert_eq!(json_number(yaml).as_deref(), Some(json), "{yaml}");
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert!(v.is_number(), "{json}");
        }
        for bad in [".inf", "-.Inf", ".nan", ".", "1.2.3", "1e", "x"] {
            assert_eq!(json_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_is_valid_json() {
        let v =
            map(vec![("a", s("x\"\n")), ("b", Out::Seq(vec![Out::Int(1), Out::Map(vec![])])), ("c", Out::Seq(vec![]))]);
        for pretty in [None, Some(0)] {
            let mut text = String::new();
            json_value(&mut text, &v, pretty);
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, serde_json::json!({"a": "x\"\n", "b": [1, {}], "c": []}), "{text}");
        }
    }
}
