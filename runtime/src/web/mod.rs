//! The HTTP edge: routes, extractors and the one error mapping. Handlers stay
//! thin; everything they do is an [`crate::engine::Engine`] call.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod error;
pub mod extract;
mod me;
mod picklists;
mod records;
mod search;
pub mod serve;
pub mod strict_json;
mod system;
pub mod ui;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::engine::Engine;
use error::ApiError;

/// Options of the HTTP edge.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebOptions {
    /// Mark cookies `Secure` (serve over HTTPS, or behind a proxy that does).
    pub secure_cookies: bool,
    /// The header read timeout and the connection cap.
    pub connections: serve::ConnectionLimits,
}

/// Where the REST API lives: the engine's [`crate::engine::API_BASE`], which
/// its OpenAPI document and messages are written against.
pub const API_PREFIX: &str = crate::engine::API_BASE;

/// The path `rest` under [`API_PREFIX`]. The API's routes are registered
/// whole rather than nested: a nested router rebuilds each request's URI
/// to strip its prefix.
fn api(rest: &str) -> String {
    format!("{API_PREFIX}{rest}")
}

/// Where the UI starts.
const UI_HOME: &str = "/app";

/// An address no route takes: under the UI, the UI's not-found page (in
/// the viewer's language, behind the sign-in gate like every UI page);
/// elsewhere, the API's JSON error envelope.
async fn fallback(state: State<Arc<Engine>>, viewer: ui::Viewer, uri: Uri) -> Response {
    let path = uri.path();
    let under_ui = path.strip_prefix(UI_HOME).is_some_and(|rest| rest.starts_with('/'));
    if under_ui {
        ui::unknown_page(state, viewer, uri).await
    } else {
        ApiError::no_route().into_response()
    }
}

/// The application's router, with default options.
pub fn router(engine: Arc<Engine>) -> Router {
    router_with(engine, WebOptions::default())
}

/// The application's router. Every route under `/api`, `/app` and `/admin`
/// is behind [`auth::gate`], except the sign-in page and the UI's static
/// files.
pub fn router_with(engine: Arc<Engine>, options: WebOptions) -> Router {
    let auth_state = auth::AuthState {
        engine: engine.clone(),
        options,
    };
    // Uploads stream to disk with their own size check; this route alone
    // accepts bodies as large as the largest file the server allows.
    let upload_limit =
        usize::try_from(engine.attachment_ceiling() + attachments::MULTIPART_OVERHEAD).unwrap_or(usize::MAX);
    let records = Router::new()
        .route(&api("/records/{entity}"), get(records::list).post(records::create))
        .route(
            &api("/records/{entity}/{id}"),
            get(records::get).patch(records::update).delete(records::delete),
        )
        .route(&api("/records/{entity}/{id}/restore"), post(records::restore))
        .route(&api("/records/{entity}/{id}/commands/{name}"), post(records::command))
        .route(&api("/recycle-bin/{entity}"), get(records::list_deleted))
        .route(&api("/search"), get(search::search))
        .route(
            &api("/records/{entity}/{id}/attachments/{field}"),
            post(attachments::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            &api("/attachments/{id}"),
            get(attachments::download).delete(attachments::delete),
        )
        .route(&api("/picklists"), get(picklists::list))
        .route(&api("/picklists/{name}"), get(picklists::get))
        .route(&api("/picklists/{name}/values"), post(picklists::add_value))
        .route(&api("/picklists/{name}/values/{code}"), patch(picklists::update_value))
        .route(&api("/picklists/{name}/order"), put(picklists::reorder))
        .route(&api("/openapi.json"), get(system::openapi))
        .route(&api("/me"), get(me::me).patch(me::update_me))
        .route(&api("/tokens"), get(me::list_tokens).post(me::create_token))
        .route(&api("/tokens/{id}"), delete(me::revoke_token));
    let sign_in = Router::new()
        .route(auth::SIGN_IN_PATH, get(auth::sign_in_page).post(auth::sign_in))
        .route("/app/sign-out", post(auth::sign_out))
        .with_state(auth_state.clone());
    Router::new()
        .merge(records)
        .nest(admin::PREFIX, admin::routes())
        .nest("/app", ui::routes(upload_limit))
        .merge(ui::assets())
        .merge(sign_in)
        .route("/healthz", get(system::healthz))
        // Someone who types the server's address wants the app.
        .route("/", get(|| async { Redirect::to(UI_HOME) }))
        .fallback(fallback)
        .layer(from_fn_with_state(auth_state, auth::gate))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(CatchPanicLayer::custom(system::panic_response))
        .layer(TraceLayer::new_for_http())
        .with_state(engine)
}
