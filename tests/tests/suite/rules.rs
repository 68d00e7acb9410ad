//! Business rules in Rhai, end to end on both backends: every handler kind
//! (saved values and error messages), nested writes in one transaction,
//! commands, the recursion guard, bad script bindings refused before
//! promotion, and a changed script taking effect on the live server.

use anyhow::{Context, Result};
use relata::engine::{ApplyError, Locale};
use relata_tests::{on_both_backends, rules_fixture, Reply, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// An app with the rules fixture, read from a package directory (YAML at the
/// top, scripts in `scripts/`) as `relata apply DIR` reads it.
async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    let tmp = tempfile::tempdir()?;
    rules_fixture::write(tmp.path())?;
    TestApp::spawn(backend, Some(tmp.path())).await
}

fn id(r: &Value) -> String {
    r["id"].as_str().unwrap_or_default().to_owned()
}

async fn count(app: &TestApp, entity: &str) -> Result<u64> {
    let r = app.get(&format!("/api/v1/records/{entity}?total=true")).await?;
    r.body["total"].as_u64().context("no total")
}

fn error_of(r: &Reply) -> (String, String) {
    (
        r.body["error"]["code"].as_str().unwrap_or_default().to_owned(),
        r.body["error"]["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn handlers(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    // on_new fills the code, on_change(stage) the probability, the stored
    // computed field follows, before_save trims the title.
    let deal = app
        .create(
            "deal",
            json!({"title": "  Acme renewal ", "stage": "proposal", "amount": 1234.5}),
        )
        .await?;
    assert_eq!(deal["title"], "Acme renewal", "before_save: {deal}");
    assert!(
        deal["code"].as_str().is_some_and(|c| c.starts_with("D-20")),
        "on_new: {deal}"
    );
    assert_eq!(deal["probability"], 50.0, "on_change: {deal}");
    assert_eq!(deal["expected_revenue"], 617.25, "computed, exact: {deal}");
    let deal_id = id(&deal);
    let got = app.get(&format!("/api/v1/records/deal/{deal_id}")).await?;
    assert_eq!(got.body["expected_revenue"], 617.25, "stored: {}", got.body);
    assert_eq!(
        got.body["double_amount"], 2469.0,
        "virtual, computed on read: {}",
        got.body
    );
    let listed = app.get("/api/v1/records/deal").await?;
    assert_eq!(listed.body["data"][0]["double_amount"], 2469.0, "virtual in lists too");
    assert_eq!(deal["double_amount"], 2469.0, "and in what a write returns: {deal}");
    // Asked for by name, a virtual field is worked out over the whole
    // record but only the fields asked for come back.
    let only = app
        .get(&format!("/api/v1/records/deal/{deal_id}?fields=double_amount"))
        .await?;
    assert_eq!(only.status, StatusCode::OK, "{}", only.body);
    let mut keys: Vec<&str> = only
        .body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["double_amount", "id", "row_version"], "{}", only.body);
    assert_eq!(only.body["double_amount"], 2469.0);
    let page = app.get("/api/v1/records/deal?fields=title,double_amount").await?;
    assert_eq!(page.body["data"][0]["double_amount"], 2469.0, "{}", page.body);
    assert!(page.body["data"][0].get("amount").is_none(), "{}", page.body);
    let without = app.get(&format!("/api/v1/records/deal/{deal_id}?fields=title")).await?;
    assert!(
        without.body.get("double_amount").is_none(),
        "not asked for: {}",
        without.body
    );
    // It has no column: sorting or filtering on it is a clear 400.
    for (query, at) in [
        ("sort=-double_amount", "sort"),
        ("double_amount=gt.1", "filter `double_amount`"),
    ] {
        let r = app.get(&format!("/api/v1/records/deal?{query}")).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(
            r.body["error"]["message"],
            format!(
                "{at}: `double_amount` is a virtual computed field (worked out when a record is read, not stored) and cannot be {}",
                if at == "sort" { "sorted on" } else { "filtered on" }
            ),
            "{query}"
        );
    }

    // An update re-runs the change handler and the computed field.
    let moved = app
        .patch(&format!("/api/v1/records/deal/{deal_id}"), 1, &json!({"stage": "won"}))
        .await?;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["probability"], 100.0);
    assert_eq!(moved.body["expected_revenue"], 1234.5);
    // A change that leaves stage alone keeps a probability set by hand.
    let by_hand = app
        .patch(
            &format!("/api/v1/records/deal/{deal_id}"),
            2,
            &json!({"probability": 90, "amount": 100}),
        )
        .await?;
    assert_eq!(by_hand.body["probability"], 90.0, "{}", by_hand.body);
    assert_eq!(by_hand.body["expected_revenue"], 90.0);

    // validate: error(field, message) is a field error, in the user's language.
    let bad = app
        .post("/api/v1/records/deal", &json!({"title": "Refund", "amount": -5}))
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(
        bad.body["error"]["details"],
        json!([{"field": "amount", "code": "rule", "message": "must not be negative"}])
    );
    app.engine.auth().set_locale(app.admin_id, Some(Locale::ZhCn)).await?;
    let bad = app
        .post("/api/v1/records/deal", &json!({"title": "Refund", "amount": -5}))
        .await?;
    assert_eq!(bad.body["error"]["details"][0]["message"], "不能为负数", "{}", bad.body);
    app.engine.auth().set_locale(app.admin_id, None).await?;

    // A computed field cannot be sent.
    let sent = app
        .post("/api/v1/records/deal", &json!({"title": "X", "expected_revenue": 5}))
        .await?;
    assert_eq!(sent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sent.body["error"]["details"][0]["code"], "read_only", "{}", sent.body);

    // before_delete refuses with a field error; a deal not won may go.
    let refused = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/records/deal/{deal_id}"),
            None,
            &[("if-match", "\"3\"")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(
        refused.body["error"]["details"][0]["message"],
        "a won deal cannot be deleted"
    );
    let other = app.create("deal", json!({"title": "Small"})).await?;
    let gone = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/records/deal/{}", id(&other)),
            None,
            &[],
        )
        .await?;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert_eq!(count(&app, "deal").await?, 1);
    Ok(())
}

