//! What each fuzz target checks, shared by the libFuzzer targets in
//! `fuzz/fuzz_targets/` and by `tests/fuzz_regressions.rs`, which replays every
//! input kept under `tests/fuzz-corpus/<target>/` through the same functions in
//! the normal `cargo test`.
//!
//! Each check calls a podinit parser on arbitrary bytes and panics (a crash for
//! libFuzzer, a failure for cargo test) when the parser panics or breaks one of
//! its documented promises. Nothing here touches the file system or the network.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use podinit::fuzzing as pi;

/// A check: runs one input through a parser and asserts its promises.
pub(crate) type Check = fn(&[u8]);

/// Every target, by the name of its corpus directory and fuzz binary.
pub(crate) const TARGETS: &[(&str, Check)] = &[
    ("pod_file", pod_file),
    ("duration", duration),
    ("signal_name", signal_name),
    ("expand", expand_vars),
    ("status_json", status_json),
    ("http_status", http_status),
    ("control_request", control_request),
];

/// The pod file reader and checker (`config::parse`: the `toml` crate's
/// spanned tree, then the validator's walk of it). Promises: no panic (and no
/// stack overflow, however deep the nesting); `Err` holds at least one error,
/// each displayed as one line starting with the file name, with a line and
/// column in the text; the text is refused as TOML exactly when the `toml`
/// crate itself refuses it (or nests too deep), and then with that one error;
/// an accepted pod satisfies the invariants the state machine relies on.
pub(crate) fn pod_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.toml");
    let result = pi::parse_pod_file(path, &text);
    // The crate on its own, as an oracle for what is valid TOML.
    let crate_accepts = toml::de::DeTable::parse(&text).is_ok();
    match result {
        Err(errors) => {
            assert!(!errors.is_empty(), "Err without any error");
            let syntax = errors.iter().filter(|e| e.message.starts_with("invalid TOML: ")).count();
            let too_deep = errors.iter().any(|e| e.message.contains("nest too deep"));
            if syntax > 0 {
                assert_eq!(errors.len(), 1, "a syntax error and more: {errors:#?}");
                assert!(!crate_accepts || too_deep, "the toml crate accepts what podinit calls invalid: {errors:#?}");
            } else {
                assert!(crate_accepts, "the toml crate refuses what podinit took for TOML: {errors:#?}");
            }
            for e in &errors {
                let line = e.to_string();
                assert!(line.starts_with("fuzz.toml:"), "error not prefixed by the file: {line:?}");
                assert!(!line.contains('\n') && !line.contains('\r'), "error spans lines: {line:?}");
                let (Some(l), Some(c)) = (e.line, e.col) else { panic!("error without a position: {line:?}") };
                assert!(l >= 1 && c >= 1, "0-based position in {line:?}");
                assert!(l <= text.lines().count().max(1) + 1, "line {l} past the end: {line:?}");
            }
        }
        Ok(pod) => {
            assert!(crate_accepts, "podinit accepted what the toml crate refuses");
            let mut names: Vec<&str> = pod.init.iter().chain(&pod.apps).map(|e| e.name.as_str()).collect();
            let total = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), total, "duplicate entry names accepted");
            let now = Instant::now();
            for e in pod.init.iter().chain(&pod.apps) {
                // Names become `<name>.done` file names: never a path.
                assert!(!e.name.is_empty() && e.name.len() <= 63, "bad name accepted: {:?}", e.name);
                assert!(!e.name.contains('/') && e.name != "." && e.name != "..", "path-like name: {:?}", e.name);
                assert!(e.command.iter().all(|a| !a.contains('\0')), "NUL in argv accepted: {:?}", e.command);
                assert!(!e.command.is_empty() || e.wait_for.is_some(), "entry {:?} with nothing to run", e.name);
                // Any real signal may stop an app (Apache stops on SIGWINCH), even SIGCHLD.
                assert!((1..=pi::sigrtmax()).contains(&e.stop_signal), "stop_signal {}", e.stop_signal);
                for (k, v) in &e.env {
                    assert!(!k.is_empty() && !k.contains('=') && !k.contains('\0'), "bad env name {k:?}");
                    assert!(!v.contains('\0'), "NUL in env value accepted");
                }
                // What the state machine does with an accepted entry must not panic either.
                let _ = pi::definition_hash(e, &pod.env);
                for p in [&e.startup_probe, &e.readiness_probe, &e.liveness_probe].into_iter().flatten() {
                    assert!(p.success_threshold >= 1 && p.failure_threshold >= 1);
                    let _ = pi::ProbeState::new(pi::ProbeKind::Readiness, pi::Timing::of_probe(p), now);
                }
                if let Some(w) = &e.wait_for {
                    let _ = pi::ProbeState::new(pi::ProbeKind::Wait, pi::Timing::of_wait(w), now);
                    let _ = pi::describe_waiter(w);
                }
                if let Some(t) = e.timeout {
                    let _ = now + t;
                }
            }
            let _ = now + pod.termination_grace_period;
            if let Some(d) = pod.active_deadline {
                let _ = now + d;
            }
            for (k, v) in &pod.env {
                assert!(!k.is_empty() && !k.contains('=') && !k.contains('\0'), "bad env name {k:?}");
                assert!(!v.contains('\0'), "NUL in env value accepted");
            }
        }
    }
}

