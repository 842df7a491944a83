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
//! The [`Server`] has no thread of its own: the supervisor adds [`Server::fds`]
//! to its one poll(2) loop and calls [`Server::ready`] when one of them has
//! events. Every socket is non-blocking, a request is bounded to 4 KiB, and
//! idle connections expire after 5 s, so a stuck or hostile client can never
//! block or grow the pod. Bad input gets an error reply from the server itself;
//! only well-formed requests reach the supervisor.
//!
//! Who may talk to it: the socket is mode 0600, so the kernel already refuses
//! other users at connect(2); `SO_PEERCRED` is checked again after accept in
//! case `state_dir` or the socket mode was loosened (root or podinit's own euid
//! only).

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::time::{TimeVal, TimeValLike};
use serde::{Deserialize, Serialize};

use crate::cli::ControlCmd;
use crate::pod::status::PodStatus;
use crate::sys::signals::{self, SigNum};

/// File name of the socket inside `state_dir`.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted (without its newline). Real requests are under 200 bytes.
const MAX_REQUEST: usize = 4096;
/// Open connections served at once; more are refused so a connection flood cannot exhaust podinit's fds.
const MAX_CONNS: usize = 16;
/// How long a client may take to send its request, or to read its reply.
const IDLE: Duration = Duration::from_secs(5);
/// Bound on a reply the client reads (a status with many entries is a few kB; status.rs uses the same cap).
const MAX_REPLY: usize = 4 << 20;
/// After an accept error such as EMFILE the listener stays readable; stop polling it for this long instead of spinning.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);
/// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Path of the control socket for a `state_dir`.
pub fn socket_path(state_dir: &Path) -> PathBuf {
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

/// Maps the CLI command to a Request.
pub fn from_cli(cmd: &ControlCmd) -> Request {
    match cmd {
        ControlCmd::Restart(n) => Request::Restart(n.clone()),
        ControlCmd::Stop(n) => Request::Stop(n.clone()),
        ControlCmd::Start(n) => Request::Start(n.clone()),
        ControlCmd::Kill(n, s) => Request::Kill(n.clone(), *s),
    }
}

/// How long a client should wait for the reply to `req`. Restart and stop
/// reply only after a graceful stop, which may take the pod's whole
/// termination grace period (pre_stop, stop signal, then SIGKILL), so they get
/// that plus a margin; everything else is answered at once.
pub fn timeout_for(req: &Request, grace: Duration) -> Duration {
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
    Restart { name: String },
    Stop { name: String },
    Start { name: String },
    // `signal` is a Value so both "SIGHUP" and 1 are accepted; we always send a string.
    Kill { name: String, signal: serde_json::Value },
    Status,
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
    }
}

/// A reply: one JSON line `{"ok":true,"message":"...","status":{...}|null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
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
    pub fn ok(msg: impl Into<String>) -> Reply {
        Reply { ok: true, message: msg.into(), status: None }
    }

    /// A failure reply.
    pub fn err(msg: impl Into<String>) -> Reply {
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
pub type ConnId = u64;

/// Why the control socket could not be created or used. Display is one
/// actionable line that names the socket path.
#[derive(Debug)]
pub enum ControlError {
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
fn dir_of(path: &Path) -> String {
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
fn kind_of(ft: std::fs::FileType) -> &'static str {
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

fn permission_error(path: &Path) -> ControlError {
    ControlError::Permission {
        path: path.to_path_buf(),
        owner: std::fs::symlink_metadata(path).ok().map(|m| m.uid()),
        uid: nix::unistd::geteuid().as_raw(),
    }
}

fn check_len(path: &Path) -> Result<(), ControlError> {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(ControlError::PathTooLong { path: path.to_path_buf() });
    }
    Ok(())
}

/// Fails with NotSocket unless `path` is absent or a socket (lstat: a symlink is not followed, and refused).
/// Returns whether a socket is there.
fn check_kind(path: &Path) -> Result<bool, ControlError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => Ok(true),
        Ok(m) => Err(ControlError::NotSocket { path: path.to_path_buf(), kind: kind_of(m.file_type()) }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ControlError::Io { op: "inspect", path: path.to_path_buf(), source: e }),
    }
}

/// What a probe of an existing socket found.
enum Probe {
    /// Somebody accepts (or would: the backlog is full); their pid if known.
    Alive(Option<i32>),
    /// ECONNREFUSED: the socket file outlived its podinit.
    Stale,
}

