//! The pod state machine: init steps in order, then apps and sidecars under
//! supervision, then a graceful stop. Init mode and pause mode are the same
//! machine with one app and with none ([`Flavor`]).
//!
//! ```text
//! Initializing(step) ──► Running ──► Terminating ──► Done(exit code)
//!        │                                ▲
//!        └── SIGTERM / deadline / failure ┘
//! ```

use std::time::{Duration, Instant};

use crate::config::{Entry, Kind, RestartPolicy};
use crate::event_loop::Handler;
use crate::marker::MarkerStore;
use crate::reaper::{self, ExitStatus};
use crate::shutdown;
use crate::signals::{self, Received};
use crate::spawn::{self, Command};
use crate::status::{self, EntryStatus, PodStatus};

/// First CrashLoopBackOff delay, doubled after each crash (Kubernetes).
const BACKOFF_START: Duration = Duration::from_secs(10);
/// Longest CrashLoopBackOff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// An entry that ran this long has its back-off reset.
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// How long to wait for SIGKILLed processes to be reaped before exiting anyway
/// (a process in uninterruptible sleep must not keep the container alive).
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Exit code of a pod stopped by `active_deadline` (as timeout(1)).
pub const DEADLINE_EXIT: i32 = 124;

/// The three modes that run the machine differ only in these rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Flavor {
    /// tini: every signal goes to the one app, its status is podinit's status.
    Init {
        /// `-g`: signal the app's process group rather than its pid.
        kill_group: bool,
        /// `-e`: codes reported as 0.
        remap_to_zero: Vec<i32>,
        /// `-w`: warn when reaping a process that is not the app.
        warn_reaped: bool,
    },
    /// The pod lifecycle: SIGTERM/SIGINT stop the pod, other signals go to every entry.
    Pod,
    /// Kubernetes pause: SIGTERM/SIGINT exit 0 at once, everything else is ignored.
    Pause,
}

/// Pod-wide settings the machine needs (the pod file's top level, or init-mode flags).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Pod name (POD_NAME).
    pub name: String,
    /// Pod namespace (POD_NAMESPACE).
    pub namespace: String,
    /// Restart policy for apps and init steps.
    pub restart_policy: RestartPolicy,
    /// Limit on a graceful stop.
    pub grace: Duration,
    /// Optional limit on the pod's whole run.
    pub active_deadline: Option<Duration>,
    /// Where run-once markers live (None: no markers, e.g. init mode).
    pub markers: Option<MarkerStore>,
    /// Where status.json goes (None: no status file).
    pub state_dir: Option<std::path::PathBuf>,
}

/// Why an entry's process ended, as shown after its exit code in status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Exited 0.
    Completed,
    /// Exited non-zero or died of a signal on its own.
    Error,
    /// Killed because its `timeout` ran out (init steps).
    Timeout,
    /// Could not be started at all.
    StartFailed,
    /// Stopped by podinit (pod stop).
    Stopped,
}

impl Reason {
    fn label(self) -> &'static str {
        match self {
            Reason::Completed => "Completed",
            Reason::Error => "Error",
            Reason::Timeout => "timeout",
            Reason::StartFailed => "start failed",
            Reason::Stopped => "stopped",
        }
    }
}

