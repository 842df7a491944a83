//! The runtime: the half of the pod that touches the world. It owns the fds
//! (control socket, log pipes, probe sockets), feeds the event loop's events to
//! the pure [`machine::PodMachine`], and carries out the [`Effect`]s it returns:
//! fork/exec, kill, probe attempts, markers, status.json, control replies.
//!
//! ```text
//! poll ─► event_loop ─► Runtime::feed(Event) ─► PodMachine::handle ─► [Effect] ─► Runtime::perform
//!                              ▲                                               │
//!                              └──── Spawned / Probed / NoChildren ◄───────────┘
//! ```
//!
//! An effect with an outcome (a spawn's pid) is answered by queueing another
//! event, handled before anything else happens, so the machine always sees
//! the consequences of its own effects in order.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::time::Instant;

use crate::pod::attempts::Attempts;
use crate::pod::control;
use crate::pod::logs::{self, Logs};
use crate::pod::machine::{self, Effect, Event, Proc, SpawnFailure};
use crate::pod::marker::MarkerStore;
use crate::pod::probe::Outcome;
use crate::pod::protocol;
use crate::pod::status_file;
use crate::pod::unit::{self, HookKind, PerUnit, UnitId};
use crate::sys::event_loop::{Change, Handler};
use crate::sys::notify;
use crate::sys::oom::OomCounter;
use crate::sys::reaper::{self, ExitStatus};
use crate::sys::shutdown;
use crate::sys::signals::{self, Received};
use crate::sys::spawn::{self, Command};

/// The files and sockets a pod may have (run mode has them all; init and pause none).
#[derive(Default)]
pub(crate) struct Io {
    /// Where run-once markers live.
    pub markers: Option<MarkerStore>,
    /// Where status.json goes.
    pub state_dir: Option<PathBuf>,
    /// What happens to entries' output: pass-through, buffers, files.
    pub logs: logs::Config,
    /// The control socket.
    pub control: Option<control::Server>,
    /// The socket `notify = true` entries send READY=1 to.
    pub notify: Option<notify::NotifySocket>,
    /// podinit's own supervisor's NOTIFY_SOCKET: READY=1 once the pod is
    /// Ready, STOPPING=1 when it begins to stop.
    pub sd_notify: Option<notify::Client>,
    /// The cgroup's OOM-kill counter, to tell an OOM kill from another SIGKILL.
    pub oom: Option<OomCounter>,
    /// For entries whose environment is read from files at each start
    /// (`env_file`, a file-read variable): how to build it.
    pub env_at_start: PerUnit<Option<EnvBuilder>>,
}

/// Builds an entry's environment when it starts; the error is one line,
/// `FILE:LINE:COL: message`.
pub(crate) type EnvBuilder = Box<dyn Fn() -> Result<spawn::Env, String>>;

/// Notify datagrams handled per wakeup, at most.
const NOTIFY_BATCH: usize = 64;

/// What podinit has told its own supervisor.
#[derive(Debug, Default, Clone, Copy)]
struct Told {
    ready: bool,
    stopping: bool,
}

/// A pod machine and the world it acts on.
pub(crate) struct Runtime {
    pod: machine::PodMachine,
    /// Prepared argv/env/cwd/user of each unit.
    cmds: PerUnit<Command>,
    io: Io,
    attempts: Attempts,
    logs: Logs,
    /// Warned once that a marker could not be saved.
    marker_warned: bool,
    /// A status write was asked for while handling the current events.
    status_wanted: bool,
    /// Reused buffers: an idle or reaping iteration allocates nothing.
    events: VecDeque<Event>,
    effects: Vec<Effect>,
    outcomes: Vec<Outcome>,
    exit: Option<i32>,
    /// The notify socket's receive buffer, reused.
    notify_buf: Vec<u8>,
    told: Told,
}

