//! The layout at a common laptop size (1366 x 768), in a real browser:
//!
//! - every list of the model, in English and in Chinese, on the `small`
//!   demo data: the page never scrolls sideways, the table fits its
//!   container unless that container is a deliberate horizontal scroll
//!   (with the first column kept in view), no column is off screen and no
//!   column header is cut;
//! - a command's dialog opens over the page, not inside the page header
//!   (the header keeps its height and its one row);
//! - the sign-in page wears the app's stylesheet.
//!
//! Screenshots of every list are kept under
//! `$CARGO_TARGET_DIR/screenshots/layout/<backend>/<lang>/<list>.png`.

use anyhow::{bail, ensure, Context, Result};
use relata::web::ui::i18n::Locale;
use relata_tests::{on_both_backends, stock_metadata, Chrome, TestApp, TestBackend, ADMIN_PASSWORD};
use serde::Deserialize;

use crate::save_everything::use_language;

/// A common laptop screen.
const SCREEN: (u32, u32) = (1366, 768);

/// How the list page's table sits in the page.
const MEASURE: &str = r#"
const doc = document.documentElement;
const table = document.querySelector('#bulk-form table.records');
if (!table || document.readyState !== 'complete') return null;
const wrap = table.parentElement;
const scroller = /(auto|scroll)/.test(getComputedStyle(wrap).overflowX);
const t = (s) => (s || '').replace(/\s+/g, ' ').trim();
const ths = Array.from(table.querySelectorAll('thead tr:first-child th:not(.select)'));
const right = Math.min(doc.clientWidth, scroller ? wrap.getBoundingClientRect().right : doc.clientWidth);
return {
  page_overflow: doc.scrollWidth - doc.clientWidth,
  table_width: table.scrollWidth,
  container_width: wrap.clientWidth,
  scroller,
  sticky_first: ths.length > 0 && getComputedStyle(ths[0]).position === 'sticky',
  columns: ths.map((th) => ({
    text: t(th.textContent),
    off_screen: !scroller && th.getBoundingClientRect().right > right + 1,
    cut: th.scrollWidth > th.clientWidth + 1,
  })),
  rows: table.querySelectorAll('tbody tr td:not(.empty)').length > 0,
};
"#;

#[derive(Debug, Deserialize)]
struct Column {
    text: String,
    off_screen: bool,
    cut: bool,
}

#[derive(Debug, Deserialize)]
struct Measured {
    page_overflow: i64,
    table_width: i64,
    container_width: i64,
    scroller: bool,
    sticky_first: bool,
    columns: Vec<Column>,
    rows: bool,
}

/// What is wrong with a list's layout (empty: nothing).
fn judge(m: &Measured) -> Vec<String> {
    let mut out = Vec::new();
    if m.page_overflow > 0 {
        out.push(format!("the page scrolls sideways by {} px", m.page_overflow));
    }
    if m.table_width > m.container_width {
        if !m.scroller {
            out.push(format!(
                "the table is {} px wide in {} px, with no horizontal scroll of its own",
                m.table_width, m.container_width
            ));
        } else if !m.sticky_first {
            out.push("the table scrolls sideways but its first column does not stay in view".into());
        }
    }
    let off: Vec<&str> = m
        .columns
        .iter()
        .filter(|c| c.off_screen)
        .map(|c| c.text.as_str())
        .collect();
    if !off.is_empty() {
        out.push(format!("columns off screen: {off:?}"));
    }
    let cut: Vec<&str> = m.columns.iter().filter(|c| c.cut).map(|c| c.text.as_str()).collect();
    if !cut.is_empty() {
        out.push(format!("column headers cut: {cut:?}"));
    }
    out
}

fn backend_name(backend: TestBackend) -> &'static str {
    match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    }
}

