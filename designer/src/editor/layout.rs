//! The form layout editor's model: a form's tabs, sections and their fields,
//! the entity's fields not placed yet, and the moves the editor makes
//! (place a field in a section at a position, take it off, add a tab, a
//! section, a related list, a command button; rename or remove a tab, a
//! section, a related list or a button). The result is an ordinary form
//! item, checked and saved like any other.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::items::load;
use super::EditorError;
use crate::workspace::Workspace;

/// A field as a chip: its name and English label.
#[derive(Debug, Clone, Serialize)]
pub struct Chip {
    /// The field's name.
    pub name: String,
    /// Its English label (the name when it has none).
    pub label: String,
}

/// A part of the form that can be renamed or removed: where it is, and its
/// title in both languages (empty: the default title).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Part {
    /// Its JSON pointer in the form (`/tabs/0/sections/1`).
    pub part: String,
    /// What it is called in the editor (name, `entity via field`, command).
    pub name: String,
    /// Its English title.
    pub en: String,
    /// Its Chinese title.
    pub zh: String,
}

/// A section of a tab.
#[derive(Debug, Clone, Serialize)]
pub struct SectionView {
    /// Its name, place and title.
    pub part: Part,
    /// Its name.
    pub name: String,
    /// Its columns (1 to 4).
    pub columns: u64,
    /// Its fields, in order.
    pub fields: Vec<Chip>,
}

/// A tab of the form.
#[derive(Debug, Clone, Serialize)]
pub struct TabView {
    /// Its name, place and title.
    pub part: Part,
    /// Its name.
    pub name: String,
    /// Its English label.
    pub label: String,
    /// Its sections.
    pub sections: Vec<SectionView>,
    /// Its related lists (named `entity via field`).
    pub related: Vec<Part>,
}

/// A related list the form could show: records of `entity` whose `via`
/// field refers to the form's entity.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedChoice {
    /// The related entity.
    pub entity: String,
    /// Its reference field.
    pub via: String,
}

/// What the layout editor shows.
#[derive(Debug, Clone, Serialize)]
pub struct LayoutView {
    /// The form's entity.
    pub entity: String,
    /// The tabs.
    pub tabs: Vec<TabView>,
    /// The entity's fields on no tab.
    pub palette: Vec<Chip>,
    /// Related lists that can be added.
    pub related_choices: Vec<RelatedChoice>,
    /// The entity's commands with no button yet.
    pub commands: Vec<String>,
    /// The command buttons (named by their command).
    pub buttons: Vec<Part>,
}

/// A move of the layout editor.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LayoutOp {
    /// Puts `field` in section `section` of tab `tab` at `index` (the end
    /// when absent), taking it from where it was (its options kept).
    Place {
        /// The field.
        field: String,
        /// The tab's position.
        tab: usize,
        /// The section's position in the tab.
        section: usize,
        /// The position in the section.
        #[serde(default)]
        index: Option<usize>,
    },
    /// Takes `field` off the form.
    Unplace {
        /// The field.
        field: String,
    },
    /// Adds a tab with one section.
    AddTab,
    /// Adds a section to tab `tab`.
    AddSection {
        /// The tab's position.
        tab: usize,
    },
    /// Sets the columns of a section.
    Columns {
        /// The tab's position.
        tab: usize,
        /// The section's position.
        section: usize,
        /// 1 to 4.
        columns: u64,
    },
    /// Adds a related list to tab `tab`.
    AddRelated {
        /// The tab's position.
        tab: usize,
        /// The related entity.
        entity: String,
        /// Its reference field to the form's entity.
        via: String,
    },
    /// Adds a command button.
    AddButton {
        /// The command.
        command: String,
    },
    /// Gives a tab, a section, a related list or a button (`part`, its
    /// pointer) a title; empty texts give a section, a related list or a
    /// button its default title back.
    Rename {
        /// The part's pointer (`/tabs/0`, `/tabs/0/sections/1`, `/tabs/0/related/0`, `/buttons/0`).
        part: String,
        /// The English title.
        en: String,
        /// The Chinese title.
        zh: String,
    },
    /// Removes a tab, a section, a related list or a button; the fields
    /// of a removed tab or section go off the form.
    Remove {
        /// The part's pointer.
        part: String,
    },
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn entity_of(ws: &Workspace, item: &Value) -> Result<Value, EditorError> {
    Ok(load(ws, "entity", s(item, "entity"))?.value)
}

