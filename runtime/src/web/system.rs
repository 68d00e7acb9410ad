//! Health, the OpenAPI document, and the last-resort panic response.

use std::any::Any;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use crate::engine::Engine;

/// `GET /healthz`: the process answers and the active release.
pub async fn healthz(State(engine): State<Arc<Engine>>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "release": engine.model().release }))
}

/// `GET /api/v1/openapi.json`: generated from the active release.
pub async fn openapi(State(engine): State<Arc<Engine>>) -> Response {
    let doc = engine.openapi();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

/// A panic becomes a 500 in the usual envelope; the details go to the log.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(&detail).into_response()
}