/// Connects without blocking, so a stopped or wedged podinit with a full
/// backlog cannot hang the new one (EAGAIN counts as alive: someone is there).
fn probe(path: &Path) -> Result<Probe, ControlError> {
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

/// One non-blocking send that never raises SIGPIPE (podinit blocks signals and
/// reads them from a signalfd, where a stray SIGPIPE would be forwarded to the apps).
fn send_nb(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    socket::send(fd, buf, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT)
}

/// True when the peer is gone (POLLHUP/POLLERR), asked without waiting.
fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd { fd, events: 0, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// The refusal message for a peer uid, or None when it may be served.
fn refusal(uid: u32, own: u32) -> Option<String> {
    if uid == 0 || uid == own {
        None
    } else {
        Some(format!("permission denied: uid {uid} is neither root nor podinit's uid {own}"))
    }
}

/// Where a connection is in its one request/one reply life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the request line (polled for POLLIN; expires).
    Reading,
    /// Request handed to the supervisor; waiting for [`Server::reply`] (not expired: a restart may take the grace period).
    Waiting,
    /// Writing the reply (polled for POLLOUT; expires), then closed.
    Writing,
}

struct Conn {
    id: ConnId,
    stream: UnixStream,
    phase: Phase,
    /// Request bytes so far (bounded by MAX_REQUEST plus one read chunk).
    buf: Vec<u8>,
    /// Reply bytes and how many are sent.
    out: Vec<u8>,
    sent: usize,
    /// When `expire` drops it; None while Waiting.
    deadline: Option<Instant>,
    /// Peer pid for log lines.
    pid: i32,
}

/// What reading a connection produced.
enum ReadResult {
    /// No complete line yet.
    Pending,
    /// One line, newline stripped.
    Line(Vec<u8>),
    /// Over MAX_REQUEST without a newline.
    TooLong,
    /// End of input; `partial` if some bytes came without a newline.
    Eof { partial: bool },
    /// Read error (ECONNRESET...).
    Failed(io::Error),
}

fn read_conn(c: &mut Conn) -> ReadResult {
    let mut chunk = [0u8; 1024];
    loop {
        match (&c.stream).read(&mut chunk) {
            Ok(0) => return ReadResult::Eof { partial: !c.buf.is_empty() },
            Ok(n) => {
                let start = c.buf.len();
                c.buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = c.buf[start..].iter().position(|&b| b == b'\n') {
                    let end = start + p;
                    if end > MAX_REQUEST {
                        return ReadResult::TooLong;
                    }
                    // Anything after the newline is ignored: one request per connection.
                    c.buf.truncate(end);
                    return ReadResult::Line(std::mem::take(&mut c.buf));
                }
                if c.buf.len() > MAX_REQUEST {
                    return ReadResult::TooLong;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadResult::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return ReadResult::Failed(e),
        }
    }
}

/// The control socket server, driven by the supervisor's poll loop.
pub struct Server {
    path: PathBuf,
    listener: UnixListener,
    /// (dev, ino) of the socket we created, so `remove` never unlinks a successor's socket.
    id: (u64, u64),
    conns: Vec<Conn>,
    next_id: ConnId,
    euid: u32,
    /// Set after an accept error (EMFILE...): the listener is not polled until then.
    paused_until: Option<Instant>,
}

impl Server {
    /// Creates `<state_dir>/control.sock` (mode 0600), non-blocking, CLOEXEC.
    /// - path exists and is not a socket (or is a symlink) → error, nothing touched
    /// - a socket that accepts a connection → another podinit serves this state_dir → error
    /// - a socket nobody listens on (ECONNREFUSED) → stale, unlinked and re-created (logged at info)
    ///
    /// The mode is set with chmod right after bind rather than by changing the
    /// process-wide umask; the short window with the umask's mode is harmless
    /// because every connection's `SO_PEERCRED` is checked anyway.
    pub fn bind(state_dir: &Path) -> Result<Server, ControlError> {
        let path = socket_path(state_dir);
        check_len(&path)?;
        if check_kind(&path)? {
            match probe(&path)? {
                Probe::Alive(pid) => return Err(ControlError::AlreadyRunning { path, pid }),
                Probe::Stale => {
                    log::info!("control: replacing stale socket {} (its podinit is gone)", path.display());
                    if let Err(e) = std::fs::remove_file(&path) {
                        if e.kind() != io::ErrorKind::NotFound {
                            return Err(ControlError::Io { op: "remove stale", path, source: e });
                        }
                    }
                }
            }
        }
        let listener = match UnixListener::bind(&path) {
            Ok(l) => l,
            // Another podinit bound it between our probe and our bind.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(ControlError::AlreadyRunning { path, pid: None })
            }
            Err(e) => return Err(ControlError::Io { op: "create", path, source: e }),
        };
        let setup = || -> io::Result<(u64, u64)> {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            listener.set_nonblocking(true)?;
            let m = std::fs::symlink_metadata(&path)?;
            Ok((m.dev(), m.ino()))
        };
        let id = match setup() {
            Ok(id) => id,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(ControlError::Io { op: "set up", path, source: e });
            }
        };
        Ok(Server {
            path,
            listener,
            id,
            conns: Vec::new(),
            next_id: 1,
            euid: nix::unistd::geteuid().as_raw(),
            paused_until: None,
        })
    }

    /// The socket path, for log lines.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds the fds to poll: the listener (POLLIN), each connection reading a
    /// request (POLLIN) or writing a reply (POLLOUT), and each connection
    /// waiting for the supervisor's reply with no events, so that only a hang-up
    /// (POLLHUP/POLLERR, always reported) wakes the loop. The caller must call
    /// [`Server::ready`] for any non-zero revents, hang-ups included.
    pub fn fds(&self, out: &mut Vec<libc::pollfd>) {
        if self.paused_until.is_none() {
            out.push(libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        for c in &self.conns {
            let events = match c.phase {
                Phase::Reading => libc::POLLIN,
                Phase::Writing => libc::POLLOUT,
                Phase::Waiting => 0,
            };
            out.push(libc::pollfd { fd: c.stream.as_raw_fd(), events, revents: 0 });
        }
    }

    /// True if fd belongs to this server.
    pub fn owns(&self, fd: RawFd) -> bool {
        fd == self.listener.as_raw_fd() || self.conns.iter().any(|c| c.stream.as_raw_fd() == fd)
    }

    /// Handles readiness of one of its fds and returns the complete, valid
    /// requests for the supervisor to act on (then answer with [`Server::reply`]).
    ///
    /// Listener: accepts until EAGAIN; each peer is checked with `SO_PEERCRED`
    /// (root or podinit's euid only) and refused beyond 16 open connections,
    /// both with an error reply. Connection: reads (bounded to 4 KiB per line),
    /// writes pending reply bytes, or notices that a client waiting for its
    /// reply hung up (the request still completes; its reply is dropped).
    /// Malformed JSON, unknown commands and signals get an error reply here and
    /// are never returned.
    pub fn ready(&mut self, fd: RawFd, now: Instant) -> Vec<(ConnId, Request)> {
        let mut out = Vec::new();
        if fd == self.listener.as_raw_fd() {
            self.accept_all(now, &mut out);
            return out;
        }
        let Some(i) = self.conns.iter().position(|c| c.stream.as_raw_fd() == fd) else {
            return out;
        };
        match self.conns[i].phase {
            Phase::Reading => self.on_readable(i, now, &mut out),
            Phase::Writing => self.flush(i),
            Phase::Waiting => {
                if hung_up(fd) {
                    let c = self.conns.swap_remove(i);
                    log::debug!("control: client pid {} hung up before its reply; the request still completes", c.pid);
                }
            }
        }
        out
    }

    /// Queues the reply for a connection and closes it once written (one
    /// request per connection). Unknown id (e.g. the client hung up) → ignored.
    pub fn reply(&mut self, id: ConnId, reply: Reply) {
        match self.conns.iter().position(|c| c.id == id && c.phase == Phase::Waiting) {
            Some(i) => self.queue(i, &reply, Instant::now()),
            None => log::debug!("control: reply for connection {id} dropped: the client is gone"),
        }
    }

    /// Earliest time [`Server::expire`] has work to do: a connection's idle
    /// deadline, or the end of an accept pause. None when there is nothing to
    /// time, so an idle pod never wakes up.
    pub fn deadline(&self) -> Option<Instant> {
        self.conns.iter().filter_map(|c| c.deadline).chain(self.paused_until).min()
    }

    /// Drops connections open 5 s without a complete request, or whose reply
    /// could not be written within 5 s. Connections waiting for the
    /// supervisor's reply are kept (a restart may take the whole grace period).
    pub fn expire(&mut self, now: Instant) {
        if self.paused_until.is_some_and(|t| t <= now) {
            self.paused_until = None;
        }
        self.conns.retain(|c| match c.deadline {
            Some(d) if d <= now => {
                let what = if c.phase == Phase::Reading { "send a request" } else { "read its reply" };
                log::warn!(
                    "control: closed connection from pid {}: it did not {what} within {}s",
                    c.pid,
                    IDLE.as_secs()
                );
                false
            }
            _ => true,
        });
    }

    /// Removes the socket file (called at podinit exit), unless it is no
    /// longer the one this server created.
    pub fn remove(&self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.id => {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    log::warn!("control: cannot remove {}: {e}", self.path.display());
                }
            }
            _ => {}
        }
    }

    fn accept_all(&mut self, now: Instant, out: &mut Vec<(ConnId, Request)>) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => self.admit(stream, now, out),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {}
                Err(e) => {
                    // EMFILE and friends leave the connection queued, so the
                    // listener stays readable: pause instead of spinning.
                    log::warn!(
                        "control: accept on {}: {e}; not accepting for {}s",
                        self.path.display(),
                        ACCEPT_PAUSE.as_secs()
                    );
                    self.paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
            }
        }
    }

    /// Checks a freshly accepted peer and either refuses it or starts reading.
    fn admit(&mut self, stream: UnixStream, now: Instant, out: &mut Vec<(ConnId, Request)>) {
        // Accepted sockets do not inherit O_NONBLOCK from the listener.
        if let Err(e) = stream.set_nonblocking(true) {
            log::warn!("control: dropping connection: {e}");
            return;
        }
        let (uid, pid) = match socket::getsockopt(&stream, sockopt::PeerCredentials) {
            Ok(c) => (c.uid(), c.pid()),
            Err(e) => {
                send_once(&stream, &Reply::err(format!("permission denied: cannot read peer credentials: {e}")));
                return;
            }
        };
        if let Some(msg) = refusal(uid, self.euid) {
            log::warn!("control: refused pid {pid}: {msg}");
            send_once(&stream, &Reply::err(msg));
            return;
        }
        if self.conns.len() >= MAX_CONNS {
            log::warn!("control: refused pid {pid}: {MAX_CONNS} control connections already open");
            send_once(&stream, &Reply::err(format!("busy: {MAX_CONNS} control connections are open; try again")));
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.conns.push(Conn {
            id,
            stream,
            phase: Phase::Reading,
            buf: Vec::new(),
            out: Vec::new(),
            sent: 0,
            deadline: Some(now + IDLE),
            pid,
        });
        // The request usually arrived with the connection: read it now rather
        // than a poll round trip later.
        let i = self.conns.len() - 1;
        self.on_readable(i, now, out);
    }

    fn on_readable(&mut self, i: usize, now: Instant, out: &mut Vec<(ConnId, Request)>) {
        match read_conn(&mut self.conns[i]) {
            ReadResult::Pending => {}
            ReadResult::Line(line) => match parse_request(&line) {
                Ok(req) => {
                    let c = &mut self.conns[i];
                    log::debug!("control: pid {}: {req}", c.pid);
                    c.phase = Phase::Waiting;
                    c.deadline = None;
                    out.push((c.id, req));
                }
                Err(msg) => {
                    log::warn!("control: pid {}: {msg}", self.conns[i].pid);
                    self.queue(i, &Reply::err(msg), now);
                }
            },
            ReadResult::TooLong => {
                log::warn!("control: pid {}: request longer than {MAX_REQUEST} bytes", self.conns[i].pid);
                let msg = format!("bad request: longer than {MAX_REQUEST} bytes without a newline");
                self.queue(i, &Reply::err(msg), now);
            }
            ReadResult::Eof { partial: false } => {
                // A probe (e.g. a second podinit checking the socket is alive) or a client that gave up.
                self.conns.swap_remove(i);
            }
            ReadResult::Eof { partial: true } => {
                // Tell a half-closed client why; a fully closed one just makes the send fail.
                self.queue(i, &Reply::err("bad request: input ended before the newline that ends a request"), now);
            }
            ReadResult::Failed(e) => {
                log::debug!("control: pid {}: read: {e}", self.conns[i].pid);
                self.conns.swap_remove(i);
            }
        }
    }

    /// Switches connection `i` to writing `reply` and sends what fits now.
    fn queue(&mut self, i: usize, reply: &Reply, now: Instant) {
        let c = &mut self.conns[i];
        c.out = reply.to_line();
        c.sent = 0;
        c.buf = Vec::new();
        c.phase = Phase::Writing;
        c.deadline = Some(now + IDLE);
        self.flush(i);
    }

    /// Sends pending reply bytes; closes the connection when done or broken.
    fn flush(&mut self, i: usize) {
        let c = &mut self.conns[i];
        while c.sent < c.out.len() {
            match send_nb(c.stream.as_raw_fd(), &c.out[c.sent..]) {
                Ok(0) => break,
                Ok(n) => c.sent += n,
                Err(Errno::EINTR) => {}
                // Socket buffer full: keep the rest, poll for POLLOUT.
                Err(Errno::EAGAIN) => return,
                Err(e) => {
                    log::debug!("control: pid {}: reply not delivered: {e}", c.pid);
                    break;
                }
            }
        }
        self.conns.swap_remove(i);
    }
}

