//! The pick-list administration paths of the OpenAPI document.
//!
//! Record schemas mark picklist fields with `x-picklist` instead of an
//! `enum` of codes: the document is built once per release, while
//! administrators change the values at run time, so an enum would go stale
//! (and make generated clients refuse valid codes). Clients read the current
//! values from `GET /api/v1/picklists/{name}`.

use serde_json::{json, Map, Value};

use super::responses::{errors, Body};
use super::API_BASE;
use crate::engine::picklist_admin::MAX_LABEL_CHARS;

/// A pick-list code (`model::check_code`).
const CODE_PATTERN: &str = "^[a-z][a-z0-9_]{0,62}$";

/// Adds the `/api/v1/picklists` paths and their schemas; `names` are the
/// model's pick lists.
pub(super) fn add_paths(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>, names: &[&str]) {
    let labels = json!({"type": "object", "required": ["en", "zh-CN"],
        "properties": {"en": {"type": "string"}, "zh-CN": {"type": "string"}}});
    schemas.insert(
        "PicklistValue".into(),
        json!({"type": "object", "properties": {
            "code": {"type": "string", "pattern": CODE_PATTERN, "description": "Stored on records; never changes"},
            "label": labels,
            "active": {"type": "boolean", "description": "Inactive values are refused on new writes but stay readable on old records"},
            "origin": {"type": "string", "enum": ["metadata", "runtime"]}
        }}),
    );
    schemas.insert(
        "Picklist".into(),
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "label": labels,
            "values": {"type": "array", "items": {"$ref": "#/components/schemas/PicklistValue"}, "description": "In display order"}
        }}),
    );
    let tag = json!(["Pick lists"]);
    let one = json!({"description": "The pick list after the change", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Picklist"}}}});
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "enum": names}});
    let code = json!({"type": "string", "pattern": CODE_PATTERN});
    // As the server reads a label: 1 to 200 characters, not only blanks.
    let label_text =
        json!({"type": "string", "minLength": 1, "maxLength": MAX_LABEL_CHARS, "pattern": "[^ \\t\\n\\r]"});
    let new_labels = json!({"type": "object", "required": ["en", "zh-CN"], "additionalProperties": false,
        "properties": {"en": label_text.clone(), "zh-CN": label_text.clone()}});
    let admin = "Administrators only (403 `forbidden` otherwise).";
    paths.insert(format!("{API_BASE}/picklists"), json!({
        "get": {"tags": tag, "summary": "Every pick list with its values", "operationId": "list_picklists",
                "responses": errors(json!({"200": {"description": "The pick lists", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Picklist"}}}}}}}}), Body::None)}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}"), json!({
        "parameters": [name],
        "get": {"tags": tag, "summary": "One pick list with all its values, active or not", "operationId": "get_picklist",
                "responses": errors(json!({"200": one}), Body::None)}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/values"), json!({
        "parameters": [name],
        "post": {"tags": tag, "summary": "Add a value at the end of the list", "description": admin, "operationId": "add_picklist_value",
                 "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code", "label"],
                     "additionalProperties": false,
                     "properties": {"code": code.clone(), "label": new_labels}}}}},
                 "responses": errors(json!({"201": one}), Body::Json)}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/values/{{code}}"), json!({
        "parameters": [name, {"name": "code", "in": "path", "required": true, "schema": code}],
        "patch": {"tags": tag, "summary": "Rename, deactivate or reactivate a value", "description": admin, "operationId": "update_picklist_value",
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                      "additionalProperties": false, "minProperties": 1, "properties": {
                      "label": {"type": "object", "additionalProperties": false, "minProperties": 1,
                                "properties": {"en": label_text.clone(), "zh-CN": label_text.clone()}},
                      "active": {"type": "boolean"}}}}}},
                  "responses": errors(json!({"200": one}), Body::Json)}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/order"), json!({
        "parameters": [name],
        "put": {"tags": tag, "summary": "Put the values in a new order", "description": format!("{admin} `codes` holds every code of the list, active or not, exactly once."),
                "operationId": "reorder_picklist",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["codes"],
                    "additionalProperties": false,
                    "properties": {"codes": {"type": "array", "items": code}}}}}},
                "responses": errors(json!({"200": one}), Body::Json)}
    }));
}
