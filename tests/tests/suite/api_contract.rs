//! The OpenAPI document is a contract the server keeps (issue 18 item 8):
//! it describes every route (records, pick lists, the user's own, the admin
//! API), its parameters state the grammar the server reads, its request
//! enums are the pick lists' current codes, and the server answers what it
//! declares. `.ci/fuzz/run` checks the same with schemathesis; these are
//! the cases it found, kept.

use anyhow::{ensure, Context, Result};
use regex::Regex;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

async fn document(app: &TestApp) -> Result<Value> {
    let doc = app.get("/api/v1/openapi.json").await?;
    ensure!(doc.status == StatusCode::OK, "{}", doc.body);
    Ok(doc.body)
}

/// The declared pattern of a query parameter of an operation.
fn pattern(doc: &Value, path: &str, method: &str, name: &str) -> Result<Regex> {
    let params = doc["paths"][path][method]["parameters"]
        .as_array()
        .context("parameters")?;
    let p = params
        .iter()
        .find(|p| p["name"] == name)
        .with_context(|| format!("no parameter {name}"))?;
    Ok(Regex::new(p["schema"]["pattern"].as_str().context("a pattern")?)?)
}

/// Every route of the server is in the document.
async fn every_route_is_declared(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let doc = document(&app).await?;
    for path in [
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/picklists/{name}/order",
        "/api/v1/search",
        "/admin/api/v1/releases",
        "/admin/api/v1/releases/{n}/rollback",
        "/admin/api/v1/plan",
        "/admin/api/v1/promote",
        "/admin/api/v1/audit",
    ] {
        ensure!(doc["paths"][path].is_object(), "{path} is not declared");
    }
    let create = &doc["paths"]["/api/v1/records/contact"]["post"]["responses"];
    ensure!(create["415"].is_object() && create["503"].is_object(), "{create}");
    let patch = &doc["paths"]["/api/v1/records/contact/{id}"]["patch"]["parameters"][0];
    ensure!(
        patch["name"] == "If-Match" && patch["schema"]["pattern"].is_string(),
        "{patch}"
    );
    Ok(())
}

/// A list parameter is read exactly as its pattern says: what matches is
/// answered, what does not is refused.
async fn list_parameters_follow_their_patterns(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let doc = document(&app).await?;
    let sort = pattern(&doc, "/api/v1/records/company", "get", "sort")?;
    let fields = pattern(&doc, "/api/v1/records/company", "get", "fields")?;
    for (param, re, value) in [
        ("sort", &sort, "-name,city"),
        ("sort", &sort, ""),
        ("sort", &sort, "name,,city"),
        ("sort", &sort, " name"),
        ("sort", &sort, "+name"),
        ("sort", &sort, "notes"),
        ("fields", &fields, "name,territory"),
        ("fields", &fields, "name,"),
        ("fields", &fields, "nope"),
    ] {
        let url = format!("/api/v1/records/company?{param}={}", urlencoding(value));
        let r = app.get(&url).await?;
        let allowed = re.is_match(value);
        ensure!(
            (r.status == StatusCode::OK) == allowed,
            "{param}={value:?}: the pattern says {allowed}, the server {}: {}",
            r.status,
            r.body
        );
    }
    // An empty cursor is the first page; an empty total counts.
    let r = app.get("/api/v1/records/company?cursor=&total=").await?;
    ensure!(r.status == StatusCode::OK && r.body["total"].is_number(), "{}", r.body);
    let r = app.get("/api/v1/records/company?total=%2B5").await?;
    ensure!(r.status == StatusCode::BAD_REQUEST, "total=+5: {}", r.body);
    Ok(())
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The request schemas name the pick lists' active codes, and follow an
/// administrator's change at once.
async fn request_enums_are_the_active_codes(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let doc = document(&app).await?;
    let prop = &doc["components"]["schemas"]["ContactCreate"]["properties"]["preferred_channel"];
    let list = prop["x-picklist"].as_str().context("a pick list")?.to_owned();
    let codes = prop["enum"].as_array().context("an enum")?.clone();
    let first = codes.iter().find_map(Value::as_str).context("a code")?.to_owned();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/picklists/{list}/values/{first}"),
            Some(&json!({"active": false})),
            &[],
        )
        .await?;
    ensure!(r.status == StatusCode::OK, "{}", r.body);
    let doc = document(&app).await?;
    let now = &doc["components"]["schemas"]["ContactCreate"]["properties"]["preferred_channel"]["enum"];
    ensure!(!now.as_array().is_some_and(|c| c.contains(&json!(first))), "{now}");
    // `null` is not "unchanged": refused, as the document says.
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/picklists/{list}/values/{first}"),
            Some(&json!({"active": null})),
            &[],
        )
        .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    Ok(())
}

/// Bodies, headers and paths the document refuses, the server refuses,
/// each in the API's error envelope.
async fn refusals_match_the_document(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    // JSON Schema's `integer` takes 12.0: so does the server.
    let company = app
        .create("company", json!({"name": "Contract Works", "employees": 12.0}))
        .await?;
    ensure!(company["employees"] == json!(12), "{company}");
    let id = company["id"].as_str().context("an id")?;
    let url = format!("/api/v1/records/company/{id}");
    for (header, ok) in [("\"1\"", true), ("W/\"1\"", false), ("\"1", false), ("1.0", false)] {
        let r = app
            .call(
                Method::PATCH,
                &url,
                Some(&json!({"city": "苏州"})),
                &[("If-Match", header)],
            )
            .await?;
        // The first matches the row version; W/"1" is then a stale 409.
        let expected = if ok {
            StatusCode::OK
        } else if header.starts_with("W/") {
            StatusCode::CONFLICT
        } else {
            StatusCode::BAD_REQUEST
        };
        ensure!(r.status == expected, "If-Match {header}: {} {}", r.status, r.body);
    }
    // A command's body is its parameters' object: `null` is not one.
    let cmd = format!("{url}/commands/create_opportunity");
    let r = app.call(Method::POST, &cmd, Some(&Value::Null), &[]).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let sent = app
        .client
        .post(app.url(&cmd))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await?;
    let r = relata_tests::app::Reply::from_response(sent).await?;
    ensure!(
        r.status == StatusCode::BAD_REQUEST && r.body["error"]["code"] == "malformed_json",
        "{}",
        r.body
    );
    // The admin API's release numbers: a 400 in the envelope, not text.
    let r = app.get("/admin/api/v1/releases/null,null").await?;
    ensure!(
        r.status == StatusCode::BAD_REQUEST && r.body["error"]["code"] == "bad_request",
        "{}",
        r.body
    );
    // A token body has its name and nothing else.
    let r = app
        .post("/api/v1/tokens", &json!({"name": "ci", "scope": "all"}))
        .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    Ok(())
}

on_both_backends!(
    every_route_is_declared,
    list_parameters_follow_their_patterns,
    request_enums_are_the_active_codes,
    refusals_match_the_document,
);
