//! Sign-in, sessions, API tokens and CSRF end to end, on SQLite and
//! PostgreSQL: every `/api` and `/app` route needs a signed-in user, every
//! state-changing request made with the session cookie needs the session's
//! CSRF token, and secrets are never stored in clear.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use relata::app::{self, Config};
use relata::engine::auth::{FirstAdmin, NewUser};
use relata::engine::{AuthError, Locale};
use relata::model::values::format_datetime;
use relata::store::{Location, Pool};
use relata_tests::app::hidden_field;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

/// A session made by hand, so that the test sees and replays the cookie.
struct RawSession {
    secret: String,
    csrf: String,
    set_cookie: String,
}

/// The `relata_csrf_pre` cookie and the form's `_csrf` of a fresh sign-in page.
async fn sign_in_page(app: &TestApp, query: &str) -> Result<(String, String, String)> {
    let resp = app
        .anonymous()?
        .get(app.url(&format!("/app/sign-in{query}")))
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let pre = set_cookie_value(resp.headers(), "relata_csrf_pre").context("no relata_csrf_pre cookie")?;
    let html = resp.text().await?;
    let field = hidden_field(&html, "_csrf").context("no _csrf field")?;
    Ok((pre, field, html))
}

fn set_cookie_header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn set_cookie_value(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    let c = set_cookie_header(headers, name)?;
    let v = c.split(';').next()?.split_once('=')?.1.to_owned();
    Some(v)
}

/// Posts the sign-in form with the given pre-sign-in cookie and field.
async fn post_sign_in(app: &TestApp, pre_cookie: Option<&str>, form: &[(&str, &str)]) -> Result<reqwest::Response> {
    let mut req = app.anonymous()?.post(app.url("/app/sign-in")).form(form);
    if let Some(pre) = pre_cookie {
        req = req.header(COOKIE, format!("relata_csrf_pre={pre}"));
    }
    Ok(req.send().await?)
}

async fn raw_sign_in(app: &TestApp, username: &str, password: &str) -> Result<RawSession> {
    let (pre, field, _) = sign_in_page(app, "").await?;
    let resp = post_sign_in(
        app,
        Some(&pre),
        &[("username", username), ("password", password), ("_csrf", &field)],
    )
    .await?;
    anyhow::ensure!(resp.status() == StatusCode::SEE_OTHER, "sign-in gave {}", resp.status());
    let set_cookie = set_cookie_header(resp.headers(), "relata_session").context("no session cookie")?;
    let secret = set_cookie_value(resp.headers(), "relata_session").context("no session cookie")?;
    let me = with_cookie(app, &secret, Method::GET, "/api/v1/me", None, None).await?;
    anyhow::ensure!(me.status == StatusCode::OK, "/me gave {}", me.status);
    let csrf = me.body["csrf_token"].as_str().context("no csrf_token")?.to_owned();
    Ok(RawSession {
        secret,
        csrf,
        set_cookie,
    })
}

/// A request with the session cookie (and, optionally, an X-CSRF-Token).
async fn with_cookie(
    app: &TestApp,
    secret: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    csrf: Option<&str>,
) -> Result<Reply> {
    let mut req = app
        .anonymous()?
        .request(method, app.url(path))
        .header(COOKIE, format!("relata_session={secret}"));
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    Reply::from_response(req.send().await?).await
}

async fn anonymous(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
    let mut req = app.anonymous()?.request(method, app.url(path));
    if let Some(b) = body {
        req = req.json(b);
    }
    Reply::from_response(req.send().await?).await
}

async fn count(app: &TestApp, entity: &str) -> Result<u64> {
    let r = app.get(&format!("/api/v1/records/{entity}?total=true&limit=1")).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["total"].as_u64().context("no total")
}

fn location(r: &Reply) -> Option<&str> {
    r.headers.get("location").and_then(|v| v.to_str().ok())
}

