//! Probe and waiter attempts: the I/O half of [`crate::pod::probe`].
//!
//! An attempt never blocks the event loop: an exec attempt is a child process
//! with a deadline, tcp/http attempts are non-blocking sockets the loop polls,
//! file and unix attempts finish at once (stat(2), or a connect(2) on a Unix
//! stream socket, which never blocks). The runtime starts an attempt when the
//! state machine asks for one and hands every outcome back to it as an event.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6};

use crate::pod::probe::{Check, Outcome, ProbeKind};
use crate::sys::reaper::ExitStatus;
use crate::sys::signals;
use crate::sys::spawn::{self, Command};

/// What an attempt in flight waits on.
#[derive(Debug)]
enum Wait {
    /// An exec probe's child.
    Exec { pid: i32 },
    /// A socket waiting to connect (tcp), or an HTTP exchange.
    Socket { sock: OwnedFd, http: Option<Http> },
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
    unit: usize,
    kind: ProbeKind,
    wait: Wait,
    deadline: Instant,
    timeout: Duration,
}

/// Every attempt in flight. Usually empty; a handful at most.
#[derive(Debug, Default)]
pub struct Checks {
    running: Vec<Attempt>,
    /// Exec attempts that were killed (timeout, cancel); their exit is still to be reaped.
    orphans: Vec<i32>,
}

impl Checks {
    /// Starts an attempt of `check` for `unit`'s `kind` probe. `base` is the
    /// entry's command (environment, cwd, user) an exec probe runs with.
    /// Returns the outcome when it is known at once.
    pub fn start(
        &mut self,
        unit: usize,
        kind: ProbeKind,
        check: &Check,
        timeout: Duration,
        base: &Command,
        now: Instant,
    ) -> Option<Outcome> {
        let done = |ok: bool, why: String| Some(Outcome { unit, kind, ok, why: if ok { String::new() } else { why } });
        let wait = match check {
            Check::Exec(argv) => {
                let cmd = base.sibling(argv);
                match spawn::spawn(&cmd) {
                    Ok(pid) => Wait::Exec { pid },
                    Err(e) => return done(false, e.to_string()),
                }
            }
            Check::File(p) => return done(p.exists(), format!("{} does not exist", p.display())),
            Check::Unix(p) => {
                let r = UnixStream::connect(p);
                return done(r.is_ok(), format!("{}: {}", p.display(), err_text(r.err())));
            }
            Check::Tcp(a) | Check::Http(a) => {
                let http = matches!(check, Check::Http(_));
                let (addr, host, path) = match target(a, http) {
                    Ok(t) => t,
                    Err(e) => return done(false, e),
                };
                let sock = match connect_nonblocking(addr) {
                    Ok(s) => s,
                    Err(e) => return done(false, format!("connect {addr}: {}", e.desc())),
                };
                let http = http.then(|| Http {
                    request: format!(
                        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: podinit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes(),
                    sent: 0,
                    response: Vec::new(),
                });
                Wait::Socket { sock, http }
            }
        };
        self.running.push(Attempt { unit, kind, wait, deadline: now + timeout, timeout });
        None
    }

    /// The earliest deadline of an attempt in flight.
    pub fn deadline(&self) -> Option<Instant> {
        self.running.iter().map(|a| a.deadline).min()
    }

    /// Adds the fds of socket attempts in flight.
    pub fn fds(&self, out: &mut Vec<libc::pollfd>) {
        for a in &self.running {
            if let Wait::Socket { sock, http } = &a.wait {
                let events = match http {
                    Some(h) if h.sent == h.request.len() => libc::POLLIN,
                    _ => libc::POLLOUT,
                };
                out.push(libc::pollfd { fd: sock.as_raw_fd(), events, revents: 0 });
            }
        }
    }

    /// A socket is ready: the outcome when its attempt is done. None also when
    /// `fd` is not one of ours.
    pub fn ready(&mut self, fd: RawFd) -> Option<Outcome> {
        let i =
            self.running.iter().position(|a| matches!(&a.wait, Wait::Socket { sock, .. } if sock.as_raw_fd() == fd))?;
        let Wait::Socket { sock, http } = &mut self.running[i].wait else { return None };
        let result = match http {
            None => socket_error(sock).map_err(|e| format!("connect: {}", e.desc())),
            Some(h) => match step_http(sock, h) {
                Ok(None) => return None,
                Ok(Some(code)) if (200..400).contains(&code) => Ok(()),
                Ok(Some(code)) => Err(format!("HTTP status {code}")),
                Err(e) => Err(e),
            },
        };
        let a = self.running.swap_remove(i);
        Some(Outcome { unit: a.unit, kind: a.kind, ok: result.is_ok(), why: result.err().unwrap_or_default() })
    }

    /// A child exited. `Some(Some(outcome))`: it was an exec attempt;
    /// `Some(None)`: a killed attempt, nothing to report; `None`: not ours.
    pub fn exited(&mut self, pid: i32, status: ExitStatus) -> Option<Option<Outcome>> {
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

    /// Fails every attempt whose time ran out (an exec attempt's process group is killed).
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Outcome>) {
        while let Some(i) = self.running.iter().position(|a| now >= a.deadline) {
            let a = self.running.swap_remove(i);
            self.abandon(&a.wait);
            let why = format!("timed out after {}", crate::pod::machine::fmt_secs(a.timeout));
            out.push(Outcome { unit: a.unit, kind: a.kind, ok: false, why });
        }
    }

    /// Drops every attempt of `unit` (it stopped or restarts).
    pub fn cancel(&mut self, unit: usize) {
        while let Some(i) = self.running.iter().position(|a| a.unit == unit) {
            let a = self.running.swap_remove(i);
            self.abandon(&a.wait);
        }
    }

    fn abandon(&mut self, w: &Wait) {
        if let Wait::Exec { pid } = *w {
            let _ = signals::send(-pid, libc::SIGKILL);
            self.orphans.push(pid);
        }
    }
}

fn err_text(e: Option<std::io::Error>) -> String {
    e.map_or_else(String::new, |e| e.to_string())
}

/// Splits a tcp target "host:port" or an http URL into (address, host header, path).
fn target(s: &str, http: bool) -> Result<(SocketAddr, String, String), String> {
    let (authority, path) = if http {
        let rest = s.strip_prefix("http://").ok_or_else(|| format!("{s}: only http:// URLs are supported"))?;
        match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        }
    } else {
        (s, String::new())
    };
    let with_port = if http && !has_port(authority) { format!("{authority}:80") } else { authority.to_string() };
    // Numeric addresses parse without any lookup; names go through the libc
    // resolver (/etc/hosts, then DNS), which may block briefly.
    let addr = match with_port.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => with_port
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {with_port}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {with_port}: no address"))?,
    };
    Ok((addr, authority.to_string(), path))
}

fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    }
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

/// Advances an HTTP exchange: sends the request, then reads until the status
/// line is complete. Ok(Some(code)) when known, Ok(None) to keep polling.
fn step_http(sock: &OwnedFd, h: &mut Http) -> Result<Option<u16>, String> {
    // Borrow the fd as a stream for read/write without taking ownership.
    // SAFETY: the TcpStream is forgotten below, so the fd is not closed twice.
    let mut stream = std::mem::ManuallyDrop::new(unsafe { TcpStream::from_raw_fd(sock.as_raw_fd()) });
    if h.sent < h.request.len() {
        if h.sent == 0 {
            socket_error(sock).map_err(|e| format!("connect: {}", e.desc()))?;
        }
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

    #[test]
    fn targets() {
        let (a, host, path) = target("http://127.0.0.1:8080/healthz?x=1", true).unwrap();
        assert_eq!(a.port(), 8080);
        assert_eq!(host, "127.0.0.1:8080");
        assert_eq!(path, "/healthz?x=1");
        assert_eq!(target("http://127.0.0.1", true).unwrap().0.port(), 80);
        assert_eq!(target("[::1]:99", false).unwrap().0.port(), 99);
        assert!(target("https://x/", true).is_err());
    }

    /// Runs one attempt of `check` to its outcome (or 2 s).
    fn attempt(check: Check) -> Option<Outcome> {
        let mut c = Checks::default();
        if let Some(o) =
            c.start(0, ProbeKind::Readiness, &check, Duration::from_secs(2), &Command::default(), Instant::now())
        {
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
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /health HTTP/1.0\r\n"));
                let _ = s.write_all(reply.as_bytes());
            });
            let o = attempt(Check::Http(url)).unwrap();
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
        let mut c = Checks::default();
        let t0 = Instant::now();
        let check = Check::Http(url);
        assert!(c.start(3, ProbeKind::Liveness, &check, Duration::from_millis(10), &Command::default(), t0).is_none());
        let mut out = Vec::new();
        c.expire(t0 + Duration::from_millis(5), &mut out);
        assert!(out.is_empty());
        c.expire(t0 + Duration::from_millis(10), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].unit, out[0].kind, out[0].ok), (3, ProbeKind::Liveness, false));
        assert!(out[0].why.starts_with("timed out"), "{:?}", out[0]);
        assert_eq!(c.deadline(), None);
    }
}
