//! The designer's editor, without HTTP: items of the workspace read, checked
//! with the runtime's own validator, and written back in a canonical YAML
//! form; the editing form of any item kind built from the kind's JSON
//! Schema; the Rhai scripts, compile-checked.

pub mod browse;
pub mod form;
pub mod items;
pub mod layout;
pub mod scripts;
pub mod shape;
pub mod yaml;

use serde::Serialize;

use crate::workspace::WorkspaceError;

/// One problem found in the package, placed for the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, relative to the package (`sales/lead.yaml`, `scripts/lead.rhai`).
    pub file: String,
    /// Where inside an item, as a JSON pointer (`/fields/2/target`; empty
    /// for the whole item or for a script).
    pub pointer: String,
    /// The runtime's path (`fields[2].target`, `line 3, column 5`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// Places a runtime error.
    pub fn from_metadata(e: &relata::model::MetadataError) -> Problem {
        Problem {
            file: e.file.clone(),
            pointer: path_to_pointer(&e.path),
            path: e.path.clone(),
            message: e.message.clone(),
        }
    }
}

/// Why the editor refused a request; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// The workspace could not be read or written.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// No such item kind.
    #[error("unknown item kind `{0}`; expected one of: {kinds}", kinds = relata::model::ITEM_KINDS.join(", "))]
    UnknownKind(String),
    /// No such item.
    #[error("no {kind} named `{name}` in the workspace")]
    NotFound {
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
    },
    /// A name that cannot be an item's or a script's.
    #[error("`{name}` is not a valid name: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The item is not of the expected shape at all.
    #[error("{0}")]
    BadItem(String),
    /// The item does not pass its kind's JSON Schema (or a script does not compile).
    #[error("{} problem(s); nothing was saved", .0.len())]
    Invalid(Vec<Problem>),
    /// Another item of the kind has the name already, or its file exists.
    #[error("{0} exists already")]
    Exists(String),
}

/// Turns a runtime path (`fields[2].target`, `label.zh-CN`) into a JSON
/// pointer (`/fields/2/target`); a script position (`line 3, column 5`)
/// or an empty path gives the empty pointer.
pub fn path_to_pointer(path: &str) -> String {
    if path.is_empty() || path.starts_with("line ") {
        return String::new();
    }
    let mut out = String::from("/");
    for c in path.chars() {
        match c {
            '.' | '[' => {
                if !out.ends_with('/') {
                    out.push('/');
                }
            }
            ']' => {}
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::path_to_pointer;

    #[test]
    fn runtime_paths_become_pointers() {
        assert_eq!(path_to_pointer("fields[2].target"), "/fields/2/target");
        assert_eq!(path_to_pointer("label.zh-CN"), "/label/zh-CN");
        assert_eq!(
            path_to_pointer("tabs[0].sections[1].fields[3]"),
            "/tabs/0/sections/1/fields/3"
        );
        assert_eq!(path_to_pointer("name"), "/name");
        assert_eq!(path_to_pointer(""), "");
        assert_eq!(path_to_pointer("line 3, column 5"), "");
        for p in ["fields[2].target", "label.zh-CN", "tabs[0].sections[1].fields[3]"] {
            assert_eq!(relata::model::pointer_to_path(&path_to_pointer(p)), p);
        }
    }
}