impl Runtime {
    /// The runtime for `pod`, whose unit `id` runs `cmds[id]`.
    pub(crate) fn new(pod: machine::PodMachine, cmds: PerUnit<Command>, io: Io) -> Runtime {
        let mut pod = pod;
        if io.state_dir.is_none() {
            pod.disable_status();
        }
        let logs = Logs::new(io.logs.clone(), pod.units().iter().map(|u| u.spec.name.clone()));
        Runtime {
            pod,
            cmds,
            io,
            attempts: Attempts::default(),
            logs,
            marker_warned: false,
            status_wanted: false,
            events: VecDeque::with_capacity(8),
            effects: Vec::with_capacity(16),
            outcomes: Vec::new(),
            exit: None,
            notify_buf: Vec::new(),
            told: Told::default(),
        }
    }

    /// Hands `ev` to the machine and carries out everything that follows;
    /// Quiet when no event of the chain changed the machine.
    fn feed(&mut self, ev: Event, now: Instant) -> Change {
        // The first event goes straight in: most (a forwarded signal, an
        // orphan) have no follow-up, and the queue would only copy them twice.
        let mut change = self.step(ev, now);
        while let Some(ev) = self.events.pop_front() {
            change |= self.step(ev, now);
        }
        // After the queue is drained, so the file shows where the events led.
        if self.status_wanted {
            self.status_wanted = false;
            self.write_status(now);
        }
        if self.io.sd_notify.is_some() {
            self.tell_supervisor();
        }
        change
    }

    /// One event through the machine, and its effects carried out (their
    /// outcomes are queued for `feed`).
    fn step(&mut self, ev: Event, now: Instant) -> Change {
        let mut effects = std::mem::take(&mut self.effects);
        let change = self.pod.handle(ev, now, &mut effects);
        for e in effects.drain(..) {
            self.perform(e, now);
        }
        self.effects = effects;
        change
    }

    fn perform(&mut self, e: Effect, now: Instant) {
        match e {
            Effect::Spawn { unit, proc: Proc::Main } if self.io.env_at_start.get(unit).is_some_and(Option::is_some) => {
                // Read the entry's env files now: an init step may just have written them.
                let built = self.io.env_at_start[unit].as_ref().map(|b| b());
                let result = match built {
                    Some(Err(message)) => Err(SpawnFailure { code: 1, message }),
                    Some(Ok(env)) => {
                        self.cmds[unit].env = Some(env);
                        self.spawn(unit, Proc::Main)
                            .map_err(|e| SpawnFailure { code: e.exit_code(), message: e.to_string() })
                    }
                    None => Err(SpawnFailure { code: 1, message: "no environment".into() }),
                };
                self.events.push_back(Event::Spawned { unit, proc: Proc::Main, result });
            }
            Effect::Spawn { unit, proc } => {
                let result =
                    self.spawn(unit, proc).map_err(|e| SpawnFailure { code: e.exit_code(), message: e.to_string() });
                self.events.push_back(Event::Spawned { unit, proc, result });
            }
            Effect::Kill { target, sig } => {
                let pid = target.raw();
                if let Err(e) = signals::send(pid, sig) {
                    // ESRCH: it exited and its exit is queued; nothing to do.
                    if e != nix::errno::Errno::ESRCH {
                        log::warn!("cannot send {} to pid {pid}: {e}", signals::name(sig));
                    }
                }
            }
            Effect::Probe { unit, kind } => {
                let spec = &self.pod.units()[unit].spec;
                let Some(check) = unit::check_for(spec, kind) else { return };
                let timeout = unit::timeout_for(spec, kind);
                // An exec probe's output goes to its entry's log.
                let aux = match check {
                    crate::pod::probe::Check::Exec(_) if self.logs.enabled() => self.logs.aux(unit),
                    _ => None,
                };
                let base = match aux {
                    Some((o, e)) => &Command { stdout: Some(o), stderr: Some(e), ..self.cmds[unit].clone() },
                    None => &self.cmds[unit],
                };
                if let Some(o) = self.attempts.start(unit, kind, &check, timeout, base, now) {
                    self.events.push_back(Event::Probed(o));
                }
            }
            Effect::CancelProbes { unit } => self.attempts.cancel(unit),
            Effect::WriteMarker { unit } => self.write_marker(unit),
            Effect::WriteStatus => self.status_wanted = true,
            Effect::SignalRest { sig } => {
                if shutdown::signal_rest(sig) > 0 && sig == libc::SIGTERM {
                    log::info!("sent SIGTERM to the remaining processes");
                }
                if !reaper::has_children() {
                    self.events.push_back(Event::NoChildren);
                }
            }
            Effect::Reply { conn, reply } => {
                if let Some(c) = &mut self.io.control {
                    c.reply(conn, reply);
                }
            }
            Effect::Exit { code } => {
                // Whatever the entries wrote last is still in the pipes.
                self.logs.drain(self.io.control.as_mut());
                if let Some(c) = self.io.control.take() {
                    c.remove();
                }
                self.exit = Some(code);
            }
        }
    }

