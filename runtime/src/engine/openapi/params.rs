//! The query parameters of the record API in the OpenAPI document. Each
//! states the grammar the server reads (the entity's own column names,
//! comma-separated), so that a request the document allows is one the
//! server answers, and one it forbids is one the server refuses.

use serde_json::{json, Value};

use crate::engine::compiled::CompiledEntity;
#[cfg(test)]
use crate::engine::query::list_names;
use crate::engine::query::{MAX_FIELDS, MAX_SORT_KEYS, SORT_REFUSED};
use crate::model::FieldType;

/// The names an entity's list and read parameters may use.
pub(super) struct Names {
    /// `sort=`: stored columns but long texts and multi-picklists.
    sortable: Vec<String>,
    /// `fields=`: every column, attachment and virtual field.
    selectable: Vec<String>,
    /// `expand=`: the reference fields.
    references: Vec<String>,
}

impl Names {
    /// The names of `e`.
    pub(super) fn of(e: &CompiledEntity) -> Names {
        let columns = e.table.columns().iter().map(|c| c.name.clone());
        let sortable = columns
            .clone()
            .filter(|c| e.field(c).is_none_or(|(_, f)| !SORT_REFUSED.contains(&f.field_type)))
            .collect();
        let selectable = columns
            .chain(e.attachments.iter().map(|f| f.name.clone()))
            .chain(e.virtuals.iter().map(|f| f.name.clone()))
            .collect();
        let references = e
            .def
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Reference)
            .map(|f| f.name.clone())
            .collect();
        Names {
            sortable,
            selectable,
            references,
        }
    }
}

/// A regular expression for a list of `names` as `query::list_names`
/// reads it: empty, or at most `max` names joined by single commas, each
/// after an optional `sign`.
fn list_pattern(names: &[String], sign: &str, max: usize) -> String {
    if names.is_empty() {
        return "^$".into();
    }
    let one = format!("{sign}({})", names.join("|"));
    format!("^({one}(,{one}){{0,{}}})?$", max.saturating_sub(1))
}

fn names_param(name: &str, names: &[String], sign: &str, description: &str) -> Value {
    let max = if name == "sort" { MAX_SORT_KEYS } else { MAX_FIELDS };
    json!({"name": name, "in": "query", "required": false,
           "schema": {"type": "string", "pattern": list_pattern(names, sign, max)},
           "description": format!("{description} (at most {max})")})
}

/// `fields=` and `expand=` of a read.
pub(super) fn read_parameters(n: &Names) -> Vec<Value> {
    vec![
        names_param(
            "fields",
            &n.selectable,
            "",
            "Comma-separated fields to return (id and row_version always are)",
        ),
        names_param(
            "expand",
            &n.references,
            "",
            "Comma-separated reference fields to expand one level",
        ),
    ]
}

/// The parameters of a list: sort, paging, projection, count, filters.
pub(super) fn list_parameters(n: &Names, count_cap: u64, max_page: u64) -> Value {
    let mut params = vec![
        names_param(
            "sort",
            &n.sortable,
            "-?",
            "Comma-separated fields; prefix with - for descending",
        ),
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": max_page}}),
        json!({"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
               "description": "next_cursor of the previous page (empty: the first page)"}),
    ];
    params.extend(read_parameters(n));
    params.push(json!({"name": "total", "in": "query",
        "schema": {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": [""]},
                             {"type": "integer", "minimum": 0, "maximum": count_cap}]},
        "description": format!("Also count the matches: true (or empty) up to {count_cap}, a number to stop there, false (or 0) not at all")}));
    Value::Array(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern accepts exactly what the server's reader does.
    #[test]
    fn the_pattern_is_the_readers_grammar() {
        let names = vec!["name".to_owned(), "city".to_owned()];
        let re = regex::Regex::new(&list_pattern(&names, "-?", MAX_SORT_KEYS)).expect("a regex");
        let known = |n: &str| names.iter().any(|x| x == n);
        for text in [
            "",
            "name",
            "-name,city",
            "name,,city",
            " name",
            "name,",
            "nope",
            "+name",
            "-",
            "name,-city,name",
        ] {
            let server = list_names("sort", text)
                .is_ok_and(|parts| parts.iter().all(|p| known(p.strip_prefix('-').unwrap_or(p))));
            assert_eq!(re.is_match(text), server, "`{text}`");
        }
    }
}
