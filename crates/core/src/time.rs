//! IANA time zones and inclusive ranges of local calendar days.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::ParseError;

/// An IANA time zone such as `Europe/Berlin` or `Asia/Kolkata`, known to the
/// time zone database. Keeps its canonical name.
#[derive(Clone)]
pub struct TimeZone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl TimeZone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".to_owned(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new(format!("`{raw}` is not an IANA time zone name"));
        let plausible = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
            && !raw.starts_with('/')
            && !raw.contains("..");
        if !plausible {
            return Err(bad());
        }
        let tz = jiff::tz::TimeZone::get(raw).map_err(|_| bad())?;
        let name = tz.iana_name().unwrap_or(raw).to_owned();
        Ok(Self { name, tz })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn as_jiff(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }

    /// The UTC offsets (minutes east of UTC) the zone has at some point in
    /// the year before or after `at`, ascending: one, or two with daylight
    /// saving time.
    pub fn offsets_around(&self, at: Timestamp) -> Vec<i64> {
        let mut out: Vec<i64> = (-366_i64..=366)
            .filter_map(|d| at.checked_add(jiff::SignedDuration::from_hours(24 * d)).ok())
            .map(|t| i64::from(self.tz.to_offset(t).seconds()) / 60)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The instant the local day `date` begins (not always midnight: some
    /// zones skip midnight on DST days).
    pub fn start_of(&self, date: Date) -> Result<Timestamp, ParseError> {
        date.to_zoned(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp())
            .map_err(|e| ParseError::new(format!("{date} has no start in {}: {e}", self.name)))
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name)
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

/// An inclusive range of local calendar days, `from <= to`, at most
/// [`DateRange::MAX_DAYS`] days long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: Date,
    to: Date,
}

/// Which parameter of a date range was wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {error}")]
pub struct DateRangeError {
    pub param: &'static str,
    pub error: ParseError,
}

impl DateRange {
    pub const MAX_DAYS: i32 = 366;

    pub fn new(from: Date, to: Date) -> Result<Self, DateRangeError> {
        if from > to {
            return Err(DateRangeError {
                param: "to",
                error: ParseError::new(format!("`to` ({to}) is before `from` ({from})")),
            });
        }
        let days = (to - from).get_days() + 1;
        if days > Self::MAX_DAYS {
            return Err(DateRangeError {
                param: "to",
                error: ParseError::new(format!(
                    "the range spans {days} days; at most {} are allowed",
                    Self::MAX_DAYS
                )),
            });
        }
        Ok(Self { from, to })
    }

    /// Parses `YYYY-MM-DD` days.
    pub fn parse(from: &str, to: &str) -> Result<Self, DateRangeError> {
        let day = |param: &'static str, raw: &str| {
            let ok_shape = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
            raw.parse::<Date>()
                .ok()
                .filter(|_| ok_shape)
                .ok_or_else(|| DateRangeError {
                    param,
                    error: ParseError::new(format!("`{raw}` is not a date in the form YYYY-MM-DD")),
                })
        };
        Self::new(day("from", from)?, day("to", to)?)
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Date {
        self.to
    }

    pub fn days(&self) -> i32 {
        (self.to - self.from).get_days() + 1
    }

    /// The half-open instant interval `[start of from, start of the day after to)`
    /// in `tz`.
    pub fn instants(&self, tz: &TimeZone) -> Result<(Timestamp, Timestamp), ParseError> {
        let after = self
            .to
            .tomorrow()
            .map_err(|e| ParseError::new(format!("no day after {}: {e}", self.to)))?;
        Ok((tz.start_of(self.from)?, tz.start_of(after)?))
    }
}

/// Length of a rollup bucket. Every UTC offset in use is a multiple of 15
/// minutes, so every local day (and hour) boundary is a bucket boundary.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// The bucket an instant falls in.
pub fn bucket_of(t: Timestamp) -> i64 {
    t.as_millisecond().div_euclid(BUCKET_MS)
}

/// The first bucket at or after an instant (for the end of a half-open range).
pub fn bucket_ceil(t: Timestamp) -> i64 {
    let ms = t.as_millisecond();
    ms.div_euclid(BUCKET_MS) + i64::from(ms.rem_euclid(BUCKET_MS) != 0)
}

/// The instant a bucket starts.
pub fn bucket_start(bucket: i64) -> Timestamp {
    Timestamp::from_millisecond(bucket.saturating_mul(BUCKET_MS)).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_in_use_around_a_date() {
        let at: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
        let offsets = |zone: &str| TimeZone::parse(zone).unwrap().offsets_around(at);
        assert_eq!(offsets("Asia/Kolkata"), vec![330]);
        assert_eq!(offsets("America/New_York"), vec![-300, -240]);
        assert_eq!(offsets("Asia/Kathmandu"), vec![345]);
        assert_eq!(offsets("Australia/Adelaide"), vec![570, 630]);
        assert_eq!(offsets("UTC"), vec![0]);
    }

    #[test]
    fn zones_parse_by_iana_name() {
        assert_eq!(TimeZone::parse("Asia/Kolkata").unwrap().name(), "Asia/Kolkata");
        for bad in [
            "",
            "Mars/Base",
            "../etc/passwd",
            "/etc/localtime",
            "Europe/Berlin\n",
            "EST5EDT,M3",
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_are_bounded_and_ordered() {
        assert_eq!(DateRange::parse("2026-01-01", "2026-01-01").unwrap().days(), 1);
        assert_eq!(DateRange::parse("2024-01-01", "2024-12-31").unwrap().days(), 366);
        let too_long = DateRange::parse("2025-01-01", "2026-01-02").unwrap_err();
        assert_eq!(too_long.param, "to");
        assert_eq!(DateRange::parse("2026-02-30", "2026-03-01").unwrap_err().param, "from");
        assert_eq!(DateRange::parse("2026-03-02", "2026-03-01").unwrap_err().param, "to");
        assert_eq!(DateRange::parse("2026-3-1", "2026-03-01").unwrap_err().param, "from");
    }

    /// Day boundaries in local time: (zone, day, expected UTC start, expected minutes).
    #[test]
    fn local_days_follow_the_zone() {
        let cases = [
            ("UTC", "2026-03-08", "2026-03-08T00:00:00Z", 1440),
            ("America/New_York", "2026-03-08", "2026-03-08T05:00:00Z", 1380),
            ("America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", 1500),
            ("Asia/Kolkata", "2026-06-01", "2026-05-31T18:30:00Z", 1440),
            ("Australia/Lord_Howe", "2026-04-05", "2026-04-04T13:00:00Z", 1470),
            ("America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z", 1380),
        ];
        for (zone, day, start, minutes) in cases {
            let tz = TimeZone::parse(zone).unwrap();
            let range = DateRange::parse(day, day).unwrap();
            let (a, b) = range.instants(&tz).unwrap();
            assert_eq!(a.to_string(), start, "{zone} {day}");
            assert_eq!((b - a).get_seconds() / 60, minutes, "{zone} {day}");
        }
    }

    #[test]
    fn buckets_are_quarter_hours() {
        let t: Timestamp = "2026-03-08T05:14:59.999Z".parse().unwrap();
        assert_eq!(bucket_start(bucket_of(t)).to_string(), "2026-03-08T05:00:00Z");
        assert_eq!(bucket_start(bucket_ceil(t)).to_string(), "2026-03-08T05:15:00Z");
        let edge: Timestamp = "2026-03-08T05:15:00Z".parse().unwrap();
        assert_eq!(bucket_ceil(edge), bucket_of(edge));
    }
}
