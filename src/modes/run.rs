//! Run mode (`podinit run`): turn a pod file into the state machine's units,
//! claim the state directory and the control socket.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::config::expand::{self, Vars};
use crate::config::{self, Kind};
use crate::pod::control::{self, ControlError};
use crate::pod::init_steps;
use crate::pod::logs;
use crate::pod::machine::{Flavor, PodMachine, Settings};
use crate::pod::marker::MarkerStore;
use crate::pod::runtime::{EnvBuilder, Io, Runtime};
use crate::pod::unit::Unit;
use crate::sys::notify::{self, NotifySocket};
use crate::sys::oom::OomCounter;
use crate::sys::spawn::{Args, Command, Env, SpawnError};
use crate::sys::user;
use crate::sys::{atomic_file, guard, shutdown};

/// Variables as the pod file's `$(VAR)` expansion works on them.
type TextVars = Vec<(String, String)>;
/// Variables passed on as they are.
type ByteVars = Vec<(OsString, OsString)>;

/// podinit's own environment, split in two: the variables that are UTF-8 take
/// part in `$(VAR)` expansion and can be overridden by the pod file; the others
/// (a key or value that is not UTF-8, which TOML cannot name) go to every
/// process unchanged, as bytes, unless a pod-file variable of the same name
/// replaces them.
pub fn split_env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> (TextVars, ByteVars) {
    let mut text = Vec::new();
    let mut bytes = Vec::new();
    for (k, v) in vars {
        match (k.to_str(), v.to_str()) {
            (Some(k), Some(v)) => text.push((k.to_string(), v.to_string())),
            _ => bytes.push((k, v)),
        }
    }
    (text, bytes)
}

/// The final environment of one entry: `text` (expanded) then the byte-only
/// variables `text` does not override.
fn env_block(text: &Vars, bytes: &[(OsString, OsString)]) -> Result<Env, SpawnError> {
    let shadowed = |k: &OsStr| k.to_str().is_some_and(|k| text.contains(k));
    Env::new(
        text.iter()
            .map(|(k, v)| (OsStr::new(k), OsStr::new(v)))
            .chain(bytes.iter().filter(|(k, _)| !shadowed(k)).map(|(k, v)| (k.as_os_str(), v.as_os_str()))),
    )
}

/// A prepared pod: the machine, each unit's command, and how to build the
/// environment of the units that read files at each start.
pub type Prepared = (PodMachine, Vec<Command>, Vec<Option<EnvBuilder>>);

/// The path of the notify socket of a pod whose state directory is `state_dir`.
pub fn notify_path(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("notify.sock")
}

/// An entry's environment: podinit's own (without its NOTIFY_SOCKET), the
/// downward-API names, NOTIFY_SOCKET for a notify entry, the pod's env files,
/// the pod's [env], the entry's env files, the entry's env, then the
/// variables read from files. Each `env` value may refer to the ones before
/// it; what a file gives is taken literally. Files are read here, so this
/// runs at each start of an entry that has any.
fn entry_env(
    inherited: &[(String, String)],
    raw: &[(OsString, OsString)],
    pod: &config::Pod,
    e: &config::Entry,
    notify: Option<&Path>,
) -> Result<Env, String> {
    let read_all = |files: &[std::path::PathBuf]| -> Result<Vec<Vec<(String, String)>>, String> {
        files.iter().map(|f| config::dotenv::read(f).map_err(|e| e.to_string())).collect()
    };
    let pod_files = read_all(&pod.env_files)?;
    let own_files = read_all(&e.env_files)?;
    let mut from_files = Vec::new();
    for f in &e.file_env {
        if let Some(v) = config::dotenv::lookup(&f.path, &f.key, f.optional).map_err(|e| e.to_string())? {
            from_files.push((f.name.as_str(), v));
        }
    }
    let mut env = Vars::new(inherited);
    env.set("POD_NAME", pod.name.clone());
    env.set("POD_NAMESPACE", pod.namespace.clone());
    env.set("CONTAINER_NAME", e.name.clone());
    if let Some(p) = notify {
        env.set("NOTIFY_SOCKET", p.display().to_string());
    }
    for vars in &pod_files {
        for (k, v) in vars {
            env.set(k, v.clone());
        }
    }
    env.extend(&pod.env);
    for vars in &own_files {
        for (k, v) in vars {
            env.set(k, v.clone());
        }
    }
    env.extend(&e.env);
    for (k, v) in from_files {
        env.set(k, v);
    }
    env_block(&env, raw).map_err(|e| e.to_string())
}

