//! Handlers of pick-list administration, `/api/v1/picklists`: thin adapters
//! to the engine. Reading is open to every signed-in user (integrators need
//! the labels and the active codes); changes are for administrators.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::JsonBody;
use crate::engine::{CurrentUser, EffectiveList, Engine, NewPicklistValue, PicklistValuePatch};

/// A JSON body into a typed request; a shape mismatch is a 422 like any
/// other invalid input.
fn parse<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the body does not have the expected shape",
        )
        .with_details(json!([{ "field": "_", "code": "invalid", "message": e.to_string() }]))
    })
}

/// `GET /api/v1/picklists`: every pick list with its values.
pub async fn list(State(engine): State<Arc<Engine>>, _user: CurrentUser) -> Json<Value> {
    let lists = engine.picklists();
    let data: Vec<&EffectiveList> = lists.iter().collect();
    Json(json!({ "data": data }))
}

/// `GET /api/v1/picklists/{name}`
pub async fn get(
    State(engine): State<Arc<Engine>>,
    _user: CurrentUser,
    Path(name): Path<String>,
) -> Result<Json<EffectiveList>, ApiError> {
    Ok(Json(engine.picklist(&name)?))
}

/// `POST /api/v1/picklists/{name}/values`: add a value at the end.
pub async fn add_value(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(axum::http::StatusCode, Json<EffectiveList>), ApiError> {
    let value: NewPicklistValue = parse(body)?;
    let list = engine.add_picklist_value(&user, &name, &value).await?;
    Ok((axum::http::StatusCode::CREATED, Json(list)))
}

/// `PATCH /api/v1/picklists/{name}/values/{code}`: rename, deactivate, reactivate.
pub async fn update_value(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((name, code)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<EffectiveList>, ApiError> {
    let patch: PicklistValuePatch = parse(body)?;
    Ok(Json(engine.update_picklist_value(&user, &name, &code, &patch).await?))
}

/// The body of `PUT /api/v1/picklists/{name}/order`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    codes: Vec<String>,
}

/// `PUT /api/v1/picklists/{name}/order`: every code, in the new order.
pub async fn reorder(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<EffectiveList>, ApiError> {
    let order: Order = parse(body)?;
    Ok(Json(engine.reorder_picklist(&user, &name, &order.codes).await?))
}
