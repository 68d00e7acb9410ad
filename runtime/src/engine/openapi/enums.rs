//! The codes of pick-list fields in the request schemas of the OpenAPI
//! document. Administrators change pick lists between releases, so the
//! document is rebuilt when they do (see `Engine::openapi`) and states the
//! codes a write may set now: the active ones. The record (read) schemas
//! keep `x-picklist` alone, since a stored record may hold a code made
//! inactive since.

use serde_json::{json, Value};

use crate::engine::picklists::PicklistValues;

/// Adds `enum` (the active codes) to every property of `schema` (a create
/// or patch schema) that names a pick list with `x-picklist`.
pub(super) fn add_codes(schema: &mut Value, picklists: &PicklistValues) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for prop in props.values_mut() {
        let Some(list) = prop
            .get("x-picklist")
            .and_then(Value::as_str)
            .and_then(|name| picklists.get(name))
        else {
            continue;
        };
        let codes: Vec<Value> = list.values.iter().filter(|v| v.active).map(|v| json!(v.code)).collect();
        let nullable = prop["type"].as_array().is_some_and(|t| t.contains(&json!("null")));
        if prop["type"] == json!("array") || prop["type"].as_array().is_some_and(|t| t.contains(&json!("array"))) {
            prop["items"]["enum"] = Value::Array(codes);
        } else {
            let mut codes = codes;
            if nullable {
                codes.push(Value::Null);
            }
            prop["enum"] = Value::Array(codes);
        }
    }
}
