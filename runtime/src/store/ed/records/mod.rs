//! Records of metadata-defined entities: the SQL shapes of one entity table
//! (built once per release) and the reads and writes over them.

use sea_query::{
    Alias, Expr, LockType, PostgresQueryBuilder, Query, ReturningClause, SelectStatement, SimpleExpr,
    SqliteQueryBuilder, Value, Values,
};
use sea_query_binder::{SqlxBinder, SqlxValues};
use serde_json::Value as Json;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use std::sync::Arc;

use super::attachments::{files_column, parse_files, AttachedFile};
use super::shape::{Shape, ShapeCache};
use super::values::{from_pg, from_sqlite, instant, null_of, uuid, ColumnKind};
use crate::model::EntityDef;
use crate::store::{Backend, Db, Pool, StoreError};

mod list;
mod rows;

pub use super::record::{Names, Record};
pub use list::{Filter, FilterOp, ListError, ListQuery, Page, SortKey};

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
                kind: ColumnKind::of_field(f),
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