async fn measure(b: &Chrome) -> Result<Measured> {
    let deadline = std::time::Instant::now() + relata_tests::browser::WAIT;
    loop {
        let v = b.client.execute(MEASURE, Vec::new()).await?;
        if !v.is_null() {
            return Ok(serde_json::from_value(v)?);
        }
        if std::time::Instant::now() > deadline {
            bail!("no list table on {}", b.path().await?);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn every_list_fits_a_laptop_screen(backend: TestBackend) -> Result<()> {
    let started = std::time::Instant::now();
    let Some(app) = crate::browser_tour::with_small_demo(backend).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    b.set_viewport(SCREEN.0, SCREEN.1).await?;
    b.sign_in("admin", ADMIN_PASSWORD).await?;
    let model = app.engine.model();
    let mut lists: Vec<&String> = model.views.lists.keys().collect();
    lists.sort();
    let root = crate::browser_tour::screenshot_root()?
        .with_file_name("layout")
        .join(backend_name(backend));
    let mut problems = Vec::new();
    let mut empty = Vec::new();
    for locale in [Locale::En, Locale::ZhCn] {
        use_language(&b, locale).await?;
        for list in &lists {
            b.goto(&format!("/app/l/{list}")).await?;
            let m = measure(&b).await.with_context(|| format!("measuring {list}"))?;
            let shot = root.join(locale.as_str()).join(format!("{list}.png"));
            b.screenshot(&shot).await?;
            if !m.rows {
                empty.push(format!("{} {list}", locale.as_str()));
            }
            for p in judge(&m) {
                problems.push(format!("{} {list}: {p} ({})", locale.as_str(), shot.display()));
            }
        }
    }
    b.close().await?;
    println!(
        "{}: measured {} lists in two languages at {}x{} in {:.1?}; screenshots in {}",
        backend_name(backend),
        lists.len(),
        SCREEN.0,
        SCREEN.1,
        started.elapsed(),
        root.display()
    );
    if !empty.is_empty() {
        println!("lists with no rows on the small demo data (measured by their headers only): {empty:?}");
    }
    if !problems.is_empty() {
        bail!(
            "{} list(s) do not fit {}x{}:\n{}",
            problems.len(),
            SCREEN.0,
            SCREEN.1,
            problems.join("\n")
        );
    }
    Ok(())
}

/// A record page whose form has a command with parameters (its dialog).
fn command_with_params(app: &TestApp) -> Option<(String, String)> {
    let model = app.engine.model();
    let mut forms: Vec<_> = model.views.forms.values().collect();
    forms.sort_by(|a, b| a.entity.cmp(&b.entity));
    forms.into_iter().find_map(|f| {
        let e = model.model.entities.get(&f.entity)?;
        f.buttons.iter().find_map(|b| {
            let c = e.commands.iter().find(|c| c.name == b.command)?;
            (!c.params.is_empty()).then(|| (f.entity.clone(), c.name.clone()))
        })
    })
}

/// The page header's box: height, and the tops of the heading and the
/// actions (one row: the same line).
const HEAD_BOX: &str = r#"
const head = document.querySelector('main .page-head');
const r = head.getBoundingClientRect();
const dialog = document.querySelector(arguments[0] + ' form');
const d = dialog ? dialog.getBoundingClientRect() : null;
return { height: r.height, dialog_visible: !!(d && d.width > 0 && d.height > 0),
         dialog_inside: !!(d && d.top >= r.top && d.bottom <= r.bottom + 1),
         dialog_right: d ? d.right : 0, page: document.documentElement.clientWidth,
         page_overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth };
"#;

async fn command_dialog_opens_over_the_page(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let (entity, command) = command_with_params(&app).context("no command with parameters in the stock package")?;
    let id = crate::save_everything::plan::create_record(&app, &app.engine.model(), &entity, 0).await?;
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    b.set_viewport(SCREEN.0, SCREEN.1).await?;
    b.sign_in("admin", ADMIN_PASSWORD).await?;
    for locale in [Locale::En, Locale::ZhCn] {
        use_language(&b, locale).await?;
        b.goto(&format!("/app/r/{entity}/{id}")).await?;
        let scope = format!("[data-test=\"command-{command}\"]");
        let closed = b.client.execute(HEAD_BOX, vec![serde_json::json!(scope)]).await?;
        b.click(&format!("{scope} summary")).await?;
        let open = b.client.execute(HEAD_BOX, vec![serde_json::json!(scope)]).await?;
        let shot = crate::browser_tour::screenshot_root()?
            .with_file_name("layout")
            .join(backend_name(backend))
            .join(locale.as_str())
            .join(format!("command-{entity}-{command}.png"));
        b.screenshot(&shot).await?;
        let at = format!("{} {entity} {command} ({})", locale.as_str(), shot.display());
        ensure!(open["dialog_visible"] == true, "{at}: the dialog did not open: {open}");
        ensure!(
            open["height"] == closed["height"],
            "{at}: opening the dialog changed the page header's height from {} to {}",
            closed["height"],
            open["height"]
        );
        ensure!(
            open["dialog_inside"] == false,
            "{at}: the dialog opens inside the page header: {open}"
        );
        ensure!(
            open["page_overflow"].as_f64() == Some(0.0) && open["dialog_right"].as_f64() <= open["page"].as_f64(),
            "{at}: the dialog runs off the page: {open}"
        );
    }
    b.close().await
}

async fn sign_in_page_wears_the_app_stylesheet(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    b.set_viewport(SCREEN.0, SCREEN.1).await?;
    b.goto("/app/sign-in").await?;
    b.find("#username").await?;
    let styled = b
        .client
        .execute(
            r#"const css = (el, p) => getComputedStyle(el).getPropertyValue(p);
               const button = document.querySelector('form[action="/app/sign-in"] button[type=submit]');
               const card = document.querySelector('form[action="/app/sign-in"]').closest('.card, .sign-in-card, main');
               const r = card.getBoundingClientRect();
               return { sheets: Array.from(document.styleSheets).map((s) => s.href || ''),
                        body: css(document.body, 'background-color'),
                        button: css(button, 'background-color'),
                        card: css(card, 'background-color'),
                        centred: Math.abs((r.left + r.right) / 2 - document.documentElement.clientWidth / 2) < 2,
                        width: r.width };"#,
            Vec::new(),
        )
        .await?;
    let shot = crate::browser_tour::screenshot_root()?
        .with_file_name("layout")
        .join(backend_name(backend))
        .join("sign-in.png");
    b.screenshot(&shot).await?;
    b.close().await?;
    let at = shot.display();
    ensure!(
        styled["sheets"].as_array().is_some_and(|s| s
            .iter()
            .any(|h| h.as_str().is_some_and(|h| h.ends_with("/app/assets/app.css")))),
        "{at}: the sign-in page does not load the app's stylesheet: {styled}"
    );
    // The app's colours: the page's grey, the accent on the button, a white card.
    ensure!(styled["body"] == "rgb(246, 247, 249)", "{at}: {styled}");
    ensure!(styled["button"] == "rgb(37, 99, 235)", "{at}: {styled}");
    ensure!(styled["card"] == "rgb(255, 255, 255)", "{at}: {styled}");
    ensure!(
        styled["centred"] == true && styled["width"].as_f64().is_some_and(|w| w < 600.0),
        "{at}: the sign-in form is not a centred card: {styled}"
    );
    Ok(())
}

on_both_backends!(
    every_list_fits_a_laptop_screen,
    command_dialog_opens_over_the_page,
    sign_in_page_wears_the_app_stylesheet
);
