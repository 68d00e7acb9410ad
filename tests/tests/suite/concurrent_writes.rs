//! Many clients writing at once through the record API, on SQLite and
//! PostgreSQL: to the same records (each update sent with `If-Match`) and
//! to records of their own, with attachments, for a few seconds, while a
//! slow writer now and then holds the database's write lock longer than
//! the lock wait (as a long rule or a large write does).
//!
//! What a user relies on: no write answers a server error (a 503 with
//! `Retry-After` in the JSON envelope is a clear "try again", and is
//! retried as a client would); no acknowledged write is lost (every 2xx
//! update of a shared record got a version of its own, and the versions
//! run without a gap up to the record's last one); every 409 is a true
//! conflict (the record had moved past the version sent); and a read sent
//! right after an acknowledged write (create, update, delete, attachment
//! delete) sees it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use relata::store::Location;
use relata_tests::records::id;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection as _;
use tokio::sync::oneshot;

/// Clients writing at the same time.
const CLIENTS: usize = 16;
/// Records every client updates.
const SHARED: usize = 2;
/// How long the clients write (a bound on the test, not a speed).
const RUN_FOR: Duration = Duration::from_secs(3);
/// The most 503s one request is retried after, before the test gives up.
const MAX_RETRIES: usize = 20;
/// How long a write waits for a lock here (the default is 10 s).
const LOCK_WAIT: Duration = Duration::from_millis(300);
/// How long the slow writer holds the write lock each time: past the wait.
const HOLD: Duration = Duration::from_millis(700);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// Acknowledged updates of shared records: (record, version, notes).
    shared_updates: Vec<(String, i64, String)>,
    /// True conflicts answered 409.
    conflicts: usize,
    /// Records this client created and kept: id -> the city last written.
    kept: BTreeMap<String, String>,
    /// Records this client created and deleted.
    deleted: Vec<String>,
    /// 503 answers retried.
    retried: usize,
}

/// Sends a request, retrying after a 503's `Retry-After` as a client
/// would; fails on any other server error, or a 503 without a clear
/// answer (`Retry-After`, the JSON error envelope).
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    if_match: Option<i64>,
) -> Result<(Reply, usize)> {
    let mut retried = 0;
    loop {
        let mut req = app.client.request(method.clone(), app.url(path));
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let reply = Reply::from_response(req.send().await?).await?;
        match check_server_error(&reply, &method, path)? {
            Some(wait) if retried < MAX_RETRIES => {
                retried += 1;
                tokio::time::sleep(wait).await;
            }
            Some(_) => bail!("{method} {path}: still 503 after {MAX_RETRIES} retries"),
            None => return Ok((reply, retried)),
        }
    }
}

/// `Some(delay)` for a well-formed 503 (retry after `delay`); an error for
/// any other server error; `None` otherwise.
fn check_server_error(reply: &Reply, method: &Method, path: &str) -> Result<Option<Duration>> {
    if reply.status == StatusCode::SERVICE_UNAVAILABLE {
        let after = reply
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .with_context(|| format!("{method} {path}: 503 without a Retry-After in seconds: {}", reply.body))?;
        ensure!(
            reply.body["error"]["code"].is_string() && reply.body["error"]["message"].is_string(),
            "{method} {path}: 503 outside the error envelope: {}",
            reply.body
        );
        return Ok(Some(Duration::from_secs(after)));
    }
    ensure!(
        !reply.status.is_server_error(),
        "{method} {path} answered {}: {}",
        reply.status,
        reply.body
    );
    Ok(None)
}

/// One client's writes until `until`; `n` tells its records apart.
async fn client(app: Arc<TestApp>, n: usize, shared: Arc<Vec<String>>, until: Instant) -> Result<Seen> {
    let mut seen = Seen::default();
    let mut round = 0usize;
    while Instant::now() < until {
        round += 1;
        let target = &shared[(n + round) % shared.len()];
        update_shared(&app, target, &format!("client {n} round {round}"), &mut seen).await?;
        own_record(&app, n, round, &mut seen).await?;
    }
    Ok(seen)
}

