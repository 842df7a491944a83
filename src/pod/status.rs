//! The pod's status as data: what status.json holds, what the control socket's
//! `status` reply carries, and what `podinit health` decides from it.
//!
//! Pure (no file, no socket, no clock): the state machine fills the plain
//! [`PodStatus`] / [`EntryStatus`] structs on every state change (`view.rs`);
//! `status_file.rs` writes and reads them as status.json, `protocol.rs` sends
//! them over the control socket, and the CLI prints them (`cli/table.rs`) or
//! acts on [`health`].

use std::fmt;

use crate::config::Kind;
use serde::{Deserialize, Serialize};

/// The whole pod as `podinit status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodStatus {
    /// Pod name (`name` in the pod file).
    pub name: String,
    /// Pod namespace (`namespace` in the pod file).
    pub namespace: String,
    /// kubectl STATUS column, computed by the state machine: `Init:1/3`, `Running`, `NotReady`, `Completed`, `Terminating`, ...
    pub status: String,
    /// The pod Ready condition; drives `podinit health`.
    pub ready: bool,
    /// podinit's own pid.
    pub pid: u32,
    /// When podinit started, unix seconds (pod AGE).
    pub started_at: u64,
    /// When this status was written, unix seconds.
    pub updated_at: u64,
    /// Init steps, sidecars and apps in pod-file order.
    pub entries: Vec<EntryStatus>,
    /// The pod conditions (Initialized, ContainersReady, Ready, PodReadyToStartContainers).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// What happened, aggregated as `kubectl describe` shows it (oldest first seen first).
    #[serde(default)]
    pub events: Vec<EventStatus>,
}

/// One pod condition. In JSON a `[type, status, last_transition]` array: a
/// tuple's serde code is a fraction of a named struct's, and the binary has a
/// size budget (the Kubernetes-shaped form is `status -o json`'s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "(String, bool, u64)", into = "(String, bool, u64)")]
pub struct Condition {
    /// `Initialized`, `ContainersReady`, `Ready`, `PodReadyToStartContainers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it holds.
    pub status: bool,
    /// Unix seconds of its last change.
    pub last_transition: u64,
}

