//! `podinit wait`: block until the pod (or some entries) is ready, started or
//! gone, like `kubectl wait --for=condition=Ready`.
//!
//! No polling loop: one poll(2) over
//! - an inotify watch on the state_dir (podinit rewrites status.json
//!   atomically on every change, so each change is an IN_MOVED_TO; before
//!   podinit runs, the creation of its control socket wakes us), and
//! - a pidfd on podinit (pidfd_open on the pid that listens on the control
//!   socket, from SO_PEERCRED), readable when podinit exits, even by SIGKILL,
//!
//! with the time left until `--timeout` as poll's timeout. Where no pidfd can
//! be had (kernel before 5.3, podinit's pid not visible from here, another
//! uid) the wait also wakes once a second to check podinit is still alive.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::commands::load_or_print;
use crate::cli::live;
use crate::cli::WaitCondition;
use crate::config::Kind;
use crate::config::RestartPolicy;
use crate::pod::control::{Connection, ControlError};
use crate::pod::protocol::{Reply, Request};
use crate::pod::status::{self, EntryState, EntryStatus, PodStatus};
use crate::pod::status_file;

/// Whether the condition holds for one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitVerdict {
    /// It holds: exit 0.
    Holds,
    /// Not yet; the reason, for the timeout message.
    Pending(String),
    /// It can no longer hold (the pod ended, an entry completed and will not
    /// restart); the reason.
    Fails(String),
}

/// `podinit wait`: the exit code (0 when the condition holds).
pub(crate) fn run(config: &Path, until: WaitCondition, timeout: Duration, names: &[String]) -> i32 {
    let Some(pod) = load_or_print(config) else { return 1 };
    let known: Vec<&str> = pod.init.iter().chain(&pod.apps).map(|e| e.name.as_str()).collect();
    if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
        eprintln!("podinit: wait: no entry named '{bad}' in {} (entries: {})", config.display(), known.join(", "));
        return 1;
    }
    let what = match names {
        [] => format!("pod/{}", pod.name),
        _ => format!("pod/{} {}", pod.name, names.join(" ")),
    };
    match wait(&pod.state_dir, until, timeout, names, pod.restart_policy) {
        Ok(()) => {
            println!("{what} condition met");
            0
        }
        Err(why) => {
            eprintln!("podinit: wait: {what}: {why}");
            1
        }
    }
}

/// The podinit being watched.
struct Watched {
    /// Readable when podinit exits; None where pidfd_open is not available.
    pidfd: Option<OwnedFd>,
    /// podinit's pid as seen from here, when known.
    pid: Option<i32>,
    /// (pid, started_at) as podinit writes them: which status files are its own.
    id: (u32, u64),
    /// Its latest status.
    last: PodStatus,
}

/// Waits; Err is the one-line reason it gave up.
fn wait(
    dir: &Path,
    until: WaitCondition,
    timeout: Duration,
    names: &[String],
    policy: RestartPolicy,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut notify = DirWatch::new(dir).map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    let mut watched: Option<Watched> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let pending = match &mut watched {
            // The status request gets at least a second even when little time is
            // left (--timeout 0 still asks a live podinit once).
            None => match attach(dir, left.max(Duration::from_secs(1)).min(live::ASK_TIMEOUT)) {
                Ok(w) => {
                    watched = Some(w);
                    continue;
                }
                // Not running yet (or not any more): wait for its socket to appear.
                Err(why) if until == WaitCondition::Exit && names.is_empty() => {
                    return if why.starts_with(NOT_RUNNING) { Ok(()) } else { Err(why) };
                }
                Err(why) => why,
            },
            Some(w) => {
                if let Ok(st) = status_file::read(dir) {
                    if (st.pid, st.started_at) == w.id {
                        w.last = st;
                    }
                }
                match evaluate(until, names, policy, &w.last) {
                    WaitVerdict::Holds => return Ok(()),
                    WaitVerdict::Fails(why) => return Err(why),
                    WaitVerdict::Pending(why) => why,
                }
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out after {}: {pending}", humantime_secs(timeout)));
        }
        // Without a pidfd, check once a second that podinit is still there.
        let blind = watched.as_ref().is_some_and(|w| w.pidfd.is_none());
        let nap = if blind { left.min(Duration::from_secs(1)) } else { left };
        let pidfd = watched.as_ref().and_then(|w| w.pidfd.as_ref()).map(AsRawFd::as_raw_fd);
        let podinit_exited = notify.wait(pidfd, nap)?;
        if let Some(w) = &mut watched {
            let gone = podinit_exited || (blind && !still_there(dir, w));
            if gone {
                // Its last word, if it wrote one before it went.
                if let Ok(st) = status_file::read(dir) {
                    if (st.pid, st.started_at) == w.id {
                        w.last = st;
                    }
                }
                if until == WaitCondition::Exit {
                    return Ok(());
                }
                let st = &w.last;
                return Err(format!(
                    "podinit (pid {}) exited; the pod was {}",
                    w.pid.map_or_else(|| st.pid.to_string(), |p| p.to_string()),
                    st.status
                ));
            }
        }
        notify.rearm(dir);
    }
}

