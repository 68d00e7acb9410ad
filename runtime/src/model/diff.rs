//! The item diff of two releases (or a release and a package): which items
//! were added, removed or changed, and for a changed item a field-level
//! diff of its parsed body. Pure, so the designer reuses it for three-way
//! merges (base -> workspace and base -> live).
//!
//! Paths are JSON pointers (RFC 6901) into the item body. Keyed arrays are
//! matched by key rather than by position, so inserting or removing one
//! element is one change, not a rename of every later element: elements
//! that are objects with distinct `name`s (fields, tabs), `code`s (pick-list
//! values) or `field`s (form fields), and arrays of distinct strings (search
//! fields, list columns), keyed by the string. The pointer then holds the
//! element's index in the new body (in the old body for a removed element),
//! and a reordering is one change at the array's own path whose old and new
//! values are the keys in order. Other arrays are aligned on their longest
//! common run of equal elements; what differs between two matched elements
//! is reported position by position.
//!
//! Integral numbers are reported as integers (`5`, not the `5.0` that the
//! metadata's floats serialise to).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

/// One item to diff: its kind, name and parsed body.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffItem {
    /// The item's kind (`entity`, `form`, `script`, ...).
    pub kind: String,
    /// The item's name.
    pub name: String,
    /// The item's body as JSON.
    pub body: Value,
}

/// An item named in a diff.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ItemKey {
    /// The kind.
    pub kind: String,
    /// The name.
    pub name: String,
}

/// One changed value inside an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Where, as a JSON pointer (`/fields/2/label/en`; empty for the whole body).
    pub path: String,
    /// The old value; absent when the value was added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The new value; absent when the value was removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// A changed item and its changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedItem {
    /// The kind.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The changes, in document order.
    pub changes: Vec<FieldChange>,
}

/// The difference between two item sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ItemDiff {
    /// Items only in the new set, by kind and name.
    pub added: Vec<ItemKey>,
    /// Items only in the old set, by kind and name.
    pub removed: Vec<ItemKey>,
    /// Items in both whose bodies differ, by kind and name.
    pub changed: Vec<ChangedItem>,
}

impl ItemDiff {
    /// No item added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Counts and `kind/name` lists, for audit trails and summaries.
    pub fn summary(&self) -> Value {
        let names = |keys: &mut dyn Iterator<Item = (&String, &String)>| -> Vec<String> {
            keys.map(|(k, n)| format!("{k}/{n}")).collect()
        };
        serde_json::json!({
            "added": self.added.len(),
            "removed": self.removed.len(),
            "changed": self.changed.len(),
            "items": {
                "added": names(&mut self.added.iter().map(|k| (&k.kind, &k.name))),
                "removed": names(&mut self.removed.iter().map(|k| (&k.kind, &k.name))),
                "changed": names(&mut self.changed.iter().map(|c| (&c.kind, &c.name))),
            }
        })
    }
}

/// Diffs two item sets, matched by kind and name. Every list in the result
/// is sorted by kind, then name.
pub fn diff_items(old: &[DiffItem], new: &[DiffItem]) -> ItemDiff {
    let index = |items: &'_ [DiffItem]| -> BTreeMap<(String, String), Value> {
        items
            .iter()
            .map(|i| ((i.kind.clone(), i.name.clone()), i.body.clone()))
            .collect()
    };
    let (old, new) = (index(old), index(new));
    let key = |(kind, name): &(String, String)| ItemKey {
        kind: kind.clone(),
        name: name.clone(),
    };
    let mut diff = ItemDiff::default();
    for (k, body) in &new {
        match old.get(k) {
            None => diff.added.push(key(k)),
            Some(before) if before != body => diff.changed.push(ChangedItem {
                kind: k.0.clone(),
                name: k.1.clone(),
                changes: diff_values(before, body),
            }),
            Some(_) => {}
        }
    }
    diff.removed = old.keys().filter(|k| !new.contains_key(*k)).map(key).collect();
    diff
}

/// The field-level changes from `old` to `new`.
pub fn diff_values(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(String::new(), old, new, &mut out);
    out
}

fn walk(path: String, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                let p = format!("{path}/{}", escape(k));
                match a.get(k) {
                    Some(before) => walk(p, before, v, out),
                    None => out.push(change(p, None, Some(v))),
                }
            }
            for (k, v) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                out.push(change(format!("{path}/{}", escape(k)), Some(v), None));
            }
        }
        (Value::Array(a), Value::Array(b)) => match keys(a, b) {
            Some((na, nb)) => by_name(&path, (a, &na), (b, &nb), out),
            None => aligned(&path, a, b, out),
        },
        _ => out.push(change(path, Some(old), Some(new))),
    }
}

