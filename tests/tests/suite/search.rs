//! The global search (`GET /api/v1/search`, `/app/search`) end to end on the
//! stock application (company and contact are searchable), on SQLite (FTS5,
//! trigram) and PostgreSQL (tsvector, GIN).

use anyhow::{Context, Result};
use relata::engine::ApplyRequest;
use relata::model::read_package;
use relata::store::ed::schema::Plan;
use relata_tests::app::Reply;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

/// `GET /api/v1/search` with `q` (and more parameters), properly encoded.
async fn search_with(app: &TestApp, q: &str, more: &[(&str, &str)]) -> Result<Reply> {
    let mut params = vec![("q", q)];
    params.extend_from_slice(more);
    let resp = app.client.get(app.url("/api/v1/search")).query(&params).send().await?;
    Reply::from_response(resp).await
}

/// The display values found for `q`, as `entity:display`, in result order.
async fn found(app: &TestApp, q: &str) -> Result<Vec<String>> {
    let r = search_with(app, q, &[]).await?;
    assert_eq!(r.status, StatusCode::OK, "{q:?}: {}", r.body);
    Ok(r.body["data"]
        .as_array()
        .context("data")?
        .iter()
        .map(|h| {
            format!(
                "{}:{}",
                h["entity"].as_str().unwrap_or("?"),
                h["display"].as_str().unwrap_or("?")
            )
        })
        .collect())
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

async fn finds_by_display_and_search_fields(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let trade = app
        .create("company", json!({"name": "上海贸易公司", "city": "Shanghai"}))
        .await?;
    app.create(
        "company",
        json!({"name": "Acme Industrial", "city": "Berlin", "email": "sales@acme.example"}),
    )
    .await?;
    app.create(
        "contact",
        json!({"full_name": "Li Wei", "city": "Shanghai", "company": id(&trade)}),
    )
    .await?;

    assert_eq!(found(&app, "Acme").await?, ["company:Acme Industrial"], "display field");
    assert_eq!(
        found(&app, "acm").await?,
        ["company:Acme Industrial"],
        "word prefix, any case"
    );
    assert_eq!(
        found(&app, "Berlin").await?,
        ["company:Acme Industrial"],
        "declared field"
    );
    assert_eq!(
        found(&app, "贸易").await?,
        ["company:上海贸易公司"],
        "Chinese substring"
    );
    assert_eq!(found(&app, "上海贸易").await?, ["company:上海贸易公司"]);
    assert_eq!(
        found(&app, "acme berlin").await?,
        ["company:Acme Industrial"],
        "every term"
    );
    assert!(found(&app, "acme shanghai").await?.is_empty(), "terms are ANDed");
    assert_eq!(
        found(&app, "shanghai").await?,
        ["company:上海贸易公司", "contact:Li Wei"],
        "grouped by entity, in package order"
    );

    let r = search_with(&app, "Acme", &[]).await?;
    let hit = &r.body["data"][0];
    assert_eq!(hit["label"], "Company");
    assert_eq!(hit["id"].as_str().map(str::len), Some(36));
    assert_eq!(r.body["limit"], 5);

    for blank in ["", "   ", "\t"] {
        assert!(found(&app, blank).await?.is_empty(), "{blank:?} finds nothing");
    }
    let r = app.get("/api/v1/search").await?;
    assert_eq!((r.status, r.body["data"].clone()), (StatusCode::OK, json!([])));

    // Bounded per entity.
    for n in 0..7 {
        app.create("company", json!({"name": format!("Widget Works {n}")}))
            .await?;
    }
    assert_eq!(found(&app, "widget").await?.len(), 5, "five per entity by default");
    let r = search_with(&app, "widget", &[("limit", "2")]).await?;
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(2));
    for bad in ["0", "51", "x"] {
        let r = search_with(&app, "widget", &[("limit", bad)]).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "limit={bad}: {}", r.body);
    }
    let r = search_with(&app, "widget", &[("sort", "x")]).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let openapi = app.get("/api/v1/openapi.json").await?.body;
    let search = &openapi["paths"]["/api/v1/search"]["get"];
    assert_eq!(search["operationId"], "search");
    assert_eq!(
        search["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"]
            ["properties"]["entity"]["enum"],
        json!([
            "employee",
            "product",
            "activity",
            "campaign",
            "company",
            "competitor",
            "competitor_product",
            "contact",
            "document",
            "lead",
            "opportunity",
            "personal_contact",
            "sales_order",
            "equipment",
            "service_visit",
            "training_session",
            "development_incident",
            "knowledge_article",
            "registration",
            "support_contract",
            "support_incident"
        ]),
        "the searchable entities of the stock application, in package order"
    );
    Ok(())
}

