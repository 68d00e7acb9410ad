//! The generated UI over HTTP (no browser): pages render from metadata in
//! both languages, forms save, errors come back inline, conflicts are shown,
//! delete and restore work, and a release changes the live form.

use anyhow::{Context, Result};
use relata::model::read_package;
use relata_tests::app::hidden_field;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::StatusCode;

struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

async fn get(app: &TestApp, path: &str, lang: &str) -> Result<Page> {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .header("accept-language", lang)
        .send()
        .await?;
    Ok(Page {
        status: r.status(),
        location: None,
        html: r.text().await?,
    })
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Result<Page> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut req = client.post(format!("{}{path}", app.base)).form(form);
    if let Some(token) = &app.token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await?;
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Page {
        status: r.status(),
        location,
        html: r.text().await?,
    })
}

/// The id at the end of a record URL.
fn id_of(location: &str) -> String {
    location
        .split('?')
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn pages_in_both_languages(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let home = get(&app, "/app", "en").await?;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.html.contains("Marketing") && home.html.contains("Key customers"),
        "{}",
        home.html
    );
    let zh = get(&app, "/app/l/contact", "zh-CN,zh;q=0.9").await?;
    assert_eq!(zh.status, StatusCode::OK);
    for text in ["联系人", "姓名", "电子邮件", "新建", "回收站", "市场营销"] {
        assert!(zh.html.contains(text), "missing {text} in the Chinese list page");
    }
    assert!(zh.html.contains("lang=\"zh-CN\""));
    let en = get(&app, "/app/l/contact", "en").await?;
    for text in ["Contacts", "Full name", "E-mail", "New", "Recycle bin"] {
        assert!(en.html.contains(text), "missing {text} in the English list page");
    }
    assert!(!en.html.contains("??"), "no untranslated UI text");
    // (HTML-escaped: `/` is `&#x2f;`.)
    assert_eq!(
        hidden_field(&en.html, "next")
            .map(|v| v.replace("&#x2f;", "/"))
            .as_deref(),
        Some("/app/l/contact"),
        "the language switch comes back to this page"
    );
    let missing = get(&app, "/app/l/nothing_here", "en").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    Ok(())
}

async fn create_edit_conflict_delete_restore(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    // Inline validation: the required name is missing.
    let bad = post(&app, "/app/r/company", &[("name", " "), ("city", "Hangzhou")]).await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("This field is required."), "inline error");
    assert!(bad.html.contains("value=\"Hangzhou\""), "the user's input is kept");

    let created = post(
        &app,
        "/app/r/company",
        &[
            ("name", "Hangzhou Tea Co"),
            ("city", "Hangzhou"),
            ("employees", "42"),
            ("key_customer", "false"),
            ("key_customer", "true"),
        ],
    )
    .await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let location = created.location.context("redirect")?;
    let company_id = id_of(&location);
    assert!(location.ends_with("?notice=saved"), "{location}");
    let view = get(&app, &location, "en").await?;
    assert!(view.html.contains("Hangzhou Tea Co") && view.html.contains("Saved."));
    assert!(view.html.contains(">Yes<"), "booleans read as Yes/No");

    // A contact from the company's related list, its reference prefilled.
    let new_contact = get(&app, &format!("/app/r/contact/new?company={company_id}"), "en").await?;
    assert!(
        new_contact.html.contains(&format!("value=\"{company_id}\""))
            && new_contact.html.contains("value=\"Hangzhou Tea Co\"")
    );
    let contact = post(
        &app,
        "/app/r/contact",
        &[
            ("full_name", "Chen Jing"),
            ("company", &company_id),
            ("email", "not an email"),
        ],
    )
    .await?;
    assert_eq!(contact.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(contact.html.contains("Enter an e-mail address."));
    let contact = post(
        &app,
        "/app/r/contact",
        &[
            ("full_name", "Chen Jing"),
            ("company", &company_id),
            ("email", "chen@tea.example"),
        ],
    )
    .await?;
    assert_eq!(contact.status, StatusCode::SEE_OTHER);
    let view = get(&app, &format!("/app/r/company/{company_id}"), "en").await?;
    assert!(
        view.html.contains("Chen Jing"),
        "the related list shows the new contact"
    );

    // Two people edit the same version: the second sees the first's change.
    let first = post(
        &app,
        &format!("/app/r/company/{company_id}"),
        &[("_version", "1"), ("name", "Hangzhou Tea Co"), ("city", "Shanghai")],
    )
    .await?;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = post(
        &app,
        &format!("/app/r/company/{company_id}"),
        &[("_version", "1"), ("name", "Hangzhou Tea Co"), ("city", "Suzhou")],
    )
    .await?;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.html.contains("Someone else changed this record"));
    assert!(
        second.html.contains("Now saved: Shanghai"),
        "their value is shown next to mine"
    );
    assert!(second.html.contains("value=\"Suzhou\""), "my value is kept");
    assert!(
        second.html.contains("name=\"_version\" value=\"2\""),
        "saving again is a deliberate choice at the new version"
    );

    let deleted = post(&app, &format!("/app/r/company/{company_id}/delete"), &[]).await?;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, &format!("/app/r/company/{company_id}"), "en").await?.status,
        StatusCode::NOT_FOUND
    );
    let bin = get(&app, "/app/bin/company", "en").await?;
    assert!(bin.html.contains("Hangzhou Tea Co"));
    let restored = post(&app, &format!("/app/r/company/{company_id}/restore"), &[]).await?;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, &format!("/app/r/company/{company_id}"), "en").await?.status,
        StatusCode::OK
    );
    Ok(())
}

