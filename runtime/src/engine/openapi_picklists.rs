//! The pick-list administration paths of the OpenAPI document.
//!
//! Record schemas mark picklist fields with `x-picklist` instead of an
//! `enum` of codes: the document is built once per release, while
//! administrators change the values at run time, so an enum would go stale
//! (and make generated clients refuse valid codes). Clients read the current
//! values from `GET /api/v1/picklists/{name}`.

use serde_json::{json, Map, Value};

use super::openapi::{with_errors, API_BASE};

/// Adds the `/api/v1/picklists` paths and their schemas.
pub(super) fn add_paths(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let labels = json!({"type": "object", "required": ["en", "zh-CN"],
        "properties": {"en": {"type": "string"}, "zh-CN": {"type": "string"}}});
    schemas.insert(
        "PicklistValue".into(),
        json!({"type": "object", "properties": {
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$", "description": "Stored on records; never changes"},
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
    let name = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let admin = "Administrators only (403 `forbidden` otherwise).";
    paths.insert(format!("{API_BASE}/picklists"), json!({
        "get": {"tags": tag, "summary": "Every pick list with its values", "operationId": "list_picklists",
                "responses": with_errors(json!({"200": {"description": "The pick lists", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Picklist"}}}}}}}}))}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}"), json!({
        "parameters": [name],
        "get": {"tags": tag, "summary": "One pick list with all its values, active or not", "operationId": "get_picklist",
                "responses": with_errors(json!({"200": one}))}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/values"), json!({
        "parameters": [name],
        "post": {"tags": tag, "summary": "Add a value at the end of the list", "description": admin, "operationId": "add_picklist_value",
                 "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code", "label"],
                     "properties": {"code": {"type": "string"}, "label": labels}}}}},
                 "responses": with_errors(json!({"201": one}))}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/values/{{code}}"), json!({
        "parameters": [name, {"name": "code", "in": "path", "required": true, "schema": {"type": "string"}}],
        "patch": {"tags": tag, "summary": "Rename, deactivate or reactivate a value", "description": admin, "operationId": "update_picklist_value",
                  "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                      "label": {"type": "object", "properties": {"en": {"type": "string"}, "zh-CN": {"type": "string"}}},
                      "active": {"type": "boolean"}}}}}},
                  "responses": with_errors(json!({"200": one}))}
    }));
    paths.insert(format!("{API_BASE}/picklists/{{name}}/order"), json!({
        "parameters": [name],
        "put": {"tags": tag, "summary": "Put the values in a new order", "description": format!("{admin} `codes` holds every code of the list, active or not, exactly once."),
                "operationId": "reorder_picklist",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["codes"],
                    "properties": {"codes": {"type": "array", "items": {"type": "string"}}}}}}},
                "responses": with_errors(json!({"200": one}))}
    }));
}
