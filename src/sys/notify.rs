//! sd_notify (systemd's readiness protocol, sd_notify(3)) in both directions:
//! the datagram socket podinit owns for the entries that ask for one
//! ([`NotifySocket`]), and the client podinit itself is of a supervisor that
//! gave it a `NOTIFY_SOCKET` (podman `--sdnotify=container`, Quadlet
//! `Notify=`; [`Client`]).
//!
//! A message is newline-separated `KEY=VALUE` assignments in one datagram.
//! The socket has SO_PASSCRED on, so the kernel attaches the sender's pid to
//! every datagram (SCM_CREDENTIALS): who sent a message is the kernel's word,
//! not the sender's, and podinit can tell an entry's main process from any
//! other process in the container.

use std::ffi::OsStr;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::socket::{
    self, recvmsg, sendto, setsockopt, sockopt, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
    UnixAddr,
};

/// The largest notification podinit reads; systemd reads at most a page too
/// (a longer datagram is truncated and the tail ignored).
const MAX_MESSAGE: usize = 4096;

/// One assignment of a notification, typed. Unknown keys are kept as
/// [`Notify::Other`] and ignored by the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notify {
    /// `READY=1`: start-up is finished.
    Ready,
    /// `STOPPING=1`: the service is shutting down.
    Stopping,
    /// `RELOADING=1`: reloading its configuration.
    Reloading,
    /// `STATUS=…`: a one-line, human-readable status.
    Status(String),
    /// `MAINPID=N`: the service's main process is now N.
    MainPid(i32),
    /// Anything else (`WATCHDOG=1`, `ERRNO=…`, a malformed line).
    Other,
}

/// The assignments of one datagram, in order. Malformed lines become
/// [`Notify::Other`]; nothing here can fail or panic on any input.
pub(crate) fn parse(msg: &[u8]) -> Vec<Notify> {
    let mut out = Vec::new();
    for line in msg.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let n = match text.split_once('=') {
            Some(("READY", "1")) => Notify::Ready,
            Some(("STOPPING", "1")) => Notify::Stopping,
            Some(("RELOADING", "1")) => Notify::Reloading,
            Some(("STATUS", s)) => Notify::Status(s.chars().filter(|c| !c.is_control()).take(200).collect()),
            Some(("MAINPID", p)) => match p.parse::<i32>() {
                Ok(pid) if pid > 0 => Notify::MainPid(pid),
                _ => Notify::Other,
            },
            _ => Notify::Other,
        };
        out.push(n);
    }
    out
}

/// The datagram socket whose path entries with `notify = true` get as
/// `NOTIFY_SOCKET`. Non-blocking: it sits in the event loop's poll set.
pub(crate) struct NotifySocket {
    fd: OwnedFd,
    path: PathBuf,
}

