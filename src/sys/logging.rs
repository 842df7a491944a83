//! podinit's own log lines: `podinit: <LEVEL> <entry>: <event>` on stderr.

use std::io::Write;

/// Sets up the logger: `PODINIT_LOG` (env_logger syntax) wins over `default`.
pub fn init(default: log::LevelFilter) {
    let mut b = env_logger::Builder::new();
    b.filter_level(default);
    if let Ok(spec) = std::env::var("PODINIT_LOG") {
        b.parse_filters(&spec);
    }
    b.format(|f, r| writeln!(f, "podinit: {} {}", r.level(), r.args()));
    b.target(env_logger::Target::Stderr);
    // Only fails when a logger is already set, which cannot happen here.
    let _ = b.try_init();
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
