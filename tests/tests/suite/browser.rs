//! What users click, in a real browser: headless Chromium (through
//! chromedriver) against a `TestApp` server, on both backends. Each journey
//! signs in through the sign-in form and asserts what a person sees: texts,
//! the values in inputs, the address bar.
//!
//! Needs Debian's `chromium` and `chromium-driver` (see tests/src/browser.rs);
//! fails without them unless `RELATA_SKIP_BROWSER=1`.
//!
//! `cargo test -p relata-tests --test browser -- --ignored screenshots`
//! refreshes the PNGs of docs/screenshots/ (used by docs/user-guide/ui.md).

use std::path::Path;

use anyhow::{ensure, Context, Result};
use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::json;

use relata_tests::{on_both_backends, stock_metadata, Chrome, TestApp, TestBackend, ADMIN_PASSWORD};

/// A test app with the stock CRM, and a browser on it (not signed in).
/// `None` when the backend or the browser tests are skipped.
async fn open(backend: TestBackend) -> Result<Option<(TestApp, Chrome)>> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(None);
    };
    let Some(chrome) = Chrome::start(&app.base).await? else {
        return Ok(None);
    };
    Ok(Some((app, chrome)))
}

/// Signs in as admin through the form, from the home page.
async fn sign_in(b: &Chrome) -> Result<()> {
    b.goto("/app").await?;
    b.fill("#username", "admin").await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click_and_load("form[action='/app/sign-in'] button[type=submit]")
        .await?;
    b.wait_for_path("the home page", |p| p == "/app").await?;
    Ok(())
}

/// Presses Enter in the input `css` (submitting its form) and waits for the
/// next page.
async fn press_enter(b: &Chrome, css: &str) -> Result<()> {
    let enter: char = Key::Enter.into();
    let input = b.find(css).await?;
    b.expect_load().await?;
    input.send_keys(&enter.to_string()).await?;
    b.wait_for_load(&format!("Enter in `{css}`")).await
}

