//! The pod machine is pure: no syscalls, no clock, no files, no sockets. Its
//! Kubernetes rules are table- and property-tested without root because of
//! that, so the boundary is checked here rather than kept by convention: this
//! test fails when a file of the pure core names an I/O module, reads the
//! clock, calls into libc or nix, or imports a module of podinit's outside
//! the allowed set (whose items it uses are types, names and pure helpers).

use std::path::Path;

/// The pure core (docs/architecture.md).
const PURE: &[&str] = &[
    "src/pod/machine.rs",
    "src/pod/lifecycle.rs",
    "src/pod/stop.rs",
    "src/pod/requests.rs",
    "src/pod/view.rs",
    "src/pod/timer.rs",
    "src/pod/unit.rs",
    "src/pod/probe.rs",
    "src/pod/event.rs",
    "src/pod/events.rs",
    "src/pod/protocol.rs",
    "src/pod/status.rs",
];

/// What the pure core may not name anywhere.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::os",
    "std::process",
    "std::io",
    "std::thread",
    "nix::",
    "Instant::now",
    "SystemTime",
    "UnixStream",
    "TcpStream",
];

/// podinit modules the pure core may import from: its own files, the model,
/// and the pure items of sys (a status type, signal names, the loop's Change)
/// and of the log buffers (the `logs` request's fields, which protocol.rs
/// carries). sys::notify's `Notify` is the typed sd_notify message, plain data
/// as ExitStatus is. Not `pod::control` (the socket) nor `pod::status_file`.
const ALLOWED_CRATE_PATHS: &[&str] = &[
    "crate::pod::machine",
    "crate::pod::lifecycle",
    "crate::pod::stop",
    "crate::pod::requests",
    "crate::pod::view",
    "crate::pod::timer",
    "crate::pod::unit",
    "crate::pod::probe",
    "crate::pod::event",
    "crate::pod::protocol",
    "crate::pod::status",
    "crate::pod::events",
    "crate::pod::init_steps::describe",
    "crate::config",
    "crate::sys::reaper::ExitStatus",
    "crate::sys::notify::Notify",
    "crate::sys::signals",
    "crate::sys::event_loop::Change",
];

/// The code of a file without its `#[cfg(test)]` module and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_pod_machine_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for file in PURE {
        let code = code(&root.join(file));
        for bad in FORBIDDEN {
            if code.contains(bad) {
                problems.push(format!("{file}: names {bad}"));
            }
        }
        // A libc function call (constants such as libc::SIGKILL are fine).
        for (i, _) in code.match_indices("libc::") {
            let rest = &code[i + 6..];
            let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if ident.chars().next().is_some_and(|c| c.is_lowercase()) {
                problems.push(format!("{file}: calls libc::{ident}"));
            }
        }
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i..];
            // A whole path segment: `crate::pod::status` does not allow `crate::pod::status_file`.
            let allowed = |ok: &&str| {
                rest.strip_prefix(*ok)
                    .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
            };
            if !ALLOWED_CRATE_PATHS.iter().any(allowed) {
                let path: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != ';').collect();
                problems.push(format!("{file}: imports {path}"));
            }
        }
    }
    assert!(problems.is_empty(), "the pure core reaches outside itself:\n  {}", problems.join("\n  "));
}
