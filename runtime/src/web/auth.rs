//! Who may ask what: the gate every request passes (sign-in required under
//! `/api`, `/app` and `/admin`; CSRF tokens on state-changing requests made
//! with the session cookie), and the sign-in and sign-out pages. The JSON
//! routes of the signed-in user are in [`super::me`].
//!
//! The rules:
//! - Credentials are an API token (`Authorization: Bearer rlt_...`) or the
//!   session cookie `relata_session`. A request that sends an
//!   `Authorization` header is judged by it alone.
//! - `/api/...` without a valid credential: 401 `unauthenticated`.
//!   `/app/...`, `/admin/...`: 303 to `/app/sign-in?next=<path>`.
//! - POST, PUT, PATCH and DELETE authenticated by the cookie must carry the
//!   session's CSRF token: in the `X-CSRF-Token` header, or (under `/app`
//!   and `/admin`, for `application/x-www-form-urlencoded` and
//!   `multipart/form-data` bodies) in the form field `_csrf`, which the gate
//!   reads from the buffered body before the handler sees it. Otherwise 403
//!   `csrf_failed`, and the handler never runs. Token requests carry no
//!   ambient credential and need no CSRF token.
//! - The sign-in form is protected by a double-submit token: the cookie
//!   `relata_csrf_pre` must equal the form's `_csrf` field.
//!
//! Handlers get the user with the [`CurrentUser`] extractor (or
//! `Extension<Arc<CurrentUser>>`); its `csrf_token` goes into every form as
//! the hidden field `_csrf`.

use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use futures_util::StreamExt;
use minijinja::Environment;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::MAX_BODY;
use super::ui::{browser_zone, SignedIn, LANG_COOKIE};
use super::WebOptions;
use crate::engine::auth::random_secret;
use crate::engine::{AuthError, CurrentUser, Engine, Locale};

/// The session cookie.
pub const SESSION_COOKIE: &str = "relata_session";
/// The double-submit cookie of the sign-in form.
pub const PRE_CSRF_COOKIE: &str = "relata_csrf_pre";
/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The sign-in page.
pub const SIGN_IN_PATH: &str = "/app/sign-in";
/// The UI's static files, public.
const ASSETS_PREFIX: &str = "/app/assets/";
/// Where one lands after signing in when no `next` is given.
pub const HOME_PATH: &str = "/app";

