//! Rendering the DDL statements, with sea-query where it can say them.

use sea_query::{
    Alias, ColumnDef, Expr, ForeignKey, ForeignKeyAction, Index, PostgresQueryBuilder, SchemaBuilder,
    SqliteQueryBuilder, Table, TableForeignKey, Value,
};

use super::plan::{on_delete_sql, IndexSpec};
use super::shape::Shape;
use super::{fk_name, q};
use crate::model::{EntityDef, FieldDef, OnDelete};
use crate::store::ed::values::{to_sql, ColumnKind};
use crate::store::Backend;

/// One column of a table to create.
#[derive(Debug, Clone)]
pub(crate) struct ColSpec {
    pub name: String,
    pub sql_type: String,
    pub not_null: bool,
    pub primary: bool,
    /// Referenced table and action.
    pub fk: Option<(String, OnDelete)>,
    /// DDL default (only for a required field added to a table with rows).
    pub default: Option<Value>,
}

impl ColSpec {
    fn plain(name: &str, sql_type: &str, not_null: bool) -> ColSpec {
        ColSpec {
            name: name.to_owned(),
            sql_type: sql_type.to_owned(),
            not_null,
            primary: false,
            fk: None,
            default: None,
        }
    }
}

fn builder(backend: Backend) -> Box<dyn SchemaBuilder> {
    match backend {
        Backend::Sqlite => Box::new(SqliteQueryBuilder),
        Backend::Postgres => Box::new(PostgresQueryBuilder),
    }
}

fn fk_action(o: OnDelete) -> ForeignKeyAction {
    match o {
        OnDelete::Restrict => ForeignKeyAction::Restrict,
        OnDelete::SetNull => ForeignKeyAction::SetNull,
    }
}

/// The system columns every entity table starts with.
pub(crate) fn system_columns(backend: Backend) -> Vec<ColSpec> {
    let (uuid, instant, int) = match backend {
        Backend::Sqlite => ("TEXT", "TEXT", "INTEGER"),
        Backend::Postgres => ("UUID", "TIMESTAMPTZ", "BIGINT"),
    };
    let mut id = ColSpec::plain("id", uuid, true);
    id.primary = true;
    vec![
        id,
        ColSpec::plain("created_at", instant, true),
        ColSpec::plain("created_by", uuid, false),
        ColSpec::plain("updated_at", instant, true),
        ColSpec::plain("updated_by", uuid, false),
        ColSpec::plain("owner_id", uuid, false),
        ColSpec::plain("row_version", int, true),
        ColSpec::plain("deleted_at", instant, false),
    ]
}

/// Whether `name` is a system column.
pub(crate) fn is_system_column(name: &str) -> bool {
    matches!(
        name,
        "id" | "created_at" | "created_by" | "updated_at" | "updated_by" | "owner_id" | "row_version" | "deleted_at"
    )
}

/// The column of a field. `not_null` is decided by the caller.
pub(crate) fn field_column(backend: Backend, f: &FieldDef, not_null: bool) -> ColSpec {
    let shape = Shape::of(f);
    ColSpec {
        name: f.name.clone(),
        sql_type: shape.sql_type(backend),
        not_null,
        primary: false,
        fk: shape.foreign_key().map(|(t, o)| (t.to_owned(), o)),
        default: None,
    }
}

/// The field's default as a SQL value, if it has one that converts.
pub(crate) fn default_value(backend: Backend, f: &FieldDef) -> Option<Value> {
    let v = f.default.as_ref()?;
    to_sql(backend, ColumnKind::of_field(f), v).ok()
}

/// The columns of a new entity table. Foreign keys of `deferred` columns are
/// left out (added later).
pub(crate) fn entity_columns(backend: Backend, e: &EntityDef, deferred: &[String]) -> Vec<ColSpec> {
    let mut cols = system_columns(backend);
    for f in &e.fields {
        let mut c = field_column(backend, f, f.required);
        if deferred.contains(&f.name) {
            c.fk = None;
        }
        cols.push(c);
    }
    cols
}

fn column_def(c: &ColSpec) -> ColumnDef {
    let mut def = ColumnDef::new(Alias::new(&c.name));
    def.custom(Alias::new(&c.sql_type));
    if c.not_null {
        def.not_null();
    }
    if c.primary {
        def.primary_key();
    }
    if let Some(v) = &c.default {
        def.default(v.clone());
    }
    def
}

/// `CREATE TABLE` (STRICT on SQLite) with the columns' primary and foreign
/// keys. `table` is the name created; `final_name` the name it will have
/// (different during a SQLite rebuild), used for the foreign key names.
pub(crate) fn create_table(backend: Backend, table: &str, final_name: &str, cols: &[ColSpec]) -> String {
    let mut stmt = Table::create();
    stmt.table(Alias::new(table));
    for c in cols {
        stmt.col(column_def(c));
    }
    for c in cols {
        if let Some((target, on_delete)) = &c.fk {
            stmt.foreign_key(
                ForeignKey::create()
                    .name(fk_name(final_name, &c.name))
                    .from(Alias::new(table), Alias::new(&c.name))
                    .to(Alias::new(target), Alias::new("id"))
                    .on_delete(fk_action(*on_delete)),
            );
        }
    }
    if backend == Backend::Sqlite {
        stmt.extra("STRICT");
    }
    stmt.build_any(&*builder(backend))
}