async fn follows_deletes_restores_and_updates(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let acme = app.create("company", json!({"name": "Acme Industrial"})).await?;
    let path = format!("/api/v1/records/company/{}", id(&acme));
    assert_eq!(found(&app, "acme").await?.len(), 1);

    let deleted = app.call(Method::DELETE, &path, None, &[]).await?;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(found(&app, "acme").await?.is_empty(), "the recycle bin is not searched");
    let restored = app.post(&format!("{path}/restore"), &json!({})).await?;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(found(&app, "acme").await?, ["company:Acme Industrial"], "found again");

    let version = restored.body["row_version"].as_i64().context("version")?;
    let updated = app.patch(&path, version, &json!({"name": "Zenith Trading"})).await?;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(found(&app, "zenith").await?, ["company:Zenith Trading"], "new text");
    assert!(found(&app, "acme").await?.is_empty(), "old text gone");

    // A change to a field that is not searched leaves the entry alone.
    let version = updated.body["row_version"].as_i64().context("version")?;
    let r = app.patch(&path, version, &json!({"employees": 12})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(found(&app, "zenith").await?, ["company:Zenith Trading"]);
    Ok(())
}

async fn a_release_that_adds_a_search_field_backfills(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    app.create("company", json!({"name": "Acme Industrial", "region": "Guangdong"}))
        .await?;
    let deleted = app.create("company", json!({"name": "Old Guangdong Co"})).await?;
    let path = format!("/api/v1/records/company/{}", id(&deleted));
    assert_eq!(app.call(Method::DELETE, &path, None, &[]).await?.status, StatusCode::OK);
    assert!(found(&app, "guangdong").await?.is_empty(), "region is not searched yet");

    let mut files = read_package(&stock_metadata(), None)?;
    let company = files
        .iter_mut()
        .find(|f| f.path == "marketing/company.yaml")
        .context("company.yaml")?;
    let from = "fields: [city, email, phone]";
    assert!(
        company.text.contains(from),
        "the stock company.yaml changed: update this test"
    );
    company.text = company.text.replace(from, "fields: [city, email, phone, region]");
    let request = |plan_only| ApplyRequest {
        files: files.clone(),
        author: "test".into(),
        comment: "search the region".into(),
        plan_only,
    };
    let plan = app.engine.apply(request(true)).await?.plan.to_string();
    assert!(
        plan.contains("drop the search index of company (searched fields changed; derived from the records, nothing is lost)")
            && plan.contains("create the search index of company over (name, city, email, phone, region) and fill it from the live records"),
        "{plan}"
    );
    assert!(!plan.contains("of contact"), "contact's index is left alone: {plan}");
    assert_eq!(app.engine.apply(request(false)).await?.release, Some(2));
    assert_eq!(
        found(&app, "guangdong").await?,
        ["company:Acme Industrial"],
        "existing live records are indexed; the recycle bin is not"
    );
    let restored = app.post(&format!("{path}/restore"), &json!({})).await?;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(found(&app, "guangdong").await?.len(), 2);

    // Taking search off an entity drops its index and keeps the records.
    let files: Vec<_> = files
        .into_iter()
        .map(|mut f| {
            if f.path == "marketing/company.yaml" {
                f.text = f
                    .text
                    .replace("search:", "#search:")
                    .replace("  fields: [city", "#  fields: [city");
            }
            f
        })
        .collect();
    let out = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "no company search".into(),
            plan_only: false,
        })
        .await?;
    assert!(out.plan.to_string().contains("no longer searchable"), "{}", out.plan);
    assert!(found(&app, "guangdong").await?.is_empty());
    assert_eq!(
        app.get("/api/v1/records/company?limit=10").await?.body["data"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    Ok(())
}

async fn hostile_queries_are_searched_as_text(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    app.create(
        "company",
        json!({"name": "Acme \"Quoted\" * NEAR(x) -minus 50% o'brien"}),
    )
    .await?;
    let long = "x".repeat(500);
    let hostile = [
        "\"",
        "\"\"",
        "*",
        "NEAR(",
        "NEAR(a b",
        "a OR",
        "OR",
        "AND NOT",
        "-x",
        "^a",
        "a:b",
        "c0:acme",
        "{c0}: a",
        "'",
        "''",
        "\\",
        "%",
        "_",
        "&",
        "|",
        "!",
        "<->",
        ":*",
        "a & b",
        "(",
        ")",
        "\u{0}",
        "acme\u{0}",
        "🙂",
        long.as_str(),
    ];
    for q in hostile {
        let r = search_with(&app, q, &[]).await?;
        assert_eq!(r.status, StatusCode::OK, "{q:?}: {}", r.body);
    }
    assert_eq!(found(&app, "\"quoted\"").await?.len(), 1, "quotes are text");
    assert_eq!(found(&app, "NEAR(x)").await?.len(), 1, "operators are text");
    assert_eq!(found(&app, "o'brien").await?.len(), 1);
    // Two characters: trigrams with quotes and operators in them are text too.
    assert_eq!(found(&app, "\"q").await?.len(), 1, "a quote in a trigram");
    assert_eq!(found(&app, "o'").await?.len(), 1);
    assert_eq!(found(&app, "(x").await?.len(), 1);
    Ok(())
}

/// Terms of two characters (below the trigram index's three on SQLite):
/// found exactly where a substring search finds them, at the start, inside
/// and at the end of a value, in the display field or another; display
/// hits first on SQLite; following updates, deletes and restores.
async fn two_character_terms(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let end = app
        .create("company", json!({"name": "宏达上海", "city": "北京"}))
        .await?;
    let city = app
        .create("company", json!({"name": "Acme Li", "city": "上海"}))
        .await?;
    app.create("company", json!({"name": "上海华信科技有限公司", "city": "Bonn"}))
        .await?;
    let other = app
        .create("company", json!({"name": "海上贸易", "city": "深圳"}))
        .await?;
    app.create("contact", json!({"full_name": "李伟", "city": "上海"}))
        .await?;
    app.create("contact", json!({"full_name": "Li Wei", "city": "London"}))
        .await?;
    app.create("contact", json!({"full_name": "王芳", "city": "上海浦东"}))
        .await?;

    let sqlite = backend == TestBackend::Sqlite;
    let shanghai = [
        "company:Acme Li",
        "company:上海华信科技有限公司",
        "company:宏达上海",
        "contact:李伟",
        "contact:王芳",
    ];
    assert_eq!(sorted(&app, "上海").await?, shanghai);
    if sqlite {
        assert_eq!(
            found(&app, "上海").await?,
            [
                "company:上海华信科技有限公司",
                "company:宏达上海",
                "company:Acme Li",
                "contact:李伟",
                "contact:王芳"
            ],
            "display hits first, then by display value"
        );
    }
    assert_eq!(found(&app, "海上").await?, ["company:海上贸易"]);
    assert_eq!(found(&app, "北京").await?, ["company:宏达上海"], "a whole value");
    assert_eq!(
        sorted(&app, "li").await?,
        ["company:Acme Li", "contact:Li Wei"],
        "latin, any case"
    );
    if sqlite {
        // Inside a word: a substring on SQLite (PostgreSQL matches word
        // prefixes of latin text).
        assert_eq!(
            sorted(&app, "on").await?,
            ["company:上海华信科技有限公司", "contact:Li Wei"],
            "Bonn, London"
        );
    }
    assert_eq!(sorted(&app, "LI").await?, ["company:Acme Li", "contact:Li Wei"]);
    assert!(found(&app, "zq").await?.is_empty(), "in no value");
    assert!(found(&app, "海贸").await?.is_empty(), "not across fields");
    // Mixed with a longer term, and with another pair.
    assert_eq!(found(&app, "上海 华信科技").await?, ["company:上海华信科技有限公司"]);
    assert_eq!(found(&app, "acme 上海").await?, ["company:Acme Li"]);
    assert_eq!(found(&app, "上海 浦东").await?, ["contact:王芳"]);
    assert_eq!(found(&app, "上海 li").await?, ["company:Acme Li"]);
    assert!(found(&app, "上海 bonn 深圳").await?.is_empty());
    // One character: still found (a scan on SQLite).
    assert_eq!(sorted(&app, "伟").await?, ["contact:李伟"]);

    // An update moves the entry; a delete takes it out, a restore back in.
    let path = |v: &Value| format!("/api/v1/records/company/{}", id(v));
    let version = |v: &Value| v["row_version"].as_i64().context("version");
    let r = app
        .patch(&path(&city), version(&city)?, &json!({"city": "Paris"}))
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch(&path(&other), version(&other)?, &json!({"name": "海上上海"}))
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sorted(&app, "上海").await?,
        [
            "company:上海华信科技有限公司",
            "company:宏达上海",
            "company:海上上海",
            "contact:李伟",
            "contact:王芳"
        ]
    );
    assert_eq!(found(&app, "pa").await?, ["company:Acme Li"], "the new city");
    let r = app.call(Method::DELETE, &path(&end), None, &[]).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(found(&app, "北京").await?.is_empty(), "the recycle bin is not searched");
    assert!(!found(&app, "上海").await?.contains(&"company:宏达上海".to_owned()));
    let r = app.post(&format!("{}/restore", path(&end)), &json!({})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(found(&app, "北京").await?, ["company:宏达上海"], "found again");
    Ok(())
}

async fn ui_page_in_both_languages(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let trade = app.create("company", json!({"name": "上海贸易公司"})).await?;
    let page = |lang: &'static str, q: &'static str| {
        let req = app
            .client
            .get(app.url("/app/search"))
            .query(&[("q", q)])
            .header("accept-language", lang);
        async move {
            let r = req.send().await?;
            Ok::<_, anyhow::Error>((r.status(), r.text().await?))
        }
    };
    // Templates escape `/` in attributes.
    let href = format!("href=\"&#x2f;app&#x2f;r&#x2f;company&#x2f;{}\"", id(&trade));
    let (status, en) = page("en", "贸易").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        en.contains(&href) && en.contains("Companies") && en.contains("Results for"),
        "{en}"
    );
    let (status, zh) = page("zh-CN", "贸易").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        zh.contains(&href) && zh.contains("搜索结果") && zh.contains("全局搜索"),
        "{zh}"
    );
    let (_, none) = page("zh-CN", "nothing-like-this").await?;
    assert!(none.contains("没有找到"), "{none}");
    let (_, none) = page("en", "\"NEAR(").await?;
    assert!(none.contains("Nothing found"), "{none}");
    let (_, blank) = page("en", "").await?;
    assert!(blank.contains("Part of a word is enough"), "{blank}");
    // The search box is in every page's header.
    let (_, home) = page("en", "").await?;
    assert!(home.contains("action=\"/app/search\""), "{home}");
    let r = app.client.get(app.url("/app")).send().await?;
    assert!(r.text().await?.contains("action=\"/app/search\""));
    Ok(())
}

