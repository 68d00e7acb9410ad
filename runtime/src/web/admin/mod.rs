//! The admin API, `/admin/api/v1`: releases, plans, promotion, rollback,
//! export/import and the audit trail. Administrators only (an admin's API
//! token or session); every handler is one [`crate::engine::Engine`] call.

mod audit;
mod promote;
mod releases;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::engine::{CurrentUser, Engine};

/// Where the admin API is mounted (the OpenAPI document's admin paths are
/// written under the same constant).
pub const PREFIX: &str = crate::engine::ADMIN_BASE;

/// The largest package or export file accepted, in bytes.
pub const MAX_PACKAGE: usize = 16 * 1024 * 1024;

/// The admin API's routes, to nest under [`PREFIX`].
pub fn routes() -> Router<Arc<Engine>> {
    Router::new()
        .route("/releases", get(releases::list))
        .route("/releases/import", post(releases::import))
        .route("/releases/{n}", get(releases::show))
        .route("/releases/{n}/rollback", post(releases::rollback))
        .route("/releases/{n}/export", get(releases::export))
        .route("/plan", post(promote::plan))
        .route("/promote", post(promote::promote))
        .route("/audit", get(audit::list))
        .layer(DefaultBodyLimit::max(MAX_PACKAGE))
}

/// A signed-in administrator: 401 without credentials (the gate answers
/// that), 403 for other users.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(ApiError::forbidden("the admin API is for administrators"));
        }
        Ok(Admin(user))
    }
}

/// The release number of a path (`/releases/{n}`): a whole number, or a
/// 400 in the API's error envelope (axum's own rejection is plain text).
#[derive(Debug, Clone, Copy)]
pub struct ReleaseNumber(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ReleaseNumber {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(text) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
        text.parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(ReleaseNumber)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("`{text}` is not a release number (1, 2, 3 ...)"),
                )
            })
    }
}

/// Query parameters as `T`, or a 400 in the API's error envelope.
#[derive(Debug)]
pub struct AdminQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AdminQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| AdminQuery(q.0))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
    }
}

/// A typed request body out of a JSON object: 422 naming what is wrong.
fn typed<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the request body is not valid: {e}"),
        )
        .with_details(serde_json::json!([{ "field": "_", "code": "invalid", "message": e.to_string() }]))
    })
}
