//! The data checks of a plan: the only reads of record data the schema
//! builder makes.

use std::collections::{HashMap, HashSet};

use sea_query::{Alias, Expr, Order, PostgresQueryBuilder, Query, SelectStatement, SimpleExpr, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use serde_json::{json, Value as Json};
use sqlx::Row;

use super::plan::{Action, IndexSpec, Plan};
use super::shape::{bad_value, Check, Shape};
use super::{q, Refusal, SchemaError};
use crate::model::{FieldType, Model};
use crate::store::ed::picklists::PicklistRow;
use crate::store::Pool;

/// The codes of pick list `name`: the metadata's and those stored (added by
/// administrators), each once.
fn known_codes(model: &Model, stored: &[PicklistRow], name: &str) -> Vec<String> {
    let metadata = model
        .picklists
        .get(name)
        .into_iter()
        .flat_map(|p| p.values.iter().map(|v| v.code.clone()));
    let added = stored.iter().filter(|r| r.picklist == name).map(|r| r.code.clone());
    let mut codes: Vec<String> = metadata.chain(added).collect();
    codes.sort();
    codes.dedup();
    codes
}

/// How many offending rows a refusal shows.
const EXAMPLES: u64 = 5;

/// Runs the data checks of `plan` (narrowed types and lengths, fields that
/// become required, new unique indexes) and refuses the plan, with the
/// count and a few examples per problem, if stored values would be lost or
/// rejected. Reads nothing for a plan without checks. `stored` are the pick
/// list values in the database: a field becoming a pick list may hold codes
/// administrators added since the release, as well as the metadata's.
pub async fn check_data(pool: &Pool, plan: &Plan, new: &Model, stored: &[PicklistRow]) -> Result<(), SchemaError> {
    let new = &new.stored();
    let backend = pool.backend();
    // Columns this plan adds: they hold no values yet (or, NOT NULL, the default).
    let added: HashSet<(&str, &str)> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::AddColumn { table, column, .. } => Some((table.as_str(), column.as_str())),
            _ => None,
        })
        .collect();
    let restored = Restored::of(plan);
    let mut refusals = Vec::new();
    for step in &plan.steps {
        match &step.action {
            Action::AlterColumn {
                table,
                column,
                from,
                to,
                checks,
            } => {
                for check in checks {
                    let codes = match check {
                        Check::Picklist { picklist } => known_codes(new, stored, picklist),
                        _ => Vec::new(),
                    };
                    let bad = bad_value(backend, check, from, to, &q(column), &codes);
                    let (count, examples) = offending(pool, table, column, &bad).await?;
                    if count > 0 {
                        refusals.push(Refusal {
                            entity: table.clone(),
                            field: Some(column.clone()),
                            reason: reason(check, count, from, to),
                            count,
                            examples,
                        });
                    }
                }
            }
            Action::CreateIndex {
                table,
                index,
                check_duplicates: true,
            } => {
                let existing: Vec<&str> = index
                    .columns
                    .iter()
                    .map(String::as_str)
                    .filter(|c| !added.contains(&(table.as_str(), *c)))
                    .map(|c| restored.column(table, c))
                    .collect();
                let (count, examples) = duplicates(pool, restored.table(table), &existing).await?;
                if count > 0 {
                    refusals.push(duplicate_refusal(table, index, count, examples));
                }
            }
            _ => {}
        }
    }
    refusals.extend(dangling(pool, plan, new, &restored, &added).await?);
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Refused(refusals))
    }
}

/// Restored reference values whose record was purged while they were
/// archived: the foreign key cannot hold them, so the plan is refused,
/// naming them (nothing is cleared behind the administrator's back).
async fn dangling(
    pool: &Pool,
    plan: &Plan,
    new: &Model,
    restored: &Restored<'_>,
    added: &HashSet<(&str, &str)>,
) -> Result<Vec<Refusal>, SchemaError> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let (table, only) = match &step.action {
            Action::RestoreTable { table, .. } => (table.as_str(), None),
            Action::RestoreColumn { table, column, .. } => (table.as_str(), Some(column.as_str())),
            _ => continue,
        };
        let Some(e) = new.entities.get(table) else { continue };
        let refs = e.fields.iter().filter(|f| {
            f.field_type == FieldType::Reference
                && only.is_none_or(|c| c == f.name)
                && !added.contains(&(table, f.name.as_str()))
        });
        for f in refs {
            let Some(target) = f.target.as_deref() else { continue };
            let (source, column) = (restored.table(table), restored.column(table, &f.name));
            let bad = format!(
                "{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {t} r WHERE r.id = {s}.{c})",
                c = q(column),
                t = q(restored.table(target)),
                s = q(source)
            );
            let (count, examples) = offending(pool, source, column, &bad).await?;
            if count > 0 {
                out.push(Refusal {
                    entity: table.to_owned(),
                    field: Some(f.name.clone()),
                    reason: format!(
                        "{count} restored value(s) point to {target} records purged since they were archived; \
                         clear them in {source}.{column} to restore the data"
                    ),
                    count,
                    examples,
                });
            }
        }
    }
    Ok(out)
}

