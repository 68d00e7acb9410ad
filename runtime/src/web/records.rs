//! Handlers of the record API, `/api/v1/records/{entity}`: thin adapters from
//! HTTP to [`Engine`] record operations.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{IfMatch, JsonBody};
use super::API_PREFIX;
use crate::engine::{CurrentUser, Engine, ListParams, ListResult, ReadOptions};
use crate::store::ed::records::Record;

type Params = Query<Vec<(String, String)>>;

fn etag(record: &Record) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(v) = record.get("row_version").and_then(Value::as_i64) {
        if let Ok(val) = HeaderValue::from_str(&format!("\"{v}\"")) {
            h.insert(header::ETAG, val);
        }
    }
    h
}

fn one(status: StatusCode, record: Record) -> Response {
    let capacity = record.len() * JSON_BYTES_PER_FIELD;
    (status, etag(&record), json_body(&record, capacity)).into_response()
}

/// Bytes of JSON reserved per value of a record answered. A contact (27
/// values) is about 820 bytes; `axum::Json` starts from 128 and grows the
/// buffer three times, copying it each time.
const JSON_BYTES_PER_FIELD: usize = 48;

/// `body` as a JSON response, written into a buffer of `capacity` bytes.
fn json_body(body: &impl serde::Serialize, capacity: usize) -> Response {
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], buf).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

fn read_options(params: &[(String, String)]) -> Result<ReadOptions, ApiError> {
    let mut opts = ReadOptions::default();
    for (k, v) in params {
        match k.as_str() {
            "fields" => opts.fields = Some(v.clone()),
            "expand" => opts.expand = Some(v.clone()),
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("unknown parameter `{other}`; expected fields or expand"),
                ))
            }
        }
    }
    Ok(opts)
}

/// `POST /api/v1/records/{entity}`
pub async fn create(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(entity): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let record = engine.create(&entity, &body, Some(user.id)).await?;
    let location = record
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| HeaderValue::from_str(&format!("{API_PREFIX}/records/{entity}/{id}")).ok());
    let mut resp = one(StatusCode::CREATED, record);
    if let Some(loc) = location {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// `GET /api/v1/records/{entity}/{id}`
pub async fn get(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let opts = read_options(&params)?;
    Ok(one(StatusCode::OK, engine.get(&entity, &id, &opts).await?))
}

/// `PATCH /api/v1/records/{entity}/{id}` with `If-Match`.
pub async fn update(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id)): Path<(String, String)>,
    IfMatch(version): IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Ok(one(
        StatusCode::OK,
        engine.update(&entity, &id, version, &body, Some(user.id)).await?,
    ))
}

/// `DELETE /api/v1/records/{entity}/{id}`: to the recycle bin.
pub async fn delete(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id)): Path<(String, String)>,
    IfMatch(version): IfMatch,
) -> Result<Response, ApiError> {
    Ok(one(
        StatusCode::OK,
        engine.delete(&entity, &id, version, Some(user.id)).await?,
    ))
}

/// `POST /api/v1/records/{entity}/{id}/restore`
pub async fn restore(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(one(StatusCode::OK, engine.restore(&entity, &id, Some(user.id)).await?))
}

/// `GET /api/v1/records/{entity}`
pub async fn list(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(entity): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let params = ListParams::new(params).for_user(user.id, user.time_zone.clone());
    page(engine.list(&entity, &params, false).await?)
}

/// `GET /api/v1/recycle-bin/{entity}`
pub async fn list_deleted(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path(entity): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let params = ListParams::new(params).for_user(user.id, user.time_zone.clone());
    page(engine.list(&entity, &params, true).await?)
}

/// One page of a list, serialised straight from the result (no copy).
#[derive(serde::Serialize)]
struct Page<'a> {
    data: &'a [Record],
    next_cursor: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_capped: Option<bool>,
}

fn page(r: ListResult) -> Result<Response, ApiError> {
    let body = Page {
        data: &r.data,
        next_cursor: &r.next_cursor,
        total: r.total,
        total_capped: r.total.map(|_| r.total_capped),
    };
    let capacity = r
        .data
        .first()
        .map_or(64, |rec| rec.len() * JSON_BYTES_PER_FIELD * r.data.len());
    Ok(json_body(&body, capacity))
}

/// `POST /api/v1/records/{entity}/{id}/commands/{name}`: runs a command with
/// the JSON object of its parameters (an empty body for none); answers
/// `{"message"?, "open"?}`.
pub async fn command(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id, name)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // No body: no parameters. A body is the JSON object of the parameters
    // (the engine refuses anything else, `null` included).
    let params: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        })?
    };
    let outcome = engine.command(&entity, &id, &name, &params, Some(user.id)).await?;
    Ok(Json(outcome).into_response())
}