/// `parse_duration`. Promises: no panic; never more than 100 years (an Instant
/// plus it must not overflow); a plain `<digits><unit>` means what it says.
pub(crate) fn duration(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let result = pi::parse_duration(s);
    if let Ok(d) = result {
        assert!(d <= Duration::from_secs(100 * 365 * 24 * 3600), "{s:?} gave {d:?}");
        let _ = Instant::now() + d;
        assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s:?} accepted");
    } else if let Err(msg) = &result {
        assert!(!msg.is_empty());
    }
    // Oracle for the simple form: N followed by one unit.
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let per_unit: Option<u128> = match unit {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" => Some(60_000),
        "h" => Some(3_600_000),
        _ => None,
    };
    if let (Some(per), Ok(n)) = (per_unit, num.parse::<u128>()) {
        let want = n.checked_mul(per).filter(|&ms| ms <= 100 * 365 * 24 * 3600 * 1000);
        match (want, &result) {
            (Some(ms), Ok(d)) => assert_eq!(d.as_millis(), ms, "{s:?}"),
            (None, Err(_)) => {}
            (w, r) => panic!("{s:?}: expected {w:?} ms, got {r:?}"),
        }
    }
}

/// `pi::parse_signal`. Promises: no panic; a result is a real, nameable signal
/// whose name parses back to it.
pub(crate) fn signal_name(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(n) = pi::parse_signal(s) {
        assert!((1..=pi::sigrtmax()).contains(&n), "{s:?} gave {n}");
        let name = pi::signal_name(n);
        assert_eq!(pi::parse_signal(&name), Ok(n), "{s:?} -> {n} -> {name:?} does not round-trip");
    } else {
        let msg = pi::parse_signal(s).unwrap_err().to_string();
        assert!(msg.starts_with("unknown signal"));
    }
}

/// `$(VAR)` expansion, against a transcription of Kubernetes' own algorithm
/// (third_party/forked/golang/expansion/expand.go). Input: template, then
/// after the first NUL `NAME=value` lines for the environment.
pub(crate) fn expand_vars(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (template, env_text) = text.split_once('\0').unwrap_or((&text, "A=x\nB=$(A)\nEMPTY="));
    let lines: Vec<(&str, &str)> = env_text.split('\n').filter_map(|l| l.split_once('=')).collect();
    let mut env = pi::Vars::new(&[]);
    for (k, v) in &lines {
        env.set(k, v.to_string());
    }
    let got = pi::expand(template, |n| env.get(n));
    let want = kubernetes_expand(template, |n| env.get(n).filter(|_| !n.is_empty()));
    assert_eq!(got, want, "template {template:?}");
    if !template.contains('$') {
        assert_eq!(got, template);
    }
    // extend must not panic either, whatever refers to what.
    let base = [("POD_NAME".to_string(), "p".to_string())];
    let defs: Vec<(String, String)> = lines.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut vars = pi::Vars::new(&base);
    vars.extend(&defs);
    assert_eq!(vars.iter().count(), vars.iter().map(|(k, _)| k).collect::<std::collections::HashSet<_>>().len());
}

