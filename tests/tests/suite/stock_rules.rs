//! The stock business rules (`scripts/`, bound in `metadata/`), through the
//! record API on both backends: the saved values each rule leaves and the
//! exact messages of the refusals, in English and Chinese.

use anyhow::{ensure, Context, Result};
use relata::engine::Locale;
use relata_tests::records::{change, changed, command, count, delete, field_error, get, id, num, refused, stock};
use relata_tests::{on_both_backends, TestApp, TestBackend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn opportunity_rules(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let company = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    // A new opportunity takes its stage's probability (pick-list data),
    // and expected revenue = amount x probability / 100, exactly.
    let o = app
        .create(
            "opportunity",
            json!({"name": "ERP", "company": company, "stage": "proposal", "amount": 1234.56}),
        )
        .await?;
    assert_eq!(num(&o["probability"]), Some(60.0), "{o}");
    assert_eq!(
        num(&o["expected_revenue"]),
        Some(740.74),
        "1234.56 x 60 % = 740.736: {o}"
    );
    let oid = id(&o);
    // The default stage (prospect) counts too.
    let p = app
        .create(
            "opportunity",
            json!({"name": "Small", "company": company, "amount": 100}),
        )
        .await?;
    assert_eq!(
        (num(&p["probability"]), num(&p["expected_revenue"])),
        (Some(10.0), Some(10.0))
    );
    // A probability sent with the stage is kept.
    let q = app
        .create(
            "opportunity",
            json!({"name": "Sure", "company": company, "stage": "needs", "amount": 1000, "probability": 75}),
        )
        .await?;
    assert_eq!(
        (num(&q["probability"]), num(&q["expected_revenue"])),
        (Some(75.0), Some(750.0))
    );
    // No amount: no expected revenue.
    let r = app
        .create("opportunity", json!({"name": "Vague", "company": company}))
        .await?;
    assert_eq!(r["expected_revenue"], Value::Null, "{r}");

    // A stage change sets the probability of the new stage ...
    let moved = changed(&app, "opportunity", &oid, json!({"stage": "commitment"})).await?;
    assert_eq!(num(&moved["probability"]), Some(80.0));
    assert_eq!(
        num(&moved["expected_revenue"]),
        Some(987.65),
        "1234.56 x 80 % = 987.648"
    );
    // ... unless the same save sets the probability.
    let both = changed(
        &app,
        "opportunity",
        &oid,
        json!({"stage": "satisfied", "probability": 95}),
    )
    .await?;
    assert_eq!(num(&both["probability"]), Some(95.0));
    // Another change keeps a probability set by hand; the revenue follows the amount.
    let amount = changed(&app, "opportunity", &oid, json!({"amount": 2000})).await?;
    assert_eq!(
        (num(&amount["probability"]), num(&amount["expected_revenue"])),
        (Some(95.0), Some(1900.0))
    );
    // The expected revenue is the rule's, never a client's.
    let sent = change(&app, "opportunity", &oid, json!({"expected_revenue": 1})).await?;
    assert_eq!(sent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&sent).1, "read_only", "{}", sent.body);
    Ok(())
}

