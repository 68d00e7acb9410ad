//! Column shapes: what a field asks of its column, the SQL type that follows
//! from it on each backend, and what it takes to convert stored values when
//! a field changes (which checks, which SQL expression).

use serde::Serialize;

use super::q;
use crate::model::{decimal_shape, FieldDef, FieldType, OnDelete};
use crate::store::Backend;

/// The storage-relevant part of a field definition, with the type's defaults
/// filled in (so `max_length: None` and `max_length: 255` compare equal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shape {
    /// The field type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Longest value (text, email, phone, url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Total digits (decimal, currency, percent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Digits after the point (decimal, currency, percent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// The pick list (picklist).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picklist: Option<String>,
    /// The referenced entity (reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The foreign-key action (reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    /// NOT NULL.
    pub required: bool,
    /// A decimal column an older release made on SQLite, holding floats
    /// (REAL): read from the catalog, never from metadata. Changing it to
    /// any shape rebuilds the table, converting the values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub legacy_real: bool,
}

impl Shape {
    /// The shape of a field.
    pub fn of(f: &FieldDef) -> Shape {
        let t = f.field_type;
        let (precision, scale) = if t.is_decimal() {
            let (p, s) = decimal_shape(f);
            (Some(p), Some(s))
        } else {
            (None, None)
        };
        let is_ref = t == FieldType::Reference;
        Shape {
            field_type: t,
            max_length: if t.is_short_text() {
                f.max_length.or(t.default_max_length())
            } else {
                None
            },
            precision,
            scale,
            picklist: if t == FieldType::Picklist {
                f.picklist.clone()
            } else {
                None
            },
            target: if is_ref { f.target.clone() } else { None },
            on_delete: is_ref.then(|| f.on_delete.unwrap_or(OnDelete::Restrict)),
            required: f.required,
            legacy_real: false,
        }
    }

    /// The digits after the point of a decimal shape (0 otherwise).
    fn scale(&self) -> u32 {
        self.scale.unwrap_or(0)
    }

    /// Whether the column holds a decimal as a scaled integer (SQLite).
    fn scaled(&self) -> bool {
        self.field_type.is_decimal() && !self.legacy_real
    }

    /// The SQL column type on `backend`, per the storage conventions.
    pub fn sql_type(&self, backend: Backend) -> String {
        let t = self.field_type;
        match backend {
            Backend::Sqlite => match t {
                FieldType::Integer | FieldType::Boolean => "INTEGER",
                // Exact: the value times 10^scale (sorts and compares as
                // the value does). Older releases stored floats.
                _ if t.is_decimal() && self.legacy_real => "REAL",
                _ if t.is_decimal() => "INTEGER",
                _ => "TEXT",
            }
            .to_owned(),
            Backend::Postgres => match t {
                _ if t.is_short_text() => format!("VARCHAR({})", self.max_length.unwrap_or(255)),
                FieldType::Picklist => "VARCHAR(63)".to_owned(),
                FieldType::Integer => "BIGINT".to_owned(),
                _ if t.is_decimal() => format!("NUMERIC({},{})", self.precision.unwrap_or(18), self.scale.unwrap_or(2)),
                FieldType::Boolean => "BOOLEAN".to_owned(),
                FieldType::Date => "DATE".to_owned(),
                FieldType::Datetime => "TIMESTAMPTZ".to_owned(),
                FieldType::Reference => "UUID".to_owned(),
                _ => "TEXT".to_owned(),
            },
        }
    }

    /// The type as the metadata says it: `text(40)`, `decimal(18,2)`,
    /// `reference to company`.
    pub fn describe(&self) -> String {
        let t = self.field_type.as_str();
        match (self.max_length, self.precision, &self.target, &self.picklist) {
            (Some(n), _, _, _) => format!("{t}({n})"),
            (_, Some(p), _, _) => format!("{t}({p},{})", self.scale.unwrap_or(0)),
            (_, _, Some(target), _) => format!("{t} to {target}"),
            (_, _, _, Some(list)) => format!("{t} of {list}"),
            _ => t.to_owned(),
        }
    }

    /// The foreign key this shape asks for: target table and action.
    pub fn foreign_key(&self) -> Option<(&str, OnDelete)> {
        Some((self.target.as_deref()?, self.on_delete.unwrap_or(OnDelete::Restrict)))
    }
}

