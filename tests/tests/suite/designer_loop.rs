//! The designer's whole loop, end to end, on both backends (issue 6):
//!
//! 1. a workspace is pulled from a live runtime;
//! 2. through the designer's HTTP endpoints an analyst adds an entity (the
//!    installed base of a customer: serial number, product, company,
//!    install date, warranty end) with a rule, a command, a form (the
//!    command's button placed with the layout editor's moves) and a list;
//! 3. the preview runs it in the offline sandbox on sample data;
//! 4. the plan shows the four new items and one safe schema step;
//! 5. the promotion runs while a load generator writes contacts, and none
//!    of those writes fails; the live API, the rule, the command and the UI
//!    serve the new entity at once;
//!    every form of the module is then filled, saved, edited and saved
//!    again in a real browser, in both languages, its commands run
//!    (`save_everything`'s pass);
//! 6. a rollback hides it with its records kept; release 2 promoted again,
//!    they are back.
//!
//! (The layout editor in a real browser is `designer_ui`'s subject.)

use anyhow::{ensure, Context, Result};
use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use relata_designer::client::{AdminClient, ClientError};
use relata_designer::preview::open_sandbox;
use relata_designer::promote::{plan, promote, pull};
use relata_designer::web::router;
use relata_designer::workspace::Workspace;
use relata_tests::load::{under_contact_load, Load};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tower::ServiceExt;

const SCRIPT: &str = "installed_unit.rhai";

/// The rule (`on_new`: a year of warranty from the install date) and the
/// command (extend the warranty by a year).
const RULES: &str = r#"// Installed units: warranty defaults and extension.

fn defaults() {
    if this.warranty_end == () && this.install_date != () {
        this.warranty_end = add_months(this.install_date, 12);
    }
}

