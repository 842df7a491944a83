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

use std::os::fd::{AsRawFd, RawFd};

use crate::config::{Entry, Kind, RestartPolicy};
use crate::pod::control::{self, ConnId, Reply, Request};
use crate::pod::log_prefix::{self, LogPipe};
use crate::pod::marker::MarkerStore;
use crate::pod::probe::{Prober, Verdict};
use crate::pod::status::{self, EntryStatus, PodStatus};
use crate::sys::event_loop::Handler;
use crate::sys::reaper::{self, ExitStatus};
use crate::sys::shutdown;
use crate::sys::signals::{self, Received};
use crate::sys::spawn::{self, Command};

/// First CrashLoopBackOff delay, doubled after each crash (Kubernetes).
const BACKOFF_START: Duration = Duration::from_secs(10);
/// Longest CrashLoopBackOff delay.
const BACKOFF_CAP: Duration = Duration::from_secs(300);
/// An entry that ran this long has its back-off reset.
const BACKOFF_RESET: Duration = Duration::from_secs(600);
/// How long to wait for SIGKILLed processes to be reaped before exiting anyway
/// (a process in uninterruptible sleep must not keep the container alive).
const KILL_WAIT: Duration = Duration::from_secs(2);
/// status.json is rewritten on every change, but at most this often: a pod of
/// a hundred quick init steps changes state hundreds of times a second.
const STATUS_INTERVAL: Duration = Duration::from_millis(20);
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
    /// Prefix entries' output lines with `[name] `.
    pub log_prefix: bool,
}

impl Settings {
    /// A pod with no files of its own (init and pause mode): restart policy
    /// Never, no markers, no status file, output passed straight through.
    pub fn without_files(name: &str, grace: Duration) -> Settings {
        Settings {
            name: name.to_string(),
            namespace: String::new(),
            restart_policy: RestartPolicy::Never,
            grace,
            active_deadline: None,
            markers: None,
            state_dir: None,
            log_prefix: false,
        }
    }
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
    fn label(self) -> &'static str {
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
struct Stop {
    deadline: Instant,
    /// The stop signal has gone out (after pre_stop, if any).
    signalled: bool,
    /// SIGKILL has gone out.
    killed: bool,
}

/// A lifecycle hook's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hook {
    PostStart(i32),
    PreStop(i32),
}

/// The probes of one running entry, created afresh at every start.
#[derive(Debug, Default)]
struct Probes {
    startup: Option<Prober>,
    readiness: Option<Prober>,
    liveness: Option<Prober>,
    /// `wait_for` of an init step.
    waiter: Option<Prober>,
}

impl Probes {
    fn all_mut(&mut self) -> impl Iterator<Item = &mut Prober> {
        [&mut self.startup, &mut self.readiness, &mut self.liveness, &mut self.waiter].into_iter().flatten()
    }

