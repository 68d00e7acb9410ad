//! Relative filter values, on both backends: `me` (the signed-in user) on
//! the user columns, `today±N` on dates, `today` and `now` on datetimes,
//! worked out per request, through the API and the stock lists that use
//! them (*My open opportunities*, *Contracts ending within 60 days*).

use anyhow::{Context, Result};
use relata::engine::auth::NewUser;
use relata::engine::Locale;
use relata_tests::records::{id, stock};
use relata_tests::{on_both_backends, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The day `n` days after today (UTC), as the API writes dates.
fn in_days(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(n)).to_string()
}

/// The names a list request returns, sorted.
async fn names(client: &reqwest::Client, app: &TestApp, query: &str) -> Result<Vec<String>> {
    let r = client.get(app.url(query)).send().await?;
    let status = r.status();
    let body: Value = r.json().await?;
    anyhow::ensure!(status == StatusCode::OK, "{query}: {status} {body}");
    let mut names: Vec<String> = body["data"]
        .as_array()
        .context("no data")?
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The HTML of a page.
async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> Result<String> {
    let r = client.get(app.url(path)).send().await?;
    anyhow::ensure!(r.status() == StatusCode::OK, "{path}: {}", r.status());
    Ok(r.text().await?)
}

async fn me_today_and_now(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let auth = app.engine.auth();
    let wang = auth
        .create_user(NewUser {
            username: "wang.fang".into(),
            display_name: "王芳".into(),
            email: None,
            password: "a long password".into(),
            locale: Locale::En,
            is_admin: false,
        })
        .await?;
    let as_wang = app.with_token(&auth.create_token(wang.id, "filters").await?.token)?;
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);

    // `me`: each user's own records.
    app.create("opportunity", json!({"name": "Admin deal", "company": acme}))
        .await?;
    let r = as_wang
        .post(app.url("/api/v1/records/opportunity"))
        .json(&json!({"name": "Wang deal", "company": acme}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mine = "/api/v1/records/opportunity?owner_id=eq.me";
    assert_eq!(names(&app.client, &app, mine).await?, ["Admin deal"]);
    assert_eq!(names(&as_wang, &app, mine).await?, ["Wang deal"]);
    let list = page(&as_wang, &app, "/app/l/my_opportunities").await?;
    assert!(list.contains("Wang deal") && !list.contains("Admin deal"), "{list}");
    assert_eq!(
        names(&app.client, &app, "/api/v1/records/opportunity?created_by=ne.me").await?,
        ["Wang deal"]
    );

    // `today±N` on a date: contracts ending within 60 days.
    for (name, end, status) in [
        ("Renew soon", in_days(10), "active"),
        ("Renew later", in_days(100), "active"),
        ("Ended", in_days(-5), "expired"),
    ] {
        let body = json!({"name": name, "company": acme, "end_date": end, "status": status});
        app.create("support_contract", body).await?;
    }
    // `+` unencoded (a space once decoded) or encoded.
    let ending = "/api/v1/records/support_contract?end_date=le.today+60&status=eq.active";
    let encoded = "/api/v1/records/support_contract?end_date=le.today%2B60&status=eq.active";
    assert_eq!(names(&app.client, &app, encoded).await?, ["Renew soon"]);
    assert_eq!(names(&app.client, &app, ending).await?, ["Renew soon"]);
    let past = "/api/v1/records/support_contract?end_date=lt.today";
    assert_eq!(names(&app.client, &app, past).await?, ["Ended"]);
    let list = page(&app.client, &app, "/app/l/contracts_ending").await?;
    assert!(
        list.contains("Renew soon") && !list.contains("Renew later") && !list.contains("Ended"),
        "{list}"
    );

    // `today` and `now` on a datetime: everything was created today, before now.
    let all = ["Admin deal", "Wang deal"];
    assert_eq!(
        names(&app.client, &app, "/api/v1/records/opportunity?created_at=ge.today").await?,
        all
    );
    assert_eq!(
        names(&app.client, &app, "/api/v1/records/opportunity?created_at=le.now").await?,
        all
    );
    let none: [&str; 0] = [];
    let old = "/api/v1/records/opportunity?created_at=lt.today-1";
    assert_eq!(names(&app.client, &app, old).await?, none);

    // A malformed relative value is a 400 that says what is expected.
    let r = app
        .get("/api/v1/records/support_contract?end_date=le.today%2Bx")
        .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["error"]["message"],
        "filter `end_date`: expected today, today+N or today-N (days), found `today+x`"
    );
    // `me` on any other column is the text "me", not the user.
    let r = app.get("/api/v1/records/opportunity?company=eq.me").await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    Ok(())
}

on_both_backends!(me_today_and_now);
