//! Running a plan: every step and the schema-state row in one transaction.

use std::time::Duration;

use sea_query::{Alias, OnConflict, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};
use time::OffsetDateTime;

use super::ddl::{self, pg};
use super::plan::{desired_indexes, Action, Plan};
use super::shape::convert_expr;
use super::{fit, q, search, sqlite, SchemaError, SchemaState};
use crate::model::{EntityDef, FieldDef, Model};
use crate::store::ed::values::instant;
use crate::store::{Backend, BeginWrite as _, Pool, StoreError};

/// How often a PostgreSQL apply is tried when a table lock cannot be had.
const LOCK_ATTEMPTS: u32 = 6;

/// Runs every step of `plan` and records `state` in `relata_schema_state`,
/// all in one transaction: either all of it happens or none of it.
///
/// On PostgreSQL each attempt starts with `SET LOCAL lock_timeout = '2s'`;
/// a lock timeout rolls back and retries (5 times, with a growing pause)
/// before [`SchemaError::LockTimeout`]. On SQLite the transaction runs with
/// foreign-key enforcement off (so a table rebuild cannot fire the
/// `ON DELETE` actions of its children) and checks every foreign key before
/// it commits.
pub async fn apply(pool: &Pool, plan: &Plan, new: &Model, state: &SchemaState) -> Result<(), SchemaError> {
    // The tables know nothing of attachment fields (a SQLite rebuild copies
    // the columns of this model).
    let new = &new.stored();
    match pool {
        Pool::Postgres(p) => apply_pg(p, plan, new, state).await,
        Pool::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            exec_sqlite(&mut conn, "PRAGMA foreign_keys = OFF").await?;
            let result = apply_sqlite(&mut conn, plan, new, state).await;
            if let Err(e) = exec_sqlite(&mut conn, "PRAGMA foreign_keys = ON").await {
                tracing::error!(error = %e, "cannot switch foreign keys back on; closing the connection");
                conn.close_on_drop();
            }
            result
        }
    }
}

pub(super) fn entity<'m>(new: &'m Model, table: &str) -> Result<&'m EntityDef, SchemaError> {
    new.entities
        .get(table)
        .ok_or_else(|| SchemaError::Mismatch(format!("no entity `{table}`")))
}

pub(super) fn field_of<'m>(new: &'m Model, table: &str, column: &str) -> Result<&'m FieldDef, SchemaError> {
    entity(new, table)?
        .fields
        .iter()
        .find(|f| f.name == column)
        .ok_or_else(|| SchemaError::Mismatch(format!("no field `{table}.{column}`")))
}

// `Executor::execute` with a plain `&str` runs it unprepared, as several
// statements if need be (like `raw_sql`), and its boxed future is `Send`, so
// a promotion can run inside a request handler (`raw_sql`'s future is not
// provably `Send` there).
async fn exec_pg(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    tracing::debug!(sql, "schema");
    Executor::execute(conn, sql).await.map(|_| ())
}

pub(super) async fn exec_sqlite(conn: &mut SqliteConnection, sql: &str) -> Result<(), sqlx::Error> {
    tracing::debug!(sql, "schema");
    Executor::execute(conn, sql).await.map(|_| ())
}

fn is_lock_timeout(e: &SchemaError) -> bool {
    match e {
        SchemaError::Store(StoreError::Sql(sqlx::Error::Database(db))) => db.code().as_deref() == Some("55P03"),
        _ => false,
    }
}

async fn apply_pg(pool: &sqlx::PgPool, plan: &Plan, new: &Model, state: &SchemaState) -> Result<(), SchemaError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = pool.begin_write().await?;
        let mut at = String::new();
        match pg_attempt(&mut tx, plan, new, state, &mut at).await {
            Ok(()) => return Ok(tx.commit().await?),
            Err(e) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!(error = %rb, "rollback failed; the connection is dropped");
                }
                if !is_lock_timeout(&e) {
                    return Err(e);
                }
                if attempt >= LOCK_ATTEMPTS {
                    return Err(SchemaError::LockTimeout {
                        table: at,
                        attempts: attempt,
                    });
                }
                tracing::warn!(table = %at, attempt, "table locked by other sessions; retrying the schema change");
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
            }
        }
    }
}

