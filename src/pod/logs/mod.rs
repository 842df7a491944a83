//! Every entry's output: read from its pipes, passed through to podinit's
//! own stdout/stderr (unchanged, or `[name] `-prefixed and optionally
//! timestamped), kept in a bounded buffer per run (the current and the
//! previous one) for `podinit logs`, streamed to `podinit logs -f` readers,
//! and written to `log_dir` in the kubelet's layout when asked.
//!
//! Lines are cut as containerd cuts them: a line longer than [`MAX_LINE`]
//! becomes records of [`MAX_LINE`] bytes tagged partial (`P`) and a last one
//! tagged full (`F`); a trailing `\r` is dropped from a kept line; output that
//! ends without a newline is a partial record. The pass-through keeps the
//! bytes as written (when not prefixed), so `docker logs` sees what it saw
//! before podinit read the pipes.
//!
//! A pipe is read until EOF, which comes only when every process holding its
//! write end (the entry and anything it forked) is gone: nothing is lost at
//! exit. podinit's side of a pipe never blocks: a `-f` reader that does not
//! keep up is dropped at a bound (see the control server), and the entry
//! only ever waits for the pipe buffer, as it would for any pipe.
//! Hooks and exec probes write to a second pair of pipes of their entry, which
//! podinit keeps open, so their output is in the entry's log too.

pub(crate) mod dir;
pub(crate) mod ring;
pub(crate) mod time;

use crate::pod::unit::{PerUnit, UnitId};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::pod::control::Server;
use crate::pod::protocol::ConnId;
use dir::{LogDir, LogFile};
pub(crate) use ring::{Record, Ring, Stream};

/// Longest line kept as one record (containerd's `max_container_log_line_size` default).
pub(crate) const MAX_LINE: usize = 16 * 1024;
/// Reads per pipe before going back to poll, so one busy entry cannot starve the others.
const READS_PER_WAKE: usize = 16;
/// Bytes asked of one read(2): a whole default pipe buffer.
const READ_SIZE: usize = 65536;

/// How a pod's output is handled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Config {
    /// Bytes kept per run of each entry; 0: none.
    pub buffer: usize,
    /// `log_prefix`: `[name] ` before each passed-through line.
    pub prefix: bool,
    /// `log_timestamps`: an RFC 3339 time before each passed-through line.
    pub timestamps: bool,
    /// `log_dir`: files in the kubelet's layout.
    pub dir: Option<LogDir>,
    /// The pod's name, for `--prefix` (`[pod/NAME/entry]`, kubectl's).
    pub pod: String,
}

impl Config {
    /// What the runtime does with entries' output, from the pod file's log settings.
    pub(crate) fn for_pod(pod: &crate::config::Pod) -> Config {
        let dir = pod.logs.dir.as_ref().map(|d| dir::LogDir {
            root: dir::pod_dir(d, &pod.namespace, &pod.name, &Config::pod_uid(pod)),
            max_size: pod.logs.max_size,
            max_files: pod.logs.max_files.max(1) as usize,
        });
        Config {
            buffer: usize::try_from(pod.logs.buffer).unwrap_or(usize::MAX),
            prefix: pod.log_prefix,
            timestamps: pod.logs.timestamps,
            dir,
            pod: pod.name.clone(),
        }
    }

