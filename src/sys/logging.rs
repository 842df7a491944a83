//! podinit's own log lines: `podinit: <LEVEL> <entry>: <event>` on stderr.

use std::io::Write;

/// podinit's logger: env_logger's filter (the `env_filter` crate, same syntax and
/// warnings) around a one-line format. Not env_logger itself: its formatter,
/// styles and output targets are size a PID 1 does not use (the README's
/// `make static` target: 900 KB).
struct Logger {
    filter: env_filter::Filter,
    /// PODINIT_LOG_TIMESTAMPS: an RFC 3339 UTC time after "podinit:", as
    /// log_timestamps puts one after an entry's `[name] `.
    timestamps: bool,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        self.filter.enabled(m)
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.filter.matches(r) {
            return;
        }
        // One write per line, as env_logger does: stderr is unbuffered and the
        // children write to the same terminal, so a line must not come in pieces.
        let mut line = Vec::with_capacity(128);
        let _ = if self.timestamps {
            writeln!(line, "podinit: {} {} {}", timestamp(), r.level(), r.args())
        } else {
            writeln!(line, "podinit: {} {}", r.level(), r.args())
        };
        let _ = std::io::stderr().lock().write_all(&line);
    }

    fn flush(&self) {}
}

/// Sets up the logger: `PODINIT_LOG` (env_logger syntax) wins over `default`.
pub(crate) fn init(default: log::LevelFilter) {
    let mut b = env_filter::Builder::new();
    b.filter_level(default);
    if let Ok(spec) = std::env::var("PODINIT_LOG") {
        b.parse(&spec);
    }
    let filter = b.build();
    let max = filter.filter();
    let timestamps =
        std::env::var_os("PODINIT_LOG_TIMESTAMPS").is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    // Only fails when a logger is already set, which cannot happen here.
    if log::set_boxed_logger(Box::new(Logger { filter, timestamps })).is_ok() {
        log::set_max_level(max);
    }
}

/// Now as `2026-12-06T13:42:06.123456789Z` (UTC), the layout of the entries' log times.
fn timestamp() -> String {
    super::rfc3339::rfc3339(super::rfc3339::wall_nanos())
}

/// Init mode's level from a verbosity on tini's scale (`TINI_VERBOSITY`, default 1):
/// 0 fatal errors only, 1 warnings too, 2 info, 3 debug, 4 and up trace.
pub(crate) fn level_for_verbosity(v: u8) -> log::LevelFilter {
    match v {
        0 => log::LevelFilter::Error,
        1 => log::LevelFilter::Warn,
        2 => log::LevelFilter::Info,
        3 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tini_scale() {
        use log::LevelFilter::*;
        let got: Vec<_> = (0..=5).map(level_for_verbosity).collect();
        assert_eq!(got, [Error, Warn, Info, Debug, Trace, Trace]);
    }
}
