//! Extractors that turn malformed requests into the JSON error envelope.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde_json::Value;

use super::error::ApiError;
use super::strict_json::{self, check_content_type, Refusal, MAX_DEPTH};

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON object body: 415 unless sent as `application/json` (at most a
/// `charset=utf-8` parameter), 413 when too large, 400 when malformed, when
/// a key is given twice in one object or when nested too deep.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("(not text)"));
        if let Err(why) = check_content_type(content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                why,
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the body is larger than this endpoint accepts ({MAX_BODY} bytes for records \
                         and sign-in, {} bytes for a package on /admin)",
                        super::admin::MAX_PACKAGE
                    ),
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
            }
        })?;
        let value = strict_json::parse(&bytes).map_err(|why| match why {
            Refusal::Malformed(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            ),
            Refusal::DuplicateKey { key, at } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "duplicate_key",
                format!("the body gives the key `{key}` twice in the object at {at}; send each key once"),
            ),
            Refusal::TooDeep => ApiError::new(
                StatusCode::BAD_REQUEST,
                "too_deep",
                format!("the body nests arrays and objects more than {MAX_DEPTH} levels deep"),
            ),
        })?;
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "the body must be a JSON object",
            )
            .with_details(serde_json::json!([{"field": "_", "code": "type", "message": "expected a JSON object"}])));
        }
        Ok(JsonBody(value))
    }
}

/// The row version from `If-Match` (`"3"`, `W/"3"` or `3`), if sent.
#[derive(Debug)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        // Exactly the OpenAPI document's grammar: `3`, `"3"`, `W/"3"`.
        let text = raw.to_str().unwrap_or_default().trim();
        let text = text.strip_prefix("W/").unwrap_or(text);
        let digits = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        let valid = (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        let parsed = if valid { digits.parse::<i64>().ok() } else { None };
        parsed.map(|v| IfMatch(Some(v))).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_if_match",
                "If-Match must hold the record's row_version, e.g. If-Match: \"3\"",
            )
        })
    }
}
