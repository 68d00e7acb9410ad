//! The designer's workspace and its offline sandbox: a workspace made from
//! the stock package previews with sample data; a change in the workspace
//! reaches the sandbox as its next release with the sample data kept; a
//! broken package is refused with file and path, the sandbox left as it was.
//! (The sandbox is SQLite by design: it lives inside the workspace folder.)

use anyhow::{ensure, Context, Result};
use relata::engine::ListParams;
use relata::model::read_package;
use relata_designer::preview::{open_sandbox, PreviewError};
use relata_designer::promote::{changes, PromoteError};
use relata_designer::sample::PER_ENTITY;
use relata_designer::workspace::{new_state, Workspace};
use relata_tests::stock_metadata;

const SURVEY: &str = "version: 1
kind: entity
name: site_survey
label: { en: Site survey, zh-CN: 现场勘察 }
plural_label: { en: Site surveys, zh-CN: 现场勘察 }
display_field: title
fields:
  - { name: title, type: text, required: true, max_length: 12, label: { en: Survey title, zh-CN: 标题 } }
  - { name: company, type: reference, target: company, required: true, label: { en: Company, zh-CN: 公司 } }
  - { name: kind, type: picklist, picklist: survey_kind, label: { en: Kind, zh-CN: 类型 } }
  - { name: surveyed_on, type: date, label: { en: Surveyed on, zh-CN: 勘察日期 } }
  - { name: contact_email, type: email, label: { en: E-mail, zh-CN: 邮箱 } }
";

const SURVEY_KIND: &str = "version: 1
kind: picklist
name: survey_kind
label: { en: Survey kind, zh-CN: 勘察类型 }
values:
  - { code: roof, label: { en: Roof, zh-CN: 屋顶 } }
  - { code: cellar, label: { en: Cellar, zh-CN: 地下室 } }
";

