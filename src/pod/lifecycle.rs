//! An entry's life in the machine: start, spawn outcome, exit and what
//! follows it (restart with back-off, marker, pod failure), the init sequence,
//! per-entry timers, probes and hooks.

use std::time::{Duration, Instant};

use crate::config::Kind;
use crate::pod::control::Reply;
use crate::pod::event::{Effect, Proc, SpawnFailure};
use crate::pod::machine::{fmt_secs, Cause, Flavor, Phase, Pod, Then};
use crate::pod::probe::{Outcome, ProbeKind, Verdict};
use crate::pod::unit::{Hook, Probes, Reason, State, BACKOFF_CAP, BACKOFF_RESET, BACKOFF_START};
use crate::sys::reaper::ExitStatus;

impl Pod {
    /// Asks for unit `i` to start now: its waiter begins polling, or its
    /// process is spawned (the pid comes back as [`Event::Spawned`]).
    pub(crate) fn start(&mut self, i: usize, now: Instant, out: &mut Vec<Effect>) {
        self.dirty = true;
        let u = &mut self.units[i];
        u.ending = None;
        u.stop = None;
        u.hook = None;
        u.started = false;
        if let Some(w) = &u.spec.wait_for {
            log::info!("{}: waiting for {}", u.name(), crate::pod::init_steps::describe(w));
            u.probes = Probes::waiter(w, now);
            let until = w.timeout.map(|t| now + t);
            u.set(State::Polling { since: now, until }, now);
            return;
        }
        u.probes = Probes::default();
        u.set(State::Starting { since: now }, now);
        out.push(Effect::Spawn { unit: i, proc: Proc::Main });
    }

    /// The outcome of a spawn.
    pub(crate) fn spawned(
        &mut self,
        i: usize,
        proc: Proc,
        result: Result<i32, SpawnFailure>,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        let Some(u) = self.units.get_mut(i) else { return };
        self.dirty = true;
        match (proc, result) {
            (Proc::Main, Ok(pid)) => {
                self.no_children = false;
                log::info!("{}: started pid {pid}", u.name());
                let kill_at = if u.spec.kind == Kind::Init { u.spec.timeout.map(|t| now + t) } else { None };
                u.set(State::Running { pid, since: now, kill_at }, now);
                u.started = u.spec.startup_probe.is_none() && u.spec.post_start.is_none();
                u.probes = Probes::for_entry(&u.spec, now);
                if u.spec.post_start.is_some() {
                    u.hook = Some(Hook::PostStart(0));
                    out.push(Effect::Spawn { unit: i, proc: Proc::PostStart });
                }
                self.report_start(i, out);
                if self.terminating() {
                    // Started while the pod began to stop (an app that starts
                    // with its siblings after one of them ended the pod).
                    let deadline = match self.phase {
                        Phase::Terminating { deadline, .. } => deadline,
                        _ => now,
                    };
                    self.end_unit(i, Reason::Stopped, deadline, now, out);
                }
            }
            (Proc::Main, Err(f)) => {
                // Init mode names its one entry after the command, which the message names already.
                if f.message.starts_with(&format!("{}:", u.name())) {
                    log::error!("{}", f.message);
                } else {
                    log::error!("{}: {}", u.name(), f.message);
                }
                self.finished(i, ExitStatus::Code(f.code), Reason::StartFailed, now, out);
                self.report_start(i, out);
            }
            (Proc::PostStart | Proc::PreStop, Ok(pid)) => {
                self.no_children = false;
                u.hook = u.hook.map(|h| match h {
                    Hook::PostStart(_) => Hook::PostStart(pid),
                    Hook::PreStop(_) => Hook::PreStop(pid),
                });
            }
            (Proc::PostStart, Err(f)) => {
                u.hook = None;
                log::warn!("{}: post_start hook: {}; killing the app", u.name(), f.message);
                self.kill_unit(i, Reason::PostStart, now, out);
            }
            (Proc::PreStop, Err(f)) => {
                u.hook = None;
                log::warn!("{}: pre_stop hook: {}", u.name(), f.message);
                self.signal_stop(i, out);
            }
        }
    }

