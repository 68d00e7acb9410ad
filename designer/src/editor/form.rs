//! The editing form of an item, built from its kind's JSON Schema: a tree
//! of widgets the templates render, every input named by the JSON pointer of
//! its value; and the structural edits (add, remove, move a row; add or
//! remove an optional part) applied to the item as JSON.

use std::collections::BTreeMap;

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
    /// A checkbox's state: its value, or the schema's default when absent.
    pub checked: bool,
    /// A checkbox's default (what leaving the value out means).
    pub default_checked: bool,
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
    /// A row shown unfolded.
    pub open: bool,
}

/// A structural edit of an item.
#[derive(Debug, Clone, Deserialize)]
pub struct Op {
    /// `add`, `remove`, `up` or `down`.
    pub op: String,
    /// Where: the rows to add to, the optional part to add or remove, the row to move or remove.
    pub ptr: String,
}

/// What the form shows besides the item: the rows the analyst has unfolded,
/// and the names of the workspace's items, offered where a property names one.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The pointers of the rows shown unfolded.
    pub open: Vec<String>,
    /// Item names by kind (`entity`, `picklist`, `list`).
    pub names: BTreeMap<String, Vec<String>>,
}

/// Properties whose text names another item of the workspace: the kind of
/// item edited (`*`: any), the key, and the kind of item named. Their input
/// is a choice of the workspace's names. (A demo's `list` names a word list.)
const NAMES_AN_ITEM: [(&str, &str, &str); 4] = [
    ("*", "target", "entity"),
    ("*", "entity", "entity"),
    ("entity", "picklist", "picklist"),
    ("module", "list", "list"),
];

/// The key of the schema extension that lists the field types a field
/// option applies to (see `relata::model::FieldType::takes`).
const FIELD_TYPES: &str = "x-field-types";

/// The form of `item`, an item of the kind whose schema is `root`.
pub fn build(root: &Value, item: &Value, view: &View) -> Widget {
    let t = classify(root, root);
    let kind = root
        .pointer("/properties/kind/const")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Builder { root, view, kind }.widget(&t, "", String::new(), Some(item), true)
}

fn humane(key: &str) -> String {
    key.replace('_', " ")
}

struct Builder<'a> {
    root: &'a Value,
    view: &'a View,
    /// The kind of item edited.
    kind: &'a str,
}

impl Builder<'_> {
    fn widget(&self, t: &Typed, key: &str, ptr: String, value: Option<&Value>, required: bool) -> Widget {
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
            Shape::Object(props) => Widget {
                widget: "group",
                removable,
                children: self.members(props, &ptr, value),
                ..base
            },
            Shape::Rows(item) => self.rows(item, base, value),
            Shape::Text => match NAMES_AN_ITEM
                .iter()
                .find(|(of, k, _)| *k == key && (*of == "*" || *of == self.kind))
            {
                Some((_, _, kind)) => self.choice(kind, base, value),
                None => input(&t.shape, t.default.as_ref(), base, value),
            },
            shape => input(shape, t.default.as_ref(), base, value),
        }
    }

    /// The members of an object. An option that does not apply to the
    /// object's `type` (`x-field-types` in the schema) is left out, unless
    /// it is there (then it shows, and the checks say why it is wrong).
    fn members(&self, props: &[super::shape::Prop], ptr: &str, value: Option<&Value>) -> Vec<Widget> {
        let own_type = value.and_then(|v| v.get("type")).and_then(Value::as_str);
        props
            .iter()
            .filter_map(|p| {
                let child = value.and_then(|v| v.get(&p.key)).filter(|c| !c.is_null());
                let applies = match (own_type, p.schema.get(FIELD_TYPES).and_then(Value::as_array)) {
                    (Some(ty), Some(types)) => types.iter().any(|t| t == ty),
                    _ => true,
                };
                if !applies && child.is_none() {
                    return None;
                }
                let pt = classify(self.root, &p.schema);
                Some(self.widget(&pt, &p.key, format!("{ptr}/{}", escape(&p.key)), child, p.required))
            })
            .collect()
    }

    fn rows(&self, item: &Shape, base: Widget, value: Option<&Value>) -> Widget {
        let list = value.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let t = Typed {
            shape: item.clone(),
            nullable: false,
            description: String::new(),
            default: None,
        };
        let children = list
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let ptr = format!("{}/{i}", base.ptr);
                Widget {
                    title: row_title(row).unwrap_or_else(|| format!("#{}", i + 1)),
                    index: i,
                    last: i + 1 == list.len(),
                    open: self.view.open.contains(&ptr),
                    ..self.widget(&t, "", ptr, Some(row), true)
                }
            })
            .collect();
        Widget {
            widget: "rows",
            children,
            ..base
        }
    }

    /// A choice among the workspace's items of `kind` (the value kept when
    /// it names none of them, so the checks can say so).
    fn choice(&self, kind: &str, base: Widget, value: Option<&Value>) -> Widget {
        let current = text(value);
        let mut options = self.view.names.get(kind).cloned().unwrap_or_default();
        if !(options.contains(&current) || current.is_empty() && base.optional) {
            options.insert(0, current.clone());
        }
        Widget {
            widget: "input",
            input: "select",
            options,
            value: current,
            ..base
        }
    }
}