/// Reads a shared record's version and updates it at that version: 200
/// (recorded) or a true 409.
async fn update_shared(app: &TestApp, target: &str, notes: &str, seen: &mut Seen) -> Result<()> {
    let path = format!("/api/v1/records/company/{target}");
    let (now, r) = send(app, Method::GET, &path, None, None).await?;
    seen.retried += r;
    ensure!(now.status == StatusCode::OK, "GET {path}: {} {}", now.status, now.body);
    let version = now.body["row_version"].as_i64().context("no row_version")?;
    let (up, r) = send(
        app,
        Method::PATCH,
        &path,
        Some(&json!({ "notes": notes })),
        Some(version),
    )
    .await?;
    seen.retried += r;
    match up.status {
        StatusCode::OK => {
            let got = up.body["row_version"].as_i64().context("no row_version")?;
            ensure!(got == version + 1, "updated from {version} to {got}");
            ensure!(up.body["notes"] == notes, "{}", up.body);
            seen.shared_updates.push((target.to_owned(), got, notes.to_owned()));
        }
        StatusCode::CONFLICT => {
            let current = up.body["error"]["current"]["row_version"]
                .as_i64()
                .with_context(|| format!("409 without the current record: {}", up.body))?;
            ensure!(
                current > version,
                "409 for version {version}, yet the record is at {current}: not a conflict"
            );
            seen.conflicts += 1;
        }
        s => bail!("PATCH {path} at {version}: {s} {}", up.body),
    }
    Ok(())
}

/// Creates a record, updates it, and on some rounds adds and deletes an
/// attachment or deletes the record; each acknowledged write is read
/// back at once.
async fn own_record(app: &TestApp, n: usize, round: usize, seen: &mut Seen) -> Result<()> {
    let name = format!("client {n} round {round}");
    let (made, r) = send(
        app,
        Method::POST,
        "/api/v1/records/company",
        Some(&json!({ "name": name })),
        None,
    )
    .await?;
    seen.retried += r;
    ensure!(
        made.status == StatusCode::CREATED,
        "create: {} {}",
        made.status,
        made.body
    );
    let rec = id(&made.body);
    let path = format!("/api/v1/records/company/{rec}");
    let got = read(app, &path, seen).await?;
    ensure!(
        got.status == StatusCode::OK,
        "read after create: {} {}",
        got.status,
        got.body
    );
    ensure!(got.body["name"] == name.as_str(), "{}", got.body);

    let city = format!("city {n}.{round}");
    let (up, r) = send(app, Method::PATCH, &path, Some(&json!({ "city": city })), Some(1)).await?;
    seen.retried += r;
    ensure!(
        up.status == StatusCode::OK,
        "update own record: {} {}",
        up.status,
        up.body
    );
    let got = read(app, &path, seen).await?;
    ensure!(
        got.body["city"] == city.as_str() && got.body["row_version"] == 2,
        "read after update: {}",
        got.body
    );

    if round.is_multiple_of(2) {
        attachment_round_trip(app, &rec, seen).await?;
    }
    if round.is_multiple_of(3) {
        let (del, r) = send(app, Method::DELETE, &path, None, Some(2)).await?;
        seen.retried += r;
        ensure!(del.status == StatusCode::OK, "delete: {} {}", del.status, del.body);
        let got = read(app, &path, seen).await?;
        ensure!(
            got.status == StatusCode::NOT_FOUND,
            "read after delete: {} {}",
            got.status,
            got.body
        );
        seen.deleted.push(rec);
    } else {
        seen.kept.insert(rec, city);
    }
    Ok(())
}

