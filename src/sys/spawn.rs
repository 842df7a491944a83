//! fork + exec with the clean slate a program expects from its init.
//!
//! Everything that can allocate or fail in an interesting way (PATH search,
//! C strings, user lookup) happens before fork. Between fork and exec the child
//! makes only async-signal-safe calls, and reports a failure to the parent
//! through a close-on-exec pipe: EOF on the pipe means exec succeeded.

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{self, ForkResult, Pid};

use crate::sys::reaper;
use crate::sys::signals;
use crate::sys::user::Credentials;

/// What to run and how; built once per entry, reused for every restart.
#[derive(Debug, Clone, Default)]
pub struct Command {
    /// argv; argv[0] is looked up in PATH unless it contains a '/'.
    pub argv: Vec<String>,
    /// The full environment, or None to inherit podinit's.
    pub env: Option<Vec<(String, String)>>,
    /// Working directory, or None for podinit's.
    pub cwd: Option<String>,
    /// Drop to this user before exec.
    pub creds: Option<Credentials>,
    /// Give the child the terminal on stdin (job control) when there is one.
    pub foreground_tty: bool,
    /// Redirect stdout / stderr to these fds (log prefixing); None inherits.
    pub stdout: Option<RawFd>,
    /// See `stdout`.
    pub stderr: Option<RawFd>,
    /// Connect stdin to /dev/null (probes and hooks must not eat the app's input).
    pub null_stdin: bool,
}

/// Why a child could not be started. The child (if forked) is already reaped.
#[derive(Debug)]
pub enum SpawnError {
    /// Empty argv.
    Empty,
    /// argv[0] not found in PATH (or the path does not exist): exit code 127.
    NotFound(String),
    /// Found but not executable: exit code 126.
    NotExecutable(String),
    /// fork(2) itself failed (RLIMIT_NPROC, memory).
    Fork(Errno),
    /// A setup step in the child failed (chdir, setuid, exec, ...).
    Child { cmd: String, step: &'static str, errno: Errno },
    /// A string held a NUL byte.
    Nul(String),
}

impl SpawnError {
    /// The exit code a shell would report for this failure (127 not found, 126 otherwise).
    pub fn exit_code(&self) -> i32 {
        match self {
            SpawnError::NotFound(_) => 127,
            SpawnError::Child { step: "exec", errno: Errno::ENOENT, .. } => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Empty => write!(f, "empty command"),
            SpawnError::NotFound(c) => write!(f, "{c}: command not found"),
            SpawnError::NotExecutable(c) => write!(f, "{c}: permission denied (not executable)"),
            SpawnError::Fork(e) => write!(f, "fork failed: {}", e.desc()),
            SpawnError::Child { cmd, step, errno } => write!(f, "{cmd}: {step} failed: {}", errno.desc()),
            SpawnError::Nul(s) => write!(f, "argument or variable contains a NUL byte: {s:?}"),
        }
    }
}

impl std::error::Error for SpawnError {}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds `cmd` the way execvp(3) does: as is when it holds a '/', else in each
/// PATH directory; a match that is not executable is remembered (EACCES → 126)
/// but the search goes on.
pub fn resolve(cmd: &str, path_var: Option<&str>) -> Result<String, SpawnError> {
    if cmd.is_empty() {
        return Err(SpawnError::NotFound(cmd.to_string()));
    }
    if cmd.contains('/') {
        return check_exec(Path::new(cmd)).map(|()| cmd.to_string()).map_err(|e| e.with(cmd));
    }
    let mut denied = false;
    for dir in path_var.unwrap_or(DEFAULT_PATH).split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let full = format!("{dir}/{cmd}");
        match check_exec(Path::new(&full)) {
            Ok(()) => return Ok(full),
            Err(Lookup::Denied) => denied = true,
            Err(Lookup::Missing) => {}
        }
    }
    Err(if denied { SpawnError::NotExecutable(cmd.to_string()) } else { SpawnError::NotFound(cmd.to_string()) })
}

enum Lookup {
    Missing,
    Denied,
}

impl Lookup {
    fn with(self, cmd: &str) -> SpawnError {
        match self {
            Lookup::Missing => SpawnError::NotFound(cmd.to_string()),
            Lookup::Denied => SpawnError::NotExecutable(cmd.to_string()),
        }
    }
}

fn check_exec(p: &Path) -> Result<(), Lookup> {
    let meta = std::fs::metadata(p).map_err(|_| Lookup::Missing)?;
    if meta.is_dir() {
        return Err(Lookup::Denied);
    }
    match unistd::access(p, unistd::AccessFlags::X_OK) {
        Ok(()) => Ok(()),
        Err(_) => Err(Lookup::Denied),
    }
}

fn cstring(s: &str) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError::Nul(s.to_string()))
}

/// The setup steps the child can fail at, reported through the error pipe.
const STEPS: [&str; 8] = ["setpgid", "stdio", "chdir", "setgroups", "setgid", "setuid", "exec", "open /dev/null"];

