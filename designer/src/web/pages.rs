//! The designer's HTML pages. Each reads what it shows through
//! [`crate::editor`] and renders a template; an error becomes a message page.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::error::ApiError;
use super::templates::{page, render_form, render_layout};
use super::{blocking, Shared};
use crate::editor::{browse, form, items, layout, scripts};

const APP_CSS: &str = include_str!("../../../runtime/assets/app.css");
const DESIGNER_CSS: &str = include_str!("../../assets/designer.css");
const DESIGNER_JS: &str = include_str!("../../assets/designer.js");

fn failed(e: ApiError) -> Response {
    page(
        e.status(),
        "message.html",
        context! { title => "Not possible", message => e.to_string() },
    )
}

fn shown(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(failed)
}

/// `/`: the model by module.
pub async fn overview(State(s): State<Shared>) -> Response {
    shown(
        async {
            let overview = blocking(&s, false, browse::overview).await?;
            Ok(page(
                StatusCode::OK,
                "overview.html",
                context! { title => "Model", overview, kinds => relata::model::ITEM_KINDS },
            ))
        }
        .await,
    )
}

/// `/kinds`: every item by kind.
pub async fn kinds(State(s): State<Shared>) -> Response {
    shown(
        async {
            let groups = blocking(&s, false, browse::by_kind).await?;
            Ok(page(
                StatusCode::OK,
                "kinds.html",
                context! { title => "All items", groups },
            ))
        }
        .await,
    )
}

fn editor(
    kind: &str,
    original: &str,
    path: &str,
    item: &serde_json::Value,
    view: &form::View,
) -> Result<Response, ApiError> {
    let root = items::schema(kind)?;
    let form_html = render_form(&form::build(&root, item, view)).map_err(ApiError::Internal)?;
    let title = match original {
        "" => format!("New {kind}"),
        name => format!("{kind} {name}"),
    };
    let item_json = serde_json::to_string(item).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(page(
        StatusCode::OK,
        "item.html",
        context! { title, kind, original, path, item_json, form_html },
    ))
}

/// `/items/{kind}/{name}`: the editor of one item.
pub async fn item(State(s): State<Shared>, Path((kind, name)): Path<(String, String)>) -> Response {
    shown(
        async {
            let (k, n) = (kind.clone(), name.clone());
            let (loaded, names) = blocking(&s, false, move |ws| {
                Ok((items::load(ws, &k, &n)?, items::catalog(ws)?.names()))
            })
            .await?;
            let view = form::View {
                names,
                ..form::View::default()
            };
            editor(&kind, &name, &loaded.info.path, &loaded.value, &view)
        }
        .await,
    )
}

/// `/new/{kind}`: the editor of a new item (nothing is written before Save).
pub async fn new_item(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    shown(
        async {
            let item = items::skeleton(&kind)?;
            let names = blocking(&s, false, |ws| Ok(items::catalog(ws)?.names())).await?;
            let view = form::View {
                names,
                ..form::View::default()
            };
            editor(&kind, "", "", &item, &view)
        }
        .await,
    )
}

/// `/layout/{name}`: the layout editor of the form `name`.
pub async fn layout(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    shown(
        async {
            let n = name.clone();
            let (item, view) = blocking(&s, false, move |ws| {
                let item = items::load(ws, "form", &n)?.value;
                let view = layout::view(ws, &item)?;
                Ok((item, view))
            })
            .await?;
            let body = render_layout(&view).map_err(ApiError::Internal)?;
            let item_json = serde_json::to_string(&item).map_err(|e| ApiError::Internal(e.to_string()))?;
            let title = format!("Layout of form {name}");
            Ok(page(
                StatusCode::OK,
                "layout.html",
                context! { title, name, item_json, body },
            ))
        }
        .await,
    )
}

/// `/scripts`: the workspace's scripts.
pub async fn scripts(State(s): State<Shared>) -> Response {
    shown(
        async {
            let names = blocking(&s, false, scripts::list).await?;
            Ok(page(
                StatusCode::OK,
                "scripts.html",
                context! { title => "Scripts", names },
            ))
        }
        .await,
    )
}

/// `/scripts/{name}`: the editor of one script (a new one when it does not exist).
pub async fn script(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    shown(
        async {
            let n = name.clone();
            let text = blocking(&s, false, move |ws| match scripts::load(ws, &n) {
                Err(crate::editor::EditorError::NotFound { .. }) => Ok(String::new()),
                other => other,
            })
            .await?;
            Ok(page(
                StatusCode::OK,
                "script.html",
                context! { title => name.clone(), name, text },
            ))
        }
        .await,
    )
}

/// `/assets/{file}`: the style sheets (the runtime's own, and the designer's) and the script.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, mime) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "designer.css" => (DESIGNER_CSS, "text/css; charset=utf-8"),
        "designer.js" => (DESIGNER_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, mime)], body).into_response()
}