async fn contacts(engine: &relata::engine::Engine) -> Result<usize> {
    let page = engine
        .list("contact", &ListParams::new(vec![("limit".into(), "500".into())]), false)
        .await?;
    Ok(page.data.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_previews_its_changes_on_sample_data() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let stock = read_package(&stock_metadata(), None)?;
    Workspace::create(dir.path(), &stock, new_state(None, None))?;
    let ws = Workspace::open(dir.path())?;
    ensure!(changes(&ws)? == Default::default(), "a new workspace has no changes");

    let first = open_sandbox(&ws).await?;
    ensure!(first.applied.release == Some(1), "{:?}", first.applied.release);
    ensure!(first.sample.is_some(), "sample data on first preview");
    let before = contacts(&first.engine).await?;
    ensure!(before > 0, "the sandbox has contacts");
    ensure!(
        first
            .first_admin
            .as_ref()
            .and_then(|a| a.generated_password.as_ref())
            .is_some(),
        "the sandbox's administrator gets a generated password"
    );
    first.engine.databases().close().await;

    // The analyst adds a field to the contact: the next preview runs it.
    let contact = ws.metadata_dir().join("marketing/contact.yaml");
    let text = std::fs::read_to_string(&contact)?;
    let added = text.replacen(
        "fields:\n",
        "fields:\n  - { name: nickname, type: text, max_length: 40, label: { en: Nickname, zh-CN: 昵称 } }\n",
        1,
    );
    ensure!(added != text, "the contact has a fields: list");
    std::fs::write(&contact, added)?;
    // ... and a new entity no demo item covers: it gets sample records.
    std::fs::write(ws.metadata_dir().join("service/site_survey.yaml"), SURVEY)?;
    std::fs::write(ws.metadata_dir().join("service/survey_kind.yaml"), SURVEY_KIND)?;
    let c = changes(&ws)?;
    ensure!(c.changed == ["marketing/contact.yaml"], "{c:?}");
    ensure!(
        c.added == ["service/site_survey.yaml", "service/survey_kind.yaml"],
        "{c:?}"
    );

    let second = open_sandbox(&ws).await?;
    ensure!(second.applied.release == Some(2), "{:?}", second.applied.release);
    ensure!(second.sample.is_none(), "sample data is loaded once");
    ensure!(contacts(&second.engine).await? == before, "the sample data is kept");
    let model = second.engine.model();
    let e = model.entity("contact").context("contact")?;
    ensure!(e.field("nickname").is_some(), "the new field is live in the sandbox");
    ensure!(second.filled == ["site_survey"], "{:?}", second.filled);
    let surveys = second
        .engine
        .list(
            "site_survey",
            &ListParams::new(vec![("expand".into(), "company".into())]),
            false,
        )
        .await?;
    ensure!(
        surveys.data.len() == PER_ENTITY,
        "{} sample surveys",
        surveys.data.len()
    );
    let first_survey = &surveys.data[0];
    ensure!(
        first_survey.get("company").and_then(|c| c.get("name")).is_some(),
        "a sample reference points to an existing company: {:?}",
        first_survey.get("company")
    );
    ensure!(
        first_survey.get("kind").and_then(|v| v.as_str()) == Some("roof"),
        "a pick list takes its first active value"
    );
    second.engine.databases().close().await;

    // A broken file: every error with its file and path; nothing applied.
    std::fs::write(
        ws.metadata_dir().join("marketing/broken.yaml"),
        "version: 1\nkind: entity\nname: broken\n",
    )?;
    match open_sandbox(&ws).await {
        Err(PreviewError::Package(PromoteError::Invalid(errors))) => {
            let text = errors.to_string();
            ensure!(text.contains("marketing/broken.yaml"), "{text}");
        }
        Err(other) => anyhow::bail!("expected metadata errors, got {other}"),
        Ok(_) => anyhow::bail!("a broken package was previewed"),
    }
    Ok(())
}

/// A preview whose sample data fails half-way (a rule that throws while
/// the loaded records are saved again) leaves no half-loaded sandbox: the
/// sandbox is as it was, so the preview after the fix loads the whole
/// sample data. A helper called without `this` is refused before any of
/// that, at its script and line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_preview_leaves_no_half_loaded_sandbox() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let stock = read_package(&stock_metadata(), None)?;
    Workspace::create(dir.path(), &stock, new_state(None, None))?;
    let ws = Workspace::open(dir.path())?;
    let opportunity = ws.metadata_dir().join("sales/opportunity.yaml");
    let good = std::fs::read_to_string(&opportunity)?;
    let expression = "expression: \"if this.amount == () || this.probability == () { () } else { this.amount * this.probability / 100 }\"";
    ensure!(good.contains(expression), "the stock opportunity's expected revenue");
    std::fs::write(
        &opportunity,
        good.replace(expression, "expression: \"throw \\\"no revenue today\\\"\""),
    )?;
    // A new workspace has an empty sandbox folder: a failed first preview
    // leaves it empty (no database with half the sample data).
    let listing = |dir: &std::path::Path| -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    };
    let before = listing(&ws.sandbox_dir())?;
    match open_sandbox(&ws).await {
        Err(e) => ensure!(e.to_string().contains("no revenue today"), "{e}"),
        Ok(_) => anyhow::bail!("the throwing rule was previewed"),
    }
    let after = listing(&ws.sandbox_dir())?;
    ensure!(after == before, "the sandbox is as before: {before:?}, now {after:?}");

    // A helper that uses `this`, called without it: refused with its line.
    let script = ws.root().join("scripts/opportunity.rhai");
    let rules = std::fs::read_to_string(&script)?;
    std::fs::write(
        &script,
        format!("{rules}\nfn uses_this() {{ this.amount }}\nfn calls_it() {{\n    uses_this()\n}}\n"),
    )?;
    std::fs::write(&opportunity, &good)?;
    match open_sandbox(&ws).await {
        Err(PreviewError::Package(PromoteError::Invalid(errors))) => {
            let text = errors.to_string();
            let line = rules.lines().count() + 4;
            ensure!(
                text.contains(&format!(
                    "scripts/opportunity.rhai: line {line}, column 5: `uses_this(..)` is called without `this`"
                )),
                "{text}"
            );
        }
        Err(other) => anyhow::bail!("expected the unbound `this`, got {other}"),
        Ok(_) => anyhow::bail!("a call without `this` was previewed"),
    }

    std::fs::write(&script, &rules)?;
    let fixed = open_sandbox(&ws).await?;
    ensure!(fixed.sample.is_some(), "the whole sample data loads after the fix");
    ensure!(contacts(&fixed.engine).await? > 0, "the sandbox has contacts");
    fixed.engine.databases().close().await;
    Ok(())
}
