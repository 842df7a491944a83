//! Runtime control of the machine: `podinit restart|stop|start|kill NAME` and
//! live status, as the control socket delivers them ([`crate::pod::event::Event::Control`]).
//!
//! A restart or stop of a running entry is a graceful stop like any other
//! (pre_stop, stop signal, SIGKILL at the end of the grace period); the reply
//! goes out once the entry has exited, or once a start has its pid.

use std::time::Instant;

use crate::config::Kind;
use crate::pod::machine::{Effect, Pending, PodMachine, Then};
use crate::pod::protocol::{ConnId, Reply, Request};
use crate::pod::unit::{KillTarget, Reason, State, UnitId};
use crate::sys::reaper::ExitStatus;
use crate::sys::signals;

impl PodMachine {
    /// Acts on one request; replies now, or once the entry has stopped or started.
    pub(crate) fn request(&mut self, conn: ConnId, req: Request, now: Instant, out: &mut Vec<Effect>) {
        let mut reply = |r: Reply| out.push(Effect::Reply { conn, reply: r });
        let name = match &req {
            Request::Status => {
                return reply(Reply { ok: true, message: "live".into(), status: Some(self.status(now)) });
            }
            Request::Restart(n) | Request::Stop(n) | Request::Start(n) | Request::Kill(n, _) => n.clone(),
        };
        let Some(i) = self.units.position(|u| u.spec.name == name) else {
            let names: Vec<&str> = self.units.iter().filter(|u| u.spec.kind != Kind::Init).map(|u| u.name()).collect();
            return reply(Reply::err(format!("no app or sidecar named '{name}' (have: {})", names.join(", "))));
        };
        if self.units[i].spec.kind == Kind::Init {
            return reply(Reply::err(format!("'{name}' is an init step; only apps and sidecars can be controlled")));
        }
        if self.terminating() {
            return reply(Reply::err("the pod is stopping"));
        }
        if self.pending.iter().any(|p| p.unit == i) {
            return reply(Reply::err(format!("'{name}' is already being stopped; try again when it is done")));
        }
        self.dirty = true;
        let grace = self.settings.grace;
        let u = &mut self.units[i];
        match req {
            Request::Kill(_, sig) => match u.pid() {
                Some(pid) => {
                    out.push(Effect::Kill { target: KillTarget::Process(pid), sig });
                    let msg = format!("sent {} to {name} (pid {pid})", signals::name(sig));
                    out.push(Effect::Reply { conn, reply: Reply::ok(msg) });
                }
                None => reply(Reply::err(format!("'{name}' is not running"))),
            },
            Request::Restart(_) | Request::Stop(_) if u.pid().is_some() => {
                let then = if matches!(req, Request::Restart(_)) { Then::Restart } else { Then::Hold };
                log::info!("{name}: {} requested", if then == Then::Restart { "restart" } else { "stop" });
                self.pending.push(Pending { unit: i, conn, then });
                self.end_unit(i, Reason::User, now + grace, now, out);
            }
            Request::Stop(_) => {
                let status = u.last_exit.map_or(ExitStatus::Code(0), |(s, _)| s);
                u.set(State::Terminated { status, reason: Reason::User, held: true }, now);
                reply(Reply::ok(format!("{name} stopped (it was not running)")));
            }
            Request::Start(_) if u.pid().is_some() => {
                let pid = u.pid().unwrap_or_default();
                reply(Reply::ok(format!("{name} is already running (pid {pid})")));
            }
            Request::Restart(_) | Request::Start(_) => {
                self.start_now(i, conn, now, out);
            }
            Request::Status => {}
        }
    }

    /// Starts unit `i` at once (no back-off); `conn` hears the pid when it comes.
    fn start_now(&mut self, i: UnitId, conn: ConnId, now: Instant, out: &mut Vec<Effect>) {
        let u = &mut self.units[i];
        if u.last_exit.is_some() {
            u.restarts += 1;
        }
        // A start the user asked for also forgets the back-off, as a new container would.
        u.delay = std::time::Duration::ZERO;
        self.pending.push(Pending { unit: i, conn, then: Then::ReportStart });
        self.start(i, now, out);
    }

    /// Unit `i` has its pid, or failed to start: answer who asked for the start.
    pub(crate) fn report_start(&mut self, i: UnitId, out: &mut Vec<Effect>) {
        let Some(k) = self.pending.iter().position(|p| p.unit == i && p.then == Then::ReportStart) else { return };
        let p = self.pending.swap_remove(k);
        let u = &self.units[i];
        let reply = match u.pid() {
            Some(pid) => Reply::ok(format!("{} started (pid {pid})", u.name())),
            None => Reply::err(format!("{} failed to start", u.name())),
        };
        out.push(Effect::Reply { conn: p.conn, reply });
    }

    /// A restart or stop request's entry has exited.
    pub(crate) fn complete(&mut self, p: Pending, status: ExitStatus, now: Instant, out: &mut Vec<Effect>) {
        if p.then == Then::Restart {
            return self.start_now(p.unit, p.conn, now, out);
        }
        let u = &mut self.units[p.unit];
        u.set(State::Terminated { status, reason: Reason::User, held: true }, now);
        let msg = format!("{} stopped ({status})", u.name());
        out.push(Effect::Reply { conn: p.conn, reply: Reply::ok(msg) });
    }
}
