//! Converting record values between their JSON form (the API) and their SQL
//! form (bound parameters, decoded rows), following the storage conventions.

use rust_decimal::Decimal;
use sea_query::Value;
use serde_json::Value as Json;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::model::decimals;
use crate::model::values::{format_date, format_datetime, parse_date, parse_datetime};
use crate::model::{decimal_shape, FieldDef, FieldType};
use crate::store::Backend;

/// What a column holds, for converting its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A UUID: `id`, references, `created_by`, `updated_by`, `owner_id`.
    Uuid,
    /// An instant: `created_at`, `updated_at`, `deleted_at`, datetime fields.
    Instant,
    /// `row_version`.
    Version,
    /// A decimal, currency or percent field with its (precision, scale):
    /// exact on both backends, NUMERIC on PostgreSQL, the value times
    /// `10^scale` as an INTEGER on SQLite.
    Decimal(u32, u32),
    /// A field of the given type (references, datetimes and decimals use
    /// the kinds above).
    Field(FieldType),
}

impl ColumnKind {
    /// The kind of a field's column.
    pub fn of_field(f: &FieldDef) -> ColumnKind {
        match f.field_type {
            FieldType::Reference => ColumnKind::Uuid,
            FieldType::Datetime => ColumnKind::Instant,
            t if t.is_decimal() => {
                let (p, s) = decimal_shape(f);
                ColumnKind::Decimal(p, s)
            }
            other => ColumnKind::of_type(other),
        }
    }

    /// The kind of a value of type `t` with no field behind it (a command
    /// parameter): decimals take any value a decimal holds.
    pub fn of_type(t: FieldType) -> ColumnKind {
        match t {
            FieldType::Reference => ColumnKind::Uuid,
            FieldType::Datetime => ColumnKind::Instant,
            t if t.is_decimal() => ColumnKind::Decimal(decimals::MAX_PRECISION, 4),
            other => ColumnKind::Field(other),
        }
    }
}

/// Converts a JSON value (already checked against the entity's JSON Schema)
/// into the value bound for `kind` on `backend`. `Err` says what was expected.
pub fn to_sql(backend: Backend, kind: ColumnKind, v: &Json) -> Result<Value, String> {
    let pg = backend == Backend::Postgres;
    if v.is_null() {
        return Ok(null_of(backend, kind));
    }
    Ok(match kind {
        ColumnKind::Uuid => {
            let s = v.as_str().ok_or("expected a record id (UUID string)")?;
            let id = Uuid::parse_str(s).map_err(|_| "expected a record id (UUID string)")?;
            if pg {
                Value::Uuid(Some(Box::new(id)))
            } else {
                Value::String(Some(Box::new(id.hyphenated().to_string())))
            }
        }
        ColumnKind::Instant => {
            let s = v.as_str().ok_or("expected an RFC 3339 date-time")?;
            let t = parse_datetime(s).ok_or("expected an RFC 3339 date-time, e.g. 2026-11-23T08:30:00Z")?;
            instant(backend, t)
        }
        ColumnKind::Version => Value::BigInt(Some(v.as_i64().ok_or("expected an integer")?)),
        ColumnKind::Decimal(p, s) => decimal_to_sql(pg, p, s, v)?,
        ColumnKind::Field(t) => field_to_sql(pg, t, v)?,
    })
}

/// An instant bound for `backend`.
pub fn instant(backend: Backend, t: OffsetDateTime) -> Value {
    match backend {
        Backend::Postgres => Value::TimeDateTimeWithTimeZone(Some(Box::new(t))),
        Backend::Sqlite => Value::String(Some(Box::new(format_datetime(t)))),
    }
}

/// A UUID bound for `backend`.
pub fn uuid(backend: Backend, id: Option<Uuid>) -> Value {
    match (backend, id) {
        (Backend::Postgres, id) => Value::Uuid(id.map(Box::new)),
        (Backend::Sqlite, id) => Value::String(id.map(|i| Box::new(i.hyphenated().to_string()))),
    }
}

/// A decimal value, exactly: NUMERIC on PostgreSQL, the scaled integer on
/// SQLite. A value beyond the precision or scale is refused, never rounded.
fn decimal_to_sql(pg: bool, precision: u32, scale: u32, v: &Json) -> Result<Value, String> {
    let limit = || format!("expected {}", decimals::limit_words(precision, scale));
    let d = decimals::of_json(v).ok_or_else(|| match v.is_number() {
        true => limit(),
        false => "expected a number".to_owned(),
    })?;
    decimals::fit(d, precision, scale).map_err(|_| limit())?;
    if pg {
        Ok(Value::Decimal(Some(Box::new(d))))
    } else {
        Ok(Value::BigInt(Some(decimals::to_scaled(d, scale).ok_or_else(limit)?)))
    }
}