fn row_title(row: &Value) -> Option<String> {
    ["name", "field", "code", "entity", "list", "command", "function"]
        .iter()
        .find_map(|k| row.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

fn input(shape: &Shape, default: Option<&Value>, base: Widget, value: Option<&Value>) -> Widget {
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
    let default_checked = default == Some(&Value::Bool(true));
    Widget {
        widget: "input",
        input,
        options,
        checked: value.map_or(default_checked, |v| v == &Value::Bool(true)),
        default_checked,
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

/// The rows to show unfolded after `op`, given those unfolded before it
/// (`before` is the item before the edit, `after` the item after it): a
/// row keeps its state when rows move or go, the rows around an added part
/// stay open, and a row just added opens.
pub fn reopen(before: &Value, after: &Value, op: &Op, open: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let (parent, last) = op.ptr.rsplit_once('/').unwrap_or_default();
    let in_rows = before.pointer(parent).is_some_and(Value::is_array);
    let index: Option<usize> = last.parse().ok().filter(|_| in_rows);
    for ptr in open {
        let moved = match (op.op.as_str(), index) {
            (_, Some(i)) => move_row(ptr, parent, i, &op.op),
            ("remove", None) if ptr == &op.ptr || ptr.starts_with(&format!("{}/", op.ptr)) => None,
            _ => Some(ptr.clone()),
        };
        out.extend(moved);
    }
    if op.op == "add" {
        // Every row around the edit stays open, and a new row opens.
        let mut at = String::new();
        for seg in op.ptr.split('/').skip(1) {
            at = format!("{at}/{seg}");
            out.push(at.clone());
        }
        if let Some(rows) = after.pointer(&op.ptr).and_then(Value::as_array) {
            out.push(format!("{}/{}", op.ptr, rows.len().saturating_sub(1)));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Where the row at `ptr` (or inside it) is after `op` on row `i` of the
/// rows at `rows` (`None`: it went).
fn move_row(ptr: &str, rows: &str, i: usize, op: &str) -> Option<String> {
    let Some(rest) = ptr.strip_prefix(&format!("{rows}/")) else {
        return Some(ptr.to_owned());
    };
    let (seg, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    let Ok(j) = seg.parse::<usize>() else {
        return Some(ptr.to_owned());
    };
    let j = match op {
        "remove" if j == i => return None,
        "remove" if j > i => j - 1,
        "up" if j == i => j.saturating_sub(1),
        "up" if j + 1 == i => i,
        "down" if j == i => j + 1,
        "down" if j == i + 1 => i,
        _ => j,
    };
    Some(match tail {
        "" => format!("{rows}/{j}"),
        tail => format!("{rows}/{j}/{tail}"),
    })
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
        let form = build(&entity(), &item, &View::default());
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
    fn an_absent_option_shows_its_default() {
        let root = relata::model::kind_schema("picklist").unwrap_or_default();
        let item = json!({"kind": "picklist", "name": "p", "values": [
            {"code": "a", "label": {"en": "A", "zh-CN": "甲"}},
            {"code": "b", "label": {"en": "B", "zh-CN": "乙"}, "active": false}]});
        let form = build(&root, &item, &View::default());
        let active =
            |i: usize| find(&form, &format!("/values/{i}/active")).map(|w| (w.checked, w.default_checked, w.present));
        assert_eq!(active(0), Some((true, true, false)), "absent: the default, true");
        assert_eq!(active(1), Some((false, true, true)));
        let form = build(
            &entity(),
            &json!({"kind": "entity", "fields": [{"name": "x", "type": "integer",
            "computed": {"expression": "1"}}]}),
            &View::default(),
        );
        assert!(find(&form, "/fields/0/computed/stored").is_some_and(|w| w.checked));
        assert!(find(&form, "/fields/0/required").is_some_and(|w| !w.checked && !w.default_checked));
    }

    #[test]
    fn a_field_row_shows_the_options_of_its_type_only() {
        let item = json!({"kind": "entity", "fields": [
            {"name": "n", "type": "integer"},
            {"name": "r", "type": "reference", "target": "company"},
            {"name": "t", "type": "text", "target": "company"}]});
        let mut view = View::default();
        view.names
            .insert("entity".into(), vec!["company".into(), "contact".into()]);
        let form = build(&entity(), &item, &view);
        let keys = |i: usize| -> Vec<String> {
            find(&form, &format!("/fields/{i}"))
                .map(|w| {
                    w.children
                        .iter()
                        .map(|c| c.ptr.rsplit('/').next().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let number = keys(0);
        for k in ["min", "max", "required", "unique", "default", "computed"] {
            assert!(number.contains(&k.to_owned()), "integer: {k} in {number:?}");
        }
        for k in [
            "max_length",
            "precision",
            "picklist",
            "target",
            "on_delete",
            "attachment",
            "numbering",
            "hierarchy",
        ] {
            assert!(!number.contains(&k.to_owned()), "integer: no {k} in {number:?}");
        }
        let reference = keys(1);
        for k in ["target", "on_delete", "lookup_filter", "hierarchy"] {
            assert!(reference.contains(&k.to_owned()), "reference: {k} in {reference:?}");
        }
        assert!(!reference.contains(&"default".to_owned()), "{reference:?}");
        // The entities to pick from; a target that does not apply stays, to be removed.
        let target = find(&form, "/fields/1/target").map(|w| (w.input, w.options.clone()));
        assert_eq!(
            target,
            Some(("select", vec!["company".to_owned(), "contact".to_owned()]))
        );
        assert!(keys(2).contains(&"target".to_owned()));
        let typo = json!({"kind": "entity", "fields": [{"name": "r", "type": "reference", "target": "compnay"}]});
        let form = build(&entity(), &typo, &view);
        assert_eq!(
            find(&form, "/fields/0/target").map(|w| w.options.clone()),
            Some(vec!["compnay".to_owned(), "company".to_owned(), "contact".to_owned()])
        );
    }

    #[test]
    fn rows_stay_unfolded_across_edits() -> Result<(), EditorError> {
        let root = entity();
        let mut item = json!({"kind": "entity", "name": "x", "fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
        let mut open = vec!["/fields/1".to_owned()];
        let edit = |item: &mut Value, op: &str, ptr: &str, open: &mut Vec<String>| -> Result<(), EditorError> {
            let op = Op {
                op: op.into(),
                ptr: ptr.into(),
            };
            let before = item.clone();
            apply(&root, item, &op)?;
            *open = reopen(&before, item, &op, open);
            Ok(())
        };
        edit(&mut item, "add", "/fields/1/help", &mut open)?;
        assert!(open.contains(&"/fields/1".to_owned()), "{open:?}");
        edit(&mut item, "add", "/fields/1/computed", &mut open)?;
        assert!(open.contains(&"/fields/1".to_owned()), "{open:?}");
        edit(&mut item, "up", "/fields/1", &mut open)?;
        assert!(
            open.contains(&"/fields/0".to_owned()) && !open.contains(&"/fields/1".to_owned()),
            "{open:?}"
        );
        edit(&mut item, "add", "/fields", &mut open)?;
        assert!(open.contains(&"/fields/3".to_owned()), "the new row opens: {open:?}");
        edit(&mut item, "remove", "/fields/1", &mut open)?;
        assert!(
            open.contains(&"/fields/0".to_owned()) && open.contains(&"/fields/2".to_owned()),
            "{open:?}"
        );
        let form = build(
            &root,
            &item,
            &View {
                open: open.clone(),
                ..View::default()
            },
        );
        assert!(find(&form, "/fields/0").is_some_and(|w| w.open));
        assert!(find(&form, "/fields/1").is_some_and(|w| !w.open));
        edit(&mut item, "remove", "/fields/0", &mut open)?;
        assert!(!open.contains(&"/fields/0".to_owned()), "{open:?}");
        Ok(())
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
            inputs(&build(&root, &value, &super::View::default()), &mut exact, &mut whole);
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
