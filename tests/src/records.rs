//! Record helpers of the stock-application tests: read, change, delete,
//! restore and run commands through the record API, failing the test with
//! the reply when the API refuses what should work.

use anyhow::{ensure, Context, Result};
use relata::engine::Locale;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{Reply, TestApp};

/// The stock application, on `backend` (`None` when PostgreSQL is skipped).
pub async fn stock(backend: crate::TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&crate::stock_metadata())).await
}

/// A record's id.
pub fn id(r: &Value) -> String {
    r["id"].as_str().unwrap_or_default().to_owned()
}

/// A number field's value.
pub fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Reads a live record.
pub async fn get(app: &TestApp, entity: &str, id: &str) -> Result<Value> {
    let r = app.get(&format!("/api/v1/records/{entity}/{id}")).await?;
    ensure!(r.status == StatusCode::OK, "get {entity} {id}: {} {}", r.status, r.body);
    Ok(r.body)
}

/// PATCHes a record at its current version; returns the reply.
pub async fn change(app: &TestApp, entity: &str, id: &str, body: Value) -> Result<Reply> {
    let now = get(app, entity, id).await?;
    let version = now["row_version"].as_i64().context("row_version")?;
    app.patch(&format!("/api/v1/records/{entity}/{id}"), version, &body)
        .await
}

/// PATCHes a record and fails the test unless it is saved.
pub async fn changed(app: &TestApp, entity: &str, id: &str, body: Value) -> Result<Value> {
    let r = change(app, entity, id, body).await?;
    ensure!(r.status == StatusCode::OK, "patch {entity}: {} {}", r.status, r.body);
    Ok(r.body)
}

/// Moves a record to the recycle bin.
pub async fn delete(app: &TestApp, entity: &str, id: &str) -> Result<()> {
    let r = app
        .call(Method::DELETE, &format!("/api/v1/records/{entity}/{id}"), None, &[])
        .await?;
    ensure!(r.status == StatusCode::OK, "delete {entity}: {} {}", r.status, r.body);
    Ok(())
}

/// Brings a record back from the recycle bin.
pub async fn restore(app: &TestApp, entity: &str, id: &str) -> Result<()> {
    let r = app
        .post(&format!("/api/v1/records/{entity}/{id}/restore"), &json!({}))
        .await?;
    ensure!(r.status == StatusCode::OK, "restore {entity}: {} {}", r.status, r.body);
    Ok(())
}

/// Runs command `name` of a record; returns the reply.
pub async fn command(app: &TestApp, entity: &str, id: &str, name: &str, params: Value) -> Result<Reply> {
    app.post(&format!("/api/v1/records/{entity}/{id}/commands/{name}"), &params)
        .await
}

/// How many records a list query (`entity?filters`) matches.
pub async fn count(app: &TestApp, query: &str) -> Result<u64> {
    let sep = if query.contains('?') { '&' } else { '?' };
    let r = app.get(&format!("/api/v1/records/{query}{sep}total=true")).await?;
    r.body["total"].as_u64().context("no total")
}

/// The live records a list query (`entity?filters`) returns, in order
/// (up to 200).
pub async fn rows(app: &TestApp, query: &str) -> Result<Vec<Value>> {
    let sep = if query.contains('?') { '&' } else { '?' };
    let r = app.get(&format!("/api/v1/records/{query}{sep}limit=200")).await?;
    ensure!(r.status == StatusCode::OK, "list {query}: {} {}", r.status, r.body);
    Ok(r.body["data"].as_array().context("no data")?.clone())
}

/// The first field error of a 422 reply, as (field, code, message).
pub fn field_error(r: &Reply) -> (String, String, String) {
    let d = &r.body["error"]["details"];
    let s = |k: &str| d[0][k].as_str().unwrap_or_default().to_owned();
    (s("field"), s("code"), s("message"))
}

/// Fails unless the reply is a 422 with exactly one error: a rule's
/// `message` on `field`.
pub fn refused(r: &Reply, field: &str, message: &str) -> Result<()> {
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.body);
    ensure!(
        r.body["error"]["details"].as_array().map(Vec::len) == Some(1),
        "one error expected: {}",
        r.body
    );
    let (f, code, m) = field_error(r);
    ensure!(
        (f.as_str(), code.as_str(), m.as_str()) == (field, "rule", message),
        "expected {field}: {message:?}, got {}",
        r.body
    );
    Ok(())
}

/// Runs command `name` of a record and fails the test unless it succeeds
/// with `message`; returns the reply.
pub async fn ran(app: &TestApp, entity: &str, id: &str, name: &str, params: Value, message: &str) -> Result<Reply> {
    let r = command(app, entity, id, name, params).await?;
    ensure!(
        r.status == StatusCode::OK,
        "command {entity}.{name}: {} {}",
        r.status,
        r.body
    );
    ensure!(
        r.body["message"] == message,
        "command {entity}.{name}: expected the message {message:?}, got {}",
        r.body
    );
    Ok(r)
}

/// The record a command's reply opens next, as (entity, id).
pub fn opened(r: &Reply) -> Result<(String, String)> {
    let o = &r.body["open"];
    Ok((
        o["entity"].as_str().context("no open.entity")?.to_owned(),
        o["id"].as_str().context("no open.id")?.to_owned(),
    ))
}

/// Sets the admin's language (`None`: the default, English).
pub async fn speak(app: &TestApp, locale: Option<Locale>) -> Result<()> {
    app.engine.auth().set_locale(app.admin_id, locale).await?;
    Ok(())
}
