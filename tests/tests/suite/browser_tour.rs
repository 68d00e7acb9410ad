//! A tour of the whole stock application in a real browser: signed in, the
//! default list, a real record's page and the new-record form of every
//! entity, in English and then in Chinese (switched the way users switch,
//! with the language select at the top of the page), on both backends.
//!
//! The entities and their lists, forms and labels come from the engine's
//! compiled model at run time, so a new entity is toured without a change
//! here. On every page the test reads what the browser shows and finds:
//!
//! - no server error: the page answered 200 and is not the error page, and
//!   shows no error banner;
//! - no missing label: headings, column headers, field labels, tabs, section
//!   titles, related lists and command buttons show the model's label in the
//!   page's language, never a raw identifier (`full_name`, `{entity}`, `??`,
//!   `none`), and values show labels, not pick-list codes or record ids;
//! - no untranslated text: in Chinese, no text of the page outside the data
//!   (record values) is English unless the model's Chinese text is that very
//!   text; in English, no Chinese outside the data.
//!
//! Records come from the `small` demo data; an entity the demo data leaves
//! empty gets one record made through the API with its required fields.
//! A screenshot of every page is kept under
//! `$CARGO_TARGET_DIR/screenshots/tour/<backend>/<lang>/<entity>-<page>.png`
//! (the path is printed). Needs Chromium (see tests/src/browser.rs); the
//! screenshots need a CJK font (`fonts-wqy-microhei`) to be readable.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use relata::engine::demo::{DemoOptions, DemoSize, NoProgress, DEFAULT_SEED};
use relata::engine::CompiledModel;
use relata::model::{EntityDef, FieldDef, FieldType, Labels};
use relata::web::ui::i18n::{Locale, MESSAGES};
use relata_tests::browser::WAIT;
use relata_tests::{on_both_backends, stock_metadata, Chrome, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// What the browser shows of a page, read in one script.
const READ_PAGE: &str = r#"
if (!arguments[1] && (document.readyState !== 'complete' || !document.querySelector('main h1'))) return null;
const t = (s) => (s || '').replace(/\s+/g, ' ').trim();
const all = (sel, root) => Array.from((root || document).querySelectorAll(sel));
const nav = performance.getEntriesByType('navigation')[0];
const data = 'tbody td:not(.empty), .value, [data-test=user], .breadcrumbs [aria-current], .lookup-results, .file-list'
  + (arguments[0] ? ', main .page-head h1' : '');
const chrome = [], values = [];
const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walk.nextNode()) {
  const el = walk.currentNode.parentElement;
  if (!el || el.closest('script, style, noscript')) continue;
  const s = t(walk.currentNode.nodeValue);
  if (!s) continue;
  (el.closest(data) ? values : chrome).push(s);
}
for (const el of all('[placeholder]')) { if (t(el.placeholder)) chrome.push(t(el.placeholder)); }
const h1 = document.querySelector('main h1');
return {
  status: nav && nav.responseStatus ? nav.responseStatus : null,
  path: location.pathname,
  first_row: (document.querySelector('#bulk-form [data-test=row-title]') || {}).pathname || null,
  lang: document.documentElement.lang,
  h1: h1 ? t(h1.textContent) : '',
  alerts: all('main [role=alert], main .alert').map((e) => t(e.textContent)),
  columns: all('#bulk-form thead tr:first-child th:not(.select)').map((e) => t(e.textContent)),
  rows: all('#bulk-form tbody tr').filter((r) => !r.querySelector('td.empty'))
    .map((r) => all('td:not(.select)', r).map((d) => t(d.textContent))),
  choosable: all('.chooser label').map((l) => ({ name: l.querySelector('input').value, text: t(l.textContent) })),
  fields: all('[data-field]').map((d) => {
    const label = d.querySelector(':scope > label');
    const value = d.querySelector(':scope > .value');
    const help = d.querySelector(':scope > .help');
    return {
      name: d.dataset.field,
      label: label ? t(label.textContent) : '',
      value: value ? t(value.textContent) : null,
      options: all('select option', d).map((o) => t(o.textContent)).filter((s) => s),
      help: help ? t(help.textContent) : null,
    };
  }),
  tabs: all('[data-tab]').map((a) => ({ name: a.dataset.tab, text: t(a.textContent) })),
  legends: all('fieldset.section > legend').map((e) => t(e.textContent)),
  related: all('section.related').map((s) => ({
    entity: s.dataset.test.replace(/^related-/, ''),
    title: t((s.querySelector('h2') || {}).textContent),
    columns: all('thead th', s).map((e) => t(e.textContent)),
    rows: all('tbody tr', s).filter((r) => !r.querySelector('td.empty'))
      .map((r) => all('td', r).map((d) => t(d.textContent))),
  })),
  commands: all('[data-test^=command-]').map((e) => ({
    name: e.dataset.test.replace(/^command-/, ''),
    text: t((e.querySelector('summary') || e.querySelector('button') || {}).textContent),
  })),
  files: all('section.files').map((s) => ({
    name: s.id.replace(/^files-/, ''),
    text: t((s.querySelector('h3') || {}).textContent),
  })),
  chrome,
  values,
};
"#;

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
    text: String,
}

