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
use uuid::Uuid;

use super::context::Viewer;
use super::i18n::Locale;
use crate::engine::attachments::format_size;
use crate::engine::{CompiledEntity, CurrentUser, Engine};
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

/// The panels of a record's attachment fields; `error` is `(field, code)`
/// of a refused upload to show next to its field.
pub async fn panels(
    engine: &Engine,
    viewer: &Viewer,
    e: &CompiledEntity,
    id: &str,
    error: Option<(&str, &str)>,
) -> Vec<FilePanel> {
    let Ok(uid) = Uuid::parse_str(id) else {
        return Vec::new();
    };
    let stored = match engine.attachments_of(&e.def.name, uid).await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(entity = %e.def.name, %id, error = %err, "cannot list the files of a record");
            Vec::new()
        }
    };
    e.attachments
        .iter()
        .map(|f| {
            let limits = f.attachment_limits();
            let limit = engine.attachment_limit(f);
            let files = stored
                .iter()
                .find(|(name, _)| *name == f.name)
                .map(|(_, files)| files.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|a| FileView {
                    name: a.file_name.clone(),
                    size: format_size(u64::try_from(a.size).unwrap_or_default()),
                    href: a.url.clone(),
                    remove_href: format!("/app/files/{}/remove?back=/app/r/{}/{id}", a.id, e.def.name),
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
