//! The admin API of releases (`/admin/api/v1`): list and show, plan,
//! promote with a base-release check and confirmed destructive steps,
//! rollback that hides an entity and keeps its data, promoting it again
//! that brings the data back, export/import between environments, the
//! audit trail, and who may do any of it. On both backends.

use anyhow::{Context, Result};
use relata::engine::auth::NewUser;
use relata::engine::Locale;
use relata::model::read_package;
use relata::store::Pool;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

const API: &str = "/admin/api/v1";

const TENDER: &str = "version: 1
kind: entity
name: tender
label: { en: Tender, zh-CN: 招标 }
plural_label: { en: Tender, zh-CN: 招标 }
display_field: serial_number
fields:
  - { name: serial_number, type: text, required: true, label: { en: Serial number, zh-CN: 序列号 } }
  - { name: company, type: reference, target: company, label: { en: Company, zh-CN: 公司 } }
  - { name: install_date, type: date, label: { en: Install date, zh-CN: 安装日期 } }
";

/// The stock package plus `extra` files, as the API takes them.
fn package(extra: &[(&str, &str)]) -> Result<Value> {
    let mut files: Vec<Value> = read_package(&stock_metadata(), None)?
        .into_iter()
        .map(|f| json!({"path": f.path, "text": f.text}))
        .collect();
    files.extend(extra.iter().map(|(p, t)| json!({"path": p, "text": t})));
    Ok(Value::Array(files))
}

fn with_tender() -> Result<Value> {
    package(&[("sales/tender.yaml", TENDER)])
}

/// The tender entity without its `install_date` field.
fn tender_without_install_date() -> String {
    TENDER
        .lines()
        .filter(|l| !l.contains("install_date"))
        .map(|l| format!("{l}\n"))
        .collect()
}

async fn release_numbers(app: &TestApp) -> Result<Vec<i64>> {
    let r = app.get(&format!("{API}/releases")).await?;
    anyhow::ensure!(r.status == StatusCode::OK, "GET /releases: {} {}", r.status, r.body);
    r.body["data"]
        .as_array()
        .context("data")?
        .iter()
        .map(|r| r["number"].as_i64().context("number"))
        .collect()
}

async fn count_rows(pool: &Pool, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await?,
        Pool::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await?,
    })
}

/// The ids of every destructive step named by a 409 `confirmation_required`.
fn unconfirmed_ids(r: &Reply) -> Result<Vec<String>> {
    anyhow::ensure!(
        r.status == StatusCode::CONFLICT,
        "expected 409: {} {}",
        r.status,
        r.body
    );
    assert_eq!(r.body["error"]["code"], "confirmation_required", "{}", r.body);
    r.body["error"]["details"]
        .as_array()
        .context("details")?
        .iter()
        .map(|s| Ok(s["id"].as_str().context("id")?.to_owned()))
        .collect()
}

fn has_step(body: &Value, op: &str, table: &str) -> bool {
    body["steps"].as_array().is_some_and(|s| {
        s.iter()
            .any(|s| s["action"]["op"] == op && s["action"]["table"] == table)
    })
}

