//! Probe and waiter attempts: the I/O half of [`crate::pod::probe`].
//!
//! An attempt never blocks the event loop: an exec attempt is a child process
//! with a deadline; tcp, http and grpc attempts are non-blocking sockets the
//! loop polls; file and unix attempts finish at once (stat(2), or a connect(2)
//! on a Unix stream socket, which never blocks). A host name is looked up by a
//! resolver child (the libc resolver blocks, up to 10 s and more with a silent
//! DNS server), whose answer comes back through a pipe the loop polls; numeric
//! addresses need no lookup. The runtime starts an attempt when the state
//! machine asks for one and hands every outcome back to it as an event.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6};

use crate::config::{http_target, split_host_port, HttpGet};
use crate::pod::grpc;
use crate::pod::machine::fmt_secs;
use crate::pod::probe::{Check, Outcome, ProbeKind};
use crate::pod::unit::UnitId;
use crate::sys::reaper::ExitStatus;
use crate::sys::signals;
use crate::sys::spawn::{self, Command};

/// What an attempt says once its socket is connected.
#[derive(Debug)]
enum Proto {
    /// tcp: the connection is the check.
    Connect,
    /// http: one GET, read up to the status line.
    Http(Http),
    /// grpc: one health Check call.
    Grpc(Box<grpc::Call>),
}

/// What an attempt in flight waits on.
#[derive(Debug)]
enum Wait {
    /// An exec probe's child.
    Exec { pid: i32 },
    /// A resolver child looks the host up; its answer ("ADDRESS" or "!error")
    /// comes through `pipe`. Its pid is in [`Attempts::orphans`] from the start.
    Resolve { pid: i32, pipe: OwnedFd, answer: Vec<u8>, port: u16, proto: Proto },
    /// A socket connecting, then the exchange `proto` makes over it.
    Socket { sock: OwnedFd, proto: Proto, connected: bool },
}

/// HTTP exchange over a connected socket.
#[derive(Debug)]
struct Http {
    request: Vec<u8>,
    sent: usize,
    response: Vec<u8>,
}

/// One attempt in flight.
#[derive(Debug)]
struct Attempt {
    unit: UnitId,
    kind: ProbeKind,
    wait: Wait,
    deadline: Instant,
    timeout: Duration,
    /// The host:port or URL, for messages.
    target: String,
}

/// Every attempt in flight. Usually empty; a handful at most.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    running: Vec<Attempt>,
    /// Exec attempts that were killed (timeout, cancel) and resolver children:
    /// their exit is still to be reaped, and is nobody's business.
    orphans: Vec<i32>,
}

impl Attempts {
    /// Starts an attempt of `check` for `unit`'s `kind` probe. `base` is the
    /// entry's command (environment, cwd, user) an exec probe runs with.
    /// Returns the outcome when it is known at once.
    pub(crate) fn start(
        &mut self,
        unit: UnitId,
        kind: ProbeKind,
        check: &Check,
        timeout: Duration,
        base: &Command,
        now: Instant,
    ) -> Option<Outcome> {
        let done = |ok: bool, why: String| Some(Outcome { unit, kind, ok, why: if ok { String::new() } else { why } });
        let (wait, target) = match check {
            Check::Exec(argv) => match spawn::spawn(&base.sibling(argv)) {
                Ok(pid) => (Wait::Exec { pid }, String::new()),
                Err(e) => return done(false, e.to_string()),
            },
            Check::File(p) => return done(p.exists(), format!("{} does not exist", p.display())),
            Check::Unix(p) => {
                let r = UnixStream::connect(p);
                return done(r.is_ok(), format!("{}: {}", p.display(), err_text(r.err())));
            }
            Check::Tcp(a) => match split_host_port(a) {
                Ok((host, port)) => match self.open(host, port, Proto::Connect, a) {
                    Ok(w) => (w, a.clone()),
                    Err(e) => return done(false, e),
                },
                Err(e) => return done(false, format!("{a}: {e}")),
            },
            Check::Http(get) => match http_target(&get.url) {
                Ok(t) => match self.open(t.host, t.port, Proto::Http(Http::new(get, &t)), &get.url) {
                    Ok(w) => (w, get.url.clone()),
                    Err(e) => return done(false, e),
                },
                Err(e) => return done(false, format!("{}: {e}", get.url)),
            },
            Check::Grpc { addr, service } => match split_host_port(addr) {
                Ok((host, port)) => {
                    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                    match self.open(host, port, Proto::Grpc(Box::new(grpc::Call::new(addr, service, ms))), addr) {
                        Ok(w) => (w, addr.clone()),
                        Err(e) => return done(false, e),
                    }
                }
                Err(e) => return done(false, format!("{addr}: {e}")),
            },
        };
        self.running.push(Attempt { unit, kind, wait, deadline: now + timeout, timeout, target });
        None
    }

