//! `GET /app/search?q=`: the global search page, results grouped by entity.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::context::Viewer;
use super::message::failure;
use super::page::{Crumb, Frame};
use super::templates::render;
use crate::engine::Engine;

#[derive(Debug, Serialize)]
struct Hit {
    display: String,
    href: String,
}

#[derive(Debug, Serialize)]
struct Group {
    label: String,
    hits: Vec<Hit>,
}

#[derive(Debug, Serialize)]
struct Body {
    search_q: String,
    heading: String,
    empty: String,
    groups: Vec<Group>,
}

/// The search page: the header's search box lands here.
pub async fn page(
    State(engine): State<Arc<Engine>>,
    viewer: Viewer,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let text = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let model = engine.model();
    let groups = match engine.search(&text, None).await {
        Ok(groups) => groups,
        Err(e) => return failure(&model, &viewer, e),
    };
    let locale = viewer.locale;
    let groups = groups
        .into_iter()
        .map(|g| Group {
            label: locale.pick(&g.plural_label),
            hits: g
                .hits
                .into_iter()
                .map(|h| Hit {
                    href: format!("/app/r/{}/{}", g.entity, h.id),
                    display: h.display,
                })
                .collect(),
        })
        .collect();
    let title = locale.text("search_results").to_owned();
    let heading = if text.is_empty() {
        title.clone()
    } else {
        locale.text("search_for").replace("{q}", &text)
    };
    let frame = Frame {
        model: &model,
        viewer: &viewer,
        title: title.clone(),
        breadcrumbs: vec![Crumb {
            label: title,
            href: None,
        }],
        current_list: None,
        notice: None,
    };
    let body = Body {
        empty: locale.text("search_none").replace("{q}", &text),
        search_q: text,
        heading,
        groups,
    };
    render(StatusCode::OK, "search.html", frame.page(body))
}
