//! The global search over the search structures the schema builder makes
//! (see [`super::schema`]'s `search` module): FTS5 on SQLite, a `tsvector`
//! column with a GIN index on PostgreSQL.
//!
//! What users type is never passed to the backend's query language as it
//! is: it is cut into whitespace-separated terms, and every term is quoted
//! (FTS5 strings, tsquery lexemes), so `"`, `*`, `NEAR(`, `OR` or `-x` are
//! searched for as text and cannot make a query fail. Every term must match
//! (AND). The text itself is always a bound parameter. How terms of one
//! and two characters are found on SQLite, below the trigram index's
//! three, is told in the `sqlite` module.

use sqlx::Row;

use super::schema::q;
use super::schema::search::PG_COLUMN;
use crate::store::{Pool, StoreError};

mod sqlite;

pub use sqlite::{sqlite_sql, sqlite_vocab_sql, vocab_row_limit, PairTrigrams, MAX_PAIR_TRIGRAMS};

/// Longest query text used, in characters; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most terms used; the rest are ignored.
pub const MAX_TERMS: usize = 8;

/// A search text cut into terms, ready for either backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<String>,
}

impl SearchQuery {
    /// Parses what a user typed; `None` when nothing searchable is left
    /// (empty, only whitespace or control characters).
    pub fn parse(text: &str) -> Option<SearchQuery> {
        // Control characters (NUL above all, which PostgreSQL refuses in
        // text) become spaces; length is bounded before anything else.
        let cleaned: String = text
            .chars()
            .take(MAX_QUERY_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let terms: Vec<String> = cleaned.split_whitespace().take(MAX_TERMS).map(str::to_owned).collect();
        (!terms.is_empty()).then_some(SearchQuery { terms })
    }

    /// The terms.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// PostgreSQL: a `to_tsquery` text. Each term is split like the indexed
    /// text (a space around every CJK character); its parts are quoted
    /// lexemes joined by `<->` (adjacent), latin parts as prefixes (`:*`,
    /// type-as-you-go), CJK characters exact; terms are joined by `&`.
    pub fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                let mut parts: Vec<String> = Vec::new();
                let mut word = String::new();
                for c in t.chars() {
                    if is_cjk(c) {
                        if !word.is_empty() {
                            parts.push(lexeme(&std::mem::take(&mut word), true));
                        }
                        parts.push(lexeme(&c.to_string(), false));
                    } else {
                        word.push(c);
                    }
                }
                if !word.is_empty() {
                    parts.push(lexeme(&word, true));
                }
                format!("({})", parts.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// A quoted tsquery lexeme (`'it''s':*`). `to_tsquery` runs it through the
/// parser, so punctuation inside splits it into adjacent words, and a part
/// with no word in it is dropped (with a notice) rather than failing.
fn lexeme(text: &str, prefix: bool) -> String {
    let quoted = text.replace('\\', "\\\\").replace('\'', "''");
    if prefix {
        format!("'{quoted}':*")
    } else {
        format!("'{quoted}'")
    }
}

/// The characters the PostgreSQL column makes one word each; keep in step
/// with `PG_CJK_CLASS`.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// One record found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The record id.
    pub id: String,
    /// The display field's value.
    pub display: Option<String>,
    /// Relevance within its entity: higher is better (bm25 / ts_rank).
    pub score: f64,
}

/// Searches the live records of one searchable entity, best first, at most
/// `limit`. `fields` are the entity's search fields, display field first.
pub async fn search_entity(
    pool: &Pool,
    table: &str,
    fields: &[&str],
    query: &SearchQuery,
    limit: u32,
) -> Result<Vec<SearchHit>, StoreError> {
    match pool {
        Pool::Sqlite(p) => search_sqlite(p, table, fields.len(), query, limit).await,
        Pool::Postgres(p) => search_pg(p, table, fields, query, limit).await,
    }
}

async fn search_sqlite(
    pool: &sqlx::SqlitePool,
    table: &str,
    n_fields: usize,
    query: &SearchQuery,
    limit: u32,
) -> Result<Vec<SearchHit>, StoreError> {
    // The trigrams of each two-character term, from the vocab table.
    let mut pairs = Vec::new();
    for (lo, hi) in query.sqlite_pairs() {
        let rows: Vec<(String, String)> = sqlx::query_as(&sqlite_vocab_sql(table))
            .bind(lo)
            .bind(hi)
            .bind(vocab_row_limit(n_fields))
            .fetch_all(pool)
            .await?;
        let found = PairTrigrams::from_vocab(&rows);
        if found.as_ref().is_some_and(|t| t.any.is_empty()) {
            return Ok(Vec::new()); // A term no record holds.
        }
        pairs.push(found);
    }
    let Some((sql, binds)) = sqlite_sql(table, n_fields, query, &pairs) else {
        return Ok(Vec::new());
    };
    let mut stmt = sqlx::query(&sql);
    for b in binds {
        stmt = stmt.bind(b);
    }
    let rows = stmt.bind(i64::from(limit)).fetch_all(pool).await?;
    hits(&rows)
}

/// The hits of rows of `(id, display, score)`, on either backend.
fn hits<R: Row>(rows: &[R]) -> Result<Vec<SearchHit>, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            Ok(SearchHit {
                id: r.try_get(0)?,
                display: r.try_get(1)?,
                score: r.try_get(2)?,
            })
        })
        .collect()
}

/// The PostgreSQL statement (`$1` the tsquery text, `$2` the limit).
pub fn pg_sql(table: &str, fields: &[&str]) -> String {
    let display = fields.first().copied().unwrap_or("id");
    let v = q(PG_COLUMN);
    format!(
        "SELECT \"id\"::text, {d}::text, ts_rank({v}, to_tsquery('simple', $1))::float8 AS score \
         FROM {t} WHERE \"deleted_at\" IS NULL AND {v} @@ to_tsquery('simple', $1) \
         ORDER BY score DESC, {d} LIMIT $2",
        d = q(display),
        t = q(table),
    )
}

async fn search_pg(
    pool: &sqlx::PgPool,
    table: &str,
    fields: &[&str],
    query: &SearchQuery,
    limit: u32,
) -> Result<Vec<SearchHit>, StoreError> {
    let rows = sqlx::query(&pg_sql(table, fields))
        .bind(query.tsquery())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    hits(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SearchQuery {
        SearchQuery::parse(s).unwrap_or_else(|| panic!("{s:?} parses"))
    }

    #[test]
    fn empty_and_blank_queries_search_nothing() {
        assert_eq!(SearchQuery::parse(""), None);
        assert_eq!(SearchQuery::parse(" \t\n\u{0}"), None);
    }

    #[test]
    fn tsquery_quotes_lexemes_and_splits_cjk() {
        assert_eq!(parse("acm").tsquery(), "('acm':*)");
        assert_eq!(parse("上海贸易").tsquery(), "('上' <-> '海' <-> '贸' <-> '易')");
        assert_eq!(parse("it's x上").tsquery(), "('it''s':*) & ('x':* <-> '上')");
        assert_eq!(parse("a\\b").tsquery(), "('a\\\\b':*)");
    }

    #[test]
    fn long_queries_are_bounded() {
        let q = parse(&"word ".repeat(500));
        assert_eq!(q.terms().len(), MAX_TERMS);
        assert_eq!(parse(&"x".repeat(500)).terms()[0].len(), MAX_QUERY_CHARS);
    }
}