    /// Connects to `host:port` at once when the host is an address, else
    /// starts a resolver child.
    fn open(&mut self, host: &str, port: u16, proto: Proto, target: &str) -> Result<Wait, String> {
        // `host` as written: an IPv6 address in brackets, so "host:port" parses.
        if let Ok(addr) = format!("{host}:{port}").parse::<SocketAddr>() {
            let sock = connect_nonblocking(addr).map_err(|e| connect_failed(&proto, target, e))?;
            return Ok(Wait::Socket { sock, proto, connected: false });
        }
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let (pid, pipe) = resolver(bare, port).map_err(|e| format!("cannot resolve {bare}: {}", e.desc()))?;
        self.orphans.push(pid);
        Ok(Wait::Resolve { pid, pipe, answer: Vec::new(), port, proto })
    }

    /// The earliest deadline of an attempt in flight.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.running.iter().map(|a| a.deadline).min()
    }

    /// Adds the fds of socket and resolver attempts in flight.
    pub(crate) fn fds(&self, out: &mut Vec<libc::pollfd>) {
        for a in &self.running {
            let (fd, events) = match &a.wait {
                Wait::Exec { .. } => continue,
                Wait::Resolve { pipe, .. } => (pipe.as_raw_fd(), libc::POLLIN),
                Wait::Socket { sock, proto, connected } => {
                    let events = match proto {
                        _ if !connected => libc::POLLOUT,
                        Proto::Connect => libc::POLLOUT,
                        Proto::Http(h) if h.sent < h.request.len() => libc::POLLOUT,
                        Proto::Http(_) => libc::POLLIN,
                        Proto::Grpc(c) if !c.output().is_empty() => libc::POLLIN | libc::POLLOUT,
                        Proto::Grpc(_) => libc::POLLIN,
                    };
                    (sock.as_raw_fd(), events)
                }
            };
            out.push(libc::pollfd { fd, events, revents: 0 });
        }
    }

    /// A socket or resolver pipe is ready: the outcome when its attempt is
    /// done. None also when `fd` is not one of ours.
    pub(crate) fn ready(&mut self, fd: RawFd) -> Option<Outcome> {
        let i = self.running.iter().position(|a| match &a.wait {
            Wait::Socket { sock, .. } => sock.as_raw_fd() == fd,
            Wait::Resolve { pipe, .. } => pipe.as_raw_fd() == fd,
            Wait::Exec { .. } => false,
        })?;
        let a = &mut self.running[i];
        let result = match &mut a.wait {
            Wait::Exec { .. } => return None,
            Wait::Resolve { pipe, answer, .. } => match read_answer(pipe, answer) {
                None => return None,
                Some(Ok(ip)) => {
                    let Wait::Resolve { port, proto, .. } = std::mem::replace(&mut a.wait, Wait::Exec { pid: 0 })
                    else {
                        return None;
                    };
                    match connect_nonblocking(SocketAddr::new(ip, port)) {
                        Ok(sock) => {
                            a.wait = Wait::Socket { sock, proto, connected: false };
                            return None;
                        }
                        Err(e) => Err(connect_failed(&proto, &a.target, e)),
                    }
                }
                Some(Err(e)) => Err(e),
            },
            Wait::Socket { sock, proto, connected } => {
                if !*connected {
                    if let Err(e) = socket_error(sock) {
                        let why = connect_failed(proto, &a.target, e);
                        let a = self.running.swap_remove(i);
                        return Some(Outcome { unit: a.unit, kind: a.kind, ok: false, why });
                    }
                    *connected = true;
                }
                match proto {
                    Proto::Connect => Ok(()),
                    Proto::Http(h) => match step_http(sock, h) {
                        Ok(None) => return None,
                        Ok(Some(code)) if (200..400).contains(&code) => Ok(()),
                        Ok(Some(code)) => Err(format!("HTTP status {code}")),
                        Err(e) => Err(e),
                    },
                    Proto::Grpc(call) => step_grpc(sock, call)?,
                }
            }
        };
        let a = self.running.swap_remove(i);
        if let Wait::Resolve { pid, .. } = a.wait {
            let _ = signals::send(pid, libc::SIGKILL);
        }
        Some(Outcome { unit: a.unit, kind: a.kind, ok: result.is_ok(), why: result.err().unwrap_or_default() })
    }

    /// A child exited. `Some(Some(outcome))`: it was an exec attempt;
    /// `Some(None)`: a killed attempt or a resolver, nothing to report; `None`: not ours.
    pub(crate) fn exited(&mut self, pid: i32, status: ExitStatus) -> Option<Option<Outcome>> {
        if let Some(i) = self.orphans.iter().position(|&p| p == pid) {
            self.orphans.swap_remove(i);
            return Some(None);
        }
        let i = self.running.iter().position(|a| matches!(a.wait, Wait::Exec { pid: p } if p == pid))?;
        let a = self.running.swap_remove(i);
        let ok = status.success();
        Some(Some(Outcome {
            unit: a.unit,
            kind: a.kind,
            ok,
            why: if ok { String::new() } else { format!("command {status}") },
        }))
    }

    /// Fails every attempt whose time ran out (an exec attempt's process
    /// group and a resolver are killed).
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Outcome>) {
        while let Some(i) = self.running.iter().position(|a| now >= a.deadline) {
            let a = self.running.swap_remove(i);
            self.abandon(&a.wait);
            let t = fmt_secs(a.timeout);
            // The kubelet's messages for a grpc probe: before and after the connection is up.
            let why = match &a.wait {
                Wait::Socket { proto: Proto::Grpc(c), connected: true, .. } if c.answered() => {
                    format!("timeout: health rpc did not complete within {t}")
                }
                Wait::Socket { proto: Proto::Grpc(_), .. } | Wait::Resolve { proto: Proto::Grpc(_), .. } => {
                    format!("timeout: failed to connect service \"{}\" within {t}: context deadline exceeded", a.target)
                }
                Wait::Resolve { .. } => format!("timed out after {t} resolving the host of {}", a.target),
                _ => format!("timed out after {t}"),
            };
            out.push(Outcome { unit: a.unit, kind: a.kind, ok: false, why });
        }
    }

    /// Drops every attempt of `unit` (it stopped or restarts).
    pub(crate) fn cancel(&mut self, unit: UnitId) {
        while let Some(i) = self.running.iter().position(|a| a.unit == unit) {
            let a = self.running.swap_remove(i);
            self.abandon(&a.wait);
        }
    }

    fn abandon(&mut self, w: &Wait) {
        match *w {
            Wait::Exec { pid } => {
                let _ = signals::send(-pid, libc::SIGKILL);
                self.orphans.push(pid);
            }
            // Already among the orphans.
            Wait::Resolve { pid, .. } => {
                let _ = signals::send(pid, libc::SIGKILL);
            }
            Wait::Socket { .. } => {}
        }
    }
}

