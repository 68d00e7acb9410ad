//! Demo data (`relata demo-data`, `serve --demo`): the stock `demo` items
//! fill every entity they name with the declared counts, references
//! resolve and children follow their parent, the same seed gives the same
//! data, a second load is refused without `force`, bad demo items get
//! precise errors, and the first-start load shows through the record API.

use std::collections::BTreeMap;

use anyhow::{ensure, Context, Result};
use relata::app;
use relata::engine::demo::{DemoOptions, DemoSize, NoProgress, DEFAULT_SEED};
use relata::engine::Engine;
use relata::model::{load_files, FieldType, SourceFile};
use relata::store::Pool;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use sha2::{Digest, Sha256};
use sqlx::Row;

fn options(seed: u64, force: bool) -> DemoOptions {
    DemoOptions {
        size: DemoSize::Small,
        seed,
        force,
        owner: None,
    }
}

async fn scalar(pool: &Pool, sql: &str) -> Result<i64> {
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query(sql).fetch_one(p).await?.try_get(0)?,
        Pool::Postgres(p) => sqlx::query(sql).fetch_one(p).await?.try_get(0)?,
    })
}

async fn texts(pool: &Pool, sql: &str) -> Result<Vec<String>> {
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query(sql)
            .fetch_all(p)
            .await?
            .iter()
            .map(|r| r.try_get::<Option<String>, _>(0).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?,
        Pool::Postgres(p) => sqlx::query(sql)
            .fetch_all(p)
            .await?
            .iter()
            .map(|r| r.try_get::<Option<String>, _>(0).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?,
    })
}

/// Rows per demo entity.
async fn counts(engine: &Engine) -> Result<BTreeMap<String, i64>> {
    let model = engine.model();
    let mut out = BTreeMap::new();
    for d in model.model.demos.values() {
        for de in &d.entities {
            let n = scalar(&engine.databases().ed, &format!("SELECT COUNT(*) FROM {}", de.entity)).await?;
            out.insert(de.entity.clone(), n);
        }
    }
    Ok(out)
}

