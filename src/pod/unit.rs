//! One entry of the pod (init step, sidecar or app) and its Kubernetes
//! container state. Pure data and the rules that only need the entry itself:
//! when it counts as ready, as done, and whether an exit calls for a restart.

use std::time::{Duration, Instant};

use crate::config::{Entry, Kind, RestartPolicy};
use crate::pod::probe::{Check, ProbeKind, ProbeState, Timing, Verdict};
use crate::sys::reaper::ExitStatus;

/// First CrashLoopBackOff delay, doubled after each crash (Kubernetes).
pub const BACKOFF_START: Duration = Duration::from_secs(10);
/// Longest CrashLoopBackOff delay.
pub const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// An entry that ran this long has its back-off reset.
pub const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// Why an entry's process ended, as shown after its exit code in status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Exited 0.
    Completed,
    /// Exited non-zero or died of a signal on its own.
    Error,
    /// Killed because its `timeout` ran out (init steps), or its waiter gave up.
    Timeout,
    /// Could not be started at all.
    StartFailed,
    /// Its post_start hook failed.
    PostStart,
    /// Its liveness probe failed.
    Liveness,
    /// Its startup probe failed.
    Startup,
    /// Stopped or restarted through the control socket.
    User,
    /// Stopped by podinit (pod stop).
    Stopped,
}

impl Reason {
    /// The word in status and log lines.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Completed => "Completed",
            Reason::Error => "Error",
            Reason::Timeout => "timeout",
            Reason::StartFailed => "start failed",
            Reason::PostStart => "post_start",
            Reason::Liveness => "liveness",
            Reason::Startup => "startup",
            Reason::User => "by user",
            Reason::Stopped => "stopped",
        }
    }
}

/// Lifecycle of one entry (Kubernetes container states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet.
    Waiting,
    /// Asked the runtime to start it; the outcome comes back as `Spawned`.
    Starting {
        /// When it was asked for.
        since: Instant,
    },
    /// Its process is alive.
    Running {
        /// Process id (also its process group id).
        pid: i32,
        /// When it started.
        since: Instant,
        /// For init steps with a `timeout`: when to kill it.
        kill_at: Option<Instant>,
    },
    /// A `wait_for` init step polling its target; fails at `until`.
    Polling {
        /// When it started.
        since: Instant,
        /// When it gives up.
        until: Option<Instant>,
    },
    /// Crashed; starts again at `until` (CrashLoopBackOff).
    BackOff {
        /// When to restart.
        until: Instant,
    },
    /// Init step skipped because its marker matched.
    Skipped,
    /// Ended and will not run again.
    Terminated {
        /// How it ended.
        status: ExitStatus,
        /// Why.
        reason: Reason,
    },
}

/// A graceful stop of one entry in progress: pre_stop, then stop_signal, then
/// SIGKILL at `deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// When SIGKILL goes out.
    pub deadline: Instant,
    /// SIGKILL has gone out.
    pub killed: bool,
}

/// A lifecycle hook's process (pid 0 while its start is being asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Runs right after the entry started.
    PostStart(i32),
    /// Runs before the stop signal.
    PreStop(i32),
}

impl Hook {
    /// The hook's pid.
    pub fn pid(self) -> i32 {
        match self {
            Hook::PostStart(p) | Hook::PreStop(p) => p,
        }
    }
}

/// The probes of one running entry, created afresh at every start.
#[derive(Debug, Default, Clone)]
pub struct Probes {
    /// startup_probe.
    pub startup: Option<ProbeState>,
    /// readiness_probe.
    pub readiness: Option<ProbeState>,
    /// liveness_probe.
    pub liveness: Option<ProbeState>,
    /// `wait_for` of an init step.
    pub waiter: Option<ProbeState>,
}

impl Probes {
    /// The probes of `spec`, first attempts counted from `now`.
    pub fn for_entry(spec: &Entry, now: Instant) -> Probes {
        let make = |kind, p: &Option<crate::config::Probe>| {
            p.as_ref().map(|p| ProbeState::new(kind, Timing::of_probe(p), now))
        };
        Probes {
            startup: make(ProbeKind::Startup, &spec.startup_probe),
            readiness: make(ProbeKind::Readiness, &spec.readiness_probe),
            liveness: make(ProbeKind::Liveness, &spec.liveness_probe),
            waiter: None,
        }
    }

    /// The waiter of `spec`'s `wait_for`.
    pub fn waiter(w: &crate::config::WaitFor, now: Instant) -> Probes {
        Probes { waiter: Some(ProbeState::new(ProbeKind::Wait, Timing::of_wait(w), now)), ..Probes::default() }
    }

    /// The probe of `kind`, if the entry has one.
    pub fn get_mut(&mut self, kind: ProbeKind) -> Option<&mut ProbeState> {
        match kind {
            ProbeKind::Startup => self.startup.as_mut(),
            ProbeKind::Readiness => self.readiness.as_mut(),
            ProbeKind::Liveness => self.liveness.as_mut(),
            ProbeKind::Wait => self.waiter.as_mut(),
        }
    }

    /// The probes whose attempts are scheduled now: the waiter alone; else
    /// the startup probe until the entry has started; then readiness and
    /// liveness. The one rule both the deadline and the tick follow, so the
    /// machine never reports a deadline it will not act on.
    pub fn scheduled_mut(&mut self, started: bool) -> [Option<&mut ProbeState>; 2] {
        if self.waiter.is_some() {
            [self.waiter.as_mut(), None]
        } else if !started {
            [self.startup.as_mut(), None]
        } else {
            [self.readiness.as_mut(), self.liveness.as_mut()]
        }
    }

