//! The one event loop every mode runs: poll(2) over the signalfd and whatever
//! fds the mode adds (log pipes, sockets, probes), with a timeout taken from the
//! mode's next real deadline. No deadline means an infinite wait, so an idle
//! podinit never wakes up (tini polls every second; catatonit never does).
//!
//! When the mode has neither fds nor a deadline (init mode once its child runs,
//! pause mode) the loop sleeps in read(2) on the signalfd itself, as catatonit
//! does. A batch of events that changed nothing but sent signals (a forwarded
//! signal, a stranger's orphan reaped) goes straight back to that wait: no
//! tick, no new poll set, no deadline to recompute, so forwarding costs one
//! read and the kill.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::sys::reaper::{self, ExitStatus};
use crate::sys::signals::{Batch, Received, Signals};

/// What an event did to the handler's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Change {
    /// Nothing the loop must look at again: no timer, fd or exit code moved
    /// (a forwarded or ignored signal, the exit of a process that is not ours).
    Quiet,
    /// State moved: `tick`, `fds`, `deadline` and `exit_code` may differ now.
    Changed,
}

impl std::ops::BitOrAssign for Change {
    fn bitor_assign(&mut self, rhs: Change) {
        if rhs == Change::Changed {
            *self = Change::Changed;
        }
    }
}

/// What a mode does with events. All callbacks run on the loop's one thread;
/// `now` is read once per wake-up.
pub(crate) trait Handler {
    /// A signal other than SIGCHLD arrived (signals podinit raised itself, such
    /// as SIGPIPE from a write to a closed stdout, are not passed on).
    fn signal(&mut self, rx: Received, now: Instant) -> Change;
    /// A child was reaped.
    fn exited(&mut self, pid: i32, status: ExitStatus, now: Instant) -> Change;
    /// waitpid(-1) said ECHILD: no child is left at all.
    fn no_children(&mut self, _now: Instant) -> Change {
        Change::Quiet
    }
    /// Runs after every batch of events that changed something, and when the
    /// deadline comes: start what is due, expire timers.
    fn tick(&mut self, now: Instant);
    /// The next instant `tick` has work to do, if any.
    fn deadline(&self) -> Option<Instant>;
    /// Adds the fds to watch besides the signalfd.
    fn fds(&self, _out: &mut Vec<libc::pollfd>) {}
    /// One of those fds is ready.
    fn ready(&mut self, _fd: RawFd, _revents: i16, _now: Instant) {}
    /// Some(code) once podinit should exit with it.
    fn exit_code(&self) -> Option<i32>;
}

/// Runs `h` until it reports an exit code. Buffers are reused, so an idle
/// iteration does not allocate.
pub(crate) fn run(h: &mut impl Handler, sigs: &mut Signals) -> i32 {
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(16);
    let mut pending: Vec<Received> = Vec::with_capacity(16);
    let mut deadline = None;
    let mut change = Change::Changed;
    let mut now = Instant::now();
    loop {
        if change == Change::Changed {
            h.tick(now);
            if let Some(code) = h.exit_code() {
                return code;
            }
            fds.clear();
            fds.push(libc::pollfd { fd: sigs.fd(), events: libc::POLLIN, revents: 0 });
            h.fds(&mut fds);
            deadline = h.deadline();
        }
        change = Change::Quiet;
        let signalled = if fds.len() == 1 && deadline.is_none() {
            // Nothing but signals to wait for: block in the signalfd's read.
            true
        } else {
            let timeout = deadline.map_or(-1, |d| timeout_ms(d.saturating_duration_since(Instant::now())));
            for p in fds.iter_mut() {
                p.revents = 0;
            }
            // SAFETY: fds is a valid array of fds.len() pollfd structs.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n <= 0 {
                let e = nix::errno::Errno::last();
                if n < 0 && e != nix::errno::Errno::EINTR {
                    log::error!("poll: {e}");
                }
                // A timeout is the deadline: tick (no revents are set). EINTR
                // cannot come (every signal is blocked); treated the same.
                change = Change::Changed;
            }
            // Readable means a signal is pending, so the read below does not block.
            n > 0 && fds[0].revents != 0
        };
        let batch = if signalled { sigs.read(|rx| pending.push(rx)) } else { Batch::default() };
        now = Instant::now();
        // Reap first: a mode deciding what a signal means should already
        // know which of its children are gone.
        if batch.chld && !reaper::reap(|pid, st| change |= h.exited(pid, st, now)) {
            change |= h.no_children(now);
        }
        for rx in pending.drain(..) {
            change |= h.signal(rx, now);
        }
        for p in &fds[1..] {
            if p.revents != 0 {
                h.ready(p.fd, p.revents, now);
                change = Change::Changed;
            }
        }
    }
}

/// Milliseconds for poll(), rounded up so we never wake a hair early and spin.
fn timeout_ms(d: Duration) -> i32 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(timeout_ms(Duration::ZERO), 0);
        assert_eq!(timeout_ms(Duration::from_nanos(1)), 1);
        assert_eq!(timeout_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX / 2)), i32::MAX);
    }
}
