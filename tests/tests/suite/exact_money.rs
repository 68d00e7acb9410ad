//! Money is exact end to end (issue 18, item 2): decimal, currency and
//! percent values keep every digit from the request to the database and
//! back, through rules (sums and products), filters and sorting, the UI's
//! form and record page, on both backends; a value with more digits than
//! the field holds is a 422 naming the limit, and SQLite databases of older
//! releases (floats in REAL columns) are converted at start-up.

use anyhow::{Context, Result};
use relata_tests::app::hidden_field;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

const L: &str = "{ en: X, zh-CN: 某 }";

fn ledger_yaml() -> String {
    format!(
        "version: 1
kind: entity
name: ledger
label: {{ en: Ledger, zh-CN: 账本 }}
plural_label: {{ en: Ledgers, zh-CN: 账本 }}
display_field: title
fields:
  - {{ name: title, type: text, label: {L} }}
  - {{ name: amount, type: currency, label: {L} }}
  - {{ name: tiny, type: decimal, scale: 6, label: {L} }}
  - {{ name: small, type: decimal, precision: 5, scale: 2, label: {L} }}
  - {{ name: rate, type: percent, precision: 5, scale: 2, label: {L} }}
  - {{ name: qty, type: decimal, label: {L} }}
  - {{ name: a, type: currency, label: {L} }}
  - {{ name: b, type: currency, label: {L} }}
  - {{ name: a_plus_b, type: currency, label: {L} }}
  - {{ name: exact, type: boolean, label: {L} }}
  - {{ name: above_100, type: boolean, label: {L} }}
  - name: line_total
    type: currency
    label: {L}
    computed: {{ expression: 'if this.amount == () || this.qty == () {{ () }} else {{ this.amount * this.qty }}' }}
rules:
  script: ledger.rhai
  before_save: sums
"
    )
}

const LEDGER_RHAI: &str = r#"// Sums in a rule are exact, and decimals compare with integers.
fn sums() {
    if this.a != () && this.b != () {
        this.a_plus_b = this.a + this.b;
        this.exact = this.a + this.b == money("0.3");
    }
    if this.amount != () { this.above_100 = this.amount > 100; }
}
"#;

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    let tmp = tempfile::tempdir()?;
    std::fs::create_dir_all(tmp.path().join("scripts"))?;
    std::fs::write(tmp.path().join("ledger.yaml"), ledger_yaml())?;
    std::fs::write(tmp.path().join("scripts/ledger.rhai"), LEDGER_RHAI)?;
    TestApp::spawn(backend, Some(tmp.path())).await
}

/// A JSON number as its text: the digits, compared exactly.
fn text(v: &Value) -> String {
    v.to_string()
}

/// A request body with numbers written as given (not through a float).
fn body(json_text: &str) -> Result<Value> {
    serde_json::from_str(json_text).context("test body")
}

async fn get(app: &TestApp, id: &str) -> Result<Value> {
    let r = app.get(&format!("/api/v1/records/ledger/{id}")).await?;
    anyhow::ensure!(r.status == StatusCode::OK, "{}", r.body);
    Ok(r.body)
}

