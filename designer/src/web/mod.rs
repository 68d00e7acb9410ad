//! `relata-designer serve`: the designer's web UI on localhost. Thin axum
//! handlers over [`crate::editor`]: pages rendered with minijinja templates,
//! a JSON API the editor's small script calls.

mod api;
mod error;
mod pages;
mod templates;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

pub use error::ApiError;

use crate::workspace::Workspace;

/// What the handlers share: the workspace, and a lock that makes writes one
/// at a time.
pub struct AppState {
    /// The workspace edited.
    pub ws: Workspace,
    writes: Mutex<()>,
}

/// The shared state.
pub type Shared = Arc<AppState>;

/// Runs `f` on the workspace on a blocking thread (file reads, the validator).
async fn blocking<T: Send + 'static>(
    state: &Shared,
    write: bool,
    f: impl FnOnce(&Workspace) -> Result<T, crate::editor::EditorError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let _guard = match write {
            true => Some(state.writes.lock().unwrap_or_else(|p| p.into_inner())),
            false => None,
        };
        f(&state.ws)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::from)
}

/// The designer's routes on `ws`.
pub fn router(ws: Workspace) -> Router {
    let state: Shared = Arc::new(AppState {
        ws,
        writes: Mutex::new(()),
    });
    Router::new()
        .route("/", get(pages::overview))
        .route("/kinds", get(pages::kinds))
        .route("/items/{kind}/{name}", get(pages::item))
        .route("/new/{kind}", get(pages::new_item))
        .route("/layout/{name}", get(pages::layout))
        .route("/scripts", get(pages::scripts))
        .route("/scripts/{*name}", get(pages::script))
        .route("/assets/{file}", get(pages::asset))
        .route("/api/items", get(api::list))
        .route("/api/items/{kind}", post(api::create))
        .route(
            "/api/items/{kind}/{name}",
            get(api::read).put(api::save).delete(api::delete),
        )
        .route("/api/validate", post(api::validate))
        .route("/api/layout", post(api::layout))
        .route("/api/form", post(api::form))
        .route("/api/scripts", get(api::scripts))
        .route("/api/scripts/check", post(api::check_script))
        .route("/api/scripts/{*name}", put(api::save_script))
        .fallback(api::no_route)
        .layer(middleware::from_fn(local_only))
        .with_state(state)
}

/// Refuses requests whose `Host` is not a loopback name, so a web page the
/// analyst visits cannot reach the designer through DNS rebinding. (Writes
/// take JSON bodies only, which a cross-site form cannot send without a
/// CORS preflight the designer never answers.)
async fn local_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name).to_owned());
    match host.as_deref() {
        None | Some("127.0.0.1" | "localhost" | "[::1]") => next.run(req).await,
        Some(_) => (StatusCode::FORBIDDEN, "the designer answers on localhost only").into_response(),
    }
}

/// Serves the designer on `addr` until `shutdown` completes; prints the URL.
pub async fn serve(
    ws: Workspace,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    println!("designer on http://{bound}/ (Ctrl-C to stop)");
    axum::serve(listener, router(ws))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
