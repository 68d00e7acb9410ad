//! Releases applied while the server is serving: no request fails, a new
//! field and entity work at once, a removed field's data stays in the database.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use relata::engine::ApplyRequest;
use relata::model::{read_package, SourceFile};
use relata::store::Pool;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

const TENDER: &str = "version: 1
kind: entity
name: tender
label: { en: Tender, zh-CN: 招标 }
plural_label: { en: Tenders, zh-CN: 招标 }
display_field: topic
fields:
  - { name: topic, type: text, required: true, label: { en: Topic, zh-CN: 主题 } }
  - { name: company, type: reference, target: company, label: { en: Company, zh-CN: 公司 } }
  - { name: budget, type: currency, label: { en: Budget, zh-CN: 预算 } }
";

fn stock_with(edit: impl Fn(&mut Vec<SourceFile>)) -> Result<Vec<SourceFile>> {
    let mut files = read_package(&stock_metadata(), None)?;
    edit(&mut files);
    Ok(files)
}

fn edit_contact(files: &mut [SourceFile], f: impl Fn(&str) -> String) {
    if let Some(c) = files.iter_mut().find(|f| f.path == "marketing/contact.yaml") {
        c.text = f(&c.text);
    }
}

/// Takes a field out of every form and list that shows it, as an analyst
/// removing the field would (the release is refused otherwise).
fn drop_from_views(files: &mut [SourceFile], field: &str) {
    for v in files
        .iter_mut()
        .filter(|f| f.path.ends_with("_form.yaml") || f.path.ends_with("_list.yaml"))
    {
        v.text = v
            .text
            .lines()
            .filter(|l| l.trim() != format!("- field: {field}"))
            .map(|l| l.replace(&format!(", {field}"), "").replace(&format!("{field}, "), ""))
            .collect::<Vec<_>>()
            .join("\n");
    }
    // The contact's demo generators name its fields too (contacts are
    // the only demo records of `demo/20_customers.yaml` with these fields).
    for d in files.iter_mut().filter(|f| f.path == "demo/20_customers.yaml") {
        d.text = d
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with(&format!("{field}:")))
            .collect::<Vec<_>>()
            .join("\n");
    }
}

/// Keeps requests going until told to stop; counts successes and failures.
fn load(
    app: &TestApp,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    let (client, base) = (app.client.clone(), app.base.clone());
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let created = client
                .post(format!("{base}/api/v1/records/contact"))
                .json(&json!({"full_name": format!("load {n}")}))
                .send()
                .await;
            let listed = client
                .get(format!("{base}/api/v1/records/contact?sort=-created_at&limit=20"))
                .send()
                .await;
            for r in [created, listed] {
                match r {
                    Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(r) => {
                        eprintln!(
                            "request failed during a release: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        );
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(e) => {
                        eprintln!("request failed during a release: {e}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }
    })
}

async fn archived_value(pool: &Pool, column: &str, id: &str) -> Result<Option<String>> {
    let sql = format!("SELECT \"{column}\" FROM contact WHERE CAST(id AS TEXT) = $1");
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query_scalar(&sql).bind(id).fetch_one(p).await?,
        Pool::Postgres(p) => sqlx::query_scalar(&sql).bind(id).fetch_one(p).await?,
    })
}

async fn releases_while_serving(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let kept = app
        .create(
            "contact",
            json!({"full_name": "Keeps a title", "job_title": "Purchasing manager"}),
        )
        .await?;
    let kept_id = kept["id"].as_str().context("id")?.to_owned();

    let (stop, ok, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let workers: Vec<_> = (0..4)
        .map(|_| load(&app, stop.clone(), ok.clone(), failed.clone()))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Release 2: a new field on contact and a new entity.
    let files = stock_with(|files| {
        edit_contact(files, with_nickname);
        files.push(SourceFile {
            path: "test/tender.yaml".into(),
            text: TENDER.into(),
        });
    })?;
    let two = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "nickname and tenders".into(),
            plan_only: false,
        })
        .await?;
    assert_eq!(two.release, Some(2));
    let nick = app
        .create("contact", json!({"full_name": "Xiao Ming", "nickname": "明明"}))
        .await?;
    assert_eq!(nick["nickname"], "明明", "the new field works at once");
    let company = app.create("company", json!({"name": "Tender Co"})).await?;
    let tender = app
        .create(
            "tender",
            json!({"topic": "500 seats", "company": company["id"], "budget": 125000.5}),
        )
        .await?;
    assert_eq!(tender["budget"], 125000.5);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Release 3: job_title removed from contact.
    let files = stock_with(|files| {
        edit_contact(files, |t| {
            let without = t.replace(
                "  - name: job_title\n    type: text\n    label: { en: Job title, zh-CN: 职务 }\n    max_length: 120\n",
                "",
            );
            with_nickname(&without)
        });
        drop_from_views(files, "job_title");
        files.push(SourceFile {
            path: "test/tender.yaml".into(),
            text: TENDER.into(),
        });
    })?;
    let three = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "no more job titles".into(),
            plan_only: false,
        })
        .await?;
    assert_eq!(three.release, Some(3));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed while releases were applied"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 20,
        "the load really ran: {}",
        ok.load(Ordering::Relaxed)
    );

    let read = app.get(&format!("/api/v1/records/contact/{kept_id}")).await?;
    assert!(
        read.body.get("job_title").is_none(),
        "the removed field is gone from the API: {}",
        read.body
    );
    let refused = app
        .post("/api/v1/records/contact", &json!({"full_name": "x", "job_title": "y"}))
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let archived = archived_value(&app.engine.databases().ed, "_r3_job_title", &kept_id).await?;
    assert_eq!(
        archived.as_deref(),
        Some("Purchasing manager"),
        "the removed field's data is kept"
    );
    let openapi = app.get("/api/v1/openapi.json").await?;
    assert_eq!(
        openapi.body["info"]["version"], "release 3",
        "the OpenAPI document follows the release"
    );
    assert!(openapi.body["components"]["schemas"]["Tender"].is_object());
    assert!(openapi.body["components"]["schemas"]["Contact"]["properties"]
        .get("job_title")
        .is_none());
    Ok(())
}

