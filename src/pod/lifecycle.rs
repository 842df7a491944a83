//! An entry's life in the machine: start, spawn outcome, exit and what
//! follows it (restart with back-off, marker, pod failure), the init sequence,
//! probes and hooks. Its timers are in [`crate::pod::timer`].

use std::time::{Duration, Instant};

use crate::config::Kind;
use crate::pod::event::{Effect, Proc, SpawnFailure};
use crate::pod::events::EventType;
use crate::pod::machine::{fmt_secs, Cause, Flavor, PodMachine, Stage, Then};
use crate::pod::probe::{Outcome, ProbeKind, ProbeState, Timing, Verdict};
use crate::pod::protocol::Reply;
use crate::pod::unit::{HookKind, HookProc, Notified, Poll, ProbeStates, Reason, Run, State, UnitId, BACKOFF_RESET};
use crate::sys::notify::Notify;
use crate::sys::reaper::ExitStatus;

impl PodMachine {
    /// Asks for unit `i` to start now: its waiter begins polling, or its
    /// process is spawned (the pid comes back as [`Event::Spawned`]).
    ///
    /// [`Event::Spawned`]: crate::pod::event::Event::Spawned
    pub(crate) fn start(&mut self, i: UnitId, now: Instant, out: &mut Vec<Effect>) {
        self.dirty = true;
        let u = &mut self.units[i];
        if let Some(w) = &u.spec.wait_for {
            log::info!("{}: waiting for {}", u.name(), crate::pod::init_steps::describe(w));
            let waiter = ProbeState::new(ProbeKind::Wait, Timing::of_wait(w), now);
            let until = w.timeout.map(|t| now + t);
            u.set(State::Polling(Box::new(Poll { since: now, until, waiter })), now);
            return;
        }
        u.set(State::Starting { since: now }, now);
        out.push(Effect::Spawn { unit: i, proc: Proc::Main });
    }