/// Uploads a file to the record, downloads it, deletes it and downloads
/// it again: gone.
async fn attachment_round_trip(app: &TestApp, rec: &str, seen: &mut Seen) -> Result<()> {
    let path = format!("/api/v1/records/company/{rec}/attachments/documents");
    let up = loop {
        let part = Part::bytes(PDF.to_vec())
            .file_name("quote.pdf")
            .mime_str("application/pdf")?;
        let resp = app
            .client
            .post(app.url(&path))
            .multipart(Form::new().part("file", part))
            .send()
            .await?;
        let reply = Reply::from_response(resp).await?;
        match check_server_error(&reply, &Method::POST, &path)? {
            Some(wait) if seen.retried < MAX_RETRIES * CLIENTS => {
                seen.retried += 1;
                tokio::time::sleep(wait).await;
            }
            Some(_) => bail!("POST {path}: too many 503s"),
            None => break reply,
        }
    };
    ensure!(up.status == StatusCode::CREATED, "upload: {} {}", up.status, up.body);
    let url = up.body["url"].as_str().context("no url")?.to_owned();
    let got = read(app, &url, seen).await?;
    ensure!(got.status == StatusCode::OK, "download after upload: {}", got.status);
    let (del, r) = send(app, Method::DELETE, &url, None, None).await?;
    seen.retried += r;
    ensure!(
        del.status == StatusCode::OK,
        "delete attachment: {} {}",
        del.status,
        del.body
    );
    let got = read(app, &url, seen).await?;
    ensure!(
        got.status == StatusCode::NOT_FOUND,
        "download right after the delete was acknowledged: {}",
        got.status
    );
    Ok(())
}

async fn read(app: &TestApp, path: &str, seen: &mut Seen) -> Result<Reply> {
    let (reply, r) = send(app, Method::GET, path, None, None).await?;
    seen.retried += r;
    Ok(reply)
}

/// Holds the ED database's write lock (SQLite) or the company table's
/// (PostgreSQL: reads go on, writes wait) for [`HOLD`] at a time, with a
/// pause between, until `until`; returns how many times.
async fn slow_writer(location: Location, until: Instant) -> Result<usize> {
    let mut held = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(400)).await;
        hold_write_lock(&location, HOLD, None).await?;
        held += 1;
    }
    Ok(held)
}

async fn many_clients_lose_nothing(backend: TestBackend) -> Result<()> {
    let app = TestApp::spawn_with(backend, Some(&stock_metadata()), |c| c.store.lock_wait = LOCK_WAIT).await?;
    let Some(app) = app else { return Ok(()) };
    let app = Arc::new(app);
    let mut shared = Vec::new();
    for i in 0..SHARED {
        shared.push(id(&app
            .create("company", json!({ "name": format!("Shared {i}") }))
            .await?));
    }
    let shared = Arc::new(shared);
    let until = Instant::now() + RUN_FOR;
    let slow = tokio::spawn(slow_writer(app.location.clone(), until));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(app.clone(), n, shared.clone(), until)))
        .collect();
    let mut all = Seen::default();
    for c in clients {
        let seen = c.await.context("a client panicked")??;
        all.shared_updates.extend(seen.shared_updates);
        all.conflicts += seen.conflicts;
        all.kept.extend(seen.kept);
        all.deleted.extend(seen.deleted);
        all.retried += seen.retried;
    }
    let held = slow.await.context("the slow writer panicked")??;
    eprintln!(
        "{backend:?}: {} shared updates, {} conflicts, {} records kept, {} deleted, {} retried after 503, \
         write lock held {held} times",
        all.shared_updates.len(),
        all.conflicts,
        all.kept.len(),
        all.deleted.len(),
        all.retried
    );
    ensure!(!all.shared_updates.is_empty(), "no shared update went through");

    // No lost update: per shared record, the acknowledged updates hold
    // every version from 2 to the record's last, once each, and the
    // record holds what the last of them wrote.
    for rec in shared.iter() {
        let mut mine: Vec<&(String, i64, String)> = all.shared_updates.iter().filter(|u| &u.0 == rec).collect();
        mine.sort_by_key(|u| u.1);
        let versions: Vec<i64> = mine.iter().map(|u| u.1).collect();
        let now = read(&app, &format!("/api/v1/records/company/{rec}"), &mut Seen::default()).await?;
        let last = now.body["row_version"].as_i64().context("no row_version")?;
        let want: Vec<i64> = (2..=last).collect();
        assert_eq!(versions, want, "acknowledged versions of {rec}");
        if let Some(u) = mine.last() {
            assert_eq!(now.body["notes"], u.2.as_str(), "the last acknowledged update of {rec}");
        }
    }
    // Every record kept is there with its last write; every one deleted
    // is in the recycle bin only.
    for (rec, city) in &all.kept {
        let got = read(&app, &format!("/api/v1/records/company/{rec}"), &mut Seen::default()).await?;
        assert_eq!(got.status, StatusCode::OK, "{rec}: {}", got.body);
        assert_eq!(got.body["city"], city.as_str());
    }
    for rec in &all.deleted {
        let got = read(&app, &format!("/api/v1/records/company/{rec}"), &mut Seen::default()).await?;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{rec}: {}", got.body);
    }
    let total = read(&app, "/api/v1/records/company?total=true&limit=1", &mut Seen::default()).await?;
    assert_eq!(
        total.body["total"].as_u64(),
        Some(u64::try_from(SHARED + all.kept.len())?),
        "live companies"
    );
    Ok(())
}

