//! Init mode (tini, dumb-init, catatonit, `docker run --init`): the pod with one
//! app, restart policy Never, every signal forwarded to it.

use std::time::Instant;

use crate::cli::InitOptions;
use crate::config::{Entry, Kind};
use crate::pod::machine::{Flavor, Pod, Settings};
use crate::pod::runtime::{Io, Runtime};
use crate::pod::unit::Unit;
use crate::sys::spawn::Command;

/// Builds the one-app pod for `o`. The child keeps podinit's environment, cwd
/// and stdio, and gets the terminal's foreground when stdin is one.
pub fn pod(o: &InitOptions) -> Runtime {
    let name = std::path::Path::new(&o.command[0])
        .file_name()
        .map_or_else(|| o.command[0].clone(), |n| n.to_string_lossy().into_owned());
    let entry = Entry { name, command: o.command.clone(), once: false, ..Entry::defaults(Kind::App) };
    let cmd = Command { argv: o.command.clone(), foreground_tty: true, ..Command::default() };
    let now = Instant::now();
    let settings = Settings::without_files("podinit", o.grace, std::process::id(), crate::now_unix());
    let flavor =
        Flavor::Init { kill_group: o.kill_group, remap_to_zero: o.remap_to_zero.clone(), warn_reaped: o.warn_reaped };
    let pod = Pod::new(flavor, settings, vec![Unit::new(entry, String::new(), false, now)], now);
    Runtime::new(pod, vec![cmd], Io::default())
}
