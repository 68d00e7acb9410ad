//! `GET /admin/api/v1/audit`: the trail of promotions, rollbacks and imports.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::Admin;
use crate::engine::Engine;
use crate::web::error::ApiError;

/// `GET /audit`: every release change, newest first.
pub async fn list(State(engine): State<Arc<Engine>>, _admin: Admin) -> Result<Json<Value>, ApiError> {
    let entries = engine.release_audit().await?;
    Ok(Json(json!({ "data": entries })))
}
