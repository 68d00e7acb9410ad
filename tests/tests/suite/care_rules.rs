//! The stock customer-care rules (`scripts/`, bound in `metadata/`) through
//! the record API on both backends: the customer value classification from
//! orders and incidents (thresholds in pick-list data), and the roll-ups of
//! campaigns and service invoices.

use anyhow::{ensure, Context, Result};
use relata::engine::ApplyRequest;
use relata::model::read_package;
use relata_tests::records::{change, changed, delete, get, id, num, restore, stock};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The day `n` days before today (UTC), as the API writes dates.
fn days_ago(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() - time::Duration::days(n)).to_string()
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
    assert_eq!(
        class(&app, &globex).await?.as_deref(),
        Some("ordinary"),
        "ordered again"
    );
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

/// A record's numeric fields, in order (`None` for empty ones).
async fn numbers(app: &TestApp, entity: &str, id: &str, fields: &[&str]) -> Result<Vec<Option<f64>>> {
    let r = get(app, entity, id).await?;
    Ok(fields.iter().map(|f| num(&r[*f])).collect())
}

async fn campaign_rollups(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    const SUMS: [&str; 4] = ["projects_budget", "actual_cost", "actual_leads", "actual_revenue"];
    let c = app
        .create("campaign", json!({"name": "Autumn launch", "budget": 300000}))
        .await?;
    let camp = id(&c);
    let zero = vec![Some(0.0); 4];
    assert_eq!(SUMS.map(|f| num(&c[f])).to_vec(), zero, "{c}");
    let project = |name: &str, body: Value| {
        let mut b = body;
        b["name"] = json!(name);
        b["campaign"] = json!(camp);
        app.create("marketing_project", b)
    };
    let p1 = id(&project(
        "Trade-show stand",
        json!({"budget": 80000, "actual_cost": 91000.5, "actual_leads": 120, "actual_revenue": 250000}),
    )
    .await?);
    let p2 = id(&project("Mailing", json!({"budget": 20000, "actual_cost": 1500})).await?);
    assert_eq!(
        numbers(&app, "campaign", &camp, &SUMS).await?,
        [Some(100000.0), Some(92500.5), Some(120.0), Some(250000.0)],
        "empty values add nothing"
    );
    // The campaign's own budget is its target, kept as entered.
    assert_eq!(num(&get(&app, "campaign", &camp).await?["budget"]), Some(300000.0));
    changed(
        &app,
        "marketing_project",
        &p2,
        json!({"actual_leads": 30, "actual_cost": 2500}),
    )
    .await?;
    assert_eq!(
        numbers(&app, "campaign", &camp, &SUMS).await?,
        [Some(100000.0), Some(93500.5), Some(150.0), Some(250000.0)]
    );
    delete(&app, "marketing_project", &p1).await?;
    assert_eq!(
        numbers(&app, "campaign", &camp, &SUMS).await?,
        [Some(20000.0), Some(2500.0), Some(30.0), Some(0.0)]
    );
    restore(&app, "marketing_project", &p1).await?;
    assert_eq!(
        numbers(&app, "campaign", &camp, &SUMS).await?,
        [Some(100000.0), Some(93500.5), Some(150.0), Some(250000.0)]
    );
    // A project moved to another campaign counts there.
    let other = id(&app.create("campaign", json!({"name": "Webinars"})).await?);
    changed(&app, "marketing_project", &p1, json!({"campaign": other})).await?;
    assert_eq!(
        numbers(&app, "campaign", &camp, &SUMS).await?,
        [Some(20000.0), Some(2500.0), Some(30.0), Some(0.0)]
    );
    assert_eq!(
        numbers(&app, "campaign", &other, &SUMS).await?,
        [Some(80000.0), Some(91000.5), Some(120.0), Some(250000.0)]
    );
    // The totals are the rules'.
    let sent = change(&app, "campaign", &camp, json!({"actual_cost": 5})).await?;
    ensure!(
        sent.status == StatusCode::UNPROCESSABLE_ENTITY && sent.body["error"]["details"][0]["code"] == "read_only",
        "{}",
        sent.body
    );
    // A project of a campaign in the recycle bin is refused.
    let binned = id(&app.create("campaign", json!({"name": "Binned"})).await?);
    delete(&app, "campaign", &binned).await?;
    let r = app
        .post(
            "/api/v1/records/marketing_project",
            &json!({"name": "Late", "campaign": binned}),
        )
        .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.body);
    assert_eq!(
        r.body["error"]["details"][0]["message"], "There is no such campaign (it may be in the recycle bin).",
        "{}",
        r.body
    );
    Ok(())
}

