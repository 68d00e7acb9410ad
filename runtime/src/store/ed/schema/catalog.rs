//! What the ED database holds now: tables, columns, indexes, foreign keys.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use crate::store::{Backend, Pool, StoreError};

/// The tables of the ED database (the `relata_ed` schema on PostgreSQL), as
/// read by [`read_catalog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The backend the catalog was read from.
    pub backend: Backend,
    /// Every table, by name.
    pub tables: BTreeMap<String, TableInfo>,
    /// Every name taken in the table namespace (tables, indexes, sequences).
    pub names: BTreeSet<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// Columns, in table order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes, except the primary key.
    pub indexes: Vec<IndexInfo>,
    /// Foreign keys (single-column).
    pub foreign_keys: Vec<ForeignKeyInfo>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// Declared type (SQLite) or formatted type (PostgreSQL).
    pub sql_type: String,
    /// NOT NULL.
    pub not_null: bool,
}

/// One index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// Name.
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// UNIQUE.
    pub unique: bool,
    /// Has a WHERE clause.
    pub partial: bool,
}

/// One foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyInfo {
    /// The referencing column.
    pub column: String,
    /// The referenced table.
    pub target: String,
    /// The ON DELETE action, upper case (`RESTRICT`, `SET NULL`, ...).
    pub on_delete: String,
}

impl Catalog {
    /// A catalog of an empty database.
    pub fn empty(backend: Backend) -> Catalog {
        Catalog {
            backend,
            tables: BTreeMap::new(),
            names: BTreeSet::new(),
        }
    }

    /// The table, if it exists.
    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.get(name)
    }
}

impl TableInfo {
    /// The column, if it exists.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The foreign key of a column, if any.
    pub fn foreign_key(&self, column: &str) -> Option<&ForeignKeyInfo> {
        self.foreign_keys.iter().find(|f| f.column == column)
    }
}

/// Reads the catalog of the ED database.
pub async fn read_catalog(pool: &Pool) -> Result<Catalog, StoreError> {
    match pool {
        Pool::Sqlite(p) => read_sqlite(p).await,
        Pool::Postgres(p) => read_pg(p).await,
    }
}

async fn read_sqlite(pool: &sqlx::SqlitePool) -> Result<Catalog, StoreError> {
    let mut cat = Catalog::empty(Backend::Sqlite);
    let names = sqlx::query("SELECT name, type FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
        .fetch_all(pool)
        .await?;
    for row in names {
        let name: String = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        if kind == "table" {
            cat.tables.insert(name.clone(), TableInfo::default());
        }
        cat.names.insert(name);
    }
    let columns = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\" FROM sqlite_schema m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
    )
    .fetch_all(pool)
    .await?;
    for row in columns {
        let table: String = row.try_get(0)?;
        let column = ColumnInfo {
            name: row.try_get(1)?,
            sql_type: row.try_get(2)?,
            not_null: row.try_get::<i64, _>(3)? != 0,
        };
        cat.tables.entry(table).or_default().columns.push(column);
    }
    let indexes = sqlx::query(
        "SELECT m.name, il.name, il.\"unique\", il.partial, ii.name FROM sqlite_schema m \
         JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND il.origin <> 'pk' \
         ORDER BY m.name, il.name, ii.seqno",
    )
    .fetch_all(pool)
    .await?;
    for row in indexes {
        let table: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let column: Option<String> = row.try_get(4)?;
        let info = cat.tables.entry(table).or_default();
        if info.indexes.last().is_none_or(|ix| ix.name != name) {
            info.indexes.push(IndexInfo {
                name,
                columns: Vec::new(),
                unique: row.try_get::<i64, _>(2)? != 0,
                partial: row.try_get::<i64, _>(3)? != 0,
            });
        }
        // An expression (`lower(name)`) has no column name.
        if let Some(ix) = info.indexes.last_mut() {
            ix.columns.push(column.unwrap_or_else(|| "(expression)".to_owned()));
        }
    }
    let fks = sqlx::query(
        "SELECT m.name, f.\"from\", f.\"table\", f.on_delete FROM sqlite_schema m \
         JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
         ORDER BY m.name, f.id, f.seq",
    )
    .fetch_all(pool)
    .await?;
    for row in fks {
        let table: String = row.try_get(0)?;
        let fk = ForeignKeyInfo {
            column: row.try_get(1)?,
            target: row.try_get(2)?,
            on_delete: row.try_get(3)?,
        };
        cat.tables.entry(table).or_default().foreign_keys.push(fk);
    }
    Ok(cat)
}

async fn read_pg(pool: &sqlx::PgPool) -> Result<Catalog, StoreError> {
    let mut cat = Catalog::empty(Backend::Postgres);
    let names = sqlx::query(
        "SELECT c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema()",
    )
    .fetch_all(pool)
    .await?;
    for row in names {
        let name: String = row.try_get(0)?;
        let kind: String = row.try_get(1)?;
        if kind == "r" || kind == "p" {
            cat.tables.insert(name.clone(), TableInfo::default());
        }
        cat.names.insert(name);
    }
    let columns = sqlx::query(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
    )
    .fetch_all(pool)
    .await?;
    for row in columns {
        let table: String = row.try_get(0)?;
        let column = ColumnInfo {
            name: row.try_get(1)?,
            sql_type: row.try_get(2)?,
            not_null: row.try_get(3)?,
        };
        cat.tables.entry(table).or_default().columns.push(column);
    }
    let indexes = sqlx::query(
        "SELECT t.relname::text, i.relname::text, ix.indisunique, ix.indpred IS NOT NULL, \
           ARRAY(SELECT coalesce(a.attname::text, '(expression)') \
                 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND NOT ix.indisprimary ORDER BY t.relname, i.relname",
    )
    .fetch_all(pool)
    .await?;
    for row in indexes {
        let table: String = row.try_get(0)?;
        let index = IndexInfo {
            name: row.try_get(1)?,
            unique: row.try_get(2)?,
            partial: row.try_get(3)?,
            columns: row.try_get(4)?,
        };
        cat.tables.entry(table).or_default().indexes.push(index);
    }
    let fks = sqlx::query(
        "SELECT t.relname::text, a.attname::text, r.relname::text, con.confdeltype::text \
         FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = con.conkey[1] \
         WHERE con.contype = 'f' AND n.nspname = current_schema() ORDER BY t.relname, con.conname",
    )
    .fetch_all(pool)
    .await?;
    for row in fks {
        let table: String = row.try_get(0)?;
        let action: String = row.try_get(3)?;
        let on_delete = match action.as_str() {
            "r" => "RESTRICT",
            "n" => "SET NULL",
            "c" => "CASCADE",
            "d" => "SET DEFAULT",
            _ => "NO ACTION",
        };
        let fk = ForeignKeyInfo {
            column: row.try_get(1)?,
            target: row.try_get(2)?,
            on_delete: on_delete.to_owned(),
        };
        cat.tables.entry(table).or_default().foreign_keys.push(fk);
    }
    Ok(cat)
}
