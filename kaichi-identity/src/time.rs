//! Wall-clock instants passed into the sans-IO core.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant in UTC, in nanoseconds since the Unix epoch.
///
/// The crate never reads a clock: callers pass `now` in as a `Timestamp`
/// (for example [`Timestamp::from_system_time`] in an I/O shell, or a fixed
/// value in tests and simulations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

/// A time could not be read or represented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not an RFC 3339 date-time.
    #[error("not an RFC 3339 date-time: {0:?}")]
    NotRfc3339(String),
    /// The instant is before 1970-01-01T00:00:00Z or after the year 2554.
    #[error("instant out of the supported range (1970..2554)")]
    OutOfRange,
}

impl Timestamp {
    /// The Unix epoch.
    pub const UNIX_EPOCH: Self = Self(0);
    /// The latest representable instant (in the year 2554).
    pub const MAX: Self = Self(u64::MAX);

    /// From nanoseconds since the Unix epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// From whole seconds since the Unix epoch (saturating).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// Whole seconds since the Unix epoch.
    pub const fn unix_secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// From a [`SystemTime`] (for the I/O shell that owns the clock).
    pub fn from_system_time(t: SystemTime) -> Result<Self, TimestampError> {
        let d = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TimestampError::OutOfRange)?;
        u64::try_from(d.as_nanos())
            .map(Self)
            .map_err(|_| TimestampError::OutOfRange)
    }

    /// `self + d`, or `None` past the representable range.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Self)
    }

    /// `self - earlier`, saturating at zero.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// RFC 3339 in UTC with exactly nine fractional digits, the form IPNS
    /// records carry (`2026-01-02T03:04:05.000000006Z`).
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 / 1_000_000_000;
        let nanos = self.0 % 1_000_000_000;
        let (y, mo, d, h, mi, s) = civil_from_unix(secs);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{nanos:09}Z")
    }

    /// Parses RFC 3339 (any offset, any number of fractional digits up to
    /// nine). Instants outside 1970..2554 are [`TimestampError::OutOfRange`].
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        u64::try_from(parse_nanos(s)?)
            .map(Self)
            .map_err(|_| TimestampError::OutOfRange)
    }

    /// Parses RFC 3339, clamping instants outside the representable range
    /// to [`Timestamp::UNIX_EPOCH`] or [`Timestamp::MAX`] (for expiry checks,
    /// where "before 1970" and "after 2554" are still meaningful).
    pub fn parse_rfc3339_clamped(s: &str) -> Result<Self, TimestampError> {
        let nanos = parse_nanos(s)?;
        Ok(Self(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

fn parse_nanos(s: &str) -> Result<i128, TimestampError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp_nanos)
        .map_err(|_| TimestampError::NotRfc3339(truncate(s)))
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Days-from-civil inverse (Howard Hinnant's algorithm), for UTC formatting
/// without a calendar dependency on the hot path.
fn civil_from_unix(secs: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(mo <= 2);
    (y, mo, d, h, mi, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_go_rfc3339nano_padded() {
        assert_eq!(
            Timestamp::from_unix_nanos(1).to_rfc3339(),
            "1970-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            Timestamp::from_unix_secs(951_782_400).to_rfc3339(),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn parses_offsets_and_short_fractions() {
        let t = Timestamp::parse_rfc3339("2000-02-29T01:00:00.5+01:00").unwrap();
        assert_eq!(t.unix_nanos(), 951_782_400_500_000_000);
        assert!(matches!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange)
        ));
        assert!(matches!(
            Timestamp::parse_rfc3339("yesterday"),
            Err(TimestampError::NotRfc3339(_))
        ));
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(n in any::<u64>()) {
            let t = Timestamp::from_unix_nanos(n);
            prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
    }
}