async fn nested_writes(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    // after_save creates a task in the same transaction, through the task's
    // own rules.
    let deal = app.create("deal", json!({"title": "task: call Li"})).await?;
    let tasks = app.get("/api/v1/records/task").await?;
    assert_eq!(
        tasks.body["data"][0]["title"], "Follow up task: call Li",
        "{}",
        tasks.body
    );
    assert_eq!(tasks.body["data"][0]["deal"], deal["id"]);

    // A nested write that fails rolls the whole save back.
    let bad = app.post("/api/v1/records/deal", &json!({"title": "bad-task"})).await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let (code, message) = error_of(&bad);
    assert_eq!(code, "rule_failed");
    assert!(
        message.contains("deal after_save (follow_up)") && message.contains("task is not valid"),
        "{message}"
    );
    assert_eq!(count(&app, "deal").await?, 1, "the deal was rolled back");
    assert_eq!(count(&app, "task").await?, 1, "and so was the task");

    // Restoring from the recycle bin runs after_save again (a second
    // follow-up task), in one transaction with the restore.
    let bin = |d: &Value| format!("/api/v1/records/deal/{}", id(d));
    let version = deal["row_version"].to_string();
    let gone = app
        .call(Method::DELETE, &bin(&deal), None, &[("if-match", &version)])
        .await?;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    let back = app.post(&format!("{}/restore", bin(&deal)), &json!({})).await?;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(count(&app, "task").await?, 2, "after_save ran on the restore");
    // An after_save refusing the restore leaves the record in the bin.
    let stays = app.create("deal", json!({"title": "task: stay out"})).await?;
    let version = stays["row_version"].to_string();
    let gone = app
        .call(Method::DELETE, &bin(&stays), None, &[("if-match", &version)])
        .await?;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    let refused = app.post(&format!("{}/restore", bin(&stays)), &json!({})).await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(
        refused.body["error"]["details"][0]["message"], "this deal stays in the recycle bin",
        "{}",
        refused.body
    );
    let still = app.get(&bin(&stays)).await?;
    assert_eq!(still.status, StatusCode::NOT_FOUND, "still in the bin: {}", still.body);
    assert_eq!(
        count(&app, "task").await?,
        3,
        "the refused restore's task was rolled back"
    );

    // A stage change sets the probability (a rule before the write); the
    // after_save rule sees the probability among the changes.
    let probe = app.create("deal", json!({"title": "probe"})).await?;
    let moved = app
        .patch(
            &bin(&probe),
            probe["row_version"].as_i64().unwrap_or(1),
            &json!({"stage": "won"}),
        )
        .await?;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let tasks = app.get("/api/v1/records/task?title=starts_with.Probability").await?;
    assert_eq!(
        tasks.body["data"][0]["title"], "Probability now 100.0",
        "{}",
        tasks.body
    );

    // A rule saving its own record over and over meets the depth guard.
    let looped = app.post("/api/v1/records/counter", &json!({"name": "c"})).await?;
    assert_eq!(looped.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", looped.body);
    assert!(
        error_of(&looped).1.contains("more than 8 levels deep"),
        "{}",
        looped.body
    );
    assert_eq!(count(&app, "counter").await?, 0);
    Ok(())
}

async fn commands(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let deal = app.create("deal", json!({"title": "Big", "amount": 1000})).await?;
    let base = format!("/api/v1/records/deal/{}/commands", id(&deal));
    let won = app.post(&format!("{base}/win"), &json!({})).await?;
    assert_eq!(won.status, StatusCode::OK, "{}", won.body);
    assert_eq!(won.body, json!({"message": "The deal is won"}));
    let after = app.get(&format!("/api/v1/records/deal/{}", id(&deal))).await?;
    assert_eq!(after.body["stage"], "won");
    assert_eq!(after.body["probability"], 100.0, "the update ran the deal's rules");
    assert_eq!(after.body["expected_revenue"], 1000.0);

    let made = app
        .post(
            &format!("{base}/add_task"),
            &json!({"subject": "Send contract", "due": "2026-12-01"}),
        )
        .await?;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.body["open"]["entity"], "task");
    assert_eq!(made.body["message"], "Task added", "a message by language: English");
    let task = app
        .get(&format!(
            "/api/v1/records/task/{}",
            made.body["open"]["id"].as_str().unwrap_or_default()
        ))
        .await?;
    assert_eq!(task.body["title"], "Send contract");
    assert_eq!(task.body["due"], "2026-12-01");
    // The message in the user's language.
    app.engine.auth().set_locale(app.admin_id, Some(Locale::ZhCn)).await?;
    let made = app
        .post(&format!("{base}/add_task"), &json!({"subject": "寄送合同"}))
        .await?;
    app.engine.auth().set_locale(app.admin_id, None).await?;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.body["message"], "已添加任务");

    let missing = app
        .post(&format!("{base}/add_task"), &json!({"due": "soon", "colour": 1}))
        .await?;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = missing.body["error"]["details"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["colour", "subject", "due"], "{}", missing.body);
    let unknown = app.post(&format!("{base}/lose"), &json!({})).await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&unknown).0, "unknown_command");
    let doc = app.get("/api/v1/openapi.json").await?;
    assert!(
        doc.body["paths"]["/api/v1/records/deal/{id}/commands/add_task"]["post"].is_object(),
        "commands are in the OpenAPI document"
    );
    Ok(())
}