async fn invoice_total(app: &TestApp, invoice: &str) -> Result<Option<f64>> {
    Ok(num(&get(app, "service_invoice", invoice).await?["total_amount"]))
}

async fn invoice_totals(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let inv = app
        .create("service_invoice", json!({"invoice_number": "SI-1", "company": acme}))
        .await?;
    assert_eq!(num(&inv["total_amount"]), Some(0.0), "{inv}");
    let inv = id(&inv);
    let line = |text: &str, body: Value| {
        let mut b = body;
        b["description"] = json!(text);
        b["service_invoice"] = json!(inv);
        app.create("service_invoice_line", b)
    };
    let l1 = line("On-site repair", json!({"quantity": 3, "unit_price": 150})).await?;
    assert_eq!(num(&l1["line_total"]), Some(450.0), "{l1}");
    let l2 = line("Spare part", json!({"quantity": 1.5, "unit_price": 19.99})).await?;
    assert_eq!(num(&l2["line_total"]), Some(29.99), "1.5 x 19.99 = 29.985: {l2}");
    line("Goodwill visit", json!({"quantity": 1})).await?;
    assert_eq!(invoice_total(&app, &inv).await?, Some(479.99));
    changed(&app, "service_invoice_line", &id(&l1), json!({"quantity": 2})).await?;
    assert_eq!(invoice_total(&app, &inv).await?, Some(329.99));
    delete(&app, "service_invoice_line", &id(&l2)).await?;
    assert_eq!(invoice_total(&app, &inv).await?, Some(300.0));
    restore(&app, "service_invoice_line", &id(&l2)).await?;
    assert_eq!(invoice_total(&app, &inv).await?, Some(329.99));
    let inv2 = id(&app
        .create("service_invoice", json!({"invoice_number": "SI-2", "company": acme}))
        .await?);
    changed(&app, "service_invoice_line", &id(&l1), json!({"service_invoice": inv2})).await?;
    assert_eq!(invoice_total(&app, &inv).await?, Some(29.99));
    assert_eq!(
        num(&get(&app, "service_invoice", &inv2).await?["total_amount"]),
        Some(300.0)
    );
    let sent = change(&app, "service_invoice", &inv, json!({"total_amount": 5})).await?;
    assert_eq!(sent.body["error"]["details"][0]["code"], "read_only", "{}", sent.body);
    let sent = change(&app, "service_invoice_line", &id(&l2), json!({"line_total": 5})).await?;
    assert_eq!(sent.body["error"]["details"][0]["code"], "read_only", "{}", sent.body);
    // A line of an invoice in the recycle bin is refused.
    let binned = id(&app
        .create("service_invoice", json!({"invoice_number": "SI-3", "company": acme}))
        .await?);
    delete(&app, "service_invoice", &binned).await?;
    let r = app
        .post(
            "/api/v1/records/service_invoice_line",
            &json!({"service_invoice": binned, "description": "x"}),
        )
        .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.body);
    assert_eq!(
        r.body["error"]["details"][0]["message"], "There is no such service invoice (it may be in the recycle bin).",
        "{}",
        r.body
    );
    Ok(())
}

on_both_backends!(value_classes, tuned_thresholds, campaign_rollups, invoice_totals);
