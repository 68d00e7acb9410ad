//! Pages that only say something: not found, forbidden, a failure.

use axum::http::StatusCode;
use axum::response::Response;

use super::context::Viewer;
use super::page::Frame;
use super::present::localize_error;
use super::templates::render;
use crate::engine::{CompiledModel, EngineError};

/// The page for a missing record or entity.
pub fn not_found(model: &CompiledModel, viewer: &Viewer) -> Response {
    message(model, viewer, StatusCode::NOT_FOUND, viewer.locale.text("not_found"))
}

/// The page for a signed-in user who may not see what they asked for.
pub fn forbidden(model: &CompiledModel, viewer: &Viewer) -> Response {
    message(model, viewer, StatusCode::FORBIDDEN, viewer.locale.text("forbidden"))
}

fn message(model: &CompiledModel, viewer: &Viewer, status: StatusCode, text: &str) -> Response {
    let title = viewer.locale.text("error_title").to_owned();
    let frame = Frame {
        model,
        viewer,
        title: title.clone(),
        breadcrumbs: Vec::new(),
        current_list: None,
        notice: None,
    };
    render(
        status,
        "message.html",
        frame.page(serde_json::json!({ "message": text })),
    )
}

/// The page for an unexpected engine error (logged; never shown raw).
pub fn failure(model: &CompiledModel, viewer: &Viewer, err: EngineError) -> Response {
    match err {
        EngineError::NotFound { .. } | EngineError::UnknownEntity(_) => not_found(model, viewer),
        EngineError::BadRequest(msg) => message(model, viewer, StatusCode::BAD_REQUEST, &msg),
        EngineError::UnknownCommand { .. } => not_found(model, viewer),
        // A rule that threw or went past a limit: its message names the rule.
        EngineError::Rule(r) => message(model, viewer, StatusCode::UNPROCESSABLE_ENTITY, &r.to_string()),
        EngineError::Invalid { errors, .. } => {
            let text: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, localize_error(viewer.locale, None, e)))
                .collect();
            message(model, viewer, StatusCode::UNPROCESSABLE_ENTITY, &text.join(" "))
        }
        // The database was too busy (a lock wait ran out): the same
        // answer as the API's, a 503 that says to try again.
        EngineError::Store(s) if s.is_busy() => busy(model, viewer, &s),
        other => unexpected(model, viewer, &other),
    }
}

/// The page for a request the database was too busy for: 503 with
/// `Retry-After`, saying that nothing was changed.
pub fn busy(model: &CompiledModel, viewer: &Viewer, err: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %err, "database busy: answered 503");
    let mut resp = message(
        model,
        viewer,
        StatusCode::SERVICE_UNAVAILABLE,
        viewer.locale.text("busy"),
    );
    resp.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        crate::web::error::BUSY_RETRY_AFTER_SECS.into(),
    );
    resp
}

/// The page for an error that is nobody's fault but ours: logged in full,
/// shown as a plain apology.
pub fn unexpected(model: &CompiledModel, viewer: &Viewer, err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "UI request failed");
    message(
        model,
        viewer,
        StatusCode::INTERNAL_SERVER_ERROR,
        viewer.locale.text("error_title"),
    )
}

/// The answer to a UI address that names no page (`/app/nope`): the
/// not-found page in the viewer's language, as for a missing record. The
/// app's own root with a trailing slash (`/app/`) is sent to `/app`.
pub async fn unknown_page(
    axum::extract::State(engine): axum::extract::State<std::sync::Arc<crate::engine::Engine>>,
    viewer: Viewer,
    uri: axum::http::Uri,
) -> Response {
    use axum::response::{IntoResponse, Redirect};
    if uri.path() == "/app/" {
        return Redirect::permanent("/app").into_response();
    }
    let model = engine.model();
    let text = viewer.locale.text("page_not_found");
    message(&model, &viewer, StatusCode::NOT_FOUND, text)
}
