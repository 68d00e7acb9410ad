//! Attachments end to end, on SQLite and PostgreSQL: the stock fields
//! `company.documents` (several PDFs, 10 MB) and `contact.photo` (one image,
//! 2 MB).

use std::path::Path;

use anyhow::{Context, Result};
use relata::engine::ApplyRequest;
use relata::model::{read_package, SourceFile};
use relata_tests::{on_both_backends, stock_metadata, Reply, TestApp, TestBackend, ADMIN_PASSWORD};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0This program cannot be run in DOS mode.";

async fn app(backend: TestBackend) -> Result<Option<TestApp>> {
    TestApp::spawn(backend, Some(&stock_metadata())).await
}

fn form(name: &str, content_type: &str, bytes: &[u8]) -> Result<Form> {
    let part = Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str(content_type)?;
    Ok(Form::new().part("file", part))
}

async fn upload(app: &TestApp, path: &str, name: &str, content_type: &str, bytes: &[u8]) -> Result<Reply> {
    let resp = app
        .client
        .post(app.url(path))
        .multipart(form(name, content_type, bytes)?)
        .send()
        .await?;
    Reply::from_response(resp).await
}

/// Regular files under the attachment directory (partial uploads included).
fn files_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_in(&p)
            } else {
                1
            }
        })
        .sum()
}

async fn new_company(app: &TestApp, name: &str) -> Result<String> {
    let c = app.create("company", json!({ "name": name })).await?;
    Ok(c["id"].as_str().context("no id")?.to_owned())
}

async fn new_contact(app: &TestApp, name: &str) -> Result<String> {
    let c = app.create("contact", json!({ "full_name": name })).await?;
    Ok(c["id"].as_str().context("no id")?.to_owned())
}

async fn round_trip_and_delete(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let id = new_company(&app, "Acme 上海").await?;
    let path = format!("/api/v1/records/company/{id}/attachments/documents");
    let up = upload(&app, &path, "报价单 2026.pdf", "application/pdf", PDF).await?;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    assert_eq!(up.body["file_name"], "报价单 2026.pdf");
    assert_eq!(up.body["content_type"], "application/pdf");
    assert_eq!(up.body["size"], PDF.len());
    let url = up.body["url"].as_str().context("no url")?.to_owned();

    let resp = app.client.get(app.url(&url)).send().await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("content-length"), PDF.len().to_string());
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-disposition").starts_with("attachment;")
            && header("content-disposition").ends_with("filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%202026.pdf"),
        "{}",
        header("content-disposition")
    );
    assert_eq!(resp.bytes().await?.as_ref(), PDF);

    // A multiple field keeps every file; the record lists them.
    let second = upload(&app, &path, "terms.pdf", "application/pdf", PDF).await?;
    assert_eq!(second.status, StatusCode::CREATED);
    let record = app.get(&format!("/api/v1/records/company/{id}")).await?;
    let docs = record.body["documents"].as_array().context("no documents")?;
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["url"], url.as_str());
    for key in ["id", "file_name", "content_type", "size", "url"] {
        assert!(!docs[0][key].is_null(), "descriptor has {key}");
    }
    // So does a list that names the field in `fields=`, each record with
    // its own files (read with the rows); a list without `fields=` leaves
    // attachment fields out.
    let other = app.create("company", json!({ "name": "No Files Ltd" })).await?;
    let list = app
        .get("/api/v1/records/company?sort=name&fields=name,documents")
        .await?;
    let rows = list.body["data"].as_array().context("no data")?;
    let row = |id: &Value| rows.iter().find(|r| r["id"] == *id).cloned().unwrap_or_default();
    assert_eq!(row(&json!(id))["documents"], record.body["documents"]);
    assert_eq!(row(&other["id"])["documents"], json!([]));
    let list = app.get("/api/v1/records/company?sort=name").await?;
    assert!(list.body["data"][0].get("documents").is_none(), "{}", list.body);

    // Deleting hides the file from the record and the download; the bytes stay.
    let del = app.call(reqwest::Method::DELETE, &url, None, &[]).await?;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(app.get(&url).await?.status, StatusCode::NOT_FOUND);
    let record = app.get(&format!("/api/v1/records/company/{id}")).await?;
    assert_eq!(record.body["documents"].as_array().map(Vec::len), Some(1));
    assert_eq!(files_in(&app.attachments_dir), 2, "a deleted attachment keeps its file");

    // Nobody signed in: refused.
    let anon = app
        .anonymous()?
        .get(app.url(second.body["url"].as_str().unwrap_or_default()))
        .send()
        .await?;
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

