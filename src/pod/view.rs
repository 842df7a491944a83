//! The machine's state as `status.json` and `podinit status` show it: the
//! kubectl STATUS column, each entry's state word, READY, LAST EXIT.
//! Pure: wall-clock times are the pod's start plus monotonic time elapsed.

use std::time::Instant;

use crate::config::Kind;
use crate::pod::machine::{Cause, PodMachine, Stage};
use crate::pod::status::{pod_word, Condition, EntryState, EntryStatus, EventStatus, LastRun, PodStatus};
use crate::pod::unit::{Reason, State, Unit};
use crate::sys::reaper::ExitStatus;
use crate::sys::signals;

impl PodMachine {
    /// The pod's state at `now`, as status.json holds it.
    pub(crate) fn status(&self, now: Instant) -> PodStatus {
        let unix = |t: Instant| self.settings.started_unix + t.saturating_duration_since(self.started).as_secs();
        let entries: Vec<EntryStatus> = self
            .units
            .iter()
            .map(|u| EntryStatus {
                name: u.spec.name.clone(),
                kind: u.spec.kind,
                state: state_label(u),
                ready: if u.spec.kind == Kind::Init { None } else { Some(u.ready()) },
                started: (u.spec.kind != Kind::Init).then(|| u.run().is_some_and(|r| r.started)),
                restarts: u.restarts,
                last_exit: u.last_exit.map(|(s, r)| last_exit_label(s, r)),
                pid: u.pid().map(|p| p as u32),
                since: unix(u.changed),
                started_at: u.run().map(|r| unix(r.since)),
                last_run: u.last_exit.map(|(s, r)| LastRun {
                    exit_code: s.code(),
                    reason: exit_reason(s, r),
                    started: u.last_run.map(|(a, _)| unix(a)),
                    finished: u.last_run.map(|(_, b)| unix(b)),
                }),
                notify: u.run().and_then(|r| r.notify.as_ref()).map(notify_label),
            })
            .collect();
        let ready = self.stage == Stage::Running && entries.iter().all(|e| e.ready != Some(false));
        let names = ["Initialized", "ContainersReady", "Ready"];
        let mut conditions: Vec<Condition> = self
            .conditions
            .iter()
            .zip(names)
            .map(|(&(status, at), kind)| Condition { kind: kind.into(), status, last_transition: unix(at) })
            .collect();
        // The sandbox (podinit's namespaces) exists from the start.
        conditions.push(Condition {
            kind: "PodReadyToStartContainers".into(),
            status: true,
            last_transition: unix(self.started),
        });
        let events = self
            .events
            .iter()
            .map(|e| EventStatus {
                kind: e.kind.label().into(),
                reason: e.reason.into(),
                entry: e.unit.and_then(|i| self.units.get(i)).map(|u| u.spec.name.clone()),
                message: e.message.clone(),
                count: e.count,
                first_seen: unix(e.first),
                last_seen: unix(e.last),
            })
            .collect();
        PodStatus {
            name: self.settings.name.clone(),
            namespace: self.settings.namespace.clone(),
            status: self.status_word(),
            ready,
            pid: self.settings.pid,
            started_at: self.settings.started_unix,
            updated_at: unix(now),
            entries,
            conditions,
            events,
        }
    }

    /// Notes when the pod conditions change (their `lastTransitionTime`):
    /// Initialized once every init step is done, ContainersReady and Ready
    /// while every app and sidecar is ready.
    pub(crate) fn track_conditions(&mut self, now: Instant) {
        let initialized = self.units.iter().filter(|u| u.spec.kind != Kind::App).all(|u| u.init_done())
            || !matches!(self.stage, Stage::Initializing { .. });
        let ready =
            self.stage == Stage::Running && self.units.iter().filter(|u| u.spec.kind != Kind::Init).all(|u| u.ready());
        for (c, v) in self.conditions.iter_mut().zip([initialized, ready, ready]) {
            if c.0 != v {
                *c = (v, now);
            }
        }
    }

