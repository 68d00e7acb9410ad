//! Errors found in a metadata package: each names the file, the place in it
//! and what was expected, and a package reports all of them at once.

use std::fmt;

/// One problem in one metadata file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataError {
    /// The file, relative to the package root (`sales/contact.yaml`).
    pub file: String,
    /// Where in the file: `fields[2].target`; empty for the whole file.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl MetadataError {
    /// An error at `path` inside `file`.
    pub fn new(file: impl Into<String>, path: impl Into<String>, message: impl Into<String>) -> Self {
        MetadataError {
            file: file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// All the problems of a package; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MetadataErrors(pub Vec<MetadataError>);

impl fmt::Display for MetadataErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the metadata has {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// Turns a JSON pointer (`/fields/2/target`) into the dotted form used in
/// messages (`fields[2].target`).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

/// The message of a schema error; enumerations list every allowed value
/// (the library's own message stops after a dozen).
pub fn describe_schema_error(e: &jsonschema::ValidationError<'_>) -> String {
    match e.kind() {
        jsonschema::error::ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} is not allowed; expected one of: {}",
                e.instance(),
                allowed.join(", ")
            )
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::pointer_to_path;

    #[test]
    fn pointers_read_like_paths() {
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/fields/2/target"), "fields[2].target");
        assert_eq!(pointer_to_path("/label/zh-CN"), "label.zh-CN");
    }
}
