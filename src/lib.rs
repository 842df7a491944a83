//! podinit: one static binary that is a container's PID 1 (tini-compatible init),
//! the Kubernetes pause container, and the Kubernetes pod lifecycle (ordered
//! run-once init steps, sidecars, supervised apps, probes, graceful stop).
//!
//! The binary (`main.rs`) only picks a mode. Every mode that supervises runs the
//! same state machine ([`pod::machine::PodMachine`]) on the same loop ([`sys::event_loop`]):
//! init mode is a pod with one app, pause mode a pod with none.
//!
//! The modules are public so the fuzz targets (`fuzz/`) can reach the parsers;
//! podinit has no library API beyond that.

// Command line: arguments to a mode, and the one-shot commands.
pub mod cli;
// Input formats: the pod file and `$(VAR)` expansion.
pub mod config;
// The supervising modes, each a way to build the pod state machine.
pub mod modes;
// The pod lifecycle: state machine, init steps, markers, probes, status, control.
pub mod pod;
// The PID-1 core: signals, the loop, reaping, starting processes, the final sweep.
pub mod sys;

#[cfg(test)]
mod testutil;

/// Seconds since the epoch: wall-clock time for status files and markers (the
/// state machine itself runs on the monotonic clock).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