    /// The pod is Ready as Kubernetes means it: running, every sidecar and
    /// app ready (what podinit tells its own supervisor with READY=1).
    pub(crate) fn ready(&self) -> bool {
        self.stage == Stage::Running && self.units.iter().all(|u| u.spec.kind == Kind::Init || u.ready())
    }

    /// The pod has begun to stop (or has stopped).
    pub(crate) fn terminating_now(&self) -> bool {
        self.terminating()
    }

    /// The kubectl STATUS column.
    pub(crate) fn status_word(&self) -> String {
        let inits = self.units.iter().filter(|u| u.spec.kind != Kind::App);
        match self.stage {
            Stage::Initializing { step } => match self.units[step].state {
                State::BackOff { .. } => "Init:CrashLoopBackOff".into(),
                State::Terminated { .. } => "Init:Error".into(),
                _ => format!("Init:{}/{}", inits.clone().filter(|u| u.init_done()).count(), inits.count()),
            },
            Stage::Running => {
                let apps = self.units.iter().filter(|u| u.spec.kind == Kind::App);
                if apps.clone().any(|u| matches!(u.state, State::Waiting | State::Starting { .. })) {
                    "PodInitializing".into()
                } else if apps.clone().any(|u| matches!(u.state, State::BackOff { .. })) {
                    "CrashLoopBackOff".into()
                } else if apps.clone().all(|u| u.ready()) {
                    pod_word::RUNNING.into()
                } else {
                    pod_word::NOT_READY.into()
                }
            }
            Stage::Terminating { cause: Cause::Deadline, .. } | Stage::Done { cause: Cause::Deadline, .. } => {
                "DeadlineExceeded".into()
            }
            Stage::Terminating { cause: Cause::InitFailed(_), .. }
            | Stage::Done { cause: Cause::InitFailed(_), .. } => "Init:Error".into(),
            Stage::Terminating { .. } => "Terminating".into(),
            Stage::Done { code: 0, .. } => "Completed".into(),
            Stage::Done { .. } => "Error".into(),
        }
    }
}

/// The STATE column (Kubernetes container states, plus Skipped and Stopped).
fn state_label(u: &Unit) -> EntryState {
    match &u.state {
        State::Waiting | State::Starting { .. } => EntryState::Waiting,
        State::Running(r) if r.stop.is_some() => EntryState::Terminating,
        State::Running(_) | State::Polling(_) => EntryState::Running,
        State::BackOff { .. } => EntryState::CrashLoopBackOff,
        State::Skipped => EntryState::Skipped,
        State::Terminated { held: true, .. } => EntryState::Stopped,
        State::Terminated { reason: Reason::Completed, .. } => EntryState::Completed,
        State::Terminated { reason: Reason::Stopped, .. } => EntryState::Terminated,
        State::Terminated { reason: Reason::OomKilled, .. } => EntryState::OomKilled,
        State::Terminated { .. } => EntryState::Error,
    }
}

/// A terminated state's reason as Kubernetes words it: `Completed` for 0,
/// `Error` otherwise, unless podinit ended it (then what ended it).
fn exit_reason(s: ExitStatus, r: Reason) -> String {
    match r {
        Reason::Completed | Reason::Error => (if s.success() { "Completed" } else { "Error" }).to_string(),
        r => r.label().to_string(),
    }
}

/// The LAST EXIT column: `0`, `143 (TERM)`, `137 (liveness)`.
/// What a notify entry said, for status: its STATUS= text, marked when it is stopping.
fn notify_label(n: &crate::pod::unit::Notified) -> String {
    let said = match (&n.status, n.ready) {
        (Some(s), _) => s.clone(),
        (None, true) => "READY=1".to_string(),
        (None, false) => "waiting for READY=1".to_string(),
    };
    if n.stopping {
        format!("STOPPING: {said}")
    } else {
        said
    }
}

fn last_exit_label(s: ExitStatus, r: Reason) -> String {
    match (s, r) {
        (ExitStatus::Code(c), Reason::Completed | Reason::Error) => c.to_string(),
        (ExitStatus::Signal(sig), Reason::Error) => format!("{} ({})", s.code(), signals::name(sig)),
        (s, r) => format!("{} ({})", s.code(), r.label()),
    }
}