/// Unkeyed arrays: elements equal on both sides are matched along their
/// longest common subsequence; between two matches, the old and new
/// elements are compared position by position (a changed element), the
/// surplus of either side is removed or added.
fn aligned(path: &str, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    let gap = |(i0, i1): (usize, usize), (j0, j1): (usize, usize), out: &mut Vec<FieldChange>| {
        for k in 0..(i1 - i0).max(j1 - j0) {
            let (i, j) = (i0 + k, j0 + k);
            match (i < i1, j < j1) {
                (true, true) => walk(format!("{path}/{j}"), &a[i], &b[j], out),
                (true, false) => out.push(change(format!("{path}/{i}"), Some(&a[i]), None)),
                (false, true) => out.push(change(format!("{path}/{j}"), None, Some(&b[j]))),
                (false, false) => {}
            }
        }
    };
    let (mut i, mut j) = (0, 0);
    for (mi, mj) in common(a, b) {
        gap((i, mi), (j, mj), out);
        (i, j) = (mi + 1, mj + 1);
    }
    gap((i, a.len()), (j, b.len()), out);
}

/// The index pairs of a longest common subsequence of equal elements.
fn common(a: &[Value], b: &[Value]) -> Vec<(usize, usize)> {
    // Metadata arrays are short: the quadratic table is cheap.
    let mut len = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            len[i][j] = if a[i] == b[j] {
                len[i + 1][j + 1] + 1
            } else {
                len[i + 1][j].max(len[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            pairs.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if len[i + 1][j] >= len[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

fn by_name(path: &str, (a, na): (&[Value], &[&str]), (b, nb): (&[Value], &[&str]), out: &mut Vec<FieldChange>) {
    for (i, (y, name)) in b.iter().zip(nb).enumerate() {
        let p = format!("{path}/{i}");
        match na.iter().position(|n| n == name) {
            Some(j) => walk(p, &a[j], y, out),
            None => out.push(change(p, None, Some(y))),
        }
    }
    let kept: HashSet<&str> = nb.iter().copied().collect();
    for (j, (x, name)) in a.iter().zip(na).enumerate() {
        if !kept.contains(name) {
            out.push(change(format!("{path}/{j}"), Some(x), None));
        }
    }
    // Same elements in another order: one change at the array's path whose
    // old and new values are the names in order.
    let order_a: Vec<&str> = na.iter().copied().filter(|n| kept.contains(n)).collect();
    let order_b: Vec<&str> = nb.iter().copied().filter(|n| na.contains(n)).collect();
    if order_a != order_b {
        let list = |v: &[&str]| Value::from(v.iter().map(|s| Value::from(*s)).collect::<Vec<_>>());
        out.push(change(path.to_owned(), Some(&list(&order_a)), Some(&list(&order_b))));
    }
}

/// The members that key an array's objects, tried in this order.
const KEY_MEMBERS: [&str; 3] = ["name", "code", "field"];

/// The keys of both arrays' elements, when both are keyed the same way:
/// objects with distinct values of one [`KEY_MEMBERS`] member, or distinct
/// strings (their own key). Two empty arrays are equal and never asked.
fn keys<'v>(a: &'v [Value], b: &'v [Value]) -> Option<(Vec<&'v str>, Vec<&'v str>)> {
    let strings = |items: &'v [Value]| -> Option<Vec<&'v str>> { items.iter().map(Value::as_str).collect() };
    if let (Some(ka), Some(kb)) = (strings(a), strings(b)) {
        return (distinct(&ka) && distinct(&kb)).then_some((ka, kb));
    }
    KEY_MEMBERS.iter().find_map(|member| {
        let of =
            |items: &'v [Value]| -> Option<Vec<&'v str>> { items.iter().map(|v| v.get(*member)?.as_str()).collect() };
        let (ka, kb) = (of(a)?, of(b)?);
        (distinct(&ka) && distinct(&kb)).then_some((ka, kb))
    })
}

fn distinct(keys: &[&str]) -> bool {
    keys.iter().collect::<HashSet<_>>().len() == keys.len()
}

fn change(path: String, old: Option<&Value>, new: Option<&Value>) -> FieldChange {
    FieldChange {
        path,
        old: old.map(super::numbers::tidy),
        new: new.map(super::numbers::tidy),
    }
}

/// Escapes a key for a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(kind: &str, name: &str, body: Value) -> DiffItem {
        DiffItem {
            kind: kind.into(),
            name: name.into(),
            body,
        }
    }

    #[test]
    fn added_removed_and_changed_items_are_sorted_by_kind_and_name() {
        let old = [
            item("entity", "a", json!({"x": 1})),
            item("entity", "gone", json!({})),
            item("form", "f", json!({"same": true})),
        ];
        let new = [
            item("form", "f", json!({"same": true})),
            item("entity", "a", json!({"x": 2})),
            item("entity", "new", json!({})),
        ];
        let d = diff_items(&old, &new);
        assert_eq!(
            d.added,
            vec![ItemKey {
                kind: "entity".into(),
                name: "new".into()
            }]
        );
        assert_eq!(
            d.removed,
            vec![ItemKey {
                kind: "entity".into(),
                name: "gone".into()
            }]
        );
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].name, "a");
        assert_eq!(
            d.changed[0].changes,
            vec![FieldChange {
                path: "/x".into(),
                old: Some(json!(1)),
                new: Some(json!(2))
            }]
        );
        assert_eq!(d.summary()["items"]["added"], json!(["entity/new"]));
        assert!(diff_items(&new, &new).is_empty());
    }

    #[test]
    fn named_elements_are_matched_by_name_not_position() {
        let old = json!({"fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]});
        let new = json!({"fields": [
            {"name": "a", "type": "text"},
            {"name": "new", "type": "date"},
            {"name": "b", "type": "number"}
        ]});
        let changes = diff_values(&old, &new);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    path: "/fields/1".into(),
                    old: None,
                    new: Some(json!({"name": "new", "type": "date"}))
                },
                FieldChange {
                    path: "/fields/2/type".into(),
                    old: Some(json!("text")),
                    new: Some(json!("number"))
                },
            ]
        );
    }

    #[test]
    fn removed_keys_elements_and_reordering_are_reported() {
        let old = json!({"a/b": 1, "list": [1, 2, 3], "cols": [{"name": "x"}, {"name": "y"}], "gone": "v"});
        let new = json!({"a/b": 1, "list": [1, 5], "cols": [{"name": "y"}, {"name": "x"}]});
        let paths: Vec<(String, Option<Value>, Option<Value>)> = diff_values(&old, &new)
            .into_iter()
            .map(|c| (c.path, c.old, c.new))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/list/1".into(), Some(json!(2)), Some(json!(5))),
                ("/list/2".into(), Some(json!(3)), None),
                ("/cols".into(), Some(json!(["x", "y"])), Some(json!(["y", "x"]))),
                ("/gone".into(), Some(json!("v")), None),
            ]
        );
        assert_eq!(escape("a/b~c"), "a~1b~0c");
    }

    fn paths(changes: Vec<FieldChange>) -> Vec<(String, Option<Value>, Option<Value>)> {
        changes.into_iter().map(|c| (c.path, c.old, c.new)).collect()
    }

    #[test]
    fn a_value_removed_from_the_middle_of_a_pick_list_is_one_removal() {
        let v = |code: &str| json!({"code": code, "label": {"en": code.to_uppercase()}});
        let old = json!({"values": [v("a"), v("b"), v("c"), v("d")]});
        let new = json!({"values": [v("a"), v("c"), v("d")]});
        assert_eq!(
            paths(diff_values(&old, &new)),
            vec![("/values/1".into(), Some(v("b")), None)]
        );
    }

    #[test]
    fn form_and_search_fields_are_matched_by_field_name() {
        let old = json!({"fields": [{"field": "a"}, {"field": "b"}, {"field": "c", "span": 2}],
                         "search": {"fields": ["x", "y", "z"]}});
        let new = json!({"fields": [{"field": "a"}, {"field": "c", "span": 1}],
                         "search": {"fields": ["x", "z", "w"]}});
        assert_eq!(
            paths(diff_values(&old, &new)),
            vec![
                ("/fields/1/span".into(), Some(json!(2)), Some(json!(1))),
                ("/fields/1".into(), Some(json!({"field": "b"})), None),
                ("/search/fields/2".into(), None, Some(json!("w"))),
                ("/search/fields/1".into(), Some(json!("y")), None),
            ]
        );
    }

    #[test]
    fn unkeyed_arrays_align_on_equal_elements() {
        let old = json!({"sort": [["a", 1], ["b", 2], ["c", 3]]});
        let new = json!({"sort": [["a", 1], ["c", 3]]});
        assert_eq!(
            paths(diff_values(&old, &new)),
            vec![("/sort/1".into(), Some(json!(["b", 2])), None)]
        );
    }

    #[test]
    fn integral_numbers_read_as_integers() {
        let changes = diff_values(&json!({"max": 5.0, "min": 0.5}), &json!({"max": 10.0, "min": 1.0}));
        let shown: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} -> {}",
                    c.path,
                    c.old.clone().unwrap_or_default(),
                    c.new.clone().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(shown, ["/max 5 -> 10", "/min 0.5 -> 1"]);
    }

    #[test]
    fn a_changed_scalar_body_is_one_change_at_the_root() {
        let changes = diff_values(&json!("print(1)"), &json!("print(2)"));
        assert_eq!(
            changes,
            vec![FieldChange {
                path: String::new(),
                old: Some(json!("print(1)")),
                new: Some(json!("print(2)"))
            }]
        );
    }
}
