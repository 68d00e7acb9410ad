//! `kind: demo`: how to fill the application with believable demo records
//! (`relata demo-data`, `relata serve --demo`). Described in metadata so that
//! no entity or field name of the stock application is written in Rust.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `kind: demo`: demo records for some entities, generated in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier of this demo item.
    pub name: String,
    /// Named lists of words (surnames, cities, ...) used by `list:` and
    /// `name:` generators of any demo item.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub lists: IndexMap<String, Vec<String>>,
    /// The entities to fill, in the order they are generated: a reference
    /// can only point to an entity generated before (or to its own entity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<DemoEntity>,
}

/// How many records of one entity, and how each field gets its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoEntity {
    /// The entity.
    pub entity: String,
    /// A fixed number of records per size (give this or `parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SizeCounts")]
    pub count: Option<SizeCounts>,
    /// Records made for each record of a parent entity (give this or `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "DemoParent")]
    pub parent: Option<DemoParent>,
    /// A generator per field; fields left out get their default, or stay empty.
    pub fields: IndexMap<String, FieldGen>,
}

/// A number of records for each demo size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizeCounts {
    /// `--size small` (the default, and what `serve --demo` loads).
    pub small: u64,
    /// `--size medium`.
    pub medium: u64,
    /// `--size large`.
    pub large: u64,
}

/// Child records: so many for every record of the entity a reference field points to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoParent {
    /// The reference field that links a child to its parent; it is filled
    /// with the parent, and `parent.<field>` in `copy` and patterns reads it.
    pub field: String,
    /// Children per parent, for each size.
    pub per_parent: SizeRanges,
}

/// A range of counts for each demo size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SizeRanges {
    /// `--size small`.
    pub small: CountRange,
    /// `--size medium`.
    pub medium: CountRange,
    /// `--size large`.
    pub large: CountRange,
}

/// From `min` to `max` (inclusive), evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    /// Fewest.
    pub min: u32,
    /// Most.
    pub max: u32,
}

/// The generator of one field: exactly one of `values`, `list`, `picklist`,
/// `name`, `range`, `pattern`, `reference`, `copy` or `fixed`, plus an
/// optional `null` probability.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldGen {
    /// Pick one of these values (each must be valid for the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// Relative weights of `values`, one per value (default: all equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// Pick one word of a named list (see `lists`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Pick a code of the field's pick list: `any` (evenly) or weights by code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picklist: Option<PicklistGen>,
    /// With `picklist`: other weights for the records whose date or
    /// datetime field `when` (given before) is still to come, so that a
    /// visit to come is scheduled and a past one completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upcoming: Option<UpcomingGen>,
    /// A person's or company's name made of parts from named lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<NameGen>,
    /// A number, date or instant between `min` and `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeGen>,
    /// A text with placeholders: `{n}` (the record's sequence number, 1, 2,
    /// ...), `{n:6}` (zero-padded to 6 digits), `{digits:8}` (random digits),
    /// `{field}` (a field of this record given before), `{parent.field}`,
    /// `{company.name}` (a field of the record a reference given before points to), and
    /// `|slug` after a field (`{full_name|slug}`: lower-case ASCII letters and
    /// digits only, for e-mail addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A random record of this entity (the field's target), generated
    /// before; for the field's own entity, one generated earlier in the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// With `reference`: only records that have the same value in this
    /// reference field as the record being made (a contact of the same company).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching: Option<String>,
    /// The value of a field of a referenced record: `parent.city`, or
    /// `<reference field given before>.<field>` (`opportunity.company`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
    /// Always this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Value>,
    /// The probability (0 to 1) that the field is left empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null: Option<f64>,
}

/// `upcoming:` of a pick-list generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpcomingGen {
    /// The date or datetime field (given before) that says when.
    pub when: String,
    /// Weights by code for the records whose `when` is later than now.
    pub picklist: IndexMap<String, f64>,
}

/// `any` code, or weights by code (codes not named are not picked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PicklistGen {
    /// Any active code, evenly.
    Any(AnyCode),
    /// Relative weights by code.
    Weights(IndexMap<String, f64>),
}

/// The word `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnyCode {
    /// Any active code.
    Any,
}

/// Names built from parts: one style is chosen by weight, then one word of
/// each of its lists, joined by its separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameGen {
    /// The styles (e.g. Chinese: surname + given name, no separator;
    /// English: first name + last name, a space).
    pub styles: Vec<NameStyle>,
}

/// One way of building a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameStyle {
    /// Relative weight of this style (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Named lists, one word taken from each, in order.
    pub parts: Vec<String>,
    /// Put between the parts (default: nothing).
    #[serde(default)]
    pub separator: String,
}

/// Bounds of a `range` generator: numbers for numeric fields; for date and
/// datetime fields a date (`2025-01-31`), an RFC 3339 instant, or `today`
/// with an offset in days (`today-365`, `today+90`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeGen {
    /// Smallest value.
    pub min: Value,
    /// Largest value.
    pub max: Value,
}

/// One piece of a `pattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternPiece {
    /// Literal text.
    Text(String),
    /// `{n}` or `{n:W}`: the sequence number, zero-padded to W digits.
    Seq(usize),
    /// `{digits:K}`: K random digits.
    Digits(usize),
    /// `{field}`, `{parent.field}`, `{reference.field}`, optionally `|slug`.
    Field {
        /// Read from the parent record (`parent`) or the record a reference
        /// field of this record points to; `None`: this record.
        via: Option<String>,
        /// The field.
        name: String,
        /// Reduce to lower-case ASCII letters and digits.
        slug: bool,
    },
}