/// `30s`, `1.5s`, `250ms`: the timeout as the user likely wrote it.
fn humantime_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// How an attach failure starts when podinit is simply not running.
const NOT_RUNNING: &str = "podinit is not running";

/// Finds the running podinit of `dir`: over its control socket (pid from
/// SO_PEERCRED, then the status request, which proves the pidfd opened in
/// between is podinit's), else from status.json's pid and start time.
fn attach(dir: &Path, ask: Duration) -> Result<Watched, String> {
    let sock = crate::pod::control::socket_path(dir);
    match Connection::open(dir, ask) {
        Ok(conn) => {
            let pid = conn.peer_pid();
            let pidfd = pid.and_then(pidfd_open);
            match conn.send(&Request::Status) {
                Ok(Reply { status: Some(st), .. }) => Ok(Watched { pidfd, pid, id: (st.pid, st.started_at), last: st }),
                Ok(reply) => attach_by_pid(dir, &format!("podinit refused the status request: {}", reply.message)),
                Err(e) => Err(format!("podinit does not answer: {e}")),
            }
        }
        Err(ControlError::NotRunning { stale: true, .. }) => {
            Err(format!("{NOT_RUNNING} (no live control socket at {})", sock.display()))
        }
        // No socket at all: podinit not started yet, or one that runs without
        // a socket (its bind failed), which its status file's pid tells.
        Err(ControlError::NotRunning { stale: false, .. }) => {
            attach_by_pid(dir, &format!("no control socket at {}", sock.display())).map_err(|e| {
                if e.starts_with(NOT_RUNNING) {
                    e
                } else {
                    format!("{NOT_RUNNING} ({e})")
                }
            })
        }
        Err(e @ ControlError::Timeout { .. }) => Err(format!("podinit does not answer: {e}")),
        Err(e) => attach_by_pid(dir, &e.to_string()),
    }
}

/// The fallback where the socket cannot be used (another user's): the status
/// file, if someone listens on the socket path (no pidfd: the pid is not
/// known), else if status.json's pid started when the file says podinit did.
fn attach_by_pid(dir: &Path, why: &str) -> Result<Watched, String> {
    let st = status_file::read(dir).map_err(|e| format!("{why}; {e}"))?;
    let sock = crate::pod::control::socket_path(dir);
    match live::listening(&sock) {
        Some(true) => return Ok(Watched { pidfd: None, pid: None, id: (st.pid, st.started_at), last: st }),
        Some(false) if std::fs::symlink_metadata(&sock).is_ok() => {
            return Err(format!("{NOT_RUNNING} (nobody listens on {}; {why})", sock.display()))
        }
        _ => {}
    }
    if !live::pid_is(st.pid, st.started_at) {
        return Err(format!("{NOT_RUNNING} (pid {} of {} is gone; {why})", st.pid, live::status_path(dir).display()));
    }
    let pid = i32::try_from(st.pid).ok();
    let pidfd = pid.and_then(pidfd_open);
    // Checked again with the pidfd open: the pid cannot be reused under it now.
    if !live::pid_is(st.pid, st.started_at) {
        return Err(format!("{NOT_RUNNING} (pid {} exited)", st.pid));
    }
    Ok(Watched { pidfd, pid, id: (st.pid, st.started_at), last: st })
}

