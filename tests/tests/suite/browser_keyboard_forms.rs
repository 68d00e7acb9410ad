//! Forms from the keyboard, in a real browser, for every form of the model:
//!
//! - Tab goes through every input of each tab of the form in the layout's
//!   order (a tab of the form is opened with Enter on its tab link, as a
//!   keyboard user does);
//! - a new record is filled and saved with the keyboard only: Tab from
//!   input to input, typing, arrow keys in selects, and Enter in a text
//!   input submits the form. (Forms with a required reference are left to
//!   the lookup's own keyboard tests: choosing a record is the lookup's
//!   business.)
//!
//! The forms and fields come from the compiled model: a new form is covered
//! without a change here.

use anyhow::{bail, Context, Result};
use fantoccini::key::Key;
use relata::model::FieldType;
use relata::web::ui::i18n::Locale;
use relata_tests::{on_both_backends, Chrome, TestBackend, ADMIN_PASSWORD};
use serde_json::{json, Value};

use crate::save_everything::plan::{Planned, Planner};
use crate::save_everything::{entities_with_forms, use_language, EXPECTED_FAILURES};

/// Where the keyboard focus is: the field it is in, the tab panel, the
/// element.
const FOCUS: &str = r#"
const a = document.activeElement;
const d = a ? a.closest('form.record-form [data-field]') : null;
return { field: d ? d.dataset.field : null, tag: a ? a.tagName.toLowerCase() : null,
         type: a ? (a.type || null) : null, save: !!(a && a.matches('[data-test=save]')) };
"#;

/// The fields with an input on each tab panel of the form, by tab.
const PANELS: &str = r#"
return Array.from(document.querySelectorAll('form.record-form .tab-panel')).map((p) => ({
  tab: p.id.replace(/^tab-/, ''),
  fields: Array.from(p.querySelectorAll('[data-field]'))
    .filter((d) => d.querySelector('input:not([type=hidden]), select, textarea'))
    .map((d) => d.dataset.field),
}));
"#;

fn key(k: Key) -> String {
    char::from(k).to_string()
}

async fn focus(b: &Chrome) -> Result<Value> {
    Ok(b.client.execute(FOCUS, Vec::new()).await?)
}

async fn press(b: &Chrome, k: &str) -> Result<()> {
    b.client.active_element().await?.send_keys(k).await?;
    Ok(())
}

/// Tabs from the current focus through a panel; the fields reached, in
/// order (each once; an input with parts, such as a date, counts once).
async fn tab_through(b: &Chrome, limit: usize) -> Result<Vec<String>> {
    let mut reached: Vec<String> = Vec::new();
    for _ in 0..limit {
        press(b, &key(Key::Tab)).await?;
        let f = focus(b).await?;
        if f["save"] == true {
            return Ok(reached);
        }
        if let Some(name) = f["field"].as_str() {
            if reached.last().map(String::as_str) != Some(name) {
                reached.push(name.to_owned());
            }
        }
    }
    bail!("{limit} presses of Tab never reached the save button; reached {reached:?}")
}

/// The layout's order of the fields of tab `tab` that have an input.
fn layout_order(form: &relata::model::FormDef, tab: &str, with_input: &[String]) -> Vec<String> {
    form.tabs
        .iter()
        .filter(|t| t.name == tab)
        .flat_map(|t| t.sections.iter().flat_map(|s| &s.fields))
        .map(|p| p.field.clone())
        .filter(|f| with_input.contains(f))
        .collect()
}

