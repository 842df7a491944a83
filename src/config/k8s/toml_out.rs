//! A pod as pod-file TOML (`podinit import`).
//!
//! Hand-written rather than serialized: the pod file has one known shape, and
//! writing it by hand gives exact control of key order and layout (SPEC §4's
//! order, multi-line scripts as `"""` strings, defaults left out), so the text
//! is what a person would write and `import` of an `export` is stable.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{
    Backoff, Entry, ExitCodeOperator, Kind, Pod, Probe, ProbeAction, RestartPolicy, RestartRule, WaitFor, WaitTarget,
};
use crate::sys::signals;

/// The pod file for `pod`.
pub(crate) fn emit(pod: &Pod) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "name = {}", string(&pod.name));
    let _ = writeln!(out, "namespace = {}", string(&pod.namespace));
    let _ = writeln!(out, "restart_policy = \"{}\"", policy_name(pod.restart_policy));
    let _ = writeln!(out, "termination_grace_period = \"{}\"", duration(pod.termination_grace_period));
    if let Some(d) = pod.active_deadline {
        let _ = writeln!(out, "active_deadline = \"{}\"", duration(d));
    }
    if pod.marker_dir.as_os_str() != crate::config::model::DEFAULT_MARKER_DIR {
        let _ = writeln!(out, "marker_dir = {}", string(&pod.marker_dir.display().to_string()));
    }
    if pod.state_dir.as_os_str() != crate::config::model::DEFAULT_STATE_DIR {
        let _ = writeln!(out, "state_dir = {}", string(&pod.state_dir.display().to_string()));
    }
    if pod.log_prefix {
        out.push_str("log_prefix = true\n");
    }
    if pod.backoff != Backoff::default() {
        let (i, m) = (duration(pod.backoff.initial), duration(pod.backoff.max));
        let _ = writeln!(out, "backoff = {{ initial = \"{i}\", max = \"{m}\" }}");
    }
    if !pod.env_files.is_empty() {
        let _ = writeln!(out, "env_file = {}", paths(&pod.env_files));
    }
    if !pod.env.is_empty() {
        out.push_str("\n[env]\n");
        for (k, v) in &pod.env {
            let _ = writeln!(out, "{} = {}", key(k), string(v));
        }
    }
    for (section, entries) in [("init", &pod.init), ("app", &pod.apps)] {
        for e in entries.iter() {
            let _ = writeln!(out, "\n[[{section}]]");
            entry(&mut out, e, &pod.env);
        }
    }
    out
}

/// The env a pod file gives entry `e`: its own, after what a manifest's container runtime
/// adds under it (the image's Env, an Indexed Job's index) that neither it nor the pod's
/// env (`pod_env`) overrides. The usual `HOSTNAME = "$(POD_NAME)"` is left out: a pod
/// file's entries do not get it, and a pod file → manifest → pod file must not gain it.
pub(super) fn pod_file_env(e: &Entry, pod_env: &[(String, String)]) -> Vec<(String, String)> {
    let overridden = |k: &str| e.env.iter().chain(pod_env).any(|(n, _)| n == k);
    let base = e.base_env.iter().filter(|(k, v)| !(overridden(k) || k == "HOSTNAME" && v == "$(POD_NAME)"));
    base.chain(&e.env).cloned().collect()
}

