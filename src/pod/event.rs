//! The machine's vocabulary: [`Event`]s in, [`Effect`]s out.

use crate::pod::probe::{Outcome, ProbeKind};
use crate::pod::protocol::{ConnId, Reply, Request};
use crate::pod::unit::{HookKind, KillTarget, UnitId};
use crate::sys::notify::Notify;
use crate::sys::reaper::ExitStatus;
use crate::sys::signals::SigNum;

/// Which process of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proc {
    /// The entry's own command.
    Main,
    /// One of its lifecycle hooks.
    Hook(HookKind),
}

/// Why a process could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpawnFailure {
    /// The shell's code for it: 127 not found, 126 not executable.
    pub code: i32,
    /// One line naming the command.
    pub message: String,
}

/// What happened: the machine's only input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Time passed: run whatever is due.
    Tick,
    /// A signal other than SIGCHLD arrived, sent by `from`.
    Signal {
        /// The signal.
        sig: SigNum,
        /// The sender's pid (0: the kernel).
        from: i32,
    },
    /// A child was reaped.
    Exited {
        /// Its pid.
        pid: i32,
        /// How it ended.
        status: ExitStatus,
    },
    /// podinit has no children left at all (waitpid said ECHILD).
    NoChildren,
    /// The outcome of an [`Effect::Spawn`].
    Spawned {
        /// The unit.
        unit: UnitId,
        /// Which of its processes.
        proc: Proc,
        /// Its pid, or why it could not start.
        result: Result<i32, SpawnFailure>,
    },
    /// The outcome of an [`Effect::Probe`].
    Probed(Outcome),
    /// A request on the control socket.
    Control {
        /// The connection to answer on.
        conn: ConnId,
        /// What it asks.
        req: Request,
    },
    /// A datagram on the notify socket.
    Notified {
        /// The sender, as the kernel vouches (SCM_CREDENTIALS).
        pid: i32,
        /// The sender's parent, when it could be read.
        ppid: Option<i32>,
        /// Its assignments.
        msg: Vec<Notify>,
    },
    /// The child `pid`, about to be reported as killed by SIGKILL, died while
    /// the cgroup's OOM-kill counter rose; comes right before its [`Event::Exited`].
    OomKilled {
        /// The child.
        pid: i32,
    },
}

/// What the runtime must do: the machine's only output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Start a process of `unit`; answer with [`Event::Spawned`].
    Spawn {
        /// The unit.
        unit: UnitId,
        /// Which of its processes.
        proc: Proc,
    },
    /// kill(2).
    Kill {
        /// A process or a process group.
        target: KillTarget,
        /// Signal.
        sig: SigNum,
    },
    /// Start one attempt of `unit`'s `kind` probe; answer with [`Event::Probed`].
    Probe {
        /// The unit.
        unit: UnitId,
        /// Which probe.
        kind: ProbeKind,
    },
    /// Drop `unit`'s probe attempts in flight (it is stopping or restarting).
    CancelProbes {
        /// The unit.
        unit: UnitId,
    },
    /// `unit`'s run-once step completed: save its marker.
    WriteMarker {
        /// The unit.
        unit: UnitId,
    },
    /// Rewrite status.json from [`crate::pod::machine::PodMachine::status`].
    WriteStatus,
    /// Signal every other process podinit is responsible for (the final sweep);
    /// follow with [`Event::NoChildren`] if none is left.
    SignalRest {
        /// The signal.
        sig: SigNum,
    },
    /// Answer a control request.
    Reply {
        /// The connection.
        conn: ConnId,
        /// The answer.
        reply: Reply,
    },
    /// Exit podinit with `code`. The last effect the machine emits.
    Exit {
        /// The exit status.
        code: i32,
    },
}

impl Effect {
    /// SIGKILL to the process group `pgid` leads: how podinit ends an entry
    /// or a hook it gives up on (the group takes the entry's own children too).
    pub(crate) fn kill_group(pgid: i32) -> Effect {
        Effect::Kill { target: KillTarget::Group(pgid), sig: libc::SIGKILL }
    }
}