/// What the gate and the sign-in pages need.
#[derive(Clone)]
pub struct AuthState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Cookie flags.
    pub options: WebOptions,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<CurrentUser>>()
            .map(|u| CurrentUser::clone(u))
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// For handlers that read a CSRF token themselves (the gate already checks
/// every state-changing request; this is for defence in depth).
pub fn check_csrf(user: &CurrentUser, presented: &str) -> Result<(), ApiError> {
    if user.csrf_token.is_none() || user.csrf_matches(presented) {
        Ok(())
    } else {
        Err(ApiError::csrf_failed())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Public,
    Api,
    App,
}

fn area_of(path: &str) -> Area {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if under("/api") || under(super::admin::PREFIX) {
        Area::Api
    } else if path == SIGN_IN_PATH || (path.starts_with(ASSETS_PREFIX) && !path.contains("/..")) {
        Area::Public
    } else if under("/app") || under("/admin") {
        Area::App
    } else {
        Area::Public
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Token,
    Session,
}

/// The user behind the request's credentials. `Ok(None)`: none, or not
/// valid.
async fn authenticate(engine: &Engine, headers: &HeaderMap) -> Result<Option<(Arc<CurrentUser>, Via)>, AuthError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| {
            v.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        });
        return match token {
            Some(t) => Ok(engine.auth().authenticate_token(t).await?.map(|u| (u, Via::Token))),
            None => Ok(None),
        };
    }
    match cookie(headers, SESSION_COOKIE) {
        Some(secret) => Ok(engine.auth().session(secret).await?.map(|u| (u, Via::Session))),
        None => Ok(None),
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

fn header_csrf(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// The gate in front of every route: see the module documentation.
pub async fn gate(State(st): State<AuthState>, mut req: Request, next: Next) -> Response {
    let area = area_of(req.uri().path());
    if area == Area::Public {
        return next.run(req).await;
    }
    let (user, via) = match authenticate(&st.engine, req.headers()).await {
        Ok(Some(found)) => found,
        Ok(None) if area == Area::Api => return unauthenticated_api(),
        Ok(None) => return to_sign_in(&req, &st.options),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if via == Via::Session && is_unsafe(req.method()) {
        let header_ok = header_csrf(req.headers()).is_some_and(|t| user.csrf_matches(t));
        if !header_ok {
            if area == Area::Api {
                return ApiError::csrf_failed().into_response();
            }
            req = match form_csrf(req, &user).await {
                Ok(req) => req,
                Err(resp) => return resp,
            };
        }
    }
    if area == Area::App {
        // The UI's hook: who is looking, in which language, with which token.
        let zone = user
            .time_zone
            .clone()
            .or_else(|| browser_zone(req.headers()))
            .unwrap_or_else(|| st.engine.time_zone().clone());
        req.extensions_mut().insert(SignedIn {
            id: user.id,
            name: user.display_name.clone(),
            locale: user.locale,
            zone,
            csrf: user.csrf_token.clone().unwrap_or_default(),
            is_admin: user.is_admin,
        });
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

fn unauthenticated_api() -> Response {
    let mut resp = ApiError::unauthenticated().into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"relata\""),
    );
    resp
}

/// 303 to the sign-in page, coming back here afterwards (for reads), and
/// dropping a session cookie that no longer works.
fn to_sign_in(req: &Request, options: &WebOptions) -> Response {
    let mut location = SIGN_IN_PATH.to_owned();
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        if let Some(pq) = req.uri().path_and_query() {
            location.push_str("?next=");
            location.push_str(&percent_encode(pq.as_str()));
        }
    }
    let mut resp = see_other(&location);
    if cookie(req.headers(), SESSION_COOKIE).is_some() {
        append_cookie(&mut resp, &clear_cookie(SESSION_COOKIE, "/", options));
    }
    resp
}

/// Checks the `_csrf` field of a form post, buffering the body and handing
/// it on unchanged.
async fn form_csrf(req: Request, user: &CurrentUser) -> Result<Request, Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let multipart = essence == "multipart/form-data";
    if essence != "application/x-www-form-urlencoded" && !multipart {
        return Err(csrf_page(user.locale.unwrap_or_default()));
    }
    let (parts, body) = req.into_parts();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the form before its `{CSRF_FIELD}` field is larger than {MAX_BODY} bytes"),
        )
        .into_response()
    };
    let token_in = |buf: &[u8]| {
        if multipart {
            boundary(&content_type).and_then(|b| multipart_field(buf, &b, CSRF_FIELD))
        } else {
            urlencoded_field(buf, CSRF_FIELD)
        }
    };
    // Read until the token is found (forms put it first), so a file upload
    // behind it streams on to the handler instead of being held here.
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let presented = loop {
        // A url-encoded field ends only at `&` or the end: read it all.
        if multipart {
            if let Some(t) = token_in(&buf) {
                break Some(t);
            }
        }
        match stream.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(csrf_page(user.locale.unwrap_or_default())),
            None => break token_in(&buf),
        }
        if buf.len() > MAX_BODY {
            return Err(too_large());
        }
    };
    if presented.is_some_and(|t| user.csrf_matches(&t)) {
        let head = futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(Bytes::from(buf))));
        Ok(Request::from_parts(parts, Body::from_stream(head.chain(stream))))
    } else {
        Err(csrf_page(user.locale.unwrap_or_default()))
    }
}

fn csrf_page(locale: Locale) -> Response {
    let (title, text) = match locale {
        Locale::En => (
            "The form has expired",
            "This form was not sent from a current page of Relata. Go back, reload the page and try again.",
        ),
        Locale::ZhCn => (
            "表单已过期",
            "此表单不是从当前的 Relata 页面提交的。请返回、刷新页面后重试。",
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1><p>{text}</p></main></body></html>",
        locale.as_str()
    );
    (StatusCode::FORBIDDEN, Html(html)).into_response()
}

// ---------------------------------------------------------------------------
// Sign-in and sign-out pages

#[derive(Debug, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
    next: Option<String>,
}

/// `GET /app/sign-in`
pub(super) async fn sign_in_page(
    State(st): State<AuthState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    // Signed in already: straight on.
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        if let Ok(Some(_)) = st.engine.auth().session(secret).await {
            return see_other(next);
        }
    }
    let pre = cookie(&headers, PRE_CSRF_COOKIE)
        .filter(|c| c.len() == 43)
        .map(str::to_owned);
    sign_in_form(&st, &headers, StatusCode::OK, pre, next, "", None)
}

