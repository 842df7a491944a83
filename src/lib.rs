//! podinit: one static binary that is a container's PID 1 (tini-compatible init),
//! the Kubernetes pause container, and the Kubernetes pod lifecycle (ordered
//! run-once init steps, sidecars, supervised apps, probes, graceful stop).
//!
//! The binary (`main.rs`) only picks a mode. Every mode that supervises runs the
//! same state machine ([`supervisor::Pod`]) on the same loop ([`event_loop`]):
//! init mode is a pod with one app, pause mode a pod with none.
//!
//! The modules are public so the fuzz targets (`fuzz/`) can reach the parsers;
//! podinit has no library API beyond that.

// Command line and modes.
pub mod cli;
pub mod init_mode;
pub mod pause;
pub mod pod;

// The PID-1 core: signals, the loop, reaping, starting processes, the final sweep.
pub mod event_loop;
pub mod reaper;
pub mod shutdown;
pub mod signals;
pub mod spawn;

// The pod lifecycle.
pub mod atomic_file;
pub mod init_steps;
pub mod log_prefix;
pub mod marker;
pub mod probe;
pub mod supervisor;

// Input and output formats.
pub mod config;
pub mod control;
pub mod expand;
pub mod logging;
pub mod status;
pub mod tomlparse;
pub mod user;

#[cfg(test)]
mod testutil;

/// Seconds since the epoch: wall-clock time for status files and markers (the
/// state machine itself runs on the monotonic clock).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