    /// The read-only view of [`Probes::scheduled_mut`].
    pub fn scheduled(&self, started: bool) -> [Option<&ProbeState>; 2] {
        if self.waiter.is_some() {
            [self.waiter.as_ref(), None]
        } else if !started {
            [self.startup.as_ref(), None]
        } else {
            [self.readiness.as_ref(), self.liveness.as_ref()]
        }
    }

    /// Every probe the entry has.
    pub fn all(&self) -> impl Iterator<Item = &ProbeState> {
        [&self.startup, &self.readiness, &self.liveness, &self.waiter].into_iter().flatten()
    }
}

/// What a probe of `kind` checks for `spec`.
pub fn check_for(spec: &Entry, kind: ProbeKind) -> Option<Check> {
    match kind {
        ProbeKind::Startup => spec.startup_probe.as_ref().map(Check::of_probe),
        ProbeKind::Readiness => spec.readiness_probe.as_ref().map(Check::of_probe),
        ProbeKind::Liveness => spec.liveness_probe.as_ref().map(Check::of_probe),
        ProbeKind::Wait => spec.wait_for.as_ref().map(Check::of_wait),
    }
}

/// How long one attempt of `kind` may take for `spec`.
pub fn timeout_for(spec: &Entry, kind: ProbeKind) -> Duration {
    let probe = match kind {
        ProbeKind::Startup => &spec.startup_probe,
        ProbeKind::Readiness => &spec.readiness_probe,
        ProbeKind::Liveness => &spec.liveness_probe,
        ProbeKind::Wait => {
            return spec.wait_for.as_ref().map_or(Duration::from_secs(1), |w| Timing::of_wait(w).timeout)
        }
    };
    probe.as_ref().map_or(Duration::from_secs(1), |p| p.timeout)
}

/// One init step, sidecar or app and its runtime state.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The pod file entry.
    pub spec: Entry,
    /// Marker hash (init steps with `once`).
    pub hash: String,
    /// Its run-once marker matched when the pod started: skip it.
    pub marker_done: bool,
    /// Current state.
    pub state: State,
    /// Number of restarts so far.
    pub restarts: u32,
    /// The next back-off delay.
    pub delay: Duration,
    /// Status and reason of the last exit, for display.
    pub last_exit: Option<(ExitStatus, Reason)>,
    /// When the state last changed.
    pub changed: Instant,
    /// Why podinit is ending the current process, if it is.
    pub ending: Option<Reason>,
    /// A graceful stop in progress.
    pub stop: Option<Stop>,
    /// A hook process in progress.
    pub hook: Option<Hook>,
    /// post_start has finished and the startup probe (if any) has passed.
    pub started: bool,
    /// Its probes (or waiter) for the current run.
    pub probes: Probes,
    /// Stopped through the control socket: not restarted until started again.
    pub held: bool,
}

impl Unit {
    /// A unit for `spec`, not started; `hash` is its marker hash and
    /// `marker_done` whether that marker already matched.
    pub fn new(spec: Entry, hash: String, marker_done: bool, now: Instant) -> Unit {
        Unit {
            spec,
            hash,
            marker_done,
            state: State::Waiting,
            restarts: 0,
            delay: BACKOFF_START,
            last_exit: None,
            changed: now,
            ending: None,
            stop: None,
            hook: None,
            started: false,
            probes: Probes::default(),
            held: false,
        }
    }

    /// The pid of its process, when it has one.
    pub fn pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Its process is alive (or being started), or its waiter is polling.
    pub fn active(&self) -> bool {
        matches!(self.state, State::Running { .. } | State::Polling { .. } | State::Starting { .. })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Moves to `s` at `now`.
    pub fn set(&mut self, s: State, now: Instant) {
        self.state = s;
        self.changed = now;
    }

    /// Ready as Kubernetes means it: running, started, readiness probe passing.
    pub fn ready(&self) -> bool {
        self.pid().is_some()
            && self.started
            && self.stop.is_none()
            && self.probes.readiness.as_ref().is_none_or(|p| p.verdict() == Verdict::Passing)
    }

    /// Done for good, in a way that lets the next init entry start.
    pub fn init_done(&self) -> bool {
        match self.spec.kind {
            Kind::Sidecar => self.pid().is_some() && self.started,
            _ => matches!(self.state, State::Skipped | State::Terminated { reason: Reason::Completed, .. }),
        }
    }

    /// Whether an exit with `status` (ended for `reason`) calls for a restart.
    pub fn wants_restart(&self, status: ExitStatus, reason: Reason, policy: RestartPolicy) -> bool {
        wants_restart(self.spec.kind, status, reason, policy)
    }
}

/// The restart rule (Kubernetes): sidecars always; init steps on failure unless
/// the policy is Never; apps per the policy. A failed probe or hook is a failure
/// even when the process then exited 0.
pub fn wants_restart(kind: Kind, status: ExitStatus, reason: Reason, policy: RestartPolicy) -> bool {
    let failed = !status.success() || matches!(reason, Reason::Liveness | Reason::Startup | Reason::PostStart);
    match kind {
        Kind::Sidecar => true,
        Kind::Init => failed && policy != RestartPolicy::Never,
        Kind::App => match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Never => false,
        },
    }
}