async fn tab_order_follows_the_layout(backend: TestBackend) -> Result<()> {
    let Some(app) = crate::browser_tour::with_small_demo(backend).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    b.sign_in("admin", ADMIN_PASSWORD).await?;
    use_language(&b, Locale::En).await?;
    let model = app.engine.model();
    let mut problems = Vec::new();
    for entity in entities_with_forms(&model) {
        let form = model.views.forms.get(&entity).context("a form")?;
        b.goto(&format!("/app/r/{entity}/new")).await?;
        b.find("form.record-form").await?;
        let panels: Vec<Value> = serde_json::from_value(b.client.execute(PANELS, Vec::new()).await?)?;
        let several = panels.len() > 1;
        for panel in panels {
            let tab = panel["tab"].as_str().unwrap_or_default().to_owned();
            let fields: Vec<String> = serde_json::from_value(panel["fields"].clone())?;
            if fields.is_empty() {
                continue;
            }
            if several {
                // The tab link, then Enter: the panel shows.
                b.client
                    .execute(
                        "document.querySelector(arguments[0]).focus();",
                        vec![json!(format!("[data-tab=\"{tab}\"]"))],
                    )
                    .await?;
                press(&b, &key(Key::Enter)).await?;
            } else {
                // From the top of the form.
                b.client
                    .execute(
                        "document.querySelector('form.record-form').focus(); document.activeElement.blur();",
                        Vec::new(),
                    )
                    .await?;
                b.client
                    .execute(
                        "const h = document.querySelector('main h1'); h.tabIndex = -1; h.focus();",
                        Vec::new(),
                    )
                    .await?;
            }
            let reached = tab_through(&b, 12 * fields.len() + 40).await?;
            let want = layout_order(form, &tab, &fields);
            if reached != want {
                problems.push(format!(
                    "{entity} tab {tab}: Tab reaches {reached:?}, the layout says {want:?}"
                ));
            }
        }
    }
    b.close().await?;
    if !problems.is_empty() {
        bail!("{} form(s) out of order:\n{}", problems.len(), problems.join("\n"));
    }
    Ok(())
}

/// Types `value` into the focused input, as a keyboard does it.
async fn type_value(b: &Chrome, kind: &str, value: &Planned, label_of: &dyn Fn(&str) -> String) -> Result<()> {
    match (kind, value) {
        ("select", Planned::Code(code)) => {
            // Typing an option's text picks it (as in every browser).
            press(b, &label_of(code)).await?;
        }
        ("date", Planned::Date(d)) => {
            // The browser's date input takes its digits in its own order
            // (month, day, year for en-US).
            let (y, rest) = d.split_at(4);
            press(b, &format!("{}{}{y}", &rest[1..3], &rest[4..6])).await?;
        }
        ("checkbox", Planned::Bool(true)) => press(b, " ").await?,
        ("checkbox", Planned::Bool(false)) => {}
        ("number", Planned::Number(n)) => press(b, &n.to_string()).await?,
        (_, Planned::Text(s)) => press(b, s).await?,
        (kind, v) => bail!("no keyboard entry for a {kind} input of {v:?}"),
    }
    Ok(())
}