fn error_code(r: &Reply) -> &str {
    r.body["error"]["code"].as_str().unwrap_or_default()
}

/// Runs one SQL statement that binds an instant (text on SQLite).
async fn exec_at(pool: &Pool, sql: &str, at: OffsetDateTime) -> Result<u64> {
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query(sql)
            .bind(format_datetime(at))
            .execute(p)
            .await?
            .rows_affected(),
        Pool::Postgres(p) => sqlx::query(sql).bind(at).execute(p).await?.rows_affected(),
    })
}

async fn texts(pool: &Pool, sql: &str) -> Result<Vec<String>> {
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await?,
    })
}

async fn every_route_needs_a_user(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let acme = app.create("company", json!({"name": "Acme"})).await?;
    let acme_path = format!("/api/v1/records/company/{}", acme["id"].as_str().unwrap_or_default());
    let before = count(&app, "company").await?;
    let body = json!({"name": "Intruder Ltd"});
    for (method, path, body) in [
        (Method::GET, "/api/v1/records/company", None),
        (Method::POST, "/api/v1/records/company", Some(&body)),
        (Method::GET, acme_path.as_str(), None),
        (Method::PATCH, acme_path.as_str(), Some(&body)),
        (Method::DELETE, acme_path.as_str(), None),
        (Method::GET, "/api/v1/recycle-bin/company", None),
        (Method::GET, "/api/v1/openapi.json", None),
        (Method::GET, "/api/v1/me", None),
        (Method::POST, "/api/v1/tokens", Some(&json!({"name": "mine"}))),
        (Method::GET, "/api/v1/no-such-route", None),
    ] {
        let r = anonymous(&app, method.clone(), path, body).await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}: {}", r.body);
        assert_eq!(error_code(&r), "unauthenticated", "{method} {path}");
        assert!(r.headers.contains_key("www-authenticate"), "{method} {path}");
    }
    // A wrong token, a malformed one, another scheme, a bad cookie: all 401.
    for (name, value) in [
        (
            "authorization",
            "Bearer rlt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        ("authorization", "Bearer nonsense"),
        ("authorization", "Basic YWRtaW46dGVzdC1hZG1pbi1wYXNzd29yZA=="),
        ("cookie", "relata_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let r = app
            .anonymous()?
            .get(app.url("/api/v1/records/company"))
            .header(name, value)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}: {value}");
    }
    // The token decides when both are sent: a bad token is not saved by a cookie.
    let session = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let r = app
        .anonymous()?
        .get(app.url("/api/v1/me"))
        .header(
            "authorization",
            "Bearer rlt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .header(COOKIE, format!("relata_session={}", session.secret))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "company").await?, before, "nothing was written");

    // The UI sends people to the sign-in page, and back afterwards.
    let r = anonymous(&app, Method::GET, "/app", None).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), Some("/app/sign-in?next=/app"));
    let r = anonymous(&app, Method::GET, "/app/l/contact?q=li%20wei", None).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), Some("/app/sign-in?next=/app/l/contact%3Fq%3Dli%2520wei"));
    let r = anonymous(&app, Method::GET, "/app/no/such/page", None).await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "unknown /app pages too");
    let r = app
        .anonymous()?
        .post(app.url("/app/r/company"))
        .form(&[("name", "Intruder Ltd")])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "company").await?, before, "nothing was written");

    // Public: health, the sign-in page and the UI's static files.
    assert_eq!(
        anonymous(&app, Method::GET, "/healthz", None).await?.status,
        StatusCode::OK
    );
    assert_eq!(
        anonymous(&app, Method::GET, "/app/sign-in", None).await?.status,
        StatusCode::OK
    );
    assert_eq!(
        anonymous(&app, Method::GET, "/app/assets/htmx.min.js", None)
            .await?
            .status,
        StatusCode::OK
    );
    Ok(())
}

