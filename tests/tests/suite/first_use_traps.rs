//! Traps a business analyst met building a first module (issue 17, items
//! 14 and 15), on both backends: pick-list codes that are SQL reserved
//! words are plain data; a module's icon shows in the sidebar; the script
//! examples of docs/rules.md (helpers and `this`, comparing date-times,
//! `error()` in a command) work as the page says.

use anyhow::{ensure, Context, Result};
use relata::engine::ApplyError;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SCOPE: &str = "version: 1
kind: picklist
name: survey_scope
label: { en: Survey scope, zh-CN: 勘察范围 }
values:
  - { code: full, label: { en: Full, zh-CN: 全面 } }
  - { code: order, label: { en: Order, zh-CN: 订单 } }
  - { code: group, label: { en: Group, zh-CN: 集团 } }
";

const SURVEY: &str = "version: 1
kind: entity
name: survey
label: { en: Survey, zh-CN: 勘察 }
plural_label: { en: Surveys, zh-CN: 勘察 }
display_field: title
fields:
  - { name: title, type: text, required: true, label: { en: Title, zh-CN: 标题 } }
  - { name: scope, type: picklist, picklist: survey_scope, default: order, label: { en: Scope, zh-CN: 范围 } }
  - { name: also, type: multi_picklist, picklist: survey_scope, label: { en: Also, zh-CN: 另外 } }
";

