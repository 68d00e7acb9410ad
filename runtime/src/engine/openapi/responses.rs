//! The error answers every operation of the OpenAPI document declares, in
//! the one error envelope of the API (`{"error": {code, message, details?}}`).

use serde_json::{json, Value};

/// What an operation reads from the request body; it decides the answers
/// about the body the operation can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body.
    None,
    /// A JSON body (415 when sent as another type).
    Json,
    /// A multipart upload (413 and 415 about the file).
    Multipart,
}

/// The error answers any operation may give.
const COMMON: [(&str, &str); 6] = [
    (
        "400",
        "Malformed request: a parameter, the JSON or a header (the message says which)",
    ),
    ("401", "No valid API token or session"),
    (
        "403",
        "A cookie-authenticated write without the X-CSRF-Token, or an administrator-only operation",
    ),
    ("404", "Unknown entity, record or item"),
    (
        "409",
        "The record changed since it was read (`current` holds it as stored now)",
    ),
    (
        "503",
        "The database is busy (a write waited for its lock and gave up); retry after the Retry-After header's seconds",
    ),
];

/// `ok` (the success answers) with the error answers of an operation that
/// reads `body`.
pub(crate) fn errors(ok: Value, body: Body) -> Value {
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    let mut add = |code: &str, what: &str| {
        responses.insert(
            code.into(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    };
    for (code, what) in COMMON {
        add(code, what);
    }
    match body {
        Body::None => {}
        Body::Json => {
            add("413", "The body is larger than the limit (the message says it)");
            add("415", "The body is not sent as application/json");
            add("422", "Invalid payload: one error per field in `details`");
        }
        Body::Multipart => {
            add(
                "413",
                "too_large: the file is larger than the field's limit (the message says it)",
            );
            add("415", "type_refused: the file's type (sniffed from its bytes) is not accepted; details list the allowed types; or the body is not multipart/form-data");
            add("422", "The record cannot take the file");
        }
    }
    if body == Body::Json {
        add("428", "If-Match is required");
    }
    serde_json::Value::Object(responses)
}

/// The envelope of every error answer.
pub(crate) fn error_schema() -> Value {
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
