//! `log_prefix = true`: an entry's stdout and stderr go through pipes and come
//! out on podinit's own stdout/stderr as `[name] line`.
//!
//! Complete lines only are written, each batch of them with one write(2), so
//! lines of different processes never interleave mid-line, and a process's own
//! lines keep their order. A line longer
//! than [`MAX_LINE`] is flushed in pieces so an endless line cannot grow memory.
//! A pipe is read until EOF, which comes only when every process holding its
//! write end (the entry and anything it forked) is gone: nothing is lost at exit.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Longest line kept in memory before it is written out as is.
pub const MAX_LINE: usize = 16 * 1024;

/// The read end of one entry stream.
#[derive(Debug)]
pub struct LogPipe {
    fd: OwnedFd,
    /// 1 (stdout) or 2 (stderr): where the prefixed lines go.
    dest: RawFd,
    prefix: Vec<u8>,
    partial: Vec<u8>,
}

/// Creates a pipe for one stream of `name`; returns the reader podinit keeps and
/// the writer end the child gets as fd `dest`.
pub fn pipe(name: &str, dest: RawFd) -> nix::Result<(LogPipe, OwnedFd)> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    // The child's end must block: a program writing to a non-blocking stdout gets
    // EAGAIN, which few programs handle. O_NONBLOCK is per open file, so clear it
    // on the write end only.
    nix::fcntl::fcntl(wr.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))?;
    let prefix = format!("[{name}] ").into_bytes();
    Ok((LogPipe { fd: rd, dest, prefix, partial: Vec::new() }, wr))
}

impl LogPipe {
    /// The fd to poll.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads what is available and writes out every complete line. Returns false
    /// at EOF (the pipe is done; any partial line has been flushed).
    pub fn pump(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        let mut out = Vec::new();
        let open = loop {
            match nix::unistd::read(self.fd.as_raw_fd(), &mut buf) {
                Ok(0) => {
                    if !self.partial.is_empty() {
                        let rest = std::mem::take(&mut self.partial);
                        self.line(&mut out, &rest);
                    }
                    break false;
                }
                Ok(n) => self.feed(&mut out, &buf[..n]),
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break true,
                Err(_) => break false,
            }
        };
        write_all(self.dest, &out);
        open
    }

    /// Appends every complete line of `data` to `out`, keeps the rest.
    fn feed(&mut self, out: &mut Vec<u8>, mut data: &[u8]) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            let (line, rest) = data.split_at(i + 1);
            if self.partial.is_empty() {
                self.line(out, &line[..i]);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(&line[..i]);
                self.line(out, &whole);
            }
            data = rest;
        }
        self.partial.extend_from_slice(data);
        while self.partial.len() >= MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            let chunk = std::mem::replace(&mut self.partial, rest);
            self.line(out, &chunk);
        }
    }

    /// Appends `[name] line\n` to `out`, first writing out what `out` holds if
    /// the batch would grow past PIPE_BUF: a write that size to a pipe is
    /// atomic, so even output podinit does not own (hooks) cannot split a line.
    fn line(&self, out: &mut Vec<u8>, line: &[u8]) {
        if !out.is_empty() && out.len() + self.prefix.len() + line.len() + 1 > libc::PIPE_BUF {
            write_all(self.dest, out);
            out.clear();
        }
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(line);
        out.push(b'\n');
    }
}

/// write(2) until done; a full or closed podinit stdout must not wedge or kill
/// podinit (SIGPIPE is blocked, so EPIPE comes back as an error and is dropped).
fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing a valid buffer to a plain fd.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        data = &data[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LogPipe whose output goes to a pipe we read back.
    fn capture(input: &[&[u8]]) -> Vec<u8> {
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        let (mut lp, wr) = pipe("app", out_w.as_raw_fd()).unwrap();
        for chunk in input {
            nix::unistd::write(&wr, chunk).unwrap();
            assert!(lp.pump());
        }
        drop(wr);
        assert!(!lp.pump());
        drop(out_w);
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = nix::unistd::read(out_r.as_raw_fd(), &mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    #[test]
    fn prefixes_lines_and_joins_split_writes() {
        assert_eq!(capture(&[b"one\ntw", b"o\nthree"]), b"[app] one\n[app] two\n[app] three\n");
    }

    #[test]
    fn long_lines_are_cut_at_the_cap() {
        let long = vec![b'x'; MAX_LINE + 10];
        let got = capture(&[&long]);
        let lines: Vec<&[u8]> = got.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 6 + MAX_LINE);
        assert_eq!(lines[1], b"[app] xxxxxxxxxx");
    }
}