fn with_script(files: &[(String, String)], path: &str, text: &str) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, t)| (p.clone(), if p == path { text.to_owned() } else { t.clone() }))
        .collect()
}

async fn refused(app: &TestApp, files: &[(String, String)]) -> Result<Vec<String>> {
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let before = app.engine.model().release;
    match app.apply(&files).await {
        Err(ApplyError::Metadata(errs)) => {
            assert_eq!(app.engine.model().release, before, "nothing changed");
            Ok(errs.0.iter().map(ToString::to_string).collect())
        }
        other => anyhow::bail!("expected a refusal, got {other:?}"),
    }
}

async fn bad_bindings(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let good = rules_fixture::files();
    let syntax = with_script(&good, "scripts/task.rhai", "fn check() {\n    let x = ;\n}\n");
    assert_eq!(
        refused(&app, &syntax).await?,
        [
            "scripts/task.rhai: line 2, column 13: syntax error: Expecting a value for this expression, not ';'"
                .replace("Expecting a value for this expression, not ';'", &syntax_message()?)
        ]
    );
    let no_file: Vec<(String, String)> = good.iter().filter(|(p, _)| p != "scripts/task.rhai").cloned().collect();
    assert_eq!(
        refused(&app, &no_file).await?,
        ["task.yaml: rules.script: no script `task.rhai` in the package; expected a file scripts/task.rhai"]
    );
    let wrong = with_script(&good, "scripts/task.rhai", "fn check(x) { }\n");
    assert_eq!(
        refused(&app, &wrong).await?,
        ["task.yaml: rules.validate: `check` in scripts/task.rhai takes 1 parameter(s); a handler takes none (`this` is the record)"]
    );
    let missing = with_script(&good, "scripts/task.rhai", "fn other() { }\n");
    assert_eq!(
        refused(&app, &missing).await?,
        ["task.yaml: rules.validate: no function `check` in scripts/task.rhai"]
    );
    // An included script must be in the package; the handler may live in it.
    let include = |files: &[(String, String)], lib: &str| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(p, t)| {
                let t = if p == "task.yaml" {
                    t.replace(
                        "  script: task.rhai\n",
                        &format!("  script: task.rhai\n  include: [{lib}]\n"),
                    )
                } else {
                    t.clone()
                };
                (p.clone(), t)
            })
            .collect()
    };
    assert_eq!(
        refused(&app, &include(&good, "lib/nope.rhai")).await?,
        ["task.yaml: rules.include[0]: no script `lib/nope.rhai` in the package; expected a file scripts/lib/nope.rhai"]
    );
    let mut shared = include(&missing, "lib/checks.rhai");
    shared.push(("scripts/lib/checks.rhai".into(), "fn check() { }\n".into()));
    let mut broken = shared.clone();
    broken.push(("scripts/lib/other.rhai".into(), "fn x( {".into()));
    let errs = refused(&app, &broken).await?;
    assert!(
        errs.len() == 1 && errs[0].starts_with("scripts/lib/other.rhai: line 1"),
        "only the broken file is reported, the included handler is found: {errs:?}"
    );
    // Pick-list data holds texts, numbers and booleans.
    let data = good
        .iter()
        .map(|(p, t)| {
            let t = t.replace(
                "{ code: won, label: { en: Won, zh-CN: 赢单 } }",
                "{ code: won, label: { en: Won, zh-CN: 赢单 }, data: { probability: 100, weights: [1, 2] } }",
            );
            (p.clone(), t)
        })
        .collect::<Vec<_>>();
    assert_eq!(
        refused(&app, &data).await?,
        ["deal_stage.yaml: values[2].data.weights: a data value is a text, a number or a boolean"]
    );
    let expr = good
        .iter()
        .map(|(p, t)| (p.clone(), t.replace("this.amount * 2", "this.amount *")))
        .collect::<Vec<_>>();
    let errs = refused(&app, &expr).await?;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("deal.yaml: fields[5].computed.expression: line 1, column 1: Unexpected"),
        "{errs:?}"
    );
    // The good package goes through, scripts stored as items of the release.
    let files: Vec<(&str, &str)> = good.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let outcome = app.apply(&files).await?;
    let release = outcome.release.context("applied")?;
    let items = app.engine.bm().items(release).await?;
    let script = items
        .iter()
        .find(|i| i.kind == "script" && i.name == "deal.rhai")
        .context("stored")?;
    assert_eq!(script.path, "scripts/deal.rhai");
    assert_eq!(script.source, rules_fixture::DEAL_RHAI);
    Ok(())
}