    /// Unit `i`'s process ended (or could not start): record it and decide what comes next.
    pub(crate) fn finished(
        &mut self,
        i: usize,
        status: ExitStatus,
        reason: Reason,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
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
        if u.probes.all().next().is_some() {
            out.push(Effect::CancelProbes { unit: i });
        }
        u.probes = Probes::default();
        u.stop = None;
        u.started = false;
        u.last_exit = Some((status, reason));
        // A hook outliving its entry has nothing left to act on.
        if let Some(h) = u.hook.take() {
            if h.pid() > 0 {
                out.push(Effect::Kill { pid: -h.pid(), sig: libc::SIGKILL });
            }
        }
        // In init mode the child's exit is podinit's exit status, not news; an
        // exit podinit asked for (stop, restart) is not news either.
        let quiet = status.success() || terminating || quiet_flavor || requested;
        let level = if quiet { log::Level::Info } else { log::Level::Warn };
        if log::log_enabled!(level) {
            let why = if matches!(reason, Reason::Completed | Reason::Error | Reason::Stopped) {
                String::new()
            } else {
                format!(" ({})", reason.label())
            };
            log::log!(level, "{}: {status}{why} after {}", u.name(), fmt_secs(ran));
        }
        if ran >= BACKOFF_RESET {
            u.delay = BACKOFF_START;
        }
        if let Some(k) = self.pending.iter().position(|p| p.unit == i && p.then != Then::ReportStart) {
            let p = self.pending.swap_remove(k);
            if !terminating {
                return self.complete(p, status, now, out);
            }
            out.push(Effect::Reply { conn: p.conn, reply: Reply::err("the pod is stopping") });
        }
        let u = &mut self.units[i];
        if !terminating && u.wants_restart(status, reason, policy) {
            let delay = u.delay;
            u.delay = (u.delay * 2).min(BACKOFF_CAP);
            log::info!("{}: restarting in {}", u.name(), fmt_secs(delay));
            u.set(State::BackOff { until: now + delay }, now);
            return;
        }
        u.set(State::Terminated { status, reason }, now);
        let (kind, once, essential) = (u.spec.kind, u.spec.once, u.spec.essential);
        if kind == Kind::Init && reason == Reason::Completed && once && u.spec.wait_for.is_none() {
            out.push(Effect::WriteMarker { unit: i });
        }
        if terminating {
            return;
        }
        let name = self.units[i].name();
        let failed = reason != Reason::Completed;
        match kind {
            Kind::Init if failed => {
                log::error!("{name}: init step failed and restart_policy is Never; the pod failed");
                self.begin_stop(Cause::InitFailed(status.code().max(1)), now, out);
            }
            Kind::App if essential => {
                log::warn!("{name}: essential app ended; stopping the pod");
                self.begin_stop(Cause::Finished(status.code()), now, out);
            }
            Kind::App if failed && self.first_failure.is_none() => {
                self.first_failure = Some(status.code().max(1));
            }
            _ => {}
        }
    }

    /// Moves through the init entries as far as possible, then starts the apps.
    pub(crate) fn advance_init(&mut self, mut step: usize, now: Instant, out: &mut Vec<Effect>) {
        while step < self.units.len() && !self.is_app(step) {
            let u = &mut self.units[step];
            if u.init_done() {
                step += 1;
                continue;
            }
            if u.state == State::Waiting {
                // Waiters keep no marker: the service may be gone after a restart.
                if u.spec.kind == Kind::Init && u.spec.once && u.spec.wait_for.is_none() && u.marker_done {
                    log::info!("{}: skipped (marker)", u.name());
                    u.set(State::Skipped, now);
                    self.dirty = true;
                    continue;
                }
                self.start(step, now, out);
                if self.terminating() {
                    return;
                }
                continue;
            }
            // Starting, running, in back-off, or failed: wait here.
            self.phase = Phase::Initializing { step };
            return;
        }
        self.phase = Phase::Running;
        self.dirty = true;
        for i in 0..self.units.len() {
            if self.is_app(i) && self.units[i].state == State::Waiting {
                self.start(i, now, out);
            }
        }
    }