/// The layout of the form `item`.
pub fn view(ws: &Workspace, item: &Value) -> Result<LayoutView, EditorError> {
    let entity = entity_of(ws, item)?;
    let chip = |name: &str| Chip {
        name: name.to_owned(),
        label: arr(&entity, "fields")
            .iter()
            .find(|f| s(f, "name") == name)
            .map(|f| s(&f["label"], "en").to_owned())
            .unwrap_or_else(|| name.to_owned()),
    };
    let title = |v: &Value, part: String, name: String| Part {
        part,
        name,
        en: v
            .pointer("/label/en")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        zh: v
            .pointer("/label/zh-CN")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    };
    let tabs: Vec<TabView> = arr(item, "tabs")
        .iter()
        .enumerate()
        .map(|(ti, t)| TabView {
            part: title(t, format!("/tabs/{ti}"), s(t, "name").to_owned()),
            name: s(t, "name").to_owned(),
            label: s(&t["label"], "en").to_owned(),
            sections: arr(t, "sections")
                .iter()
                .enumerate()
                .map(|(si, sec)| SectionView {
                    part: title(sec, format!("/tabs/{ti}/sections/{si}"), s(sec, "name").to_owned()),
                    name: s(sec, "name").to_owned(),
                    columns: sec.get("columns").and_then(Value::as_u64).unwrap_or(1),
                    fields: arr(sec, "fields").iter().map(|f| chip(s(f, "field"))).collect(),
                })
                .collect(),
            related: arr(t, "related")
                .iter()
                .enumerate()
                .map(|(ri, r)| {
                    let name = format!("{} via {}", s(r, "entity"), s(r, "via"));
                    title(r, format!("/tabs/{ti}/related/{ri}"), name)
                })
                .collect(),
        })
        .collect();
    let placed: Vec<&str> = tabs
        .iter()
        .flat_map(|t| &t.sections)
        .flat_map(|s| &s.fields)
        .map(|c| c.name.as_str())
        .collect();
    let palette = arr(&entity, "fields")
        .iter()
        .map(|f| s(f, "name"))
        .filter(|n| !placed.contains(n))
        .map(chip)
        .collect();
    let buttons: Vec<Part> = arr(item, "buttons")
        .iter()
        .enumerate()
        .map(|(i, b)| title(b, format!("/buttons/{i}"), s(b, "command").to_owned()))
        .collect();
    let commands = arr(&entity, "commands")
        .iter()
        .map(|c| s(c, "name").to_owned())
        .filter(|c| !buttons.iter().any(|b| &b.name == c))
        .collect();
    Ok(LayoutView {
        entity: s(item, "entity").to_owned(),
        tabs,
        palette,
        related_choices: related_choices(ws, s(item, "entity"))?,
        commands,
        buttons,
    })
}

/// The reference fields of other entities that point to `entity` (every
/// file read once: this runs at each move).
fn related_choices(ws: &Workspace, entity: &str) -> Result<Vec<RelatedChoice>, EditorError> {
    let mut out = Vec::new();
    for f in ws.files()? {
        let Ok(value) = serde_yaml_ng::from_str::<Value>(&f.text) else {
            continue;
        };
        if s(&value, "kind") != "entity" {
            continue;
        }
        for field in arr(&value, "fields") {
            if s(field, "type") == "reference" && s(field, "target") == entity {
                out.push(RelatedChoice {
                    entity: s(&value, "name").to_owned(),
                    via: s(field, "name").to_owned(),
                });
            }
        }
    }
    Ok(out)
}

fn bad(what: &str) -> EditorError {
    EditorError::BadItem(format!("the layout has no {what}"))
}

fn section_fields(item: &mut Value, tab: usize, section: usize) -> Result<&mut Vec<Value>, EditorError> {
    item.pointer_mut(&format!("/tabs/{tab}/sections/{section}"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad("such section"))?
        .entry("fields")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| bad("field list there"))
}

/// Takes `field` off every section; returns its entry (with its options).
fn take(item: &mut Value, field: &str) -> Option<Value> {
    let mut found = None;
    for t in item.get_mut("tabs").and_then(Value::as_array_mut).into_iter().flatten() {
        for sec in t
            .get_mut("sections")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(fields) = sec.get_mut("fields").and_then(Value::as_array_mut) {
                if let Some(i) = fields.iter().position(|f| s(f, "field") == field) {
                    found = Some(fields.remove(i));
                }
            }
        }
    }
    found
}

/// A name `prefix_N` not among `taken`.
fn fresh(prefix: &str, taken: &[Value]) -> String {
    (1..)
        .map(|n| format!("{prefix}_{n}"))
        .find(|n| !taken.iter().any(|t| s(t, "name") == n))
        .unwrap_or_default()
}

fn push(item: &mut Value, ptr: &str, value: Value) -> Result<(), EditorError> {
    let (parent, key) = ptr.rsplit_once('/').ok_or_else(|| bad(ptr))?;
    let obj = item
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad(parent))?;
    let list = obj.entry(key).or_insert_with(|| json!([]));
    list.as_array_mut().ok_or_else(|| bad(ptr))?.push(value);
    Ok(())
}

