//! The search structures of searchable entities: planned like the rest of
//! the schema, but derived data. They hold nothing that is not in the entity
//! table, so the builder drops and rebuilds them freely (a changed field
//! list, a column change that could break them) and never archives them.
//!
//! - **SQLite**: an FTS5 table `_search_{entity}` with the `trigram`
//!   tokenizer (bundled SQLite 3.46 has it; it matches any substring of
//!   three characters or more, so it serves Chinese, which has no spaces
//!   between words, as well as English). Its columns are `record_id` and
//!   `c0` (the display field), `c1`, ... in the order of
//!   [`crate::model::EntityDef::search_fields`]: positional names, because
//!   FTS5 reserves some column names (`rank`, `rowid`) that a field may have.
//!   It is a regular FTS5 table (it keeps its own copy of the text), not an
//!   external-content one: it indexes live records only, so the `rebuild`
//!   and `delete` commands of an external-content table (which read the
//!   entity table, recycle bin included) would not fit, and the results
//!   (id and display value) come from the index alone, without a join.
//!   Triggers on the entity table keep it in step, keyed by the entity
//!   table's rowid. That rowid is not an alias of a declared key, so it
//!   changes when the builder rebuilds the table: the planner rebuilds the
//!   index around every step that can rebuild the table. (A manual `VACUUM`
//!   may renumber rowids too; see docs/api/search.md.)
//! - **PostgreSQL**: a generated column `_search tsvector` (`simple`
//!   configuration, no stemming: names and addresses are not prose) with a
//!   GIN index on live records. `simple` keeps a run of Chinese characters as
//!   one word, so the column's text has a space put around every CJK
//!   character first: each becomes a word, and a query for `贸易` becomes
//!   the phrase `贸 <-> 易`, which the GIN index answers.

use super::catalog::Catalog;
use super::{fit, q};
use crate::store::Backend;

/// The generated column of the search vector (PostgreSQL). Field names
/// cannot start with `_`, so it never collides with a field.
pub(crate) const PG_COLUMN: &str = "_search";

/// The characters the PostgreSQL column and queries treat as one word each
/// (CJK ideographs, extension A, compatibility ideographs, kana).
pub(crate) const PG_CJK_CLASS: &str = "[\\u3040-\\u30ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff]";

/// The FTS5 table of `entity` (SQLite), or the GIN index (PostgreSQL).
/// Entity names start with a letter, so `_search_` never collides with one.
pub(crate) fn search_name(entity: &str) -> String {
    fit(format!("_search_{entity}"))
}

/// The name of one of the sync triggers (`ai`, `ad`, `au`) of `entity`.
fn trigger_name(entity: &str, which: &str) -> String {
    fit(format!("_search_{entity}__{which}"))
}

/// Whether the search structure of `table` exists.
pub(crate) fn exists(catalog: &Catalog, table: &str) -> bool {
    match catalog.backend {
        Backend::Sqlite => catalog.table(&search_name(table)).is_some(),
        Backend::Postgres => catalog.table(table).is_some_and(|t| t.column(PG_COLUMN).is_some()),
    }
}

/// The FTS5 column of the `i`-th search field.
pub(crate) fn fts_column(i: usize) -> String {
    format!("c{i}")
}

