//! The FTS5 statements of the search (SQLite). The index layout is in the
//! schema's `search` module: a `trigram` FTS5 table whose values end with a
//! sentinel, and an `fts5vocab` table (`col` kind) over its terms.
//!
//! Terms are matched by length:
//!
//! - **three characters or more**: a quoted FTS5 string (a phrase of
//!   trigrams), which the index answers;
//! - **two characters** (most Chinese names and cities): the trigrams of
//!   the index that start with the term, read from the vocab table (a
//!   seek to a range of the term list), OR-ed together. The sentinel makes
//!   this exact: every two-character substring of a value, its last two
//!   characters included, starts one of its trigrams. A term found in no
//!   trigram finds nothing, without a query; one that starts more than
//!   [`MAX_PAIR_TRIGRAMS`] trigrams (free text in many scripts could) falls
//!   back to LIKE, so an expression stays of bounded size;
//! - **one character**: LIKE over every field, a scan of the table.
//!
//! Ranking. Queries of long terms only keep `bm25` (display field weighted
//! double), as before. `bm25` needs every match and a sort, which for a
//! common two-character term (`上海` is in 1 contact of 20 on the demo
//! data) is the cost we are avoiding, and its idf of each OR-ed trigram
//! ranks by which character follows the term, which means little. So a
//! query with a two-character term ranks in two tiers, display-field hits
//! first: each tier is a MATCH read in index order and stopped at the
//! limit, and the tier of display hits is skipped outright when the vocab
//! says no trigram of a term is in the display column (the contact's name
//! never holds its city). Each tier keeps the first hits in index order
//! (roughly the order records were indexed), and those are sorted by
//! display value: a sort of at most twice the limit. On the `large` demo
//! data (BENCHMARKS.md) `上海` went from 1.1-1.6 s to 21-41 ms over every
//! searchable entity; the alternative of a LIKE scan without a sort stops
//! early for `上海` (10 ms for the contacts) but reads the whole table for a
//! rare term (1.4 s for `韩婷`, 401 contacts), where the trigrams take 5-22
//! ms. A LIKE-only query (one-character terms) has no order either, so a
//! common character stops at the limit rather than sorting the table; a
//! rare one is still a scan (the UI may refuse single characters).

use super::SearchQuery;
use crate::store::ed::schema::q;
use crate::store::ed::schema::search::{fts_column, search_name, vocab_name};

/// The most trigrams a two-character term is expanded into; beyond, the
/// term is matched with LIKE. The stock demo data has at most a few dozen
/// per term (`上海` starts 26 in the companies, 1 in the contacts).
pub const MAX_PAIR_TRIGRAMS: usize = 400;

/// The trigrams of the index a two-character term starts (from the vocab
/// table), all of them and those seen in the display field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairTrigrams {
    /// Trigrams in any field, in term order.
    pub any: Vec<String>,
    /// Trigrams in the display field (`c0`).
    pub display: Vec<String>,
}

impl PairTrigrams {
    /// From the `(term, column)` rows of the vocab table; `None` when the
    /// term starts too many trigrams (LIKE then).
    pub fn from_vocab(rows: &[(String, String)]) -> Option<PairTrigrams> {
        let mut out = PairTrigrams::default();
        let display = fts_column(0);
        for (term, col) in rows {
            if out.any.last() != Some(term) {
                out.any.push(term.clone());
            }
            if *col == display {
                out.display.push(term.clone());
            }
        }
        (out.any.len() <= MAX_PAIR_TRIGRAMS).then_some(out)
    }
}

/// How the terms of a query are matched on SQLite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fts5Terms {
    /// Quoted FTS5 strings (terms of three characters or more).
    phrases: Vec<String>,
    /// One `("abc" OR "abd")` group per two-character term, and the same
    /// over the display field's trigrams (`None` if a term has none there).
    pairs: Vec<String>,
    pairs_display: Option<Vec<String>>,
    /// LIKE patterns (one-character terms, and pairs with too many
    /// trigrams), escaped with `\`.
    likes: Vec<String>,
}

