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
//!   Triggers on the entity table keep it in step. An FTS5 row is found by
//!   its integer rowid, and the entity table's own rowid is no stable key
//!   (it is not an alias of a declared key, so a table rebuild, a `VACUUM`
//!   or a dump and restore may renumber it). So the rowid of an index row
//!   comes from a key table `_searchid_{entity}` (`n INTEGER PRIMARY KEY`,
//!   `id` the record id, unique): an `INTEGER PRIMARY KEY` is never
//!   renumbered, and the triggers find a record's index row through its id
//!   with two index lookups. The key table lists the indexed (live)
//!   records. A database whose index predates the key table is rebuilt by
//!   the next release, or at start (see [`current`]).
//!
//!   Terms of two characters. The trigram index only knows runs of three
//!   characters, so a two-character term `ab` was first matched with
//!   `LIKE '%ab%'` over the whole table: 1.4-2.5 s for `上海` on 1.1 M
//!   contacts, where most Chinese names and cities have two characters.
//!   Every two-character substring of a value is the start of one of its
//!   trigrams, except the last two characters; so every indexed value gets
//!   a sentinel, `char(1)` ([`SENTINEL`]), appended (a NULL stays NULL),
//!   and then `ab` occurs in a value exactly when some indexed trigram
//!   starts with `ab` and the value holds it. Those trigrams are a range of
//!   the term list, read through an `fts5vocab` table `_searchvocab_{entity}`
//!   (`term >= 'ab' AND term <= 'ab' || char(0x10FFFF)`, which the vocab
//!   table seeks to rather than scanning the term list), and the term
//!   becomes an FTS5 `OR` of them (see `store::ed::search`). A search text
//!   cannot hold the sentinel (control characters are dropped), so it is
//!   never found by itself; display values are read back without it.
//!   The vocab table is of the `col` kind (a row per trigram and column),
//!   so a query also knows whether a term is in the display field at all.
//!   Reading it walks the doclists of the trigrams in range, but that is
//!   cheap: 2 ms for `上海` in 1.1 M contacts (54,728 of them). The
//!   alternative, the LIKE scan without its `ORDER BY` so that it stops at
//!   the limit, is fast for a common term but still reads the whole table
//!   for a rare one (figures in the query module and BENCHMARKS.md).
//!   Single characters stay a LIKE scan (without a sort, so a common one
//!   stops early). The sentinel costs the index one trigram per value.
//!
//!   The layout has a format number, carried by the trigger names
//!   (`_search_{entity}__ai2`): an index without the sentinel (triggers
//!   without the number) is rebuilt by the next release or at start, like
//!   one without the key table.
//! - **PostgreSQL**: a generated column `_search tsvector` (`simple`
//!   configuration, no stemming: names and addresses are not prose) with a
//!   GIN index on live records. `simple` keeps a run of Chinese characters as
//!   one word, so the column's text has a space put around every CJK
//!   character first: each becomes a word, and a query for `贸易` becomes
//!   the phrase `贸 <-> 易`, which the GIN index answers. So two characters
//!   need nothing more here; what a common term costs on PostgreSQL is the
//!   ranking of every match (`上海` on the `large` data: 0.3-1.1 s, see
//!   BENCHMARKS.md), which is not specific to short terms.

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

/// The key table of `entity`'s FTS5 table (SQLite): record id -> index
/// rowid. `_searchid_` cannot be the start of an entity's table, of an
/// FTS5 table (`_search_`) or of its shadow tables.
pub(crate) fn keys_name(entity: &str) -> String {
    fit(format!("_searchid_{entity}"))
}

/// The `fts5vocab` table over the terms (trigrams) of `entity`'s FTS5
/// table (SQLite), which finds the trigrams a two-character term starts.
/// `_searchvocab_` is neither an entity, the FTS5 table, its shadow tables
/// nor the key table.
pub(crate) fn vocab_name(entity: &str) -> String {
    fit(format!("_searchvocab_{entity}"))
}

/// What every indexed value ends with (SQLite), so that its last two
/// characters start a trigram too; `char(1)` in SQL.
pub(crate) const SENTINEL: char = '\u{1}';