fn field_to_sql(pg: bool, t: FieldType, v: &Json) -> Result<Value, String> {
    Ok(match t {
        FieldType::Integer => Value::BigInt(Some(whole_number(v).ok_or("expected a whole number")?)),
        FieldType::Boolean => Value::Bool(Some(v.as_bool().ok_or("expected true or false")?)),
        FieldType::Date => {
            let d = v.as_str().and_then(parse_date).ok_or("expected a date, YYYY-MM-DD")?;
            if pg {
                Value::TimeDate(Some(Box::new(d)))
            } else {
                Value::String(Some(Box::new(format_date(d))))
            }
        }
        FieldType::MultiPicklist => {
            let arr = v.as_array().ok_or("expected a list of codes")?;
            Value::String(Some(Box::new(Json::Array(arr.clone()).to_string())))
        }
        FieldType::Datetime | FieldType::Reference | FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
            return Err("internal: converted by its column kind".into());
        }
        _ => Value::String(Some(Box::new(v.as_str().ok_or("expected text")?.to_owned()))),
    })
}

/// A JSON number that is a whole number: `3`, or `3.0` (JSON Schema's
/// `integer` takes both), within 64 bits.
fn whole_number(v: &Json) -> Option<i64> {
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // Whole and inside i64 (2^63 itself is not: it rounds from i64::MAX).
        (f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)).then_some(f as i64)
    })
}

/// A typed NULL for `kind` on `backend` (PostgreSQL wants the right type).
pub fn null_of(backend: Backend, kind: ColumnKind) -> Value {
    let pg = backend == Backend::Postgres;
    match kind {
        ColumnKind::Uuid if pg => Value::Uuid(None),
        ColumnKind::Instant if pg => Value::TimeDateTimeWithTimeZone(None),
        ColumnKind::Version | ColumnKind::Field(FieldType::Integer) => Value::BigInt(None),
        ColumnKind::Field(FieldType::Boolean) => Value::Bool(None),
        ColumnKind::Field(FieldType::Date) if pg => Value::TimeDate(None),
        ColumnKind::Decimal(..) if pg => Value::Decimal(None),
        ColumnKind::Decimal(..) => Value::BigInt(None),
        _ => Value::String(None),
    }
}

/// Decodes column `i` of a SQLite row.
pub fn from_sqlite(row: &SqliteRow, i: usize, kind: ColumnKind) -> Result<Json, sqlx::Error> {
    Ok(match kind {
        ColumnKind::Version | ColumnKind::Field(FieldType::Integer) => {
            opt(row.try_get::<Option<i64>, _>(i)?, Json::from)
        }
        ColumnKind::Field(FieldType::Boolean) => opt(row.try_get::<Option<bool>, _>(i)?, Json::Bool),
        ColumnKind::Decimal(_, scale) => sqlite_decimal(row, i, scale)?,
        ColumnKind::Field(FieldType::MultiPicklist) => opt(row.try_get::<Option<String>, _>(i)?, json_text),
        _ => opt(row.try_get::<Option<String>, _>(i)?, Json::String),
    })
}

/// Decodes column `i` of a PostgreSQL row.
pub fn from_pg(row: &PgRow, i: usize, kind: ColumnKind) -> Result<Json, sqlx::Error> {
    Ok(match kind {
        ColumnKind::Uuid => opt(row.try_get::<Option<Uuid>, _>(i)?, |u| {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            Json::String(u.hyphenated().encode_lower(&mut buf).to_owned())
        }),
        ColumnKind::Instant => opt(row.try_get::<Option<OffsetDateTime>, _>(i)?, |t| {
            Json::String(format_datetime(t))
        }),
        ColumnKind::Version | ColumnKind::Field(FieldType::Integer) => {
            opt(row.try_get::<Option<i64>, _>(i)?, Json::from)
        }
        ColumnKind::Field(FieldType::Boolean) => opt(row.try_get::<Option<bool>, _>(i)?, Json::Bool),
        ColumnKind::Field(FieldType::Date) => opt(row.try_get::<Option<Date>, _>(i)?, |d| Json::String(format_date(d))),
        ColumnKind::Decimal(..) => opt(row.try_get::<Option<Decimal>, _>(i)?, decimals::to_json),
        ColumnKind::Field(FieldType::MultiPicklist) => opt(row.try_get::<Option<String>, _>(i)?, json_text),
        _ => opt(row.try_get::<Option<String>, _>(i)?, Json::String),
    })
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map(f).unwrap_or(Json::Null)
}

/// A decimal column on SQLite, by what the value holds: the scaled integer
/// of this release, or (until the table is rebuilt at start-up) the float an
/// older release stored, read as the nearest value at the scale.
fn sqlite_decimal(row: &SqliteRow, i: usize, scale: u32) -> Result<Json, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Json::Null);
    }
    let storage = raw.type_info().name().to_owned();
    let d = match storage.as_str() {
        "REAL" => decimals::of_legacy_float(row.try_get::<f64, _>(i)?, scale),
        "TEXT" => decimals::of_text(&row.try_get::<String, _>(i)?),
        _ => Some(decimals::of_scaled(row.try_get::<i64, _>(i)?, scale)),
    };
    Ok(d.map_or(Json::Null, decimals::to_json))
}

fn json_text(s: String) -> Json {
    serde_json::from_str(&s).unwrap_or(Json::String(s))
}