/// Best-effort single write of a refusal, then the stream is dropped. A fresh
/// connection's socket buffer is empty, so a short reply always fits.
fn send_once(stream: &UnixStream, reply: &Reply) {
    let _ = send_nb(stream.as_raw_fd(), &reply.to_line());
}

/// Client side: connects to `<state_dir>/control.sock`, sends one request
/// line, reads one reply line. `timeout` bounds the connect, the send and the
/// whole wait for the reply (see [`timeout_for`]). A refusal by the server
/// (e.g. permission denied) comes back as `Ok` with `ok == false`.
pub fn request(state_dir: &Path, req: &Request, timeout: Duration) -> Result<Reply, ControlError> {
    let path = socket_path(state_dir);
    check_len(&path)?;
    if !check_kind(&path)? {
        return Err(ControlError::NotRunning { path, stale: false });
    }
    let deadline = Instant::now() + timeout;
    let stream = connect(&path, timeout)?;
    let timed_out = |path: &Path| ControlError::Timeout { path: path.to_path_buf(), after: timeout };

    let mut line = serde_json::to_vec(&Wire::from_request(req))
        .map_err(|e| ControlError::Protocol { path: path.clone(), message: format!("cannot encode request: {e}") })?;
    line.push(b'\n');
    let mut sent = 0;
    while sent < line.len() {
        // Blocking send bounded by SO_SNDTIMEO (set in connect); MSG_NOSIGNAL so a vanished server is an error, not a signal.
        match socket::send(stream.as_raw_fd(), &line[sent..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Err(timed_out(&path)),
            // A server that refuses us (uid, too many connections) writes its
            // reason and closes before reading: the reply is still there to read.
            Err(Errno::EPIPE | Errno::ECONNRESET) => break,
            Err(e) => return Err(ControlError::Io { op: "send to", path, source: e.into() }),
        }
    }

    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    let end = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out(&path));
        }
        stream.set_read_timeout(Some(left)).map_err(|e| ControlError::Io {
            op: "read from",
            path: path.clone(),
            source: e,
        })?;
        match (&stream).read(&mut chunk) {
            Ok(0) => {
                return Err(ControlError::Protocol {
                    path,
                    message: "podinit closed the connection without a reply".into(),
                })
            }
            Ok(n) => {
                let start = buf.len();
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf[start..].iter().position(|&b| b == b'\n') {
                    break start + p;
                }
                if buf.len() > MAX_REPLY {
                    return Err(ControlError::Protocol {
                        path,
                        message: format!("reply longer than {MAX_REPLY} bytes"),
                    });
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(timed_out(&path))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ControlError::Io { op: "read from", path, source: e }),
        }
    };
    serde_json::from_slice(&buf[..end])
        .map_err(|e| ControlError::Protocol { path, message: format!("not a reply ({e})") })
}