/// A digest of every demo entity's display values (sorted: ids carry the time).
async fn digest(engine: &Engine) -> Result<String> {
    let model = engine.model();
    let mut h = Sha256::new();
    for d in model.model.demos.values() {
        for de in &d.entities {
            let e = &model.model.entities[&de.entity];
            let mut names = texts(
                &engine.databases().ed,
                &format!("SELECT CAST({} AS TEXT) FROM {}", e.display_field, e.name),
            )
            .await?;
            names.sort();
            h.update(e.name.as_bytes());
            for n in names {
                h.update(n.as_bytes());
                h.update([0]);
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}

async fn small_fills_every_demo_entity(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let report = app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await?;
    let counts = counts(&app.engine).await?;
    let model = app.engine.model();
    let pool = &app.engine.databases().ed;
    let mut total = 0;
    for d in model.model.demos.values() {
        for de in &d.entities {
            let n = counts[&de.entity];
            total += n;
            ensure!(
                report.entities.iter().any(|(e, m)| e == &de.entity && *m as i64 == n),
                "{}: the report says otherwise than the table ({n})",
                de.entity
            );
            if let Some(c) = de.count {
                ensure!(n == c.small as i64, "{}: {n} records, declared {}", de.entity, c.small);
            }
            let e = &model.model.entities[&de.entity];
            if let Some(p) = &de.parent {
                let target = e
                    .fields
                    .iter()
                    .find(|f| f.name == p.field)
                    .and_then(|f| f.target.clone());
                let parents = counts[&target.context("parent target")?];
                let (min, max) = (i64::from(p.per_parent.small.min), i64::from(p.per_parent.small.max));
                ensure!(
                    (parents * min..=parents * max).contains(&n),
                    "{}: {n} records for {parents} parents",
                    de.entity
                );
                let orphans = scalar(
                    pool,
                    &format!("SELECT COUNT(*) FROM {} WHERE {} IS NULL", e.name, p.field),
                )
                .await?;
                ensure!(orphans == 0, "{}: {orphans} records without a parent", de.entity);
            }
            ensure!(n > 0, "{}: no records", de.entity);
            // Every reference resolves to a live record of its target.
            for f in e.fields.iter().filter(|f| f.field_type == FieldType::Reference) {
                let target = f.target.as_deref().unwrap_or_default();
                let dangling = scalar(
                    pool,
                    &format!(
                        "SELECT COUNT(*) FROM {t} x WHERE x.{c} IS NOT NULL AND NOT EXISTS \
                         (SELECT 1 FROM {target} y WHERE y.id = x.{c} AND y.deleted_at IS NULL)",
                        t = e.name,
                        c = f.name
                    ),
                )
                .await?;
                ensure!(
                    dangling == 0,
                    "{}.{}: {dangling} references resolve to nothing",
                    e.name,
                    f.name
                );
            }
            // (Records with stored computed fields are saved again with
            // their rules after a small load: their version is above 1.)
            let not_v1 = scalar(
                pool,
                &format!(
                    "SELECT COUNT(*) FROM {} WHERE row_version < 1 OR deleted_at IS NOT NULL \
                     OR created_at IS NULL OR updated_at IS NULL",
                    e.name
                ),
            )
            .await?;
            ensure!(not_v1 == 0, "{}: system columns not filled", e.name);
        }
    }
    ensure!(report.rows as i64 == total);
    // Contacts live in their company's city; orders are for their opportunity's company.
    let away = scalar(
        pool,
        "SELECT COUNT(*) FROM contact c JOIN company p ON p.id = c.company WHERE c.city <> p.city",
    )
    .await?;
    ensure!(away == 0, "{away} contacts not in their company's city");
    let other = scalar(
        pool,
        "SELECT COUNT(*) FROM sales_order o JOIN opportunity p ON p.id = o.opportunity WHERE o.company <> p.company",
    )
    .await?;
    ensure!(
        other == 0,
        "{other} orders for another company than their opportunity's"
    );
    let stranger = scalar(
        pool,
        "SELECT COUNT(*) FROM opportunity o JOIN contact c ON c.id = o.contact WHERE c.company <> o.company",
    )
    .await?;
    ensure!(
        stranger == 0,
        "{stranger} opportunities with a contact of another company"
    );
    // Activities are with people of the company they are about, visits for
    // the equipment's customer, development incidents for the customer of
    // the support incident they came from; things end after they start.
    for (what, sql) in [
        (
            "activities with a contact of another company",
            "SELECT COUNT(*) FROM activity a JOIN contact c ON c.id = a.contact WHERE c.company <> a.company",
        ),
        (
            "activities about another company's opportunity",
            "SELECT COUNT(*) FROM activity a JOIN opportunity o ON o.id = a.opportunity WHERE o.company <> a.company",
        ),
        (
            "service visits for another customer than the equipment's",
            "SELECT COUNT(*) FROM service_visit v JOIN equipment e ON e.id = v.equipment WHERE e.company <> v.company",
        ),
        (
            "development incidents for another customer than their incident's",
            "SELECT COUNT(*) FROM development_incident d JOIN support_incident i ON i.id = d.raised_from \
             WHERE i.company <> d.company",
        ),
        (
            "registrations under another customer's contract",
            "SELECT COUNT(*) FROM registration r JOIN support_contract c ON c.id = r.support_contract \
             WHERE c.company <> r.company",
        ),
        (
            "campaigns ending before they start",
            "SELECT COUNT(*) FROM campaign WHERE end_date < start_date",
        ),
        (
            "equipment whose warranty ends before it was installed",
            "SELECT COUNT(*) FROM equipment WHERE warranty_end < installed_on",
        ),
    ] {
        let n = scalar(pool, sql).await?;
        ensure!(n == 0, "{n} {what}");
    }
    // A calendar: activities in the past and ahead.
    let ahead = scalar(
        pool,
        "SELECT COUNT(*) FROM activity WHERE starts_at > (SELECT MAX(created_at) FROM activity)",
    )
    .await?;
    ensure!(ahead > 0, "no activity ahead");
    // Chinese and English names, mixed.
    let names = texts(pool, "SELECT full_name FROM contact").await?;
    ensure!(names
        .iter()
        .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    ensure!(names.iter().any(|n| n.is_ascii() && n.contains(' ')));
    // Eight stages of the sales process.
    let stages = scalar(pool, "SELECT COUNT(DISTINCT stage) FROM opportunity").await?;
    ensure!(stages == 8, "{stages} opportunity stages");
    // Statuses follow the dates (`upcoming`): visits to come are scheduled,
    // past ones made; activities to come planned.
    // (Literals in the stored text form, which both backends compare in
    // time order.)
    let now = time::OffsetDateTime::now_utc();
    let today = now.date().to_string();
    let now = relata::model::values::format_datetime(now);
    for (sql, want_some) in [
        (
            format!("SELECT COUNT(*) FROM service_visit WHERE status = 'scheduled' AND visit_date <= '{today}'"),
            false,
        ),
        (
            format!("SELECT COUNT(*) FROM service_visit WHERE status = 'completed' AND visit_date > '{today}'"),
            false,
        ),
        (
            "SELECT COUNT(*) FROM service_visit WHERE status = 'scheduled'".to_owned(),
            true,
        ),
        (
            "SELECT COUNT(*) FROM service_visit WHERE status = 'completed'".to_owned(),
            true,
        ),
        (
            format!("SELECT COUNT(*) FROM activity WHERE status = 'planned' AND starts_at <= '{now}'"),
            false,
        ),
        (
            "SELECT COUNT(*) FROM activity WHERE status = 'planned'".to_owned(),
            true,
        ),
    ] {
        let n = scalar(pool, &sql).await?;
        ensure!((n > 0) == want_some, "{n}: {sql}");
    }
    // The global search sees them.
    let hit = names
        .iter()
        .find(|n| n.is_ascii() && n.contains(' '))
        .context("no English name")?;
    let found = app.get(&format!("/api/v1/search?q={}", urlencode(hit))).await?;
    ensure!(found.status.is_success(), "{found:?}");
    ensure!(
        found.body.to_string().contains(hit.as_str()),
        "search for {hit}: {}",
        found.body
    );
    Ok(())
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn same_seed_same_data(backend: TestBackend) -> Result<()> {
    let mut digests = Vec::new();
    for seed in [7, 7, 8] {
        let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
            return Ok(());
        };
        app.engine.load_demo(options(seed, false), &NoProgress).await?;
        digests.push(digest(&app.engine).await?);
    }
    ensure!(digests[0] == digests[1], "the same seed gave different data");
    ensure!(digests[0] != digests[2], "another seed gave the same data");
    Ok(())
}

async fn second_run_is_refused_unless_forced(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await?;
    let before = counts(&app.engine).await?;
    let refused = app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await;
    let message = refused.err().context("a second load was not refused")?.to_string();
    ensure!(
        message.starts_with("these entities already have records: employee (20), "),
        "{message}"
    );
    ensure!(
        message.ends_with("nothing was written (use --force to add demo records anyway)"),
        "{message}"
    );
    ensure!(counts(&app.engine).await? == before, "a refused load changed data");
    // Forced, the same seed adds as many again, unique values kept unique.
    app.engine.load_demo(options(DEFAULT_SEED, true), &NoProgress).await?;
    let after = counts(&app.engine).await?;
    ensure!(after["company"] == 2 * before["company"], "{after:?}");
    ensure!(after["employee"] == 2 * before["employee"], "{after:?}");
    Ok(())
}

async fn first_start_demo_shows_in_the_api(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let report = app::demo_on_first_start(&app.engine, &NoProgress).await?;
    ensure!(
        report.is_some_and(|r| r.rows > 500),
        "nothing loaded on the first start"
    );
    let owner = scalar(
        &app.engine.databases().ed,
        &format!(
            "SELECT COUNT(*) FROM company WHERE CAST(owner_id AS TEXT) = '{}'",
            app.admin_id
        ),
    )
    .await?;
    ensure!(owner == 50, "{owner} companies owned by the admin");
    for entity in ["company", "contact", "opportunity", "support_incident"] {
        let page = app
            .get(&format!("/api/v1/records/{entity}?limit=5&sort=-created_at"))
            .await?;
        ensure!(page.status.is_success(), "{entity}: {page:?}");
        let data = page.body["data"].as_array().context("no data")?;
        ensure!(data.len() == 5, "{entity}: {}", page.body);
        let id = data[0]["id"].as_str().context("no id")?;
        let one = app.get(&format!("/api/v1/records/{entity}/{id}")).await?;
        ensure!(one.status.is_success(), "{entity} {id}: {one:?}");
    }
    // A contact read through the API is valid as the API would write it:
    // re-saving it unchanged passes the payload validation.
    let page = app.get("/api/v1/records/contact?limit=20").await?;
    for c in page.body["data"].as_array().context("no data")? {
        let id = c["id"].as_str().context("id")?;
        let version = c["row_version"].as_i64().context("version")?;
        let mut body = c.clone();
        for k in [
            "id",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
            "owner_id",
            "row_version",
            "deleted_at",
            "photo",
        ] {
            body.as_object_mut().context("object")?.remove(k);
        }
        let saved = app
            .patch(&format!("/api/v1/records/contact/{id}"), version, &body)
            .await?;
        ensure!(saved.status.is_success(), "re-saving {id}: {:?}", saved.body);
    }
    // Started again, nothing is added.
    ensure!(app::demo_on_first_start(&app.engine, &NoProgress).await?.is_none());
    Ok(())
}

/// A small load is saved again with the rules: an order's total is the sum
/// of its lines' totals, each line's total its quantity times its price
/// (less discount), as if entered by hand.
async fn small_totals_follow_the_rules(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await?;
    let orders = app.get("/api/v1/records/sales_order?limit=30").await?;
    let orders = orders.body["data"].as_array().cloned().unwrap_or_default();
    ensure!(!orders.is_empty(), "the small demo has orders");
    let mut with_lines = 0;
    for order in &orders {
        let id = order["id"].as_str().context("order id")?;
        let lines = app
            .get(&format!("/api/v1/records/order_line?sales_order=eq.{id}&limit=500"))
            .await?;
        let lines = lines.body["data"].as_array().cloned().unwrap_or_default();
        let mut sum = 0.0;
        for l in &lines {
            let total = l["line_total"]
                .as_f64()
                .with_context(|| format!("a line without its total: {l}"))?;
            sum += total;
        }
        if !lines.is_empty() {
            with_lines += 1;
        }
        let total = order["total_amount"].as_f64().unwrap_or(0.0);
        ensure!(
            (total - sum).abs() < 0.005,
            "order {id}: total {total}, lines sum to {sum}"
        );
    }
    ensure!(with_lines > 0, "some orders have lines");
    Ok(())
}

/// A small load goes through the rules as records entered by hand would:
/// the values rules derive from other fields follow them (an opportunity's
/// probability is its stage's, from the pick list's data; a shipped or
/// invoiced order has its date), not a random pick of the generator.
async fn small_demo_values_follow_their_rules(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await?;
    let stages: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(
        stock_metadata().join("sales/picklists/opportunity_stage.yaml"),
    )?)?;
    let mut probability = BTreeMap::new();
    for v in stages["values"].as_sequence().context("the stage values")? {
        let code = v["code"].as_str().context("a stage code")?.to_owned();
        probability.insert(code, v["data"]["probability"].as_f64());
    }
    // A closed deal's result overrides the stage (won: its stage and 100,
    // lost: 0), as data of the result pick list.
    let results: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(
        stock_metadata().join("sales/picklists/opportunity_result.yaml"),
    )?)?;
    let mut by_result = BTreeMap::new();
    for v in results["values"].as_sequence().context("the result values")? {
        let code = v["code"].as_str().context("a result code")?.to_owned();
        by_result.insert(
            code,
            (
                v["data"]["stage"].as_str().map(str::to_owned),
                v["data"]["probability"].as_f64(),
            ),
        );
    }
    let page = app.get("/api/v1/records/opportunity?limit=500").await?;
    let opportunities = page.body["data"].as_array().context("no data")?;
    ensure!(opportunities.len() >= 50, "{} demo opportunities", opportunities.len());
    for o in opportunities {
        let stage = o["stage"].as_str().with_context(|| format!("no stage: {o}"))?;
        let (result_stage, result_probability) = o["result"]
            .as_str()
            .and_then(|r| by_result.get(r).cloned())
            .unwrap_or((None, None));
        if let Some(want) = &result_stage {
            ensure!(
                stage == want,
                "opportunity {} with result {}: stage {stage}, not {want}",
                o["name"],
                o["result"]
            );
        }
        let expected = result_probability.or(probability.get(stage).copied().flatten());
        ensure!(
            o["probability"].as_f64() == expected,
            "opportunity {} at stage {stage} (result {}): probability {}, the rules say {expected:?}",
            o["name"],
            o["result"],
            o["probability"]
        );
    }
    let page = app.get("/api/v1/records/sales_order?limit=500").await?;
    let orders = page.body["data"].as_array().context("no data")?;
    let mut dated = 0;
    for order in orders {
        for (status, field) in [("shipped", "shipped_on"), ("invoiced", "invoiced_on")] {
            if order["status"] == status {
                ensure!(
                    !order[field].is_null(),
                    "a {status} demo order without {field}: {order}"
                );
                dated += 1;
            }
        }
    }
    ensure!(dated > 0, "the small demo has shipped or invoiced orders");
    Ok(())
}

/// The indexes and search structures of the database, as `(name, definition)`
/// text: SQLite's schema (tables, indexes, triggers, the FTS5 tables),
/// PostgreSQL's indexes.
async fn structures(pool: &Pool) -> Result<Vec<String>> {
    let sql = match pool {
        Pool::Sqlite(_) => "SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name",
        Pool::Postgres(_) => {
            "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
        }
    };
    texts(pool, sql).await
}

/// The search finds `text` among the records of `entity`, with the record `id`.
async fn found(engine: &Engine, text: &str, entity: &str, id: &str) -> Result<bool> {
    let groups = engine.search(text, Some(50)).await?;
    Ok(groups
        .iter()
        .filter(|g| g.entity == entity)
        .any(|g| g.hits.iter().any(|h| h.id == id)))
}

/// On SQLite the load sets the indexes and search structures aside and
/// builds them again: afterwards the schema is exactly what the release
/// built, the search index holds every live record, the indexes answer,
/// and the search finds demo records (on PostgreSQL, which keeps them
/// during the load, the same holds).
async fn indexes_and_search_are_back_after_a_load(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let pool = &app.engine.databases().ed;
    let before = structures(pool).await?;
    ensure!(before.iter().any(|s| s.contains("ux_contact__email")), "{before:?}");
    app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await?;
    let after = structures(pool).await?;
    ensure!(
        before == after,
        "the schema differs after the load:\n{before:#?}\n{after:#?}"
    );
    if matches!(pool, Pool::Sqlite(_)) {
        for entity in ["company", "contact", "support_incident"] {
            let live = scalar(pool, &format!("SELECT COUNT(*) FROM {entity} WHERE deleted_at IS NULL")).await?;
            let indexed = scalar(pool, &format!("SELECT COUNT(*) FROM _search_{entity}")).await?;
            let keys = scalar(pool, &format!("SELECT COUNT(*) FROM _searchid_{entity}")).await?;
            ensure!(
                live > 0 && indexed == live && keys == live,
                "{entity}: {live} live, {indexed} indexed, {keys} keys"
            );
        }
        // The rebuilt indexes answer, and the FTS5 index is consistent.
        let email = texts(pool, "SELECT email FROM contact WHERE email IS NOT NULL LIMIT 1").await?;
        let by_index = scalar(
            pool,
            &format!(
                "SELECT COUNT(*) FROM contact INDEXED BY ux_contact__email WHERE email = '{}' AND deleted_at IS NULL",
                email[0].replace('\'', "''")
            ),
        )
        .await?;
        ensure!(by_index == 1, "{by_index} contacts by the e-mail index");
        if let Pool::Sqlite(p) = pool {
            sqlx::query("INSERT INTO _search_contact(_search_contact) VALUES('integrity-check')")
                .execute(p)
                .await?;
        }
        // Values end with the sentinel: the last two characters of a name
        // start a trigram (what two-character terms are found by).
        let name = texts(pool, "SELECT full_name FROM contact ORDER BY id LIMIT 1").await?;
        let last: Vec<char> = name[0].to_lowercase().chars().collect();
        let last: String = last[last.len().saturating_sub(2)..].iter().collect();
        let ending = scalar(
            pool,
            &format!(
                "SELECT COALESCE(SUM(doc), 0) FROM _searchvocab_contact WHERE term = '{}' || char(1) AND col = 'c0'",
                last.replace('\'', "''")
            ),
        )
        .await?;
        ensure!(ending >= 1, "no trigram {last:?} + sentinel in the contacts' names");
    }
    // Demo records are found by their display value and by another
    // searched field.
    let rows = texts(pool, "SELECT CAST(id AS TEXT) || '|' || full_name || '|' || email FROM contact WHERE email IS NOT NULL ORDER BY email LIMIT 3").await?;
    for row in rows {
        let mut parts = row.splitn(3, '|');
        let (Some(id), Some(name), Some(email)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("a contact row {row}");
        };
        ensure!(
            found(&app.engine, name, "contact", id).await?,
            "contact {name} not found by name"
        );
        ensure!(
            found(&app.engine, email, "contact", id).await?,
            "contact {email} not found by e-mail"
        );
    }
    let company = texts(
        pool,
        "SELECT CAST(id AS TEXT) || '|' || name FROM company ORDER BY name LIMIT 1",
    )
    .await?;
    let (id, name) = company.first().and_then(|c| c.split_once('|')).context("a company")?;
    ensure!(
        found(&app.engine, name, "company", id).await?,
        "company {name} not found"
    );
    // The unique index is back: an e-mail taken by a demo contact is refused.
    let email = texts(pool, "SELECT email FROM contact WHERE email IS NOT NULL LIMIT 1").await?;
    let taken = app
        .post(
            "/api/v1/records/contact",
            &serde_json::json!({"full_name": "Second Holder", "email": email[0]}),
        )
        .await?;
    ensure!(
        taken.status.is_client_error(),
        "a taken e-mail was accepted: {:?}",
        taken.body
    );
    Ok(())
}

/// A test entity whose unique number the demo item draws from 1..=3: the
/// load of its 40 records fails (on SQLite when its unique index is built
/// again, on PostgreSQL at the insert).
const TALLY: &str = "version: 1
kind: entity
name: tally
label: { en: Tally, zh-CN: 计数 }
plural_label: { en: Tallies, zh-CN: 计数 }
display_field: title
fields:
  - { name: title, type: text, required: true, label: { en: Title, zh-CN: 标题 } }
  - { name: number, type: integer, unique: true, label: { en: Number, zh-CN: 编号 } }
search:
  fields: [title]
";

const TALLY_DEMO: &str = "version: 1
kind: demo
name: zz_tally
entities:
  - entity: tally
    count: {small: 40, medium: 40, large: 40}
    fields:
      title: {pattern: 'Tally {n}'}
      number: {range: {min: 1, max: 3}}
";

/// A load that fails midway leaves the failing entity as it was: no
/// records, its indexes and search triggers in place (the schema is the
/// one the release built); the entities loaded before it stay, searchable.
async fn a_failed_load_leaves_indexes_and_search_in_place(backend: TestBackend) -> Result<()> {
    let files =
        relata_tests::packages::stock_with(&[("support/tally.yaml", TALLY), ("demo/99_tally.yaml", TALLY_DEMO)])?;
    let dir = tempfile::tempdir()?;
    for f in &files {
        let path = dir.path().join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &f.text)?;
    }
    let Some(app) = TestApp::spawn(backend, Some(dir.path())).await? else {
        return Ok(());
    };
    let pool = &app.engine.databases().ed;
    let before = structures(pool).await?;
    let failed = app.engine.load_demo(options(DEFAULT_SEED, false), &NoProgress).await;
    let message = failed
        .err()
        .context("the load of duplicate numbers did not fail")?
        .to_string();
    ensure!(message.contains("`tally`"), "{message}");
    if matches!(pool, Pool::Sqlite(_)) {
        // The duplicates went in without the unique index, and building it
        // again found them.
        ensure!(message.starts_with("building the indexes of `tally`"), "{message}");
    }
    ensure!(
        scalar(pool, "SELECT COUNT(*) FROM tally").await? == 0,
        "tally records were kept"
    );
    ensure!(
        scalar(pool, "SELECT COUNT(*) FROM company").await? == 50,
        "the companies are kept"
    );
    let after = structures(pool).await?;
    ensure!(
        before == after,
        "the schema differs after the failed load:\n{before:#?}\n{after:#?}"
    );
    // The triggers and the unique index work: a tally saved through the API
    // is found, a second one with its number refused.
    let one = app
        .post(
            "/api/v1/records/tally",
            &serde_json::json!({"title": "Findable tally", "number": 7}),
        )
        .await?;
    ensure!(one.status.is_success(), "{:?}", one.body);
    let id = one.body["id"].as_str().context("an id")?;
    ensure!(
        found(&app.engine, "Findable", "tally", id).await?,
        "the new tally is not found"
    );
    let two = app
        .post(
            "/api/v1/records/tally",
            &serde_json::json!({"title": "Other", "number": 7}),
        )
        .await?;
    ensure!(
        two.status.is_client_error(),
        "a duplicate number was accepted: {:?}",
        two.body
    );
    let company = texts(
        pool,
        "SELECT CAST(id AS TEXT) || '|' || name FROM company ORDER BY name LIMIT 1",
    )
    .await?;
    let (id, name) = company.first().and_then(|c| c.split_once('|')).context("a company")?;
    ensure!(
        found(&app.engine, name, "company", id).await?,
        "company {name} not found"
    );
    Ok(())
}

on_both_backends!(
    small_demo_values_follow_their_rules,
    small_totals_follow_the_rules,
    indexes_and_search_are_back_after_a_load,
    a_failed_load_leaves_indexes_and_search_in_place,
    small_fills_every_demo_entity,
    same_seed_same_data,
    second_run_is_refused_unless_forced,
    first_start_demo_shows_in_the_api
);

/// The stock package with one extra file.
fn with_file(path: &str, text: &str) -> Result<Vec<SourceFile>> {
    Ok(relata_tests::packages::stock_with(&[(path, text)])?)
}

fn errors_of(files: &[SourceFile]) -> Vec<String> {
    match load_files(files) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_stock_demo_items_are_valid() -> Result<()> {
    let (model, _) = relata::model::load_dir(&stock_metadata())?;
    ensure!(model.demos.len() >= 4, "{:?}", model.demos.keys());
    Ok(())
}

#[test]
fn bad_demo_items_get_exact_errors() -> Result<()> {
    let bad = r#"
version: 1
kind: demo
name: bad
lists:
  empty: []
entities:
  - entity: compny
    count: {small: 1, medium: 1, large: 1}
    fields: {}
  - entity: product
    count: {small: 1, medium: 1, large: 1}
    fields:
      name: {list: nowhere}
      price: {range: {min: -5, max: 10}}
      unit: {range: {min: 1, max: 2}}
      code: {values: [A], fixed: B}
      active: {pattern: "{n}"}
  - entity: lead
    fields:
      topic: {pattern: "{subject} {n:0}"}
      territory: {reference: company}
      status: {picklist: {new: 1, sold: 2}, upcoming: {when: topic, picklist: {new: 1}}}
      estimated_amount: {fixed: "lots", null: 2}
  - entity: sales_order
    count: {small: 1, medium: 1, large: 1}
    fields:
      order_number: {pattern: "X{n}"}
      company: {reference: company}
      total_amount: {fixed: 5}
      status: {values: [entered], upcoming: {when: order_date, picklist: {entered: 1}}}
"#;
    let got = errors_of(&with_file("demo/99_bad.yaml", bad)?);
    let expected = [
        "demo/99_bad.yaml: lists.empty: a list needs at least one word",
        "demo/99_bad.yaml: entities[0].entity: unknown entity `compny`",
        "demo/99_bad.yaml: entities[1].entity: demo records of `product` are already declared in demo/10_organisation.yaml",
        "demo/99_bad.yaml: entities[1].fields.name.list: unknown list `nowhere`",
        "demo/99_bad.yaml: entities[1].fields.unit.range: `range` does not fit a text field",
        "demo/99_bad.yaml: entities[1].fields.price.range.min: the field's min is 0, found -5",
        "demo/99_bad.yaml: entities[1].fields.code: give one generator, not values and fixed",
        "demo/99_bad.yaml: entities[1].fields.active.pattern: `pattern` does not fit a boolean field",
        "demo/99_bad.yaml: entities[2]: give `count` or `parent`",
        "demo/99_bad.yaml: entities[2].entity: demo records of `lead` are already declared in demo/30_sales.yaml",
        "demo/99_bad.yaml: entities[2].fields.topic.pattern: `{n:0}`: expected a width from 1 to 20",
        "demo/99_bad.yaml: entities[2].fields.territory.reference: the field points to `territory`, not `company`",
        "demo/99_bad.yaml: entities[2].fields.status.picklist.sold: `sold` is not an active code of `lead_status`",
        "demo/99_bad.yaml: entities[2].fields.estimated_amount.null: expected a probability from 0 to 1, found 2",
        "demo/99_bad.yaml: entities[2].fields.estimated_amount.fixed: \"lots\" is not a valid currency value",
        "demo/99_bad.yaml: entities[3].entity: demo records of `sales_order` are already declared in demo/30_sales.yaml",
        "demo/99_bad.yaml: entities[3].fields.total_amount: a computed field gets its value from a rule; it cannot have demo values",
        "demo/99_bad.yaml: entities[2].fields.status.upcoming.when: `topic` is a text field; expected a date or datetime",
        "demo/99_bad.yaml: entities[3].fields.status.upcoming: `upcoming` goes with `picklist` weights on a picklist field",
    ];
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    let mut have = got.clone();
    want.sort();
    have.sort();
    ensure!(have == want, "got:\n{}", got.join("\n"));

    // Schema errors name the place too.
    let typo = "version: 1\nkind: demo\nname: typo\nentities:\n  - entity: company\n    count: {small: 1, medium: 1, large: 1}\n    fields:\n      name: {valuez: [a]}\n";
    let got = errors_of(&with_file("demo/98_typo.yaml", typo)?);
    ensure!(
        got.len() == 1 && got[0].starts_with("demo/98_typo.yaml: entities[0].fields.name: "),
        "{got:?}"
    );
    ensure!(got[0].contains("valuez"), "{got:?}");
    Ok(())
}