/// SQLite: the FTS5 table, its triggers, and the backfill of live records.
pub(crate) fn sqlite_create(table: &str, fields: &[String]) -> Vec<String> {
    let fts = q(&search_name(table));
    let t = q(table);
    let fts_cols: Vec<String> = (0..fields.len()).map(fts_column).collect();
    let into = format!("{fts}(rowid, record_id, {})", fts_cols.join(", "));
    let new_values: Vec<String> = fields.iter().map(|f| format!("NEW.{}", q(f))).collect();
    let new_values = new_values.join(", ");
    let watched: Vec<String> = std::iter::once("deleted_at")
        .chain(fields.iter().map(String::as_str))
        .map(q)
        .collect();
    let plain: Vec<String> = fields.iter().map(|f| q(f)).collect();
    vec![
        format!(
            "CREATE VIRTUAL TABLE {fts} USING fts5(record_id UNINDEXED, {}, tokenize = 'trigram')",
            fts_cols.join(", ")
        ),
        format!(
            "CREATE TRIGGER {} AFTER INSERT ON {t} WHEN NEW.\"deleted_at\" IS NULL BEGIN \
             INSERT INTO {into} VALUES (NEW.rowid, NEW.\"id\", {new_values}); END",
            q(&trigger_name(table, "ai"))
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {t} BEGIN DELETE FROM {fts} WHERE rowid = OLD.rowid; END",
            q(&trigger_name(table, "ad"))
        ),
        // Moving to the recycle bin, restoring and editing a searched field
        // all come here: take the old entry out, put the new one in if live.
        format!(
            "CREATE TRIGGER {} AFTER UPDATE OF {} ON {t} BEGIN \
             DELETE FROM {fts} WHERE rowid = OLD.rowid; \
             INSERT INTO {into} SELECT NEW.rowid, NEW.\"id\", {new_values} WHERE NEW.\"deleted_at\" IS NULL; END",
            q(&trigger_name(table, "au")),
            watched.join(", ")
        ),
        format!(
            "INSERT INTO {into} SELECT rowid, \"id\", {} FROM {t} WHERE \"deleted_at\" IS NULL",
            plain.join(", ")
        ),
    ]
}

/// SQLite: drops the triggers and the FTS5 table (derived: nothing is lost).
pub(crate) fn sqlite_drop(table: &str) -> Vec<String> {
    let mut out: Vec<String> = ["ai", "ad", "au"]
        .iter()
        .map(|w| format!("DROP TRIGGER IF EXISTS {}", q(&trigger_name(table, w))))
        .collect();
    out.push(format!("DROP TABLE IF EXISTS {}", q(&search_name(table))));
    out
}

/// PostgreSQL: the generated column (filled for every row by the `ADD
/// COLUMN` itself) and its GIN index over live records.
///
/// The index is built with `fastupdate = off`: with the default, new
/// entries wait in a pending list until a vacuum merges them, and while the
/// list is long the planner rightly prefers a sequential scan (seen with
/// 20,000 fresh rows). A record has a handful of words, so updating the
/// index at once costs writes little and keeps type-ahead search fast.
pub(crate) fn pg_create(table: &str, fields: &[String]) -> Vec<String> {
    let text: Vec<String> = fields.iter().map(|f| format!("coalesce({}, '')", q(f))).collect();
    vec![
        format!(
            "ALTER TABLE {} ADD COLUMN {} tsvector GENERATED ALWAYS AS \
             (to_tsvector('simple'::regconfig, regexp_replace({}, '({PG_CJK_CLASS})', ' \\1 ', 'g'))) STORED",
            q(table),
            q(PG_COLUMN),
            text.join(" || ' ' || ")
        ),
        format!(
            "CREATE INDEX {} ON {} USING gin ({}) WITH (fastupdate = off) WHERE \"deleted_at\" IS NULL",
            q(&search_name(table)),
            q(table),
            q(PG_COLUMN)
        ),
    ]
}

/// PostgreSQL: drops the index and the generated column.
pub(crate) fn pg_drop(table: &str) -> Vec<String> {
    vec![
        format!("DROP INDEX IF EXISTS {}", q(&search_name(table))),
        format!("ALTER TABLE {} DROP COLUMN IF EXISTS {}", q(table), q(PG_COLUMN)),
    ]
}

/// The statements of a search step on `backend`.
pub(crate) fn create(backend: Backend, table: &str, fields: &[String]) -> Vec<String> {
    match backend {
        Backend::Sqlite => sqlite_create(table, fields),
        Backend::Postgres => pg_create(table, fields),
    }
}

/// The statements that drop the search structure of `table` on `backend`.
pub(crate) fn drop(backend: Backend, table: &str) -> Vec<String> {
    match backend {
        Backend::Sqlite => sqlite_drop(table),
        Backend::Postgres => pg_drop(table),
    }
}
