//! `GET /api/v1/search`: the global search, a thin adapter over
//! [`Engine::search`].

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::engine::{CurrentUser, Engine, DEFAULT_PER_ENTITY, MAX_PER_ENTITY};

/// `GET /api/v1/search?q=...&limit=...`: records of every searchable
/// entity matching `q`, grouped by entity, best first; `limit` per entity.
/// Labels are in the user's language (English when none is set).
pub async fn search(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut text = String::new();
    let mut limit = None;
    for (k, v) in &params {
        match k.as_str() {
            "q" => v.clone_into(&mut text),
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_PER_ENTITY).contains(&n) => limit = Some(n),
                _ => {
                    return Err(bad(format!(
                        "`limit` must be a whole number from 1 to {MAX_PER_ENTITY}"
                    )))
                }
            },
            other => return Err(bad(format!("unknown parameter `{other}`; expected q or limit"))),
        }
    }
    let locale = user.locale.unwrap_or_default();
    let groups = engine.search(&text, limit).await?;
    let data: Vec<Value> = groups
        .iter()
        .flat_map(|g| {
            let label = locale.pick(&g.label);
            g.hits.iter().map(move |h| {
                json!({
                    "entity": g.entity,
                    "label": label,
                    "id": h.id,
                    "display": h.display,
                    "score": h.score,
                })
            })
        })
        .collect();
    Ok(Json(json!({
        "data": data,
        "query": text,
        "limit": limit.unwrap_or(DEFAULT_PER_ENTITY),
    })))
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}
