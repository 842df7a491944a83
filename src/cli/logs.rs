//! `podinit logs`, `podinit describe` and `podinit status -o json`: a pod's
//! output, events and Kubernetes-shaped status, with kubectl's flags and
//! meanings.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lexopt::prelude::*;

use crate::cli::commands::load_or_print;
use crate::cli::table;
use crate::cli::{CliError, Mode};
use crate::config;
use crate::pod::control::{self, ControlError};
use crate::pod::k8s_status;
use crate::pod::logs::{self, dir};
use crate::pod::protocol::Query;
use crate::pod::protocol::{Reply, Request};
use crate::pod::status::PodStatus;
use crate::pod::status_file;

/// `podinit logs [-c FILE] NAME|--all [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix]`.
pub(crate) fn parse_logs(args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let mut q = Query::default();
    let bad = |m: String| CliError::new(format!("'podinit logs': {m}"));
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.into(),
            Short('f') | Long("follow") => q.follow = true,
            Short('p') | Long("previous") => q.previous = true,
            Long("timestamps") => q.timestamps = true,
            Long("prefix") => q.prefix = true,
            Long("all") | Long("all-containers") => q.all = true,
            Long("tail") => {
                let v = p.value()?.string()?;
                q.tail = match v.parse::<i64>() {
                    Ok(-1) => None,
                    Ok(n) if n >= 0 => Some(n as u64),
                    _ => return Err(bad(format!("--tail: '{v}' is not a number of lines (-1: all)"))),
                };
            }
            Long("since") => {
                let v = p.value()?.string()?;
                let d = config::parse_duration(&v).map_err(|e| bad(format!("--since: bad duration '{v}': {e}")))?;
                q.since_ms = Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            }
            Value(v) if q.name.is_none() => q.name = Some(v.string()?),
            Value(v) => return Err(bad(format!("unexpected argument '{}'", v.to_string_lossy()))),
            other => return Err(bad(other.unexpected().to_string())),
        }
    }
    if q.name.is_some() && q.all {
        return Err(bad("give NAME or --all, not both".into()));
    }
    if q.name.is_none() && !q.all {
        return Err(bad("needs the NAME of an entry, or --all".into()));
    }
    // kubectl: --prefix is implied when several containers are shown.
    Ok(Mode::Logs { config, query: q })
}

/// `podinit describe [-c FILE] [NAME]`.
pub(crate) fn parse_describe(args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let mut name = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.into(),
            Value(v) if name.is_none() => name = Some(v.string()?),
            other => return Err(CliError::new(format!("'podinit describe': {}", other.unexpected()))),
        }
    }
    Ok(Mode::Describe { config, name })
}

/// Whether `podinit status` was asked for `-o json` / `--output json` (the Pod object).
pub(crate) fn wants_pod_json(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "-o" || a == "--output" || a == "-ojson" || a == "--output=json")
}

/// `podinit status -o json [-c FILE]`.
pub(crate) fn parse_status_output(args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.into(),
            Short('o') | Long("output") => {
                let v = p.value()?.string()?;
                if v != "json" {
                    return Err(CliError::new(format!(
                        "'podinit status': -o {v}: only -o json (a Kubernetes Pod object) is supported; --json is podinit's own format"
                    )));
                }
            }
            other => return Err(CliError::new(format!("'podinit status': {}", other.unexpected()))),
        }
    }
    Ok(Mode::PodJson { config })
}

/// `podinit logs`: from the running pod, else from `log_dir` when the pod file has one.
pub(crate) fn logs(path: &Path, q: &Query) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match control::logs(&pod.state_dir, q, &mut out) {
        Ok(Reply { ok: true, .. }) => 0,
        Ok(reply) => {
            eprintln!("podinit: {}", reply.message);
            1
        }
        Err(e @ ControlError::NotRunning { .. }) => match logs::Config::for_pod(&pod).dir {
            Some(d) => from_files(&d.root, &pod, q, &mut out),
            None => {
                eprintln!("podinit: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("podinit: {e}");
            1
        }
    }
}

/// `podinit logs` on a pod that is not running: its `log_dir` files.
fn from_files(root: &Path, pod: &config::Pod, q: &Query, out: &mut dyn Write) -> i32 {
    let names: Vec<String> = match &q.name {
        Some(n) => vec![n.clone()],
        None => pod.init.iter().chain(&pod.apps).map(|e| e.name.clone()).collect(),
    };
    if q.follow {
        eprintln!("podinit: the pod is not running; showing its log files without following");
    }
    let now = logs::time::wall_nanos();
    let since =
        q.since_ms.map(|ms| now.saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1_000_000)));
    let mut buf = Vec::new();
    for name in &names {
        let recs = match dir::read_run(root, name, q.previous) {
            Ok(Some((_, r))) => r,
            Ok(None) | Err(_) if q.all => continue,
            Ok(None) if q.previous => {
                eprintln!("podinit: previous terminated container \"{name}\" in pod \"{}\" not found", pod.name);
                return 1;
            }
            Ok(None) | Err(_) => {
                eprintln!("podinit: no log files for {name} under {}", root.display());
                return 1;
            }
        };
        let recs: Vec<_> = recs.into_iter().filter(|r| since.is_none_or(|s| r.0 >= s)).collect();
        let skip = q.tail.map_or(0, |n| recs.len().saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)));
        for (t, _, partial, text) in &recs[skip..] {
            logs::format_record(&mut buf, &pod.name, name, q.timestamps, q.prefix, *t, *partial, text);
        }
    }
    let _ = out.write_all(&buf);
    0
}