/// Why a connection failed; for a grpc probe in the kubelet's words.
fn connect_failed(proto: &Proto, target: &str, e: Errno) -> String {
    match proto {
        Proto::Grpc(_) => format!("error: failed to connect service at \"{target}\": connect: {}", e.desc()),
        _ => format!("connect {target}: {}", e.desc()),
    }
}

fn err_text(e: Option<std::io::Error>) -> String {
    e.map_or_else(String::new, |e| e.to_string())
}

impl Http {
    /// The GET the kubelet sends (`pkg/probe/http/request.go`): the probe's
    /// headers in order; `Host` from them when given, else the URL's;
    /// `User-Agent: kube-probe/1.33` and `Accept: */*` unless given (given
    /// empty, they are not sent); `Connection: close`.
    fn new(get: &HttpGet, t: &crate::config::HttpTarget) -> Http {
        let given =
            |name: &str| get.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let mut r = format!("GET {} HTTP/1.0\r\nHost: {}\r\n", t.path, given("Host").unwrap_or(t.authority));
        for (name, default) in [("User-Agent", grpc::USER_AGENT), ("Accept", "*/*")] {
            if given(name).is_none() {
                r.push_str(&format!("{name}: {default}\r\n"));
            }
        }
        for (n, v) in &get.headers {
            let skip = n.eq_ignore_ascii_case("Host")
                || (v.is_empty() && (n.eq_ignore_ascii_case("User-Agent") || n.eq_ignore_ascii_case("Accept")));
            if !skip {
                r.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        r.push_str("Connection: close\r\n\r\n");
        Http { request: r.into_bytes(), sent: 0, response: Vec::new() }
    }
}

/// Forks a child that resolves `host` with the libc resolver (/etc/hosts,
/// then DNS, as nsswitch says) and writes the first address, or "!" and the
/// error, to the returned pipe. The lookup may block for as long as the DNS
/// servers take; PID 1 only polls the pipe, and kills the child at the
/// attempt's deadline.
fn resolver(host: &str, port: u16) -> Result<(i32, OwnedFd), Errno> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    // SAFETY: podinit has one thread, so the child may allocate and call the
    // resolver; it only resolves, writes to the pipe and _exits. Its signal
    // mask is PID 1's (everything blocked): SIGKILL still ends it.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            // SAFETY: prctl(2) on this process; a killed podinit takes its resolver with it.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let w = wr.as_raw_fd();
            // SAFETY: closes fds this child does not use (PID 1's sockets, so
            // that a probe connection closes when PID 1 closes it); `wr` stays.
            unsafe {
                libc::syscall(libc::SYS_close_range, 3u32, (w - 1) as u32, 0u32);
                libc::syscall(libc::SYS_close_range, (w + 1) as u32, u32::MAX, 0u32);
            }
            // The address's octets (4 or 16 bytes), or "!" and the error.
            let answer = match (host, port).to_socket_addrs().map(|mut a| a.next()) {
                Ok(Some(SocketAddr::V4(a))) => a.ip().octets().to_vec(),
                Ok(Some(SocketAddr::V6(a))) => a.ip().octets().to_vec(),
                Ok(None) => b"!no address".to_vec(),
                Err(e) => format!("!{e}").into_bytes(),
            };
            let _ = nix::unistd::write(&wr, &answer);
            // SAFETY: ends the child without running PID 1's exit path.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => Ok((child.as_raw(), rd)),
    }
}

