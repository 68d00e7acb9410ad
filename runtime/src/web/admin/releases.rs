//! Releases: list, show, roll back, export and import.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{typed, Admin, AdminQuery, ReleaseNumber};
use crate::engine::promotion::{unreadable_export, ImportOutcome, ReleaseDetail};
use crate::engine::{Engine, ReleaseExport};
use crate::web::error::ApiError;
use crate::web::extract::JsonBody;

/// `GET /releases`: every release, newest first.
pub async fn list(State(engine): State<Arc<Engine>>, _admin: Admin) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "data": engine.releases().await? })))
}

/// `GET /releases/{n}`: one release with its items.
pub async fn show(
    State(engine): State<Arc<Engine>>,
    _admin: Admin,
    ReleaseNumber(n): ReleaseNumber,
) -> Result<Json<ReleaseDetail>, ApiError> {
    Ok(Json(engine.release_detail(n).await?))
}

/// The body of `POST /releases/{n}/rollback`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    confirm: Vec<String>,
    /// Only plan (as `?plan=true`).
    #[serde(default)]
    plan: bool,
}

/// The query of `POST /releases/{n}/rollback`.
#[derive(Debug, Default, Deserialize)]
pub struct RollbackQuery {
    /// Only plan: answer what rolling back would do, change nothing.
    #[serde(default)]
    plan: bool,
}

/// `POST /releases/{n}/rollback`: release n's items as a new release, or
/// with `?plan=true` the plan of doing so (as `POST /plan` answers it).
pub async fn rollback(
    State(engine): State<Arc<Engine>>,
    Admin(user): Admin,
    ReleaseNumber(n): ReleaseNumber,
    AdminQuery(q): AdminQuery<RollbackQuery>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let body: RollbackBody = typed(body)?;
    let answer = if q.plan || body.plan {
        serde_json::to_value(engine.plan_rollback(n).await?)
    } else {
        serde_json::to_value(engine.rollback(n, user.username, body.comment, body.confirm).await?)
    };
    answer.map(Json).map_err(|e| ApiError::internal(&e))
}

/// `GET /releases/{n}/export`: the release as one JSON file, offered as a
/// download named `release-{n}.json`.
pub async fn export(
    State(engine): State<Arc<Engine>>,
    _admin: Admin,
    ReleaseNumber(n): ReleaseNumber,
) -> Result<Response, ApiError> {
    let file = engine.export_release(n).await?;
    let mut resp = Json(file).into_response();
    let disposition = format!("attachment; filename=\"release-{n}.json\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The query of `POST /releases/import`.
#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    /// Only plan.
    #[serde(default)]
    plan: bool,
    /// Confirmed destructive step ids, comma-separated.
    #[serde(default)]
    confirm: Option<String>,
}

/// The body of `POST /releases/import` when it wraps the file to confirm
/// steps: `{"export": {...}, "confirm": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    export: ReleaseExport,
    #[serde(default)]
    confirm: Vec<String>,
}

/// `POST /releases/import`: an export file (JSON or YAML, bare or wrapped
/// with `confirm`), checked against its checksums, planned (`?plan=true`)
/// or applied as a new release.
pub async fn import(
    State(engine): State<Arc<Engine>>,
    Admin(user): Admin,
    AdminQuery(q): AdminQuery<ImportQuery>,
    body: Bytes,
) -> Result<Json<ImportOutcome>, ApiError> {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        // YAML, read within bounds (a hostile file is refused fast).
        Err(_) => {
            let text = std::str::from_utf8(&body).map_err(|e| ApiError::from(unreadable_export(e)))?;
            crate::model::yaml_limits::parse_export(text).map_err(|e| ApiError::from(unreadable_export(e)))?
        }
    };
    let (export, mut confirm) = if value.get("export").is_some() {
        let w: Wrapped = typed(value)?;
        (w.export, w.confirm)
    } else {
        let file = serde_json::from_value(value).map_err(|e| ApiError::from(unreadable_export(e)))?;
        (file, Vec::new())
    };
    confirm.extend(q.confirm.iter().flat_map(|c| c.split(',')).map(|s| s.trim().to_owned()));
    Ok(Json(
        engine.import_release(&export, user.username, confirm, q.plan).await?,
    ))
}
