//! A release made by another process reaches every running server without
//! a restart: `relata apply` run on the databases of a serving runtime (or
//! another node promoting) makes a release live, and the server loads it
//! within a bounded wait (at once on PostgreSQL, through a notification;
//! by polling the live release on SQLite), so reads of an entity whose
//! field was removed keep working. The CLI asks for the same confirmations
//! as the admin API: without them it applies nothing and prints the plan
//! with each destructive step's id and the flags to pass.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use relata::model::{read_package, SourceFile};
use relata::releases_cli::{self, ApplyArgs};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

const JOB_TITLE: &str =
    "  - name: job_title\n    type: text\n    label: { en: Job title, zh-CN: 职务 }\n    max_length: 120\n";

/// The stock package without the contact's `job_title`: the field, and
/// every form, list and demo generator that names it.
fn without_job_title() -> Result<Vec<SourceFile>> {
    let mut files = read_package(&stock_metadata(), None)?;
    let contact = files
        .iter_mut()
        .find(|f| f.path == "marketing/contact.yaml")
        .context("contact.yaml")?;
    anyhow::ensure!(contact.text.contains(JOB_TITLE), "the stock contact has a job title");
    contact.text = contact.text.replace(JOB_TITLE, "");
    for f in files.iter_mut().filter(|f| {
        f.path.ends_with("_form.yaml") || f.path.ends_with("_list.yaml") || f.path == "demo/20_customers.yaml"
    }) {
        f.text = f
            .text
            .lines()
            .filter(|l| l.trim() != "- field: job_title" && !l.trim_start().starts_with("job_title:"))
            .map(|l| l.replace(", job_title", "").replace("job_title, ", ""))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
    }
    Ok(files)
}

/// Writes a package as `relata apply` reads it (YAML at the top, scripts
/// in `scripts/`).
fn write_package(dir: &std::path::Path, files: &[SourceFile]) -> Result<()> {
    for f in files {
        let at = dir.join(&f.path);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&at, &f.text)?;
    }
    Ok(())
}

async fn a_release_applied_by_another_process_is_served_without_restart(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let kept = app
        .create("contact", json!({"full_name": "Kept Buyer", "job_title": "Buyer"}))
        .await?;
    let kept = kept["id"].as_str().context("id")?.to_owned();
    // `relata apply` in another process: an engine of its own on the same
    // databases.
    let cli = app.open_engine(|_| {}).await?;
    let dir = tempfile::tempdir()?;
    let files = without_job_title()?;
    write_package(dir.path(), &files)?;
    let args = |confirm: Vec<String>| ApplyArgs {
        dir: dir.path().to_owned(),
        scripts: None,
        comment: "job titles out".into(),
        author: "ops".into(),
        plan: false,
        confirm,
    };

    // Unconfirmed: nothing applied, as the admin API would refuse it.
    let refused = releases_cli::apply(&cli, args(Vec::new())).await;
    let message = format!("{:#}", refused.err().context("an unconfirmed apply is refused")?);
    assert!(message.contains("confirm"), "{message}");
    assert_eq!(cli.model().release, 1, "nothing was applied");
    // The plan names each destructive step with its id and the flags.
    let plan = cli.plan_package(&files, None).await?;
    let ids: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.destructive)
        .map(|s| s.id.clone())
        .collect();
    assert!(
        !ids.is_empty(),
        "removing a field with data is destructive: {:?}",
        plan.steps
    );
    let shown = releases_cli::render_plan(&plan);
    for id in &ids {
        assert!(shown.contains(&format!("[{id}] DESTRUCTIVE")), "{shown}");
        assert!(shown.contains(&format!("--confirm {id}")), "{shown}");
    }
    assert!(shown.contains("(1 rows)"), "the rows touched are shown: {shown}");

    releases_cli::apply(&cli, args(ids)).await?;
    assert_eq!(cli.model().release, 2);

    // The serving runtime loads release 2 by itself.
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.engine.model().release != 2 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the running server never loaded the release applied by the other process"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let read = app.get(&format!("/api/v1/records/contact/{kept}")).await?;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(read.body.get("job_title").is_none(), "{}", read.body);
    let list = app.get("/api/v1/records/contact?limit=5").await?;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let page = app
        .client
        .get(app.url(&format!("/app/r/contact/{kept}")))
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::OK);
    let created = app
        .post(
            "/api/v1/records/contact",
            &json!({"full_name": "After", "job_title": "x"}),
        )
        .await?;
    assert_eq!(
        created.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the server validates against the new release: {}",
        created.body
    );

    // And the other way round: a rollback through the server's admin API
    // reaches the CLI's engine too.
    let back = app.post("/admin/api/v1/releases/1/rollback", &json!({})).await?;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let deadline = Instant::now() + Duration::from_secs(15);
    while cli.model().release != 3 {
        anyhow::ensure!(Instant::now() < deadline, "the other engine never loaded the rollback");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(cli
        .model()
        .model
        .entities
        .get("contact")
        .is_some_and(|e| e.fields.iter().any(|f| f.name == "job_title")));
    Ok(())
}

on_both_backends!(a_release_applied_by_another_process_is_served_without_restart);
