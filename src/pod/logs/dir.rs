//! `log_dir`: each entry's output in the kubelet's layout and the CRI log
//! format, so what reads `/var/log/pods` (a log shipper, `grep`, `tail -f`)
//! reads a podinit pod too:
//!
//! ```text
//! <log_dir>/<namespace>_<pod>_<uid>/<entry>/<restart>.log
//! 2026-12-06T13:42:06.123456789Z stdout F a whole line
//! 2026-12-06T13:42:06.123456789Z stderr P the first 16 KiB of a longer line
//! ```
//!
//! Rotation as the kubelet's container log manager does it: when the file
//! would pass `max_size`, `N.log` is renamed `N.log.<YYYYMMDD-hhmmss>` and a
//! new `N.log` is opened; at most `max_files` files per run are kept
//! (current included), the oldest rotated ones removed first. The kubelet
//! gzips rotated files but the newest; podinit does not (no compressor in
//! the binary). Only the current and the previous run's files are kept, as
//! the kubelet keeps a dead container's logs until the next one replaces it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::ring::Stream;
use super::time;

/// Where a pod's files go, and their limits.
#[derive(Debug, Clone)]
pub(crate) struct LogDir {
    /// `<log_dir>/<namespace>_<pod>_<uid>`.
    pub root: PathBuf,
    /// Rotate a file before it grows past this.
    pub max_size: u64,
    /// Files kept per run, current included (at least 1).
    pub max_files: usize,
}

/// The pod's directory name: `<namespace>_<pod>_<uid>`, the kubelet's.
/// A `/` in a name (the pod file does not forbid one) becomes `_`, so the
/// directory is always one level below `log_dir`.
pub(crate) fn pod_dir(log_dir: &Path, namespace: &str, pod: &str, uid: &str) -> PathBuf {
    log_dir.join(format!("{namespace}_{pod}_{uid}").replace(['/', '\0'], "_"))
}

/// The path of `entry`'s run `restart`.
pub(crate) fn run_path(root: &Path, entry: &str, restart: u32) -> PathBuf {
    root.join(entry).join(format!("{restart}.log"))
}

/// The open file of one run.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
}

impl LogDir {
    /// Opens (appending) the file of `entry`'s run `restart`, creating the
    /// directories, and removes run `restart - 2`'s files: two runs are kept.
    pub(crate) fn open(&self, entry: &str, restart: u32) -> io::Result<LogFile> {
        let dir = self.root.join(entry);
        // log_dir, the pod's and the entry's directories, one level each (log_dir's parent must exist).
        let top = self.root.parent().unwrap_or(&self.root);
        for d in [top, &self.root, &dir] {
            match std::fs::DirBuilder::new().mode(0o755).create(d) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        if let Some(old) = restart.checked_sub(2) {
            remove_run(&dir, old);
        }
        let path = run_path(&self.root, entry, restart);
        let file = open_append(&path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile { path, file, size })
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    // O_NOFOLLOW: a symlink planted at the log path must not redirect podinit's writes.
    OpenOptions::new().create(true).append(true).mode(0o640).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// Removes `N.log` and its rotated files.
fn remove_run(dir: &Path, restart: u32) {
    let name = format!("{restart}.log");
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let f = e.file_name();
        let Some(f) = f.to_str() else { continue };
        if f == name || f.strip_prefix(&name).is_some_and(|rest| rest.starts_with('.')) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Rotated files of `path` (`<path>.<stamp>`), oldest first.
pub(crate) fn rotated(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let prefix = format!("{name}.");
    // Names, not paths: sorting strings is all it takes (the stamps sort by time).
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|f| f.starts_with(&prefix)).collect()
        })
        .unwrap_or_default();
    names.sort_unstable();
    names.into_iter().map(|n| dir.join(n)).collect()
}

impl LogFile {
    /// Appends `data` (whole CRI lines), rotating first when the file would
    /// pass `max_size`. Errors are returned for the caller to report once.
    pub(crate) fn write(&mut self, mut data: &[u8], dir: &LogDir) -> io::Result<()> {
        while !data.is_empty() {
            let room = usize::try_from(dir.max_size.saturating_sub(self.size)).unwrap_or(usize::MAX);
            // Whole lines only: as many as fit, else (an empty file) the first one whole.
            let cut = if data.len() <= room {
                data.len()
            } else {
                match data[..room].iter().rposition(|&b| b == b'\n') {
                    Some(nl) => nl + 1,
                    None if self.size == 0 => data.iter().position(|&b| b == b'\n').map_or(data.len(), |nl| nl + 1),
                    None => 0,
                }
            };
            if cut > 0 {
                self.file.write_all(&data[..cut])?;
                self.size += cut as u64;
                data = &data[cut..];
            }
            if !data.is_empty() {
                self.rotate(dir)?;
            }
        }
        Ok(())
    }

