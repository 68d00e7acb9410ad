//! Writing an item back as YAML in one canonical form, so that saving an
//! unchanged item changes nothing and changing one value changes one line:
//!
//! - keys in the order of the kind's JSON Schema (`kind`, `version`, `name`, ...),
//!   keys the schema does not name after them, as they were;
//! - a mapping of plain values (`label: { en: Lead, zh-CN: 销售线索 }`) and a
//!   list of plain values (`columns: [topic, status]`) on one line;
//! - everything else in block style, two spaces per level;
//! - the comment lines at the top of the file are kept (other comments are not).

use serde_json::{Map, Value};

use super::shape::{classify, Shape, LANGUAGES};

/// The canonical YAML text of `item`, whose kind's schema is `root`;
/// `previous` is the file's text before, whose leading comments are kept.
pub fn to_yaml(root: &Value, item: &Value, previous: Option<&str>) -> String {
    let ordered = reorder(root, &classify(root, root).shape, item);
    let mut out = String::new();
    for line in previous.unwrap_or_default().lines() {
        if !(line.starts_with('#') || line.trim().is_empty()) {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    match &ordered {
        Value::Object(map) if !map.is_empty() => block_map(map, 0, &mut out),
        other => {
            out.push_str(&flow(other));
            out.push('\n');
        }
    }
    out
}

/// `value` with the keys of its objects in schema order.
fn reorder(root: &Value, shape: &Shape, value: &Value) -> Value {
    match (shape, value) {
        (Shape::Object(props), Value::Object(map)) => {
            let mut out = Map::new();
            for p in props {
                if let Some(v) = map.get(&p.key) {
                    out.insert(p.key.clone(), reorder(root, &classify(root, &p.schema).shape, v));
                }
            }
            for (k, v) in map {
                if !out.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        (Shape::Labels, Value::Object(map)) => {
            let mut out = Map::new();
            for lang in LANGUAGES {
                if let Some(v) = map.get(lang) {
                    out.insert(lang.to_owned(), v.clone());
                }
            }
            for (k, v) in map {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
            Value::Object(out)
        }
        (Shape::Rows(item), Value::Array(rows)) => Value::Array(rows.iter().map(|r| reorder(root, item, r)).collect()),
        _ => value.clone(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Whether `v` is written on one line: a scalar, an empty collection, or a
/// collection of scalars.
fn one_line(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(is_scalar),
        Value::Object(m) => m.values().all(is_scalar),
        _ => true,
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn block_map(map: &Map<String, Value>, at: usize, out: &mut String) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, at);
        }
        out.push_str(&scalar(&Value::String(k.clone()), false));
        out.push(':');
        entry_value(v, at, out);
    }
}

/// The value of a `key:` (the key is written), at indentation `at`.
fn entry_value(v: &Value, at: usize, out: &mut String) {
    if one_line(v) {
        out.push(' ');
        out.push_str(&flow(v));
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Value::Object(m) => {
            indent(out, at + 2);
            block_map(m, at + 2, out);
        }
        Value::Array(a) => block_seq(a, at + 2, out),
        _ => {}
    }
}

fn block_seq(items: &[Value], at: usize, out: &mut String) {
    for v in items {
        indent(out, at);
        out.push_str("- ");
        match v {
            Value::Object(m) if !one_line(v) => block_map(m, at + 2, out),
            _ => {
                out.push_str(&flow(v));
                out.push('\n');
            }
        }
    }
}

/// `v` in flow style: `{ a: 1, b: [x, y] }`.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(&Value::String(k.clone()), true), flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        other => scalar(other, true),
    }
}

/// A scalar as YAML: plain when YAML reads it back as the same string,
/// else quoted (serde_yaml_ng decides); in flow context (`in_flow`) a plain
/// string holding `,[]{}` is double-quoted, and so is any multi-line string.
fn scalar(v: &Value, in_flow: bool) -> String {
    let Value::String(s) = v else {
        return v.to_string();
    };
    let json_quoted = || Value::String(s.clone()).to_string();
    let Ok(text) = serde_yaml_ng::to_string(s) else {
        return json_quoted();
    };
    let text = text.trim_end_matches('\n');
    let plain = !text.starts_with(['\'', '"']);
    if text.contains('\n') || (in_flow && plain && s.contains([',', '[', ']', '{', '}'])) {
        return json_quoted();
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_plain_lists_stay_on_one_line_in_schema_order() {
        let root = relata::model::kind_schema("list").unwrap_or_default();
        let item = json!({"version": 1, "name": "lead", "kind": "list", "entity": "lead",
            "label": {"zh-CN": "线索", "en": "Leads, all"}, "columns": ["topic", "city"]});
        let text = to_yaml(&root, &item, Some("# a comment\n\nversion: 1\n"));
        assert_eq!(
            text,
            "# a comment\n\nkind: list\nversion: 1\nname: lead\nentity: lead\nlabel: { en: \"Leads, all\", zh-CN: 线索 }\ncolumns: [topic, city]\n"
        );
    }

    #[test]
    fn strings_yaml_would_misread_are_quoted() {
        for s in ["true", "1", "null", "a: b", "- x", "#x", "", "two\nlines", "{x}", "'q'"] {
            let v = Value::String(s.into());
            for in_flow in [false, true] {
                let text = format!("k: {}\n", scalar(&v, in_flow));
                let back: Value = serde_yaml_ng::from_str(&text).unwrap_or_default();
                assert_eq!(back["k"], v, "{s:?} in flow {in_flow}: {text}");
            }
        }
    }
}

#[cfg(test)]
mod stock {
    use super::to_yaml;
    use serde_json::Value;

    /// Every stock item survives the canonical form (same value read back),
    /// and the canonical form of a canonical file is the file itself.
    #[test]
    fn stock_items_round_trip_and_the_canonical_form_is_a_fixed_point() -> anyhow::Result<()> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata");
        let files = relata::model::read_dir(&dir)?;
        assert!(files.len() > 50);
        for f in files {
            let value: Value = serde_yaml_ng::from_str(&f.text)?;
            let kind = value["kind"].as_str().unwrap_or_default();
            let root = relata::model::kind_schema(kind).unwrap_or_default();
            let once = to_yaml(&root, &value, Some(&f.text));
            let back: Value = serde_yaml_ng::from_str(&once)?;
            assert_eq!(back, value, "{}:\n{once}", f.path);
            assert_eq!(to_yaml(&root, &back, Some(&once)), once, "{}", f.path);
        }
        Ok(())
    }
}