    /// The pod's uid for the log directory: `$POD_UID` (the downward API's
    /// `metadata.uid`), else one derived from namespace and name, so the files of
    /// the same pod land in the same directory across restarts of podinit.
    pub(crate) fn pod_uid(pod: &crate::config::Pod) -> String {
        if let Some(u) = std::env::var("POD_UID").ok().filter(|u| !u.is_empty() && !u.contains(['/', '\0'])) {
            return u;
        }
        // FNV-1a, twice with different offsets: 128 bits shown as a UUID.
        let fnv = |seed: u64| {
            let mut h = seed;
            for b in pod.namespace.bytes().chain([0]).chain(pod.name.bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            h
        };
        let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// Whether entries get pipes at all (otherwise they write straight to podinit's stdout/stderr).
    pub(crate) fn enabled(&self) -> bool {
        self.buffer > 0 || self.prefix || self.timestamps || self.dir.is_some()
    }
}

use crate::pod::protocol::Query;

/// One entry's logs.
#[derive(Debug)]
struct EntryLog {
    name: String,
    /// `[name] ` for the pass-through.
    tag: Vec<u8>,
    /// Number of the current run (the `<restart>` of its file).
    run: u32,
    started: bool,
    current: Ring,
    previous: Option<Ring>,
    file: Option<LogFile>,
    /// Write ends of the hook/probe pipes (stdout, stderr), podinit's to keep.
    aux: Option<(OwnedFd, OwnedFd)>,
    /// Main pipes of the current run still open.
    live: u8,
}

#[derive(Debug)]
struct Pipe {
    fd: OwnedFd,
    entry: UnitId,
    /// The run it belongs to; None for the hook/probe pipes (always the current run).
    run: Option<u32>,
    stream: Stream,
    partial: Vec<u8>,
}

#[derive(Debug)]
struct Follower {
    conn: ConnId,
    entries: Vec<UnitId>,
    timestamps: bool,
    prefix: bool,
}

/// The output of every entry of a pod.
#[derive(Debug)]
pub(crate) struct Logs {
    cfg: Config,
    entries: PerUnit<EntryLog>,
    pipes: Vec<Pipe>,
    followers: Vec<Follower>,
    /// Pass-through batches for fd 1 and fd 2, written once per read.
    out: [Vec<u8>; 2],
    /// CRI lines for the file, written once per read.
    cri: Vec<u8>,
    file_warned: bool,
    /// Where the pass-through goes: podinit's stdout and stderr (tests: pipes).
    dest: [RawFd; 2],
    /// The last time formatted and its RFC 3339 text: every line of one read
    /// shares its time, so it is formatted once per read, not per line.
    stamp: (i64, Vec<u8>),
    /// The read buffer (allocated at the first read).
    rbuf: Vec<u8>,
    /// A read has filled 4 KiB: read 64 KiB at a time from now on.
    busy: bool,
    /// `-f` connections whose entry started a new run before its old one's
    /// pipes closed: to be ended by the runtime ([`Logs::take_ended`]).
    ended: Vec<ConnId>,
}

/// Which buffer a pipe's output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// The current run's (also hooks and probes).
    Current,
    /// A process of the previous run still writing.
    Previous,
    /// Older: passed through only.
    Nowhere,
}

/// One line or piece of a line, as it goes to the sinks.
#[derive(Clone, Copy)]
struct Line<'a> {
    time: i64,
    stream: Stream,
    /// Cut at MAX_LINE or ended without a newline.
    partial: bool,
    /// The bytes as written, without the newline.
    raw: &'a [u8],
}

impl Logs {
    /// The logs of entries `names` (pod-file order: the machine's unit indices).
    pub(crate) fn new(cfg: Config, names: impl IntoIterator<Item = String>) -> Logs {
        let entries = names
            .into_iter()
            .map(|name| EntryLog {
                tag: format!("[{name}] ").into_bytes(),
                name,
                run: 0,
                started: false,
                current: Ring::new(cfg.buffer),
                previous: None,
                file: None,
                aux: None,
                live: 0,
            })
            .collect();
        Logs {
            cfg,
            entries,
            pipes: Vec::new(),
            followers: Vec::new(),
            out: [Vec::new(), Vec::new()],
            cri: Vec::new(),
            file_warned: false,
            dest: [1, 2],
            stamp: (i64::MIN, Vec::new()),
            rbuf: Vec::new(),
            busy: false,
            ended: Vec::new(),
        }
    }

    /// Sends the pass-through to other fds than 1 and 2 (tests, bench).
    #[cfg(test)]
    pub(crate) fn pass_through_to(&mut self, stdout: RawFd, stderr: RawFd) {
        self.dest = [stdout, stderr];
    }

    /// Whether entries get pipes.
    pub(crate) fn enabled(&self) -> bool {
        self.cfg.enabled()
    }

    /// A new run of `entry` starts: the current buffer becomes the previous
    /// one, its file is opened, and its pipes are made. Returns the write
    /// ends for the child's stdout and stderr (drop them once it is spawned).
    pub(crate) fn start_run(&mut self, entry: UnitId) -> nix::Result<(OwnedFd, OwnedFd)> {
        let cap = self.cfg.buffer;
        let Some(e) = self.entries.get_mut(entry) else { return Err(Errno::EINVAL) };
        if e.started {
            e.run += 1;
            e.previous = Some(std::mem::replace(&mut e.current, Ring::new(cap)));
        }
        e.started = true;
        e.live = 0;
        // A follower of the run that ended stops here (kubectl -f ends with the container).
        let done = end_followers(&mut self.followers, entry, None);
        self.ended.extend(done);
        e.file = None;
        if let Some(d) = &self.cfg.dir {
            match d.open(&e.name, e.run) {
                Ok(f) => e.file = Some(f),
                Err(err) => warn_file(&mut self.file_warned, &e.name, &err),
            }
        }
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let run = Some(e.run);
        e.live = 2;
        self.pipes.push(Pipe { fd: out_r, entry, run, stream: Stream::Stdout, partial: Vec::new() });
        self.pipes.push(Pipe { fd: err_r, entry, run, stream: Stream::Stderr, partial: Vec::new() });
        Ok((out_w, err_w))
    }

