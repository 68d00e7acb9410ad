//! Parsing list and read parameters (`sort`, `limit`, `cursor`, `fields`,
//! `expand`, `total`, and `FIELD=OP.VALUE` filters) against the model.
//!
//! A filter's value may be relative, worked out when the request is parsed,
//! so a saved list stays right as days pass: `today`, `today+N`, `today-N`
//! on dates (on datetimes, the start of that day), `now` on datetimes, and
//! `me` (the signed-in user) on `owner_id`, `created_by` and `updated_by`.
//! Days are those of the request's time zone (the user's), else the
//! installation's.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::compiled::{CompiledEntity, CompiledModel};
use super::records::ReadOptions;
use super::{EngineError, Limits};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::values::{format_date, format_datetime, relative_day, USER_COLUMNS};
use crate::model::zone::Zone;
use crate::model::FieldType;
use crate::store::ed::records::{Filter, FilterOp, ListQuery, Record, SortKey};
use crate::store::ed::values::{to_sql, ColumnKind};

/// The raw query parameters of a list request, in order, and the fields the
/// `q` parameter searches.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `(key, value)` pairs as sent.
    pub pairs: Vec<(String, String)>,
    /// Fields `q=` looks in; empty: the entity's text fields.
    pub quick_search: Vec<String>,
    /// The signed-in user, whom `me` in a filter stands for.
    pub me: Option<Uuid>,
    /// The zone whose calendar `today` follows; `None`: the installation's.
    pub zone: Option<Zone>,
}

impl ListParams {
    /// Parameters as sent, `q` searching the entity's text fields.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        ListParams {
            pairs,
            quick_search: Vec::new(),
            me: None,
            zone: None,
        }
    }

    /// The same parameters for `user` (`me` in filters), whose `today` is
    /// that of `zone` (`None`: the installation's).
    pub fn for_user(mut self, user: Uuid, zone: Option<Zone>) -> Self {
        self.me = Some(user);
        self.zone = zone;
        self
    }
}

/// A list request, checked against the model.
#[derive(Debug)]
pub struct ParsedList {
    /// The store query.
    pub query: ListQuery,
    /// What else a page needs: references to expand, attachment fields
    /// (read for the whole page at once), virtual fields to compute. Its
    /// columns are in `query`.
    pub projection: Projection,
    /// Count the matches up to this many (`total=true`: the count cap;
    /// `total=N`: N, at most the cap); None when no total was asked for.
    pub total: Option<u64>,
    sort_text: String,
}

impl ParsedList {
    /// The opaque cursor for the page after a record with these key values.
    pub fn cursor_for(&self, values: Vec<Json>) -> String {
        URL_SAFE_NO_PAD.encode(json!({"s": self.sort_text, "v": values}).to_string())
    }
}

/// Filters one list request may carry (each becomes a condition and its
/// parameters in one SQL statement).
pub const MAX_FILTERS: usize = 50;
/// Keys one `sort=` may give.
pub const MAX_SORT_KEYS: usize = 8;
/// Names one `fields=` or `expand=` may give.
pub const MAX_FIELDS: usize = 200;
/// Values one `in.(...)` filter may list.
pub const MAX_IN_VALUES: usize = 100;
/// Characters of a `q=` search.
pub const MAX_SEARCH_CHARS: usize = 1_000;

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::BadRequest(msg.into())
}

/// What a list request is checked with, besides the model and its
/// parameters.
#[derive(Debug, Clone, Copy)]
pub struct ListEnv<'a> {
    /// The limits in force.
    pub limits: Limits,
    /// List the recycle bin instead of the live records.
    pub deleted: bool,
    /// The zone of `today` when the parameters name none.
    pub zone: &'a Zone,
}