#[derive(Debug, Deserialize)]
struct FieldShown {
    name: String,
    label: String,
    value: Option<String>,
    options: Vec<String>,
    help: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RelatedShown {
    entity: String,
    title: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Shown {
    status: Option<u16>,
    path: String,
    first_row: Option<String>,
    lang: String,
    h1: String,
    alerts: Vec<String>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    choosable: Vec<Named>,
    fields: Vec<FieldShown>,
    tabs: Vec<Named>,
    legends: Vec<String>,
    related: Vec<RelatedShown>,
    commands: Vec<Named>,
    files: Vec<Named>,
    chrome: Vec<String>,
    values: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    View,
    New,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::View => "view",
            Kind::New => "new",
        }
    }
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}'))
}

fn has_latin_word(s: &str) -> bool {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_alphabetic() { run + 1 } else { 0 };
        if run >= 2 {
            return true;
        }
    }
    false
}

/// `full_name`, `sales_order`: an identifier, not a label.
fn is_snake_identifier(s: &str) -> bool {
    let mut parts = s.split('_');
    s.contains('_')
        && parts
            .next()
            .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_lowercase()))
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.split('_').all(|p| !p.is_empty())
}

/// `{entity}`, `{n}`: a placeholder left in a text.
fn has_placeholder(s: &str) -> bool {
    s.match_indices('{').any(|(at, _)| {
        let rest = &s[at + 1..];
        rest.find('}').is_some_and(|end| {
            end > 0
                && rest[..end]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
    })
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The texts of the model and the UI, to tell a label from a leftover.
struct Texts {
    /// Every text meant for Chinese pages (the model's and the UI's).
    zh: HashSet<String>,
    /// Every text meant for English pages.
    en: HashSet<String>,
    /// Every identifier of the model (entities, fields, lists, tabs,
    /// commands, pick lists and their codes).
    identifiers: HashSet<String>,
}

fn labels_of(model: &CompiledModel) -> Vec<&Labels> {
    let m = &model.model;
    let mut out: Vec<&Labels> = Vec::new();
    for e in m.entities.values() {
        out.extend([&e.label, &e.plural_label]);
        for f in &e.fields {
            out.push(&f.label);
            out.extend(f.help.iter());
        }
        for c in &e.commands {
            out.push(&c.label);
            out.extend(c.params.iter().map(|p| &p.label));
        }
    }
    for p in m.picklists.values() {
        out.push(&p.label);
        out.extend(p.values.iter().map(|v| &v.label));
    }
    for f in model.views.forms.values() {
        out.extend(f.label.iter());
        out.extend(f.buttons.iter().filter_map(|b| b.label.as_ref()));
        for t in &f.tabs {
            out.push(&t.label);
            out.extend(t.sections.iter().filter_map(|s| s.label.as_ref()));
            out.extend(t.related.iter().filter_map(|r| r.label.as_ref()));
        }
    }
    out.extend(model.views.lists.values().map(|l| &l.label));
    for md in &model.views.modules {
        out.push(&md.label);
        out.extend(md.items.iter().filter_map(|i| i.label.as_ref()));
    }
    out
}

impl Texts {
    fn new(model: &CompiledModel) -> Texts {
        let mut zh = HashSet::new();
        let mut en = HashSet::new();
        for l in labels_of(model) {
            en.insert(norm(&l.en));
            zh.insert(norm(&l.zh_cn));
        }
        for (_, e, z) in MESSAGES {
            en.insert(norm(e));
            zh.insert(norm(z));
        }
        // The language switch names each language in itself, and the
        // product's name is the same in both.
        for both in ["English", "简体中文", "Relata"] {
            en.insert(both.to_owned());
            zh.insert(both.to_owned());
        }
        let m = &model.model;
        let mut identifiers = HashSet::new();
        for e in m.entities.values() {
            identifiers.insert(e.name.clone());
            identifiers.extend(e.fields.iter().map(|f| f.name.clone()));
            identifiers.extend(e.commands.iter().map(|c| c.name.clone()));
        }
        for p in m.picklists.values() {
            identifiers.insert(p.name.clone());
            identifiers.extend(p.values.iter().map(|v| v.code.clone()));
        }
        identifiers.extend(model.views.lists.keys().cloned());
        for f in model.views.forms.values() {
            identifiers.extend(f.tabs.iter().map(|t| t.name.clone()));
        }
        identifiers.extend(model.views.modules.iter().map(|m| m.name.clone()));
        // An identifier that is also some label is not evidence of anything.
        identifiers.retain(|i| !en.contains(i) && !zh.contains(i));
        Texts { zh, en, identifiers }
    }
}

fn pick(l: &Labels, locale: Locale) -> String {
    norm(&locale.pick(l))
}

/// The problems found on one page, each prefixed with where it is.
struct Findings {
    at: String,
    problems: Vec<String>,
}

impl Findings {
    fn add(&mut self, what: String) {
        self.problems.push(format!("{}: {what}", self.at));
    }

    fn expect(&mut self, what: &str, shown: &str, expected: &str) {
        if norm(shown) != norm(expected) {
            self.add(format!("{what} shows {shown:?}, the model says {expected:?}"));
        }
    }
}

struct Tour<'a> {
    model: &'a CompiledModel,
    texts: &'a Texts,
    locale: Locale,
}

impl Tour<'_> {
    fn field<'e>(e: &'e EntityDef, name: &str) -> Option<&'e FieldDef> {
        e.fields.iter().find(|f| f.name == name)
    }

    /// The label of a list column: a field's, or the UI's for the stamps.
    fn column_label(&self, e: &EntityDef, column: &str) -> Option<String> {
        match Self::field(e, column) {
            Some(f) => Some(pick(&f.label, self.locale)),
            None if column == "created_at" => Some(self.locale.text("created").to_owned()),
            None if column == "updated_at" => Some(self.locale.text("updated").to_owned()),
            None => None,
        }
    }

    /// A value as shown: pick-list values by their label in this language,
    /// yes/no in words, references by their record's name.
    fn check_value(&self, out: &mut Findings, what: &str, f: &FieldDef, shown: &str) {
        let none = self.locale.text("none");
        if shown.is_empty() || shown == none {
            return;
        }
        match f.field_type {
            FieldType::Picklist | FieldType::MultiPicklist => {
                let Some(list) = f.picklist.as_ref().and_then(|p| self.model.model.picklists.get(p)) else {
                    return;
                };
                let labels: HashSet<String> = list.values.iter().map(|v| pick(&v.label, self.locale)).collect();
                let parts: Vec<&str> = if f.field_type == FieldType::Picklist {
                    vec![shown]
                } else {
                    shown.split(", ").collect()
                };
                for part in parts {
                    if !labels.contains(part) {
                        out.add(format!(
                            "{what} ({}) shows {part:?}, not a label of the pick list {} in this language",
                            f.name, list.name
                        ));
                    }
                }
            }
            FieldType::Boolean if shown != self.locale.text("yes") && shown != self.locale.text("no") => {
                out.add(format!("{what} ({}) shows {shown:?} for yes or no", f.name));
            }
            FieldType::Reference if is_uuid(shown) => {
                out.add(format!("{what} ({}) shows the record id {shown}, not its name", f.name));
            }
            _ => {}
        }
    }

    /// The checks of every page, on what the browser shows.
    fn check_page(&self, out: &mut Findings, page: &Shown) {
        let lang = self.locale.as_str();
        if let Some(status) = page.status {
            if status != 200 {
                out.add(format!("answered {status}"));
            }
        }
        if page.lang != lang {
            out.add(format!("the page says it is in {:?}", page.lang));
        }
        if page.h1.is_empty() {
            out.add("no heading".into());
        }
        for key in ["error_title", "not_found", "forbidden"] {
            if page.h1 == self.locale.text(key) {
                out.add(format!("the page is an error page: {:?}", page.h1));
            }
        }
        for alert in &page.alerts {
            out.add(format!("an error banner: {alert:?}"));
        }
        let shown_texts = page.chrome.iter().chain(&page.values);
        for s in shown_texts {
            if has_placeholder(s) || s == "??" || s.contains("??") {
                out.add(format!("a text with a placeholder left in: {s:?}"));
            }
            if ["none", "None", "undefined", "null", "NaN", "[object Object]"].contains(&s.as_str()) {
                out.add(format!("a text that is no text: {s:?}"));
            }
        }
        for s in &page.chrome {
            if is_snake_identifier(s) || self.texts.identifiers.contains(s) {
                out.add(format!("a raw identifier shown as text: {s:?}"));
            }
            match self.locale {
                Locale::ZhCn => {
                    // Latin letters and no Chinese: only the names of the
                    // languages and the product, and abbreviations (UTC, SLA),
                    // read the same in a Chinese page.
                    let same_in_both =
                        ["English", "Relata"].contains(&s.as_str()) || !s.chars().any(|c| c.is_ascii_lowercase());
                    if !has_cjk(s) && has_latin_word(s) && !same_in_both {
                        let english = if self.texts.en.contains(s) {
                            " (the English text)"
                        } else {
                            ""
                        };
                        out.add(format!("untranslated text{english}: {s:?}"));
                    }
                }
                Locale::En => {
                    if has_cjk(s) && !self.texts.en.contains(s) {
                        out.add(format!("Chinese on the English page: {s:?}"));
                    }
                }
            }
        }
        for s in &page.values {
            if is_uuid(s) {
                out.add(format!("a record id shown as a value: {s}"));
            }
            // A value that is word for word an English text of the model or
            // the UI (a yes/no, a pick-list label, a stamp) and not the
            // Chinese one: a value shown without its translation.
            if self.locale == Locale::ZhCn && self.texts.en.contains(s) && !self.texts.zh.contains(s) {
                out.add(format!("an English text among the values: {s:?}"));
            }
        }
    }

    fn check_list(&self, out: &mut Findings, e: &EntityDef, list_name: &str, page: &Shown) {
        let list = &self.model.views.lists[list_name];
        out.expect("the heading", &page.h1, &pick(&list.label, self.locale));
        let shown: Vec<String> = page
            .columns
            .iter()
            .map(|c| c.trim_end_matches(['▲', '▼']).trim().to_owned())
            .collect();
        let expected: Vec<Option<String>> = list.columns.iter().map(|c| self.column_label(e, c)).collect();
        if shown.len() != expected.len() {
            out.add(format!("columns {shown:?}, the list has {:?}", list.columns));
        }
        for ((name, want), got) in list.columns.iter().zip(&expected).zip(&shown) {
            match want {
                Some(want) => out.expect(&format!("the column {name}"), got, want),
                None => out.add(format!("the column {name} is no field of {}", e.name)),
            }
        }
        for c in &page.choosable {
            if let Some(want) = self.column_label(e, &c.name) {
                out.expect(&format!("the column chooser's {}", c.name), &c.text, &want);
            }
        }
        for row in &page.rows {
            for (name, cell) in list.columns.iter().zip(row) {
                if let Some(f) = Self::field(e, name) {
                    self.check_value(out, &format!("the cell {name}"), f, cell);
                }
            }
        }
    }

    fn check_form(&self, out: &mut Findings, e: &EntityDef, kind: Kind, page: &Shown) {
        let locale = self.locale;
        let form = &self.model.views.forms[&e.name];
        if kind == Kind::New {
            let want = locale.text("new_record").replace("{entity}", &pick(&e.label, locale));
            out.expect("the heading", &page.h1, &want);
        }
        for shown in &page.fields {
            let Some(f) = Self::field(e, &shown.name) else {
                out.add(format!("a field {} that {} has not", shown.name, e.name));
                continue;
            };
            let label = shown.label.trim_end_matches('*').trim();
            out.expect(&format!("the label of {}", f.name), label, &pick(&f.label, locale));
            if let (Some(help), Some(want)) = (&shown.help, &f.help) {
                out.expect(&format!("the help of {}", f.name), help, &pick(want, locale));
            }
            if let Some(value) = &shown.value {
                self.check_value(out, "the value", f, value);
            }
            if matches!(f.field_type, FieldType::Picklist | FieldType::MultiPicklist) {
                for o in &shown.options {
                    self.check_value(out, "the choice", f, o);
                }
            }
        }
        for t in &page.tabs {
            match form.tabs.iter().find(|d| d.name == t.name) {
                Some(d) => out.expect(&format!("the tab {}", t.name), &t.text, &pick(&d.label, locale)),
                None => out.add(format!("a tab {} the form has not", t.name)),
            }
        }
        let sections: BTreeSet<String> = form
            .tabs
            .iter()
            .flat_map(|t| &t.sections)
            .filter_map(|s| s.label.as_ref())
            .map(|l| pick(l, locale))
            .collect();
        for l in &page.legends {
            if !sections.contains(l) {
                out.add(format!("a section titled {l:?}, which is no section label of the form"));
            }
        }
        let related: Vec<_> = form.tabs.iter().flat_map(|t| &t.related).collect();
        if kind == Kind::View && page.related.len() != related.len() {
            out.add(format!(
                "{} related lists shown, the form has {}",
                page.related.len(),
                related.len()
            ));
        }
        for (def, shown) in related.iter().zip(&page.related) {
            let Some(target) = self.model.model.entities.get(&def.entity) else {
                continue;
            };
            if shown.entity != def.entity {
                out.add(format!(
                    "the related list of {} is where {} belongs",
                    shown.entity, def.entity
                ));
                continue;
            }
            let title = def.label.as_ref().unwrap_or(&target.plural_label);
            out.expect(
                &format!("the related list {}", def.entity),
                &shown.title,
                &pick(title, locale),
            );
            for (c, got) in def.columns.iter().zip(&shown.columns) {
                match self.column_label(target, c) {
                    Some(want) => out.expect(&format!("the related {} column {c}", def.entity), got, &want),
                    None => out.add(format!("the related {} column {c} is no field", def.entity)),
                }
            }
            for row in &shown.rows {
                for (c, cell) in def.columns.iter().zip(row) {
                    if let Some(f) = Self::field(target, c) {
                        self.check_value(out, &format!("the related {} cell {c}", def.entity), f, cell);
                    }
                }
            }
        }
        for c in &page.commands {
            let def = e.commands.iter().find(|d| d.name == c.name);
            let button = form.buttons.iter().find(|b| b.command == c.name);
            match button.and_then(|b| b.label.as_ref()).or(def.map(|d| &d.label)) {
                Some(l) => out.expect(&format!("the command {}", c.name), &c.text, &pick(l, locale)),
                None => out.add(format!("the command {} has no label", c.name)),
            }
        }
        for p in &page.files {
            match Self::field(e, &p.name) {
                Some(f) => out.expect(&format!("the files of {}", p.name), &p.text, &pick(&f.label, locale)),
                None => out.add(format!("a files panel {} that is no field", p.name)),
            }
        }
    }
}

