//! The PID-1 core: everything that talks to the kernel about processes.
//!
//! Signals are blocked and read from a signalfd ([`signals`]), children are
//! reaped with `waitpid(-1, WNOHANG)` ([`reaper`]), started with a clean mask and
//! dispositions ([`spawn`]), and swept at the end ([`shutdown`]). [`event_loop`]
//! is the one poll(2) loop that ties them together. Nothing here knows what a
//! pod is.

pub(crate) mod atomic_file;
pub(crate) mod event_loop;
pub(crate) mod guard;
pub(crate) mod logging;
pub(crate) mod notify;
pub(crate) mod oom;
pub(crate) mod reaper;
pub(crate) mod rfc3339;
pub(crate) mod shutdown;
pub(crate) mod signals;
pub(crate) mod spawn;
pub(crate) mod user;
