//! `/app/preferences`: the signed-in user's language and time zone, each
//! either chosen or left to follow the browser.

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Serialize;

use super::context::{browser_zone, remember_language, Viewer};
use super::i18n::Locale;
use super::message::unexpected;
use super::page::{Crumb, Frame};
use super::templates;
use crate::engine::{CurrentUser, Engine, Preferences};
use crate::model::zone::{self, Zone};

/// What the form shows.
#[derive(Debug, Serialize)]
struct PreferencesView {
    /// The chosen language tag; empty: follow the browser.
    locale: String,
    /// The chosen zone; empty: follow the browser.
    time_zone: String,
    /// The zone the browser reports, if known.
    browser_zone: Option<String>,
    /// Every zone a user may pick.
    zones: &'static [String],
    /// Why the typed zone was refused.
    zone_error: Option<String>,
}

/// Every zone name of the bundled database, sorted, built once.
fn zones() -> &'static [String] {
    static ZONES: OnceLock<Vec<String>> = OnceLock::new();
    ZONES.get_or_init(zone::names)
}

/// `GET /app/preferences`
pub(super) async fn page(
    State(engine): State<Arc<Engine>>,
    viewer: Viewer,
    user: CurrentUser,
    headers: HeaderMap,
) -> Response {
    let view = PreferencesView {
        locale: user.locale.map(Locale::as_str).unwrap_or_default().to_owned(),
        time_zone: user.time_zone.as_ref().map(|z| z.name().to_owned()).unwrap_or_default(),
        browser_zone: browser_zone(&headers).map(|z| z.name().to_owned()),
        zones: zones(),
        zone_error: None,
    };
    let notice = viewer
        .here
        .contains("notice=saved")
        .then(|| viewer.locale.text("saved_notice").to_owned());
    render(&engine, &viewer, view, StatusCode::OK, notice)
}

/// `POST /app/preferences` (`locale`, `time_zone`; empty: follow the
/// browser): stores both or, with an unknown zone, neither.
pub(super) async fn save(
    State(engine): State<Arc<Engine>>,
    viewer: Viewer,
    user: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim());
    let locale = get("locale").and_then(Locale::parse);
    let typed_zone = get("time_zone").unwrap_or_default();
    let zone = match typed_zone {
        "" => Ok(None),
        name => Zone::parse(name).map(Some),
    };
    let zone = match zone {
        Ok(z) => z,
        Err(e) => {
            let view = PreferencesView {
                locale: locale.map(Locale::as_str).unwrap_or_default().to_owned(),
                time_zone: typed_zone.to_owned(),
                browser_zone: browser_zone(&headers).map(|z| z.name().to_owned()),
                zones: zones(),
                zone_error: Some(e.to_string()),
            };
            return render(&engine, &viewer, view, StatusCode::UNPROCESSABLE_ENTITY, None);
        }
    };
    let patch = Preferences {
        locale: Some(locale),
        time_zone: Some(zone),
    };
    if let Err(e) = engine.auth().set_preferences(user.id, &patch).await {
        return unexpected(&engine.model(), &viewer, &e);
    }
    let mut resp = Redirect::to("/app/preferences?notice=saved").into_response();
    if let Some(l) = locale {
        remember_language(&mut resp, l);
    }
    resp
}

fn render(
    engine: &Engine,
    viewer: &Viewer,
    view: PreferencesView,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let model = engine.model();
    let title = viewer.locale.text("preferences").to_owned();
    let frame = Frame {
        model: &model,
        viewer,
        title: title.clone(),
        breadcrumbs: vec![Crumb {
            label: title,
            href: None,
        }],
        current_list: None,
        notice,
    };
    templates::render(status, "preferences.html", frame.page(view))
}
