//! The signed-in user's paths of the OpenAPI document: `/me` (who they
//! are, their preferences) and `/tokens` (their API tokens).

use serde_json::{json, Map, Value};

use super::responses::{errors, Body};
use super::API_BASE;

/// Adds `/me` and `/tokens` and their schemas.
pub(super) fn add_paths(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let nullable = |t: Value| json!({"anyOf": [t, {"type": "null"}]});
    schemas.insert(
        "Me".into(),
        json!({"type": "object", "required": ["id", "username", "display_name", "is_admin"], "properties": {
            "id": {"type": "string", "format": "uuid"},
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "locale": nullable(json!({"type": "string", "enum": ["en", "zh-CN"]})),
            "time_zone": {"type": ["string", "null"], "description": "An IANA time zone; null: the browser's (UI) or the installation's (API)"},
            "is_admin": {"type": "boolean"},
            "csrf_token": {"type": "string", "description": "Only with a session: send it as X-CSRF-Token on writes"}
        }}),
    );
    schemas.insert(
        "Token".into(),
        json!({"type": "object", "required": ["id", "name", "created_at"], "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "last_used_at": {"type": ["string", "null"], "format": "date-time"},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"}
        }}),
    );
    let r = |s: &str| json!({"$ref": format!("#/components/schemas/{s}")});
    let me = json!({"description": "The signed-in user", "content": {"application/json": {"schema": r("Me")}}});
    let tag = json!(["Account"]);
    paths.insert(
        format!("{API_BASE}/me"),
        json!({
            "get": {"tags": tag, "summary": "Who is signed in", "operationId": "get_me",
                    "responses": errors(json!({"200": me}), Body::None)},
            "patch": {"tags": tag, "summary": "Change one's language or time zone (null: follow the browser)",
                      "operationId": "update_me",
                      "requestBody": {"required": true, "content": {"application/json": {"schema": {
                          "type": "object", "additionalProperties": false, "properties": {
                              "locale": nullable(json!({"type": "string", "enum": ["en", "zh-CN"]})),
                              "time_zone": {"anyOf": [{"type": "string", "enum": crate::model::zone::names()}, {"type": "null"}],
                                            "description": "An IANA time zone name, e.g. Asia/Shanghai"}
                          }}}}},
                      "responses": errors(json!({"200": me}), Body::Json)}
        }),
    );
    paths.insert(
        format!("{API_BASE}/tokens"),
        json!({
            "get": {"tags": tag, "summary": "One's API tokens (never their secrets)", "operationId": "list_tokens",
                    "responses": errors(json!({"200": {"description": "The tokens", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"data": {"type": "array", "items": r("Token")}}}}}}}), Body::None)},
            "post": {"tags": tag, "summary": "Create an API token (shown once)", "operationId": "create_token",
                     "requestBody": {"required": true, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["name"], "additionalProperties": false,
                         "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "[^ \\t\\n\\r]"}}}}}},
                     "responses": errors(json!({"201": {"description": "The token; `token` is its secret, shown only now",
                         "content": {"application/json": {"schema": {"type": "object", "required": ["id", "name", "token", "created_at"], "properties": {
                             "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                             "token": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}}}}}), Body::Json)}
        }),
    );
    paths.insert(
        format!("{API_BASE}/tokens/{{id}}"),
        json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
            "delete": {"tags": tag, "summary": "Revoke one of one's tokens", "operationId": "revoke_token",
                       "responses": errors(json!({"204": {"description": "Revoked"}}), Body::None)}
        }),
    );
}