/// Everything that can stop a pod from starting, each a one-line message.
/// Each entry's argv and envp are built here, once, not at every start
/// (except the environment of an entry that reads files: see `env_at_start`).
pub fn prepare(pod: &config::Pod) -> Result<Prepared, Vec<String>> {
    let now = std::time::Instant::now();
    let markers = MarkerStore::new(&pod.marker_dir);
    let mut cmds = Vec::new();
    let mut builders: Vec<Option<EnvBuilder>> = Vec::new();
    let mut errors = Vec::new();
    let (mut inherited, mut raw) = split_env(std::env::vars_os());
    // podinit's own NOTIFY_SOCKET is for podinit: an entry gets the pod's, if it asks.
    inherited.retain(|(k, _)| k != "NOTIFY_SOCKET");
    raw.retain(|(k, _)| k != "NOTIFY_SOCKET");
    let shared = std::rc::Rc::new((inherited, raw, pod.clone()));
    let (inherited, raw) = (&shared.0, &shared.1);
    let socket = notify_path(&pod.state_dir);
    let mut units = Vec::new();
    for e in pod.init.iter().chain(&pod.apps) {
        // Environment: podinit's own, then the downward-API names, then the pod's
        // [env], then the entry's; each value may refer to the ones before it.
        let mut env = Vars::new(inherited);
        env.set("POD_NAME", pod.name.clone());
        env.set("POD_NAMESPACE", pod.namespace.clone());
        env.set("CONTAINER_NAME", e.name.clone());
        // A manifest's container: HOSTNAME and its image's Env come under the pod's env and its own.
        env.extend(&e.base_env);
        if e.notify {
            env.set("NOTIFY_SOCKET", socket.display().to_string());
        }
        env.extend(&pod.env);
        env.extend(&e.env);
        let argv: Args = e.command.iter().map(|a| expand::expand(a, |n| env.get(n))).collect();
        if let Some(arg) = argv.nul() {
            errors.push(format!("{}: entry '{}': argument contains a NUL byte: {arg:?}", pod.path.display(), e.name));
            continue;
        }
        let creds = match e.user.as_deref().map(user::resolve).transpose() {
            Ok(c) => c,
            Err(err) => {
                errors.push(format!("{}: entry '{}': {err}", pod.path.display(), e.name));
                continue;
            }
        };
        let env = match env_block(&env, raw) {
            Ok(env) => env,
            Err(err) => {
                errors.push(format!("{}: entry '{}': {err}", pod.path.display(), e.name));
                continue;
            }
        };
        let hash = if e.kind == Kind::Init { init_steps::definition_hash(e, &pod.env) } else { String::new() };
        // die_with_parent: the pod does not outlive podinit (see sys::guard);
        // hooks and exec probes are siblings of this command and inherit it.
        let cmd = Command {
            argv,
            env: Some(env),
            cwd: e.working_dir.clone(),
            creds,
            die_with_parent: true,
            ..Command::default()
        };
        // Read once, at start-up: a marker is about an earlier start of podinit.
        let done = e.kind == Kind::Init && e.once && e.wait_for.is_none() && markers.matches(&e.name, &hash);
        units.push(Unit::new(e.clone(), hash, done, now));
        cmds.push(cmd);
        let reads_files = !pod.env_files.is_empty() || !e.env_files.is_empty() || !e.file_env.is_empty();
        builders.push(reads_files.then(|| {
            let (shared, entry, socket) = (shared.clone(), e.clone(), socket.clone());
            let build: EnvBuilder = Box::new(move || {
                let notify = entry.notify.then_some(socket.as_path());
                entry_env(&shared.0, &shared.1, &shared.2, &entry, notify)
            });
            build
        }));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let settings = Settings {
        name: pod.name.clone(),
        namespace: pod.namespace.clone(),
        restart_policy: pod.restart_policy,
        backoff: pod.backoff,
        grace: pod.termination_grace_period,
        active_deadline: pod.active_deadline,
        status_file: true,
        pid: std::process::id(),
        started_unix: crate::now_unix(),
    };
    Ok((PodMachine::new(Flavor::Pod, settings, units, now), cmds, builders))
}

/// Loads and prepares the pod file, printing every error. None: exit 1.
pub fn load(path: &Path) -> Option<Runtime> {
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
    let (machine, cmds, env_at_start) = match prepare(&pod) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            return None;
        }
    };
    // A manifest's volumes: made real now, after every check and before anything runs.
    if let Err(errors) = crate::pod::volumes::materialize(&pod.volumes, &pod.state_dir) {
        for e in errors {
            eprintln!("podinit: {e}");
        }
        return None;
    }
    if !shutdown::is_pid1() {
        // As PID 1 the kernel ends the whole namespace with podinit; elsewhere
        // the guard kills the entries' process groups if podinit is killed.
        // Each entry has at most its process, a hook and three exec probes
        // running at once (plus timed-out probes not yet reaped).
        if let Err(e) = guard::start(cmds.len() * 8 + 16) {
            log::warn!("cannot start the guard process ({e}): if podinit is killed, its entries' children live on");
        }
    }
    let markers = MarkerStore::new(&pod.marker_dir);
    let logs = logs::Config::for_pod(&pod);
    let sd_notify = notify::Client::from_env(std::env::var_os("NOTIFY_SOCKET").as_deref());
    let wants_notify = pod.init.iter().chain(&pod.apps).any(|e| e.notify);
    let base = Io { markers: Some(markers), logs, sd_notify, oom: OomCounter::open(), env_at_start, ..Io::default() };
    // The control socket doubles as the lock that keeps a second podinit off
    // this state_dir; an unwritable state_dir only costs the runtime extras.
    if let Err(e) = make_state_dir(&pod.state_dir) {
        if wants_notify {
            eprintln!(
                "podinit: state_dir {}: {e}; the notify socket of notify = true entries lives there",
                pod.state_dir.display()
            );
            return None;
        }
        log::warn!("state_dir {}: {e}; running without status file and control socket", pod.state_dir.display());
        return Some(Runtime::new(machine, cmds, base));
    }
    // The control socket first: it is the lock, and the notify socket must not
    // replace the one of another podinit that holds this state_dir.
    let control = match control::Server::bind(&pod.state_dir) {
        Ok(server) => Some(server),
        Err(e @ ControlError::Io { .. }) => {
            log::warn!("{e}; running without a control socket");
            None
        }
        Err(e) => {
            eprintln!("podinit: {e}");
            return None;
        }
    };
    let notify = if wants_notify {
        let path = notify_path(&pod.state_dir);
        match NotifySocket::bind(&path) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("podinit: {}: cannot bind the notify socket: {e}", path.display());
                return None;
            }
        }
    } else {
        None
    };
    Some(Runtime::new(machine, cmds, Io { state_dir: Some(pod.state_dir.clone()), notify, control, ..base }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    fn raw(b: &[u8]) -> OsString {
        OsString::from_vec(b.to_vec())
    }

    #[test]
    fn inherited_variables_that_are_not_utf8_pass_through_as_bytes() {
        let (text, bytes) = split_env([
            (raw(b"A"), raw(b"1")),
            (raw(b"B"), raw(b"v\xff")),
            (raw(b"K\xfe"), raw(b"2")),
            (raw(b"C"), raw(b"3")),
        ]);
        assert_eq!(text, [("A".to_string(), "1".to_string()), ("C".to_string(), "3".to_string())]);
        assert_eq!(bytes, [(raw(b"B"), raw(b"v\xff")), (raw(b"K\xfe"), raw(b"2"))]);
        let env = env_block(&Vars::new(&text), &bytes).expect("env");
        let vars: Vec<&[u8]> = env.vars().collect();
        assert_eq!(vars, [b"A=1".as_slice(), b"C=3", b"B=v\xff", b"K\xfe=2"]);
        // A pod-file variable of the same name replaces the inherited bytes.
        let mut text = Vars::new(&[]);
        text.set("B", "new".to_string());
        let env = env_block(&text, &bytes).expect("env");
        let vars: Vec<&[u8]> = env.vars().collect();
        assert_eq!(vars, [b"B=new".as_slice(), b"K\xfe=2"]);
        assert!(env.vars().all(|v| v != OsStr::new("B=v\u{fffd}").as_bytes()));
    }
}
