//! Human durations such as `24h`, `5m`, `1h30m`, `7d`.

use std::time::Duration;

use anyhow::{Context as _, bail};

/// Parses `<n><unit>` groups, units `s`, `m`, `h`, `d`.
pub(crate) fn parse(text: &str) -> anyhow::Result<Duration> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    if text.is_empty() {
        bail!("empty duration");
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => bail!("bad duration {text:?}: unknown unit {c:?} (use s, m, h or d)"),
        };
        if digits.is_empty() {
            bail!("bad duration {text:?}: unit {c:?} without a number");
        }
        let n: u64 = digits
            .parse()
            .with_context(|| format!("bad duration {text:?}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .with_context(|| format!("duration {text:?} is too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        bail!("bad duration {text:?}: number without a unit (e.g. 24h)");
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_groups() {
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(604_800));
        for bad in ["", "5", "m", "5x", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