fn extend_warranty() {
    if this.warranty_end == () {
        error("warranty_end", #{ en: "No warranty to extend.", "zh-CN": "没有可延长的保修。" });
        return;
    }
    this.warranty_end = add_months(this.warranty_end, 12);
    message(#{ en: "Warranty extended by a year.", "zh-CN": "保修已延长一年。" });
}
"#;

fn labels(en: &str, zh: &str) -> Value {
    json!({ "en": en, "zh-CN": zh })
}

fn unit_entity() -> Value {
    json!({
        "kind": "entity", "version": 1, "name": "installed_unit",
        "label": labels("Installed unit", "在用设备"), "plural_label": labels("Installed units", "在用设备"),
        "display_field": "serial_number",
        "fields": [
            { "name": "serial_number", "type": "text", "required": true, "unique": true, "max_length": 60,
              "label": labels("Serial number", "序列号") },
            { "name": "product", "type": "reference", "target": "product", "label": labels("Product", "产品") },
            { "name": "company", "type": "reference", "target": "company", "label": labels("Customer", "客户") },
            { "name": "install_date", "type": "date", "label": labels("Installed on", "安装日期") },
            { "name": "warranty_end", "type": "date", "label": labels("Warranty ends", "保修截止") }
        ],
        "rules": { "script": SCRIPT, "on_new": "defaults" },
        "commands": [{ "name": "extend_warranty", "function": "extend_warranty",
                       "label": labels("Extend warranty", "延长保修") }]
    })
}

fn unit_form() -> Value {
    json!({ "kind": "form", "version": 1, "name": "installed_unit", "entity": "installed_unit",
    "tabs": [{ "name": "main", "label": labels("Unit", "设备"), "sections": [
        { "name": "unit", "label": labels("Unit", "设备"), "columns": 2,
          "fields": [{ "field": "serial_number" }, { "field": "product" }, { "field": "company" }] }
    ]}]})
}

fn unit_list() -> Value {
    json!({ "kind": "list", "version": 1, "name": "installed_units", "entity": "installed_unit",
        "label": labels("Installed units", "在用设备"),
        "columns": ["serial_number", "company", "install_date", "warranty_end"], "sort": ["serial_number"] })
}

/// Calls the designer; the status and the JSON answer.
async fn call(designer: &Router, method: Method, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))?;
    let resp = designer.clone().oneshot(req).await?;
    let status = StatusCode::from_u16(resp.status().as_u16())?;
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// Step 2: the analyst's work, through the designer's endpoints only.
async fn model_the_unit(designer: &Router) -> Result<()> {
    let (status, answer) = call(
        designer,
        Method::POST,
        "/api/scripts/check",
        &json!({ "name": SCRIPT, "text": RULES }),
    )
    .await?;
    ensure!(status == StatusCode::OK, "{answer}");
    let (status, answer) = call(
        designer,
        Method::PUT,
        &format!("/api/scripts/{SCRIPT}"),
        &json!({ "text": RULES }),
    )
    .await?;
    ensure!(status.is_success(), "{status}: {answer}");
    let (status, answer) = call(
        designer,
        Method::POST,
        "/api/items/entity",
        &json!({ "item": unit_entity() }),
    )
    .await?;
    ensure!(
        status == StatusCode::CREATED && answer["problems"] == json!([]),
        "{answer}"
    );
    // The form: fields first, then the new date fields and the command's
    // button placed with the layout editor's moves, as its page does.
    let mut form = unit_form();
    for op in [
        json!({ "op": "add_section", "tab": 0 }),
        json!({ "op": "place", "field": "install_date", "tab": 0, "section": 1 }),
        json!({ "op": "place", "field": "warranty_end", "tab": 0, "section": 1 }),
        json!({ "op": "add_button", "command": "extend_warranty" }),
    ] {
        let (status, answer) = call(
            designer,
            Method::POST,
            "/api/layout",
            &json!({ "item": form, "op": op }),
        )
        .await?;
        ensure!(status == StatusCode::OK, "{op}: {answer}");
        form = answer["item"].clone();
    }
    let (status, answer) = call(designer, Method::POST, "/api/items/form", &json!({ "item": form })).await?;
    ensure!(
        status == StatusCode::CREATED && answer["problems"] == json!([]),
        "{answer}"
    );
    let (status, answer) = call(
        designer,
        Method::POST,
        "/api/items/list",
        &json!({ "item": unit_list() }),
    )
    .await?;
    ensure!(
        status == StatusCode::CREATED && answer["problems"] == json!([]),
        "{answer}"
    );
    Ok(())
}

async fn the_whole_loop(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let stock: Vec<String> = app.engine.model().model.entities.keys().cloned().collect();
    // 1. Pulled.
    let token = app.token.clone().context("the test app's token")?;
    let client = AdminClient::new(&app.base, &token);
    let dir = tempfile::tempdir()?;
    let mut ws = pull(dir.path(), &client).await?;

    // 2. Modelled in the designer.
    let designer = router(Workspace::open(dir.path())?);
    model_the_unit(&designer).await?;

    // 3. Previewed: sample units in the sandbox, the rule and the command at work.
    let sandbox = open_sandbox(&Workspace::open(dir.path())?).await?;
    ensure!(
        sandbox.filled.iter().any(|e| e == "installed_unit"),
        "{:?}",
        sandbox.filled
    );
    let made = sandbox
        .engine
        .create(
            "installed_unit",
            &json!({"serial_number": "PREVIEW-1", "install_date": "2026-03-31"}),
            None,
        )
        .await?;
    ensure!(made.get("warranty_end") == Some(&json!("2027-03-31")), "{made:?}");

    // 4. The plan: four new items, one safe step.
    let (diff, merged) = plan(&ws, &client).await?;
    ensure!(merged.is_empty(), "{merged:?}");
    let mut added: Vec<String> = diff
        .diff
        .added
        .iter()
        .map(|i| format!("{} {}", i.kind, i.name))
        .collect();
    added.sort();
    ensure!(
        added
            == [
                "entity installed_unit",
                "form installed_unit",
                "list installed_units",
                "script installed_unit.rhai"
            ],
        "{added:?}"
    );
    ensure!(diff.diff.changed.is_empty() && diff.diff.removed.is_empty(), "{diff}");
    ensure!(
        diff.steps.iter().any(|s| s.description.contains("installed_unit")) && diff.destructive().count() == 0,
        "{diff}"
    );

    // 5. Promoted under load.
    let (done, Load { written, failed }) =
        under_contact_load(&app, promote(&mut ws, &client, "installed base", &[])).await?;
    let done = done?;
    ensure!(
        failed.is_empty(),
        "{} of {written} writes failed: {:?}",
        failed.len(),
        failed.first()
    );
    ensure!(written > 10, "the load generator wrote {written} contacts");
    ensure!(done.release == Some(2), "{:?}", done.release);
    let unit = app
        .post(
            "/api/v1/records/installed_unit",
            &json!({"serial_number": "SN-0001", "install_date": "2026-01-15"}),
        )
        .await?;
    ensure!(unit.status == StatusCode::CREATED, "{}", unit.body);
    ensure!(
        unit.body["warranty_end"] == "2027-01-15",
        "the rule runs live: {}",
        unit.body
    );
    let id = unit.body["id"].as_str().context("id")?.to_owned();
    let extended = app
        .post(
            &format!("/api/v1/records/installed_unit/{id}/commands/extend_warranty"),
            &json!({}),
        )
        .await?;
    ensure!(extended.status == StatusCode::OK, "{}", extended.body);
    let read = app.get(&format!("/api/v1/records/installed_unit/{id}")).await?;
    ensure!(read.body["warranty_end"] == "2028-01-15", "{}", read.body);
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    for page in [
        "/app/l/installed_units".to_owned(),
        format!("/app/r/installed_unit/{id}"),
    ] {
        let resp = browser.client.get(browser.url(&page)).send().await?;
        ensure!(resp.status() == StatusCode::OK, "{page}: {}", resp.status());
        let html = resp.text().await?;
        ensure!(html.contains("SN-0001"), "{page} shows the unit");
    }

    // 5b. Every form of the module saves in the browser, in both languages:
    //     filled, saved, shown, edited, saved again, its commands run.
    let added: Vec<String> = crate::save_everything::entities_with_forms(&app.engine.model())
        .into_iter()
        .filter(|e| !stock.contains(e))
        .collect();
    ensure!(added == ["installed_unit"], "{added:?}");
    let problems = crate::save_everything::save_pass(&app, &added).await?;
    crate::save_everything::verdict(&problems, crate::save_everything::EXPECTED_FAILURES, &added)?;

    // 6. Rolled back (the table's archiving is confirmed by its step id):
    //    gone from the live system; promoted again: back, with its record.
    let step = match client.rollback(1, "without the installed base", &[]).await {
        Err(ClientError::Refused(r)) if r.code == "confirmation_required" => r.body["error"]["details"][0]["id"]
            .as_str()
            .context("the step's id")?
            .to_owned(),
        other => anyhow::bail!("expected confirmation_required, got {other:?}"),
    };
    let back = client.rollback(1, "without the installed base", &[step]).await?;
    ensure!(back["release"] == 3, "{back}");
    let gone = app.get(&format!("/api/v1/records/installed_unit/{id}")).await?;
    ensure!(gone.status == StatusCode::NOT_FOUND, "{}", gone.body);
    // Promoting release 2's model again (a rollback to it is the same
    // pipeline) restores the archived table. Where the archive lost the
    // unique index (SQLite rebuilds a table with foreign keys when it
    // archives it), building it again checks for duplicates, a step the
    // admin confirms.
    let again = match client.rollback(2, "installed base again", &[]).await {
        Err(ClientError::Refused(r)) if r.code == "confirmation_required" => {
            let steps: Vec<String> = r.body["error"]["details"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d["description"].as_str().unwrap_or_default().to_owned())
                .collect();
            ensure!(
                steps.len() == 1 && steps[0].starts_with("create unique index ux_installed_unit__serial_number"),
                "{steps:?}"
            );
            client.rollback(2, "installed base again", &steps).await?
        }
        other => other?,
    };
    ensure!(again["release"] == 4, "{again}");
    let kept = app.get(&format!("/api/v1/records/installed_unit/{id}")).await?;
    ensure!(
        kept.status == StatusCode::OK && kept.body["warranty_end"] == "2028-01-15",
        "{}",
        kept.body
    );
    Ok(())
}

on_both_backends!(the_whole_loop);