/// The search reads the index, not the table: FTS5 answers the MATCH on
/// SQLite, the GIN index the `@@` on PostgreSQL (over 20,000 rows). Printed
/// for the record (`--nocapture`); the assertions check the index is used.
async fn query_plans_use_the_index(backend: TestBackend) -> Result<()> {
    use relata::store::ed::search::{pg_sql, sqlite_sql, sqlite_vocab_sql, vocab_row_limit, PairTrigrams, SearchQuery};
    use relata::store::Pool;
    use sqlx::Row;
    let Some(app) = app(backend).await? else { return Ok(()) };
    for n in 0..5 {
        app.create(
            "company",
            json!({"name": format!("Company {n} 贸易"), "city": "Shanghai"}),
        )
        .await?;
    }
    let query = SearchQuery::parse("acme 贸易").context("query")?;
    let fields = ["name", "city", "email", "phone"];
    let plan: Vec<String> = match &app.engine.databases().ed {
        Pool::Sqlite(p) => {
            // The two-character term: a seek to its trigrams in the vocab
            // table (idxNum 0 would be a scan of the whole term list).
            let mut pairs = Vec::new();
            for (lo, hi) in query.sqlite_pairs() {
                let vocab = sqlite_vocab_sql("company");
                let explain = format!("EXPLAIN QUERY PLAN {vocab}");
                let row = sqlx::query(&explain)
                    .bind(&lo)
                    .bind(&hi)
                    .bind(10_i64)
                    .fetch_one(p)
                    .await?;
                let detail: String = row.try_get(3)?;
                println!("vocab plan: {detail}");
                assert!(
                    detail.contains("VIRTUAL TABLE INDEX") && !detail.contains("INDEX 0:"),
                    "{detail}"
                );
                let rows: Vec<(String, String)> = sqlx::query_as(&vocab)
                    .bind(lo)
                    .bind(hi)
                    .bind(vocab_row_limit(fields.len()))
                    .fetch_all(p)
                    .await?;
                pairs.push(PairTrigrams::from_vocab(&rows));
            }
            let (sql, binds) = sqlite_sql("company", fields.len(), &query, &pairs).context("sql")?;
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let mut q = sqlx::query(&explain);
            for b in binds {
                q = q.bind(b);
            }
            let rows = q.bind(5_i64).fetch_all(p).await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>(3))
                .collect::<Result<_, _>>()?
        }
        Pool::Postgres(p) => {
            // A table of some size (a few pages would be read whole, index or not).
            sqlx::query(
                "INSERT INTO company (id, created_at, updated_at, row_version, name, city) \
                 SELECT gen_random_uuid(), now(), now(), 1, 'Firm ' || g, 'City ' || (g % 100) \
                 FROM generate_series(1, 20000) g",
            )
            .execute(p)
            .await?;
            sqlx::query("ANALYZE company").execute(p).await?;
            let explain = format!("EXPLAIN {}", pg_sql("company", &fields));
            let rows = sqlx::query(&explain)
                .bind(query.tsquery())
                .bind(5_i64)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?
        }
    };
    let plan = plan.join("\n");
    println!("{backend:?} plan for {query:?}:\n{plan}");
    let index = match backend {
        TestBackend::Sqlite => "VIRTUAL TABLE INDEX",
        TestBackend::Postgres => "Bitmap Index Scan on _search_company",
    };
    assert!(plan.contains(index), "{plan}");
    Ok(())
}