async fn tokens_sign_writes_and_revoke_at_once(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    // The default client's token is the admin's: writes are stamped with it.
    let acme = app.create("company", json!({"name": "Acme"})).await?;
    let admin = app.admin_id.to_string();
    assert_eq!(acme["created_by"], admin);
    assert_eq!(acme["updated_by"], admin);
    assert_eq!(acme["owner_id"], admin);

    // Another user with a token of their own.
    let li = app
        .engine
        .auth()
        .create_user(NewUser {
            username: "Li.Wei".into(),
            display_name: "Li Wei".into(),
            email: Some("li.wei@acme.example".into()),
            password: "li-wei-password".into(),
            locale: Locale::ZhCn,
            is_admin: false,
        })
        .await?;
    assert_eq!(li.username, "li.wei", "usernames are stored lower-case");
    let li_token = app.engine.auth().create_token(li.id, "li's script").await?;
    let li_client = app.with_token(&li_token.token)?;
    let me: Value = li_client.get(app.url("/api/v1/me")).send().await?.json().await?;
    assert_eq!(me["username"], "li.wei");
    assert_eq!(me["locale"], "zh-CN");
    assert!(me.get("csrf_token").is_none(), "token users have no CSRF token: {me}");
    let path = format!("/api/v1/records/company/{}", acme["id"].as_str().unwrap_or_default());
    let patched = li_client
        .patch(app.url(&path))
        .header("if-match", "\"1\"")
        .json(&json!({"city": "Hangzhou"}))
        .send()
        .await?;
    assert_eq!(patched.status(), StatusCode::OK, "bearer requests need no CSRF token");
    let patched: Value = patched.json().await?;
    assert_eq!(patched["updated_by"], li.id.to_string());
    assert_eq!(patched["created_by"], admin);

    // Tokens through the API: created (shown once), listed (never shown), revoked.
    let created = app.post("/api/v1/tokens", &json!({"name": "ci"})).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.body["token"].as_str().context("token")?.to_owned();
    let token_id = created.body["id"].as_str().context("id")?.to_owned();
    assert!(token.starts_with("rlt_"), "{token}");
    let ci = app.with_token(&token)?;
    assert_eq!(
        ci.get(app.url("/api/v1/records/company")).send().await?.status(),
        StatusCode::OK
    );
    let listed = app.get("/api/v1/tokens").await?;
    assert_eq!(listed.status, StatusCode::OK);
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .context("data")?
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["ci", "tests"], "newest first");
    assert!(
        !listed.body.to_string().contains(&token),
        "a listed token has no secret"
    );
    let bad_name = app.post("/api/v1/tokens", &json!({"name": "  "})).await?;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Li cannot revoke the admin's token.
    let r = li_client
        .delete(app.url(&format!("/api/v1/tokens/{token_id}")))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The admin can, and it stops working at once.
    let r = app
        .call(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, &[])
        .await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = ci.get(app.url("/api/v1/records/company")).send().await?;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused at once"
    );
    let r = app
        .call(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, &[])
        .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "revoked already");
    let listed = app.get("/api/v1/tokens").await?;
    assert!(listed.body["data"][0]["revoked_at"].is_string(), "{}", listed.body);
    Ok(())
}