async fn access_and_listing(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let anonymous = app.anonymous()?.get(app.url(&format!("{API}/releases"))).send().await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let user = app
        .engine
        .auth()
        .create_user(NewUser {
            username: "rep".into(),
            display_name: "Sales rep".into(),
            email: None,
            password: "a long enough password".into(),
            locale: Locale::En,
            is_admin: false,
        })
        .await?;
    let token = app.engine.auth().create_token(user.id, "rep").await?.token;
    for path in ["/releases", "/audit", "/releases/1/export"] {
        let r = app
            .with_token(&token)?
            .get(app.url(&format!("{API}{path}")))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = r.json().await?;
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let r = app
        .with_token(&token)?
        .post(app.url(&format!("{API}/promote")))
        .json(&json!({"files": [], "base_release": 1}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let list = app.get(&format!("{API}/releases")).await?;
    assert_eq!(list.status, StatusCode::OK);
    let releases = list.body["data"].as_array().context("data")?;
    assert_eq!(releases.len(), 1);
    let one = &releases[0];
    assert_eq!(one["number"], 1);
    assert_eq!(one["author"], "test");
    assert_eq!(one["comment"], "test package");
    assert_eq!(one["status"], "applied");
    assert_eq!(one["active"], true);
    assert_eq!(one["parent"], Value::Null);
    assert_eq!(one["checksum"].as_str().map(str::len), Some(64));
    assert!(one["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{one}");

    let show = app.get(&format!("{API}/releases/1")).await?;
    assert_eq!(show.status, StatusCode::OK);
    assert_eq!(show.body["number"], 1);
    assert_eq!(show.body["active"], true);
    let items = show.body["items"].as_array().context("items")?;
    let company = items
        .iter()
        .find(|i| i["kind"] == "entity" && i["name"] == "company")
        .context("entity company")?;
    assert!(company["path"].as_str().is_some_and(|p| p.ends_with("company.yaml")));
    assert_eq!(company["body"]["name"], "company");
    assert!(company["source"].as_str().is_some_and(|s| s.contains("kind: entity")));
    assert!(items.iter().any(|i| i["kind"] == "script"), "scripts are items too");

    // An administrator's session works too; its writes need the CSRF token.
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let r = browser
        .client
        .get(browser.url(&format!("{API}/releases")))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let plan = json!({"files": package(&[])?});
    let r = browser
        .client
        .post(browser.url(&format!("{API}/plan")))
        .json(&plan)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let r = browser
        .client
        .post(browser.url(&format!("{API}/plan")))
        .header("x-csrf-token", &browser.csrf)
        .json(&plan)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await?;
    assert_eq!(body["unchanged"], true, "the stock package is the live release");
    assert_eq!(body["steps"], json!([]));

    let missing = app.get(&format!("{API}/releases/99")).await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["code"], "not_found");
    let missing = app.get(&format!("{API}/releases/99/export")).await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    Ok(())
}

async fn plan_promote_rollback_and_back(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    // Plan: the diff says added, the plan creates the table, nothing changes.
    let plan = app
        .post(
            &format!("{API}/plan"),
            &json!({"files": with_tender()?, "base_release": 1}),
        )
        .await?;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert_eq!(plan.body["live_release"], 1);
    assert_eq!(plan.body["stale"], false);
    assert_eq!(
        plan.body["diff"]["added"],
        json!([{"kind": "entity", "name": "tender"}])
    );
    assert_eq!(plan.body["diff"]["removed"], json!([]));
    assert_eq!(plan.body["diff"]["changed"], json!([]));
    assert!(has_step(&plan.body, "create_table", "tender"), "{}", plan.body);
    assert!(plan.body["steps"]
        .as_array()
        .context("steps")?
        .iter()
        .all(|s| s["destructive"] == false));
    assert_eq!(release_numbers(&app).await?, [1]);
    assert_eq!(app.get("/api/v1/records/tender").await?.status, StatusCode::NOT_FOUND);

    // A stale base is refused with the live release; nothing changes.
    let stale = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": 0, "comment": "stale"}),
        )
        .await?;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(stale.body["error"]["code"], "stale_base");
    assert_eq!(stale.body["error"]["details"]["live_release"], 1);
    assert_eq!(stale.body["error"]["details"]["base_release"], 0);
    let no_base = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": null}),
        )
        .await?;
    assert_eq!(
        no_base.status,
        StatusCode::CONFLICT,
        "no base means no live release: {}",
        no_base.body
    );
    assert_eq!(release_numbers(&app).await?, [1]);

    // Promote: served at once.
    let two = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": 1, "comment": "installed base"}),
        )
        .await?;
    assert_eq!(two.status, StatusCode::OK, "{}", two.body);
    assert_eq!(two.body["release"], 2);
    assert_eq!(two.body["diff"]["added"][0]["name"], "tender");
    assert!(has_step(&two.body, "create_table", "tender"));
    let company = app.create("company", json!({"name": "Installed Co"})).await?;
    let unit = app
        .create(
            "tender",
            json!({"serial_number": "SN-1", "company": company["id"], "install_date": "2026-01-15"}),
        )
        .await?;
    let unit_id = unit["id"].as_str().context("id")?.to_owned();
    let info = app.get(&format!("{API}/releases/2")).await?;
    assert_eq!(info.body["author"], "admin");
    assert_eq!(info.body["parent"], 1);

    // A destructive step (archiving a removed field) needs confirmation.
    let v2 = tender_without_install_date();
    let files = package(&[("sales/tender.yaml", &v2)])?;
    let refused = app
        .post(&format!("{API}/promote"), &json!({"files": files, "base_release": 2}))
        .await?;
    let ids = unconfirmed_ids(&refused)?;
    assert_eq!(ids.len(), 1, "{}", refused.body);
    let description = refused.body["error"]["details"][0]["description"]
        .as_str()
        .context("description")?
        .to_owned();
    assert!(
        description.contains("archive column tender.install_date"),
        "{description}"
    );
    assert_eq!(
        release_numbers(&app).await?,
        [2, 1],
        "a refused promotion records nothing"
    );
    let planned = app
        .post(&format!("{API}/plan"), &json!({"files": files, "base_release": 2}))
        .await?;
    let step = planned.body["steps"]
        .as_array()
        .context("steps")?
        .iter()
        .find(|s| s["destructive"] == true)
        .context("a destructive step")?
        .clone();
    assert_eq!(
        step["id"],
        ids[0].as_str(),
        "the plan and the refusal name the same step"
    );
    assert_eq!(step["affected_rows"], 1, "one stored install date is at stake");
    assert_eq!(planned.body["diff"]["changed"][0]["name"], "tender");
    let three = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": files, "base_release": 2, "comment": "no install date", "confirm": [description]}),
        )
        .await?;
    assert_eq!(three.status, StatusCode::OK, "{}", three.body);
    assert_eq!(three.body["release"], 3);
    let read = app.get(&format!("/api/v1/records/tender/{unit_id}")).await?;
    assert!(read.body.get("install_date").is_none(), "{}", read.body);

    // Promoting the field again brings its values back.
    let four = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": 3}),
        )
        .await?;
    assert_eq!(four.status, StatusCode::OK, "{}", four.body);
    assert!(has_step(&four.body, "restore_column", "tender"), "{}", four.body);
    let read = app.get(&format!("/api/v1/records/tender/{unit_id}")).await?;
    assert_eq!(read.body["install_date"], "2026-01-15", "{}", read.body);

    // Rollback to release 1: confirmation first, then the entity is hidden
    // and its data kept.
    let refused = app.post(&format!("{API}/releases/1/rollback"), &json!({})).await?;
    let ids = unconfirmed_ids(&refused)?;
    assert_eq!(release_numbers(&app).await?, [4, 3, 2, 1]);
    assert_eq!(
        app.get(&format!("/api/v1/records/tender/{unit_id}")).await?.status,
        StatusCode::OK
    );
    let five = app
        .post(
            &format!("{API}/releases/1/rollback"),
            &json!({"comment": "back to stock", "confirm": ids}),
        )
        .await?;
    assert_eq!(five.status, StatusCode::OK, "{}", five.body);
    assert_eq!(five.body["release"], 5);
    assert_eq!(
        five.body["diff"]["removed"],
        json!([{"kind": "entity", "name": "tender"}])
    );
    let hidden = app.get(&format!("/api/v1/records/tender/{unit_id}")).await?;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(
        count_rows(&app.engine.databases().ed, "_r5_tender").await?,
        1,
        "data kept"
    );
    let list = app.get(&format!("{API}/releases")).await?;
    let newest = &list.body["data"][0];
    assert_eq!(
        (newest["number"].as_i64(), newest["active"].as_bool()),
        (Some(5), Some(true))
    );
    assert_eq!(newest["comment"], "back to stock");
    assert_eq!(newest["parent"], 4);
    assert_eq!(list.body["data"][1]["active"], false);

    // Promoting the entity again brings its records back.
    let six = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": 5}),
        )
        .await?;
    assert_eq!(six.status, StatusCode::OK, "{}", six.body);
    assert!(has_step(&six.body, "restore_table", "tender"), "{}", six.body);
    let back = app.get(&format!("/api/v1/records/tender/{unit_id}")).await?;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["serial_number"], "SN-1");
    assert_eq!(back.body["install_date"], "2026-01-15");
    let more = app.create("tender", json!({"serial_number": "SN-2"})).await?;
    assert_eq!(more["serial_number"], "SN-2", "the restored table takes new records");

    // The audit trail: newest first, who, what, from -> to.
    let audit = app.get(&format!("{API}/audit")).await?;
    assert_eq!(audit.status, StatusCode::OK);
    let entries = audit.body["data"].as_array().context("data")?;
    let actions: Vec<(&str, Option<i64>, i64)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["from_release"].as_i64(),
                e["to_release"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("promote", Some(5), 6),
            ("rollback", Some(4), 5),
            ("promote", Some(3), 4),
            ("promote", Some(2), 3),
            ("promote", Some(1), 2),
            ("apply", None, 1),
        ]
    );
    assert_eq!(entries[1]["actor"], "admin");
    assert_eq!(entries[1]["comment"], "back to stock");
    assert_eq!(entries[1]["summary"]["removed"], 1);
    assert_eq!(entries[1]["summary"]["items"]["removed"], json!(["entity/tender"]));
    assert_eq!(entries[4]["summary"]["items"]["added"], json!(["entity/tender"]));
    assert!(entries[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));

    // A narrowing the stored data does not fit: the plan names the rows,
    // the promotion is refused (recorded as a failed release, never
    // active), and nothing can roll back to it.
    let narrow = TENDER.replace(
        "label: { en: Serial number",
        "max_length: 2, label: { en: Serial number",
    );
    let files = package(&[("sales/tender.yaml", &narrow)])?;
    let planned = app
        .post(&format!("{API}/plan"), &json!({"files": files, "base_release": 6}))
        .await?;
    assert_eq!(planned.status, StatusCode::OK, "{}", planned.body);
    let alter = planned.body["steps"]
        .as_array()
        .context("steps")?
        .iter()
        .find(|s| s["action"]["op"] == "alter_column")
        .context("an alter step")?
        .clone();
    assert_eq!(
        (alter["destructive"].as_bool(), alter["affected_rows"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(planned.body["refusals"][0]["count"], 2);
    let refused = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": files, "base_release": 6, "confirm": [alter["id"]]}),
        )
        .await?;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "schema_change_refused");
    let list = app.get(&format!("{API}/releases")).await?;
    let newest = &list.body["data"][0];
    assert_eq!(
        (newest["number"].as_i64(), newest["status"].as_str()),
        (Some(7), Some("failed"))
    );
    assert_eq!(list.body["data"][1]["active"], true);
    let r = app.post(&format!("{API}/releases/7/rollback"), &json!({})).await?;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"]["code"], "not_applied");
    let r = app.get(&format!("/api/v1/records/tender/{unit_id}")).await?;
    assert_eq!(r.body["serial_number"], "SN-1", "the live release is untouched");
    Ok(())
}

