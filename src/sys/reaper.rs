//! Reaping: collect every exited child, including orphans re-parented to podinit.
//!
//! SIGCHLD is a standard signal, so several exits coalesce into one delivery:
//! the only correct reaper is a `waitpid(-1, WNOHANG)` loop until nothing is
//! left (wait(2), "NOTES"; tini and catatonit do the same).

use std::fmt;

use nix::errno::Errno;
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::sys::signals::{self, SigNum};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// exit(code)
    Code(i32),
    /// killed by a signal
    Signal(SigNum),
}

impl ExitStatus {
    /// The shell convention: the exit code, or 128+N for death by signal N.
    pub(crate) fn code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128 + s,
        }
    }

    /// True for `exit(0)`.
    pub(crate) fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exited {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by {}", signals::name(*s)),
        }
    }
}

/// Reaps every child that has exited, calling `f(pid, status)` for each, and
/// returns false when podinit has no children left at all (ECHILD).
pub(crate) fn reap(mut f: impl FnMut(i32, ExitStatus)) -> bool {
    let mut f = |pid: i32, status| {
        crate::sys::guard::reaped(pid);
        f(pid, status)
    };
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => f(pid.as_raw(), ExitStatus::Code(code)),
            Ok(WaitStatus::Signaled(pid, sig, _core)) => f(pid.as_raw(), ExitStatus::Signal(sig as SigNum)),
            Ok(WaitStatus::StillAlive) => return true,
            // Stopped/continued are not reported without WUNTRACED/WCONTINUED.
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => return false,
            Err(e) => {
                log::error!("waitpid: {e}");
                return true;
            }
        }
    }
}

/// True while podinit has at least one child, running or zombie. Peeks with
/// WNOWAIT so no exit status is consumed.
pub(crate) fn has_children() -> bool {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    !matches!(waitid(Id::All, flags), Err(Errno::ECHILD))
}

/// Waits (blocking) for one specific child; used only for a child known to be
/// exiting already (an exec that failed).
pub(crate) fn wait_one(pid: i32) -> Option<ExitStatus> {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return Some(ExitStatus::Code(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Some(ExitStatus::Signal(sig as SigNum)),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
}

/// Makes podinit the reaper of orphaned descendants when it is not PID 1
/// (PR_SET_CHILD_SUBREAPER, prctl(2)).
pub(crate) fn become_subreaper() -> nix::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(ExitStatus::Code(0).code(), 0);
        assert_eq!(ExitStatus::Code(42).code(), 42);
        assert_eq!(ExitStatus::Signal(libc::SIGTERM).code(), 143);
        assert_eq!(ExitStatus::Signal(libc::SIGKILL).code(), 137);
        assert!(ExitStatus::Code(0).success());
        assert!(!ExitStatus::Signal(libc::SIGHUP).success());
        assert_eq!(ExitStatus::Signal(libc::SIGKILL).to_string(), "killed by SIGKILL");
        assert_eq!(ExitStatus::Code(3).to_string(), "exited 3");
    }
}
