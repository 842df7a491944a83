//! The OOM-kill counter of podinit's own cgroup (cgroup v2 `memory.events`,
//! `oom_kill N`; on a cgroup v1 host the memory controller's
//! `memory.oom_control`, which has the same line), so that a SIGKILL death can
//! be told apart: when the counter rose since the last look, the kernel's OOM
//! killer sent it (the kubelet and cAdvisor read the same counter to report
//! `OOMKilled`).
//!
//! Entries are not put in cgroups of their own, so the counter is the whole
//! container's; memory.events counts the cgroup and everything below it.

use std::path::{Path, PathBuf};

/// Where the counter lives and its last value.
#[derive(Debug, Clone)]
pub(crate) struct OomCounter {
    events: PathBuf,
    last: u64,
}

impl OomCounter {
    /// The counter of podinit's cgroup, read once as the baseline; None when
    /// there is no cgroup v2 memory controller to read (cgroup v1, no
    /// /sys/fs/cgroup): every SIGKILL is then just an Error.
    pub(crate) fn open() -> Option<OomCounter> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        OomCounter::at(&events_path(Path::new("/sys/fs/cgroup"), &own)?)
    }

    /// The counter in the `memory.events` file at `events`.
    pub(crate) fn at(events: &Path) -> Option<OomCounter> {
        let last = read(events)?;
        Some(OomCounter { events: events.to_path_buf(), last })
    }

    /// Whether the counter rose since the last call (or [`OomCounter::open`]).
    pub(crate) fn rose(&mut self) -> bool {
        match read(&self.events) {
            Some(now) if now > self.last => {
                self.last = now;
                true
            }
            _ => false,
        }
    }
}

/// The file holding the counter for the cgroup `/proc/self/cgroup` names,
/// under `root` (/sys/fs/cgroup): cgroup v2's `memory.events` (`0::/path`),
/// else the v1 memory controller's `memory.oom_control` (`N:memory:/path`).
fn events_path(root: &Path, proc_cgroup: &str) -> Option<PathBuf> {
    // In a cgroup namespace whose root is above podinit's own cgroup, or after
    // a move, the path can be "/.." or gone: then take the hierarchy's root.
    let under = |base: PathBuf, rel: &str, file: &str| {
        let rel = rel.trim().trim_start_matches('/');
        let dir = if rel.is_empty() || rel.split('/').any(|c| c == "..") { base.clone() } else { base.join(rel) };
        [dir.join(file), base.join(file)].into_iter().find(|p| p.exists())
    };
    let v2 = proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"));
    if let Some(found) = v2.and_then(|rel| under(root.to_path_buf(), rel, "memory.events")) {
        return Some(found);
    }
    let v1 = proc_cgroup.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, controllers, rel) = (f.next()?, f.next()?, f.next()?);
        controllers.split(',').any(|c| c == "memory").then_some(rel)
    })?;
    under(root.join("memory"), v1, "memory.oom_control")
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
        assert_eq!(events_path(&tmp.0, "1:memory:/x\n"), None, "no v1 memory hierarchy here");
        // A cgroup v1 host (no v2 memory.events): the memory controller's memory.oom_control.
        std::fs::remove_file(tmp.0.join("memory.events")).expect("rm");
        let v1 = tmp.0.join("memory/docker/abc");
        std::fs::create_dir_all(&v1).expect("mkdir");
        std::fs::write(v1.join("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").expect("write");
        let found = events_path(&tmp.0, "4:memory:/docker/abc\n0::/\n").expect("v1 path");
        assert_eq!(found, v1.join("memory.oom_control"));
        assert_eq!(read(&found), Some(2));
        let mut c = OomCounter::at(&path).expect("counter");
        assert!(!c.rose());
        std::fs::write(&path, "oom 1\noom_kill 1\n").expect("write");
        assert!(c.rose());
        assert!(!c.rose(), "a rise is reported once");
    }
}