    fn all(&self) -> impl Iterator<Item = &Prober> {
        [&self.startup, &self.readiness, &self.liveness, &self.waiter].into_iter().flatten()
    }
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
    /// Why podinit is ending the current process, if it is.
    ending: Option<Reason>,
    /// A graceful stop in progress.
    stop: Option<Stop>,
    /// A hook process in progress.
    hook: Option<Hook>,
    /// post_start has finished and the startup probe (if any) has passed.
    started: bool,
    probes: Probes,
    /// Stopped through the control socket: not restarted until started again.
    held: bool,
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
            changed: crate::now_unix(),
            ending: None,
            stop: None,
            hook: None,
            started: false,
            probes: Probes::default(),
            held: false,
        }
    }

    fn pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Its process is alive or its waiter is polling.
    fn active(&self) -> bool {
        matches!(self.state, State::Running { .. } | State::Polling { .. })
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn set(&mut self, s: State) {
        self.state = s;
        self.changed = crate::now_unix();
    }

    /// Ready as Kubernetes means it: running, started, readiness probe passing.
    fn ready(&self) -> bool {
        self.pid().is_some()
            && self.started
            && self.stop.is_none()
            && self.probes.readiness.as_ref().map_or(true, |p| p.verdict() == Verdict::Passing)
    }

    /// Done for good, in a way that lets the next init step start.
    fn init_done(&self) -> bool {
        match self.spec.kind {
            Kind::Sidecar => self.pid().is_some() && self.started,
            _ => matches!(self.state, State::Skipped | State::Terminated { reason: Reason::Completed, .. }),
        }
    }

    /// Whether an exit with `status` (ended for `reason`) calls for a restart.
    fn wants_restart(&self, status: ExitStatus, reason: Reason, policy: RestartPolicy) -> bool {
        let failed = !status.success() || matches!(reason, Reason::Liveness | Reason::Startup | Reason::PostStart);
        match self.spec.kind {
            Kind::Sidecar => true,
            Kind::Init => failed && policy != RestartPolicy::Never,
            Kind::App => match policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => failed,
                RestartPolicy::Never => false,
            },
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
    /// Nothing will run again; the pod's own result.
    Finished(i32),
    /// An init step failed for good (restart_policy Never); its exit code.
    InitFailed(i32),
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
    /// Exit with `code`; `cause` says why, for the final status.
    Done { code: i32, cause: Cause },
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
    /// Prefixed output streams still open.
    logs: Vec<LogPipe>,
    /// Status file needs rewriting.
    dirty: bool,
    /// When status.json was last written.
    status_written: Option<Instant>,
    /// Warned once that a marker could not be saved.
    marker_warned: bool,
    /// The control socket (pod mode only).
    control: Option<control::Server>,
    /// Control requests waiting for an entry to finish stopping.
    pending: Vec<Pending>,
}

/// A control request that completes when unit `unit` has exited.
#[derive(Debug, Clone, Copy)]
struct Pending {
    unit: usize,
    conn: ConnId,
    /// Start it again at once (restart) or keep it stopped (stop).
    restart: bool,
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
            started_unix: crate::now_unix(),
            first_failure: None,
            logs: Vec::new(),
            dirty: true,
            status_written: None,
            marker_warned: false,
            control: None,
            pending: Vec::new(),
        }
    }

    /// Runs without status file (its state_dir is unusable; already reported).
    pub fn without_status(mut self) -> Pod {
        self.settings.state_dir = None;
        self
    }

    /// Serves runtime control requests on `server` (pod mode).
    pub fn with_control(mut self, server: control::Server) -> Pod {
        self.control = Some(server);
        self
    }

    fn is_app(&self, i: usize) -> bool {
        self.units[i].spec.kind == Kind::App
    }

    fn terminating(&self) -> bool {
        matches!(self.phase, Phase::Terminating { .. } | Phase::Done { .. })
    }

    /// Starts unit `i` now; a start failure counts as an exit with 127/126.
    fn start(&mut self, i: usize, now: Instant) {
        self.dirty = true;
        let u = &mut self.units[i];
        u.ending = None;
        u.stop = None;
        u.hook = None;
        u.probes = Probes::default();
        if let Some(w) = &u.spec.wait_for {
            log::info!("{}: waiting for {}", u.name(), crate::pod::init_steps::describe(w));
            u.probes.waiter = Some(Prober::from_wait(w, now));
            let until = w.timeout.map(|t| now + t);
            u.set(State::Polling { since: now, until });
            return;
        }
        let mut cmd = u.cmd.clone();
        let mut ends = Vec::new();
        if self.settings.log_prefix {
            for dest in [1, 2] {
                match log_prefix::pipe(u.name(), dest) {
                    Ok((reader, writer)) => {
                        let slot = if dest == 1 { &mut cmd.stdout } else { &mut cmd.stderr };
                        *slot = Some(writer.as_raw_fd());
                        self.logs.push(reader);
                        ends.push(writer);
                    }
                    Err(e) => log::warn!("{}: no log pipe ({e}); output goes straight through", u.name()),
                }
            }
        }
        let result = spawn::spawn(&cmd);
        // Our copies of the write ends close here, so EOF comes when the child's do.
        drop(ends);
        match result {
            Ok(pid) => {
                log::info!("{}: started pid {pid}", u.name());
                let kill_at = if u.spec.kind == Kind::Init { u.spec.timeout.map(|t| now + t) } else { None };
                u.set(State::Running { pid, since: now, kill_at });
                u.started = u.spec.startup_probe.is_none() && u.spec.post_start.is_none();
                let s = &u.spec;
                u.probes.startup = s.startup_probe.as_ref().map(|p| Prober::from_probe("startup", p, now));
                u.probes.readiness = s.readiness_probe.as_ref().map(|p| Prober::from_probe("readiness", p, now));
                u.probes.liveness = s.liveness_probe.as_ref().map(|p| Prober::from_probe("liveness", p, now));
                if let Some(hook) = u.spec.post_start.clone() {
                    match spawn::spawn(&u.cmd.sibling(&hook)) {
                        Ok(hpid) => u.hook = Some(Hook::PostStart(hpid)),
                        Err(e) => {
                            log::warn!("{}: post_start hook: {e}; killing the app", u.name());
                            self.kill_unit(i, Reason::PostStart);
                        }
                    }
                }
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
        let terminating = self.terminating();
        let policy = self.settings.restart_policy;
        let quiet_flavor = matches!(self.flavor, Flavor::Init { .. });
        let u = &mut self.units[i];
        let ran = match u.state {
            State::Running { since, .. } | State::Polling { since, .. } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        let requested = matches!(u.ending, Some(Reason::User | Reason::Stopped));
        let reason = match (u.ending.take(), reason) {
            (Some(why), _) => why,
            (None, Reason::Error) if status.success() => Reason::Completed,
            (None, r) => r,
        };
        for p in u.probes.all_mut() {
            p.cancel();
        }
        u.stop = None;
        u.started = false;
        u.last_exit = Some((status, reason));
        // A hook outliving its entry has nothing left to act on.
        if let Some(Hook::PostStart(h) | Hook::PreStop(h)) = u.hook.take() {
            let _ = signals::send(-h, libc::SIGKILL);
        }
        // In init mode the child's exit is podinit's exit status, not news; an
        // exit podinit asked for (stop, restart) is not news either.
        let quiet = status.success() || terminating || quiet_flavor || requested;
        let level = if quiet { log::Level::Info } else { log::Level::Warn };
        let why = if matches!(reason, Reason::Completed | Reason::Error | Reason::Stopped) {
            String::new()
        } else {
            format!(" ({})", reason.label())
        };
        log::log!(level, "{}: {status}{why} after {}", u.name(), fmt_secs(ran));
        if ran >= BACKOFF_RESET {
            u.delay = BACKOFF_START;
        }
        if let Some(k) = self.pending.iter().position(|p| p.unit == i) {
            let p = self.pending.swap_remove(k);
            if !terminating {
                return self.complete(p, status, now);
            }
            self.reply(p.conn, Reply::err("the pod is stopping"));
        }
        let u = &mut self.units[i];
        if !terminating && u.wants_restart(status, reason, policy) {
            let delay = u.delay;
            u.delay = (u.delay * 2).min(BACKOFF_CAP);
            log::info!("{}: restarting in {}", u.name(), fmt_secs(delay));
            u.set(State::BackOff { until: now + delay });
            return;
        }
        u.set(State::Terminated { status, reason });
        let (kind, once, essential) = (u.spec.kind, u.spec.once, u.spec.essential);
        if kind == Kind::Init && reason == Reason::Completed && once && u.spec.wait_for.is_none() {
            self.save_marker(i);
        }
        if terminating {
            return;
        }
        let name = self.units[i].name();
        let failed = reason != Reason::Completed;
        match kind {
            Kind::Init if failed => {
                log::error!("{name}: init step failed and restart_policy is Never; the pod failed");
                self.begin_stop(Cause::InitFailed(status.code().max(1)), now);
            }
            Kind::App if essential => {
                log::warn!("{name}: essential app ended; stopping the pod");
                self.begin_stop(Cause::Finished(status.code()), now);
            }
            Kind::App if failed && self.first_failure.is_none() => {
                self.first_failure = Some(status.code().max(1));
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
                // Waiters keep no marker: the service may be gone after a restart.
                if u.spec.kind == Kind::Init && u.spec.once && u.spec.wait_for.is_none() && self.marker_matches(step) {
                    log::info!("{}: skipped (marker)", u.name());
                    self.units[step].set(State::Skipped);
                    self.dirty = true;
                    continue;
                }
                self.start(step, now);
                if self.terminating() {
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

    /// Starts a graceful stop of unit `i`: pre_stop (if any), then its stop
    /// signal; SIGKILL at `deadline`. `why` is shown as the exit's reason.
    fn end_unit(&mut self, i: usize, why: Reason, deadline: Instant, now: Instant) {
        let u = &mut self.units[i];
        if u.stop.is_some() {
            return;
        }
        self.dirty = true;
        if let State::Polling { .. } = u.state {
            u.ending = Some(why);
            return self.finished(i, ExitStatus::Code(1), why, now);
        }
        if u.pid().is_none() {
            return;
        }
        u.ending = Some(why);
        u.stop = Some(Stop { deadline, signalled: false, killed: false });
        for p in u.probes.all_mut() {
            p.cancel();
        }
        if let Some(Hook::PostStart(h)) = u.hook.take() {
            let _ = signals::send(-h, libc::SIGKILL);
        }
        if let (Some(hook), Kind::App | Kind::Sidecar) = (u.spec.pre_stop.clone(), u.spec.kind) {
            log::info!("{}: running pre_stop", u.name());
            match spawn::spawn(&u.cmd.sibling(&hook)) {
                Ok(h) => {
                    u.hook = Some(Hook::PreStop(h));
                    return;
                }
                Err(e) => log::warn!("{}: pre_stop hook: {e}", u.name()),
            }
        }
        self.signal_stop(i);
    }

    /// Kills unit `i` at once, without pre_stop (Kubernetes does the same when
    /// postStart fails): its whole process group gets SIGKILL.
    fn kill_unit(&mut self, i: usize, why: Reason) {
        let u = &mut self.units[i];
        let Some(pid) = u.pid() else { return };
        u.ending = Some(why);
        u.stop = Some(Stop { deadline: Instant::now(), signalled: true, killed: true });
        let _ = signals::send(-pid, libc::SIGKILL);
        self.dirty = true;
    }

    /// Sends unit `i` its stop signal (the step after pre_stop).
    fn signal_stop(&mut self, i: usize) {
        let u = &mut self.units[i];
        let (Some(pid), Some(stop)) = (u.pid(), u.stop.as_mut()) else { return };
        stop.signalled = true;
        let sig = u.spec.stop_signal;
        log::info!("{}: sending {}", u.spec.name, signals::name(sig));
        if let Err(e) = signals::send(pid, sig) {
            log::warn!("{}: cannot send {}: {e}", u.spec.name, signals::name(sig));
        }
    }

    /// Starts the graceful stop of the pod: apps and running init steps now,
    /// sidecars in reverse order once the apps are gone.
    fn begin_stop(&mut self, cause: Cause, now: Instant) {
        if self.terminating() {
            return;
        }
        self.dirty = true;
        if self.flavor == Flavor::Pause {
            self.phase = Phase::Done { code: 0, cause };
            return;
        }
        if cause == Cause::Signal || cause == Cause::Deadline {
            log::info!("stopping the pod (grace period {})", fmt_secs(self.settings.grace));
        }
        let deadline = now + self.settings.grace;
        self.phase = Phase::Terminating { cause, deadline, swept: false, killed_at: None };
        for i in 0..self.units.len() {
            let u = &mut self.units[i];
            match u.state {
                // Never started: it stays Waiting, as kubectl shows such a container.
                State::BackOff { .. } => {
                    let status = u.last_exit.map_or(ExitStatus::Code(0), |(s, _)| s);
                    u.set(State::Terminated { status, reason: Reason::Stopped });
                }
                State::Running { .. } | State::Polling { .. } if u.spec.kind != Kind::Sidecar => {
                    self.end_unit(i, Reason::Stopped, deadline, now);
                }
                _ => {}
            }
        }
    }

    /// Progress of the pod's stop; called on every tick while Terminating.
    fn advance_stop(&mut self, now: Instant) {
        let Phase::Terminating { cause, deadline, swept, killed_at } = self.phase else { return };
        if killed_at.is_none() && now >= deadline {
            log::warn!("grace period over; sending SIGKILL to everything left");
            for u in &mut self.units {
                if let Some(pid) = u.pid() {
                    let _ = signals::send(-pid, libc::SIGKILL);
                }
                if let Some(Hook::PreStop(h) | Hook::PostStart(h)) = u.hook {
                    let _ = signals::send(-h, libc::SIGKILL);
                }
            }
            shutdown::signal_rest(libc::SIGKILL);
            self.phase = Phase::Terminating { cause, deadline, swept: true, killed_at: Some(now) };
            return self.advance_stop(now);
        }
        if self.units.iter().any(|u| u.spec.kind != Kind::Sidecar && u.active()) {
            return;
        }
        // Apps are gone: stop sidecars one at a time, last declared first.
        if let Some(i) = self.units.iter().rposition(|u| u.spec.kind == Kind::Sidecar && u.active()) {
            self.end_unit(i, Reason::Stopped, deadline, now);
            return;
        }
        if !swept {
            if shutdown::signal_rest(libc::SIGTERM) > 0 {
                log::info!("sent SIGTERM to the remaining processes");
            }
            self.phase = Phase::Terminating { cause, deadline, swept: true, killed_at };
        }
        let gave_up = killed_at.is_some_and(|k| now >= k + KILL_WAIT);
        if !reaper::has_children() || gave_up {
            if gave_up {
                log::warn!("processes survived SIGKILL for {}; exiting anyway", fmt_secs(KILL_WAIT));
            }
            // Whatever the entries wrote last is still in the pipes.
            for p in &mut self.logs {
                p.pump();
            }
            self.phase = Phase::Done { code: self.exit_code_for(cause, killed_at.is_some()), cause };
            self.dirty = true;
        }
    }

    fn exit_code_for(&self, cause: Cause, killed: bool) -> i32 {
        let base = match cause {
            Cause::Signal => 0,
            Cause::Deadline => DEADLINE_EXIT,
            Cause::Finished(code) | Cause::InitFailed(code) => code,
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
        let mut apps = self.units.iter().filter(|u| u.spec.kind == Kind::App);
        // An app stopped by the user will be started again by the user.
        if !apps.all(|u| matches!(u.state, State::Terminated { .. }) && !u.held) {
            return;
        }
        let code = match self.flavor {
            // Init mode: the one app's own status.
            Flavor::Init { .. } => self.units.iter().rev().find_map(|u| u.last_exit).map_or(0, |(s, _)| s.code()),
            _ => {
                let code = self.first_failure.unwrap_or(0);
                log::info!("all apps have ended; the pod {}", if code == 0 { "completed" } else { "failed" });
                code
            }
        };
        self.begin_stop(Cause::Finished(code), now);
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

    /// Timers of unit `i`: probes, waiters, step timeouts, stop deadlines, back-off.
    fn tick_unit(&mut self, i: usize, now: Instant) {
        let terminating = self.terminating();
        let u = &mut self.units[i];
        match u.state {
            State::BackOff { until } if now >= until && !terminating => {
                u.restarts += 1;
                self.start(i, now);
                return;
            }
            State::Running { pid, kill_at: Some(k), .. } if now >= k && u.ending.is_none() => {
                log::warn!("{}: timed out; sending SIGKILL", u.name());
                u.ending = Some(Reason::Timeout);
                let _ = signals::send(-pid, libc::SIGKILL);
            }
            State::Polling { until: Some(t), .. } if now >= t => {
                log::warn!("{}: gave up waiting", u.name());
                return self.finished(i, ExitStatus::Code(1), Reason::Timeout, now);
            }
            _ => {}
        }
        if let Some(stop) = &mut u.stop {
            if now >= stop.deadline && !stop.killed {
                stop.killed = true;
                log::warn!("{}: still running at the end of its grace period; sending SIGKILL", u.spec.name);
                if let Some(pid) = u.pid() {
                    let _ = signals::send(-pid, libc::SIGKILL);
                }
                if let Some(Hook::PreStop(h)) = u.hook.take() {
                    let _ = signals::send(-h, libc::SIGKILL);
                }
            }
            return;
        }
        let name = u.spec.name.clone();
        let base = &u.cmd;
        let mut verdicts = Vec::new();
        if let Some(w) = &mut u.probes.waiter {
            verdicts.extend(w.tick(now, base, &name).map(|v| ("wait", v)));
        } else if !u.started {
            if let Some(p) = &mut u.probes.startup {
                verdicts.extend(p.tick(now, base, &name).map(|v| ("startup", v)));
            }
        } else {
            for p in [&mut u.probes.readiness, &mut u.probes.liveness].into_iter().flatten() {
                verdicts.extend(p.tick(now, base, &name).map(|v| (p.kind, v)));
            }
        }
        for (kind, v) in verdicts {
            self.probe_changed(i, kind, v, now);
        }
    }

    /// A probe (or the waiter) of unit `i` changed its verdict.
    fn probe_changed(&mut self, i: usize, kind: &str, v: Verdict, now: Instant) {
        self.dirty = true;
        let grace = self.settings.grace;
        let u = &mut self.units[i];
        match (kind, v) {
            ("wait", Verdict::Passing) => self.finished(i, ExitStatus::Code(0), Reason::Completed, now),
            ("startup", Verdict::Passing) => {
                log::info!("{}: startup probe passed", u.name());
                u.started = u.hook.is_none();
            }
            ("readiness", Verdict::Passing) => log::info!("{}: ready", u.name()),
            ("readiness", Verdict::Failing) => log::warn!("{}: not ready", u.name()),
            ("liveness", Verdict::Failing) => {
                log::warn!("{}: liveness probe failed; restarting it", u.name());
                self.end_unit(i, Reason::Liveness, now + grace, now);
            }
            ("startup", Verdict::Failing) => {
                log::warn!("{}: startup probe failed; restarting it", u.name());
                self.end_unit(i, Reason::Startup, now + grace, now);
            }
            _ => {}
        }
    }

    /// A hook process of unit `i` exited.
    fn hook_done(&mut self, i: usize, status: ExitStatus) {
        let u = &mut self.units[i];
        match u.hook.take() {
            Some(Hook::PostStart(_)) if status.success() => {
                u.started = u.probes.startup.as_ref().map_or(true, |p| p.verdict() == Verdict::Passing);
                self.dirty = true;
            }
            Some(Hook::PostStart(_)) => {
                log::warn!("{}: post_start hook {status}; killing the app", u.name());
                self.kill_unit(i, Reason::PostStart);
            }
            Some(Hook::PreStop(_)) => {
                log::info!("{}: pre_stop hook {status}", u.name());
                self.signal_stop(i);
            }
            None => {}
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
                    State::Running { .. } if u.stop.is_some() => "Terminating",
                    State::Running { .. } | State::Polling { .. } => "Running",
                    State::BackOff { .. } => "CrashLoopBackOff",
                    State::Skipped => "Skipped",
                    State::Terminated { .. } if u.held => "Stopped",
                    State::Terminated { reason: Reason::Completed, .. } => "Completed",
                    State::Terminated { reason: Reason::Stopped, .. } => "Terminated",
                    State::Terminated { .. } => "Error",
                };
                EntryStatus {
                    name: u.spec.name.clone(),
                    kind: kind(u.spec.kind).to_string(),
                    state: state.to_string(),
                    ready: if u.spec.kind == Kind::Init { None } else { Some(u.ready()) },
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
            updated_at: crate::now_unix(),
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
                } else if apps.clone().all(|u| u.ready()) {
                    "Running".into()
                } else {
                    "NotReady".into()
                }
            }
            Phase::Terminating { cause: Cause::Deadline, .. } => "DeadlineExceeded".into(),
            Phase::Terminating { cause: Cause::InitFailed(_), .. } => "Init:Error".into(),
            Phase::Terminating { .. } => "Terminating".into(),
            Phase::Done { cause: Cause::Deadline, .. } => "DeadlineExceeded".into(),
            Phase::Done { cause: Cause::InitFailed(_), .. } => "Init:Error".into(),
            Phase::Done { code: 0, .. } => "Completed".into(),
            Phase::Done { .. } => "Error".into(),
        }
    }

    /// When the next status write is due, if one is pending.
    fn status_due(&self) -> Option<Instant> {
        match (self.dirty, &self.settings.state_dir, self.status_written) {
            (true, Some(_), Some(t)) => Some(t + STATUS_INTERVAL),
            (true, Some(_), None) => Some(self.started),
            _ => None,
        }
    }

    fn write_status(&mut self, now: Instant) {
        let final_state = matches!(self.phase, Phase::Done { .. });
        match self.status_due() {
            Some(due) if now >= due || final_state => {}
            _ => return,
        }
        self.dirty = false;
        self.status_written = Some(now);
        let Some(dir) = &self.settings.state_dir else { return };
        if let Err(e) = status::write(dir, &self.status()) {
            log::warn!("status file disabled: {e}");
            self.settings.state_dir = None;
        }
    }
}

/// Runtime control: `podinit restart|stop|start|kill NAME` and live status.
impl Pod {
    fn reply(&mut self, conn: ConnId, r: Reply) {
        if let Some(c) = &mut self.control {
            c.reply(conn, r);
        }
    }

    /// Acts on one request; replies now, or once the entry has stopped.
    fn handle(&mut self, conn: ConnId, req: Request, now: Instant) {
        let name = match &req {
            Request::Status => {
                let st = self.status();
                return self.reply(conn, Reply { ok: true, message: "live".into(), status: Some(st) });
            }
            Request::Restart(n) | Request::Stop(n) | Request::Start(n) | Request::Kill(n, _) => n.clone(),
        };
        let Some(i) = self.units.iter().position(|u| u.spec.name == name) else {
            let names: Vec<&str> = self.units.iter().filter(|u| u.spec.kind != Kind::Init).map(|u| u.name()).collect();
            return self
                .reply(conn, Reply::err(format!("no app or sidecar named '{name}' (have: {})", names.join(", "))));
        };
        if self.units[i].spec.kind == Kind::Init {
            return self.reply(
                conn,
                Reply::err(format!("'{name}' is an init step; only apps and sidecars can be controlled")),
            );
        }
        if self.terminating() {
            return self.reply(conn, Reply::err("the pod is stopping"));
        }
        if self.pending.iter().any(|p| p.unit == i) {
            return self
                .reply(conn, Reply::err(format!("'{name}' is already being stopped; try again when it is done")));
        }
        self.dirty = true;
        let grace = self.settings.grace;
        let u = &mut self.units[i];
        match req {
            Request::Kill(_, sig) => match u.pid() {
                Some(pid) => {
                    let r = match signals::send(pid, sig) {
                        Ok(()) => Reply::ok(format!("sent {} to {name} (pid {pid})", signals::name(sig))),
                        Err(e) => Reply::err(format!("cannot signal {name}: {e}")),
                    };
                    self.reply(conn, r);
                }
                None => self.reply(conn, Reply::err(format!("'{name}' is not running"))),
            },
            Request::Restart(_) | Request::Stop(_) if u.pid().is_some() => {
                let restart = matches!(req, Request::Restart(_));
                log::info!("{name}: {} requested", if restart { "restart" } else { "stop" });
                self.pending.push(Pending { unit: i, conn, restart });
                self.end_unit(i, Reason::User, now + grace, now);
            }
            Request::Stop(_) => {
                u.held = true;
                let status = u.last_exit.map_or(ExitStatus::Code(0), |(s, _)| s);
                u.set(State::Terminated { status, reason: Reason::User });
                self.reply(conn, Reply::ok(format!("{name} stopped (it was not running)")));
            }
            Request::Start(_) if u.pid().is_some() => {
                let pid = u.pid().unwrap_or_default();
                self.reply(conn, Reply::ok(format!("{name} is already running (pid {pid})")));
            }
            Request::Restart(_) | Request::Start(_) => {
                u.held = false;
                self.start_now(i, conn, now);
            }
            Request::Status => {}
        }
    }

    /// Starts unit `i` at once (no back-off) and tells `conn` the outcome.
    fn start_now(&mut self, i: usize, conn: ConnId, now: Instant) {
        let u = &mut self.units[i];
        if u.last_exit.is_some() {
            u.restarts += 1;
        }
        u.delay = BACKOFF_START;
        self.start(i, now);
        let u = &self.units[i];
        let r = match u.pid() {
            Some(pid) => Reply::ok(format!("{} started (pid {pid})", u.name())),
            None => Reply::err(format!("{} failed to start", u.name())),
        };
        self.reply(conn, r);
    }

    /// A restart or stop request's entry has exited.
    fn complete(&mut self, p: Pending, status: ExitStatus, now: Instant) {
        if p.restart {
            return self.start_now(p.unit, p.conn, now);
        }
        let u = &mut self.units[p.unit];
        u.held = true;
        u.set(State::Terminated { status, reason: Reason::User });
        let msg = format!("{} stopped ({status})", u.name());
        self.reply(p.conn, Reply::ok(msg));
    }
}

impl Handler for Pod {
    fn signal(&mut self, rx: Received) {
        let now = Instant::now();
        let stop = rx.sig == libc::SIGTERM || rx.sig == libc::SIGINT;
        log::debug!("received {} from pid {}", signals::name(rx.sig), rx.from);
        // Signals podinit raised itself (SIGPIPE when whoever reads its stdout
        // went away) never get here: the event loop drops them without a getpid().
        match (&self.flavor, self.phase) {
            (_, Phase::Done { .. }) => {}
            (_, Phase::Terminating { cause, killed_at: None, .. }) if stop => {
                log::warn!("second {}: skipping the grace period", signals::name(rx.sig));
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
        for i in 0..self.units.len() {
            let u = &mut self.units[i];
            if u.pid() == Some(pid) {
                return self.finished(i, status, Reason::Error, now);
            }
            if matches!(u.hook, Some(Hook::PostStart(h) | Hook::PreStop(h)) if h == pid) {
                return self.hook_done(i, status);
            }
            let name = u.spec.name.clone();
            let owner = u.probes.all_mut().find(|p| p.owns(pid));
            if let Some(p) = owner {
                // An exec probe's child: its verdict may or may not have changed.
                let changed = p.exited(pid, status, now, &name).map(|v| (p.kind, v));
                if let Some((kind, v)) = changed {
                    self.probe_changed(i, kind, v, now);
                }
                return;
            }
        }
        match self.flavor {
            Flavor::Init { warn_reaped: true, .. } => log::warn!("reaped zombie pid {pid} ({status})"),
            _ => log::debug!("reaped pid {pid} ({status})"),
        }
    }

    fn tick(&mut self, now: Instant) {
        if let Some(limit) = self.settings.active_deadline {
            if now >= self.started + limit && !self.terminating() {
                log::warn!("active_deadline of {} exceeded; stopping the pod", fmt_secs(limit));
                self.begin_stop(Cause::Deadline, now);
            }
        }
        for i in 0..self.units.len() {
            self.tick_unit(i, now);
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
        if let Some(c) = &mut self.control {
            c.expire(now);
        }
        if let Phase::Done { .. } = self.phase {
            // Pending requests learn the pod is gone; the socket goes with it.
            for p in std::mem::take(&mut self.pending) {
                self.reply(p.conn, Reply::err("the pod stopped"));
            }
            if let Some(c) = self.control.take() {
                c.remove();
            }
        }
        self.write_status(now);
    }

    fn deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut at = |t: Instant| d = Some(d.map_or(t, |x| x.min(t)));
        if let Some(limit) = self.settings.active_deadline {
            if !self.terminating() {
                at(self.started + limit);
            }
        }
        for u in &self.units {
            match u.state {
                State::Running { kill_at: Some(k), .. } if u.ending.is_none() => at(k),
                State::Polling { until: Some(t), .. } => at(t),
                State::BackOff { until } => at(until),
                _ => {}
            }
            match u.stop {
                Some(s) if !s.killed => at(s.deadline),
                Some(_) => {}
                None => u.probes.all().for_each(|p| at(p.deadline())),
            }
        }
        if let Phase::Terminating { deadline, killed_at, .. } = self.phase {
            match killed_at {
                None => at(deadline),
                Some(k) => at(k + KILL_WAIT),
            }
        }
        if let Some(t) = self.control.as_ref().and_then(|c| c.deadline()) {
            at(t);
        }
        if let Some(t) = self.status_due() {
            at(t);
        }
        d
    }

    fn fds(&self, out: &mut Vec<libc::pollfd>) {
        if let Some(c) = &self.control {
            c.fds(out);
        }
        for p in &self.logs {
            out.push(libc::pollfd { fd: p.fd(), events: libc::POLLIN, revents: 0 });
        }
        for u in &self.units {
            u.probes.all().for_each(|p| p.fds(out));
        }
    }

    fn ready(&mut self, fd: RawFd, _revents: i16) {
        let now = Instant::now();
        if let Some(c) = self.control.as_mut().filter(|c| c.owns(fd)) {
            for (conn, req) in c.ready(fd, now) {
                self.handle(conn, req, now);
            }
            return;
        }
        if let Some(i) = self.logs.iter().position(|p| p.fd() == fd) {
            if !self.logs[i].pump() {
                self.logs.swap_remove(i);
            }
            return;
        }
        for i in 0..self.units.len() {
            let u = &mut self.units[i];
            let name = u.spec.name.clone();
            let changed = u.probes.all_mut().find_map(|p| p.ready(fd, now, &name).map(|v| (p.kind, v)));
            if let Some((kind, v)) = changed {
                return self.probe_changed(i, kind, v, now);
            }
        }
    }

    fn exit_code(&self) -> Option<i32> {
        match self.phase {
            Phase::Done { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// "0.2s", "20s", "5m" — durations in log lines (integer arithmetic: no float
/// formatting code in the binary).
pub fn fmt_secs(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 10 && d.subsec_millis() != 0 {
        format!("{secs}.{}s", d.subsec_millis() / 100)
    } else if secs < 120 || secs % 60 != 0 {
        format!("{secs}s")
    } else {
        format!("{}m", secs / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_log_lines() {
        assert_eq!(fmt_secs(Duration::from_millis(1234)), "1.2s");
        assert_eq!(fmt_secs(Duration::from_millis(50)), "0.0s");
        assert_eq!(fmt_secs(Duration::from_secs(20)), "20s");
        assert_eq!(fmt_secs(Duration::from_secs(300)), "5m");
        assert_eq!(fmt_secs(Duration::from_secs(130)), "130s");
    }
}