    /// Starts `proc` of `unit`: its command (with log pipes when prefixing), or a hook.
    fn spawn(&mut self, unit: UnitId, proc: Proc) -> Result<i32, spawn::SpawnError> {
        let spec = &self.pod.units()[unit].spec;
        let base = &self.cmds[unit];
        let hook = match proc {
            Proc::Main => None,
            Proc::Hook(HookKind::PostStart) => spec.post_start.as_ref(),
            Proc::Hook(HookKind::PreStop) => spec.pre_stop.as_ref(),
        };
        if let Some(argv) = hook {
            let mut cmd = base.sibling(argv);
            // A hook's output goes to its entry's log.
            if let Some((o, e)) = self.logs.enabled().then(|| self.logs.aux(unit)).flatten() {
                (cmd.stdout, cmd.stderr) = (Some(o), Some(e));
            }
            return spawn::spawn(&cmd);
        }
        if !self.logs.enabled() {
            return spawn::spawn(base);
        }
        let mut cmd = base.clone();
        let ends = match self.logs.start_run(unit) {
            Ok(ends) => ends,
            Err(e) => {
                log::warn!("{}: no log pipe ({e}); output goes straight through", spec.name);
                return spawn::spawn(&cmd);
            }
        };
        (cmd.stdout, cmd.stderr) = (Some(ends.0.as_raw_fd()), Some(ends.1.as_raw_fd()));
        if let Some(c) = self.io.control.as_mut() {
            for conn in self.logs.take_ended() {
                c.end(conn);
            }
        }
        // Our copies of the write ends close when `ends` drops, so EOF comes when the child's do.
        spawn::spawn(&cmd)
    }

    /// `podinit logs`: the buffered output now, then (`-f`) what comes until the entry ends.
    fn serve_logs(&mut self, conn: protocol::ConnId, q: &protocol::Query) {
        let Some(server) = self.io.control.as_mut() else { return };
        match self.logs.query(q, logs::time::wall_nanos()) {
            Ok((body, follow)) => {
                server.stream(conn, &protocol::Reply::ok(""), &body, follow);
                if follow {
                    self.logs.follow(conn, q);
                }
            }
            Err(msg) => server.stream(conn, &protocol::Reply::err(msg), &[], false),
        }
    }

    fn write_marker(&mut self, unit: UnitId) {
        let Some(store) = &self.io.markers else { return };
        let u = &self.pod.units()[unit];
        if let Err(e) = store.write(u.name(), &u.hash) {
            if !self.marker_warned {
                self.marker_warned = true;
                log::warn!("{}: marker not saved, the step will run again on the next start: {e}", u.name());
            } else {
                log::debug!("{}: marker not saved: {e}", u.name());
            }
        }
    }

    fn write_status(&mut self, now: Instant) {
        let Some(dir) = &self.io.state_dir else { return };
        if let Err(e) = status_file::write(dir, &self.pod.status(now)) {
            log::warn!("status file disabled: {e}");
            self.io.state_dir = None;
            self.pod.disable_status();
        }
    }

    /// READY=1 once the pod is Ready, STOPPING=1 once it begins to stop.
    fn tell_supervisor(&mut self) {
        let Some(client) = &self.io.sd_notify else { return };
        if !self.told.stopping && self.pod.terminating_now() {
            self.told.stopping = true;
            client.send("STOPPING=1");
        } else if !self.told.ready && !self.told.stopping && self.pod.ready() {
            self.told.ready = true;
            client.send("READY=1");
        }
    }

