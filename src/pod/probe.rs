//! Probes (startup, readiness, liveness) and the built-in waiters of init steps.
//!
//! A probe never blocks the event loop: an exec probe is a child process with a
//! deadline, tcp/http/unix probes are non-blocking sockets the loop polls, a
//! file probe is one stat(2). Each probe is a small state machine:
//! `Idle { next }` → `InFlight { attempt, deadline }` → verdict → `Idle`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6};

use crate::config::{Probe, ProbeAction, WaitFor, WaitTarget};
use crate::sys::reaper::ExitStatus;
use crate::sys::signals;
use crate::sys::spawn::{self, Command};

/// What a probe checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Command exits 0.
    Exec(Vec<String>),
    /// TCP connect succeeds ("host:port").
    Tcp(String),
    /// HTTP GET answers 200-399 ("http://host[:port]/path").
    Http(String),
    /// The path exists.
    File(PathBuf),
    /// A Unix stream socket accepts a connection.
    Unix(PathBuf),
}

/// Timing and thresholds (Kubernetes names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Before the first attempt.
    pub initial_delay: Duration,
    /// Between attempts.
    pub period: Duration,
    /// Limit of one attempt.
    pub timeout: Duration,
    /// Consecutive successes to pass.
    pub success_threshold: u32,
    /// Consecutive failures to fail.
    pub failure_threshold: u32,
}

/// A probe's verdict after its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet.
    Unknown,
    /// Passed (success_threshold consecutive successes).
    Passing,
    /// Failed (failure_threshold consecutive failures).
    Failing,
}

/// One attempt in progress.
#[derive(Debug)]
enum Attempt {
    /// An exec probe's child.
    Exec { pid: i32 },
    /// A socket waiting to connect (tcp/unix), or an HTTP exchange.
    Socket { sock: OwnedFd, http: Option<Http> },
}

/// HTTP exchange over a connected socket.
#[derive(Debug)]
struct Http {
    request: Vec<u8>,
    sent: usize,
    response: Vec<u8>,
}

#[derive(Debug)]
enum Phase {
    Idle { next: Instant },
    InFlight { attempt: Attempt, deadline: Instant },
}

/// A running probe.
#[derive(Debug)]
pub struct Prober {
    /// "readiness", "liveness", "startup" or "wait" — for log lines.
    pub kind: &'static str,
    check: Check,
    timing: Timing,
    phase: Phase,
    successes: u32,
    failures: u32,
    verdict: Verdict,
    /// exec probes that timed out and were killed; their exit is still to be reaped.
    orphans: Vec<i32>,
}

impl Prober {
    /// A probe from the pod file; the first attempt comes after `initial_delay`.
    pub fn from_probe(kind: &'static str, p: &Probe, now: Instant) -> Prober {
        let check = match &p.action {
            ProbeAction::Exec(c) => Check::Exec(c.clone()),
            ProbeAction::Tcp(a) => Check::Tcp(a.clone()),
            ProbeAction::Http(u) => Check::Http(u.clone()),
        };
        let timing = Timing {
            initial_delay: p.initial_delay,
            period: p.period,
            timeout: p.timeout,
            success_threshold: p.success_threshold,
            failure_threshold: p.failure_threshold,
        };
        Prober::new(kind, check, timing, now)
    }

    /// A `wait_for` waiter: retried every `period` until it succeeds once.
    pub fn from_wait(w: &WaitFor, now: Instant) -> Prober {
        let check = match &w.target {
            WaitTarget::Tcp(a) => Check::Tcp(a.clone()),
            WaitTarget::Http(u) => Check::Http(u.clone()),
            WaitTarget::File(p) => Check::File(p.clone()),
            WaitTarget::Unix(p) => Check::Unix(p.clone()),
        };
        let timing = Timing {
            initial_delay: Duration::ZERO,
            period: w.period,
            timeout: w.period.clamp(Duration::from_millis(100), Duration::from_secs(5)),
            success_threshold: 1,
            failure_threshold: u32::MAX,
        };
        Prober::new("wait", check, timing, now)
    }

