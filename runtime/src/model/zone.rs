//! Time zones. Instants are stored and exchanged in UTC; a zone only
//! decides how an instant is shown to a person, how a wall-clock time typed
//! into a form becomes an instant, and which calendar day "today" is.
//!
//! Two zones are in play: the user's (their setting, else their browser's)
//! for what they read and type, and the installation's (`--time-zone`) for
//! requests that carry none, such as an API call by a user without a
//! setting. Zones come from the IANA database bundled into the binary, so a
//! machine without `/usr/share/zoneinfo` knows them too.

use std::fmt;
use std::sync::Arc;

use jiff::civil;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use time::{Date, Month, OffsetDateTime};

/// A name that is not a time zone of the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone `{0}`: expected an IANA name such as `Asia/Shanghai`, `Europe/Berlin` or `UTC`")]
pub struct UnknownZone(pub String);

/// An IANA time zone, with its name.
#[derive(Clone)]
pub struct Zone {
    name: Arc<str>,
    tz: TimeZone,
}

/// An instant as read on a clock of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallClock {
    /// The local date.
    pub date: Date,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// The zone's abbreviation at that instant (`CST`, `CEST`, `UTC`, or
    /// an offset such as `+04` where the database has no letters).
    pub abbreviation: String,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: Arc::from("UTC"),
            tz: TimeZone::UTC,
        }
    }

    /// The zone named `name` (as the IANA database spells it; the lookup
    /// ignores case, the stored name is the database's).
    pub fn parse(name: &str) -> Result<Zone, UnknownZone> {
        let unknown = || UnknownZone(name.to_owned());
        // Only names: POSIX rules (`EST5EDT,M3.2.0,...`) and paths are not
        // zones a person picks.
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        if !plain || name.starts_with('/') || name.contains("..") {
            return Err(unknown());
        }
        let tz = TimeZone::get(name).map_err(|_| unknown())?;
        let canonical = tz.iana_name().unwrap_or(name);
        Ok(Zone {
            name: Arc::from(canonical),
            tz,
        })
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar day it is in this zone at `at`.
    pub fn date_of(&self, at: OffsetDateTime) -> Date {
        self.wall_clock(at).date
    }

    /// `at` as read on this zone's clocks.
    pub fn wall_clock(&self, at: OffsetDateTime) -> WallClock {
        let ts = to_timestamp(at);
        let info = self.tz.to_offset_info(ts);
        let local = info.offset().to_datetime(ts);
        WallClock {
            date: from_civil_date(local.date()).unwrap_or_else(|| at.date()),
            hour: u8::try_from(local.hour()).unwrap_or(0),
            minute: u8::try_from(local.minute()).unwrap_or(0),
            second: u8::try_from(local.second()).unwrap_or(0),
            abbreviation: info.abbreviation().to_owned(),
        }
    }

    /// The first instant of `day` in this zone (midnight, or the end of a
    /// gap when the clocks skip midnight).
    pub fn start_of_day(&self, day: Date) -> Option<OffsetDateTime> {
        let zoned = to_civil_date(day)?.to_zoned(self.tz.clone()).ok()?;
        let start = zoned.start_of_day().ok()?;
        from_timestamp(start.timestamp())
    }

    /// The instant a person in this zone means by a wall-clock time
    /// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (what a `datetime-local`
    /// input sends). A time the clocks skip is read as after the jump, a
    /// time they show twice as the first of the two: the rule most calendar
    /// programs follow. `None` when `text` is not such a time.
    pub fn instant_of(&self, text: &str) -> Option<OffsetDateTime> {
        let (date, clock) = text.split_once('T')?;
        let date = to_civil_date(super::values::parse_date(date)?)?;
        let mut parts = clock.split(':');
        let mut number = |required: bool| -> Option<i8> {
            match parts.next() {
                Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let (hour, minute, second) = (number(true)?, number(true)?, number(false)?);
        if parts.next().is_some() {
            return None;
        }
        let time = civil::Time::new(hour, minute, second, 0).ok()?;
        let zoned = self.tz.to_ambiguous_zoned(date.to_datetime(time)).compatible().ok()?;
        from_timestamp(zoned.timestamp())
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

/// The zones a person may pick, sorted: `UTC` and the `Area/Location`
/// names of the bundled database (not legacy names such as `EST5EDT` or
/// `Etc/GMT+8`, whose sign is the reverse of what people expect).
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .filter(|n| n == "UTC" || (n.contains('/') && !n.starts_with("Etc/")))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn to_timestamp(at: OffsetDateTime) -> Timestamp {
    // Every instant `time` holds (years -9999..=9999) is one jiff holds.
    Timestamp::new(at.unix_timestamp(), i32::try_from(at.nanosecond()).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn from_timestamp(ts: Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(ts.as_nanosecond()).ok()
}

fn to_civil_date(d: Date) -> Option<civil::Date> {
    let year = i16::try_from(d.year()).ok()?;
    let month = i8::try_from(u8::from(d.month())).ok()?;
    let day = i8::try_from(d.day()).ok()?;
    civil::Date::new(year, month, day).ok()
}

fn from_civil_date(d: civil::Date) -> Option<Date> {
    let month = Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::values::{format_datetime, parse_date, parse_datetime};

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap_or_else(|e| panic!("{e}"))
    }

    fn instant(s: &str) -> OffsetDateTime {
        parse_datetime(s).unwrap_or_else(|| panic!("not an instant: {s}"))
    }

    fn day(s: &str) -> Date {
        parse_date(s).unwrap_or_else(|| panic!("not a date: {s}"))
    }

    #[test]
    fn names_are_those_of_the_iana_database() {
        assert_eq!(zone("Asia/Shanghai").name(), "Asia/Shanghai");
        assert_eq!(zone("asia/shanghai").name(), "Asia/Shanghai", "lookup ignores case");
        assert_eq!(zone("UTC"), Zone::utc());
        for bad in [
            "",
            "Mars/Olympus_Mons",
            "EST5EDT,M3.2.0,M11.1.0",
            "/etc/localtime",
            "../../etc/passwd",
            "Asia/Shanghai ",
        ] {
            assert_eq!(
                Zone::parse(bad).err().map(|e| e.to_string()),
                Some(format!(
                    "unknown time zone `{bad}`: expected an IANA name such as `Asia/Shanghai`, `Europe/Berlin` or `UTC`"
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_zones_offered_are_sorted_names_that_parse() {
        let all = names();
        assert!(all.len() > 300, "{}", all.len());
        assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        for name in ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"] {
            assert!(all.iter().any(|n| n == name), "{name}");
        }
        assert!(!all.iter().any(|n| n == "EST5EDT" || n.starts_with("Etc/")));
        assert!(all.iter().all(|n| Zone::parse(n).is_ok()));
    }

    #[test]
    fn shows_an_instant_on_the_zones_clock() {
        let at = instant("2026-11-03T20:05:09Z");
        let shanghai = zone("Asia/Shanghai").wall_clock(at);
        assert_eq!(
            (shanghai.date, shanghai.hour, shanghai.minute, shanghai.second),
            (day("2026-11-04"), 4, 5, 9)
        );
        assert_eq!(shanghai.abbreviation, "CST");
        let utc = Zone::utc().wall_clock(at);
        assert_eq!(
            (utc.date, utc.hour, utc.abbreviation.as_str()),
            (day("2026-11-03"), 20, "UTC")
        );
        // Summer and winter in Berlin.
        assert_eq!(
            zone("Europe/Berlin")
                .wall_clock(instant("2026-07-01T10:00:00Z"))
                .abbreviation,
            "CEST"
        );
        assert_eq!(
            zone("Europe/Berlin").wall_clock(instant("2026-12-01T10:00:00Z")).hour,
            11
        );
    }

    #[test]
    fn today_depends_on_where_you_are() {
        let at = instant("2026-11-03T17:30:00Z");
        assert_eq!(Zone::utc().date_of(at), day("2026-11-03"));
        assert_eq!(zone("Asia/Shanghai").date_of(at), day("2026-11-04"));
        assert_eq!(
            zone("America/Los_Angeles").date_of(instant("2026-11-04T03:00:00Z")),
            day("2026-11-03")
        );
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        let start = |z: &str, d: &str| zone(z).start_of_day(day(d)).map(format_datetime);
        assert_eq!(
            start("Asia/Shanghai", "2026-11-04").as_deref(),
            Some("2026-11-03T16:00:00.000000Z")
        );
        assert_eq!(
            start("UTC", "2026-11-04").as_deref(),
            Some("2026-11-04T00:00:00.000000Z")
        );
        // Havana moved its clocks from midnight to 01:00 on 8 March 2026:
        // that day starts at 01:00 local time (05:00 UTC).
        assert_eq!(
            start("America/Havana", "2026-03-08").as_deref(),
            Some("2026-03-08T05:00:00.000000Z")
        );
    }

    #[test]
    fn reads_a_typed_wall_clock_time_in_the_zone() {
        let read = |z: &str, t: &str| zone(z).instant_of(t).map(format_datetime);
        assert_eq!(
            read("Asia/Shanghai", "2026-11-04T09:30").as_deref(),
            Some("2026-11-04T01:30:00.000000Z")
        );
        assert_eq!(
            read("UTC", "2026-11-04T09:30:15").as_deref(),
            Some("2026-11-04T09:30:15.000000Z")
        );
        // 02:30 does not exist in Berlin on 29 March 2026 (02:00 -> 03:00):
        // read as after the jump.
        assert_eq!(
            read("Europe/Berlin", "2026-03-29T02:30").as_deref(),
            Some("2026-03-29T01:30:00.000000Z")
        );
        // 02:30 happens twice on 25 October 2026: the first (summer time).
        assert_eq!(
            read("Europe/Berlin", "2026-10-25T02:30").as_deref(),
            Some("2026-10-25T00:30:00.000000Z")
        );
        for bad in [
            "2026-11-04",
            "2026-11-04T9:30",
            "2026-11-04T09:30:15:00",
            "2026-13-01T09:30",
            "2026-11-04T24:00",
            "x",
        ] {
            assert_eq!(read("UTC", bad), None, "{bad}");
        }
    }
}
