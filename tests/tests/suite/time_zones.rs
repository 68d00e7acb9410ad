//! Time zones, on both backends. A user's zone (their setting, else their
//! browser's) decides how the UI shows times, how it reads the times they
//! type, and which day `today` is in their lists. The installation's zone
//! (`--time-zone`) serves requests that carry none, and dates what the
//! business rules date: numbering periods and scripts' `today()`.

use anyhow::{ensure, Context, Result};
use relata::model::zone::Zone;
use relata_tests::records::{change, get, id, stock};
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

const UNKNOWN_MARS: &str =
    "unknown time zone `Mars/Olympus_Mons`: expected an IANA name such as `Asia/Shanghai`, `Europe/Berlin` or `UTC`";

async fn patch_me(app: &TestApp, body: &Value) -> Result<relata_tests::Reply> {
    app.call(Method::PATCH, "/api/v1/me", Some(body), &[]).await
}

/// The HTML of a page read with the bearer token and, when given, the
/// browser's zone cookie.
async fn page(app: &TestApp, path: &str, browser_zone: Option<&str>) -> Result<String> {
    let mut req = app.client.get(app.url(path)).header("accept-language", "en");
    if let Some(z) = browser_zone {
        req = req.header("cookie", format!("relata_tz={z}"));
    }
    let resp = req.send().await?;
    ensure!(resp.status() == StatusCode::OK, "{path}: {}", resp.status());
    Ok(resp.text().await?)
}

/// Posts the activity form at `path` (of `record`, at its version) with
/// `starts_at` typed as `typed`, from a browser on Shanghai time.
async fn save_start(app: &TestApp, path: &str, record: &Value, typed: &str) -> Result<reqwest::Response> {
    let version = record["row_version"].as_i64().context("row_version")?.to_string();
    let subject = record["subject"].as_str().unwrap_or_default();
    Ok(app
        .client
        .post(app.url(path))
        .header("cookie", "relata_tz=Asia/Shanghai")
        .form(&[("subject", subject), ("starts_at", typed), ("_version", &version)])
        .send()
        .await?)
}

fn instant(v: &Value) -> Result<OffsetDateTime> {
    let text = v.as_str().with_context(|| format!("not an instant: {v}"))?;
    Ok(OffsetDateTime::parse(text, &Rfc3339)?)
}

fn rfc3339(t: OffsetDateTime) -> Result<String> {
    Ok(t.format(&Rfc3339)?)
}

/// The first instant of today in a zone `offset_hours` from UTC all year.
fn start_of_today(offset_hours: i64) -> OffsetDateTime {
    let local_date = (OffsetDateTime::now_utc() + Duration::hours(offset_hours)).date();
    local_date.with_time(Time::MIDNIGHT).assume_utc() - Duration::hours(offset_hours)
}