async fn pg_attempt(
    conn: &mut PgConnection,
    plan: &Plan,
    new: &Model,
    state: &SchemaState,
    at: &mut String,
) -> Result<(), SchemaError> {
    exec_pg(conn, "SET LOCAL lock_timeout = '2s'").await?;
    for step in &plan.steps {
        step.action.table().clone_into(at);
        pg_step(conn, &step.action, new).await?;
    }
    "relata_schema_state".clone_into(at);
    let (sql, values) = state_upsert(Backend::Postgres, state).build_sqlx(PostgresQueryBuilder);
    sqlx::query_with(&sql, values).execute(&mut *conn).await?;
    Ok(())
}

/// The names of the foreign-key constraints of `table` (of one column, or all).
async fn pg_foreign_keys(
    conn: &mut PgConnection,
    table: &str,
    column: Option<&str>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT con.conname::text FROM pg_constraint con WHERE con.conrelid = to_regclass($1) AND con.contype = 'f' \
         AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid \
         AND a.attnum = ANY(con.conkey) AND a.attname = $2)) ORDER BY 1",
    )
    .bind(q(table))
    .bind(column)
    .fetch_all(conn)
    .await
}

async fn pg_step(conn: &mut PgConnection, action: &Action, new: &Model) -> Result<(), SchemaError> {
    let b = Backend::Postgres;
    match action {
        Action::CreateTable {
            table,
            deferred_foreign_keys,
        } => {
            let e = entity(new, table)?;
            let cols = ddl::entity_columns(b, e, deferred_foreign_keys);
            exec_pg(conn, &ddl::create_table(b, table, table, &cols)).await?;
            for ix in desired_indexes(e) {
                exec_pg(conn, &ddl::create_index(b, table, &ix)).await?;
            }
        }
        Action::AddColumn {
            table,
            column,
            not_null,
        } => {
            let f = field_of(new, table, column)?;
            let c = added_column(b, f, *not_null);
            exec_pg(conn, &ddl::add_column(b, table, &c)).await?;
            if let Some((target, on_delete)) = &c.fk {
                exec_pg(conn, &ddl::add_foreign_key(table, column, target, *on_delete)).await?;
            }
        }
        Action::AlterColumn {
            table,
            column,
            from,
            to,
            ..
        } => {
            let fk_changes = from.foreign_key() != to.foreign_key();
            if fk_changes {
                for name in pg_foreign_keys(conn, table, Some(column)).await? {
                    exec_pg(conn, &pg::drop_constraint(table, &name)).await?;
                }
            }
            let sql_type = to.sql_type(b);
            if from.sql_type(b) != sql_type {
                let using = convert_expr(b, from, to, column);
                exec_pg(conn, &pg::alter_type(table, column, &sql_type, &using)).await?;
            }
            if from.required != to.required {
                exec_pg(conn, &pg::not_null(table, column, to.required)).await?;
            }
            if let (true, Some((target, on_delete))) = (fk_changes, to.foreign_key()) {
                exec_pg(conn, &ddl::add_foreign_key(table, column, target, on_delete)).await?;
            }
        }
        Action::ArchiveColumn {
            table,
            column,
            archived,
        } => {
            for name in pg_foreign_keys(conn, table, Some(column)).await? {
                exec_pg(conn, &pg::drop_constraint(table, &name)).await?;
            }
            exec_pg(conn, &pg::not_null(table, column, false)).await?;
            exec_pg(conn, &ddl::rename_column(b, table, column, archived)).await?;
        }
        Action::ArchiveTable { table, archived } => {
            for name in pg_foreign_keys(conn, table, None).await? {
                exec_pg(conn, &pg::drop_constraint(table, &name)).await?;
            }
            let pkey: Option<String> = sqlx::query_scalar(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
            )
            .bind(q(table))
            .fetch_optional(&mut *conn)
            .await?;
            exec_pg(conn, &ddl::rename_table(b, table, archived)).await?;
            let renamed = fit(format!("{archived}_pkey"));
            if let Some(pkey) = pkey.filter(|p| *p != renamed) {
                exec_pg(conn, &pg::rename_constraint(archived, &pkey, &renamed)).await?;
            }
        }
        Action::RestoreTable { table, archived } => {
            let pkey: Option<String> = sqlx::query_scalar(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'",
            )
            .bind(q(archived))
            .fetch_optional(&mut *conn)
            .await?;
            exec_pg(conn, &ddl::rename_table(b, archived, table)).await?;
            let renamed = fit(format!("{table}_pkey"));
            if let Some(pkey) = pkey.filter(|p| *p != renamed) {
                exec_pg(conn, &pg::rename_constraint(table, &pkey, &renamed)).await?;
            }
        }
        Action::RestoreColumn {
            table,
            column,
            archived,
        } => exec_pg(conn, &ddl::rename_column(b, table, archived, column)).await?,
        Action::AddForeignKey { table, column } => {
            let f = field_of(new, table, column)?;
            let shape = super::Shape::of(f);
            if let Some((target, on_delete)) = shape.foreign_key() {
                exec_pg(conn, &ddl::add_foreign_key(table, column, target, on_delete)).await?;
            }
        }
        Action::CreateIndex { table, index, .. } => exec_pg(conn, &ddl::create_index(b, table, index)).await?,
        Action::DropIndex { name, .. } => exec_pg(conn, &ddl::drop_index(b, name)).await?,
        Action::DropSearch { table } => {
            for sql in search::drop(b, table) {
                exec_pg(conn, &sql).await?;
            }
        }
        Action::CreateSearch { table, fields } => {
            for sql in search::create(b, table, fields) {
                exec_pg(conn, &sql).await?;
            }
        }
    }
    Ok(())
}