/// Kubernetes' `expansion.Expand`, byte for byte.
fn kubernetes_expand<'a>(input: &str, mapping: impl Fn(&str) -> Option<&'a str>) -> String {
    let b = input.as_bytes();
    let mut buf: Vec<u8> = Vec::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            buf.extend_from_slice(&b[checkpoint..cursor]);
            let rest = &b[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    buf.push(b'$');
                    1
                }
                b'(' => match rest.iter().skip(1).position(|&c| c == b')') {
                    Some(p) => {
                        let name = std::str::from_utf8(&rest[1..p + 1]).unwrap();
                        match mapping(name) {
                            Some(v) => buf.extend_from_slice(v.as_bytes()),
                            None => {
                                buf.extend_from_slice(b"$(");
                                buf.extend_from_slice(name.as_bytes());
                                buf.push(b')');
                            }
                        }
                        p + 2
                    }
                    None => {
                        buf.extend_from_slice(b"$(");
                        1
                    }
                },
                c => {
                    buf.push(b'$');
                    buf.push(c);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    buf.extend_from_slice(&b[checkpoint.min(b.len())..]);
    String::from_utf8(buf).expect("expansion of UTF-8 is UTF-8")
}

/// The status.json reader, then what `podinit status` and `podinit health` do
/// with what it accepted. Promises: no panic; the table is one line per row
/// with no control characters; an accepted status survives a write/read trip.
pub(crate) fn status_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(st) = pi::parse_status(text) else { return };
    for now in [0, st.updated_at, u64::MAX] {
        let table = pi::render_table(&st, now);
        assert_eq!(table.lines().count(), st.entries.len() + 3, "one line per row:\n{table}");
        assert!(!table.chars().any(|c| c.is_control() && c != '\n'), "control character in table");
    }
    match pi::health(&st) {
        Ok(()) => assert!(st.ready),
        Err(why) => assert!(!why.contains('\n') && !why.contains('\r'), "health reason spans lines"),
    }
    let json = serde_json::to_string(&st).expect("serializes");
    assert_eq!(pi::parse_status(&json).expect("reads back"), st);
    let _ = pi::format_age(st.started_at);
}

/// The HTTP probe's status-line reader. Promises: no panic; a code is 100-599
/// and only comes from an `HTTP/1.x NNN` first line.
pub(crate) fn http_status(data: &[u8]) {
    if let Some(code) = pi::parse_http_status(data) {
        assert!((100..600).contains(&code), "code {code}");
        assert!(data.starts_with(b"HTTP/1."), "accepted {data:?}");
        let first = data.split(|&b| b == b'\n').next().unwrap();
        let first = String::from_utf8_lossy(first);
        let first = first.trim_end_matches('\r');
        assert_eq!(first.split(' ').nth(1), Some(code.to_string().as_str()), "code not from {first:?}");
    }
}

/// The control socket's request line. Promises: no panic; an accepted request
/// names a non-empty entry and a real signal, and a request podinit's own
/// client would send for it parses back to it.
pub(crate) fn control_request(data: &[u8]) {
    match pi::parse_request(data) {
        Ok(req) => {
            match &req {
                pi::Request::Restart(n) | pi::Request::Stop(n) | pi::Request::Start(n) => {
                    assert!(!n.is_empty() && !n.chars().any(char::is_control), "name {n:?}")
                }
                pi::Request::Kill(n, sig) => {
                    assert!(!n.is_empty() && !n.chars().any(char::is_control), "name {n:?}");
                    assert!((1..=pi::sigrtmax()).contains(sig));
                }
                pi::Request::Status => {}
            }
            let line = pi::encode_request(&req);
            assert!(!line.contains(&b'\n'), "encoded request spans lines");
            assert_eq!(pi::parse_request(&line), Ok(req));
        }
        Err(msg) => {
            assert!(!msg.is_empty());
            assert!(!msg.contains('\n'), "error reply spans lines: {msg:?}");
        }
    }
}
