//! Is the pod of a state_dir running, and what is its state? The rule behind
//! `status`, `health` and `wait`: a status.json alone vouches for nothing (it
//! outlives a podinit killed with SIGKILL). podinit is running when
//!
//! 1. its control socket answers a status request (the live state), or, where
//!    the socket cannot be used (another user's 0600 socket),
//! 2. someone listens on that socket path (`/proc/net/unix`, as `ss -xl`
//!    reads it: a listener vanishes with the process that holds it), or,
//!    where that cannot be read or podinit has no socket,
//! 3. the pid in status.json is alive and started when that podinit did
//!    (`/proc/PID/stat` start time against the file's `started_at`), so a
//!    reused pid does not count.
//!
//! A socket that refuses connections (ECONNREFUSED: nobody listens, the
//! podinit that bound it is dead) means not running, whatever the file says.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::pod::control::{self, ControlError};
use crate::pod::protocol::{Reply, Request};
use crate::pod::status::PodStatus;
use crate::pod::status_file::{self, StatusError};

/// How long `status` and `health` wait for podinit's reply.
pub(crate) const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the CLI found out about the pod of a state_dir.
#[derive(Debug)]
pub(crate) enum Liveness {
    /// podinit answered on its control socket: the live state.
    Live(PodStatus),
    /// podinit is running (its pid and start time match status.json) but its
    /// socket could not be used; the state is the file's. The string says why.
    Running(PodStatus, String),
    /// podinit is not running; why, and the last state it wrote (if any).
    NotRunning(String, Result<PodStatus, StatusError>),
    /// podinit may be running but does not answer (stopped, overloaded).
    Unknown(String, Result<PodStatus, StatusError>),
}

/// Finds out whether the pod of `state_dir` is running (see the module docs).
pub(crate) fn probe(state_dir: &Path) -> Liveness {
    let sock = control::socket_path(state_dir);
    let why_no_socket = match control::request(state_dir, &Request::Status, ASK_TIMEOUT) {
        Ok(Reply { status: Some(st), .. }) => return Liveness::Live(st),
        Ok(reply) => format!("podinit refused the status request: {}", reply.message),
        Err(ControlError::NotRunning { stale: true, .. }) => {
            let why = format!("podinit is not running (nobody listens on {})", sock.display());
            return Liveness::NotRunning(why, status_file::read(state_dir));
        }
        Err(e @ ControlError::Timeout { .. }) => {
            return Liveness::Unknown(format!("podinit does not answer: {e}"), status_file::read(state_dir))
        }
        Err(ControlError::NotRunning { stale: false, .. }) => format!("no control socket at {}", sock.display()),
        Err(e) => e.to_string(),
    };
    let listener = listening(&sock);
    let st = match status_file::read(state_dir) {
        Ok(st) => st,
        // "no status file at ...: the pod is not running, or podinit could not write its state_dir"
        Err(e) => return Liveness::NotRunning(format!("{why_no_socket}; {e}"), Err(e)),
    };
    let socket_file = std::fs::symlink_metadata(&sock).is_ok();
    match listener {
        Some(true) => return Liveness::Running(st, why_no_socket),
        Some(false) if socket_file => {
            let why = format!("podinit is not running (nobody listens on {}; {why_no_socket})", sock.display());
            return Liveness::NotRunning(why, Ok(st));
        }
        _ => {}
    }
    if pid_is(st.pid, st.started_at) {
        Liveness::Running(st, why_no_socket)
    } else {
        let why = format!("podinit (pid {}) is not running ({why_no_socket})", st.pid);
        Liveness::NotRunning(why, Ok(st))
    }
}

/// Whether a process listens on the Unix socket `path` (from `/proc/net/unix`
/// of this network namespace); None when that table cannot be read.
pub(crate) fn listening(path: &Path) -> Option<bool> {
    let table = std::fs::read_to_string("/proc/net/unix").ok()?;
    let abs = if path.is_relative() { std::env::current_dir().ok()?.join(path) } else { path.to_path_buf() };
    let want = [path.as_os_str(), abs.as_os_str()];
    Some(table.lines().skip(1).filter_map(listener_path).any(|p| want.iter().any(|w| *w == std::ffi::OsStr::new(p))))
}

/// The path of a listening socket's line of `/proc/net/unix`
/// (`Num RefCount Protocol Flags Type St Inode Path`; Flags has
/// `__SO_ACCEPTCON` 0x10000 for a listener), None for any other line.
pub(crate) fn listener_path(line: &str) -> Option<&str> {
    let mut rest = line;
    let mut fields = [""; 7];
    for f in &mut fields {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ')?;
        *f = &rest[..end];
        rest = &rest[end..];
    }
    let flags = u32::from_str_radix(fields[3], 16).ok()?;
    let path = rest.strip_prefix(' ')?;
    (flags & 0x10000 != 0 && !path.is_empty()).then_some(path)
}