/// One aggregated event. In JSON a `[type, reason, entry, message, count,
/// first_seen, last_seen]` array (see [`Condition`] for why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EventTuple", into = "EventTuple")]
pub struct EventStatus {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Started`, `Killing`, `BackOff`, `Unhealthy`, `Completed`, `Failed`, `Skipped`.
    pub reason: String,
    /// The entry it is about; None: the pod.
    #[serde(default)]
    pub entry: Option<String>,
    /// What happened.
    pub message: String,
    /// How many times.
    pub count: u32,
    /// Unix seconds, first seen.
    pub first_seen: u64,
    /// Unix seconds, last seen.
    pub last_seen: u64,
}

/// An entry's STATE column: the Kubernetes container states as kubectl
/// words them, plus podinit's Skipped (marker), Stopped (by a user) and
/// Terminating. One type for the writer (`view.rs`) and every reader
/// (`health`, `wait`, the Kubernetes JSON), so a renamed word cannot change
/// what a reader decides; in status.json the word itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryState {
    /// Not started yet (or being started).
    #[default]
    Waiting,
    /// Its process runs (or its waiter polls).
    Running,
    /// podinit is stopping it.
    Terminating,
    /// Crashed; restarts after its back-off.
    CrashLoopBackOff,
    /// An init step whose run-once marker matched.
    Skipped,
    /// Stopped through the control socket.
    Stopped,
    /// Exited 0 for good.
    Completed,
    /// Stopped with the pod.
    Terminated,
    /// Killed by the kernel's OOM killer, for good.
    #[serde(rename = "OOMKilled")]
    OomKilled,
    /// Failed for good.
    Error,
}

impl EntryState {
    /// The word, as kubectl shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Waiting => "Waiting",
            EntryState::Running => "Running",
            EntryState::Terminating => "Terminating",
            EntryState::CrashLoopBackOff => "CrashLoopBackOff",
            EntryState::Skipped => "Skipped",
            EntryState::Stopped => "Stopped",
            EntryState::Completed => "Completed",
            EntryState::Terminated => "Terminated",
            EntryState::OomKilled => "OOMKilled",
            EntryState::Error => "Error",
        }
    }

    /// It has ended and will not run again by itself.
    pub fn ended(self) -> bool {
        use EntryState::*;
        matches!(self, Completed | Error | OomKilled | Terminated | Stopped | Skipped)
    }
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tests write states and kinds as their words.
#[cfg(test)]
impl From<&str> for EntryState {
    fn from(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.into())).expect("a state word")
    }
}

#[cfg(test)]
impl From<&str> for Kind {
    fn from(s: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(s.into())).expect("a kind word")
    }
}

/// The pod STATUS words `health` and `wait` act on (the column also holds
/// `Init:1/3`, `PodInitializing`, ...: a string).
pub(crate) mod pod_word {
    /// Every app is ready.
    pub(crate) const RUNNING: &str = "Running";
    /// Running, but an app or sidecar is not ready.
    pub(crate) const NOT_READY: &str = "NotReady";
}

/// One init step, sidecar or app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryStatus {
    /// Entry name.
    pub name: String,
    /// `init`, `sidecar` or `app`.
    pub kind: Kind,
    /// The STATE column.
    pub state: EntryState,
    /// Readiness; `None` for init steps (shown as `-`).
    #[serde(default)]
    pub ready: Option<bool>,
    /// Kubernetes' `started`: running, and post_start and the startup probe
    /// passed; `None` for init steps (and in files of older podinits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    /// How many times it was restarted (or an init step retried).
    pub restarts: u32,
    /// Last exit, e.g. `0`, `137 (liveness)`, `143 (SIGTERM)`; `None` shown as `-`.
    #[serde(default)]
    pub last_exit: Option<String>,
    /// Pid of the running process, if any.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Unix seconds of the last state change (AGE column).
    pub since: u64,
    /// Unix seconds when the current run started (while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    /// The run that ended last: exit code, reason, start and end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
    /// What a `notify = true` entry last said: `STATUS=…` text, `STOPPING`, or
    /// `waiting for READY=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// The run of an entry that ended last. In JSON a `[exit_code, reason,
/// started, finished]` array (see [`Condition`] for why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RunTuple", into = "RunTuple")]
pub struct LastRun {
    /// Its exit code (128+N for signal N).
    pub exit_code: i32,
    /// `Completed`, `Error`, or what ended it (`liveness`, `SIGTERM`...).
    pub reason: String,
    /// Unix seconds when it started.
    pub started: Option<u64>,
    /// Unix seconds when it ended.
    pub finished: Option<u64>,
}

type RunTuple = (i32, String, Option<u64>, Option<u64>);

impl From<RunTuple> for LastRun {
    fn from((exit_code, reason, started, finished): RunTuple) -> LastRun {
        LastRun { exit_code, reason, started, finished }
    }
}

impl From<LastRun> for RunTuple {
    fn from(r: LastRun) -> Self {
        (r.exit_code, r.reason, r.started, r.finished)
    }
}

type EventTuple = (String, String, Option<String>, String, u32, u64, u64);

impl From<(String, bool, u64)> for Condition {
    fn from((kind, status, last_transition): (String, bool, u64)) -> Condition {
        Condition { kind, status, last_transition }
    }
}

impl From<Condition> for (String, bool, u64) {
    fn from(c: Condition) -> Self {
        (c.kind, c.status, c.last_transition)
    }
}

impl From<EventTuple> for EventStatus {
    fn from((kind, reason, entry, message, count, first_seen, last_seen): EventTuple) -> EventStatus {
        EventStatus { kind, reason, entry, message, count, first_seen, last_seen }
    }
}

impl From<EventStatus> for EventTuple {
    fn from(e: EventStatus) -> Self {
        (e.kind, e.reason, e.entry, e.message, e.count, e.first_seen, e.last_seen)
    }
}

/// Health verdict for `podinit health`: `Ok(())` iff the pod is Ready, else a
/// one-line reason such as `pod web is not ready: nginx not ready (Running)` or
/// `pod web is Completed`.
pub fn health(st: &PodStatus) -> Result<(), String> {
    if st.ready {
        return Ok(());
    }
    let name = clean(&st.name);
    // Only a pod whose apps are up can be "not ready because of X"; in any
    // other phase (Init:1/3, Completed, Terminating, ...) the phase says it all.
    if st.status != pod_word::RUNNING && st.status != pod_word::NOT_READY {
        return Err(format!("pod {name} is {}", clean(&st.status)));
    }
    let laggards: Vec<String> = st
        .entries
        .iter()
        .filter(|e| (e.kind == Kind::App || e.kind == Kind::Sidecar) && e.ready != Some(true))
        .map(|e| format!("{} not ready ({})", clean(&e.name), e.state))
        .collect();
    if laggards.is_empty() {
        Err(format!("pod {name} is not ready ({})", clean(&st.status)))
    } else {
        Err(format!("pod {name} is not ready: {}", laggards.join(", ")))
    }
}

/// Replaces control characters so a hostile or corrupt status file cannot
/// break the table or inject terminal escapes; empty cells become `-`.
pub(crate) fn clean(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// A status the tests of status, status_file and the table share.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    pub(crate) const NOW: u64 = 1_700_000_000;

    pub(crate) fn entry(name: &str, kind: &str, state: &str, ready: Option<bool>) -> EntryStatus {
        EntryStatus {
            name: name.into(),
            kind: kind.into(),
            state: state.into(),
            ready,
            started: ready,
            restarts: 0,
            last_exit: None,
            pid: None,
            since: NOW - 300,
            ..EntryStatus::default()
        }
    }

    pub(crate) fn sample() -> PodStatus {
        let mut download = entry("download", "init", "Completed", None);
        download.last_exit = Some("0".into());
        let mut shipper = entry("log-shipper", "sidecar", "Running", Some(true));
        shipper.pid = Some(12);
        let mut nginx = entry("nginx", "app", "Running", Some(true));
        nginx.restarts = 2;
        nginx.last_exit = Some("137 (liveness)".into());
        nginx.pid = Some(40);
        nginx.since = NOW - 190;
        PodStatus {
            name: "web".into(),
            namespace: "demo".into(),
            status: "Running".into(),
            ready: true,
            pid: 1,
            started_at: NOW - 300,
            updated_at: NOW - 5,
            entries: vec![download, shipper, nginx],
            ..PodStatus::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::samples::sample;
    use super::*;

    #[test]
    fn health_verdicts() {
        let mut st = sample();
        assert_eq!(health(&st), Ok(()));

        st.ready = false;
        st.status = "NotReady".into();
        st.entries[2].ready = Some(false);
        assert_eq!(health(&st), Err("pod web is not ready: nginx not ready (Running)".into()));
        st.entries[1].ready = Some(false);
        st.entries[1].state = "CrashLoopBackOff".into();
        assert_eq!(
            health(&st),
            Err("pod web is not ready: log-shipper not ready (CrashLoopBackOff), nginx not ready (Running)".into())
        );

        st.status = "Completed".into();
        assert_eq!(health(&st), Err("pod web is Completed".into()));
        st.status = "Init:1/3".into();
        assert_eq!(health(&st), Err("pod web is Init:1/3".into()));

        // Not ready although every entry claims readiness: still a clear line.
        let mut st = sample();
        st.ready = false;
        st.status = "NotReady".into();
        assert_eq!(health(&st), Err("pod web is not ready (NotReady)".into()));
    }
}
