//! `TestApp`: a Relata runtime on a throwaway database (a temp dir of SQLite
//! files, or a fresh PostgreSQL database), serving on a free loopback port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use relata::app::{self, Config, Server};
use relata::engine::{ApplyOutcome, ApplyRequest, Engine};
use relata::model::SourceFile;
use relata::store::Location;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// Embedded SQLite in a temp dir.
    Sqlite,
    /// A fresh database on the throwaway PostgreSQL.
    Postgres,
}

/// The stock application's metadata folder.
pub fn stock_metadata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../metadata")
}

/// The password of the first administrator (`admin`) of every test app.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A running runtime for one test.
pub struct TestApp {
    /// The engine behind the server.
    pub engine: Arc<Engine>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// An HTTP client that sends the admin's API token
    /// (`Authorization: Bearer <token>`) with every request.
    pub client: reqwest::Client,
    /// The admin's API token (always `Some`; an `Option` so that callers
    /// written for apps without one keep working).
    pub token: Option<String>,
    /// The id of the first administrator, `admin` (password [`ADMIN_PASSWORD`]).
    pub admin_id: Uuid,
    /// Where the data lives (to reopen it).
    pub location: Location,
    /// The attachment store's directory (in a temp dir, on both backends).
    pub attachments_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    _tmp: tempfile::TempDir,
}

/// A response: status, headers and JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Value,
}

impl Reply {
    /// Reads a response whole.
    pub async fn from_response(resp: reqwest::Response) -> anyhow::Result<Reply> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, headers, body })
    }

    /// The ETag header without quotes.
    pub fn etag(&self) -> Option<String> {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_owned())
    }
}