async fn territories(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let t = |name: &str, rule: Value| {
        let mut body = json!({"name": name});
        if let (Some(b), Some(r)) = (body.as_object_mut(), rule.as_object()) {
            b.extend(r.clone());
        }
        app.create("territory", body)
    };
    let china = id(&t("China", json!({"country": "China"})).await?);
    let shanghai = id(&t("Shanghai", json!({"country": "China", "region": "上海"})).await?);
    let pudong = id(&t("Pudong", json!({"city": "浦东", "postal_code_prefix": "2001"})).await?);
    let hangzhou = id(&t("Hangzhou", json!({"city": "杭州"})).await?);
    // Inactive, and first by name: never picked.
    t(
        "A closed office",
        json!({"country": "China", "region": "上海", "active": false}),
    )
    .await?;
    // No rule at all: never picked.
    t("Key accounts", json!({})).await?;

    let territory_of = |r: &Value| r["territory"].as_str().map(str::to_owned);
    // The narrowest matching rule wins; case and spaces do not matter.
    let a = app
        .create("company", json!({"name": "A", "country": " china ", "region": "上海"}))
        .await?;
    assert_eq!(territory_of(&a), Some(shanghai.clone()), "{a}");
    let b = app
        .create("company", json!({"name": "B", "country": "China", "region": "北京"}))
        .await?;
    assert_eq!(territory_of(&b), Some(china.clone()), "{b}");
    let e = app
        .create(
            "company",
            json!({"name": "E", "country": "China", "region": "上海", "city": "浦东", "postal_code": "200120"}),
        )
        .await?;
    assert_eq!(
        territory_of(&e),
        Some(pudong.clone()),
        "postal prefix + city beat the province: {e}"
    );
    let c = app.create("company", json!({"name": "C", "country": "Japan"})).await?;
    assert_eq!(territory_of(&c), None, "no rule matches: {c}");
    // A territory the user chose is kept.
    let d = app
        .create(
            "company",
            json!({"name": "D", "country": "China", "region": "上海", "territory": china}),
        )
        .await?;
    assert_eq!(territory_of(&d), Some(china.clone()));
    // Updating the address later does not move a company.
    let moved = changed(&app, "company", &id(&b), json!({"region": "上海"})).await?;
    assert_eq!(territory_of(&moved), Some(china.clone()));

    // A contact takes its company's territory; one without a company, its city's.
    let at_a = app
        .create(
            "contact",
            json!({"full_name": "陈静", "company": id(&a), "city": "杭州"}),
        )
        .await?;
    assert_eq!(territory_of(&at_a), Some(shanghai.clone()));
    let alone = app
        .create("contact", json!({"full_name": "Li", "city": "杭州"}))
        .await?;
    assert_eq!(territory_of(&alone), Some(hangzhou.clone()));
    let chosen = app
        .create(
            "contact",
            json!({"full_name": "Wu", "company": id(&a), "territory": china}),
        )
        .await?;
    assert_eq!(territory_of(&chosen), Some(china.clone()));

    // An opportunity takes its company's.
    let o = app
        .create("opportunity", json!({"name": "O", "company": id(&e)}))
        .await?;
    assert_eq!(territory_of(&o), Some(pudong.clone()));
    let o = app
        .create(
            "opportunity",
            json!({"name": "P", "company": id(&e), "territory": china}),
        )
        .await?;
    assert_eq!(territory_of(&o), Some(china.clone()));

    // A lead, from its address.
    let l = app
        .create("lead", json!({"topic": "T", "country": "CHINA", "region": "上海"}))
        .await?;
    assert_eq!(territory_of(&l), Some(shanghai));
    Ok(())
}

