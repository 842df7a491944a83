//! The server end: one listener and a few connections, driven by the pod's
//! poll loop; every socket non-blocking, every request bounded.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, MsgFlags};

use super::*;

/// One non-blocking send that never raises SIGPIPE (podinit blocks signals and
/// reads them from a signalfd, where a stray SIGPIPE would be forwarded to the apps).
pub(super) fn send_nb(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    socket::send(fd, buf, MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT)
}

/// True when the peer is gone (POLLHUP/POLLERR), asked without waiting.
pub(super) fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd { fd, events: 0, revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// The refusal message for a peer uid, or None when it may be served.
pub(super) fn refusal(uid: u32, own: u32) -> Option<String> {
    if uid == 0 || uid == own {
        None
    } else {
        Some(format!("permission denied: uid {uid} is neither root nor podinit's uid {own}"))
    }
}

/// Where a connection is in its one request/one reply life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnPhase {
    /// Reading the request line (polled for POLLIN; expires).
    Reading,
    /// Request handed to the state machine; waiting for [`Server::reply`] (not expired: a restart may take the grace period).
    Waiting,
    /// Writing the reply (polled for POLLOUT; expires), then closed.
    Writing,
    /// `logs -f`: open while the runtime pushes output; polled for POLLOUT
    /// only while bytes are pending, so a quiet stream never wakes podinit.
    /// Never expires: only a hang-up or a reader too far behind ends it.
    Streaming,
}

/// Bytes a `logs -f` reader may fall behind before it is cut off, so a
/// stopped reader cannot grow podinit (and never blocks an entry).
pub(super) const MAX_BACKLOG: usize = 4 << 20;

