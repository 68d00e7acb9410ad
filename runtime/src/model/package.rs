//! A metadata package: the YAML files of one application, read and checked
//! file by file against the JSON Schema of their kind.

use std::path::Path;

use serde_json::Value;

use super::error::{describe_schema_error, pointer_to_path, MetadataError, MetadataErrors};
use super::items::{Item, ITEM_KINDS};
use super::rules::{SCRIPTS_DIR, SCRIPT_EXTENSION};
use super::schema::kind_validator;

/// One file of a package, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the package root, with `/` separators.
    pub path: String,
    /// The YAML text.
    pub text: String,
}

/// An item read from a file that passed its kind's JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedItem {
    /// Path of the file relative to the package root.
    pub path: String,
    /// The YAML text as authored (kept so an exported release reads as written).
    pub source: String,
    /// The item.
    pub item: Item,
}

/// Reads every `*.yaml` / `*.yml` file under `dir` (recursively, sorted by path).
/// The `schema/` folder, which holds the generated JSON Schemas, is skipped,
/// and so is a `scripts/` folder (see [`read_package`]).
pub fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, MetadataErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    walk(dir, dir, &["yaml", "yml"], &mut files, &mut errors);
    if !errors.is_empty() {
        return Err(MetadataErrors(errors));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Reads a whole package: the YAML files of `dir` and the Rhai scripts
/// (`*.rhai`, recursively) of its scripts folder, which become files
/// `scripts/<path>` of the package. The scripts folder is `scripts`
/// when given, else `dir/scripts` when it exists, else the `scripts`
/// folder beside `dir` when `dir` is named `metadata` (the repository
/// layout: `metadata/` and `scripts/` side by side); else there are none.
pub fn read_package(dir: &Path, scripts: Option<&Path>) -> Result<Vec<SourceFile>, MetadataErrors> {
    let mut files = read_dir(dir)?;
    let inside = dir.join(SCRIPTS_DIR);
    let beside = dir
        .file_name()
        .filter(|n| *n == "metadata")
        .and_then(|_| dir.parent())
        .map(|p| p.join(SCRIPTS_DIR));
    let scripts_dir = match scripts {
        Some(s) => Some(s.to_owned()),
        None if inside.is_dir() => Some(inside),
        None => beside.filter(|b| b.is_dir()),
    };
    if let Some(sdir) = scripts_dir {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        walk(&sdir, &sdir, &[SCRIPT_EXTENSION], &mut found, &mut errors);
        if !errors.is_empty() {
            return Err(MetadataErrors(errors));
        }
        for mut f in found {
            f.path = format!("{SCRIPTS_DIR}/{}", f.path);
            files.push(f);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(root: &Path, dir: &Path, exts: &[&str], files: &mut Vec<SourceFile>, errors: &mut Vec<MetadataError>) {
    let shown = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(MetadataError::new(
                dir.display().to_string(),
                "",
                format!("cannot read the folder: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path != root.join("schema") && path != root.join(SCRIPTS_DIR) {
                walk(root, &path, exts, files, errors);
            }
            continue;
        }
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e));
        if !wanted {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push(SourceFile {
                path: shown(&path),
                text,
            }),
            Err(e) => errors.push(MetadataError::new(
                shown(&path),
                "",
                format!("cannot read the file: {e}"),
            )),
        }
    }
}

/// Parses and schema-checks every file; returns the items, or every error of every file.
pub fn parse_files(files: &[SourceFile]) -> Result<Vec<SourcedItem>, MetadataErrors> {
    let mut items = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        match parse_file(file) {
            Ok(item) => items.push(item),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(MetadataErrors(errors))
    }
}

/// Parses one file: YAML, then the `kind` tag, then the kind's JSON Schema,
/// then the Rust type.
pub fn parse_file(file: &SourceFile) -> Result<SourcedItem, Vec<MetadataError>> {
    let err = |path: &str, msg: String| vec![MetadataError::new(&file.path, path, msg)];
    // The YAML error's text already says where (line and column).
    // Bounded: a hostile file is refused before the parser spends long on it.
    let value: Value = super::yaml_limits::parse_yaml(&file.text).map_err(|e| err("", e))?;
    let Some(obj) = value.as_object() else {
        return Err(err("", "expected a mapping with `kind`, `version` and `name`".into()));
    };
    let kinds = ITEM_KINDS.join(", ");
    let kind = match obj.get("kind") {
        None => return Err(err("kind", format!("missing; expected one of: {kinds}"))),
        Some(Value::String(k)) if ITEM_KINDS.contains(&k.as_str()) => k.clone(),
        Some(other) => return Err(err("kind", format!("unknown kind {other}; expected one of: {kinds}"))),
    };
    let Some(validator) = kind_validator(&kind) else {
        return Err(err("kind", format!("no schema for kind `{kind}`")));
    };
    let schema_errors: Vec<MetadataError> = validator
        .iter_errors(&value)
        .map(|e| {
            MetadataError::new(
                &file.path,
                pointer_to_path(e.instance_path().as_str()),
                describe_schema_error(&e),
            )
        })
        .collect();
    if !schema_errors.is_empty() {
        return Err(schema_errors);
    }
    let item: Item = serde_json::from_value(value).map_err(|e| err("", e.to_string()))?;
    Ok(SourcedItem {
        path: file.path.clone(),
        source: file.text.clone(),
        item,
    })
}