fn entry(out: &mut String, e: &Entry, pod_env: &[(String, String)]) {
    let _ = writeln!(out, "name = {}", string(&e.name));
    if e.kind == Kind::Sidecar {
        out.push_str("restart = \"Always\"\n");
    }
    if !e.command.is_empty() {
        let _ = writeln!(out, "command = {}", argv(&e.command, true));
    }
    if let Some(w) = &e.wait_for {
        let _ = writeln!(out, "wait_for = {}", wait_for(w));
    }
    if !e.env_files.is_empty() {
        let _ = writeln!(out, "env_file = {}", paths(&e.env_files));
    }
    let env = pod_file_env(e, pod_env);
    if !env.is_empty() || !e.file_env.is_empty() {
        let mut vars: Vec<String> = env.iter().map(|(k, v)| format!("{} = {}", key(k), string(v))).collect();
        for f in &e.file_env {
            let opt = if f.optional { ", optional = true" } else { "" };
            let file = string(&f.path.display().to_string());
            vars.push(format!("{} = {{ file = {file}, key = {}{opt} }}", key(&f.name), string(&f.key)));
        }
        let _ = writeln!(out, "env = {{ {} }}", vars.join(", "));
    }
    if let Some(p) = e.restart_policy {
        let _ = writeln!(out, "restart_policy = \"{}\"", policy_name(p));
    }
    if !e.restart_rules.is_empty() {
        let rules: Vec<String> = e.restart_rules.iter().map(rule).collect();
        let _ = writeln!(out, "restart_rules = [{}]", rules.join(", "));
    }
    if e.notify {
        out.push_str("notify = true\n");
    }
    if let Some(d) = &e.working_dir {
        let _ = writeln!(out, "working_dir = {}", string(&d.display().to_string()));
    }
    if let Some(u) = &e.user {
        let _ = writeln!(out, "user = {}", string(u));
    }
    if e.stop_signal != libc::SIGTERM {
        let _ = writeln!(out, "stop_signal = {}", string(&signals::name(e.stop_signal)));
    }
    if let Some(t) = e.timeout {
        let _ = writeln!(out, "timeout = \"{}\"", duration(t));
    }
    if e.kind == Kind::Init && !e.once {
        out.push_str("once = false\n");
    }
    if e.essential {
        out.push_str("essential = true\n");
    }
    for (k, p) in [
        ("startup_probe", &e.startup_probe),
        ("readiness_probe", &e.readiness_probe),
        ("liveness_probe", &e.liveness_probe),
    ] {
        if let Some(p) = p {
            let _ = writeln!(out, "{k} = {}", probe(p));
        }
    }
    if let Some(c) = &e.post_start {
        let _ = writeln!(out, "post_start = {}", argv(c, true));
    }
    if let Some(c) = &e.pre_stop {
        let _ = writeln!(out, "pre_stop = {}", argv(c, true));
    }
}

/// The Kubernetes name of a restart policy.
pub(crate) fn policy_name(p: RestartPolicy) -> &'static str {
    p.as_str()
}

/// The Kubernetes name of an exit-code operator.
pub(crate) fn operator_name(o: ExitCodeOperator) -> &'static str {
    match o {
        ExitCodeOperator::In => "In",
        ExitCodeOperator::NotIn => "NotIn",
    }
}

fn rule(r: &RestartRule) -> String {
    let values: Vec<String> = r.values.iter().map(i32::to_string).collect();
    format!(
        "{{ action = \"Restart\", exit_codes = {{ operator = \"{}\", values = [{}] }} }}",
        operator_name(r.operator),
        values.join(", ")
    )
}

/// One path as a string, several as an array.
fn paths(p: &[std::path::PathBuf]) -> String {
    let items: Vec<String> = p.iter().map(|p| string(&p.display().to_string())).collect();
    match items.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", items.join(", ")),
    }
}