async fn single_file_fields_replace(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let id = new_contact(&app, "王小明").await?;
    let path = format!("/api/v1/records/contact/{id}/attachments/photo");
    let first = upload(&app, &path, "me.png", "image/png", PNG).await?;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    // Declared as a generic type: the bytes say what it is.
    let second = upload(&app, &path, "me.jpg", "application/octet-stream", JPEG).await?;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body["content_type"], "image/jpeg");
    let record = app.get(&format!("/api/v1/records/contact/{id}")).await?;
    let photos = record.body["photo"].as_array().context("no photo")?;
    assert_eq!(photos.len(), 1, "{}", record.body);
    assert_eq!(photos[0]["file_name"], "me.jpg");
    let old = first.body["url"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.get(&old).await?.status, StatusCode::NOT_FOUND);
    Ok(())
}

async fn refused_files_leave_nothing(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let contact = new_contact(&app, "Li Lei").await?;
    let company = new_company(&app, "Refusals Ltd").await?;
    let photo = format!("/api/v1/records/contact/{contact}/attachments/photo");
    let documents = format!("/api/v1/records/company/{company}/attachments/documents");

    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let r = upload(&app, &photo, "big.png", "image/png", &big).await?;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "too_large");
    assert!(
        r.body["error"]["message"].as_str().unwrap_or_default().contains("2 MB"),
        "{}",
        r.body
    );

    let r = upload(&app, &documents, "not really.pdf", "application/pdf", PNG).await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "type_refused");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("application/pdf"),
        "{}",
        r.body
    );

    let r = upload(&app, &photo, "cat.png", "image/png", EXE).await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "type_refused");

    assert_eq!(files_in(&app.attachments_dir), 0, "no file left behind");
    let c = app.get(&format!("/api/v1/records/contact/{contact}")).await?;
    assert_eq!(c.body["photo"], json!([]), "no row");
    let c = app.get(&format!("/api/v1/records/company/{company}")).await?;
    assert_eq!(c.body["documents"], json!([]), "no row");
    Ok(())
}

async fn unknown_things_are_404(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let id = new_company(&app, "Nowhere Inc").await?;
    let missing = uuid::Uuid::now_v7();
    for (path, code) in [
        (
            format!("/api/v1/records/company/{id}/attachments/nope"),
            "unknown_field",
        ),
        (
            format!("/api/v1/records/company/{id}/attachments/name"),
            "unknown_field",
        ),
        (
            format!("/api/v1/records/company/{missing}/attachments/documents"),
            "not_found",
        ),
        (
            "/api/v1/records/company/not-an-id/attachments/documents".to_owned(),
            "not_found",
        ),
        (
            format!("/api/v1/records/nope/{id}/attachments/documents"),
            "unknown_entity",
        ),
    ] {
        let r = upload(&app, &path, "a.pdf", "application/pdf", PDF).await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], code, "{path}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/attachments/{missing}")).await?.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/attachments/bogus").await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}

