//! The editing form of an item, built from its kind's JSON Schema: a tree
//! of widgets the templates render, every input named by the JSON pointer of
//! its value; and the structural edits (add, remove, move a row; add or
//! remove an optional part) applied to the item as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shape::{classify, empty_value, shape_at, Shape, Typed};
use super::EditorError;

/// One widget of the form. One struct for every widget, so the templates
/// see the same fields everywhere.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Widget {
    /// `group`, `rows`, `labels`, `input`, `const` or `absent` (an optional
    /// part not there: an "add" button).
    pub widget: &'static str,
    /// The JSON pointer of the value.
    pub ptr: String,
    /// The property's key, as shown (`max length`).
    pub label: String,
    /// The schema's description.
    pub help: String,
    /// An empty input removes the value.
    pub optional: bool,
    /// An optional part that is there: it gets a "remove" button.
    pub removable: bool,
    /// For `input`: `text`, `integer`, `number`, `checkbox`, `select`,
    /// `list` (comma-separated) or `json`.
    pub input: &'static str,
    /// The value as text (inputs, constants).
    pub value: String,
    /// A checkbox's state.
    pub checked: bool,
    /// Whether the value is present in the item (checkboxes: absent stays absent).
    pub present: bool,
    /// A select's choices.
    pub options: Vec<String>,
    /// The English text of `labels`.
    pub en: String,
    /// The Chinese text of `labels`.
    pub zh: String,
    /// The widgets inside a group, or the rows (groups) of `rows`.
    pub children: Vec<Widget>,
    /// A row's title.
    pub title: String,
    /// A row's position, and whether it is the last (for up/down buttons).
    pub index: usize,
    /// Whether it is the last row.
    pub last: bool,
}

/// A structural edit of an item.
#[derive(Debug, Clone, Deserialize)]
pub struct Op {
    /// `add`, `remove`, `up` or `down`.
    pub op: String,
    /// Where: the rows to add to, the optional part to add or remove, the row to move or remove.
    pub ptr: String,
}

/// The form of `item`, an item of the kind whose schema is `root`.
pub fn build(root: &Value, item: &Value) -> Widget {
    let t = classify(root, root);
    widget(root, &t, "", String::new(), Some(item), true)
}

fn humane(key: &str) -> String {
    key.replace('_', " ")
}

fn widget(root: &Value, t: &Typed, key: &str, ptr: String, value: Option<&Value>, required: bool) -> Widget {
    let value = value.filter(|v| !v.is_null());
    let optional = !required || t.nullable;
    let base = Widget {
        ptr: ptr.clone(),
        label: humane(key),
        help: t.description.clone(),
        optional,
        present: value.is_some(),
        ..Widget::default()
    };
    let container = matches!(t.shape, Shape::Labels | Shape::Object(_));
    if container && value.is_none() && optional {
        return Widget {
            widget: "absent",
            ..base
        };
    }
    let removable = container && optional;
    match &t.shape {
        Shape::Const(c) => Widget {
            widget: "const",
            value: text(Some(c)),
            ..base
        },
        Shape::Labels => Widget {
            widget: "labels",
            removable,
            en: text(value.and_then(|v| v.get("en"))),
            zh: text(value.and_then(|v| v.get("zh-CN"))),
            ..base
        },
        Shape::Object(props) => {
            let children = props
                .iter()
                .map(|p| {
                    let child = value.and_then(|v| v.get(&p.key));
                    let pt = classify(root, &p.schema);
                    widget(
                        root,
                        &pt,
                        &p.key,
                        format!("{ptr}/{}", escape(&p.key)),
                        child,
                        p.required,
                    )
                })
                .collect();
            Widget {
                widget: "group",
                removable,
                children,
                ..base
            }
        }
        Shape::Rows(item) => rows(root, item, base, value),
        shape => input(shape, base, value),
    }
}

