//! Handlers of attachments: upload (multipart), download and delete. Thin:
//! the checks (size, type, name) are the engine's.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::error::ApiError;
use crate::engine::{AttachmentError, AttachmentInfo, CurrentUser, Engine, Upload};
use crate::store::files::{BoxFuture, ChunkSource, SourceStopped, StoredFile};

/// The multipart part that carries the file.
pub const FILE_PART: &str = "file";

/// The part in which the UI's upload form sends its CSRF token.
const CSRF_PART: &str = "_csrf";

/// Extra bytes a multipart body may carry besides the file (boundaries,
/// part headers, the `_csrf` field).
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The chunks of one multipart part, as the engine reads them.
struct PartSource<'a, 'b>(&'b mut Field<'a>);

impl ChunkSource for PartSource<'_, '_> {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Bytes>, SourceStopped>> {
        Box::pin(async move { self.0.chunk().await.map_err(|e| SourceStopped(e.body_text())) })
    }
}

/// Reads the part `file` of a multipart request into an attachment field.
/// Shared by the API and the UI.
pub async fn receive(
    engine: &Engine,
    user: &CurrentUser,
    (entity, id, field): (&str, &str, &str),
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<AttachmentInfo, ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the file as multipart/form-data in a part named `{FILE_PART}` ({})",
                e.body_text()
            ),
        )
    })?;
    // The UI's `_csrf` part is skipped; the first `file` is read; any other
    // part is refused, as the OpenAPI document says.
    let mut part = loop {
        match multipart.next_field().await {
            Ok(Some(part)) if part.name() == Some(FILE_PART) => break part,
            Ok(Some(part)) if part.name() == Some(CSRF_PART) => continue,
            Ok(Some(part)) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_upload",
                    format!(
                        "unexpected part `{}`: send the file in a part named `{FILE_PART}`",
                        part.name().unwrap_or_default()
                    ),
                ))
            }
            Ok(None) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_upload",
                    format!("send the file in a multipart/form-data part named `{FILE_PART}`"),
                ))
            }
            Err(e) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_upload", e.body_text())),
        }
    };
    let file_name = part.file_name().unwrap_or_default().to_owned();
    let declared = part.content_type().map(str::to_owned);
    let uploaded = engine
        .upload(Upload {
            entity,
            record_id: id,
            field,
            file_name: &file_name,
            declared_type: declared.as_deref(),
            source: &mut PartSource(&mut part),
            actor: Some(user.id),
        })
        .await;
    if uploaded.is_err() {
        // Read the rest of a refused upload (bounded by the route's body
        // limit) before answering: a client still sending when the answer
        // comes and the connection closes sees a reset, not the error.
        while let Ok(Some(_)) = part.chunk().await {}
        while let Ok(Some(mut rest)) = multipart.next_field().await {
            while let Ok(Some(_)) = rest.chunk().await {}
        }
    }
    Ok(uploaded?)
}

/// `POST /api/v1/records/{entity}/{id}/attachments/{field}` (multipart, part `file`).
pub async fn upload(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id, field)): Path<(String, String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let info = receive(&engine, &user, (&entity, &id, &field), multipart).await?;
    let mut resp = (StatusCode::CREATED, Json(&info)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&info.url) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// `GET /api/v1/attachments/{id}`: the bytes, as a download.
pub async fn download(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (info, file) = engine.download(&id).await?;
    Ok(file_response(&info, file))
}

/// `DELETE /api/v1/attachments/{id}`: hidden from the record, file kept.
pub async fn delete(State(engine): State<Arc<Engine>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(engine.delete_attachment(&id).await?).into_response())
}

/// A download response: the stored type, the length, a `Content-Disposition`
/// that always downloads (never renders: an uploaded HTML or SVG file must not
/// run in Relata's origin) and `nosniff`.
pub fn file_response(info: &AttachmentInfo, file: StoredFile) -> Response {
    let StoredFile { len, reader } = file;
    let stream = futures_util::stream::unfold(reader, |mut reader| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    });
    let content_type =
        HeaderValue::from_str(&info.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&info.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded`
/// (RFC 6266 and RFC 8187): every browser gets the real name, old ones an
/// ASCII approximation.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

impl From<AttachmentError> for ApiError {
    fn from(e: AttachmentError) -> Self {
        let message = e.to_string();
        match e {
            AttachmentError::UnknownEntity(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_entity", message),
            AttachmentError::RecordNotFound { .. } | AttachmentError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            AttachmentError::UnknownField { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_field", message),
            AttachmentError::TooLarge { limit, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
                    .with_details(json!({ "limit_bytes": limit }))
            }
            AttachmentError::TypeRefused { found, allowed, .. } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_refused", message)
                    .with_details(json!({ "found": found, "allowed": allowed }))
            }
            AttachmentError::TypeMismatch { declared } => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_refused", message)
                    .with_details(json!({ "declared": declared }))
            }
            AttachmentError::Empty => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "empty_file", message),
            AttachmentError::Upload(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_upload", message),
            AttachmentError::Store(s) => ApiError::from(s),
            AttachmentError::Files(f) => ApiError::internal(&f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_encodes_unicode_names() {
        assert_eq!(
            content_disposition("报价 \"v2\".pdf"),
            "attachment; filename=\"__ _v2_.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%20%22v2%22.pdf"
        );
    }
}
