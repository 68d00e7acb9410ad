//! Lists over an entity table: the page request (filters, sort, keyset
//! cursor, search, projection), the statement built from it, and counts.

use sea_query::{Cond, Condition, Expr, Func, IntoColumnRef, LikeExpr, NullOrdering, Order, Query, SimpleExpr, Value};
use serde_json::Value as Json;

use super::{col, EntityTable};
use crate::store::ed::attachments::{files_column, AttachedFile};
use crate::store::ed::values::to_sql;
use crate::store::{Backend, Db, Pool, StoreError};

use super::Record;

/// A comparison in a list filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`.
    Eq,
    /// `<>` (NULL counts as different).
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// Contains the text, case-insensitive (for multi-picklists: has the code).
    Contains,
    /// Starts with the text, case-insensitive.
    StartsWith,
    /// One of the values.
    In,
    /// Is (true) or is not (false) empty.
    IsNull(bool),
    /// Some live record of another table references this one (true), or
    /// none does (false); `via` names that table's reference column and
    /// the table.
    Exists(bool),
}

/// One condition of a list query, on a column of the table or, through a
/// reference column, on a column of the referenced table.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The column compared.
    pub column: String,
    /// The comparison.
    pub op: FilterOp,
    /// The operands, already converted (one, or several for `In`).
    pub values: Vec<Value>,
    /// `Some((reference column, target table))` to compare in the
    /// referenced record; with [`FilterOp::Exists`], the related table's
    /// column that references this table, and that table.
    pub via: Option<(String, String)>,
}

/// A sort key.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// Index of the column in [`EntityTable::columns`].
    pub column: usize,
    /// Descending?
    pub desc: bool,
}

/// A page request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Conditions, all of which must hold.
    pub filters: Vec<Filter>,
    /// Sort keys; `id` is appended as the final tie-breaker.
    pub sort: Vec<SortKey>,
    /// Keyset cursor: the JSON values of the sort keys (and id) of the last row seen.
    pub after: Option<Vec<Json>>,
    /// Page size.
    pub limit: u64,
    /// List the recycle bin instead of live records.
    pub deleted: bool,
    /// Columns to return (indexes); `None` for all.
    pub projection: Option<Vec<usize>>,
    /// Quick search: records where any of these columns contains the text.
    pub search: Option<(Vec<String>, String)>,
    /// Also read each record's live attachment files, in the same statement
    /// (a correlated sub-select, as [`EntityTable::get_with_files`] does):
    /// one round trip for the page instead of two.
    pub with_files: bool,
}

/// A page of records.
#[derive(Debug, Clone)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// The cursor values of the last record, when there is a next page.
    pub next: Option<Vec<Json>>,
    /// Each record's live files, in the order of `records`, when the query
    /// asked for them ([`ListQuery::with_files`]); empty otherwise.
    pub files: Vec<Vec<AttachedFile>>,
}

impl EntityTable {
    /// Lists one page.
    pub async fn list(&self, pool: &Pool, query: &ListQuery) -> Result<Page, ListError> {
        self.list_in(&mut Db::Pool(pool), query).await
    }

    /// Lists one page, in a transaction or on the pool.
    pub async fn list_in(&self, pool: &mut Db<'_>, query: &ListQuery) -> Result<Page, ListError> {
        let mut sort: Vec<SortKey> = query.sort.clone();
        sort.push(SortKey { column: 0, desc: false });
        let mut q = self.select(query.projection.as_deref());
        if query.with_files {
            q.expr(files_column(self.backend, &self.table));
        }
        q.cond_where(self.conditions(&query.filters, query.deleted));
        if let Some((columns, text)) = &query.search {
            q.cond_where(self.search(columns, text));
        }
        if let Some(after) = &query.after {
            q.and_where(self.keyset(&sort, after)?.into());
        }
        for key in &sort {
            let order = if key.desc { Order::Desc } else { Order::Asc };
            let c = &self.columns[key.column];
            let column = (col(&self.table), col(&c.name));
            // NULLS LAST only where NULLs can be: on a NOT NULL column it
            // changes nothing but keeps SQLite from reading the order off an
            // index (it adds a sort step for the keys after it).
            if c.nullable {
                q.order_by_with_nulls(column, order, NullOrdering::Last);
            } else {
                q.order_by(column, order);
            }
        }
        let (mut sql, values) = self.build(&q);
        // One row more than the page: whether there is a next page. Written
        // into the text, not bound: PostgreSQL plans a statement it has run
        // five times once for every value of its parameters, and a LIMIT
        // that is a parameter then tells it nothing (the benchmark's list
        // ran 10% faster with it written). A number carries nothing else,
        // and page sizes are capped, so a list takes few texts.
        sql.push_str(" LIMIT ");
        sql.push_str(&(query.limit + 1).to_string());
        let projection = query.projection.as_deref();
        let (mut records, mut files) = if query.with_files {
            self.fetch_with_files(pool, &sql, values, projection).await?
        } else {
            (self.fetch(pool, &sql, values, projection).await?, Vec::new())
        };
        let next = if records.len() as u64 > query.limit {
            records.truncate(query.limit as usize);
            files.truncate(query.limit as usize);
            records.last().map(|r| {
                sort.iter()
                    .map(|k| r.get(&self.columns[k.column].name).cloned().unwrap_or(Json::Null))
                    .collect()
            })
        } else {
            None
        };
        Ok(Page { records, next, files })
    }

