//! The record API end to end on the stock slice (company, contact), on
//! SQLite and PostgreSQL.

use anyhow::Result;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["full_name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn contact_lifecycle(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let acme = app
        .create(
            "company",
            json!({"name": "Acme 上海", "industry": "software", "city": "Shanghai"}),
        )
        .await?;
    assert_eq!(acme["company_type"], "prospect", "defaults from metadata apply");
    assert_eq!(acme["key_customer"], false);
    assert_eq!(acme["row_version"], 1);
    let acme_id = acme["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&acme_id)?.get_version_num(), 7, "ids are UUIDv7");

    let created = app
        .post(
            "/api/v1/records/contact",
            &json!({
                "full_name": "Li Wei", "company": acme_id, "email": "li.wei@acme.example",
                "birthday": "1990-05-17", "last_contacted_at": "2026-11-20T09:30:00+08:00"
            }),
        )
        .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.etag().as_deref(), Some("1"));
    let li = created.body;
    let li_id = li["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        created.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/records/contact/{li_id}").as_str())
    );
    assert_eq!(
        li["last_contacted_at"], "2026-11-20T01:30:00.000000Z",
        "instants are stored in UTC"
    );
    assert_eq!(li["birthday"], "1990-05-17");
    assert_eq!(li["preferred_channel"], "email");

    // Read, with a reference expanded and a projection.
    let got = app
        .get(&format!(
            "/api/v1/records/contact/{li_id}?expand=company&fields=full_name"
        ))
        .await?;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["company"]["name"], "Acme 上海");
    assert_eq!(got.body["full_name"], "Li Wei");
    assert!(got.body.get("email").is_none(), "fields= projects: {}", got.body);

    for name in ["Zhang San", "Wang Fang", "Chen Jie", "Zhao Lei"] {
        app.create(
            "contact",
            json!({"full_name": name, "company": acme_id, "city": "Shanghai"}),
        )
        .await?;
    }
    app.create("contact", json!({"full_name": "Alice Smith", "city": "London"}))
        .await?;

    // Filter on a field and on a referenced record's field, sort, page with a cursor.
    let p1 = app
        .get("/api/v1/records/contact?company.name=eq.Acme%20%E4%B8%8A%E6%B5%B7&sort=-full_name&limit=2&total=true")
        .await?;
    assert_eq!(p1.status, StatusCode::OK, "{}", p1.body);
    assert_eq!(ids(&p1.body), ["Zhao Lei", "Zhang San"]);
    assert_eq!(p1.body["total"], 5);
    assert_eq!(p1.body["total_capped"], false);
    let capped = app
        .get("/api/v1/records/contact?company.name=eq.Acme%20%E4%B8%8A%E6%B5%B7&limit=1&total=3")
        .await?;
    assert_eq!(capped.body["total"], 3, "a caller's cap: {}", capped.body);
    assert_eq!(capped.body["total_capped"], true);
    let cursor = p1.body["next_cursor"].as_str().unwrap_or_default().to_owned();
    let p2 = app
        .get(&format!(
            "/api/v1/records/contact?company.name=eq.Acme%20%E4%B8%8A%E6%B5%B7&sort=-full_name&limit=2&cursor={cursor}"
        ))
        .await?;
    assert_eq!(ids(&p2.body), ["Wang Fang", "Li Wei"]);
    let cursor = p2.body["next_cursor"].as_str().unwrap_or_default().to_owned();
    let p3 = app
        .get(&format!(
            "/api/v1/records/contact?company.name=eq.Acme%20%E4%B8%8A%E6%B5%B7&sort=-full_name&limit=2&cursor={cursor}"
        ))
        .await?;
    assert_eq!(ids(&p3.body), ["Chen Jie"]);
    assert!(p3.body["next_cursor"].is_null());

    let by_op = |q: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/records/contact?{q}&sort=full_name")).await?;
            anyhow::ensure!(r.status == StatusCode::OK, "{q}: {} {}", r.status, r.body);
            Ok(ids(&r.body))
        }
    };
    assert_eq!(
        by_op("city=ne.Shanghai".into()).await?,
        ["Alice Smith", "Li Wei"],
        "ne keeps empty values"
    );
    assert_eq!(by_op("full_name=contains.an".into()).await?, ["Wang Fang", "Zhang San"]);
    assert_eq!(
        by_op("full_name=starts_with.z".into()).await?,
        ["Zhang San", "Zhao Lei"],
        "case-insensitive"
    );
    assert_eq!(
        by_op("full_name=starts_with.zHA".into()).await?,
        ["Zhang San", "Zhao Lei"],
        "every case variant of a longer prefix"
    );
    assert_eq!(by_op("full_name=starts_with.ZHANG%20s".into()).await?, ["Zhang San"]);
    assert!(
        by_op("full_name=starts_with.Z_".into()).await?.is_empty(),
        "wildcards are plain characters"
    );
    assert_eq!(
        by_op("full_name=in.(Li%20Wei,Zhao%20Lei)".into()).await?,
        ["Li Wei", "Zhao Lei"]
    );
    assert_eq!(by_op("company=is.null".into()).await?, ["Alice Smith"]);
    assert_eq!(by_op("birthday=lt.2000-01-01".into()).await?, ["Li Wei"]);
    assert_eq!(by_op(format!("company=eq.{acme_id}")).await?.len(), 5);

    // Update with If-Match; a stale version is refused and changes nothing.
    let path = format!("/api/v1/records/contact/{li_id}");
    let updated = app
        .patch(&path, 1, &json!({"job_title": "CTO", "mobile": "+86 138 0000 0000"}))
        .await?;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["row_version"], 2);
    assert_eq!(updated.body["job_title"], "CTO");
    let stale = app.patch(&path, 1, &json!({"job_title": "Intern"})).await?;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.body["error"]["code"], "version_conflict");
    assert_eq!(
        stale.body["error"]["current"]["job_title"], "CTO",
        "the conflict shows the other change"
    );
    assert_eq!(app.get(&path).await?.body["job_title"], "CTO");
    let no_version = app
        .call(Method::PATCH, &path, Some(&json!({"job_title": "x"})), &[])
        .await?;
    assert_eq!(no_version.status, StatusCode::PRECONDITION_REQUIRED);

    // Delete to the recycle bin, list it there, restore.
    let deleted = app.call(Method::DELETE, &path, None, &[]).await?;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert!(deleted.body["deleted_at"].is_string());
    assert_eq!(app.get(&path).await?.status, StatusCode::NOT_FOUND);
    assert!(!ids(&app.get("/api/v1/records/contact").await?.body).contains(&"Li Wei".to_owned()));
    assert_eq!(ids(&app.get("/api/v1/recycle-bin/contact").await?.body), ["Li Wei"]);
    let restored = app.post(&format!("{path}/restore"), &json!({})).await?;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert!(restored.body["deleted_at"].is_null());
    assert_eq!(app.get(&path).await?.body["job_title"], "CTO");
    assert_eq!(
        app.post(&format!("{path}/restore"), &json!({})).await?.status,
        StatusCode::NOT_FOUND,
        "only deleted records restore"
    );
    Ok(())
}