/// Lifecycle of one entry (Kubernetes container states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started yet.
    Waiting,
    /// Its process is alive.
    Running {
        /// Process id (also its process group id).
        pid: i32,
        /// When it started.
        since: Instant,
        /// For init steps with a `timeout`: when to kill it.
        kill_at: Option<Instant>,
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

/// One init step, sidecar or app and its runtime state.
#[derive(Debug)]
pub struct Unit {
    /// The pod file entry.
    pub spec: Entry,
    /// Prepared argv/env/cwd/user.
    pub cmd: Command,
    /// Marker hash (init steps).
    pub hash: String,
    /// Current state.
    pub state: State,
    /// Number of restarts so far.
    pub restarts: u32,
    /// The next back-off delay.
    delay: Duration,
    /// Status and reason of the last exit, for display.
    last_exit: Option<(ExitStatus, Reason)>,
    /// Wall-clock time of the last state change (unix seconds).
    changed: u64,
    /// A stop signal was sent during pod termination.
    stop_sent: bool,
}

impl Unit {
    /// Wraps a prepared entry.
    pub fn new(spec: Entry, cmd: Command, hash: String) -> Unit {
        Unit {
            spec,
            cmd,
            hash,
            state: State::Waiting,
            restarts: 0,
            delay: BACKOFF_START,
            last_exit: None,
            changed: now_unix(),
            stop_sent: false,
        }
    }

    fn pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid, .. } => Some(pid),
            _ => None,
        }
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn set(&mut self, s: State) {
        self.state = s;
        self.changed = now_unix();
    }

    /// Done for good, in a way that lets the next init step start.
    fn init_done(&self) -> bool {
        match self.spec.kind {
            Kind::Sidecar => self.pid().is_some(),
            _ => matches!(self.state, State::Skipped | State::Terminated { reason: Reason::Completed, .. }),
        }
    }
}

/// What made the pod stop; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// SIGTERM/SIGINT.
    Signal,
    /// active_deadline ran out.
    Deadline,
    /// Nothing will run again (or an init step failed for good); the pod's own result.
    Finished(i32),
}

/// Where the pod is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running init entry `step` (index into units).
    Initializing { step: usize },
    /// Apps are up.
    Running,
    /// Stopping; `deadline` is the end of the grace period.
    Terminating { cause: Cause, deadline: Instant, swept: bool, killed_at: Option<Instant> },
    /// Exit with this code.
    Done(i32),
}

/// The state machine, driven by the event loop.
pub struct Pod {
    flavor: Flavor,
    settings: Settings,
    units: Vec<Unit>,
    phase: Phase,
    started: Instant,
    started_unix: u64,
    /// Exit code of the first app that failed for good.
    first_failure: Option<i32>,
    /// Status file needs rewriting.
    dirty: bool,
    /// Warned once that a marker could not be saved / the status file cannot be written.
    marker_warned: bool,
}

impl Pod {
    /// A pod over `units` (init entries first, in file order, then apps).
    pub fn new(flavor: Flavor, settings: Settings, units: Vec<Unit>) -> Pod {
        Pod {
            flavor,
            settings,
            units,
            phase: Phase::Initializing { step: 0 },
            started: Instant::now(),
            started_unix: now_unix(),
            first_failure: None,
            dirty: true,
            marker_warned: false,
        }
    }

    fn is_app(&self, i: usize) -> bool {
        self.units[i].spec.kind == Kind::App
    }

    /// Starts unit `i` now; a start failure counts as an exit with 127/126.
    fn start(&mut self, i: usize, now: Instant) {
        let u = &mut self.units[i];
        self.dirty = true;
        match spawn::spawn(&u.cmd) {
            Ok(pid) => {
                log::info!("{}: started pid {pid}", u.name());
                let kill_at = if u.spec.kind == Kind::Init { u.spec.timeout.map(|t| now + t) } else { None };
                u.set(State::Running { pid, since: now, kill_at });
            }
            Err(e) => {
                log::error!("{}: {e}", u.name());
                let status = ExitStatus::Code(e.exit_code());
                self.finished(i, status, Reason::StartFailed, now);
            }
        }
    }

