//! The JSON routes of the signed-in user: who they are and their
//! preferences (`/api/v1/me`), and their API tokens (`/api/v1/tokens`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::JsonBody;
use crate::engine::{CurrentUser, Engine, Locale, Preferences};
use crate::model::zone::Zone;

/// `GET /api/v1/me`: the user (with the session's CSRF token, for scripts
/// of the UI).
pub(super) async fn me(user: CurrentUser) -> Json<CurrentUser> {
    Json(user)
}

/// `PATCH /api/v1/me` `{"locale": "zh-CN", "time_zone": "Asia/Shanghai"}`
/// (`null`: follow the browser). All of the change or none of it.
pub(super) async fn update_me(
    State(engine): State<Arc<Engine>>,
    mut user: CurrentUser,
    JsonBody(body): JsonBody,
) -> Result<Json<CurrentUser>, ApiError> {
    let (patch, errors) = preferences_patch(&body);
    if !errors.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the change is not valid",
        )
        .with_details(Value::Array(errors)));
    }
    engine.auth().set_preferences(user.id, &patch).await?;
    if let Some(locale) = patch.locale {
        user.locale = locale;
    }
    if let Some(zone) = patch.time_zone {
        user.time_zone = zone;
    }
    Ok(Json(user))
}

/// The preferences a `PATCH /api/v1/me` body sets, and an error per key
/// that is not one or has a value it cannot take.
fn preferences_patch(body: &Value) -> (Preferences, Vec<Value>) {
    let mut patch = Preferences::default();
    let mut errors = Vec::new();
    let Some(fields) = body.as_object() else {
        let error = json!({"field": "", "code": "type", "message": "expected an object"});
        return (patch, vec![error]);
    };
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("locale", Value::Null) => patch.locale = Some(None),
            ("locale", v) => match v.as_str().and_then(Locale::parse) {
                Some(l) => patch.locale = Some(Some(l)),
                None => {
                    errors.push(json!({"field": "locale", "code": "enum", "message": "expected `en`, `zh-CN` or null"}))
                }
            },
            ("time_zone", Value::Null) => patch.time_zone = Some(None),
            ("time_zone", v) => match v.as_str().map(Zone::parse) {
                Some(Ok(z)) => patch.time_zone = Some(Some(z)),
                Some(Err(e)) => {
                    errors.push(json!({"field": "time_zone", "code": "unknown_zone", "message": e.to_string()}))
                }
                None => errors.push(
                    json!({"field": "time_zone", "code": "type", "message": "expected an IANA time zone name or null"}),
                ),
            },
            (other, _) => errors.push(json!({"field": other, "code": "unknown", "message": "cannot be changed here"})),
        }
    }
    (patch, errors)
}

/// `GET /api/v1/tokens`
pub(super) async fn list_tokens(State(engine): State<Arc<Engine>>, user: CurrentUser) -> Result<Response, ApiError> {
    let tokens = engine.auth().list_tokens(user.id).await?;
    Ok(Json(json!({ "data": tokens })).into_response())
}

/// `POST /api/v1/tokens` `{"name": "..."}`: 201 with the token, shown once.
pub(super) async fn create_token(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let name = token_name(&body)?;
    let token = engine.auth().create_token(user.id, name).await?;
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

/// The `name` of a `POST /api/v1/tokens` body, its only key.
fn token_name(body: &Value) -> Result<&str, ApiError> {
    let refuse = |field: &str, code: &str, message: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the token is not valid",
        )
        .with_details(json!([{"field": field, "code": code, "message": message}]))
    };
    if let Some(other) = body.as_object().and_then(|o| o.keys().find(|k| *k != "name")) {
        return Err(refuse(other, "unknown_field", "is not a property of a token"));
    }
    match body.get("name") {
        Some(Value::String(name)) => Ok(name),
        Some(_) => Err(refuse("name", "type", "expected a text")),
        None => Err(refuse("name", "required", "is required")),
    }
}

/// `DELETE /api/v1/tokens/{id}`: 204.
pub(super) async fn revoke_token(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    engine.auth().revoke_token(user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