/// Rhai's own words for `let x = ;` (kept out of the assertion's literal).
fn syntax_message() -> Result<String> {
    let e = rhai::Engine::new().compile("let x = ;").err().context("must fail")?;
    Ok(e.err_type().to_string())
}

async fn live_script_change(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let v1 = rules_fixture::files();
    let files: Vec<(&str, &str)> = v1.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    app.apply(&files).await?;
    let before = app.create("task", json!({"title": "x".repeat(55)})).await?;
    assert_eq!(before["title"].as_str().map(str::len), Some(55));
    let v2 = with_script(
        &v1,
        "scripts/task.rhai",
        "fn check() {\n    if this.title.len() > 50 { error(\"title\", \"at most 50 characters\"); }\n}\n",
    );
    let files: Vec<(&str, &str)> = v2.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let outcome = app.apply(&files).await?;
    assert!(outcome.release.is_some(), "a changed script is a new release");
    assert!(outcome.plan.steps.is_empty(), "and changes no table");
    let after = app
        .post("/api/v1/records/task", &json!({"title": "x".repeat(55)}))
        .await?;
    assert_eq!(after.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", after.body);
    assert_eq!(after.body["error"]["details"][0]["message"], "at most 50 characters");
    Ok(())
}

async fn ui_commands_and_rule_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let deal = app.create("deal", json!({"title": "Shown", "amount": 10})).await?;
    let page_url = format!("/app/r/deal/{}", id(&deal));
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    let page = browser.client.get(browser.url(&page_url)).send().await?.text().await?;
    assert!(
        page.contains("data-test=\"command-win\"") && page.contains("commands&#x2f;win"),
        "a button per command"
    );
    assert!(
        page.contains("Mark won") && page.contains("name=\"subject\""),
        "with its parameters"
    );
    // A virtual computed field is shown on the form, read-only.
    assert!(page.contains("Double amount"), "the virtual field's label");
    let edit = browser
        .client
        .get(browser.url(&format!("{page_url}/edit")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        edit.contains("Double amount") && !edit.contains("name=\"double_amount\""),
        "shown, not typed, on the edit form"
    );
    let list = browser
        .client
        .get(browser.url("/app/l/deal"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        list.contains("Double amount") && !list.contains("data-test=\"sort-double_amount\""),
        "a list column, without a sort link"
    );
    let csrf = relata_tests::app::hidden_field(&page, "_csrf").context("csrf")?;
    let done = browser
        .client
        .post(browser.url(&format!("{page_url}/commands/win")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await?;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let to = done
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(to.starts_with(&page_url) && to.contains("message="), "{to}");
    let shown = browser.client.get(browser.url(&to)).send().await?.text().await?;
    assert!(shown.contains("The deal is won"), "the message is shown");
    // A failing rule is shown on the form, not as a server error.
    let refused = browser
        .client
        .post(browser.url("/app/r/deal"))
        .form(&[("_csrf", csrf.as_str()), ("title", "boom")])
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await?;
    assert!(
        html.contains("boom is not a deal") && html.contains("form-errors"),
        "inline"
    );
    Ok(())
}

on_both_backends!(
    handlers,
    nested_writes,
    commands,
    bad_bindings,
    live_script_change,
    ui_commands_and_rule_errors
);