    /// A probe of `check` with `timing`.
    pub fn new(kind: &'static str, check: Check, timing: Timing, now: Instant) -> Prober {
        Prober {
            kind,
            check,
            phase: Phase::Idle { next: now + timing.initial_delay },
            timing,
            successes: 0,
            failures: 0,
            verdict: Verdict::Unknown,
            orphans: Vec::new(),
        }
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// When `tick` must run next.
    pub fn deadline(&self) -> Instant {
        match &self.phase {
            Phase::Idle { next } => *next,
            Phase::InFlight { deadline, .. } => *deadline,
        }
    }

    /// Adds the fd of an in-flight socket attempt.
    pub fn fds(&self, out: &mut Vec<libc::pollfd>) {
        if let Phase::InFlight { attempt: Attempt::Socket { sock, http }, .. } = &self.phase {
            let events = match http {
                Some(h) if h.sent == h.request.len() => libc::POLLIN,
                _ => libc::POLLOUT,
            };
            out.push(libc::pollfd { fd: sock.as_raw_fd(), events, revents: 0 });
        }
    }

    /// Starts an attempt when due and fails one that ran out of time. `base` is
    /// the entry's command (environment, cwd, user) an exec probe runs with.
    /// Returns the new verdict when it changed.
    pub fn tick(&mut self, now: Instant, base: &Command, who: &str) -> Option<Verdict> {
        match &self.phase {
            Phase::Idle { next } if now >= *next => self.start(now, base, who),
            Phase::InFlight { deadline, .. } if now >= *deadline => {
                if let Phase::InFlight { attempt: Attempt::Exec { pid }, .. } = self.phase {
                    let _ = signals::send(-pid, libc::SIGKILL);
                    self.orphans.push(pid);
                }
                let t = self.timing.timeout;
                self.record(false, &format!("timed out after {}", crate::pod::supervisor::fmt_secs(t)), now, who)
            }
            _ => None,
        }
    }

    fn start(&mut self, now: Instant, base: &Command, who: &str) -> Option<Verdict> {
        let deadline = now + self.timing.timeout;
        let attempt = match &self.check {
            Check::Exec(argv) => {
                let cmd = base.sibling(argv);
                match spawn::spawn(&cmd) {
                    Ok(pid) => Attempt::Exec { pid },
                    Err(e) => return self.record(false, &e.to_string(), now, who),
                }
            }
            Check::File(p) => {
                let ok = p.exists();
                return self.record(ok, &format!("{} does not exist", p.display()), now, who);
            }
            Check::Unix(p) => {
                // connect(2) on a Unix stream socket does not block: it succeeds
                // (queued in the backlog) or fails at once.
                let r = UnixStream::connect(p);
                return self.record(r.is_ok(), &format!("{}: {}", p.display(), err_text(r.err())), now, who);
            }
            Check::Tcp(a) | Check::Http(a) => {
                let http = matches!(self.check, Check::Http(_));
                let (addr, host, path) = match target(a, http) {
                    Ok(t) => t,
                    Err(e) => return self.record(false, &e, now, who),
                };
                let sock = match connect_nonblocking(addr) {
                    Ok(s) => s,
                    Err(e) => return self.record(false, &format!("connect {addr}: {}", e.desc()), now, who),
                };
                let http = http.then(|| Http {
                    request: format!(
                        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: podinit-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
                    )
                    .into_bytes(),
                    sent: 0,
                    response: Vec::new(),
                });
                Attempt::Socket { sock, http }
            }
        };
        self.phase = Phase::InFlight { attempt, deadline };
        None
    }

    /// A socket of this probe is ready. Returns the new verdict when it changed.
    pub fn ready(&mut self, fd: RawFd, now: Instant, who: &str) -> Option<Verdict> {
        let Phase::InFlight { attempt: Attempt::Socket { sock, http }, .. } = &mut self.phase else { return None };
        if sock.as_raw_fd() != fd {
            return None;
        }
        let result = match http {
            None => socket_error(sock).map_err(|e| format!("connect: {}", e.desc())),
            Some(h) => match step_http(sock, h) {
                Ok(None) => return None,
                Ok(Some(code)) if (200..400).contains(&code) => Ok(()),
                Ok(Some(code)) => Err(format!("HTTP status {code}")),
                Err(e) => Err(e),
            },
        };
        let (ok, why) = match result {
            Ok(()) => (true, String::new()),
            Err(e) => (false, e),
        };
        self.record(ok, &why, now, who)
    }

    /// True when `pid` belongs to this probe (a running or killed exec attempt).
    pub fn owns(&self, pid: i32) -> bool {
        matches!(self.phase, Phase::InFlight { attempt: Attempt::Exec { pid: p }, .. } if p == pid)
            || self.orphans.contains(&pid)
    }

    /// An exec attempt's child exited.
    pub fn exited(&mut self, pid: i32, status: ExitStatus, now: Instant, who: &str) -> Option<Verdict> {
        if let Some(i) = self.orphans.iter().position(|&p| p == pid) {
            self.orphans.swap_remove(i);
            return None;
        }
        self.record(status.success(), &format!("command {status}"), now, who)
    }

    /// Kills an exec attempt in flight (the entry is going away).
    pub fn cancel(&mut self) {
        if let Phase::InFlight { attempt: Attempt::Exec { pid }, .. } = self.phase {
            let _ = signals::send(-pid, libc::SIGKILL);
            self.orphans.push(pid);
        }
        self.phase = Phase::Idle { next: Instant::now() + self.timing.period };
    }

    /// Records one attempt's result and schedules the next one.
    fn record(&mut self, ok: bool, why: &str, now: Instant, who: &str) -> Option<Verdict> {
        self.phase = Phase::Idle { next: now + self.timing.period };
        let before = self.verdict;
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.successes >= self.timing.success_threshold {
                self.verdict = Verdict::Passing;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.kind == "wait" {
                log::debug!("{who}: waiting: {why}");
            } else if self.failures > self.timing.failure_threshold {
                log::info!("{who}: {} probe failed ({} in a row): {why}", self.kind, self.failures);
            } else {
                log::info!(
                    "{who}: {} probe failed ({}/{}): {why}",
                    self.kind,
                    self.failures,
                    self.timing.failure_threshold
                );
            }
            if self.failures >= self.timing.failure_threshold {
                self.verdict = Verdict::Failing;
            }
        }
        (self.verdict != before).then_some(self.verdict)
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

    fn timing() -> Timing {
        Timing {
            initial_delay: Duration::ZERO,
            period: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
            success_threshold: 1,
            failure_threshold: 2,
        }
    }

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

    /// Drives `p` until its verdict changes (or 2 s pass).
    fn drive(p: &mut Prober) -> Option<Verdict> {
        let base = Command::default();
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if let Some(v) = p.tick(Instant::now(), &base, "t") {
                return Some(v);
            }
            let mut fds = Vec::new();
            p.fds(&mut fds);
            if let Some(fd) = fds.first_mut() {
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(fd, 1, 50) };
                if fd.revents != 0 {
                    if let Some(v) = p.ready(fd.fd, Instant::now(), "t") {
                        return Some(v);
                    }
                }
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        None
    }

    #[test]
    fn tcp_passes_against_a_listener_and_fails_without() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let mut p = Prober::new("readiness", Check::Tcp(addr.clone()), timing(), Instant::now());
        assert_eq!(drive(&mut p), Some(Verdict::Passing));
        drop(l);
        let mut p = Prober::new("readiness", Check::Tcp(addr), timing(), Instant::now());
        assert_eq!(drive(&mut p), Some(Verdict::Failing));
    }

    #[test]
    fn http_reads_the_status_code() {
        for (reply, want) in
            [("HTTP/1.1 204 No Content\r\n\r\n", Verdict::Passing), ("HTTP/1.1 500 Oops\r\n\r\n", Verdict::Failing)]
        {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/health", l.local_addr().unwrap());
            let server = std::thread::spawn(move || {
                for _ in 0..2 {
                    let Ok((mut s, _)) = l.accept() else { return };
                    let mut buf = [0u8; 1024];
                    let n = s.read(&mut buf).unwrap_or(0);
                    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /health HTTP/1.0\r\n"));
                    let _ = s.write_all(reply.as_bytes());
                    if want == Verdict::Passing {
                        return;
                    }
                }
            });
            let mut p = Prober::new("readiness", Check::Http(url), timing(), Instant::now());
            assert_eq!(drive(&mut p), Some(want));
            server.join().unwrap();
        }
    }

    #[test]
    fn file_and_unix_waiters() {
        let dir = std::env::temp_dir().join(format!("podinit-probe-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("flag");
        let mut p = Prober::new("wait", Check::File(f.clone()), timing(), Instant::now());
        assert_eq!(p.tick(Instant::now(), &Command::default(), "t"), None);
        std::fs::write(&f, b"x").unwrap();
        assert_eq!(drive(&mut p), Some(Verdict::Passing));
        let sock = dir.join("s.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let mut p = Prober::new("wait", Check::Unix(sock), timing(), Instant::now());
        assert_eq!(drive(&mut p), Some(Verdict::Passing));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