/// The format of the SQLite index, in the names of its triggers: 2 has
/// the sentinel. The triggers of format 1 had no number.
const FORMAT: u32 = 2;

/// The name of one of the sync triggers (`ai`, `ad`, `au`) of `entity`, in
/// the current format.
fn trigger_name(entity: &str, which: &str) -> String {
    fit(format!("_search_{entity}__{which}{FORMAT}"))
}

/// The names the triggers had in every format up to now (for the drop).
fn all_trigger_names(entity: &str, which: &str) -> Vec<String> {
    let mut out = vec![fit(format!("_search_{entity}__{which}"))];
    out.extend((2..=FORMAT).map(|v| fit(format!("_search_{entity}__{which}{v}"))));
    out
}

/// The value indexed for `column` (an SQL expression): the text with the
/// sentinel appended; NULL stays NULL (nothing to find).
fn indexed(column: &str) -> String {
    format!("{column} || char({})", u32::from(SENTINEL))
}

/// Whether the search structure of `table` exists.
pub(crate) fn exists(catalog: &Catalog, table: &str) -> bool {
    match catalog.backend {
        Backend::Sqlite => catalog.table(&search_name(table)).is_some(),
        Backend::Postgres => catalog.table(table).is_some_and(|t| t.column(PG_COLUMN).is_some()),
    }
}

/// Whether the search structure of `table` exists in the shape this
/// runtime builds; an older shape (SQLite: an FTS5 table without its key
/// table, keyed by the entity table's rowid, or without the sentinel and
/// the vocab table) is rebuilt.
pub(crate) fn current(catalog: &Catalog, table: &str) -> bool {
    match catalog.backend {
        Backend::Sqlite => {
            exists(catalog, table)
                && catalog.table(&keys_name(table)).is_some()
                && catalog.table(&vocab_name(table)).is_some()
                && ["ai", "ad", "au"]
                    .iter()
                    .all(|w| catalog.names.contains(&trigger_name(table, w)))
        }
        Backend::Postgres => exists(catalog, table),
    }
}

/// The FTS5 column of the `i`-th search field.
pub(crate) fn fts_column(i: usize) -> String {
    format!("c{i}")
}

/// SQLite: the key table, the FTS5 table, their triggers, and the
/// backfill of live records.
pub(crate) fn sqlite_create(table: &str, fields: &[String]) -> Vec<String> {
    let mut out = sqlite_structure(table, fields);
    out.extend(sqlite_fill(table, fields));
    out
}

/// FTS5's default pending-data size (`hashsize`): what it holds in memory
/// before writing a segment.
const FTS5_DEFAULT_HASHSIZE: u64 = 1024 * 1024;

/// SQLite, for a bulk fill of millions of rows: the structure, then the
/// fill with a pending-data size of `hashsize` bytes (fewer, larger
/// segments to merge: the fill of 1.1 M contacts went from 36 to 21 s with
/// 128 MiB), then the default size again.
pub(crate) fn sqlite_create_bulk(table: &str, fields: &[String], hashsize: u64) -> Vec<String> {
    let fts = q(&search_name(table));
    let config = |size: u64| format!("INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {size})");
    let mut out = sqlite_structure(table, fields);
    out.push(config(hashsize));
    out.extend(sqlite_fill(table, fields));
    out.push(config(FTS5_DEFAULT_HASHSIZE));
    out
}

