//! The stock CRM application as a whole (every module, not one entity): its
//! texts are translated, every entity's list and new-record form render in
//! English and Chinese with a label for every column and field, the sidebar
//! has its modules in order, and the API creates a record of every entity
//! with its references linked, which the record pages then show.

use std::collections::{BTreeSet, HashMap};

use anyhow::{ensure, Context, Result};
use relata::model::{load_dir, FieldType, Labels, Model};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

const LANGS: [&str; 2] = ["en", "zh-CN"];

fn pick<'a>(l: &'a Labels, lang: &str) -> &'a str {
    if lang == "en" {
        &l.en
    } else {
        &l.zh_cn
    }
}

/// A text as the templates write it (minijinja's HTML escaping).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}'))
}

/// Every localised text of the package, with where it is.
fn all_labels(m: &Model) -> Vec<(String, &Labels)> {
    let mut out: Vec<(String, &Labels)> = Vec::new();
    for e in m.entities.values() {
        out.push((format!("entity {}: label", e.name), &e.label));
        out.push((format!("entity {}: plural_label", e.name), &e.plural_label));
        out.extend(
            e.description
                .iter()
                .map(|d| (format!("entity {}: description", e.name), d)),
        );
        for f in &e.fields {
            out.push((format!("entity {}: {}.label", e.name, f.name), &f.label));
            out.extend(
                f.help
                    .iter()
                    .map(|h| (format!("entity {}: {}.help", e.name, f.name), h)),
            );
        }
        for c in &e.commands {
            out.push((format!("entity {}: command {}", e.name, c.name), &c.label));
            for p in &c.params {
                out.push((format!("entity {}: command {}.{}", e.name, c.name, p.name), &p.label));
            }
        }
    }
    for p in m.picklists.values() {
        out.push((format!("picklist {}: label", p.name), &p.label));
        for v in &p.values {
            out.push((format!("picklist {}: {}", p.name, v.code), &v.label));
        }
    }
    for f in m.forms.values() {
        out.extend(f.label.iter().map(|l| (format!("form {}: label", f.name), l)));
        for t in &f.tabs {
            out.push((format!("form {}: tab {}", f.name, t.name), &t.label));
            for s in &t.sections {
                out.extend(
                    s.label
                        .iter()
                        .map(|l| (format!("form {}: section {}", f.name, s.name), l)),
                );
            }
            for r in &t.related {
                out.extend(
                    r.label
                        .iter()
                        .map(|l| (format!("form {}: related {}", f.name, r.entity), l)),
                );
            }
        }
        for b in &f.buttons {
            out.extend(
                b.label
                    .iter()
                    .map(|l| (format!("form {}: button {}", f.name, b.command), l)),
            );
        }
    }
    for l in m.lists.values() {
        out.push((format!("list {}: label", l.name), &l.label));
    }
    for md in m.modules.values() {
        out.push((format!("module {}: label", md.name), &md.label));
        for (i, item) in md.items.iter().enumerate() {
            out.extend(
                item.label
                    .iter()
                    .map(|l| (format!("module {}: items[{i}]", md.name), l)),
            );
        }
    }
    out
}

/// Every text of the stock application is written in both languages: the
/// Chinese one in Chinese, the English one without Chinese in it.
#[test]
fn every_stock_text_is_translated() -> Result<()> {
    let (model, _) = load_dir(&stock_metadata()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut wrong = Vec::new();
    for (at, l) in all_labels(&model) {
        if l.en.trim().is_empty() || has_cjk(&l.en) {
            wrong.push(format!("{at}: en {:?}", l.en));
        }
        if l.zh_cn.trim().is_empty() || !has_cjk(&l.zh_cn) {
            wrong.push(format!("{at}: zh-CN {:?} is not Chinese", l.zh_cn));
        }
    }
    ensure!(wrong.is_empty(), "untranslated texts:\n{}", wrong.join("\n"));
    Ok(())
}

/// The sidebar of the stock application, in order.
const MODULES: [&str; 5] = ["marketing", "sales", "support", "service", "administration"];

async fn page(app: &TestApp, path: &str, lang: &str) -> Result<(StatusCode, String)> {
    let r = app
        .client
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await?;
    Ok((r.status(), r.text().await?))
}

/// The text right after `marker` starts with `text` and ends there (a tag
/// or a sort arrow follows), so `Name` does not pass for `Name of ...`.
fn labelled(html: &str, marker: &str, text: &str) -> bool {
    html.match_indices(marker).any(|(at, _)| {
        let rest = &html[at + marker.len()..];
        rest.strip_prefix(text)
            .is_some_and(|after| after.starts_with('<') || after.starts_with(' '))
    })
}

/// The label a list column shows: the field's, or the UI's own for the
/// system columns.
fn column_label<'a>(model: &'a Model, entity: &str, column: &str, lang: &str) -> Option<&'a str> {
    model.entities[entity]
        .fields
        .iter()
        .find(|f| f.name == column)
        .map(|f| pick(&f.label, lang))
}