fn titles(page: &Value) -> Vec<String> {
    let mut out: Vec<String> = page["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["title"].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// Codes are data: `full`, `order`, `group` are accepted in the metadata,
/// stored, defaulted, filtered on, and an administrator may add `select`.
async fn reserved_words_are_plain_codes(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    app.apply(&[("survey_scope.yaml", SCOPE), ("survey.yaml", SURVEY)])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let a = app.create("survey", json!({"title": "A"})).await?;
    ensure!(a["scope"] == "order", "the default code: {a}");
    app.create(
        "survey",
        json!({"title": "B", "scope": "full", "also": ["group", "order"]}),
    )
    .await?;
    app.create("survey", json!({"title": "C", "scope": "group"})).await?;
    let eq = app.get("/api/v1/records/survey?scope=eq.order").await?;
    ensure!(titles(&eq.body) == ["A"], "{}", eq.body);
    let inn = app
        .get("/api/v1/records/survey?scope=in.(full,group)&sort=scope")
        .await?;
    ensure!(titles(&inn.body) == ["B", "C"], "{}", inn.body);
    let r = app
        .post(
            "/api/v1/picklists/survey_scope/values",
            &json!({"code": "select", "label": {"en": "Select", "zh-CN": "精选"}}),
        )
        .await?;
    ensure!(r.status == StatusCode::CREATED, "{}", r.body);
    let d = app.create("survey", json!({"title": "D", "scope": "select"})).await?;
    ensure!(d["scope"] == "select", "{d}");
    // Still not any text: the pattern holds.
    let bad = app
        .post(
            "/api/v1/picklists/survey_scope/values",
            &json!({"code": "Not A Code", "label": {"en": "X", "zh-CN": "某"}}),
        )
        .await?;
    ensure!(bad.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    Ok(())
}

/// Every module of the stock application shows its icon beside its title.
async fn module_icons_show_in_the_sidebar(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let r = app.client.get(app.url("/app")).send().await?;
    ensure!(r.status() == StatusCode::OK, "{}", r.status());
    let page = r.text().await?;
    for (module, icon) in [
        ("Marketing", "megaphone"),
        ("Sales", "briefcase"),
        ("Service", "wrench"),
        ("Customer support", "lifebuoy"),
        ("Setup", "settings"),
    ] {
        let at = page
            .find(&format!(r#"data-icon="{icon}""#))
            .with_context(|| format!("no {icon} icon in the sidebar:\n{page}"))?;
        let svg_end = page[at..].find("</svg>").context("an svg")? + at + "</svg>".len();
        ensure!(
            page[at..svg_end].contains("<path d=\"M"),
            "the {icon} icon draws something"
        );
        ensure!(
            page[svg_end..].trim_start().starts_with(module),
            "the {icon} icon comes before the {module} title: {}",
            &page[at..(svg_end + 40).min(page.len())]
        );
    }
    Ok(())
}

const VISIT: &str = "version: 1
kind: entity
name: visit
label: { en: Visit, zh-CN: 拜访 }
plural_label: { en: Visits, zh-CN: 拜访 }
display_field: title
fields:
  - { name: title, type: text, required: true, label: { en: Title, zh-CN: 标题 } }
  - { name: status, type: text, label: { en: Status, zh-CN: 状态 } }
  - { name: starts_at, type: datetime, label: { en: Starts, zh-CN: 开始 } }
  - { name: ends_at, type: datetime, label: { en: Ends, zh-CN: 结束 } }
rules:
  script: visit.rhai
  on_new: defaults
  validate: check_times
commands:
  - name: close
    label: { en: Close, zh-CN: 关闭 }
    function: close
";

/// The text of docs/rules.md.
fn rules_page() -> Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    Ok(std::fs::read_to_string(path)?)
}

/// The ```rhai block of docs/rules.md that defines `fn {name}(`.
fn doc_example(page: &str, name: &str) -> Result<String> {
    page.split("```rhai\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(&format!("fn {name}(")))
        .map(str::to_owned)
        .with_context(|| format!("no example of fn {name} in docs/rules.md"))
}

/// The visit package, its script made of the page's examples.
fn visit_script(page: &str) -> Result<String> {
    Ok([
        doc_example(page, "fill_status")?,
        doc_example(page, "check_times")?,
        doc_example(page, "close")?,
    ]
    .join("\n"))
}

async fn the_rules_page_examples_work(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let page = rules_page()?;
    let script = visit_script(&page)?;

    // A helper called without `this`: refused at the call, as the page says.
    let plain = script.replacen("this.fill_status();", "fill_status();", 1);
    ensure!(plain != script, "the example calls this.fill_status()");
    match app
        .apply(&[("visit.yaml", VISIT), ("scripts/visit.rhai", &plain)])
        .await
    {
        Err(ApplyError::Metadata(errors)) => {
            let text = errors.0.first().map(ToString::to_string).unwrap_or_default();
            ensure!(
                errors.0.len() == 1 && page.contains(&format!("\n{text}\n")),
                "{errors:?}"
            );
        }
        other => anyhow::bail!("expected the call without `this` to be refused, got {other:?}"),
    }

    app.apply(&[("visit.yaml", VISIT), ("scripts/visit.rhai", &script)])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The helper, called as `this.fill_status()`, changed the record.
    let a = app.create("visit", json!({"title": "A"})).await?;
    ensure!(a["status"] == "planned", "{a}");
    // Instants with other offsets compare as instants: 09:00+08:00 is 01:00Z.
    let b = app
        .create(
            "visit",
            json!({"title": "B", "starts_at": "2026-11-20T09:00:00+08:00", "ends_at": "2026-11-20T02:00:00Z"}),
        )
        .await?;
    ensure!(b["ends_at"] == "2026-11-20T02:00:00.000000Z", "{b}");
    let r = app
        .post(
            "/api/v1/records/visit",
            &json!({"title": "C", "starts_at": "2026-11-20T09:00:00+08:00", "ends_at": "2026-11-20T00:59:00Z"}),
        )
        .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    ensure!(r.body["error"]["details"][0]["field"] == "ends_at", "{}", r.body);

    // `error()` refuses a command: 422, the message, nothing kept.
    let id = a["id"].as_str().context("an id")?;
    let url = format!("/api/v1/records/visit/{id}/commands/close");
    let first = app.post(&url, &json!({})).await?;
    ensure!(first.status == StatusCode::OK, "{}", first.body);
    let again = app.post(&url, &json!({})).await?;
    ensure!(
        again.status == StatusCode::UNPROCESSABLE_ENTITY
            && again.body["error"]["code"] == "validation_failed"
            && again.body["error"]["details"][0]["code"] == "rule",
        "{}",
        again.body
    );
    ensure!(
        again.body["error"]["details"][0]["message"] == "This visit is closed already.",
        "{}",
        again.body
    );
    let now = app.get(&format!("/api/v1/records/visit/{id}")).await?;
    ensure!(now.body["status"] == "done", "{}", now.body);
    Ok(())
}

/// The entity page's example of a display field for an entity with no
/// natural text: a stored computed text field names each record.
async fn a_computed_display_field_names_records(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let page =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metadata/entity.md"))?;
    let yaml = page
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("name: meter_reading"))
        .context("the meter_reading example of entity.md")?;
    app.apply(&[("meter_reading.yaml", yaml)])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let r = app
        .create("meter_reading", json!({"read_on": "2026-11-20", "reading": 1520.5}))
        .await?;
    ensure!(r["caption"] == "2026-11-20: 1520.5", "{r}");
    ensure!(
        page.contains("is called *2026-11-20: 1520.5*"),
        "the page says what the test sees"
    );
    let found = app
        .get("/api/v1/records/meter_reading?caption=eq.2026-11-20:%201520.5")
        .await?;
    ensure!(found.body["data"].as_array().map(Vec::len) == Some(1), "{}", found.body);
    Ok(())
}

on_both_backends!(
    a_computed_display_field_names_records,
    reserved_words_are_plain_codes,
    module_icons_show_in_the_sidebar,
    the_rules_page_examples_work
);