/// Reads a resolver's pipe: the address once it closed, None to keep waiting.
fn read_answer(pipe: &OwnedFd, answer: &mut Vec<u8>) -> Option<Result<IpAddr, String>> {
    let mut buf = [0u8; 256];
    loop {
        match nix::unistd::read(pipe.as_raw_fd(), &mut buf) {
            Ok(0) => break,
            Ok(n) if answer.len() < 1024 => answer.extend_from_slice(&buf[..n]),
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
    Some(match answer.as_slice() {
        [b'!', e @ ..] => Err(format!("cannot resolve: {}", String::from_utf8_lossy(e))),
        &[a, b, c, d] => Ok(IpAddr::from([a, b, c, d])),
        a => <[u8; 16]>::try_from(a).map(IpAddr::from).map_err(|_| "cannot resolve: the resolver died".to_string()),
    })
}

/// socket + connect without blocking; the result is known when the fd turns writable.
fn connect_nonblocking(addr: SocketAddr) -> Result<OwnedFd, Errno> {
    let family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    let sock = socket::socket(family, SockType::Stream, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)?;
    let res = match addr {
        SocketAddr::V4(a) => socket::connect(sock.as_raw_fd(), &SockaddrIn::from(a)),
        SocketAddr::V6(a) => socket::connect(sock.as_raw_fd(), &SockaddrIn6::from(a)),
    };
    match res {
        Ok(()) | Err(Errno::EINPROGRESS) => Ok(sock),
        Err(e) => Err(e),
    }
}

/// The outcome of a non-blocking connect (SO_ERROR).
fn socket_error(sock: &OwnedFd) -> Result<(), Errno> {
    match socket::getsockopt(sock, socket::sockopt::SocketError) {
        Ok(0) => Ok(()),
        Ok(e) => Err(Errno::from_raw(e)),
        Err(e) => Err(e),
    }
}

/// Borrows a socket as a stream for read/write without taking ownership.
fn stream(sock: &OwnedFd) -> std::mem::ManuallyDrop<TcpStream> {
    // SAFETY: the TcpStream is never dropped (ManuallyDrop), so the fd is not closed twice.
    std::mem::ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(sock.as_raw_fd()) })
}