/// The names the data of restored tables and columns still has while the
/// plan is checked (before it runs, they are archived).
struct Restored<'p> {
    tables: HashMap<&'p str, &'p str>,
    columns: HashMap<(&'p str, &'p str), &'p str>,
}

impl<'p> Restored<'p> {
    fn of(plan: &'p Plan) -> Self {
        let mut r = Restored {
            tables: HashMap::new(),
            columns: HashMap::new(),
        };
        for s in &plan.steps {
            match &s.action {
                Action::RestoreTable { table, archived } => {
                    r.tables.insert(table, archived);
                }
                Action::RestoreColumn {
                    table,
                    column,
                    archived,
                } => {
                    r.columns.insert((table, column), archived);
                }
                _ => {}
            }
        }
        r
    }

    /// Where `table`'s rows are now.
    fn table<'a>(&self, table: &'a str) -> &'a str
    where
        'p: 'a,
    {
        self.tables.get(table).copied().unwrap_or(table)
    }

    /// Where the values of `table.column` are now.
    fn column<'a>(&self, table: &'a str, column: &'a str) -> &'a str
    where
        'p: 'a,
    {
        self.columns.get(&(table, column)).copied().unwrap_or(column)
    }
}

/// The rows each step of `plan` touches in a way an administrator must
/// weigh, in step order: the rows of a table to archive, the stored values
/// of a column to archive; `None` for every other step (their data checks
/// are [`check_data`]'s refusals).
pub async fn affected_rows(pool: &Pool, plan: &Plan) -> Result<Vec<Option<i64>>, SchemaError> {
    let mut out = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let count = match &step.action {
            Action::ArchiveTable { table, .. } => {
                let stmt = Query::select()
                    .expr(Expr::cust("count(*)"))
                    .from(Alias::new(table.as_str()))
                    .to_owned();
                Some(fetch_count(pool, &stmt).await?)
            }
            Action::ArchiveColumn { table, column, .. } => {
                let stmt = Query::select()
                    .expr(Expr::cust("count(*)"))
                    .from(Alias::new(table.as_str()))
                    .and_where(Expr::col(Alias::new(column.as_str())).is_not_null())
                    .to_owned();
                Some(fetch_count(pool, &stmt).await?)
            }
            _ => None,
        };
        out.push(count);
    }
    Ok(out)
}

fn duplicate_refusal(table: &str, index: &IndexSpec, count: i64, examples: Vec<Json>) -> Refusal {
    let (field, what) = match index.columns.as_slice() {
        [one] => (Some(one.clone()), "a value".to_owned()),
        many => (None, format!("the combination of {}", many.join(", "))),
    };
    Refusal {
        entity: table.to_owned(),
        field,
        reason: format!(
            "{} {what} with another live record, so the {} cannot become unique",
            count_of(count, "live record", ("shares", "share")),
            if index.columns.len() == 1 {
                "field"
            } else {
                "combination"
            }
        ),
        count,
        examples,
    }
}

/// "1 value is" / "3 values are".
fn count_of(n: i64, noun: &str, verb: (&str, &str)) -> String {
    if n == 1 {
        format!("1 {noun} {}", verb.0)
    } else {
        format!("{n} {noun}s {}", verb.1)
    }
}

fn reason(check: &Check, n: i64, from: &Shape, to: &Shape) -> String {
    let digits = |p: &u32, s: &u32| {
        format!(
            "at most {} digits before and {s} after the decimal point",
            p.saturating_sub(*s)
        )
    };
    let values = count_of(n, "value", ("is", "are"));
    let records_have = count_of(n, "record", ("has", "have"));
    match check {
        Check::MaxLength { max } => format!("{values} longer than {max} characters"),
        Check::Integer => format!("{values} not a whole number"),
        Check::Number { precision, scale } => format!("{values} not a number with {}", digits(precision, scale)),
        Check::Fits { precision, scale } => format!("{values} not within {}", digits(precision, scale)),
        Check::Whole => format!("{values} not a whole number within 64 bits"),
        Check::Range { precision, scale } => format!(
            "{values} too large for {} (an older release stored it as a float)",
            digits(precision, scale)
        ),
        Check::Boolean => format!("{values} not true/false, yes/no or 1/0"),
        Check::Date => format!("{values} not a date (YYYY-MM-DD)"),
        Check::Picklist { picklist } => format!("{values} not a code of the pick list `{picklist}`"),
        Check::Empty if from.field_type == to.field_type => format!(
            "{} to {} records; the reference cannot change to {} while it has values",
            count_of(n, "record", ("points", "point")),
            from.target.as_deref().unwrap_or("other"),
            to.target.as_deref().unwrap_or("another entity"),
        ),
        Check::Empty => format!(
            "{records_have} a value, and a {} field cannot become a {} field",
            from.field_type.as_str(),
            to.field_type.as_str()
        ),
        Check::NotNull => format!("{records_have} no value, so the field cannot become required"),
    }
}

