//! JSON Schemas of the item kinds, generated from the Rust types.

use std::sync::OnceLock;

use schemars::{schema_for, JsonSchema};
use serde_json::{json, Value};

use super::items::{EntityDef, PicklistDef, ITEM_KINDS};
use super::views::{FormDef, ListDef, ModuleDef};

/// The JSON Schema of one item kind, as shipped in `metadata/schema/<kind>.schema.json`.
pub fn kind_schema(kind: &str) -> Option<Value> {
    match kind {
        "entity" => Some(with_kind::<EntityDef>("entity")),
        "picklist" => Some(with_kind::<PicklistDef>("picklist")),
        "form" => Some(with_kind::<FormDef>("form")),
        "list" => Some(with_kind::<ListDef>("list")),
        "module" => Some(with_kind::<ModuleDef>("module")),
        "demo" => Some(with_kind::<super::demo::DemoDef>("demo")),
        _ => None,
    }
}

/// The schema of `T` with the `kind` tag added: the tag lives on the enum in
/// Rust, but each file carries it, so each file's schema must allow it.
fn with_kind<T: JsonSchema>(kind: &str) -> Value {
    let mut schema = schema_for!(T).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            json!(format!("https://relata.dev/schema/v1/{kind}.schema.json")),
        );
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            let mut with_tag = serde_json::Map::new();
            with_tag.insert(
                "kind".into(),
                json!({ "const": kind, "description": "The kind of item this file holds." }),
            );
            with_tag.extend(std::mem::take(props));
            *props = with_tag;
        }
        if let Some(version) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("version"))
            .and_then(Value::as_object_mut)
        {
            version.insert("const".into(), json!(super::items::LANGUAGE_VERSION));
        }
        if let Some(required) = obj.get_mut("required").and_then(Value::as_array_mut) {
            required.insert(0, json!("kind"));
        }
    }
    schema
}

/// The compiled validator of one item kind, built once per process.
pub(crate) fn kind_validator(kind: &str) -> Option<&'static jsonschema::Validator> {
    static VALIDATORS: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    let all = VALIDATORS.get_or_init(|| {
        ITEM_KINDS
            .iter()
            .filter_map(|k| {
                let schema = kind_schema(k)?;
                // The schemas are generated from our own types; failing to
                // compile one is a programming error caught by the tests.
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .ok()?;
                Some((*k, validator))
            })
            .collect()
    });
    all.iter().find(|(k, _)| *k == kind).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_schema_that_compiles() {
        for kind in ITEM_KINDS {
            assert!(kind_validator(kind).is_some(), "{kind}");
        }
    }

    #[test]
    fn shipped_schemas_match_the_rust_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata/schema");
        for kind in ITEM_KINDS {
            let shipped = std::fs::read_to_string(dir.join(format!("{kind}.schema.json"))).unwrap_or_default();
            let generated = serde_json::to_string_pretty(&kind_schema(kind)).unwrap_or_default();
            assert_eq!(
                shipped.trim_end(),
                generated,
                "metadata/schema/{kind}.schema.json is stale: run `cargo run -- schema metadata/schema`"
            );
        }
    }
}
