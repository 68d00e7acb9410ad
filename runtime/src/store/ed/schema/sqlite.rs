//! Running plan steps on SQLite, including the table rebuild (SQLite cannot
//! change a column's type, NOT NULL or foreign key in place).
//!
//! The rebuild is SQLite's documented procedure, run inside the apply
//! transaction with foreign-key enforcement off: create the new table,
//! copy the rows (converting values), drop the old copy, rename the new one,
//! recreate the indexes. Archived and unknown columns are carried over,
//! nullable and without keys, at the end.

use std::collections::{HashMap, HashSet};

use sea_query::{Alias, Expr, Query, SimpleExpr, SqliteQueryBuilder};
use sea_query_binder::SqlxBinder;
use sqlx::{Row, SqliteConnection};

use super::apply::{added_column, entity, exec_sqlite};
use super::ddl::{self, ColSpec};
use super::plan::{desired_indexes, Action, IndexSpec, Plan, Step};
use super::shape::{convert_expr, sqlite_needs_rebuild};
use super::{q, search, SchemaError};
use crate::model::{EntityDef, Model};
use crate::store::Backend;

const B: Backend = Backend::Sqlite;

/// A column of an existing table, as `pragma_table_info` says.
struct OldColumn {
    name: String,
    decl: String,
    not_null: bool,
    has_fk: bool,
}

async fn old_columns(conn: &mut SqliteConnection, table: &str) -> Result<Vec<OldColumn>, sqlx::Error> {
    let fks: HashSet<String> = sqlx::query_scalar("SELECT \"from\" FROM pragma_foreign_key_list(?1)")
        .bind(table)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let rows = sqlx::query("SELECT name, type, \"notnull\" FROM pragma_table_info(?1) ORDER BY cid")
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            Ok(OldColumn {
                has_fk: fks.contains(&name),
                decl: r.try_get(1)?,
                not_null: r.try_get::<i64, _>(2)? != 0,
                name,
            })
        })
        .collect()
}

/// A declared type a STRICT table accepts (else ANY).
fn strict_type(decl: &str) -> String {
    let up = decl.trim().to_ascii_uppercase();
    match up.as_str() {
        "INT" | "INTEGER" | "REAL" | "TEXT" | "BLOB" | "ANY" => up,
        _ => "ANY".to_owned(),
    }
}

/// Runs the steps; returns whether a table was rebuilt (then the caller
/// checks every foreign key before committing).
pub(super) async fn run_steps(conn: &mut SqliteConnection, plan: &Plan, new: &Model) -> Result<bool, SchemaError> {
    let mut rebuild: HashSet<&str> = HashSet::new();
    for step in &plan.steps {
        match &step.action {
            Action::AlterColumn { table, from, to, .. } if sqlite_needs_rebuild(from, to) => {
                rebuild.insert(table);
            }
            Action::ArchiveColumn { table, column, .. } => {
                let cols = old_columns(conn, table).await?;
                if cols.iter().any(|c| c.name == *column && (c.not_null || c.has_fk)) {
                    rebuild.insert(table);
                }
            }
            Action::AddForeignKey { table, .. } => {
                rebuild.insert(table);
            }
            _ => {}
        }
    }
    let mut rebuilt: HashSet<&str> = HashSet::new();
    for step in &plan.steps {
        let table = step.action.table();
        let column_step = matches!(
            step.action,
            Action::AddColumn { .. }
                | Action::AlterColumn { .. }
                | Action::ArchiveColumn { .. }
                | Action::AddForeignKey { .. }
        );
        if column_step && rebuild.contains(table) {
            if rebuilt.insert(table) {
                let steps: Vec<&Step> = plan.steps.iter().filter(|s| s.action.table() == table).collect();
                rebuild_entity(conn, entity(new, table)?, &steps).await?;
            }
            continue;
        }
        match &step.action {
            Action::CreateTable { table, .. } => {
                let e = entity(new, table)?;
                exec_sqlite(
                    conn,
                    &ddl::create_table(B, table, table, &ddl::entity_columns(B, e, &[])),
                )
                .await?;
                for ix in desired_indexes(e) {
                    exec_sqlite(conn, &ddl::create_index(B, table, &ix)).await?;
                }
            }
            Action::AddColumn {
                table,
                column,
                not_null,
            } => {
                let f = super::apply::field_of(new, table, column)?;
                exec_sqlite(conn, &ddl::add_column(B, table, &added_column(B, f, *not_null))).await?;
            }
            // Same storage, same constraints: the data check was the change.
            Action::AlterColumn { .. } | Action::AddForeignKey { .. } => {}
            Action::ArchiveColumn {
                table,
                column,
                archived,
            } => {
                exec_sqlite(conn, &ddl::rename_column(B, table, column, archived)).await?;
            }
            Action::ArchiveTable { table, archived } => {
                exec_sqlite(conn, &ddl::rename_table(B, table, archived)).await?;
                let cols = old_columns(conn, archived).await?;
                if cols.iter().any(|c| c.has_fk) {
                    let specs: Vec<(ColSpec, SimpleExpr)> = cols
                        .iter()
                        .map(|c| (keep(c, c.not_null, &c.name), source(&c.name)))
                        .collect();
                    rebuild_table(conn, archived, &specs, &[]).await?;
                    rebuilt.insert(table);
                }
            }
            Action::RestoreTable { table, archived } => {
                exec_sqlite(conn, &ddl::rename_table(B, archived, table)).await?;
            }
            Action::RestoreColumn {
                table,
                column,
                archived,
            } => {
                exec_sqlite(conn, &ddl::rename_column(B, table, archived, column)).await?;
            }
            Action::CreateIndex { table, index, .. } => exec_sqlite(conn, &ddl::create_index(B, table, index)).await?,
            Action::DropIndex { name, .. } => exec_sqlite(conn, &ddl::drop_index(B, name)).await?,
            Action::DropSearch { table } => {
                for sql in search::drop(B, table) {
                    exec_sqlite(conn, &sql).await?;
                }
            }
            Action::CreateSearch { table, fields } => {
                for sql in search::create(B, table, fields) {
                    exec_sqlite(conn, &sql).await?;
                }
            }
        }
    }
    Ok(!rebuilt.is_empty())
}