async fn sign_in_answers_alike_for_unknown_users_and_wrong_passwords(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let mut answers = Vec::new();
    for (username, password) in [("admin", "wrong-password"), ("nobody", "wrong-password"), ("", "")] {
        let (pre, field, _) = sign_in_page(&app, "").await?;
        let resp = post_sign_in(
            &app,
            Some(&pre),
            &[("username", username), ("password", password), ("_csrf", &field)],
        )
        .await?;
        let status = resp.status();
        assert!(set_cookie_header(resp.headers(), "relata_session").is_none());
        let html = resp.text().await?;
        let alert = html
            .split("role=\"alert\"")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .map(str::to_owned)
            .context("no alert")?;
        answers.push((status, alert));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(
        answers[0].1.contains("The username or the password is wrong."),
        "{answers:?}"
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");

    // The engine says the same.
    let auth = app.engine.auth();
    assert!(matches!(
        auth.sign_in("admin", "nope-nope").await,
        Err(AuthError::BadCredentials)
    ));
    assert!(matches!(
        auth.sign_in("ghost", "nope-nope").await,
        Err(AuthError::BadCredentials)
    ));
    // And the API error hides which it was.
    let api: relata::web::error::ApiError = AuthError::BadCredentials.into();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // In Chinese for a Chinese browser.
    let resp = app
        .anonymous()?
        .get(app.url("/app/sign-in"))
        .header("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")
        .send()
        .await?;
    let html = resp.text().await?;
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("用户名") && html.contains("密码"));

    // Usernames are case-insensitive.
    assert!(auth.sign_in(" ADMIN ", ADMIN_PASSWORD).await.is_ok());
    Ok(())
}

async fn sign_in_sets_a_locked_down_cookie(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let session = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let c = session.set_cookie.to_ascii_lowercase();
    for attr in ["httponly", "samesite=lax", "path=/", "max-age="] {
        assert!(c.contains(attr), "{attr} missing in {}", session.set_cookie);
    }
    assert!(!c.contains("secure"), "plain-http default: {}", session.set_cookie);
    assert_eq!(session.secret.len(), 43);

    let Some(secure) = TestApp::spawn_with(backend, None, |c: &mut Config| c.secure_cookies = true).await? else {
        return Ok(());
    };
    let (pre, field, _) = sign_in_page(&secure, "").await?;
    let resp = post_sign_in(
        &secure,
        Some(&pre),
        &[("username", "admin"), ("password", ADMIN_PASSWORD), ("_csrf", &field)],
    )
    .await?;
    let cookie = set_cookie_header(resp.headers(), "relata_session").context("cookie")?;
    assert!(cookie.contains("; Secure"), "{cookie}");
    Ok(())
}

async fn cookie_sessions_need_the_csrf_token(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let other = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    assert_ne!(s.csrf, other.csrf);
    let list = with_cookie(&app, &s.secret, Method::GET, "/api/v1/records/company", None, None).await?;
    assert_eq!(list.status, StatusCode::OK, "reads need no CSRF token");

    let acme = app.create("company", json!({"name": "Acme"})).await?;
    let path = format!("/api/v1/records/company/{}", acme["id"].as_str().unwrap_or_default());
    let before = count(&app, "company").await?;
    let new = json!({"name": "Cookie Co"});
    let patch = json!({"city": "Xiamen"});
    // Without the token, with a wrong one, with another session's: 403 and nothing written.
    for csrf in [None, Some("not-the-token"), Some(other.csrf.as_str())] {
        for (method, path, body) in [
            (Method::POST, "/api/v1/records/company", Some(&new)),
            (Method::PATCH, path.as_str(), Some(&patch)),
            (Method::DELETE, path.as_str(), None),
            (Method::POST, "/api/v1/tokens", Some(&json!({"name": "x"}))),
            (Method::PATCH, "/api/v1/me", Some(&json!({"locale": "zh-CN"}))),
        ] {
            let mut req = app
                .anonymous()?
                .request(method.clone(), app.url(path))
                .header(COOKIE, format!("relata_session={}", s.secret))
                .header("if-match", "\"1\"");
            if let Some(t) = csrf {
                req = req.header("x-csrf-token", t);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let r = Reply::from_response(req.send().await?).await?;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path} with {csrf:?}: {}",
                r.body
            );
            assert_eq!(error_code(&r), "csrf_failed");
        }
    }
    assert_eq!(count(&app, "company").await?, before, "nothing was written");
    let acme_now = app.get(&path).await?;
    assert_eq!(acme_now.body["row_version"], 1, "nothing was changed");
    assert_eq!(
        app.get("/api/v1/tokens").await?.body["data"].as_array().map(Vec::len),
        Some(1)
    );

    // With the right token: it works, stamped with the user.
    let created = with_cookie(
        &app,
        &s.secret,
        Method::POST,
        "/api/v1/records/company",
        Some(&new),
        Some(&s.csrf),
    )
    .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["created_by"], app.admin_id.to_string());
    let mut req = app
        .anonymous()?
        .patch(app.url(&path))
        .header(COOKIE, format!("relata_session={}", s.secret))
        .header("x-csrf-token", &s.csrf)
        .header("if-match", "\"1\"")
        .json(&patch);
    assert_eq!(req.send().await?.status(), StatusCode::OK);
    req = app
        .anonymous()?
        .delete(app.url(&path))
        .header(COOKIE, format!("relata_session={}", s.secret))
        .header("x-csrf-token", &s.csrf)
        .header("if-match", "\"2\"");
    assert_eq!(req.send().await?.status(), StatusCode::OK);

    // UI forms carry the token in the `_csrf` field.
    let before = count(&app, "company").await?;
    let form_post = |fields: Vec<(&'static str, String)>| {
        let req = app
            .anonymous()
            .map(|c| c.post(app.url("/app/r/company")))
            .map(|r| r.header(COOKIE, format!("relata_session={}", s.secret)).form(&fields));
        async move { Ok::<_, anyhow::Error>(req?.send().await?) }
    };
    let r = form_post(vec![("name", "Form Co".into())]).await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a form without _csrf");
    let r = form_post(vec![("name", "Form Co".into()), ("_csrf", other.csrf.clone())]).await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a form with another session's _csrf");
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nForm Co\r\n--XyZ--\r\n";
    let r = app
        .anonymous()?
        .post(app.url("/app/r/company"))
        .header(COOKIE, format!("relata_session={}", s.secret))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(multipart)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a multipart form without _csrf");
    assert_eq!(count(&app, "company").await?, before, "nothing was written");
    let r = form_post(vec![("name", "Form Co".into()), ("_csrf", s.csrf.clone())]).await?;
    assert_ne!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a form with the session's _csrf passes"
    );
    assert_eq!(count(&app, "company").await?, before + 1, "and is saved");
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n--XyZ--\r\n",
        s.csrf
    );
    let r = app
        .anonymous()?
        .post(app.url("/app/r/company"))
        .header(COOKIE, format!("relata_session={}", s.secret))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(multipart)
        .send()
        .await?;
    assert_ne!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a multipart form with _csrf passes the gate"
    );

    // The browser helper of the test harness does the same as a person.
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let page = browser.client.get(browser.url("/app")).send().await?;
    assert_eq!(page.status(), StatusCode::OK, "signed in, /app opens");
    let r = browser
        .call(
            Method::POST,
            "/api/v1/records/company",
            Some(&json!({"name": "B Co"})),
            false,
        )
        .await?;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = browser
        .call(
            Method::POST,
            "/api/v1/records/company",
            Some(&json!({"name": "B Co"})),
            true,
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED);
    Ok(())
}

