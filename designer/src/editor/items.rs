//! The items of a workspace: found by kind and name, loaded as JSON values,
//! checked with the runtime's validator with an edited item put in place,
//! and written back as canonical YAML.

use relata::engine::validate_package;
use relata::model::{check_ident, kind_schema, parse_file, script_name, SourceFile, ITEM_KINDS};
use serde::Serialize;
use serde_json::Value;

use super::shape::{classify, empty_value};
use super::yaml::to_yaml;
use super::{EditorError, Problem};
use crate::workspace::Workspace;

/// An item of the workspace, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ItemInfo {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its file, relative to the package.
    pub path: String,
    /// Its English label, when it has one.
    pub label: String,
    /// The entity it belongs to (forms and lists), when it names one.
    pub entity: Option<String>,
}

/// A file of the workspace that is not a readable item.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    /// The file.
    pub path: String,
    /// Why.
    pub message: String,
}

/// Every item of the workspace, sorted by kind then name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// The items.
    pub items: Vec<ItemInfo>,
    /// Files that are not items (bad YAML, no kind or name).
    pub unreadable: Vec<Unreadable>,
}

impl Catalog {
    /// The names of the items, by kind (what the editor offers where a
    /// property names an item).
    pub fn names(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for i in &self.items {
            out.entry(i.kind.clone()).or_default().push(i.name.clone());
        }
        out
    }

    /// The item `kind`/`name`.
    pub fn find(&self, kind: &str, name: &str) -> Option<&ItemInfo> {
        self.items.iter().find(|i| i.kind == kind && i.name == name)
    }
}

/// An item, read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it is.
    pub info: ItemInfo,
    /// Its file's text.
    pub text: String,
    /// Its content.
    pub value: Value,
}

/// What a save did.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    /// The file written.
    pub path: String,
    /// The problems the package has with the item saved (cross references:
    /// saved anyway, so a form can be written before its entity).
    pub problems: Vec<Problem>,
}

/// The JSON Schema of `kind`.
pub fn schema(kind: &str) -> Result<Value, EditorError> {
    match ITEM_KINDS.contains(&kind) {
        true => kind_schema(kind).ok_or_else(|| EditorError::UnknownKind(kind.to_owned())),
        false => Err(EditorError::UnknownKind(kind.to_owned())),
    }
}

fn parse_yaml(text: &str) -> Result<Value, String> {
    serde_yaml_ng::from_str(text).map_err(|e| format!("not valid YAML: {e}"))
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Lists the workspace's items.
pub fn catalog(ws: &Workspace) -> Result<Catalog, EditorError> {
    let mut out = Catalog::default();
    for f in ws.files()? {
        if script_name(&f.path).is_some() {
            continue;
        }
        let value = match parse_yaml(&f.text) {
            Ok(v) => v,
            Err(message) => {
                out.unreadable.push(Unreadable { path: f.path, message });
                continue;
            }
        };
        match info_of(f.path.clone(), &value) {
            Some(info) => out.items.push(info),
            None => out.unreadable.push(Unreadable {
                path: f.path,
                message: "no `kind` or `name`".into(),
            }),
        }
    }
    out.items.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    Ok(out)
}

fn info_of(path: String, value: &Value) -> Option<ItemInfo> {
    Some(ItemInfo {
        kind: text_of(value, "kind")?,
        name: text_of(value, "name")?,
        label: value
            .pointer("/label/en")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        entity: text_of(value, "entity"),
        path,
    })
}

/// Reads the item `kind`/`name` (parsing only the files that mention the name).
pub fn load(ws: &Workspace, kind: &str, name: &str) -> Result<Loaded, EditorError> {
    schema(kind)?;
    for f in ws.files()? {
        if script_name(&f.path).is_some() || !f.text.contains(name) {
            continue;
        }
        let Ok(value) = parse_yaml(&f.text) else {
            continue;
        };
        if let Some(info) = info_of(f.path, &value).filter(|i| i.kind == kind && i.name == name) {
            return Ok(Loaded {
                info,
                text: f.text,
                value,
            });
        }
    }
    Err(EditorError::NotFound {
        kind: kind.to_owned(),
        name: name.to_owned(),
    })
}

/// A new item of `kind`: its required properties, empty.
pub fn skeleton(kind: &str) -> Result<Value, EditorError> {
    let root = schema(kind)?;
    Ok(empty_value(&root, &classify(&root, &root).shape))
}

/// Checks the whole package with `item` in place of the item `kind`/`original`
/// (`None`: a new item); returns the item's file (where it is or would go)
/// and every problem, placed.
pub fn validate(
    ws: &Workspace,
    kind: &str,
    original: Option<&str>,
    item: &Value,
) -> Result<(String, Vec<Problem>), EditorError> {
    let root = schema(kind)?;
    let catalog = catalog(ws)?;
    let path = match target_path(&catalog, kind, original, item) {
        Ok(path) => path,
        // A name being typed: shown at the name, like any other problem.
        Err(e @ (EditorError::BadName { .. } | EditorError::Exists(_))) => {
            let problem = Problem {
                file: String::new(),
                pointer: "/name".into(),
                path: "name".into(),
                message: e.to_string(),
            };
            return Ok((String::new(), vec![problem]));
        }
        Err(e) => return Err(e),
    };
    let previous = ws.files()?.into_iter().find(|f| f.path == path).map(|f| f.text);
    let text = to_yaml(&root, item, previous.as_deref());
    let problems = check_with(ws, &path, &text)?;
    Ok((path, problems))
}

/// The problems of the workspace's package with `path` holding `text`.
pub(crate) fn check_with(ws: &Workspace, path: &str, text: &str) -> Result<Vec<Problem>, EditorError> {
    let mut files = ws.files()?;
    match files.iter_mut().find(|f| f.path == path) {
        Some(f) => f.text = text.to_owned(),
        None => files.push(SourceFile {
            path: path.to_owned(),
            text: text.to_owned(),
        }),
    }
    Ok(match validate_package(&files) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(Problem::from_metadata).collect(),
    })
}

