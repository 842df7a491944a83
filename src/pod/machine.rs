//! The pod state machine: init steps in order, then apps and sidecars under
//! supervision, then a graceful stop. Init mode and pause mode are the same
//! machine with one app and with none ([`Flavor`]).
//!
//! ```text
//! Initializing(step) ──► Running ──► Terminating ──► Done(exit code)
//!        │                                ▲
//!        └── SIGTERM / deadline / failure ┘
//! ```
//!
//! Sans-IO, as quinn-proto and h2 are: [`PodMachine::handle`] takes an [`Event`] and
//! the time, and pushes [`Effect`]s for the runtime ([`crate::pod::runtime`]) to
//! carry out. No syscalls, no clock reads: the only side channel is the `log`
//! facade. The outcome of an effect that has one (a spawn's pid, a probe
//! attempt's result) comes back as another event, so every Kubernetes rule
//! here is testable as a table without root or processes (`machine_tests.rs`).

use std::time::{Duration, Instant};

use crate::config::{Backoff, Kind, RestartPolicy};
pub(crate) use crate::pod::event::{Effect, Event, Proc, SpawnFailure};
use crate::pod::events::{EventType, Events};
use crate::pod::protocol::{ConnId, Reply};
use crate::pod::timer::{Timer, UnitTimer};
use crate::pod::unit::{PerUnit, Reason, Unit, UnitId};
use crate::sys::event_loop::Change;
use crate::sys::reaper::ExitStatus;

/// How long to wait for SIGKILLed processes to be reaped before exiting anyway
/// (a process in uninterruptible sleep must not keep the container alive).
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(2);
/// status.json is rewritten on every change, but at most this often: a pod of
/// a hundred quick init steps changes state hundreds of times a second.
pub(crate) const STATUS_INTERVAL: Duration = Duration::from_millis(20);
/// A stop signal this soon after the first is the same request, not a second
/// one: Ctrl-C in a script that traps INT to `kill -TERM` podinit delivers
/// SIGINT (to the foreground group) and SIGTERM within milliseconds.
pub(crate) const STOP_REPEAT_WINDOW: Duration = Duration::from_secs(1);
/// Exit code of a pod stopped by `active_deadline` (as timeout(1)).
pub(crate) const DEADLINE_EXIT: i32 = 124;

/// The three modes that run the machine differ only in these rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Flavor {
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
pub(crate) struct Settings {
    /// The pod's name (POD_NAME).
    pub name: String,
    /// The pod's namespace (POD_NAMESPACE).
    pub namespace: String,
    /// Restart policy for apps and init steps.
    pub restart_policy: RestartPolicy,
    /// The restart back-off curve.
    pub backoff: Backoff,
    /// Limit on a graceful stop.
    pub grace: Duration,
    /// Optional limit on the pod's whole run.
    pub active_deadline: Option<Duration>,
    /// Emit [`Effect::WriteStatus`] on changes (there is a status file).
    pub status_file: bool,
    /// podinit's own pid: signals it sent itself are not relayed, and status shows it.
    pub pid: u32,
    /// Wall-clock start (unix seconds); the machine itself runs on `Instant`s.
    pub started_unix: u64,
}

impl Settings {
    /// A pod with no files of its own (init and pause mode): restart policy
    /// Never, no status file.
    pub(crate) fn without_files(name: &str, grace: Duration, pid: u32, started_unix: u64) -> Settings {
        Settings {
            name: name.to_string(),
            namespace: String::new(),
            restart_policy: RestartPolicy::Never,
            backoff: Backoff::default(),
            grace,
            active_deadline: None,
            status_file: false,
            pid,
            started_unix,
        }
    }
}

/// What made the pod stop; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// SIGTERM/SIGINT.
    Signal,
    /// active_deadline ran out.
    Deadline,
    /// Nothing will run again; the pod's own result.
    Finished(i32),
    /// An init step failed for good (restart_policy Never); its exit code.
    InitFailed(i32),
}