    /// Timers of unit `i`: probes, waiters, step timeouts, stop deadlines, back-off.
    pub(crate) fn tick_unit(&mut self, i: usize, now: Instant, out: &mut Vec<Effect>) {
        let terminating = self.terminating();
        let u = &mut self.units[i];
        match u.state {
            State::BackOff { until } if now >= until && !terminating => {
                u.restarts += 1;
                return self.start(i, now, out);
            }
            State::Running { pid, kill_at: Some(k), .. } if now >= k && u.ending.is_none() => {
                log::warn!("{}: timed out; sending SIGKILL", u.name());
                u.ending = Some(Reason::Timeout);
                out.push(Effect::Kill { pid: -pid, sig: libc::SIGKILL });
            }
            State::Polling { until: Some(t), .. } if now >= t => {
                log::warn!("{}: gave up waiting", u.name());
                return self.finished(i, ExitStatus::Code(1), Reason::Timeout, now, out);
            }
            _ => {}
        }
        if let Some(stop) = &mut u.stop {
            if now >= stop.deadline && !stop.killed {
                stop.killed = true;
                log::warn!("{}: still running at the end of its grace period; sending SIGKILL", u.spec.name);
                if let Some(pid) = u.pid() {
                    out.push(Effect::Kill { pid: -pid, sig: libc::SIGKILL });
                }
                if let Some(Hook::PreStop(h)) = u.hook.take() {
                    if h > 0 {
                        out.push(Effect::Kill { pid: -h, sig: libc::SIGKILL });
                    }
                }
            }
        }
    }

    /// Asks for every probe attempt that is due: the waiter alone; else the
    /// startup probe until it passes; then readiness and liveness.
    pub(crate) fn start_due_probes(&mut self, now: Instant, out: &mut Vec<Effect>) {
        for (i, u) in self.units.iter_mut().enumerate() {
            if u.stop.is_some() || !u.active() {
                continue;
            }
            for probe in u.probes.scheduled_mut(u.started).into_iter().flatten() {
                if probe.start_if_due(now) {
                    out.push(Effect::Probe { unit: i, kind: probe.kind });
                }
            }
        }
    }

    /// The outcome of a probe attempt.
    pub(crate) fn probed(&mut self, o: Outcome, now: Instant, out: &mut Vec<Effect>) {
        let Some(u) = self.units.get_mut(o.unit) else { return };
        let who = &u.spec.name;
        let Some(changed) = u.probes.get_mut(o.kind).and_then(|p| p.record(o.ok, &o.why, now, who)) else { return };
        self.probe_changed(o.unit, o.kind, changed, now, out);
    }

    /// A probe (or the waiter) of unit `i` changed its verdict.
    fn probe_changed(&mut self, i: usize, kind: ProbeKind, v: Verdict, now: Instant, out: &mut Vec<Effect>) {
        self.dirty = true;
        let grace = self.settings.grace;
        let u = &mut self.units[i];
        match (kind, v) {
            (ProbeKind::Wait, Verdict::Passing) => self.finished(i, ExitStatus::Code(0), Reason::Completed, now, out),
            (ProbeKind::Startup, Verdict::Passing) => {
                log::info!("{}: startup probe passed", u.name());
                u.started = u.hook.is_none();
            }
            (ProbeKind::Readiness, Verdict::Passing) => log::info!("{}: ready", u.name()),
            (ProbeKind::Readiness, Verdict::Failing) => log::warn!("{}: not ready", u.name()),
            (ProbeKind::Liveness, Verdict::Failing) => {
                log::warn!("{}: liveness probe failed; restarting it", u.name());
                self.end_unit(i, Reason::Liveness, now + grace, now, out);
            }
            (ProbeKind::Startup, Verdict::Failing) => {
                log::warn!("{}: startup probe failed; restarting it", u.name());
                self.end_unit(i, Reason::Startup, now + grace, now, out);
            }
            _ => {}
        }
    }

    /// A hook process of unit `i` exited.
    pub(crate) fn hook_done(&mut self, i: usize, status: ExitStatus, now: Instant, out: &mut Vec<Effect>) {
        let u = &mut self.units[i];
        match u.hook.take() {
            Some(Hook::PostStart(_)) if status.success() => {
                u.started = u.probes.startup.as_ref().is_none_or(|p| p.verdict() == Verdict::Passing);
                self.dirty = true;
            }
            Some(Hook::PostStart(_)) => {
                log::warn!("{}: post_start hook {status}; killing the app", u.name());
                self.kill_unit(i, Reason::PostStart, now, out);
            }
            Some(Hook::PreStop(_)) => {
                log::info!("{}: pre_stop hook {status}", u.name());
                self.signal_stop(i, out);
            }
            None => {}
        }
    }
}