/// The live status, else the last status.json; None (the reason printed) when
/// the pod file does not load (as for `status`: its state_dir is unknown) or
/// there is no status at all.
fn current_status(path: &Path) -> Option<PodStatus> {
    let dir = load_or_print(path)?.state_dir;
    match control::request(&dir, &Request::Status, Duration::from_secs(5)) {
        Ok(Reply { status: Some(st), .. }) => Some(st),
        _ => status_file::read(&dir).map_err(|e| eprintln!("podinit: {e}")).ok(),
    }
}

/// `podinit status -o json`.
pub(crate) fn pod_json(path: &Path) -> i32 {
    let Some(st) = current_status(path) else { return 1 };
    println!("{}", serde_json::to_string_pretty(&k8s_status::pod_object(&st)).unwrap_or_default());
    0
}

/// `podinit describe [NAME]`.
pub(crate) fn describe(path: &Path, name: Option<&str>) -> i32 {
    let Some(st) = current_status(path) else { return 1 };
    if let Some(n) = name {
        if !st.entries.iter().any(|e| e.name == n) {
            let names: Vec<&str> = st.entries.iter().map(|e| e.name.as_str()).collect();
            eprintln!("podinit: no entry named '{n}' in pod {} (entries: {})", st.name, names.join(", "));
            return 1;
        }
    }
    print!("{}", render_describe(&st, name, crate::now_unix()));
    0
}

/// `kubectl describe pod`'s layout: the pod, each entry, the conditions, the events.
pub(crate) fn render_describe(st: &PodStatus, only: Option<&str>, now: u64) -> String {
    use std::fmt::Write as _;
    let pod = k8s_status::pod_object(st);
    let s = &pod.status;
    let time = |t: u64| logs::time::rfc3339_secs(t);
    let mut o = String::new();
    let _ = writeln!(o, "Name:         {}", st.name);
    let _ = writeln!(o, "Namespace:    {}", st.namespace);
    let _ = writeln!(o, "Start Time:   {}", time(st.started_at));
    let _ = writeln!(o, "Status:       {}", s.phase);
    let _ = writeln!(o, "PID:          {}", st.pid);
    for (title, all) in [("Init Containers", &s.init_container_statuses), ("Containers", &s.container_statuses)] {
        let list: Vec<_> = all.iter().filter(|c| only.is_none_or(|n| c.name == n)).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "{title}:");
        for c in list {
            let _ = writeln!(o, "  {}:", c.name);
            describe_state(&mut o, "State", &c.state);
            describe_state(&mut o, "Last State", &c.last_state);
            let _ = writeln!(o, "    Ready:          {}", if c.ready { "True" } else { "False" });
            let _ = writeln!(o, "    Restart Count:  {}", c.restart_count);
        }
    }
    if only.is_none() {
        let _ = writeln!(o, "Conditions:\n  Type                        Status");
        for c in &s.conditions {
            let _ = writeln!(o, "  {:<28}{}", c.kind, c.status);
        }
    }
    let events: Vec<_> = st.events.iter().filter(|e| only.is_none_or(|n| e.entry.as_deref() == Some(n))).collect();
    if events.is_empty() {
        o.push_str("Events:       <none>\n");
        return o;
    }
    let age = |t: u64| table::format_age(now.saturating_sub(t));
    let mut rows = vec![["Type", "Reason", "Age", "From", "Message"].map(String::from).to_vec()];
    rows.push(["----", "------", "----", "----", "-------"].map(String::from).to_vec());
    for e in events {
        let interval = if e.count > 1 {
            format!("{} (x{} over {})", age(e.last_seen), e.count, age(e.first_seen))
        } else {
            age(e.first_seen)
        };
        let msg: String = e.message.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        rows.push(vec![e.kind.clone(), e.reason.clone(), interval, "podinit".into(), msg]);
    }
    o.push_str("Events:\n");
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for r in rows {
        let mut line = String::from("  ");
        for (i, cell) in r.iter().enumerate() {
            if i == 4 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        o.push_str(line.trim_end());
        o.push('\n');
    }
    o
}

