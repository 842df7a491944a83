//! One entry of the pod (init step, sidecar or app) and its Kubernetes
//! container state. Pure data and the rules that only need the entry itself:
//! when it counts as ready, as done, and whether an exit calls for a restart.
//!
//! Names: an *entry* is what the pod file (or manifest) declares,
//! [`crate::config::Entry`]; a [`Unit`] is the machine's runtime record of
//! one entry (the entry as `spec`, plus its state, restarts, last exit).
//! A unit is named by its [`UnitId`], and per-unit data lives in a
//! [`PerUnit`] table indexed by it.

use std::ops::{Index, IndexMut};
use std::time::{Duration, Instant};

use crate::config::{Entry, Kind, RestartPolicy};
use crate::pod::probe::{Check, ProbeKind, ProbeState, Timing, Verdict};
use crate::sys::reaper::ExitStatus;

/// An entry that ran this long has its back-off reset: its next crash is
/// restarted at once again (the kubelet's flat 10 minutes, KEP-4603).
pub(crate) const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// Names one unit: its position in the machine's list, which is pod-file
/// order (init entries, then apps). A type of its own so that a pid, a probe
/// kind or a position in some other list cannot be passed where a unit is
/// meant; ids are made only by a [`PerUnit`] table (and by tests).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct UnitId(usize);

impl UnitId {
    /// The first unit in pod-file order.
    pub(crate) const FIRST: UnitId = UnitId(0);

    /// The unit after it (which may not exist).
    pub(crate) fn next(self) -> UnitId {
        UnitId(self.0 + 1)
    }

    /// Unit number `i`, for tables written out in tests.
    #[cfg(test)]
    pub(crate) const fn new(i: usize) -> UnitId {
        UnitId(i)
    }
}

/// One `T` per unit, indexed by [`UnitId`] only: the machine's units, the
/// runtime's commands and environment builders. Built from a list in
/// pod-file order; never grows or shrinks, so an id of one table is valid in
/// every table of the same pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerUnit<T>(Vec<T>);

impl<T> PerUnit<T> {
    /// How many units.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The value of `id`, if there is such a unit.
    pub(crate) fn get(&self, id: UnitId) -> Option<&T> {
        self.0.get(id.0)
    }

    /// The value of `id`, if there is such a unit.
    pub(crate) fn get_mut(&mut self, id: UnitId) -> Option<&mut T> {
        self.0.get_mut(id.0)
    }

    /// The values, in pod-file order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// The values, in pod-file order.
    pub(crate) fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.0.iter_mut()
    }

    /// Every id, in pod-file order.
    pub(crate) fn ids(&self) -> impl DoubleEndedIterator<Item = UnitId> {
        (0..self.0.len()).map(UnitId)
    }

    /// Each id with its value, in pod-file order.
    pub(crate) fn enumerate(&self) -> impl Iterator<Item = (UnitId, &T)> {
        self.0.iter().enumerate().map(|(i, v)| (UnitId(i), v))
    }

    /// The first unit whose value satisfies `f`.
    pub(crate) fn position(&self, f: impl FnMut(&T) -> bool) -> Option<UnitId> {
        self.0.iter().position(f).map(UnitId)
    }

    /// The last unit whose value satisfies `f`.
    pub(crate) fn rposition(&self, f: impl FnMut(&T) -> bool) -> Option<UnitId> {
        self.0.iter().rposition(f).map(UnitId)
    }
}

impl<T> Default for PerUnit<T> {
    fn default() -> Self {
        PerUnit(Vec::new())
    }
}

impl<T> From<Vec<T>> for PerUnit<T> {
    fn from(v: Vec<T>) -> Self {
        PerUnit(v)
    }
}

impl<T> FromIterator<T> for PerUnit<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        PerUnit(iter.into_iter().collect())
    }
}

impl<T> Index<UnitId> for PerUnit<T> {
    type Output = T;
    fn index(&self, id: UnitId) -> &T {
        &self.0[id.0]
    }
}

