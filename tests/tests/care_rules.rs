//! The stock customer-care rules (`scripts/`, bound in `metadata/`) through
//! the record API on both backends: the customer value classification from
//! orders and incidents (thresholds in pick-list data), and the roll-ups of
//! campaigns and service invoices.

use anyhow::{ensure, Context, Result};
use relata::engine::ApplyRequest;
use relata::model::read_package;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn stock(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

fn id(r: &Value) -> String {
    r["id"].as_str().unwrap_or_default().to_owned()
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// The day `n` days before today (UTC), as the API writes dates.
fn days_ago(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() - time::Duration::days(n)).to_string()
}

async fn get(app: &TestApp, entity: &str, id: &str) -> Result<Value> {
    let r = app.get(&format!("/api/v1/records/{entity}/{id}")).await?;
    ensure!(r.status == StatusCode::OK, "get {entity} {id}: {} {}", r.status, r.body);
    Ok(r.body)
}

async fn change(app: &TestApp, entity: &str, id: &str, body: Value) -> Result<Reply> {
    let now = get(app, entity, id).await?;
    let version = now["row_version"].as_i64().context("row_version")?;
    app.patch(&format!("/api/v1/records/{entity}/{id}"), version, &body)
        .await
}

async fn changed(app: &TestApp, entity: &str, id: &str, body: Value) -> Result<Value> {
    let r = change(app, entity, id, body).await?;
    ensure!(r.status == StatusCode::OK, "patch {entity}: {} {}", r.status, r.body);
    Ok(r.body)
}

async fn delete(app: &TestApp, entity: &str, id: &str) -> Result<()> {
    let r = app
        .call(Method::DELETE, &format!("/api/v1/records/{entity}/{id}"), None, &[])
        .await?;
    ensure!(r.status == StatusCode::OK, "delete {entity}: {} {}", r.status, r.body);
    Ok(())
}

async fn restore(app: &TestApp, entity: &str, id: &str) -> Result<()> {
    let r = app
        .post(&format!("/api/v1/records/{entity}/{id}/restore"), &json!({}))
        .await?;
    ensure!(r.status == StatusCode::OK, "restore {entity}: {} {}", r.status, r.body);
    Ok(())
}

/// The company's value class (`None` when empty).
async fn class(app: &TestApp, company: &str) -> Result<Option<String>> {
    Ok(get(app, "company", company).await?["value_class"]
        .as_str()
        .map(str::to_owned))
}

/// An order of `company` dated `days` days ago, with one line worth `amount`.
async fn order(app: &TestApp, company: &str, number: &str, days: i64, amount: f64) -> Result<String> {
    let so = id(&app
        .create(
            "sales_order",
            json!({"order_number": number, "company": company, "order_date": days_ago(days)}),
        )
        .await?);
    app.create(
        "order_line",
        json!({"sales_order": so, "description": "Licences", "quantity": 1, "unit_price": amount}),
    )
    .await?;
    Ok(so)
}

async fn incident(app: &TestApp, company: &str, subject: &str) -> Result<String> {
    Ok(id(&app
        .create("support_incident", json!({"subject": subject, "company": company}))
        .await?))
}

async fn value_classes(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    // Stock thresholds: valuable = 3 orders worth 100,000 in 365 days;
    // value changing = no order in 180 days; problem = 3 open incidents.
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    assert_eq!(class(&app, &acme).await?, None, "no orders, no class yet");
    let o1 = order(&app, &acme, "SO-1", 10, 40000.0).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"));
    order(&app, &acme, "SO-2", 100, 40000.0).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"), "two orders");
    let o3 = order(&app, &acme, "SO-3", 300, 30000.0).await?;
    assert_eq!(
        class(&app, &acme).await?.as_deref(),
        Some("valuable"),
        "three orders, 110,000 in a year"
    );
    // A returned order does not count.
    changed(&app, "sales_order", &o1, json!({"status": "shipped"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"));
    changed(&app, "sales_order", &o1, json!({"status": "returned"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"), "returned");
    // A fourth order makes it valuable again; a line taken off the order
    // (its total drops) and an order moved out of the year do not keep it.
    let o4 = order(&app, &acme, "SO-4", 20, 50000.0).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"));
    changed(&app, "sales_order", &o3, json!({"order_date": days_ago(400)})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"), "an old order");
    changed(&app, "sales_order", &o3, json!({"order_date": days_ago(200)})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"));
    // Deleting an order and restoring it.
    delete(&app, "sales_order", &o4).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"), "deleted");
    restore(&app, "sales_order", &o4).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"), "restored");

    // Problem: three open incidents, whatever the orders; closing one
    // (resolved or closed are not open) gives the class back.
    let i1 = incident(&app, &acme, "Printer jams").await?;
    incident(&app, &acme, "Login fails").await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"), "two incidents");
    let i3 = incident(&app, &acme, "Report is slow").await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("problem"));
    changed(&app, "support_incident", &i1, json!({"status": "resolved"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"), "one resolved");
    changed(&app, "support_incident", &i1, json!({"status": "in_progress"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("problem"), "reopened");
    delete(&app, "support_incident", &i3).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"), "deleted");

    // Value changing: orders, but none in the last 180 days.
    let globex = id(&app.create("company", json!({"name": "Globex"})).await?);
    let old = order(&app, &globex, "SO-10", 250, 500000.0).await?;
    assert_eq!(class(&app, &globex).await?.as_deref(), Some("value_changing"));
    order(&app, &globex, "SO-11", 5, 100.0).await?;
    assert_eq!(class(&app, &globex).await?.as_deref(), Some("ordinary"), "ordered again");
    // An order moved to another customer counts for that one.
    changed(&app, "sales_order", &old, json!({"company": acme})).await?;
    assert_eq!(class(&app, &globex).await?.as_deref(), Some("ordinary"));
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"));

    // An incident-only customer: problem, then ordinary.
    let initech = id(&app.create("company", json!({"name": "Initech"})).await?);
    let mut open = Vec::new();
    for s in ["A", "B", "C"] {
        open.push(incident(&app, &initech, s).await?);
    }
    assert_eq!(class(&app, &initech).await?.as_deref(), Some("problem"));
    changed(&app, "support_incident", &open[0], json!({"status": "closed"})).await?;
    assert_eq!(class(&app, &initech).await?.as_deref(), Some("ordinary"));
    // A class set by hand lasts until the next order or incident change.
    changed(&app, "company", &initech, json!({"value_class": "valuable"})).await?;
    assert_eq!(class(&app, &initech).await?.as_deref(), Some("valuable"));
    incident(&app, &initech, "D").await?;
    assert_eq!(class(&app, &initech).await?.as_deref(), Some("problem"));
    Ok(())
}

/// The stock package with the value-class pick list's thresholds replaced.
async fn apply_thresholds(app: &TestApp, valuable: &str, problem: &str) -> Result<()> {
    let mut files = read_package(&stock_metadata(), None)?;
    let list = files
        .iter_mut()
        .find(|f| f.path == "marketing/picklists/customer_value_class.yaml")
        .context("no customer_value_class.yaml")?;
    let stock_valuable = "data: { within_days: 365, min_orders: 3, min_revenue: 100000 }";
    let stock_problem = "data: { min_open_incidents: 3 }";
    ensure!(list.text.contains(stock_valuable) && list.text.contains(stock_problem));
    list.text = list
        .text
        .replace(stock_valuable, valuable)
        .replace(stock_problem, problem);
    app.engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "value-class thresholds".into(),
            plan_only: false,
        })
        .await?;
    Ok(())
}

async fn tuned_thresholds(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    order(&app, &acme, "SO-1", 10, 5000.0).await?;
    let i1 = incident(&app, &acme, "Printer jams").await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"));

    // An analyst lowers the bar: one order of 1,000 in 30 days is valuable.
    apply_thresholds(
        &app,
        "data: { within_days: 30, min_orders: 1, min_revenue: 1000 }",
        "data: { min_open_incidents: 3 }",
    )
    .await?;
    assert_eq!(
        class(&app, &acme).await?.as_deref(),
        Some("ordinary"),
        "classes change on the next order or incident"
    );
    order(&app, &acme, "SO-2", 40, 10.0).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("valuable"));

    // One open incident makes a problem customer now.
    apply_thresholds(
        &app,
        "data: { within_days: 30, min_orders: 1, min_revenue: 1000 }",
        "data: { min_open_incidents: 1 }",
    )
    .await?;
    changed(&app, "support_incident", &i1, json!({"status": "escalated"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("problem"));

    // A class without thresholds is never given.
    apply_thresholds(&app, "data: { within_days: 30 }", "data: {}").await?;
    changed(&app, "support_incident", &i1, json!({"status": "new"})).await?;
    assert_eq!(class(&app, &acme).await?.as_deref(), Some("ordinary"));
    Ok(())
}

on_both_backends!(value_classes, tuned_thresholds);