/// The record id at the end of a record page's path.
fn id_in(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The names in the list on the page, in order.
async fn row_titles(b: &Chrome) -> Result<Vec<String>> {
    b.texts("#bulk-form [data-test=row-title]").await
}

async fn sign_in_and_see_the_modules(backend: TestBackend) -> Result<()> {
    let Some((_app, b)) = open(backend).await? else {
        return Ok(());
    };
    b.goto("/app").await?;
    b.wait_for_path("the sign-in page", |p| p.starts_with("/app/sign-in"))
        .await?;
    b.wait_for_page_text("Sign in to Relata").await?;

    // A wrong password: an error, the username kept.
    b.fill("#username", "admin").await?;
    b.fill("#password", "not the password").await?;
    b.click_and_load("form[action='/app/sign-in'] button[type=submit]")
        .await?;
    b.wait_for_text("[role=alert]", "The username or the password is wrong.")
        .await?;
    ensure!(b.value("#username").await? == "admin", "the username is kept");
    ensure!(b.value("#password").await?.is_empty(), "the password is not sent back");

    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click_and_load("form[action='/app/sign-in'] button[type=submit]")
        .await?;
    b.wait_for_path("the home page", |p| p == "/app").await?;
    b.wait_for_text("h1", "Welcome, Administrator").await?;
    ensure!(b.text("[data-test=user]").await? == "Administrator");

    // (The module's heading is styled in capitals.)
    let sidebar = b.text("[data-test=sidebar]").await?;
    for text in ["MARKETING", "Companies", "Key customers", "Contacts"] {
        ensure!(sidebar.contains(text), "the sidebar shows {text}: {sidebar:?}");
    }
    b.click_and_load("[data-test=sidebar] a[href='/app/l/key_customers']")
        .await?;
    b.wait_for_path("the key customers list", |p| p == "/app/l/key_customers")
        .await?;
    b.wait_for_text("h1", "Key customers").await?;
    let current = b.find("[data-test=sidebar] a[aria-current=page]").await?;
    ensure!(
        current.text().await? == "Key customers",
        "the sidebar marks the open list"
    );

    b.close().await
}

async fn search_sort_and_page_a_list(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    for (name, city) in [
        ("Alpha Trading", "Wuhan"),
        ("Beta Trading", "Beijing"),
        ("Gamma Soft Trading", "Shanghai"),
    ] {
        app.create("company", json!({ "name": name, "city": city })).await?;
    }
    for n in 1..=52 {
        app.create("company", json!({ "name": format!("Filler {n:02}"), "city": "Xi'an" }))
            .await?;
    }
    sign_in(&b).await?;
    b.click_and_load("[data-test=sidebar] a[href='/app/l/company']").await?;
    b.wait_for_path("the companies list", |p| p == "/app/l/company").await?;
    b.wait_for_text("[data-test=total]", "55 records").await?;

    // Quick search: type and press Enter.
    b.fill("#list-form input[name=q]", "trading").await?;
    press_enter(&b, "#list-form input[name=q]").await?;
    b.wait_for_path("searched", |p| p.contains("q=trading")).await?;
    ensure!(
        row_titles(&b).await? == ["Alpha Trading", "Beta Trading", "Gamma Soft Trading"],
        "search keeps the list's order (by name): {:?}",
        row_titles(&b).await?
    );
    ensure!(
        b.value("#list-form input[name=q]").await? == "trading",
        "the search box keeps the words"
    );

    // Sort by a column header, then the other way.
    b.click_and_load("[data-test=sort-city]").await?;
    b.wait_for_text("[data-test=sort-city]", "City ▲").await?;
    ensure!(
        row_titles(&b).await? == ["Beta Trading", "Gamma Soft Trading", "Alpha Trading"],
        "sorted by city (Beijing, Shanghai, Wuhan): {:?}",
        row_titles(&b).await?
    );
    ensure!(
        b.value("#list-form input[name=q]").await? == "trading",
        "sorting keeps the search"
    );
    b.click_and_load("[data-test=sort-city]").await?;
    b.wait_for_text("[data-test=sort-city]", "City ▼").await?;
    ensure!(
        row_titles(&b).await? == ["Alpha Trading", "Gamma Soft Trading", "Beta Trading"],
        "sorted by city, descending: {:?}",
        row_titles(&b).await?
    );

    b.fill("#list-form input[name=q]", "soft").await?;
    press_enter(&b, "#list-form input[name=q]").await?;
    b.wait_for_path("searched again", |p| p.contains("q=soft")).await?;
    ensure!(row_titles(&b).await? == ["Gamma Soft Trading"]);

    // Page through everything (50 a page).
    b.fill("#list-form input[name=q]", "").await?;
    press_enter(&b, "#list-form input[name=q]").await?;
    b.click_and_load("[data-test=sort-name]").await?;
    b.wait_for_text("[data-test=sort-name]", "Company name ▲").await?;
    b.wait_for_text("[data-test=total]", "55 records").await?;
    let first = row_titles(&b).await?;
    ensure!(first.len() == 50, "a page of 50, not {}", first.len());
    ensure!(first[0] == "Alpha Trading" && first[49] == "Filler 48", "{first:?}");
    ensure!(
        b.find_all("[data-test=first-page]").await?.is_empty(),
        "no first-page link on it"
    );
    b.click_and_load("[data-test=next-page]").await?;
    let second = row_titles(&b).await?;
    ensure!(
        second == ["Filler 49", "Filler 50", "Filler 51", "Filler 52", "Gamma Soft Trading"],
        "the rest on page two: {second:?}"
    );
    ensure!(
        b.find_all("[data-test=next-page]").await?.is_empty(),
        "page two is the last"
    );
    b.click_and_load("[data-test=first-page]").await?;
    ensure!(row_titles(&b).await? == first, "back on page one");

    b.close().await
}

async fn create_a_company_through_the_form(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    sign_in(&b).await?;
    b.goto("/app/l/company").await?;
    b.click_and_load("[data-test=new]").await?;
    b.wait_for_path("the new company form", |p| p == "/app/r/company/new")
        .await?;
    b.wait_for_text("h1", "New Company").await?;

    // The required name left empty; other fields filled in.
    b.fill("#f-city", "Hangzhou").await?;
    b.fill("#f-employees", "42").await?;
    b.find("#f-industry").await?.select_by_label("Software and IT").await?;
    b.click("#f-key_customer").await?;
    b.click_and_load("[data-test=save]").await?;
    b.wait_for_text("[data-test=form-errors]", "Please correct the highlighted fields.")
        .await?;
    b.wait_for_text("[data-field=name] [data-test=field-error]", "This field is required.")
        .await?;
    ensure!(
        b.find_all("[data-test=field-error]").await?.len() == 1,
        "only the name is in error"
    );
    ensure!(b.value("#f-city").await? == "Hangzhou", "the city is kept");
    ensure!(b.value("#f-employees").await? == "42", "the employees are kept");
    ensure!(b.value("#f-industry").await? == "software", "the industry is kept");
    ensure!(
        b.find("#f-key_customer").await?.is_selected().await?,
        "the key-customer box stays ticked"
    );

    b.fill("#f-name", "Hangzhou Tea Co").await?;
    b.click_and_load("[data-test=save]").await?;
    let path = b
        .wait_for_path("the new record's page", |p| {
            p.starts_with("/app/r/company/") && p.ends_with("?notice=saved")
        })
        .await?;
    b.wait_for_text("[data-test=notice]", "Saved.").await?;
    b.wait_for_text("h1", "Hangzhou Tea Co").await?;
    for (field, shown) in [
        ("city", "Hangzhou"),
        ("employees", "42"),
        ("industry", "Software and IT"),
        ("key_customer", "Yes"),
        ("company_type", "Prospect"),
    ] {
        b.wait_for_text(&format!("[data-field={field}] .value"), shown).await?;
    }
    let saved = app.get(&format!("/api/v1/records/company/{}", id_in(&path))).await?;
    ensure!(saved.status == StatusCode::OK, "{}", saved.body);
    ensure!(saved.body["name"] == "Hangzhou Tea Co" && saved.body["employees"] == 42);

    b.close().await
}

async fn new_related_contact_with_a_lookup(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    let tea = app.create("company", json!({ "name": "Hangzhou Tea Co" })).await?;
    let silk = app.create("company", json!({ "name": "Suzhou Silk Ltd" })).await?;
    let steel = app.create("company", json!({ "name": "Suzhou Steel" })).await?;
    let tea_id = tea["id"].as_str().context("id")?;
    let silk_id = silk["id"].as_str().context("id")?;
    // Managers at two companies, for the Reports-to picker.
    app.create("contact", json!({ "full_name": "Silk Boss", "company": silk_id }))
        .await?;
    app.create("contact", json!({ "full_name": "Steel Boss", "company": steel["id"] }))
        .await?;
    sign_in(&b).await?;
    b.goto(&format!("/app/r/company/{tea_id}")).await?;

    // The related contacts are on their own tab.
    b.click("[data-tab=contacts]").await?;
    b.wait_for_text("[data-test=related-contact]", "No records.").await?;
    b.click_and_load("[data-test=related-contact] [data-test=related-new]")
        .await?;
    b.wait_for_path("the new contact form", |p| {
        p == format!("/app/r/contact/new?company={tea_id}")
    })
    .await?;
    ensure!(
        b.value("#f-company").await? == "Hangzhou Tea Co",
        "the company is prefilled"
    );
    ensure!(b.value("input[type=hidden][name=company]").await? == tea_id);

    // Type-ahead: a few letters, then a suggestion.
    b.fill("#f-full_name", "Chen Jing").await?;
    b.fill("#f-company", "").await?;
    b.type_into("#f-company", "suz").await?;
    // Only the matching companies are suggested (focusing the box may show
    // every company first: wait for the answer to what was typed).
    b.wait_for_texts(
        "[data-field=company] [role=option]",
        &["Suzhou Silk Ltd", "Suzhou Steel"],
    )
    .await?;
    ensure!(
        b.value("input[type=hidden][name=company]").await?.is_empty(),
        "typing clears the chosen company until one is picked"
    );
    b.click("[data-field=company] [role=option][data-label='Suzhou Silk Ltd']")
        .await?;
    ensure!(b.value("#f-company").await? == "Suzhou Silk Ltd");
    ensure!(b.value("input[type=hidden][name=company]").await? == silk_id);
    ensure!(
        b.find_all("[data-field=company] [role=option]").await?.is_empty(),
        "the suggestions close"
    );

    // Reports to: only the people of the company now chosen on the form.
    b.type_into("#f-reports_to", "boss").await?;
    b.wait_for_texts("[data-field=reports_to] [role=option]", &["Silk Boss"])
        .await?;
    b.click("[data-field=reports_to] [role=option][data-label='Silk Boss']")
        .await?;

    b.click_and_load("[data-test=save]").await?;
    b.wait_for_path("the new contact's page", |p| {
        p.starts_with("/app/r/contact/") && p.ends_with("?notice=saved")
    })
    .await?;
    b.wait_for_text("h1", "Chen Jing").await?;
    b.wait_for_text("[data-field=company] .value a", "Suzhou Silk Ltd")
        .await?;
    b.wait_for_text("[data-field=reports_to] .value a", "Silk Boss").await?;

    // The contact is in Suzhou Silk's related list, not Hangzhou Tea's.
    b.click_and_load("[data-field=company] .value a").await?;
    b.wait_for_path("the company", |p| p == format!("/app/r/company/{silk_id}"))
        .await?;
    b.click("[data-tab=contacts]").await?;
    // (The organisation chart: under the manager chosen.)
    b.wait_for_texts(
        "[data-test=related-contact] [data-test=row-title]",
        &["Silk Boss", "Chen Jing"],
    )
    .await?;
    b.wait_for_text(
        "[data-test=related-contact] [data-depth='1'] [data-test=row-title]",
        "Chen Jing",
    )
    .await?;
    let listed = app.get(&format!("/api/v1/records/contact?company=eq.{tea_id}")).await?;
    ensure!(
        listed.body["data"].as_array().map(Vec::len) == Some(0),
        "{}",
        listed.body
    );

    b.close().await
}

async fn an_edit_conflict_keeps_both_values(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    let made = app
        .create("company", json!({ "name": "Ningbo Port Co", "city": "Ningbo" }))
        .await?;
    let id = made["id"].as_str().context("id")?;
    sign_in(&b).await?;
    b.goto(&format!("/app/r/company/{id}")).await?;
    b.click_and_load("[data-test=edit]").await?;
    b.wait_for_path("the edit form", |p| p == format!("/app/r/company/{id}/edit"))
        .await?;
    ensure!(b.value("#f-city").await? == "Ningbo");

    // Someone else saves first, through the API.
    let theirs = app
        .patch(
            &format!("/api/v1/records/company/{id}"),
            1,
            &json!({ "city": "Shanghai" }),
        )
        .await?;
    ensure!(theirs.status == StatusCode::OK, "{}", theirs.body);

    b.fill("#f-city", "Suzhou").await?;
    b.click_and_load("[data-test=save]").await?;
    b.wait_for_text(
        "[data-test=conflict]",
        "Someone else changed this record while you were editing it.",
    )
    .await?;
    b.wait_for_text("[data-field=city] [data-test=their-value]", "Now saved: Shanghai")
        .await?;
    ensure!(b.value("#f-city").await? == "Suzhou", "my value is kept in the form");
    ensure!(b.value("#f-name").await? == "Ningbo Port Co");
    let stored = app.get(&format!("/api/v1/records/company/{id}")).await?;
    ensure!(
        stored.body["city"] == "Shanghai" && stored.body["row_version"] == 2,
        "nothing overwritten: {}",
        stored.body
    );

    // Saving again is a deliberate choice: it keeps my version.
    b.click_and_load("[data-test=save]").await?;
    b.wait_for_text("[data-test=notice]", "Saved.").await?;
    b.wait_for_text("[data-field=city] .value", "Suzhou").await?;
    let stored = app.get(&format!("/api/v1/records/company/{id}")).await?;
    ensure!(stored.body["city"] == "Suzhou", "{}", stored.body);

    b.close().await
}

async fn delete_to_the_recycle_bin_and_restore(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    let made = app.create("company", json!({ "name": "Wenzhou Shoes" })).await?;
    app.create("company", json!({ "name": "Xiamen Tea" })).await?;
    let id = made["id"].as_str().context("id")?;
    sign_in(&b).await?;
    b.goto(&format!("/app/r/company/{id}")).await?;
    b.click_and_load("[data-test=delete]").await?;
    b.wait_for_path("the list", |p| p.starts_with("/app/l/company")).await?;
    b.wait_for_text("[data-test=notice]", "The record was moved to the recycle bin.")
        .await?;
    ensure!(row_titles(&b).await? == ["Xiamen Tea"], "{:?}", row_titles(&b).await?);

    b.click_and_load("[data-test=recycle-bin]").await?;
    b.wait_for_path("the recycle bin", |p| p == "/app/bin/company").await?;
    b.wait_for_text("h1", "Companies · Recycle bin").await?;
    ensure!(
        row_titles(&b).await? == ["Wenzhou Shoes"],
        "{:?}",
        row_titles(&b).await?
    );
    b.click("#bulk-form input[name=id][aria-label='Wenzhou Shoes']").await?;
    b.click_and_load("#bulk-form button[name=action][value=restore]")
        .await?;
    b.wait_for_text("[data-test=notice]", "The record was restored.")
        .await?;
    b.wait_for_text("#bulk-form", "No records.").await?;

    b.wait_for_text("[data-test=back-to-list]", "Back to the list").await?;
    b.click_and_load("[data-test=back-to-list]").await?;
    b.wait_for_path("the list", |p| p == "/app/l/company").await?;
    ensure!(
        row_titles(&b).await? == ["Wenzhou Shoes", "Xiamen Tea"],
        "{:?}",
        row_titles(&b).await?
    );
    b.click_and_load("#bulk-form [data-test=row-title]").await?;
    b.wait_for_text("h1", "Wenzhou Shoes").await?;

    b.close().await
}

async fn switch_language_and_back(backend: TestBackend) -> Result<()> {
    let Some((app, b)) = open(backend).await? else {
        return Ok(());
    };
    let made = app
        .create(
            "company",
            json!({ "name": "Acme 上海", "city": "Shanghai", "key_customer": true }),
        )
        .await?;
    let id = made["id"].as_str().context("id")?;
    let page = format!("/app/r/company/{id}");
    sign_in(&b).await?;
    b.goto(&page).await?;
    b.wait_for_text("[data-field=name] label", "Company name").await?;

    b.expect_load().await?;
    b.find("#lang-switch").await?.select_by_label("简体中文").await?;
    b.wait_for_load("choosing 简体中文").await?;
    b.wait_for_path("the same page", |p| p == page).await?;
    b.wait_for_text("[data-field=name] label", "公司名称").await?;
    let text = b.page_text().await?;
    for zh in ["市场营销", "编辑", "删除", "概况", "重点客户", "是"] {
        ensure!(text.contains(zh), "the Chinese page shows {zh}: {text:?}");
    }
    ensure!(
        b.find("html").await?.attr("lang").await?.as_deref() == Some("zh-CN"),
        "the page says it is Chinese"
    );
    // The choice is kept on the user: the next page is Chinese too.
    b.goto("/app/l/company").await?;
    b.wait_for_text("[data-test=new]", "新建").await?;

    b.expect_load().await?;
    b.find("#lang-switch").await?.select_by_label("English").await?;
    b.wait_for_load("choosing English").await?;
    b.wait_for_text("[data-test=new]", "New").await?;
    b.wait_for_text("[data-test=sidebar]", "Key customers").await?;
    b.wait_for_text("h1", "Companies").await?;

    b.close().await
}

/// A user whose computer is set to Shanghai time reads and edits times on
/// that clock without setting anything: the page's script tells the server
/// the browser's zone at sign-in. Saving a form leaves an untouched time
/// where it was.
async fn times_on_the_browsers_clock(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start_in_zone(&app.base, "Asia/Shanghai").await? else {
        return Ok(());
    };
    let call = app
        .create(
            "activity",
            json!({"subject": "Call Li Wei", "starts_at": "2026-11-03T20:05:00Z"}),
        )
        .await?;
    let id = call["id"].as_str().context("id")?;
    sign_in(&b).await?;
    b.goto(&format!("/app/r/activity/{id}")).await?;
    b.wait_for_text("[data-field=starts_at] .value", "4 Nov 2026 04:05 CST")
        .await?;

    b.goto(&format!("/app/r/activity/{id}/edit")).await?;
    ensure!(
        b.value("#f-starts_at").await? == "2026-11-04T04:05",
        "the input holds Shanghai time"
    );
    b.fill("#f-subject", "Call Li Wei again").await?;
    b.click_and_load("[data-test=save]").await?;
    b.wait_for_text("h1", "Call Li Wei again").await?;
    b.wait_for_text("[data-field=starts_at] .value", "4 Nov 2026 04:05 CST")
        .await?;
    let saved = app.get(&format!("/api/v1/records/activity/{id}")).await?;
    ensure!(
        saved.body["starts_at"]
            .as_str()
            .is_some_and(|s| s.starts_with("2026-11-03T20:05:00")),
        "the instant did not move: {}",
        saved.body
    );
    b.close().await
}

on_both_backends!(
    times_on_the_browsers_clock,
    sign_in_and_see_the_modules,
    search_sort_and_page_a_list,
    create_a_company_through_the_form,
    new_related_contact_with_a_lookup,
    an_edit_conflict_keeps_both_values,
    delete_to_the_recycle_bin_and_restore,
    switch_language_and_back,
);

/// Refreshes the screenshots of the user guide (docs/screenshots/*.png):
/// `cargo test -p relata-tests --test browser -- --ignored screenshots`.
/// Chinese needs a CJK font (`apt-get install fonts-wqy-microhei`); the other
/// tests read text from the page, not pixels, and need none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run on purpose"]
async fn screenshots() -> Result<()> {
    let fonts = std::process::Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .context("running fc-list to find a Chinese font")?;
    ensure!(
        !fonts.stdout.is_empty(),
        "no Chinese font: the Chinese screenshot would show boxes; apt-get install fonts-wqy-microhei"
    );
    let Some((app, b)) = open(TestBackend::Sqlite).await? else {
        return Ok(());
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    let mut ids = Vec::new();
    for (name, company_type, industry, city, phone, key) in [
        (
            "Acme 上海",
            "customer",
            "software",
            "Shanghai",
            "+86 21 5555 0100",
            true,
        ),
        (
            "Beijing Rail Parts",
            "prospect",
            "manufacturing",
            "Beijing",
            "+86 10 5555 0101",
            false,
        ),
        (
            "Chengdu Pandas Travel",
            "partner",
            "retail",
            "Chengdu",
            "+86 28 5555 0102",
            false,
        ),
        (
            "Guangzhou Textiles",
            "customer",
            "manufacturing",
            "Guangzhou",
            "+86 20 5555 0103",
            true,
        ),
        (
            "Hangzhou Tea Co",
            "customer",
            "retail",
            "Hangzhou",
            "+86 571 5555 0104",
            true,
        ),
        (
            "Nanjing Software",
            "supplier",
            "software",
            "Nanjing",
            "+86 25 5555 0105",
            false,
        ),
        (
            "Shenzhen Circuits",
            "competitor",
            "manufacturing",
            "Shenzhen",
            "+86 755 5555 0106",
            false,
        ),
        (
            "Suzhou Silk Ltd",
            "prospect",
            "retail",
            "Suzhou",
            "+86 512 5555 0107",
            false,
        ),
    ] {
        let r = app
            .create(
                "company",
                json!({ "name": name, "company_type": company_type, "industry": industry,
                        "city": city, "phone": phone, "key_customer": key, "employees": 120 }),
            )
            .await?;
        ids.push(r["id"].as_str().context("id")?.to_owned());
    }
    // Acme's people, for the organisation chart: who reports to whom.
    let mut people: Vec<(&str, String)> = Vec::new();
    for (name, mail, title, boss) in [
        ("张明", "zhang.ming", "总经理", None),
        ("Wang Fang", "wang.fang", "CTO", Some("张明")),
        ("Li Wei", "li.wei", "Purchasing manager", Some("张明")),
        ("陈静", "chen.jing", "IT 经理", Some("Wang Fang")),
        ("赵磊", "zhao.lei", "工程师", Some("陈静")),
        ("Zhou Lan", "zhou.lan", "Engineer", Some("陈静")),
    ] {
        let reports_to = boss.and_then(|b| people.iter().find(|p| p.0 == b)).map(|p| p.1.clone());
        let r = app
            .create(
                "contact",
                json!({ "full_name": name, "job_title": title, "company": ids[0], "reports_to": reports_to,
                        "email": format!("{mail}@acme.example") }),
            )
            .await?;
        people.push((name, r["id"].as_str().context("id")?.to_owned()));
    }
    sign_in(&b).await?;
    b.screenshot(&dir.join("home.png")).await?;

    b.goto("/app/l/company").await?;
    b.wait_for_text("[data-test=total]", "8 records").await?;
    b.screenshot(&dir.join("list.png")).await?;

    b.goto("/app/r/company/new").await?;
    b.fill("#f-city", "Ningbo").await?;
    b.find("#f-industry").await?.select_by_label("Manufacturing").await?;
    b.fill("#f-employees", "-5").await?;
    b.click_and_load("[data-test=save]").await?;
    b.find("[data-field=name] [data-test=field-error]").await?;
    b.screenshot(&dir.join("form-error.png")).await?;

    b.goto(&format!("/app/r/company/{}", ids[0])).await?;
    b.expect_load().await?;
    b.find("#lang-switch").await?.select_by_label("简体中文").await?;
    b.wait_for_load("choosing 简体中文").await?;
    b.wait_for_text("[data-field=name] label", "公司名称").await?;
    b.screenshot(&dir.join("record-zh.png")).await?;

    b.click("[data-tab=contacts]").await?;
    b.wait_for_text(
        "[data-test=related-contact] [data-depth='2'] [data-test=row-title]",
        "陈静",
    )
    .await?;
    b.screenshot(&dir.join("org-chart.png")).await?;

    b.close().await
}