impl<T> IndexMut<UnitId> for PerUnit<T> {
    fn index_mut(&mut self, id: UnitId) -> &mut T {
        &mut self.0[id.0]
    }
}

impl<'a, T> IntoIterator for &'a PerUnit<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Why an entry's process ended, as shown after its exit code in status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
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
    /// Died of SIGKILL while the cgroup's OOM-kill counter rose.
    OomKilled,
}

impl Reason {
    /// The word in status and log lines.
    pub(crate) fn label(self) -> &'static str {
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
            Reason::OomKilled => "OOMKilled",
        }
    }
}

/// Lifecycle of one entry (Kubernetes container states). Each state carries
/// the data that exists only in it, so a stop without a process, a hook of an
/// entry that is not running, or a held entry that will restart cannot be
/// written down.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    /// Not started yet.
    Waiting,
    /// Asked the runtime to start it; the outcome comes back as `Spawned`.
    Starting {
        /// When it was asked for.
        since: Instant,
    },
    /// Its process is alive.
    Running(Box<Run>),
    /// A `wait_for` init step polling its target.
    Polling(Box<Poll>),
    /// Crashed; starts again at `until` (CrashLoopBackOff).
    BackOff {
        /// When to restart.
        until: Instant,
    },
    /// Init step skipped because its marker matched.
    Skipped,
    /// Ended and will not run again (until a user starts it).
    Terminated {
        /// How it ended.
        status: ExitStatus,
        /// Why.
        reason: Reason,
        /// Stopped through the control socket: shown as Stopped, and the pod
        /// does not count it as finished (the user will start it again).
        held: bool,
    },
}

/// A running entry's process and everything that lives only as long as it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// Process id (also its process group id).
    pub pid: i32,
    /// When it started.
    pub since: Instant,
    /// For init steps with a `timeout`: when to kill it.
    pub kill_at: Option<Instant>,
    /// post_start has finished and the startup probe (if any) has passed.
    pub started: bool,
    /// A lifecycle hook's process, while one runs.
    pub hook: Option<HookProc>,
    /// Its probes for this run.
    pub probes: ProbeStates,
    /// podinit is ending this process, and why.
    pub stop: Option<Stop>,
    /// What it said on the notify socket (entries with `notify = true`).
    pub notify: Option<Notified>,
    /// The kernel's OOM killer sent the SIGKILL it is about to die of.
    pub oom: bool,
}

/// What an entry with `notify = true` has said on its notify socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Notified {
    /// READY=1 arrived: it has started (and gates the next init entry).
    pub ready: bool,
    /// STOPPING=1 arrived.
    pub stopping: bool,
    /// The last STATUS=… line.
    pub status: Option<String>,
    /// MAINPID=…: whose messages are believed besides the process podinit started.
    pub main_pid: Option<i32>,
}

impl Run {
    /// Whether everything that holds back "started" is clear: post_start has
    /// finished, the startup probe (if any) has passed, READY=1 (if asked) came.
    pub(crate) fn gates_clear(&self) -> bool {
        self.hook.is_none_or(|h| h.kind != HookKind::PostStart)
            && self.probes.startup.as_ref().is_none_or(|p| p.verdict() == Verdict::Passing)
            && self.notify.as_ref().is_none_or(|n| n.ready)
    }

    /// Ready as Kubernetes means it: started, not stopping, readiness passing.
    pub(crate) fn ready(&self) -> bool {
        self.started
            && self.stop.is_none()
            && self.probes.readiness.as_ref().is_none_or(|p| p.verdict() == Verdict::Passing)
    }
}

/// A `wait_for` init step's polling.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Poll {
    /// When it started.
    pub since: Instant,
    /// When it gives up.
    pub until: Option<Instant>,
    /// The waiter's attempts.
    pub waiter: ProbeState,
}

