//! The designer's promotion loop against a live runtime, on both backends:
//! pull the live release into a workspace, add an entity, promote it under
//! a load of contact writes (none fails; the live API serves it at once); a promotion based on an outdated release
//! merges changes to different files, and refuses conflicting ones with
//! nothing changed on the live system; a conflict is shown side by side and
//! settled (the workspace's text kept, or the live one taken) before the
//! promotion goes through.

use anyhow::{ensure, Context, Result};
use relata::engine::ApplyRequest;
use relata::model::SourceFile;
use relata_designer::client::AdminClient;
use relata_designer::promote::{plan, plan_rollback, promote, pull, PromoteError};
use relata_designer::resolve::{conflicts, resolve, side_by_side, Keep};
use relata_designer::workspace::Workspace;
use relata_tests::load::{under_contact_load, Load};
use relata_tests::packages::{SITE_SURVEY, SITE_SURVEY_PATH};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

/// A live runtime with the stock application and a workspace pulled from it.
struct Pulled {
    app: TestApp,
    client: AdminClient,
    dir: tempfile::TempDir,
    ws: Workspace,
}

async fn pulled(backend: TestBackend) -> Result<Option<Pulled>> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(None);
    };
    let token = app.token.clone().context("the test app's token")?;
    let client = AdminClient::new(&app.base, &token);
    let dir = tempfile::tempdir()?;
    let ws = pull(dir.path(), &client).await?;
    Ok(Some(Pulled { app, client, dir, ws }))
}

/// Applies `files` on the live runtime directly, as another admin would.
async fn promote_elsewhere(app: &TestApp, files: Vec<SourceFile>) -> Result<i64> {
    let out = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "someone else".into(),
            comment: "a change made meanwhile".into(),
            plan_only: false,
        })
        .await?;
    out.release.context("a new release")
}

/// The workspace's files, as (path, text).
fn files_of(ws: &Workspace) -> Result<Vec<(String, String)>> {
    Ok(ws.files()?.into_iter().map(|f| (f.path, f.text)).collect())
}

fn edit(files: &mut [SourceFile], path: &str, from: &str, to: &str) -> Result<()> {
    let f = files
        .iter_mut()
        .find(|f| f.path == path)
        .with_context(|| format!("no {path}"))?;
    ensure!(f.text.contains(from), "{path} has no `{from}`");
    f.text = f.text.replacen(from, to, 1);
    Ok(())
}