/// Applies a move to the form `item`.
pub fn apply(ws: &Workspace, item: &mut Value, op: &LayoutOp) -> Result<(), EditorError> {
    match op {
        LayoutOp::Place {
            field,
            tab,
            section,
            index,
        } => {
            section_fields(item, *tab, *section)?;
            let entry = take(item, field).unwrap_or_else(|| json!({ "field": field }));
            let fields = section_fields(item, *tab, *section)?;
            let at = index.unwrap_or(fields.len()).min(fields.len());
            fields.insert(at, entry);
        }
        LayoutOp::Unplace { field } => {
            take(item, field).ok_or_else(|| bad(&format!("field `{field}` placed")))?;
        }
        LayoutOp::AddTab => {
            let name = fresh("tab", arr(item, "tabs"));
            let tab = json!({ "name": name, "label": { "en": "New tab", "zh-CN": "新标签页" },
                "sections": [{ "name": "main", "columns": 2, "fields": [] }] });
            push(item, "/tabs", tab)?;
        }
        LayoutOp::AddSection { tab } => {
            let taken = item
                .pointer(&format!("/tabs/{tab}/sections"))
                .and_then(Value::as_array)
                .cloned();
            let name = fresh("section", &taken.unwrap_or_default());
            push(
                item,
                &format!("/tabs/{tab}/sections"),
                json!({ "name": name, "columns": 2, "fields": [] }),
            )?;
        }
        LayoutOp::Columns { tab, section, columns } => {
            let sec = item
                .pointer_mut(&format!("/tabs/{tab}/sections/{section}"))
                .and_then(Value::as_object_mut)
                .ok_or_else(|| bad("such section"))?;
            sec.insert("columns".into(), json!((*columns).clamp(1, 4)));
        }
        LayoutOp::AddRelated { tab, entity, via } => {
            let related = load(ws, "entity", entity)?.value;
            let columns: Vec<&str> = arr(&related, "fields")
                .iter()
                .map(|f| s(f, "name"))
                .filter(|n| n != via)
                .take(4)
                .collect();
            let list = json!({ "entity": entity, "via": via, "columns": columns });
            push(item, &format!("/tabs/{tab}/related"), list)?;
        }
        LayoutOp::AddButton { command } => push(item, "/buttons", json!({ "command": command }))?,
        LayoutOp::Rename { part, en, zh } => rename(item, part, en.trim(), zh.trim())?,
        LayoutOp::Remove { part } => remove(item, part)?,
    }
    Ok(())
}

/// What a part pointer names: `tab`, `section`, `related` or `button`, and
/// the list it is in with its position there.
fn part_of(part: &str) -> Result<(&'static str, &str, usize), EditorError> {
    let segs: Vec<&str> = part.split('/').skip(1).collect();
    let index = |s: &str| s.parse::<usize>().map_err(|_| bad(&format!("part `{part}`")));
    let kind = match segs.as_slice() {
        ["tabs", _] => "tab",
        ["tabs", t, "sections", _] if t.parse::<usize>().is_ok() => "section",
        ["tabs", t, "related", _] if t.parse::<usize>().is_ok() => "related",
        ["buttons", _] => "button",
        _ => return Err(bad(&format!("part `{part}`"))),
    };
    let (list, last) = part.rsplit_once('/').ok_or_else(|| bad(part))?;
    Ok((kind, list, index(last)?))
}

fn rename(item: &mut Value, part: &str, en: &str, zh: &str) -> Result<(), EditorError> {
    let (kind, ..) = part_of(part)?;
    if kind == "tab" && (en.is_empty() || zh.is_empty()) {
        return Err(EditorError::BadItem(
            "a tab needs a title in English and in Chinese".into(),
        ));
    }
    let target = item
        .pointer_mut(part)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| bad(&format!("part `{part}`")))?;
    if en.is_empty() && zh.is_empty() {
        target.shift_remove("label");
    } else {
        target.insert("label".into(), json!({ "en": en, "zh-CN": zh }));
    }
    Ok(())
}

fn remove(item: &mut Value, part: &str) -> Result<(), EditorError> {
    let (kind, list, i) = part_of(part)?;
    let parts = item
        .pointer_mut(list)
        .and_then(Value::as_array_mut)
        .filter(|p| i < p.len())
        .ok_or_else(|| bad(&format!("part `{part}`")))?;
    if kind == "tab" && parts.len() == 1 {
        return Err(EditorError::BadItem("a form keeps at least one tab".into()));
    }
    parts.remove(i);
    Ok(())
}
