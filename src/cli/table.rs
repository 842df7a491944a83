//! The kubectl-like output of `podinit status`: the table and the AGE column.

use crate::config::Kind;
use crate::pod::status::{clean, PodStatus};

/// The kubectl-like table of `podinit status`: a POD header and row, then the
/// ENTRY table. Each column is as wide as its widest cell plus two spaces (the
/// last column is not padded, so lines have no trailing blanks). READY is `n/m`
/// over apps and sidecars, RESTARTS the sum over all entries, AGE is computed
/// against `now` (unix seconds) with [`format_age`].
pub fn render_table(st: &PodStatus, now: u64) -> String {
    let (mut ready, mut total, mut restarts) = (0usize, 0usize, 0u64);
    for e in &st.entries {
        if e.kind == Kind::App || e.kind == Kind::Sidecar {
            total += 1;
            if e.ready == Some(true) {
                ready += 1;
            }
        }
        restarts += u64::from(e.restarts);
    }
    let pod = vec![
        vec!["POD".into(), "READY".into(), "STATUS".into(), "RESTARTS".into(), "AGE".into()],
        vec![
            clean(&st.name),
            format!("{ready}/{total}"),
            clean(&st.status),
            restarts.to_string(),
            format_age(now.saturating_sub(st.started_at)),
        ],
    ];
    let mut entries: Vec<Vec<String>> = vec![["ENTRY", "KIND", "STATE", "READY", "RESTARTS", "LAST EXIT", "AGE"]
        .iter()
        .map(|s| s.to_string())
        .collect()];
    for e in &st.entries {
        entries.push(vec![
            clean(&e.name),
            clean(e.kind.as_str()),
            clean(e.state.as_str()),
            match e.ready {
                Some(true) => "true".into(),
                Some(false) => "false".into(),
                None => "-".into(),
            },
            e.restarts.to_string(),
            e.last_exit.as_deref().map_or_else(|| "-".into(), clean),
            format_age(now.saturating_sub(e.since)),
        ]);
    }
    let mut out = align(&pod);
    out.push_str(&align(&entries));
    out
}

/// Formats an age in seconds the way kubectl's AGE column does
/// (apimachinery `HumanDuration`): `45s`, `119s`, `2m5s`, `9m`, `10m`, `3h5m`,
/// `8h`, `2d3h`, `8d`, `2y3d`, `8y`.
pub fn format_age(secs: u64) -> String {
    let minutes = secs / 60;
    let hours = secs / 3600;
    let days = hours / 24;
    if secs < 120 {
        format!("{secs}s")
    } else if minutes < 10 {
        match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if minutes < 3 * 60 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if hours < 24 * 365 * 2 {
        format!("{days}d")
    } else if hours < 24 * 365 * 8 {
        match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        }
    } else {
        format!("{}y", days / 365)
    }
}

/// Lays out rows as columns padded to the widest cell + 2; the last column is not padded.
fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] + 2 - cell.chars().count();
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::status::samples::{sample, NOW};

    #[test]
    fn table_matches_kubectl_layout() {
        let expected = "\
POD  READY  STATUS   RESTARTS  AGE
web  2/2    Running  2         5m
ENTRY        KIND     STATE      READY  RESTARTS  LAST EXIT       AGE
download     init     Completed  -      0         0               5m
log-shipper  sidecar  Running    true   0         -               5m
nginx        app      Running    true   2         137 (liveness)  3m10s
";
        assert_eq!(render_table(&sample(), NOW), expected);
    }

    #[test]
    fn table_survives_hostile_strings_and_clock_skew() {
        let mut st = sample();
        st.name = "we\nb\x1b[31m".into();
        st.entries[0].since = NOW + 100; // clock went backwards
        let t = render_table(&st, NOW);
        assert_eq!(t.lines().count(), 6);
        assert!(t.starts_with("POD"));
        assert!(!t.contains('\x1b'));
        assert!(t.lines().nth(3).expect("row").ends_with(" 0s"));
    }

    #[test]
    fn format_age_like_kubectl() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (310, "5m10s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60 + 9, "3h5m"),
            (8 * 3600 + 59 * 60, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (733 * 86400, "2y3d"),
            (8 * 365 * 86400, "8y"),
            (u64::MAX, "584942417355y"),
        ] {
            assert_eq!(format_age(secs), want, "{secs}");
        }
    }
}
