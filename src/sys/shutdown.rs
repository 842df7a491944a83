//! The last part of every stop: signal whatever is left besides the entries.
//!
//! As real PID 1 of its own namespace podinit uses `kill(-1, sig)`, which the
//! kernel delivers to every process in the namespace but the caller (kill(2)).
//! Anywhere else `kill(-1)` would hit the whole host (or the caller's whole
//! namespace), so podinit walks /proc for its own descendants instead.

use std::collections::HashMap;

use crate::sys::signals::{self, SigNum};

/// True when podinit is PID 1 of its PID namespace.
pub(crate) fn is_pid1() -> bool {
    nix::unistd::getpid().as_raw() == 1
}

/// Sends `sig` to every other process podinit is responsible for: the whole
/// namespace when PID 1, else every descendant. Returns how many were signalled
/// (unknown, reported as 1, for kill(-1)); 0 means there was nobody left.
pub(crate) fn signal_rest(sig: SigNum) -> usize {
    if is_pid1() {
        // SAFETY: kill(2) with plain integers.
        let r = unsafe { libc::kill(-1, sig) };
        return usize::from(r == 0);
    }
    // A subreaper without children has no descendants either: orphans are
    // re-parented to it. Skip the /proc walk (hundreds of syscalls on a host).
    if !crate::sys::reaper::has_children() {
        return 0;
    }
    let pids = descendants(nix::unistd::getpid().as_raw());
    for &pid in &pids {
        let _ = signals::send(pid, sig);
    }
    pids.len()
}

/// Every live descendant of `root`, from /proc/*/stat (empty when /proc is missing).
pub(crate) fn descendants(root: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(ent.path().join("stat")) else { continue };
        if let Some((ppid, state)) = parse_stat(&stat) {
            if state != 'Z' {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if let Some(kids) = children.get(&p) {
            out.extend_from_slice(kids);
            todo.extend_from_slice(kids);
        }
    }
    out
}

/// (ppid, state) from a /proc/PID/stat line. The command name may hold spaces and
/// parentheses, so fields are counted from the last ')'.
fn parse_stat(stat: &str) -> Option<(i32, char)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((ppid, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        assert_eq!(parse_stat("42 (sh) S 1 42 42 0"), Some((1, 'S')));
        assert_eq!(parse_stat("7 (a) b) (c) Z 3 7"), Some((3, 'Z')));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn finds_own_child() {
        let mut c = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let found = descendants(std::process::id() as i32).contains(&(c.id() as i32));
        let _ = c.kill();
        let _ = c.wait();
        assert!(found);
    }
}