fn rows(root: &Value, item: &Shape, base: Widget, value: Option<&Value>) -> Widget {
    let list = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let t = Typed {
        shape: item.clone(),
        nullable: false,
        description: String::new(),
    };
    let children = list
        .iter()
        .enumerate()
        .map(|(i, row)| Widget {
            title: row_title(row).unwrap_or_else(|| format!("#{}", i + 1)),
            index: i,
            last: i + 1 == list.len(),
            ..widget(root, &t, "", format!("{}/{i}", base.ptr), Some(row), true)
        })
        .collect();
    Widget {
        widget: "rows",
        children,
        ..base
    }
}

fn row_title(row: &Value) -> Option<String> {
    ["name", "field", "code", "entity", "list", "command", "function"]
        .iter()
        .find_map(|k| row.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

fn input(shape: &Shape, base: Widget, value: Option<&Value>) -> Widget {
    let (input, options) = match shape {
        Shape::Enum(values) => ("select", values.clone()),
        Shape::Integer => ("integer", Vec::new()),
        Shape::Number => ("number", Vec::new()),
        Shape::Boolean => ("checkbox", Vec::new()),
        Shape::Text => ("text", Vec::new()),
        Shape::List(_) => ("list", Vec::new()),
        _ => ("json", Vec::new()),
    };
    let shown = match (input, value) {
        ("list", Some(Value::Array(a))) => a.iter().map(|v| text(Some(v))).collect::<Vec<_>>().join(", "),
        ("json", Some(v)) => serde_json::to_string(v).unwrap_or_default(),
        (_, v) => text(v),
    };
    Widget {
        widget: "input",
        input,
        options,
        checked: value == Some(&Value::Bool(true)),
        value: shown,
        ..base
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// Applies a structural edit to `item`.
pub fn apply(root: &Value, item: &mut Value, op: &Op) -> Result<(), EditorError> {
    let bad = || EditorError::BadItem(format!("cannot {} at `{}`", op.op, op.ptr));
    let (parent_ptr, last) = op.ptr.rsplit_once('/').ok_or_else(bad)?;
    let last = unescape(last);
    let typed = shape_at(root, &op.ptr).ok_or_else(bad)?;
    let parent = item.pointer_mut(parent_ptr).ok_or_else(bad)?;
    match (op.op.as_str(), parent) {
        ("add", Value::Object(map)) => match &typed.shape {
            Shape::Rows(row) => {
                let list = map.entry(last).or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(list) = list else { return Err(bad()) };
                list.push(empty_value(root, row));
            }
            Shape::Labels | Shape::Object(_) => {
                map.insert(last, empty_value(root, &typed.shape));
            }
            _ => return Err(bad()),
        },
        ("remove", Value::Object(map)) => {
            map.shift_remove(&last).ok_or_else(bad)?;
        }
        (op_name, Value::Array(list)) => {
            let i: usize = last.parse().map_err(|_| bad())?;
            if i >= list.len() {
                return Err(bad());
            }
            match op_name {
                "remove" => {
                    list.remove(i);
                }
                "up" if i > 0 => list.swap(i, i - 1),
                "down" if i + 1 < list.len() => list.swap(i, i + 1),
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity() -> Value {
        relata::model::kind_schema("entity").unwrap_or_default()
    }

    fn find<'a>(w: &'a Widget, ptr: &str) -> Option<&'a Widget> {
        if w.ptr == ptr {
            return Some(w);
        }
        w.children.iter().find_map(|c| find(c, ptr))
    }

    #[test]
    fn every_value_gets_an_input_named_by_its_pointer() {
        let item = json!({"kind": "entity", "version": 1, "name": "x", "label": {"en": "X", "zh-CN": "叉"},
            "fields": [{"name": "a", "type": "text", "label": {"en": "A", "zh-CN": "甲"}, "required": true}]});
        let form = build(&entity(), &item);
        let at = |p: &str| find(&form, p).map(|w| (w.widget, w.input, w.value.clone()));
        assert_eq!(at("/kind"), Some(("const", "", "entity".into())));
        assert_eq!(at("/fields/0/type"), Some(("input", "select", "text".into())));
        assert_eq!(at("/fields/0/max_length"), Some(("input", "integer", String::new())));
        assert_eq!(at("/description").map(|w| w.0), Some("absent"));
        assert_eq!(at("/fields/0/help").map(|w| w.0), Some("absent"));
        assert_eq!(find(&form, "/fields/0").map(|w| w.title.as_str()), Some("a"));
        assert_eq!(find(&form, "/label").map(|w| w.zh.as_str()), Some("叉"));
        assert!(find(&form, "/fields/0/required").is_some_and(|w| w.checked));
    }

    #[test]
    fn rows_are_added_moved_and_removed() -> Result<(), EditorError> {
        let root = entity();
        let mut item = json!({"kind": "entity", "name": "x", "fields": []});
        let op = |op: &str, ptr: &str| Op {
            op: op.into(),
            ptr: ptr.into(),
        };
        apply(&root, &mut item, &op("add", "/fields"))?;
        apply(&root, &mut item, &op("add", "/fields"))?;
        item["fields"][1]["name"] = json!("b");
        apply(&root, &mut item, &op("up", "/fields/1"))?;
        assert_eq!(item["fields"][0]["name"], "b");
        assert_eq!(item["fields"][1]["type"], "text");
        apply(&root, &mut item, &op("add", "/fields/0/help"))?;
        assert_eq!(item["fields"][0]["help"], json!({"en": "", "zh-CN": ""}));
        apply(&root, &mut item, &op("remove", "/fields/0"))?;
        assert_eq!(item["fields"].as_array().map(Vec::len), Some(1));
        apply(&root, &mut item, &op("add", "/indexes"))?;
        assert_eq!(item["indexes"], json!([{"fields": []}]));
        for (o, p) in [
            ("up", "/fields/0"),
            ("remove", "/fields/9"),
            ("add", "/nope"),
            ("add", "/name"),
            ("x", "/fields/0"),
        ] {
            assert!(apply(&root, &mut item, &op(o, p)).is_err(), "{o} {p}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod stock {
    use super::{build, Widget};
    use serde_json::Value;

    fn leaves(v: &Value, ptr: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, c) in m {
                    leaves(c, format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1")), out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for (i, c) in a.iter().enumerate() {
                    leaves(c, format!("{ptr}/{i}"), out);
                }
            }
            _ => out.push(ptr),
        }
    }

    /// The pointers an input edits exactly, and those it edits whole (a
    /// comma-separated list, JSON, a text in both languages).
    fn inputs(w: &Widget, exact: &mut Vec<String>, whole: &mut Vec<String>) {
        match (w.widget, w.input) {
            ("input", "list" | "json") | ("labels", _) => whole.push(w.ptr.clone()),
            ("input", _) | ("const", _) => exact.push(w.ptr.clone()),
            _ => {}
        }
        for c in &w.children {
            inputs(c, exact, whole);
        }
    }

    /// Every value of every stock item (every kind, every field type and
    /// option the stock application uses) has an input in the editor.
    #[test]
    fn every_value_of_every_stock_item_has_an_input() -> anyhow::Result<()> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata");
        for f in relata::model::read_dir(&dir)? {
            let value: Value = serde_yaml_ng::from_str(&f.text)?;
            let root = relata::model::kind_schema(value["kind"].as_str().unwrap_or_default()).unwrap_or_default();
            let (mut exact, mut whole) = (Vec::new(), Vec::new());
            inputs(&build(&root, &value), &mut exact, &mut whole);
            let mut all = Vec::new();
            leaves(&value, String::new(), &mut all);
            for leaf in all {
                let covered =
                    exact.contains(&leaf) || whole.iter().any(|w| leaf == *w || leaf.starts_with(&format!("{w}/")));
                assert!(covered, "{}: no input for {leaf}", f.path);
            }
        }
        Ok(())
    }
}