/// A check of stored values that a change needs before it can be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// No value (as text) longer than `max` characters.
    MaxLength {
        /// The new limit.
        max: u32,
    },
    /// Every text is a whole number.
    Integer,
    /// Every text is a number within the precision and scale.
    Number {
        /// Total digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// Every number fits the precision and scale.
    Fits {
        /// Total digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// Every number is whole and fits 64 bits.
    Whole,
    /// Every number (a float of an older release) is below `10^(precision -
    /// scale)` in size; digits beyond the scale are rounded, half to even.
    Range {
        /// Total digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// Every text is true/false, yes/no or 1/0.
    Boolean,
    /// Every text is a date `YYYY-MM-DD`.
    Date,
    /// Every value is a code of the pick list.
    Picklist {
        /// The new pick list.
        picklist: String,
    },
    /// The column holds no value at all (the change has no conversion).
    Empty,
    /// No row lacks a value.
    NotNull,
}

fn is_textlike(t: FieldType) -> bool {
    t.is_short_text() || matches!(t, FieldType::LongText | FieldType::Picklist | FieldType::MultiPicklist)
}

/// The length limit of a text-like shape's column.
fn text_limit(s: &Shape) -> Option<u32> {
    match s.field_type {
        FieldType::Picklist => Some(63),
        _ => s.max_length,
    }
}

/// The longest textual form a value of `s` can have, if bounded.
fn textual_length(s: &Shape) -> Option<u32> {
    match s.field_type {
        t if t.is_short_text() => s.max_length,
        FieldType::Picklist => Some(63),
        FieldType::Integer => Some(20),
        t if t.is_decimal() => s.precision.map(|p| p + 2),
        FieldType::Boolean => Some(5),
        FieldType::Date => Some(10),
        FieldType::Datetime => Some(27),
        FieldType::Reference => Some(36),
        _ => None,
    }
}

/// The checks of stored values a change from `from` to `to` needs; none
/// means it cannot lose or reject a value.
pub(crate) fn value_checks(from: &Shape, to: &Shape) -> Vec<Check> {
    use FieldType as T;
    let (f, t) = (from.field_type, to.field_type);
    let mut checks = Vec::new();
    let (p, s) = (to.precision.unwrap_or(18), to.scale.unwrap_or(0));
    let (p0, s0) = (from.precision.unwrap_or(18), from.scale.unwrap_or(0));
    if t == T::Picklist && (f != T::Picklist || from.picklist != to.picklist) {
        checks.push(Check::Picklist {
            picklist: to.picklist.clone().unwrap_or_default(),
        });
    } else if t == T::MultiPicklist && f != T::MultiPicklist {
        checks.push(Check::Empty);
    } else if is_textlike(t) {
        if let Some(max) = text_limit(to) {
            if textual_length(from).is_none_or(|len| len > max) {
                checks.push(Check::MaxLength { max });
            }
        }
    } else {
        match (f, t) {
            (f, T::Integer) if is_textlike(f) => checks.push(Check::Integer),
            (f, t) if is_textlike(f) && t.is_decimal() => checks.push(Check::Number { precision: p, scale: s }),
            (f, T::Boolean) if is_textlike(f) => checks.push(Check::Boolean),
            (f, T::Date) if is_textlike(f) => checks.push(Check::Date),
            (T::Integer, t) if t.is_decimal() => {
                if p.saturating_sub(s) < 19 {
                    checks.push(Check::Fits { precision: p, scale: s });
                }
            }
            (f, t) if from.legacy_real && f.is_decimal() && t.is_decimal() => {
                checks.push(Check::Range { precision: p, scale: s });
            }
            (f, t) if f.is_decimal() && t.is_decimal() => {
                if s < s0 || p.saturating_sub(s) < p0.saturating_sub(s0) {
                    checks.push(Check::Fits { precision: p, scale: s });
                }
            }
            (f, T::Integer) if f.is_decimal() => checks.push(Check::Whole),
            (T::Boolean, T::Integer) | (T::Date, T::Datetime) => {}
            (T::Reference, T::Reference) => {
                if from.target != to.target {
                    checks.push(Check::Empty);
                }
            }
            (f, t) if f == t => {}
            _ => checks.push(Check::Empty),
        }
    }
    if to.required && !from.required {
        checks.push(Check::NotNull);
    }
    checks
}

/// The SQL expression, over column `c` of the old table, that gives the new
/// value on SQLite (without guards). Decimals are scaled integers (see
/// [`Shape::sql_type`]); floats of older releases are rounded to the new
/// scale, half to even.
fn sqlite_convert(from: &Shape, to: &Shape, c: &str) -> String {
    use FieldType as T;
    let (f, t) = (from.field_type, to.field_type);
    match t {
        t if is_textlike(t) => match f {
            T::Integer => format!("CAST({c} AS TEXT)"),
            _ if from.scaled() => scaled_text(c, from.scale()),
            f if f.is_decimal() => format!("CAST({c} AS TEXT)"),
            T::Boolean => format!("CASE {c} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"),
            _ => c.to_owned(),
        },
        T::Integer if is_textlike(f) => format!("CAST(trim({c}) AS INTEGER)"),
        T::Integer if from.scaled() => format!("({c} / {})", pow10(from.scale())),
        T::Integer if f.is_decimal() => format!("CAST({c} AS INTEGER)"),
        t if t.is_decimal() && is_textlike(f) => text_scaled(c, to.scale()),
        t if t.is_decimal() && f == T::Integer => format!("({c} * {})", pow10(to.scale())),
        t if t.is_decimal() && from.legacy_real => {
            let x = format!("({c} * {}.0)", pow10(to.scale()));
            // round() is half away from zero; 2 * round(x / 2) is the even
            // neighbour when x is exactly halfway.
            format!(
                "CAST(CASE WHEN abs({x} - CAST({x} AS INTEGER)) = 0.5 THEN 2 * round({x} / 2) \
                 ELSE round({x}) END AS INTEGER)"
            )
        }
        t if t.is_decimal() && f.is_decimal() => {
            let (s0, s1) = (from.scale(), to.scale());
            match s1.cmp(&s0) {
                std::cmp::Ordering::Equal => c.to_owned(),
                std::cmp::Ordering::Greater => format!("({c} * {})", pow10(s1 - s0)),
                std::cmp::Ordering::Less => format!("({c} / {})", pow10(s0 - s1)),
            }
        }
        T::Boolean if is_textlike(f) => format!(
            "CASE WHEN lower(trim({c})) IN ('true', 'yes', '1') THEN 1 \
             WHEN lower(trim({c})) IN ('false', 'no', '0') THEN 0 END"
        ),
        T::Date if is_textlike(f) => format!("trim({c})"),
        T::Datetime if f == T::Date => format!("{c} || 'T00:00:00.000000Z'"),
        _ => c.to_owned(),
    }
}

/// `10^n` as an SQL integer literal (n is at most 18).
fn pow10(n: u32) -> String {
    10i64.checked_pow(n).unwrap_or(i64::MAX).to_string()
}

/// A scaled integer column as the decimal's text: `-1234` at scale 2 is
/// `-12.34`, `1500` is `15`.
fn scaled_text(c: &str, scale: u32) -> String {
    if scale == 0 {
        return format!("CAST({c} AS TEXT)");
    }
    let p = pow10(scale);
    format!(
        "(CASE WHEN {c} < 0 THEN '-' ELSE '' END || (abs({c}) / {p}) || \
         rtrim(rtrim('.' || printf('%0{scale}d', abs({c}) % {p}), '0'), '.'))"
    )
}

/// A text column holding a plain decimal (checked by [`Check::Number`]) as
/// the scaled integer at `scale`, digit by digit (no float on the way).
fn text_scaled(c: &str, scale: u32) -> String {
    let u = format!("(CASE WHEN substr(trim({c}), 1, 1) IN ('+', '-') THEN substr(trim({c}), 2) ELSE trim({c}) END)");
    let dot = format!("instr({u}, '.')");
    let int = format!("CAST(CASE WHEN {dot} = 0 THEN {u} ELSE substr({u}, 1, {dot} - 1) END AS INTEGER)");
    let zeros = "0".repeat(scale as usize);
    let frac = if scale == 0 {
        "0".to_owned()
    } else {
        format!("CAST(substr(CASE WHEN {dot} = 0 THEN '' ELSE substr({u}, {dot} + 1) END || '{zeros}', 1, {scale}) AS INTEGER)")
    };
    format!(
        "((CASE WHEN substr(trim({c}), 1, 1) = '-' THEN -1 ELSE 1 END) * ({int} * {} + {frac}))",
        pow10(scale)
    )
}

/// The `USING` expression on PostgreSQL (without guards).
fn pg_convert(from: &Shape, to: &Shape, c: &str, new_type: &str) -> String {
    use FieldType as T;
    let (f, t) = (from.field_type, to.field_type);
    match t {
        t if is_textlike(t) => match f {
            T::Datetime => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
            f if is_textlike(f) => c.to_owned(),
            _ => format!("{c}::text"),
        },
        T::Integer if is_textlike(f) => format!("trim({c})::bigint"),
        T::Integer if f.is_decimal() => format!("{c}::bigint"),
        T::Integer if f == T::Boolean => format!("{c}::int::bigint"),
        t if t.is_decimal() && is_textlike(f) => format!("trim({c})::{new_type}"),
        t if t.is_decimal() && (f == T::Integer || f.is_decimal()) => format!("{c}::{new_type}"),
        T::Boolean if is_textlike(f) => format!("trim({c})::boolean"),
        T::Date if is_textlike(f) => format!("trim({c})::date"),
        T::Datetime if f == T::Date => format!("{c}::timestamp AT TIME ZONE 'UTC'"),
        _ if f == t => c.to_owned(),
        _ => format!("{c}::text::{new_type}"),
    }
}

/// The new value's SQL expression over column `column` of the old table,
/// guarded so that a value the checks would refuse (written after
/// [`super::check_data`] ran) makes the statement fail instead of being
/// lost: on SQLite through an integer overflow, on PostgreSQL through a
/// cast that cannot succeed (text targets fail on their own length limit).
pub(crate) fn convert_expr(backend: Backend, from: &Shape, to: &Shape, column: &str) -> String {
    let c = q(column);
    let bad: Vec<String> = value_checks(from, to)
        .iter()
        .filter(|k| **k != Check::NotNull)
        .map(|k| bad_value(backend, k, from, to, &c, &[]))
        .collect();
    match backend {
        Backend::Sqlite => {
            let conv = sqlite_convert(from, to, &c);
            if bad.is_empty() {
                conv
            } else {
                format!(
                    "CASE WHEN {} THEN abs(-9223372036854775808) ELSE {conv} END",
                    bad.join(" OR ")
                )
            }
        }
        Backend::Postgres => {
            let ty = to.sql_type(backend);
            let conv = pg_convert(from, to, &c, &ty);
            if bad.is_empty() || is_textlike(to.field_type) {
                conv
            } else {
                format!(
                    "CASE WHEN {} THEN ('refused: ' || {c}::text)::{ty} ELSE {conv} END",
                    bad.join(" OR ")
                )
            }
        }
    }
}

/// Whether the SQLite table must be rebuilt to change a column from `from`
/// to `to` (the SQL type, the values, NOT NULL or the foreign key change).
pub(crate) fn sqlite_needs_rebuild(from: &Shape, to: &Shape) -> bool {
    from.sql_type(Backend::Sqlite) != to.sql_type(Backend::Sqlite)
        || sqlite_convert(from, to, "c") != "c"
        || from.required != to.required
        || from.foreign_key() != to.foreign_key()
}

/// The condition (over column `c`, already quoted) that a row fails `check`;
/// never true for NULL except for [`Check::NotNull`]. `codes` are the pick
/// list's codes for [`Check::Picklist`] (checked identifiers).
pub(crate) fn bad_value(
    backend: Backend,
    check: &Check,
    from: &Shape,
    to: &Shape,
    c: &str,
    codes: &[String],
) -> String {
    let pg = backend == Backend::Postgres;
    let sqlite_unsigned =
        format!("(CASE WHEN substr(trim({c}), 1, 1) IN ('+', '-') THEN substr(trim({c}), 2) ELSE trim({c}) END)");
    let fits = |x: &str, p: u32, s: u32| format!("(abs({x}) >= 1e{} OR round({x}, {s}) <> {x})", p.saturating_sub(s));
    let cond = match check {
        Check::NotNull => return format!("{c} IS NULL"),
        Check::MaxLength { max } => {
            let text = if pg {
                pg_convert(from, to, c, "text")
            } else {
                sqlite_convert(from, to, c)
            };
            let len = if pg { "char_length" } else { "length" };
            format!("{len}({text}) > {max}")
        }
        Check::Integer if pg => format!("trim({c}) !~ '^[+-]?[0-9]{{1,18}}$'"),
        Check::Integer => {
            let u = &sqlite_unsigned;
            format!("({u} = '' OR {u} GLOB '*[^0-9]*' OR length({u}) > 18)")
        }
        Check::Number { precision, scale } if pg => format!(
            "CASE WHEN trim({c}) ~ '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$' THEN {} ELSE true END",
            fits(&format!("trim({c})::numeric"), *precision, *scale)
        ),
        Check::Number { precision, scale } => {
            // Digits counted in the text: exact where a float is not.
            let u = &sqlite_unsigned;
            let dot = format!("instr({u}, '.')");
            let int = format!("(CASE WHEN {dot} = 0 THEN {u} ELSE substr({u}, 1, {dot} - 1) END)");
            let frac = format!("(CASE WHEN {dot} = 0 THEN '' ELSE substr({u}, {dot} + 1) END)");
            format!(
                "({u} = '' OR {u} = '.' OR {u} GLOB '*[^0-9.]*' OR {u} GLOB '*.*.*' \
                 OR length(ltrim({int}, '0')) > {} OR length(rtrim({frac}, '0')) > {scale})",
                precision.saturating_sub(*scale)
            )
        }
        Check::Fits { precision, scale } if !pg && from.scaled() => scaled_misfit(c, from.scale(), *precision, *scale),
        Check::Fits { precision, scale } => fits(c, *precision, *scale),
        Check::Range { precision, scale } => format!("abs({c}) >= 1e{}", precision.saturating_sub(*scale)),
        Check::Whole if pg => format!("({c} <> trunc({c}) OR abs({c}) >= 9223372036854775807)"),
        Check::Whole if from.scaled() => format!("{c} % {} <> 0", pow10(from.scale())),
        Check::Whole => format!("({c} <> CAST({c} AS INTEGER) OR abs({c}) >= 9.2e18)"),
        Check::Boolean => format!("lower(trim({c})) NOT IN ('true', 'false', 'yes', 'no', '1', '0')"),
        Check::Date if pg => {
            format!("trim({c}) !~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'")
        }
        Check::Date => format!("(date(trim({c})) IS NULL OR date(trim({c})) <> trim({c}))"),
        Check::Picklist { .. } if codes.is_empty() => "1 = 1".to_owned(),
        Check::Picklist { .. } => {
            let list: Vec<String> = codes
                .iter()
                .map(|code| format!("'{}'", code.replace('\'', "''")))
                .collect();
            format!("{c} NOT IN ({})", list.join(", "))
        }
        Check::Empty => "1 = 1".to_owned(),
    };
    format!("({c} IS NOT NULL AND {cond})")
}

/// The condition that a scaled integer `c` at scale `s0` does not fit
/// `precision` digits of which `scale` after the point (exact: integers).
fn scaled_misfit(c: &str, s0: u32, precision: u32, scale: u32) -> String {
    let mut conds = Vec::new();
    let e = precision.saturating_sub(scale) + s0;
    if e <= 18 {
        conds.push(format!("abs({c}) >= {}", pow10(e)));
    }
    if scale < s0 {
        conds.push(format!("{c} % {} <> 0", pow10(s0 - scale)));
    }
    if conds.is_empty() {
        return "1 = 0".to_owned();
    }
    format!("({})", conds.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(t: FieldType) -> Shape {
        Shape {
            field_type: t,
            max_length: t.default_max_length(),
            precision: t.is_decimal().then_some(18),
            scale: t.is_decimal().then_some(2),
            picklist: None,
            target: None,
            on_delete: None,
            required: false,
            legacy_real: false,
        }
    }

    #[test]
    fn widening_needs_no_check_and_narrowing_does() {
        let long = Shape {
            max_length: Some(100),
            ..shape(FieldType::Text)
        };
        let short = Shape {
            max_length: Some(40),
            ..shape(FieldType::Text)
        };
        assert!(value_checks(&short, &long).is_empty());
        assert_eq!(value_checks(&long, &short), vec![Check::MaxLength { max: 40 }]);
        assert!(value_checks(&shape(FieldType::Text), &shape(FieldType::LongText)).is_empty());
        assert!(value_checks(&shape(FieldType::Email), &shape(FieldType::Text)).is_empty());
        assert_eq!(
            value_checks(&shape(FieldType::Boolean), &shape(FieldType::Date)),
            vec![Check::Empty]
        );
        assert_eq!(
            value_checks(&shape(FieldType::Text), &shape(FieldType::Integer)),
            vec![Check::Integer]
        );
        let required = Shape {
            required: true,
            ..shape(FieldType::Text)
        };
        assert_eq!(value_checks(&shape(FieldType::Text), &required), vec![Check::NotNull]);
        assert!(value_checks(&required, &shape(FieldType::Text)).is_empty());
    }

    fn dec(p: u32, s: u32) -> Shape {
        Shape {
            precision: Some(p),
            scale: Some(s),
            ..shape(FieldType::Decimal)
        }
    }

    /// Evaluates the SQLite conversion of `value` from `from` to `to`.
    async fn convert(pool: &sqlx::SqlitePool, from: &Shape, to: &Shape, value: &str) -> Option<String> {
        let expr = convert_expr(Backend::Sqlite, from, to, "c");
        let sql = format!("SELECT CAST({expr} AS TEXT) FROM (SELECT {value} AS \"c\")");
        sqlx::query_scalar::<_, Option<String>>(&sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| Some(format!("error: {e}")))
    }

    #[tokio::test]
    async fn sqlite_conversions_of_scaled_decimals_are_exact() {
        let Ok(pool) = sqlx::SqlitePool::connect("sqlite::memory:").await else {
            panic!("in-memory SQLite")
        };
        let legacy = Shape {
            legacy_real: true,
            ..dec(18, 2)
        };
        let text = Shape {
            max_length: Some(100),
            ..shape(FieldType::Text)
        };
        let cases: Vec<(Shape, Shape, &str, &str)> = vec![
            // Floats of older releases: nearest at the scale, half to even.
            (legacy.clone(), dec(18, 2), "0.1 + 0.2", "30"),
            (legacy.clone(), dec(18, 2), "1234567.89", "123456789"),
            (legacy.clone(), dec(18, 2), "0.125", "12"),
            (legacy.clone(), dec(18, 2), "0.375", "38"),
            (legacy.clone(), dec(18, 2), "-0.125", "-12"),
            // Scale changes, text both ways, integers.
            (dec(18, 2), dec(18, 4), "-1234", "-123400"),
            (dec(18, 4), dec(18, 2), "123400", "1234"),
            (dec(18, 2), text.clone(), "-1234", "-12.34"),
            (dec(18, 2), text.clone(), "1500", "15"),
            (dec(18, 6), text.clone(), "1", "0.000001"),
            (text.clone(), dec(18, 2), "' -12.3 '", "-1230"),
            (text.clone(), dec(18, 2), "'9999999999999999.99'", "999999999999999999"),
            (dec(18, 2), shape(FieldType::Integer), "-1200", "-12"),
            (shape(FieldType::Integer), dec(18, 2), "7", "700"),
        ];
        for (from, to, value, want) in cases {
            assert_eq!(
                convert(&pool, &from, &to, value).await.as_deref(),
                Some(want),
                "{} -> {} of {value}",
                from.describe(),
                to.describe()
            );
        }
        // Values that do not fit make the conversion fail, never lose digits.
        for (from, to, value) in [
            (dec(18, 4), dec(18, 2), "123456"),
            (dec(18, 2), dec(4, 2), "10000"),
            (legacy, dec(18, 2), "1e19"),
        ] {
            let got = convert(&pool, &from, &to, value).await.unwrap_or_default();
            assert!(got.starts_with("error"), "{value}: {got}");
        }
    }
}
