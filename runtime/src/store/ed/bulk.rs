//! Bulk writes for loading many records at once (demo data): multi-row
//! INSERTs inside long transactions. The values are the caller's
//! responsibility (they bypass the per-record payload validation).
//!
//! On SQLite the loader may first set aside the table's secondary indexes
//! and search structure ([`BulkTx::set_aside`]); they are built again from
//! the rows at the end ([`BulkTx::rebuild`]), all in the one transaction
//! of the load, so a failure or a crash before the commit rolls back the
//! rows and the drop together: the table is left as it was, indexes and
//! search included. Otherwise the search index follows by itself (SQLite
//! triggers, PostgreSQL generated column).

use sea_query::{Alias, Expr, PostgresQueryBuilder, Query, SqliteQueryBuilder, Value};
use sea_query_binder::SqlxBinder;
use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions, Connection, Postgres, Row, Transaction};
use uuid::Uuid;

use super::records::{EntityTable, Stamp, WriteError};
use super::schema::{sqlite_set_aside, SetAside};
use super::values::{instant, null_of, uuid, ColumnKind};
use crate::model::EntityDef;
use crate::store::{Backend, BeginWrite as _, Pool, StoreError};

/// The most parameters one statement may bind: SQLite's limit (32766)
/// is the smaller of the two backends' (PostgreSQL: 65535).
pub const MAX_PARAMS: usize = 32_766;

/// The page cache of the loading connection on SQLite, in KiB (512 MiB).
/// SQLite's default (2 MiB) makes every insert into a large random-key
/// index (names, e-mails, the search index) read its page back from the
/// file once the tables outgrow it; the loader's own connection gets a
/// cache that holds the indexes being filled, and gives it back when the
/// load ends (the connection is closed).
const SQLITE_LOAD_CACHE_KIB: i64 = 512 * 1024;

/// A bulk load's open transaction, committed in steps.
///
/// On SQLite it runs on a connection of its own (not one of the pool's),
/// with a large page cache; dropping the writer unfinished closes that
/// connection, which rolls the open transaction back. On PostgreSQL it is
/// a transaction of the pool.
pub struct BulkTx {
    inner: Inner,
    pool: Pool,
    /// What [`BulkTx::rebuild`] builds again, when indexes were set aside.
    set_aside: Option<SetAside>,
}

enum Inner {
    Sqlite(SqliteConnection),
    Postgres(Transaction<'static, Postgres>),
}

impl BulkTx {
    /// Opens the loading connection (SQLite) and begins a transaction.
    pub async fn begin(pool: &Pool) -> Result<BulkTx, StoreError> {
        let inner = match pool {
            Pool::Sqlite(p) => {
                let options = (*p.connect_options())
                    .clone()
                    .pragma("cache_size", format!("-{SQLITE_LOAD_CACHE_KIB}"));
                let mut conn = options.connect().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await?;
                Inner::Sqlite(conn)
            }
            Pool::Postgres(p) => Inner::Postgres(p.begin_write().await?),
        };
        Ok(BulkTx {
            inner,
            pool: pool.clone(),
            set_aside: None,
        })
    }

    /// SQLite: drops the secondary indexes and the search structure of the
    /// table of `entity` inside this transaction, for the rows to go in
    /// without them; [`BulkTx::rebuild`] builds them again. From here on
    /// the load is one transaction ([`BulkTx::commit_and_continue`] does
    /// not commit), so that nothing is ever committed without them.
    /// Returns whether anything was set aside (never on PostgreSQL, whose
    /// search column is part of the table).
    pub async fn set_aside(&mut self, entity: &EntityDef) -> Result<bool, StoreError> {
        let Inner::Sqlite(c) = &mut self.inner else {
            return Ok(false);
        };
        let plan = sqlite_set_aside(entity);
        for sql in &plan.drop {
            sqlx::query(sql).execute(&mut *c).await?;
        }
        self.set_aside = Some(plan);
        Ok(true)
    }

    /// Builds again what [`BulkTx::set_aside`] dropped (a sorted build of
    /// each index, one fill of the search index from the live rows), still
    /// inside the transaction; nothing to do otherwise. [`BulkTx::commit`]
    /// calls it too.
    pub async fn rebuild(&mut self) -> Result<(), StoreError> {
        let (Some(plan), Inner::Sqlite(c)) = (self.set_aside.take(), &mut self.inner) else {
            return Ok(());
        };
        for sql in &plan.rebuild {
            sqlx::query(sql).execute(&mut *c).await?;
        }
        Ok(())
    }

    /// Commits what was written so far and begins the next transaction
    /// (SQLite keeps its single writer's work in few, large transactions,
    /// but not one transaction of millions of rows). Does nothing once
    /// indexes were set aside: the load then commits once, with them.
    pub async fn commit_and_continue(&mut self) -> Result<(), StoreError> {
        if self.set_aside.is_some() {
            return Ok(());
        }
        match &mut self.inner {
            Inner::Sqlite(c) => {
                sqlx::query("COMMIT").execute(&mut *c).await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *c).await?;
            }
            Inner::Postgres(t) => {
                let Pool::Postgres(p) = &self.pool else {
                    return Err(StoreError::Corrupt("a PostgreSQL load on a SQLite pool".into()));
                };
                let next = p.begin_write().await?;
                std::mem::replace(t, next).commit().await?;
            }
        }
        Ok(())
    }

