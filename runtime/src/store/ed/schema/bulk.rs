//! What a bulk load on SQLite sets aside: the secondary indexes and the
//! search structure of an entity's table, dropped before the rows go in and
//! built again from them afterwards.
//!
//! Two million rows inserted one by one into half a dozen random-key
//! indexes (names, e-mails, cities, the FTS5 index) spend most of their time
//! reading index pages back from the file once the indexes outgrow the page
//! cache. Built afterwards, an index is one sort of the table's rows and a
//! sequential write, and the search index one `INSERT ... SELECT`.
//!
//! The statements are those the schema builder runs ([`desired_indexes`],
//! [`ddl::create_index`], [`search::sqlite_create`]): what comes back is
//! what a release would have built. The primary key and the foreign keys
//! stay (they are part of the table).

use super::ddl;
use super::plan::desired_indexes;
use super::search;
use crate::model::EntityDef;
use crate::store::Backend;

/// The FTS5 pending-data size while the search index is filled again
/// (128 MiB, given back at the end; the default is 1 MiB).
const FTS5_BULK_HASHSIZE: u64 = 128 * 1024 * 1024;

/// The statements that set aside and rebuild the derived structures of one
/// entity's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Drops the managed indexes, the search triggers, the FTS5 table and
    /// its key table (`IF EXISTS`: an index the table lacks is no error).
    pub drop: Vec<String>,
    /// Builds them again: every index the model asks for, then the search
    /// structure filled from the live records.
    pub rebuild: Vec<String>,
}

/// The statements for the table of `e` on SQLite (the entity's name is its
/// table's name).
pub fn sqlite_set_aside(e: &EntityDef) -> SetAside {
    const B: Backend = Backend::Sqlite;
    let table = e.name.as_str();
    let indexes = desired_indexes(e);
    let mut drop: Vec<String> = indexes.iter().map(|ix| ddl::drop_index(B, &ix.name)).collect();
    let mut rebuild: Vec<String> = indexes.iter().map(|ix| ddl::create_index(B, table, ix)).collect();
    if let Some(fields) = e.search_fields() {
        let fields: Vec<String> = fields.into_iter().map(str::to_owned).collect();
        drop.extend(search::sqlite_drop(table));
        rebuild.extend(search::sqlite_create_bulk(table, &fields, FTS5_BULK_HASHSIZE));
    }
    SetAside { drop, rebuild }
}