    /// Unit `i`'s process ended (or could not start): record it and decide what comes next.
    fn finished(&mut self, i: usize, status: ExitStatus, reason: Reason, now: Instant) {
        self.dirty = true;
        let terminating = matches!(self.phase, Phase::Terminating { .. });
        let policy = self.settings.restart_policy;
        let u = &mut self.units[i];
        let ran = match u.state {
            State::Running { since, .. } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        let reason = if reason == Reason::Error && status.success() { Reason::Completed } else { reason };
        u.last_exit = Some((status, reason));
        // In init mode the child's exit is podinit's exit status, not news.
        let quiet = status.success() || terminating || matches!(self.flavor, Flavor::Init { .. });
        let level = if quiet { log::Level::Info } else { log::Level::Warn };
        log::log!(level, "{}: {status} after {}", u.name(), fmt_secs(ran));
        if ran >= BACKOFF_RESET {
            u.delay = BACKOFF_START;
        }
        let restart = !terminating
            && match u.spec.kind {
                Kind::Sidecar => true,
                Kind::Init => !status.success() && policy != RestartPolicy::Never,
                Kind::App => match policy {
                    RestartPolicy::Always => true,
                    RestartPolicy::OnFailure => !status.success(),
                    RestartPolicy::Never => false,
                },
            };
        if restart {
            let delay = u.delay;
            u.delay = (u.delay * 2).min(BACKOFF_CAP);
            log::info!("{}: restarting in {}", u.name(), fmt_secs(delay));
            u.set(State::BackOff { until: now + delay });
            return;
        }
        u.set(State::Terminated { status, reason });
        let (kind, once, essential) = (u.spec.kind, u.spec.once, u.spec.essential);
        if kind == Kind::Init && status.success() && once {
            self.save_marker(i);
        }
        if terminating {
            return;
        }
        let name = self.units[i].name();
        match kind {
            Kind::Init if !status.success() => {
                log::error!("{name}: init step failed and restart_policy is Never; the pod failed");
                self.begin_stop(Cause::Finished(status.code()), now);
            }
            Kind::App if essential => {
                log::warn!("{name}: essential app ended; stopping the pod");
                self.begin_stop(Cause::Finished(status.code()), now);
            }
            Kind::App if !status.success() && self.first_failure.is_none() => {
                self.first_failure = Some(status.code());
            }
            _ => {}
        }
    }

    fn save_marker(&mut self, i: usize) {
        let Some(store) = &self.settings.markers else { return };
        let u = &self.units[i];
        if let Err(e) = store.write(u.name(), &u.hash) {
            let first = !self.marker_warned;
            self.marker_warned = true;
            if first {
                log::warn!("{}: marker not saved, the step will run again on the next start: {e}", u.name());
            } else {
                log::debug!("{}: marker not saved: {e}", u.name());
            }
        }
    }

    /// Moves through the init entries as far as possible.
    fn advance_init(&mut self, mut step: usize, now: Instant) {
        while step < self.units.len() && !self.is_app(step) {
            let u = &self.units[step];
            if u.init_done() {
                step += 1;
                continue;
            }
            if u.state == State::Waiting {
                if u.spec.kind == Kind::Init && u.spec.once && self.marker_matches(step) {
                    log::info!("{}: skipped (marker)", u.name());
                    self.units[step].set(State::Skipped);
                    self.dirty = true;
                    continue;
                }
                self.start(step, now);
                if matches!(self.phase, Phase::Terminating { .. }) {
                    return;
                }
                continue;
            }
            // Running, in back-off, or failed: wait here.
            self.phase = Phase::Initializing { step };
            return;
        }
        self.phase = Phase::Running;
        self.dirty = true;
        for i in 0..self.units.len() {
            if self.is_app(i) && self.units[i].state == State::Waiting {
                self.start(i, now);
            }
        }
    }

    fn marker_matches(&self, i: usize) -> bool {
        let u = &self.units[i];
        self.settings.markers.as_ref().is_some_and(|m| m.matches(u.name(), &u.hash))
    }

    /// Starts the graceful stop: every app and running init step gets its stop
    /// signal now; sidecars follow in reverse order once the apps are gone.
    fn begin_stop(&mut self, cause: Cause, now: Instant) {
        if matches!(self.phase, Phase::Terminating { .. } | Phase::Done(_)) {
            return;
        }
        self.dirty = true;
        if self.flavor == Flavor::Pause {
            self.phase = Phase::Done(0);
            return;
        }
        if cause == Cause::Signal || cause == Cause::Deadline {
            log::info!("stopping the pod (grace period {})", fmt_secs(self.settings.grace));
        }
        self.phase = Phase::Terminating { cause, deadline: now + self.settings.grace, swept: false, killed_at: None };
        for u in &mut self.units {
            match u.state {
                State::Waiting | State::BackOff { .. } => {
                    let status = u.last_exit.map_or(ExitStatus::Code(0), |(s, _)| s);
                    u.set(State::Terminated { status, reason: Reason::Stopped });
                }
                State::Running { pid, .. } if u.spec.kind != Kind::Sidecar => {
                    let sig = if u.spec.kind == Kind::App { u.spec.stop_signal } else { libc::SIGTERM };
                    log::info!("{}: sending {}", u.spec.name, signals::name(sig));
                    let _ = signals::send(pid, sig);
                    u.stop_sent = true;
                }
                _ => {}
            }
        }
    }

    /// Progress of a stop in progress; called on every tick while Terminating.
    fn advance_stop(&mut self, now: Instant) {
        let Phase::Terminating { cause, deadline, swept, killed_at } = self.phase else { return };
        if killed_at.is_none() && now >= deadline {
            log::warn!("grace period over; sending SIGKILL to everything left");
            for u in &self.units {
                if let Some(pid) = u.pid() {
                    let _ = signals::send(-pid, libc::SIGKILL);
                }
            }
            shutdown::signal_rest(libc::SIGKILL);
            self.phase = Phase::Terminating { cause, deadline, swept: true, killed_at: Some(now) };
            return self.advance_stop(now);
        }
        let alive = |u: &Unit| u.pid().is_some();
        if self.units.iter().any(|u| u.spec.kind != Kind::Sidecar && alive(u)) {
            return;
        }
        // Apps are gone: stop sidecars one at a time, last declared first.
        if let Some(u) = self.units.iter_mut().rev().find(|u| u.spec.kind == Kind::Sidecar && alive(u)) {
            if !u.stop_sent {
                u.stop_sent = true;
                log::info!("{}: sending {}", u.spec.name, signals::name(u.spec.stop_signal));
                if let Some(pid) = u.pid() {
                    let _ = signals::send(pid, u.spec.stop_signal);
                }
            }
            return;
        }
        if !swept {
            let n = shutdown::signal_rest(libc::SIGTERM);
            if n > 0 {
                log::info!("sent SIGTERM to the remaining processes");
            }
            self.phase = Phase::Terminating { cause, deadline, swept: true, killed_at };
        }
        let gave_up = killed_at.is_some_and(|k| now >= k + KILL_WAIT);
        if !reaper::has_children() || gave_up {
            if gave_up {
                log::warn!("processes survived SIGKILL for {}; exiting anyway", fmt_secs(KILL_WAIT));
            }
            self.phase = Phase::Done(self.exit_code_for(cause, killed_at.is_some()));
            self.dirty = true;
        }
    }

    fn exit_code_for(&self, cause: Cause, killed: bool) -> i32 {
        let base = match cause {
            Cause::Signal => 0,
            Cause::Deadline => DEADLINE_EXIT,
            Cause::Finished(code) => code,
        };
        match &self.flavor {
            Flavor::Init { remap_to_zero, .. } if remap_to_zero.contains(&base) => 0,
            Flavor::Init { .. } => base,
            Flavor::Pause => 0,
            Flavor::Pod if base == 0 && killed => 137,
            Flavor::Pod => base,
        }
    }

    /// The pod is running and no app will run again: the pod has finished.
    fn check_finished(&mut self, now: Instant) {
        if self.phase != Phase::Running || self.flavor == Flavor::Pause {
            return;
        }
        let apps_done = self
            .units
            .iter()
            .filter(|u| u.spec.kind == Kind::App)
            .all(|u| matches!(u.state, State::Terminated { .. }));
        if apps_done {
            let code = self.first_failure.unwrap_or(0);
            if self.flavor == Flavor::Pod {
                log::info!("all apps have ended; the pod is {}", if code == 0 { "Completed" } else { "Failed" });
            }
            // Init mode: the one app's own status (it may be 0 while another failed).
            let code = match self.flavor {
                Flavor::Init { .. } => self.units.iter().rev().find_map(|u| u.last_exit).map_or(0, |(s, _)| s.code()),
                _ => code,
            };
            self.begin_stop(Cause::Finished(code), now);
        }
    }

    /// Forwards a signal to the process(es) it is meant for.
    fn forward(&self, sig: i32) {
        let group = matches!(self.flavor, Flavor::Init { kill_group: true, .. });
        for u in &self.units {
            if let Some(pid) = u.pid() {
                if u.spec.kind == Kind::Init && self.flavor == Flavor::Pod {
                    continue;
                }
                log::debug!("{}: forwarding {}", u.spec.name, signals::name(sig));
                if let Err(e) = signals::send(if group { -pid } else { pid }, sig) {
                    log::warn!("{}: cannot forward {}: {e}", u.spec.name, signals::name(sig));
                }
            }
        }
    }

    /// The pod's state as status.json shows it.
    pub fn status(&self) -> PodStatus {
        let kind = |k: Kind| match k {
            Kind::Init => "init",
            Kind::Sidecar => "sidecar",
            Kind::App => "app",
        };
        let entries: Vec<EntryStatus> = self
            .units
            .iter()
            .map(|u| {
                let state = match u.state {
                    State::Waiting => "Waiting",
                    State::Running { .. } if u.stop_sent => "Terminating",
                    State::Running { .. } => "Running",
                    State::BackOff { .. } => "CrashLoopBackOff",
                    State::Skipped => "Skipped",
                    State::Terminated { reason: Reason::Completed, .. } => "Completed",
                    State::Terminated { reason: Reason::Stopped, .. } => "Terminated",
                    State::Terminated { .. } => "Error",
                };
                EntryStatus {
                    name: u.spec.name.clone(),
                    kind: kind(u.spec.kind).to_string(),
                    state: state.to_string(),
                    ready: if u.spec.kind == Kind::Init { None } else { Some(u.pid().is_some()) },
                    restarts: u.restarts,
                    last_exit: u.last_exit.map(|(s, r)| match (s, r) {
                        (ExitStatus::Code(c), Reason::Completed | Reason::Error) => c.to_string(),
                        (ExitStatus::Signal(sig), Reason::Error) => format!("{} ({})", s.code(), signals::name(sig)),
                        (s, r) => format!("{} ({})", s.code(), r.label()),
                    }),
                    pid: u.pid().map(|p| p as u32),
                    since: u.changed,
                }
            })
            .collect();
        let ready = self.phase == Phase::Running && entries.iter().all(|e| e.ready != Some(false));
        PodStatus {
            name: self.settings.name.clone(),
            namespace: self.settings.namespace.clone(),
            status: self.phase_label(),
            ready,
            pid: std::process::id(),
            started_at: self.started_unix,
            updated_at: now_unix(),
            entries,
        }
    }

    /// The kubectl STATUS column.
    fn phase_label(&self) -> String {
        let inits = self.units.iter().filter(|u| u.spec.kind != Kind::App);
        match self.phase {
            Phase::Initializing { step } => match self.units[step].state {
                State::BackOff { .. } => "Init:CrashLoopBackOff".into(),
                State::Terminated { .. } => "Init:Error".into(),
                _ => format!("Init:{}/{}", inits.clone().filter(|u| u.init_done()).count(), inits.count()),
            },
            Phase::Running => {
                let apps = self.units.iter().filter(|u| u.spec.kind == Kind::App);
                if apps.clone().any(|u| matches!(u.state, State::BackOff { .. })) {
                    "CrashLoopBackOff".into()
                } else if apps.clone().all(|u| u.pid().is_some()) {
                    "Running".into()
                } else {
                    "NotReady".into()
                }
            }
            Phase::Terminating { cause: Cause::Deadline, .. } => "DeadlineExceeded".into(),
            Phase::Terminating { .. } => "Terminating".into(),
            Phase::Done(0) => "Completed".into(),
            Phase::Done(_) => "Error".into(),
        }
    }

    fn write_status(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let Some(dir) = &self.settings.state_dir else { return };
        if let Err(e) = status::write(dir, &self.status()) {
            log::warn!("status file disabled: {e}");
            self.settings.state_dir = None;
        }
    }
}

impl Handler for Pod {
    fn signal(&mut self, rx: Received) {
        let now = Instant::now();
        let stop = rx.sig == libc::SIGTERM || rx.sig == libc::SIGINT;
        log::debug!("received {} from pid {}", signals::name(rx.sig), rx.from);
        match (&self.flavor, self.phase) {
            (_, Phase::Done(_)) => {}
            (_, Phase::Terminating { cause, deadline, killed_at: None, .. }) if stop => {
                log::warn!("second {}: skipping the grace period", signals::name(rx.sig));
                let _ = deadline;
                self.phase = Phase::Terminating { cause, deadline: now, swept: false, killed_at: None };
            }
            (Flavor::Pause, _) if stop => self.begin_stop(Cause::Signal, now),
            (Flavor::Pause, _) => {}
            (Flavor::Pod, _) if stop => self.begin_stop(Cause::Signal, now),
            _ if signals::is_forwardable(rx.sig) => self.forward(rx.sig),
            _ => {}
        }
    }

