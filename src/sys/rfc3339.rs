//! Wall-clock instants as RFC 3339 with nanoseconds, UTC (`2026-12-06T13:42:06.123456789Z`):
//! the CRI log format's timestamps and `kubectl logs --timestamps`'. No date
//! crate: a civil-from-days conversion is a dozen lines.

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn wall_nanos() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Appends `t` (nanoseconds since the epoch) as RFC 3339 in UTC with nine
/// fractional digits, the layout containerd writes (Go's RFC3339Nano keeps
/// trailing zeros out; the kubelet parses both).
pub(crate) fn push_rfc3339(out: &mut Vec<u8>, t: i64) {
    let secs = t.div_euclid(1_000_000_000);
    let nanos = t.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    use std::io::Write;
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", sod / 3600, sod % 3600 / 60, sod % 60);
}

/// `t` as an RFC 3339 string.
pub(crate) fn rfc3339(t: i64) -> String {
    let mut v = Vec::with_capacity(30);
    push_rfc3339(&mut v, t);
    String::from_utf8(v).unwrap_or_default()
}

/// `t` in whole seconds as RFC 3339 (`2026-12-06T13:42:06Z`), the layout of
/// Kubernetes object times (`startedAt`, `lastTransitionTime`).
pub(crate) fn rfc3339_secs(unix_secs: u64) -> String {
    let mut s = rfc3339(i64::try_from(unix_secs).unwrap_or(0).saturating_mul(1_000_000_000));
    // Drop ".000000000" before the Z.
    if let Some(dot) = s.find('.') {
        s.replace_range(dot..s.len() - 1, "");
    }
    s
}

/// Parses what [`push_rfc3339`] writes, and any RFC 3339 time in UTC (`Z`)
/// or with an offset, with 0 to 9 fractional digits. None when malformed.
pub(crate) fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let num = |b: &[u8]| -> Option<i64> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(b).ok()?.parse().ok()
    };
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (h, mi, se) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0i64;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = num(&rest[1..1 + digits])? * 10i64.pow(9 - digits as u32);
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), a, b, b':', c, d] => {
            let v = num(&[*a, *b])? * 3600 + num(&[*c, *d])? * 60;
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_containerd_and_parses_back() {
        // date -u -d 2026-12-06T13:42:06Z +%s = 1796564526
        let t = 1_796_564_526 * 1_000_000_000 + 123_456_789;
        assert_eq!(rfc3339(t), "2026-12-06T13:42:06.123456789Z");
        assert_eq!(parse_rfc3339(b"2026-12-06T13:42:06.123456789Z"), Some(t));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339_secs(1_796_564_526), "2026-12-06T13:42:06Z");
        assert_eq!(parse_rfc3339(b"2026-12-06T14:42:06.5+01:00"), Some(1_796_564_526 * 1_000_000_000 + 500_000_000));
        assert_eq!(rfc3339(951_782_400 * 1_000_000_000), "2000-02-29T00:00:00.000000000Z");
        for bad in [&b"2026-12-06 13:42:06Z"[..], b"2026-13-06T13:42:06Z", b"x", b"2026-12-06T13:42:06.Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