async fn sorted(app: &TestApp, q: &str) -> Result<Vec<String>> {
    let mut v = found(app, q).await?;
    v.sort();
    Ok(v)
}

/// The index follows records by id, not by the entity table's rowid: after
/// a VACUUM, and after the rowids are renumbered as VACUUM may do and a dump
/// and restore does, edits, deletes, restores and new records still keep
/// the index right (on SQLite the old rowid link found stale text, kept
/// deleted records and refused new ones).
async fn search_survives_vacuum_and_renumbered_rowids(backend: TestBackend) -> Result<()> {
    use relata::store::Pool;
    let Some(app) = app(backend).await? else { return Ok(()) };
    let alpha = app.create("company", json!({"name": "Alpha Trading"})).await?;
    let bravo = app.create("company", json!({"name": "Bravo Trading"})).await?;
    let charlie = app.create("company", json!({"name": "Charlie Trading"})).await?;
    match &app.engine.databases().ed {
        Pool::Sqlite(p) => {
            // A purge (hard delete) leaves a gap in the rowids.
            sqlx::query("DELETE FROM company WHERE id = $1")
                .bind(id(&bravo))
                .execute(p)
                .await?;
            sqlx::query("VACUUM").execute(p).await?;
            // Dense rowids in the reverse order of the ids: Charlie 1, Alpha 2.
            sqlx::query("UPDATE company SET rowid = rowid + 1000")
                .execute(p)
                .await?;
            sqlx::query("UPDATE company SET rowid = (SELECT count(*) FROM company c2 WHERE c2.id >= company.id)")
                .execute(p)
                .await?;
        }
        Pool::Postgres(p) => {
            sqlx::query("DELETE FROM company WHERE id = $1::uuid")
                .bind(id(&bravo))
                .execute(p)
                .await?;
            sqlx::query("VACUUM FULL company").execute(p).await?;
        }
    }
    assert_eq!(
        sorted(&app, "trading").await?,
        ["company:Alpha Trading", "company:Charlie Trading"]
    );
    let path = format!("/api/v1/records/company/{}", id(&alpha));
    let version = alpha["row_version"].as_i64().context("version")?;
    let r = app.patch(&path, version, &json!({"name": "Alpine Trading"})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(found(&app, "alpha").await?.is_empty(), "the old text is gone");
    assert_eq!(found(&app, "alpine").await?, ["company:Alpine Trading"]);

    let delta = app
        .post("/api/v1/records/company", &json!({"name": "Delta Trading"}))
        .await?;
    assert_eq!(
        delta.status,
        StatusCode::CREATED,
        "a new record is indexed: {}",
        delta.body
    );
    assert_eq!(found(&app, "delta").await?, ["company:Delta Trading"]);

    let charlie_path = format!("/api/v1/records/company/{}", id(&charlie));
    let r = app.call(Method::DELETE, &charlie_path, None, &[]).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        found(&app, "charlie").await?.is_empty(),
        "the recycle bin is not searched"
    );
    let r = app.post(&format!("{charlie_path}/restore"), &json!({})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sorted(&app, "trading").await?,
        [
            "company:Alpine Trading",
            "company:Charlie Trading",
            "company:Delta Trading"
        ]
    );
    Ok(())
}