/// A quoted FTS5 string.
fn fts5_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// An FTS5 OR of the trigrams.
fn any_of(trigrams: &[String]) -> String {
    let all: Vec<String> = trigrams.iter().map(|t| fts5_string(t)).collect();
    format!("({})", all.join(" OR "))
}

/// A LIKE pattern finding `term` anywhere.
fn like_pattern(term: &str) -> String {
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl SearchQuery {
    /// The two-character terms, folded as the trigram tokenizer folds the
    /// indexed text (lower case), with the bounds of their trigrams in the
    /// term list (`term >= lo AND term <= hi`), in query order.
    pub fn sqlite_pairs(&self) -> Vec<(String, String)> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() == 2)
            .map(|t| {
                let folded = fold(t);
                let hi = format!("{folded}{}", char::MAX);
                (folded, hi)
            })
            .collect()
    }

    /// The FTS5 side of the query, given the trigrams of each pair (as
    /// [`SearchQuery::sqlite_pairs`] lists them); `None` when a pair is in
    /// no trigram (nothing can match).
    fn fts5(&self, pairs: &[Option<PairTrigrams>]) -> Option<Fts5Terms> {
        let mut out = Fts5Terms {
            pairs_display: Some(Vec::new()),
            ..Fts5Terms::default()
        };
        let mut pairs = pairs.iter();
        for t in &self.terms {
            match t.chars().count() {
                0 => {}
                1 => out.likes.push(like_pattern(t)),
                2 => match pairs.next() {
                    Some(Some(tri)) if tri.any.is_empty() => return None,
                    Some(Some(tri)) => {
                        out.pairs.push(any_of(&tri.any));
                        out.pairs_display = match (out.pairs_display, tri.display.is_empty()) {
                            (Some(mut d), false) => {
                                d.push(any_of(&tri.display));
                                Some(d)
                            }
                            _ => None,
                        };
                    }
                    // Too many trigrams, or (a caller's slip) not looked up.
                    _ => out.likes.push(like_pattern(t)),
                },
                _ => out.phrases.push(fts5_string(t)),
            }
        }
        Some(out)
    }
}