    fn exited(&mut self, pid: i32, status: ExitStatus) {
        let now = Instant::now();
        let Some(i) = self.units.iter().position(|u| u.pid() == Some(pid)) else {
            match self.flavor {
                Flavor::Init { warn_reaped: true, .. } => log::warn!("reaped zombie pid {pid} ({status})"),
                _ => log::debug!("reaped pid {pid} ({status})"),
            }
            return;
        };
        let timed_out = matches!(self.units[i].state, State::Running { kill_at: Some(k), .. } if now >= k);
        let reason = if timed_out { Reason::Timeout } else { Reason::Error };
        self.finished(i, status, reason, now);
    }

    fn tick(&mut self, now: Instant) {
        if let Some(limit) = self.settings.active_deadline {
            if now >= self.started + limit && !matches!(self.phase, Phase::Terminating { .. } | Phase::Done(_)) {
                log::warn!("active_deadline of {} exceeded; stopping the pod", fmt_secs(limit));
                self.begin_stop(Cause::Deadline, now);
            }
        }
        // Timers of individual entries.
        for i in 0..self.units.len() {
            match self.units[i].state {
                State::Running { pid, kill_at: Some(k), .. } if now >= k && !self.units[i].stop_sent => {
                    log::warn!("{}: timed out; sending SIGKILL", self.units[i].name());
                    self.units[i].stop_sent = true;
                    let _ = signals::send(-pid, libc::SIGKILL);
                }
                State::BackOff { until } if now >= until && !matches!(self.phase, Phase::Terminating { .. }) => {
                    self.units[i].restarts += 1;
                    self.units[i].stop_sent = false;
                    self.start(i, now);
                }
                _ => {}
            }
        }
        // One step may lead to the next (init done → apps start → an app fails at
        // once → pod finished), so each check sees the phase the previous one left.
        if let Phase::Initializing { step } = self.phase {
            self.advance_init(step, now);
        }
        if self.phase == Phase::Running {
            self.check_finished(now);
        }
        if matches!(self.phase, Phase::Terminating { .. }) {
            self.advance_stop(now);
        }
        self.write_status();
    }

    fn deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut at = |t: Instant| d = Some(d.map_or(t, |x| x.min(t)));
        if let Some(limit) = self.settings.active_deadline {
            at(self.started + limit);
        }
        for u in &self.units {
            match u.state {
                State::Running { kill_at: Some(k), .. } if !u.stop_sent => at(k),
                State::BackOff { until } => at(until),
                _ => {}
            }
        }
        if let Phase::Terminating { deadline, killed_at, .. } = self.phase {
            match killed_at {
                None => at(deadline),
                Some(k) => at(k + KILL_WAIT),
            }
        }
        d
    }

    fn exit_code(&self) -> Option<i32> {
        match self.phase {
            Phase::Done(code) => Some(code),
            _ => None,
        }
    }
}

/// Seconds since the epoch (wall clock, for display only).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// "1.2s", "20s", "5m" — durations in log lines.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 && d.subsec_millis() != 0 {
        format!("{s:.1}s")
    } else if d.as_secs() < 120 || d.as_secs() % 60 != 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}m", d.as_secs() / 60)
    }
}
