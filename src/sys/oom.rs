//! The OOM-kill counter of podinit's own cgroup (cgroup v2 `memory.events`,
//! `oom_kill N`), so that a SIGKILL death can be told apart: when the counter
//! rose since the last look, the kernel's OOM killer sent it (the kubelet and
//! cAdvisor read the same counter to report `OOMKilled`).
//!
//! Entries are not put in cgroups of their own, so the counter is the whole
//! container's; memory.events counts the cgroup and everything below it.

use std::path::{Path, PathBuf};

/// Where the counter lives and its last value.
#[derive(Debug, Clone)]
pub struct OomCounter {
    events: PathBuf,
    last: u64,
}

impl OomCounter {
    /// The counter of podinit's cgroup, read once as the baseline; None when
    /// there is no cgroup v2 memory controller to read (cgroup v1, no
    /// /sys/fs/cgroup): every SIGKILL is then just an Error.
    pub fn open() -> Option<OomCounter> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        OomCounter::at(&events_path(Path::new("/sys/fs/cgroup"), &own)?)
    }

    /// The counter in the `memory.events` file at `events`.
    pub fn at(events: &Path) -> Option<OomCounter> {
        let last = read(events)?;
        Some(OomCounter { events: events.to_path_buf(), last })
    }

    /// Whether the counter rose since the last call (or [`OomCounter::open`]).
    pub fn rose(&mut self) -> bool {
        match read(&self.events) {
            Some(now) if now > self.last => {
                self.last = now;
                true
            }
            _ => false,
        }
    }
}

/// `memory.events` of the cgroup v2 path that `/proc/self/cgroup` (`0::/path`)
/// names, under `root`.
fn events_path(root: &Path, proc_cgroup: &str) -> Option<PathBuf> {
    let rel = proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let rel = rel.trim().trim_start_matches('/');
    // In a cgroup namespace whose root is above podinit's own cgroup, or after
    // a move, the path can be "/.." or gone: then take the namespace's root.
    let dir = if rel.is_empty() || rel.split('/').any(|c| c == "..") { root.to_path_buf() } else { root.join(rel) };
    let events = dir.join("memory.events");
    if events.exists() {
        Some(events)
    } else {
        Some(root.join("memory.events")).filter(|p| p.exists())
    }
}

/// The `oom_kill` value of a memory.events file.
fn read(events: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(events).ok()?;
    parse(&text)
}

fn parse(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_rises_with_memory_events() {
        assert_eq!(parse("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n"), Some(1));
        assert_eq!(parse("low 0\n"), None);
        let tmp = crate::testutil::TempDir::new("oom");
        let cg = tmp.0.join("kubepods/pod1");
        std::fs::create_dir_all(&cg).expect("mkdir");
        std::fs::write(cg.join("memory.events"), "oom 0\noom_kill 0\n").expect("write");
        std::fs::write(tmp.0.join("memory.events"), "oom_kill 9\n").expect("write");
        let path = events_path(&tmp.0, "0::/kubepods/pod1\n").expect("path");
        assert_eq!(path, cg.join("memory.events"));
        assert_eq!(events_path(&tmp.0, "0::/\n"), Some(tmp.0.join("memory.events")));
        assert_eq!(events_path(&tmp.0, "0::/../x\n"), Some(tmp.0.join("memory.events")));
        assert_eq!(events_path(&tmp.0, "1:memory:/x\n"), None, "cgroup v1 only");
        let mut c = OomCounter::at(&path).expect("counter");
        assert!(!c.rose());
        std::fs::write(&path, "oom 1\noom_kill 1\n").expect("write");
        assert!(c.rose());
        assert!(!c.rose(), "a rise is reported once");
    }
}