/// The column of a field added to a table that may have rows: NOT NULL only
/// with a default to fill the rows with.
pub(super) fn added_column(b: Backend, f: &FieldDef, not_null: bool) -> ddl::ColSpec {
    let mut c = ddl::field_column(b, f, false);
    if not_null {
        c.default = ddl::default_value(b, f);
        c.not_null = c.default.is_some();
    }
    c
}

/// The upsert of the single `relata_schema_state` row.
fn state_upsert(b: Backend, state: &SchemaState) -> sea_query::InsertStatement {
    let cols = ["singleton", "release", "checksum", "applied_at"].map(Alias::new);
    Query::insert()
        .into_table(Alias::new("relata_schema_state"))
        .columns(cols.clone())
        .values_panic([
            1i32.into(),
            state.release.into(),
            state.checksum.clone().into(),
            instant(b, OffsetDateTime::now_utc()).into(),
        ])
        .on_conflict(
            OnConflict::column(Alias::new("singleton"))
                .update_columns(cols[1..].to_vec())
                .to_owned(),
        )
        .to_owned()
}

async fn apply_sqlite(
    conn: &mut SqliteConnection,
    plan: &Plan,
    new: &Model,
    state: &SchemaState,
) -> Result<(), SchemaError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let result = async {
        let rebuilt = sqlite::run_steps(&mut tx, plan, new).await?;
        let (sql, values) = state_upsert(Backend::Sqlite, state).build_sqlx(SqliteQueryBuilder);
        sqlx::query_with(&sql, values).execute(&mut *tx).await?;
        if rebuilt {
            let broken = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut *tx).await?.len();
            if broken > 0 {
                return Err(SchemaError::ForeignKeys(i64::try_from(broken).unwrap_or(i64::MAX)));
            }
        }
        Ok::<(), SchemaError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(tx.commit().await?),
        Err(e) => {
            if let Err(rb) = tx.rollback().await {
                tracing::warn!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}
