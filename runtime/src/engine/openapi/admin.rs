//! The admin API's paths of the OpenAPI document (`/admin/api/v1`):
//! releases, plans, promotion, rollback, export and import, the audit
//! trail. Administrators only (403 for other users).

use serde_json::{json, Map, Value};

use super::responses::{errors, Body};

/// Where the admin API is mounted (the web layer nests its routes here).
pub const ADMIN_BASE: &str = "/admin/api/v1";

/// Adds the admin paths and their schemas.
pub(super) fn add_paths(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    schemas.insert(
        "PackageFile".into(),
        json!({"type": "object", "required": ["path", "text"], "additionalProperties": false, "properties": {
            "path": {"type": "string", "description": "Relative to the package root: sales/tender.yaml, scripts/tender.rhai"},
            "text": {"type": "string"}
        }}),
    );
    schemas.insert(
        "Release".into(),
        json!({"type": "object", "properties": {
            "number": {"type": "integer"}, "author": {"type": "string"}, "comment": {"type": "string"},
            "checksum": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": ["pending", "applied", "failed"]},
            "parent": {"type": ["integer", "null"]}, "failure": {"type": ["string", "null"]},
            "active": {"type": "boolean"}
        }}),
    );
    schemas.insert(
        "Plan".into(),
        json!({"type": "object", "description": "What a change would do; nothing was changed to compute it", "properties": {
            "live_release": {"type": "integer"}, "stale": {"type": "boolean"}, "unchanged": {"type": "boolean"},
            "diff": {"type": "object"},
            "steps": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "description": {"type": "string"}, "destructive": {"type": "boolean"},
                "action": {"type": "object"}, "affected_rows": {"type": "integer"}}}},
            "refusals": {"type": "array", "items": {"type": "object"}}
        }}),
    );
    let r = |s: &str| json!({"$ref": format!("#/components/schemas/{s}")});
    let answer = |what: &str, schema: Value| json!({"200": {"description": what, "content": {"application/json": {"schema": schema}}}});
    let body = |props: Value, required: Value| {
        json!({"required": true, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false, "properties": props, "required": required}}}})
    };
    let files = json!({"type": "array", "items": r("PackageFile")});
    let confirm =
        json!({"type": "array", "items": {"type": "string"}, "description": "Ids of the destructive steps confirmed"});
    let n = json!([{"name": "n", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let tag = json!(["Administration"]);
    let mut add = |path: &str, item: Value| {
        paths.insert(format!("{ADMIN_BASE}{path}"), item);
    };
    add(
        "/releases",
        json!({"get": {"tags": tag, "summary": "Every release, newest first", "operationId": "admin_list_releases",
        "responses": errors(answer("The releases", json!({"type": "object", "properties": {"data": {"type": "array", "items": r("Release")}}})), Body::None)}}),
    );
    add(
        "/releases/{n}",
        json!({"parameters": n, "get": {"tags": tag, "summary": "A release with its items", "operationId": "admin_get_release",
        "responses": errors(answer("The release", json!({"allOf": [r("Release"), {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}]})), Body::None)}}),
    );
    add(
        "/releases/{n}/export",
        json!({"parameters": n, "get": {"tags": tag, "summary": "A release as one file (release-{n}.json)", "operationId": "admin_export_release",
        "responses": errors(answer("The export file", json!({"type": "object"})), Body::None)}}),
    );
    add(
        "/releases/{n}/rollback",
        json!({"parameters": n, "post": {"tags": tag,
        "summary": "Make release n's items live again, as a new release (?plan=true: only say what it would do)",
        "operationId": "admin_rollback",
        "parameters": [{"name": "plan", "in": "query", "schema": {"type": "boolean"}}],
        "requestBody": body(json!({"comment": {"type": ["string", "null"]}, "confirm": confirm, "plan": {"type": "boolean"}}), json!([])),
        "responses": errors(answer("The outcome, or the plan", json!({"type": "object"})), Body::Json)}}),
    );
    add(
        "/releases/import",
        json!({"post": {"tags": tag, "summary": "Apply (or with ?plan=true, plan) an exported release",
        "operationId": "admin_import_release",
        "parameters": [{"name": "plan", "in": "query", "schema": {"type": "boolean"}},
                       {"name": "confirm", "in": "query", "schema": {"type": "string"}, "description": "Confirmed step ids, comma-separated"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
            "description": "An export file, or {\"export\": file, \"confirm\": [ids]}"}}}},
        "responses": errors(answer("What was (or would be) done", json!({"type": "object"})), Body::Json)}}),
    );
    add(
        "/plan",
        json!({"post": {"tags": tag, "summary": "The item diff and schema plan of a package; changes nothing", "operationId": "admin_plan",
        "requestBody": body(json!({"files": files, "base_release": {"type": ["integer", "null"]}}), json!(["files"])),
        "responses": errors(answer("The plan", r("Plan")), Body::Json)}}),
    );
    add(
        "/promote",
        json!({"post": {"tags": tag, "summary": "Make a package the live release", "operationId": "admin_promote",
        "requestBody": body(json!({"files": files, "comment": {"type": "string"}, "base_release": {"type": ["integer", "null"]}, "confirm": confirm}), json!(["files"])),
        "responses": errors(answer("The new release, its steps and diff", json!({"type": "object", "properties": {
            "release": {"type": ["integer", "null"]}, "unchanged": {"type": "boolean"},
            "steps": {"type": "array", "items": {"type": "object"}}, "diff": {"type": "object"}}})), Body::Json)}}),
    );
    add(
        "/audit",
        json!({"get": {"tags": tag, "summary": "The audit trail of releases", "operationId": "admin_audit",
        "responses": errors(answer("The entries, newest first", json!({"type": "object", "properties": {"data": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "action": {"type": "string"}, "actor": {"type": "string"},
            "at": {"type": "string", "format": "date-time"}, "from_release": {"type": ["integer", "null"]},
            "to_release": {"type": "integer"}, "comment": {"type": "string"}, "summary": {"type": "object"}}}}}})), Body::None)}}),
    );
}
