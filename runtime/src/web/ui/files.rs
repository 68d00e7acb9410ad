//! The files of a record page: each attachment field's files with download
//! links, an upload form and a remove button. Uploads and removals go
//! through the same engine operations as the API and come back to the
//! record page, with an error next to the field when a file is refused.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::Value;

use super::context::Viewer;
use super::i18n::Locale;
use crate::engine::attachments::format_size;
use crate::engine::{CompiledEntity, CurrentUser, Engine};
use crate::store::ed::records::Record;
use crate::web::attachments::receive;

/// One attachment field on the record page.
#[derive(Debug, Serialize)]
pub struct FilePanel {
    field: String,
    label: String,
    help: Option<String>,
    files: Vec<FileView>,
    upload_href: String,
    accept: String,
    limit: String,
    multiple: bool,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct FileView {
    name: String,
    size: String,
    href: String,
    remove_href: String,
}

/// The panels of a record's attachment fields, from the descriptors a read
/// of the record carries (no second query); `error` is `(field, code)` of a
/// refused upload to show next to its field.
pub fn panels(
    engine: &Engine,
    viewer: &Viewer,
    e: &CompiledEntity,
    record: &Record,
    error: Option<(&str, &str)>,
) -> Vec<FilePanel> {
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
    e.attachments
        .iter()
        .map(|f| {
            let limits = f.attachment_limits();
            let limit = engine.attachment_limit(f);
            let files = record
                .get(&f.name)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                    FileView {
                        name: text("file_name"),
                        size: format_size(a.get("size").and_then(Value::as_u64).unwrap_or_default()),
                        href: text("url"),
                        remove_href: format!("/app/files/{}/remove?back=/app/r/{}/{id}", text("id"), e.def.name),
                    }
                })
                .collect();
            FilePanel {
                field: f.name.clone(),
                label: viewer.locale.pick(&f.label),
                help: f.help.as_ref().map(|h| viewer.locale.pick(h)),
                files,
                upload_href: format!("/app/r/{}/{id}/files/{}", e.def.name, f.name),
                accept: limits.types.join(","),
                limit: format_size(limit),
                multiple: limits.multiple,
                error: error
                    .filter(|(field, _)| *field == f.name)
                    .map(|(_, code)| refusal(viewer.locale, code, &limits.types, limit)),
            }
        })
        .collect()
}

/// A refused upload in the viewer's language.
fn refusal(locale: Locale, code: &str, types: &[String], limit: u64) -> String {
    let allowed = if types.is_empty() {
        locale.text("any_file").to_owned()
    } else {
        types.join(", ")
    };
    let template = match code {
        "too_large" => locale.text("file_too_large"),
        "type_refused" => locale.text("file_type_refused"),
        _ => locale.text("file_not_saved"),
    };
    template
        .replace("{limit}", &format_size(limit))
        .replace("{types}", &allowed)
}

/// `POST /app/r/{entity}/{id}/files/{field}` (multipart: `_csrf`, `file`).
pub async fn upload(
    State(engine): State<Arc<Engine>>,
    user: CurrentUser,
    Path((entity, id, field)): Path<(String, String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let back = format!("/app/r/{entity}/{id}");
    match receive(&engine, &user, (&entity, &id, &field), multipart).await {
        Ok(_) => Redirect::to(&format!("{back}?notice=saved")).into_response(),
        Err(e) => Redirect::to(&format!("{back}?file_field={field}&file_error={}", e.code())).into_response(),
    }
}

/// Where a removal came from.
#[derive(Debug, serde::Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    back: Option<String>,
}

/// `POST /app/files/{id}/remove`: the file leaves the record (kept on disk
/// until a purge, like the API's DELETE).
pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> Response {
    let back = q
        .back
        .filter(|b| b.starts_with("/app/") && !b.starts_with("//"))
        .unwrap_or_else(|| "/app".to_owned());
    match engine.delete_attachment(&id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => {
            tracing::info!(%id, error = %e, "a file removal was refused");
            Redirect::to(&back).into_response()
        }
    }
}
