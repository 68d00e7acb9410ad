//! The sandbox: a rule that loops forever, builds a huge string, recurses
//! without end or calls a missing function ends in a clear 422 naming the
//! rule, its write is rolled back, and the server goes on answering. On
//! both backends.

use anyhow::Result;
use relata_tests::{on_both_backends, rules_fixture, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

async fn runaway_scripts(backend: TestBackend) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    rules_fixture::write(tmp.path())?;
    let Some(app) = TestApp::spawn(backend, Some(tmp.path())).await? else {
        return Ok(());
    };
    let cases = [
        ("loop", "went past the limit on operations"),
        ("huge", "went past the limit on length of string"),
        ("deep", "went past the limit on call depth"),
        ("missing", "calls a function that does not exist: no_such_function"),
        ("boom", "boom is not a deal"),
    ];
    for (title, expected) in cases {
        let started = std::time::Instant::now();
        let r = app.post("/api/v1/records/deal", &json!({"title": title})).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{title}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "rule_failed", "{title}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("the rule deal validate (check)"),
            "{title}: {message}"
        );
        assert!(message.contains(expected), "{title}: {message}");
        assert_eq!(
            r.body["error"]["details"]["file"], "scripts/deal.rhai",
            "{title}: {}",
            r.body
        );
        assert!(
            r.body["error"]["details"]["line"].as_u64().is_some(),
            "{title}: {}",
            r.body
        );
        assert!(started.elapsed().as_secs() < 10, "{title} took {:?}", started.elapsed());
        // The server carries on and nothing was written.
        let health = app.get("/healthz").await?;
        assert_eq!(health.status, StatusCode::OK);
        let page = app.get("/api/v1/records/deal?total=true").await?;
        assert_eq!(page.body["total"], 0, "{title}: the write was rolled back");
    }
    let fine = app.create("deal", json!({"title": "fine"})).await?;
    assert_eq!(fine["title"], "fine");
    Ok(())
}

on_both_backends!(runaway_scripts);