async fn list_search_filter_sort(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    for (name, city, key) in [
        ("Alpha Steel", "Beijing", true),
        ("Beta Foods", "Shanghai", false),
        ("Gamma Soft", "Shanghai", true),
    ] {
        app.create(
            "company",
            serde_json::json!({"name": name, "city": city, "key_customer": key}),
        )
        .await?;
    }
    let searched = get(&app, "/app/l/company?q=soft", "en").await?;
    assert!(searched.html.contains("Gamma Soft") && !searched.html.contains("Beta Foods"));
    let filtered = get(&app, "/app/l/company?f.city=shang&sort=-name", "en").await?;
    let (g, b) = (
        filtered.html.find("Gamma Soft").context("gamma")?,
        filtered.html.find("Beta Foods").context("beta")?,
    );
    assert!(
        g < b && !filtered.html.contains("Alpha Steel"),
        "filtered and sorted descending"
    );
    let keys = get(&app, "/app/l/key_customers", "en").await?;
    assert!(
        keys.html.contains("Alpha Steel") && keys.html.contains("Gamma Soft") && !keys.html.contains("Beta Foods"),
        "the list's default filter"
    );
    let lookup = get(&app, "/app/lookup/company?q=alp", "en").await?;
    assert!(lookup.html.contains("Alpha Steel") && !lookup.html.contains("Gamma"));
    Ok(())
}

async fn a_release_changes_the_live_form(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let before = get(&app, "/app/r/contact/new", "en").await?;
    assert!(!before.html.contains("Nickname"));
    let mut files = read_package(&stock_metadata(), None)?;
    for f in files.iter_mut() {
        if f.path == "marketing/contact.yaml" {
            f.text = f.text.replacen(
                "\nfields:\n",
                "\nfields:\n  - { name: nickname, type: text, label: { en: Nickname, zh-CN: 昵称 } }\n",
                1,
            );
        }
        if f.path == "marketing/contact_form.yaml" {
            f.text = f.text.replace(
                "          - field: full_name\n",
                "          - field: full_name\n          - field: nickname\n",
            );
        }
    }
    let files: Vec<(String, String)> = files.into_iter().map(|f| (f.path, f.text)).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    app.apply(&refs).await?;
    let after = get(&app, "/app/r/contact/new", "zh-CN").await?;
    assert!(
        after.html.contains("昵称") && after.html.contains("name=\"nickname\""),
        "the new field is on the live form"
    );
    Ok(())
}