async fn the_sign_in_form_needs_its_own_csrf_token(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let (pre, field, _) = sign_in_page(&app, "").await?;
    assert_eq!(pre, field, "double submit: cookie and field agree");
    let creds = [("username", "admin"), ("password", ADMIN_PASSWORD)];
    // No cookie, no field, a field that does not match the cookie.
    for (cookie, field) in [
        (None, Some(field.as_str())),
        (Some(pre.as_str()), None),
        (Some(pre.as_str()), Some("x")),
    ] {
        let mut form = creds.to_vec();
        if let Some(f) = field {
            form.push(("_csrf", f));
        }
        let resp = post_sign_in(&app, cookie, &form).await?;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{cookie:?} / {field:?}");
        assert!(set_cookie_header(resp.headers(), "relata_session").is_none());
    }
    let mut form = creds.to_vec();
    form.push(("_csrf", &field));
    let resp = post_sign_in(&app, Some(&pre), &form).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/app")
    );
    // The double-submit cookie is dropped once it has served.
    let cleared = set_cookie_header(resp.headers(), "relata_csrf_pre").context("pre cookie not cleared")?;
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    Ok(())
}

async fn sign_out_ends_the_session(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let out = |csrf: Option<String>| {
        let mut form = Vec::new();
        if let Some(c) = csrf {
            form.push(("_csrf", c));
        }
        let req = app.anonymous().map(|c| {
            c.post(app.url("/app/sign-out"))
                .header(COOKIE, format!("relata_session={}", s.secret))
                .form(&form)
        });
        async move { Ok::<_, anyhow::Error>(req?.send().await?) }
    };
    let r = out(None).await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "sign-out is a CSRF-checked form");
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::OK, "still signed in");

    let r = out(Some(s.csrf.clone())).await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/app/sign-in")
    );
    let cleared = set_cookie_header(r.headers(), "relata_session").context("cookie not cleared")?;
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie, replayed, is worth nothing.
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let page = with_cookie(&app, &s.secret, Method::GET, "/app", None, None).await?;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    Ok(())
}

