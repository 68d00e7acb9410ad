//! Record helpers of the stock-application tests: read, change, delete,
//! restore and run commands through the record API, failing the test with
//! the reply when the API refuses what should work.

use anyhow::{ensure, Context, Result};
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
