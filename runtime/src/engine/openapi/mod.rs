//! The OpenAPI 3.1 document of the API: the record API generated from a
//! release, the pick lists with their current values, the signed-in user's
//! paths and the admin API. It is a contract the server keeps: every
//! parameter states the grammar the server reads, every answer the server
//! can give is declared (checked by schemathesis in CI, see `.ci/fuzz`).

mod account;
mod admin;
mod enums;
mod params;
mod picklists;
pub(crate) mod responses;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::compiled::CompiledEntity;
use super::payload::{field_schema, payload_schema, PayloadKind};
use super::picklists::PicklistValues;
use super::Limits;
use crate::model::Model;
pub use admin::ADMIN_BASE;
use params::Names;
use responses::{error_schema, errors, Body};

/// Where the REST API is published. The OpenAPI document's paths and the
/// messages that point at a route are written under it, and the web layer
/// serves the routes there (`web::API_PREFIX` is this constant).
pub const API_BASE: &str = "/api/v1";

/// What the document is made from.
pub(crate) struct Source<'a> {
    /// The release's model.
    pub model: &'a Model,
    /// Its compiled entities (their columns name the parameters' values).
    pub entities: &'a HashMap<String, Arc<CompiledEntity>>,
    /// The release's number.
    pub release: i64,
    /// The effective pick lists: their active codes are the request enums.
    pub picklists: &'a PicklistValues,
    /// Page and count limits.
    pub limits: Limits,
}

/// The OpenAPI document of `src`.
pub(crate) fn document(src: &Source<'_>) -> Value {
    let model = src.model;
    let mut schemas = Map::new();
    let mut paths = Map::new();
    schemas.insert("Error".into(), error_schema());
    for e in model.entities.values() {
        let Some(compiled) = src.entities.get(&e.name) else {
            continue;
        };
        let names = Names::of(compiled);
        let name = pascal(&e.name);
        let mut record_props = Map::new();
        record_props.insert("id".into(), json!({"type": "string", "format": "uuid"}));
        record_props.insert(
            "row_version".into(),
            json!({"type": "integer", "description": "Send it back in If-Match to update."}),
        );
        for f in &e.fields {
            let schema = if f.field_type == crate::model::FieldType::Reference {
                // The id, or with `expand=` the referenced record.
                json!({"anyOf": [field_schema(f), {"type": "object"}]})
            } else if f.field_type.is_stored_in_table() {
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
        let mut create = payload_schema(e, PayloadKind::Create);
        let mut patch = payload_schema(e, PayloadKind::Patch);
        enums::add_codes(&mut create, src.picklists);
        enums::add_codes(&mut patch, src.picklists);
        schemas.insert(format!("{name}Create"), create);
        schemas.insert(format!("{name}Patch"), patch);
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
        let list = params::list_parameters(&names, src.limits.count_cap, src.limits.max_page_size);
        let read = params::read_parameters(&names);
        paths.insert(base.clone(), json!({
            "get": {"tags": tag, "summary": format!("List {}", e.plural_label.en), "operationId": format!("list_{}", e.name),
                    "description": FILTERS, "parameters": list, "responses": errors(json!({"200": page}), Body::None)},
            "post": {"tags": tag, "summary": format!("Create a {}", e.label.en), "operationId": format!("create_{}", e.name),
                     "requestBody": body(format!("{name}Create")), "responses": errors(json!({"201": one}), Body::Json)}
        }));
        paths.insert(format!("{base}/{{id}}"), json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "get": {"tags": tag, "summary": format!("Read a {}", e.label.en), "operationId": format!("get_{}", e.name),
                    "parameters": read,
                    "responses": errors(json!({"200": one}), Body::None)},
            "patch": {"tags": tag, "summary": format!("Update a {}", e.label.en), "operationId": format!("update_{}", e.name),
                      "parameters": [{"name": "If-Match", "in": "header", "required": true,
                                      "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                                      "description": "The row_version read: \"3\", W/\"3\" or 3"}],
                      "requestBody": body(format!("{name}Patch")), "responses": errors(json!({"200": one}), Body::Json)},
            "delete": {"tags": tag, "summary": format!("Move a {} to the recycle bin", e.label.en), "operationId": format!("delete_{}", e.name),
                       "responses": errors(json!({"200": one}), Body::None)}
        }));
        paths.insert(format!("{base}/{{id}}/restore"), json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "post": {"tags": tag, "summary": format!("Restore a {} from the recycle bin", e.label.en), "operationId": format!("restore_{}", e.name),
                     "responses": errors(json!({"200": one}), Body::None)}
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
                         "requestBody": upload_body(&limits.types),
                         "responses": errors(json!({"201": {"description": "The stored file",
                             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}}}), Body::Multipart)}
            }));
        }
        for c in &e.commands {
            paths.insert(format!("{base}/{{id}}/commands/{}", c.name), command_path(e, c, &tag));
        }
        paths.insert(format!("{API_BASE}/recycle-bin/{}", e.name), json!({
            "get": {"tags": tag, "summary": format!("List deleted {}", e.plural_label.en), "operationId": format!("list_deleted_{}", e.name),
                    "parameters": params::list_parameters(&names, src.limits.count_cap, src.limits.max_page_size),
                    "responses": errors(json!({"200": page}), Body::None)}
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
                "responses": errors(json!({"200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}}), Body::None)},
        "delete": {"tags": ["Attachments"], "summary": "Remove a file from its record (the file is kept until a purge)", "operationId": "delete_attachment",
                   "responses": errors(json!({"200": {"description": "The removed file",
                       "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}}}), Body::None)}
    }));
    let lists: Vec<&str> = model.picklists.keys().map(String::as_str).collect();
    picklists::add_paths(&mut paths, &mut schemas, &lists);
    account::add_paths(&mut paths, &mut schemas);
    admin::add_paths(&mut paths, &mut schemas);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Relata API", "version": format!("release {}", src.release)},
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
            {"name": "q", "in": "query", "required": false, "schema": {"type": "string", "maxLength": crate::engine::query::MAX_SEARCH_CHARS}, "description": "The text to search for"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
             "description": "Most records per entity"}
        ],
        "responses": errors(json!({"200": {"description": "The records found", "content": {"application/json": {"schema": {
            "type": "object",
            "properties": {"data": {"type": "array", "items": hit}, "query": {"type": "string"}, "limit": {"type": "integer"}}
        }}}}}), Body::None)
    }})
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
        let mut s = param_schema(p);
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
                 "description": "Runs the command's rule in one transaction; changes it makes to the record are saved. A command whose `when` the record does not meet, or whose rule refuses, answers 422.",
                 "requestBody": {"required": !required.is_empty(), "content": {"application/json": {"schema": {
                     "type": "object", "additionalProperties": false, "properties": props, "required": required}}}},
                 "responses": errors(json!({"200": {"description": "What to show or open next",
                     "content": {"application/json": {"schema": {"type": "object", "properties": {
                         "message": {"type": "string"},
                         "open": {"type": "object", "description": "{entity, id} of a record, or {url}"}}}}}}}), Body::Json)}
    })
}