/// The subjects a list of activities returns, sorted.
async fn subjects(app: &TestApp, query: &str) -> Result<Vec<String>> {
    let r = app.get(&format!("/api/v1/records/activity?{query}")).await?;
    ensure!(r.status == StatusCode::OK, "{query}: {} {}", r.status, r.body);
    let mut out: Vec<String> = r.body["data"]
        .as_array()
        .context("no data")?
        .iter()
        .map(|a| a["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    Ok(out)
}

/// `PATCH /api/v1/me` checks every key, stores all of the change or none
/// of it, and names the offending key with a message that says what is
/// expected.
async fn a_users_zone_is_checked_and_stored(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    assert_eq!(app.get("/api/v1/me").await?.body["time_zone"], Value::Null);

    let r = patch_me(&app, &json!({"time_zone": "asia/shanghai"})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["time_zone"], "Asia/Shanghai", "stored as the database spells it");
    assert_eq!(app.get("/api/v1/me").await?.body["time_zone"], "Asia/Shanghai");

    let before = app.get("/api/v1/me").await?.body;
    let r = patch_me(&app, &json!({"locale": "zh-CN", "time_zone": "Mars/Olympus_Mons"})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["error"]["details"],
        json!([{"field": "time_zone", "code": "unknown_zone", "message": UNKNOWN_MARS}])
    );
    assert_eq!(
        app.get("/api/v1/me").await?.body,
        before,
        "the valid locale was not stored either"
    );

    for (body, code) in [
        (json!({"time_zone": 8}), "type"),
        (json!({"time_zone": "EST5EDT,M3.2.0,M11.1.0"}), "unknown_zone"),
        (json!({"time_zone": "../../etc/passwd"}), "unknown_zone"),
        (json!({"zone": "UTC"}), "unknown"),
    ] {
        let r = patch_me(&app, &body).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["details"][0]["code"], code, "{body}: {}", r.body);
    }
    let r = patch_me(&app, &json!(["time_zone", "UTC"])).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(app.get("/api/v1/me").await?.body, before);

    let r = patch_me(&app, &json!({"time_zone": null})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/api/v1/me").await?.body["time_zone"], Value::Null);
    Ok(())
}

/// The UI shows an instant on the reader's clock and reads a typed time on
/// it: the browser's zone, unless the user set one.
async fn the_ui_shows_and_reads_times_on_the_users_clock(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let call = app
        .create(
            "activity",
            json!({"subject": "Call Li Wei", "starts_at": "2026-11-03T20:05:00Z"}),
        )
        .await?;
    let path = format!("/app/r/activity/{}", id(&call));

    let utc = page(&app, &path, None).await?;
    assert!(
        utc.contains("3 Nov 2026 20:05 UTC"),
        "no zone: the installation's (UTC)"
    );
    let shanghai = page(&app, &path, Some("Asia/Shanghai")).await?;
    assert!(shanghai.contains("4 Nov 2026 04:05 CST"), "the browser's zone");
    assert!(!shanghai.contains("20:05"));
    let mars = page(&app, &path, Some("Mars/Olympus_Mons")).await?;
    assert!(mars.contains("3 Nov 2026 20:05 UTC"), "a zone nobody knows is ignored");
    let edit = page(&app, &format!("{path}/edit"), Some("Asia/Shanghai")).await?;
    assert!(
        edit.contains("value=\"2026-11-04T04:05\""),
        "the input holds local time"
    );

    // A time typed in Shanghai is 8 hours ahead of UTC.
    let sent = save_start(&app, &path, &call, "2026-11-05T09:30").await?;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER, "{}", sent.text().await?);
    let saved = get(&app, "activity", &id(&call)).await?;
    assert_eq!(rfc3339(instant(&saved["starts_at"])?)?, "2026-11-05T01:30:00Z");

    // The user's own setting wins over the browser's. 02:30 on 29 March
    // 2026 does not exist in Berlin (clocks go from 02:00 to 03:00): it is
    // read as 03:30 summer time, as calendars do.
    let r = patch_me(&app, &json!({"time_zone": "Europe/Berlin"})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let berlin = page(&app, &path, Some("Asia/Shanghai")).await?;
    assert!(berlin.contains("5 Nov 2026 02:30 CET"), "the user's zone");
    let sent = save_start(&app, &path, &saved, "2026-03-29T02:30").await?;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let saved = get(&app, "activity", &id(&call)).await?;
    assert_eq!(rfc3339(instant(&saved["starts_at"])?)?, "2026-03-29T01:30:00Z");

    // A time that is not one is refused against its field, nothing saved.
    let sent = save_start(&app, &path, &saved, "2026-03-29T25:30").await?;
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = sent.text().await?;
    assert!(html.contains("2026-03-29T25:30"), "the typed value is shown again");
    assert_eq!(
        get(&app, "activity", &id(&call)).await?["row_version"],
        saved["row_version"]
    );
    Ok(())
}

/// `today` in a filter is the first instant of the day where the user is;
/// a user without a zone gets the installation's day.
async fn today_is_the_users_day(backend: TestBackend) -> Result<()> {
    // Kiritimati is 14 hours ahead of UTC all year, so its day starts at
    // 10:00 UTC: on either side of that, the two zones disagree on "today"
    // for one of the two activities below.
    let Some(app) = TestApp::spawn_with(backend, Some(&stock_metadata()), |c| {
        c.time_zone = Zone::parse("UTC").unwrap_or_default();
    })
    .await?
    else {
        return Ok(());
    };
    let kiritimati_day = start_of_today(14);
    for (subject, at) in [
        ("Just before", kiritimati_day - Duration::minutes(1)),
        ("Just after", kiritimati_day + Duration::minutes(1)),
    ] {
        app.create("activity", json!({"subject": subject, "starts_at": rfc3339(at)?}))
            .await?;
    }
    let query = "starts_at=ge.today&subject=in.(Just%20before,Just%20after)";

    let utc_day = start_of_today(0);
    let mut expected_utc: Vec<String> = [
        ("Just after", kiritimati_day + Duration::minutes(1)),
        ("Just before", kiritimati_day - Duration::minutes(1)),
    ]
    .into_iter()
    .filter(|(_, at)| *at >= utc_day)
    .map(|(s, _)| s.to_owned())
    .collect();
    expected_utc.sort();
    assert_eq!(
        subjects(&app, query).await?,
        expected_utc,
        "no zone: the installation's day"
    );

    patch_me(&app, &json!({"time_zone": "Pacific/Kiritimati"})).await?;
    assert_eq!(subjects(&app, query).await?, ["Just after"], "the user's day");
    Ok(())
}

/// The installation's zone dates numbering periods and scripts' `today()`,
/// and is the day of API users who set no zone.
async fn the_installation_zone_dates_the_business(backend: TestBackend) -> Result<()> {
    // A zone whose day is not UTC's at this hour: Pago Pago (UTC-11, no
    // summer time) is still on yesterday until 11:00 UTC, Kiritimati
    // (UTC+14) already on tomorrow from 10:00 UTC.
    let (name, offset) = if OffsetDateTime::now_utc().hour() < 10 {
        ("Pacific/Pago_Pago", -11)
    } else {
        ("Pacific/Kiritimati", 14)
    };
    let Some(app) = TestApp::spawn_with(backend, Some(&stock_metadata()), |c| {
        c.time_zone = Zone::parse(name).unwrap_or_default();
    })
    .await?
    else {
        return Ok(());
    };
    let local_today = || (OffsetDateTime::now_utc() + Duration::hours(offset)).date();
    let day_before = local_today();
    ensure!(
        day_before != OffsetDateTime::now_utc().date(),
        "{name} shares UTC's day"
    );
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let order = app.create("sales_order", json!({"company": acme})).await?;
    let shipped = change(&app, "sales_order", &id(&order), json!({"status": "shipped"})).await?;
    let day_after = local_today();
    ensure!(shipped.status == StatusCode::OK, "{}", shipped.body);

    let days = [day_before, day_after];
    let compact = |d: time::Date| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
    let number = order["order_number"].as_str().unwrap_or_default();
    assert!(
        days.iter().any(|d| number == format!("SO-{}-1", compact(*d))),
        "numbered on {name}'s calendar: {number}, {days:?}"
    );
    let shipped_on = shipped.body["shipped_on"].as_str().unwrap_or_default();
    assert!(
        days.iter().any(|d| shipped_on == d.to_string()),
        "the script's today() is {name}'s: {shipped_on}, {days:?}"
    );

    // An API user with no zone of their own gets the installation's day.
    let local_day = start_of_today(offset);
    for (subject, at) in [
        ("Early", local_day - Duration::minutes(1)),
        ("Late", local_day + Duration::minutes(1)),
    ] {
        app.create("activity", json!({"subject": subject, "starts_at": rfc3339(at)?}))
            .await?;
    }
    assert_eq!(
        subjects(&app, "starts_at=ge.today&subject=in.(Early,Late)").await?,
        ["Late"]
    );
    Ok(())
}

/// The preferences page (the user's name in the top bar leads there) sets
/// the language and the zone together, or neither when the zone is
/// unknown; empty means "as my browser".
async fn the_preferences_page_sets_language_and_zone(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let open = |path: &'static str| async {
        let r = browser.client.get(browser.url(path)).send().await?;
        ensure!(r.status() == StatusCode::OK, "{}", r.status());
        // Templates escape `/` in values as `&#x2f;`, which browsers decode.
        Ok::<String, anyhow::Error>(r.text().await?.replace("&#x2f;", "/"))
    };
    let post = |locale: &'static str, zone: &'static str| {
        let form = [
            ("locale", locale),
            ("time_zone", zone),
            ("_csrf", browser.csrf.as_str()),
        ];
        browser.client.post(browser.url("/app/preferences")).form(&form).send()
    };
    let home = browser.client.get(browser.url("/app")).send().await?.text().await?;
    assert!(home.contains("href=\"/app/preferences\""), "the top bar leads there");
    let html = open("/app/preferences").await?;
    assert!(html.contains("<option value=\"Asia/Shanghai\">"), "zones to pick from");

    let before = app.get("/api/v1/me").await?.body;
    let refused = post("zh-CN", "Mars/Olympus_Mons").await?;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await?.replace("&#x2f;", "/");
    assert!(html.contains(UNKNOWN_MARS), "says why");
    assert!(html.contains("value=\"Mars/Olympus_Mons\""), "keeps what was typed");
    assert_eq!(app.get("/api/v1/me").await?.body, before, "nothing stored");

    let saved = post("zh-CN", "Asia/Shanghai").await?;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let back = saved.headers().get("location").and_then(|l| l.to_str().ok());
    assert_eq!(back, Some("/app/preferences?notice=saved"));
    let me = app.get("/api/v1/me").await?.body;
    assert_eq!(
        (me["locale"].as_str(), me["time_zone"].as_str()),
        (Some("zh-CN"), Some("Asia/Shanghai"))
    );
    let html = open("/app/preferences?notice=saved").await?;
    assert!(
        html.contains("已保存。") && html.contains("value=\"Asia/Shanghai\""),
        "{html}"
    );

    let cleared = post("", "").await?;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    let me = app.get("/api/v1/me").await?.body;
    assert_eq!((&me["locale"], &me["time_zone"]), (&Value::Null, &Value::Null));
    Ok(())
}

on_both_backends!(
    the_preferences_page_sets_language_and_zone,
    a_users_zone_is_checked_and_stored,
    the_ui_shows_and_reads_times_on_the_users_clock,
    today_is_the_users_day,
    the_installation_zone_dates_the_business,
);
