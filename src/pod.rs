//! Pod mode: turn a pod file into the state machine's units, and the small
//! commands around a pod (`check`, `status`, `health`, `reset`).

use std::path::Path;

use std::time::Duration;

use crate::atomic_file;
use crate::cli::ControlCmd;
use crate::config::{self, Kind};
use crate::control::{self, ControlError, Reply, Request};
use crate::expand;
use crate::init_steps;
use crate::marker::MarkerStore;
use crate::spawn::Command;
use crate::status;
use crate::supervisor::{Flavor, Pod, Settings, Unit};
use crate::user;

/// Everything that can stop a pod from starting, each a one-line message.
pub fn prepare(pod: &config::Pod) -> Result<Pod, Vec<String>> {
    let mut errors = Vec::new();
    let inherited: Vec<(String, String)> = std::env::vars().collect();
    let mut units = Vec::new();
    for e in pod.init.iter().chain(&pod.apps) {
        // Environment: podinit's own, then the downward-API names, then the pod's
        // [env], then the entry's; each value may refer to the ones before it.
        let mut env = inherited.clone();
        expand::set(&mut env, "POD_NAME", pod.name.clone());
        expand::set(&mut env, "POD_NAMESPACE", pod.namespace.clone());
        expand::set(&mut env, "CONTAINER_NAME", e.name.clone());
        expand::extend_env(&mut env, &pod.env);
        expand::extend_env(&mut env, &e.env);
        let argv = e.command.iter().map(|a| expand::expand(a, |n| expand::lookup(&env, n))).collect();
        let creds = match e.user.as_deref().map(user::resolve).transpose() {
            Ok(c) => c,
            Err(err) => {
                errors.push(format!("{}: entry '{}': {err}", pod.path.display(), e.name));
                continue;
            }
        };
        let hash = if e.kind == Kind::Init { init_steps::definition_hash(e, &pod.env) } else { String::new() };
        let cmd = Command {
            argv,
            env: Some(env),
            cwd: e.working_dir.as_ref().map(|p| p.display().to_string()),
            creds,
            ..Command::default()
        };
        units.push(Unit::new(e.clone(), cmd, hash));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let settings = Settings {
        name: pod.name.clone(),
        namespace: pod.namespace.clone(),
        restart_policy: pod.restart_policy,
        grace: pod.termination_grace_period,
        active_deadline: pod.active_deadline,
        markers: Some(MarkerStore::new(&pod.marker_dir)),
        state_dir: Some(pod.state_dir.clone()),
        log_prefix: pod.log_prefix,
    };
    Ok(Pod::new(Flavor::Pod, settings, units))
}

/// Loads and prepares the pod file, printing every error. None: exit 1.
pub fn load(path: &Path) -> Option<Pod> {
    warn_if_writable_by_others(path);
    let pod = match config::load(path) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            return None;
        }
    };
    let prepared = match prepare(&pod) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            return None;
        }
    };
    // The control socket doubles as the lock that keeps a second podinit off
    // this state_dir; an unwritable state_dir only costs the runtime extras.
    if let Err(e) = make_state_dir(&pod.state_dir) {
        log::warn!("state_dir {}: {e}; running without status file and control socket", pod.state_dir.display());
        return Some(prepared.without_status());
    }
    match control::Server::bind(&pod.state_dir) {
        Ok(server) => Some(prepared.with_control(server)),
        Err(e @ ControlError::Io { .. }) => {
            log::warn!("{e}; running without a control socket");
            Some(prepared)
        }
        Err(e) => {
            eprintln!("podinit: {e}");
            None
        }
    }
}

/// Creates state_dir (0755 whatever the umask) and refuses one that is a
/// symlink: podinit must not write its socket or status through a link someone
/// else controls.
fn make_state_dir(dir: &Path) -> Result<(), String> {
    match atomic_file::create_and_open_dir(dir) {
        Ok(_) => Ok(()),
        Err(atomic_file::Error::DirIsSymlink) => {
            Err("state directory is a symlink; refusing to write through it".into())
        }
        Err(atomic_file::Error::NotADirectory) => Err("not a directory".into()),
        Err(atomic_file::Error::NotRegularFile) => Err("not a regular file".into()),
        Err(atomic_file::Error::Io { op, source, .. }) => Err(format!("cannot {op}: {source}")),
    }
}

/// Anyone who can write the pod file can run commands as podinit's user (root,
/// usually): say so, as sshd and sudo do for their files, but do not refuse.
fn warn_if_writable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o022 != 0 {
            log::warn!(
                "{} is writable by users other than its owner: they can change what podinit runs",
                path.display()
            );
        }
    }
}

/// `podinit check`: 0 when the file is valid, 1 with every error otherwise.
pub fn check(path: &Path) -> i32 {
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

/// state_dir of the pod file, or the default when the file cannot be read
/// (status must work even where the pod file is not visible).
fn state_dir(path: &Path) -> std::path::PathBuf {
    match config::load(path) {
        Ok(p) => p.state_dir,
        Err(_) => std::path::PathBuf::from("/run/podinit"),
    }
}

/// `podinit status [--json]`: the live state from the control socket, else the
/// last status.json (saying which on stderr).
pub fn status(path: &Path, json: bool) -> i32 {
    let dir = state_dir(path);
    // Why the live state is not available, for the note on stderr.
    let (live, why_not) = match control::request(&dir, &Request::Status, Duration::from_secs(5)) {
        Ok(Reply { status: Some(st), .. }) => (Some(st), String::new()),
        Ok(reply) => (None, format!("the running pod refused: {}", reply.message)),
        Err(ControlError::NotRunning { .. }) => (None, "the pod is not running".to_string()),
        Err(e) => (None, format!("cannot ask the running pod ({e})")),
    };
    let from_socket = live.is_some();
    let st = live.ok_or(()).or_else(|()| status::read(&dir));
    if st.is_ok() && !from_socket {
        eprintln!("podinit: {why_not}; last state from {}", dir.join(status::FILE_NAME).display());
    }
    match st {
        Ok(st) if json => match serde_json::to_string_pretty(&st) {
            Ok(s) => {
                println!("{s}");
                0
            }
            Err(e) => {
                eprintln!("podinit: status: {e}");
                1
            }
        },
        Ok(st) => {
            print!("{}", status::render_table(&st, crate::now_unix()));
            0
        }
        Err(e) => {
            eprintln!("podinit: {e}");
            1
        }
    }
}

/// `podinit health`: 0 iff the pod is Ready.
pub fn health(path: &Path) -> i32 {
    match status::read(&state_dir(path)).map_err(|e| e.to_string()).and_then(|st| status::health(&st)) {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("podinit: {reason}");
            1
        }
    }
}

/// `podinit restart|stop|start NAME`, `podinit kill NAME SIG`: one request to the
/// running pod's control socket.
pub fn control(path: &Path, cmd: &ControlCmd) -> i32 {
    let (dir, grace) = match config::load(path) {
        Ok(p) => (p.state_dir, p.termination_grace_period),
        Err(_) => (std::path::PathBuf::from("/run/podinit"), Duration::from_secs(30)),
    };
    let req = control::from_cli(cmd);
    match control::request(&dir, &req, control::timeout_for(&req, grace)) {
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

/// `podinit reset [STEP...]`: forget markers so those steps run again.
pub fn reset(path: &Path, steps: &[String]) -> i32 {
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
