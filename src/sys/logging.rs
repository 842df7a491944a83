//! podinit's own log lines: `podinit: <LEVEL> <entry>: <event>` on stderr.

use std::io::Write;

/// Sets up the logger: `PODINIT_LOG` (env_logger syntax) wins over `default`.
pub fn init(default: log::LevelFilter) {
    let mut b = env_logger::Builder::new();
    b.filter_level(default);
    if let Ok(spec) = std::env::var("PODINIT_LOG") {
        b.parse_filters(&spec);
    }
    // PODINIT_LOG_TIMESTAMPS: an RFC 3339 UTC time after "podinit:", as
    // log_timestamps puts one after an entry's `[name] `.
    if std::env::var_os("PODINIT_LOG_TIMESTAMPS").is_some_and(|v| !v.is_empty() && v != "0" && v != "false") {
        b.format(|f, r| writeln!(f, "podinit: {} {} {}", timestamp(), r.level(), r.args()));
    } else {
        b.format(|f, r| writeln!(f, "podinit: {} {}", r.level(), r.args()));
    }
    b.target(env_logger::Target::Stderr);
    // Only fails when a logger is already set, which cannot happen here.
    let _ = b.try_init();
}

/// Now as `2026-12-06T13:42:06.123456789Z` (UTC), the layout of the entries' log times.
fn timestamp() -> String {
    super::rfc3339::rfc3339(super::rfc3339::wall_nanos())
}

/// Init mode's level from a verbosity on tini's scale (`TINI_VERBOSITY`, default 1):
/// 0 fatal errors only, 1 warnings too, 2 info, 3 debug, 4 and up trace.
pub fn level_for_verbosity(v: u8) -> log::LevelFilter {
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
