//! The OpenAPI 3.1 document of the record API, generated from a release.

use serde_json::{json, Map, Value};

use super::payload::{field_schema, payload_schema, PayloadKind};
use crate::model::Model;

/// Where the REST API is published. The OpenAPI document's paths and the
/// messages that point at a route are written under it, and the web layer
/// serves the routes there (`web::API_PREFIX` is this constant).
pub const API_BASE: &str = "/api/v1";

/// The OpenAPI document for `model` at release `release`.
pub fn document(model: &Model, release: i64) -> Value {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert("Error".into(), error_schema());
    for e in model.entities.values() {
        let name = pascal(&e.name);
        let mut record_props = Map::new();
        record_props.insert("id".into(), json!({"type": "string", "format": "uuid"}));
        record_props.insert(
            "row_version".into(),
            json!({"type": "integer", "description": "Send it back in If-Match to update."}),
        );
        for f in &e.fields {
            let schema = if f.field_type.is_stored_in_table() {
                field_schema(f)
            } else {
                json!({"type": "array", "readOnly": true, "items": {"$ref": "#/components/schemas/Attachment"},
                       "description": format!("{}: the files, uploaded with POST {}/{{id}}/attachments/{}; read one record to get them",
                                              f.label.en, format_args!("{API_BASE}/records/{}", e.name), f.name)})
            };
            record_props.insert(f.name.clone(), schema);
        }
        for ts in ["created_at", "updated_at"] {
            record_props.insert(ts.into(), json!({"type": "string", "format": "date-time"}));
        }
        for who in ["created_by", "updated_by", "owner_id"] {
            record_props.insert(who.into(), json!({"type": ["string", "null"], "format": "uuid"}));
        }
        record_props.insert(
            "deleted_at".into(),
            json!({"type": ["string", "null"], "format": "date-time"}),
        );
        schemas.insert(
            name.clone(),
            json!({"type": "object", "title": e.label.en, "properties": record_props}),
        );
        schemas.insert(format!("{name}Create"), payload_schema(e, PayloadKind::Create));
        schemas.insert(format!("{name}Patch"), payload_schema(e, PayloadKind::Patch));
        let r = |s: &str| json!({"$ref": format!("#/components/schemas/{s}")});
        let one = json!({"description": "The record", "content": {"application/json": {"schema": r(&name)}}});
        let page = json!({"description": "A page of records", "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": r(&name)},
                "next_cursor": {"type": ["string", "null"]},
                "total": {"type": "integer"},
                "total_capped": {"type": "boolean"}
            }
        }}}});
        let body = |s: String| json!({"required": true, "content": {"application/json": {"schema": r(&s)}}});
        let tag = json!([e.label.en]);
        let base = format!("{API_BASE}/records/{}", e.name);
        paths.insert(base.clone(), json!({
            "get": {"tags": tag, "summary": format!("List {}", e.plural_label.en), "operationId": format!("list_{}", e.name),
                    "parameters": list_parameters(), "responses": with_errors(json!({"200": page}))},
            "post": {"tags": tag, "summary": format!("Create a {}", e.label.en), "operationId": format!("create_{}", e.name),
                     "requestBody": body(format!("{name}Create")), "responses": with_errors(json!({"201": one}))}
        }));
        paths.insert(format!("{base}/{{id}}"), json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "get": {"tags": tag, "summary": format!("Read a {}", e.label.en), "operationId": format!("get_{}", e.name),
                    "parameters": [param("fields", "Comma-separated fields to return"), param("expand", "Comma-separated reference fields to expand one level")],
                    "responses": with_errors(json!({"200": one}))},
            "patch": {"tags": tag, "summary": format!("Update a {}", e.label.en), "operationId": format!("update_{}", e.name),
                      "parameters": [{"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"}, "description": "The row_version read (ETag)"}],
                      "requestBody": body(format!("{name}Patch")), "responses": with_errors(json!({"200": one}))},
            "delete": {"tags": tag, "summary": format!("Move a {} to the recycle bin", e.label.en), "operationId": format!("delete_{}", e.name),
                       "responses": with_errors(json!({"200": one}))}
        }));
        paths.insert(format!("{base}/{{id}}/restore"), json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "post": {"tags": tag, "summary": format!("Restore a {} from the recycle bin", e.label.en), "operationId": format!("restore_{}", e.name),
                     "responses": with_errors(json!({"200": one}))}
        }));
        for f in e.attachment_fields() {
            let limits = f.attachment_limits();
            let types = if limits.types.is_empty() {
                "any type".to_owned()
            } else {
                limits.types.join(", ")
            };
            paths.insert(format!("{base}/{{id}}/attachments/{}", f.name), json!({
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "post": {"tags": tag, "summary": format!("Upload to {} of a {}", f.label.en, e.label.en),
                         "operationId": format!("upload_{}_{}", e.name, f.name),
                         "description": format!("multipart/form-data with the file in the part `file`. {}; at most {} MB each ({}). A single-file field replaces its file.",
                                                if limits.multiple { "Several files" } else { "One file" }, limits.max_bytes() / (1024 * 1024), types),
                         "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
                             "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                         "responses": attachment_errors(json!({"201": {"description": "The stored file",
                             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}}}))}
            }));
        }
        for c in &e.commands {
            paths.insert(format!("{base}/{{id}}/commands/{}", c.name), command_path(e, c, &tag));
        }
        paths.insert(format!("{API_BASE}/recycle-bin/{}", e.name), json!({
            "get": {"tags": tag, "summary": format!("List deleted {}", e.plural_label.en), "operationId": format!("list_deleted_{}", e.name),
                    "parameters": list_parameters(), "responses": with_errors(json!({"200": page}))}
        }));
    }
    let searchable: Vec<&str> = model
        .entities
        .values()
        .filter(|e| e.search.is_some())
        .map(|e| e.name.as_str())
        .collect();
    paths.insert(format!("{API_BASE}/search"), search_path(&searchable));
    schemas.insert("Attachment".into(), attachment_schema());
    let id_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
    paths.insert(format!("{API_BASE}/attachments/{{id}}"), json!({
        "parameters": id_param,
        "get": {"tags": ["Attachments"], "summary": "Download a file", "operationId": "download_attachment",
                "description": "The bytes with the stored Content-Type, Content-Length, Content-Disposition: attachment (filename* in UTF-8) and X-Content-Type-Options: nosniff.",
                "responses": with_errors(json!({"200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}))},
        "delete": {"tags": ["Attachments"], "summary": "Remove a file from its record (the file is kept until a purge)", "operationId": "delete_attachment",
                   "responses": with_errors(json!({"200": {"description": "The removed file",
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}}}))}
    }));
    super::openapi_picklists::add_paths(&mut paths, &mut schemas);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Relata record API", "version": format!("release {release}")},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                "description": format!("An API token (rlt_...) from POST {API_BASE}/tokens or `relata create-token`")},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "relata_session",
                "description": "The browser session of the UI; writes also need the X-CSRF-Token header"}
        }}
    })
}