/// A SQLite index built by an older runtime (keyed by the entity table's
/// rowid, no key table) is planned for a rebuild by the next release and
/// rebuilt at the next start without one.
/// The schema plan the stock package would get now (nothing applied).
async fn stock_plan(app: &TestApp) -> Result<Plan> {
    let outcome = app
        .engine
        .apply(ApplyRequest {
            files: read_package(&stock_metadata(), None)?,
            author: "test".into(),
            comment: "plan".into(),
            plan_only: true,
        })
        .await?;
    Ok(outcome.plan)
}

async fn an_index_of_the_old_shape_is_rebuilt(backend: TestBackend) -> Result<()> {
    use relata::store::Pool;
    let Some(app) = app(backend).await? else { return Ok(()) };
    let Pool::Sqlite(p) = &app.engine.databases().ed else {
        return Ok(()); // The PostgreSQL index has had one shape only.
    };
    app.create("company", json!({"name": "Old Shape Ltd", "city": "Ningbo"}))
        .await?;
    // The index as the previous runtime built it.
    let fts = "\"_search_company\"(rowid, record_id, c0, c1, c2, c3)";
    let new = "NEW.\"name\", NEW.\"city\", NEW.\"email\", NEW.\"phone\"";
    for sql in [
        "DROP TRIGGER \"_search_company__ai2\"".to_owned(),
        "DROP TRIGGER \"_search_company__ad2\"".to_owned(),
        "DROP TRIGGER \"_search_company__au2\"".to_owned(),
        "DROP TABLE \"_searchvocab_company\"".to_owned(),
        "DROP TABLE \"_searchid_company\"".to_owned(),
        "DELETE FROM \"_search_company\"".to_owned(),
        format!(
            "CREATE TRIGGER \"_search_company__ai\" AFTER INSERT ON \"company\" WHEN NEW.\"deleted_at\" IS NULL \
             BEGIN INSERT INTO {fts} VALUES (NEW.rowid, NEW.\"id\", {new}); END"
        ),
        "CREATE TRIGGER \"_search_company__ad\" AFTER DELETE ON \"company\" \
         BEGIN DELETE FROM \"_search_company\" WHERE rowid = OLD.rowid; END"
            .to_owned(),
        format!(
            "CREATE TRIGGER \"_search_company__au\" AFTER UPDATE OF \"deleted_at\", \"name\", \"city\", \"email\", \"phone\" \
             ON \"company\" BEGIN DELETE FROM \"_search_company\" WHERE rowid = OLD.rowid; \
             INSERT INTO {fts} SELECT NEW.rowid, NEW.\"id\", {new} WHERE NEW.\"deleted_at\" IS NULL; END"
        ),
        format!(
            "INSERT INTO {fts} SELECT rowid, \"id\", \"name\", \"city\", \"email\", \"phone\" FROM \"company\" \
             WHERE \"deleted_at\" IS NULL"
        ),
    ] {
        sqlx::query(&sql).execute(p).await?;
    }
    assert_eq!(found(&app, "old shape").await?, ["company:Old Shape Ltd"]);

    let plan = stock_plan(&app).await?;
    let steps: Vec<&str> = plan.steps.iter().map(|s| s.description.as_str()).collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("drop the search index of company (its format changed")),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("create the search index of company")),
        "{steps:?}"
    );

    // A restart rebuilds it, with no release.
    let restarted = app.open_engine(|_| {}).await?;
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM \"_searchid_company\"")
        .fetch_one(p)
        .await?;
    assert_eq!(keys, 1, "the key table is back and filled");
    let groups = restarted.search("ningbo", None).await?;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].hits[0].display, "Old Shape Ltd");
    Ok(())
}

