//! Pick-list administration at run time: administrators add, rename,
//! reorder and deactivate values through the API and the UI; records
//! validate against the effective lists; a deactivated value stays readable
//! and editable on old records; releases merge metadata defaults without
//! undoing administrators' changes.

use anyhow::{Context, Result};
use relata::engine::auth::NewUser;
use relata::engine::{ApplyRequest, Locale};
use relata::model::read_package;
use relata_tests::app::hidden_field;
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const LIST: &str = "/api/v1/picklists/contact_channel";

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

/// An HTML page through the admin's API token (no CSRF needed).
async fn html(app: &TestApp, path: &str, lang: &str) -> Result<(StatusCode, String)> {
    let r = app
        .client
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await?;
    Ok((r.status(), r.text().await?))
}

fn codes(list: &Value) -> Vec<String> {
    list["values"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn value<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["values"]
        .as_array()
        .and_then(|a| a.iter().find(|v| v["code"] == code))
        .unwrap_or(&Value::Null)
}

fn detail_codes(r: &Reply) -> Vec<(String, String)> {
    r.body["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["field"].as_str().unwrap_or_default().to_owned(),
                        d["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn put(app: &TestApp, path: &str, body: &Value) -> Result<Reply> {
    app.call(Method::PUT, path, Some(body), &[]).await
}

async fn patch_value(app: &TestApp, code: &str, body: &Value) -> Result<Reply> {
    app.call(Method::PATCH, &format!("{LIST}/values/{code}"), Some(body), &[])
        .await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap_or_default().to_owned()
}

async fn add_rename_reorder_deactivate(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };

    // Add through the API, then use it at once.
    let r = app
        .post(
            &format!("{LIST}/values"),
            &json!({"code": "line", "label": {"en": "LINE", "zh-CN": "连我"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        codes(&r.body).last().map(String::as_str),
        Some("line"),
        "added at the end"
    );
    assert_eq!(value(&r.body, "line")["origin"], "runtime");
    let old = app
        .create("contact", json!({"full_name": "Old Line", "preferred_channel": "line"}))
        .await?;
    let other = app.create("contact", json!({"full_name": "Mailer"})).await?;
    assert_eq!(
        other["preferred_channel"], "email",
        "the metadata default still applies"
    );

    // Rename: labels change, the code does not.
    let r = patch_value(&app, "line", &json!({"label": {"en": "LINE app"}})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        value(&r.body, "line")["label"],
        json!({"en": "LINE app", "zh-CN": "连我"})
    );
    let record_page = format!("/app/r/contact/{}", id(&old));
    let (status, page) = html(&app, &record_page, "en").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("LINE app"), "the record shows the new label");
    let (_, page) = html(&app, &record_page, "zh-CN").await?;
    assert!(page.contains("连我"));
    let (status, page) = html(&app, "/app/admin/picklists/contact_channel", "en").await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("value=\"LINE app\""),
        "the admin page shows the new label"
    );

    // Reorder: the form's select follows.
    let mut order = codes(&app.get(LIST).await?.body);
    order.retain(|c| c != "line");
    order.insert(0, "line".into());
    let r = put(&app, &format!("{LIST}/order"), &json!({ "codes": order })).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(codes(&r.body), order);
    let (_, page) = html(&app, "/app/r/contact/new", "en").await?;
    let line_at = page.find("value=\"line\"").context("line offered")?;
    let email_at = page.find("value=\"email\"").context("email offered")?;
    assert!(line_at < email_at, "line now comes first");

    // Deactivate: old records stay readable and editable; new uses refused.
    let r = patch_value(&app, "line", &json!({"active": false})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(value(&r.body, "line")["active"], false);
    let path = format!("/api/v1/records/contact/{}", id(&old));
    let read = app.get(&path).await?;
    assert_eq!(read.body["preferred_channel"], "line", "the code is still there");
    let (_, page) = html(&app, &record_page, "en").await?;
    assert!(page.contains("LINE app"), "the label of a deactivated value is shown");
    let (_, page) = html(&app, &format!("{record_page}/edit"), "en").await?;
    assert!(
        page.contains("class=\"inactive\">LINE app (inactive)"),
        "the edit form keeps the record's deactivated value, marked"
    );
    let (_, page) = html(&app, "/app/r/contact/new", "en").await?;
    assert!(!page.contains("value=\"line\""), "a new record is not offered it");
    let r = app.patch(&path, 1, &json!({"city": "Shanghai"})).await?;
    assert_eq!(r.status, StatusCode::OK, "another field of the record: {}", r.body);
    let r = app
        .patch(&path, 2, &json!({"city": "Suzhou", "preferred_channel": "line"}))
        .await?;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "keeping the value (as a form does): {}",
        r.body
    );
    let r = app
        .post(
            "/api/v1/records/contact",
            &json!({"full_name": "New Line", "preferred_channel": "line"}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        detail_codes(&r),
        vec![("preferred_channel".into(), "not_in_picklist".into())]
    );
    let other_path = format!("/api/v1/records/contact/{}", id(&other));
    let r = app.patch(&other_path, 1, &json!({"preferred_channel": "line"})).await?;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "setting it anew: {}",
        r.body
    );
    assert_eq!(
        detail_codes(&r),
        vec![("preferred_channel".into(), "not_in_picklist".into())]
    );

    // Reactivate: usable again.
    let r = patch_value(&app, "line", &json!({"active": true})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.create("contact", json!({"full_name": "Back", "preferred_channel": "line"}))
        .await?;
    Ok(())
}

async fn bad_inputs_change_nothing(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let before = app.get(LIST).await?.body;
    let add = format!("{LIST}/values");
    let cases = [
        (
            json!({"code": "Bad Code", "label": {"en": "X", "zh-CN": "X"}}),
            vec![("code", "invalid")],
        ),
        (
            json!({"code": "email", "label": {"en": "X", "zh-CN": "X"}}),
            vec![("code", "duplicate")],
        ),
        (
            json!({"code": "fax"}),
            vec![("label.en", "required"), ("label.zh-CN", "required")],
        ),
        (
            json!({"code": "fax", "label": {"en": " ", "zh-CN": "传真"}}),
            vec![("label.en", "required")],
        ),
    ];
    for (body, want) in cases {
        let r = app.post(&add, &body).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {}", r.body);
        assert_eq!(r.body["error"]["code"], "validation_failed");
        let want: Vec<(String, String)> = want.iter().map(|(f, c)| ((*f).into(), (*c).into())).collect();
        assert_eq!(detail_codes(&r), want, "{body}");
    }
    let r = app.post(&add, &json!({"code": "fax", "colour": "red"})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown keys: {}", r.body);

    let all = codes(&before);
    let mut missing = all.clone();
    missing.pop();
    let mut doubled = missing.clone();
    doubled.push(all[0].clone());
    let mut extra = all.clone();
    extra.push("fax".into());
    for order in [missing, doubled, extra] {
        let r = put(&app, &format!("{LIST}/order"), &json!({ "codes": order })).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{order:?} -> {}", r.body);
        assert_eq!(detail_codes(&r), vec![("codes".into(), "not_a_permutation".into())]);
    }
    let r = patch_value(&app, "email", &json!({"label": {"zh-CN": ""}})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = patch_value(&app, "email", &json!({})).await?;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty change: {}",
        r.body
    );

    let r = patch_value(&app, "pigeon", &json!({"active": false})).await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.get("/api/v1/picklists/no_such_list").await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"]["code"], "not_found");
    let r = app
        .post(
            "/api/v1/picklists/no_such_list/values",
            &json!({"code": "x", "label": {"en": "X", "zh-CN": "X"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    assert_eq!(app.get(LIST).await?.body, before, "nothing changed");
    Ok(())
}

async fn non_admins_are_refused(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let password = "li-wei-password";
    let li = app
        .engine
        .auth()
        .create_user(NewUser {
            username: "li.wei".into(),
            display_name: "Li Wei".into(),
            email: None,
            password: password.into(),
            locale: Locale::En,
            is_admin: false,
        })
        .await?;
    let token = app.engine.auth().create_token(li.id, "li's script").await?;
    let li_client = app.with_token(&token.token)?;
    let before = app.get(LIST).await?.body;

    let r = li_client.get(app.url(LIST)).send().await?;
    assert_eq!(r.status(), StatusCode::OK, "reading is open to every user");
    let attempts = [
        li_client
            .post(app.url(&format!("{LIST}/values")))
            .json(&json!({"code": "fax", "label": {"en": "Fax", "zh-CN": "传真"}})),
        li_client
            .patch(app.url(&format!("{LIST}/values/email")))
            .json(&json!({"active": false})),
        li_client
            .put(app.url(&format!("{LIST}/order")))
            .json(&json!({"codes": codes(&before)})),
    ];
    for req in attempts {
        let r = Reply::from_response(req.send().await?).await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "forbidden");
    }
    assert_eq!(app.get(LIST).await?.body, before, "nothing changed");

    // The UI: a 403 page for non-admins, and no link to it.
    let li_browser = app.sign_in("li.wei", password).await?;
    let r = li_browser
        .client
        .get(li_browser.url("/app/admin/picklists"))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let home = li_browser
        .client
        .get(li_browser.url("/app"))
        .send()
        .await?
        .text()
        .await?;
    assert!(!home.contains("/app/admin/picklists"));
    let (_, home) = html(&app, "/app", "en").await?;
    assert!(home.contains("/app/admin/picklists"), "admins see the link");
    let (_, zh) = html(&app, "/app/admin/picklists", "zh-CN").await?;
    assert!(zh.contains("选项列表") && zh.contains("首选联系方式"));

    // The UI's forms need the session's CSRF token.
    let admin = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    let form_url = admin.url("/app/admin/picklists/contact_channel/values");
    let fields = [("code", "fax"), ("label_en", "Fax"), ("label_zh", "传真")];
    let r = admin.client.post(&form_url).form(&fields).send().await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no _csrf");
    assert_eq!(app.get(LIST).await?.body, before, "nothing changed");
    let page = admin
        .client
        .get(admin.url("/app/admin/picklists/contact_channel"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = hidden_field(&page, "_csrf").context("the admin page's forms carry _csrf")?;
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("_csrf", &csrf));
    let r = admin.client.post(&form_url).form(&with_csrf).send().await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        codes(&app.get(LIST).await?.body).last().map(String::as_str),
        Some("fax")
    );
    // A bad code comes back inline, in the page.
    let bad = [
        ("code", "Fax 2"),
        ("label_en", "Fax"),
        ("label_zh", "传真"),
        ("_csrf", &csrf),
    ];
    let r = admin.client.post(&form_url).form(&bad).send().await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await?.contains("value=\"Fax 2\""), "the input is kept");
    // Move up and deactivate through the forms.
    let value_url = admin.url("/app/admin/picklists/contact_channel/values/fax");
    let r = admin
        .client
        .post(&value_url)
        .form(&[("action", "up"), ("_csrf", &csrf)])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let order = codes(&app.get(LIST).await?.body);
    assert_eq!(order.iter().rev().nth(1).map(String::as_str), Some("fax"));
    let r = admin
        .client
        .post(&value_url)
        .form(&[("action", "deactivate"), ("_csrf", &csrf)])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(value(&app.get(LIST).await?.body, "fax")["active"], false);
    Ok(())
}

async fn releases_merge_with_admin_changes(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let visitor = app
        .create("contact", json!({"full_name": "Visitor", "preferred_channel": "visit"}))
        .await?;
    let r = patch_value(&app, "phone", &json!({"label": {"en": "Landline"}})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = patch_value(&app, "wechat", &json!({"active": false})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A release adds `fax` and removes `visit` from the metadata (and the
    // demo items, which would otherwise be refused for naming `visit`).
    let mut files = read_package(&stock_metadata(), None)?;
    files.retain(|f| !f.path.starts_with("demo/"));
    let channel = files
        .iter_mut()
        .find(|f| f.path.ends_with("contact_channel.yaml"))
        .context("contact_channel.yaml")?;
    channel.text = channel
        .text
        .lines()
        .filter(|l| !l.contains("code: visit"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n  - { code: fax, label: { en: Fax, zh-CN: 传真 } }\n";
    let outcome = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "fax in, visits out".into(),
            plan_only: false,
        })
        .await?;
    assert!(outcome.release.is_some());

    let list = app.get(LIST).await?.body;
    assert_eq!(
        value(&list, "fax")["active"],
        true,
        "new metadata value inserted: {list}"
    );
    assert_eq!(value(&list, "fax")["origin"], "metadata");
    assert_eq!(
        value(&list, "phone")["label"]["en"],
        "Landline",
        "the admin's rename stays"
    );
    assert_eq!(
        value(&list, "wechat")["active"],
        false,
        "the admin's deactivation stays"
    );
    assert_eq!(value(&list, "visit")["active"], false, "removed: kept, inactive");
    assert_eq!(value(&list, "visit")["origin"], "runtime");
    app.create("contact", json!({"full_name": "Faxer", "preferred_channel": "fax"}))
        .await?;
    let r = app
        .post(
            "/api/v1/records/contact",
            &json!({"full_name": "New visitor", "preferred_channel": "visit"}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let (_, page) = html(&app, &format!("/app/r/contact/{}", id(&visitor)), "en").await?;
    assert!(page.contains("In person"), "the old record still shows the label");

    // A restart (merge at start) changes nothing more.
    let settings = relata::engine::EngineSettings {
        limits: relata::engine::Limits::default(),
        auth: relata::engine::AuthSettings::default(),
        attachments: relata::engine::AttachmentSettings {
            dir: app.attachments_dir.clone(),
            max_bytes: relata::engine::AttachmentSettings::DEFAULT_MAX_BYTES,
        },
        time_zone: relata::model::zone::Zone::utc(),
    };
    let again = relata::engine::Engine::start(app.engine.databases().clone(), settings).await?;
    let reloaded = again.picklist("contact_channel")?;
    assert_eq!(reloaded.value("visit").map(|v| v.active), Some(false));
    assert_eq!(reloaded.value("phone").map(|v| v.label.en.as_str()), Some("Landline"));
    Ok(())
}

/// Two runtime nodes on one database: a change made through one is in
/// force on the other within a bounded wait. On PostgreSQL the other node
/// polls once an hour, so only the notification can bring it there; on
/// SQLite it polls the change counter every 200 ms.
async fn another_node_sees_changes_promptly(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let poll = match backend {
        TestBackend::Postgres => std::time::Duration::from_secs(3600),
        TestBackend::Sqlite => std::time::Duration::from_millis(200),
    };
    let other = app.open_engine(|c| c.picklist_poll = poll).await?;
    assert!(other.picklist("contact_channel")?.value("line").is_none());

    async fn wait_for(what: &str, ok: impl Fn() -> bool) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !ok() {
            anyhow::ensure!(std::time::Instant::now() < deadline, "the other node never saw {what}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        Ok(())
    }

    let r = app
        .post(
            &format!("{LIST}/values"),
            &json!({"code": "line", "label": {"en": "LINE", "zh-CN": "连我"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    wait_for("the new value", || {
        other
            .picklist("contact_channel")
            .is_ok_and(|l| l.value("line").is_some_and(|v| v.active))
    })
    .await?;
    other
        .create(
            "contact",
            &json!({"full_name": "Line User", "preferred_channel": "line"}),
            None,
        )
        .await?;

    let r = app
        .call(
            Method::PATCH,
            &format!("{LIST}/values/line"),
            Some(&json!({"active": false, "label": {"en": "LINE app"}})),
            &[],
        )
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    wait_for("the deactivation", || {
        other
            .picklist("contact_channel")
            .is_ok_and(|l| l.value("line").is_some_and(|v| !v.active && v.label.en == "LINE app"))
    })
    .await?;
    let refused = other
        .create(
            "contact",
            &json!({"full_name": "Late", "preferred_channel": "line"}),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(relata::engine::EngineError::Invalid { .. })),
        "the other node refuses the deactivated code: {refused:?}"
    );
    Ok(())
}

/// A field that becomes a pick list is checked against the codes in force,
/// metadata's and administrators' alike: a code an admin added is kept, an
/// unknown value refuses the release and names itself.
async fn a_field_becoming_a_picklist_accepts_admin_codes(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let r = app
        .post(
            &format!("{LIST}/values"),
            &json!({"code": "pager", "label": {"en": "Pager", "zh-CN": "寻呼机"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.create("contact", json!({"full_name": "Beeper", "department": "pager"}))
        .await?;
    app.create("contact", json!({"full_name": "Mailer", "department": "email"}))
        .await?;
    let typo = app
        .create("contact", json!({"full_name": "Typo", "department": "pagr"}))
        .await?;
    let release = || -> Result<ApplyRequest> {
        let mut files = read_package(&stock_metadata(), None)?;
        let contact = files
            .iter_mut()
            .find(|f| f.path == "marketing/contact.yaml")
            .context("contact.yaml")?;
        contact.text = contact.text.replace(
            "  - name: department\n    type: text\n    label: { en: Department, zh-CN: 部门 }\n    max_length: 120\n",
            "  - name: department\n    type: picklist\n    picklist: contact_channel\n    label: { en: Department, zh-CN: 部门 }\n",
        );
        anyhow::ensure!(contact
            .text
            .contains("picklist: contact_channel\n    label: { en: Department"));
        Ok(ApplyRequest {
            files,
            author: "test".into(),
            comment: "department from a list".into(),
            plan_only: false,
        })
    };
    let refused = app.engine.apply(release()?).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("pagr"), "the unknown value is named: {message}");
    assert!(!message.contains("pager"), "the admin's code is known: {message}");

    let r = app
        .patch(
            &format!("/api/v1/records/contact/{}", id(&typo)),
            typo["row_version"].as_i64().unwrap_or_default(),
            &json!({"department": "pager"}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let outcome = app.engine.apply(release()?).await?;
    assert!(outcome.release.is_some());
    let beeper = app.get("/api/v1/records/contact?department=eq.pager").await?.body;
    assert_eq!(beeper["data"].as_array().map(Vec::len), Some(2), "{beeper}");
    Ok(())
}

/// A node takes its own start, releases and administrators' changes for
/// what they are: the check for changes made by other nodes finds nothing
/// to reload after any of them (it used to reload, and log that another
/// node had changed the lists, after every start and release).
async fn own_changes_are_not_taken_for_another_nodes(backend: TestBackend) -> Result<()> {
    let Some(fresh) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    assert!(
        !fresh.engine.sync_picklists().await?,
        "after starting on an empty store"
    );
    let Some(app) = app(backend).await? else { return Ok(()) };
    assert!(!app.engine.sync_picklists().await?, "after the first release");
    let r = app
        .post(
            &format!("{LIST}/values"),
            &json!({"code": "line", "label": {"en": "LINE", "zh-CN": "连我"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!app.engine.sync_picklists().await?, "after an administrator's change");
    // A release that adds a value to the metadata (merged into the table).
    let mut files = read_package(&stock_metadata(), None)?;
    let channel = files
        .iter_mut()
        .find(|f| f.path.ends_with("contact_channel.yaml"))
        .context("contact_channel.yaml")?;
    channel.text = format!(
        "{}\n  - {{ code: fax, label: {{ en: Fax, zh-CN: 传真 }} }}\n",
        channel.text.trim_end()
    );
    let outcome = app
        .engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "fax".into(),
            plan_only: false,
        })
        .await?;
    assert!(outcome.release.is_some());
    assert!(!app.engine.sync_picklists().await?, "after a second release");
    Ok(())
}

/// The stock package with `contact_channel` changed as an analyst's module
/// would: `fax` added, `visit` removed (and the demo items that name it).
fn fax_in_visits_out() -> Result<Vec<relata::model::SourceFile>> {
    let mut files = read_package(&stock_metadata(), None)?;
    files.retain(|f| !f.path.starts_with("demo/"));
    let channel = files
        .iter_mut()
        .find(|f| f.path.ends_with("contact_channel.yaml"))
        .context("contact_channel.yaml")?;
    channel.text = channel
        .text
        .lines()
        .filter(|l| !l.contains("code: visit"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n  - { code: fax, label: { en: Fax, zh-CN: 传真 } }\n";
    Ok(files)
}

/// `(code, active)` of every value of the contact channels, in order.
async fn states(app: &TestApp) -> Result<Vec<(String, bool)>> {
    let list = app.get(LIST).await?.body;
    Ok(list["values"]
        .as_array()
        .context("values")?
        .iter()
        .map(|v| (v["code"].as_str().unwrap_or_default().to_owned(), v["active"] == true))
        .collect())
}

fn active_codes(states: &[(String, bool)]) -> Vec<&str> {
    states.iter().filter(|(_, a)| *a).map(|(c, _)| c.as_str()).collect()
}

/// A rollback restores exactly the pick lists of the release rolled back
/// to, and promoting the later release again restores its lists: values a
/// release adds are offered only while it (or a later one defining them)
/// is live, values it removes come back with the release that has them.
/// Administrators' changes are data and survive both; no value is ever
/// deleted, so records keep theirs.
async fn rollback_and_promotion_again_restore_the_release_lists(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let r = app
        .post(
            &format!("{LIST}/values"),
            &json!({"code": "line", "label": {"en": "LINE", "zh-CN": "连我"}}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = patch_value(&app, "wechat", &json!({"active": false})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let one = states(&app).await?;
    assert_eq!(
        active_codes(&one),
        ["email", "phone", "mobile", "mail", "visit", "line"],
        "release 1 with the admin's changes"
    );

    let two = app
        .engine
        .apply(ApplyRequest {
            files: fax_in_visits_out()?,
            author: "analyst".into(),
            comment: "fax in, visits out".into(),
            plan_only: false,
        })
        .await?
        .release
        .context("release 2")?;
    let faxer = app
        .create("contact", json!({"full_name": "Faxer", "preferred_channel": "fax"}))
        .await?;
    let after_two = states(&app).await?;
    assert_eq!(
        active_codes(&after_two),
        ["email", "phone", "mobile", "mail", "line", "fax"],
        "release 2: fax offered, visit not"
    );

    // Back to release 1: exactly its values again (fax kept for the record
    // that has it, inactive; visit offered again), the admin's changes kept.
    let back = app.engine.rollback(1, "admin".into(), None, Vec::new()).await?;
    assert!(back.release.is_some());
    let rolled = states(&app).await?;
    assert_eq!(active_codes(&rolled), active_codes(&one), "{rolled:?}");
    assert!(
        rolled.iter().any(|(c, a)| c == "fax" && !a),
        "fax is kept, inactive: {rolled:?}"
    );
    let read = app.get(&format!("/api/v1/records/contact/{}", id(&faxer))).await?;
    assert_eq!(read.body["preferred_channel"], "fax", "the record keeps its value");
    app.create("contact", json!({"full_name": "Visitor", "preferred_channel": "visit"}))
        .await?;
    let refused = app
        .post(
            "/api/v1/records/contact",
            &json!({"full_name": "Late faxer", "preferred_channel": "fax"}),
        )
        .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);

    // Promoting release 2's package again: its values are offered at once,
    // with no administrator reactivating anything by hand.
    let again = app.engine.rollback(two, "analyst".into(), None, Vec::new()).await?;
    assert!(again.release.is_some());
    assert_eq!(active_codes(&states(&app).await?), active_codes(&after_two));
    app.create("contact", json!({"full_name": "Faxer 2", "preferred_channel": "fax"}))
        .await?;

    // An administrator who reactivates a value the live release does not
    // define makes it theirs: later releases leave it active.
    let r = patch_value(&app, "visit", &json!({"active": true})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.engine.rollback(1, "admin".into(), None, Vec::new()).await?;
    app.engine.rollback(two, "admin".into(), None, Vec::new()).await?;
    let last = states(&app).await?;
    assert!(last.iter().any(|(c, a)| c == "visit" && *a), "{last:?}");
    Ok(())
}

on_both_backends!(
    rollback_and_promotion_again_restore_the_release_lists,
    own_changes_are_not_taken_for_another_nodes,
    a_field_becoming_a_picklist_accepts_admin_codes,
    another_node_sees_changes_promptly,
    add_rename_reorder_deactivate,
    bad_inputs_change_nothing,
    non_admins_are_refused,
    releases_merge_with_admin_changes
);