/// podinit is ending an entry's process: pre_stop, then stop_signal, then
/// SIGKILL at `deadline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stop {
    /// Why, shown as the exit's reason.
    pub reason: Reason,
    /// When SIGKILL goes out.
    pub deadline: Instant,
    /// SIGKILL has gone out.
    pub killed: bool,
}

/// Which lifecycle hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookKind {
    /// Runs right after the entry started.
    PostStart,
    /// Runs before the stop signal.
    PreStop,
}

/// A lifecycle hook's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HookProc {
    /// Which hook.
    pub kind: HookKind,
    /// Its pid; None while the spawn is being asked for.
    pub pid: Option<i32>,
}

impl HookProc {
    /// A hook whose spawn has been asked for.
    pub(crate) fn asked(kind: HookKind) -> HookProc {
        HookProc { kind, pid: None }
    }
}

/// Whom a signal goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillTarget {
    /// The process alone.
    Process(i32),
    /// Its whole process group (entries and hooks lead their own).
    Group(i32),
}

impl KillTarget {
    /// The pid kill(2) takes: negative for a process group.
    pub(crate) fn raw(self) -> i32 {
        match self {
            KillTarget::Process(p) => p,
            KillTarget::Group(p) => -p,
        }
    }
}

/// The state of each probe of one running unit, created afresh at every
/// start (the probes' specs are [`crate::config::Probe`]s in `spec`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProbeStates {
    /// startup_probe.
    pub startup: Option<ProbeState>,
    /// readiness_probe.
    pub readiness: Option<ProbeState>,
    /// liveness_probe.
    pub liveness: Option<ProbeState>,
}

impl ProbeStates {
    /// The probes of `spec`, first attempts counted from `now`.
    pub(crate) fn for_entry(spec: &Entry, now: Instant) -> ProbeStates {
        let make = |kind, p: &Option<crate::config::Probe>| {
            p.as_ref().map(|p| ProbeState::new(kind, Timing::of_probe(p), now))
        };
        ProbeStates {
            startup: make(ProbeKind::Startup, &spec.startup_probe),
            readiness: make(ProbeKind::Readiness, &spec.readiness_probe),
            liveness: make(ProbeKind::Liveness, &spec.liveness_probe),
        }
    }

    /// The probe of `kind`, if the entry has one.
    pub(crate) fn get_mut(&mut self, kind: ProbeKind) -> Option<&mut ProbeState> {
        match kind {
            ProbeKind::Startup => self.startup.as_mut(),
            ProbeKind::Readiness => self.readiness.as_mut(),
            ProbeKind::Liveness => self.liveness.as_mut(),
            ProbeKind::Wait => None,
        }
    }

    /// The probes whose attempts are scheduled now: the startup probe until
    /// the entry has started, then readiness and liveness.
    pub(crate) fn scheduled(&self, started: bool) -> [Option<&ProbeState>; 2] {
        if started {
            [self.readiness.as_ref(), self.liveness.as_ref()]
        } else {
            [self.startup.as_ref(), None]
        }
    }

    /// Whether it has any probe.
    pub(crate) fn any(&self) -> bool {
        self.startup.is_some() || self.readiness.is_some() || self.liveness.is_some()
    }
}

/// What a probe of `kind` checks for `spec`.
pub(crate) fn check_for(spec: &Entry, kind: ProbeKind) -> Option<Check> {
    match kind {
        ProbeKind::Startup => spec.startup_probe.as_ref().map(Check::of_probe),
        ProbeKind::Readiness => spec.readiness_probe.as_ref().map(Check::of_probe),
        ProbeKind::Liveness => spec.liveness_probe.as_ref().map(Check::of_probe),
        ProbeKind::Wait => spec.wait_for.as_ref().map(Check::of_wait),
    }
}