/// Whether process `pid` exists here and started at `started_at` (unix
/// seconds, as podinit records it) give or take [`START_SLACK`] seconds.
pub(crate) fn pid_is(pid: u32, started_at: u64) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    match (start_after_boot(pid), boot_unix()) {
        (Some(secs_after_boot), Some(btime)) => {
            let start = btime + secs_after_boot;
            start.abs_diff(started_at) <= START_SLACK
        }
        _ => false,
    }
}

/// Tolerance of the start-time comparison: boot time is whole seconds, and
/// podinit reads the clock a little after it was exec'd.
pub(crate) const START_SLACK: u64 = 2;

/// Seconds after boot at which `pid` started (field 22 of /proc/PID/stat, in clock ticks).
fn start_after_boot(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_ticks(&text).map(|t| t / clock_ticks())
}

/// Field 22 (starttime) of a /proc/PID/stat line; comm (field 2) may hold
/// spaces and parentheses, so count from its last ')'.
pub(crate) fn start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow; starttime is field 22, the 20th after comm.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Boot time in unix seconds (`btime` of /proc/stat).
fn boot_unix() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The status file of `state_dir`, for messages.
pub(crate) fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join(status_file::FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_in_proc_net_unix() {
        let l = "00000000371e9184: 00000002 00000000 00010000 0001 01 663014 /tmp/a b/control.sock";
        assert_eq!(listener_path(l), Some("/tmp/a b/control.sock"));
        // Inode padded with spaces (%5lu), a connected socket, no path.
        assert_eq!(listener_path("0000000000000001: 00000002 00000000 00010000 0001 01   123 /s"), Some("/s"));
        assert_eq!(listener_path("00000000a0ca4ed0: 00000003 00000000 00000000 0001 03 656979 /s"), None);
        assert_eq!(listener_path("00000000a0ca4ed0: 00000003 00000000 00010000 0001 01 656979"), None);
        assert_eq!(listener_path("Num       RefCount Protocol Flags    Type St Inode Path"), None);
        // A real listener, and the same path once it is closed.
        let t = crate::testutil::TempDir::new("listen");
        let sock = t.0.join("x.sock");
        let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        assert_eq!(listening(&sock), Some(true));
        drop(l);
        assert_eq!(listening(&sock), Some(false));
    }

    #[test]
    fn start_ticks_survives_odd_comm() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(start_ticks(line), Some(98765));
        assert_eq!(start_ticks("garbage"), None);
        assert_eq!(start_ticks("1 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_itself_and_not_a_later_one() {
        let me = std::process::id();
        let my_start = boot_unix().expect("btime") + start_after_boot(me as i32).expect("stat");
        assert!(pid_is(me, my_start));
        assert!(pid_is(me, my_start + START_SLACK));
        // The same pid recorded by a process that started earlier (pid reuse): not it.
        assert!(!pid_is(me, my_start - 60));
        assert!(!pid_is(0, my_start));
        assert!(!pid_is(u32::MAX, my_start));
    }

    #[test]
    fn a_status_file_without_a_podinit_is_not_running() {
        let t = crate::testutil::TempDir::new("live");
        assert!(matches!(probe(&t.0), Liveness::NotRunning(_, Err(StatusError::NotFound { .. }))));
        // A status file whose pid is this test process, but recorded with another start time.
        let st = PodStatus {
            name: "web".into(),
            namespace: "default".into(),
            status: "Running".into(),
            ready: true,
            pid: std::process::id(),
            started_at: 1,
            updated_at: 1,
            entries: vec![],
            ..PodStatus::default()
        };
        status_file::write(&t.0, &st).expect("write");
        match probe(&t.0) {
            Liveness::NotRunning(why, Ok(last)) => {
                assert!(why.contains("is not running"), "{why}");
                assert_eq!(last, st);
            }
            other => panic!("{other:?}"),
        }
        // Recorded with our real start time: running, although no socket answers.
        let me = std::process::id();
        let st = PodStatus { started_at: boot_unix().unwrap() + start_after_boot(me as i32).unwrap(), ..st };
        status_file::write(&t.0, &st).expect("write");
        assert!(matches!(probe(&t.0), Liveness::Running(..)), "{:?}", probe(&t.0));
        // A stale socket (bound, then its listener closed) wins over the file.
        let sock = control::socket_path(&t.0);
        drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
        assert!(matches!(probe(&t.0), Liveness::NotRunning(..)), "{:?}", probe(&t.0));
    }
}