/// A person signed in through the form: every page's forms carry the
/// session's CSRF token, a form posted without it writes nothing, and the
/// language they pick is stored on them (so it follows them to any browser).
async fn a_signed_in_session_works_the_forms(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let page = browser
        .client
        .get(browser.url("/app/r/company/new"))
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(hidden_field(&page, "_csrf").as_deref(), Some(browser.csrf.as_str()));

    let forged = browser
        .client
        .post(browser.url("/app/r/company"))
        .form(&[("name", "Forged Co")])
        .send()
        .await?;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let listed = app.get("/api/v1/records/company?name=eq.Forged%20Co").await?;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(0),
        "nothing written: {}",
        listed.body
    );

    let made = browser
        .client
        .post(browser.url("/app/r/company"))
        .form(&[("name", "Session Co"), ("_csrf", browser.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let listed = app.get("/api/v1/records/company?name=eq.Session%20Co").await?;
    assert_eq!(
        listed.body["data"][0]["created_by"],
        app.admin_id.to_string(),
        "written as the user"
    );

    let switched = browser
        .client
        .post(browser.url("/app/language"))
        .form(&[("locale", "zh-CN"), ("next", "/app"), ("_csrf", browser.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/me").await?.body["locale"],
        "zh-CN",
        "stored on the user"
    );
    // A fresh client of the same user, with an English browser, reads Chinese.
    let home = get(&app, "/app", "en").await?;
    assert!(
        home.html.contains("首页"),
        "the stored language wins over the browser's"
    );
    Ok(())
}

/// The new and edit forms show no related lists (of a record that does
/// not exist yet) nor sections without fields (files come after the first
/// save); the saved record's page has them.
async fn forms_hide_what_only_a_saved_record_has(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let new = get(&app, "/app/r/company/new", "en").await?;
    assert_eq!(new.status, StatusCode::OK);
    assert!(new.html.contains("data-tab=\"overview\"") && new.html.contains("data-tab=\"notes\""));
    assert!(
        !new.html.contains("data-tab=\"contacts\""),
        "no related-list tab on the new form"
    );
    assert!(!new.html.contains("id=\"tab-contacts\""), "no empty panel either");
    assert!(!new.html.contains("<legend>Files</legend>"), "no empty section");

    let created = post(&app, "/app/r/company", &[("name", "First Save Ltd")]).await?;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let location = created.location.context("redirect")?;
    let view = get(&app, &location, "en").await?;
    assert!(
        view.html.contains("data-tab=\"contacts\""),
        "the saved record has its tab"
    );
    assert!(view.html.contains("data-test=\"related-contact\""));
    let edit = get(&app, &format!("/app/r/company/{}/edit", id_of(&location)), "en").await?;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        !edit.html.contains("data-tab=\"contacts\""),
        "the edit form shows fields only"
    );
    Ok(())
}

/// Addresses that name no page: the server's root leads to the app, the
/// app's root with a slash to the app, an unknown UI address answers the
/// UI's not-found page in the viewer's language (never raw JSON), and the
/// API keeps its JSON envelope.
async fn addresses_that_name_no_page(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let anonymous = app.anonymous()?;
    let token = app.token.clone().context("the admin's token")?;
    let admin = app.with_token(&token)?;
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    // The server's address leads to the app (then, signed out, to sign-in).
    let root = anonymous.get(app.url("/")).send().await?;
    assert!(root.status().is_redirection(), "GET / gave {}", root.status());
    assert_eq!(location(&root).as_deref(), Some("/app"));
    let slash = admin.get(app.url("/app/")).send().await?;
    assert!(slash.status().is_redirection(), "GET /app/ gave {}", slash.status());
    assert_eq!(location(&slash).as_deref(), Some("/app"));

    // Signed out, an unknown UI address asks to sign in, like any page.
    let signed_out = anonymous.get(app.url("/app/nope")).send().await?;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert!(location(&signed_out).is_some_and(|l| l.starts_with("/app/sign-in")));

    for (lang, text, tag) in [
        ("en", "There is no such page.", "lang=\"en\""),
        ("zh-CN,zh;q=0.9", "没有这个页面。", "lang=\"zh-CN\""),
    ] {
        for path in ["/app/nope", "/app/l", "/app/r/contact/a/b/c", "/app/admin/nope"] {
            let r = admin.get(app.url(path)).header("accept-language", lang).send().await?;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            let kind = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(kind.starts_with("text/html"), "{path} answered {kind}");
            let html = r.text().await?;
            assert!(html.contains(text) && html.contains(tag), "{path} in {lang}: {html}");
        }
    }

    // A user's stored language wins over the browser's.
    app.engine
        .auth()
        .set_locale(app.admin_id, Some(relata::engine::Locale::ZhCn))
        .await?;
    let stored = admin
        .get(app.url("/app/nope"))
        .header("accept-language", "en")
        .send()
        .await?
        .text()
        .await?;
    assert!(stored.contains("没有这个页面。"), "{stored}");

    // The API and anything else keep the JSON error envelope.
    for path in ["/api/v1/nope", "/nope", "/admin/api/v1/nope"] {
        let r = admin.get(app.url(path)).send().await?;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = r.json().await?;
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    Ok(())
}

on_both_backends!(
    addresses_that_name_no_page,
    forms_hide_what_only_a_saved_record_has,
    a_signed_in_session_works_the_forms,
    pages_in_both_languages,
    create_edit_conflict_delete_restore,
    list_search_filter_sort,
    a_release_changes_the_live_form
);
