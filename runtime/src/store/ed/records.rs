//! Records of metadata-defined entities: the SQL shapes of one entity table
//! (built once per release) and the reads and writes over them.

use sea_query::{
    Alias, Cond, Condition, Expr, Func, IntoColumnRef, LikeExpr, LockType, NullOrdering, Order, PostgresQueryBuilder,
    Query, ReturningClause, SelectStatement, SimpleExpr, SqliteQueryBuilder, Value, Values,
};
use sea_query_binder::{SqlxBinder, SqlxValues};
use serde_json::Value as Json;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use std::sync::Arc;

use super::attachments::{files_column, parse_files, AttachedFile};
use super::shape::{Shape, ShapeCache};
use super::values::{from_pg, from_sqlite, instant, null_of, to_sql, uuid, ColumnKind};
use crate::model::EntityDef;
use crate::store::{Backend, Db, Pool, StoreError};

pub use super::record::{Names, Record};

/// The system columns, in table order.
pub const SYSTEM_COLUMNS: [(&str, ColumnKind); 8] = [
    ("id", ColumnKind::Uuid),
    ("created_at", ColumnKind::Instant),
    ("created_by", ColumnKind::Uuid),
    ("updated_at", ColumnKind::Instant),
    ("updated_by", ColumnKind::Uuid),
    ("owner_id", ColumnKind::Uuid),
    ("row_version", ColumnKind::Version),
    ("deleted_at", ColumnKind::Instant),
];

/// The system columns that are never NULL.
const NOT_NULL_SYSTEM_COLUMNS: [&str; 4] = ["id", "created_at", "updated_at", "row_version"];

/// One column of an entity table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column (and JSON) name.
    pub name: String,
    /// How its values convert.
    pub kind: ColumnKind,
    /// Whether it can hold NULL (system columns but `owner_id`, `*_by` and
    /// `deleted_at`, and required fields, cannot).
    pub nullable: bool,
}

/// The SQL shapes of one entity table on one backend, prepared once per release.
#[derive(Debug, Clone)]
pub struct EntityTable {
    backend: Backend,
    table: String,
    columns: Vec<Column>,
    /// Every column's name, shared by the records of full-row reads.
    names: Names,
    /// The select list of every column (`"t"."id", "t"."created_at", ..`),
    /// rendered once: most reads select every column, and rendering 30
    /// qualified names costs a list more than the rest of its statement.
    all_columns_sql: String,
    get_sql: String,
    /// The same read, locking the row for the rest of the transaction on
    /// PostgreSQL (`FOR NO KEY UPDATE`, which a foreign key check of a new
    /// child row does not wait on; SQLite's IMMEDIATE transactions hold the
    /// write lock already).
    get_locked_sql: String,
    insert_sql: String,
    /// `get_any`: by id, live or deleted (1 parameter: id).
    get_any: Shape,
    /// A live record by id with the files of its attachment fields as a
    /// last column (1 parameter: id); only for entities that have such fields.
    get_with_files: Option<Shape>,
    /// Soft delete, without and with a version check (now, actor, id[, version]).
    delete: [Shape; 2],
    /// Restore (now, actor, id).
    restore: Shape,
    /// Updates, by the set of columns they change.
    updates: Arc<ShapeCache>,
}

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
    /// `Some((reference column, target table))` to compare in the referenced record.
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

/// Who writes and when.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// The user, if any.
    pub actor: Option<Uuid>,
    /// The time of the write.
    pub now: OffsetDateTime,
}

/// What a conditional write found.
#[derive(Debug)]
pub enum WriteOutcome {
    /// Written; the record as stored now.
    Done(Record),
    /// No such (live, or for restore: deleted) record.
    NotFound,
    /// The record changed since the version given; here it is as stored now.
    Conflict(Record),
}

