//! Which day an update belongs to: its message's date in the stack's IANA time zone.

use chrono::{DateTime, NaiveDate, Utc};

/// An IANA time zone such as `UTC` or `America/Sao_Paulo`.
pub type TimeZone = chrono_tz::Tz;

#[derive(Debug, thiserror::Error)]
pub enum DayError {
    #[error(
        "unknown time zone {0:?}: use an IANA name such as UTC, Europe/Lisbon or America/Sao_Paulo"
    )]
    UnknownTimeZone(String),
}

/// Parses an IANA time zone name; an empty name means UTC.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, DayError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(chrono_tz::UTC);
    }
    name.parse::<TimeZone>()
        .map_err(|_| DayError::UnknownTimeZone(name.to_owned()))
}

/// The calendar day of a unix timestamp (seconds) in `tz`; `None` when out of range.
pub fn day_of(unix_seconds: i64, tz: TimeZone) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(unix_seconds, 0).map(|t| t.with_timezone(&tz).date_naive())
}

/// When `day` ends in `tz` (the next day's first instant); at a midnight a clock change skips,
/// the next day's UTC midnight.
pub fn end_of(day: NaiveDate, tz: TimeZone) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    let next = day
        .succ_opt()
        .unwrap_or(day)
        .and_time(chrono::NaiveTime::MIN);
    tz.from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| next.and_utc())
}

/// Today in `tz`.
pub fn today(now: DateTime<Utc>, tz: TimeZone) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_past_one_utc_is_the_previous_day_in_sao_paulo() {
        // 2024-05-02T01:30:00Z
        let ts = 1_714_613_400;
        let sp = parse_time_zone("America/Sao_Paulo").unwrap();
        assert_eq!(day_of(ts, sp), NaiveDate::from_ymd_opt(2024, 5, 1));
        assert_eq!(
            day_of(ts, chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2024, 5, 2)
        );
    }

    #[test]
    fn a_day_ends_at_the_next_local_midnight() {
        let sp = parse_time_zone("America/Sao_Paulo").unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        assert_eq!(end_of(day, sp).to_rfc3339(), "2024-05-02T03:00:00+00:00");
        assert_eq!(
            end_of(day, chrono_tz::UTC).to_rfc3339(),
            "2024-05-02T00:00:00+00:00"
        );
    }

    #[test]
    fn unknown_zone_is_named() {
        let err = parse_time_zone("Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("Mars/Olympus"), "{err}");
        assert_eq!(parse_time_zone("").unwrap(), chrono_tz::UTC);
    }
}
