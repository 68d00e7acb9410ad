//! The script API's pure helpers (no record, no database): dates, money,
//! regular expressions, JSON and string formatting. Documented, with
//! examples, in docs/rules.md.

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, NativeCallContext, Position, INT};
use rust_decimal::Decimal;
use time::{Duration, Month, OffsetDateTime};

use crate::model::values::{format_date, format_datetime, parse_date, parse_datetime};
use crate::model::zone::Zone;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// A script error with a message (what `throw` would give).
pub(super) fn fail<T>(message: impl Into<String>) -> Fallible<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message.into()),
        Position::NONE,
    )))
}

/// Registers the helpers on `e`.
pub(super) fn register(e: &mut Engine) {
    e.register_fn("money", money_str)
        .register_fn("money", |i: INT| Decimal::from(i))
        .register_fn("money", |d: Decimal| d)
        .register_fn("money", |f: rhai::FLOAT| {
            Decimal::from_f64_retain(f).map_or(Decimal::ZERO, |d| d.round_dp(10))
        });
    e.register_fn("today", |ctx: NativeCallContext<'_>| today(&super::host::zone_of(&ctx)))
        .register_fn("now", now)
        .register_fn("add_days", add_days)
        .register_fn("add_hours", add_hours)
        .register_fn("add_months", add_months)
        .register_fn("days_between", days_between)
        .register_fn("seconds_between", seconds_between);
    e.register_fn("regex_match", regex_match)
        .register_fn("regex_replace", regex_replace)
        .register_fn("regex_captures", regex_captures);
    e.register_fn("to_json", to_json_text)
        .register_fn("parse_json", parse_json);
    e.register_fn("format", |t: &str, args: Array| format_args(t, &args))
        .register_fn("format", |t: &str, args: Map| format_named(t, &args))
        .register_fn("format", |t: &str, a: Dynamic| format_args(t, &[a]))
        .register_fn("format", |t: &str, a: Dynamic, b: Dynamic| format_args(t, &[a, b]))
        .register_fn("format", |t: &str, a: Dynamic, b: Dynamic, c: Dynamic| {
            format_args(t, &[a, b, c])
        });
}

/// `money("12.30")`: an exact decimal.
pub(super) fn money_str(s: &str) -> Fallible<Decimal> {
    match Decimal::from_str(s.trim()) {
        Ok(d) => Ok(d),
        Err(_) => fail(format!("money(\"{s}\"): not a decimal number")),
    }
}

/// Today's date on the calendar of `zone` (the installation's, in a
/// rule), `YYYY-MM-DD`.
pub(super) fn today(zone: &Zone) -> String {
    format_date(zone.date_of(OffsetDateTime::now_utc()))
}

/// The current instant, RFC 3339 in UTC.
pub(super) fn now() -> String {
    format_datetime(OffsetDateTime::now_utc())
}

enum When {
    Date(time::Date),
    Instant(OffsetDateTime),
}

fn when(s: &str) -> Fallible<When> {
    if let Some(d) = parse_date(s) {
        return Ok(When::Date(d));
    }
    match parse_datetime(s) {
        Some(t) => Ok(When::Instant(t)),
        None => fail(format!("`{s}` is neither a date (YYYY-MM-DD) nor an RFC 3339 instant")),
    }
}

/// `add_days(date_or_instant, n)`.
pub(super) fn add_days(s: &str, n: INT) -> Fallible<String> {
    let by = Duration::days(n);
    match when(s)? {
        When::Date(d) => d.checked_add(by).map(format_date),
        When::Instant(t) => t.checked_add(by).map(format_datetime),
    }
    .map_or_else(|| fail("the date is out of range"), Ok)
}

/// `add_hours(date_or_instant, n)`: the instant `n` hours later (earlier
/// for negative `n`); a date counts from its midnight, UTC.
pub(super) fn add_hours(s: &str, n: INT) -> Fallible<String> {
    let start = match when(s)? {
        When::Date(d) => d.midnight().assume_utc(),
        When::Instant(t) => t,
    };
    start
        .checked_add(Duration::hours(n))
        .map(format_datetime)
        .map_or_else(|| fail("the date is out of range"), Ok)
}

/// `add_months(date_or_instant, n)`: the same day of the month, or the
/// month's last day when it has fewer (31 Jan + 1 month = 28/29 Feb).
pub(super) fn add_months(s: &str, n: INT) -> Fallible<String> {
    let shift = |d: time::Date| -> Option<time::Date> {
        let months = i64::from(d.year()) * 12 + i64::from(d.month() as u8) - 1 + n;
        let year = i32::try_from(months.div_euclid(12)).ok()?;
        let month = Month::try_from(u8::try_from(months.rem_euclid(12) + 1).ok()?).ok()?;
        let last = month.length(year);
        time::Date::from_calendar_date(year, month, d.day().min(last)).ok()
    };
    match when(s)? {
        When::Date(d) => shift(d).map(format_date),
        When::Instant(t) => shift(t.date()).map(|d| format_datetime(t.replace_date(d))),
    }
    .map_or_else(|| fail("the date is out of range"), Ok)
}

/// `days_between(a, b)`: whole days from `a` to `b` (negative when `b` is earlier).
pub(super) fn days_between(a: &str, b: &str) -> Fallible<INT> {
    let day = |w: When| match w {
        When::Date(d) => d,
        When::Instant(t) => t.date(),
    };
    Ok((day(when(b)?) - day(when(a)?)).whole_days())
}

/// `seconds_between(a, b)`: whole seconds from instant (or date, from its
/// midnight UTC) `a` to `b`, negative when `b` is earlier. Instants are
/// compared as instants, whatever offset they were written with: the way
/// to tell whether one date-time comes before another.
pub(super) fn seconds_between(a: &str, b: &str) -> Fallible<INT> {
    let instant = |w: When| match w {
        When::Date(d) => d.midnight().assume_utc(),
        When::Instant(t) => t,
    };
    Ok((instant(when(b)?) - instant(when(a)?)).whole_seconds())
}

thread_local! {
    /// Compiled patterns of this thread, so a rule matching in a loop
    /// compiles its pattern once.
    static PATTERNS: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

fn with_regex<T>(pattern: &str, f: impl FnOnce(&regex::Regex) -> T) -> Fallible<T> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            // Linear-time matching (no backtracking) and bounded compiled
            // size: a pattern cannot hang or exhaust the server.
            let re = regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20)
                .build();
            match re {
                Ok(re) => {
                    if cache.len() >= 64 {
                        cache.clear();
                    }
                    cache.insert(pattern.to_owned(), re);
                }
                Err(e) => return fail(format!("bad regular expression `{pattern}`: {e}")),
            }
        }
        match cache.get(pattern) {
            Some(re) => Ok(f(re)),
            None => fail("bad regular expression"),
        }
    })
}