    /// Counts the matching records, stopping at `cap + 1` so a count never
    /// scans a whole large table.
    pub async fn count(&self, pool: &Pool, query: &ListQuery, cap: u64) -> Result<u64, StoreError> {
        let mut inner = Query::select()
            .expr(Expr::val(1))
            .from(col(&self.table))
            .cond_where(self.conditions(&query.filters, query.deleted))
            .limit(cap + 1)
            .to_owned();
        if let Some((columns, text)) = &query.search {
            inner.cond_where(self.search(columns, text));
        }
        let q = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from_subquery(inner, col("matching"))
            .to_owned();
        let (sql, values) = self.build(&q);
        let n: i64 = match pool {
            Pool::Sqlite(p) => sqlx::query_scalar_with(&sql, values).fetch_one(p).await?,
            Pool::Postgres(p) => sqlx::query_scalar_with(&sql, values).fetch_one(p).await?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Any of `columns` contains `text` (case-insensitive).
    fn search(&self, columns: &[String], text: &str) -> Condition {
        let value = vec![Value::String(Some(Box::new(text.to_owned())))];
        columns.iter().fold(Cond::any(), |any, c| {
            let f = Filter {
                column: c.clone(),
                op: FilterOp::Contains,
                values: value.clone(),
                via: None,
            };
            any.add(self.compare((col(&self.table), col(c)), &f))
        })
    }

    fn conditions(&self, filters: &[Filter], deleted: bool) -> Condition {
        let deleted_at = Expr::col((col(&self.table), col("deleted_at")));
        let mut all = Cond::all().add(if deleted {
            deleted_at.is_not_null()
        } else {
            deleted_at.is_null()
        });
        for f in filters {
            match &f.via {
                Some((reference, related)) if matches!(f.op, FilterOp::Exists(_)) => {
                    all = all.add(self.related(reference, related, f.op == FilterOp::Exists(true)));
                }
                None => all = all.add(self.compare((col(&self.table), col(&f.column)), f)),
                Some((reference, target)) => {
                    let sub = Query::select()
                        .column(col("id"))
                        .from(col(target))
                        .and_where(self.compare((col(target), col(&f.column)), f))
                        .and_where(Expr::col((col(target), col("deleted_at"))).is_null())
                        .to_owned();
                    all = all.add(Expr::col((col(&self.table), col(reference))).in_subquery(sub));
                }
            }
        }
        all
    }

    /// `[NOT] EXISTS` a live row of `related` whose `reference` is this row.
    fn related(&self, reference: &str, related: &str, exists: bool) -> SimpleExpr {
        let sub = Query::select()
            .expr(Expr::val(1))
            .from(col(related))
            .and_where(Expr::col((col(related), col(reference))).equals((col(&self.table), col("id"))))
            .and_where(Expr::col((col(related), col("deleted_at"))).is_null())
            .to_owned();
        let e = Expr::exists(sub);
        if exists {
            e
        } else {
            e.not()
        }
    }

    fn compare<C: IntoColumnRef + Clone>(&self, c: C, f: &Filter) -> SimpleExpr {
        let first = || f.values.first().cloned().unwrap_or(Value::String(None));
        let pattern = |prefix: bool| {
            let text = match f.values.first() {
                Some(Value::String(Some(s))) => s.as_str().to_owned(),
                _ => String::new(),
            };
            let text = if self.backend == Backend::Postgres {
                text.to_lowercase()
            } else {
                text
            };
            let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let p = if prefix {
                format!("{escaped}%")
            } else {
                format!("%{escaped}%")
            };
            LikeExpr::new(p).escape('\\')
        };
        // SQLite's LIKE ignores ASCII case already; on PostgreSQL compare
        // lower-cased text (the pattern is lower-cased in `pattern`).
        let like = |prefix: bool| match self.backend {
            Backend::Postgres => Expr::expr(Func::lower(Expr::col(c.clone()))).like(pattern(prefix)),
            Backend::Sqlite => Expr::col(c.clone()).like(pattern(prefix)),
        };
        match f.op {
            FilterOp::Eq => Expr::col(c).eq(first()),
            FilterOp::Ne => Expr::col(c.clone()).ne(first()).or(Expr::col(c).is_null()),
            FilterOp::Lt => Expr::col(c).lt(first()),
            FilterOp::Le => Expr::col(c).lte(first()),
            FilterOp::Gt => Expr::col(c).gt(first()),
            FilterOp::Ge => Expr::col(c).gte(first()),
            FilterOp::Contains => like(false),
            // SQLite cannot answer a case-insensitive LIKE from an index;
            // the range of the folded prefix can, from the folded index the
            // schema builder makes for indexed text columns (SQLite's lower()
            // and LIKE both fold ASCII only), and the LIKE stays to check.
            FilterOp::StartsWith => match (self.backend, f.values.first()) {
                (Backend::Sqlite, Some(Value::String(Some(text)))) if !text.is_empty() => {
                    let lo = text.to_ascii_lowercase();
                    let folded = || Expr::expr(Func::lower(Expr::col(c.clone())));
                    let mut all = Cond::all().add(folded().gte(lo.as_str()));
                    if let Some(hi) = successor(&lo) {
                        all = all.add(folded().lt(hi));
                    }
                    SimpleExpr::from(all.add(like(true)))
                }
                _ => like(true),
            },
            FilterOp::In => Expr::col(c).is_in(f.values.iter().cloned()),
            FilterOp::IsNull(true) => Expr::col(c).is_null(),
            FilterOp::IsNull(false) => Expr::col(c).is_not_null(),
            // Answered by `related`; never a comparison on a column.
            FilterOp::Exists(_) => Expr::val(false).into(),
        }
    }

    /// Rows strictly after the cursor in the (NULLS LAST) sort order.
    fn keyset(&self, sort: &[SortKey], after: &[Json]) -> Result<Condition, ListError> {
        if after.len() != sort.len() {
            return Err(ListError::BadCursor);
        }
        let mut values = Vec::with_capacity(after.len());
        for (key, v) in sort.iter().zip(after) {
            let kind = self.columns[key.column].kind;
            values.push((
                v.is_null(),
                to_sql(self.backend, kind, v).map_err(|_| ListError::BadCursor)?,
            ));
        }
        let column = |k: &SortKey| Expr::col((col(&self.table), col(&self.columns[k.column].name)));
        let mut any = Cond::any();
        for (i, key) in sort.iter().enumerate() {
            let (is_null, v) = &values[i];
            if *is_null {
                continue; // with NULLS LAST nothing sorts after a NULL in this key
            }
            let mut all = Cond::all();
            for (j, prev) in sort.iter().enumerate().take(i) {
                let (prev_null, pv) = &values[j];
                all = all.add(if *prev_null {
                    column(prev).is_null()
                } else {
                    column(prev).eq(pv.clone())
                });
            }
            let beyond = if key.desc {
                column(key).lt(v.clone())
            } else {
                column(key).gt(v.clone())
            };
            all = all.add(beyond.or(column(key).is_null()));
            any = any.add(all);
        }
        Ok(any)
    }
}

/// Why a list query failed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The cursor does not belong to this query.
    #[error("the cursor is not valid for this query")]
    BadCursor,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ListError {
    fn from(e: sqlx::Error) -> Self {
        ListError::Store(StoreError::Sql(e))
    }
}

/// The smallest text greater than every text starting with `v` (UTF-8 byte
/// order is code point order): `v` with its last character incremented.
fn successor(v: &str) -> Option<String> {
    let mut chars: Vec<char> = v.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_skips_surrogates_and_carries_past_the_last_char() {
        assert_eq!(successor("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(successor("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(successor("\u{10ffff}"), None);
    }
}