async fn no_open_redirects(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    for (next, expected) in [
        ("https://evil.example", "/app"),
        ("//evil.example/app", "/app"),
        ("/\\evil.example", "/app"),
        ("javascript:alert(1)", "/app"),
        ("/app/l/contact?q=1", "/app/l/contact?q=1"),
    ] {
        let (pre, field, _) = sign_in_page(&app, "").await?;
        let resp = post_sign_in(
            &app,
            Some(&pre),
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("_csrf", &field),
                ("next", next),
            ],
        )
        .await?;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some(expected),
            "next={next}"
        );
    }
    // The page keeps a safe `next` for its form (HTML-escaped: `/` is `&#x2f;`).
    let next_field = |html: &str| hidden_field(html, "next").map(|v| v.replace("&#x2f;", "/"));
    let (_, _, html) = sign_in_page(&app, "?next=https%3A%2F%2Fevil.example").await?;
    assert_eq!(next_field(&html).as_deref(), Some("/app"));
    let (_, _, html) = sign_in_page(&app, "?next=%2Fapp%2Fl%2Fcontact").await?;
    assert_eq!(next_field(&html).as_deref(), Some("/app/l/contact"));
    Ok(())
}

async fn ended_sessions_are_refused(backend: TestBackend) -> Result<()> {
    // No cache: the database decides every time.
    let Some(app) = TestApp::spawn_with(backend, None, |c: &mut Config| {
        c.auth.cache_ttl = Duration::ZERO;
    })
    .await?
    else {
        return Ok(());
    };
    let pool = app.engine.databases().ed.clone();
    let past = OffsetDateTime::now_utc() - Duration::from_secs(60);
    // Past its absolute end.
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    exec_at(&pool, "UPDATE relata_sessions SET expires_at = $1", past).await?;
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "expired");
    let page = with_cookie(&app, &s.secret, Method::GET, "/app", None, None).await?;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    // Idle for longer than the idle limit.
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let idle = OffsetDateTime::now_utc() - Duration::from_secs(13 * 3600);
    exec_at(&pool, "UPDATE relata_sessions SET last_seen_at = $1", idle).await?;
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "idle too long");
    // A deactivated user's session and token stop working.
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    match &pool {
        Pool::Sqlite(p) => sqlx::query("UPDATE relata_users SET active = 0")
            .execute(p)
            .await?
            .rows_affected(),
        Pool::Postgres(p) => sqlx::query("UPDATE relata_users SET active = FALSE")
            .execute(p)
            .await?
            .rows_affected(),
    };
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "deactivated user");
    assert_eq!(app.get("/api/v1/me").await?.status, StatusCode::UNAUTHORIZED);

    // With the cache on, a session still ends on time: a 1-second lifetime.
    let Some(app) = TestApp::spawn_with(backend, None, |c: &mut Config| {
        c.auth.session_lifetime = Duration::from_secs(1);
    })
    .await?
    else {
        return Ok(());
    };
    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    assert!(s.set_cookie.contains("Max-Age=1"), "{}", s.set_cookie);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let me = with_cookie(&app, &s.secret, Method::GET, "/api/v1/me", None, None).await?;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "past its lifetime");
    Ok(())
}

