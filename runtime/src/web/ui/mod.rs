//! The generated end-user UI under `/app`: server-rendered pages built from
//! the active release's forms, lists and modules, in English and Chinese.
//! Every page works without JavaScript; htmx adds type-ahead lookups.

mod admin;
mod context;
mod files;
mod form_data;
pub mod i18n;
mod lists;
mod message;
mod page;
mod preferences;
mod present;
mod records;
mod search;
mod templates;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

pub use context::{browser_zone, SignedIn, Viewer, LANG_COOKIE, ZONE_COOKIE};
use i18n::Locale;
pub use message::unknown_page;
use page::Frame;

use crate::engine::Engine;

/// The `/app` routes (mounted behind the sign-in middleware); file uploads
/// accept bodies up to `upload_limit` bytes.
pub fn routes(upload_limit: usize) -> Router<Arc<Engine>> {
    Router::new()
        .route("/", get(home))
        .route("/l/{list}", get(lists::list_page))
        .route("/bin/{list}", get(lists::bin_page))
        .route("/bulk/{list}", post(lists::bulk))
        .route("/lookup/{entity}", get(lists::lookup))
        .route("/r/{entity}", post(records::create))
        .route("/r/{entity}/new", get(records::new))
        .route("/r/{entity}/{id}", get(records::view).post(records::update))
        .route("/r/{entity}/{id}/edit", get(records::edit))
        .route("/r/{entity}/{id}/delete", post(records::delete))
        .route("/r/{entity}/{id}/restore", post(records::restore))
        .route("/r/{entity}/{id}/commands/{name}", post(records::command))
        .route(
            "/r/{entity}/{id}/files/{field}",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/files/{id}/remove", post(files::remove))
        .route("/search", get(search::page))
        .route("/language", post(language))
        .route("/preferences", get(preferences::page).post(preferences::save))
        .route("/admin/picklists", get(admin::index))
        .route("/admin/picklists/{name}", get(admin::detail))
        .route("/admin/picklists/{name}/values", post(admin::add))
        .route("/admin/picklists/{name}/values/{code}", post(admin::change))
}

/// The static files of the UI (public: no secrets in them).
pub fn assets() -> Router<Arc<Engine>> {
    Router::new()
        .route(
            "/app/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../../../assets/app.css")) }),
        )
        .route(
            "/app/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../../assets/app.js")) }),
        )
        .route(
            "/app/assets/htmx.min.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../../assets/vendor/htmx.min.js"),
                )
            }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn home(State(engine): State<Arc<Engine>>, viewer: Viewer) -> Response {
    let model = engine.model();
    let title = viewer.locale.text("home").to_owned();
    let frame = Frame {
        model: &model,
        viewer: &viewer,
        title,
        breadcrumbs: Vec::new(),
        current_list: None,
        notice: None,
    };
    templates::render(StatusCode::OK, "home.html", frame.page(serde_json::json!({})))
}

/// `POST /app/language`: store the language on the signed-in user (and in
/// a cookie, for the sign-in page), then go back.
async fn language(
    State(engine): State<Arc<Engine>>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let locale = get("locale").and_then(Locale::from_tag).unwrap_or_default();
    if let Some(user) = viewer.actor {
        if let Err(e) = engine.auth().set_locale(user, Some(locale)).await {
            tracing::warn!(error = %e, "could not store the user's language");
        }
    }
    let next = get("next")
        .filter(|n| n.starts_with("/app") && !n.starts_with("//"))
        .unwrap_or("/app");
    let mut resp = Redirect::to(next).into_response();
    context::remember_language(&mut resp, locale);
    resp
}
