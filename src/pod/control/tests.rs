//! The control socket, both ends, against real sockets.

use super::server::*;
use super::*;
use crate::pod::status::{EntryStatus, PodStatus};
use crate::sys::signals;
use std::io::Read;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

/// A fresh, empty directory unique to this test (short: sun_path is 108 bytes).
fn tmpdir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d =
        std::env::temp_dir().join(format!("pctl-{}-{}-{tag}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
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
            started: Some(true),
            restarts: 2,
            last_exit: Some("137 (liveness)".into()),
            pid: Some(42),
            since: 15,
            ..EntryStatus::default()
        }],
        ..PodStatus::default()
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
        assert!(got.is_empty(), "{bad:?} must not reach the state machine");
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
    let (text, got) = exchange(&mut s, &dir, b"{\"cmd\":\"kill\",\"name\":\"web\",\"signal\":\"SIGNOPE\"}\n".to_vec());
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
    while s.open_connections() < MAX_CONNS && Instant::now() < end {
        assert!(pump(&mut s, 20).is_empty());
    }
    assert_eq!(s.open_connections(), MAX_CONNS);
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
    assert_eq!(refusal(65534, 1000).unwrap(), "permission denied: uid 65534 is neither root nor podinit's uid 1000");
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
            // SAFETY: as above: raw syscalls on integers and preallocated buffers, then _exit.
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
                    assert!(got.is_empty(), "a foreign uid must never reach the state machine");
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