async fn process_lead(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let lead = app
        .create(
            "lead",
            json!({"topic": "ERP for 200 users", "company_name": "ACME trading", "person_name": "陈静",
                   "job_title": "IT 经理", "email": "chen.jing@acme.example", "estimated_amount": 50000,
                   "source": "trade_show"}),
        )
        .await?;
    let lid = id(&lead);
    let done = command(&app, "lead", &lid, "process_lead", json!({})).await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        done.body["message"],
        "Lead converted: opportunity “ERP for 200 users” for Acme Trading."
    );
    assert_eq!(done.body["open"]["entity"], "opportunity");
    let oid = done.body["open"]["id"].as_str().context("open id")?.to_owned();

    // The existing company is reused, whatever the case of the name.
    assert_eq!(count(&app, "company").await?, 1);
    let opp = get(&app, "opportunity", &oid).await?;
    assert_eq!(opp["name"], "ERP for 200 users");
    assert_eq!(opp["company"], acme.as_str());
    assert_eq!(num(&opp["amount"]), Some(50000.0));
    assert_eq!(opp["source"], "trade_show");
    assert_eq!(
        (opp["stage"].as_str(), num(&opp["probability"])),
        (Some("prospect"), Some(10.0))
    );
    assert_eq!(
        num(&opp["expected_revenue"]),
        Some(5000.0),
        "the opportunity's own rules ran"
    );
    let contact = get(&app, "contact", opp["contact"].as_str().context("contact")?).await?;
    assert_eq!(
        (
            &contact["full_name"],
            &contact["company"],
            &contact["job_title"],
            &contact["email"]
        ),
        (
            &json!("陈静"),
            &json!(acme),
            &json!("IT 经理"),
            &json!("chen.jing@acme.example")
        )
    );
    let lead = get(&app, "lead", &lid).await?;
    assert_eq!(lead["status"], "converted");
    assert_eq!(lead["converted_company"], acme.as_str());
    assert_eq!(lead["converted_contact"], contact["id"]);
    assert_eq!(lead["converted_opportunity"], oid.as_str());
    assert!(
        lead["converted_at"].as_str().is_some_and(|t| t.starts_with("20")),
        "{lead}"
    );

    // A converted lead is refused, in the user's language.
    let again = command(&app, "lead", &lid, "process_lead", json!({})).await?;
    refused(
        &again,
        "status",
        "This lead has been converted already: open its opportunity on the Conversion tab.",
    )?;
    app.engine.auth().set_locale(app.admin_id, Some(Locale::ZhCn)).await?;
    let again = command(&app, "lead", &lid, "process_lead", json!({})).await?;
    refused(&again, "status", "此线索已经转化过了，请在“转化结果”页打开对应的商机。")?;
    app.engine.auth().set_locale(app.admin_id, None).await?;
    assert_eq!(count(&app, "opportunity").await?, 1);

    // A lead naming a new company and nobody: a new company, no contact;
    // the same e-mail elsewhere reuses the contact.
    let other = app
        .create(
            "lead",
            json!({"topic": "Cloud move", "company_name": "Globex 上海", "city": "上海", "industry": "software"}),
        )
        .await?;
    let done = command(&app, "lead", &id(&other), "process_lead", json!({})).await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let other = get(&app, "lead", &id(&other)).await?;
    let globex = get(&app, "company", other["converted_company"].as_str().context("company")?).await?;
    assert_eq!(
        (&globex["name"], &globex["city"], &globex["industry"]),
        (&json!("Globex 上海"), &json!("上海"), &json!("software"))
    );
    assert_eq!(other["converted_contact"], Value::Null);
    let same_person = app
        .create(
            "lead",
            json!({"topic": "Second deal", "company_name": "Acme Trading", "person_name": "Chen Jing",
                   "email": "chen.jing@acme.example"}),
        )
        .await?;
    let done = command(&app, "lead", &id(&same_person), "process_lead", json!({})).await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        count(&app, "contact").await?,
        1,
        "the contact with that e-mail is reused"
    );

    // No company name: refused.
    let nameless = app.create("lead", json!({"topic": "Someone called"})).await?;
    let r = command(&app, "lead", &id(&nameless), "process_lead", json!({})).await?;
    refused(
        &r,
        "company_name",
        "Enter the company name first: the lead becomes an opportunity of that company.",
    )?;

    // A step that fails rolls everything back: the lead's industry was
    // deactivated since, so the new company cannot take it; no company,
    // contact or opportunity is left, and the lead is unchanged.
    let doomed = app
        .create(
            "lead",
            json!({"topic": "Telco deal", "company_name": "Initech", "person_name": "Peter Gibbons",
                   "industry": "telecom"}),
        )
        .await?;
    let off = app
        .call(
            Method::PATCH,
            "/api/v1/picklists/industry/values/telecom",
            Some(&json!({"active": false})),
            &[],
        )
        .await?;
    ensure!(
        off.status == StatusCode::OK,
        "deactivating: {} {}",
        off.status,
        off.body
    );
    let (companies, contacts, opportunities) = (
        count(&app, "company").await?,
        count(&app, "contact").await?,
        count(&app, "opportunity").await?,
    );
    let failed = command(&app, "lead", &id(&doomed), "process_lead", json!({})).await?;
    assert_eq!(failed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", failed.body);
    assert_eq!(failed.body["error"]["code"], "rule_failed", "{}", failed.body);
    let message = failed.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("company is not valid") && message.contains("industry"),
        "{message}"
    );
    assert_eq!(count(&app, "company").await?, companies);
    assert_eq!(count(&app, "contact").await?, contacts);
    assert_eq!(count(&app, "opportunity").await?, opportunities);
    let doomed = get(&app, "lead", &id(&doomed)).await?;
    assert_eq!(
        (&doomed["status"], &doomed["converted_company"]),
        (&json!("new"), &Value::Null)
    );
    Ok(())
}