/// Where the pod is in its life. Not Kubernetes' pod phase (Pending,
/// Running, Succeeded, Failed), which `k8s_status.rs` derives from the
/// STATUS word ([`PodMachine::status_word`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Running init entry `step`.
    Initializing {
        /// The unit being waited for.
        step: UnitId,
    },
    /// Apps are up.
    Running,
    /// Stopping; `deadline` is the end of the grace period.
    Terminating {
        /// Why.
        cause: Cause,
        /// End of the grace period.
        deadline: Instant,
        /// The final SIGTERM sweep has gone out.
        swept: bool,
        /// When SIGKILL went out to everything.
        killed_at: Option<Instant>,
    },
    /// Exit with `code`; `cause` says why, for the final status.
    Done {
        /// The exit status.
        code: i32,
        /// Why.
        cause: Cause,
    },
}

/// A control request that completes when unit `unit` has exited (or started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The unit.
    pub unit: UnitId,
    /// Who asked.
    pub conn: ConnId,
    /// What to do when it has stopped.
    pub then: Then,
}

/// What a pending control request does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// It is stopping: start it again (restart).
    Restart,
    /// It is stopping: keep it stopped (stop).
    Hold,
    /// It is starting: say with which pid.
    ReportStart,
}

/// The state machine.
#[derive(Debug)]
pub(crate) struct PodMachine {
    pub(crate) flavor: Flavor,
    pub(crate) settings: Settings,
    pub(crate) units: PerUnit<Unit>,
    pub(crate) stage: Stage,
    pub(crate) started: Instant,
    /// Exit code of the first app that failed for good.
    pub(crate) first_failure: Option<i32>,
    /// waitpid has said ECHILD since the last spawn.
    pub(crate) no_children: bool,
    /// Status needs rewriting.
    pub(crate) dirty: bool,
    /// When status was last written.
    pub(crate) status_written: Option<Instant>,
    /// Control requests waiting for an entry.
    pub(crate) pending: Vec<Pending>,
    /// [`Effect::Exit`] has gone out.
    pub(crate) exited: bool,
    /// When the first stop signal (SIGTERM/SIGINT) arrived.
    pub(crate) stop_signal_at: Option<Instant>,
    /// What `podinit describe` lists (bounded).
    pub(crate) events: Events,
    /// When each pod condition last changed: Initialized, ContainersReady, Ready
    /// (PodReadyToStartContainers is true from the start).
    pub(crate) conditions: [(bool, Instant); 3],
}

impl PodMachine {
    /// A pod over `units` (init entries first, in file order, then apps),
    /// starting at `now`. Nothing runs until the first [`Event::Tick`].
    pub(crate) fn new(flavor: Flavor, settings: Settings, units: PerUnit<Unit>, now: Instant) -> PodMachine {
        PodMachine {
            flavor,
            settings,
            stage: Stage::Initializing { step: UnitId::FIRST },
            units,
            started: now,
            first_failure: None,
            no_children: true,
            dirty: true,
            status_written: None,
            pending: Vec::new(),
            exited: false,
            stop_signal_at: None,
            events: Events::default(),
            conditions: [(false, now); 3],
        }
    }

    /// Records an event about unit `unit` (None: the pod).
    pub(crate) fn event(
        &mut self,
        now: Instant,
        kind: EventType,
        reason: &'static str,
        unit: Option<UnitId>,
        message: String,
    ) {
        self.events.record(now, kind, reason, unit, message);
    }

    /// The units, in pod-file order (init entries, then apps).
    pub(crate) fn units(&self) -> &PerUnit<Unit> {
        &self.units
    }

    /// Where the pod is.
    #[cfg(test)]
    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    /// Stops emitting [`Effect::WriteStatus`] (the runtime could not write it).
    pub(crate) fn disable_status(&mut self) {
        self.settings.status_file = false;
    }