fn probe(p: &Probe) -> String {
    let mut parts = vec![match &p.action {
        ProbeAction::Exec(c) => format!("exec = {}", argv(c, false)),
        ProbeAction::Tcp(t) => format!("tcp = {}", string(t)),
        ProbeAction::Http(h) if h.headers.is_empty() => format!("http = {}", string(&h.url)),
        ProbeAction::Http(h) => format!("http = {}, headers = {}", string(&h.url), headers(&h.headers)),
        ProbeAction::Grpc { addr, service } if service.is_empty() => format!("grpc = {}", string(addr)),
        ProbeAction::Grpc { addr, service } => format!("grpc = {}, service = {}", string(addr), string(service)),
    }];
    if !p.initial_delay.is_zero() {
        parts.push(format!("initial_delay = \"{}\"", duration(p.initial_delay)));
    }
    if p.period != Duration::from_secs(10) {
        parts.push(format!("period = \"{}\"", duration(p.period)));
    }
    if p.timeout != Duration::from_secs(1) {
        parts.push(format!("timeout = \"{}\"", duration(p.timeout)));
    }
    if p.success_threshold != 1 {
        parts.push(format!("success_threshold = {}", p.success_threshold));
    }
    if p.failure_threshold != 3 {
        parts.push(format!("failure_threshold = {}", p.failure_threshold));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// `{ Name = "v", Repeated = ["a", "b"] }`: a header's values in order, names
/// in the order they first appear.
fn headers(h: &[(String, String)]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (n, _) in h {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let rows: Vec<String> = names
        .iter()
        .map(|name| {
            let values: Vec<&str> = h.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
            match values.as_slice() {
                [one] => format!("{} = {}", key(name), string(one)),
                _ => format!("{} = [{}]", key(name), values.iter().map(|v| string(v)).collect::<Vec<_>>().join(", ")),
            }
        })
        .collect();
    format!("{{ {} }}", rows.join(", "))
}

fn wait_for(w: &WaitFor) -> String {
    let mut parts = vec![match &w.target {
        WaitTarget::Tcp(t) => format!("tcp = {}", string(t)),
        WaitTarget::Http(u) => format!("http = {}", string(u)),
        WaitTarget::File(p) => format!("file = {}", string(&p.display().to_string())),
        WaitTarget::Unix(p) => format!("unix = {}", string(&p.display().to_string())),
    }];
    if let Some(t) = w.timeout {
        parts.push(format!("timeout = \"{}\"", duration(t)));
    }
    if w.period != Duration::from_secs(1) {
        parts.push(format!("period = \"{}\"", duration(w.period)));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// `["sh", "-c", """…"""]`: a multi-line argument (a script) as a multi-line string when
/// `multiline` (inline tables must stay on one line, so probes do not).
fn argv(args: &[String], multiline: bool) -> String {
    let items: Vec<String> =
        args.iter().map(|a| if multiline && a.contains('\n') { multiline_string(a) } else { string(a) }).collect();
    format!("[{}]", items.join(", "))
}

/// A bare key when TOML allows one, else a quoted one.
fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        string(k)
    }
}

/// A TOML basic string.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape(&mut out, c, false);
    }
    out.push('"');
    out
}

/// A TOML multi-line basic string. Its first newline (right after the opening
/// quotes) is not part of the value. A quote is escaped when another follows
/// it or it ends the value, so no run of three, or one touching the closing
/// delimiter, can form.
fn multiline_string(s: &str) -> String {
    let mut out = String::from("\"\"\"\n");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if matches!(chars.peek(), Some('"') | None) => out.push_str("\\\""),
            '"' => out.push('"'),
            _ => escape(&mut out, c, true),
        }
    }
    out.push_str("\"\"\"");
    out
}

fn escape(out: &mut String, c: char, multiline: bool) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' if multiline => out.push('\n'),
        '\t' => out.push('\t'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
        c => out.push(c),
    }
}

/// `1h2m3s4ms`: whole units, largest first; `0s` for zero.
pub(crate) fn duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, len) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= len {
            let _ = write!(out, "{}{unit}", ms / len);
            ms %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_whole_units() {
        let ms = Duration::from_millis;
        for (d, want) in
            [(0, "0s"), (500, "500ms"), (30_000, "30s"), (90_000, "1m30s"), (3_723_004, "1h2m3s4ms"), (7_200_000, "2h")]
        {
            assert_eq!(duration(ms(d)), want);
            assert_eq!(crate::config::parse_duration(want), Ok(ms(d)));
        }
    }

    #[test]
    fn strings_read_back_through_the_pod_file_reader() {
        let nasty = [
            "plain",
            "quote \" and \\ backslash",
            "line\nbreak",
            "ends with quote\"",
            "two \"\" quotes and three \"\"\" quotes",
            "\"starts with a quote",
            "\ttab and \r return and \u{7f} delete",
            "\n\nleading newlines",
            "trailing newline\n",
            "unicode é ✓",
            "$(VAR) and $$(VAR)",
        ];
        for s in nasty {
            let text = format!(
                "[env]\nV = {}\n[[app]]\nname = \"a\"\ncommand = [\"x\", {}]\n",
                string(s),
                multiline_string(s)
            );
            let pod =
                crate::config::parse(std::path::Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(pod.env[0].1, s, "{text}");
            assert_eq!(pod.apps[0].command[1], s, "{text}");
        }
        assert_eq!(key("A_B-1"), "A_B-1");
        assert_eq!(key("a.b"), "\"a.b\"");
    }
}