async fn restart_loads_the_active_release(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let files = stock_with(|files| {
        files.push(SourceFile {
            path: "test/tender.yaml".into(),
            text: TENDER.into(),
        })
    })?;
    app.engine
        .apply(ApplyRequest {
            files: files.clone(),
            author: "test".into(),
            comment: "tenders".into(),
            plan_only: false,
        })
        .await?;
    // The same package again is not a new release.
    let again = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "again".into(),
            plan_only: false,
        })
        .await?;
    assert!(again.unchanged && again.release.is_none());
    let location = app.location.clone();
    let mut config = relata::app::Config::new(std::path::PathBuf::new(), None);
    config.location = location;
    let reopened = relata::app::open(&config).await?;
    assert_eq!(reopened.model().release, 2);
    assert!(reopened.model().entity("tender").is_some());
    let releases = reopened.bm().list().await?;
    assert_eq!(
        releases
            .iter()
            .map(|r| (r.number, r.status.as_str()))
            .collect::<Vec<_>>(),
        [(2, "applied"), (1, "applied")]
    );
    assert_eq!(releases[0].comment, "tenders");
    assert_eq!(releases[0].checksum.len(), 64);
    reopened.databases().close().await;
    Ok(())
}

fn edit_company(files: &mut [SourceFile], from: &str, to: &str) {
    if let Some(c) = files.iter_mut().find(|f| f.path == "marketing/company.yaml") {
        assert!(
            c.text.contains(from),
            "the stock company.yaml changed: update this test"
        );
        c.text = c.text.replace(from, to);
    }
}

async fn type_changes(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let acme = app
        .create("company", json!({"name": "Acme Industrial", "employees": 1200}))
        .await?;
    let path = format!("/api/v1/records/company/{}", acme["id"].as_str().context("id")?);
    // Warm every pooled connection's statement cache with the old column type.
    for _ in 0..20 {
        assert_eq!(app.get(&path).await?.status, StatusCode::OK);
    }
    // A widening that keeps every value: integer -> decimal.
    let files = stock_with(|f| {
        edit_company(
            f,
            "    type: integer\n    label: { en: Employees",
            "    type: decimal\n    label: { en: Employees",
        )
    })?;
    let req = ApplyRequest {
        files,
        author: "test".into(),
        comment: "fractional head count".into(),
        plan_only: false,
    };
    assert_eq!(app.engine.apply(req).await?.release, Some(2));
    for _ in 0..20 {
        let r = app.get(&path).await?;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "reads work at once after a type change: {}",
            r.body
        );
        assert_eq!(r.body["employees"], 1200.0);
    }
    // A narrowing that would cut a value is refused, with the count and an example.
    let files = stock_with(|f| edit_company(f, "    max_length: 200\n", "    max_length: 4\n"))?;
    let req = ApplyRequest {
        files,
        author: "test".into(),
        comment: "short names".into(),
        plan_only: false,
    };
    match app.engine.apply(req).await {
        Err(relata::engine::ApplyError::Schema(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("company") && text.contains("name") && text.contains('1'),
                "{text}"
            );
            assert!(
                text.contains("Acme Industrial"),
                "the refusal shows an offending value: {text}"
            );
        }
        other => anyhow::bail!("expected a refusal, got {other:?}"),
    }
    assert_eq!(app.engine.model().release, 2, "the live release is unchanged");
    assert_eq!(app.get(&path).await?.body["name"], "Acme Industrial");
    let releases = app.engine.bm().list().await?;
    assert_eq!(
        releases[0].status, "failed",
        "the refused release is kept for the record, marked failed"
    );
    Ok(())
}

on_both_backends!(releases_while_serving, restart_loads_the_active_release, type_changes);

/// The contact file with a `nickname` field first in its fields.
fn with_nickname(contact: &str) -> String {
    contact.replacen(
        "\nfields:\n",
        "\nfields:\n  - { name: nickname, type: text, label: { en: Nickname, zh-CN: 昵称 } }\n",
        1,
    )
}