    /// Feeds one event; the effects to carry out are appended to `out`, in
    /// order. Quiet when the event changed nothing but may have sent signals
    /// (a forwarded signal, a stranger's orphan): then there is nothing to
    /// settle, and the runtime need not tick.
    pub(crate) fn handle(&mut self, ev: Event, now: Instant, out: &mut Vec<Effect>) -> Change {
        if self.exited {
            return Change::Quiet;
        }
        let change = match ev {
            Event::Signal { sig, from } => self.signal(sig, from, now, out),
            Event::Exited { pid, status } => self.exited(pid, status, now, out),
            Event::Tick => {
                self.fire_due(now, out, |_| true);
                Change::Changed
            }
            Event::NoChildren => {
                self.no_children = true;
                Change::Changed
            }
            Event::Spawned { unit, proc, result } => {
                self.spawned(unit, proc, result, now, out);
                Change::Changed
            }
            Event::Probed(o) => {
                self.probed(o, now, out);
                Change::Changed
            }
            Event::Control { conn, req } => {
                self.request(conn, req, now, out);
                Change::Changed
            }
            Event::Notified { pid, ppid, msg } => match self.notified(pid, ppid, &msg) {
                true => Change::Changed,
                false => Change::Quiet,
            },
            Event::OomKilled { pid } => {
                self.oom_killed(pid);
                Change::Quiet
            }
        };
        if change == Change::Changed {
            self.settle(now, out);
            self.track_conditions(now);
        }
        change
    }

    pub(crate) fn is_app(&self, i: UnitId) -> bool {
        self.units[i].spec.kind == Kind::App
    }

    pub(crate) fn terminating(&self) -> bool {
        matches!(self.stage, Stage::Terminating { .. } | Stage::Done { .. })
    }

    /// Runs what every event may have made possible: the next init step, the
    /// apps, the pod's end, the stop's progress, the status file, the exit.
    /// One step may lead to the next (init done → apps start → an app fails at
    /// once → pod finished), so each check sees the stage the previous one left.
    fn settle(&mut self, now: Instant, out: &mut Vec<Effect>) {
        if let Stage::Initializing { step } = self.stage {
            self.advance_init(step, now, out);
        }
        if self.stage == Stage::Running {
            self.check_finished(now, out);
        }
        if matches!(self.stage, Stage::Terminating { .. }) {
            self.advance_stop(now, out);
        }
        if let Stage::Done { code, .. } = self.stage {
            // Pending requests learn the pod is gone.
            for p in std::mem::take(&mut self.pending) {
                out.push(Effect::Reply { conn: p.conn, reply: Reply::err("the pod stopped") });
            }
            if self.settings.status_file {
                out.push(Effect::WriteStatus);
            }
            out.push(Effect::Exit { code });
            self.exited = true;
            return;
        }
        // What any event may make due at once: a first probe attempt with no
        // initial delay, the status file. Other timers wait for their tick.
        self.fire_due(now, out, |t| matches!(t, Timer::Status | Timer::Unit(_, UnitTimer::Probe(_))));
    }

    /// When the next status write is due, if one is pending.
    pub(crate) fn status_due(&self) -> Option<Instant> {
        match (self.dirty && self.settings.status_file, self.status_written) {
            (true, Some(t)) => Some(t + STATUS_INTERVAL),
            (true, None) => Some(self.started),
            _ => None,
        }
    }

    /// A child was reaped: an entry's process, a hook, or somebody else's orphan.
    fn exited(&mut self, pid: i32, status: ExitStatus, now: Instant, out: &mut Vec<Effect>) -> Change {
        // No allocation on this path: reaping thousands of orphans must stay cheap.
        if let Some(i) = self.units.position(|u| u.pid() == Some(pid)) {
            self.finished(i, status, Reason::Error, now, out);
            return Change::Changed;
        }
        let is_hook = |u: &Unit| u.run().and_then(|r| r.hook).and_then(|h| h.pid) == Some(pid);
        if let Some(i) = self.units.position(is_hook) {
            self.hook_done(i, status, now, out);
            return Change::Changed;
        }
        if let Flavor::Init { warn_reaped: true, .. } = self.flavor {
            log::warn!("reaped zombie pid {pid} ({status})");
        } else {
            log::debug!("reaped pid {pid} ({status})");
        }
        Change::Quiet
    }
}

/// "0.2s", "20s", "5m" — durations in log lines (integer arithmetic: no float
/// formatting code in the binary).
pub(crate) fn fmt_secs(d: Duration) -> String {
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