/// A command parameter's value as the server reads it: `null` (and, for
/// texts, `""`) means absent, which a required parameter cannot be.
fn param_schema(p: &crate::model::CommandParam) -> Value {
    use crate::model::FieldType as T;
    let value = match p.param_type {
        T::Integer => json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}),
        T::Boolean => json!({"type": "boolean"}),
        t if t.is_decimal() => json!({"type": "number"}),
        T::Date => json!({"type": "string", "format": "date"}),
        T::Datetime => json!({"type": "string", "format": "date-time"}),
        T::Reference => json!({"type": "string", "format": "uuid"}),
        _ => json!({"type": "string", "minLength": 1}),
    };
    if p.required {
        return value;
    }
    json!({"anyOf": [value, {"type": "null"}, {"type": "string", "maxLength": 0}]})
}

/// The body of an upload: the file in the part `file` (of a type the
/// field takes, when it names types); a session's upload also sends
/// `_csrf`. No other part is read.
fn upload_body(types: &[String]) -> Value {
    let mut body = json!({"required": true, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "additionalProperties": false,
        "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}, "_csrf": {"type": "string"}}}}}});
    if !types.is_empty() {
        body["content"]["multipart/form-data"]["encoding"] = json!({"file": {"contentType": types.join(", ")}});
    }
    body
}

/// The filters of a list, which take any field's name as a parameter (not
/// declared one by one: see docs/api/contract.md).
const FILTERS: &str = "Filters: FIELD=OP.VALUE with OP one of eq, ne, lt, le, gt, ge, contains, starts_with, in (in.(a,b)), is (is.null / is.not_null); FIELD may be REFERENCE.FIELD; ENTITY.VIA=exists.true|false for related records; relative values: today, today+N, today-N (dates, datetimes), now (datetimes), me (owner_id, created_by, updated_by). Several filters are combined with AND. See docs/api/records.md.";

/// `If-Match` as the server reads it (see `web::extract::IfMatch`).
pub(crate) const IF_MATCH_PATTERN: &str = "^(W/)?(\"[0-9]{1,18}\"|[0-9]{1,18})$";

/// The document last built, with what it was built from.
#[derive(Default)]
pub(crate) struct Cache(std::sync::Mutex<Option<Built>>);

struct Built {
    model: Arc<super::CompiledModel>,
    picklists: Arc<PicklistValues>,
    bytes: bytes::Bytes,
}

impl super::Engine {
    /// The OpenAPI document (JSON) of the live release with the current
    /// pick lists, built again only when either changed.
    pub fn openapi(&self) -> bytes::Bytes {
        let model = self.model.load_full();
        let picklists = self.picklists.load_full();
        let mut cache = self.openapi.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = cache.as_ref() {
            if Arc::ptr_eq(&b.model, &model) && Arc::ptr_eq(&b.picklists, &picklists) {
                return b.bytes.clone();
            }
        }
        let doc = document(&Source {
            model: &model.model,
            entities: &model.entities,
            release: model.release,
            picklists: &picklists,
            limits: self.limits,
        });
        // A Value always serialises; an empty body would be the answer to a bug.
        let bytes: bytes::Bytes = serde_json::to_vec(&doc).unwrap_or_default().into();
        *cache = Some(Built {
            model,
            picklists,
            bytes: bytes.clone(),
        });
        bytes
    }
}
