//! The client end, used by `podinit status|restart|stop|start|kill`.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::time::{TimeVal, TimeValLike};

use super::*;

/// Client side: connects to `<state_dir>/control.sock`, sends one request
/// line, reads one reply line. `timeout` bounds the connect, the send and the
/// whole wait for the reply (see [`timeout_for`](crate::pod::protocol::timeout_for)). A refusal by the server
/// (e.g. permission denied) comes back as `Ok` with `ok == false`.
pub(crate) fn request(state_dir: &Path, req: &Request, timeout: Duration) -> Result<Reply, ControlError> {
    Connection::open(state_dir, timeout)?.send(req)
}

/// One connection to a running podinit, before its request is sent: lets a
/// caller learn who listens ([`Connection::peer_pid`]) and act on it first
/// (`podinit wait` opens a pidfd on that pid, then asks for the status: a
/// reply proves the pidfd is podinit's and not a reused pid's).
pub(crate) struct Connection {
    stream: UnixStream,
    path: PathBuf,
    timeout: Duration,
    deadline: Instant,
}

impl Connection {
    /// Connects to `<state_dir>/control.sock`; `timeout` bounds the connect and
    /// the later [`send`](Connection::send).
    pub(crate) fn open(state_dir: &Path, timeout: Duration) -> Result<Connection, ControlError> {
        let path = socket_path(state_dir);
        check_len(&path)?;
        if !check_kind(&path)? {
            return Err(ControlError::NotRunning { path, stale: false });
        }
        let deadline = Instant::now() + timeout;
        let stream = connect(&path, timeout)?;
        Ok(Connection { stream, path, timeout, deadline })
    }

    /// The pid of the process that listens on the socket (podinit), as seen
    /// from this process's PID namespace (the kernel translates it); None when
    /// it is not visible from here.
    pub(crate) fn peer_pid(&self) -> Option<i32> {
        let cred = socket::getsockopt(&self.stream, sockopt::PeerCredentials).ok()?;
        Some(cred.pid()).filter(|&p| p > 0)
    }

    /// Sends `req` and reads the one reply line.
    pub(crate) fn send(self, req: &Request) -> Result<Reply, ControlError> {
        let Connection { stream, path, timeout, deadline } = self;
        exchange(stream, path, timeout, deadline, req)
    }
}

fn exchange(
    stream: UnixStream,
    path: PathBuf,
    timeout: Duration,
    deadline: Instant,
    req: &Request,
) -> Result<Reply, ControlError> {
    let mut line = encode_request(req);
    line.push(b'\n');
    send_line(&stream, &line, &path, timeout)?;
    let mut buf = Vec::with_capacity(512);
    let end = read_line(&stream, &mut buf, &path, deadline, timeout)?;
    parse_reply(&buf[..end]).map_err(|message| ControlError::Protocol { path, message })
}

/// Sends `line` whole. A blocking send bounded by SO_SNDTIMEO (set in
/// connect; `timeout` names it in the error); MSG_NOSIGNAL, so a vanished
/// server is an error, not a signal.
pub(super) fn send_line(stream: &UnixStream, line: &[u8], path: &Path, timeout: Duration) -> Result<(), ControlError> {
    let mut sent = 0;
    while sent < line.len() {
        match socket::send(stream.as_raw_fd(), &line[sent..], MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => sent += n,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return Err(ControlError::Timeout { path: path.to_path_buf(), after: timeout }),
            // A server that refuses us (uid, too many connections) writes its
            // reason and closes before reading: the reply is still there to read.
            Err(Errno::EPIPE | Errno::ECONNRESET) => break,
            Err(e) => return Err(ControlError::Io { op: "send to", path: path.to_path_buf(), source: e.into() }),
        }
    }
    Ok(())
}

/// Reads into `buf` until the first newline, by `deadline` (`timeout` names
/// it in the error); returns the newline's index. What came after it stays in
/// `buf` (the log bytes of a `logs` reply).
pub(super) fn read_line(
    stream: &UnixStream,
    buf: &mut Vec<u8>,
    path: &Path,
    deadline: Instant,
    timeout: Duration,
) -> Result<usize, ControlError> {
    let timed_out = || ControlError::Timeout { path: path.to_path_buf(), after: timeout };
    let io_err = |e: io::Error| ControlError::Io { op: "read from", path: path.to_path_buf(), source: e };
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        stream.set_read_timeout(Some(left)).map_err(io_err)?;
        match (&*stream).read(&mut chunk) {
            Ok(0) => {
                let message = "podinit closed the connection without a reply".into();
                return Err(ControlError::Protocol { path: path.to_path_buf(), message });
            }
            Ok(n) => {
                let start = buf.len();
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf[start..].iter().position(|&b| b == b'\n') {
                    return Ok(start + p);
                }
                if buf.len() > MAX_REPLY {
                    let message = format!("reply longer than {MAX_REPLY} bytes");
                    return Err(ControlError::Protocol { path: path.to_path_buf(), message });
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(timed_out())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
}

/// Blocking connect bounded by `timeout` (SO_SNDTIMEO also bounds connect(2)
/// on a Unix socket whose listener's backlog is full, e.g. a stopped podinit).
pub(super) fn connect(path: &Path, timeout: Duration) -> Result<UnixStream, ControlError> {
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