async fn a_form_is_saved_with_the_keyboard_only(backend: TestBackend) -> Result<()> {
    let Some(app) = crate::browser_tour::with_small_demo(backend).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start_in_zone(&app.base, "UTC").await? else {
        return Ok(());
    };
    b.sign_in("admin", ADMIN_PASSWORD).await?;
    use_language(&b, Locale::En).await?;
    let model = app.engine.model();
    let lists = app.engine.picklists();
    let planner = Planner {
        app: &app,
        model: &model,
        today: crate::save_everything::plan::today(),
    };
    let mut saved = Vec::new();
    let mut problems = Vec::new();
    let mut n = 950_000;
    for entity in entities_with_forms(&model) {
        let e = model.entity(&entity).context("an entity")?;
        let form = model.views.forms.get(&entity).context("a form")?;
        // Required inputs on the first tab, the keyboard's way in; a form
        // with a required reference or datetime, or required inputs on
        // other tabs, is left out.
        let first = form.tabs.first().context("a form with no tab")?;
        let required: Vec<String> = form
            .tabs
            .iter()
            .flat_map(|t| t.sections.iter().flat_map(|s| &s.fields))
            .filter(|p| !p.read_only)
            .filter_map(|p| e.field(&p.field).map(|(_, f)| (p, f)))
            .filter(|(p, f)| (f.required || p.required) && f.computed.is_none() && !f.read_only)
            .map(|(_, f)| f.name.clone())
            .collect();
        let on_first: Vec<&String> = first
            .sections
            .iter()
            .flat_map(|s| &s.fields)
            .map(|p| &p.field)
            .collect();
        let simple = required.iter().all(|r| {
            on_first.contains(&r)
                && e.field(r).is_some_and(|(_, f)| {
                    !matches!(
                        f.field_type,
                        FieldType::Reference | FieldType::Datetime | FieldType::MultiPicklist
                    )
                })
        });
        let has_text = required.iter().any(|r| {
            e.field(r)
                .is_some_and(|(_, f)| matches!(f.field_type, FieldType::Text | FieldType::Email | FieldType::Phone))
        });
        if !simple || !has_text {
            continue;
        }
        // A form that cannot be saved at all today (a known bug) is left
        // out until its bug is fixed (the save suite says when).
        if let Some(x) = EXPECTED_FAILURES
            .iter()
            .find(|x| x.entity == entity && x.stage == "create")
        {
            println!("{entity}: left out, it cannot be saved yet: {}", x.reason);
            continue;
        }
        n += 1;
        let planned = planner.plan(&entity, &required, n).await?;
        b.goto(&format!("/app/r/{entity}/new")).await?;
        b.find("form.record-form").await?;
        b.client
            .execute(
                "const h = document.querySelector('main h1'); h.tabIndex = -1; h.focus();",
                Vec::new(),
            )
            .await?;
        // Tab to each required input in turn and type its value; the last
        // text input gets Enter.
        let mut last_text = None;
        let mut presses = 0;
        let mut todo: Vec<&(String, Planned)> = planned.iter().collect();
        while !todo.is_empty() && presses < 400 {
            press(&b, &key(Key::Tab)).await?;
            presses += 1;
            let f = focus(&b).await?;
            let Some(name) = f["field"].as_str() else { continue };
            let Some(at) = todo.iter().position(|(n, _)| n == name) else {
                continue;
            };
            let (name, value) = todo.remove(at);
            let kind = match (f["tag"].as_str(), f["type"].as_str()) {
                (Some("select"), _) => "select",
                (_, Some(t)) => t,
                _ => "text",
            };
            let fd = e.field(name).map(|(_, f)| f.clone()).context("a field")?;
            let label_of = |code: &str| {
                lists
                    .of_field(&fd)
                    .and_then(|l| l.value(code))
                    .map_or_else(|| code.to_owned(), |v| v.label.en.clone())
            };
            type_value(&b, kind, value, &label_of).await?;
            if matches!(kind, "text" | "email" | "tel") {
                last_text = Some(name.clone());
            }
        }
        if !todo.is_empty() {
            problems.push(format!(
                "{entity}: Tab never reached {:?}",
                todo.iter().map(|(n, _)| n).collect::<Vec<_>>()
            ));
            continue;
        }
        let last_text = last_text.context("a text input")?;
        // Back (Shift+Tab) to a text input, if the last value typed was not
        // one, then Enter.
        for _ in 0..200 {
            let f = focus(&b).await?;
            if matches!(f["type"].as_str(), Some("text" | "email" | "tel")) && f["field"].is_string() {
                break;
            }
            press(&b, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await?;
        }
        b.expect_load().await?;
        press(&b, &key(Key::Enter)).await?;
        b.wait_for_load(&format!("Enter in {entity}'s {last_text}")).await?;
        let path = b.path().await?;
        let prefix = format!("/app/r/{entity}/");
        if !path.starts_with(&prefix) || path.ends_with("/new") || path == prefix.trim_end_matches('/') {
            let errors = b.texts("[data-test=field-error], [data-test=form-errors]").await?;
            problems.push(format!("{entity}: Enter did not save the form ({path}): {errors:?}"));
            continue;
        }
        saved.push(entity);
    }
    b.close().await?;
    println!("saved with the keyboard only: {saved:?}");
    anyhow::ensure!(saved.len() + problems.len() >= 5, "too few forms to try: {saved:?}");
    if !problems.is_empty() {
        bail!(
            "{} form(s) not saved from the keyboard:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    Ok(())
}

on_both_backends!(tab_order_follows_the_layout, a_form_is_saved_with_the_keyboard_only);