/// Lower case, as FTS5's `trigram` tokenizer folds (it folds one character
/// into one; the few characters whose lower case is longer stay).
fn fold(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// The vocab statement for one two-character term: `?1` and `?2` the
/// bounds from [`SearchQuery::sqlite_pairs`], `?3` the row limit. Rows
/// are `(term, column)`, in term order.
pub fn sqlite_vocab_sql(table: &str) -> String {
    format!(
        "SELECT term, col FROM {} WHERE term >= ?1 AND term <= ?2 LIMIT ?3",
        q(&vocab_name(table))
    )
}

/// The most vocab rows read for one term: every trigram once per field.
pub fn vocab_row_limit(n_fields: usize) -> i64 {
    i64::try_from((MAX_PAIR_TRIGRAMS + 1) * n_fields.max(1)).unwrap_or(i64::MAX)
}

/// The display value, without the sentinel the index appends (`rtrim`
/// rather than cutting one character: an index of the previous format,
/// which a start or release rebuilds, still shows whole values). `char(1)`
/// is the schema's `SENTINEL`.
const DISPLAY: &str = "rtrim(c0, char(1))";

/// The search statement and its bound values, the limit bound last (for
/// tests and EXPLAIN too); `None` when nothing can match. `pairs` are the
/// trigrams of [`SearchQuery::sqlite_pairs`], in order.
pub fn sqlite_sql(
    table: &str,
    n_fields: usize,
    query: &SearchQuery,
    pairs: &[Option<PairTrigrams>],
) -> Option<(String, Vec<String>)> {
    let fts = q(&search_name(table));
    let terms = query.fts5(pairs)?;
    let mut binds: Vec<String> = terms.likes.clone();
    // The LIKE terms, bound first (?1 ...), in every field.
    let likes: Vec<String> = (1..=terms.likes.len())
        .map(|n| {
            let any: Vec<String> = (0..n_fields)
                .map(|i| format!("{} LIKE ?{n} ESCAPE '\\'", fts_column(i)))
                .collect();
            format!("({})", any.join(" OR "))
        })
        .collect();
    let where_likes = |first: bool| -> String {
        match (likes.is_empty(), first) {
            (true, _) => String::new(),
            (false, true) => format!("WHERE {}", likes.join(" AND ")),
            (false, false) => format!(" AND {}", likes.join(" AND ")),
        }
    };
    // The limit is bound after the LIKE patterns and the MATCH texts.
    let matches = match (terms.pairs.is_empty(), &terms.pairs_display, terms.phrases.is_empty()) {
        (false, Some(_), _) => 2,
        (false, None, _) | (true, _, false) => 1,
        (true, _, true) => 0,
    };
    let limit = binds.len() + matches + 1;
    let mut bind = |text: String| {
        binds.push(text);
        binds.len()
    };
    let sql = if !terms.pairs.is_empty() {
        let all: Vec<String> = terms.phrases.iter().chain(&terms.pairs).cloned().collect();
        let all = all.join(" AND ");
        let tier = |n: usize, score: &str| {
            format!(
                "SELECT * FROM (SELECT record_id, {DISPLAY} AS display, {score} AS score FROM {fts} \
                 WHERE {fts} MATCH ?{n}{} LIMIT ?{limit})",
                where_likes(false)
            )
        };
        let tiers = match terms.pairs_display {
            Some(display) => {
                let display: Vec<String> = terms.phrases.iter().chain(&display).cloned().collect();
                let display = format!("{} : ({})", fts_column(0), display.join(" AND "));
                let others = format!("({all}) NOT ({display})");
                let first = tier(bind(display), "2.0");
                format!("{first} UNION ALL {}", tier(bind(others), "1.0"))
            }
            None => tier(bind(all), "1.0"),
        };
        format!("SELECT record_id, display, score FROM ({tiers}) ORDER BY score DESC, display LIMIT ?{limit}")
    } else if !terms.phrases.is_empty() {
        let n = bind(terms.phrases.join(" "));
        // bm25 weights: record_id (unindexed) 0, the display field counts double.
        let weights: Vec<&str> = std::iter::once("0.0")
            .chain((0..n_fields).map(|i| if i == 0 { "2.0" } else { "1.0" }))
            .collect();
        format!(
            "SELECT record_id, {DISPLAY} AS display, -bm25({fts}, {}) AS score FROM {fts} \
             WHERE {fts} MATCH ?{n}{} ORDER BY score DESC, display LIMIT ?{limit}",
            weights.join(", "),
            where_likes(false)
        )
    } else {
        // LIKE only: unranked, and unsorted so that the scan stops at the limit.
        format!(
            "SELECT record_id, {DISPLAY} AS display, 0.0 AS score FROM {fts} {} LIMIT ?{limit}",
            where_likes(true)
        )
    };
    debug_assert_eq!(binds.len() + 1, limit, "{sql}");
    Some((sql, binds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SearchQuery {
        SearchQuery::parse(s).unwrap_or_else(|| panic!("{s:?} parses"))
    }

    fn tri(any: &[&str], display: &[&str]) -> Option<PairTrigrams> {
        Some(PairTrigrams {
            any: any.iter().map(|s| s.to_string()).collect(),
            display: display.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn long_terms_are_quoted_and_single_characters_become_like() {
        let t = parse("acme \"NEAR( a 5% _").fts5(&[]).expect("terms");
        assert_eq!(t.phrases, ["\"acme\"", "\"\"\"NEAR(\""]);
        assert_eq!(t.likes, ["%a%", "%5\\%%", "%\\_%"]);
        assert!(t.pairs.is_empty());
    }

    #[test]
    fn pairs_are_folded_and_bounded() {
        assert_eq!(
            parse("上海 Li abc x").sqlite_pairs(),
            [
                ("上海".to_owned(), "上海\u{10FFFF}".to_owned()),
                ("li".to_owned(), "li\u{10FFFF}".to_owned())
            ]
        );
        assert_eq!(fold("ÄÖ İ"), "äö İ");
    }

    #[test]
    fn pairs_become_an_or_of_their_trigrams() {
        let q = parse("上海 \"x");
        let t = q.fts5(&[tri(&["上海\u{1}", "上海华"], &["上海华"]), tri(&["\"x\""], &[])]);
        let t = t.expect("terms");
        assert_eq!(t.pairs, ["(\"上海\u{1}\" OR \"上海华\")", "(\"\"\"x\"\"\")"]);
        assert_eq!(t.pairs_display, None, "the second pair is in no display value");
        assert_eq!(
            q.fts5(&[tri(&[], &[]), tri(&["\"x\""], &[])]),
            None,
            "a pair in no trigram"
        );
        let t = q.fts5(&[None, tri(&["\"x\""], &[])]).expect("terms");
        assert_eq!(t.likes, ["%上海%"], "too many trigrams: LIKE");
    }

    #[test]
    fn vocab_rows_give_the_trigrams() {
        let rows: Vec<(String, String)> = [("ab\u{1}", "c1"), ("abc", "c0"), ("abc", "c2"), ("abd", "c3")]
            .iter()
            .map(|(t, c)| (t.to_string(), c.to_string()))
            .collect();
        assert_eq!(
            PairTrigrams::from_vocab(&rows),
            tri(&["ab\u{1}", "abc", "abd"], &["abc"])
        );
        let many: Vec<(String, String)> = (0..=MAX_PAIR_TRIGRAMS)
            .map(|i| (format!("ab{i}"), "c1".to_owned()))
            .collect();
        assert_eq!(PairTrigrams::from_vocab(&many), None);
    }

    #[test]
    fn a_pair_query_ranks_in_two_tiers() {
        let q = parse("上海 acme x");
        let (sql, binds) = sqlite_sql("company", 2, &q, &[tri(&["上海市"], &["上海市"])]).expect("sql");
        assert_eq!(
            binds,
            [
                "%x%",
                "c0 : (\"acme\" AND (\"上海市\"))",
                "(\"acme\" AND (\"上海市\")) NOT (c0 : (\"acme\" AND (\"上海市\")))"
            ]
        );
        assert!(
            sql.contains("MATCH ?2 AND (c0 LIKE ?1 ESCAPE '\\' OR c1 LIKE ?1 ESCAPE '\\') LIMIT ?4"),
            "{sql}"
        );
        assert!(sql.contains("2.0 AS score"), "{sql}");
        assert!(sql.ends_with("ORDER BY score DESC, display LIMIT ?4"), "{sql}");
        assert!(!sql.contains("bm25"), "{sql}");

        // No display tier when a pair is in no display value.
        let (sql, binds) = sqlite_sql("company", 2, &parse("上海"), &[tri(&["上海市"], &[])]).expect("sql");
        assert_eq!(binds, ["(\"上海市\")"]);
        assert!(!sql.contains("UNION"), "{sql}");
    }

    #[test]
    fn long_terms_rank_by_bm25_and_like_only_stops_at_the_limit() {
        let (sql, binds) = sqlite_sql("company", 2, &parse("acme"), &[]).expect("sql");
        assert_eq!(binds, ["\"acme\""]);
        assert!(sql.contains("-bm25(\"_search_company\", 0.0, 2.0, 1.0)"), "{sql}");
        assert!(sql.contains("rtrim(c0, char(1)) AS display"), "{sql}");
        let (sql, binds) = sqlite_sql("company", 1, &parse("x"), &[]).expect("sql");
        assert_eq!(binds, ["%x%"]);
        assert!(!sql.contains("ORDER BY"), "{sql}");
        assert!(sql.ends_with("WHERE (c0 LIKE ?1 ESCAPE '\\') LIMIT ?2"), "{sql}");
    }
}