    /// The stdout and stderr for `entry`'s hooks and exec probes: pipes
    /// podinit keeps open, made at the first use.
    pub(crate) fn aux(&mut self, entry: UnitId) -> Option<(RawFd, RawFd)> {
        let e = self.entries.get_mut(entry)?;
        if e.aux.is_none() {
            let (out_r, out_w) = pipe().ok()?;
            let (err_r, err_w) = pipe().ok()?;
            self.pipes.push(Pipe { fd: out_r, entry, run: None, stream: Stream::Stdout, partial: Vec::new() });
            self.pipes.push(Pipe { fd: err_r, entry, run: None, stream: Stream::Stderr, partial: Vec::new() });
            e.aux = Some((out_w, err_w));
        }
        e.aux.as_ref().map(|(o, e)| (o.as_raw_fd(), e.as_raw_fd()))
    }

    /// Adds the pipes to poll.
    pub(crate) fn fds(&self, out: &mut Vec<libc::pollfd>) {
        for p in &self.pipes {
            out.push(libc::pollfd { fd: p.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
    }

    /// Reads pipe `fd` if it is one of ours; false if it is not.
    pub(crate) fn ready(&mut self, fd: RawFd, server: Option<&mut Server>) -> bool {
        let Some(i) = self.pipes.iter().position(|p| p.fd.as_raw_fd() == fd) else { return false };
        let mut server = server;
        if !self.pump(i, server.as_deref_mut()) {
            let p = self.pipes.swap_remove(i);
            if let Some(run) = p.run {
                let e = &mut self.entries[p.entry];
                if run == e.run && e.live > 0 {
                    e.live -= 1;
                    if e.live == 0 {
                        for conn in end_followers(&mut self.followers, p.entry, None) {
                            if let Some(s) = server.as_deref_mut() {
                                s.end(conn);
                            }
                        }
                    }
                }
            }
        }
        true
    }

    /// Reads what every pipe holds (podinit is about to exit).
    pub(crate) fn drain(&mut self, server: Option<&mut Server>) {
        let mut server = server;
        for i in 0..self.pipes.len() {
            self.pump(i, server.as_deref_mut());
        }
    }

    /// Reads pipe `i` until EAGAIN (or a bound) and sends every line on; false at EOF.
    fn pump(&mut self, i: usize, mut server: Option<&mut Server>) -> bool {
        // A heap buffer reused across reads and never zeroed: its pages are
        // touched only as far as the kernel fills them (a pod that prints
        // little keeps its RSS), and the stack stays small.
        let mut buf = std::mem::take(&mut self.rbuf);
        let mut open = true;
        for _ in 0..READS_PER_WAKE {
            buf.clear();
            // 4 KiB until a read fills it: most entries print little.
            buf.reserve_exact(if self.busy { READ_SIZE } else { 4096 });
            // SAFETY: read(2) writes at most `capacity` bytes into the vector's
            // spare capacity, which is valid for writes; set_len covers only
            // the bytes it wrote.
            let n = unsafe { libc::read(self.pipes[i].fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.capacity()) };
            match n {
                0 => {
                    open = false;
                    break;
                }
                n if n > 0 => {
                    // SAFETY: see above; n <= capacity.
                    unsafe { buf.set_len(n as usize) };
                    let t = time::wall_nanos();
                    self.feed(i, t, &buf, server.as_deref_mut());
                    if n as usize == buf.capacity() {
                        self.busy = true;
                    }
                    if (n as usize) < buf.capacity() {
                        // A short read: the pipe is empty now; skip the EAGAIN round trip.
                        break;
                    }
                }
                _ => match Errno::last() {
                    Errno::EINTR => {}
                    Errno::EAGAIN => break,
                    _ => {
                        open = false;
                        break;
                    }
                },
            }
        }
        buf.clear();
        self.rbuf = buf;
        if !open {
            let rest = std::mem::take(&mut self.pipes[i].partial);
            if !rest.is_empty() {
                let stream = self.pipes[i].stream;
                self.line(i, Line { time: time::wall_nanos(), stream, partial: true, raw: &rest }, server);
            }
        }
        self.flush(i);
        open
    }

    /// Splits `data` into lines (joined with what pipe `i` held back).
    fn feed(&mut self, i: usize, t: i64, mut data: &[u8], mut server: Option<&mut Server>) {
        let stream = self.pipes[i].stream;
        // The line the last read left unfinished, if this one finishes it.
        if !self.pipes[i].partial.is_empty() {
            if let Some(nl) = data.iter().position(|&b| b == b'\n') {
                let mut whole = std::mem::take(&mut self.pipes[i].partial);
                whole.extend_from_slice(&data[..nl]);
                self.line(i, Line { time: t, stream, partial: false, raw: &whole }, server.as_deref_mut());
                whole.clear();
                self.pipes[i].partial = whole;
                data = &data[nl + 1..];
            }
        }
        // Every whole line of the read at once, when none is too long.
        if let Some(last) = data.iter().rposition(|&b| b == b'\n') {
            let (lines, rest) = (&data[..last], &data[last + 1..]);
            let mut long = false;
            let mut start = 0;
            while let Some(nl) = lines[start..].iter().position(|&b| b == b'\n') {
                long |= nl > MAX_LINE;
                start += nl + 1;
            }
            long |= lines.len() - start > MAX_LINE;
            if long {
                for l in lines.split(|&b| b == b'\n') {
                    self.line(i, Line { time: t, stream, partial: false, raw: l }, server.as_deref_mut());
                }
            } else {
                self.block(i, t, lines, server.as_deref_mut());
            }
            data = rest;
        }
        let mut held = std::mem::take(&mut self.pipes[i].partial);
        held.extend_from_slice(data);
        let mut start = 0;
        while held.len() - start > MAX_LINE {
            let piece = &held[start..start + MAX_LINE];
            self.line(i, Line { time: t, stream, partial: true, raw: piece }, server.as_deref_mut());
            start += MAX_LINE;
        }
        held.drain(..start);
        self.pipes[i].partial = held;
    }

    /// Whole lines of one read (`\n`-separated, none over [`MAX_LINE`], no
    /// final newline): one record in the buffer and one copy for an
    /// unprefixed pass-through; only the files and `-f` readers need them
    /// one by one.
    fn block(&mut self, i: usize, t: i64, lines: &[u8], mut server: Option<&mut Server>) {
        let stream = self.pipes[i].stream;
        let (prefix, timestamps) = (self.cfg.prefix, self.cfg.timestamps);
        let per_line = self.cfg.dir.is_some() || !self.followers.is_empty();
        if (timestamps || per_line) && self.stamp.0 != t {
            self.stamp.1.clear();
            time::push_rfc3339(&mut self.stamp.1, t);
            self.stamp.0 = t;
        }
        let out = &mut self.out[usize::from(stream == Stream::Stderr)];
        if prefix || timestamps {
            let tag = &self.entries[self.pipes[i].entry].tag;
            for l in lines.split(|&b| b == b'\n') {
                if prefix {
                    out.extend_from_slice(tag);
                }
                if timestamps {
                    out.extend_from_slice(&self.stamp.1);
                    out.push(b' ');
                }
                out.extend_from_slice(l);
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(lines);
            out.push(b'\n');
        }
        let keep = self.keep(i);
        if per_line && self.followers.is_empty() {
            // Only the file wants lines one by one.
            if keep == Keep::Current && self.entries[self.pipes[i].entry].file.is_some() {
                for l in lines.split(|&b| b == b'\n') {
                    let text = l.strip_suffix(b"\r").unwrap_or(l);
                    dir::push_cri_stamped(&mut self.cri, &self.stamp.1, stream, false, text);
                }
            }
        } else if per_line {
            for l in lines.split(|&b| b == b'\n') {
                self.sinks(i, Line { time: t, stream, partial: false, raw: l }, false, keep, server.as_deref_mut());
            }
        }
        self.kept(i, keep, t, stream, false, lines);
    }

    /// One line through every sink, cut into pieces of [`MAX_LINE`] when
    /// longer (containerd cuts at more than the limit, not at it).
    fn line(&mut self, i: usize, l: Line<'_>, mut server: Option<&mut Server>) {
        let mut raw = l.raw;
        while raw.len() > MAX_LINE {
            let (piece, rest) = raw.split_at(MAX_LINE);
            self.piece(i, Line { partial: true, raw: piece, ..l }, server.as_deref_mut());
            raw = rest;
        }
        self.piece(i, Line { raw, ..l }, server);
    }

    /// One record through every sink.
    fn piece(&mut self, i: usize, l: Line<'_>, server: Option<&mut Server>) {
        if self.stamp.0 != l.time {
            self.stamp.1.clear();
            time::push_rfc3339(&mut self.stamp.1, l.time);
            self.stamp.0 = l.time;
        }
        let keep = self.keep(i);
        self.sinks(i, Line { ..l }, true, keep, server);
        // What is kept: containerd drops the \r of a \r\n.
        let text = if !l.partial { l.raw.strip_suffix(b"\r").unwrap_or(l.raw) } else { l.raw };
        self.kept(i, keep, l.time, l.stream, l.partial, text);
    }

    /// Which buffer output of pipe `i` goes to.
    fn keep(&self, i: usize) -> Keep {
        let p = &self.pipes[i];
        let e = &self.entries[p.entry];
        match p.run {
            None => Keep::Current,
            Some(r) if r == e.run => Keep::Current,
            Some(r) if r + 1 == e.run => Keep::Previous,
            Some(_) => Keep::Nowhere,
        }
    }

    /// Puts a record in the buffer `keep` names.
    fn kept(&mut self, i: usize, keep: Keep, t: i64, stream: Stream, partial: bool, text: &[u8]) {
        let e = &mut self.entries[self.pipes[i].entry];
        match keep {
            Keep::Current => e.current.push(t, stream, partial, text),
            Keep::Previous => {
                if let Some(prev) = &mut e.previous {
                    prev.push(t, stream, partial, text);
                }
            }
            Keep::Nowhere => {}
        }
    }

    /// One line (or piece) to the pass-through (when `pass`), the file and
    /// the `-f` readers; the time is in `self.stamp`.
    fn sinks(&mut self, i: usize, l: Line<'_>, pass: bool, keep: Keep, server: Option<&mut Server>) {
        let entry = self.pipes[i].entry;
        let e = &self.entries[entry];
        if pass {
            let out = &mut self.out[usize::from(l.stream == Stream::Stderr)];
            if self.cfg.prefix {
                out.extend_from_slice(&e.tag);
            }
            if self.cfg.timestamps {
                out.extend_from_slice(&self.stamp.1);
                out.push(b' ');
            }
            out.extend_from_slice(l.raw);
            if !l.partial || self.cfg.prefix || self.cfg.timestamps {
                out.push(b'\n');
            }
        }
        if keep != Keep::Current {
            return;
        }
        let text = if !l.partial { l.raw.strip_suffix(b"\r").unwrap_or(l.raw) } else { l.raw };
        if e.file.is_some() {
            dir::push_cri_stamped(&mut self.cri, &self.stamp.1, l.stream, l.partial, text);
        }
        if let Some(server) = server.filter(|_| !self.followers.is_empty()) {
            let pod = &self.cfg.pod;
            let mut line = Vec::new();
            self.followers.retain(|f| {
                if !f.entries.contains(&entry) {
                    return true;
                }
                line.clear();
                format_record(&mut line, pod, &e.name, f.timestamps, f.prefix, l.time, l.partial, text);
                server.push(f.conn, &line)
            });
        }
    }

    /// Writes the batches of a read: the pass-through and pipe `i`'s file.
    fn flush(&mut self, i: usize) {
        for (fd, out) in self.dest.iter().zip(self.out.iter_mut()) {
            if !out.is_empty() {
                write_all(*fd, out);
                out.clear();
            }
        }
        if self.cri.is_empty() {
            return;
        }
        let entry = self.pipes.get(i).map(|p| p.entry);
        if let (Some(e), Some(d)) = (entry.and_then(|id| self.entries.get_mut(id)), &self.cfg.dir) {
            if let Some(f) = &mut e.file {
                if let Err(err) = f.write(&self.cri, d) {
                    warn_file(&mut self.file_warned, &e.name, &err);
                    e.file = None;
                }
            }
        }
        self.cri.clear();
    }

    /// Answers a query: the bytes to send now, and whether the connection
    /// then stays open to follow. The error is the reply's message.
    pub(crate) fn query(&mut self, q: &Query, now: i64) -> Result<(Vec<u8>, bool), String> {
        let pod = self.cfg.pod.clone();
        let which: Vec<UnitId> = if q.all {
            self.entries.ids().collect()
        } else {
            let name = q.name.as_deref().unwrap_or("");
            match self.entries.position(|e| e.name == name) {
                Some(i) => vec![i],
                None => {
                    let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
                    return Err(format!(
                        "container {name} is not valid for pod {pod}: the entries are {}",
                        names.join(", ")
                    ));
                }
            }
        };
        if !self.cfg.enabled() {
            return Err("podinit keeps no output of this pod: its entries write straight to podinit's stdout \
                 (log_buffer = 0 and no log_prefix, log_timestamps or log_dir)"
                .into());
        }
        if self.cfg.buffer == 0 && !q.follow {
            return Err(
                "podinit keeps no output of this pod (log_buffer = 0); 'podinit logs -f' shows new output".into()
            );
        }
        let since =
            q.since_ms.map(|ms| now.saturating_sub(i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1_000_000)));
        let mut out = Vec::new();
        for &i in &which {
            let e = &mut self.entries[i];
            let ring = if q.previous {
                match &mut e.previous {
                    Some(r) => r,
                    // --all: entries without a previous run have nothing to show.
                    None if q.all => continue,
                    None => {
                        return Err(format!("previous terminated container \"{}\" in pod \"{pod}\" not found", e.name))
                    }
                }
            } else {
                &mut e.current
            };
            let recs: Vec<Record<'_>> = ring.records().filter(|r| since.is_none_or(|s| r.time >= s)).collect();
            let skip = q.tail.map_or(0, |n| recs.len().saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)));
            for r in &recs[skip..] {
                format_record(&mut out, &pod, &e.name, q.timestamps, q.prefix, r.time, r.partial, r.text);
            }
        }
        let live: Vec<UnitId> = which.into_iter().filter(|&i| self.entries[i].live > 0).collect();
        Ok((out, q.follow && !q.previous && !live.is_empty()))
    }

    /// Streams new output of the entries `q` names to `conn` until they end.
    pub(crate) fn follow(&mut self, conn: ConnId, q: &Query) {
        let entries: Vec<UnitId> = self
            .entries
            .enumerate()
            .filter(|(_, e)| e.live > 0 && (q.all || q.name.as_deref() == Some(e.name.as_str())))
            .map(|(i, _)| i)
            .collect();
        self.followers.push(Follower { conn, entries, timestamps: q.timestamps, prefix: q.prefix });
    }

    /// The `-f` connections to end (see `ended`).
    pub(crate) fn take_ended(&mut self) -> Vec<ConnId> {
        std::mem::take(&mut self.ended)
    }

    /// Forgets followers whose connection is gone.
    pub(crate) fn prune(&mut self, open: impl Fn(ConnId) -> bool) {
        self.followers.retain(|f| open(f.conn));
    }
}

/// Removes `entry` from every follower; returns the connections left with nothing to follow.
fn end_followers(followers: &mut Vec<Follower>, entry: UnitId, _why: Option<&str>) -> Vec<ConnId> {
    let mut done = Vec::new();
    followers.retain_mut(|f| {
        f.entries.retain(|&e| e != entry);
        if f.entries.is_empty() {
            done.push(f.conn);
            false
        } else {
            true
        }
    });
    done
}

/// One record as `podinit logs` prints it: `[pod/POD/ENTRY] `, the time, the
/// text, and a newline unless it is a piece of a longer line (the kubelet's
/// reader joins `P` records the same way).
#[allow(clippy::too_many_arguments)]
pub(crate) fn format_record(
    out: &mut Vec<u8>,
    pod: &str,
    entry: &str,
    timestamps: bool,
    prefix: bool,
    t: i64,
    partial: bool,
    text: &[u8],
) {
    if prefix {
        out.extend_from_slice(format!("[pod/{pod}/{entry}] ").as_bytes());
    }
    if timestamps {
        time::push_rfc3339(out, t);
        out.push(b' ');
    }
    out.extend_from_slice(text);
    if !partial {
        out.push(b'\n');
    }
}

fn warn_file(warned: &mut bool, entry: &str, err: &std::io::Error) {
    if !*warned {
        *warned = true;
        log::warn!("{entry}: log file not written: {err}; output still goes to the buffer and stdout");
    }
}

/// A pipe whose read end (podinit's) does not block and whose write end (the
/// child's) does: a program writing to a non-blocking stdout gets EAGAIN,
/// which few programs handle. O_NONBLOCK is per open file, so it is set on
/// the read end only.
fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    nix::fcntl::fcntl(rd.as_raw_fd(), nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((rd, wr))
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
mod tests;