/// Checks list parameters against an entity.
pub fn parse_list(
    model: &CompiledModel,
    e: &CompiledEntity,
    params: &ListParams,
    env: ListEnv<'_>,
) -> Result<ParsedList, EngineError> {
    let ListEnv { limits, deleted, zone } = env;
    let now = Now::of(params.me, params.zone.as_ref().unwrap_or(zone));
    let mut opts = ReadOptions::default();
    let mut query = ListQuery {
        limit: limits.default_page_size,
        deleted,
        ..ListQuery::default()
    };
    let mut total = None;
    let mut sort_text = String::new();
    let mut cursor = None;
    for (key, value) in &params.pairs {
        match key.as_str() {
            "q" => {
                let text = value.trim();
                if text.chars().count() > MAX_SEARCH_CHARS {
                    return Err(bad(format!("q: at most {MAX_SEARCH_CHARS} characters")));
                }
                if !text.is_empty() {
                    query.search = Some((search_columns(e, &params.quick_search)?, text.to_owned()));
                }
            }
            "sort" => {
                sort_text = value.clone();
                query.sort = parse_sort(e, value)?;
            }
            "limit" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| bad(format!("limit: expected a whole number, found `{value}`")))?;
                if n == 0 || n > limits.max_page_size {
                    return Err(bad(format!("limit: expected 1 to {}, found {n}", limits.max_page_size)));
                }
                query.limit = n;
            }
            // An empty cursor is the first page (a form's empty field).
            "cursor" if value.is_empty() => cursor = None,
            "cursor" => cursor = Some(value.clone()),
            "fields" => opts.fields = Some(value.clone()),
            "expand" => opts.expand = Some(value.clone()),
            "total" => {
                total = match value.as_str() {
                    "true" | "1" | "" => Some(limits.count_cap),
                    "false" | "0" => None,
                    n => match n.parse::<u64>() {
                        Ok(n) if n <= limits.count_cap && n.to_string() == value.as_str() => Some(n),
                        _ => {
                            return Err(bad(format!(
                                "total: expected true, false or a count cap from 2 to {}, found `{n}`",
                                limits.count_cap
                            )))
                        }
                    },
                }
            }
            _ if query.filters.len() >= MAX_FILTERS => {
                return Err(bad(format!("at most {MAX_FILTERS} filters in one request")));
            }
            _ => query.filters.push(parse_filter(model, e, key, value, &now)?),
        }
    }
    if let Some(c) = cursor {
        query.after = Some(decode_cursor(&c, &sort_text)?);
    }
    let mut projection = projection(e, &opts)?;
    query.projection = projection.columns.take().map(|mut p| {
        for k in &query.sort {
            if !p.contains(&k.column) {
                p.push(k.column);
            }
        }
        p
    });
    Ok(ParsedList {
        query,
        projection,
        total,
        sort_text,
    })
}

/// The columns `q=` searches: the given fields, or every short text field.
fn search_columns(e: &CompiledEntity, fields: &[String]) -> Result<Vec<String>, EngineError> {
    if fields.is_empty() {
        return Ok(e
            .def
            .fields
            .iter()
            .filter(|f| f.field_type.is_short_text())
            .map(|f| f.name.clone())
            .collect());
    }
    fields
        .iter()
        .map(|name| match e.field(name) {
            Some(_) => Ok(name.clone()),
            None => Err(no_column(e, "q", name, "searched")),
        })
        .collect()
}

/// Why `name` cannot be used where a column is needed: a virtual computed
/// field has none; any other name is not a field.
fn no_column(e: &CompiledEntity, at: &str, name: &str, verb: &str) -> EngineError {
    match e.virtual_field(name) {
        Some(_) => bad(format!(
            "{at}: `{name}` is a virtual computed field (worked out when a record is read, not stored) and cannot be {verb}"
        )),
        None => bad(format!("{at}: `{name}` is not a field of {}", e.def.name)),
    }
}

fn decode_cursor(cursor: &str, sort_text: &str) -> Result<Vec<Json>, EngineError> {
    let invalid = || bad("cursor: not a cursor of this list (send next_cursor back with the same sort)");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let v: Json = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if v.get("s").and_then(Json::as_str) != Some(sort_text) {
        return Err(invalid());
    }
    v.get("v").and_then(Json::as_array).cloned().ok_or_else(invalid)
}

/// The field types a list cannot be sorted on.
pub(crate) const SORT_REFUSED: [FieldType; 2] = [FieldType::LongText, FieldType::MultiPicklist];

/// The parts of a comma-separated list parameter (`sort`, `fields`,
/// `expand`): empty for none, else names joined by single commas, with no
/// spaces and no empty part (the grammar the OpenAPI document states).
pub(crate) fn list_names<'v>(at: &str, value: &'v str) -> Result<Vec<&'v str>, EngineError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|part| match part {
            "" | "-" => Err(bad(format!(
                "{at}: expected names separated by commas, found `{value}`"
            ))),
            p if p.trim() != p => Err(bad(format!("{at}: no spaces around names, found `{value}`"))),
            p => Ok(p),
        })
        .collect()
}