/// Where the item goes: its file when it exists, else a new file (see
/// [`new_path`]). Checks its kind and name first.
fn target_path(catalog: &Catalog, kind: &str, original: Option<&str>, item: &Value) -> Result<String, EditorError> {
    if !item.is_object() {
        return Err(EditorError::BadItem("an item is a JSON object".into()));
    }
    if text_of(item, "kind").as_deref() != Some(kind) {
        return Err(EditorError::BadItem(format!("the item's `kind` must be `{kind}`")));
    }
    let name = text_of(item, "name").unwrap_or_default();
    check_name(&name)?;
    let clash = catalog.find(kind, &name).filter(|_| original != Some(name.as_str()));
    if let Some(other) = clash {
        return Err(EditorError::Exists(format!("{kind} `{name}` ({})", other.path)));
    }
    match original {
        Some(orig) => catalog
            .find(kind, orig)
            .map(|i| i.path.clone())
            .ok_or_else(|| EditorError::NotFound {
                kind: kind.to_owned(),
                name: orig.to_owned(),
            }),
        None => Ok(new_path(catalog, kind, &name, text_of(item, "entity").as_deref())),
    }
}

/// Checks an item name (also part of a file name).
pub fn check_name(name: &str) -> Result<(), EditorError> {
    check_ident(name).map_err(|e| EditorError::BadName {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

/// The file of a new item: beside its entity for a form or list
/// (`<folder>/<name>_form.yaml`), `custom/<name>.yaml` for an entity,
/// `custom/picklists/<name>.yaml`, `navigation/<name>.yaml` for a module,
/// `demo/<name>.yaml`.
pub fn new_path(catalog: &Catalog, kind: &str, name: &str, entity: Option<&str>) -> String {
    let entity_folder = entity
        .and_then(|e| catalog.find("entity", e))
        .and_then(|i| i.path.rsplit_once('/').map(|(dir, _)| dir.to_owned()));
    let folder = entity_folder.unwrap_or_else(|| "custom".to_owned());
    match kind {
        "entity" => format!("custom/{name}.yaml"),
        "form" | "list" => format!("{folder}/{name}_{kind}.yaml"),
        "picklist" => format!("custom/picklists/{name}.yaml"),
        "module" => format!("navigation/{name}.yaml"),
        other => format!("{other}/{name}.yaml"),
    }
}

/// Saves the item `kind`/`original` (`None`: creates it): refused, with
/// nothing written, when the item does not pass its kind's JSON Schema, its
/// name is not valid or taken, or its new file exists.
pub fn save(ws: &Workspace, kind: &str, original: Option<&str>, item: &Value) -> Result<Saved, EditorError> {
    let root = schema(kind)?;
    let catalog = catalog(ws)?;
    let path = target_path(&catalog, kind, original, item)?;
    if original.is_none() && ws.has_file(&path) {
        return Err(EditorError::Exists(format!("the file {path}")));
    }
    let previous = ws.files()?.into_iter().find(|f| f.path == path).map(|f| f.text);
    let text = to_yaml(&root, item, previous.as_deref());
    let file = SourceFile {
        path: path.clone(),
        text: text.clone(),
    };
    if let Err(errors) = parse_file(&file) {
        return Err(EditorError::Invalid(
            errors.iter().map(Problem::from_metadata).collect(),
        ));
    }
    let problems = check_with(ws, &path, &text)?;
    if previous.as_deref() != Some(text.as_str()) {
        ws.write_file(&path, &text)?;
    }
    Ok(Saved { path, problems })
}

/// Deletes the item `kind`/`name` (its file).
pub fn delete(ws: &Workspace, kind: &str, name: &str) -> Result<String, EditorError> {
    let loaded = load(ws, kind, name)?;
    ws.remove_file(&loaded.info.path)?;
    Ok(loaded.info.path)
}