fn describe_state(o: &mut String, label: &str, state: &k8s_status::ContainerState) {
    use std::fmt::Write as _;
    let row = |o: &mut String, name: &str, text: &str| {
        let _ = writeln!(o, "      {:<14}{text}", format!("{name}:"));
    };
    if let Some(w) = &state.waiting {
        let _ = writeln!(o, "    {:<16}Waiting", format!("{label}:"));
        row(o, "Reason", w.reason);
    } else if let Some(r) = &state.running {
        let _ = writeln!(o, "    {:<16}Running", format!("{label}:"));
        if let Some(t) = &r.started_at {
            row(o, "Started", t);
        }
    } else if let Some(t) = &state.terminated {
        let _ = writeln!(o, "    {:<16}Terminated", format!("{label}:"));
        row(o, "Reason", &t.reason);
        row(o, "Exit Code", &t.exit_code.to_string());
        for (name, v) in [("Started", &t.started_at), ("Finished", &t.finished_at)] {
            if let Some(v) = v {
                row(o, name, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Mode, CliError> {
        crate::cli::parse(&"podinit".into(), args.iter().map(OsString::from).collect(), &|_| None)
    }

    #[test]
    fn kubectl_flags() {
        let want = Query {
            name: Some("web".into()),
            follow: true,
            previous: true,
            tail: Some(20),
            since_ms: Some(90_000),
            timestamps: true,
            prefix: true,
            ..Query::default()
        };
        let got = p(&[
            "logs",
            "-c",
            "x.toml",
            "web",
            "-f",
            "-p",
            "--tail=20",
            "--since",
            "1m30s",
            "--timestamps",
            "--prefix",
        ]);
        assert_eq!(got, Ok(Mode::Logs { config: "x.toml".into(), query: want }));
        match p(&["logs", "--all-containers", "--tail", "-1"]) {
            Ok(Mode::Logs { query, .. }) => assert!(query.all && query.tail.is_none() && query.name.is_none()),
            other => panic!("{other:?}"),
        }
        for (args, needle) in [
            (&["logs"][..], "needs the NAME"),
            (&["logs", "a", "--all"][..], "not both"),
            (&["logs", "a", "--tail", "x"][..], "--tail"),
            (&["logs", "a", "--since", "5"][..], "--since"),
            (&["logs", "a", "b"][..], "unexpected argument 'b'"),
            (&["status", "-o", "yaml"][..], "only -o json"),
        ] {
            let e = p(args).unwrap_err().to_string();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        assert_eq!(p(&["status", "-o", "json", "-c", "f"]), Ok(Mode::PodJson { config: "f".into() }));
        assert_eq!(
            p(&["describe", "web"]),
            Ok(Mode::Describe { config: config::default_path(), name: Some("web".into()) })
        );
    }

    #[test]
    fn describe_lists_events_as_kubectl_does() {
        let st = PodStatus {
            name: "p".into(),
            namespace: "ns".into(),
            status: "Running".into(),
            started_at: 1000,
            entries: vec![crate::pod::status::EntryStatus {
                name: "web".into(),
                kind: "app".into(),
                state: "Running".into(),
                ready: Some(true),
                ..Default::default()
            }],
            events: vec![crate::pod::status::EventStatus {
                kind: "Warning".into(),
                reason: "Unhealthy".into(),
                entry: Some("web".into()),
                message: "Liveness probe failed: refused\n".into(),
                count: 3,
                first_seen: 1000,
                last_seen: 1050,
            }],
            ..PodStatus::default()
        };
        let out = render_describe(&st, None, 1060);
        assert!(out.contains("  Type     Reason     Age                From     Message\n"), "{out}");
        assert!(
            out.contains("  Warning  Unhealthy  10s (x3 over 60s)  podinit  Liveness probe failed: refused\n"),
            "{out}"
        );
        assert!(out.contains("Containers:\n  web:\n    State:          Running\n"), "{out}");
        assert!(render_describe(&st, Some("other"), 1060).contains("Events:       <none>"));
    }
}