async fn pull_add_promote_merge(backend: TestBackend) -> Result<()> {
    let Some(Pulled {
        app,
        client,
        dir: _dir,
        mut ws,
    }) = pulled(backend).await?
    else {
        return Ok(());
    };
    ensure!(ws.state.base_release == Some(1), "{:?}", ws.state);

    // A new entity, promoted while a load generator writes contacts the
    // whole time: no request fails, and the live API serves it at once.
    std::fs::write(ws.metadata_dir().join(SITE_SURVEY_PATH), SITE_SURVEY)?;
    let (diff, merged) = plan(&ws, &client).await?;
    ensure!(merged.is_empty());
    let added: Vec<(&str, &str)> = diff
        .diff
        .added
        .iter()
        .map(|i| (i.kind.as_str(), i.name.as_str()))
        .collect();
    ensure!(added == [("entity", "site_survey")], "{added:?}");
    ensure!(diff.diff.changed.is_empty() && diff.diff.removed.is_empty(), "{diff}");
    ensure!(
        diff.steps.iter().any(|s| s.description.contains("site_survey")) && diff.destructive().count() == 0,
        "{diff}"
    );
    ensure!(app.engine.model().release == 1, "a plan changes nothing");
    let (done, Load { written, failed }) =
        under_contact_load(&app, promote(&mut ws, &client, "site surveys", &[])).await?;
    let done = done?;
    ensure!(
        failed.is_empty(),
        "{} of {} writes failed during the promotion: {:?}",
        failed.len(),
        written,
        failed.first()
    );
    ensure!(written > 10, "the load generator wrote {written} contacts");
    ensure!(done.release == Some(2), "{:?}", done.release);
    ensure!(ws.state.base_release == Some(2), "the workspace's base follows");
    let made = app
        .post("/api/v1/records/site_survey", &json!({"title": "Roof of building B"}))
        .await?;
    ensure!(made.status == StatusCode::CREATED, "{}", made.body);
    let survey = made.body["id"].as_str().context("survey id")?.to_owned();

    // Rolled back, the entity is gone from the live system (its table is
    // archived: destructive, so confirmed); promoted again, its records are back.
    let refused = client.rollback(1, "without surveys", &[]).await;
    let step = match refused {
        Err(relata_designer::client::ClientError::Refused(r)) if r.code == "confirmation_required" => r.body["error"]
            ["details"][0]["id"]
            .as_str()
            .context("the unconfirmed step's id")?
            .to_owned(),
        other => anyhow::bail!("expected confirmation_required, got {other:?}"),
    };
    // The designer shows that step in the rollback's plan, with its id, the
    // rows it touches and the flag that confirms it.
    let rollback_plan = plan_rollback(&client, 1).await?;
    let shown = rollback_plan.to_string();
    ensure!(
        shown
            .lines()
            .any(|l| l.contains("DESTRUCTIVE archive table site_survey")
                && l.contains("(1 rows)")
                && l.ends_with(&format!("[{step}]"))),
        "{shown}"
    );
    ensure!(shown.contains(&format!("--confirm {step}")), "{shown}");
    ensure!(app.engine.model().release == 2, "a rollback plan changes nothing");
    let back = client.rollback(1, "without surveys", &[step]).await?;
    ensure!(back["release"] == 3, "{back}");
    let gone = app.get(&format!("/api/v1/records/site_survey/{survey}")).await?;
    ensure!(gone.status == StatusCode::NOT_FOUND, "{}", gone.body);
    // Promoting after the rollback keeps every workspace file: the rollback
    // undid release 2, the workspace's base, so the merge starts from
    // release 1, which both descend from, and takes nothing from the live
    // release; the survey is promoted again, its records back.
    let before = files_of(&ws)?;
    let again = promote(&mut ws, &client, "site surveys again", &[]).await?;
    ensure!(again.release == Some(4), "{again:?}");
    ensure!(again.merged_from_live.is_empty(), "{again:?}");
    ensure!(
        again.notes.iter().any(|n| n.contains("release 1")),
        "the analyst is told what the merge started from: {:?}",
        again.notes
    );
    ensure!(files_of(&ws)? == before, "no workspace file was removed or changed");
    let kept = app.get(&format!("/api/v1/records/site_survey/{survey}")).await?;
    ensure!(
        kept.status == StatusCode::OK && kept.body["title"] == "Roof of building B",
        "{}",
        kept.body
    );

    // Someone else adds an industry on the live system; here a field is
    // added to the contact. Different files: the promotion merges them.
    let mut theirs = client.release_files(4).await?;
    edit(
        &mut theirs,
        "common/industry.yaml",
        "values:\n",
        "values:\n  - { code: aerospace, label: { en: Aerospace, zh-CN: 航空航天 } }\n",
    )?;
    ensure!(promote_elsewhere(&app, theirs.clone()).await? == 5);
    let contact = ws.metadata_dir().join("marketing/contact.yaml");
    let text = std::fs::read_to_string(&contact)?;
    std::fs::write(
        &contact,
        text.replacen(
            "fields:\n",
            "fields:\n  - { name: nickname, type: text, label: { en: Nickname, zh-CN: 昵称 } }\n",
            1,
        ),
    )?;
    let merged = promote(&mut ws, &client, "contact nickname", &[]).await?;
    ensure!(merged.release == Some(6), "{:?}", merged.release);
    ensure!(
        merged.merged_from_live
            == ["common/industry.yaml (changed on the live release 5 since release 4; unchanged in the workspace)"],
        "each file taken from the live release is named with why: {:?}",
        merged.merged_from_live
    );
    let live = app.engine.model();
    ensure!(
        live.entity("contact").and_then(|e| e.field("nickname")).is_some(),
        "ours is live"
    );
    let industry = app
        .post(
            "/api/v1/records/company",
            &json!({"name": "Sky Works", "industry": "aerospace"}),
        )
        .await?;
    ensure!(
        industry.status == StatusCode::CREATED,
        "theirs is live too: {}",
        industry.body
    );
    let here = std::fs::read_to_string(ws.metadata_dir().join("common/industry.yaml"))?;
    ensure!(here.contains("aerospace"), "the workspace holds the merged package");

    // Both sides change the industry list differently: a conflict, shown
    // by path, and nothing reaches the live system.
    let mut theirs = client.release_files(6).await?;
    edit(
        &mut theirs,
        "common/industry.yaml",
        "Aerospace",
        "Aerospace and defence",
    )?;
    ensure!(promote_elsewhere(&app, theirs).await? == 7);
    let industry = ws.metadata_dir().join("common/industry.yaml");
    let text = std::fs::read_to_string(&industry)?;
    std::fs::write(&industry, text.replacen("Aerospace", "Aviation", 1))?;
    match promote(&mut ws, &client, "aviation", &[]).await {
        Err(PromoteError::Conflicts(c)) => {
            ensure!(c.len() == 1 && c[0].path == "common/industry.yaml", "{c:?}");
            ensure!(c[0]
                .theirs
                .as_deref()
                .is_some_and(|t| t.contains("Aerospace and defence")));
            ensure!(c[0].mine.as_deref().is_some_and(|t| t.contains("Aviation")));
        }
        other => anyhow::bail!("expected a conflict, got {other:?}"),
    }
    ensure!(app.engine.model().release == 7, "nothing was promoted");
    ensure!(
        ws.state.base_release == Some(6),
        "the base stays until the conflict is resolved"
    );
    settle(&app, &client, &mut ws).await
}