/// Without a pidfd: is the watched podinit still alive?
fn still_there(dir: &Path, w: &Watched) -> bool {
    match w.pid {
        Some(pid) => live::pid_is(pid as u32, w.id.1),
        None => match live::listening(&crate::pod::control::socket_path(dir)) {
            Some(listens) => listens,
            None => !matches!(Connection::open(dir, live::ASK_TIMEOUT), Err(ControlError::NotRunning { .. })),
        },
    }
}

/// pidfd_open(2); None where the kernel has none or the pid is gone.
fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: fd is a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The inotify watch on the state_dir, or on its nearest existing ancestor
/// until podinit creates it.
struct DirWatch {
    fd: OwnedFd,
    watching: Option<(i32, PathBuf)>,
}

impl DirWatch {
    fn new(dir: &Path) -> Result<DirWatch, String> {
        // SAFETY: inotify_init1 with flags; returns a new fd or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        // SAFETY: fd is a new descriptor that nothing else owns.
        let mut n = DirWatch { fd: unsafe { OwnedFd::from_raw_fd(fd) }, watching: None };
        n.rearm(dir);
        if n.watching.is_none() {
            return Err("no directory on its path can be watched".into());
        }
        Ok(n)
    }

    /// Watches `dir`, or while it does not exist its nearest existing ancestor
    /// (for the creation of the next level).
    fn rearm(&mut self, dir: &Path) {
        let target = dir.ancestors().find(|p| p.is_dir()).map(Path::to_path_buf);
        let Some(target) = target else { return };
        if self.watching.as_ref().is_some_and(|(_, p)| *p == target) {
            return;
        }
        if let Some((wd, _)) = self.watching.take() {
            // SAFETY: removing a watch descriptor of our own inotify fd.
            unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
        }
        let Ok(c) = std::ffi::CString::new(target.as_os_str().as_bytes()) else { return };
        let mask = libc::IN_CREATE
            | libc::IN_MOVED_TO
            | libc::IN_CLOSE_WRITE
            | libc::IN_DELETE
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF
            | libc::IN_ONLYDIR;
        // SAFETY: c is a NUL-terminated path; the fd is our inotify fd.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd >= 0 {
            self.watching = Some((wd, target));
        }
    }

    /// Blocks in poll(2) until a change in the watched directory, podinit's
    /// exit (true) or `timeout`. Drains the inotify events.
    fn wait(&mut self, pidfd: Option<i32>, timeout: Duration) -> Result<bool, String> {
        let mut fds = [
            libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: pidfd.unwrap_or(-1), events: libc::POLLIN, revents: 0 },
        ];
        // Round up so a wait does not end a hair early and loop once more.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: fds is a valid array of 2 pollfd; a negative fd is ignored by poll.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted { Ok(false) } else { Err(format!("poll: {e}")) };
        }
        if fds[0].revents != 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: reading into our own buffer from our non-blocking inotify fd.
            while unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
            // A watch on a directory that went away is dropped by the kernel.
            if self.watching.as_ref().is_some_and(|(_, p)| !p.is_dir()) {
                self.watching = None;
            }
        }
        Ok(fds[1].revents != 0)
    }
}

/// Phases in which the pod is ending or over: nothing becomes ready any more.
fn pod_is_over(st: &PodStatus) -> bool {
    matches!(st.status.as_str(), "Completed" | "Error" | "Init:Error" | "DeadlineExceeded" | "Terminating")
}

/// Kubernetes' `started` of an app or sidecar (a file of an older podinit
/// lacks the field: running is the best it tells).
fn entry_started(e: &EntryStatus) -> bool {
    e.started.unwrap_or(e.state == EntryState::Running)
}

/// An app that ended and that the restart policy will not start again.
fn ended_for_good(e: &EntryStatus, policy: RestartPolicy) -> bool {
    e.kind == Kind::App
        && match e.state.as_str() {
            "Completed" => policy != RestartPolicy::Always,
            "Error" => policy == RestartPolicy::Never,
            _ => false,
        }
}