/// `CREATE [UNIQUE] INDEX IF NOT EXISTS`, unique ones partial on live records.
pub(crate) fn create_index(backend: Backend, table: &str, ix: &IndexSpec) -> String {
    use sea_query::ConditionalStatement;
    if ix.folded {
        return create_folded_index(backend, table, ix);
    }
    let mut stmt = Index::create();
    stmt.if_not_exists().name(&ix.name).table(Alias::new(table));
    for c in &ix.columns {
        stmt.col(Alias::new(c));
    }
    // Lists sort on `(column, id)`, id breaking ties for keyset paging: with
    // id in the index the whole ORDER BY comes from it, with no sort step
    // over every row sharing a value (a city of 50,000 contacts).
    if !ix.unique && !ix.columns.iter().any(|c| c == "id") {
        stmt.col(Alias::new("id"));
    }
    if ix.unique {
        stmt.unique().and_where(Expr::col(Alias::new("deleted_at")).is_null());
    }
    stmt.build_any(&*builder(backend))
}

/// An index on `lower(column)`, then `id`. sea-query 0.32 builds no index
/// on an expression, hence the text; every identifier is quoted. On
/// PostgreSQL `text_pattern_ops` lets `lower(c) LIKE 'p%'` use it whatever
/// the database's collation.
fn create_folded_index(backend: Backend, table: &str, ix: &IndexSpec) -> String {
    let column = ix.columns.first().map(String::as_str).unwrap_or("id");
    let ops = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " text_pattern_ops",
    };
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} (lower({}){ops}, \"id\")",
        q(&ix.name),
        q(table),
        q(column)
    )
}

/// `DROP INDEX IF EXISTS`.
pub(crate) fn drop_index(backend: Backend, name: &str) -> String {
    Index::drop().name(name).if_exists().build_any(&*builder(backend))
}

/// `ALTER TABLE .. ADD COLUMN`; on SQLite a reference gets its REFERENCES
/// clause here (PostgreSQL adds a named constraint, [`add_foreign_key`]).
pub(crate) fn add_column(backend: Backend, table: &str, c: &ColSpec) -> String {
    let mut def = column_def(c);
    if let (Backend::Sqlite, Some((target, on_delete))) = (backend, &c.fk) {
        def.extra(format!(
            "REFERENCES {} (\"id\") ON DELETE {}",
            q(target),
            on_delete_sql(*on_delete)
        ));
    }
    Table::alter()
        .table(Alias::new(table))
        .add_column(&mut def)
        .build_any(&*builder(backend))
}

/// `ALTER TABLE .. ADD CONSTRAINT fk_.. FOREIGN KEY` (PostgreSQL).
pub(crate) fn add_foreign_key(table: &str, column: &str, target: &str, on_delete: OnDelete) -> String {
    Table::alter()
        .table(Alias::new(table))
        .add_foreign_key(
            TableForeignKey::new()
                .name(fk_name(table, column))
                .from_tbl(Alias::new(table))
                .from_col(Alias::new(column))
                .to_tbl(Alias::new(target))
                .to_col(Alias::new("id"))
                .on_delete(fk_action(on_delete)),
        )
        .to_string(PostgresQueryBuilder)
}

/// `ALTER TABLE .. RENAME COLUMN`.
pub(crate) fn rename_column(backend: Backend, table: &str, from: &str, to: &str) -> String {
    Table::alter()
        .table(Alias::new(table))
        .rename_column(Alias::new(from), Alias::new(to))
        .build_any(&*builder(backend))
}

/// `ALTER TABLE .. RENAME TO`.
pub(crate) fn rename_table(backend: Backend, from: &str, to: &str) -> String {
    Table::rename()
        .table(Alias::new(from), Alias::new(to))
        .build_any(&*builder(backend))
}

/// `DROP TABLE` of the old copy at the end of a SQLite rebuild (its rows
/// were copied to the new table first).
pub(crate) fn drop_rebuilt_table(table: &str) -> String {
    Table::drop().table(Alias::new(table)).to_string(SqliteQueryBuilder)
}

/// Hand-written PostgreSQL statements sea-query cannot say.
pub(crate) mod pg {
    use super::q;

    /// `ALTER COLUMN .. TYPE .. USING`.
    pub fn alter_type(table: &str, column: &str, sql_type: &str, using: &str) -> String {
        format!(
            "ALTER TABLE {} ALTER COLUMN {} TYPE {sql_type} USING {using}",
            q(table),
            q(column)
        )
    }

    /// `ALTER COLUMN .. SET / DROP NOT NULL`.
    pub fn not_null(table: &str, column: &str, on: bool) -> String {
        let verb = if on { "SET" } else { "DROP" };
        format!("ALTER TABLE {} ALTER COLUMN {} {verb} NOT NULL", q(table), q(column))
    }

    /// `DROP CONSTRAINT IF EXISTS`.
    pub fn drop_constraint(table: &str, name: &str) -> String {
        format!("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", q(table), q(name))
    }

    /// `RENAME CONSTRAINT`.
    pub fn rename_constraint(table: &str, from: &str, to: &str) -> String {
        format!("ALTER TABLE {} RENAME CONSTRAINT {} TO {}", q(table), q(from), q(to))
    }
}