fn source(column: &str) -> SimpleExpr {
    Expr::cust(q(column))
}

/// An old column carried over as it is, without its foreign key.
fn keep(c: &OldColumn, not_null: bool, name: &str) -> ColSpec {
    ColSpec {
        name: name.to_owned(),
        sql_type: strict_type(&c.decl),
        not_null,
        primary: c.name == "id",
        fk: None,
        default: None,
    }
}

/// Rebuilds an entity's table to the new model, folding in every column
/// step of that table (added, altered, archived columns).
async fn rebuild_entity(conn: &mut SqliteConnection, e: &EntityDef, steps: &[&Step]) -> Result<(), SchemaError> {
    let old = old_columns(conn, &e.name).await?;
    let old_of = |name: &str| old.iter().find(|c| c.name == name);
    let mut alters = HashMap::new();
    let mut archives = HashMap::new();
    let mut restores: HashMap<&str, &str> = HashMap::new();
    for s in steps {
        match &s.action {
            Action::AlterColumn { column, from, to, .. } => {
                alters.insert(column.as_str(), (from, to));
            }
            Action::ArchiveColumn { column, archived, .. } => {
                archives.insert(column.as_str(), archived.as_str());
            }
            Action::RestoreColumn { column, archived, .. } => {
                restores.insert(column.as_str(), archived.as_str());
            }
            _ => {}
        }
    }
    let mut cols: Vec<(ColSpec, SimpleExpr)> = Vec::new();
    for c in ddl::system_columns(B) {
        let name = c.name.clone();
        cols.push((c, source(&name)));
    }
    for f in &e.fields {
        let (not_null, src) = match (old_of(&f.name), alters.get(f.name.as_str())) {
            (Some(oc), Some((from, to))) => (
                f.required && (oc.not_null || !from.required),
                Expr::cust(convert_expr(B, from, to, &f.name)),
            ),
            (Some(oc), None) => (f.required && oc.not_null, source(&f.name)),
            (None, _) if restores.contains_key(f.name.as_str()) => (
                false,
                source(restores.get(f.name.as_str()).copied().unwrap_or_default()),
            ),
            (None, _) => match ddl::default_value(B, f) {
                Some(v) if f.required => (true, SimpleExpr::Value(v)),
                _ => (false, Expr::cust("NULL")),
            },
        };
        cols.push((ddl::field_column(B, f, not_null), src));
    }
    for oc in &old {
        let restored = restores.values().any(|a| *a == oc.name);
        if restored || ddl::is_system_column(&oc.name) || e.fields.iter().any(|f| f.name == oc.name) {
            continue;
        }
        match archives.get(oc.name.as_str()) {
            Some(archived) => cols.push((keep(oc, false, archived), source(&oc.name))),
            None => cols.push((keep(oc, oc.not_null, &oc.name), source(&oc.name))),
        }
    }
    rebuild_table(conn, &e.name, &cols, &desired_indexes(e)).await
}

/// Replaces `table` by a table of `cols`, each filled from its expression
/// over the old table, then creates `indexes`.
async fn rebuild_table(
    conn: &mut SqliteConnection,
    table: &str,
    cols: &[(ColSpec, SimpleExpr)],
    indexes: &[IndexSpec],
) -> Result<(), SchemaError> {
    let tmp = format!("_relata_rebuild_{table}");
    let specs: Vec<ColSpec> = cols.iter().map(|(c, _)| c.clone()).collect();
    exec_sqlite(conn, &ddl::create_table(B, &tmp, table, &specs)).await?;
    let mut select = Query::select();
    select.from(Alias::new(table));
    for (_, src) in cols {
        select.expr(src.clone());
    }
    let (sql, values) = Query::insert()
        .into_table(Alias::new(&tmp))
        .columns(cols.iter().map(|(c, _)| Alias::new(&c.name)))
        .select_from(select)
        .map_err(|e| SchemaError::Mismatch(e.to_string()))?
        .to_owned()
        .build_sqlx(SqliteQueryBuilder);
    sqlx::query_with(&sql, values).execute(&mut *conn).await?;
    exec_sqlite(conn, &ddl::drop_rebuilt_table(table)).await?;
    exec_sqlite(conn, &ddl::rename_table(B, &tmp, table)).await?;
    for ix in indexes {
        exec_sqlite(conn, &ddl::create_index(B, table, ix)).await?;
    }
    Ok(())
}
