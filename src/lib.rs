//! podinit: one static binary that is a container's PID 1 (tini-compatible init),
//! the Kubernetes pause container, and the Kubernetes pod lifecycle (ordered
//! run-once init steps, sidecars, supervised apps, probes, graceful stop).
//!
//! [`main`] only picks a mode (`main.rs` calls it). Every mode that supervises runs the
//! same state machine ([`pod::machine::PodMachine`]) on the same loop ([`sys::event_loop`]):
//! init mode is a pod with one app, pause mode a pod with none.
//!
//! podinit has no library API: the modules are private to the crate, so rustc
//! sees every dead item. The binary calls [`main`]; the fuzz targets (`fuzz/`)
//! and the fuzz-regression test reach the parsers they check through
//! [`fuzzing`], and nothing else.

// Command line: arguments to a mode, and the one-shot commands.
mod cli;
// Input formats: the pod file and the manifest read into one model, its validation, `$(VAR)` expansion.
mod config;
// The supervising modes, each a way to build the pod state machine.
mod modes;
// The pod lifecycle: state machine, init steps, markers, probes, status, control.
mod pod;
// The PID-1 core: signals, the loop, reaping, starting processes, the final sweep.
mod sys;

#[cfg(test)]
mod testutil;

use cli::{commands, Mode};
use modes::{init as init_mode, pause, run};
use pod::runtime::Runtime;
use sys::{logging, reaper, shutdown, signals};

/// The parsers the fuzz targets check, and the types their promises name;
/// not an API (hidden from the docs, may change at any commit).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::cli::table::{format_age, render_table};
    pub use crate::config::expand::{expand, Vars};
    pub use crate::config::{parse as parse_pod_file, parse_duration};
    pub use crate::pod::attempts::parse_status as parse_http_status;
    pub use crate::pod::init_steps::{definition_hash, describe as describe_waiter};
    pub use crate::pod::probe::{ProbeKind, ProbeState, Timing};
    pub use crate::pod::protocol::{encode_request, parse_request, Request};
    pub use crate::pod::status::health;
    pub use crate::pod::status_file::parse as parse_status;
    pub use crate::sys::signals::{name as signal_name, parse as parse_signal, sigrtmax};
}

/// Seconds since the epoch: wall-clock time for status files and markers (the
/// state machine itself runs on the monotonic clock).
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `podinit version X.Y.Z - git.HASH`.
fn version(tini: bool) -> String {
    // docker info parses its init's version line with tini's spelling (catatonit does the same).
    let prog = if tini { "tini" } else { "podinit" };
    format!("{prog} version {} - git.{}", env!("CARGO_PKG_VERSION"), env!("PODINIT_GIT_HASH"))
}

/// The binary's whole work: parse the command line, run the mode, exit with its code.
pub fn main() -> ! {
    let mode = match cli::parse_env() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("podinit: {e}");
            std::process::exit(e.code);
        }
    };
    if !matches!(mode, Mode::Init(_) | Mode::Pause | Mode::Run { .. }) {
        // A one-shot command piped into `head` should die quietly of SIGPIPE, as
        // any CLI tool does, not panic on EPIPE (Rust ignores SIGPIPE by default).
        // SAFETY: restoring a default disposition; no handler involved.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let code = match mode {
        Mode::Help(text) => {
            print!("{text}");
            0
        }
        Mode::Version { tini } => {
            println!("{}", version(tini));
            0
        }
        Mode::Init(o) => {
            logging::init(logging::level_for_verbosity(o.verbosity));
            supervise(
                &o,
                |o| {
                    signals::on_parent_death(o.pdeathsig);
                    Some(init_mode::pod(o))
                },
                o.subreaper,
            )
        }
        Mode::Pause => {
            logging::init(log::LevelFilter::Warn);
            // Before any fd of podinit's own exists: pause closes every inherited one.
            pause::release_mounts();
            supervise(&(), |_| Some(pause::pod()), false)
        }
        Mode::Run { config, pdeathsig } => {
            logging::init(log::LevelFilter::Info);
            supervise(
                &config,
                |c| {
                    signals::on_parent_death(pdeathsig);
                    run::load(c)
                },
                false,
            )
        }
        Mode::Check { config } => {
            // INFO lines name the manifest fields podinit ignores.
            logging::init(log::LevelFilter::Info);
            commands::check(&config)
        }
        Mode::Export { config, json, image } => {
            logging::init(log::LevelFilter::Warn);
            commands::export(&config, json, image.as_deref())
        }
        Mode::Import { file } => {
            logging::init(log::LevelFilter::Info);
            commands::import(&file)
        }
        Mode::Hook(hook) => commands::hook(&hook),
        Mode::Status { config, json } => commands::status(&config, json),
        Mode::Logs { config, query } => cli::logs::logs(&config, &query),
        Mode::Describe { config, name } => cli::logs::describe(&config, name.as_deref()),
        Mode::PodJson { config } => cli::logs::pod_json(&config),
        Mode::Health { config } => commands::health(&config),
        Mode::Reset { config, steps } => commands::reset(&config, &steps),
        Mode::Control { config, cmd } => commands::control(&config, &cmd),
        Mode::Wait { config, until, timeout, names } => cli::wait::run(&config, until, timeout, &names),
    };
    std::process::exit(code);
}

/// The shared start of the supervising modes: take over signals before anything
/// is forked, build the pod, become a subreaper unless PID 1, run the loop.
fn supervise<T: ?Sized>(arg: &T, build: impl FnOnce(&T) -> Option<Runtime>, subreaper: bool) -> i32 {
    let mut sigs = match signals::setup() {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot set up signal handling: {e}");
            return 1;
        }
    };
    let Some(mut pod) = build(arg) else { return 1 };
    if subreaper || !shutdown::is_pid1() {
        if let Err(e) = reaper::become_subreaper() {
            log::warn!("cannot become a child subreaper: {e}; orphans go to the real PID 1");
        }
    }
    let code = sys::event_loop::run(&mut pod, &mut sigs);
    // An orderly end: the pod is stopped, the guard (run mode) has nothing to kill.
    sys::guard::disarm();
    // The process ends right after: let the kernel take the memory back at
    // once instead of freeing every entry (hundreds of munmap calls for a big
    // pod; nothing has a Drop with an effect outside the process).
    std::mem::forget(pod);
    code
}
