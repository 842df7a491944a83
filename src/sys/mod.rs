//! The PID-1 core: everything that talks to the kernel about processes.
//!
//! Signals are blocked and read from a signalfd ([`signals`]), children are
//! reaped with `waitpid(-1, WNOHANG)` ([`reaper`]), started with a clean mask and
//! dispositions ([`spawn`]), and swept at the end ([`shutdown`]). [`event_loop`]
//! is the one poll(2) loop that ties them together. Nothing here knows what a
//! pod is.

pub mod atomic_file;
pub mod event_loop;
pub mod guard;
pub mod logging;
pub mod notify;
pub mod oom;
pub mod reaper;
pub mod rfc3339;
pub mod shutdown;
pub mod signals;
pub mod spawn;
pub mod user;
