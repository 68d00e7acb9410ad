//! Every input has a bound, and going past it answers 400, 413, 415 or 422
//! naming the bound, changing nothing (docs/limits.md, "Inputs and
//! scripts"). On both backends.

use anyhow::{Context, Result};
use relata::model::read_package;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

/// POSTs `body` as it is, with `content_type`.
async fn raw(app: &TestApp, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Result<Reply> {
    let resp = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    Reply::from_response(resp).await
}

async fn companies(app: &TestApp) -> Result<Value> {
    Ok(app.get("/api/v1/records/company?total=true").await?.body["total"].clone())
}

const COMPANY: &str = "/api/v1/records/company";

async fn record_bodies(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let before = companies(&app).await?;
    let body = r#"{"name": "Acme"}"#;
    for ct in [
        "text/plain",
        "application/vnd.api+json",
        "application/json; charset=latin1",
        "application/json; boundary=x",
        "application/jsonp",
    ] {
        let r = raw(&app, COMPANY, ct, body).await?;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "unsupported_media_type", "{ct}");
    }
    let r = raw(&app, COMPANY, "Application/JSON; charset=UTF-8", body).await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let after_one = companies(&app).await?;

    // A key given twice: 400 naming it, nothing written.
    let r = raw(
        &app,
        COMPANY,
        "application/json",
        r#"{"name": "A", "city": "x", "name": "B"}"#,
    )
    .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "duplicate_key");
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("`name`"), "{message}");

    // Nesting past 32 levels.
    let deep = format!(r#"{{"name": "A", "notes": {}1{}}}"#, "[".repeat(40), "]".repeat(40));
    let r = raw(&app, COMPANY, "application/json", deep).await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "too_deep");
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("32 levels"));

    // A body past 1 MiB.
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(1024 * 1024 + 1));
    let r = raw(&app, COMPANY, "application/json", huge).await?;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "body_too_large");

    // A long text field with no max_length of its own: 100,000 characters.
    let r = app
        .post(COMPANY, &json!({"name": "Long", "notes": "字".repeat(100_001)}))
        .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["details"][0]["field"], "notes", "{}", r.body);
    assert_eq!(r.body["error"]["details"][0]["code"], "max_length", "{}", r.body);
    let r = app
        .post(COMPANY, &json!({"name": "Long", "notes": "字".repeat(100_000)}))
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "at the limit: {}", r.status);

    let total = companies(&app).await?;
    assert_eq!(
        before.as_u64().map(|n| n + 2),
        total.as_u64(),
        "only the two good bodies wrote"
    );
    assert_eq!(after_one.as_u64().map(|n| n + 1), total.as_u64());
    Ok(())
}

on_both_backends!(record_bodies);

async fn list_requests(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let filters = |n: usize| (0..n).map(|i| format!("name=ne.x{i}")).collect::<Vec<_>>().join("&");
    let r = app.get(&format!("{COMPANY}?{}", filters(50))).await?;
    assert_eq!(r.status, StatusCode::OK, "50 filters: {}", r.body);
    let cases = [
        (format!("{COMPANY}?{}", filters(51)), "at most 50 filters"),
        (format!("{COMPANY}?{}", filters(998)), "at most 50 filters"),
        (
            format!("{COMPANY}?sort={}", ["name"; 9].join(",")),
            "sort: at most 8 keys",
        ),
        (
            format!("{COMPANY}?sort={}", vec!["-name"; 2000].join(",")),
            "sort: at most 8 keys",
        ),
        (
            format!("{COMPANY}?fields={}", vec!["name"; 201].join(",")),
            "fields: at most 200 names",
        ),
        (
            format!(
                "{COMPANY}?name=in.({})",
                (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            ),
            "at most 100 values",
        ),
        (
            format!("{COMPANY}?q={}", "a".repeat(1001)),
            "q: at most 1000 characters",
        ),
        (
            format!("/api/v1/search?q={}", "a".repeat(1001)),
            "q: at most 1000 characters",
        ),
        (format!("{COMPANY}?limit=501"), "limit: expected 1 to 500"),
    ];
    for (path, expected) in cases {
        let r = app.get(&path).await?;
        let shown = &path[..path.len().min(80)];
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{shown}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{shown}: {message}");
    }
    Ok(())
}

on_both_backends!(list_requests);

/// The stock package as plan files, with `extra` added.
fn package(extra: &[(&str, String)]) -> Result<Value> {
    let mut files: Vec<Value> = read_package(&stock_metadata(), None)?
        .into_iter()
        .map(|f| json!({"path": f.path, "text": f.text}))
        .collect();
    files.extend(extra.iter().map(|(p, t)| json!({"path": p, "text": t})));
    Ok(Value::Array(files))
}

const ENTITY: &str = "kind: entity\nversion: 1\nname: survey\nlabel: { en: Survey, zh-CN: 调查 }\nplural_label: { en: Surveys, zh-CN: 调查 }\nfields:\n  - name: title\n    type: text\n    label: { en: Title, zh-CN: 标题 }\n";

async fn metadata_files(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let cases = [
        // 200 KiB of brackets kept `relata validate` busy over 300 s.
        (
            format!("{ENTITY}extra: {}\n", "[".repeat(200 * 1024)),
            "brackets nest more than 32 levels deep",
        ),
        (
            ENTITY.replace("en: Survey,", &format!("en: {},", "S".repeat(2001))),
            "2000",
        ),
        (
            format!(
                "{ENTITY}x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n{}",
                ["b", "c", "d", "e", "f", "g"]
                    .iter()
                    .zip(["a", "b", "c", "d", "e", "f"])
                    .map(|(n, p)| format!("{n}: &{n} [{}]\n", vec![format!("*{p}"); 10].join(", ")))
                    .collect::<String>()
            ),
            "more than 100000 values",
        ),
        (format!("{ENTITY}name: twice\n"), "the key `name` is given twice"),
    ];
    for (text, expected) in cases {
        let started = std::time::Instant::now();
        let body = json!({"files": package(&[("sales/survey.yaml", text)])?, "base_release": 1});
        let r = app.post("/admin/api/v1/plan", &body).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{expected}: {}", r.body);
        let details = r.body["error"]["details"].as_array().context("details")?;
        let found = details
            .iter()
            .any(|d| d["file"] == "sales/survey.yaml" && d["message"].as_str().unwrap_or_default().contains(expected));
        assert!(found, "{expected}: {details:?}");
        assert!(
            started.elapsed().as_secs() < 20,
            "{expected}: took {:?}",
            started.elapsed()
        );
    }
    // A release export sent as YAML is read within the same bounds.
    let started = std::time::Instant::now();
    let hostile = format!("export: {}\n", "[".repeat(200 * 1024));
    let r = raw(
        &app,
        "/admin/api/v1/releases/import?plan=true",
        "application/yaml",
        hostile,
    )
    .await?;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("brackets nest more than 32 levels"), "{message}");
    assert!(started.elapsed().as_secs() < 20, "import took {:?}", started.elapsed());
    Ok(())
}

on_both_backends!(metadata_files);
