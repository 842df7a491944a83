//! The control socket: `state_dir/control.sock`, and the client side used by
//! `podinit restart|stop|start|kill|status`.
//!
//! Protocol: one connection carries one request and one reply, each a single
//! JSON object on one line:
//!
//! ```text
//! -> {"cmd":"restart","name":"web"}
//! <- {"ok":true,"message":"web restarted (pid 42)","status":null}
//! ```
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
use serde::{Deserialize, Serialize};

use crate::pod::status::PodStatus;
use crate::sys::signals::{self, SigNum};

/// File name of the socket inside `state_dir`.
pub(crate) const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted (without its newline). Real requests are under 200 bytes.
pub(super) const MAX_REQUEST: usize = 4096;
/// Open connections served at once; more are refused so a connection flood cannot exhaust podinit's fds.
pub(super) const MAX_CONNS: usize = 16;
/// How long a client may take to send its request, or to read its reply.
pub(super) const IDLE: Duration = Duration::from_secs(5);
/// Bound on a reply the client reads (a status with many entries is a few kB; status.rs uses the same cap).
pub(super) const MAX_REPLY: usize = 4 << 20;
/// After an accept error such as EMFILE the listener stays readable; stop polling it for this long instead of spinning.
pub(super) const ACCEPT_PAUSE: Duration = Duration::from_secs(1);
/// sun_path holds 108 bytes including the terminating NUL.
pub(super) const MAX_SOCKET_PATH: usize = 107;

/// Path of the control socket for a `state_dir`.
pub(crate) fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// A request: one JSON object per line, e.g. `{"cmd":"restart","name":"web"}`,
/// `{"cmd":"kill","name":"web","signal":"SIGHUP"}`, `{"cmd":"status"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Graceful stop of the entry, wait for it to exit, start it again at once.
    Restart(String),
    /// Graceful stop; keep it stopped (restart policy suspended).
    Stop(String),
    /// Start a stopped entry.
    Start(String),
    /// Send a signal to the entry's process.
    Kill(String, SigNum),
    /// Live pod status.
    Status,
}

impl fmt::Display for Request {
    /// `restart web`, `kill web SIGHUP`, `status`: for log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Restart(n) => write!(f, "restart {n}"),
            Request::Stop(n) => write!(f, "stop {n}"),
            Request::Start(n) => write!(f, "start {n}"),
            Request::Kill(n, s) => write!(f, "kill {n} {}", signals::name(*s)),
            Request::Status => f.write_str("status"),
        }
    }
}

/// How long a client should wait for the reply to `req`. Restart and stop
/// reply only after a graceful stop, which may take the pod's whole
/// termination grace period (pre_stop, stop signal, then SIGKILL), so they get
/// that plus a margin; everything else is answered at once.
pub(crate) fn timeout_for(req: &Request, grace: Duration) -> Duration {
    match req {
        Request::Restart(_) | Request::Stop(_) => (grace + Duration::from_secs(30)).max(Duration::from_secs(120)),
        Request::Start(_) => Duration::from_secs(30),
        Request::Kill(..) | Request::Status => Duration::from_secs(5),
    }
}

/// The request as it travels: a tagged object with plain strings, so the
/// format is readable and writable by hand (`socat`, `nc -U`). Unknown extra
/// fields are ignored so an older podinit still serves a newer client.
#[derive(Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
enum Wire {
    Restart {
        name: String,
    },
    Stop {
        name: String,
    },
    Start {
        name: String,
    },
    // `signal` is a Value so both "SIGHUP" and 1 are accepted; we always send a string.
    Kill {
        name: String,
        signal: serde_json::Value,
    },
    Status,
    /// Served by the runtime from the log buffers, not by the state machine.
    Logs(crate::pod::logs::Query),
}

impl Wire {
    fn from_request(req: &Request) -> Wire {
        match req {
            Request::Restart(n) => Wire::Restart { name: n.clone() },
            Request::Stop(n) => Wire::Stop { name: n.clone() },
            Request::Start(n) => Wire::Start { name: n.clone() },
            Request::Kill(n, s) => Wire::Kill { name: n.clone(), signal: serde_json::Value::String(signals::name(*s)) },
            Request::Status => Wire::Status,
        }
    }
}

/// A parsed request line: for the state machine, or for the log buffers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// A request the state machine answers.
    Request(Request),
    /// `podinit logs`: answered by the runtime with a header reply and the log bytes.
    Logs(crate::pod::logs::Query),
}

/// A `logs` request line, without the newline.
pub(crate) fn encode_logs(q: &crate::pod::logs::Query) -> Vec<u8> {
    serde_json::to_vec(&Wire::Logs(q.clone())).unwrap_or_default()
}

