//! A real browser for the UI tests: headless Chromium driven through
//! chromedriver (WebDriver) with fantoccini.
//!
//! [`Chrome::start`] starts chromedriver on a free loopback port, waits until
//! it answers, and opens a headless session with a fresh profile. Dropping the
//! [`Chrome`] ends the session and kills chromedriver; [`Chrome::close`] does
//! the same politely and reports errors.
//!
//! Prerequisites: Debian's `chromium` and `chromium-driver` packages
//! (`/usr/bin/chromium`, `/usr/bin/chromedriver`; `.ci/run` installs them).
//! Other paths can be given in `RELATA_CHROMEDRIVER` and `RELATA_CHROMIUM`.
//! Without them the browser tests fail (they never pass silently) unless
//! `RELATA_SKIP_BROWSER=1` is set.
//!
//! Waiting is always "until this is true, at most [`WAIT`]": no fixed sleeps.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long a wait for the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to answer after it starts.
const DRIVER_START: Duration = Duration::from_secs(20);
/// Attempts at finding a free port for chromedriver.
const PORT_ATTEMPTS: usize = 5;
/// The page area of every session (also the size of the docs' screenshots).
pub const WINDOW: (u32, u32) = (1280, 800);

/// Chromium's flags: headless, and quiet on a machine with no network
/// (without the background-networking flags it stalls on refused connections).
const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-US",
];

const INSTALL_HINT: &str = "the browser tests need Chromium and ChromeDriver: \
     apt-get install chromium chromium-driver \
     (or set RELATA_SKIP_BROWSER=1 to skip them)";

/// A headless Chromium session and the chromedriver behind it.
pub struct Chrome {
    /// The WebDriver client (for anything the helpers below don't cover).
    pub client: Client,
    base: String,
    driver: Child,
    driver_port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

/// Where a program is: the path in the environment variable `var`, else the
/// first of `candidates` that exists, else `name` found on `PATH`.
fn locate(var: &str, candidates: &[&str], name: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("{var}={} is not a file; {INSTALL_HINT}", p.display());
        }
        return Ok(p);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join(name)),
        )
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not found (nor {var}); {INSTALL_HINT}"))
}

/// Set to 1/true/yes/on: the browser tests are skipped.
pub const SKIP_VAR: &str = "RELATA_SKIP_BROWSER";

/// `true` when `RELATA_SKIP_BROWSER` asks for a skip: then reported with a
/// `SKIPPED:` line (an error in CI, which never skips).
fn skipped() -> Result<bool> {
    if !relata_testkit::skip::requested(SKIP_VAR) {
        return Ok(false);
    }
    relata_testkit::skip::report(SKIP_VAR, "this browser test")?;
    Ok(true)
}

