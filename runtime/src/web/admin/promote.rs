//! `POST /admin/api/v1/plan` and `POST /admin/api/v1/promote`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::{typed, Admin};
use crate::engine::promotion::{PlanReport, PromoteOutcome};
use crate::engine::{Engine, PromoteRequest};
use crate::model::SourceFile;
use crate::web::error::ApiError;
use crate::web::extract::JsonBody;

/// One file of a package in a request.
#[derive(Debug, Deserialize)]
pub struct FileInput {
    /// Path relative to the package root (`sales/tender.yaml`, `scripts/x.rhai`).
    pub path: String,
    /// The file's text.
    pub text: String,
}

fn files(input: Vec<FileInput>) -> Vec<SourceFile> {
    input
        .into_iter()
        .map(|f| SourceFile {
            path: f.path,
            text: f.text,
        })
        .collect()
}

/// The body of `POST /plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    files: Vec<FileInput>,
    #[serde(default)]
    base_release: Option<i64>,
}

/// The body of `POST /promote`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteBody {
    files: Vec<FileInput>,
    #[serde(default)]
    comment: String,
    /// `null` or absent: the package was made when no release existed.
    #[serde(default)]
    base_release: Option<i64>,
    #[serde(default)]
    confirm: Vec<String>,
}

/// `POST /plan`: the item diff and schema plan of a package; changes nothing.
pub async fn plan(
    State(engine): State<Arc<Engine>>,
    _admin: Admin,
    JsonBody(body): JsonBody,
) -> Result<Json<PlanReport>, ApiError> {
    let body: PlanBody = typed(body)?;
    Ok(Json(engine.plan_package(&files(body.files), body.base_release).await?))
}

/// `POST /promote`: applies a package as the new live release.
pub async fn promote(
    State(engine): State<Arc<Engine>>,
    Admin(user): Admin,
    JsonBody(body): JsonBody,
) -> Result<Json<PromoteOutcome>, ApiError> {
    let body: PromoteBody = typed(body)?;
    let req = PromoteRequest {
        files: files(body.files),
        author: user.username,
        comment: body.comment,
        base_release: Some(body.base_release.unwrap_or(0)),
        confirm: body.confirm,
    };
    Ok(Json(engine.promote(req).await?))
}