fn parse_sort(e: &CompiledEntity, value: &str) -> Result<Vec<SortKey>, EngineError> {
    let mut keys = Vec::new();
    let parts = list_names("sort", value)?;
    if parts.len() > MAX_SORT_KEYS {
        return Err(bad(format!("sort: at most {MAX_SORT_KEYS} keys")));
    }
    for part in parts {
        let (desc, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part),
        };
        let column = e
            .table
            .column_index(name)
            .ok_or_else(|| no_column(e, "sort", name, "sorted on"))?;
        if let Some((_, f)) = e.field(name) {
            if SORT_REFUSED.contains(&f.field_type) {
                return Err(bad(format!(
                    "sort: `{name}` is a {} field and cannot be sorted on",
                    f.field_type.as_str()
                )));
            }
        }
        keys.push(SortKey { column, desc });
    }
    Ok(keys)
}

const OPS: [(&str, FilterOp); 11] = [
    ("eq", FilterOp::Eq),
    ("ne", FilterOp::Ne),
    ("lt", FilterOp::Lt),
    ("le", FilterOp::Le),
    ("gt", FilterOp::Gt),
    ("ge", FilterOp::Ge),
    ("contains", FilterOp::Contains),
    ("starts_with", FilterOp::StartsWith),
    ("in", FilterOp::In),
    ("is", FilterOp::IsNull(true)),
    ("not", FilterOp::IsNull(false)),
];

/// What relative filter values stand for in one request.
struct Now<'z> {
    at: OffsetDateTime,
    me: Option<Uuid>,
    zone: &'z Zone,
}

impl<'z> Now<'z> {
    fn of(me: Option<Uuid>, zone: &'z Zone) -> Now<'z> {
        Now {
            at: OffsetDateTime::now_utc(),
            me,
            zone,
        }
    }

    /// `text` as the literal value it stands for in `column`: relative
    /// values worked out, anything else as it is.
    fn resolve<'t>(
        &self,
        key: &str,
        column: &str,
        kind: ColumnKind,
        text: &'t str,
    ) -> Result<Cow<'t, str>, EngineError> {
        let date = kind == ColumnKind::Field(FieldType::Date);
        let instant = kind == ColumnKind::Instant;
        Ok(match text {
            "now" if instant => Cow::Owned(format_datetime(self.at)),
            "me" if USER_COLUMNS.contains(&column) => match self.me {
                Some(me) => Cow::Owned(me.hyphenated().to_string()),
                None => {
                    return Err(bad(format!(
                        "filter `{key}`: `me` is the signed-in user, and there is none"
                    )))
                }
            },
            t if (date || instant) && t.starts_with("today") => {
                // An unencoded `+` in a URL arrives as a space.
                let today = self.zone.date_of(self.at);
                let expected = || {
                    bad(format!(
                        "filter `{key}`: expected today, today+N or today-N (days), found `{t}`"
                    ))
                };
                let day = relative_day(&t.replacen("today ", "today+", 1), today).ok_or_else(expected)?;
                Cow::Owned(if date {
                    format_date(day)
                } else {
                    format_datetime(self.zone.start_of_day(day).ok_or_else(expected)?)
                })
            }
            t => Cow::Borrowed(t),
        })
    }
}

