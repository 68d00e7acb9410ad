//! The metadata language: item types, their JSON Schemas, loading a package
//! from YAML files and checking it into a [`Model`].
//!
//! Nothing here touches a database or knows about HTTP.

mod check;
pub mod demo;
mod demo_check;
mod error;
mod ident;
mod items;
mod package;
mod schema;
pub mod values;
mod views;
mod views_check;

pub use check::{decimal_shape, Model};
pub use error::{describe_schema_error, pointer_to_path, MetadataError, MetadataErrors};
pub use ident::{check_ident, IdentError, RESERVED_WORDS};
pub use items::*;
pub use package::{parse_file, parse_files, read_dir, SourceFile, SourcedItem};
pub use schema::kind_schema;
pub use views::*;

/// Reads, parses and checks the package in `dir`.
pub fn load_dir(dir: &std::path::Path) -> Result<(Model, Vec<SourcedItem>), MetadataErrors> {
    let files = read_dir(dir)?;
    load_files(&files)
}

/// Parses and checks a package given as files in memory.
pub fn load_files(files: &[SourceFile]) -> Result<(Model, Vec<SourcedItem>), MetadataErrors> {
    let items = parse_files(files)?;
    let model = Model::build(&items)?;
    Ok((model, items))
}
