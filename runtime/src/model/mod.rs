//! The metadata language: item types, their JSON Schemas, loading a package
//! from YAML files and checking it into a [`Model`].
//!
//! Nothing here touches a database or knows about HTTP.

mod check;
pub mod decimals;
pub mod demo;
mod demo_check;
pub mod diff;
mod error;
mod ident;
mod items;
pub mod numbers;
mod package;
mod rules;
mod schema;
pub mod values;
mod views;
mod views_check;
pub mod yaml_limits;
pub mod zone;

pub use check::{decimal_shape, Model, MODULE_ICONS};
pub use error::{describe_schema_error, pointer_to_path, MetadataError, MetadataErrors};
pub use ident::{check_code, check_ident, IdentError, RESERVED_WORDS};
pub use items::*;
pub use package::{parse_file, parse_files, read_dir, read_package, SourceFile, SourcedItem};
pub use rules::{script_name, CommandDef, CommandParam, ComputedDef, RulesDef, SCRIPTS_DIR, SCRIPT_EXTENSION};
pub use schema::kind_schema;
pub use views::*;

/// Reads, parses and checks the package in `dir`, with its scripts (found
/// as [`read_package`] finds them).
pub fn load_dir(dir: &std::path::Path) -> Result<(Model, Vec<SourcedItem>), MetadataErrors> {
    let files = read_package(dir, None)?;
    load_files(&files)
}

/// Parses and checks a package given as files in memory: YAML items, and
/// the Rhai scripts among them (paths `scripts/*.rhai`), which are kept as
/// text in [`Model::scripts`] (they are compiled by the engine).
pub fn load_files(files: &[SourceFile]) -> Result<(Model, Vec<SourcedItem>), MetadataErrors> {
    let (scripts, yaml): (Vec<&SourceFile>, Vec<&SourceFile>) =
        files.iter().partition(|f| script_name(&f.path).is_some());
    let scripts: indexmap::IndexMap<String, String> = scripts
        .into_iter()
        .filter_map(|f| Some((script_name(&f.path)?.to_owned(), f.text.clone())))
        .collect();
    let mut items = Vec::with_capacity(yaml.len());
    let mut errors = Vec::new();
    if files.len() > yaml_limits::MAX_FILES {
        return Err(MetadataErrors(vec![MetadataError::new(
            "",
            "",
            format!(
                "the package has {} files; a package may have at most {}",
                files.len(),
                yaml_limits::MAX_FILES
            ),
        )]));
    }
    for f in files.iter().filter(|f| f.text.len() > yaml_limits::MAX_FILE_BYTES) {
        errors.push(MetadataError::new(
            &f.path,
            "",
            format!(
                "the file is {} bytes; a metadata file may have at most {}",
                f.text.len(),
                yaml_limits::MAX_FILE_BYTES
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(MetadataErrors(errors));
    }
    let mut unparsed_names = Vec::new();
    for file in yaml {
        match parse_file(file) {
            Ok(item) => items.push(item),
            Err(mut errs) => {
                errors.append(&mut errs);
                unparsed_names.extend(declared_name(file));
            }
        }
    }
    match Model::build_with_scripts(&items, scripts) {
        Ok(model) if errors.is_empty() => Ok((model, items)),
        Ok(_) => Err(MetadataErrors(errors)),
        // The cross references of the files that parsed, so one round shows
        // every error; but not those to items of files that did not parse.
        Err(more) => {
            let named = |e: &MetadataError| unparsed_names.iter().any(|n| e.message.contains(&format!("`{n}`")));
            errors.extend(more.0.into_iter().filter(|e| !named(e)));
            Err(MetadataErrors(errors))
        }
    }
}

/// The `name:` a file declares, read leniently from a file that did not parse.
fn declared_name(file: &SourceFile) -> Option<String> {
    let value = yaml_limits::parse_yaml(&file.text).ok()?;
    value.get("name")?.as_str().map(str::to_owned)
}