/// SQLite: the key table, the FTS5 table and their triggers, empty.
fn sqlite_structure(table: &str, fields: &[String]) -> Vec<String> {
    let fts = q(&search_name(table));
    let keys = q(&keys_name(table));
    let t = q(table);
    let fts_cols: Vec<String> = (0..fields.len()).map(fts_column).collect();
    let into = format!("{fts}(rowid, record_id, {})", fts_cols.join(", "));
    let new_values: Vec<String> = fields.iter().map(|f| indexed(&format!("NEW.{}", q(f)))).collect();
    let new_values = new_values.join(", ");
    let watched: Vec<String> = std::iter::once("deleted_at")
        .chain(fields.iter().map(String::as_str))
        .map(q)
        .collect();
    let key_of = |rec: &str| format!("(SELECT \"n\" FROM {keys} WHERE \"id\" = {rec}.\"id\")");
    vec![
        format!("DROP TABLE IF EXISTS {keys}"),
        format!("CREATE TABLE {keys} (\"n\" INTEGER PRIMARY KEY, \"id\" TEXT NOT NULL UNIQUE)"),
        format!(
            "CREATE VIRTUAL TABLE {fts} USING fts5(record_id UNINDEXED, {}, tokenize = 'trigram')",
            fts_cols.join(", ")
        ),
        format!(
            "CREATE VIRTUAL TABLE {} USING fts5vocab({fts}, col)",
            q(&vocab_name(table))
        ),
        format!(
            "CREATE TRIGGER {} AFTER INSERT ON {t} WHEN NEW.\"deleted_at\" IS NULL BEGIN \
             INSERT INTO {keys}(\"id\") VALUES (NEW.\"id\"); \
             INSERT INTO {into} VALUES ({}, NEW.\"id\", {new_values}); END",
            q(&trigger_name(table, "ai")),
            key_of("NEW")
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {t} BEGIN \
             DELETE FROM {fts} WHERE rowid = {}; \
             DELETE FROM {keys} WHERE \"id\" = OLD.\"id\"; END",
            q(&trigger_name(table, "ad")),
            key_of("OLD")
        ),
        // Moving to the recycle bin, restoring and editing a searched field
        // all come here: take the old entry out, put the new one in if live
        // (a record keeps its key while it stays live).
        format!(
            "CREATE TRIGGER {} AFTER UPDATE OF {} ON {t} BEGIN \
             DELETE FROM {fts} WHERE rowid = {}; \
             DELETE FROM {keys} WHERE \"id\" = OLD.\"id\" AND NEW.\"deleted_at\" IS NOT NULL; \
             INSERT OR IGNORE INTO {keys}(\"id\") SELECT NEW.\"id\" WHERE NEW.\"deleted_at\" IS NULL; \
             INSERT INTO {into} SELECT \"n\", NEW.\"id\", {new_values} FROM {keys} \
             WHERE \"id\" = NEW.\"id\" AND NEW.\"deleted_at\" IS NULL; END",
            q(&trigger_name(table, "au")),
            watched.join(", "),
            key_of("OLD")
        ),
    ]
}

/// SQLite: fills the key table and the FTS5 table from the live records.
fn sqlite_fill(table: &str, fields: &[String]) -> Vec<String> {
    let fts = q(&search_name(table));
    let keys = q(&keys_name(table));
    let t = q(table);
    let fts_cols: Vec<String> = (0..fields.len()).map(fts_column).collect();
    let into = format!("{fts}(rowid, record_id, {})", fts_cols.join(", "));
    let stored: Vec<String> = fields.iter().map(|f| indexed(&format!("{t}.{}", q(f)))).collect();
    vec![
        format!("INSERT INTO {keys}(\"id\") SELECT \"id\" FROM {t} WHERE \"deleted_at\" IS NULL"),
        format!(
            "INSERT INTO {into} SELECT k.\"n\", {t}.\"id\", {} FROM {t} JOIN {keys} AS k ON k.\"id\" = {t}.\"id\" \
             WHERE {t}.\"deleted_at\" IS NULL",
            stored.join(", ")
        ),
    ]
}

/// SQLite: drops the triggers (of any format), the vocab table, the FTS5
/// table and its key table (derived: nothing is lost).
pub(crate) fn sqlite_drop(table: &str) -> Vec<String> {
    let mut out: Vec<String> = ["ai", "ad", "au"]
        .iter()
        .flat_map(|w| all_trigger_names(table, w))
        .map(|name| format!("DROP TRIGGER IF EXISTS {}", q(&name)))
        .collect();
    out.push(format!("DROP TABLE IF EXISTS {}", q(&vocab_name(table))));
    out.push(format!("DROP TABLE IF EXISTS {}", q(&search_name(table))));
    out.push(format!("DROP TABLE IF EXISTS {}", q(&keys_name(table))));
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
