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
    let (year, month, day) = d.to_calendar_date();
    let mut buf = [0u8; 10];
    if !fill_date(&mut buf, year, u8::from(month), day) {
        return wide_date(year, u8::from(month), day);
    }
    ascii(&buf)
}

/// The system columns that hold user ids: filters compare them with `me`
/// (the signed-in user).
pub const USER_COLUMNS: [&str; 3] = ["owner_id", "created_by", "updated_by"];

/// A filter value `OP.{field}` (a `lookup_filter` condition that takes the
/// value of a field of the form being filled in): the operator and the
/// field; `None` for any other value.
pub fn form_operand(value: &str) -> Option<(&str, &str)> {
    let (op, operand) = value.split_once('.')?;
    Some((op, operand.strip_prefix('{')?.strip_suffix('}')?))
}

/// Most days `today±N` may reach (about 270 years).
const MAX_RELATIVE_DAYS: i64 = 100_000;

/// A day relative to `today`: `today`, `today+N` or `today-N` (N days).
/// Metadata (demo ranges, list filters) and API filters use it where a
/// fixed date would go stale.
pub fn relative_day(s: &str, today: Date) -> Option<Date> {
    let rest = s.strip_prefix("today")?;
    let count = |digits: &str| -> Option<i64> {
        let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        plain.then(|| digits.parse().ok()).flatten()
    };
    let days: i64 = match rest.as_bytes().first() {
        None => 0,
        Some(b'+') => count(&rest[1..])?,
        Some(b'-') => -count(&rest[1..])?,
        Some(_) => return None,
    };
    if days.abs() > MAX_RELATIVE_DAYS {
        return None;
    }
    today.checked_add(time::Duration::days(days))
}

/// Parses an RFC 3339 instant and converts it to UTC.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.to_offset(UtcOffset::UTC))
}

/// Formats an instant in UTC with microseconds (`2026-11-23T08:42:47.123456Z`):
/// fixed width, so the text sorts in time order where it is stored as text.
///
/// Written into a fixed buffer, checked as UTF-8 once: every instant of
/// every record read passes here, and `time`'s general formatter costs
/// several times more.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = if t.offset().is_utc() {
        t
    } else {
        t.to_offset(UtcOffset::UTC)
    };
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second, micro) = t.to_hms_micro();
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    if !fill_date(&mut buf, year, u8::from(month), day) {
        let mut time = *b"T00:00:00.000000Z";
        fill_time(&mut time[1..], hour, minute, second, micro);
        return wide_date(year, u8::from(month), day) + ascii(&time).as_str();
    }
    fill_time(&mut buf[11..], hour, minute, second, micro);
    ascii(&buf)
}

/// Writes `YYYY-MM-DD` into the first ten bytes of `buf`; `false` (and
/// nothing written) for a year outside 0..=9999.
fn fill_date(buf: &mut [u8], year: i32, month: u8, day: u8) -> bool {
    let Ok(y) = u16::try_from(year) else { return false };
    if y > 9999 {
        return false;
    }
    put_digits(&mut buf[0..4], u32::from(y));
    buf[4] = b'-';
    put_digits(&mut buf[5..7], u32::from(month));
    buf[7] = b'-';
    put_digits(&mut buf[8..10], u32::from(day));
    true
}

/// Writes `HH:MM:SS.ffffffZ` into `buf` (16 bytes).
fn fill_time(buf: &mut [u8], hour: u8, minute: u8, second: u8, micro: u32) {
    put_digits(&mut buf[0..2], u32::from(hour));
    buf[2] = b':';
    put_digits(&mut buf[3..5], u32::from(minute));
    buf[5] = b':';
    put_digits(&mut buf[6..8], u32::from(second));
    buf[8] = b'.';
    put_digits(&mut buf[9..15], micro);
    buf[15] = b'Z';
}

/// A date whose year needs a sign or more than four digits (rare: `time`
/// allows up to ±9999 by default, more with a feature).
fn wide_date(year: i32, month: u8, day: u8) -> String {
    let sign = if year < 0 { "-" } else { "" };
    format!("{sign}{:04}-{month:02}-{day:02}", year.unsigned_abs())
}

/// `n` in decimal, zero-padded to fill `out` (the lowest digits kept).
fn put_digits(out: &mut [u8], n: u32) {
    let mut rest = n;
    for b in out.iter_mut().rev() {
        *b = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

/// The text of ASCII bytes.
fn ascii(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes).map(str::to_owned).unwrap_or_default()
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
        assert_eq!(parse_date("0987-01-09").map(format_date).as_deref(), Some("0987-01-09"));
        let t = parse_datetime("2026-01-02T03:04:05Z");
        assert_eq!(t.map(format_datetime).as_deref(), Some("2026-01-02T03:04:05.000000Z"));
        let t = parse_datetime("1999-12-31T23:59:59.000007-01:00");
        assert_eq!(t.map(format_datetime).as_deref(), Some("2000-01-01T00:59:59.000007Z"));
    }

    #[test]
    fn years_outside_four_digits_keep_their_sign_and_digits() {
        let d = Date::from_calendar_date(-44, time::Month::March, 15).ok();
        assert_eq!(d.map(format_date).as_deref(), Some("-0044-03-15"));
        let t = d.map(|d| d.with_hms_micro(12, 0, 1, 42).map(|t| t.assume_utc()));
        assert_eq!(
            t.and_then(Result::ok).map(format_datetime).as_deref(),
            Some("-0044-03-15T12:00:01.000042Z")
        );
        let first = Date::from_calendar_date(0, time::Month::January, 1).ok();
        assert_eq!(first.map(format_date).as_deref(), Some("0000-01-01"));
    }

    #[test]
    fn formatting_agrees_with_the_time_crate_over_many_instants() {
        // Every day of four years, at a time that moves through the day.
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
        let mut t = time::macros::datetime!(2023-01-01 00:00:00.000001 UTC);
        for _ in 0..1461 {
            assert_eq!(format_datetime(t), t.format(&fmt).unwrap_or_default());
            assert_eq!(format_date(t.date()), t.date().to_string());
            t += time::Duration::seconds(86_400 + 3_661) + time::Duration::microseconds(12_347);
        }
    }

    #[test]
    fn relative_days_count_from_today() {
        let today = time::macros::date!(2026 - 01 - 10);
        let day = |s: &str| relative_day(s, today).map(format_date);
        assert_eq!(day("today").as_deref(), Some("2026-01-10"));
        assert_eq!(day("today+30").as_deref(), Some("2026-02-09"));
        assert_eq!(day("today-10").as_deref(), Some("2025-12-31"));
        for bad in [
            "tomorrow",
            "today+",
            "today+x",
            "today 1",
            "today*2",
            "today+100001",
            "today--1",
            "today++1",
        ] {
            assert_eq!(day(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_operands_name_a_field_in_braces() {
        assert_eq!(form_operand("eq.{company}"), Some(("eq", "company")));
        for other in ["eq.company", "eq.{company", "eq.company}", "{company}", "eq.today"] {
            assert_eq!(form_operand(other), None, "{other}");
        }
    }
}
