//! Related lists on record pages, on both backends.
//!
//! - Organisation charts: contacts by *reports to* and employees by
//!   *manager* (hierarchy fields) shown as trees on the company, contact and
//!   employee pages; saves that would make a loop, or put a contact under
//!   someone of another company, are refused and change nothing, also
//!   when two saves at the same moment would each close half of a loop.
//! - Filtered related lists: a company's open opportunities apart from its
//!   won and lost ones.

use anyhow::{Context, Result};
use relata_tests::records::{change, delete, field_error, get, id, refused, stock};
use relata_tests::{on_both_backends, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

/// The rows of the related list `entity` on a record page, as
/// `(depth, title)`, in page order (the first related list of that entity).
async fn tree_rows(app: &TestApp, path: &str, entity: &str) -> Result<Vec<(usize, String)>> {
    let html = app.client.get(app.url(path)).send().await?.text().await?;
    let marker = format!("data-test=\"related-{entity}\"");
    let start = html.find(&marker).with_context(|| format!("no {marker} on {path}"))?;
    let section = &html[start..];
    let section = &section[..section.find("</section>").context("unclosed related list")?];
    ensure_tree(section, path)?;
    let mut rows = Vec::new();
    for row in section.split("<tr").skip(1) {
        let Some(title_at) = row.find("data-test=\"row-title\">") else {
            continue;
        };
        let title = &row[title_at + "data-test=\"row-title\">".len()..];
        let title = &title[..title.find("</a>").context("unclosed title")?];
        let depth = match row.find("data-depth=\"") {
            Some(d) => row[d + 12..].split('"').next().unwrap_or_default().parse()?,
            None => anyhow::bail!("a tree row without data-depth on {path}: {row}"),
        };
        rows.push((depth, title.to_owned()));
    }
    Ok(rows)
}

fn ensure_tree(section: &str, path: &str) -> Result<()> {
    anyhow::ensure!(
        section.starts_with("data-test") && section.contains("data-depth"),
        "the related list on {path} is not a tree: {section}"
    );
    Ok(())
}

fn rows(expected: &[(usize, &str)]) -> Vec<(usize, String)> {
    expected.iter().map(|(d, t)| (*d, (*t).to_owned())).collect()
}

async fn contacts(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let globex = id(&app.create("company", json!({"name": "Globex"})).await?);
    let person = |name: &str, boss: Option<&str>| json!({"full_name": name, "company": acme, "reports_to": boss});
    let ann = id(&app.create("contact", person("Ann Chief", None)).await?);
    let bob = id(&app.create("contact", person("Bob Tech", Some(&ann))).await?);
    let cai = id(&app.create("contact", person("Cai Coder", Some(&bob))).await?);
    let dan = id(&app.create("contact", person("Dan Sales", Some(&ann))).await?);
    let eve = id(&app
        .create("contact", json!({"full_name": "Eve Other", "company": globex}))
        .await?);

    // The company's organisation chart: each person under their manager,
    // colleagues by name.
    let chart = tree_rows(&app, &format!("/app/r/company/{acme}"), "contact").await?;
    assert_eq!(
        chart,
        rows(&[(0, "Ann Chief"), (1, "Bob Tech"), (2, "Cai Coder"), (1, "Dan Sales")])
    );
    // A contact's page: everyone below them.
    let team = tree_rows(&app, &format!("/app/r/contact/{ann}"), "contact").await?;
    assert_eq!(team, rows(&[(0, "Bob Tech"), (1, "Cai Coder"), (0, "Dan Sales")]));

    // Ann cannot report to Cai, who is below her; nor to herself.
    for boss in [&cai, &ann] {
        let r = change(&app, "contact", &ann, json!({ "reports_to": boss })).await?;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let (field, code, _) = field_error(&r);
        assert_eq!((field.as_str(), code.as_str()), ("reports_to", "cycle"), "{}", r.body);
    }
    assert!(get(&app, "contact", &ann).await?["reports_to"].is_null());

    // Someone of another company is refused by the contact's rule.
    let r = change(&app, "contact", &cai, json!({"reports_to": eve})).await?;
    refused(
        &r,
        "reports_to",
        "Eve Other works for another company. Choose someone at this contact's company, or leave Reports to empty.",
    )?;
    assert_eq!(get(&app, "contact", &cai).await?["reports_to"], json!(bob));
    // So is moving Cai to another company while he reports to Bob.
    let r = change(&app, "contact", &cai, json!({ "company": globex })).await?;
    refused(
        &r,
        "reports_to",
        "Bob Tech works for another company. Choose someone at this contact's company, or leave Reports to empty.",
    )?;
    // And someone in the recycle bin.
    let gone = id(&app.create("contact", person("Gus Gone", None)).await?);
    delete(&app, "contact", &gone).await?;
    let r = change(&app, "contact", &cai, json!({ "reports_to": gone })).await?;
    refused(
        &r,
        "reports_to",
        "There is no such contact (it may be in the recycle bin).",
    )?;

    // The form's Reports-to picker offers the people of the company chosen
    // on the form (sent along with what is typed), everyone while none is.
    let form = app
        .client
        .get(app.url(&format!("/app/r/contact/{cai}/edit")))
        .send()
        .await?
        .text()
        .await?;
    // (Field names are CSS identifiers: no quotes needed.)
    assert!(form.contains("hx-include=\"[name=company]\""), "{form}");
    assert!(form.contains("contact?_bind.company=eq.company\""), "{form}");
    let offered = |company: String| {
        let url = app.url(&format!(
            "/app/lookup/contact?_bind.company=eq.company&company={company}&field=reports_to&q="
        ));
        let client = app.client.clone();
        async move { anyhow::Ok(client.get(url).send().await?.text().await?) }
    };
    let at_acme = offered(acme.clone()).await?;
    assert!(
        at_acme.contains("Ann Chief") && !at_acme.contains("Eve Other"),
        "{at_acme}"
    );
    let anyone = offered(String::new()).await?;
    assert!(anyone.contains("Ann Chief") && anyone.contains("Eve Other"), "{anyone}");

    // Moving Bob under Dan moves his team with him.
    let r = change(&app, "contact", &bob, json!({"reports_to": dan})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let chart = tree_rows(&app, &format!("/app/r/company/{acme}"), "contact").await?;
    assert_eq!(
        chart,
        rows(&[(0, "Ann Chief"), (1, "Dan Sales"), (2, "Bob Tech"), (3, "Cai Coder")])
    );
    Ok(())
}

async fn employees(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let employee = |name: &str, manager: Option<&str>| json!({"full_name": name, "manager": manager});
    let wang = id(&app.create("employee", employee("王总", None)).await?);
    let li = id(&app.create("employee", employee("李经理", Some(&wang))).await?);
    let zhang = id(&app.create("employee", employee("张工", Some(&li))).await?);
    let chen = id(&app.create("employee", employee("陈工", Some(&li))).await?);
    let team = tree_rows(&app, &format!("/app/r/employee/{wang}"), "employee").await?;
    // Under Li, the two engineers in the backend's order of their names.
    let names: Vec<String> = team.iter().map(|r| r.1.clone()).collect();
    assert_eq!(team.len(), 3, "{team:?}");
    assert_eq!(team[0], (0, "李经理".to_owned()));
    assert!(
        names.contains(&"张工".to_owned()) && names.contains(&"陈工".to_owned()),
        "{team:?}"
    );
    assert!(team[1..].iter().all(|r| r.0 == 1), "{team:?}");

    // The top manager cannot be put under one of the team.
    let r = change(&app, "employee", &wang, json!({"manager": zhang})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let (field, code, message) = field_error(&r);
    assert_eq!((field.as_str(), code.as_str()), ("manager", "cycle"));
    assert!(message.contains("under itself"), "{message}");
    assert!(get(&app, "employee", &wang).await?["manager"].is_null());
    // Moving a person sideways is fine.
    let r = change(&app, "employee", &chen, json!({"manager": wang})).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let team = tree_rows(&app, &format!("/app/r/employee/{wang}"), "employee").await?;
    assert_eq!(team.len(), 3, "{team:?}");
    assert!(
        team.contains(&(0, "陈工".to_owned())) && team.contains(&(1, "张工".to_owned())),
        "{team:?}"
    );
    Ok(())
}

/// Two people each put under the other at the same moment: each save alone
/// is fine, together they close a loop. One must be refused, every time.
async fn concurrent_moves(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    const PAIRS: usize = 24;
    for n in 0..PAIRS {
        let a = id(&app.create("employee", json!({"full_name": format!("Ann {n}")})).await?);
        let b = id(&app.create("employee", json!({"full_name": format!("Bob {n}")})).await?);
        let (ra, rb) = tokio::join!(
            change(&app, "employee", &a, json!({"manager": b})),
            change(&app, "employee", &b, json!({"manager": a})),
        );
        let (ra, rb) = (ra?, rb?);
        let (saved, other) = match (ra.status, rb.status) {
            (StatusCode::OK, StatusCode::OK) => {
                anyhow::bail!("pair {n}: both saved, {a} and {b} are now each other's manager")
            }
            (StatusCode::OK, _) => ((&a, &b), &rb),
            (_, StatusCode::OK) => ((&b, &a), &ra),
            _ => anyhow::bail!(
                "pair {n}: neither saved: {} {} / {} {}",
                ra.status,
                ra.body,
                rb.status,
                rb.body
            ),
        };
        assert_eq!(
            other.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "pair {n}: {}",
            other.body
        );
        assert_eq!(field_error(other).1, "cycle", "pair {n}: {}", other.body);
        // The refused one kept no manager; the saved one has its new one.
        assert!(get(&app, "employee", saved.1).await?["manager"].is_null(), "pair {n}");
        assert_eq!(
            get(&app, "employee", saved.0).await?["manager"],
            json!(saved.1),
            "pair {n}"
        );
    }
    Ok(())
}

/// The rows of the related list titled `title` on a record page.
async fn titled_rows(app: &TestApp, path: &str, title: &str) -> Result<Vec<String>> {
    let html = app.client.get(app.url(path)).send().await?.text().await?;
    let heading = format!("<h2>{title}</h2>");
    let start = html
        .find(&heading)
        .with_context(|| format!("no related list {title} on {path}"))?;
    let section = &html[start..];
    let section = &section[..section.find("</section>").context("unclosed related list")?];
    let marker = "data-test=\"row-title\">";
    Ok(section
        .split(marker)
        .skip(1)
        .map(|s| s.split("</a>").next().unwrap_or_default().to_owned())
        .collect())
}

async fn filtered(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    for (name, result, close) in [
        ("Pumps", "open", "2027-03-01"),
        ("Valves", "open", "2027-01-15"),
        ("Pipes", "won", "2026-05-01"),
        ("Seals", "lost", "2026-09-01"),
    ] {
        let body = json!({"name": name, "company": acme, "result": result, "close_date": close});
        app.create("opportunity", body).await?;
    }
    let page = format!("/app/r/company/{acme}");
    assert_eq!(
        titled_rows(&app, &page, "Open opportunities").await?,
        ["Valves", "Pumps"]
    );
    assert_eq!(titled_rows(&app, &page, "Won and lost").await?, ["Seals", "Pipes"]);
    Ok(())
}

on_both_backends!(contacts, employees, concurrent_moves, filtered);