struct Conn {
    id: ConnId,
    stream: UnixStream,
    phase: ConnPhase,
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

/// The control socket server, driven by the pod's poll loop.
pub(crate) struct Server {
    path: PathBuf,
    listener: UnixListener,
    /// (dev, ino) of the socket we created, so `remove` never unlinks a successor's socket.
    id: (u64, u64),
    conns: Vec<Conn>,
    next_id: ConnId,
    euid: u32,
    /// Set after an accept error (EMFILE...): the listener is not polled until then.
    paused_until: Option<Instant>,
    /// `logs` requests read, for the runtime (they do not go to the machine).
    logs: Vec<(ConnId, crate::pod::protocol::Query)>,
}

impl Server {
    /// Connections open now (tests: the cap holds).
    #[cfg(test)]
    pub(super) fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Creates `<state_dir>/control.sock` (mode 0600), non-blocking, CLOEXEC.
    /// - path exists and is not a socket (or is a symlink) → error, nothing touched
    /// - a socket that accepts a connection → another podinit serves this state_dir → error
    /// - a socket nobody listens on (ECONNREFUSED) → stale, unlinked and re-created (logged at info)
    ///
    /// The mode is set with chmod right after bind rather than by changing the
    /// process-wide umask; the short window with the umask's mode is harmless
    /// because every connection's `SO_PEERCRED` is checked anyway.
    pub(crate) fn bind(state_dir: &Path) -> Result<Server, ControlError> {
        let path = socket_path(state_dir);
        check_len(&path)?;
        if check_kind(&path)? {
            match probe(&path)? {
                SocketProbe::Alive(pid) => return Err(ControlError::AlreadyRunning { path, pid }),
                SocketProbe::Stale => {
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
            logs: Vec::new(),
        })
    }

    /// Adds the fds to poll: the listener (POLLIN), each connection reading a
    /// request (POLLIN) or writing a reply (POLLOUT), and each connection
    /// waiting for the machine's reply with no events, so that only a hang-up
    /// (POLLHUP/POLLERR, always reported) wakes the loop. The caller must call
    /// [`Server::ready`] for any non-zero revents, hang-ups included.
    pub(crate) fn fds(&self, out: &mut Vec<libc::pollfd>) {
        if self.paused_until.is_none() {
            out.push(libc::pollfd { fd: self.listener.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        for c in &self.conns {
            let events = match c.phase {
                ConnPhase::Reading => libc::POLLIN,
                ConnPhase::Writing => libc::POLLOUT,
                ConnPhase::Streaming if c.sent < c.out.len() => libc::POLLOUT,
                ConnPhase::Waiting | ConnPhase::Streaming => 0,
            };
            out.push(libc::pollfd { fd: c.stream.as_raw_fd(), events, revents: 0 });
        }
    }

    /// True if fd belongs to this server.
    pub(crate) fn owns(&self, fd: RawFd) -> bool {
        fd == self.listener.as_raw_fd() || self.conns.iter().any(|c| c.stream.as_raw_fd() == fd)
    }

    /// Handles readiness of one of its fds and returns the complete, valid
    /// requests for the machine to act on (then answer with [`Server::reply`]).
    ///
    /// Listener: accepts until EAGAIN; each peer is checked with `SO_PEERCRED`
    /// (root or podinit's euid only) and refused beyond 16 open connections,
    /// both with an error reply. Connection: reads (bounded to 4 KiB per line),
    /// writes pending reply bytes, or notices that a client waiting for its
    /// reply hung up (the request still completes; its reply is dropped).
    /// Malformed JSON, unknown commands and signals get an error reply here and
    /// are never returned.
    pub(crate) fn ready(&mut self, fd: RawFd, now: Instant) -> Vec<(ConnId, Request)> {
        let mut out = Vec::new();
        if fd == self.listener.as_raw_fd() {
            self.accept_all(now, &mut out);
            return out;
        }
        let Some(i) = self.conns.iter().position(|c| c.stream.as_raw_fd() == fd) else {
            return out;
        };
        match self.conns[i].phase {
            ConnPhase::Reading => self.on_readable(i, now, &mut out),
            ConnPhase::Writing => self.flush(i),
            ConnPhase::Streaming => {
                if hung_up(fd) {
                    self.conns.swap_remove(i);
                } else {
                    self.flush(i);
                }
            }
            ConnPhase::Waiting => {
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
    pub(crate) fn reply(&mut self, id: ConnId, reply: Reply) {
        match self.conns.iter().position(|c| c.id == id && c.phase == ConnPhase::Waiting) {
            Some(i) => self.queue(i, &reply, Instant::now()),
            None => log::debug!("control: reply for connection {id} dropped: the client is gone"),
        }
    }

    /// The `logs` requests read since the last call; answer each with [`Server::stream`].
    pub(crate) fn take_logs(&mut self) -> Vec<(ConnId, crate::pod::protocol::Query)> {
        std::mem::take(&mut self.logs)
    }

    /// Answers a `logs` request: the header line (`reply`), then `body`; the
    /// connection then stays open for [`Server::push`] if `follow`, else it
    /// closes once written.
    pub(crate) fn stream(&mut self, id: ConnId, reply: &Reply, body: &[u8], follow: bool) {
        let Some(i) = self.conns.iter().position(|c| c.id == id && c.phase == ConnPhase::Waiting) else { return };
        let now = Instant::now();
        self.queue_only(i, reply, now);
        let c = &mut self.conns[i];
        c.out.extend_from_slice(body);
        if follow {
            c.phase = ConnPhase::Streaming;
            c.deadline = None;
        }
        self.flush(i);
    }

    /// Appends output for a `logs -f` reader; it is sent when the socket
    /// takes it. False when the reader is gone or was cut off for falling
    /// more than [`MAX_BACKLOG`] behind.
    pub(crate) fn push(&mut self, id: ConnId, data: &[u8]) -> bool {
        let Some(i) = self.conns.iter().position(|c| c.id == id && c.phase == ConnPhase::Streaming) else {
            return false;
        };
        let c = &mut self.conns[i];
        if c.out.len() - c.sent + data.len() > MAX_BACKLOG {
            log::warn!("control: logs -f reader pid {} fell {MAX_BACKLOG} bytes behind; cut off", c.pid);
            self.conns.swap_remove(i);
            return false;
        }
        if c.sent > 0 && c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
        }
        c.out.extend_from_slice(data);
        true
    }

    /// Ends a `logs -f` stream: the rest is written, then the connection closes.
    pub(crate) fn end(&mut self, id: ConnId) {
        if let Some(i) = self.conns.iter().position(|c| c.id == id && c.phase == ConnPhase::Streaming) {
            let c = &mut self.conns[i];
            c.phase = ConnPhase::Writing;
            c.deadline = Some(Instant::now() + IDLE);
            self.flush(i);
        }
    }

    /// Whether connection `id` is still open.
    pub(crate) fn is_open(&self, id: ConnId) -> bool {
        self.conns.iter().any(|c| c.id == id)
    }

    /// Earliest time [`Server::expire`] has work to do: a connection's idle
    /// deadline, or the end of an accept pause. None when there is nothing to
    /// time, so an idle pod never wakes up.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.conns.iter().filter_map(|c| c.deadline).chain(self.paused_until).min()
    }

    /// Drops connections open 5 s without a complete request, or whose reply
    /// could not be written within 5 s. Connections waiting for the
    /// machine's reply are kept (a restart may take the whole grace period).
    pub(crate) fn expire(&mut self, now: Instant) {
        if self.paused_until.is_some_and(|t| t <= now) {
            self.paused_until = None;
        }
        self.conns.retain(|c| match c.deadline {
            Some(d) if d <= now => {
                let what = if c.phase == ConnPhase::Reading { "send a request" } else { "read its reply" };
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
    pub(crate) fn remove(&self) {
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
            phase: ConnPhase::Reading,
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
            ReadResult::Line(line) => match parse_incoming(&line) {
                Ok(Incoming::Request(req)) => {
                    let c = &mut self.conns[i];
                    log::debug!("control: pid {}: {req}", c.pid);
                    c.phase = ConnPhase::Waiting;
                    c.deadline = None;
                    out.push((c.id, req));
                }
                Ok(Incoming::Logs(q)) => {
                    let c = &mut self.conns[i];
                    log::debug!("control: pid {}: logs {:?}", c.pid, q.name);
                    c.phase = ConnPhase::Waiting;
                    c.deadline = None;
                    self.logs.push((c.id, q));
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
        self.queue_only(i, reply, now);
        self.flush(i);
    }

    fn queue_only(&mut self, i: usize, reply: &Reply, now: Instant) {
        let c = &mut self.conns[i];
        c.out = reply.to_line();
        c.sent = 0;
        c.buf = Vec::new();
        c.phase = ConnPhase::Writing;
        c.deadline = Some(now + IDLE);
    }

    /// Sends pending reply bytes; closes the connection when done (unless it
    /// is streaming) or broken.
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
                    self.conns.swap_remove(i);
                    return;
                }
            }
        }
        if c.phase == ConnPhase::Streaming {
            c.out.clear();
            c.sent = 0;
            return;
        }
        self.conns.swap_remove(i);
    }
}

/// Best-effort single write of a refusal, then the stream is dropped. A fresh
/// connection's socket buffer is empty, so a short reply always fits.
pub(super) fn send_once(stream: &UnixStream, reply: &Reply) {
    let _ = send_nb(stream.as_raw_fd(), &reply.to_line());
}
