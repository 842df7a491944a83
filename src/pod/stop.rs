//! Stopping: one entry (pre_stop, stop signal, SIGKILL at its deadline), and
//! the whole pod (apps in parallel, then sidecars in reverse order, then the
//! final sweep of everything else), plus what a signal to podinit means.

use std::time::Instant;

use crate::config::Kind;
use crate::pod::event::{Effect, Proc};
use crate::pod::events::EventType;
use crate::pod::machine::{fmt_secs, Cause, Flavor, PodMachine, Stage, DEADLINE_EXIT, KILL_WAIT, STOP_REPEAT_WINDOW};
use crate::pod::unit::{HookKind, HookProc, KillTarget, Reason, State, Stop, UnitId};
use crate::sys::event_loop::Change;
use crate::sys::reaper::ExitStatus;
use crate::sys::signals::{self, SigNum};

impl PodMachine {
    /// Starts a graceful stop of unit `i`: pre_stop (if any), then its stop
    /// signal; SIGKILL at `deadline`. `why` is shown as the exit's reason.
    pub(crate) fn end_unit(&mut self, i: UnitId, why: Reason, deadline: Instant, now: Instant, out: &mut Vec<Effect>) {
        let u = &mut self.units[i];
        let r = match &mut u.state {
            State::Polling(_) => {
                self.dirty = true;
                return self.finished(i, ExitStatus::Code(1), why, now, out);
            }
            State::Running(r) if r.stop.is_none() => r,
            _ => return,
        };
        self.dirty = true;
        r.stop = Some(Stop { reason: why, deadline, killed: false });
        if r.probes.any() {
            out.push(Effect::CancelProbes { unit: i });
        }
        if let Some(h) = r.hook.take_if(|h| h.kind == HookKind::PostStart) {
            out.extend(h.pid.map(Effect::kill_group));
        }
        let msg = killing_message(&u.spec.name, why);
        if u.spec.pre_stop.is_some() && u.spec.kind != Kind::Init {
            log::info!("{}: running pre_stop", u.spec.name);
            r.hook = Some(HookProc::asked(HookKind::PreStop));
            out.push(Effect::Spawn { unit: i, proc: Proc::Hook(HookKind::PreStop) });
            self.event(now, EventType::Normal, "Killing", Some(i), msg);
            return;
        }
        self.event(now, EventType::Normal, "Killing", Some(i), msg);
        self.signal_stop(i, out);
    }

    /// Kills unit `i` at once, without pre_stop (Kubernetes does the same when
    /// postStart fails): its whole process group gets SIGKILL.
    pub(crate) fn kill_unit(&mut self, i: UnitId, why: Reason, now: Instant, out: &mut Vec<Effect>) {
        let Some(r) = self.units[i].run_mut() else { return };
        r.stop = Some(Stop { reason: why, deadline: now, killed: true });
        out.push(Effect::kill_group(r.pid));
        self.dirty = true;
        let msg = killing_message(&self.units[i].spec.name, why);
        self.event(now, EventType::Normal, "Killing", Some(i), msg);
    }

    /// Sends unit `i` its stop signal (the step after pre_stop).
    pub(crate) fn signal_stop(&mut self, i: UnitId, out: &mut Vec<Effect>) {
        let u = &self.units[i];
        let Some(r) = u.run().filter(|r| r.stop.is_some()) else { return };
        let sig = u.spec.stop_signal;
        log::info!("{}: sending {}", u.spec.name, signals::name(sig));
        out.push(Effect::Kill { target: KillTarget::Process(r.pid), sig });
    }

    /// Starts the graceful stop of the pod: apps and running init steps now,
    /// sidecars in reverse order once the apps are gone.
    pub(crate) fn begin_stop(&mut self, cause: Cause, now: Instant, out: &mut Vec<Effect>) {
        if self.terminating() {
            return;
        }
        self.dirty = true;
        if self.flavor == Flavor::Pause {
            self.stage = Stage::Done { code: 0, cause };
            return;
        }
        if cause == Cause::Signal || cause == Cause::Deadline {
            log::info!("stopping the pod (grace period {})", fmt_secs(self.settings.grace));
        }
        let deadline = now + self.settings.grace;
        self.stage = Stage::Terminating { cause, deadline, swept: false, killed_at: None };
        for i in self.units.ids() {
            let u = &mut self.units[i];
            match u.state {
                // Never started: it stays Waiting, as kubectl shows such a container.
                State::BackOff { .. } => {
                    let status = u.last_exit.map_or(ExitStatus::Code(0), |(s, _)| s);
                    u.set(State::Terminated { status, reason: Reason::Stopped, held: false }, now);
                }
                State::Running(_) | State::Polling(_) if u.spec.kind != Kind::Sidecar => {
                    self.end_unit(i, Reason::Stopped, deadline, now, out);
                }
                _ => {}
            }
        }
    }

