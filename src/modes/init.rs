//! Init mode (tini, dumb-init, catatonit, `docker run --init`): the pod with one
//! app, restart policy Never, every signal forwarded to it.

use std::time::Instant;

use crate::cli::InitOptions;
use crate::config::{Entry, Kind};
use crate::pod::machine::{Flavor, PodMachine, Settings};
use crate::pod::runtime::{Io, Runtime};
use crate::pod::unit::Unit;
use crate::sys::spawn::{Args, Command};

/// Builds the one-app pod for `o`. The child keeps podinit's environment, cwd
/// and stdio, and gets the terminal's foreground when stdin is one.
pub(crate) fn pod(o: &InitOptions) -> Runtime {
    let argv0 = o.command.first().map_or(std::path::Path::new(""), std::path::Path::new);
    let name = argv0.file_name().unwrap_or(argv0.as_os_str()).to_string_lossy().into_owned();
    // The entry's command is for messages only; the child gets argv as bytes.
    let command = o.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let entry = Entry { name, command, once: false, ..Entry::defaults(Kind::App) };
    // env None: the child gets podinit's own environ, byte for byte.
    let cmd = Command { argv: Args::new(&o.command), foreground_tty: true, ..Command::default() };
    let now = Instant::now();
    let settings = Settings::without_files("podinit", o.grace, std::process::id(), crate::now_unix());
    let flavor =
        Flavor::Init { kill_group: o.kill_group, remap_to_zero: o.remap_to_zero.clone(), warn_reaped: o.warn_reaped };
    let pod = PodMachine::new(flavor, settings, vec![Unit::new(entry, String::new(), false, now)].into(), now);
    Runtime::new(pod, vec![cmd].into(), Io::default())
}
