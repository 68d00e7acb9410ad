//! The designer's web UI, driven through its HTTP endpoints in-process: an
//! analyst models a new entity with its form and list in the generic
//! editor, sees a bad reference at the right input, fixes it and saves;
//! the workspace's package then validates and the files read as expected.
//! Bad input of every kind is refused and changes nothing; scripts report
//! errors with line and column; saving writes a stable YAML form.

use std::collections::BTreeMap;

use anyhow::{ensure, Context, Result};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use relata::engine::validate_package;
use relata::model::read_package;
use relata_designer::web::router;
use relata_designer::workspace::{new_state, Workspace};
use relata_tests::stock_metadata;
use serde_json::{json, Value};
use tower::ServiceExt;

/// A workspace made from the stock package, and the designer on it.
fn designer() -> Result<(tempfile::TempDir, Router)> {
    let dir = tempfile::tempdir()?;
    let stock = read_package(&stock_metadata(), None)?;
    Workspace::create(dir.path(), &stock, new_state(None, None))?;
    let app = router(Workspace::open(dir.path())?);
    Ok((dir, app))
}

/// Sends a request; the status and the body (JSON when it is, else a string).
async fn send(app: &Router, method: Method, path: &str, body: Option<&str>) -> Result<(StatusCode, Value)> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))?;
    let resp = app.clone().oneshot(req).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20).await?;
    // Pages as text, with minijinja's escaped `/` (`&#x2f;`) read back as the browser does.
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).replace("&#x2f;", "/")));
    Ok((status, value))
}

async fn json_call(app: &Router, method: Method, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
    send(app, method, path, Some(&body.to_string())).await
}

/// Every file of the workspace's package, by path.
fn snapshot(dir: &tempfile::TempDir) -> Result<BTreeMap<String, String>> {
    let ws = Workspace::open(dir.path())?;
    Ok(ws.files()?.into_iter().map(|f| (f.path, f.text)).collect())
}

fn labels(en: &str, zh: &str) -> Value {
    json!({ "en": en, "zh-CN": zh })
}

fn survey(target: &str) -> Value {
    json!({
        "kind": "entity", "version": 1, "name": "site_survey",
        "label": labels("Site survey", "现场勘察"), "plural_label": labels("Site surveys", "现场勘察"),
        "display_field": "title",
        "fields": [
            { "name": "title", "type": "text", "label": labels("Title", "标题"), "required": true, "max_length": 120 },
            { "name": "surveyed_on", "type": "date", "label": labels("Surveyed on", "勘察日期") },
            { "name": "company", "type": "reference", "target": target, "label": labels("Company", "公司"), "on_delete": "restrict" },
            { "name": "industry", "type": "picklist", "picklist": "industry", "label": labels("Industry", "行业") }
        ]
    })
}

fn problems_at<'a>(answer: &'a Value, pointer: &str) -> Vec<&'a str> {
    answer["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["pointer"] == pointer)
        .filter_map(|p| p["message"].as_str())
        .collect()
}

