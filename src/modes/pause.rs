//! Pause mode: the Kubernetes pause container (build/pause/linux/pause.c).
//!
//! PID 1 of a sandbox whose namespaces other containers join. It holds them,
//! reaps every orphan, exits 0 on SIGTERM/SIGINT and ignores everything else.
//! It is the pod state machine with no entries; after start-up its loop blocks
//! in read(2) on the signalfd and allocates nothing.

use std::time::{Duration, Instant};

use crate::pod::machine::{Flavor, PodMachine, Settings};
use crate::pod::runtime::{Io, Runtime};
use crate::pod::unit::PerUnit;

/// Pins no mount the runtime may want to unmount: cwd to `/`, every inherited
/// fd above 2 closed. Call before podinit opens fds of its own.
pub(crate) fn release_mounts() {
    if let Err(e) = nix::unistd::chdir("/") {
        log::warn!("chdir /: {e}");
    }
    close_fds_above_stderr();
}

/// The pause pod: no entries, no status file, no markers.
pub(crate) fn pod() -> Runtime {
    let settings = Settings::without_files("pause", Duration::ZERO, std::process::id(), crate::now_unix());
    Runtime::new(
        PodMachine::new(Flavor::Pause, settings, PerUnit::default(), Instant::now()),
        PerUnit::default(),
        Io::default(),
    )
}

/// Closes every fd above 2 that podinit inherited.
fn close_fds_above_stderr() {
    // SAFETY: close_range(2) on a range of fds podinit owns and does not use;
    // falls back to nothing on kernels before 5.9 (ENOSYS), which is harmless.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
}