impl TestApp {
    /// A runtime on `backend` with the given package applied (None: empty
    /// business model). Returns `Ok(None)` when PostgreSQL is skipped
    /// (`RELATA_SKIP_PG` set; the skip is reported on standard error).
    pub async fn spawn(backend: TestBackend, package: Option<&Path>) -> anyhow::Result<Option<TestApp>> {
        TestApp::spawn_with(backend, package, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with the configuration adjusted by `configure`
    /// (session lifetimes, cookie flags, limits).
    pub async fn spawn_with(
        backend: TestBackend,
        package: Option<&Path>,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Option<TestApp>> {
        let tmp = tempfile::tempdir()?;
        let location = match backend {
            TestBackend::Sqlite => Location::SqliteDir(tmp.path().to_owned()),
            TestBackend::Postgres => match crate::pg::fresh_database().await? {
                Some(url) => Location::Postgres(url),
                // Skipped on purpose; `fresh_database` printed a SKIPPED: line.
                None => return Ok(None),
            },
        };
        let mut config = Config::new(tmp.path().to_owned(), None);
        config.location = location.clone();
        configure(&mut config);
        let attachments_dir = config.attachments.dir.clone();
        let engine = app::open(&config).await.context("opening the test databases")?;
        let auth = engine.auth();
        auth.ensure_first_admin(Some(ADMIN_PASSWORD.into()))
            .await
            .context("creating the first admin")?;
        let admin = auth.user("admin").await?.context("no admin")?;
        let token = auth.create_token(admin.id, "tests").await?.token;
        if let Some(dir) = package {
            app::apply_dir(&engine, dir, "test", "test package", false)
                .await
                .context("applying the test package")?;
        }
        let server = Server::bind(engine.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await?
            .with_options(config.web_options());
        let addr = server.local_addr().context("no local address")?;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Ok(Some(TestApp {
            engine,
            base: format!("http://{addr}"),
            client: bearer_client(&token)?,
            token: Some(token),
            admin_id: admin.id,
            location,
            attachments_dir,
            stop: Some(stop),
            _tmp: tmp,
        }))
    }

    /// Another engine on this app's databases and attachment directory, as
    /// a second runtime process would have (another node of a cluster, or
    /// the same one restarted), its configuration adjusted by `configure`.
    pub async fn open_engine(&self, configure: impl FnOnce(&mut Config)) -> anyhow::Result<Arc<Engine>> {
        let mut config = Config::new(self._tmp.path().to_owned(), None);
        config.location = self.location.clone();
        config.attachments.dir = self.attachments_dir.clone();
        configure(&mut config);
        app::open(&config).await.context("opening a second engine")
    }

    /// A client with no credentials that does not follow redirects.
    pub fn anonymous(&self) -> anyhow::Result<reqwest::Client> {
        Ok(fresh_connections(reqwest::Client::builder())
            .redirect(Policy::none())
            .build()?)
    }

    /// A client authenticated by `token`, not following redirects.
    pub fn with_token(&self, token: &str) -> anyhow::Result<reqwest::Client> {
        bearer_client(token)
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Signs in through the sign-in form, like a browser: a client with a
    /// cookie store (not following redirects) and the session's CSRF token.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<Browser> {
        let browser = self.browser()?;
        let (status, _) = browser.sign_in(username, password).await?;
        anyhow::ensure!(
            status == StatusCode::SEE_OTHER,
            "signing in as {username} gave {status}"
        );
        let me = browser.client.get(self.url("/api/v1/me")).send().await?;
        anyhow::ensure!(
            me.status() == StatusCode::OK,
            "GET /api/v1/me after sign-in gave {}",
            me.status()
        );
        let me: Value = me.json().await?;
        let csrf = me["csrf_token"].as_str().context("no csrf_token in /me")?.to_owned();
        Ok(Browser { csrf, ..browser })
    }

    /// A browser-like client with an empty cookie store, not signed in.
    pub fn browser(&self) -> anyhow::Result<Browser> {
        let client = fresh_connections(reqwest::Client::builder())
            .cookie_store(true)
            .redirect(Policy::none())
            .build()?;
        Ok(Browser {
            client,
            base: self.base.clone(),
            csrf: String::new(),
        })
    }

    /// Sends a request with an optional JSON body and headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Reply::from_response(req.send().await?).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.call(Method::GET, path, None, &[]).await
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    /// PATCH a JSON body with `If-Match: "version"`.
    pub async fn patch(&self, path: &str, version: i64, body: &Value) -> anyhow::Result<Reply> {
        let tag = format!("\"{version}\"");
        self.call(Method::PATCH, path, Some(body), &[("if-match", &tag)]).await
    }

    /// Creates a record and returns it; fails the test unless 201.
    pub async fn create(&self, entity: &str, body: Value) -> anyhow::Result<Value> {
        let r = self.post(&format!("/api/v1/records/{entity}"), &body).await?;
        anyhow::ensure!(
            r.status == StatusCode::CREATED,
            "create {entity} gave {}: {}",
            r.status,
            r.body
        );
        Ok(r.body)
    }

    /// Applies a package given as (path, YAML) pairs.
    pub async fn apply(&self, files: &[(&str, &str)]) -> Result<ApplyOutcome, relata::engine::ApplyError> {
        let files = files
            .iter()
            .map(|(p, t)| SourceFile {
                path: (*p).to_owned(),
                text: (*t).to_owned(),
            })
            .collect();
        self.engine
            .apply(ApplyRequest {
                files,
                author: "test".into(),
                comment: "test".into(),
                plan_only: false,
            })
            .await
    }
}

/// No idle connection is reused: a test that sends a refused body (413) has
/// the server close that connection, and a pooled request racing the close
/// fails with a transport error that says nothing about the code under test.
fn fresh_connections(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.pool_max_idle_per_host(0)
}

fn bearer_client(token: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?);
    Ok(fresh_connections(reqwest::Client::builder())
        .default_headers(headers)
        .redirect(Policy::none())
        .build()?)
}

/// A browser-like client: cookies kept, redirects not followed.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The client, with its cookie store.
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The session's CSRF token (empty before signing in).
    pub csrf: String,
}

impl Browser {
    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Opens the sign-in page and returns the hidden `_csrf` of its form.
    pub async fn sign_in_form(&self) -> anyhow::Result<String> {
        let page = self.client.get(self.url("/app/sign-in")).send().await?.text().await?;
        hidden_field(&page, "_csrf").context("no _csrf field on the sign-in page")
    }

    /// Signs in through the form; returns the status and the `Location`.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<(StatusCode, Option<String>)> {
        let csrf = self.sign_in_form().await?;
        let resp = self
            .client
            .post(self.url("/app/sign-in"))
            .form(&[("username", username), ("password", password), ("_csrf", csrf.as_str())])
            .send()
            .await?;
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((resp.status(), location))
    }

    /// Sends a request with an optional JSON body, with or without the
    /// session's CSRF token.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>, csrf: bool) -> anyhow::Result<Reply> {
        let mut req = self.client.request(method, self.url(path));
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Reply::from_response(req.send().await?).await
    }
}

/// The `value` of the hidden input named `name` in an HTML page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + 7;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_owned())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs a test body once per backend, as two `#[tokio::test]`s named
/// `sqlite` and `postgres` in a module named after the body.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                super::$name($crate::app::TestBackend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                super::$name($crate::app::TestBackend::Postgres).await
            }
        }
    )*};
}