/// `GET /api/v1/search` over the searchable entities.
fn search_path(searchable: &[&str]) -> Value {
    let hit = json!({
        "type": "object",
        "properties": {
            "entity": {"type": "string", "enum": searchable},
            "label": {"type": "string", "description": "The entity's label, in the user's language"},
            "id": {"type": "string", "format": "uuid"},
            "display": {"type": "string", "description": "The record's display field"},
            "score": {"type": "number", "description": "Relevance within the entity; higher is better"}
        }
    });
    json!({"get": {
        "tags": ["Search"],
        "summary": "Search every searchable entity",
        "description": "Live records whose display field or search fields contain every term of q (a word prefix, or any part of a Chinese text); grouped by entity, best first. An empty q finds nothing.",
        "operationId": "search",
        "parameters": [
            param("q", "The text to search for"),
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
             "description": "Most records per entity"}
        ],
        "responses": with_errors(json!({"200": {"description": "The records found", "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"data": {"type": "array", "items": hit}, "query": {"type": "string"}, "limit": {"type": "integer"}}
        }}}}}))
    }})
}

fn param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description})
}

fn list_parameters() -> Value {
    json!([
        param("sort", "Comma-separated fields; prefix with - for descending"),
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        param("cursor", "next_cursor of the previous page"),
        param("fields", "Comma-separated fields to return"),
        param("expand", "Comma-separated reference fields to expand one level"),
        {"name": "total", "in": "query", "schema": {"oneOf": [{"type": "boolean"}, {"type": "integer", "minimum": 2, "maximum": 10000}]}, "description": "Also count the matches, up to 10,000 (true) or up to the number given"},
        {"name": "filters", "in": "query", "style": "form", "explode": true,
         "schema": {"type": "object", "additionalProperties": {"type": "string"}},
         "description": "FIELD=OP.VALUE with OP one of eq, ne, lt, le, gt, ge, contains, starts_with, in (in.(a,b)), is (is.null / is.not_null); FIELD may be REFERENCE.FIELD; relative values: today, today+N, today-N (dates, datetimes), now (datetimes), me (owner_id, created_by, updated_by)"}
    ])
}