fn build(pool: &Pool, stmt: &SelectStatement) -> (String, sea_query_binder::SqlxValues) {
    match pool {
        Pool::Sqlite(_) => stmt.build_sqlx(SqliteQueryBuilder),
        Pool::Postgres(_) => stmt.build_sqlx(PostgresQueryBuilder),
    }
}

async fn fetch_count(pool: &Pool, stmt: &SelectStatement) -> Result<i64, sqlx::Error> {
    let (sql, values) = build(pool, stmt);
    match pool {
        Pool::Sqlite(p) => sqlx::query_scalar_with(&sql, values).fetch_one(p).await,
        Pool::Postgres(p) => sqlx::query_scalar_with(&sql, values).fetch_one(p).await,
    }
}

/// Rows of text columns.
async fn fetch_texts(pool: &Pool, stmt: &SelectStatement) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
    let (sql, values) = build(pool, stmt);
    fn texts<R: Row>(row: &R) -> Result<Vec<Option<String>>, sqlx::Error>
    where
        for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i)).collect()
    }
    match pool {
        Pool::Sqlite(p) => sqlx::query_with(&sql, values)
            .fetch_all(p)
            .await?
            .iter()
            .map(texts)
            .collect(),
        Pool::Postgres(p) => sqlx::query_with(&sql, values)
            .fetch_all(p)
            .await?
            .iter()
            .map(texts)
            .collect(),
    }
}

fn as_text(column: &str) -> SimpleExpr {
    Expr::cust(format!("CAST({} AS TEXT)", q(column)))
}

/// Counts the rows of `table` where `bad` holds, with examples (id, value of `column`).
async fn offending(pool: &Pool, table: &str, column: &str, bad: &str) -> Result<(i64, Vec<Json>), sqlx::Error> {
    let count = Query::select()
        .expr(Expr::cust("count(*)"))
        .from(Alias::new(table))
        .and_where(Expr::cust(bad))
        .to_owned();
    let n = fetch_count(pool, &count).await?;
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    let rows = Query::select()
        .expr(as_text("id"))
        .expr(as_text(column))
        .from(Alias::new(table))
        .and_where(Expr::cust(bad))
        .order_by(Alias::new("id"), Order::Asc)
        .limit(EXAMPLES)
        .to_owned();
    let examples = fetch_texts(pool, &rows)
        .await?
        .into_iter()
        .map(|r| json!({ "id": r.first().cloned().flatten(), "value": r.get(1).cloned().flatten() }))
        .collect();
    Ok((n, examples))
}

/// Counts the live rows of `table` that share the values of `columns` with
/// another live row (NULLs never clash), with examples. With no columns
/// (all of the index's columns are added with one default), every live row
/// clashes once there are two.
async fn duplicates(pool: &Pool, table: &str, columns: &[&str]) -> Result<(i64, Vec<Json>), sqlx::Error> {
    let live = || Expr::col(Alias::new("deleted_at")).is_null();
    let mut groups = Query::select();
    groups.from(Alias::new(table)).and_where(live());
    for c in columns {
        groups
            .column(Alias::new(*c))
            .and_where(Expr::col(Alias::new(*c)).is_not_null())
            .group_by_col(Alias::new(*c));
    }
    groups.and_having(Expr::cust("count(*) > 1"));
    let mut sizes = groups.clone();
    sizes.clear_selects().expr_as(Expr::cust("count(*)"), Alias::new("n"));
    if columns.is_empty() {
        sizes = Query::select()
            .expr_as(Expr::cust("count(*)"), Alias::new("n"))
            .from(Alias::new(table))
            .and_where(live())
            .to_owned();
        sizes.and_having(Expr::cust("count(*) > 1"));
    }
    let count = Query::select()
        .expr(Expr::cust("CAST(coalesce(sum(n), 0) AS BIGINT)"))
        .from_subquery(sizes, Alias::new("d"))
        .to_owned();
    let n = fetch_count(pool, &count).await?;
    if n == 0 {
        return Ok((0, Vec::new()));
    }
    let mut rows = Query::select();
    rows.expr(as_text("id")).from(Alias::new(table)).and_where(live());
    for c in columns {
        rows.expr(as_text(c));
    }
    if !columns.is_empty() {
        let tuple = Expr::tuple(columns.iter().map(|c| Expr::col(Alias::new(*c)).into()));
        rows.and_where(tuple.in_subquery(groups));
        for c in columns {
            rows.order_by(Alias::new(*c), Order::Asc);
        }
    }
    rows.order_by(Alias::new("id"), Order::Asc).limit(EXAMPLES);
    let examples = fetch_texts(pool, &rows)
        .await?
        .into_iter()
        .map(|mut r| {
            let id = if r.is_empty() { None } else { r.remove(0) };
            let value = match r.len() {
                0 => Json::Null,
                1 => json!(r.remove(0)),
                _ => json!(r),
            };
            json!({ "id": id, "value": value })
        })
        .collect();
    Ok((n, examples))
}