/// `regex_match(pattern, text)`: whether the pattern matches anywhere in `text`.
pub(super) fn regex_match(pattern: &str, text: &str) -> Fallible<bool> {
    with_regex(pattern, |re| re.is_match(text))
}

/// `regex_replace(pattern, text, replacement)`: every match replaced (`$1` refers to groups).
pub(super) fn regex_replace(pattern: &str, text: &str, replacement: &str) -> Fallible<String> {
    with_regex(pattern, |re| re.replace_all(text, replacement).into_owned())
}

/// `regex_captures(pattern, text)`: the groups of the first match (`[]` when none).
pub(super) fn regex_captures(pattern: &str, text: &str) -> Fallible<Array> {
    with_regex(pattern, |re| {
        re.captures(text).map_or_else(Array::new, |c| {
            c.iter()
                .map(|m| m.map_or(Dynamic::UNIT, |m| Dynamic::from(m.as_str().to_owned())))
                .collect()
        })
    })
}

/// `to_json(value)`: JSON text.
pub(super) fn to_json_text(v: Dynamic) -> Fallible<String> {
    match super::value::to_json(&v) {
        Ok(j) => Ok(j.to_string()),
        Err(e) => fail(e),
    }
}

/// `parse_json(text)`: a value (maps, arrays, strings, numbers, booleans, `()` for null).
pub(super) fn parse_json(text: &str) -> Fallible<Dynamic> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Ok(super::value::to_dynamic(&v, false)),
        Err(e) => fail(format!("not valid JSON: {e}")),
    }
}

fn shown(v: &Dynamic) -> String {
    if v.is_unit() {
        String::new()
    } else {
        v.to_string()
    }
}

/// `format("{} owes {}", [name, amount])`: each `{}` takes the next value.
pub(super) fn format_args(template: &str, args: &[Dynamic]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut next = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(&next.next().map(shown).unwrap_or_default());
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// `format("{name} owes {amount}", #{name: .., amount: ..})`: named values.
pub(super) fn format_named(template: &str, args: &Map) -> String {
    let mut out = template.to_owned();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), &shown(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(add_days("2026-02-27", 2).ok().as_deref(), Some("2026-03-01"));
        assert_eq!(add_months("2026-01-31", 1).ok().as_deref(), Some("2026-02-28"));
        assert_eq!(add_months("2026-03-15", -3).ok().as_deref(), Some("2025-12-15"));
        assert_eq!(days_between("2026-01-01", "2026-03-01").ok(), Some(59));
        assert_eq!(
            add_hours("2026-11-20T01:30:00Z", 24 + 4).ok().as_deref(),
            Some("2026-11-21T05:30:00.000000Z")
        );
        assert_eq!(
            add_hours("2026-11-20", -1).ok().as_deref(),
            Some("2026-11-19T23:00:00.000000Z")
        );
        assert!(add_days("yesterday", 1).is_err());
        assert_eq!(
            add_days("2026-01-01T10:00:00Z", 1).ok().as_deref(),
            Some("2026-01-02T10:00:00.000000Z")
        );
    }

    #[test]
    fn money_is_exact() {
        let a = money_str("0.10").unwrap_or_default() + money_str("0.20").unwrap_or_default();
        assert_eq!(a, money_str("0.3").unwrap_or_default());
        assert!(money_str("twelve").is_err());
    }

    #[test]
    fn regexes_and_text() {
        assert_eq!(regex_match(r"^\d{6}$", "200000").ok(), Some(true));
        assert_eq!(regex_replace(r"\s+", "a  b   c", " ").ok().as_deref(), Some("a b c"));
        assert_eq!(regex_captures(r"(\w+)@(\w+)", "li@acme").map(|a| a.len()).ok(), Some(3));
        assert!(regex_match("(unclosed", "x").is_err());
        assert_eq!(
            format_args("{} owes {}", &[Dynamic::from("Li".to_owned()), Dynamic::from_int(3)]),
            "Li owes 3"
        );
        let mut m = Map::new();
        m.insert("who".into(), Dynamic::from("Li".to_owned()));
        assert_eq!(format_named("hi {who}", &m), "hi Li");
        let parsed = parse_json(r#"{"a": [1, 2]}"#).map(|d| d.is_map()).ok();
        assert_eq!(parsed, Some(true));
        assert_eq!(to_json_text(Dynamic::from_int(3)).ok().as_deref(), Some("3"));
    }
}
