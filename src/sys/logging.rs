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

/// Now as `2026-12-06T13:42:06.123456Z` (UTC, microseconds). Kept here so
/// `sys` needs nothing from above it.
fn timestamp() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        d.subsec_micros()
    )
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