async fn me_and_the_locale(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let me = app.get("/api/v1/me").await?;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["is_admin"], true);
    assert_eq!(
        me.body["locale"],
        Value::Null,
        "the first admin's pages follow the browser"
    );
    let changed = app
        .call(Method::PATCH, "/api/v1/me", Some(&json!({"locale": "zh-CN"})), &[])
        .await?;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["locale"], "zh-CN");
    assert_eq!(app.get("/api/v1/me").await?.body["locale"], "zh-CN", "seen at once");
    let cleared = app
        .call(Method::PATCH, "/api/v1/me", Some(&json!({"locale": null})), &[])
        .await?;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(app.get("/api/v1/me").await?.body["locale"], Value::Null);
    for bad in [json!({"locale": "fr"}), json!({"username": "root"})] {
        let r = app.call(Method::PATCH, "/api/v1/me", Some(&bad), &[]).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(&r), "validation_failed");
    }
    Ok(())
}

async fn secrets_are_not_stored_in_clear(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let pool = app.engine.databases().ed.clone();
    let hashes = texts(&pool, "SELECT password_hash FROM relata_users").await?;
    assert_eq!(hashes.len(), 1);
    assert!(hashes[0].starts_with("$argon2id$"), "{}", hashes[0]);
    assert!(!hashes[0].contains(ADMIN_PASSWORD));

    let token = app.post("/api/v1/tokens", &json!({"name": "ci"})).await?.body["token"]
        .as_str()
        .context("token")?
        .to_owned();
    let rows = texts(&pool, "SELECT name || ' ' || token_hash FROM relata_api_tokens").await?;
    assert_eq!(rows.len(), 2);
    for stored in [app.token.clone().unwrap_or_default(), token] {
        let random = stored.trim_start_matches("rlt_");
        assert!(rows.iter().all(|r| !r.contains(random)), "a token is stored in clear");
    }
    assert!(rows.iter().all(|r| r.rsplit(' ').next().is_some_and(|h| h.len() == 64)));

    let s = raw_sign_in(&app, "admin", ADMIN_PASSWORD).await?;
    let rows = texts(&pool, "SELECT id || ' ' || csrf_token FROM relata_sessions").await?;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(&s.secret), "a session secret is stored in clear");
    Ok(())
}

/// A fresh, empty location on `backend` (None: PostgreSQL skipped).
async fn fresh_location(backend: TestBackend) -> Result<Option<(Location, Option<tempfile::TempDir>)>> {
    Ok(match backend {
        TestBackend::Sqlite => {
            let tmp = tempfile::tempdir()?;
            Some((Location::SqliteDir(tmp.path().to_owned()), Some(tmp)))
        }
        TestBackend::Postgres => relata_tests::pg::fresh_database()
            .await?
            .map(|url| (Location::Postgres(url), None)),
    })
}