async fn bad_package(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let broken_schema = TENDER.replace("type: date", "type: money");
    let broken_reference = TENDER
        .replace("name: tender", "name: spare_part")
        .replace("target: company", "target: compny");
    let files = package(&[
        ("sales/tender.yaml", &broken_schema),
        ("sales/spare_part.yaml", &broken_reference),
    ])?;
    for (path, body) in [
        ("/plan", json!({"files": files, "base_release": 1})),
        (
            "/promote",
            json!({"files": files, "base_release": 1, "comment": "broken"}),
        ),
    ] {
        let r = app.post(&format!("{API}{path}"), &body).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "invalid_metadata");
        let details = r.body["error"]["details"].as_array().context("details")?;
        let lines: Vec<String> = details
            .iter()
            .map(|d| format!("{}: {}: {}", d["file"], d["path"], d["message"]))
            .collect();
        assert_eq!(details.len(), 2, "{lines:#?}");
        assert_eq!(details[0]["file"], "sales/tender.yaml");
        assert_eq!(details[0]["path"], "fields[2].type");
        assert_eq!(details[1]["file"], "sales/spare_part.yaml");
        assert_eq!(details[1]["path"], "fields[1].target");
        assert_eq!(details[1]["message"], "unknown entity `compny`");
    }
    assert_eq!(release_numbers(&app).await?, [1], "nothing recorded");
    let bad_body = app.post(&format!("{API}/promote"), &json!({"files": "nope"})).await?;
    assert_eq!(bad_body.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_body.body["error"]["code"], "validation_failed");
    Ok(())
}

