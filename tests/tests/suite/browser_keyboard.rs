//! Lookups and forms from the keyboard, in a real browser (issue 17, item
//! 4): a lookup is a combobox (ArrowDown / ArrowUp move through the
//! suggestions, Enter picks one and never submits the form, Escape closes
//! them), and a form sent back with an error shows the chosen records by
//! name. Headless Chromium, on both backends.

use anyhow::{ensure, Context, Result};
use fantoccini::key::Key;
use serde_json::json;

use relata_tests::{on_both_backends, stock_metadata, Chrome, TestApp, TestBackend, ADMIN_PASSWORD};

async fn open(backend: TestBackend) -> Result<Option<(TestApp, Chrome)>> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(None);
    };
    let Some(chrome) = Chrome::start(&app.base).await? else {
        return Ok(None);
    };
    Ok(Some((app, chrome)))
}

async fn sign_in(b: &Chrome) -> Result<()> {
    b.goto("/app").await?;
    b.fill("#username", "admin").await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click_and_load("form[action='/app/sign-in'] button[type=submit]")
        .await?;
    b.wait_for_path("the home page", |p| p == "/app").await?;
    Ok(())
}

/// Presses `key` in the element `css`.
async fn press(b: &Chrome, css: &str, key: Key) -> Result<()> {
    let k: char = key.into();
    b.type_into(css, &k.to_string()).await
}

/// The attribute `name` of the element `css`.
async fn attr(b: &Chrome, css: &str, name: &str) -> Result<String> {
    Ok(b.find(css).await?.attr(name).await?.unwrap_or_default())
}

async fn lookups_work_from_the_keyboard(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    // A company the typed letters do not match, so that the answer to
    // them differs from the first one (every company, on focus).
    app.create("company", json!({ "name": "Hangzhou Tea Co" })).await?;
    let silk = app.create("company", json!({ "name": "Suzhou Silk Ltd" })).await?;
    let steel = app.create("company", json!({ "name": "Suzhou Steel" })).await?;
    let silk_id = silk["id"].as_str().context("id")?.to_owned();
    let steel_id = steel["id"].as_str().context("id")?.to_owned();
    sign_in(&b).await?;
    b.goto("/app/r/contact/new").await?;
    let company = "#f-company";
    ensure!(attr(&b, company, "role").await? == "combobox", "a combobox");
    ensure!(attr(&b, company, "aria-expanded").await? == "false");

    b.type_into(company, "suz").await?;
    let options = "[data-field=company] [role=option]";
    b.wait_for_texts(options, &["Suzhou Silk Ltd", "Suzhou Steel"]).await?;
    ensure!(attr(&b, company, "aria-expanded").await? == "true", "open");

    // Down, Down, Up: the first suggestion is active, announced to screen readers.
    press(&b, company, Key::Down).await?;
    press(&b, company, Key::Down).await?;
    press(&b, company, Key::Up).await?;
    let active = attr(&b, company, "aria-activedescendant").await?;
    ensure!(!active.is_empty(), "an active option");
    ensure!(
        attr(&b, &format!("#{active}"), "data-label").await? == "Suzhou Silk Ltd",
        "ArrowDown twice and ArrowUp once: the first"
    );
    // Enter picks it and stays on the form.
    press(&b, company, Key::Enter).await?;
    ensure!(b.value(company).await? == "Suzhou Silk Ltd");
    ensure!(b.value("input[type=hidden][name=company]").await? == silk_id);
    ensure!(b.find_all(options).await?.is_empty(), "the suggestions close");
    ensure!(b.path().await? == "/app/r/contact/new", "Enter did not submit the form");
    ensure!(
        b.find_all("[data-test=form-errors]").await?.is_empty(),
        "nothing was posted"
    );

    // ArrowDown opens the suggestions again; Escape closes them, the choice kept.
    press(&b, company, Key::Down).await?;
    b.wait_for_texts(options, &["Suzhou Silk Ltd"]).await?;
    press(&b, company, Key::Escape).await?;
    ensure!(b.find_all(options).await?.is_empty(), "Escape closes");
    ensure!(b.value("input[type=hidden][name=company]").await? == silk_id);

    // Pick the other by keyboard only, then Enter in an empty lookup: no submit.
    b.fill(company, "").await?;
    b.type_into(company, "steel").await?;
    b.wait_for_texts(options, &["Suzhou Steel"]).await?;
    press(&b, company, Key::Down).await?;
    press(&b, company, Key::Enter).await?;
    ensure!(b.value("input[type=hidden][name=company]").await? == steel_id);
    press(&b, "#f-reports_to", Key::Enter).await?;
    ensure!(
        b.path().await? == "/app/r/contact/new",
        "Enter in a lookup never submits"
    );

    // Saving without the required name: the page comes back with the
    // company still shown by name.
    b.click_and_load("[data-test=save]").await?;
    b.find("[data-test=form-errors]").await?;
    ensure!(
        b.value(company).await? == "Suzhou Steel",
        "the chosen company reads by name"
    );
    ensure!(b.value("input[type=hidden][name=company]").await? == steel_id);
    b.close().await
}

on_both_backends!(lookups_work_from_the_keyboard);