/// The conflict on the industry list shown side by side, then settled: a
/// file not in conflict is refused, the workspace's text edited to hold
/// both names is kept and promoted; a second conflict is settled by taking
/// the live text.
async fn settle(app: &TestApp, client: &AdminClient, ws: &mut Workspace) -> Result<()> {
    let found = conflicts(ws, client).await?;
    ensure!(found.len() == 1, "{found:?}");
    let shown = side_by_side(&found[0], 60);
    ensure!(
        shown
            .lines()
            .any(|l| l.contains("Aviation") && l.contains(" | ") && l.contains("Aerospace and defence")),
        "{shown}"
    );
    match resolve(ws, client, "marketing/contact.yaml", Keep::Mine).await {
        Err(PromoteError::NoConflict(p)) => ensure!(p == "marketing/contact.yaml"),
        other => anyhow::bail!("expected NoConflict, got {other:?}"),
    }
    let industry = ws.metadata_dir().join("common/industry.yaml");
    let text = std::fs::read_to_string(&industry)?;
    std::fs::write(&industry, text.replacen("Aviation", "Aerospace and aviation", 1))?;
    resolve(ws, client, "common/industry.yaml", Keep::Mine).await?;
    ensure!(conflicts(ws, client).await?.is_empty(), "settled");
    let done = promote(ws, client, "aerospace and aviation", &[]).await?;
    ensure!(done.release == Some(8), "{:?}", done.release);
    let live = client.release_files(8).await?;
    ensure!(
        live.iter()
            .any(|f| f.path == "common/industry.yaml" && f.text.contains("Aerospace and aviation")),
        "the kept text is live"
    );

    // Both sides again; this time the live text wins.
    let mut theirs = live;
    edit(
        &mut theirs,
        "common/industry.yaml",
        "Aerospace and aviation",
        "Air and space",
    )?;
    ensure!(promote_elsewhere(app, theirs).await? == 9);
    let text = std::fs::read_to_string(&industry)?;
    std::fs::write(&industry, text.replacen("Aerospace and aviation", "Flight", 1))?;
    resolve(ws, client, "common/industry.yaml", Keep::Theirs).await?;
    ensure!(
        std::fs::read_to_string(&industry)?.contains("Air and space"),
        "the live text taken"
    );
    let done = promote(ws, client, "catch up", &[]).await?;
    ensure!(
        done.release.is_none(),
        "the package is live already: {:?}",
        done.release
    );
    ensure!(app.engine.model().release == 9, "nothing new was promoted");
    Ok(())
}