/// Where the screenshots go: `$CARGO_TARGET_DIR`, else the target directory
/// this test binary was built in.
pub(crate) fn screenshot_root() -> Result<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe()?;
            // target/<profile>/deps/browser_tour-<hash>
            exe.ancestors()
                .nth(3)
                .context("the test binary is not in a target directory")?
                .to_owned()
        }
    };
    Ok(target.join("screenshots").join("tour"))
}

/// What the browser shows of the current page, once it has loaded and
/// shows its heading (or after [`WAIT`], as it is then).
async fn read_page(b: &Chrome, kind: Kind) -> Result<Shown> {
    let deadline = Instant::now() + WAIT;
    loop {
        let late = Instant::now() > deadline;
        let read = b
            .client
            .execute(READ_PAGE, vec![json!(kind == Kind::View), json!(late)])
            .await?;
        if !read.is_null() {
            return Ok(serde_json::from_value(read)?);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in as admin through the form.
async fn sign_in(b: &Chrome) -> Result<()> {
    b.goto("/app").await?;
    b.fill("#username", "admin").await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click_and_load("form[action='/app/sign-in'] button[type=submit]")
        .await?;
    b.wait_for_path("the home page", |p| p == "/app").await?;
    Ok(())
}

/// Picks `label` in the language switch at the top of the page, as a user
/// does (unless the page is in that language already); the choice is kept
/// on the user.
async fn switch_language(b: &Chrome, label: &str, locale: Locale) -> Result<()> {
    b.goto("/app").await?;
    let now = b.find("html").await?.attr("lang").await?;
    if now.as_deref() != Some(locale.as_str()) {
        b.expect_load().await?;
        b.find("#lang-switch").await?.select_by_label(label).await?;
        b.wait_for_load(&format!("choosing {label}")).await?;
    }
    let lang = b.find("html").await?.attr("lang").await?;
    ensure!(
        lang.as_deref() == Some(locale.as_str()),
        "after choosing {label} the page is in {lang:?}"
    );
    Ok(())
}

/// An id of a live record of `entity`: the first row of its default list
/// when that shows any, else any record through the API, else a new one.
async fn some_record(app: &TestApp, model: &CompiledModel, entity: &str, first_row: Option<String>) -> Result<String> {
    if let Some(href) = first_row {
        if let Some(id) = href.rsplit('/').next().filter(|id| !id.is_empty()) {
            return Ok(id.to_owned());
        }
    }
    let found = app.get(&format!("/api/v1/records/{entity}?limit=1")).await?;
    ensure!(found.status == StatusCode::OK, "listing {entity}: {}", found.body);
    if let Some(id) = found.body["data"][0]["id"].as_str() {
        return Ok(id.to_owned());
    }
    Box::pin(create_record(app, model, entity, 0)).await
}

/// A record of `entity` with every required field filled in by type (for
/// an entity the demo data leaves empty).
async fn create_record(app: &TestApp, model: &CompiledModel, entity: &str, depth: usize) -> Result<String> {
    ensure!(depth < 8, "references nest too deep to make a {entity}");
    let e = &model.model.entities[entity];
    let mut body = Map::new();
    for f in e.fields.iter().filter(|f| f.required && f.computed.is_none()) {
        let value = match f.field_type {
            FieldType::Text | FieldType::LongText | FieldType::Phone => json!(format!("Tour {}", f.name)),
            FieldType::Email => json!(format!("tour.{}@example.com", f.name)),
            FieldType::Url => json!("https://example.com/tour"),
            FieldType::Integer => json!(f.min.unwrap_or(1.0).max(0.0).ceil() as i64),
            FieldType::Decimal | FieldType::Currency | FieldType::Percent => json!(f.min.unwrap_or(1.0).max(0.0)),
            FieldType::Boolean => json!(false),
            FieldType::Date => json!("2026-01-15"),
            FieldType::Datetime => json!("2026-01-15T09:00:00Z"),
            FieldType::Picklist | FieldType::MultiPicklist => {
                let code = f
                    .picklist
                    .as_ref()
                    .and_then(|p| model.model.picklists.get(p))
                    .and_then(|p| p.values.first())
                    .map(|v| v.code.clone())
                    .context("a pick list with a value")?;
                if f.field_type == FieldType::Picklist {
                    json!(code)
                } else {
                    json!([code])
                }
            }
            FieldType::Reference => {
                let target = f.target.as_deref().context("a reference's target")?;
                let found = app.get(&format!("/api/v1/records/{target}?limit=1")).await?;
                match found.body["data"][0]["id"].as_str() {
                    Some(id) => json!(id),
                    None => json!(Box::pin(create_record(app, model, target, depth + 1)).await?),
                }
            }
            FieldType::Attachment => continue,
        };
        body.insert(f.name.clone(), value);
    }
    let made = app.create(entity, Value::Object(body)).await?;
    Ok(made["id"].as_str().context("the new record's id")?.to_owned())
}

/// The stock application with the `small` demo data, owned by admin.
pub(crate) async fn with_small_demo(backend: TestBackend) -> Result<Option<TestApp>> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(None);
    };
    let options = DemoOptions {
        size: DemoSize::Small,
        seed: DEFAULT_SEED,
        force: false,
        owner: Some(app.admin_id),
    };
    app.engine
        .load_demo(options, &NoProgress)
        .await
        .context("loading the small demo data")?;
    Ok(Some(app))
}

async fn tour_every_entity_in_both_languages(backend: TestBackend) -> Result<()> {
    let started = Instant::now();
    let Some(app) = with_small_demo(backend).await? else {
        return Ok(());
    };
    let loaded = started.elapsed();
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    let model = app.engine.model();
    let texts = Texts::new(&model);
    let backend_name = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    let root = screenshot_root()?.join(backend_name);
    let mut entities: Vec<&EntityDef> = model.model.entities.values().collect();
    entities.sort_by(|a, b| a.name.cmp(&b.name));
    ensure!(!entities.is_empty(), "the stock application has no entity");

    sign_in(&b).await?;
    let mut problems = Vec::new();
    let mut pages = 0;
    let (mut loading, mut shooting) = (Duration::ZERO, Duration::ZERO);
    let mut records: Vec<Option<String>> = vec![None; entities.len()];
    for (locale, switch) in [(Locale::En, "English"), (Locale::ZhCn, "简体中文")] {
        switch_language(&b, switch, locale).await?;
        let tour = Tour {
            model: &model,
            texts: &texts,
            locale,
        };
        let dir = root.join(locale.as_str());
        for (i, e) in entities.iter().enumerate() {
            let list = model
                .views
                .default_list
                .get(&e.name)
                .with_context(|| format!("{} has no default list", e.name))?;
            for kind in [Kind::List, Kind::View, Kind::New] {
                let path = match kind {
                    Kind::List => format!("/app/l/{list}"),
                    Kind::View => {
                        let id = records[i].as_deref().context("a record to view")?;
                        format!("/app/r/{}/{id}", e.name)
                    }
                    Kind::New => format!("/app/r/{}/new", e.name),
                };
                let t0 = Instant::now();
                b.goto(&path).await?;
                let page = read_page(&b, kind).await.with_context(|| format!("reading {path}"))?;
                let t1 = Instant::now();
                let shot = dir.join(format!("{}-{}.png", e.name, kind.name()));
                b.screenshot(&shot).await?;
                loading += t1 - t0;
                shooting += t1.elapsed();
                pages += 1;
                let mut out = Findings {
                    at: format!("{} {path} ({})", locale.as_str(), shot.display()),
                    problems: Vec::new(),
                };
                if page.path != path.split('?').next().unwrap_or_default() {
                    out.add(format!("landed on {}", page.path));
                }
                tour.check_page(&mut out, &page);
                match kind {
                    Kind::List => tour.check_list(&mut out, e, list, &page),
                    Kind::View | Kind::New => tour.check_form(&mut out, e, kind, &page),
                }
                problems.extend(out.problems);
                if kind == Kind::List && records[i].is_none() {
                    records[i] = Some(some_record(&app, &model, &e.name, page.first_row).await?);
                }
            }
        }
    }
    b.close().await?;
    println!(
        "{backend_name}: toured {pages} pages of {} entities in {:.1?} (demo data loaded in {loaded:.1?}, \
         pages loaded and read in {loading:.1?}, screenshots taken in {shooting:.1?}); screenshots in {}",
        entities.len(),
        started.elapsed(),
        root.display()
    );
    if !problems.is_empty() {
        bail!("{} problems on the tour:\n{}", problems.len(), problems.join("\n"));
    }
    Ok(())
}

on_both_backends!(tour_every_entity_in_both_languages);

/// Refreshes the pictures of the module guides (docs/user-guide/*.md) from
/// the `small` demo data: a working list and a record of each module,
/// `cargo test -p relata-tests --test browser_tour -- --ignored module_screenshots`.
/// The organisation chart comes from `browser`'s `screenshots`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run on purpose"]
async fn module_screenshots() -> Result<()> {
    let Some(app) = with_small_demo(TestBackend::Sqlite).await? else {
        return Ok(());
    };
    let Some(b) = Chrome::start(&app.base).await? else {
        return Ok(());
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    sign_in(&b).await?;
    // (picture, list, and the record of its first row when named)
    let shots = [
        ("marketing-campaigns", "running_campaigns", Some("marketing-campaign")),
        (
            "sales-open-opportunities",
            "open_opportunities",
            Some("sales-opportunity"),
        ),
        ("support-open-incidents", "open_incidents", Some("support-incident")),
        ("service-scheduled-visits", "scheduled_visits", Some("service-visit")),
    ];
    for (list_shot, list, record_shot) in shots {
        b.goto(&format!("/app/l/{list}")).await?;
        b.find("[data-test=row-title]")
            .await
            .with_context(|| format!("the demo data leaves {list} empty"))?;
        b.screenshot(&dir.join(format!("{list_shot}.png"))).await?;
        if let Some(shot) = record_shot {
            b.click_and_load("[data-test=row-title]").await?;
            b.find("h1").await?;
            b.screenshot(&dir.join(format!("{shot}.png"))).await?;
        }
    }
    b.close().await
}