/// Starts `cmd` in a new process group of its own, with default signal
/// dispositions and an empty mask. Returns its pid once exec has succeeded.
pub fn spawn(cmd: &Command) -> Result<i32, SpawnError> {
    let first = cmd.argv.first().ok_or(SpawnError::Empty)?;
    let path_var = match &cmd.env {
        Some(env) => env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()),
        None => std::env::var("PATH").ok(),
    };
    let exe = cstring(&resolve(first, path_var.as_deref())?)?;
    let argv = cmd.argv.iter().map(|a| cstring(a)).collect::<Result<Vec<_>, _>>()?;
    let env = match &cmd.env {
        Some(env) => env.iter().map(|(k, v)| cstring(&format!("{k}={v}"))).collect::<Result<Vec<_>, _>>()?,
        None => std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).map_err(|_| SpawnError::Nul("an inherited environment variable".into()))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let cwd = cmd.cwd.as_deref().map(cstring).transpose()?;
    let argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let env_ptrs: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let groups: Vec<libc::gid_t> = cmd.creds.as_ref().map(|c| c.groups.clone()).unwrap_or_default();
    let devnull = c"/dev/null";

    let (rd, wr) = unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::Fork)?;
    // SAFETY: podinit is single-threaded, so the child may run any code; it still
    // sticks to async-signal-safe calls and leaves only through exec or _exit.
    match unsafe { unistd::fork() } {
        Err(e) => Err(SpawnError::Fork(e)),
        Ok(ForkResult::Child) => {
            drop(rd);
            let err = child_setup(cmd, &exe, &argv_ptrs, &env_ptrs, cwd.as_deref(), &groups, devnull);
            report_and_exit(&wr, err)
        }
        Ok(ForkResult::Parent { child }) => {
            drop(wr);
            // Also from the parent, so the group exists before we signal it.
            let _ = unistd::setpgid(child, child);
            let mut buf = [0u8; 5];
            let n = read_full(&rd, &mut buf);
            if n == 0 {
                return Ok(child.as_raw());
            }
            reaper::wait_one(child.as_raw());
            let step = STEPS.get(buf[0] as usize).copied().unwrap_or("exec");
            let errno = Errno::from_raw(i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]));
            let c = first.clone();
            Err(match (step, errno) {
                ("exec", Errno::ENOENT) => SpawnError::NotFound(c),
                ("exec", Errno::EACCES) => SpawnError::NotExecutable(c),
                _ => SpawnError::Child { cmd: c, step, errno },
            })
        }
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match unistd::read(fd.as_raw_fd(), &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    got
}

/// Runs in the child. Returns only on failure: (step index, errno).
fn child_setup(
    cmd: &Command,
    exe: &CStr,
    argv: &[*const libc::c_char],
    env: &[*const libc::c_char],
    cwd: Option<&CStr>,
    groups: &[libc::gid_t],
    devnull: &CStr,
) -> (u8, Errno) {
    // Own process group: podinit can signal the whole entry, and a terminal's
    // Ctrl-C goes to it rather than to podinit (tini does the same).
    if let Err(e) = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)) {
        return (0, e);
    }
    if cmd.foreground_tty {
        // Fails with ENOTTY when stdin is not our terminal: that is fine. SIGTTOU
        // is still blocked here, so a background caller is not stopped by it.
        let _ = unistd::tcsetpgrp(std::io::stdin(), unistd::getpid());
    }
    for (src, dst) in [(cmd.stdout, 1), (cmd.stderr, 2)] {
        if let Some(fd) = src {
            // SAFETY: dup2 on plain fds; the source stays open in the parent.
            if unsafe { libc::dup2(fd, dst) } < 0 {
                return (1, Errno::last());
            }
        }
    }
    if cmd.null_stdin {
        // SAFETY: open/dup2/close on a C string we own.
        unsafe {
            let fd = libc::open(devnull.as_ptr(), libc::O_RDONLY);
            if fd < 0 || libc::dup2(fd, 0) < 0 {
                return (7, Errno::last());
            }
            if fd != 0 {
                libc::close(fd);
            }
        }
    }
    if let Some(dir) = cwd {
        if let Err(e) = unistd::chdir(dir) {
            return (2, e);
        }
    }
    if let Some(c) = &cmd.creds {
        // Order matters: supplementary groups and gid while still root, uid last.
        // SAFETY: groups points to `groups.len()` valid gids.
        if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } < 0 {
            return (3, Errno::last());
        }
        if let Err(e) = unistd::setgid(c.gid.into()) {
            return (4, e);
        }
        if let Err(e) = unistd::setuid(c.uid.into()) {
            return (5, e);
        }
    }
    signals::reset_for_exec();
    // SAFETY: argv and env are NUL-terminated arrays of pointers into CStrings
    // that outlive this call.
    unsafe { libc::execve(exe.as_ptr(), argv.as_ptr(), env.as_ptr()) };
    (6, Errno::last())
}

fn report_and_exit(wr: &OwnedFd, (step, errno): (u8, Errno)) -> ! {
    let e = (errno as i32).to_ne_bytes();
    let msg = [step, e[0], e[1], e[2], e[3]];
    let _ = unistd::write(wr, &msg);
    let code = if step == 6 && errno == Errno::ENOENT { 127 } else { 126 };
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the parent.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_searches_path_like_execvp() {
        assert_eq!(resolve("sh", Some("/nonexistent:/bin")).unwrap(), "/bin/sh");
        assert!(matches!(resolve("no-such-cmd-xyz", Some("/bin")), Err(SpawnError::NotFound(_))));
        assert!(matches!(resolve("/etc/passwd", None), Err(SpawnError::NotExecutable(_))));
        assert!(matches!(resolve("/etc", None), Err(SpawnError::NotExecutable(_))));
        assert!(matches!(resolve("./nope/x", None), Err(SpawnError::NotFound(_))));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(SpawnError::NotFound("x".into()).exit_code(), 127);
        assert_eq!(SpawnError::NotExecutable("x".into()).exit_code(), 126);
    }
}