    /// Builds again what was set aside, commits and ends the load.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.rebuild().await?;
        match self.inner {
            Inner::Sqlite(mut c) => {
                sqlx::query("COMMIT").execute(&mut c).await?;
                c.close().await?;
            }
            Inner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl EntityTable {
    /// How many rows one INSERT carries, within [`MAX_PARAMS`].
    pub fn rows_per_statement(&self) -> usize {
        (MAX_PARAMS / self.columns().len()).clamp(1, 2_000)
    }

    /// Inserts records, each given as its id and every field column in
    /// table order; the system columns are filled (created and updated now
    /// by `stamp.actor`, owned by `owner`, version 1, live).
    pub async fn insert_many(
        &self,
        tx: &mut BulkTx,
        stamp: Stamp,
        owner: Option<Uuid>,
        rows: Vec<(Uuid, Vec<Value>)>,
    ) -> Result<(), WriteError> {
        let b = self.backend();
        let per = self.rows_per_statement();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut q = Query::insert();
            q.into_table(Alias::new(self.table_name()))
                .columns(self.columns().iter().map(|c| Alias::new(&c.name)));
            for (id, fields) in rows.by_ref().take(per) {
                let mut values: Vec<sea_query::SimpleExpr> = Vec::with_capacity(self.columns().len());
                values.push(uuid(b, Some(id)).into());
                values.push(instant(b, stamp.now).into());
                values.push(uuid(b, stamp.actor).into());
                values.push(instant(b, stamp.now).into());
                values.push(uuid(b, stamp.actor).into());
                values.push(uuid(b, owner).into());
                values.push(Value::BigInt(Some(1)).into());
                values.push(null_of(b, ColumnKind::Instant).into());
                values.extend(fields.into_iter().map(sea_query::SimpleExpr::from));
                q.values(values)
                    .map_err(|e| WriteError::Store(StoreError::Corrupt(e.to_string())))?;
            }
            match &mut tx.inner {
                Inner::Sqlite(c) => {
                    let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                    sqlx::query_with(&sql, values).execute(&mut *c).await?;
                }
                Inner::Postgres(t) => {
                    let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_with(&sql, values).execute(&mut **t).await?;
                }
            }
        }
        Ok(())
    }

    /// How many rows the table holds, live or in the recycle bin.
    pub async fn count_rows(&self, pool: &Pool) -> Result<u64, StoreError> {
        let q = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(Alias::new(self.table_name()))
            .to_owned();
        let n: i64 = match pool {
            Pool::Sqlite(p) => {
                let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(&sql, values).fetch_one(p).await?.try_get(0)?
            }
            Pool::Postgres(p) => {
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(&sql, values).fetch_one(p).await?.try_get(0)?
            }
        };
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The non-empty values of a text column, every row (to keep generated
    /// values of a unique field clear of those already stored).
    pub async fn text_values(&self, pool: &Pool, column: &str) -> Result<Vec<String>, StoreError> {
        let q = Query::select()
            .column(Alias::new(column))
            .from(Alias::new(self.table_name()))
            .and_where(Expr::col(Alias::new(column)).is_not_null())
            .to_owned();
        let rows: Vec<String> = match pool {
            Pool::Sqlite(p) => {
                let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                let rows = sqlx::query_with(&sql, values).fetch_all(p).await?;
                rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?
            }
            Pool::Postgres(p) => {
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                let rows = sqlx::query_with(&sql, values).fetch_all(p).await?;
                rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?
            }
        };
        Ok(rows)
    }

    /// The ids of the live records, oldest first (ids are UUIDv7).
    pub async fn live_ids(&self, pool: &Pool) -> Result<Vec<Uuid>, StoreError> {
        let q = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new(self.table_name()))
            .and_where(Expr::col(Alias::new("deleted_at")).is_null())
            .order_by(Alias::new("id"), sea_query::Order::Asc)
            .to_owned();
        match pool {
            Pool::Sqlite(p) => {
                let (sql, values) = q.build_sqlx(SqliteQueryBuilder);
                let rows = sqlx::query_with(&sql, values).fetch_all(p).await?;
                rows.iter()
                    .map(|r| {
                        let text: String = r.try_get(0)?;
                        Uuid::parse_str(&text).map_err(|e| StoreError::Corrupt(format!("an id `{text}`: {e}")))
                    })
                    .collect()
            }
            Pool::Postgres(p) => {
                let (sql, values) = q.build_sqlx(PostgresQueryBuilder);
                let rows = sqlx::query_with(&sql, values).fetch_all(p).await?;
                Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
            }
        }
    }
}

/// Whether the backend is SQLite (whose single writer likes few, large transactions).
pub fn is_sqlite(pool: &Pool) -> bool {
    pool.backend() == Backend::Sqlite
}