fn parse_filter(
    model: &CompiledModel,
    e: &CompiledEntity,
    key: &str,
    value: &str,
    now: &Now<'_>,
) -> Result<Filter, EngineError> {
    if let Some(flag) = value.strip_prefix("exists.") {
        return related_filter(model, e, key, flag);
    }
    // FIELD or REFERENCE.FIELD
    let (target, column, via) = match key.split_once('.') {
        None => (e, key, None),
        Some((reference, field)) => {
            let (_, f) = e.field(reference).ok_or_else(|| {
                bad(format!(
                    "filter `{key}`: `{reference}` is not a field of {}",
                    e.def.name
                ))
            })?;
            let t = f
                .target
                .as_deref()
                .and_then(|t| model.entity(t))
                .ok_or_else(|| bad(format!("filter `{key}`: `{reference}` is not a reference field")))?;
            (&**t, field, Some((reference.to_owned(), t.def.name.clone())))
        }
    };
    let index = target
        .table
        .column_index(column)
        .ok_or_else(|| match target.virtual_field(column) {
            Some(_) => no_column(target, &format!("filter `{key}`"), column, "filtered on"),
            None => bad(format!(
                "`{column}` is not a field of {} (and not a known parameter)",
                target.def.name
            )),
        })?;
    let kind = target.table.columns()[index].kind;
    let (op_text, operand) = value
        .split_once('.')
        .ok_or_else(|| bad(format!("filter `{key}`: expected OP.VALUE, e.g. {key}=eq.something")))?;
    let mut op = OPS
        .iter()
        .find(|(name, _)| *name == op_text)
        .map(|(_, op)| *op)
        .ok_or_else(|| bad(format!("filter `{key}`: unknown operator `{op_text}`; expected one of eq, ne, lt, le, gt, ge, contains, starts_with, in, is, exists")))?;
    let backend = target.table.backend();
    let values = match op {
        FilterOp::IsNull(_) => {
            op = match (op_text, operand) {
                ("is", "null") => FilterOp::IsNull(true),
                ("is", "not_null") | ("not", "null") => FilterOp::IsNull(false),
                _ => return Err(bad(format!("filter `{key}`: expected is.null or is.not_null"))),
            };
            Vec::new()
        }
        FilterOp::In => {
            let inner = operand
                .strip_prefix('(')
                .and_then(|s| s.strip_suffix(')'))
                .ok_or_else(|| bad(format!("filter `{key}`: expected in.(a,b,c)")))?;
            if inner.split(',').count() > MAX_IN_VALUES {
                return Err(bad(format!(
                    "filter `{key}`: at most {MAX_IN_VALUES} values in in.(...)"
                )));
            }
            inner
                .split(',')
                .map(|item| {
                    operand_value(key, kind, &now.resolve(key, column, kind, item)?)
                        .and_then(|j| to_sql(backend, kind, &j).map_err(|w| bad(format!("filter `{key}`: {w}"))))
                })
                .collect::<Result<_, _>>()?
        }
        FilterOp::Contains | FilterOp::StartsWith => {
            let text = match kind {
                ColumnKind::Field(FieldType::MultiPicklist) if op == FilterOp::Contains => format!("\"{operand}\""),
                ColumnKind::Field(t) if t.is_short_text() || matches!(t, FieldType::LongText | FieldType::Picklist) => {
                    operand.to_owned()
                }
                _ => return Err(bad(format!("filter `{key}`: {op_text} applies to text fields only"))),
            };
            vec![sea_query::Value::String(Some(Box::new(text)))]
        }
        _ => {
            if matches!(kind, ColumnKind::Field(FieldType::MultiPicklist | FieldType::LongText))
                && op != FilterOp::Eq
                && op != FilterOp::Ne
            {
                return Err(bad(format!("filter `{key}`: {op_text} does not apply to this field")));
            }
            let j = operand_value(key, kind, &now.resolve(key, column, kind, operand)?)?;
            vec![to_sql(backend, kind, &j).map_err(|w| bad(format!("filter `{key}`: {w}")))?]
        }
    };
    Ok(Filter {
        column: column.to_owned(),
        op,
        values,
        via,
    })
}

/// `ENTITY.VIA: exists.true|false`: whether some live record of ENTITY
/// references the record through its field VIA (an opportunity with quote
/// lines: `quote_line.opportunity: exists.true`).
fn related_filter(model: &CompiledModel, e: &CompiledEntity, key: &str, flag: &str) -> Result<Filter, EngineError> {
    let exists = match flag {
        "true" => true,
        "false" => false,
        _ => return Err(bad(format!("filter `{key}`: expected exists.true or exists.false"))),
    };
    let hint = || {
        format!(
            "filter `{key}`: `exists` takes ENTITY.FIELD, a reference field of another entity to {}",
            e.def.name
        )
    };
    let (entity, via) = key.split_once('.').ok_or_else(|| bad(hint()))?;
    let related = model.entity(entity).ok_or_else(|| bad(hint()))?;
    let points_here = related
        .def
        .fields
        .iter()
        .any(|f| f.name == via && f.target.as_deref() == Some(e.def.name.as_str()));
    if !points_here {
        return Err(bad(format!(
            "filter `{key}`: `{via}` is not a reference field of {entity} to {}",
            e.def.name
        )));
    }
    Ok(Filter {
        column: via.to_owned(),
        op: FilterOp::Exists(exists),
        values: Vec::new(),
        via: Some((via.to_owned(), related.def.name.clone())),
    })
}

