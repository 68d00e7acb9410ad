//! What both hand-written baselines share: the request payloads, the
//! If-Match header, the JSON error responses and the date formats.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

time::serde::format_description!(pub date_fmt, Date, "[year]-[month]-[day]");

/// The body of `POST /contacts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub full_name: String,
    pub salutation: Option<String>,
    pub company: Option<Uuid>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub preferred_channel: Option<String>,
    pub city: Option<String>,
    #[serde(default, with = "date_fmt::option")]
    pub birthday: Option<Date>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_contacted_at: Option<OffsetDateTime>,
    pub do_not_call: Option<bool>,
    pub relationship_notes: Option<String>,
}

/// The body of `PATCH /contacts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    pub job_title: Option<String>,
}

/// The query of `GET /contacts`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub city: String,
}

/// The list page.
#[derive(Debug, serde::Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
}

/// The row version in `If-Match: "N"`.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    let raw = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"').parse().ok()
}

/// `"N"` for the ETag header.
pub fn etag(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""));
    [(header::ETAG, value)]
}

/// A JSON error response.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

/// A database error as a response: 409 for a unique violation, 422 for a
/// missing referenced record, 500 otherwise (printed once: it is a bug).
pub fn db_error(e: sqlx::Error) -> Response {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return error(StatusCode::CONFLICT, "unique", "another contact has this e-mail");
        }
        if d.is_foreign_key_violation() {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "reference", "no such company");
        }
    }
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}