#[tokio::test]
async fn an_analyst_models_a_site_survey_with_its_form_and_list() -> Result<()> {
    let (dir, app) = designer()?;

    // The editor of a new entity, and a row added to its fields.
    let (status, page) = send(&app, Method::GET, "/new/entity", None).await?;
    ensure!(status == StatusCode::OK, "{status}: {page}");
    ensure!(
        page.as_str().is_some_and(|p| p.contains(r#"data-ptr="/fields""#)),
        "{page}"
    );
    let (_, skeleton) = send(&app, Method::GET, "/api/items/entity/site_survey", None).await?;
    ensure!(skeleton["error"]["code"] == "not_found", "{skeleton}");
    let body = json!({ "kind": "entity", "item": { "kind": "entity", "name": "site_survey", "fields": [] },
        "op": { "op": "add", "ptr": "/fields" } });
    let (status, form) = json_call(&app, Method::POST, "/api/form", &body).await?;
    ensure!(status == StatusCode::OK, "{form}");
    ensure!(form["item"]["fields"][0]["type"] == "text", "{form}");
    let html = form["html"].as_str().unwrap_or_default().replace("&#x2f;", "/");
    for input in [
        r#"data-ptr="/fields/0/name""#,
        r#"data-ptr="/fields/0/label/zh-CN""#,
        r#"data-op="add" data-ptr="/fields/0/help""#,
    ] {
        ensure!(html.contains(input), "{input} in\n{html}");
    }

    // A reference to an entity that does not exist: an error at that input.
    let check = |item: Value| json!({ "kind": "entity", "item": item });
    let (status, answer) = json_call(&app, Method::POST, "/api/validate", &check(survey("compnay"))).await?;
    ensure!(status == StatusCode::OK, "{answer}");
    ensure!(answer["path"] == "custom/site_survey.yaml", "{answer}");
    let at = problems_at(&answer, "/fields/2/target");
    ensure!(at.len() == 1 && at[0].contains("compnay"), "{answer}");
    ensure!(answer["problems"].as_array().map(Vec::len) == Some(1), "{answer}");
    let (_, answer) = json_call(&app, Method::POST, "/api/validate", &check(survey("company"))).await?;
    ensure!(answer["problems"] == json!([]), "{answer}");

    // Saved, then its form and its list.
    let (status, saved) = json_call(
        &app,
        Method::POST,
        "/api/items/entity",
        &json!({ "item": survey("company") }),
    )
    .await?;
    ensure!(status == StatusCode::CREATED, "{saved}");
    ensure!(
        saved["path"] == "custom/site_survey.yaml" && saved["problems"] == json!([]),
        "{saved}"
    );
    let form = json!({ "kind": "form", "version": 1, "name": "site_survey", "entity": "site_survey",
    "tabs": [{ "name": "main", "label": labels("Survey", "勘察"), "sections": [
        { "name": "what", "label": labels("What", "内容"), "columns": 2,
          "fields": [{ "field": "title" }, { "field": "surveyed_on" }, { "field": "company" }, { "field": "industry" }] }
    ]}]});
    let (status, saved) = json_call(&app, Method::POST, "/api/items/form", &json!({ "item": form })).await?;
    ensure!(
        status == StatusCode::CREATED && saved["problems"] == json!([]),
        "{saved}"
    );
    let list = json!({ "kind": "list", "version": 1, "name": "site_survey", "entity": "site_survey",
        "label": labels("Site surveys", "现场勘察"), "columns": ["title", "surveyed_on", "company"], "sort": ["-surveyed_on"] });
    let (status, saved) = json_call(&app, Method::POST, "/api/items/list", &json!({ "item": list })).await?;
    ensure!(
        status == StatusCode::CREATED && saved["path"] == "custom/site_survey_list.yaml",
        "{saved}"
    );

    // The workspace's package is valid, and the files read as written.
    let ws = Workspace::open(dir.path())?;
    validate_package(&ws.files()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    for file in ["site_survey.yaml", "site_survey_form.yaml", "site_survey_list.yaml"] {
        let text = std::fs::read_to_string(ws.metadata_dir().join("custom").join(file))?;
        insta::assert_snapshot!(file, text);
    }
    // The browse pages show it, the editor opens it.
    let (_, page) = send(&app, Method::GET, "/", None).await?;
    ensure!(
        page.as_str().is_some_and(|p| p.contains("/items/form/site_survey")),
        "{page}"
    );
    let (status, page) = send(&app, Method::GET, "/items/entity/site_survey", None).await?;
    ensure!(
        status == StatusCode::OK && page.as_str().is_some_and(|p| p.contains("现场勘察")),
        "{page}"
    );

    // Deleting the list removes its file (and only it).
    let (status, answer) = send(&app, Method::DELETE, "/api/items/list/site_survey", None).await?;
    ensure!(
        status == StatusCode::OK && answer["deleted"] == "custom/site_survey_list.yaml",
        "{answer}"
    );
    ensure!(!ws.metadata_dir().join("custom/site_survey_list.yaml").exists());
    ensure!(ws.metadata_dir().join("custom/site_survey_form.yaml").exists());
    let (status, _) = send(&app, Method::DELETE, "/api/items/list/site_survey", None).await?;
    ensure!(status == StatusCode::NOT_FOUND, "deleted once");
    Ok(())
}

#[tokio::test]
async fn every_stock_item_opens_in_the_editor() -> Result<()> {
    let (_dir, app) = designer()?;
    let (_, catalog) = send(&app, Method::GET, "/api/items", None).await?;
    let items = catalog["items"].as_array().context("items")?;
    let mut kinds = std::collections::BTreeSet::new();
    for i in items {
        let (kind, name) = (
            i["kind"].as_str().unwrap_or_default(),
            i["name"].as_str().unwrap_or_default(),
        );
        kinds.insert(kind.to_owned());
        let (status, page) = send(&app, Method::GET, &format!("/items/{kind}/{name}"), None).await?;
        ensure!(status == StatusCode::OK, "{kind} {name}: {status} {page}");
    }
    ensure!(kinds.len() == relata::model::ITEM_KINDS.len(), "{kinds:?}");
    for page in ["/", "/kinds", "/scripts", "/scripts/lead.rhai", "/assets/designer.js"] {
        let (status, body) = send(&app, Method::GET, page, None).await?;
        ensure!(status == StatusCode::OK, "{page}: {status} {body}");
    }
    Ok(())
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() -> Result<()> {
    let (dir, app) = designer()?;
    let before = snapshot(&dir)?;
    let lead = json!({ "item": survey("company") });
    let mut renamed = survey("company");
    renamed["name"] = json!("../evil");
    let mut bad_type = survey("company");
    bad_type["fields"][1]["type"] = json!("dte");
    let mut taken = survey("company");
    taken["name"] = json!("company");
    let cases: Vec<(Method, &str, Option<String>, StatusCode, &str)> = vec![
        (
            Method::POST,
            "/api/items/entity",
            Some("{not json".into()),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            Method::POST,
            "/api/items/entity",
            Some("[]".into()),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            Method::POST,
            "/api/items/widget",
            Some(lead.to_string()),
            StatusCode::NOT_FOUND,
            "unknown_kind",
        ),
        (
            Method::PUT,
            "/api/items/entity/nope",
            Some(lead.to_string()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::DELETE,
            "/api/items/entity/..%2F..%2Fworkspace",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/api/items/entity",
            Some(json!({ "item": renamed }).to_string()),
            StatusCode::BAD_REQUEST,
            "bad_name",
        ),
        (
            Method::POST,
            "/api/items/form",
            Some(lead.to_string()),
            StatusCode::BAD_REQUEST,
            "bad_item",
        ),
        (
            Method::POST,
            "/api/items/entity",
            Some(json!({ "item": bad_type }).to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            Method::POST,
            "/api/items/entity",
            Some(json!({ "item": taken }).to_string()),
            StatusCode::CONFLICT,
            "exists",
        ),
        (
            Method::PUT,
            "/api/scripts/..%2Fevil.rhai",
            Some(r#"{"text": "1"}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_name",
        ),
        (
            Method::PUT,
            "/api/scripts/lead.yaml",
            Some(r#"{"text": "1"}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_name",
        ),
        (
            Method::POST,
            "/api/form",
            Some(json!({ "kind": "entity", "item": {}, "op": { "op": "add", "ptr": "/nope" } }).to_string()),
            StatusCode::BAD_REQUEST,
            "bad_item",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = send(&app, method.clone(), path, body.as_deref()).await?;
        ensure!(
            got == status && answer["error"]["code"] == code,
            "{method} {path}: {got} {answer}"
        );
        ensure!(
            answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    // The schema error names the input.
    let (_, answer) = json_call(&app, Method::POST, "/api/items/entity", &json!({ "item": bad_type })).await?;
    ensure!(
        answer["error"]["problems"][0]["pointer"] == "/fields/1/type",
        "{answer}"
    );

    // A write that fails (the temporary file's place is taken by a folder)
    // leaves the item's file as it was.
    let ws = Workspace::open(dir.path())?;
    let file = ws.metadata_dir().join("sales/lead.yaml");
    std::fs::create_dir(ws.metadata_dir().join("sales/lead.yaml.designer-tmp"))?;
    let (_, lead) = send(&app, Method::GET, "/api/items/entity/lead", None).await?;
    let (status, answer) = json_call(
        &app,
        Method::PUT,
        "/api/items/entity/lead",
        &json!({ "item": lead["item"] }),
    )
    .await?;
    ensure!(
        status == StatusCode::INTERNAL_SERVER_ERROR && answer["error"]["code"] == "workspace",
        "{answer}"
    );
    std::fs::remove_dir(ws.metadata_dir().join("sales/lead.yaml.designer-tmp"))?;
    ensure!(
        std::fs::read_to_string(file)? == before["sales/lead.yaml"],
        "lead.yaml unchanged"
    );
    ensure!(snapshot(&dir)? == before, "the workspace is unchanged");
    // A request from another host name is refused.
    let req = Request::builder()
        .uri("/")
        .header("host", "evil.example:8091")
        .body(Body::empty())?;
    ensure!(app.clone().oneshot(req).await?.status() == StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn scripts_are_checked_with_line_and_column_and_saved_only_when_they_compile() -> Result<()> {
    let (dir, app) = designer()?;
    let before = snapshot(&dir)?;
    let broken = "fn check() {\n    let x = 1;\n    let y = ;\n}\n";
    let (status, answer) = json_call(
        &app,
        Method::POST,
        "/api/scripts/check",
        &json!({ "name": "lead.rhai", "text": broken }),
    )
    .await?;
    ensure!(status == StatusCode::OK, "{answer}");
    let e = &answer["errors"][0];
    ensure!(
        e["line"] == 3 && e["column"].as_u64().is_some_and(|c| c > 0),
        "{answer}"
    );
    ensure!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    let (status, answer) = json_call(&app, Method::PUT, "/api/scripts/lead.rhai", &json!({ "text": broken })).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    ensure!(
        answer["error"]["problems"][0]["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("line 3, column")),
        "{answer}"
    );
    ensure!(snapshot(&dir)? == before, "a broken script is not saved");

    // A script that compiles but lacks a function an entity binds: saved,
    // and the problem is reported against it.
    let (status, answer) = json_call(
        &app,
        Method::PUT,
        "/api/scripts/lead.rhai",
        &json!({ "text": "fn helper() { 1 }\n" }),
    )
    .await?;
    ensure!(status == StatusCode::OK && answer["errors"] == json!([]), "{answer}");
    ensure!(answer["problems"].as_array().is_some_and(|p| !p.is_empty()), "{answer}");
    let ws = Workspace::open(dir.path())?;
    ensure!(std::fs::read_to_string(ws.root().join("scripts/lead.rhai"))? == "fn helper() { 1 }\n");
    // A new script.
    let (status, answer) = json_call(
        &app,
        Method::PUT,
        "/api/scripts/lib/extra.rhai",
        &json!({ "text": "fn twice(x) { x * 2 }\n" }),
    )
    .await?;
    ensure!(status == StatusCode::OK, "{answer}");
    let (_, names) = send(&app, Method::GET, "/api/scripts", None).await?;
    ensure!(
        names.as_array().is_some_and(|n| n.contains(&json!("lib/extra.rhai"))),
        "{names}"
    );
    Ok(())
}

#[tokio::test]
async fn saving_writes_a_stable_yaml_form() -> Result<()> {
    let (dir, app) = designer()?;
    let ws = Workspace::open(dir.path())?;
    let file = ws.metadata_dir().join("sales/lead.yaml");
    let stock = std::fs::read_to_string(&file)?;
    let (_, lead) = send(&app, Method::GET, "/api/items/entity/lead", None).await?;
    let put = |item: &Value| json!({ "item": item });

    // The stock files are hand-written: the first save puts them in the
    // canonical form (schema key order, block style), the same values.
    let (status, saved) = json_call(&app, Method::PUT, "/api/items/entity/lead", &put(&lead["item"])).await?;
    ensure!(status == StatusCode::OK && saved["problems"] == json!([]), "{saved}");
    let first = std::fs::read_to_string(&file)?;
    let reread: Value = serde_yaml_ng::from_str(&first)?;
    let stock_value: Value = serde_yaml_ng::from_str(&stock)?;
    ensure!(reread == stock_value, "the values are kept");
    ensure!(first.starts_with("kind: entity\nversion: 1\nname: lead\n"), "{first}");

    // Saved again unchanged: byte-identical.
    let (_, lead) = send(&app, Method::GET, "/api/items/entity/lead", None).await?;
    json_call(&app, Method::PUT, "/api/items/entity/lead", &put(&lead["item"])).await?;
    ensure!(
        std::fs::read_to_string(&file)? == first,
        "a second save changes nothing"
    );

    // One value changed: one line changed.
    let mut item = lead["item"].clone();
    item["fields"][0]["max_length"] = json!(250);
    json_call(&app, Method::PUT, "/api/items/entity/lead", &put(&item)).await?;
    let edited = std::fs::read_to_string(&file)?;
    let (a, b): (Vec<&str>, Vec<&str>) = (first.lines().collect(), edited.lines().collect());
    ensure!(a.len() == b.len(), "same number of lines");
    let changed: Vec<(&&str, &&str)> = a.iter().zip(&b).filter(|(x, y)| x != y).collect();
    ensure!(
        changed == [(&"    max_length: 200", &"    max_length: 250")],
        "{changed:?}"
    );

    // A label edited in Chinese: one line too.
    item["label"]["zh-CN"] = json!("潜在客户");
    json_call(&app, Method::PUT, "/api/items/entity/lead", &put(&item)).await?;
    let again = std::fs::read_to_string(&file)?;
    let changed = edited.lines().zip(again.lines()).filter(|(x, y)| x != y).count();
    ensure!(
        changed == 1 && edited.lines().count() == again.lines().count(),
        "{again}"
    );
    Ok(())
}

/// The editor in a real browser: a problem appears next to its input as the
/// analyst types and goes when fixed; a row is added to a pick list and
/// saved; a script's syntax error is shown with its line and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_in_a_browser_shows_problems_next_to_the_inputs() -> Result<()> {
    let (dir, app) = designer()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let Some(chrome) = relata_tests::Chrome::start(&base).await? else {
        return Ok(());
    };
    let ws = Workspace::open(dir.path())?;

    chrome.goto("/items/list/lead").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    let columns = r#"input[data-ptr="/columns"]"#;
    chrome.fill(columns, "topic, nope").await?;
    chrome
        .wait_for_text(r#".problem[data-for="/columns/1"]"#, "`nope` is not a field of lead")
        .await?;
    chrome.fill(columns, "topic, city").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.click("#save").await?;
    chrome.wait_for_text("#status", "Saved to sales/lead_list.yaml").await?;
    let saved = std::fs::read_to_string(ws.metadata_dir().join("sales/lead_list.yaml"))?;
    ensure!(saved.contains("columns: [topic, city]\n"), "{saved}");

    // A new value in a pick list: a row added, filled in, saved.
    chrome.goto("/items/picklist/industry").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    let rows = chrome.find_all("details.row").await?.len();
    chrome.click(r#"button[data-op="add"][data-ptr="/values"]"#).await?;
    let at = |p: &str| format!(r#"[data-ptr="/values/{rows}/{p}"]"#);
    chrome.fill(&at("code"), "mining").await?;
    chrome.fill(&at("label/en"), "Mining").await?;
    chrome.fill(&at("label/zh-CN"), "采矿业").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.click("#save").await?;
    chrome.wait_for_text("#status", "Saved to common/industry.yaml").await?;
    let saved = std::fs::read_to_string(ws.metadata_dir().join("common/industry.yaml"))?;
    ensure!(
        saved.ends_with("  - code: mining\n    label: { en: Mining, zh-CN: 采矿业 }\n"),
        "{saved}"
    );

    // A script that does not compile: the line and column.
    chrome.goto("/scripts/lead.rhai").await?;
    chrome
        .fill("#script-editor", "fn check() {\n    let x = 1;\n    let y = ;\n}\n")
        .await?;
    chrome.wait_for_text("#script-errors", "line 3, column").await?;

    // The form layout editor: a field taken off the form, placed in the
    // first section again, that section set to three columns, saved.
    chrome.goto("/layout/lead").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.click(r#"li.field-chip[data-field="email"]"#).await?;
    chrome.click(r#"button[data-layout="unplace"]"#).await?;
    chrome.click(r#".palette li[data-field="email"]"#).await?;
    chrome
        .click(r#"button[data-layout="place"][data-tab="0"][data-section="0"]"#)
        .await?;
    chrome
        .find(r#"ol[data-tab="0"][data-section="0"] li[data-field="email"]"#)
        .await?;
    let columns = chrome
        .find(r#"select[data-layout="columns"][data-tab="0"][data-section="0"]"#)
        .await?;
    columns.select_by_value("3").await?;
    chrome.find(r#"ol.cols-3[data-tab="0"][data-section="0"]"#).await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.click("#save-layout").await?;
    chrome.wait_for_text("#status", "Saved to sales/lead_form.yaml").await?;
    let saved: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(
        ws.metadata_dir().join("sales/lead_form.yaml"),
    )?)?;
    let first = &saved["tabs"][0]["sections"][0];
    ensure!(first["columns"] == 3, "{first}");
    ensure!(
        first["fields"].as_array().and_then(|f| f.last()) == Some(&json!({ "field": "email" })),
        "{first}"
    );
    chrome.close().await?;
    server.abort();
    Ok(())
}

/// The form layout editor's moves, through its endpoint: fields placed,
/// moved and taken off (their options kept), sections and tabs added,
/// columns set, a related list and a button added; the result saves as an
/// ordinary, valid form.
#[tokio::test]
async fn the_layout_editor_moves_fields_and_adds_parts() -> Result<()> {
    let (dir, app) = designer()?;
    let (_, company) = send(&app, Method::GET, "/api/items/form/company", None).await?;
    let mut item = company["item"].clone();
    let first_field = item["tabs"][0]["sections"][0]["fields"][0].clone();
    let name = first_field["field"].as_str().context("a field")?.to_owned();
    let new = item["tabs"][0]["sections"].as_array().map_or(0, Vec::len);
    let tabs = item["tabs"].as_array().map_or(0, Vec::len);
    let moves = [
        json!({ "op": "add_section", "tab": 0 }),
        json!({ "op": "place", "field": name, "tab": 0, "section": new }),
        json!({ "op": "columns", "tab": 0, "section": new, "columns": 9 }),
        json!({ "op": "add_tab" }),
        json!({ "op": "add_related", "tab": tabs, "entity": "contact", "via": "company" }),
    ];
    for op in &moves {
        let (status, answer) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": item, "op": op })).await?;
        ensure!(status == StatusCode::OK, "{op}: {answer}");
        item = answer["item"].clone();
        ensure!(
            answer["html"].as_str().is_some_and(|h| h.contains("data-drop")),
            "{answer}"
        );
    }
    let sections = item["tabs"][0]["sections"].as_array().context("sections")?;
    let added = sections.last().context("a section")?;
    ensure!(added["name"] == "section_1" && added["columns"] == 4, "{added}");
    ensure!(
        added["fields"] == json!([first_field]),
        "the field moved with its options: {added}"
    );
    ensure!(
        !sections[0]["fields"]
            .as_array()
            .is_some_and(|f| f.contains(&first_field)),
        "taken from its section"
    );
    let tab = item["tabs"].as_array().and_then(|t| t.last()).context("a tab")?;
    ensure!(tab["name"] == "tab_1" && tab["related"][0]["via"] == "company", "{tab}");
    ensure!(
        tab["related"][0]["columns"].as_array().is_some_and(|c| !c.is_empty()),
        "{tab}"
    );

    // Bad moves change nothing.
    for op in [
        json!({ "op": "place", "field": name, "tab": 99, "section": 0 }),
        json!({ "op": "unplace", "field": "nope" }),
        json!({ "op": "fly" }),
    ] {
        let (status, answer) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": item, "op": op })).await?;
        ensure!(status == StatusCode::BAD_REQUEST, "{op}: {status} {answer}");
    }
    let (status, _) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": survey("company") })).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "only forms");

    let (status, saved) = json_call(&app, Method::PUT, "/api/items/form/company", &json!({ "item": item })).await?;
    ensure!(status == StatusCode::OK && saved["problems"] == json!([]), "{saved}");
    validate_package(&Workspace::open(dir.path())?.files()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (status, page) = send(&app, Method::GET, "/layout/company", None).await?;
    ensure!(
        status == StatusCode::OK && page.as_str().is_some_and(|p| p.contains("Add related list")),
        "{page}"
    );
    Ok(())
}

/// The layout editor renames and removes tabs, sections, related lists and
/// buttons; the result saves as a valid form; bad requests change nothing.
#[tokio::test]
async fn the_layout_editor_renames_and_removes_parts() -> Result<()> {
    let (dir, app) = designer()?;
    let (_, company) = send(&app, Method::GET, "/api/items/form/company", None).await?;
    let mut item = company["item"].clone();
    let tabs = item["tabs"].as_array().map_or(0, Vec::len);
    let second_tab = item["tabs"][1]["name"].clone();
    let first_section = item["tabs"][0]["sections"][0].clone();
    let moved_field = first_section["fields"][0]["field"]
        .as_str()
        .context("a field")?
        .to_owned();
    let related_tab = item["tabs"][1].clone();
    ensure!(
        related_tab["related"].as_array().is_some_and(|r| !r.is_empty()),
        "{related_tab}"
    );
    let buttons = item["buttons"].as_array().map_or(0, Vec::len);
    ensure!(buttons >= 2, "the company form has buttons");
    let kept_button = item["buttons"][1].clone();
    let moves = [
        json!({ "op": "rename", "part": "/tabs/0", "en": " Summary ", "zh": "概要" }),
        json!({ "op": "rename", "part": "/tabs/0/sections/0", "en": "Who", "zh": "身份" }),
        json!({ "op": "rename", "part": "/tabs/1/related/0", "en": "History", "zh": "历史" }),
        json!({ "op": "rename", "part": "/buttons/0", "en": "New deal", "zh": "新商机" }),
        json!({ "op": "rename", "part": "/buttons/0", "en": "", "zh": "" }),
        json!({ "op": "remove", "part": "/buttons/0" }),
        json!({ "op": "remove", "part": "/tabs/1/related/0" }),
        json!({ "op": "remove", "part": "/tabs/0/sections/0" }),
        json!({ "op": "remove", "part": "/tabs/1" }),
    ];
    for op in &moves {
        let (status, answer) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": item, "op": op })).await?;
        ensure!(status == StatusCode::OK, "{op}: {answer}");
        item = answer["item"].clone();
    }
    ensure!(
        item["tabs"][0]["label"] == labels("Summary", "概要"),
        "{}",
        item["tabs"][0]
    );
    ensure!(item["tabs"].as_array().map(Vec::len) == Some(tabs - 1), "a tab went");
    ensure!(
        !item["tabs"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["name"] == second_tab),
        "the second tab went"
    );
    ensure!(
        item["tabs"][0]["sections"][0]["name"] != first_section["name"],
        "the first section went"
    );
    ensure!(item["buttons"] == json!([kept_button]), "{}", item["buttons"]);
    // The removed section's fields are off the form: back in the palette.
    let (_, answer) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": item })).await?;
    let html = answer["html"].as_str().unwrap_or_default();
    ensure!(
        html.contains(&format!(r#"data-field="{moved_field}" tabindex="0""#)),
        "{moved_field} in the palette"
    );
    ensure!(html.contains(r#"data-layout="rename""#) && html.contains(r#"data-layout="remove""#));

    // Refused: the last tab, a tab without a title, parts that are not there.
    let mut one_tab = item.clone();
    one_tab["tabs"] = json!([item["tabs"][0]]);
    for (form, op) in [
        (&one_tab, json!({ "op": "remove", "part": "/tabs/0" })),
        (
            &item,
            json!({ "op": "rename", "part": "/tabs/0", "en": "", "zh": "概要" }),
        ),
        (&item, json!({ "op": "remove", "part": "/tabs/99" })),
        (&item, json!({ "op": "remove", "part": "/tabs/0/fields/0" })),
        (
            &item,
            json!({ "op": "rename", "part": "/buttons/x", "en": "a", "zh": "b" }),
        ),
    ] {
        let (status, answer) = json_call(&app, Method::POST, "/api/layout", &json!({ "item": form, "op": op })).await?;
        ensure!(
            status == StatusCode::BAD_REQUEST && answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{op}: {status} {answer}"
        );
    }
    let (status, saved) = json_call(&app, Method::PUT, "/api/items/form/company", &json!({ "item": item })).await?;
    ensure!(status == StatusCode::OK && saved["problems"] == json!([]), "{saved}");
    validate_package(&Workspace::open(dir.path())?.files()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The generic editor in a browser, as an analyst met it: adding a help
/// text or a computed rule keeps the row being edited open; a new field's
/// type decides which options it shows; a reference picks its entity from
/// the model's; an option whose default is true shows checked; a problem
/// in a folded row is listed with its path, its row marked, and a click
/// unfolds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_keeps_rows_open_and_shows_what_applies() -> Result<()> {
    let (dir, app) = designer()?;
    let ws = Workspace::open(dir.path())?;
    // A problem inside a folded row, before the page opens.
    let lead_file = ws.metadata_dir().join("sales/lead.yaml");
    let lead: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&lead_file)?)?;
    let fields = lead["fields"].as_array().context("fields")?;
    let row = fields
        .iter()
        .position(|f| f["type"] == "reference")
        .context("a reference field of lead")?;
    let target = fields[row]["target"].as_str().context("a target")?.to_owned();
    let text = std::fs::read_to_string(&lead_file)?;
    std::fs::write(
        &lead_file,
        text.replacen(&format!("target: {target}"), "target: compnay", 1),
    )?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let Some(chrome) = relata_tests::Chrome::start(&base).await? else {
        return Ok(());
    };

    chrome.goto("/items/entity/lead").await?;
    chrome.wait_for_text("#status", "problem(s)").await?;
    chrome
        .wait_for_text(
            &format!(r#"#problems li[data-for="/fields/{row}/target"]"#),
            &format!("fields[{row}].target: unknown entity `compnay`"),
        )
        .await?;
    let details = format!(r#"details.row[data-ptr="/fields/{row}"]"#);
    chrome
        .find(&format!("{details}:not([open]) > summary.has-problem"))
        .await?;
    chrome
        .wait_for_text(&format!("{details} > summary .row-problems"), "problem(s)")
        .await?;
    chrome
        .click(&format!(r#"#problems li[data-for="/fields/{row}/target"] a"#))
        .await?;
    chrome.find(&format!("{details}[open]")).await?;
    // The reference picks its entity among the model's.
    let select = format!(r#"select[data-ptr="/fields/{row}/target"]"#);
    let options = chrome.texts(&format!("{select} option")).await?;
    ensure!(
        options.contains(&"company".to_owned()) && options.contains(&"contact".to_owned()),
        "{options:?}"
    );
    chrome.find(&select).await?.select_by_value(&target).await?;
    if let Err(e) = chrome.wait_for_text("#status", "No problems").await {
        let shown = chrome.texts("#problems li").await?;
        let value = chrome.value(&select).await?;
        anyhow::bail!("{e}: {shown:?} select={value} target={target} row={row} options={options:?}");
    }

    // A help text added to the open row: the row stays open.
    chrome
        .click(&format!(r#"button[data-op="add"][data-ptr="/fields/{row}/help"]"#))
        .await?;
    let help = format!(r#"input[data-ptr="/fields/{row}/help/en"]"#);
    ensure!(chrome.is_displayed(&help).await?, "the row stays open");
    chrome.fill(&help, "Who sent it").await?;
    chrome
        .fill(&format!(r#"input[data-ptr="/fields/{row}/help/zh-CN"]"#), "由谁发来")
        .await?;
    chrome
        .click(&format!(r#"button[data-op="add"][data-ptr="/fields/{row}/computed"]"#))
        .await?;
    ensure!(
        chrome
            .is_displayed(&format!(r#"input[data-ptr="/fields/{row}/computed/expression"]"#))
            .await?,
        "still open after adding a computed rule"
    );
    chrome
        .click(&format!(
            r#"fieldset[data-ptr="/fields/{row}/computed"] button[data-op="remove"]"#
        ))
        .await?;
    ensure!(chrome.is_displayed(&help).await?, "still open after removing it");
    ensure!(chrome.value(&help).await? == "Who sent it", "the typed help is kept");

    // A new field: open; its options follow its type.
    let n = fields.len();
    chrome.click(r#"button[data-op="add"][data-ptr="/fields"]"#).await?;
    let new_row = format!(r#"details.row[data-ptr="/fields/{n}"]"#);
    chrome.find(&format!("{new_row}[open]")).await?;
    ensure!(
        chrome.find(&format!("{details}[open]")).await.is_ok(),
        "the edited row stays open too"
    );
    let at = |k: &str| format!(r#"[data-ptr="/fields/{n}/{k}"]"#);
    chrome.find(&at("max_length")).await?;
    ensure!(
        chrome.find_all(&at("target")).await?.is_empty(),
        "a text field has no target"
    );
    chrome.find(&at("type")).await?.select_by_value("reference").await?;
    chrome.find(&format!("select{}", at("target"))).await?;
    ensure!(
        chrome.find_all(&at("max_length")).await?.is_empty(),
        "a reference has no max length"
    );
    chrome.fill(&at("name"), "referred_by").await?;
    chrome.fill(&at("label/en"), "Referred by").await?;
    chrome.fill(&at("label/zh-CN"), "推荐人").await?;
    chrome
        .find(&format!("select{}", at("target")))
        .await?
        .select_by_value("contact")
        .await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.click("#save").await?;
    chrome.wait_for_text("#status", "Saved to sales/lead.yaml").await?;
    let saved: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&lead_file)?)?;
    ensure!(
        saved["fields"][row]["target"] == target.as_str(),
        "{}",
        saved["fields"][row]
    );
    ensure!(
        saved["fields"][row]["help"]["en"] == "Who sent it",
        "{}",
        saved["fields"][row]
    );
    ensure!(
        saved["fields"][row].get("computed").is_none(),
        "{}",
        saved["fields"][row]
    );
    ensure!(
        saved["fields"][n]
            == json!({"name": "referred_by", "type": "reference", "label": labels("Referred by", "推荐人"), "target": "contact"}),
        "{}",
        saved["fields"][n]
    );

    // `active` defaults to true: shown checked; unchecked, it is written false.
    chrome.goto("/items/picklist/industry").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    let active = r#"input[data-ptr="/values/0/active"]"#;
    ensure!(
        chrome.find(active).await?.is_selected().await?,
        "an active value shows checked"
    );
    chrome.click(r#"details.row[data-ptr="/values/0"] > summary"#).await?;
    chrome.click(active).await?;
    chrome.click("#save").await?;
    chrome.wait_for_text("#status", "Saved to common/industry.yaml").await?;
    let industry: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(
        ws.metadata_dir().join("common/industry.yaml"),
    )?)?;
    ensure!(industry["values"][0]["active"] == false, "{}", industry["values"][0]);
    chrome.close().await?;
    server.abort();
    Ok(())
}

/// Refreshes the designer guide's screenshots (docs/screenshots/designer-*.png):
/// `cargo test -p relata-tests --test designer_ui -- --ignored screenshots`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run on purpose"]
async fn screenshots() -> Result<()> {
    let (_dir, app) = designer()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let Some(chrome) = relata_tests::Chrome::start(&base).await? else {
        return Ok(());
    };
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    chrome.goto("/").await?;
    chrome.screenshot(&shots.join("designer-model.png")).await?;
    chrome.goto("/items/entity/contact").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.screenshot(&shots.join("designer-entity.png")).await?;
    chrome.goto("/items/list/lead").await?;
    chrome.wait_for_text("#status", "No problems").await?;
    chrome.fill(r#"input[data-ptr="/columns"]"#, "topic, nope").await?;
    chrome
        .wait_for_text(r#".problem[data-for="/columns/1"]"#, "`nope` is not a field of lead")
        .await?;
    chrome.screenshot(&shots.join("designer-problem.png")).await?;
    chrome.goto("/layout/company").await?;
    chrome.screenshot(&shots.join("designer-layout.png")).await?;
    chrome.goto("/scripts/expense_report.rhai").await?;
    chrome.screenshot(&shots.join("designer-script.png")).await?;
    chrome.close().await?;
    server.abort();
    Ok(())
}
