//! The ED schema builder: turns a change of the application model into DDL
//! on the entity tables, without losing data.
//!
//! The pipeline, as the release engine drives it:
//!
//! 1. [`read_catalog`]: what tables, columns, indexes and foreign keys exist now.
//! 2. [`plan`]: a pure diff of the old model (if any) against the new one,
//!    confirmed against the catalog. Every [`Step`] is marked
//!    [`Safety::Safe`] or [`Safety::Destructive`].
//! 3. [`check_data`]: the only reads of record data. Counts the rows that a
//!    narrowing change would lose or reject and refuses the change, naming
//!    them ([`SchemaError::Refused`]).
//! 4. [`apply`]: every step plus the `relata_schema_state` row, in one
//!    transaction. On PostgreSQL it retries lock timeouts.
//!
//! Nothing is ever dropped: a removed field or entity is archived (renamed to
//! `_r{release}_{name}` and kept, nullable, without keys). Names of indexes
//! (`ix_{table}__{columns}`, unique `ux_...`) and foreign keys
//! (`fk_{table}__{column}`) are derived from the model, so the catalog alone
//! says which exist.

mod apply;
mod bulk;
mod catalog;
mod check;
mod ddl;
mod plan;
mod restore;
pub(crate) mod search;
mod shape;
mod sqlite;
mod step;

#[cfg(test)]
mod tests;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use apply::apply;
pub use bulk::{sqlite_set_aside, SetAside};
pub use catalog::{read_catalog, Catalog, ColumnInfo, ForeignKeyInfo, IndexInfo, TableInfo};
pub use check::{affected_rows, check_data};
pub use plan::{plan, Action, IndexSpec, Plan, Safety, Step};
pub use shape::{Check, Shape};

use crate::store::StoreError;

/// The release and checksum the entity tables are built for, written by
/// [`apply`] in the same transaction as the DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaState {
    /// The release number.
    pub release: i64,
    /// The release's checksum.
    pub checksum: String,
}

/// Stored values that stop a schema change: `count` rows would lose or
/// reject a value. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    /// The entity (table).
    pub entity: String,
    /// The field (column), when the refusal is about one field.
    pub field: Option<String>,
    /// Why, in words an administrator understands.
    pub reason: String,
    /// How many rows (or values) are in the way.
    pub count: i64,
    /// Up to five of them: `{"id": ..., "value": ...}`.
    pub examples: Vec<serde_json::Value>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}.{}: {}", self.entity, field, self.reason)?,
            None => write!(f, "{}: {}", self.entity, self.reason)?,
        }
        let examples: Vec<String> = self
            .examples
            .iter()
            .map(|e| match (e.get("id").and_then(|i| i.as_str()), e.get("value")) {
                (Some(id), Some(v)) => format!("{id} = {v}"),
                _ => e.to_string(),
            })
            .collect();
        if !examples.is_empty() {
            write!(f, " (for example {})", examples.join(", "))?;
        }
        Ok(())
    }
}

/// Why a schema change was not made. In every case the schema is as it was.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Stored data would be lost or rejected by the change.
    #[error("the schema change was refused: {}", summary(.0))]
    Refused(Vec<Refusal>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other sessions held a lock on a table through every attempt (PostgreSQL).
    #[error("table {table} stayed locked by other sessions through {attempts} attempts; try again later")]
    LockTimeout {
        /// The table whose lock could not be taken.
        table: String,
        /// How many times the whole change was tried.
        attempts: u32,
    },
    /// After a table rebuild, some rows point to records that do not exist
    /// (SQLite); the change was rolled back.
    #[error("the rebuilt tables would break {0} references; nothing was changed")]
    ForeignKeys(i64),
    /// The plan names something the model does not have.
    #[error("the schema plan does not match the model: {0}")]
    Mismatch(String),
}

impl From<sqlx::Error> for SchemaError {
    fn from(e: sqlx::Error) -> Self {
        SchemaError::Store(StoreError::Sql(e))
    }
}

fn summary(refusals: &[Refusal]) -> String {
    refusals.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Longest identifier PostgreSQL keeps.
const MAX_IDENT: usize = 63;

/// `name` if it fits in 63 bytes, else its first 54 bytes, `_` and 8 hex
/// digits of its hash (so two long names stay apart).
fn fit(name: String) -> String {
    if name.len() <= MAX_IDENT {
        return name;
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    format!("{}_{}", &name[..54], &hash[..8])
}

/// The name of the index over `columns` of `table` (`ix_` or unique `ux_`).
fn index_name(unique: bool, table: &str, columns: &[String]) -> String {
    let prefix = if unique { "ux" } else { "ix" };
    fit(format!("{prefix}_{table}__{}", columns.join("__")))
}

/// The name of the folded (lower-cased) index of text column `column`.
fn folded_index_name(table: &str, column: &str) -> String {
    fit(format!("lx_{table}__{column}"))
}

/// Whether an index name follows the builder's convention (other indexes,
/// e.g. added by a DBA, are left alone).
fn is_managed_index(name: &str) -> bool {
    ["ix_", "ux_", "lx_"].iter().any(|p| name.starts_with(p))
}

/// The name of the foreign key of `column` in `table`.
fn fk_name(table: &str, column: &str) -> String {
    fit(format!("fk_{table}__{column}"))
}

/// `_r{release}_{name}` cut to 63 bytes, with `_2`, `_3`, ... when taken.
fn archive_name(release: i64, name: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = format!("_r{release}_{name}");
    (1..)
        .map(|n: u32| {
            let suffix = if n == 1 { String::new() } else { format!("_{n}") };
            let keep = base.len().min(MAX_IDENT - suffix.len());
            format!("{}{suffix}", &base[..keep])
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or(base)
}

/// Quotes an identifier (they come from the checked model, so this is belt
/// and braces).
pub(crate) fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