/// `POST /app/sign-in`
pub(super) async fn sign_in(State(st): State<AuthState>, headers: HeaderMap, Form(form): Form<SignInForm>) -> Response {
    let next = safe_next(form.next.as_deref());
    let locale = request_locale(&headers);
    let pre = cookie(&headers, PRE_CSRF_COOKIE).unwrap_or_default();
    if pre.is_empty() || !crate::engine::auth::constant_time_eq(pre.as_bytes(), form.csrf.as_bytes()) {
        let msg = texts(locale).expired;
        return sign_in_form(
            &st,
            &headers,
            StatusCode::FORBIDDEN,
            None,
            next,
            &form.username,
            Some(msg),
        );
    }
    match st.engine.auth().sign_in(&form.username, &form.password).await {
        Ok(session) => {
            // A session the browser had before is ended, never reused.
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                if let Err(e) = st.engine.auth().sign_out(old).await {
                    tracing::warn!(error = %e, "could not end the previous session");
                }
            }
            let mut resp = see_other(next);
            let max_age = session.max_age.as_secs();
            append_cookie(
                &mut resp,
                &format!(
                    "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
                    session.secret,
                    secure(&st.options)
                ),
            );
            append_cookie(&mut resp, &clear_cookie(PRE_CSRF_COOKIE, SIGN_IN_PATH, &st.options));
            resp
        }
        Err(AuthError::BadCredentials) => {
            let msg = texts(locale).bad_credentials;
            let pre = Some(pre.to_owned());
            sign_in_form(
                &st,
                &headers,
                StatusCode::UNAUTHORIZED,
                pre,
                next,
                &form.username,
                Some(msg),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            let msg = texts(locale).internal;
            let pre = Some(pre.to_owned());
            sign_in_form(
                &st,
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                pre,
                next,
                &form.username,
                Some(msg),
            )
        }
    }
}

/// `POST /app/sign-out` (behind the gate, so CSRF-checked).
pub(super) async fn sign_out(State(st): State<AuthState>, headers: HeaderMap) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = st.engine.auth().sign_out(secret).await {
            return ApiError::from(e).into_response();
        }
    }
    let mut resp = see_other(SIGN_IN_PATH);
    append_cookie(&mut resp, &clear_cookie(SESSION_COOKIE, "/", &st.options));
    resp
}

struct Texts {
    title: &'static str,
    heading: &'static str,
    username: &'static str,
    password: &'static str,
    submit: &'static str,
    bad_credentials: &'static str,
    expired: &'static str,
    internal: &'static str,
}

fn texts(locale: Locale) -> Texts {
    match locale {
        Locale::En => Texts {
            title: "Sign in · Relata",
            heading: "Sign in to Relata",
            username: "Username",
            password: "Password",
            submit: "Sign in",
            bad_credentials: "The username or the password is wrong.",
            expired: "The sign-in form had expired. Please try again.",
            internal: "Something went wrong on our side. Please try again later.",
        },
        Locale::ZhCn => Texts {
            title: "登录 · Relata",
            heading: "登录 Relata",
            username: "用户名",
            password: "密码",
            submit: "登录",
            bad_credentials: "用户名或密码错误。",
            expired: "登录表单已过期，请重试。",
            internal: "系统出现问题，请稍后重试。",
        },
    }
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        if let Err(e) = env.add_template("auth/sign_in.html", include_str!("../../templates/auth/sign_in.html")) {
            tracing::error!(error = %e, "the sign-in template does not compile");
        }
        env
    })
}

/// Renders the sign-in form with a (new or kept) double-submit token.
fn sign_in_form(
    st: &AuthState,
    headers: &HeaderMap,
    status: StatusCode,
    pre: Option<String>,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let pre = match pre.map_or_else(random_secret, Ok) {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let locale = request_locale(headers);
    let t = texts(locale);
    let ctx = json!({
        "lang": locale.as_str(),
        "t": {
            "title": t.title, "heading": t.heading, "username": t.username,
            "password": t.password, "submit": t.submit,
        },
        "csrf": pre,
        "next": next,
        "username": username,
        "error": error,
    });
    let html = match templates()
        .get_template("auth/sign_in.html")
        .and_then(|tpl| tpl.render(ctx))
    {
        Ok(html) => html,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    append_cookie(
        &mut resp,
        &format!(
            "{PRE_CSRF_COOKIE}={pre}; Path={SIGN_IN_PATH}; HttpOnly; SameSite=Strict; Max-Age=7200{}",
            secure(&st.options)
        ),
    );
    resp
}

/// The language of a page for someone not signed in: the `relata_lang`
/// cookie, else `Accept-Language`, else English.
fn request_locale(headers: &HeaderMap) -> Locale {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(Locale::parse) {
        return l;
    }
    let Some(accept) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
        return Locale::En;
    };
    let mut best: Option<(f32, Locale)> = None;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let tag = it.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let locale = if tag.starts_with("zh") {
            Locale::ZhCn
        } else if tag.starts_with("en") {
            Locale::En
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, locale));
        }
    }
    best.map_or(Locale::En, |(_, l)| l)
}