/// Advances an HTTP exchange: sends the request, then reads until the status
/// line is complete. Ok(Some(code)) when known, Ok(None) to keep polling.
fn step_http(sock: &OwnedFd, h: &mut Http) -> Result<Option<u16>, String> {
    let mut stream = stream(sock);
    if h.sent < h.request.len() {
        match stream.write(&h.request[h.sent..]) {
            Ok(n) => h.sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("send: {e}")),
        }
        return Ok(None);
    }
    let mut buf = [0u8; 512];
    match stream.read(&mut buf) {
        Ok(0) => parse_status(&h.response).map(Some).ok_or_else(|| "connection closed before a status line".into()),
        Ok(n) => {
            h.response.extend_from_slice(&buf[..n]);
            if h.response.contains(&b'\n') || h.response.len() > 1024 {
                parse_status(&h.response).map(Some).ok_or_else(|| "malformed HTTP status line".into())
            } else {
                Ok(None)
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(format!("receive: {e}")),
    }
}

/// Advances a gRPC call: writes what it has to say, reads what came. The
/// verdict once the call is over, None to keep polling.
fn step_grpc(sock: &OwnedFd, call: &mut grpc::Call) -> Option<Result<(), String>> {
    let mut stream = stream(sock);
    let flush = |stream: &mut TcpStream, call: &mut grpc::Call| -> Result<(), String> {
        while !call.output().is_empty() {
            match stream.write(call.output()) {
                Ok(n) => call.wrote(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("error: health rpc probe failed: send: {e}")),
            }
        }
        Ok(())
    };
    if let Err(e) = flush(&mut stream, call) {
        return Some(Err(e));
    }
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(Err(call.closed())),
            Ok(n) => {
                if let Some(v) = call.received(&buf[..n]) {
                    return Some(v);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Some(Err(format!("error: health rpc probe failed: receive: {e}"))),
        }
    }
    // SETTINGS and PING acknowledgements.
    flush(&mut stream, call).err().map(Err)
}

/// The status code of an HTTP/1.x response's first line ("HTTP/1.1 200 OK").
pub fn parse_status(resp: &[u8]) -> Option<u16> {
    let line = resp.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok().filter(|c| (100..600).contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpGet;
    use std::net::TcpListener;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 404 Not Found\r\nX: y"), Some(404));
        assert_eq!(parse_status(b"HTTP/1.1 302\r\n"), Some(302));
        assert_eq!(parse_status(b"HTTP/2 200\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 20 OK\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 999 X\r\n"), None);
        assert_eq!(parse_status(b"\xff\xfe"), None);
        assert_eq!(parse_status(b""), None);
    }

    /// Runs one attempt of `check` to its outcome (or 2 s).
    fn attempt(check: Check) -> Option<Outcome> {
        let mut c = Attempts::default();
        if let Some(o) = c.start(
            UnitId::new(0),
            ProbeKind::Readiness,
            &check,
            Duration::from_secs(2),
            &Command::default(),
            Instant::now(),
        ) {
            return Some(o);
        }
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            let mut fds = Vec::new();
            c.fds(&mut fds);
            let fd = fds.first_mut()?;
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(fd, 1, 50) };
            if fd.revents != 0 {
                if let Some(o) = c.ready(fd.fd) {
                    return Some(o);
                }
            }
        }
        None
    }

    #[test]
    fn tcp_passes_against_a_listener_and_fails_without() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        assert_eq!(attempt(Check::Tcp(addr.clone())).map(|o| o.ok), Some(true));
        drop(l);
        let o = attempt(Check::Tcp(addr)).unwrap();
        assert!(!o.ok && o.why.contains("connect"), "{o:?}");
    }

    #[test]
    fn http_reads_the_status_code() {
        for (reply, want) in [("HTTP/1.1 204 No Content\r\n\r\n", true), ("HTTP/1.1 500 Oops\r\n\r\n", false)] {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/health", l.local_addr().unwrap());
            let server = std::thread::spawn(move || {
                let Ok((mut s, _)) = l.accept() else { return };
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(request.starts_with("GET /health HTTP/1.0\r\n"), "{request}");
                assert!(request.contains("\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\n"), "{request}");
                let _ = s.write_all(reply.as_bytes());
            });
            let o = attempt(Check::Http(url.as_str().into())).unwrap();
            assert_eq!(o.ok, want, "{o:?}");
            if !want {
                assert_eq!(o.why, "HTTP status 500");
            }
            server.join().unwrap();
        }
    }

    #[test]
    fn file_and_unix_attempts_finish_at_once() {
        let dir = std::env::temp_dir().join(format!("podinit-checks-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("flag");
        assert_eq!(attempt(Check::File(f.clone())).map(|o| o.ok), Some(false));
        std::fs::write(&f, b"x").unwrap();
        assert_eq!(attempt(Check::File(f)).map(|o| o.ok), Some(true));
        let sock = dir.join("s.sock");
        assert_eq!(attempt(Check::Unix(sock.clone())).map(|o| o.ok), Some(false));
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert_eq!(attempt(Check::Unix(sock)).map(|o| o.ok), Some(true));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_silent_socket_times_out() {
        // A listener that never answers the HTTP request.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        let mut c = Attempts::default();
        let t0 = Instant::now();
        let check = Check::Http(url.as_str().into());
        assert!(c
            .start(UnitId::new(3), ProbeKind::Liveness, &check, Duration::from_millis(10), &Command::default(), t0)
            .is_none());
        let mut out = Vec::new();
        c.expire(t0 + Duration::from_millis(5), &mut out);
        assert!(out.is_empty());
        c.expire(t0 + Duration::from_millis(10), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].unit, out[0].kind, out[0].ok), (UnitId::new(3), ProbeKind::Liveness, false));
        assert!(out[0].why.starts_with("timed out"), "{:?}", out[0]);
        assert_eq!(c.deadline(), None);
    }

    /// Serves one connection: reads what comes for a moment, answers `reply`,
    /// hands back what it read.
    fn serve_once(l: TcpListener, reply: Vec<u8>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let Ok((mut s, _)) = l.accept() else { return Vec::new() };
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"\r\n\r\n") || got.len() >= 100 {
                    let _ = s.write_all(&reply);
                }
            }
            got
        })
    }

    #[test]
    fn http_sends_the_probe_headers_as_the_kubelet() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x?y=1#frag", l.local_addr().unwrap());
        let server = serve_once(l, b"HTTP/1.1 200 OK\r\n\r\n".to_vec());
        let headers = [("host", "example.com"), ("X-Two", "a"), ("User-Agent", ""), ("X-Two", "b")];
        let get = HttpGet { url, headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect() };
        assert_eq!(attempt(Check::Http(get)).map(|o| o.ok), Some(true));
        let request = String::from_utf8(server.join().unwrap()).unwrap();
        assert_eq!(
            request,
            "GET /x?y=1 HTTP/1.0\r\nHost: example.com\r\nAccept: */*\r\nX-Two: a\r\nX-Two: b\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn grpc_over_a_socket() {
        // The answer frames of a grpcio health server (see grpc.rs' tests): SETTINGS, …, SERVING.
        let answer = "000018040000000000000400400000000500400000000600004000fe0300000001000004080000000000003f000100000004010000000000000408000000000000000005000008060000000000528e6da09f599b5300004e01040000000188400c636f6e74656e742d74797065106170706c69636174696f6e2f677270634014677270632d6163636570742d656e636f64696e67176964656e746974792c206465666c6174652c20677a69700000070000000000010000000002080100001e010500000001400b677270632d7374617475730130000c677270632d6d65737361676500";
        let bytes: Vec<u8> =
            (0..answer.len()).step_by(2).map(|i| u8::from_str_radix(&answer[i..i + 2], 16).unwrap()).collect();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = serve_once(l, bytes);
        let o = attempt(Check::Grpc { addr: addr.clone(), service: String::new() }).unwrap();
        assert!(o.ok, "{o:?}");
        let got = server.join().unwrap();
        assert!(got.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        // Nothing listening: the kubelet's connect message.
        let o = attempt(Check::Grpc { addr: addr.clone(), service: String::new() }).unwrap();
        assert!(o.why.starts_with(&format!("error: failed to connect service at \"{addr}\"")), "{o:?}");
    }

    #[test]
    fn a_silent_grpc_server_times_out_with_the_kubelets_message() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let mut c = Attempts::default();
        let t0 = Instant::now();
        let check = Check::Grpc { addr: addr.clone(), service: String::new() };
        assert!(c
            .start(UnitId::new(0), ProbeKind::Readiness, &check, Duration::from_secs(1), &Command::default(), t0)
            .is_none());
        let mut out = Vec::new();
        c.expire(t0 + Duration::from_secs(1), &mut out);
        let want = format!("timeout: failed to connect service \"{addr}\" within 1s: context deadline exceeded");
        assert_eq!(out[0].why, want);
    }

    #[test]
    fn a_host_name_is_resolved_off_the_loop() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut c = Attempts::default();
        let check = Check::Tcp(format!("localhost:{port}"));
        assert!(c
            .start(
                UnitId::new(0),
                ProbeKind::Readiness,
                &check,
                Duration::from_secs(2),
                &Command::default(),
                Instant::now()
            )
            .is_none());
        // A resolver child, whose pipe the loop polls; its exit is ours and silent.
        let Wait::Resolve { pid, .. } = &c.running[0].wait else { panic!("{:?}", c.running[0].wait) };
        let pid = *pid;
        assert!(c.orphans.contains(&pid));
        let end = Instant::now() + Duration::from_secs(2);
        let mut outcome = None;
        while outcome.is_none() && Instant::now() < end {
            let mut fds = Vec::new();
            c.fds(&mut fds);
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut fds[0], 1, 50) };
            if fds[0].revents != 0 {
                outcome = c.ready(fds[0].fd);
            }
        }
        let _ = signals::send(pid, libc::SIGKILL);
        let mut status = 0;
        // SAFETY: reaps our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(c.exited(pid, ExitStatus::Code(0)), Some(None));
        match outcome {
            Some(o) => assert!(o.ok, "{o:?}"),
            None => panic!("no outcome"),
        }
    }
}