impl NotifySocket {
    /// Binds `path` (a stale socket file there is replaced) with SO_PASSCRED
    /// on and mode 0666, so an entry running as another user can send too
    /// (the sender's pid, not the file mode, decides whom podinit believes).
    pub(crate) fn bind(path: &Path) -> nix::Result<NotifySocket> {
        let fd = socket::socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )?;
        setsockopt(&fd, sockopt::PassCred, &true)?;
        let addr = UnixAddr::new(path)?;
        match std::fs::symlink_metadata(path) {
            Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
                let _ = std::fs::remove_file(path);
            }
            Ok(_) => return Err(Errno::EEXIST),
            Err(_) => {}
        }
        socket::bind(fd.as_raw_fd(), &addr)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666));
        Ok(NotifySocket { fd, path: path.to_path_buf() })
    }

    /// The next datagram: the sender's pid and the message; None when none is
    /// queued (EAGAIN) or on an error (logged by the caller's next poll).
    pub(crate) fn recv(&self, buf: &mut Vec<u8>) -> Option<i32> {
        buf.clear();
        buf.resize(MAX_MESSAGE, 0);
        loop {
            let mut cmsg = nix::cmsg_space!(socket::UnixCredentials);
            let mut iov = [IoSliceMut::new(buf.as_mut_slice())];
            let r = recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC);
            match r {
                Ok(msg) => {
                    let mut pid = 0;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            match c {
                                ControlMessageOwned::ScmCredentials(cred) => pid = cred.pid(),
                                // A sender may pass fds (FDSTORE=1): podinit keeps none.
                                ControlMessageOwned::ScmRights(fds) => {
                                    for fd in fds {
                                        // SAFETY: the kernel just gave podinit this fd; nothing else owns it.
                                        drop(unsafe { OwnedFd::from_raw_fd(fd) });
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    let len = msg.bytes;
                    buf.truncate(len);
                    return Some(pid);
                }
                Err(Errno::EINTR) => continue,
                Err(_) => return None,
            }
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl AsFd for NotifySocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NotifySocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// podinit as an sd_notify client of whoever started it.
pub(crate) struct Client {
    fd: OwnedFd,
    addr: UnixAddr,
}

impl Client {
    /// The client for `NOTIFY_SOCKET`'s value: a path, or `@name` for an
    /// abstract socket. None when it is unset, empty or not a Unix socket
    /// address (systemd also accepts vsock addresses, which podinit does not).
    pub(crate) fn from_env(value: Option<&OsStr>) -> Option<Client> {
        let v = value?.as_bytes();
        let addr = match v.first()? {
            b'/' => UnixAddr::new(Path::new(OsStr::from_bytes(v))).ok()?,
            b'@' => UnixAddr::new_abstract(v.get(1..)?).ok()?,
            _ => return None,
        };
        let fd = socket::socket(
            AddressFamily::Unix,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .ok()?;
        Some(Client { fd, addr })
    }

    /// Sends `msg` (`READY=1`, `STOPPING=1`, …). Never blocks: a full or
    /// missing peer only costs the notification, which is logged.
    pub(crate) fn send(&self, msg: &str) {
        if let Err(e) = sendto(self.fd.as_raw_fd(), msg.as_bytes(), &self.addr, MsgFlags::MSG_NOSIGNAL) {
            log::warn!("NOTIFY_SOCKET: cannot send {msg}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_to_typed_assignments() {
        assert_eq!(parse(b"READY=1"), [Notify::Ready]);
        assert_eq!(
            parse(b"READY=1\nSTATUS=Accepting connections\nMAINPID=42\n\nSTOPPING=1\nWATCHDOG=1\nRELOADING=1"),
            [
                Notify::Ready,
                Notify::Status("Accepting connections".into()),
                Notify::MainPid(42),
                Notify::Stopping,
                Notify::Other,
                Notify::Reloading,
            ]
        );
        // Malformed or hostile: no panic, nothing believed.
        assert_eq!(parse(b"READY=0\nREADY\nMAINPID=-1\nMAINPID=x\nMAINPID=0\n\xff\xfe=1"), vec![Notify::Other; 6]);
        assert_eq!(parse(b"STATUS=a\tb\x1b[31mred"), [Notify::Status("ab[31mred".into())]);
        assert_eq!(parse(b""), []);
    }

    #[test]
    fn a_datagram_arrives_with_the_senders_pid() {
        let tmp = crate::testutil::TempDir::new("notify");
        let path = tmp.0.join("notify.sock");
        let sock = NotifySocket::bind(&path).expect("bind");
        let mut buf = Vec::new();
        assert_eq!(sock.recv(&mut buf), None, "nothing queued: EAGAIN, not a block");
        let client = Client::from_env(Some(path.as_os_str())).expect("client");
        client.send("READY=1\nSTATUS=up");
        assert_eq!(sock.recv(&mut buf), Some(std::process::id() as i32));
        assert_eq!(parse(&buf), [Notify::Ready, Notify::Status("up".into())]);
        // A second bind replaces the stale socket file; a regular file is refused.
        drop(sock);
        assert!(!path.exists(), "the socket file goes with the socket");
        std::fs::write(&path, "x").expect("write");
        assert_eq!(NotifySocket::bind(&path).err(), Some(Errno::EEXIST));
        assert!(Client::from_env(Some(OsStr::new("vsock:2:1"))).is_none());
        assert!(Client::from_env(Some(OsStr::new(""))).is_none());
        assert!(Client::from_env(None).is_none());
    }
}
