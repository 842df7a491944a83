//! Every timer of the pod machine, named in one enum and armed by one table
//! (quinn-proto's `Timer`/`TimerTable`): [`PodMachine::timers`] lists each armed
//! timer with its instant, [`PodMachine::deadline`] is their minimum, and a tick fires
//! exactly the ones that are due. Because the deadline the event loop sleeps
//! until and the work a tick does come from the same list, the loop cannot be
//! woken for a timer that nothing will act on: the spin a passed startup probe
//! once caused (its next attempt stayed in the deadline while the tick no
//! longer started it) cannot be written again. `machine_props.rs` checks it
//! over random pods and events.

use std::time::Instant;

use crate::pod::event::Effect;
use crate::pod::machine::{fmt_secs, Cause, PodMachine, Stage, KILL_WAIT};
use crate::pod::probe::ProbeKind;
use crate::pod::unit::{HookKind, Reason, State, Stop, UnitId};
use crate::sys::reaper::ExitStatus;

/// A timer of the pod machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// `active_deadline`: the pod's whole run is over.
    ActiveDeadline,
    /// status.json is due for a rewrite (changes are batched).
    Status,
    /// The end of the pod's grace period: SIGKILL to everything.
    Grace,
    /// SIGKILLed processes had their time to be reaped: exit anyway.
    KillWait,
    /// A timer of one entry.
    Unit(UnitId, UnitTimer),
}

/// A timer of one entry; which ones can be armed follows from its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnitTimer {
    /// CrashLoopBackOff is over: start it again.
    BackOff,
    /// An init step's `timeout`: kill it.
    StepTimeout,
    /// A `wait_for` step's `timeout`: give up.
    GiveUp,
    /// The end of the entry's own grace period: SIGKILL.
    StopKill,
    /// The next attempt of one of its probes (or its waiter).
    Probe(ProbeKind),
}

/// Timers fired by one tick, at most, per entry (and for the pod): each fire
/// disarms its timer, but may arm another that is due at once (a restart
/// without back-off, a probe with no initial delay). Reaching the bound would
/// be a bug, which the property test would catch.
const MAX_FIRES_PER_UNIT: usize = 16;

impl PodMachine {
    /// Calls `f` with every armed timer and its instant. The one table.
    pub(crate) fn timers(&self, mut f: impl FnMut(Timer, Instant)) {
        if self.exited {
            return;
        }
        if let Some(limit) = self.settings.active_deadline {
            if !self.terminating() {
                f(Timer::ActiveDeadline, self.started + limit);
            }
        }
        let terminating = self.terminating();
        for (i, u) in self.units.enumerate() {
            let mut at = |t: UnitTimer, when: Instant| f(Timer::Unit(i, t), when);
            match &u.state {
                State::BackOff { until } if !terminating => at(UnitTimer::BackOff, *until),
                State::Running(r) => match r.stop {
                    Some(Stop { killed: false, deadline, .. }) => at(UnitTimer::StopKill, deadline),
                    Some(_) => {}
                    None => {
                        if let Some(k) = r.kill_at {
                            at(UnitTimer::StepTimeout, k);
                        }
                        for p in r.probes.scheduled(r.started).into_iter().flatten() {
                            if let Some(t) = p.deadline() {
                                at(UnitTimer::Probe(p.kind), t);
                            }
                        }
                    }
                },
                State::Polling(p) => {
                    if let Some(t) = p.until {
                        at(UnitTimer::GiveUp, t);
                    }
                    if let Some(t) = p.waiter.deadline() {
                        at(UnitTimer::Probe(ProbeKind::Wait), t);
                    }
                }
                _ => {}
            }
        }
        if let Stage::Terminating { deadline, killed_at, .. } = self.stage {
            match killed_at {
                None => f(Timer::Grace, deadline),
                Some(k) => f(Timer::KillWait, k + KILL_WAIT),
            }
        }
        if let Some(t) = self.status_due() {
            f(Timer::Status, t);
        }
    }

    /// The next instant a timer is due, if any.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        self.timers(|_, t| d = Some(d.map_or(t, |x| x.min(t))));
        d
    }

    /// Fires every due timer that `which` selects, one at a time (each may
    /// change what the others mean), until none is due.
    pub(crate) fn fire_due(&mut self, now: Instant, out: &mut Vec<Effect>, which: fn(Timer) -> bool) {
        for _ in 0..MAX_FIRES_PER_UNIT * (self.units.len() + 1) {
            let mut due = None;
            self.timers(|t, at| {
                if at <= now && which(t) && due.is_none() {
                    due = Some(t);
                }
            });
            let Some(t) = due else { return };
            self.fire(t, now, out);
        }
        debug_assert!(self.deadline().is_none_or(|d| d > now), "timers still due after the bound");
    }

    /// Acts on one due timer. Every arm disarms its timer (moves the state
    /// on), so a tick always leaves the deadline in the future.
    fn fire(&mut self, t: Timer, now: Instant, out: &mut Vec<Effect>) {
        match t {
            Timer::ActiveDeadline => {
                if let Some(limit) = self.settings.active_deadline {
                    log::warn!("active_deadline of {} exceeded; stopping the pod", fmt_secs(limit));
                }
                self.begin_stop(Cause::Deadline, now, out);
            }
            Timer::Status => {
                self.dirty = false;
                self.status_written = Some(now);
                out.push(Effect::WriteStatus);
            }
            Timer::Grace | Timer::KillWait => self.advance_stop(now, out),
            Timer::Unit(i, ut) => self.fire_unit(i, ut, now, out),
        }
    }

    /// Acts on one due timer of entry `i`.
    // A guard cannot hold the `start_if_due` call: it mutates the probe it checks.
    #[allow(clippy::collapsible_match)]
    fn fire_unit(&mut self, i: UnitId, t: UnitTimer, now: Instant, out: &mut Vec<Effect>) {
        let u = &mut self.units[i];
        match (t, &mut u.state) {
            (UnitTimer::BackOff, State::BackOff { .. }) => {
                u.restarts += 1;
                self.start(i, now, out);
            }
            (UnitTimer::StepTimeout, State::Running(r)) => {
                log::warn!("{}: timed out; sending SIGKILL", u.spec.name);
                r.stop = Some(Stop { reason: Reason::Timeout, deadline: now, killed: true });
                out.push(Effect::kill_group(r.pid));
                self.dirty = true;
            }
            (UnitTimer::GiveUp, State::Polling(_)) => {
                log::warn!("{}: gave up waiting", u.spec.name);
                self.finished(i, ExitStatus::Code(1), Reason::Timeout, now, out);
            }
            (UnitTimer::StopKill, State::Running(r)) => {
                log::warn!("{}: still running at the end of its grace period; sending SIGKILL", u.spec.name);
                if let Some(s) = &mut r.stop {
                    s.killed = true;
                }
                out.push(Effect::kill_group(r.pid));
                if let Some(h) = r.hook.take_if(|h| h.kind == HookKind::PreStop) {
                    out.extend(h.pid.map(Effect::kill_group));
                }
            }
            (UnitTimer::Probe(ProbeKind::Wait), State::Polling(p)) => {
                if p.waiter.start_if_due(now) {
                    out.push(Effect::Probe { unit: i, kind: ProbeKind::Wait });
                }
            }
            (UnitTimer::Probe(kind), State::Running(r)) => {
                if r.probes.get_mut(kind).is_some_and(|p| p.start_if_due(now)) {
                    out.push(Effect::Probe { unit: i, kind });
                }
            }
            // Listed by `timers` for this state only; unreachable in another.
            _ => {}
        }
    }
}
