//! The JSON API the editor's script calls. Every error has the shape of
//! [`ApiError`]; a refused request changes nothing.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, Body};
use super::{blocking, templates, Shared};
use crate::editor::{form, items, layout, scripts, EditorError};

/// An item sent by the editor.
#[derive(Debug, Deserialize)]
pub struct ItemBody {
    /// The item, as JSON.
    pub item: Value,
}

/// `GET /api/items`: every item.
pub async fn list(State(s): State<Shared>) -> Result<Json<items::Catalog>, ApiError> {
    Ok(Json(blocking(&s, false, items::catalog).await?))
}

/// `GET /api/items/{kind}/{name}`: one item, with its file.
pub async fn read(
    State(s): State<Shared>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let loaded = blocking(&s, false, move |ws| items::load(ws, &kind, &name)).await?;
    Ok(Json(json!({ "path": loaded.info.path, "item": loaded.value })))
}

/// `POST /api/items/{kind}`: creates an item (201), in a new file.
pub async fn create(
    State(s): State<Shared>,
    Path(kind): Path<String>,
    Body(body): Body<ItemBody>,
) -> Result<Response, ApiError> {
    let saved = blocking(&s, true, move |ws| items::save(ws, &kind, None, &body.item)).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// `PUT /api/items/{kind}/{name}`: saves an item in its file (it may be renamed).
pub async fn save(
    State(s): State<Shared>,
    Path((kind, name)): Path<(String, String)>,
    Body(body): Body<ItemBody>,
) -> Result<Json<items::Saved>, ApiError> {
    Ok(Json(
        blocking(&s, true, move |ws| items::save(ws, &kind, Some(&name), &body.item)).await?,
    ))
}

/// `DELETE /api/items/{kind}/{name}`: deletes an item's file.
pub async fn delete(
    State(s): State<Shared>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let path = blocking(&s, true, move |ws| items::delete(ws, &kind, &name)).await?;
    Ok(Json(json!({ "deleted": path })))
}

/// What `POST /api/validate` checks.
#[derive(Debug, Deserialize)]
pub struct ValidateBody {
    /// The item's kind.
    pub kind: String,
    /// The name it has in the workspace (absent: a new item).
    #[serde(default)]
    pub original: Option<String>,
    /// The item as edited.
    pub item: Value,
}

/// `POST /api/validate`: the package's problems with the edited item in
/// place, and the file the item is (or would be) in.
pub async fn validate(State(s): State<Shared>, Body(b): Body<ValidateBody>) -> Result<Json<Value>, ApiError> {
    let (path, problems) = blocking(&s, false, move |ws| {
        let original = b.original.as_deref().filter(|o| !o.is_empty());
        items::validate(ws, &b.kind, original, &b.item)
    })
    .await?;
    Ok(Json(json!({ "path": path, "problems": problems })))
}

/// What `POST /api/form` renders.
#[derive(Debug, Deserialize)]
pub struct FormBody {
    /// The item's kind.
    pub kind: String,
    /// The item as edited.
    pub item: Value,
    /// A structural edit to make first.
    #[serde(default)]
    pub op: Option<form::Op>,
    /// The rows the analyst has unfolded (their pointers).
    #[serde(default)]
    pub open: Vec<String>,
}

/// `POST /api/form`: applies a structural edit and renders the form again,
/// with the rows that were unfolded still unfolded.
pub async fn form(State(s): State<Shared>, Body(mut b): Body<FormBody>) -> Result<Json<Value>, ApiError> {
    let root = items::schema(&b.kind)?;
    let mut open = b.open.clone();
    if let Some(op) = &b.op {
        let before = b.item.clone();
        form::apply(&root, &mut b.item, op)?;
        open = form::reopen(&before, &b.item, op, &open);
    }
    let names = blocking(&s, false, |ws| Ok(items::catalog(ws)?.names())).await?;
    let view = form::View { open, names };
    let html = templates::render_form(&form::build(&root, &b.item, &view)).map_err(ApiError::Internal)?;
    Ok(Json(json!({ "html": html, "item": b.item })))
}

/// What `POST /api/layout` renders.
#[derive(Debug, Deserialize)]
pub struct LayoutBody {
    /// The form as edited.
    pub item: Value,
    /// A move to make first.
    #[serde(default)]
    pub op: Option<layout::LayoutOp>,
}

/// `POST /api/layout`: applies a move of the layout editor and renders it again.
pub async fn layout(State(s): State<Shared>, Body(mut b): Body<LayoutBody>) -> Result<Json<Value>, ApiError> {
    let (item, view) = blocking(&s, false, move |ws| {
        if b.item.get("kind").and_then(Value::as_str) != Some("form") {
            return Err(EditorError::BadItem("the layout editor edits forms".into()));
        }
        if let Some(op) = &b.op {
            layout::apply(ws, &mut b.item, op)?;
        }
        let view = layout::view(ws, &b.item)?;
        Ok((b.item, view))
    })
    .await?;
    let html = templates::render_layout(&view).map_err(ApiError::Internal)?;
    Ok(Json(json!({ "html": html, "item": item })))
}

/// `GET /api/scripts`: the scripts' names.
pub async fn scripts(State(s): State<Shared>) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(blocking(&s, false, scripts::list).await?))
}

/// A script sent by the editor.
#[derive(Debug, Deserialize)]
pub struct ScriptBody {
    /// Its name (`lead.rhai`); taken from the path when saving.
    #[serde(default)]
    pub name: String,
    /// Its text.
    pub text: String,
}

/// `POST /api/scripts/check`: compiles a script; errors with line and column.
pub async fn check_script(
    State(s): State<Shared>,
    Body(b): Body<ScriptBody>,
) -> Result<Json<scripts::ScriptCheck>, ApiError> {
    Ok(Json(
        blocking(&s, false, move |ws| scripts::check(ws, &b.name, &b.text)).await?,
    ))
}

/// `PUT /api/scripts/{name}`: saves a script that compiles.
pub async fn save_script(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Body(b): Body<ScriptBody>,
) -> Result<Json<scripts::ScriptCheck>, ApiError> {
    Ok(Json(
        blocking(&s, true, move |ws| scripts::save(ws, &name, &b.text)).await?,
    ))
}

/// Any other address.
pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::Editor(EditorError::NotFound {
        kind: "page".into(),
        name: uri.path().to_owned(),
    })
}