/// How long one attempt of `kind` may take for `spec`.
pub(crate) fn timeout_for(spec: &Entry, kind: ProbeKind) -> Duration {
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

/// The runtime record of one entry (init step, sidecar or app).
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// The entry, as the pod file declares it.
    pub spec: Entry,
    /// Marker hash (init steps with `once`).
    pub hash: String,
    /// Its run-once marker matched when the pod started: skip it.
    pub marker_done: bool,
    /// Current state.
    pub state: State,
    /// Number of restarts so far.
    pub restarts: u32,
    /// The back-off before its next restart: zero until it has been
    /// restarted once (the kubelet restarts a first crash at once), then
    /// `backoff.initial`, doubling up to `backoff.max`.
    pub delay: Duration,
    /// Status and reason of the last exit, for display.
    pub last_exit: Option<(ExitStatus, Reason)>,
    /// When the state last changed.
    pub changed: Instant,
    /// When the run that last ended started and ended.
    pub last_run: Option<(Instant, Instant)>,
}

impl Unit {
    /// A unit for `spec`, not started; `hash` is its marker hash and
    /// `marker_done` whether that marker already matched.
    pub(crate) fn new(spec: Entry, hash: String, marker_done: bool, now: Instant) -> Unit {
        Unit {
            spec,
            hash,
            marker_done,
            state: State::Waiting,
            restarts: 0,
            delay: Duration::ZERO,
            last_exit: None,
            changed: now,
            last_run: None,
        }
    }

    /// Its process, when it has one.
    pub(crate) fn run(&self) -> Option<&Run> {
        match &self.state {
            State::Running(r) => Some(r),
            _ => None,
        }
    }

    /// Its process, when it has one.
    pub(crate) fn run_mut(&mut self) -> Option<&mut Run> {
        match &mut self.state {
            State::Running(r) => Some(r),
            _ => None,
        }
    }

    /// The pid of its process, when it has one.
    pub(crate) fn pid(&self) -> Option<i32> {
        self.run().map(|r| r.pid)
    }

    /// podinit is ending its process.
    pub(crate) fn stopping(&self) -> bool {
        self.run().is_some_and(|r| r.stop.is_some())
    }

    /// Its process is alive (or being started), or its waiter is polling.
    pub(crate) fn active(&self) -> bool {
        matches!(self.state, State::Running(_) | State::Polling(_) | State::Starting { .. })
    }

    /// Its name.
    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    /// Moves to `s` at `now`.
    pub(crate) fn set(&mut self, s: State, now: Instant) {
        self.state = s;
        self.changed = now;
    }

    /// Ready as Kubernetes means it: running, started, readiness probe passing.
    pub(crate) fn ready(&self) -> bool {
        self.run().is_some_and(Run::ready)
    }

    /// Done for good, in a way that lets the next init entry start.
    pub(crate) fn init_done(&self) -> bool {
        match self.spec.kind {
            Kind::Sidecar => self.run().is_some_and(|r| r.started),
            _ => matches!(self.state, State::Skipped | State::Terminated { reason: Reason::Completed, .. }),
        }
    }

    /// Whether an exit with `status` (ended for `reason`) calls for a restart:
    /// the entry's restart rules, its own policy, else the pod's `policy`.
    pub(crate) fn wants_restart(&self, status: ExitStatus, reason: Reason, policy: RestartPolicy) -> bool {
        self.spec.should_restart(policy, exit_code(status, reason))
    }
}

/// The exit code the restart rule sees: the shell's (128+N for signal N),
/// except that a failed probe or hook is a failure even when the process
/// then exited 0 (it counts as 1).
pub(crate) fn exit_code(status: ExitStatus, reason: Reason) -> i32 {
    let forced = matches!(reason, Reason::Liveness | Reason::Startup | Reason::PostStart);
    if forced && status.success() {
        1
    } else {
        status.code()
    }
}

/// The restart rule for an entry of `kind` with no policy or rules of its own
/// (Kubernetes): sidecars always; init steps on failure unless the policy is
/// Never; apps per the policy.
#[cfg(test)]
pub(crate) fn wants_restart(kind: Kind, status: ExitStatus, reason: Reason, policy: RestartPolicy) -> bool {
    Entry::defaults(kind).should_restart(policy, exit_code(status, reason))
}
