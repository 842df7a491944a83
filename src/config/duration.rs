//! Durations in the pod file (`500ms`, `30s`, `1m30s`), also used by the
//! command line (`-t`).

use std::time::Duration;

/// Parses a duration: a sequence of whole numbers each followed by a unit
/// (`ms`, `s`, `m`, `h`), e.g. `500ms`, `30s`, `2m`, `1h`, `1m30s`.
/// The error is the reason, meant to follow the offending text in a message.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const EXPECTED: &str = "expected a number with a unit: ms, s, m, h";
    // Instants later add durations to now(), which panics on overflow; a century is plenty.
    const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    const TOO_LARGE: &str = "too large: the limit is 100 years";
    if s.starts_with('-') {
        return Err("durations cannot be negative".to_string());
    }
    if s.is_empty() {
        return Err(EXPECTED.to_string());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        // Every split below is at an ASCII digit boundary, so none can panic.
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(EXPECTED.to_string()),
        };
        if number.is_empty() {
            return Err(EXPECTED.to_string());
        }
        // Only digits are left, so parsing fails only on overflow.
        let millis = number.parse::<u64>().ok().and_then(|n| n.checked_mul(millis_per_unit)).ok_or(TOO_LARGE)?;
        total = total.checked_add(Duration::from_millis(millis)).ok_or(TOO_LARGE)?;
        rest = next;
    }
    if total > MAX {
        return Err(TOO_LARGE.to_string());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("500ms", ms(500)),
            ("30s", ms(30_000)),
            ("2m", ms(120_000)),
            ("1h", ms(3_600_000)),
            ("1m30s", ms(90_000)),
            ("1h2m3s4ms", ms(3_723_004)),
            ("0s", ms(0)),
            ("007s", ms(7_000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for text in ["", "10", "10x", "s", "1.5s", " 1s", "1s ", "1 s", "1S", "ms", "1sm", "1µs", "10m-5s"] {
            assert!(parse_duration(text).unwrap_err().contains("expected a number with a unit"), "{text:?}");
        }
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        for text in ["99999999999999999999s", "18446744073709551615h", "876001h", "876000h1ms"] {
            assert!(parse_duration(text).unwrap_err().contains("too large"), "{text}");
        }
        assert!(parse_duration("876000h").is_ok());
    }
}