/// Where to go after signing in: a same-site path, never another site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && n.len() <= 2048
                && !n.starts_with(SIGN_IN_PATH) =>
        {
            n
        }
        _ => HOME_PATH,
    }
}

// ---------------------------------------------------------------------------
// Cookies, redirects and form fields

/// Reads one cookie from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

fn secure(options: &WebOptions) -> &'static str {
    if options.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

fn clear_cookie(name: &str, path: &str, options: &WebOptions) -> String {
    format!(
        "{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(options)
    )
}

fn append_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Percent-encodes everything but unreserved characters and `/`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The first value of field `name` in an `application/x-www-form-urlencoded` body.
fn urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let eq = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
        (percent_decode(&pair[..eq])? == name).then(|| percent_decode(pair.get(eq + 1..).unwrap_or_default()))?
    })
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The value of text field `name` in a `multipart/form-data` body.
fn multipart_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let wanted = format!("name=\"{name}\"");
    let mut at = find(body, delimiter.as_bytes(), 0)?;
    loop {
        let start = at + delimiter.len();
        let end = find(body, format!("\r\n{delimiter}").as_bytes(), start)?;
        let part = body.get(start..end)?;
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        if let Some(split) = find(part, b"\r\n\r\n", 0) {
            let head = String::from_utf8_lossy(&part[..split]);
            let is_field = head.lines().any(|line| {
                let l = line.trim();
                l.len() > 20
                    && l[..20].eq_ignore_ascii_case("content-disposition:")
                    && l.split(';').any(|p| p.trim() == wanted)
            });
            if is_field {
                return String::from_utf8(part[split + 4..].to_vec()).ok();
            }
        }
        at = end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas() {
        assert_eq!(area_of("/api/v1/records/contact"), Area::Api);
        assert_eq!(area_of("/api"), Area::Api);
        assert_eq!(area_of("/admin/api/v1/releases"), Area::Api);
        assert_eq!(area_of("/admin"), Area::App);
        assert_eq!(area_of("/apix"), Area::Public);
        assert_eq!(area_of("/app"), Area::App);
        assert_eq!(area_of("/app/contacts"), Area::App);
        assert_eq!(area_of("/app/sign-in"), Area::Public);
        assert_eq!(area_of("/app/sign-in/x"), Area::App);
        assert_eq!(area_of("/app/sign-out"), Area::App);
        assert_eq!(area_of("/admin/releases"), Area::App);
        assert_eq!(area_of("/healthz"), Area::Public);
        assert_eq!(area_of("/app/assets/app.css"), Area::Public);
        assert_eq!(area_of("/app/assets/../r/contact"), Area::App);
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/app/list/contacts?q=1")), "/app/list/contacts?q=1");
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/app/sign-in?next=/x",
        ] {
            assert_eq!(safe_next(Some(evil)), HOME_PATH, "{evil}");
        }
        assert_eq!(safe_next(Some("/a\nb")), HOME_PATH);
        assert_eq!(safe_next(None), HOME_PATH);
    }

    #[test]
    fn form_fields() {
        assert_eq!(
            urlencoded_field(b"a=1&_csrf=x%2By+z&b=", "_csrf").as_deref(),
            Some("x+y z")
        );
        assert_eq!(urlencoded_field(b"a=1&b=2", "_csrf"), None);
        assert_eq!(urlencoded_field(b"_csrf", "_csrf").as_deref(), Some(""));
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
                     --XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok-123\r\n--XyZ--\r\n";
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(multipart_field(body, "XyZ", "_csrf").as_deref(), Some("tok-123"));
        assert_eq!(multipart_field(body, "XyZ", "title").as_deref(), Some("hello"));
        assert_eq!(multipart_field(body, "XyZ", "other"), None);
    }

    #[test]
    fn languages_from_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(request_locale(&h), Locale::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(request_locale(&h), Locale::ZhCn);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en;q=0.5, zh;q=0.4"),
        );
        assert_eq!(request_locale(&h), Locale::En);
    }

    #[test]
    fn redirect_targets_are_encoded() {
        assert_eq!(percent_encode("/app/x?a=1&b=ü"), "/app/x%3Fa%3D1%26b%3D%C3%BC");
    }
}
