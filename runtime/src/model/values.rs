//! Parsing and formatting of the textual value formats the metadata language
//! and the record API share (dates, instants).

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&fmt).unwrap_or_default()
}

/// Parses an RFC 3339 instant and converts it to UTC.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Formats an instant in UTC with microseconds (`2026-11-23T08:42:47.123456Z`):
/// fixed width, so the text sorts in time order where it is stored as text.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_in_utc() {
        let t = parse_datetime("2026-11-23T16:42:47.5+08:00");
        assert_eq!(t.map(format_datetime).as_deref(), Some("2026-11-23T08:42:47.500000Z"));
        assert!(parse_datetime("2026-11-23").is_none());
        assert_eq!(parse_date("2026-02-28").map(format_date).as_deref(), Some("2026-02-28"));
        assert!(parse_date("2026-02-30").is_none());
    }
}
