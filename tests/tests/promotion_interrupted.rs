//! A promotion cut at every step of the pipeline (a fail point panics
//! there, as if the process were killed: what was committed stays, what was
//! not is rolled back), then the runtime started again on the same
//! databases: either the old or the new release is fully active (model,
//! release record and tables agree), never a mix; the runtime serves; and
//! the promotion can be made again.

use anyhow::{ensure, Context, Result};
use fail::FailScenario;
use relata::engine::{ApplyRequest, Engine};
use relata_tests::packages::{stock_with, SITE_SURVEY, SITE_SURVEY_PATH};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use serde_json::json;

/// Each step's fail point, and the release live after a restart.
const CUTS: [(&str, i64); 4] = [
    ("release::pending", 1),          // recorded, nothing built: the old one
    ("release::tables_built", 2),     // tables committed: recovery finishes it
    ("release::picklists_merged", 2), // likewise
    ("release::activated", 2),        // recorded live: the new one
];

fn request() -> Result<ApplyRequest> {
    Ok(ApplyRequest {
        files: stock_with(&[(SITE_SURVEY_PATH, SITE_SURVEY)])?,
        author: "admin".into(),
        comment: "site surveys".into(),
        plan_only: false,
    })
}

/// The restarted runtime is whole at release `expected`.
async fn whole_at(engine: &Engine, expected: i64, cut: &str) -> Result<()> {
    let model = engine.model();
    ensure!(model.release == expected, "{cut}: live release {}", model.release);
    ensure!(
        engine.bm().active().await? == Some(expected),
        "{cut}: the release record agrees"
    );
    let pending: Vec<i64> = engine
        .bm()
        .list()
        .await?
        .into_iter()
        .filter(|r| r.status == "pending")
        .map(|r| r.number)
        .collect();
    ensure!(pending.is_empty(), "{cut}: releases left pending: {pending:?}");
    // The audit trail says how release 2 became live.
    let trail: Vec<(String, i64)> = engine
        .bm()
        .audit()
        .await?
        .into_iter()
        .filter(|a| a.to_release == 2)
        .map(|a| (a.action, a.to_release))
        .collect();
    let how = match cut {
        "release::pending" => vec![],
        "release::activated" => vec![("apply".to_owned(), 2)],
        _ => vec![("recovery".to_owned(), 2)],
    };
    ensure!(trail == how, "{cut}: audit {trail:?}");
    let survey = engine.create("site_survey", &json!({"title": "Roof"}), None).await;
    ensure!(
        survey.is_ok() == (expected == 2),
        "{cut}: the new entity is {} (got {survey:?})",
        if expected == 2 { "served" } else { "absent" }
    );
    engine
        .create("contact", &json!({"full_name": "After restart"}), None)
        .await
        .with_context(|| format!("{cut}: a contact after the restart"))?;
    Ok(())
}

async fn interrupted_at_every_step(backend: TestBackend) -> Result<()> {
    // One scenario at a time in this process: fail points are global.
    let scenario = FailScenario::setup();
    for (cut, expected) in CUTS {
        let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
            return Ok(());
        };
        fail::cfg(cut, "panic").map_err(anyhow::Error::msg)?;
        let engine = app.engine.clone();
        let req = request()?;
        let cut_short = tokio::spawn(async move { engine.apply(req).await }).await;
        fail::remove(cut);
        ensure!(
            cut_short.as_ref().is_err_and(tokio::task::JoinError::is_panic),
            "{cut}: the promotion was cut"
        );
        let restarted = app.open_engine(|_| {}).await?;
        whole_at(&restarted, expected, cut).await?;
        let again = restarted.apply(request()?).await?;
        match expected {
            1 => ensure!(again.release.is_some(), "{cut}: promoted again"),
            _ => ensure!(again.unchanged, "{cut}: the package is live already"),
        }
        ensure!(
            restarted.model().entity("site_survey").is_some(),
            "{cut}: live after all"
        );
        restarted.databases().close().await;
    }
    scenario.teardown();
    Ok(())
}

on_both_backends!(interrupted_at_every_step);