    fn rotate(&mut self, dir: &LogDir) -> io::Result<()> {
        // Keep max_files - 2 old rotated files, then this one becomes the newest rotated one.
        let mut old = rotated(&self.path);
        let keep = dir.max_files.saturating_sub(2);
        while old.len() > keep {
            let _ = std::fs::remove_file(old.remove(0));
        }
        if dir.max_files <= 1 {
            // Nothing rotated is kept: start the file over.
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let stamp = time::rfc3339(time::wall_nanos());
        // 2026-12-06T13:42:06.123456789Z -> 20261206-134206, the kubelet's layout.
        let b = stamp.as_bytes();
        let digits = |r: std::ops::Range<usize>| String::from_utf8_lossy(&b[r]).replace(['-', ':'], "");
        let base = format!("{}-{}", digits(0..10), digits(11..19));
        let mut target = PathBuf::from(format!("{}.{base}", self.path.display()));
        let mut n = 1;
        while target.exists() {
            target = PathBuf::from(format!("{}.{base}-{n}", self.path.display()));
            n += 1;
        }
        std::fs::rename(&self.path, &target)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// One record read back from a file: time, stream, partial, text.
pub(crate) type FileRecord = (i64, Stream, bool, Vec<u8>);

/// The records of `entry`'s current run (the highest `<restart>.log`), or of
/// the run before it, from its rotated files oldest first, then the live
/// file. Ok(None) when there is no such run; lines that are not CRI lines are
/// skipped, as the kubelet skips them.
pub(crate) fn read_run(root: &Path, entry: &str, previous: bool) -> io::Result<Option<(u32, Vec<FileRecord>)>> {
    let dir = root.join(entry);
    let mut runs: Vec<u32> = std::fs::read_dir(&dir)?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    runs.sort_unstable();
    let Some(&last) = runs.last() else { return Ok(None) };
    let run = if previous {
        match last.checked_sub(1).filter(|r| runs.contains(r)) {
            Some(r) => r,
            None => return Ok(None),
        }
    } else {
        last
    };
    let path = run_path(root, entry, run);
    let mut files = rotated(&path);
    files.push(path);
    let mut out = Vec::new();
    for f in files {
        let Ok(data) = std::fs::read(&f) else { continue };
        for line in data.split(|&b| b == b'\n') {
            if let Some(l) = parse_cri(line) {
                out.push((l.time, l.stream, l.partial, l.text.to_vec()));
            }
        }
    }
    Ok(Some((run, out)))
}

/// Appends one CRI line: `<time> <stream> <P|F> <text>\n`.
#[cfg(test)]
fn push_cri(out: &mut Vec<u8>, t: i64, stream: Stream, partial: bool, text: &[u8]) {
    let mut stamp = Vec::with_capacity(30);
    time::push_rfc3339(&mut stamp, t);
    push_cri_stamped(out, &stamp, stream, partial, text);
}

/// [`push_cri`] with the time already formatted.
pub(crate) fn push_cri_stamped(out: &mut Vec<u8>, stamp: &[u8], stream: Stream, partial: bool, text: &[u8]) {
    out.extend_from_slice(stamp);
    out.push(b' ');
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(if partial { b" P " } else { b" F " });
    out.extend_from_slice(text);
    out.push(b'\n');
}

/// One parsed CRI line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CriLine<'a> {
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// stdout or stderr.
    pub stream: Stream,
    /// Tag P.
    pub partial: bool,
    /// The content.
    pub text: &'a [u8],
}

/// Parses one CRI line (without its newline), as the kubelet's `parseCRILog`
/// does: timestamp, stream, tags (only the first is read), content.
pub(crate) fn parse_cri(line: &[u8]) -> Option<CriLine<'_>> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let time = time::parse_rfc3339(parts.next()?)?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let tags = parts.next()?;
    let partial = tags.split(|&b| b == b':').next() == Some(b"P");
    Some(CriLine { time, stream, partial, text: parts.next().unwrap_or(b"") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_lines_round_trip() {
        let mut v = Vec::new();
        push_cri(&mut v, 1_796_564_526_123_456_789, Stream::Stderr, true, b"a b");
        assert_eq!(v, b"2026-12-06T13:42:06.123456789Z stderr P a b\n");
        let l = parse_cri(&v[..v.len() - 1]).unwrap();
        assert_eq!(
            (l.time, l.stream, l.partial, l.text),
            (1_796_564_526_123_456_789, Stream::Stderr, true, &b"a b"[..])
        );
        assert_eq!(parse_cri(b"2026-12-06T13:42:06Z stdout F").unwrap().text, b"");
        assert!(parse_cri(b"2026-12-06T13:42:06Z stdin F x").is_none());
        assert!(parse_cri(b"garbage").is_none());
    }

    #[test]
    fn rotates_at_the_size_and_keeps_max_files() {
        let tmp = crate::testutil::TempDir::new("logdir");
        let dir = LogDir { root: tmp.0.join("ns_pod_uid"), max_size: 100, max_files: 3 };
        let mut f = dir.open("web", 0).unwrap();
        let line = [b'x'; 39];
        for _ in 0..20 {
            let mut l = line.to_vec();
            l.push(b'\n');
            f.write(&l, &dir).unwrap();
        }
        let path = run_path(&dir.root, "web", 0);
        let rot = rotated(&path);
        assert_eq!(rot.len(), 2, "{rot:?}");
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        for r in rot {
            assert_eq!(std::fs::metadata(&r).unwrap().len(), 80);
        }
        // Run 2 removes run 0's files.
        let _ = dir.open("web", 1).unwrap();
        let _ = dir.open("web", 2).unwrap();
        assert!(!path.exists());
        assert!(rotated(&path).is_empty());
        assert!(run_path(&dir.root, "web", 1).exists());
    }
}
