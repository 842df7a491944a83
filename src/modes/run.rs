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
use crate::pod::unit::{PerUnit, Unit};
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
pub(crate) fn split_env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> (TextVars, ByteVars) {
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

/// The downward API's values for this run (`$(status.podIP)`, … of
/// [`expand::DOWNWARD`] in env values), each looked up once, when first used.
#[derive(Default)]
struct Downward {
    known: Vec<(&'static str, String)>,
}

impl Downward {
    /// `pod` with the downward references in its env values resolved.
    fn pod(&mut self, pod: &config::Pod) -> config::Pod {
        let mut resolved = pod.clone();
        resolved.env = self.resolve(&pod.env);
        for e in resolved.init.iter_mut().chain(resolved.apps.iter_mut()) {
            e.env = self.resolve(&e.env);
        }
        resolved
    }

    /// `volumes` with the downward references of their downwardAPI files resolved
    /// (the same values the env vars get), and the files' `$$` escapes undone.
    fn volumes(&mut self, volumes: &[config::Volume]) -> Vec<config::Volume> {
        let mut resolved = volumes.to_vec();
        for v in &mut resolved {
            let config::VolumeContent::Files(files) = &mut v.content else { continue };
            for f in files.iter_mut().filter(|f| f.downward) {
                let data = String::from_utf8_lossy(&f.data).into_owned();
                f.data = expand::downward(&data, |field| self.value(field)).replace("$$", "$").into_bytes();
                f.downward = false;
            }
        }
        resolved
    }

    /// `vars` with the downward references in their values resolved.
    fn resolve(&mut self, vars: &[(String, String)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| (k.clone(), expand::downward(v, |f| self.value(f)))).collect()
    }

    fn value(&mut self, field: &str) -> String {
        if let Some((_, v)) = self.known.iter().find(|(f, _)| *f == field) {
            return v.clone();
        }
        let v = match field {
            // A pod started anew is a new pod: one UID for this run of podinit.
            "metadata.uid" => read_trimmed("/proc/sys/kernel/random/uuid"),
            "spec.nodeName" => read_trimmed("/proc/sys/kernel/hostname"),
            // status.podIP, status.hostIP: podinit's pod is the machine's network, so
            // the node's address and the pod's are the same.
            _ => pod_ip(),
        };
        let field = expand::DOWNWARD.iter().copied().find(|f| *f == field).unwrap_or("status.podIP");
        self.known.push((field, v.clone()));
        v
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `status.podIP`: the first address of an up, non-loopback interface (IPv4 first),
/// else 127.0.0.1.
fn pod_ip() -> String {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return "127.0.0.1".to_string() };
    let mut v6 = None;
    for a in addrs {
        let up = a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP)
            && !a.flags.contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK);
        let Some(addr) = a.address.filter(|_| up) else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            return v4.ip().to_string();
        }
        if let Some(s6) = addr.as_sockaddr_in6() {
            let ip = s6.ip();
            // Link-local addresses need a scope to be usable; a pod IP never is one.
            if v6.is_none() && (ip.segments()[0] & 0xffc0) != 0xfe80 {
                v6 = Some(ip.to_string());
            }
        }
    }
    v6.unwrap_or_else(|| "127.0.0.1".to_string())
}

/// A prepared pod: the machine, each unit's command, and how to build the
/// environment of the units that read files at each start.
pub(crate) type Prepared = (PodMachine, PerUnit<Command>, PerUnit<Option<EnvBuilder>>);

/// The path of the notify socket of a pod whose state directory is `state_dir`.
pub(crate) fn notify_path(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join("notify.sock")
}

/// What an entry's env files give it, read at each of its starts (see
/// [`entry_env`]); empty when the command line is expanded at prepare time.
#[derive(Default)]
struct FromFiles {
    /// The pod's `env_file`s, in order.
    pod: Vec<Vec<(String, String)>>,
    /// The entry's own `env_file`s, in order.
    own: Vec<Vec<(String, String)>>,
    /// The entry's single keys read from files (`fileKeyRef`).
    keys: Vec<(String, String)>,
}

impl FromFiles {
    /// Reads every file `e` and its pod name; the error names the file.
    fn read(pod: &config::Pod, e: &config::Entry) -> Result<FromFiles, String> {
        let read_all = |files: &[std::path::PathBuf]| -> Result<Vec<Vec<(String, String)>>, String> {
            files.iter().map(|f| config::dotenv::read(f).map_err(|e| e.to_string())).collect()
        };
        let mut keys = Vec::new();
        for f in &e.file_env {
            if let Some(v) = config::dotenv::lookup(&f.path, &f.key, f.optional).map_err(|e| e.to_string())? {
                keys.push((f.name.clone(), v));
            }
        }
        Ok(FromFiles { pod: read_all(&pod.env_files)?, own: read_all(&e.env_files)?, keys })
    }
}

/// An entry's variables, each layer over the ones before: podinit's own
/// environment (without its NOTIFY_SOCKET), the downward-API names, a
/// manifest container's image Env and HOSTNAME, NOTIFY_SOCKET for a notify
/// entry, the pod's env files, the pod's [env], the entry's env files, the
/// entry's env, then its keys read from files. Each `env` value may refer to
/// the ones before it; what a file gives is taken literally.
fn entry_vars<'a>(
    inherited: &'a [(String, String)],
    pod: &'a config::Pod,
    e: &'a config::Entry,
    notify: Option<&Path>,
    files: &'a FromFiles,
) -> Vars<'a> {
    let mut env = Vars::new(inherited);
    env.set("POD_NAME", pod.name.clone());
    env.set("POD_NAMESPACE", pod.namespace.clone());
    env.set("CONTAINER_NAME", e.name.clone());
    env.extend(&e.base_env);
    if let Some(p) = notify {
        env.set("NOTIFY_SOCKET", p.display().to_string());
    }
    let literal = |env: &mut Vars<'a>, vars: &'a [(String, String)]| {
        for (k, v) in vars {
            env.set(k, v.clone());
        }
    };
    files.pod.iter().for_each(|vars| literal(&mut env, vars));
    env.extend(&pod.env);
    files.own.iter().for_each(|vars| literal(&mut env, vars));
    env.extend(&e.env);
    literal(&mut env, &files.keys);
    env
}