/// A port that was free a moment ago (chromedriver has no `--port=0`).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium whose pages live under
    /// `base` (`http://127.0.0.1:PORT`, a `TestApp`'s). `Ok(None)` when the
    /// browser tests are skipped (`RELATA_SKIP_BROWSER=1`).
    pub async fn start(base: &str) -> Result<Option<Chrome>> {
        Chrome::launch(base, None).await
    }

    /// Like [`Chrome::start`], with the browser's clock in the IANA time
    /// zone `zone` (as a user's machine set to it would be).
    pub async fn start_in_zone(base: &str, zone: &str) -> Result<Option<Chrome>> {
        Chrome::launch(base, Some(zone)).await
    }

    async fn launch(base: &str, zone: Option<&str>) -> Result<Option<Chrome>> {
        if skipped()? {
            return Ok(None);
        }
        let driver_bin = locate("RELATA_CHROMEDRIVER", &["/usr/bin/chromedriver"], "chromedriver")?;
        let chromium = locate(
            "RELATA_CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
            "chromium",
        )?;
        let (driver, driver_port) = start_driver(&driver_bin, zone).await?;
        let profile = tempfile::Builder::new()
            .prefix("relata-chrome-")
            .tempdir()
            .context("creating a Chromium profile directory")?;
        let mut chrome = Chrome {
            client: connect(&chromium, profile.path(), driver_port)
                .await
                .with_context(|| format!("opening a Chromium session with {}", chromium.display()))?,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            driver_port,
            session: None,
            _profile: profile,
        };
        chrome.session = chrome.client.session_id().await?;
        chrome.size_viewport().await.context("sizing the browser window")?;
        Ok(Some(chrome))
    }

    /// Makes the page area (not the window around it) [`WINDOW`] big.
    async fn size_viewport(&self) -> Result<()> {
        let (w, h) = WINDOW;
        self.set_viewport(w, h).await
    }

    /// Makes the page area (not the window around it) `w` by `h` pixels,
    /// as a screen of that size shows it.
    pub async fn set_viewport(&self, w: u32, h: u32) -> Result<()> {
        self.client.set_window_size(w, h).await?;
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", Vec::new())
            .await?;
        let dim = |i: usize| inner[i].as_u64().and_then(|v| u32::try_from(v).ok());
        let (Some(iw), Some(ih)) = (dim(0), dim(1)) else {
            bail!("the browser reported a viewport of {inner}");
        };
        if (iw, ih) != (w, h) {
            self.client
                .set_window_size(w + w.saturating_sub(iw), h + h.saturating_sub(ih))
                .await?;
        }
        Ok(())
    }

    /// The URL of `path` on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Opens `path` (on the app) and waits for the page to load.
    pub async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&self.url(path))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// The path and query of the current page.
    pub async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        })
    }

    /// Waits for the current page's path (and query) to satisfy `ok`.
    pub async fn wait_for_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let path = self.path().await?;
            if ok(&path) {
                return Ok(path);
            }
            if Instant::now() > deadline {
                bail!("waited {WAIT:?} for the page to be {what}; it is still {path}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an element matching the CSS selector `css`.
    pub async fn find(&self, css: &str) -> Result<Element> {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => Ok(el),
            Err(e) => {
                let path = self.path().await.unwrap_or_default();
                bail!("waited {WAIT:?} for `{css}` on {path}: {e}")
            }
        }
    }

    /// Every element matching `css` now (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(css)).await?)
    }

    /// Waits for `css`, then clicks it. An element replaced between the
    /// two (a type-ahead's suggestions swapped in again by a later answer)
    /// is found again, until [`WAIT`].
    pub async fn click(&self, css: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await?.click().await {
                Ok(()) => return Ok(()),
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e).with_context(|| format!("clicking `{css}`")),
            }
        }
    }

    /// Clicks `css`, which loads a new page (a link, a submit button), and
    /// waits until the new page has loaded (even when its URL is the same).
    pub async fn click_and_load(&self, css: &str) -> Result<()> {
        let el = self.find(css).await?;
        self.expect_load().await?;
        el.click().await.with_context(|| format!("clicking `{css}`"))?;
        self.wait_for_load(css).await
    }

    /// Marks the current page, so that [`Chrome::wait_for_load`] can tell
    /// when it has been replaced.
    pub async fn expect_load(&self) -> Result<()> {
        self.client
            .execute("window.__relataOldPage = true;", Vec::new())
            .await
            .context("marking the current page")?;
        Ok(())
    }

    /// Waits until the page marked by [`Chrome::expect_load`] is replaced by
    /// a fully loaded one. `after` names the action, for the failure message.
    pub async fn wait_for_load(&self, after: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            // Errors are expected while the old page unloads.
            let state = self
                .client
                .execute(
                    "return window.__relataOldPage === true ? 'old' : document.readyState;",
                    Vec::new(),
                )
                .await;
            if let Ok(Value::String(s)) = &state {
                if s == "complete" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let path = self.path().await.unwrap_or_default();
                bail!("waited {WAIT:?} for a new page after `{after}`; still on {path} ({state:?})");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for `css`, clears it and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let el = self.find(css).await?;
        el.clear().await.with_context(|| format!("clearing `{css}`"))?;
        el.send_keys(text).await.with_context(|| format!("typing into `{css}`"))
    }

    /// Waits for `css`, then types `text` into it (without clearing it).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        self.find(css)
            .await?
            .send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Whether `css` is shown. A page script that redraws the element
    /// while it is looked at (the designer's editor after each edit) is
    /// waited out: a stale element is looked for again.
    pub async fn is_displayed(&self, css: &str) -> Result<bool> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await?.is_displayed().await {
                Ok(shown) => return Ok(shown),
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e).with_context(|| format!("is `{css}` shown")),
            }
        }
    }

    /// The current value of the input `css`.
    pub async fn value(&self, css: &str) -> Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await?.prop("value").await {
                Ok(v) => return Ok(v.unwrap_or_default()),
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e).with_context(|| format!("the value of `{css}`")),
            }
        }
    }

    /// The visible text of `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// Waits until the visible text of `css` contains `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                let path = self.path().await.unwrap_or_default();
                bail!("waited {WAIT:?} for `{css}` on {path} to show {expected:?}; it shows {text:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the texts of the elements matching `css` are `expected`.
    pub async fn wait_for_texts(&self, css: &str, expected: &[&str]) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        loop {
            // An element may be replaced while it is read: read again.
            let texts = self.texts(css).await.unwrap_or_default();
            if texts == expected {
                return Ok(());
            }
            if Instant::now() > deadline {
                let path = self.path().await.unwrap_or_default();
                bail!("waited {WAIT:?} for `{css}` on {path} to be {expected:?}; they are {texts:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> Result<String> {
        self.text("body").await
    }

    /// Waits until the page's text contains `expected`.
    pub async fn wait_for_page_text(&self, expected: &str) -> Result<String> {
        self.wait_for_text("body", expected).await
    }

    /// The texts of every element matching `css`, in page order.
    pub async fn texts(&self, css: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for el in self.find_all(css).await? {
            out.push(el.text().await?);
        }
        Ok(out)
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await.context("taking a screenshot")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Signs in through the sign-in form as `user` and waits for the home page.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<()> {
        self.goto("/app").await?;
        self.fill("#username", user).await?;
        self.fill("#password", password).await?;
        self.click_and_load("form[action='/app/sign-in'] button[type=submit]")
            .await?;
        self.wait_for_path("the home page", |p| p == "/app").await?;
        Ok(())
    }

    /// Picks `label` in the language switch at the top of the home page,
    /// as a user does (unless the page is in language `lang` already), and
    /// checks the page is then in `lang`.
    pub async fn switch_language(&self, label: &str, lang: &str) -> Result<()> {
        self.goto("/app").await?;
        let now = self.find("html").await?.attr("lang").await?;
        if now.as_deref() != Some(lang) {
            self.expect_load().await?;
            self.find("#lang-switch").await?.select_by_label(label).await?;
            self.wait_for_load(&format!("choosing {label}")).await?;
        }
        let after = self.find("html").await?.attr("lang").await?;
        if after.as_deref() != Some(lang) {
            bail!("after choosing {label} the page is in {after:?}");
        }
        Ok(())
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) -> Result<()> {
        self.session = None;
        let client = self.client.clone();
        client.close().await.context("ending the browser session")?;
        Ok(())
        // Drop stops chromedriver.
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // Not closed (a test failed half way): end the session with a plain
        // request, so that chromedriver quits Chromium, then stop the driver.
        if let Some(id) = self.session.take() {
            if let Err(e) = delete_session(self.driver_port, &id) {
                eprintln!("could not end the browser session {id}: {e}");
            }
        }
        if let Err(e) = self.driver.kill() {
            eprintln!("could not stop chromedriver: {e}");
        }
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver on a free port and waits until it is ready; retries
/// on another port when the one picked was taken in the meantime.
/// Starts chromedriver (and so the browsers it opens) with `TZ` set to
/// `zone` when given: Chromium takes its time zone from it.
async fn start_driver(bin: &Path, zone: Option<&str>) -> Result<(Child, u16)> {
    let mut last = None;
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let mut command = Command::new(bin);
        if let Some(z) = zone {
            command.env("TZ", z);
        }
        let mut child = command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}; {INSTALL_HINT}", bin.display()))?;
        match wait_ready(&mut child, port).await {
            Ok(()) => return Ok((child, port)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                last = Some(e);
            }
        }
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("no attempt made"))
        .context(format!("starting {} ({PORT_ATTEMPTS} attempts)", bin.display())))
}

/// Waits until chromedriver on `port` says it is ready, or exits.
async fn wait_ready(child: &mut Child, port: u16) -> Result<()> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let status = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if let Some(exit) = child.try_wait()? {
            bail!("chromedriver exited at start on port {port} ({exit})");
        }
        if let Ok(resp) = client.get(&status).send().await {
            if let Ok(body) = resp.json::<Value>().await {
                if body["value"]["ready"] == Value::Bool(true) {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            bail!("chromedriver on port {port} was not ready after {DRIVER_START:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Opens a headless session with a fresh profile in `profile`.
async fn connect(chromium: &Path, profile: &Path, port: u16) -> Result<Client> {
    let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
            "prefs": { "intl.accept_languages": "en-US,en" },
        },
    });
    let Value::Object(caps) = caps else {
        bail!("capabilities are not an object");
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await?;
    Ok(client)
}

/// `DELETE /session/{id}` on chromedriver, blocking (for `Drop`).
fn delete_session(port: u16, id: &str) -> std::io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver keeps the connection open after its answer: read the
    // status line only.
    let mut reply = Vec::new();
    let mut chunk = [0u8; 512];
    while !reply.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
    }
    let status = String::from_utf8_lossy(&reply);
    if status.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "chromedriver answered {:?}",
            status.lines().next().unwrap_or_default()
        )))
    }
}