    /// The datagrams queued on the notify socket, to the machine: at most
    /// [`NOTIFY_BATCH`] per wakeup, so a process flooding the socket cannot
    /// keep PID 1 from its other work (poll reports the rest next time).
    fn read_notify(&mut self, now: Instant) {
        let mut buf = std::mem::take(&mut self.notify_buf);
        for _ in 0..NOTIFY_BATCH {
            let Some(pid) = self.io.notify.as_ref().and_then(|s| s.recv(&mut buf)) else { break };
            let msg = notify::parse(&buf);
            // The parent matters only for a sender that is no entry's process
            // (systemd-notify run by one); pid 0 is a sender outside podinit's namespace.
            let entry = self.pod.units().iter().any(|u| u.pid() == Some(pid));
            let ppid = if entry || pid <= 0 { None } else { parent_of(pid) };
            let _ = self.feed(Event::Notified { pid, ppid, msg }, now);
        }
        self.notify_buf = buf;
    }

    fn feed_outcomes(&mut self, now: Instant) {
        let mut outcomes = std::mem::take(&mut self.outcomes);
        for o in outcomes.drain(..) {
            let _ = self.feed(Event::Probed(o), now);
        }
        self.outcomes = outcomes;
    }
}

impl Handler for Runtime {
    fn signal(&mut self, rx: Received, now: Instant) -> Change {
        log::debug!("received {} from pid {}", signals::name(rx.sig), rx.from);
        self.feed(Event::Signal { sig: rx.sig, from: rx.from }, now)
    }

    fn exited(&mut self, pid: i32, status: ExitStatus, now: Instant) -> Change {
        match self.attempts.exited(pid, status) {
            Some(Some(o)) => self.feed(Event::Probed(o), now),
            Some(None) => Change::Changed,
            None => {
                // The kernel's OOM killer sends SIGKILL; the cgroup's counter tells it from a kill(1).
                if status == ExitStatus::Signal(libc::SIGKILL) {
                    let entry = self.pod.units().iter().any(|u| u.pid() == Some(pid));
                    if entry && self.io.oom.as_mut().is_some_and(OomCounter::rose) {
                        let _ = self.feed(Event::OomKilled { pid }, now);
                    }
                }
                self.feed(Event::Exited { pid, status }, now)
            }
        }
    }

    fn no_children(&mut self, now: Instant) -> Change {
        self.feed(Event::NoChildren, now)
    }

    fn tick(&mut self, now: Instant) {
        self.attempts.expire(now, &mut self.outcomes);
        self.feed_outcomes(now);
        if let Some(c) = &mut self.io.control {
            c.expire(now);
        }
        let _ = self.feed(Event::Tick, now);
    }

    fn deadline(&self) -> Option<Instant> {
        [self.pod.deadline(), self.attempts.deadline(), self.io.control.as_ref().and_then(|c| c.deadline())]
            .into_iter()
            .flatten()
            .min()
    }

    fn fds(&self, out: &mut Vec<libc::pollfd>) {
        if let Some(c) = &self.io.control {
            c.fds(out);
        }
        if let Some(n) = &self.io.notify {
            out.push(libc::pollfd { fd: n.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        self.logs.fds(out);
        self.attempts.fds(out);
    }

    fn ready(&mut self, fd: RawFd, _revents: i16, now: Instant) {
        if self.io.notify.as_ref().is_some_and(|n| n.as_raw_fd() == fd) {
            return self.read_notify(now);
        }
        if let Some(c) = self.io.control.as_mut().filter(|c| c.owns(fd)) {
            let reqs = c.ready(fd, now);
            let queries = c.take_logs();
            for (conn, req) in reqs {
                let _ = self.feed(Event::Control { conn, req }, now);
            }
            for (conn, q) in queries {
                self.serve_logs(conn, &q);
            }
            if let Some(c) = &self.io.control {
                self.logs.prune(|conn| c.is_open(conn));
            }
            return;
        }
        if self.logs.ready(fd, self.io.control.as_mut()) {
            return;
        }
        if let Some(o) = self.attempts.ready(fd) {
            let _ = self.feed(Event::Probed(o), now);
        }
    }

    fn exit_code(&self) -> Option<i32> {
        self.exit
    }
}

/// The parent of `pid` (from /proc/PID/stat), to believe a `systemd-notify`
/// run by an entry's main process. None when it is already gone.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces and ')': the fields follow its last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_whitespace().nth(1)?.parse().ok()
}