async fn export_and_import(backend: TestBackend) -> Result<()> {
    let Some(source) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let promoted = source
        .post(
            &format!("{API}/promote"),
            &json!({"files": with_tender()?, "base_release": 1, "comment": "tender"}),
        )
        .await?;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
    let export = source.get(&format!("{API}/releases/2/export")).await?;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.body["format"], "relata-release");
    assert_eq!(export.body["format_version"], 1);
    assert_eq!(export.body["release"], 2);
    assert_eq!(export.body["comment"], "tender");
    let checksum = export.body["checksum"].clone();
    let listed = source.get(&format!("{API}/releases/2")).await?;
    assert_eq!(checksum, listed.body["checksum"]);
    assert!(export.headers["content-disposition"]
        .to_str()?
        .contains("release-2.json"));

    let Some(target) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    // Tampered: a source changed, or the checksum.
    let mut tampered = export.body.clone();
    let items = tampered["items"].as_array_mut().context("items")?;
    let item = items.iter_mut().find(|i| i["name"] == "tender").context("tender")?;
    item["source"] = json!(TENDER.replace("Serial number", "Serial no."));
    let r = target.post(&format!("{API}/releases/import"), &tampered).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "checksum_mismatch");
    let mut tampered = export.body.clone();
    tampered["checksum"] = json!("0".repeat(64));
    let r = target.post(&format!("{API}/releases/import"), &tampered).await?;
    assert_eq!(r.body["error"]["code"], "checksum_mismatch");
    assert_eq!(release_numbers(&target).await?, Vec::<i64>::new());

    let plan = target
        .post(&format!("{API}/releases/import?plan=true"), &export.body)
        .await?;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert_eq!(plan.body["live_release"], 0);
    assert!(has_step(&plan.body, "create_table", "tender"));
    assert_eq!(
        release_numbers(&target).await?,
        Vec::<i64>::new(),
        "a plan records nothing"
    );

    let imported = target.post(&format!("{API}/releases/import"), &export.body).await?;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert_eq!(imported.body["release"], 1);
    let r = target.get(&format!("{API}/releases/1")).await?;
    assert_eq!(r.body["checksum"], checksum, "the same release, byte for byte");
    assert_eq!(r.body["author"], "admin");
    let created = target.create("tender", json!({"serial_number": "SN-9"})).await?;
    assert_eq!(created["serial_number"], "SN-9");
    let audit = target.get(&format!("{API}/audit")).await?;
    let entry = &audit.body["data"][0];
    assert_eq!(entry["action"], "import");
    assert_eq!(entry["actor"], "admin");
    assert_eq!(entry["to_release"], 1);
    assert_eq!(entry["from_release"], Value::Null);
    assert_eq!(entry["comment"], "import of release 2: tender");
    Ok(())
}

on_both_backends!(
    access_and_listing,
    plan_promote_rollback_and_back,
    bad_package,
    export_and_import
);