pub(super) fn with_errors(ok: Value) -> Value {
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    for (code, what) in [
        ("400", "Malformed request"),
        ("401", "No valid API token or session"),
        (
            "403",
            "A cookie-authenticated write without the X-CSRF-Token, or an administrator-only operation",
        ),
        ("404", "Unknown entity or record"),
        ("409", "The record changed since it was read"),
        ("413", "Body too large"),
        ("422", "Invalid payload: one error per field"),
        ("428", "If-Match is required"),
    ] {
        responses.insert(
            code.into(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(responses)
}

fn attachment_errors(ok: Value) -> Value {
    let mut responses = with_errors(ok);
    if let Some(r) = responses.as_object_mut() {
        let err = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        for (code, what) in [
            ("413", "too_large: the file is larger than the field's limit (the message says it)"),
            ("415", "type_refused: the file's type (sniffed from its bytes) is not accepted; details list the allowed types"),
        ] {
            let mut e = err.clone();
            e["description"] = json!(what);
            r.insert(code.into(), e);
        }
    }
    responses
}

fn attachment_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "field": {"type": "string"},
            "file_name": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer", "description": "Bytes"},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "description": "GET it to download the file"}
        }
    })
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"description": "Per-field errors (an array), or facts about a refused file (an object)", "type": ["array", "object"], "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}
                }},
                "current": {"type": "object", "description": "On 409: the record as stored now"}
            }
        }}
    })
}

fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The path of one command: its parameters as the request body, what to
/// show or open as the answer.
fn command_path(e: &crate::model::EntityDef, c: &crate::model::CommandDef, tag: &Value) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in &c.params {
        let mut s = match p.param_type {
            crate::model::FieldType::Integer => json!({"type": "integer"}),
            crate::model::FieldType::Boolean => json!({"type": "boolean"}),
            t if t.is_decimal() => json!({"type": "number"}),
            _ => json!({"type": "string"}),
        };
        s["description"] = json!(p.label.en);
        props.insert(p.name.clone(), s);
        if p.required {
            required.push(json!(p.name));
        }
    }
    json!({
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
        "post": {"tags": tag, "summary": format!("{} ({})", c.label.en, e.label.en),
                 "operationId": format!("command_{}_{}", e.name, c.name),
                 "description": "Runs the command's rule in one transaction; changes it makes to the record are saved.",
                 "requestBody": {"required": false, "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": false, "properties": props, "required": required}}}},
                 "responses": with_errors(json!({"200": {"description": "What to show or open next",
                     "content": {"application/json": {"schema": {"type": "object", "properties": {
                         "message": {"type": "string"},
                         "open": {"type": "object", "description": "{entity, id} of a record, or {url}"}}}}}}}))}
    })
}