    /// The outcome of a spawn.
    pub(crate) fn spawned(
        &mut self,
        i: UnitId,
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
                let hook = u.spec.post_start.is_some().then(|| HookProc::asked(HookKind::PostStart));
                let mut run = Run {
                    pid,
                    since: now,
                    kill_at,
                    started: false,
                    hook,
                    probes: ProbeStates::for_entry(&u.spec, now),
                    stop: None,
                    notify: u.spec.notify.then(Notified::default),
                    oom: false,
                };
                run.started = run.gates_clear();
                u.set(State::Running(Box::new(run)), now);
                if hook.is_some() {
                    out.push(Effect::Spawn { unit: i, proc: Proc::Hook(HookKind::PostStart) });
                }
                self.report_start(i, out);
                let msg = format!("Started container {}", self.units[i].name());
                self.event(now, EventType::Normal, "Started", Some(i), msg);
                if let Stage::Terminating { deadline, .. } = self.stage {
                    // Started while the pod began to stop (an app that starts
                    // with its siblings after one of them ended the pod).
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
                self.event(now, EventType::Warning, "Failed", Some(i), format!("Error: {}", f.message));
                self.finished(i, ExitStatus::Code(f.code), Reason::StartFailed, now, out);
                self.report_start(i, out);
            }
            (Proc::Hook(kind), Ok(pid)) => {
                self.no_children = false;
                match u.run_mut().and_then(|r| r.hook.as_mut()).filter(|h| h.kind == kind && h.pid.is_none()) {
                    Some(h) => h.pid = Some(pid),
                    // Its entry ended (or gave up on it) while it was being started.
                    None => out.push(Effect::kill_group(pid)),
                }
            }
            (Proc::Hook(HookKind::PostStart), Err(f)) => {
                if let Some(r) = u.run_mut() {
                    r.hook = None;
                }
                log::warn!("{}: post_start hook: {}; killing the app", u.name(), f.message);
                self.kill_unit(i, Reason::PostStart, now, out);
            }
            (Proc::Hook(HookKind::PreStop), Err(f)) => {
                if let Some(r) = u.run_mut() {
                    r.hook = None;
                }
                log::warn!("{}: pre_stop hook: {}", u.name(), f.message);
                self.signal_stop(i, out);
            }
        }
    }

    /// Unit `i`'s process ended (or could not start, or its waiter ended):
    /// record it, then answer a pending request, restart it, or let it end.
    pub(crate) fn finished(
        &mut self,
        i: UnitId,
        status: ExitStatus,
        reason: Reason,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        self.dirty = true;
        let reason = self.record_exit(i, status, reason, now, out);
        let terminating = self.terminating();
        if let Some(k) = self.pending.iter().position(|p| p.unit == i && p.then != Then::ReportStart) {
            let p = self.pending.swap_remove(k);
            if !terminating {
                return self.complete(p, status, now, out);
            }
            out.push(Effect::Reply { conn: p.conn, reply: Reply::err("the pod is stopping") });
        }
        let backoff = self.settings.backoff;
        let u = &mut self.units[i];
        if !terminating && u.wants_restart(status, reason, self.settings.restart_policy) {
            // The kubelet's curve (doBackOff): a first crash restarts at once,
            // then initial, doubling up to max.
            let delay = u.delay;
            u.delay = if delay.is_zero() { backoff.initial } else { (delay * 2).min(backoff.max) };
            if delay.is_zero() {
                log::info!("{}: restarting", u.name());
                u.restarts += 1;
                self.start(i, now, out);
            } else {
                log::info!("{}: restarting in {}", u.name(), fmt_secs(delay));
                u.set(State::BackOff { until: now + delay }, now);
                let msg = format!("Back-off restarting failed container {} in pod {}", u.name(), self.settings.name);
                self.event(now, EventType::Warning, "BackOff", Some(i), msg);
            }
            return;
        }
        u.set(State::Terminated { status, reason, held: false }, now);
        self.ended_for_good(i, reason, status, now, out);
    }

    /// The bookkeeping of an exit: what the run leaves behind (probes in
    /// flight, a hook) is dropped, the exit is logged and kept for status.
    /// Returns the exit's reason: the one podinit gave when it ended the
    /// process itself, else `reason`, or Completed for a clean exit.
    fn record_exit(
        &mut self,
        i: UnitId,
        status: ExitStatus,
        reason: Reason,
        now: Instant,
        out: &mut Vec<Effect>,
    ) -> Reason {
        let quiet_flavor = matches!(self.flavor, Flavor::Init { .. });
        let terminating = self.terminating();
        let u = &mut self.units[i];
        let (since, stop, hook, probes, oom) = match &u.state {
            State::Running(r) => (Some(r.since), r.stop.map(|s| s.reason), r.hook, r.probes.any(), r.oom),
            State::Polling(p) => (Some(p.since), None, None, true, false),
            _ => (None, None, None, false, false),
        };
        let ran = since.map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        let requested = matches!(stop, Some(Reason::User | Reason::Stopped));
        let reason = match (stop, reason) {
            // The OOM killer's SIGKILL wins over why podinit was ending it.
            (_, Reason::Error) if oom && status == ExitStatus::Signal(libc::SIGKILL) => Reason::OomKilled,
            (Some(why), _) => why,
            (None, Reason::Error) if status.success() => Reason::Completed,
            (None, r) => r,
        };
        if probes {
            out.push(Effect::CancelProbes { unit: i });
        }
        // A hook outliving its entry has nothing left to act on.
        out.extend(hook.and_then(|h| h.pid).map(Effect::kill_group));
        u.last_exit = Some((status, reason));
        if let Some(s) = since {
            u.last_run = Some((s, now));
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
            u.delay = Duration::ZERO;
        }
        // An exit podinit caused has its Killing event already.
        if !requested && !terminating && stop.is_none() && reason != Reason::StartFailed {
            let (kind, what, msg) = if reason == Reason::Completed {
                (EventType::Normal, "Completed", format!("Container {} completed", u.name()))
            } else {
                (EventType::Warning, "Failed", format!("Container {} {status}", u.name()))
            };
            self.event(now, kind, what, Some(i), msg);
        }
        reason
    }

    /// Unit `i` has ended and will not run again: its marker, and what its
    /// end means for the pod.
    fn ended_for_good(&mut self, i: UnitId, reason: Reason, status: ExitStatus, now: Instant, out: &mut Vec<Effect>) {
        let u = &self.units[i];
        let (kind, essential) = (u.spec.kind, u.spec.essential);
        if kind == Kind::Init && reason == Reason::Completed && u.spec.once && u.spec.wait_for.is_none() {
            out.push(Effect::WriteMarker { unit: i });
        }
        if self.terminating() {
            return;
        }
        let name = u.name();
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
    pub(crate) fn advance_init(&mut self, mut step: UnitId, now: Instant, out: &mut Vec<Effect>) {
        while self.units.get(step).is_some_and(|u| u.spec.kind != Kind::App) {
            let u = &mut self.units[step];
            if u.init_done() {
                step = step.next();
                continue;
            }
            if matches!(u.state, State::Waiting) {
                // Waiters keep no marker: the service may be gone after a restart.
                if u.spec.kind == Kind::Init && u.spec.once && u.spec.wait_for.is_none() && u.marker_done {
                    log::info!("{}: skipped (marker)", u.name());
                    u.set(State::Skipped, now);
                    let msg = format!("Init step {} skipped: its run-once marker matches", u.name());
                    self.event(now, EventType::Normal, "Skipped", Some(step), msg);
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
            self.stage = Stage::Initializing { step };
            return;
        }
        self.stage = Stage::Running;
        self.dirty = true;
        for i in self.units.ids() {
            if self.is_app(i) && matches!(self.units[i].state, State::Waiting) {
                self.start(i, now, out);
            }
        }
    }

    /// The outcome of a probe attempt. An outcome for a run that has ended
    /// (the attempt was cancelled) finds no attempt in flight and is ignored.
    pub(crate) fn probed(&mut self, o: Outcome, now: Instant, out: &mut Vec<Effect>) {
        let Some(u) = self.units.get_mut(o.unit) else { return };
        let who = &u.spec.name;
        let probe = match (&mut u.state, o.kind) {
            (State::Polling(p), ProbeKind::Wait) => Some(&mut p.waiter),
            (State::Running(r), kind) if r.stop.is_none() => r.probes.get_mut(kind),
            _ => None,
        };
        let live = probe.is_some();
        let changed = probe.and_then(|p| p.record(o.ok, &o.why, now, who));
        if live && !o.ok && o.kind != ProbeKind::Wait {
            let msg = format!("{} probe failed: {}", capitalized(o.kind.label()), o.why.trim());
            self.event(now, EventType::Warning, "Unhealthy", Some(o.unit), msg);
        }
        let Some(changed) = changed else { return };
        self.probe_changed(o.unit, o.kind, changed, now, out);
    }

    /// A probe (or the waiter) of unit `i` changed its verdict.
    fn probe_changed(&mut self, i: UnitId, kind: ProbeKind, v: Verdict, now: Instant, out: &mut Vec<Effect>) {
        self.dirty = true;
        let grace = self.settings.grace;
        let u = &mut self.units[i];
        match (kind, v) {
            (ProbeKind::Wait, Verdict::Passing) => self.finished(i, ExitStatus::Code(0), Reason::Completed, now, out),
            (ProbeKind::Startup, Verdict::Passing) => {
                log::info!("{}: startup probe passed", u.name());
                if let Some(r) = u.run_mut() {
                    r.started = r.gates_clear();
                }
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
    pub(crate) fn hook_done(&mut self, i: UnitId, status: ExitStatus, now: Instant, out: &mut Vec<Effect>) {
        let u = &mut self.units[i];
        let Some(r) = u.run_mut() else { return };
        match r.hook.take().map(|h| h.kind) {
            Some(HookKind::PostStart) if status.success() => {
                r.started = r.gates_clear();
                self.dirty = true;
            }
            Some(HookKind::PostStart) => {
                log::warn!("{}: post_start hook {status}; killing the app", u.name());
                self.kill_unit(i, Reason::PostStart, now, out);
            }
            Some(HookKind::PreStop) => {
                log::info!("{}: pre_stop hook {status}", u.name());
                self.signal_stop(i, out);
            }
            None => {}
        }
    }

    /// A datagram on the notify socket from `pid` (whose parent is `ppid`):
    /// believed only from an entry with `notify = true` whose main process
    /// sent it (the process podinit started or the one MAINPID= named), or a
    /// direct child of that process (`systemd-notify` run from its script).
    pub(crate) fn notified(&mut self, pid: i32, ppid: Option<i32>, msg: &[Notify]) -> bool {
        let main_of = |r: &Run| [Some(r.pid), r.notify.as_ref().and_then(|n| n.main_pid)];
        let sent_by = |r: &Run, p: i32| r.notify.is_some() && main_of(r).contains(&Some(p));
        let find = |p: i32| self.units.position(|u| u.run().is_some_and(|r| sent_by(r, p)));
        let Some(i) = find(pid).or_else(|| ppid.and_then(find)) else {
            log::debug!("notify socket: ignored a message from pid {pid}, no notify entry's main process");
            return false;
        };
        let u = &mut self.units[i];
        let name = u.spec.name.clone();
        let Some(r) = u.run_mut() else { return false };
        let Some(n) = r.notify.as_mut() else { return false };
        let mut changed = false;
        for m in msg {
            match m {
                Notify::Ready if !n.ready => {
                    log::info!("{name}: READY=1");
                    n.ready = true;
                    changed = true;
                }
                Notify::Stopping if !n.stopping => {
                    n.stopping = true;
                    changed = true;
                }
                Notify::Status(s) if n.status.as_deref() != Some(s) => {
                    n.status = Some(s.clone());
                    changed = true;
                }
                Notify::MainPid(p) if n.main_pid != Some(*p) => {
                    n.main_pid = Some(*p);
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            r.started = r.gates_clear();
            self.dirty = true;
        }
        changed
    }

    /// The OOM killer has killed something in the container, and `pid` (about
    /// to be reaped as killed by SIGKILL) is an entry's process: mark its run.
    pub(crate) fn oom_killed(&mut self, pid: i32) {
        if let Some(r) = self.units.iter_mut().filter_map(|u| u.run_mut()).find(|r| r.pid == pid) {
            r.oom = true;
        }
    }
}

/// `liveness` -> `Liveness`, as Kubernetes' event messages spell probe kinds.
fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
