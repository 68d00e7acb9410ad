//! Bringing archived data back: when an entity or field returns to the
//! model (a rollback, or promoting it again), the newest archive of that
//! name whose columns fit is renamed back instead of creating an empty
//! table or column. Pure: reads only the catalog.

use super::catalog::{Catalog, ColumnInfo, TableInfo};
use super::ddl;
use super::shape::Shape;
use crate::model::{EntityDef, FieldDef};
use crate::store::Backend;

/// The release and collision suffix of an archive of `base`: `name` is
/// `_r{release}_{base}` (suffix 1) or `_r{release}_{base}_{k}`.
pub(super) fn archived_as(name: &str, base: &str) -> Option<(i64, u32)> {
    let rest = name.strip_prefix("_r")?;
    let (digits, rest) = rest.split_once('_')?;
    let release: i64 = digits.parse().ok()?;
    let tail = rest.strip_prefix(base)?;
    match tail {
        "" => Some((release, 1)),
        _ => {
            let k: u32 = tail.strip_prefix('_')?.parse().ok()?;
            (k >= 2).then_some((release, k))
        }
    }
}

/// Whether a column's type in the catalog is the type `f` gets on `backend`.
fn same_type(column: &ColumnInfo, f: &FieldDef, backend: Backend) -> bool {
    let norm = |t: &str| {
        t.to_ascii_lowercase()
            .replace(' ', "")
            .replace("charactervarying", "varchar")
            .replace("timestampwithtimezone", "timestamptz")
    };
    norm(&column.sql_type) == norm(&Shape::of(f).sql_type(backend))
}

/// Whether an archived table can hold `e`'s records again: it has every
/// system column, each of `e`'s fields it has is of the field's type, and
/// every NOT NULL column is a system column or one of `e`'s fields (so new
/// records can be written).
fn table_fits(e: &EntityDef, info: &TableInfo, backend: Backend) -> bool {
    let system = ddl::system_columns(backend)
        .iter()
        .all(|c| info.column(&c.name).is_some());
    let fields = e
        .fields
        .iter()
        .all(|f| info.column(&f.name).is_none_or(|c| same_type(c, f, backend)));
    let writable = info
        .columns
        .iter()
        .filter(|c| c.not_null)
        .all(|c| ddl::is_system_column(&c.name) || e.fields.iter().any(|f| f.name == c.name));
    system && fields && writable
}

/// The newest archived table of `e` that fits, with its catalog entry.
pub(super) fn archived_table<'c>(catalog: &'c Catalog, e: &EntityDef) -> Option<(&'c str, &'c TableInfo)> {
    catalog
        .tables
        .iter()
        .filter_map(|(name, info)| archived_as(name, &e.name).map(|at| (at, name.as_str(), info)))
        .filter(|(_, _, info)| table_fits(e, info, catalog.backend))
        .max_by_key(|(at, _, _)| *at)
        .map(|(_, name, info)| (name, info))
}

/// The newest archived column of field `f` in `info` of `f`'s type.
pub(super) fn archived_column<'c>(info: &'c TableInfo, f: &FieldDef, backend: Backend) -> Option<&'c str> {
    info.columns
        .iter()
        .filter_map(|c| archived_as(&c.name, &f.name).map(|at| (at, c)))
        .filter(|(_, c)| same_type(c, f, backend))
        .max_by_key(|(at, _)| *at)
        .map(|(_, c)| c.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_are_parsed_with_release_and_suffix() {
        assert_eq!(archived_as("_r3_tender", "tender"), Some((3, 1)));
        assert_eq!(archived_as("_r12_tender_2", "tender"), Some((12, 2)));
        assert_eq!(archived_as("_r3_tenders", "tender"), None);
        assert_eq!(archived_as("_r3_tender_x", "tender"), None);
        assert_eq!(archived_as("_rx_tender", "tender"), None);
        assert_eq!(archived_as("tender", "tender"), None);
        assert_eq!(archived_as("_r3_tender_1", "tender"), None);
    }

    #[test]
    fn catalog_types_match_field_types_across_spellings() {
        let col = |t: &str| ColumnInfo {
            name: "x".into(),
            sql_type: t.into(),
            not_null: false,
        };
        let f: FieldDef = serde_json::from_value(
            serde_json::json!({"name": "x", "type": "text", "max_length": 80, "label": {"en": "X", "zh-CN": "某"}}),
        )
        .expect("a field");
        assert!(same_type(&col("character varying(80)"), &f, Backend::Postgres));
        assert!(!same_type(&col("character varying(40)"), &f, Backend::Postgres));
        assert!(same_type(&col("TEXT"), &f, Backend::Sqlite));
    }
}