async fn count(app: &TestApp, entity: &str) -> Result<u64> {
    let r = app.get(&format!("/api/v1/records/{entity}?total=true&limit=1")).await?;
    Ok(r.body["total"].as_u64().unwrap_or(u64::MAX))
}

fn details(r: &relata_tests::Reply) -> Vec<(String, String)> {
    r.body["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["field"].as_str().unwrap_or("").to_owned(),
                        d["code"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn bad_payloads(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let cases = [
        (json!({}), vec![("full_name", "required")]),
        (json!({"full_name": ""}), vec![("full_name", "required")]),
        (
            json!({"full_name": "X", "nickname": "x"}),
            vec![("nickname", "unknown_field")],
        ),
        (json!({"full_name": 42}), vec![("full_name", "type")]),
        (
            json!({"full_name": "X", "email": "not-an-email"}),
            vec![("email", "format")],
        ),
        (json!({"full_name": "X".repeat(161)}), vec![("full_name", "max_length")]),
        (
            json!({"full_name": "X", "preferred_channel": "pigeon"}),
            vec![("preferred_channel", "not_in_picklist")],
        ),
        (
            json!({"full_name": "X", "birthday": "17/05/1990"}),
            vec![("birthday", "format")],
        ),
        (
            json!({"full_name": "X", "company": "nope"}),
            vec![("company", "format")],
        ),
        (
            json!({"full_name": "X", "company": uuid::Uuid::now_v7().to_string()}),
            vec![("company", "not_found")],
        ),
        (
            // (Empty text: a null would be the field left out, which a
            // contact's rules may still fill in.)
            json!({"full_name": "", "do_not_call": "yes", "salutation": "sir"}),
            vec![
                ("full_name", "required"),
                ("do_not_call", "type"),
                ("salutation", "not_in_picklist"),
            ],
        ),
    ];
    for (payload, expected) in cases {
        let r = app.post("/api/v1/records/contact", &payload).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{payload} -> {}", r.body);
        assert_eq!(r.body["error"]["code"], "validation_failed");
        let mut got = details(&r);
        got.sort();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        want.sort();
        assert_eq!(got, want, "{payload} -> {}", r.body);
        for d in r.body["error"]["details"].as_array().into_iter().flatten() {
            assert!(
                d["message"].as_str().is_some_and(|m| !m.is_empty()),
                "every error says why: {d}"
            );
        }
    }
    let co = app
        .post(
            "/api/v1/records/company",
            &json!({"name": "Big", "annual_revenue": 12.345, "employees": -1}),
        )
        .await?;
    let mut got = details(&co);
    got.sort();
    assert_eq!(
        got,
        [
            ("annual_revenue".to_owned(), "scale".to_owned()),
            ("employees".to_owned(), "minimum".to_owned())
        ],
        "{}",
        co.body
    );
    assert_eq!(count(&app, "contact").await?, 0, "no invalid payload wrote anything");
    assert_eq!(count(&app, "company").await?, 0);

    let raw = |body: &'static str, ct: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(format!("{}/api/v1/records/contact", app.base))
                .header("content-type", ct)
                .body(body)
                .send()
                .await?;
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            anyhow::Ok((status, body))
        }
    };
    let (s, b) = raw("{\"full_name\": ", "application/json").await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let (s, b) = raw("[1,2]", "application/json").await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    let (s, _) = raw("full_name=x", "application/x-www-form-urlencoded").await?;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"full_name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = app
        .client
        .post(format!("{}/api/v1/records/contact", app.base))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "body_too_large");
    assert_eq!(
        body["error"]["message"],
        "the body is larger than this endpoint accepts (1048576 bytes for records and sign-in, \
         16777216 bytes for a package on /admin)"
    );

    let unknown = app.post("/api/v1/records/spaceship", &json!({})).await?;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_entity"))
    );
    let missing = app
        .get(&format!("/api/v1/records/contact/{}", uuid::Uuid::now_v7()))
        .await?;
    assert_eq!(
        (missing.status, missing.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(
        app.get("/api/v1/records/contact/not-a-uuid").await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(count(&app, "contact").await?, 0);
    Ok(())
}

async fn bad_list_parameters(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    for (query, needle) in [
        ("nickname=eq.x", "`nickname` is not a field of contact"),
        ("full_name=like.x", "unknown operator `like`"),
        ("full_name=x", "expected OP.VALUE"),
        ("limit=501", "limit: expected 1 to 500, found 501"),
        ("limit=ten", "limit: expected a whole number"),
        ("sort=shoe_size", "sort: `shoe_size` is not a field of contact"),
        ("cursor=garbage", "cursor: not a cursor of this list"),
        ("birthday=gt.yesterday", "expected a date"),
        ("do_not_call=contains.x", "applies to text fields only"),
        (
            "company.city=eq.x&company.shoe=eq.y",
            "`shoe` is not a field of company",
        ),
        ("fields=full_name,shoe", "fields: `shoe` is not a field of contact"),
        ("expand=city", "expand: `city` is not a reference field"),
        (
            "total=maybe",
            "total: expected true, false or a count cap from 2 to 10000, found `maybe`",
        ),
        ("total=10001", "found `10001`"),
    ] {
        let r = app.get(&format!("/api/v1/records/contact?{query}")).await?;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        let msg = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{query}: expected `{needle}` in `{msg}`");
    }
    Ok(())
}

async fn unique_values(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let first = app
        .create("contact", json!({"full_name": "A", "email": "a@example.com"}))
        .await?;
    let dup = app
        .post(
            "/api/v1/records/contact",
            &json!({"full_name": "B", "email": "a@example.com"}),
        )
        .await?;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", dup.body);
    assert_eq!(details(&dup), [("email".to_owned(), "unique".to_owned())]);
    // A record in the recycle bin does not hold its unique values ...
    let id = first["id"].as_str().unwrap_or_default();
    app.call(Method::DELETE, &format!("/api/v1/records/contact/{id}"), None, &[])
        .await?;
    app.create("contact", json!({"full_name": "B", "email": "a@example.com"}))
        .await?;
    // ... so restoring it now clashes, and says so.
    let restore = app
        .post(&format!("/api/v1/records/contact/{id}/restore"), &json!({}))
        .await?;
    assert_eq!(restore.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", restore.body);
    assert_eq!(details(&restore), [("email".to_owned(), "unique".to_owned())]);
    let other = app
        .create("contact", json!({"full_name": "C", "email": "c@example.com"}))
        .await?;
    let clash = app
        .patch(
            &format!("/api/v1/records/contact/{}", other["id"].as_str().unwrap_or_default()),
            1,
            &json!({"email": "a@example.com"}),
        )
        .await?;
    assert_eq!(details(&clash), [("email".to_owned(), "unique".to_owned())]);
    Ok(())
}

async fn openapi_document(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let doc = app.get("/api/v1/openapi.json").await?;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/api/v1/records/contact/{id}"]["patch"].is_object());
    let create = &doc.body["components"]["schemas"]["ContactCreate"];
    assert_eq!(create["required"], json!(["full_name"]));
    assert_eq!(create["properties"]["company"]["format"], "uuid");
    assert!(doc.body["components"]["schemas"]["Error"].is_object());
    let health = app.get("/healthz").await?;
    assert_eq!(health.body["status"], "ok");
    assert_eq!(app.get("/nowhere").await?.body["error"]["code"], "not_found");
    Ok(())
}

on_both_backends!(
    contact_lifecycle,
    bad_payloads,
    bad_list_parameters,
    unique_values,
    openapi_document
);
