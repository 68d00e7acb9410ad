//! Identifiers: the only strings that ever become SQL names.

use std::fmt;

/// Words an entity or field may not be called: SQL keywords that are reserved
/// on either backend, Relata's system columns, and the record API's query
/// parameters (a field called `sort` could not be filtered on).
pub const RESERVED_WORDS: &[&str] = &[
    // system columns
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "owner_id",
    "row_version",
    "deleted_at",
    // record API query parameters
    "sort",
    "limit",
    "cursor",
    "fields",
    "expand",
    "total",
    "filter",
    "q",
    // SQL keywords reserved by PostgreSQL or SQLite
    "all",
    "alter",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "returning",
    "right",
    "rowid",
    "select",
    "session_user",
    "set",
    "some",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentError {
    /// It does not match `^[a-z][a-z0-9_]{0,62}$`.
    Pattern,
    /// It is one of [`RESERVED_WORDS`] or starts with the system prefix `relata_`.
    Reserved,
}

impl fmt::Display for IdentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentError::Pattern => f.write_str(
                "must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)",
            ),
            IdentError::Reserved => f.write_str("is a reserved word"),
        }
    }
}

/// Checks `s` against `^[a-z][a-z0-9_]{0,62}$` and the reserved words.
pub fn check_ident(s: &str) -> Result<(), IdentError> {
    let bytes = s.as_bytes();
    let pattern_ok = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if !pattern_ok {
        return Err(IdentError::Pattern);
    }
    if RESERVED_WORDS.contains(&s) || s.starts_with("relata_") {
        return Err(IdentError::Reserved);
    }
    Ok(())
}

/// Checks a pick-list code: the identifier pattern, without the reserved
/// words. Codes are data values, bound as parameters or quoted as string
/// literals, never SQL names, so `order` or `full` are fine codes.
pub fn check_code(s: &str) -> Result<(), IdentError> {
    match check_ident(s) {
        Err(IdentError::Reserved) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_may_be_reserved_words_but_keep_the_pattern() {
        for code in ["order", "full", "group", "select", "id", "relata_x", "won"] {
            assert_eq!(check_code(code), Ok(()), "{code}");
        }
        assert_eq!(check_code("Order"), Err(IdentError::Pattern));
        assert_eq!(check_code(""), Err(IdentError::Pattern));
    }

    #[test]
    fn accepts_snake_case_and_refuses_the_rest() {
        assert_eq!(check_ident("company_name2"), Ok(()));
        assert_eq!(check_ident(&"a".repeat(63)), Ok(()));
        assert_eq!(check_ident(&"a".repeat(64)), Err(IdentError::Pattern));
        assert_eq!(check_ident("Company"), Err(IdentError::Pattern));
        assert_eq!(check_ident("2fa"), Err(IdentError::Pattern));
        assert_eq!(check_ident("_x"), Err(IdentError::Pattern));
        assert_eq!(check_ident("a-b"), Err(IdentError::Pattern));
        assert_eq!(check_ident(""), Err(IdentError::Pattern));
        assert_eq!(check_ident("select"), Err(IdentError::Reserved));
        assert_eq!(check_ident("row_version"), Err(IdentError::Reserved));
        assert_eq!(check_ident("relata_users"), Err(IdentError::Reserved));
    }
}