async fn every_entity_renders_in_both_languages(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let compiled = app.engine.model();
    let (model, views) = (&compiled.model, &compiled.views);
    ensure!(
        views.modules.iter().map(|m| m.name.as_str()).collect::<Vec<_>>() == MODULES,
        "the stock sidebar's modules, in order"
    );
    for lang in LANGS {
        let (status, home) = page(&app, "/app", lang).await?;
        ensure!(status == StatusCode::OK, "home page in {lang}: {status}");
        let sidebar = &home[..home.find("</nav>").context("no sidebar")?];
        let mut last = 0;
        for m in &views.modules {
            // The title, after the module's icon when it has one.
            let label = esc(pick(&m.label, lang));
            let heading = format!("<h2>{label}</h2>");
            let after_icon = format!("</svg> {label}</h2>");
            let at = sidebar
                .find(&heading)
                .or_else(|| sidebar.find(&after_icon))
                .with_context(|| format!("{lang}: no module {heading}"))?;
            ensure!(at >= last, "{lang}: module {} out of order", m.name);
            last = at;
            for item in &m.items {
                let (href, label) = match (&item.list, &item.entity) {
                    (Some(l), _) => (format!("/app/l/{l}"), &views.lists[l].label),
                    (None, Some(e)) => (
                        format!("/app/l/{}", views.default_list[e]),
                        &model.entities[e].plural_label,
                    ),
                    _ => anyhow::bail!("module {}: an item with neither list nor entity", m.name),
                };
                let label = item.label.as_ref().unwrap_or(label);
                let link = format!("href=\"{}\">{}</a>", esc(&href), esc(pick(label, lang)));
                ensure!(sidebar.contains(&link), "{lang}: the sidebar lacks {link}");
            }
        }
    }
    for e in model.entities.values() {
        let list = &views.lists[&views.default_list[&e.name]];
        let form = &views.forms[&e.name];
        for lang in LANGS {
            let (status, html) = page(&app, &format!("/app/l/{}", list.name), lang).await?;
            ensure!(status == StatusCode::OK, "{lang} list {}: {status}", list.name);
            ensure!(
                html.contains(&format!("<h1>{}</h1>", esc(pick(&list.label, lang)))),
                "{lang} list {}: no title",
                list.name
            );
            for c in &list.columns {
                let marker = format!("data-test=\"sort-{c}\">");
                let files = e
                    .fields
                    .iter()
                    .any(|f| &f.name == c && f.field_type == FieldType::Attachment);
                if files {
                    // Not sortable: a plain heading.
                    let label = column_label(model, &e.name, c, lang).context("a field")?;
                    ensure!(
                        html.contains(&format!("<th>{}</th>", esc(label))),
                        "{lang} list {}: file column {c} is not labelled {label:?}",
                        list.name
                    );
                    continue;
                }
                match column_label(model, &e.name, c, lang) {
                    Some(label) => ensure!(
                        labelled(&html, &marker, &esc(label)),
                        "{lang} list {}: column {c} is not labelled {label:?}",
                        list.name
                    ),
                    None => ensure!(
                        html.contains(&marker) && !labelled(&html, &marker, c),
                        "{lang} list {}: system column {c} shows its raw name",
                        list.name
                    ),
                }
            }

            let (status, html) = page(&app, &format!("/app/r/{}/new", e.name), lang).await?;
            ensure!(status == StatusCode::OK, "{lang} new {}: {status}", e.name);
            let title = form.label.as_ref().unwrap_or(&e.label);
            ensure!(
                html.contains(&esc(pick(title, lang))),
                "{lang} new {}: no title",
                e.name
            );
            // The new form shows fields only: tabs and sections holding
            // none (related lists, files) wait for the saved record.
            let has_fields = |s: &&relata::model::SectionDef| {
                s.fields.iter().any(|p| {
                    e.fields
                        .iter()
                        .any(|f| f.name == p.field && f.field_type != FieldType::Attachment)
                })
            };
            let (shown, hidden): (Vec<_>, Vec<_>) = form
                .tabs
                .iter()
                .partition(|t| t.sections.iter().any(|s| has_fields(&s)));
            for t in &hidden {
                ensure!(
                    !html.contains(&format!("data-tab=\"{}\"", t.name)),
                    "{lang} new {}: empty tab {} shown",
                    e.name,
                    t.name
                );
            }
            if shown.len() > 1 {
                for t in &shown {
                    let marker = format!("data-tab=\"{}\"", t.name);
                    ensure!(
                        html.contains(&format!("{marker}>{}</a>", esc(pick(&t.label, lang))))
                            || html.contains(&format!(
                                "{marker} aria-selected=\"true\">{}</a>",
                                esc(pick(&t.label, lang))
                            )),
                        "{lang} new {}: tab {} unlabelled",
                        e.name,
                        t.name
                    );
                }
            }
            for s in form.tabs.iter().flat_map(|t| &t.sections).filter(has_fields) {
                if let Some(l) = &s.label {
                    ensure!(
                        html.contains(&format!("<legend>{}</legend>", esc(pick(l, lang)))),
                        "{lang} new {}: section {} unlabelled",
                        e.name,
                        s.name
                    );
                }
                for placed in &s.fields {
                    let f = e
                        .fields
                        .iter()
                        .find(|f| f.name == placed.field)
                        .context("a placed field")?;
                    if f.field_type == FieldType::Attachment {
                        continue; // shown by the files panel of a saved record
                    }
                    if f.computed.is_some() {
                        continue; // worked out on save: not on a new record's form
                    }
                    let marker = format!("<label for=\"f-{}\">", f.name);
                    ensure!(
                        labelled(&html, &marker, &esc(pick(&f.label, lang))),
                        "{lang} new {}: field {} is not labelled {:?}",
                        e.name,
                        f.name,
                        pick(&f.label, lang)
                    );
                    if let Some(help) = &f.help {
                        ensure!(
                            html.contains(&esc(pick(help, lang))),
                            "{lang} new {}: no help for {}",
                            e.name,
                            f.name
                        );
                    }
                    if lang != "en" {
                        ensure!(
                            !labelled(&html, &marker, &esc(&f.label.en)),
                            "{lang} new {}: {} in English",
                            e.name,
                            f.name
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// Creates records through the API and keeps their ids by a short key.
struct Records<'a> {
    app: &'a TestApp,
    ids: HashMap<&'static str, String>,
    entities: BTreeSet<String>,
    pages: Vec<(String, String)>,
}

impl Records<'_> {
    async fn create(&mut self, key: &'static str, entity: &str, body: Value) -> Result<String> {
        let made = self.app.create(entity, body).await?;
        let id = made["id"].as_str().context("id")?.to_owned();
        self.ids.insert(key, id.clone());
        self.entities.insert(entity.to_owned());
        self.pages.push((entity.to_owned(), id.clone()));
        Ok(id)
    }

    fn id(&self, key: &str) -> &str {
        &self.ids[key]
    }

    async fn rows(&self, query: &str) -> Result<Vec<Value>> {
        let r = self.app.get(&format!("/api/v1/records/{query}")).await?;
        ensure!(r.status == StatusCode::OK, "{query}: {} {}", r.status, r.body);
        r.body["data"].as_array().cloned().context("data")
    }
}

fn names(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn the_api_creates_and_links_every_entity(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let mut r = Records {
        app: &app,
        ids: HashMap::new(),
        entities: BTreeSet::new(),
        pages: Vec::new(),
    };
    // Administration: the org chart, territories and the catalogue.
    r.create("boss", "employee", json!({"full_name": "王芳", "department": "sales"}))
        .await?;
    let boss = r.id("boss").to_owned();
    r.create(
        "east",
        "territory",
        json!({"name": "East China", "manager": boss, "country": "China"}),
    )
    .await?;
    let east = r.id("east").to_owned();
    r.create(
        "shanghai",
        "territory",
        json!({"name": "Shanghai", "parent": east, "region": "上海"}),
    )
    .await?;
    r.create(
        "product",
        "product",
        json!({"name": "ERP Suite", "code": "ERP-01", "price": 1200}),
    )
    .await?;
    r.create("level", "service_level", json!({"name": "Gold", "response_hours": 4}))
        .await?;
    r.create(
        "team",
        "support_team",
        json!({"name": "Installations", "speciality": "installation", "team_lead": boss}),
    )
    .await?;
    r.create(
        "agent",
        "employee",
        json!({"full_name": "李强", "manager": boss, "support_team": r.id("team")}),
    )
    .await?;

    // Marketing and sales.
    r.create(
        "company",
        "company",
        json!({"name": "Acme 上海", "territory": r.id("shanghai")}),
    )
    .await?;
    let company = r.id("company").to_owned();
    r.create(
        "contact",
        "contact",
        json!({"full_name": "陈静", "company": company, "territory": r.id("shanghai")}),
    )
    .await?;
    r.create(
        "opportunity",
        "opportunity",
        json!({"name": "ERP rollout", "company": company, "contact": r.id("contact"),
               "territory": r.id("shanghai"), "stage": "proposal", "amount": 50000, "probability": 60}),
    )
    .await?;
    r.create(
        "quote",
        "quote_line",
        json!({"opportunity": r.id("opportunity"), "product": r.id("product"), "quantity": 1,
               "unit_price": 50000}),
    )
    .await?;
    r.create(
        "lead",
        "lead",
        json!({"topic": "ERP for 200 users", "company_name": "Acme 上海", "status": "converted",
               "converted_company": company, "converted_contact": r.id("contact"),
               "converted_opportunity": r.id("opportunity"), "territory": r.id("shanghai")}),
    )
    .await?;
    r.create(
        "friend",
        "personal_contact",
        json!({"full_name": "赵磊", "relationship": "classmate", "converted_contact": r.id("contact")}),
    )
    .await?;
    r.create(
        "order",
        "sales_order",
        json!({"order_number": "SO-0001", "company": company, "opportunity": r.id("opportunity"),
               "order_date": "2026-11-02"}),
    )
    .await?;
    let order = r.id("order").to_owned();
    for (n, text) in [(1, "ERP licences"), (2, "Installation days")] {
        let key = if n == 1 { "line1" } else { "line2" };
        r.create(
            key,
            "order_line",
            json!({"sales_order": order, "line_number": n, "product": r.id("product"),
                   "description": text, "quantity": 2, "unit_price": 1200}),
        )
        .await?;
    }
    r.create(
        "expenses",
        "expense_report",
        json!({"title": "Shanghai customer visit", "employee": r.id("agent")}),
    )
    .await?;
    for (key, text, amount) in [("taxi", "Taxi to Acme", 86.5), ("hotel", "Hotel, one night", 480.0)] {
        r.create(
            key,
            "expense_line",
            json!({"expense_report": r.id("expenses"), "description": text, "amount": amount,
                   "category": "travel"}),
        )
        .await?;
    }
    // The approver is read-only: the approval commands set it.
    for (command, params) in [("submit", json!({})), ("approve", json!({"approver": boss}))] {
        let path = format!("/api/v1/records/expense_report/{}/commands/{command}", r.id("expenses"));
        let done = app.post(&path, &params).await?;
        ensure!(
            done.status == StatusCode::OK,
            "{command}: {} {}",
            done.status,
            done.body
        );
    }

    // Support.
    r.create(
        "contract",
        "support_contract",
        json!({"name": "Acme gold support", "company": company, "service_level": r.id("level"),
               "start_date": "2026-01-01", "end_date": "2026-12-31"}),
    )
    .await?;
    r.create(
        "article",
        "knowledge_article",
        json!({"title": "Installing on a new server", "product": r.id("product"), "body": "Step 1 ..."}),
    )
    .await?;
    r.create(
        "incident",
        "support_incident",
        json!({"subject": "Installer stops at 90 %", "company": company, "contact": r.id("contact"),
               "product": r.id("product"), "team": r.id("team"), "assigned_to": r.id("agent"),
               "contract": r.id("contract"), "knowledge_article": r.id("article"),
               "category": "installation", "opened_at": "2026-11-20T09:30:00+08:00"}),
    )
    .await?;

    r.create(
        "environment",
        "configuration_type",
        json!({"name": "PostgreSQL 16", "component_kind": "database", "vendor": "PostgreSQL"}),
    )
    .await?;
    r.create(
        "bug",
        "development_incident",
        json!({"title": "Installer hangs on PostgreSQL 16", "raised_from": r.id("incident"),
               "company": company, "product": r.id("product"), "development_team": "platform",
               "raised_by": r.id("agent")}),
    )
    .await?;
    // Another customer's incident waits for the same fix.
    r.create(
        "waiting",
        "support_incident",
        json!({"subject": "Setup never finishes", "company": company, "product": r.id("product"),
               "development_incident": r.id("bug"), "configuration_type": r.id("environment")}),
    )
    .await?;
    r.create(
        "registration",
        "registration",
        json!({"registration_number": "REG-0001", "company": company, "product": r.id("product"),
               "sales_order": order, "support_contract": r.id("contract"), "licensed_users": 200,
               "purchase_date": "2026-11-02"}),
    )
    .await?;

    // Marketing.
    r.create(
        "rival",
        "competitor",
        json!({"name": "NorthStar Software", "threat_level": "high", "market_share": 12.5}),
    )
    .await?;
    r.create(
        "rival_product",
        "competitor_product",
        json!({"name": "NorthStar ERP", "competitor": r.id("rival"), "competes_with": r.id("product"),
               "price": 990}),
    )
    .await?;
    r.create(
        "campaign",
        "campaign",
        json!({"name": "2026 秋季新品发布会", "campaign_type": "seminar", "manager": boss,
               "start_date": "2026-09-01", "end_date": "2026-10-31", "budget": 300000}),
    )
    .await?;
    r.create(
        "project",
        "marketing_project",
        json!({"name": "Trade-show stand", "campaign": r.id("campaign"), "owner": r.id("agent"),
               "budget": 80000, "planned_leads": 100, "actual_leads": 120}),
    )
    .await?;
    r.create(
        "brochure",
        "document",
        json!({"title": "ERP Suite brochure", "document_type": "brochure", "product": r.id("product"),
               "campaign": r.id("campaign"), "language": "bilingual"}),
    )
    .await?;
    r.create(
        "plan",
        "action_plan",
        json!({"name": "New customer onboarding", "used_for": "company", "owner": boss}),
    )
    .await?;
    r.create(
        "step",
        "action_plan_step",
        json!({"action_plan": r.id("plan"), "step_number": 1, "subject": "Kick-off call",
               "activity_type": "call_out", "day_offset": 3}),
    )
    .await?;
    r.create(
        "meeting",
        "activity",
        json!({"subject": "Quarterly business review", "activity_type": "meeting",
               "starts_at": "2026-12-01T10:00:00+08:00", "ends_at": "2026-12-01T11:30:00+08:00",
               "assigned_to": r.id("agent"), "delegated_by": boss, "company": company,
               "contact": r.id("contact"), "opportunity": r.id("opportunity"),
               "support_incident": r.id("incident"), "marketing_project": r.id("project"),
               "action_plan": r.id("plan")}),
    )
    .await?;
    r.create(
        "colleague",
        "contact",
        json!({"full_name": "周明", "company": company, "key_contact": true,
               "birthday": "1980-05-04", "anniversary": "2008-10-01"}),
    )
    .await?;
    r.create(
        "connection",
        "connection",
        json!({"summary": "Former colleagues at Globex", "contact": r.id("contact"),
               "connected_contact": r.id("colleague"), "connected_company": company,
               "employee": boss, "connection_type": "former_colleague"}),
    )
    .await?;

    // Service.
    r.create(
        "server",
        "equipment",
        json!({"name": "Server room 2 - ERP server", "company": company, "product": r.id("product"),
               "serial_number": "SN-42-0001", "installed_on": "2026-11-10", "warranty_end": "2028-11-09",
               "support_contract": r.id("contract"), "registration": r.id("registration")}),
    )
    .await?;
    r.create(
        "visit",
        "service_visit",
        json!({"visit_number": "SV-0001", "equipment": r.id("server"), "company": company,
               "technician": r.id("agent"), "visit_date": "2026-11-21", "visit_type": "repair",
               "support_incident": r.id("incident"), "quality_rating": 5}),
    )
    .await?;
    r.create(
        "invoice",
        "service_invoice",
        json!({"invoice_number": "SI-0001", "company": company, "invoice_date": "2026-11-30"}),
    )
    .await?;
    r.create(
        "invoice_line",
        "service_invoice_line",
        json!({"service_invoice": r.id("invoice"), "line_number": 1, "description": "On-site repair",
               "service_visit": r.id("visit"), "quantity": 3, "unit_price": 150}),
    )
    .await?;
    r.create(
        "course",
        "training_session",
        json!({"title": "Administrator training", "product": r.id("product"), "company": company,
               "trainer": boss, "starts_at": "2026-12-08T09:00:00+08:00", "max_participants": 12}),
    )
    .await?;
    // A customer-care field on the company.
    let acme = app.get(&format!("/api/v1/records/company/{company}")).await?;
    let care = app
        .patch(
            &format!("/api/v1/records/company/{company}"),
            acme.body["row_version"].as_i64().context("row_version")?,
            &json!({"value_class": "valuable", "preferred_channel": "wechat",
                    "founded_on": "1998-03-18", "customer_since": "2020-06-01"}),
        )
        .await?;
    ensure!(care.status == StatusCode::OK, "{}", care.body);

    let everything: BTreeSet<String> = app.engine.model().model.entities.keys().cloned().collect();
    ensure!(
        r.entities == everything,
        "this test makes a record of every stock entity; add the missing ones: {:?}",
        everything.difference(&r.entities).collect::<Vec<_>>()
    );

    // The references hold, in both directions.
    let lines = r
        .rows(&format!("order_line?sales_order=eq.{order}&sort=line_number"))
        .await?;
    ensure!(names(&lines, "description") == ["ERP licences", "Installation days"]);
    let lines = r.rows(&format!("order_line?sales_order.company=eq.{company}")).await?;
    ensure!(lines.len() == 2, "a company's order lines through the order");
    let expanded = app
        .get(&format!(
            "/api/v1/records/sales_order/{order}?expand=company,opportunity"
        ))
        .await?;
    ensure!(
        expanded.body["company"]["name"] == "Acme 上海" && expanded.body["opportunity"]["name"] == "ERP rollout",
        "{}",
        expanded.body
    );
    ensure!(names(&r.rows(&format!("employee?manager=eq.{boss}")).await?, "full_name") == ["李强"]);
    ensure!(names(&r.rows(&format!("territory?parent=eq.{east}")).await?, "name") == ["Shanghai"]);
    ensure!(names(&r.rows(&format!("company?territory.parent=eq.{east}")).await?, "name") == ["Acme 上海"]);
    let lines = r
        .rows(&format!("expense_line?expense_report=eq.{}", r.id("expenses")))
        .await?;
    ensure!(lines.len() == 2);
    let incident = app
        .get(&format!(
            "/api/v1/records/support_incident/{}?expand=contract",
            r.id("incident")
        ))
        .await?;
    ensure!(
        incident.body["contract"]["service_level"] == r.id("level"),
        "{}",
        incident.body
    );
    ensure!(
        incident.body["status"] == "new" && incident.body["priority"] == "normal",
        "defaults"
    );

    // The new records read back with their references and defaults.
    let meeting = app
        .get(&format!(
            "/api/v1/records/activity/{}?expand=company,assigned_to",
            r.id("meeting")
        ))
        .await?;
    ensure!(
        meeting.body["company"]["name"] == "Acme 上海"
            && meeting.body["assigned_to"]["full_name"] == "李强"
            && meeting.body["status"] == "planned"
            && meeting.body["done"] == false
            && meeting.body["starts_at"] == "2026-12-01T02:00:00.000000Z",
        "{}",
        meeting.body
    );
    let visit = app
        .get(&format!(
            "/api/v1/records/service_visit/{}?expand=equipment",
            r.id("visit")
        ))
        .await?;
    ensure!(
        visit.body["equipment"]["serial_number"] == "SN-42-0001"
            && visit.body["quality_rating"] == 5
            && visit.body["status"] == "scheduled",
        "{}",
        visit.body
    );
    let rating = app
        .post(
            "/api/v1/records/service_visit",
            &json!({"visit_number": "SV-0002", "equipment": r.id("server"), "company": company,
                    "quality_rating": 6}),
        )
        .await?;
    ensure!(
        rating.status == StatusCode::UNPROCESSABLE_ENTITY,
        "a rating above 5: {}",
        rating.body
    );
    ensure!(
        names(
            &r.rows(&format!("marketing_project?campaign=eq.{}", r.id("campaign")))
                .await?,
            "name"
        ) == ["Trade-show stand"]
    );
    ensure!(
        names(
            &r.rows(&format!("action_plan_step?action_plan=eq.{}", r.id("plan")))
                .await?,
            "subject"
        ) == ["Kick-off call"]
    );
    ensure!(
        names(
            &r.rows(&format!("support_incident?development_incident=eq.{}", r.id("bug")))
                .await?,
            "subject"
        ) == ["Setup never finishes"]
    );
    ensure!(
        names(
            &r.rows(&format!("connection?connected_contact=eq.{}", r.id("colleague")))
                .await?,
            "summary"
        ) == ["Former colleagues at Globex"]
    );
    let acme = app.get(&format!("/api/v1/records/company/{company}")).await?;
    ensure!(
        acme.body["value_class"] == "valuable" && acme.body["customer_since"] == "2020-06-01",
        "{}",
        acme.body
    );
    for (entity, key, field, value) in [
        ("competitor_product", "rival_product", "competitor", r.id("rival")),
        ("document", "brochure", "campaign", r.id("campaign")),
        ("registration", "registration", "support_contract", r.id("contract")),
        ("equipment", "server", "registration", r.id("registration")),
        (
            "service_invoice_line",
            "invoice_line",
            "service_invoice",
            r.id("invoice"),
        ),
        ("training_session", "course", "trainer", boss.as_str()),
        ("development_incident", "bug", "raised_from", r.id("incident")),
    ] {
        let one = app.get(&format!("/api/v1/records/{entity}/{}", r.id(key))).await?;
        ensure!(one.status == StatusCode::OK, "{entity}: {}", one.body);
        ensure!(one.body[field] == value, "{entity}.{field}: {}", one.body);
    }

    // A line of an order that does not exist, or of no order, is refused.
    let orphan = app
        .post(
            "/api/v1/records/order_line",
            &json!({"sales_order": "01900000-0000-7000-8000-000000000000", "description": "x"}),
        )
        .await?;
    ensure!(orphan.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", orphan.body);
    let orphan = app
        .post("/api/v1/records/order_line", &json!({"description": "x"}))
        .await?;
    ensure!(orphan.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", orphan.body);

    // Every record's page renders in both languages, parents listing children.
    for (entity, id) in &r.pages {
        for lang in LANGS {
            let (status, _) = page(&app, &format!("/app/r/{entity}/{id}"), lang).await?;
            ensure!(status == StatusCode::OK, "{lang} {entity} {id}: {status}");
        }
    }
    for (path, lang, texts) in [
        (
            format!("/app/r/company/{company}"),
            "en",
            vec![
                "Order history",
                "SO-0001",
                "ERP rollout",
                "Installer stops at 90 %",
                "Acme gold support",
                "Create opportunity",
                "Timeline",
                "Quarterly business review",
                "REG-0001",
                "Installed base",
                "Server room 2 - ERP server",
                "SV-0001",
                "Valuable customer",
            ],
        ),
        (
            format!("/app/r/company/{company}"),
            "zh-CN",
            vec![
                "历史订单",
                "服务工单",
                "服务合同",
                "商机",
                "往来记录",
                "产品注册",
                "在用设备",
                "高价值客户",
                "微信",
            ],
        ),
        (
            format!("/app/r/contact/{}", r.id("contact")),
            "en",
            vec![
                "Quarterly business review",
                "Whom they know",
                "Former colleagues at Globex",
            ],
        ),
        (
            format!("/app/r/contact/{}", r.id("colleague")),
            "zh-CN",
            vec!["认识此人的人", "Former colleagues at Globex", "关键联系人"],
        ),
        (
            format!("/app/r/campaign/{}", r.id("campaign")),
            "en",
            vec!["Trade-show stand", "ERP Suite brochure"],
        ),
        (
            format!("/app/r/action_plan/{}", r.id("plan")),
            "zh-CN",
            vec!["计划步骤", "Kick-off call", "Quarterly business review"],
        ),
        (
            format!("/app/r/support_incident/{}", r.id("incident")),
            "en",
            vec![
                "Raised with development",
                "Installer hangs on PostgreSQL 16",
                "SV-0001",
                "Quarterly business review",
            ],
        ),
        (
            format!("/app/r/development_incident/{}", r.id("bug")),
            "en",
            vec!["Customers waiting for it", "Setup never finishes"],
        ),
        (
            format!("/app/r/equipment/{}", r.id("server")),
            "zh-CN",
            vec!["服务记录", "SV-0001", "故障维修"],
        ),
        (
            format!("/app/r/service_invoice/{}", r.id("invoice")),
            "en",
            vec!["Service invoice lines", "On-site repair", "SV-0001"],
        ),
        (
            format!("/app/r/competitor/{}", r.id("rival")),
            "en",
            vec!["NorthStar ERP", "ERP Suite"],
        ),
        (
            format!("/app/r/product/{}", r.id("product")),
            "en",
            vec!["ERP Suite brochure", "NorthStar ERP", "REG-0001", "SN-42-0001"],
        ),
        (
            format!("/app/r/sales_order/{order}"),
            "en",
            vec!["Order lines", "ERP licences", "Installation days"],
        ),
        (
            format!("/app/r/sales_order/{order}"),
            "zh-CN",
            vec!["订单明细", "ERP licences", "Installation days", "已录入"],
        ),
        (
            format!("/app/r/opportunity/{}", r.id("opportunity")),
            "en",
            vec!["SO-0001", "Converted from lead", "ERP for 200 users", "Proposal"],
        ),
        (
            format!("/app/r/expense_report/{}", r.id("expenses")),
            "zh-CN",
            vec!["费用明细", "Taxi to Acme", "Hotel, one night", "已审批", "王芳"],
        ),
        (format!("/app/r/contact/{}", r.id("contact")), "zh-CN", vec!["创建商机"]),
        (
            // A business contact already: no "Create business contact"
            // (the command's `when`), its link instead.
            format!("/app/r/personal_contact/{}", r.id("friend")),
            "en",
            vec!["赵磊", "Business contact"],
        ),
        (
            format!("/app/r/employee/{boss}"),
            "en",
            vec!["Everyone in the team", "李强"],
        ),
        (
            format!("/app/r/territory/{east}"),
            "zh-CN",
            vec!["下级区域", "Shanghai"],
        ),
        (
            format!("/app/r/support_team/{}", r.id("team")),
            "en",
            vec!["Members", "李强", "Installer stops at 90 %"],
        ),
        (
            // Converted: its links, and no "Process lead" (the command's `when`).
            format!("/app/r/lead/{}", r.id("lead")),
            "en",
            vec!["Acme 上海", "ERP rollout"],
        ),
    ] {
        let (status, html) = page(&app, &path, lang).await?;
        ensure!(status == StatusCode::OK, "{path}: {status}");
        for text in texts {
            ensure!(html.contains(&esc(text)), "{lang} {path} does not show {text:?}");
        }
    }
    Ok(())
}

on_both_backends!(
    every_entity_renders_in_both_languages,
    the_api_creates_and_links_every_entity
);
