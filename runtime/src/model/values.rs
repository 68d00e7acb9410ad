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
    let mut out = String::with_capacity(10);
    push_date(&mut out, d);
    out
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
/// Written digit by digit: every instant of every record read passes here,
/// and `time`'s general formatter costs several times more.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut out = String::with_capacity(27);
    push_date(&mut out, t.date());
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    out.push('.');
    push_digits(&mut out, t.microsecond(), 6);
    out.push('Z');
    out
}

/// `YYYY-MM-DD`; a year outside 0..=9999 keeps its sign and all its digits.
fn push_date(out: &mut String, d: Date) {
    let year = d.year();
    if year < 0 {
        out.push('-');
    }
    push_digits(out, year.unsigned_abs(), 4);
    out.push('-');
    push_digits(out, u32::from(u8::from(d.month())), 2);
    out.push('-');
    push_digits(out, u32::from(d.day()), 2);
}

/// `n` in decimal, zero-padded to at least `width` digits.
fn push_digits(out: &mut String, n: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut i = buf.len();
    let mut rest = n;
    while rest > 0 {
        i -= 1;
        buf[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    // ASCII digits only, so always UTF-8 (pushed at once, not a char at a
    // time: a list of 50 records formats about 200 of these).
    out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or_default());
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