/// Parses a `pattern`; `Err` says what is wrong.
pub fn parse_pattern(s: &str) -> Result<Vec<PatternPiece>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(PatternPiece::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("`{{` at {open} is not closed"))?;
        let inner = &after[..close];
        out.push(parse_placeholder(inner)?);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("`}` without `{`".into());
    }
    if !rest.is_empty() {
        out.push(PatternPiece::Text(rest.to_owned()));
    }
    Ok(out)
}

fn parse_placeholder(inner: &str) -> Result<PatternPiece, String> {
    let width = |w: &str| -> Result<usize, String> {
        w.parse::<usize>()
            .ok()
            .filter(|w| (1..=20).contains(w))
            .ok_or_else(|| format!("`{{{inner}}}`: expected a width from 1 to 20"))
    };
    if inner == "n" {
        return Ok(PatternPiece::Seq(0));
    }
    if let Some(w) = inner.strip_prefix("n:") {
        return Ok(PatternPiece::Seq(width(w)?));
    }
    if let Some(w) = inner.strip_prefix("digits:") {
        return Ok(PatternPiece::Digits(width(w)?));
    }
    let (path, slug) = match inner.split_once('|') {
        Some((p, "slug")) => (p, true),
        Some((_, f)) => return Err(format!("`{{{inner}}}`: unknown filter `{f}`; expected slug")),
        None => (inner, false),
    };
    let (via, name) = match path.split_once('.') {
        Some((v, n)) => (Some(v.to_owned()), n),
        None => (None, path),
    };
    let ident = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !ident(name) || !via.as_deref().is_none_or(ident) {
        return Err(format!(
            "`{{{inner}}}`: expected {{n}}, {{n:W}}, {{digits:K}}, {{field}}, {{parent.field}} or {{reference.field}}"
        ));
    }
    Ok(PatternPiece::Field {
        via,
        name: name.to_owned(),
        slug,
    })
}

/// A `range` bound as a number: the number itself, days since 1970-01-01
/// for a date, seconds since 1970 for an instant. `today` is the day
/// `today±N` counts from.
pub fn range_bound(t: super::FieldType, v: &Value, today: time::Date) -> Option<f64> {
    use super::FieldType as F;
    match t {
        F::Integer | F::Decimal | F::Currency | F::Percent => v.as_f64(),
        F::Date | F::Datetime => {
            let s = v.as_str()?;
            let day = |d: time::Date| f64::from(d.to_julian_day() - EPOCH_JULIAN_DAY);
            let secs = if s.starts_with("today") {
                day(super::values::relative_day(s, today)?) * 86_400.0
            } else if let Some(d) = super::values::parse_date(s) {
                day(d) * 86_400.0
            } else {
                super::values::parse_datetime(s)?.unix_timestamp() as f64
            };
            Some(if t == F::Date { (secs / 86_400.0).floor() } else { secs })
        }
        _ => None,
    }
}

/// The Julian day of 1970-01-01.
pub const EPOCH_JULIAN_DAY: i32 = 2_440_588;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::FieldType;
    use serde_json::json;

    #[test]
    fn patterns_parse_into_pieces() {
        use PatternPiece::*;
        assert_eq!(
            parse_pattern("SO-{n:6}/{digits:2} {full_name|slug}@{parent.city}.{company.name}").unwrap(),
            vec![
                Text("SO-".into()),
                Seq(6),
                Text("/".into()),
                Digits(2),
                Text(" ".into()),
                Field {
                    via: None,
                    name: "full_name".into(),
                    slug: true
                },
                Text("@".into()),
                Field {
                    via: Some("parent".into()),
                    name: "city".into(),
                    slug: false
                },
                Text(".".into()),
                Field {
                    via: Some("company".into()),
                    name: "name".into(),
                    slug: false
                },
            ]
        );
        assert_eq!(parse_pattern("{n}").unwrap(), vec![Seq(0)]);
        assert!(parse_pattern("{n:0}").unwrap_err().contains("width from 1 to 20"));
        assert!(parse_pattern("{open").unwrap_err().contains("not closed"));
        assert!(parse_pattern("a}").unwrap_err().contains("without"));
        assert!(parse_pattern("{x|upper}").unwrap_err().contains("unknown filter"));
        assert!(parse_pattern("{Bad}").is_err());
    }

    #[test]
    fn range_bounds_read_numbers_dates_and_today() {
        let today = time::macros::date!(2026 - 01 - 10);
        assert_eq!(range_bound(FieldType::Integer, &json!(5), today), Some(5.0));
        assert_eq!(range_bound(FieldType::Integer, &json!("5"), today), None);
        let day = |s: &str| range_bound(FieldType::Date, &json!(s), today);
        assert_eq!(day("1970-01-02"), Some(1.0));
        assert_eq!(day("today"), Some(f64::from(today.to_julian_day() - EPOCH_JULIAN_DAY)));
        assert_eq!(day("today-10"), day("2025-12-31"));
        assert_eq!(day("today+1"), day("2026-01-11"));
        assert_eq!(day("tomorrow"), None);
        assert_eq!(
            range_bound(FieldType::Datetime, &json!("1970-01-01T00:01:00Z"), today),
            Some(60.0)
        );
        assert_eq!(range_bound(FieldType::Text, &json!(1), today), None);
    }
}