/// Blocking connect bounded by `timeout` (SO_SNDTIMEO also bounds connect(2)
/// on a Unix socket whose listener's backlog is full, e.g. a stopped podinit).
fn connect(path: &Path, timeout: Duration) -> Result<UnixStream, ControlError> {
    let io_err = |op, e: Errno| ControlError::Io { op, path: path.to_path_buf(), source: e.into() };
    let fd: OwnedFd = socket::socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| io_err("open", e))?;
    // A zero timeval means "forever"; never pass one by accident.
    let ms = (timeout.as_millis().min(i64::MAX as u128) as i64).max(1);
    socket::setsockopt(&fd, sockopt::SendTimeout, &TimeVal::milliseconds(ms)).map_err(|e| io_err("configure", e))?;
    let addr = UnixAddr::new(path).map_err(|e| io_err("connect to", e))?;
    loop {
        match socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) => return Ok(UnixStream::from(fd)),
            Err(Errno::EINTR) => {}
            Err(Errno::ENOENT) => return Err(ControlError::NotRunning { path: path.to_path_buf(), stale: false }),
            Err(Errno::ECONNREFUSED) => return Err(ControlError::NotRunning { path: path.to_path_buf(), stale: true }),
            Err(Errno::EACCES | Errno::EPERM) => return Err(permission_error(path)),
            Err(Errno::EAGAIN) => return Err(ControlError::Timeout { path: path.to_path_buf(), after: timeout }),
            Err(e) => return Err(io_err("connect to", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::status::EntryStatus;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    /// A fresh, empty directory unique to this test (short: sun_path is 108 bytes).
    fn tmpdir(tag: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "pctl-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// One poll round over the server's fds (waiting up to `ms`), feeding every ready fd to it.
    fn pump(s: &mut Server, ms: i32) -> Vec<(ConnId, Request)> {
        let mut fds = Vec::new();
        s.fds(&mut fds);
        // SAFETY: valid pollfd array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        let mut got = Vec::new();
        if n > 0 {
            for p in &fds {
                if p.revents != 0 {
                    got.extend(s.ready(p.fd, Instant::now()));
                }
            }
        }
        got
    }

    /// Pumps until `done` or about 5 s pass.
    fn pump_until(s: &mut Server, mut done: impl FnMut(&mut Server, Vec<(ConnId, Request)>) -> bool) {
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            let got = pump(s, 20);
            if done(s, got) {
                return;
            }
        }
        panic!("timed out pumping the server");
    }

    /// A raw client in a thread: sends `bytes`, then reads everything until EOF.
    fn raw_client(dir: &Path, bytes: Vec<u8>) -> thread::JoinHandle<String> {
        let path = socket_path(dir);
        thread::spawn(move || {
            let mut s = UnixStream::connect(&path).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // The server may close while a huge write is in flight: EPIPE is expected then.
            let _ = s.write_all(&bytes);
            let mut out = Vec::new();
            // ECONNRESET after the reply is normal when the server did not read everything.
            let _ = s.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
    }

    /// Runs a raw client to completion while pumping; returns what it read and what the server returned.
    fn exchange(s: &mut Server, dir: &Path, bytes: Vec<u8>) -> (String, Vec<(ConnId, Request)>) {
        let h = raw_client(dir, bytes);
        let mut all = Vec::new();
        pump_until(s, |_, got| {
            all.extend(got);
            h.is_finished()
        });
        (h.join().unwrap(), all)
    }

    fn reply_of(text: &str) -> Reply {
        serde_json::from_str(text.lines().next().expect("a reply line")).expect("a JSON reply")
    }

    fn sample_status() -> PodStatus {
        PodStatus {
            name: "web".into(),
            namespace: "demo".into(),
            status: "Running".into(),
            ready: true,
            pid: 1,
            started_at: 10,
            updated_at: 20,
            entries: vec![EntryStatus {
                name: "nginx".into(),
                kind: "app".into(),
                state: "Running".into(),
                ready: Some(true),
                restarts: 2,
                last_exit: Some("137 (liveness)".into()),
                pid: Some(42),
                since: 15,
            }],
        }
    }

    /// Asserts the server still serves a normal request after some abuse.
    fn assert_still_serves(s: &mut Server, dir: &Path) {
        let h = raw_client(dir, b"{\"cmd\":\"status\"}\n".to_vec());
        let mut replied = false;
        pump_until(s, |s, got| {
            for (id, req) in got {
                assert_eq!(req, Request::Status);
                s.reply(id, Reply::ok("fine"));
                replied = true;
            }
            replied && h.is_finished()
        });
        assert_eq!(reply_of(&h.join().unwrap()), Reply::ok("fine"));
    }

    #[test]
    fn bind_creates_a_0600_socket_and_remove_deletes_it() {
        let dir = tmpdir("bind");
        let s = Server::bind(&dir).unwrap();
        let m = std::fs::symlink_metadata(socket_path(&dir)).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(s.deadline(), None, "an idle server has nothing to time");
        s.remove();
        assert!(!socket_path(&dir).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn second_bind_while_the_first_lives_is_refused_with_its_pid() {
        let dir = tmpdir("second");
        let s = Server::bind(&dir).unwrap();
        let e = Server::bind(&dir).err().expect("second bind must fail");
        match &e {
            ControlError::AlreadyRunning { pid, .. } => assert_eq!(*pid, Some(std::process::id() as i32)),
            other => panic!("unexpected {other:?}"),
        }
        let msg = e.to_string();
        assert!(msg.contains("another podinit is running with state_dir"), "{msg}");
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        // The first server is unharmed and the probe connection leaves no trace.
        let mut s = s;
        assert!(pump(&mut s, 50).is_empty());
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_socket_is_replaced() {
        let dir = tmpdir("stale");
        // A podinit that died without cleaning up.
        drop(Server::bind(&dir).unwrap());
        assert!(socket_path(&dir).exists());
        let mut s = Server::bind(&dir).expect("stale socket must be replaced");
        assert_still_serves(&mut s, &dir);
        drop(s);
        // A socket left by some other program.
        std::fs::remove_file(socket_path(&dir)).unwrap();
        drop(UnixListener::bind(socket_path(&dir)).unwrap());
        let s = Server::bind(&dir).expect("stale socket must be replaced");
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn non_socket_at_the_path_is_left_alone() {
        let dir = tmpdir("file");
        let path = socket_path(&dir);
        std::fs::write(&path, "precious").unwrap();
        let e = Server::bind(&dir).err().expect("must refuse");
        assert!(matches!(e, ControlError::NotSocket { kind: "regular file", .. }), "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        // The client says the same instead of "connection refused".
        assert!(matches!(request(&dir, &Request::Status, Duration::from_secs(1)), Err(ControlError::NotSocket { .. })));
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/nonexistent", &path).unwrap();
        assert!(matches!(Server::bind(&dir), Err(ControlError::NotSocket { kind: "symlink", .. })));
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn too_long_path_is_a_clear_error() {
        let dir = std::env::temp_dir().join("x".repeat(120));
        let e = Server::bind(&dir).err().unwrap();
        assert!(matches!(e, ControlError::PathTooLong { .. }));
        assert!(e.to_string().contains("shorter state_dir"));
    }

    #[test]
    fn client_errors_when_nothing_listens() {
        let dir = tmpdir("client");
        let e = request(&dir, &Request::Status, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, ControlError::NotRunning { stale: false, .. }), "{e:?}");
        assert!(e.to_string().contains("not running"));
        drop(Server::bind(&dir).unwrap());
        let e = request(&dir, &Request::Status, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, ControlError::NotRunning { stale: true, .. }), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_for_every_command() {
        let dir = tmpdir("rt");
        let mut s = Server::bind(&dir).unwrap();
        let reqs = vec![
            Request::Restart("web".into()),
            Request::Stop("web".into()),
            Request::Start("web".into()),
            Request::Kill("web".into(), libc::SIGHUP),
            Request::Kill("web".into(), signals::sigrtmin() + 2),
            Request::Status,
        ];
        for want in reqs {
            let d = dir.clone();
            let sent = want.clone();
            let h = thread::spawn(move || request(&d, &sent, Duration::from_secs(5)));
            let mut answered = false;
            pump_until(&mut s, |s, got| {
                for (id, req) in got {
                    assert_eq!(req, want);
                    let mut r = Reply::ok(format!("did {req}"));
                    if req == Request::Status {
                        r.status = Some(sample_status());
                    }
                    s.reply(id, r);
                    answered = true;
                }
                answered && h.is_finished()
            });
            let reply = h.join().unwrap().unwrap();
            assert!(reply.ok);
            assert_eq!(reply.message, format!("did {want}"));
            assert_eq!(reply.status, if want == Request::Status { Some(sample_status()) } else { None });
        }
        assert_eq!(s.deadline(), None, "all connections closed");
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_gets_an_error_reply_and_the_server_still_works() {
        let dir = tmpdir("garbage");
        let mut s = Server::bind(&dir).unwrap();
        for bad in [
            &b"hello there\n"[..],
            b"\n",
            b"{\"cmd\":\"reboot\",\"name\":\"web\"}\n",
            b"{\"cmd\":\"restart\"}\n",
            b"{\"cmd\":\"restart\",\"name\":\"\"}\n",
            b"{\"name\":\"web\"}\n",
            b"[1,2,3]\n",
            b"\xff\xfe\x00\n",
        ] {
            let (text, got) = exchange(&mut s, &dir, bad.to_vec());
            assert!(got.is_empty(), "{bad:?} must not reach the supervisor");
            let r = reply_of(&text);
            assert!(!r.ok);
            assert!(r.message.starts_with("bad request"), "{}", r.message);
        }
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_signal_in_kill_is_an_error_reply() {
        let dir = tmpdir("sig");
        let mut s = Server::bind(&dir).unwrap();
        let (text, got) =
            exchange(&mut s, &dir, b"{\"cmd\":\"kill\",\"name\":\"web\",\"signal\":\"SIGNOPE\"}\n".to_vec());
        assert!(got.is_empty());
        let r = reply_of(&text);
        assert!(!r.ok && r.message.contains("unknown signal 'SIGNOPE'"), "{}", r.message);
        let (text, _) = exchange(&mut s, &dir, b"{\"cmd\":\"kill\",\"name\":\"web\",\"signal\":[1]}\n".to_vec());
        assert!(!reply_of(&text).ok);
        // Numbers, bare names and extra fields are accepted.
        let (_, got) = exchange_then_drop(&mut s, &dir, b"{\"cmd\":\"kill\",\"name\":\"web\",\"signal\":15,\"x\":1}\n");
        assert_eq!(got, vec![Request::Kill("web".into(), libc::SIGTERM)]);
        let (_, got) = exchange_then_drop(&mut s, &dir, b"{\"cmd\":\"kill\",\"name\":\"web\",\"signal\":\"usr1\"}\n");
        assert_eq!(got, vec![Request::Kill("web".into(), libc::SIGUSR1)]);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Sends a valid request, answers it with an empty ok, returns the requests seen.
    fn exchange_then_drop(s: &mut Server, dir: &Path, bytes: &[u8]) -> (String, Vec<Request>) {
        let h = raw_client(dir, bytes.to_vec());
        let mut seen = Vec::new();
        pump_until(s, |s, got| {
            for (id, req) in got {
                s.reply(id, Reply::ok(""));
                seen.push(req);
            }
            h.is_finished()
        });
        (h.join().unwrap(), seen)
    }

    #[test]
    fn megabyte_line_is_refused_and_the_server_still_works() {
        let dir = tmpdir("big");
        let mut s = Server::bind(&dir).unwrap();
        let mut big = vec![b'a'; 1 << 20];
        big.push(b'\n');
        let (text, got) = exchange(&mut s, &dir, big);
        assert!(got.is_empty());
        let r = reply_of(&text);
        assert!(!r.ok && r.message.contains("longer than 4096"), "{}", r.message);
        // Just over the limit, with its newline in the same read.
        let mut line = b"{\"cmd\":\"status\",\"pad\":\"".to_vec();
        line.resize(MAX_REQUEST + 10, b' ');
        line.extend_from_slice(b"\"}\n");
        let (text, got) = exchange(&mut s, &dir, line);
        assert!(got.is_empty());
        assert!(!reply_of(&text).ok);
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn half_a_line_then_close_returns_nothing() {
        let dir = tmpdir("half");
        let mut s = Server::bind(&dir).unwrap();
        {
            let mut c = UnixStream::connect(socket_path(&dir)).unwrap();
            c.write_all(b"{\"cmd\":\"rest").unwrap();
        }
        // A connection that sends nothing at all (like bind's liveness probe).
        drop(UnixStream::connect(socket_path(&dir)).unwrap());
        for _ in 0..5 {
            assert!(pump(&mut s, 20).is_empty());
        }
        assert_eq!(s.deadline(), None, "both connections are gone");
        // A half-closed client is told why.
        let c = UnixStream::connect(socket_path(&dir)).unwrap();
        (&c).write_all(b"{\"cmd\":\"status\"}").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        for _ in 0..5 {
            assert!(pump(&mut s, 20).is_empty());
        }
        let mut text = String::new();
        (&c).read_to_string(&mut text).unwrap();
        assert!(reply_of(&text).message.contains("newline"));
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expire_drops_an_idle_half_line_connection() {
        let dir = tmpdir("idle");
        let mut s = Server::bind(&dir).unwrap();
        let mut c = UnixStream::connect(socket_path(&dir)).unwrap();
        c.write_all(b"{\"cmd\":").unwrap();
        let start = Instant::now();
        let end = start + Duration::from_secs(5);
        while s.deadline().is_none() && Instant::now() < end {
            assert!(pump(&mut s, 20).is_empty());
        }
        let d = s.deadline().expect("a reading connection has a deadline");
        assert!(d > start && d <= Instant::now() + IDLE);
        s.expire(Instant::now()); // not yet
        assert!(s.deadline().is_some());
        s.expire(Instant::now() + Duration::from_secs(6));
        assert_eq!(s.deadline(), None);
        // The client sees the connection closed.
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        assert_eq!(c.read_to_end(&mut buf).unwrap(), 0);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn waiting_connections_do_not_expire_and_hangups_are_noticed() {
        let dir = tmpdir("wait");
        let mut s = Server::bind(&dir).unwrap();
        let c = UnixStream::connect(socket_path(&dir)).unwrap();
        (&c).write_all(b"{\"cmd\":\"restart\",\"name\":\"web\"}\n").unwrap();
        let mut id = None;
        pump_until(&mut s, |_, got| {
            id = got.first().map(|(id, _)| *id);
            id.is_some()
        });
        let id = id.unwrap();
        // A restart may take the whole grace period: no deadline, not expired.
        assert_eq!(s.deadline(), None);
        s.expire(Instant::now() + Duration::from_secs(600));
        let mut fds = Vec::new();
        s.fds(&mut fds);
        assert_eq!(fds.len(), 2);
        assert_eq!(fds[1].events, 0, "waiting connections are only watched for hang-ups");
        assert!(s.owns(fds[1].fd));
        // The client gives up: the hang-up wakes the loop once and the connection goes.
        let fd = c.as_raw_fd();
        drop(c);
        assert!(pump(&mut s, 100).is_empty());
        assert!(!s.owns(fd));
        s.reply(id, Reply::ok("late")); // ignored
        s.reply(9999, Reply::ok("unknown")); // ignored
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn connections_are_capped() {
        let dir = tmpdir("cap");
        let mut s = Server::bind(&dir).unwrap();
        let mut held = Vec::new();
        for _ in 0..MAX_CONNS {
            held.push(UnixStream::connect(socket_path(&dir)).unwrap());
        }
        let end = Instant::now() + Duration::from_secs(5);
        while s.conns.len() < MAX_CONNS && Instant::now() < end {
            assert!(pump(&mut s, 20).is_empty());
        }
        assert_eq!(s.conns.len(), MAX_CONNS);
        let (text, got) = exchange(&mut s, &dir, b"{\"cmd\":\"status\"}\n".to_vec());
        assert!(got.is_empty());
        assert!(reply_of(&text).message.starts_with("busy"));
        drop(held);
        s.expire(Instant::now() + Duration::from_secs(6));
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refusal_message() {
        assert_eq!(refusal(0, 1000), None);
        assert_eq!(refusal(1000, 1000), None);
        assert_eq!(
            refusal(65534, 1000).unwrap(),
            "permission denied: uid 65534 is neither root nor podinit's uid 1000"
        );
    }

    /// A real peer with another uid (root only): the kernel refuses it at
    /// connect on the 0600 socket; with the mode loosened, SO_PEERCRED does.
    #[test]
    fn other_uid_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to switch uid");
            return;
        }
        let dir = tmpdir("uid");
        let mut s = Server::bind(&dir).unwrap();
        let path = socket_path(&dir);
        // nobody must be able to reach the socket through the directory.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let as_nobody = |s: &mut Server| -> (i32, String) {
            let addr = UnixAddr::new(&path).unwrap();
            let (rd, wr) = nix::unistd::pipe().unwrap();
            // SAFETY: the child only makes async-signal-safe syscalls on
            // preallocated buffers, then _exit()s.
            match unsafe { nix::unistd::fork() }.unwrap() {
                nix::unistd::ForkResult::Child => unsafe {
                    // Raw syscalls: libc's setuid wrappers coordinate with other threads, which a forked child does not have.
                    if libc::syscall(libc::SYS_setgid, 65534) != 0 || libc::syscall(libc::SYS_setuid, 65534) != 0 {
                        libc::_exit(10);
                    }
                    let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
                    let (sa, len) = (socket::SockaddrLike::as_ptr(&addr), socket::SockaddrLike::len(&addr));
                    if libc::connect(fd, sa, len) != 0 {
                        libc::_exit(*libc::__errno_location());
                    }
                    let req = b"{\"cmd\":\"status\"}\n";
                    libc::write(fd, req.as_ptr().cast(), req.len());
                    let mut buf = [0u8; 512];
                    let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                    if n > 0 {
                        libc::write(wr.as_raw_fd(), buf.as_ptr().cast(), n as usize);
                    }
                    libc::_exit(0);
                },
                nix::unistd::ForkResult::Parent { child } => {
                    drop(wr);
                    let mut code = None;
                    pump_until(s, |_, got| {
                        assert!(got.is_empty(), "a foreign uid must never reach the supervisor");
                        if let Ok(nix::sys::wait::WaitStatus::Exited(_, c)) =
                            nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
                        {
                            code = Some(c);
                        }
                        code.is_some()
                    });
                    let mut text = String::new();
                    std::fs::File::from(rd).read_to_string(&mut text).unwrap();
                    (code.unwrap(), text)
                }
            }
        };
        let (code, text) = as_nobody(&mut s);
        assert_eq!(code, libc::EACCES, "the 0600 socket stops nobody at connect");
        assert!(text.is_empty());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (code, text) = as_nobody(&mut s);
        assert_eq!(code, 0);
        let r = reply_of(&text);
        assert!(!r.ok);
        assert_eq!(r.message, format!("permission denied: uid 65534 is neither root nor podinit's uid {}", 0));
        assert_still_serves(&mut s, &dir);
        s.remove();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn permission_error_names_the_owner() {
        let p = PathBuf::from("/run/podinit/control.sock");
        let e = ControlError::Permission { path: p, owner: Some(0), uid: 65534 };
        assert_eq!(
            e.to_string(),
            "permission denied on control socket /run/podinit/control.sock (owned by uid 0, you are uid 65534): only root or the user podinit runs as may control the pod"
        );
    }

    #[test]
    fn wire_format_is_the_documented_one() {
        let line = |r: &Request| serde_json::to_string(&Wire::from_request(r)).unwrap();
        assert_eq!(line(&Request::Restart("web".into())), r#"{"cmd":"restart","name":"web"}"#);
        assert_eq!(
            line(&Request::Kill("web".into(), libc::SIGHUP)),
            r#"{"cmd":"kill","name":"web","signal":"SIGHUP"}"#
        );
        assert_eq!(line(&Request::Status), r#"{"cmd":"status"}"#);
        assert_eq!(
            String::from_utf8(Reply::ok("done").to_line()).unwrap(),
            "{\"ok\":true,\"message\":\"done\",\"status\":null}\n"
        );
        // A reply without the status field still parses.
        let r: Reply = serde_json::from_str(r#"{"ok":false,"message":"x"}"#).unwrap();
        assert_eq!(r, Reply::err("x"));
        for r in [Request::Stop("a".into()), Request::Start("b".into()), Request::Status] {
            assert_eq!(parse_request(line(&r).as_bytes()), Ok(r));
        }
    }

    #[test]
    fn request_errors_are_one_line() {
        // Found by fuzzing (tests/fuzz-corpus/control_request): serde quotes an
        // unknown variant raw, so a "\n" in it used to forge a second log line.
        for line in [&br#"{"cmd":"s\ntus"}"#[..], br#"{"cmd":"kill","name":"a","signal":"X\nY"}"#] {
            let e = parse_request(line).unwrap_err();
            assert!(!e.contains('\n'), "{e:?}");
            assert!(e.starts_with("bad request") || e.starts_with("unknown signal"), "{e:?}");
        }
        let e = parse_request(br#"{"cmd":"restart","name":"a\nb"}"#).unwrap_err();
        assert_eq!(e, r#"bad request: name "a\nb" has control characters"#);
    }

    #[test]
    fn from_cli_and_timeouts() {
        assert_eq!(from_cli(&ControlCmd::Restart("a".into())), Request::Restart("a".into()));
        assert_eq!(from_cli(&ControlCmd::Stop("a".into())), Request::Stop("a".into()));
        assert_eq!(from_cli(&ControlCmd::Start("a".into())), Request::Start("a".into()));
        assert_eq!(from_cli(&ControlCmd::Kill("a".into(), 1)), Request::Kill("a".into(), 1));
        let grace = Duration::from_secs(30);
        assert_eq!(timeout_for(&Request::Restart("a".into()), grace), Duration::from_secs(120));
        assert_eq!(timeout_for(&Request::Stop("a".into()), Duration::from_secs(300)), Duration::from_secs(330));
        assert_eq!(timeout_for(&Request::Status, grace), Duration::from_secs(5));
    }
}
