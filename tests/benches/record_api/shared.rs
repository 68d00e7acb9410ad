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

/// One file of the contact's photo, as the select's JSON sub-query gives
/// it: `[id, field, file_name, content_type, size_bytes, created_at]`.
#[derive(Debug, Deserialize)]
pub struct FileRow(pub Uuid, pub String, pub String, pub String, pub i64, pub String);

/// The photo files of a contact, as the generic API shows them.
#[derive(Debug, Default)]
pub struct Photo(pub Vec<FileRow>);

impl Photo {
    /// Parses the sub-query's JSON text (NULL: no file).
    pub fn parse(text: Option<&str>) -> Result<Photo, serde_json::Error> {
        match text {
            Some(t) => Ok(Photo(serde_json::from_str(t)?)),
            None => Ok(Photo::default()),
        }
    }
}

impl serde::Serialize for Photo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        #[derive(serde::Serialize)]
        struct File<'a> {
            id: Uuid,
            field: &'a str,
            file_name: &'a str,
            content_type: &'a str,
            size: i64,
            created_at: &'a str,
            url: String,
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for FileRow(id, field, file_name, content_type, size, created_at) in &self.0 {
            seq.serialize_element(&File {
                id: *id,
                field,
                file_name,
                content_type,
                size: *size,
                created_at,
                url: format!("/api/v1/attachments/{id}"),
            })?;
        }
        seq.end()
    }
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