/// Parses one request line of either kind (see [`parse_request`]).
pub(crate) fn parse_incoming(line: &[u8]) -> Result<Incoming, String> {
    if let Ok(Wire::Logs(q)) = serde_json::from_slice::<Wire>(line) {
        if q.name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
            return Err("bad request: name has control characters".into());
        }
        if q.name.is_none() && !q.all {
            return Err("bad request: logs needs a name or all".into());
        }
        return Ok(Incoming::Logs(q));
    }
    parse_request(line).map(Incoming::Request)
}

/// One request as the client sends it, without the newline (for tests and fuzzing).
pub fn encode_request(req: &Request) -> Vec<u8> {
    serde_json::to_vec(&Wire::from_request(req)).unwrap_or_default()
}

/// Parses one request line; the error is the message for the error reply.
/// Public for the fuzz targets (`fuzz/`); no input makes it panic.
/// The error is always one line: it is logged, and a name or `cmd` quoted in it
/// may hold a newline (`{"cmd":"x\ny"}`) that must not forge a log line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    parse_request_inner(line).map_err(|msg| {
        let mut one_line = String::with_capacity(msg.len());
        for c in msg.chars() {
            if c.is_control() {
                one_line.extend(c.escape_debug());
            } else {
                one_line.push(c);
            }
        }
        one_line
    })
}

fn parse_request_inner(line: &[u8]) -> Result<Request, String> {
    let wire: Wire = serde_json::from_slice(line).map_err(|e| {
        format!(
            "bad request: {e} (expected one JSON object on one line, e.g. {{\"cmd\":\"restart\",\"name\":\"web\"}})"
        )
    })?;
    fn named(name: String, f: impl FnOnce(String) -> Request) -> Result<Request, String> {
        if name.is_empty() {
            Err("bad request: empty name".to_string())
        } else if name.chars().any(char::is_control) {
            // No entry can have such a name; refusing it here keeps it out of log lines.
            Err(format!("bad request: name {name:?} has control characters"))
        } else {
            Ok(f(name))
        }
    }
    match wire {
        Wire::Restart { name } => named(name, Request::Restart),
        Wire::Stop { name } => named(name, Request::Stop),
        Wire::Start { name } => named(name, Request::Start),
        Wire::Kill { name, signal } => {
            let text = match &signal {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(format!("bad request: signal must be a name or number, not {other}")),
            };
            let sig = signals::parse(&text).map_err(|e| e.to_string())?;
            named(name, |n| Request::Kill(n, sig))
        }
        Wire::Status => Ok(Request::Status),
        Wire::Logs(_) => Err("bad request: logs is not a state request".into()),
    }
}

/// A reply: one JSON line `{"ok":true,"message":"...","status":{...}|null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What happened, or why not; printed by the client as is.
    pub message: String,
    /// Live pod status, for `status` requests.
    #[serde(default)]
    pub status: Option<PodStatus>,
}

impl Reply {
    /// A success reply without status.
    pub(crate) fn ok(msg: impl Into<String>) -> Reply {
        Reply { ok: true, message: msg.into(), status: None }
    }

    /// A failure reply.
    pub(crate) fn err(msg: impl Into<String>) -> Reply {
        Reply { ok: false, message: msg.into(), status: None }
    }

    /// The reply as one line, newline included.
    fn to_line(&self) -> Vec<u8> {
        // Cannot fail for these types (no maps with non-string keys); keep a
        // fixed fallback anyway so a reply is never silently lost.
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"ok":false,"message":"internal error: reply not serialisable","status":null}"#.to_vec()
        });
        v.push(b'\n');
        v
    }
}

/// Identifies one client connection between [`Server::ready`] and [`Server::reply`].
pub(crate) type ConnId = u64;

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
pub(super) enum Probe {
    /// Somebody accepts (or would: the backlog is full); their pid if known.
    Alive(Option<i32>),
    /// ECONNREFUSED: the socket file outlived its podinit.
    Stale,
}

/// Connects without blocking, so a stopped or wedged podinit with a full
/// backlog cannot hang the new one (EAGAIN counts as alive: someone is there).
pub(super) fn probe(path: &Path) -> Result<Probe, ControlError> {
    let io_err = |e: Errno| ControlError::Io { op: "probe", path: path.to_path_buf(), source: e.into() };
    let fd =
        socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK, None)
            .map_err(io_err)?;
    let addr = UnixAddr::new(path).map_err(io_err)?;
    match socket::connect(fd.as_raw_fd(), &addr) {
        // The peer credentials of a connecting socket are those of the process
        // that called listen(): the other podinit.
        Ok(()) => Ok(Probe::Alive(socket::getsockopt(&fd, sockopt::PeerCredentials).ok().map(|c| c.pid()))),
        Err(Errno::EAGAIN) => Ok(Probe::Alive(None)),
        Err(Errno::ECONNREFUSED) => Ok(Probe::Stale),
        Err(Errno::EACCES | Errno::EPERM) => Err(permission_error(path)),
        Err(e) => Err(io_err(e)),
    }
}