/// The JSON form of a textual filter operand for a column kind.
fn operand_value(key: &str, kind: ColumnKind, text: &str) -> Result<Json, EngineError> {
    let parsed = match kind {
        ColumnKind::Version | ColumnKind::Field(FieldType::Integer) => text.parse::<i64>().ok().map(Json::from),
        // Exact: `eq.0.1` finds the 0.1 stored, not a float near it.
        ColumnKind::Decimal(..) => crate::model::decimals::of_text(text).map(crate::model::decimals::to_json),
        ColumnKind::Field(FieldType::Boolean) => text.parse::<bool>().ok().map(Json::Bool),
        ColumnKind::Field(FieldType::MultiPicklist) => Some(Json::Array(vec![Json::String(text.to_owned())])),
        _ => Some(Json::String(text.to_owned())),
    };
    parsed.ok_or_else(|| bad(format!("filter `{key}`: `{text}` is not a valid value for this field")))
}

/// What a read selects: `fields=` turned into columns, attachment fields
/// and reference fields to expand.
#[derive(Debug, Default)]
pub struct Projection {
    /// The columns to select (None: all).
    pub columns: Option<Vec<usize>>,
    /// Reference fields to expand.
    pub expand: Vec<String>,
    /// Attachment fields named in `fields=`, whose file descriptors are
    /// read with the records.
    pub attachments: Vec<String>,
    /// The virtual computed fields to compute on the records read.
    pub virtuals: Vec<String>,
    /// A virtual field computes over the whole record, so a `fields=` that
    /// names one reads every column; these are the names to send back.
    pub keep: Option<Vec<String>>,
}

impl Projection {
    /// Trims records read whole for a virtual field to the names asked for.
    pub fn trim(&self, records: &mut [Record]) {
        let Some(keep) = &self.keep else { return };
        for r in records {
            r.retain(|n| keep.iter().any(|k| k == n));
        }
    }
}

/// The columns to select for `fields=` (None: all), the attachment fields
/// it names and the fields to expand.
pub fn projection(e: &CompiledEntity, opts: &ReadOptions) -> Result<Projection, EngineError> {
    for (key, list) in [("fields", &opts.fields), ("expand", &opts.expand)] {
        if list.as_ref().is_some_and(|l| l.split(',').count() > MAX_FIELDS) {
            return Err(bad(format!("{key}: at most {MAX_FIELDS} names")));
        }
    }
    let mut expand = Vec::new();
    if let Some(list) = &opts.expand {
        for name in list_names("expand", list)? {
            match e.field(name) {
                Some((_, f)) if f.field_type == FieldType::Reference => expand.push(name.to_owned()),
                Some(_) => return Err(bad(format!("expand: `{name}` is not a reference field"))),
                None => return Err(bad(format!("expand: `{name}` is not a field of {}", e.def.name))),
            }
        }
    }
    let Some(list) = &opts.fields else {
        return Ok(Projection {
            columns: None,
            expand,
            attachments: Vec::new(),
            virtuals: e.virtuals.iter().map(|f| f.name.clone()).collect(),
            keep: None,
        });
    };
    let mut cols = vec![0, e.table.column_index("row_version").unwrap_or(0)];
    let mut attachments: Vec<String> = Vec::new();
    let mut virtuals: Vec<String> = Vec::new();
    let names: Vec<&str> = list_names("fields", list)?
        .into_iter()
        .chain(expand.iter().map(String::as_str))
        .collect();
    for &name in &names {
        if e.attachment(name).is_some() {
            if !attachments.iter().any(|a| a == name) {
                attachments.push(name.to_owned());
            }
            continue;
        }
        if e.virtual_field(name).is_some() {
            if !virtuals.iter().any(|v| v == name) {
                virtuals.push(name.to_owned());
            }
            continue;
        }
        let i = e
            .table
            .column_index(name)
            .ok_or_else(|| bad(format!("fields: `{name}` is not a field of {}", e.def.name)))?;
        if !cols.contains(&i) {
            cols.push(i);
        }
    }
    if virtuals.is_empty() {
        return Ok(Projection {
            columns: Some(cols),
            expand,
            attachments,
            virtuals,
            keep: None,
        });
    }
    let keep = ["id", "row_version"]
        .into_iter()
        .chain(names)
        .map(str::to_owned)
        .collect();
    Ok(Projection {
        columns: None,
        expand,
        attachments,
        virtuals,
        keep: Some(keep),
    })
}
