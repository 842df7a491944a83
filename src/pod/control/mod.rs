//! The control socket: `state_dir/control.sock`, and the client side used by
//! `podinit restart|stop|start|kill|status`.
//!
//! What travels over it (requests, replies, their JSON lines) is
//! [`protocol`](crate::pod::protocol), pure data; this module moves the lines.
//!
//! The [`Server`] has no thread of its own: the runtime adds [`Server::fds`]
//! to its one poll(2) loop and calls [`Server::ready`] when one of them has
//! events. Every socket is non-blocking, a request is bounded to 4 KiB, and
//! idle connections expire after 5 s, so a stuck or hostile client can never
//! block or grow the pod. Bad input gets an error reply from the server itself;
//! only well-formed requests reach the state machine.
//!
//! Who may talk to it: the socket is mode 0600, so the kernel already refuses
//! other users at connect(2); `SO_PEERCRED` is checked again after accept in
//! case `state_dir` or the socket mode was loosened (root or podinit's own euid
//! only).

mod client;
mod logs_client;
mod server;
#[cfg(test)]
mod tests;

pub(crate) use client::{request, Connection};
pub(crate) use logs_client::logs;
pub(crate) use server::Server;

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};

use crate::pod::protocol::{
    encode_logs, encode_request, parse_incoming, parse_reply, ConnId, Incoming, Reply, Request,
};

/// File name of the socket inside `state_dir`.
pub(crate) const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted (without its newline). Real requests are under 200 bytes.
pub(super) const MAX_REQUEST: usize = 4096;
/// Open connections served at once; more are refused so a connection flood cannot exhaust podinit's fds.
pub(super) const MAX_CONNS: usize = 16;
/// How long a client may take to send its request, or to read its reply.
pub(super) const IDLE: Duration = Duration::from_secs(5);
/// Bound on a reply the client reads (a status with many entries is a few kB; status_file.rs uses the same cap).
pub(super) const MAX_REPLY: usize = 4 << 20;
/// After an accept error such as EMFILE the listener stays readable; stop polling it for this long instead of spinning.
pub(super) const ACCEPT_PAUSE: Duration = Duration::from_secs(1);
/// sun_path holds 108 bytes including the terminating NUL.
pub(super) const MAX_SOCKET_PATH: usize = 107;