on_both_backends!(many_clients_lose_nothing);

/// Holds the write lock as [`slow_writer`] does, once, for `hold`;
/// tells `taken` once it holds it.
async fn hold_write_lock(location: &Location, hold: Duration, taken: Option<oneshot::Sender<()>>) -> Result<()> {
    match location {
        Location::SqliteDir(dir) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("ed.db"));
            let mut c = sqlx::SqliteConnection::connect_with(&options).await?;
            sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await?;
            if let Some(t) = taken {
                let _ = t.send(());
            }
            tokio::time::sleep(hold).await;
            sqlx::query("ROLLBACK").execute(&mut c).await?;
            c.close().await?;
        }
        Location::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::query("BEGIN").execute(&mut c).await?;
            sqlx::query("LOCK TABLE relata_ed.company IN EXCLUSIVE MODE")
                .execute(&mut c)
                .await?;
            if let Some(t) = taken {
                let _ = t.send(());
            }
            tokio::time::sleep(hold).await;
            sqlx::query("ROLLBACK").execute(&mut c).await?;
            c.close().await?;
        }
    }
    Ok(())
}

/// A form saved in the web UI while the lock is held past the wait gets
/// the busy page (503, `Retry-After`, "nothing was changed"), not the
/// error page of a fault; sent again, it saves.
async fn the_ui_says_busy_and_saves_when_sent_again(backend: TestBackend) -> Result<()> {
    let app = TestApp::spawn_with(backend, Some(&stock_metadata()), |c| c.store.lock_wait = LOCK_WAIT).await?;
    let Some(app) = app else { return Ok(()) };
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    let (taken, held) = oneshot::channel();
    let location = app.location.clone();
    let holder = tokio::spawn(async move { hold_write_lock(&location, Duration::from_secs(2), Some(taken)).await });
    held.await.context("the lock was not taken")?;
    let form = [("name", "Busy Co"), ("_csrf", browser.csrf.as_str())];
    let sent = browser
        .client
        .post(browser.url("/app/r/company"))
        .form(&form)
        .send()
        .await?;
    let status = sent.status();
    let retry_after = sent.headers().get("retry-after").cloned();
    let page = sent.text().await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert_eq!(retry_after.as_ref().and_then(|v| v.to_str().ok()), Some("1"));
    assert!(page.contains("nothing was changed"), "{page}");
    holder.await??;

    let again = browser
        .client
        .post(browser.url("/app/r/company"))
        .form(&form)
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "{}", again.text().await?);
    let listed = app.get("/api/v1/records/company?name=eq.Busy%20Co&total=true").await?;
    assert_eq!(listed.body["total"], 1, "saved once: {}", listed.body);
    Ok(())
}

on_both_backends!(the_ui_says_busy_and_saves_when_sent_again);
