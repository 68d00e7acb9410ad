//! The workspace's Rhai scripts: listed, read, compile-checked with the
//! runtime's own rule engine (errors with line and column), saved.

use relata::engine::rules::check_syntax;
use relata::model::{script_name, SCRIPTS_DIR, SCRIPT_EXTENSION};
use serde::Serialize;

use super::items::check_with;
use super::{EditorError, Problem};
use crate::workspace::Workspace;

/// A syntax error of a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptError {
    /// The line, from 1 (0: unknown).
    pub line: usize,
    /// The column, from 1 (0: unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The result of checking a script.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScriptCheck {
    /// Its syntax errors.
    pub errors: Vec<ScriptError>,
    /// The package's problems that name the script (a function an entity
    /// binds that it lacks, ...), checked only when it compiles.
    pub problems: Vec<Problem>,
}

/// The names of the workspace's scripts (`lead.rhai`, `lib/money.rhai`).
pub fn list(ws: &Workspace) -> Result<Vec<String>, EditorError> {
    Ok(ws
        .files()?
        .iter()
        .filter_map(|f| script_name(&f.path).map(str::to_owned))
        .collect())
}

/// Checks a script name: folders and a file of a-z, 0-9 and `_`, ending in `.rhai`.
pub fn check_script_name(name: &str) -> Result<(), EditorError> {
    let bad = |reason: &str| EditorError::BadName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let stem = name
        .strip_suffix(&format!(".{SCRIPT_EXTENSION}"))
        .ok_or_else(|| bad("a script's name ends in .rhai"))?;
    let parts: Vec<&str> = stem.split('/').collect();
    let plain = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if parts.len() > 3 || !parts.iter().all(plain) {
        return Err(bad("use a-z, 0-9 and _, with at most two folders (lib/money.rhai)"));
    }
    Ok(())
}

fn file_path(name: &str) -> String {
    format!("{SCRIPTS_DIR}/{name}")
}

/// The text of the script `name`.
pub fn load(ws: &Workspace, name: &str) -> Result<String, EditorError> {
    check_script_name(name)?;
    let path = file_path(name);
    ws.files()?
        .into_iter()
        .find(|f| f.path == path)
        .map(|f| f.text)
        .ok_or_else(|| EditorError::NotFound {
            kind: "script".into(),
            name: name.to_owned(),
        })
}

/// Compiles `text` with the runtime's rule engine, alone (so the rest of
/// the package cannot hide its errors), then checks the package with it in
/// place.
pub fn check(ws: &Workspace, name: &str, text: &str) -> Result<ScriptCheck, EditorError> {
    check_script_name(name)?;
    let path = file_path(name);
    let errors: Vec<ScriptError> = match check_syntax(text) {
        Ok(()) => Vec::new(),
        Err(e) => vec![ScriptError {
            line: e.line.unwrap_or(0),
            column: e.column.unwrap_or(0),
            message: e.message,
        }],
    };
    if !errors.is_empty() {
        return Ok(ScriptCheck {
            errors,
            problems: Vec::new(),
        });
    }
    let problems = check_with(ws, &path, text)?
        .into_iter()
        .filter(|p| p.file == path || p.message.contains(&path))
        .collect();
    Ok(ScriptCheck { errors, problems })
}

/// Saves the script `name` (creating it); refused when it does not compile.
pub fn save(ws: &Workspace, name: &str, text: &str) -> Result<ScriptCheck, EditorError> {
    let checked = check(ws, name, text)?;
    if !checked.errors.is_empty() {
        let problems = checked
            .errors
            .iter()
            .map(|e| Problem {
                file: file_path(name),
                pointer: String::new(),
                path: format!("line {}, column {}", e.line, e.column),
                message: e.message.clone(),
            })
            .collect();
        return Err(EditorError::Invalid(problems));
    }
    ws.write_file(&file_path(name), text)?;
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_names_stay_inside_the_scripts_folder() {
        for ok in ["lead.rhai", "lib/money.rhai"] {
            assert!(check_script_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../x.rhai",
            "lead",
            "/etc/x.rhai",
            "a//b.rhai",
            "Lead.rhai",
            "a/b/c/d.rhai",
            ".rhai",
        ] {
            assert!(check_script_name(bad).is_err(), "{bad}");
        }
    }
}