async fn create_contact(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let globex = id(&app.create("company", json!({"name": "Globex"})).await?);
    // Found by the "Works at" name, whatever its case.
    let friend = app
        .create(
            "personal_contact",
            json!({"full_name": "赵磊", "company_name": "acme TRADING", "email": "zhao@example.com",
                   "mobile": "+86 138 0000 0000", "city": "上海"}),
        )
        .await?;
    let fid = id(&friend);
    let done = command(&app, "personal_contact", &fid, "create_contact", json!({})).await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["message"], "Business contact 赵磊 created.");
    assert_eq!(done.body["open"]["entity"], "contact");
    let cid = done.body["open"]["id"].as_str().context("open id")?.to_owned();
    let contact = get(&app, "contact", &cid).await?;
    assert_eq!(
        (
            &contact["full_name"],
            &contact["company"],
            &contact["email"],
            &contact["city"]
        ),
        (&json!("赵磊"), &json!(acme), &json!("zhao@example.com"), &json!("上海"))
    );
    assert_eq!(
        get(&app, "personal_contact", &fid).await?["converted_contact"],
        cid.as_str()
    );
    // Once is enough.
    let again = command(&app, "personal_contact", &fid, "create_contact", json!({})).await?;
    refused(
        &again,
        "converted_contact",
        "This person is a business contact already: open it from the Business contact field.",
    )?;

    // A company given as the parameter wins over the name.
    let other = id(&app
        .create(
            "personal_contact",
            json!({"full_name": "Max", "company_name": "Acme Trading"}),
        )
        .await?);
    let done = command(
        &app,
        "personal_contact",
        &other,
        "create_contact",
        json!({"company": globex}),
    )
    .await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let made = get(&app, "contact", done.body["open"]["id"].as_str().context("id")?).await?;
    assert_eq!(made["company"], globex.as_str());

    // Bad parameters: no such company, not an id, not a parameter.
    let third = id(&app.create("personal_contact", json!({"full_name": "Ann"})).await?);
    let r = command(
        &app,
        "personal_contact",
        &third,
        "create_contact",
        json!({"company": "01900000-0000-7000-8000-000000000000"}),
    )
    .await?;
    refused(&r, "company", "There is no such company.")?;
    let r = command(
        &app,
        "personal_contact",
        &third,
        "create_contact",
        json!({"company": "acme"}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(field_error(&r).0, "company");
    assert_eq!(field_error(&r).1, "type", "{}", r.body);
    let r = command(&app, "personal_contact", &third, "create_contact", json!({"colour": 1})).await?;
    assert_eq!(field_error(&r).1, "unknown_field", "{}", r.body);
    // Nothing named, nothing found: a contact of no company.
    let done = command(&app, "personal_contact", &third, "create_contact", json!({})).await?;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let made = get(&app, "contact", done.body["open"]["id"].as_str().context("id")?).await?;
    assert_eq!(made["company"], Value::Null);
    Ok(())
}

async fn create_opportunity(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let east = id(&app
        .create("territory", json!({"name": "East", "country": "China"}))
        .await?);
    let acme = app
        .create("company", json!({"name": "Acme Trading", "country": "China"}))
        .await?;
    assert_eq!(acme["territory"], east.as_str());
    let acme = id(&acme);
    let from_company = command(
        &app,
        "company",
        &acme,
        "create_opportunity",
        json!({"name": "Renewal 2027", "amount": 12000, "close_date": "2026-12-31"}),
    )
    .await?;
    assert_eq!(from_company.status, StatusCode::OK, "{}", from_company.body);
    assert_eq!(
        from_company.body["message"],
        "Opportunity “Renewal 2027” created for Acme Trading."
    );
    assert_eq!(from_company.body["open"]["entity"], "opportunity");
    let o = get(
        &app,
        "opportunity",
        from_company.body["open"]["id"].as_str().context("id")?,
    )
    .await?;
    assert_eq!(
        (
            &o["name"],
            &o["company"],
            &o["close_date"],
            &o["territory"],
            &o["stage"]
        ),
        (
            &json!("Renewal 2027"),
            &json!(acme),
            &json!("2026-12-31"),
            &json!(east),
            &json!("prospect")
        )
    );
    assert_eq!(
        (num(&o["amount"]), num(&o["expected_revenue"])),
        (Some(12000.0), Some(1200.0))
    );

    let chen = id(&app
        .create("contact", json!({"full_name": "陈静", "company": acme}))
        .await?);
    let from_contact = command(&app, "contact", &chen, "create_opportunity", json!({"name": "Pilot"})).await?;
    assert_eq!(from_contact.status, StatusCode::OK, "{}", from_contact.body);
    assert_eq!(from_contact.body["message"], "Opportunity “Pilot” created for 陈静.");
    let o = get(
        &app,
        "opportunity",
        from_contact.body["open"]["id"].as_str().context("id")?,
    )
    .await?;
    assert_eq!(
        (&o["company"], &o["contact"], &o["amount"]),
        (&json!(acme), &json!(chen), &Value::Null)
    );

    // Bad paths: a contact of no company; a missing or mistyped parameter.
    let loner = id(&app.create("contact", json!({"full_name": "Li"})).await?);
    let r = command(&app, "contact", &loner, "create_opportunity", json!({"name": "X"})).await?;
    refused(
        &r,
        "company",
        "Attach this contact to a company first: an opportunity belongs to a company.",
    )?;
    let r = command(&app, "company", &acme, "create_opportunity", json!({"amount": "lots"})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut details: Vec<(String, String)> = r.body["error"]["details"]
        .as_array()
        .context("details")?
        .iter()
        .map(|d| {
            (
                d["field"].as_str().unwrap_or_default().to_owned(),
                d["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    details.sort();
    assert_eq!(
        details,
        [
            ("amount".to_owned(), "type".to_owned()),
            ("name".to_owned(), "required".to_owned())
        ]
    );
    assert_eq!(count(&app, "opportunity").await?, 2);
    Ok(())
}

async fn order_total(app: &TestApp, so: &str) -> Result<Option<f64>> {
    Ok(num(&get(app, "sales_order", so).await?["total_amount"]))
}

async fn order_totals_and_status(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let order = |n: &str| app.create("sales_order", json!({"order_number": n, "company": acme}));
    let so = order("SO-1").await?;
    assert_eq!(num(&so["total_amount"]), Some(0.0), "{so}");
    let so = id(&so);
    let line = |body: Value| app.create("order_line", body);
    let l1 = line(json!({"sales_order": so, "description": "Licences", "quantity": 2, "unit_price": 1200})).await?;
    assert_eq!(num(&l1["line_total"]), Some(2400.0), "{l1}");
    let l2 = line(
        json!({"sales_order": so, "description": "Days", "quantity": 3, "unit_price": 99.99,
                          "discount": 10}),
    )
    .await?;
    assert_eq!(
        num(&l2["line_total"]),
        Some(269.97),
        "3 x 99.99 less 10 % = 269.973: {l2}"
    );
    assert_eq!(order_total(&app, &so).await?, Some(2669.97));
    // A line without a price has no total and adds nothing.
    line(json!({"sales_order": so, "description": "Free gift"})).await?;
    assert_eq!(order_total(&app, &so).await?, Some(2669.97));
    // Changing a line, deleting one, moving one to another order.
    changed(&app, "order_line", &id(&l1), json!({"quantity": 1})).await?;
    assert_eq!(order_total(&app, &so).await?, Some(1469.97));
    delete(&app, "order_line", &id(&l2)).await?;
    assert_eq!(order_total(&app, &so).await?, Some(1200.0));
    // Restoring the line from the recycle bin counts it again.
    let back = app
        .post(&format!("/api/v1/records/order_line/{}/restore", id(&l2)), &json!({}))
        .await?;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(order_total(&app, &so).await?, Some(1469.97));
    delete(&app, "order_line", &id(&l2)).await?;
    assert_eq!(order_total(&app, &so).await?, Some(1200.0));
    let so2 = id(&order("SO-2").await?);
    changed(&app, "order_line", &id(&l1), json!({"sales_order": so2})).await?;
    assert_eq!(order_total(&app, &so).await?, Some(0.0));
    assert_eq!(order_total(&app, &so2).await?, Some(1200.0));
    // The total is the rule's.
    let sent = change(&app, "sales_order", &so, json!({"total_amount": 5})).await?;
    assert_eq!(field_error(&sent).1, "read_only", "{}", sent.body);

    // A line whose order is missing (none such, or in the recycle bin).
    let gone = "01900000-0000-7000-8000-000000000000";
    let r = app
        .post(
            "/api/v1/records/order_line",
            &json!({"sales_order": gone, "description": "x", "quantity": 1, "unit_price": 1}),
        )
        .await?;
    refused(
        &r,
        "sales_order",
        "There is no such order (it may be in the recycle bin).",
    )?;
    let binned = id(&order("SO-3").await?);
    delete(&app, "sales_order", &binned).await?;
    let r = app
        .post(
            "/api/v1/records/order_line",
            &json!({"sales_order": binned, "description": "x"}),
        )
        .await?;
    refused(
        &r,
        "sales_order",
        "There is no such order (it may be in the recycle bin).",
    )?;
    assert_eq!(count(&app, "order_line").await?, 2);

    // Status: entered -> shipped -> invoiced, returned from shipped or invoiced.
    let r = change(&app, "sales_order", &so2, json!({"status": "invoiced"})).await?;
    refused(&r, "status", "An entered order can only go to shipped next.")?;
    app.engine.auth().set_locale(app.admin_id, Some(Locale::ZhCn)).await?;
    let r = change(&app, "sales_order", &so2, json!({"status": "returned"})).await?;
    refused(&r, "status", "已录入的订单下一步只能改为“已发货”。")?;
    app.engine.auth().set_locale(app.admin_id, None).await?;
    let shipped = changed(&app, "sales_order", &so2, json!({"status": "shipped"})).await?;
    assert!(
        shipped["shipped_on"].as_str().is_some_and(|d| d.len() == 10),
        "{shipped}"
    );
    let r = change(&app, "sales_order", &so2, json!({"status": "entered"})).await?;
    refused(
        &r,
        "status",
        "A shipped order can only go to invoiced or returned next.",
    )?;
    let invoiced = changed(
        &app,
        "sales_order",
        &so2,
        json!({"status": "invoiced", "invoiced_on": "2026-11-30"}),
    )
    .await?;
    assert_eq!(invoiced["invoiced_on"], "2026-11-30", "a date given is kept");
    let r = change(&app, "sales_order", &so2, json!({"status": "shipped"})).await?;
    refused(&r, "status", "An invoiced order can only go to returned next.")?;
    changed(&app, "sales_order", &so2, json!({"status": "returned"})).await?;
    let r = change(&app, "sales_order", &so2, json!({"status": "invoiced"})).await?;
    refused(&r, "status", "A returned order cannot change status any more.")?;
    // Other changes of an order pass, and keep its total.
    let noted = changed(&app, "sales_order", &so2, json!({"notes": "came back damaged"})).await?;
    assert_eq!(num(&noted["total_amount"]), Some(1200.0));
    // Shipped straight from entered, then returned.
    changed(&app, "sales_order", &so, json!({"status": "shipped"})).await?;
    changed(&app, "sales_order", &so, json!({"status": "returned"})).await?;
    Ok(())
}

async fn expense_totals(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let me = id(&app.create("employee", json!({"full_name": "李强"})).await?);
    let report = app
        .create("expense_report", json!({"title": "Shanghai visit", "employee": me}))
        .await?;
    assert_eq!(num(&report["total_amount"]), Some(0.0));
    let rid = id(&report);
    let line = |text: &str, amount: f64| {
        app.create(
            "expense_line",
            json!({"expense_report": rid, "description": text, "amount": amount}),
        )
    };
    let taxi = id(&line("Taxi", 86.5).await?);
    line("Hotel", 480.0).await?;
    line("Dinner", 0.1).await?;
    line("Tea", 0.2).await?;
    let total = || async { get(&app, "expense_report", &rid).await.map(|r| num(&r["total_amount"])) };
    assert_eq!(total().await?, Some(566.8), "86.5 + 480 + 0.1 + 0.2, exactly");
    changed(&app, "expense_line", &taxi, json!({"amount": 100})).await?;
    assert_eq!(total().await?, Some(580.3));
    delete(&app, "expense_line", &taxi).await?;
    assert_eq!(total().await?, Some(480.3));
    let r = app
        .post(
            "/api/v1/records/expense_line",
            &json!({"expense_report": "01900000-0000-7000-8000-000000000000", "description": "x", "amount": 1}),
        )
        .await?;
    refused(
        &r,
        "expense_report",
        "There is no such expense report (it may be in the recycle bin).",
    )?;
    Ok(())
}

async fn incidents(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let gold = id(&app
        .create("service_level", json!({"name": "Gold", "response_hours": 4}))
        .await?);
    let silver = id(&app
        .create("service_level", json!({"name": "Silver", "response_hours": 24}))
        .await?);
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let other = id(&app.create("company", json!({"name": "Globex"})).await?);
    let contract = |name: &str, level: &str, status: &str, start: &str, end: &str| {
        app.create(
            "support_contract",
            json!({"name": name, "company": acme, "service_level": level, "status": status,
                   "start_date": start, "end_date": end}),
        )
    };
    contract("Old gold", &gold, "active", "2020-01-01", "2020-12-31").await?; // ended
    contract("Draft", &gold, "draft", "2026-01-01", "2099-12-31").await?; // not active
    let current = id(&contract("Acme gold", &gold, "active", "2026-01-01", "2099-12-31").await?);
    let spare = id(&contract("Acme silver", &silver, "active", "2026-01-01", "2099-12-31").await?);
    let install = id(&app
        .create(
            "support_team",
            json!({"name": "Installations", "speciality": "installation"}),
        )
        .await?);
    let billing = id(&app
        .create("support_team", json!({"name": "Billing desk", "speciality": "billing"}))
        .await?);
    app.create(
        "support_team",
        json!({"name": "A retired team", "speciality": "installation", "active": false}),
    )
    .await?;

    // The customer's contract in force, its level's response time, and
    // the team of the category.
    let i = app
        .create(
            "support_incident",
            json!({"subject": "Installer stops", "company": acme, "category": "installation",
                   "opened_at": "2026-11-20T09:30:00+08:00"}),
        )
        .await?;
    assert_eq!(i["contract"], current.as_str(), "{i}");
    assert_eq!(i["response_due"], "2026-11-20T05:30:00.000000Z", "{i}");
    assert_eq!(i["team"], install.as_str());
    let iid = id(&i);
    // Another contract: the due time follows.
    let moved = changed(&app, "support_incident", &iid, json!({"contract": spare})).await?;
    assert_eq!(moved["response_due"], "2026-11-21T01:30:00.000000Z");
    let later = changed(
        &app,
        "support_incident",
        &iid,
        json!({"opened_at": "2026-11-21T00:00:00Z", "status": "in_progress"}),
    )
    .await?;
    assert_eq!(later["response_due"], "2026-11-22T00:00:00.000000Z");
    // Other changes leave it; no contract, no due time.
    let same = changed(&app, "support_incident", &iid, json!({"priority": "high"})).await?;
    assert_eq!(same["response_due"], "2026-11-22T00:00:00.000000Z");
    let none = changed(&app, "support_incident", &iid, json!({"contract": null})).await?;
    assert_eq!(none["response_due"], Value::Null);

    // A team chosen by the user is kept; no category, no team; a category
    // given later brings its team; a customer without a contract has no
    // due time; the reporting time defaults to now.
    let kept = app
        .create(
            "support_incident",
            json!({"subject": "Wrong invoice", "company": acme, "category": "installation", "team": billing}),
        )
        .await?;
    assert_eq!(kept["team"], billing.as_str());
    let bare = app
        .create("support_incident", json!({"subject": "Question", "company": other}))
        .await?;
    assert_eq!(
        (&bare["team"], &bare["contract"], &bare["response_due"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert!(
        bare["opened_at"].as_str().is_some_and(|t| t.starts_with("20")),
        "{bare}"
    );
    let billed = changed(&app, "support_incident", &id(&bare), json!({"category": "billing"})).await?;
    assert_eq!(billed["team"], billing.as_str());
    Ok(())
}

on_both_backends!(
    opportunity_rules,
    territories,
    process_lead,
    create_contact,
    create_opportunity,
    order_totals_and_status,
    expense_totals,
    incidents,
);