async fn attachments_are_not_in_json_payloads(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let r = app
        .post(
            "/api/v1/records/company",
            &json!({"name": "Payload Co", "documents": []}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let details = r.body["error"]["details"].as_array().context("no details")?;
    let d = details
        .iter()
        .find(|d| d["field"] == "documents")
        .context("no error for documents")?;
    assert_eq!(d["code"], "attachment_field");
    assert!(
        d["message"]
            .as_str()
            .unwrap_or_default()
            .contains("/attachments/documents"),
        "{d}"
    );
    Ok(())
}

fn with_brochure(files: &mut [SourceFile], add: bool) {
    if let Some(c) = files.iter_mut().find(|f| f.path == "marketing/company.yaml") {
        if add {
            c.text = c.text.replace(
                "indexes:",
                "  - name: brochure\n    type: attachment\n    label: { en: Brochure, zh-CN: 宣传册 }\nindexes:",
            );
        }
    }
}

async fn a_new_attachment_field_plans_no_column(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    for add in [true, false] {
        let mut files = read_package(&stock_metadata(), None)?;
        with_brochure(&mut files, add);
        let outcome = app
            .engine
            .apply(ApplyRequest {
                files,
                author: "test".into(),
                comment: format!("brochure: {add}"),
                plan_only: false,
            })
            .await?;
        assert!(outcome.plan.steps.is_empty(), "{:?}", outcome.plan);
    }
    let id = new_company(&app, "After Release").await?;
    let r = app.get(&format!("/api/v1/records/company/{id}")).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("brochure").is_none());
    assert!(r.body["documents"].is_array());
    Ok(())
}

/// The record page of a signed-in user: upload with the session's CSRF
/// token (first in the form, as the page puts it), see the file listed,
/// be refused without the token, see a too-large file refused next to the
/// field in the user's language, and remove the file.
async fn the_record_page_uploads_and_removes(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let company = new_company(&app, "Files Co").await?;
    let page_path = format!("/app/r/company/{company}");
    let page = browser
        .client
        .get(browser.url(&page_path))
        .send()
        .await?
        .text()
        .await?
        .replace("&#x2f;", "/");
    assert!(page.contains(&format!("action=\"/app/r/company/{company}/files/documents\"")));
    assert!(
        page.contains("accept=\"application/pdf\""),
        "the picker offers the allowed types"
    );

    let upload_to = |field: &str, csrf: Option<&str>, name: &str, bytes: Vec<u8>| {
        let mut form = Form::new();
        if let Some(t) = csrf {
            form = form.text("_csrf", t.to_owned());
        }
        let part = Part::bytes(bytes).file_name(name.to_owned());
        browser
            .client
            .post(browser.url(&format!("/app/r/company/{company}/files/{field}")))
            .multipart(form.part("file", part))
            .send()
    };
    let before = files_in(&app.attachments_dir);
    let forged = upload_to("documents", None, "forged.pdf", PDF.to_vec()).await?;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        files_in(&app.attachments_dir),
        before,
        "nothing stored without the token"
    );

    let sent = upload_to("documents", Some(&browser.csrf), "合同.pdf", PDF.to_vec()).await?;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let page = browser
        .client
        .get(browser.url(&page_path))
        .send()
        .await?
        .text()
        .await?
        .replace("&#x2f;", "/");
    assert!(page.contains("合同.pdf"), "the file is listed on the record page");
    assert_eq!(files_in(&app.attachments_dir), before + 1);

    // 11 MB: past the field's 10 MB, and past the 1 MB the sign-in gate reads.
    let mut big = PDF.to_vec();
    big.resize(11 * 1024 * 1024, b' ');
    let refused = upload_to("documents", Some(&browser.csrf), "big.pdf", big).await?;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let back = refused
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("redirect")?
        .to_owned();
    assert!(back.contains("file_error=too_large"), "{back}");
    let page = browser
        .client
        .get(browser.url(&back))
        .send()
        .await?
        .text()
        .await?
        .replace("&#x2f;", "/");
    assert!(
        page.contains("The file is too large: the limit is 10 MB."),
        "the error is next to the field"
    );
    assert_eq!(files_in(&app.attachments_dir), before + 1, "nothing more was stored");

    let remove = page
        .split("action=\"")
        .filter_map(|s| s.split('"').next())
        .find(|a| a.starts_with("/app/files/"))
        .context("a remove button")?
        .replace("&amp;", "&");
    let removed = browser
        .client
        .post(browser.url(&remove))
        .form(&[("_csrf", browser.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let page = browser
        .client
        .get(browser.url(&page_path))
        .send()
        .await?
        .text()
        .await?
        .replace("&#x2f;", "/");
    assert!(!page.contains("合同.pdf"), "the file left the record");
    Ok(())
}

/// The files of a record in the recycle bin are out of reach (download and
/// delete are 404, uploads refused, the UI's remove changes nothing) and
/// come back, all of them, when the record is restored.
async fn files_follow_their_record_to_the_bin_and_back(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let id = new_company(&app, "Binned Files Ltd").await?;
    let path = format!("/api/v1/records/company/{id}/attachments/documents");
    let up = upload(&app, &path, "offer.pdf", "application/pdf", PDF).await?;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let url = up.body["url"].as_str().context("no url")?.to_owned();
    let file_id = up.body["id"].as_str().context("no id")?.to_owned();
    let record = format!("/api/v1/records/company/{id}");

    let del = app.call(reqwest::Method::DELETE, &record, None, &[]).await?;
    assert_eq!(del.status, StatusCode::OK, "{}", del.body);
    let r = app.get(&url).await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no download from the recycle bin");
    assert_eq!(r.body["error"]["code"], "not_found");
    let r = app.call(reqwest::Method::DELETE, &url, None, &[]).await?;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no delete in the recycle bin: {}",
        r.body
    );
    let r = upload(&app, &path, "more.pdf", "application/pdf", PDF).await?;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no upload to a deleted record: {}",
        r.body
    );
    assert_eq!(r.body["error"]["code"], "not_found");
    let removed = browser
        .client
        .post(browser.url(&format!("/app/files/{file_id}/remove?back=/app/r/company/{id}")))
        .form(&[("_csrf", browser.csrf.as_str())])
        .send()
        .await?;
    assert_eq!(
        removed.status(),
        StatusCode::SEE_OTHER,
        "the UI goes back without a change"
    );

    let restored = app.post(&format!("{record}/restore"), &json!({})).await?;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let r = app.client.get(app.url(&url)).send().await?;
    assert_eq!(r.status(), StatusCode::OK, "the file is back with its record");
    assert_eq!(r.bytes().await?.as_ref(), PDF);
    let got = app.get(&record).await?;
    let docs = got.body["documents"].as_array().context("no documents")?;
    assert_eq!(docs.len(), 1, "only the file uploaded while live: {}", got.body);
    assert_eq!(docs[0]["id"], file_id.as_str());
    Ok(())
}

/// A file of an attachment field that a release removes is out of reach
/// until a release brings the field back (its row and bytes are kept).
async fn files_of_a_removed_field_are_out_of_reach(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let apply = |add: bool| {
        let mut files = read_package(&stock_metadata(), None).map_err(anyhow::Error::from)?;
        with_brochure(&mut files, add);
        anyhow::Ok(ApplyRequest {
            files,
            author: "test".into(),
            comment: format!("brochure: {add}"),
            plan_only: false,
        })
    };
    app.engine.apply(apply(true)?).await?;
    let id = new_company(&app, "Brochure Co").await?;
    let path = format!("/api/v1/records/company/{id}/attachments/brochure");
    let up = upload(&app, &path, "brochure.pdf", "application/pdf", PDF).await?;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
    let url = up.body["url"].as_str().context("no url")?.to_owned();

    app.engine.apply(apply(false)?).await?;
    assert_eq!(app.get(&url).await?.status, StatusCode::NOT_FOUND, "the field is gone");
    let r = app.call(reqwest::Method::DELETE, &url, None, &[]).await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    app.engine.apply(apply(true)?).await?;
    assert_eq!(
        app.get(&url).await?.status,
        StatusCode::OK,
        "the field is back, and its file"
    );
    Ok(())
}

/// A list column may name an attachment field: the list page shows the
/// first file's name linking to its download and how many files there are
/// (read for the whole page at once), and the record API gives the files'
/// descriptors when `fields=` names the field.
async fn lists_show_attachment_columns(backend: TestBackend) -> Result<()> {
    let Some(app) = app(backend).await? else { return Ok(()) };
    let mut files = read_package(&stock_metadata(), None)?;
    let list = files
        .iter_mut()
        .find(|f| f.path.ends_with("company_list.yaml"))
        .context("no company list")?;
    list.text = list.text.replace(
        "columns: [name, company_type, industry, city, phone, key_customer]",
        "columns: [name, city, documents]",
    );
    app.engine
        .apply(ApplyRequest {
            files,
            author: "test".into(),
            comment: "documents in the list".into(),
            plan_only: false,
        })
        .await?;
    let with_files = new_company(&app, "Aardvark Files").await?;
    new_company(&app, "Bare Company").await?;
    let path = format!("/api/v1/records/company/{with_files}/attachments/documents");
    let first = upload(&app, &path, "offer.pdf", "application/pdf", PDF).await?;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = upload(&app, &path, "terms.pdf", "application/pdf", PDF).await?;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let first_url = first.body["url"].as_str().context("no url")?.to_owned();

    let browser = app.sign_in("admin", ADMIN_PASSWORD).await?;
    let page = browser
        .client
        .get(browser.url("/app/l/company"))
        .send()
        .await?
        .text()
        .await?
        .replace("&#x2f;", "/");
    assert!(page.contains(">Documents<"), "the column is there");
    assert!(
        page.contains(&format!(
            "<a href=\"{first_url}\">offer.pdf</a> <span class=\"muted\">(2 files)</span>"
        )),
        "first file, linked, and the count: {page}"
    );
    assert!(!page.contains("name=\"f.documents\""), "no filter on files");
    assert!(!page.contains("data-test=\"sort-documents\""), "no sort on files");
    // The column chooser offers the field on any list.
    let chosen = browser
        .client
        .get(browser.url("/app/l/key_customers?col=name&col=documents"))
        .send()
        .await?;
    assert_eq!(chosen.status(), StatusCode::OK);
    assert!(chosen.text().await?.contains(">Documents<"));

    let r = app
        .get("/api/v1/records/company?fields=name,documents&sort=name")
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = r.body["data"].as_array().context("no data")?;
    assert_eq!(data[0]["name"], "Aardvark Files");
    assert_eq!(data[0]["documents"].as_array().map(Vec::len), Some(2), "{}", r.body);
    assert_eq!(data[0]["documents"][0]["url"], first_url.as_str());
    assert_eq!(data[1]["documents"], json!([]));
    let r = app.get("/api/v1/records/company?sort=name").await?;
    assert!(r.body["data"][0].get("documents").is_none(), "only when asked for");
    let one = app
        .get(&format!("/api/v1/records/company/{with_files}?fields=documents"))
        .await?;
    assert_eq!(one.body["documents"].as_array().map(Vec::len), Some(2), "{}", one.body);
    assert!(one.body.get("name").is_none());
    Ok(())
}

on_both_backends!(
    lists_show_attachment_columns,
    files_follow_their_record_to_the_bin_and_back,
    files_of_a_removed_field_are_out_of_reach,
    the_record_page_uploads_and_removes,
    round_trip_and_delete,
    single_file_fields_replace,
    refused_files_leave_nothing,
    unknown_things_are_404,
    attachments_are_not_in_json_payloads,
    a_new_attachment_field_plans_no_column,
);