/// A SQLite index of format 1 (key table, but no sentinel after the values
/// and no vocab table, triggers named without a number) is rebuilt at the
/// next start, and then finds two-character terms at the end of a value.
async fn an_index_without_the_sentinel_is_rebuilt(backend: TestBackend) -> Result<()> {
    use relata::store::Pool;
    let Some(app) = app(backend).await? else { return Ok(()) };
    let Pool::Sqlite(p) = &app.engine.databases().ed else {
        return Ok(()); // Two-character terms changed nothing on PostgreSQL.
    };
    app.create("company", json!({"name": "Format One", "city": "宁波"}))
        .await?;
    let fts = "\"_search_company\"(rowid, record_id, c0, c1, c2, c3)";
    let keys = "\"_searchid_company\"";
    let new = "NEW.\"name\", NEW.\"city\", NEW.\"email\", NEW.\"phone\"";
    let key_of = |rec: &str| format!("(SELECT \"n\" FROM {keys} WHERE \"id\" = {rec}.\"id\")");
    for sql in [
        "DROP TRIGGER \"_search_company__ai2\"".to_owned(),
        "DROP TRIGGER \"_search_company__ad2\"".to_owned(),
        "DROP TRIGGER \"_search_company__au2\"".to_owned(),
        "DROP TABLE \"_searchvocab_company\"".to_owned(),
        "DELETE FROM \"_search_company\"".to_owned(),
        format!(
            "CREATE TRIGGER \"_search_company__ai\" AFTER INSERT ON \"company\" WHEN NEW.\"deleted_at\" IS NULL BEGIN \
             INSERT INTO {keys}(\"id\") VALUES (NEW.\"id\"); INSERT INTO {fts} VALUES ({}, NEW.\"id\", {new}); END",
            key_of("NEW")
        ),
        format!(
            "CREATE TRIGGER \"_search_company__ad\" AFTER DELETE ON \"company\" BEGIN \
             DELETE FROM \"_search_company\" WHERE rowid = {}; DELETE FROM {keys} WHERE \"id\" = OLD.\"id\"; END",
            key_of("OLD")
        ),
        format!(
            "CREATE TRIGGER \"_search_company__au\" AFTER UPDATE OF \"deleted_at\", \"name\" ON \"company\" BEGIN \
             DELETE FROM \"_search_company\" WHERE rowid = {}; END",
            key_of("OLD")
        ),
        format!(
            "INSERT INTO {fts} SELECT k.\"n\", c.\"id\", c.\"name\", c.\"city\", c.\"email\", c.\"phone\" \
             FROM \"company\" c JOIN {keys} k ON k.\"id\" = c.\"id\""
        ),
    ] {
        sqlx::query(&sql).execute(p).await?;
    }
    assert_eq!(found(&app, "format one").await?, ["company:Format One"]);

    let plan = stock_plan(&app).await?.to_string();
    assert!(
        plan.contains("drop the search index of company (its format changed")
            && plan.contains("create the search index of company"),
        "a release would rebuild it: {plan}"
    );
    assert!(
        !plan.contains("search index of contact"),
        "the current ones stay: {plan}"
    );

    let restarted = app.open_engine(|_| {}).await?;
    let triggers: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'company' ORDER BY name",
    )
    .fetch_all(p)
    .await?;
    assert_eq!(
        triggers,
        ["_search_company__ad2", "_search_company__ai2", "_search_company__au2"],
        "the format-1 triggers are gone"
    );
    let groups = restarted.search("宁波", None).await?;
    assert_eq!(groups.len(), 1, "a whole two-character value");
    assert_eq!(groups[0].hits[0].display, "Format One", "shown without the sentinel");
    let groups = restarted.search("ne", None).await?;
    assert_eq!(groups[0].hits[0].display, "Format One", "at the end of a value");
    Ok(())
}

on_both_backends!(
    search_survives_vacuum_and_renumbered_rowids,
    an_index_of_the_old_shape_is_rebuilt,
    finds_by_display_and_search_fields,
    follows_deletes_restores_and_updates,
    a_release_that_adds_a_search_field_backfills,
    hostile_queries_are_searched_as_text,
    two_character_terms,
    an_index_without_the_sentinel_is_rebuilt,
    ui_page_in_both_languages,
    query_plans_use_the_index,
);