/// Whether `until` holds for the pod (no `names`) or for each named entry,
/// given the pod's status `st`. Pure, for the tests.
pub(crate) fn evaluate(until: WaitCondition, names: &[String], policy: RestartPolicy, st: &PodStatus) -> WaitVerdict {
    let pod = &st.name;
    let over = || WaitVerdict::Fails(format!("the pod is {}", st.status));
    if names.is_empty() {
        return match until {
            WaitCondition::Ready if st.ready => WaitVerdict::Holds,
            WaitCondition::Ready | WaitCondition::Started if pod_is_over(st) => over(),
            WaitCondition::Ready => {
                WaitVerdict::Pending(status::health(st).err().unwrap_or_else(|| format!("pod {pod} is not ready")))
            }
            WaitCondition::Started => {
                let waiting: Vec<&str> = st
                    .entries
                    .iter()
                    .filter(|e| e.kind != Kind::Init && !entry_started(e) && e.state != EntryState::Completed)
                    .map(|e| e.name.as_str())
                    .collect();
                if st.status.starts_with("Init:") || st.status == "PodInitializing" || !waiting.is_empty() {
                    WaitVerdict::Pending(format!("the pod is {}; not started: {}", st.status, waiting.join(", ")))
                } else {
                    WaitVerdict::Holds
                }
            }
            WaitCondition::Exit => WaitVerdict::Pending(format!("podinit is still running (the pod is {})", st.status)),
        };
    }
    let mut pending = Vec::new();
    for name in names {
        let Some(e) = st.entries.iter().find(|e| &e.name == name) else {
            return WaitVerdict::Fails(format!("the running pod has no entry named '{name}'"));
        };
        let init = e.kind == Kind::Init;
        let holds = match until {
            WaitCondition::Ready if init => matches!(e.state.as_str(), "Completed" | "Skipped"),
            WaitCondition::Ready => e.ready == Some(true),
            WaitCondition::Started if init => matches!(e.state.as_str(), "Running" | "Completed" | "Skipped"),
            WaitCondition::Started => entry_started(e) || e.state == EntryState::Completed,
            WaitCondition::Exit => {
                matches!(e.state.as_str(), "Completed" | "Error" | "Terminated" | "Stopped" | "Skipped")
            }
        };
        if holds {
            continue;
        }
        if until != WaitCondition::Exit {
            if pod_is_over(st) {
                return WaitVerdict::Fails(format!("the pod is {} ({name} is {})", st.status, e.state));
            }
            if ended_for_good(e, policy) {
                return WaitVerdict::Fails(format!(
                    "{name} is {} and will not restart (restart_policy {policy:?})",
                    e.state
                ));
            }
        }
        pending.push(format!("{name} is {}", e.state));
    }
    if pending.is_empty() {
        WaitVerdict::Holds
    } else {
        WaitVerdict::Pending(pending.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: &str, state: &str, ready: Option<bool>, started: Option<bool>) -> EntryStatus {
        EntryStatus {
            name: name.into(),
            kind: kind.into(),
            state: state.into(),
            ready,
            started,
            restarts: 0,
            last_exit: None,
            pid: None,
            since: 0,
            notify: None,
            ..EntryStatus::default()
        }
    }

    fn pod(status: &str, ready: bool, entries: Vec<EntryStatus>) -> PodStatus {
        PodStatus {
            name: "web".into(),
            namespace: "default".into(),
            status: status.into(),
            ready,
            pid: 1,
            started_at: 0,
            updated_at: 0,
            entries,
            ..PodStatus::default()
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    use RestartPolicy::*;
    use WaitCondition::*;

    #[test]
    fn pod_ready() {
        let up = pod("Running", true, vec![entry("a", "app", "Running", Some(true), Some(true))]);
        assert_eq!(evaluate(Ready, &[], Always, &up), WaitVerdict::Holds);
        let starting = pod("Init:0/1", false, vec![entry("i", "init", "Running", None, None)]);
        assert!(matches!(evaluate(Ready, &[], Always, &starting), WaitVerdict::Pending(w) if w.contains("Init:0/1")));
        let not_ready = pod("NotReady", false, vec![entry("a", "app", "Running", Some(false), Some(true))]);
        assert!(
            matches!(evaluate(Ready, &[], Always, &not_ready), WaitVerdict::Pending(w) if w.contains("a not ready"))
        );
        for over in ["Completed", "Error", "Init:Error", "Terminating", "DeadlineExceeded"] {
            let st = pod(over, false, vec![]);
            assert!(matches!(evaluate(Ready, &[], Always, &st), WaitVerdict::Fails(w) if w.contains(over)), "{over}");
            assert!(matches!(evaluate(Started, &[], Always, &st), WaitVerdict::Fails(_)), "{over}");
        }
        // A crash loop may still recover: keep waiting.
        let crashing =
            pod("CrashLoopBackOff", false, vec![entry("a", "app", "CrashLoopBackOff", Some(false), Some(false))]);
        assert!(matches!(evaluate(Ready, &[], Always, &crashing), WaitVerdict::Pending(_)));
    }

    #[test]
    fn pod_started_needs_every_app_and_sidecar_started_not_ready() {
        let mut st = pod(
            "NotReady",
            false,
            vec![
                entry("i", "init", "Completed", None, None),
                entry("s", "sidecar", "Running", Some(false), Some(true)),
                entry("a", "app", "Running", Some(false), Some(false)),
            ],
        );
        assert!(matches!(evaluate(Started, &[], Always, &st), WaitVerdict::Pending(w) if w.contains('a')));
        st.entries[2].started = Some(true);
        assert_eq!(evaluate(Started, &[], Always, &st), WaitVerdict::Holds);
        st.status = "PodInitializing".into();
        assert!(matches!(evaluate(Started, &[], Always, &st), WaitVerdict::Pending(_)));
        // A status file without `started` (older podinit): running counts.
        let old = pod("Running", true, vec![entry("a", "app", "Running", Some(true), None)]);
        assert_eq!(evaluate(Started, &[], Always, &old), WaitVerdict::Holds);
    }

    #[test]
    fn pod_exit_waits_for_podinit_itself() {
        let done = pod("Completed", false, vec![]);
        assert!(matches!(evaluate(Exit, &[], Never, &done), WaitVerdict::Pending(_)));
    }

    #[test]
    fn entries() {
        let st = pod(
            "NotReady",
            false,
            vec![
                entry("migrate", "init", "Completed", None, None),
                entry("proxy", "sidecar", "Running", Some(true), Some(true)),
                entry("web", "app", "Running", Some(false), Some(true)),
                entry("job", "app", "Completed", Some(false), Some(false)),
                entry("bad", "app", "Error", Some(false), Some(false)),
            ],
        );
        assert_eq!(evaluate(Ready, &names(&["migrate", "proxy"]), Always, &st), WaitVerdict::Holds);
        assert!(
            matches!(evaluate(Ready, &names(&["proxy", "web"]), Always, &st), WaitVerdict::Pending(w) if w == "web is Running")
        );
        assert_eq!(evaluate(Started, &names(&["web", "proxy", "migrate"]), Always, &st), WaitVerdict::Holds);
        assert_eq!(evaluate(Exit, &names(&["job", "bad", "migrate"]), Never, &st), WaitVerdict::Holds);
        assert!(matches!(evaluate(Exit, &names(&["web"]), Never, &st), WaitVerdict::Pending(_)));
        // Ended and the policy will not restart it: fails at once, naming the policy.
        assert!(
            matches!(evaluate(Ready, &names(&["job"]), OnFailure, &st), WaitVerdict::Fails(w) if w.contains("OnFailure"))
        );
        assert!(matches!(evaluate(Ready, &names(&["bad"]), Never, &st), WaitVerdict::Fails(_)));
        // ... but under Always (or OnFailure for an error) it comes back: keep waiting.
        assert!(matches!(evaluate(Ready, &names(&["job"]), Always, &st), WaitVerdict::Pending(_)));
        assert!(matches!(evaluate(Ready, &names(&["bad"]), OnFailure, &st), WaitVerdict::Pending(_)));
        assert!(
            matches!(evaluate(Ready, &names(&["ghost"]), Always, &st), WaitVerdict::Fails(w) if w.contains("ghost"))
        );
        let over = pod("Terminating", false, st.entries.clone());
        assert!(
            matches!(evaluate(Ready, &names(&["web"]), Always, &over), WaitVerdict::Fails(w) if w.contains("Terminating"))
        );
    }
}