/// Removing a field archives its column: the plan names the step and the
/// rows it touches, and the promotion waits for its confirmation.
async fn destructive_steps_need_confirmation(backend: TestBackend) -> Result<()> {
    let Some(Pulled {
        app,
        client,
        dir: _dir,
        mut ws,
    }) = pulled(backend).await?
    else {
        return Ok(());
    };
    let contact = ws.metadata_dir().join("marketing/contact.yaml");
    let original = std::fs::read_to_string(&contact)?;
    std::fs::write(
        &contact,
        original.replacen("fields:\n", &format!("fields:\n{NICKNAME}"), 1),
    )?;
    ensure!(promote(&mut ws, &client, "nicknames", &[]).await?.release == Some(2));
    for name in ["Ada", "Bo"] {
        let r = app
            .post("/api/v1/records/contact", &json!({"full_name": name, "nickname": name}))
            .await?;
        ensure!(r.status == StatusCode::CREATED, "{}", r.body);
    }
    // The field goes again: its column (two values) is archived.
    std::fs::write(&contact, &original)?;
    let (diff, _) = plan(&ws, &client).await?;
    let steps: Vec<_> = diff.destructive().collect();
    ensure!(steps.len() == 1 && steps[0].description.contains("nickname"), "{diff}");
    ensure!(steps[0].affected_rows == Some(2), "{diff}");
    let step = steps[0].id.clone();
    match promote(&mut ws, &client, "no nicknames", &[]).await {
        Err(PromoteError::Client(relata_designer::client::ClientError::Refused(r))) => {
            ensure!(r.code == "confirmation_required", "{}: {}", r.code, r.message);
        }
        other => anyhow::bail!("expected confirmation_required, got {other:?}"),
    }
    ensure!(app.engine.model().release == 2, "nothing changed");
    let done = promote(&mut ws, &client, "no nicknames", &[step]).await?;
    ensure!(done.release == Some(3));
    let live = app.engine.model();
    ensure!(live.entity("contact").and_then(|e| e.field("nickname")).is_none());
    Ok(())
}

const NICKNAME: &str = "  - { name: nickname, type: text, label: { en: Nickname, zh-CN: 昵称 } }\n";

/// A bad package never leaves the workspace; a wrong token is refused.
async fn refusals(backend: TestBackend) -> Result<()> {
    let Some(Pulled {
        app,
        client,
        dir: _dir,
        mut ws,
    }) = pulled(backend).await?
    else {
        return Ok(());
    };
    std::fs::write(
        ws.metadata_dir().join(SITE_SURVEY_PATH),
        SITE_SURVEY.replace("target: company", "target: no_such_entity"),
    )?;
    match promote(&mut ws, &client, "broken", &[]).await {
        Err(PromoteError::Invalid(errors)) => {
            let text = errors.to_string();
            ensure!(
                text.contains("service/site_survey.yaml") && text.contains("no_such_entity"),
                "{text}"
            );
        }
        other => anyhow::bail!("expected metadata errors, got {other:?}"),
    }
    ensure!(app.engine.model().release == 1, "nothing was sent");
    let stranger = AdminClient::new(&app.base, "not-a-token");
    let other = tempfile::tempdir()?;
    match pull(other.path(), &stranger).await {
        Err(PromoteError::Client(relata_designer::client::ClientError::Refused(r))) => {
            ensure!(r.status == StatusCode::UNAUTHORIZED, "{}", r.status);
        }
        r => anyhow::bail!("expected 401, got {:?}", r.map(|w| w.state)),
    }
    Ok(())
}

on_both_backends!(pull_add_promote_merge, destructive_steps_need_confirmation, refusals);