/// An entry's environment block at one of its starts: [`entry_vars`] with its
/// files read now, so an edited env file counts at the next restart.
fn entry_env(
    inherited: &[(String, String)],
    raw: &[(OsString, OsString)],
    pod: &config::Pod,
    e: &config::Entry,
    notify: Option<&Path>,
) -> Result<Env, String> {
    let files = FromFiles::read(pod, e)?;
    env_block(&entry_vars(inherited, pod, e, notify, &files), raw).map_err(|e| e.to_string())
}

/// An entry's command as prepared once: its argv expanded against its
/// variables (without what files give: they are read at start), its user
/// looked up, its environment block built. The error is one line naming the entry.
fn entry_command(
    inherited: &[(String, String)],
    raw: &[(OsString, OsString)],
    pod: &config::Pod,
    e: &config::Entry,
    notify: Option<&Path>,
) -> Result<Command, String> {
    let at = |err: &dyn std::fmt::Display| format!("{}: entry '{}': {err}", pod.path.display(), e.name);
    let no_files = FromFiles::default();
    let env = entry_vars(inherited, pod, e, notify, &no_files);
    let argv: Args = e.command.iter().map(|a| expand::expand(a, |n| env.get(n))).collect();
    if let Some(arg) = argv.nul() {
        return Err(at(&format_args!("argument contains a NUL byte: {arg:?}")));
    }
    let creds = e.user.as_deref().map(user::resolve).transpose().map_err(|err| at(&err))?;
    let env = env_block(&env, raw).map_err(|err| at(&err))?;
    // die_with_parent: the pod does not outlive podinit (see sys::guard);
    // hooks and exec probes are siblings of this command and inherit it.
    Ok(Command { argv, env: Some(env), cwd: e.working_dir.clone(), creds, die_with_parent: true, ..Command::default() })
}

/// Everything that can stop a pod from starting, each a one-line message.
/// Each entry's argv and envp are built here, once, not at every start
/// (except the environment of an entry that reads files: see `env_at_start`).
/// `downward` resolves `$(status.podIP)` and the like; the caller gives the
/// downwardAPI volume files the same values.
fn prepare(written: &config::Pod, downward: &mut Downward) -> Result<Prepared, Vec<String>> {
    // `$(status.podIP)` and the like, resolved once for this run; the markers
    // hash the pod as written, so a new address does not re-run a step.
    let resolved = downward.pod(written);
    let pod = &resolved;
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
    for (e, as_written) in pod.init.iter().chain(&pod.apps).zip(written.init.iter().chain(&written.apps)) {
        let notify = e.notify.then_some(socket.as_path());
        let cmd = match entry_command(inherited, raw, pod, e, notify) {
            Ok(cmd) => cmd,
            Err(err) => {
                errors.push(err);
                continue;
            }
        };
        let hash =
            if e.kind == Kind::Init { init_steps::definition_hash(as_written, &written.env) } else { String::new() };
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
    Ok((PodMachine::new(Flavor::Pod, settings, units.into(), now), cmds.into(), builders.into()))
}

/// Loads and prepares the pod file, printing every error. None: exit 1.
pub(crate) fn load(path: &Path) -> Option<Runtime> {
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
    let mut downward = Downward::default();
    let (machine, cmds, env_at_start) = match prepare(&pod, &mut downward) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("podinit: {e}");
            }
            return None;
        }
    };
    // A manifest's volumes: made real now, after every check and before anything runs.
    if let Err(errors) = crate::pod::volumes::materialize(&downward.volumes(&pod.volumes), &pod.state_dir) {
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
        Err(atomic_file::Error::Io(e)) => Err(format!("cannot {}: {}", e.op, e.source)),
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

    /// The environment an entry starts with is one function's, whether it
    /// reads files or not: an entry with a key read from a file once lost a
    /// manifest container's image Env and HOSTNAME.
    #[test]
    fn an_entry_reading_files_keeps_its_image_env() {
        let tmp = crate::testutil::TempDir::new("entry-env");
        let file = tmp.0.join("vars.env");
        std::fs::write(&file, "KEY=from-file\n").expect("write");
        let pod = config::Pod::defaults(Path::new("pod.yaml"));
        let mut e = config::Entry::defaults(Kind::App);
        e.name = "web".to_string();
        e.base_env = vec![("HOSTNAME".to_string(), "web-0".to_string()), ("IMG".to_string(), "1".to_string())];
        e.env = vec![("IMG".to_string(), "$(IMG)+2".to_string())];
        e.file_env =
            vec![config::FileEnv { name: "K".to_string(), path: file, key: "KEY".to_string(), optional: false }];
        let env = entry_env(&[], &[], &pod, &e, None).expect("env");
        let mut vars: Vec<String> = env.vars().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
        vars.sort_unstable();
        let want =
            ["CONTAINER_NAME=web", "HOSTNAME=web-0", "IMG=1+2", "K=from-file", "POD_NAME=pod", "POD_NAMESPACE=default"];
        assert_eq!(vars, want);
    }
}