    /// Progress of the pod's stop; runs after every event while Terminating.
    pub(crate) fn advance_stop(&mut self, now: Instant, out: &mut Vec<Effect>) {
        let Stage::Terminating { cause, deadline, swept, killed_at } = self.stage else { return };
        if killed_at.is_none() && now >= deadline {
            log::warn!("grace period over; sending SIGKILL to everything left");
            for r in self.units.iter().filter_map(|u| u.run()) {
                out.push(Effect::kill_group(r.pid));
                out.extend(r.hook.and_then(|h| h.pid).map(Effect::kill_group));
            }
            out.push(Effect::SignalRest { sig: libc::SIGKILL });
            self.stage = Stage::Terminating { cause, deadline, swept: true, killed_at: Some(now) };
            return self.advance_stop(now, out);
        }
        // Whatever is left survived SIGKILL (uninterruptible sleep): it must
        // not keep the container alive, nor the loop awake.
        if killed_at.is_some_and(|k| now >= k + KILL_WAIT) {
            if !self.no_children {
                log::warn!("processes survived SIGKILL for {}; exiting anyway", fmt_secs(KILL_WAIT));
            }
            self.stage = Stage::Done { code: self.exit_code_for(cause, true), cause };
            self.dirty = true;
            return;
        }
        if self.units.iter().any(|u| u.spec.kind != Kind::Sidecar && u.active()) {
            return;
        }
        // Apps are gone: stop sidecars one at a time, last declared first.
        if let Some(i) = self.units.rposition(|u| u.spec.kind == Kind::Sidecar && u.active()) {
            if !self.units[i].stopping() {
                self.end_unit(i, Reason::Stopped, deadline, now, out);
            }
            return;
        }
        if !swept {
            out.push(Effect::SignalRest { sig: libc::SIGTERM });
            self.stage = Stage::Terminating { cause, deadline, swept: true, killed_at };
            // The runtime answers NoChildren if the sweep found nobody.
            return;
        }
        if self.no_children {
            self.stage = Stage::Done { code: self.exit_code_for(cause, killed_at.is_some()), cause };
            self.dirty = true;
        }
    }

    /// The exit code for a stop caused by `cause`; `killed`: SIGKILL was needed.
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
    pub(crate) fn check_finished(&mut self, now: Instant, out: &mut Vec<Effect>) {
        if self.flavor == Flavor::Pause {
            return;
        }
        let mut apps = self.units.iter().filter(|u| u.spec.kind == Kind::App);
        // An app stopped by the user will be started again by the user.
        if !apps.all(|u| matches!(u.state, State::Terminated { held: false, .. })) {
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
        self.begin_stop(Cause::Finished(code), now, out);
    }

    /// A signal for podinit: stop, skip the grace period, forward, or ignore.
    pub(crate) fn signal(&mut self, sig: SigNum, from: i32, now: Instant, out: &mut Vec<Effect>) -> Change {
        let stop = sig == libc::SIGTERM || sig == libc::SIGINT;
        // Raised by podinit's own syscalls (SIGPIPE when whoever reads its stdout
        // went away): about podinit, not a request to relay to the apps.
        if from == self.settings.pid as i32 {
            return Change::Quiet;
        }
        match (&self.flavor, self.stage) {
            (_, Stage::Done { .. }) => Change::Quiet,
            (_, Stage::Terminating { .. })
                if stop && self.stop_signal_at.is_some_and(|t| now < t + STOP_REPEAT_WINDOW) =>
            {
                log::info!("{}: already stopping", signals::name(sig));
                Change::Quiet
            }
            (_, Stage::Terminating { cause, killed_at: None, .. }) if stop => {
                log::warn!("second {}: skipping the grace period", signals::name(sig));
                self.stage = Stage::Terminating { cause, deadline: now, swept: false, killed_at: None };
                Change::Changed
            }
            (Flavor::Pause | Flavor::Pod, _) if stop => {
                self.stop_signal_at = Some(now);
                self.begin_stop(Cause::Signal, now, out);
                Change::Changed
            }
            (Flavor::Pause, _) => Change::Quiet,
            _ if signals::is_forwardable(sig) => {
                self.forward(sig, out);
                Change::Quiet
            }
            _ => Change::Quiet,
        }
    }

    /// Forwards a signal to the process(es) it is meant for: init mode's one
    /// child (or its group), or every running app and sidecar of a pod that is
    /// not being stopped. A stopping entry gets its stop signal and SIGKILL
    /// only: the SIGHUP of a terminal that hangs up after Ctrl-C must not kill
    /// an app in the middle of its graceful stop.
    fn forward(&self, sig: SigNum, out: &mut Vec<Effect>) {
        let group = matches!(self.flavor, Flavor::Init { kill_group: true, .. });
        for u in &self.units {
            if let Some(pid) = u.pid() {
                if self.flavor == Flavor::Pod && (u.spec.kind == Kind::Init || u.stopping()) {
                    continue;
                }
                let target = if group { KillTarget::Group(pid) } else { KillTarget::Process(pid) };
                out.push(Effect::Kill { target, sig });
            }
        }
    }
}

/// The Killing event's message, the kubelet's words for each cause.
fn killing_message(name: &str, why: Reason) -> String {
    match why {
        Reason::Liveness => format!("Container {name} failed liveness probe, will be restarted"),
        Reason::Startup => format!("Container {name} failed startup probe, will be restarted"),
        Reason::PostStart => format!("Container {name} failed its post_start hook, will be killed"),
        _ => format!("Stopping container {name}"),
    }
}
