//! What every page needs to know about the request: the language, the time
//! zone, the signed-in user and the CSRF token of the session.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{ACCEPT_LANGUAGE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::i18n::Locale;
use crate::model::zone::Zone;
use crate::web::auth::cookie;

/// The cookie holding the language picked by someone not signed in (or
/// before the user's setting is stored).
pub const LANG_COOKIE: &str = "relata_lang";

/// The cookie holding the browser's IANA time zone, kept up to date by the
/// UI's script (`assets/app.js`).
pub const ZONE_COOKIE: &str = "relata_tz";

/// The viewer of a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The language of the page.
    pub locale: Locale,
    /// The zone the page shows times in and reads typed times in.
    pub zone: Zone,
    /// The user's display name, when signed in.
    pub user: Option<String>,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// The path and query of this request (to come back after an action).
    pub here: String,
    /// The signed-in user's id, recorded on the records they write.
    pub actor: Option<uuid::Uuid>,
    /// The signed-in user administers Relata (sees the Administration pages).
    pub is_admin: bool,
}

/// The zone the browser reported (the UI's script keeps it in a cookie;
/// IANA names need no escaping there), if it is one Relata knows.
pub fn browser_zone(headers: &HeaderMap) -> Option<Zone> {
    cookie(headers, ZONE_COOKIE).and_then(|z| Zone::parse(z).ok())
}

/// Makes `resp` remember `locale` in the language cookie, which the
/// sign-in page (with no user to ask) reads.
pub fn remember_language(resp: &mut Response, locale: Locale) {
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        locale.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
}

/// Hook for the sign-in layer: the signed-in user's name, locale and CSRF
/// token, when the request carries them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user's id.
    pub id: uuid::Uuid,
    /// Display name.
    pub name: String,
    /// Stored language, if any.
    pub locale: Option<Locale>,
    /// The user's zone: their setting, else the browser's, else the
    /// installation's.
    pub zone: Zone,
    /// CSRF token of the session.
    pub csrf: String,
    /// May administer Relata.
    pub is_admin: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let signed_in = parts.extensions.get::<SignedIn>().cloned();
        let locale = signed_in
            .as_ref()
            .and_then(|s| s.locale)
            .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(Locale::from_tag))
            .or_else(|| {
                parts
                    .headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Locale::from_accept_language)
            })
            .unwrap_or(Locale::En);
        // The UI is nested under `/app`, which strips the prefix from
        // `parts.uri`: the address the browser asked for is the original one.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let here = uri
            .path_and_query()
            .map_or_else(|| "/app".to_owned(), |pq| pq.as_str().to_owned());
        let zone = match &signed_in {
            Some(s) => s.zone.clone(),
            None => browser_zone(&parts.headers).unwrap_or_default(),
        };
        Ok(Viewer {
            zone,
            actor: signed_in.as_ref().map(|s| s.id),
            is_admin: signed_in.as_ref().is_some_and(|s| s.is_admin),
            locale,
            user: signed_in.as_ref().map(|s| s.name.clone()),
            csrf: signed_in.map(|s| s.csrf).unwrap_or_default(),
            here,
        })
    }
}