async fn ids_where(app: &TestApp, query: &str) -> Result<Vec<String>> {
    let r = app.get(&format!("/api/v1/records/ledger?{query}")).await?;
    anyhow::ensure!(r.status == StatusCode::OK, "{query}: {}", r.body);
    Ok(r.body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// The largest and smallest values of each precision and scale come back
/// with every digit, as created and as read, on create and on update.
async fn extremes_round_trip(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let cases = [
        ("amount", "9999999999999999.99"),
        ("amount", "-9999999999999999.99"),
        ("amount", "99999999999999.99"),
        ("amount", "0.01"),
        ("amount", "-0.01"),
        ("tiny", "999999999999.999999"),
        ("tiny", "0.000001"),
        ("tiny", "-0.000001"),
        ("small", "999.99"),
        ("small", "-999.99"),
        ("rate", "100.05"),
        ("qty", "99999999999999.9999"),
        ("qty", "0.0001"),
    ];
    for (field, value) in cases {
        let made = app
            .create("ledger", body(&format!(r#"{{"{field}": {value}}}"#))?)
            .await?;
        assert_eq!(text(&made[field]), value, "{field} as created: {made}");
        let id = made["id"].as_str().context("no id")?.to_owned();
        assert_eq!(text(&get(&app, &id).await?[field]), value, "{field} as read");
        // Updated to itself via PATCH: unchanged.
        let version = made["row_version"].as_i64().context("no version")?;
        let r = app
            .patch(
                &format!("/api/v1/records/ledger/{id}"),
                version,
                &body(&format!(r#"{{"{field}": {value}, "title": "updated"}}"#))?,
            )
            .await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(text(&r.body[field]), value, "{field} after an update");
    }
    // Trailing zeros are not digits: 1.50 is 1.5.
    let made = app
        .create("ledger", body(r#"{"small": 1.50, "amount": 1500}"#)?)
        .await?;
    assert_eq!(text(&made["small"]), "1.5");
    assert_eq!(made["amount"].as_f64(), Some(1500.0));
    Ok(())
}

/// More digits than the field holds is a 422 naming the limit, before any
/// rule runs, and writes nothing; too many decimals are refused, not rounded.
async fn too_many_digits_are_refused_with_the_limit(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let cases = [
        (
            "amount",
            "10000000000000000",
            "precision",
            "at most 16 digits before the point and 2 after",
        ),
        (
            "amount",
            "1e19",
            "precision",
            "at most 16 digits before the point and 2 after",
        ),
        (
            "amount",
            "-1e30",
            "precision",
            "at most 16 digits before the point and 2 after",
        ),
        (
            "amount",
            "0.001",
            "scale",
            "at most 16 digits before the point and 2 after",
        ),
        (
            "amount",
            "99999999999999.999",
            "scale",
            "at most 16 digits before the point and 2 after",
        ),
        (
            "tiny",
            "0.0000001",
            "scale",
            "at most 12 digits before the point and 6 after",
        ),
        (
            "small",
            "1000",
            "precision",
            "at most 3 digits before the point and 2 after",
        ),
        (
            "small",
            "1e-7",
            "scale",
            "at most 3 digits before the point and 2 after",
        ),
    ];
    for (field, value, code, words) in cases {
        let r = app
            .post("/api/v1/records/ledger", &body(&format!(r#"{{"{field}": {value}}}"#))?)
            .await?;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}: {}",
            r.body
        );
        let errors = r.body["error"]["details"].as_array().cloned().unwrap_or_default();
        assert!(
            errors.iter().any(|e| e["field"] == field
                && e["code"] == code
                && e["message"].as_str().is_some_and(|m| m.contains(words))),
            "{field}={value}: {}",
            r.body
        );
    }
    let total = app.get("/api/v1/records/ledger?total=true").await?;
    assert_eq!(total.body["total"], 0, "nothing written");
    Ok(())
}

/// Rules see exact decimals: 0.1 + 0.2 is 0.3 (compared and stored), a
/// product of 18-digit values keeps its digits, decimals compare with
/// integers; a result beyond the field's precision is a 422 naming it.
async fn rules_compute_exactly(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let made = app
        .create("ledger", body(r#"{"a": 0.1, "b": 0.2, "amount": 100.01, "qty": 3}"#)?)
        .await?;
    assert_eq!(text(&made["a_plus_b"]), "0.3", "{made}");
    assert_eq!(made["exact"], true, "0.1 + 0.2 == 0.3 in the rule: {made}");
    assert_eq!(made["above_100"], true, "a decimal compared with an integer: {made}");
    assert_eq!(text(&made["line_total"]), "300.03", "{made}");
    let id = made["id"].as_str().context("no id")?;
    let stored = get(&app, id).await?;
    assert_eq!(text(&stored["a_plus_b"]), "0.3", "stored sum: {stored}");
    assert_eq!(text(&stored["line_total"]), "300.03");
    // Filtering finds the stored sum exactly.
    let found = app.get("/api/v1/records/ledger?a_plus_b=eq.0.3").await?;
    assert_eq!(found.body["data"].as_array().map(Vec::len), Some(1), "{}", found.body);

    let big = app
        .create("ledger", body(r#"{"amount": 333333333333333.33, "qty": 3}"#)?)
        .await?;
    assert_eq!(text(&big["line_total"]), "999999999999999.99", "{big}");
    assert_eq!(big["above_100"], true);

    // The product leaves the field's 16 digits before the point.
    let r = app
        .post(
            "/api/v1/records/ledger",
            &body(r#"{"amount": 9999999999999999.99, "qty": 10}"#)?,
        )
        .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == "line_total"
                && e["message"].as_str().is_some_and(|m| m.contains("at most 16 digits"))),
        "{}",
        r.body
    );
    Ok(())
}

/// Filters compare exactly (`eq.0.1` finds 0.1, two values a float cannot
/// tell apart are told apart) and sorting orders by the exact value.
async fn filters_and_sort_are_exact(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    for (title, amount) in [
        ("a", "0.1"),
        ("b", "0.3"),
        ("c", "9999999999999999.98"),
        ("d", "9999999999999999.99"),
        ("e", "-9999999999999999.99"),
        ("f", "99999999999999.99"),
    ] {
        app.create(
            "ledger",
            body(&format!(r#"{{"title": "{title}", "amount": {amount}}}"#))?,
        )
        .await?;
    }
    assert_eq!(ids_where(&app, "amount=eq.0.1").await?, ["a"]);
    assert_eq!(ids_where(&app, "amount=eq.9999999999999999.98").await?, ["c"]);
    assert_eq!(ids_where(&app, "amount=gt.9999999999999999.98").await?, ["d"]);
    assert_eq!(ids_where(&app, "amount=lt.0.3&sort=amount").await?, ["e", "a"]);
    assert_eq!(ids_where(&app, "amount=in.(0.1,0.3)&sort=title").await?, ["a", "b"]);
    assert_eq!(ids_where(&app, "sort=amount").await?, ["e", "a", "b", "f", "c", "d"]);
    assert_eq!(ids_where(&app, "sort=-amount").await?, ["d", "c", "f", "b", "a", "e"]);
    // An operand with more decimals than the field can hold: said so.
    let r = app.get("/api/v1/records/ledger?amount=eq.0.001").await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 after")),
        "{}",
        r.body
    );
    Ok(())
}

/// The UI's form sends the digits typed, and the record page shows them
/// grouped, with the field's decimals and no float noise.
async fn the_ui_keeps_the_digits(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let page = browser
        .client
        .get(browser.url("/app/r/campaign/new"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = hidden_field(&page, "_csrf").context("no csrf")?;
    let made = browser
        .client
        .post(browser.url("/app/r/campaign"))
        .form(&[
            ("name", "Exact Co"),
            ("budget", "9999999999999999.99"),
            ("expected_revenue", "0.1"),
            ("_csrf", csrf.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let listed = app.get("/api/v1/records/campaign?name=eq.Exact%20Co").await?;
    let rec = &listed.body["data"][0];
    assert_eq!(text(&rec["budget"]), "9999999999999999.99", "{rec}");
    assert_eq!(text(&rec["expected_revenue"]), "0.1", "{rec}");
    let id = rec["id"].as_str().context("no id")?;
    let shown = browser
        .client
        .get(browser.url(&format!("/app/r/campaign/{id}")))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        shown.contains("9,999,999,999,999,999.99"),
        "the record page shows the digits"
    );
    assert!(shown.contains("0.10"), "the field's decimals");
    // The edit form is filled with the digits, not a float's.
    let edit = browser
        .client
        .get(browser.url(&format!("/app/r/campaign/{id}/edit")))
        .send()
        .await?
        .text()
        .await?;
    assert!(edit.contains("value=\"9999999999999999.99\""), "the edit form");
    Ok(())
}

/// A SQLite table of an older release, decimals as floats in REAL columns,
/// is read as before and converted to exact storage at the next start,
/// each value rounded to its field's scale: nothing is lost.
async fn an_old_real_column_is_converted_at_start(backend: TestBackend) -> Result<()> {
    use relata::store::Pool;
    let Some(app) = app(backend).await? else { return Ok(()) };
    let Pool::Sqlite(p) = &app.engine.databases().ed else {
        return Ok(()); // PostgreSQL always stored NUMERIC(p, s).
    };
    let made = app
        .create(
            "ledger",
            body(r#"{"title": "old", "amount": 1234567.89, "tiny": 0.000001, "a": 0.1}"#)?,
        )
        .await?;
    let id = made["id"].as_str().context("no id")?.to_owned();
    // Rebuild the table as an older release made it: REAL columns holding
    // floats (0.1 + 0.2 stands for a float's noise).
    let (table_sql,): (String,) =
        sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ledger'")
            .fetch_one(p)
            .await?;
    let index_sql: Vec<(String,)> = sqlx::query_as(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' AND sql IS NOT NULL",
    )
    .fetch_all(p)
    .await?;
    let mut old_sql = table_sql.clone();
    for f in [
        "amount",
        "tiny",
        "small",
        "rate",
        "qty",
        "a",
        "b",
        "a_plus_b",
        "line_total",
    ] {
        old_sql = old_sql.replace(&format!("\"{f}\" INTEGER"), &format!("\"{f}\" REAL"));
    }
    assert_ne!(old_sql, table_sql, "the decimal columns were found: {table_sql}");
    let mut conn = p.acquire().await?;
    for sql in [
        "ALTER TABLE \"ledger\" RENAME TO \"ledger_new\"".to_owned(),
        old_sql,
        "INSERT INTO \"ledger\" SELECT * FROM \"ledger_new\"".to_owned(),
        "UPDATE \"ledger\" SET \"amount\" = 1234567.89, \"tiny\" = 0.000001, \"a\" = 0.1 + 0.2".to_owned(),
        "DROP TABLE \"ledger_new\"".to_owned(),
    ] {
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .with_context(|| sql.clone())?;
    }
    for (sql,) in &index_sql {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    drop(conn);
    let typ: String = sqlx::query_scalar("SELECT typeof(\"amount\") FROM \"ledger\"")
        .fetch_one(p)
        .await?;
    assert_eq!(typ, "real", "set up as an older release left it");

    // Read as before, each float as the value it stands for.
    let old = get(&app, &id).await?;
    assert_eq!(text(&old["amount"]), "1234567.89", "{old}");
    assert_eq!(text(&old["a"]), "0.3", "{old}");

    // The next start converts the columns.
    let _restarted = app.open_engine(|_| {}).await?;
    let typ: String = sqlx::query_scalar("SELECT typeof(\"amount\") FROM \"ledger\"")
        .fetch_one(p)
        .await?;
    assert_eq!(typ, "integer", "stored exactly now");
    let new = get(&app, &id).await?;
    assert_eq!(text(&new["amount"]), "1234567.89", "{new}");
    assert_eq!(text(&new["tiny"]), "0.000001", "{new}");
    assert_eq!(text(&new["a"]), "0.3", "{new}");
    assert_eq!(new["title"], "old");
    // And it is written exactly from now on.
    let version = new["row_version"].as_i64().context("no version")?;
    let r = app
        .patch(
            &format!("/api/v1/records/ledger/{id}"),
            version,
            &body(r#"{"amount": 9999999999999999.99}"#)?,
        )
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(text(&get(&app, &id).await?["amount"]), "9999999999999999.99");
    Ok(())
}

on_both_backends!(
    extremes_round_trip,
    too_many_digits_are_refused_with_the_limit,
    rules_compute_exactly,
    filters_and_sort_are_exact,
    the_ui_keeps_the_digits,
    an_old_real_column_is_converted_at_start,
);

#[test]
fn request_bodies_keep_their_digits() {
    // The test client itself must not round: the workspace reads JSON
    // numbers with their digits.
    let v: Value = serde_json::from_str("9999999999999999.99").unwrap_or_default();
    assert_eq!(v.to_string(), "9999999999999999.99");
    assert_eq!(json!({"x": 1}).to_string(), r#"{"x":1}"#);
}
