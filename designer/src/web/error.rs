//! The one mapping of the editor's errors to HTTP: a status and a stable
//! JSON shape, `{"error": {"code", "message", "problems"}}`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::editor::{EditorError, Problem};
use crate::workspace::WorkspaceError;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The editor refused.
    #[error(transparent)]
    Editor(#[from] EditorError),
    /// The request body is not the JSON expected.
    #[error("the request body is not valid: {0}")]
    BadJson(String),
    /// A blocking task failed (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        use EditorError as E;
        match self {
            ApiError::BadJson(_) => (StatusCode::BAD_REQUEST, "bad_json"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Editor(e) => match e {
                E::UnknownKind(_) => (StatusCode::NOT_FOUND, "unknown_kind"),
                E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
                E::BadName { .. } => (StatusCode::BAD_REQUEST, "bad_name"),
                E::BadItem(_) => (StatusCode::BAD_REQUEST, "bad_item"),
                E::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
                E::Exists(_) => (StatusCode::CONFLICT, "exists"),
                E::Workspace(WorkspaceError::BadPath(_)) => (StatusCode::BAD_REQUEST, "bad_path"),
                E::Workspace(WorkspaceError::Package(_)) => (StatusCode::UNPROCESSABLE_ENTITY, "unreadable_package"),
                E::Workspace(_) => (StatusCode::INTERNAL_SERVER_ERROR, "workspace"),
            },
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status_code().0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        let problems: &[Problem] = match &self {
            ApiError::Editor(EditorError::Invalid(p)) => p,
            _ => &[],
        };
        let body = json!({ "error": { "code": code, "message": self.to_string(), "problems": problems } });
        (status, Json(body)).into_response()
    }
}

/// A JSON body whose rejection is an [`ApiError`] (same shape as every error).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(ApiError::BadJson(rejection_text(&e))),
        }
    }
}

fn rejection_text(e: &JsonRejection) -> String {
    e.body_text()
}