/// Errors a write can meet that are the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A unique index refused the write.
    #[error("unique constraint violated")]
    Unique,
    /// A referenced record does not exist.
    #[error("foreign key constraint violated")]
    ForeignKey,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return WriteError::Unique,
                sqlx::error::ErrorKind::ForeignKeyViolation => return WriteError::ForeignKey,
                _ => {}
            }
        }
        WriteError::Store(StoreError::Sql(e))
    }
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl EntityTable {
    /// Prepares the SQL shapes of `entity` for `backend`.
    pub fn new(entity: &EntityDef, backend: Backend) -> EntityTable {
        let columns: Vec<Column> = SYSTEM_COLUMNS
            .iter()
            .map(|(n, k)| Column {
                name: (*n).to_owned(),
                kind: *k,
                nullable: !NOT_NULL_SYSTEM_COLUMNS.contains(n),
            })
            .chain(entity.fields.iter().map(|f| Column {
                name: f.name.clone(),
                kind: ColumnKind::of_field(f.field_type),
                nullable: !f.required,
            }))
            .collect();
        let mut t = EntityTable {
            backend,
            table: entity.name.clone(),
            names: columns.iter().map(|c| c.name.clone()).collect(),
            columns,
            all_columns_sql: String::new(),
            get_sql: String::new(),
            get_locked_sql: String::new(),
            insert_sql: String::new(),
            get_any: Shape::prepare(backend, 0, |_| Query::select()),
            get_with_files: None,
            delete: [
                Shape::prepare(backend, 0, |_| Query::select()),
                Shape::prepare(backend, 0, |_| Query::select()),
            ],
            restore: Shape::prepare(backend, 0, |_| Query::select()),
            updates: Arc::default(),
        };
        t.all_columns_sql = t.render_columns();
        t.get_any = Shape::prepare(backend, 1, |p| {
            t.select(None)
                .and_where(Expr::col(col("id")).eq(p[0].clone()))
                .to_owned()
        });
        t.delete = [false, true].map(|versioned| t.delete_shape(versioned));
        t.restore = Shape::prepare(backend, 3, |p| {
            let mut q = Query::update();
            q.table(col(&t.table))
                .value(col("deleted_at"), null_of(backend, ColumnKind::Instant));
            t.stamped(q, &p[0], &p[1])
                .and_where(Expr::col(col("deleted_at")).is_not_null())
                .and_where(Expr::col(col("id")).eq(p[2].clone()))
                .to_owned()
        });
        let get = t
            .select(None)
            .and_where(Expr::col(col("id")).eq(t.null("id")))
            .and_where(Expr::col(col("deleted_at")).is_null())
            .to_owned();
        t.get_sql = t.build(&get).0;
        t.get_locked_sql = match backend {
            Backend::Postgres => t.build(&get.clone().lock(LockType::NoKeyUpdate).to_owned()).0,
            Backend::Sqlite => t.get_sql.clone(),
        };
        let insert = Query::insert()
            .into_table(col(&t.table))
            .columns(t.columns.iter().map(|c| col(&c.name)))
            .values_panic(t.columns.iter().map(|c| SimpleExpr::Value(null_of(backend, c.kind))))
            .returning(t.returning(None))
            .to_owned();
        t.insert_sql = t.build(&insert).0;
        t
    }

    /// Also prepares the read of a record with its attachment files in one
    /// statement ([`EntityTable::get_with_files`]), for an entity that has
    /// attachment fields.
    pub fn with_files(mut self) -> EntityTable {
        let shape = Shape::prepare(self.backend, 1, |p| {
            self.select(None)
                .expr(files_column(self.backend, &self.table))
                .and_where(Expr::col(col("id")).eq(p[0].clone()))
                .and_where(Expr::col(col("deleted_at")).is_null())
                .to_owned()
        });
        self.get_with_files = Some(shape);
        self
    }

    /// The table's columns: system columns, then fields.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The backend the shapes were built for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn null(&self, name: &str) -> Value {
        let kind = self
            .columns
            .iter()
            .find(|c| c.name == name)
            .map_or(ColumnKind::Uuid, |c| c.kind);
        null_of(self.backend, kind)
    }

    fn build<S: SqlxBinder>(&self, stmt: &S) -> (String, SqlxValues) {
        match self.backend {
            Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
            Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
        }
    }

    fn projected(&self, projection: Option<&[usize]>) -> Vec<usize> {
        projection.map_or_else(|| (0..self.columns.len()).collect(), <[usize]>::to_vec)
    }

    /// `SELECT` of the projected columns (every column: `None`) `FROM` the table.
    fn select(&self, projection: Option<&[usize]>) -> SelectStatement {
        let mut q = Query::select();
        match projection {
            None if !self.all_columns_sql.is_empty() => q.expr(Expr::cust(self.all_columns_sql.as_str())),
            _ => q.columns(self.qualified_columns(projection)),
        };
        q.from(col(&self.table)).to_owned()
    }

    fn qualified_columns(&self, projection: Option<&[usize]>) -> Vec<(Alias, Alias)> {
        let cols = self.projected(projection);
        cols.iter()
            .map(|i| (col(&self.table), col(&self.columns[*i].name)))
            .collect()
    }

    /// The select list of every column, as sea-query writes it.
    fn render_columns(&self) -> String {
        let q = Query::select().columns(self.qualified_columns(None)).to_owned();
        let sql = self.build(&q).0;
        sql.strip_prefix("SELECT ").unwrap_or_default().to_owned()
    }

    fn returning(&self, projection: Option<&[usize]>) -> ReturningClause {
        let cols = self.projected(projection);
        Query::returning().columns(cols.iter().map(|i| col(&self.columns[*i].name)))
    }

    fn id(&self, id: Uuid) -> Value {
        uuid(self.backend, Some(id))
    }

    /// Reads a live record by id.
    pub async fn get(&self, pool: &Pool, id: Uuid, projection: Option<&[usize]>) -> Result<Option<Record>, StoreError> {
        self.get_in(&mut Db::Pool(pool), id, projection).await
    }

    /// Reads a live record by id in a transaction, its row locked until the
    /// transaction ends: a read of the version to update at cannot then
    /// lose to a concurrent save of the same record (it waits for it).
    pub async fn get_locked_in(&self, db: &mut Db<'_>, id: Uuid) -> Result<Option<Record>, StoreError> {
        Ok(self
            .fetch(db, &self.get_locked_sql, SqlxValues(Values(vec![self.id(id)])), None)
            .await?
            .pop())
    }

    /// Reads a live record by id, in a transaction or on the pool.
    pub async fn get_in(
        &self,
        pool: &mut Db<'_>,
        id: Uuid,
        projection: Option<&[usize]>,
    ) -> Result<Option<Record>, StoreError> {
        match projection {
            None => Ok(self
                .fetch(pool, &self.get_sql, SqlxValues(Values(vec![self.id(id)])), None)
                .await?
                .pop()),
            Some(p) => {
                let q = self
                    .select(Some(p))
                    .and_where(Expr::col(col("id")).eq(self.id(id)))
                    .and_where(Expr::col(col("deleted_at")).is_null())
                    .to_owned();
                let (sql, values) = self.build(&q);
                Ok(self.fetch(pool, &sql, values, Some(p)).await?.pop())
            }
        }
    }

    /// Reads a live record by id, whole, with the live files of its
    /// attachment fields (none unless the table was built
    /// [`EntityTable::with_files`]).
    pub async fn get_with_files(
        &self,
        pool: &Pool,
        id: Uuid,
    ) -> Result<Option<(Record, Vec<AttachedFile>)>, StoreError> {
        let Some(shape) = &self.get_with_files else {
            return Ok(self.get(pool, id, None).await?.map(|r| (r, Vec::new())));
        };
        let cols = self.projected(None);
        let files_at = cols.len();
        let values = shape.bind(vec![self.id(id)]);
        let row = match pool {
            Pool::Sqlite(p) => match sqlx::query_with(shape.sql(), values).fetch_optional(p).await? {
                None => None,
                Some(r) => {
                    let record = self.decode(&cols, &self.names, |i, k| from_sqlite(&r, i, k))?;
                    let files: Option<String> = r.try_get(files_at)?;
                    Some((record, files))
                }
            },
            Pool::Postgres(p) => match sqlx::query_with(shape.sql(), values).fetch_optional(p).await? {
                None => None,
                Some(r) => {
                    let record = self.decode(&cols, &self.names, |i, k| from_pg(&r, i, k))?;
                    let files: Option<String> = r.try_get(files_at)?;
                    Some((record, files))
                }
            },
        };
        row.map(|(record, files)| Ok((record, parse_files(files.as_deref())?)))
            .transpose()
    }

    /// Reads a record by id whether live or in the recycle bin.
    pub async fn get_any(&self, pool: &mut Db<'_>, id: Uuid) -> Result<Option<Record>, StoreError> {
        let values = self.get_any.bind(vec![self.id(id)]);
        Ok(self.fetch(pool, self.get_any.sql(), values, None).await?.pop())
    }

    /// Reads live records by id (for `expand=`), in no particular order.
    pub async fn get_many(&self, pool: &Pool, ids: &[Uuid]) -> Result<Vec<Record>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = self
            .select(None)
            .and_where(Expr::col(col("id")).is_in(ids.iter().map(|i| self.id(*i))))
            .and_where(Expr::col(col("deleted_at")).is_null())
            .to_owned();
        let (sql, values) = self.build(&q);
        self.fetch(&mut Db::Pool(pool), &sql, values, None).await
    }

    /// Inserts a record; `values` holds every field column in table order
    /// (system columns are filled from `id` and `stamp`).
    pub async fn insert(
        &self,
        pool: &mut Db<'_>,
        id: Uuid,
        stamp: Stamp,
        fields: Vec<Value>,
    ) -> Result<Record, WriteError> {
        let b = self.backend;
        let mut values = Vec::with_capacity(self.columns.len());
        values.push(self.id(id));
        values.push(instant(b, stamp.now));
        values.push(uuid(b, stamp.actor));
        values.push(instant(b, stamp.now));
        values.push(uuid(b, stamp.actor));
        values.push(uuid(b, stamp.actor));
        values.push(Value::BigInt(Some(1)));
        values.push(null_of(b, ColumnKind::Instant));
        values.extend(fields);
        let mut rows = self
            .fetch_write(pool, &self.insert_sql, SqlxValues(Values(values)))
            .await?;
        rows.pop()
            .ok_or_else(|| WriteError::Store(StoreError::Corrupt("INSERT returned no row".into())))
    }

    /// Updates the given columns of a live record at `version`.
    pub async fn update(
        &self,
        pool: &mut Db<'_>,
        id: Uuid,
        version: i64,
        stamp: Stamp,
        mut sets: Vec<(usize, Value)>,
    ) -> Result<WriteOutcome, WriteError> {
        sets.sort_by_key(|(i, _)| *i);
        let key: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
        let shape = self.updates.get_or_build(&key, || self.update_shape(&key));
        let mut params: Vec<Value> = sets.into_iter().map(|(_, v)| v).collect();
        params.extend(self.stamp_values(stamp));
        params.extend([Value::BigInt(Some(version)), self.id(id)]);
        self.conditional(pool, id, &shape, params, true).await
    }

    /// `UPDATE .. SET key columns, stamp WHERE live AND version AND id`;
    /// parameters: the key's values, now, actor, version, id.
    fn update_shape(&self, key: &[usize]) -> Shape {
        let n = key.len();
        Shape::prepare(self.backend, n + 4, |p| {
            let mut q = Query::update();
            q.table(col(&self.table));
            for (slot, i) in key.iter().enumerate() {
                q.value(col(&self.columns[*i].name), p[slot].clone());
            }
            self.stamped(q, &p[n], &p[n + 1])
                .and_where(Expr::col(col("deleted_at")).is_null())
                .and_where(Expr::col(col("row_version")).eq(p[n + 2].clone()))
                .and_where(Expr::col(col("id")).eq(p[n + 3].clone()))
                .to_owned()
        })
    }

    /// Soft delete; parameters: now, actor, id (and version when `versioned`).
    fn delete_shape(&self, versioned: bool) -> Shape {
        Shape::prepare(self.backend, 3 + usize::from(versioned), |p| {
            let mut q = Query::update();
            q.table(col(&self.table)).value(col("deleted_at"), p[0].clone());
            let mut q = self
                .stamped(q, &p[0], &p[1])
                .and_where(Expr::col(col("deleted_at")).is_null())
                .and_where(Expr::col(col("id")).eq(p[2].clone()))
                .to_owned();
            if versioned {
                q.and_where(Expr::col(col("row_version")).eq(p[3].clone()));
            }
            q
        })
    }

    /// Moves a live record to the recycle bin (at `version` when given).
    pub async fn soft_delete(
        &self,
        pool: &mut Db<'_>,
        id: Uuid,
        version: Option<i64>,
        stamp: Stamp,
    ) -> Result<WriteOutcome, WriteError> {
        let mut params: Vec<Value> = self.stamp_values(stamp).into();
        params.push(self.id(id));
        params.extend(version.map(|v| Value::BigInt(Some(v))));
        let shape = &self.delete[usize::from(version.is_some())];
        self.conditional(pool, id, shape, params, true).await
    }

    /// Brings a record back from the recycle bin.
    pub async fn restore(&self, pool: &mut Db<'_>, id: Uuid, stamp: Stamp) -> Result<WriteOutcome, WriteError> {
        let mut params: Vec<Value> = self.stamp_values(stamp).into();
        params.push(self.id(id));
        self.conditional(pool, id, &self.restore, params, false).await
    }

    fn stamp_values(&self, stamp: Stamp) -> [Value; 2] {
        [instant(self.backend, stamp.now), uuid(self.backend, stamp.actor)]
    }

    fn stamped(&self, mut q: sea_query::UpdateStatement, now: &Value, actor: &Value) -> sea_query::UpdateStatement {
        q.value(col("updated_at"), now.clone())
            .value(col("updated_by"), actor.clone())
            .value(col("row_version"), Expr::col(col("row_version")).add(1))
            .returning(self.returning(None));
        q
    }

    async fn conditional(
        &self,
        pool: &mut Db<'_>,
        id: Uuid,
        shape: &Shape,
        params: Vec<Value>,
        live: bool,
    ) -> Result<WriteOutcome, WriteError> {
        if let Some(r) = self.fetch_write(pool, shape.sql(), shape.bind(params)).await?.pop() {
            return Ok(WriteOutcome::Done(r));
        }
        // Nothing matched: tell a missing record from a stale version.
        Ok(match self.get_any(pool, id).await? {
            Some(current) if current.get("deleted_at").is_some_and(Json::is_null) == live => {
                WriteOutcome::Conflict(current)
            }
            _ => WriteOutcome::NotFound,
        })
    }

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
        q.limit(query.limit + 1);
        let (sql, values) = self.build(&q);
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

    async fn fetch(
        &self,
        db: &mut Db<'_>,
        sql: &str,
        values: SqlxValues,
        projection: Option<&[usize]>,
    ) -> Result<Vec<Record>, StoreError> {
        let cols = self.projected(projection);
        let names = self.names_of(&cols);
        let q = |v| sqlx::query_with(sql, v);
        match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = q(values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, &names, from_sqlite)
            }
            Db::Sqlite(c) => {
                let rows = q(values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, &names, from_sqlite)
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, &names, from_pg)
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, &names, from_pg)
            }
        }
    }

    /// [`Self::fetch`] of a statement whose last column is the records'
    /// files ([`files_column`]).
    async fn fetch_with_files(
        &self,
        db: &mut Db<'_>,
        sql: &str,
        values: SqlxValues,
        projection: Option<&[usize]>,
    ) -> Result<(Vec<Record>, Vec<Vec<AttachedFile>>), StoreError> {
        let cols = self.projected(projection);
        let names = self.names_of(&cols);
        let files_at = cols.len();
        let q = |v| sqlx::query_with(sql, v);
        let rows: Vec<(Record, Option<String>)> = match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = q(values).fetch_all(p).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_sqlite)?
            }
            Db::Sqlite(c) => {
                let rows = q(values).fetch_all(&mut **c).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_sqlite)?
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_pg)?
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_pg)?
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        let mut files = Vec::with_capacity(rows.len());
        for (record, text) in rows {
            records.push(record);
            files.push(parse_files(text.as_deref())?);
        }
        Ok((records, files))
    }

    fn decode_with_files<R: Row>(
        &self,
        rows: &[R],
        cols: &[usize],
        names: &Names,
        files_at: usize,
        get: impl Fn(&R, usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Vec<(Record, Option<String>)>, StoreError>
    where
        for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        rows.iter()
            .map(|r| Ok((self.decode(cols, names, |i, k| get(r, i, k))?, r.try_get(files_at)?)))
            .collect()
    }

    async fn fetch_write(&self, db: &mut Db<'_>, sql: &str, values: SqlxValues) -> Result<Vec<Record>, WriteError> {
        let cols = self.projected(None);
        let names = &self.names;
        Ok(match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, names, from_sqlite)?
            }
            Db::Sqlite(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, names, from_sqlite)?
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, names, from_pg)?
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, names, from_pg)?
            }
        })
    }

    fn decode_all<R>(
        &self,
        rows: &[R],
        cols: &[usize],
        names: &Names,
        get: impl Fn(&R, usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Vec<Record>, StoreError> {
        rows.iter()
            .map(|r| self.decode(cols, names, |i, k| get(r, i, k)))
            .collect()
    }

    fn decode(
        &self,
        cols: &[usize],
        names: &Names,
        get: impl Fn(usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Record, StoreError> {
        let mut values = Vec::with_capacity(cols.len());
        for (pos, i) in cols.iter().enumerate() {
            values.push(get(pos, self.columns[*i].kind)?);
        }
        Ok(Record::new(names.clone(), values))
    }

    /// The names of the columns `cols` (shared when it is the whole row).
    fn names_of(&self, cols: &[usize]) -> Names {
        if cols.len() == self.columns.len() {
            self.names.clone()
        } else {
            cols.iter().map(|i| self.columns[*i].name.clone()).collect()
        }
    }

    /// Whether a live record other than `except` has these values in these
    /// columns (to explain a unique violation).
    pub async fn exists_with(
        &self,
        pool: &Pool,
        values: &[(usize, Value)],
        except: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        let mut q = Query::select()
            .expr(Expr::val(1))
            .from(col(&self.table))
            .and_where(Expr::col(col("deleted_at")).is_null())
            .limit(1)
            .to_owned();
        for (i, v) in values {
            q.and_where(Expr::col(col(&self.columns[*i].name)).eq(v.clone()));
        }
        if let Some(id) = except {
            q.and_where(Expr::col(col("id")).ne(self.id(id)));
        }
        let (sql, values) = self.build(&q);
        Ok(match pool {
            Pool::Sqlite(p) => sqlx::query_with(&sql, values).fetch_optional(p).await?.is_some(),
            Pool::Postgres(p) => sqlx::query_with(&sql, values).fetch_optional(p).await?.is_some(),
        })
    }

    /// Whether a record with this id exists in this table (live or deleted).
    pub async fn exists(&self, pool: &Pool, id: Uuid) -> Result<bool, StoreError> {
        self.exists_by_id(pool, id, false).await
    }

    /// Whether a live record (not in the recycle bin) has this id.
    pub async fn is_live(&self, pool: &Pool, id: Uuid) -> Result<bool, StoreError> {
        self.exists_by_id(pool, id, true).await
    }

    async fn exists_by_id(&self, pool: &Pool, id: Uuid, live_only: bool) -> Result<bool, StoreError> {
        let mut q = Query::select()
            .expr(Expr::val(1))
            .from(col(&self.table))
            .and_where(Expr::col(col("id")).eq(self.id(id)))
            .to_owned();
        if live_only {
            q.and_where(Expr::col(col("deleted_at")).is_null());
        }
        let (sql, values) = self.build(&q);
        Ok(match pool {
            Pool::Sqlite(p) => sqlx::query_with(&sql, values).fetch_optional(p).await?.is_some(),
            Pool::Postgres(p) => sqlx::query_with(&sql, values).fetch_optional(p).await?.is_some(),
        })
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