async fn the_first_admin_is_created_once(backend: TestBackend) -> Result<()> {
    let Some((location, _tmp)) = fresh_location(backend).await? else {
        return Ok(());
    };
    let mut config = Config::new(PathBuf::new(), None);
    config.location = location;
    let engine = app::open(&config).await?;
    let auth = engine.auth();
    // Two processes starting at once: exactly one creates the admin.
    let (a, b) = tokio::join!(auth.ensure_first_admin(None), auth.ensure_first_admin(None));
    let created: Vec<FirstAdmin> = [a?, b?].into_iter().flatten().collect();
    assert_eq!(created.len(), 1, "{created:?}");
    let password = created[0].generated_password.clone().context("a generated password")?;
    assert_eq!(created[0].username, "admin");
    assert_eq!(password.len(), 20);
    assert!(auth.ensure_first_admin(None).await?.is_none(), "never twice");
    assert!(auth
        .ensure_first_admin(Some("another-password".into()))
        .await?
        .is_none());
    let users = texts(&engine.databases().ed, "SELECT username FROM relata_users").await?;
    assert_eq!(users, ["admin"]);
    let session = auth.sign_in("admin", &password).await?;
    assert!(session.user.is_admin);
    // A lost password is replaced, and the sessions end.
    let new = auth.reset_password("admin", None).await?;
    assert_ne!(new, password);
    assert!(auth.session(&session.secret).await?.is_none());
    assert!(auth.sign_in("admin", &password).await.is_err());
    assert!(auth.sign_in("admin", &new).await.is_ok());
    engine.databases().close().await;

    // A password given through the environment is used, and not returned.
    let Some((location, _tmp2)) = fresh_location(backend).await? else {
        return Ok(());
    };
    config.location = location;
    let engine = app::open(&config).await?;
    let first = engine
        .auth()
        .ensure_first_admin(Some("from-the-env-123".into()))
        .await?;
    assert_eq!(
        first,
        Some(FirstAdmin {
            username: "admin".into(),
            generated_password: None
        })
    );
    assert!(engine.auth().sign_in("admin", "from-the-env-123").await.is_ok());
    engine.databases().close().await;
    Ok(())
}

/// `serve --admin-password short` (or `RELATA_ADMIN_PASSWORD`): refused
/// before anything is written, so the data directory (or the PostgreSQL
/// database) stays empty and a corrected start begins from scratch.
async fn a_refused_admin_password_writes_nothing(backend: TestBackend) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let data_dir = tmp.path().join("data");
    let mut config = Config::new(data_dir.clone(), None);
    let pg_url = match backend {
        TestBackend::Sqlite => None,
        TestBackend::Postgres => match relata_tests::pg::fresh_database().await? {
            Some(url) => {
                config.location = Location::Postgres(url.clone());
                Some(url)
            }
            None => return Ok(()),
        },
    };
    let refused = app::prepare(&config, &stock_metadata(), None, Some("short".into())).await;
    let err = match refused {
        Ok(_) => anyhow::bail!("a 5-character administrator password was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("RELATA_ADMIN_PASSWORD") && err.contains("at least") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!data_dir.exists(), "the refused start made {}", data_dir.display());
    if let Some(url) = &pg_url {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
        let schemas: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'relata%'")
            .fetch_one(&mut conn)
            .await?;
        assert_eq!(schemas, 0, "the refused start created schemas");
    }

    // The same start with an acceptable password: release 1 and the admin.
    let prepared = app::prepare(&config, &stock_metadata(), None, Some("long-enough-123".into())).await?;
    assert_eq!(prepared.engine.model().release, 1);
    assert_eq!(
        prepared.first_admin,
        Some(FirstAdmin {
            username: "admin".into(),
            generated_password: None
        })
    );
    assert!(prepared.engine.auth().sign_in("admin", "long-enough-123").await.is_ok());
    prepared.engine.databases().close().await;
    Ok(())
}

on_both_backends!(
    a_refused_admin_password_writes_nothing,
    every_route_needs_a_user,
    tokens_sign_writes_and_revoke_at_once,
    sign_in_answers_alike_for_unknown_users_and_wrong_passwords,
    sign_in_sets_a_locked_down_cookie,
    cookie_sessions_need_the_csrf_token,
    the_sign_in_form_needs_its_own_csrf_token,
    sign_out_ends_the_session,
    no_open_redirects,
    ended_sessions_are_refused,
    me_and_the_locale,
    secrets_are_not_stored_in_clear,
    the_first_admin_is_created_once,
);