/// Path of the control socket for a `state_dir`.
pub(crate) fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// Why the control socket could not be created or used. Display is one
/// actionable line that names the socket path.
#[derive(Debug)]
pub(crate) enum ControlError {
    /// Something other than a socket is at the socket path; podinit leaves it alone.
    NotSocket {
        /// The socket path.
        path: PathBuf,
        /// What is there instead ("regular file", "directory", "symlink", ...).
        kind: &'static str,
    },
    /// A live podinit already listens on this state_dir's socket.
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
        /// The other podinit's pid (from `SO_PEERCRED`), when the kernel told us.
        pid: Option<i32>,
    },
    /// Nobody listens: no socket file, or a stale one (ECONNREFUSED).
    NotRunning {
        /// The socket path.
        path: PathBuf,
        /// True when a socket file exists but nobody accepts on it.
        stale: bool,
    },
    /// EACCES/EPERM on the socket: it belongs to another user.
    Permission {
        /// The socket path.
        path: PathBuf,
        /// Owner uid of the socket file, if it could be read.
        owner: Option<u32>,
        /// Our effective uid.
        uid: u32,
    },
    /// The socket path does not fit in `sockaddr_un`.
    PathTooLong {
        /// The socket path.
        path: PathBuf,
    },
    /// No reply within the client's timeout.
    Timeout {
        /// The socket path.
        path: PathBuf,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The other side broke the protocol: closed without a reply, or sent something that is not a reply.
    Protocol {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An OS call failed.
    Io {
        /// What we were doing: "create", "connect", "send to", ...
        op: &'static str,
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// The state_dir a socket path belongs to, for messages.
pub(super) fn dir_of(path: &Path) -> String {
    path.parent().map_or_else(|| ".".to_string(), |p| p.display().to_string())
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::NotSocket { path, kind } => write!(
                f,
                "{} exists and is a {kind}, not a socket; podinit will not touch it: remove it or set a different state_dir",
                path.display()
            ),
            ControlError::AlreadyRunning { path, pid } => {
                write!(f, "another podinit is running with state_dir {}", dir_of(path))?;
                // 0: the other podinit lives in a PID namespace we cannot see into.
                if let Some(pid) = pid.filter(|&p| p > 0) {
                    write!(f, " (pid {pid})")?;
                }
                write!(
                    f,
                    ": it answers on {}; stop it first or give this pod a different state_dir",
                    path.display()
                )
            }
            ControlError::NotRunning { path, stale: false } => write!(
                f,
                "the pod is not running: no control socket at {} (is podinit running, with the same pod file and state_dir?)",
                path.display()
            ),
            ControlError::NotRunning { path, stale: true } => write!(
                f,
                "the pod is not running: nobody listens on {} (left over from a podinit that was killed, or the pod uses a different state_dir)",
                path.display()
            ),
            ControlError::Permission { path, owner, uid } => {
                write!(f, "permission denied on control socket {}", path.display())?;
                if let Some(o) = owner {
                    write!(f, " (owned by uid {o}, you are uid {uid})")?;
                } else {
                    write!(f, " (you are uid {uid})")?;
                }
                write!(f, ": only root or the user podinit runs as may control the pod")
            }
            ControlError::PathTooLong { path } => write!(
                f,
                "control socket path {} is {} bytes, Unix sockets allow at most {MAX_SOCKET_PATH}: use a shorter state_dir",
                path.display(),
                path.as_os_str().len()
            ),
            ControlError::Timeout { path, after } => write!(
                f,
                "no reply from podinit on {} within {}s (it may still be carrying out the request; check 'podinit status')",
                path.display(),
                after.as_secs_f64()
            ),
            ControlError::Protocol { path, message } => {
                write!(f, "bad reply from podinit on {}: {message}", path.display())
            }
            ControlError::Io { op, path, source } => {
                write!(f, "cannot {op} control socket {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ControlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ControlError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Name of a non-socket file type, for [`ControlError::NotSocket`].
pub(super) fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "regular file"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_char_device() || ft.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

pub(super) fn permission_error(path: &Path) -> ControlError {
    ControlError::Permission {
        path: path.to_path_buf(),
        owner: std::fs::symlink_metadata(path).ok().map(|m| m.uid()),
        uid: nix::unistd::geteuid().as_raw(),
    }
}

pub(super) fn check_len(path: &Path) -> Result<(), ControlError> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(ControlError::PathTooLong { path: path.to_path_buf() });
    }
    Ok(())
}

/// Fails with NotSocket unless `path` is absent or a socket (lstat: a symlink is not followed, and refused).
/// Returns whether a socket is there.
pub(super) fn check_kind(path: &Path) -> Result<bool, ControlError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => Ok(true),
        Ok(m) => Err(ControlError::NotSocket { path: path.to_path_buf(), kind: kind_of(m.file_type()) }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ControlError::Io { op: "inspect", path: path.to_path_buf(), source: e }),
    }
}

/// What a probe of an existing socket found.
pub(super) enum SocketProbe {
    /// Somebody accepts (or would: the backlog is full); their pid if known.
    Alive(Option<i32>),
    /// ECONNREFUSED: the socket file outlived its podinit.
    Stale,
}

/// Connects without blocking, so a stopped or wedged podinit with a full
/// backlog cannot hang the new one (EAGAIN counts as alive: someone is there).
pub(super) fn probe(path: &Path) -> Result<SocketProbe, ControlError> {
    let io_err = |e: Errno| ControlError::Io { op: "probe", path: path.to_path_buf(), source: e.into() };
    let fd =
        socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None)
            .map_err(io_err)?;
    let addr = UnixAddr::new(path).map_err(io_err)?;
    match socket::connect(fd.as_raw_fd(), &addr) {
        // The peer credentials of a connecting socket are those of the process
        // that called listen(): the other podinit.
        Ok(()) => Ok(SocketProbe::Alive(socket::getsockopt(&fd, sockopt::PeerCredentials).ok().map(|c| c.pid()))),
        Err(Errno::EAGAIN) => Ok(SocketProbe::Alive(None)),
        Err(Errno::ECONNREFUSED) => Ok(SocketProbe::Stale),
        Err(Errno::EACCES | Errno::EPERM) => Err(permission_error(path)),
        Err(e) => Err(io_err(e)),
    }
}
