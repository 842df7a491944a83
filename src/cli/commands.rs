//! The one-shot commands around a pod: `check`, `status`, `health`, `reset`,
//! and the control client (`restart|stop|start|kill NAME`). Each returns the
//! process exit code.

use std::path::Path;
use std::time::Duration;

use crate::cli::live::{self, Liveness};
use crate::cli::table;
use crate::cli::{ControlCmd, HookCmd};
use crate::config;
use crate::pod::control;
use crate::pod::marker::MarkerStore;
use crate::pod::protocol::{self, Request};
use crate::pod::status;

/// `podinit check`: 0 when the file is valid, 1 with every error otherwise.
pub(crate) fn check(path: &Path) -> i32 {
    match config::load(path) {
        Ok(p) => {
            println!(
                "{}: ok: pod '{}' with {} init entries and {} apps",
                path.display(),
                p.name,
                p.init.len(),
                p.apps.len()
            );
            0
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            1
        }
    }
}

/// `podinit status [--json]`: the live state from the control socket. When
/// podinit is not running (or does not answer), the last status.json with a
/// note on stderr, and exit 1: an old file never passes for a running pod.
pub(crate) fn status(path: &Path, json: bool) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    let dir = pod.state_dir;
    let file = live::status_path(&dir);
    let (st, code) = match live::probe(&dir) {
        Liveness::Live(st) => (st, 0),
        Liveness::Running(st, why) => {
            eprintln!("podinit: {why}; podinit (pid {}) is running; state from {}", st.pid, file.display());
            (st, 0)
        }
        Liveness::NotRunning(why, Ok(st)) => {
            eprintln!("podinit: {why}; last state from {}", file.display());
            (st, 1)
        }
        Liveness::Unknown(why, Ok(st)) => {
            eprintln!("podinit: {why}; last state from {}", file.display());
            (st, 1)
        }
        Liveness::NotRunning(why, Err(_)) | Liveness::Unknown(why, Err(_)) => {
            eprintln!("podinit: {why}");
            return 1;
        }
    };
    if json {
        match serde_json::to_string_pretty(&st) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("podinit: status: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", table::render_table(&st, crate::now_unix()));
    }
    code
}

/// `podinit health`: 0 iff podinit is running and the pod is Ready.
pub(crate) fn health(path: &Path) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    let verdict = match live::probe(&pod.state_dir) {
        Liveness::Live(st) | Liveness::Running(st, _) => status::health(&st),
        Liveness::NotRunning(why, _) => Err(why),
        Liveness::Unknown(why, _) => Err(why),
    };
    match verdict {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("podinit: {reason}");
            1
        }
    }
}

/// `podinit restart|stop|start NAME`, `podinit kill NAME SIG`: one request to the
/// running pod's control socket.
pub(crate) fn control(path: &Path, cmd: &ControlCmd) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    let req = request_of(cmd);
    match control::request(&pod.state_dir, &req, protocol::timeout_for(&req, pod.termination_grace_period)) {
        Ok(reply) if reply.ok => {
            println!("{}", reply.message);
            0
        }
        Ok(reply) => {
            eprintln!("podinit: {}", reply.message);
            1
        }
        Err(e) => {
            eprintln!("podinit: {e}");
            1
        }
    }
}

/// Loads a pod file or manifest, printing every error (None: exit 1). The
/// commands that talk to a running pod use it too: a pod file that does not
/// load must not send them to another pod's (or the default) state_dir.
pub(crate) fn load_or_print(path: &Path) -> Option<config::Pod> {
    match config::load(path) {
        Ok(p) => Some(p),
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            None
        }
    }
}

/// `podinit export`: the pod as a Kubernetes manifest on stdout: a manifest as
/// itself, a pod file as a Pod whose containers run `image`.
pub(crate) fn export(path: &Path, json: bool, image: Option<&str>) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    if image.is_some() && pod.source.is_manifest() {
        eprintln!("podinit: export: {}: --image is for a pod file: a manifest keeps its own images", path.display());
    }
    match config::k8s::export(&pod, image.unwrap_or(super::DEFAULT_IMAGE), json) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("podinit: export: {}: {e}", path.display());
            1
        }
    }
}

/// `podinit import FILE`: the manifest (or pod file) as a pod file on stdout.
pub(crate) fn import(path: &Path) -> i32 {
    let Some(pod) = load_or_print(path) else { return 1 };
    match config::k8s::to_toml(&pod) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("podinit: import: {e}");
            1
        }
    }
}

/// The httpGet and sleep hooks of a manifest, run by podinit itself.
pub(crate) fn hook(h: &HookCmd) -> i32 {
    match h {
        HookCmd::Sleep(secs) => {
            std::thread::sleep(Duration::from_secs(*secs));
            0
        }
        HookCmd::HttpGet(url) => match http_get(url) {
            Ok(code) if (200..400).contains(&code) => 0,
            Ok(code) => {
                eprintln!("podinit: hook: GET {url}: HTTP {code}");
                1
            }
            Err(e) => {
                eprintln!("podinit: hook: GET {url}: {e}");
                1
            }
        },
    }
}

/// One blocking HTTP/1.0 GET (a hook is its own process): the status code.
fn http_get(url: &str) -> Result<u16, String> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let t = config::http_target(url)?;
    let (authority, path) = (t.authority, &t.path);
    let addr = (t.bare_host(), t.port).to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("no address")?;
    let limit = Duration::from_secs(10);
    let mut conn = std::net::TcpStream::connect_timeout(&addr, limit).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(limit)).and_then(|()| conn.set_write_timeout(Some(limit))).map_err(|e| e.to_string())?;
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: podinit\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let mut buf = [0u8; 512];
    while !response.windows(2).any(|w| w == b"\r\n") && response.len() < 4096 {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
    crate::pod::attempts::parse_status(&response).ok_or_else(|| "not an HTTP response".to_string())
}

/// `podinit reset [STEP...]`: forget markers so those steps run again.
pub(crate) fn reset(path: &Path, steps: &[String]) -> i32 {
    let pod = match config::load(path) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            return 1;
        }
    };
    for s in steps {
        if !pod.init.iter().any(|e| &e.name == s) {
            eprintln!("podinit: reset: no init step named '{s}' in {}", path.display());
            return 1;
        }
    }
    match MarkerStore::new(&pod.marker_dir).reset(steps) {
        Ok(removed) => {
            for r in &removed {
                println!("reset {r}");
            }
            if removed.is_empty() {
                println!("no markers to reset in {}", pod.marker_dir.display());
            }
            0
        }
        Err(e) => {
            eprintln!("podinit: reset: {e}");
            1
        }
    }
}

/// The control request for a CLI command.
fn request_of(cmd: &ControlCmd) -> Request {
    match cmd {
        ControlCmd::Restart(n) => Request::Restart(n.clone()),
        ControlCmd::Stop(n) => Request::Stop(n.clone()),
        ControlCmd::Start(n) => Request::Start(n.clone()),
        ControlCmd::Kill(n, s) => Request::Kill(n.clone(), *s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_commands_map_to_requests() {
        let table = [
            (ControlCmd::Restart("a".into()), Request::Restart("a".into())),
            (ControlCmd::Stop("a".into()), Request::Stop("a".into())),
            (ControlCmd::Start("a".into()), Request::Start("a".into())),
            (ControlCmd::Kill("a".into(), 1), Request::Kill("a".into(), 1)),
        ];
        for (cmd, req) in table {
            assert_eq!(request_of(&cmd), req);
        }
    }
}
