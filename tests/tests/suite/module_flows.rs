//! The main flow of each module of the stock application, through the
//! record API on both backends, as a user walks it: the records each step
//! leaves, their links, and the refusals with their messages.
//!
//! - Sales: lead -> process lead -> quote lines -> create order -> shipped -> invoiced.
//! - Support: incident -> team and response due -> development incident -> knowledge article.
//! - Marketing: campaign -> projects -> results on the campaign.
//! - Expenses: report -> lines -> total -> submit -> (return to draft) -> approve -> paid;
//!   the status cannot be edited by hand.
//! - Action plans: a plan applied to a company and an opportunity.
//!
//! And the new commands are buttons, with their parameters, on the pages.

use anyhow::{ensure, Result};
use relata::engine::auth::NewUser;
use relata::engine::Locale;
use relata_tests::records::{
    change, changed, command, delete, field_error, get, id, num, opened, ran, refused, rows, speak, stock,
};
use relata_tests::{on_both_backends, Reply, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The day `n` days after today (UTC), as the API writes dates.
fn in_days(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(n)).to_string()
}

/// A string field (empty when null).
fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn sales(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let erp = id(&app
        .create("product", json!({"name": "ERP Suite", "code": "ERP-01", "price": 1200}))
        .await?);
    let days = id(&app
        .create(
            "product",
            json!({"name": "Consulting day", "code": "SRV-01", "price": 900}),
        )
        .await?);

    // The lead is processed: a company, a contact and an opportunity, linked.
    let lead = id(&app
        .create(
            "lead",
            json!({"topic": "ERP for 200 users", "company_name": "Acme Trading", "person_name": "陈静",
                   "email": "chen.jing@acme.example", "estimated_amount": 50000, "city": "上海"}),
        )
        .await?);
    let done = ran(
        &app,
        "lead",
        &lead,
        "process_lead",
        json!({}),
        "Lead converted: opportunity “ERP for 200 users” for Acme Trading.",
    )
    .await?;
    let (entity, opp) = opened(&done)?;
    ensure!(entity == "opportunity");
    let lead = get(&app, "lead", &lead).await?;
    let (company, contact) = (s(&lead["converted_company"]), s(&lead["converted_contact"]));
    ensure!(lead["converted_opportunity"] == opp.as_str(), "{lead}");
    let o = get(&app, "opportunity", &opp).await?;
    assert_eq!((s(&o["company"]), s(&o["contact"])), (company, contact));
    assert_eq!(
        num(&o["amount"]),
        Some(50000.0),
        "the lead's estimate, until there is a quote"
    );
    assert_eq!(get(&app, "company", company).await?["name"], "Acme Trading");
    assert_eq!(get(&app, "contact", contact).await?["company"], company);

    // An opportunity without a quote has no order to take.
    let r = command(&app, "opportunity", &opp, "create_order", json!({})).await?;
    refused(
        &r,
        "_",
        "Add quote lines first: the order is made from the opportunity's quote.",
    )?;

    // Quote lines: a product alone brings its name and price; lines are
    // numbered in turn; the line total is worked out.
    let l1 = app
        .create("quote_line", json!({"opportunity": opp, "product": erp, "quantity": 2}))
        .await?;
    assert_eq!(
        (s(&l1["description"]), num(&l1["unit_price"]), num(&l1["line_number"])),
        ("ERP Suite", Some(1200.0), Some(1.0)),
        "{l1}"
    );
    assert_eq!(num(&l1["line_total"]), Some(2400.0));
    let l2 = app
        .create(
            "quote_line",
            json!({"opportunity": opp, "product": days, "description": "Installation days",
                   "quantity": 3, "unit_price": 800, "discount": 10}),
        )
        .await?;
    assert_eq!(
        (s(&l2["description"]), num(&l2["line_number"]), num(&l2["line_total"])),
        ("Installation days", Some(2.0), Some(2160.0)),
        "a price and a name given are kept: {l2}"
    );
    // The opportunity's amount is now the quote's total (and its
    // expected revenue follows, at the prospect stage's 10 %).
    let o = get(&app, "opportunity", &opp).await?;
    assert_eq!(
        (num(&o["amount"]), num(&o["expected_revenue"])),
        (Some(4560.0), Some(456.0)),
        "{o}"
    );
    // An amount typed while there are lines gives way to the lines'.
    let typed = changed(&app, "opportunity", &opp, json!({"amount": 1})).await?;
    assert_eq!(num(&typed["amount"]), Some(4560.0));
    let l3 = id(&app
        .create(
            "quote_line",
            json!({"opportunity": opp, "description": "Free gift", "quantity": 1, "unit_price": 0}),
        )
        .await?);
    delete(&app, "quote_line", &l3).await?;
    changed(&app, "quote_line", &id(&l1), json!({"quantity": 3})).await?;
    assert_eq!(
        num(&get(&app, "opportunity", &opp).await?["amount"]),
        Some(5760.0),
        "3 x 1200 + 2160"
    );
    let r = app
        .post(
            "/api/v1/records/quote_line",
            &json!({"opportunity": "01900000-0000-7000-8000-000000000000", "description": "x"}),
        )
        .await?;
    refused(
        &r,
        "opportunity",
        "There is no such opportunity (it may be in the recycle bin).",
    )?;

    // Create order: the company's order, linked to the opportunity, with
    // a copy of each line, numbered SO-<today>-<n>.
    let today = in_days(0);
    let number = format!("SO-{}-1", today.replace('-', ""));
    let done = ran(
        &app,
        "opportunity",
        &opp,
        "create_order",
        json!({"customer_reference": "PO-7731"}),
        &format!("Order {number} created from the quote (2 lines)."),
    )
    .await?;
    let (entity, order) = opened(&done)?;
    ensure!(entity == "sales_order");
    let so = get(&app, "sales_order", &order).await?;
    assert_eq!(
        (
            s(&so["order_number"]),
            s(&so["company"]),
            s(&so["contact"]),
            s(&so["opportunity"]),
            s(&so["status"]),
            s(&so["order_date"]),
            s(&so["customer_reference"])
        ),
        (
            number.as_str(),
            company,
            contact,
            opp.as_str(),
            "entered",
            today.as_str(),
            "PO-7731"
        )
    );
    assert_eq!(num(&so["total_amount"]), Some(5760.0), "{so}");
    let lines = rows(&app, &format!("order_line?sales_order=eq.{order}&sort=line_number")).await?;
    let copied: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                num(&l["line_number"]),
                s(&l["product"]).to_owned(),
                s(&l["description"]).to_owned(),
                num(&l["quantity"]),
                num(&l["unit_price"]),
                num(&l["discount"]),
                num(&l["line_total"]),
            )
        })
        .collect();
    assert_eq!(
        copied,
        [
            (
                Some(1.0),
                erp.clone(),
                "ERP Suite".to_owned(),
                Some(3.0),
                Some(1200.0),
                Some(0.0),
                Some(3600.0)
            ),
            (
                Some(2.0),
                days.clone(),
                "Installation days".to_owned(),
                Some(3.0),
                Some(800.0),
                Some(10.0),
                Some(2160.0)
            ),
        ]
    );
    // The opportunity lists its order.
    assert_eq!(rows(&app, &format!("sales_order?opportunity=eq.{opp}")).await?.len(), 1);

    // A second order, in Chinese, takes the next number; a number given is kept.
    speak(&app, Some(Locale::ZhCn)).await?;
    let second = format!("SO-{}-2", today.replace('-', ""));
    let again = ran(
        &app,
        "opportunity",
        &opp,
        "create_order",
        json!({}),
        &format!("已按报价生成订单 {second}（共 2 行明细）。"),
    )
    .await?;
    speak(&app, None).await?;
    delete(&app, "sales_order", &opened(&again)?.1).await?;
    let given = ran(
        &app,
        "opportunity",
        &opp,
        "create_order",
        json!({"order_number": "ACME-2027-01"}),
        "Order ACME-2027-01 created from the quote (2 lines).",
    )
    .await?;
    delete(&app, "sales_order", &opened(&given)?.1).await?;
    // A lost opportunity takes no order.
    changed(&app, "opportunity", &opp, json!({"result": "lost"})).await?;
    let r = command(&app, "opportunity", &opp, "create_order", json!({})).await?;
    refused(&r, "result", "This opportunity was lost: there is no order to take.")?;

    // The order goes entered -> shipped -> invoiced; a jump is refused.
    let r = change(&app, "sales_order", &order, json!({"status": "invoiced"})).await?;
    refused(&r, "status", "An entered order can only go to shipped next.")?;
    let shipped = changed(&app, "sales_order", &order, json!({"status": "shipped"})).await?;
    assert_eq!(
        (s(&shipped["status"]), s(&shipped["shipped_on"])),
        ("shipped", today.as_str())
    );
    let invoiced = changed(&app, "sales_order", &order, json!({"status": "invoiced"})).await?;
    assert_eq!(
        (s(&invoiced["status"]), s(&invoiced["invoiced_on"])),
        ("invoiced", today.as_str())
    );
    assert_eq!(num(&invoiced["total_amount"]), Some(5760.0));
    // The customer is classified from its order.
    assert_eq!(get(&app, "company", company).await?["value_class"], "ordinary");

    // The next deal with the customer starts from its page, in Chinese.
    speak(&app, Some(Locale::ZhCn)).await?;
    ran(
        &app,
        "company",
        company,
        "create_opportunity",
        json!({"name": "二期扩容"}),
        "已为Acme Trading创建商机“二期扩容”。",
    )
    .await?;
    speak(&app, None).await?;
    Ok(())
}

async fn support(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let gold = id(&app
        .create("service_level", json!({"name": "Gold", "response_hours": 4}))
        .await?);
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let contract = id(&app
        .create(
            "support_contract",
            json!({"name": "Acme gold support", "company": acme, "service_level": gold,
                   "status": "active", "start_date": "2026-01-01"}),
        )
        .await?);
    let installers = id(&app
        .create(
            "support_team",
            json!({"name": "Installations", "speciality": "installation"}),
        )
        .await?);
    app.create("support_team", json!({"name": "Billing desk", "speciality": "billing"}))
        .await?;
    let erp = id(&app
        .create("product", json!({"name": "ERP Suite", "code": "ERP-01"}))
        .await?);

    // The incident gets the team of its category, the customer's contract
    // and the response due time of the contract's service level.
    let i = app
        .create(
            "support_incident",
            json!({"subject": "Installer stops at 80 %", "company": acme, "product": erp,
                   "category": "installation", "priority": "high",
                   "description": "The installer hangs when it creates the database.",
                   "opened_at": "2026-11-20T09:30:00+08:00"}),
        )
        .await?;
    assert_eq!(
        (s(&i["team"]), s(&i["contract"]), s(&i["response_due"])),
        (installers.as_str(), contract.as_str(), "2026-11-20T05:30:00.000000Z"),
        "{i}"
    );
    let incident = id(&i);

    // Raise a development incident: the problem is copied, and the two
    // point to each other.
    let done = ran(
        &app,
        "support_incident",
        &incident,
        "raise_development_incident",
        json!({"product_version": "5.2.1", "steps_to_reproduce": "Install on a fresh server."}),
        "Development incident “Installer stops at 80 %” raised.",
    )
    .await?;
    let (entity, dev) = opened(&done)?;
    ensure!(entity == "development_incident");
    let d = get(&app, "development_incident", &dev).await?;
    assert_eq!(
        (
            s(&d["title"]),
            s(&d["description"]),
            s(&d["product"]),
            s(&d["product_version"]),
            s(&d["steps_to_reproduce"]),
            s(&d["company"]),
            s(&d["priority"]),
            s(&d["status"]),
            s(&d["raised_from"])
        ),
        (
            "Installer stops at 80 %",
            "The installer hangs when it creates the database.",
            erp.as_str(),
            "5.2.1",
            "Install on a fresh server.",
            acme.as_str(),
            "high",
            "new",
            incident.as_str()
        )
    );
    ensure!(s(&d["raised_at"]).starts_with("20"), "{d}");
    assert_eq!(
        get(&app, "support_incident", &incident).await?["development_incident"],
        dev.as_str()
    );
    // Once only, in the user's language.
    let r = command(
        &app,
        "support_incident",
        &incident,
        "raise_development_incident",
        json!({}),
    )
    .await?;
    refused(
        &r,
        "development_incident",
        "This incident is waiting for a development incident already: open it from the Resolution tab.",
    )?;
    speak(&app, Some(Locale::ZhCn)).await?;
    let r = command(
        &app,
        "support_incident",
        &incident,
        "raise_development_incident",
        json!({}),
    )
    .await?;
    refused(
        &r,
        "development_incident",
        "此工单已关联研发问题单，请在“处理结果”页打开查看。",
    )?;
    speak(&app, None).await?;
    assert_eq!(rows(&app, "development_incident").await?.len(), 1);

    // The knowledge article that solved it: linked from the incident,
    // listed on the article.
    let article = id(&app
        .create(
            "knowledge_article",
            json!({"title": "Installing on a server with little memory", "product": erp,
                   "category": "installation", "body": "Give the database 2 GB first ..."}),
        )
        .await?);
    let solved = changed(
        &app,
        "support_incident",
        &incident,
        json!({"knowledge_article": article, "status": "resolved",
               "resolution": "Memory raised as the article says."}),
    )
    .await?;
    assert_eq!(
        (s(&solved["knowledge_article"]), s(&solved["status"])),
        (article.as_str(), "resolved")
    );
    let solved_by = rows(&app, &format!("support_incident?knowledge_article=eq.{article}")).await?;
    assert_eq!(solved_by.iter().map(id).collect::<Vec<_>>(), [incident.as_str()]);
    let r = change(
        &app,
        "support_incident",
        &incident,
        json!({"knowledge_article": "01900000-0000-7000-8000-000000000000"}),
    )
    .await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(field_error(&r).0, "knowledge_article", "{}", r.body);
    Ok(())
}

async fn marketing(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    const RESULTS: [&str; 4] = ["projects_budget", "actual_cost", "actual_leads", "actual_revenue"];
    let results = |c: Value| RESULTS.map(|f| num(&c[f])).to_vec();
    let campaign = id(&app
        .create(
            "campaign",
            json!({"name": "2027 春季新品发布", "budget": 300000, "expected_leads": 200,
                   "expected_revenue": 1500000, "start_date": "2027-03-01"}),
        )
        .await?);
    let project = |name: &str, body: Value| {
        let mut b = body;
        b["name"] = json!(name);
        b["campaign"] = json!(campaign);
        app.create("marketing_project", b)
    };
    let show = id(&project(
        "上海工博会展台",
        json!({"budget": 120000, "actual_cost": 110000, "planned_leads": 100, "actual_leads": 80,
               "actual_revenue": 500000}),
    )
    .await?);
    let webinar = id(&project(
        "Webinar series",
        json!({"budget": 30000, "actual_cost": 25000.5, "actual_leads": 45}),
    )
    .await?);
    assert_eq!(
        results(get(&app, "campaign", &campaign).await?),
        [Some(150000.0), Some(135000.5), Some(125.0), Some(500000.0)]
    );
    // Results come in: the campaign follows.
    changed(
        &app,
        "marketing_project",
        &webinar,
        json!({"actual_leads": 60, "actual_revenue": 80000, "status": "completed"}),
    )
    .await?;
    let c = get(&app, "campaign", &campaign).await?;
    assert_eq!(
        results(c.clone()),
        [Some(150000.0), Some(135000.5), Some(140.0), Some(580000.0)]
    );
    // Its own targets are kept as entered.
    assert_eq!(
        (num(&c["budget"]), num(&c["expected_leads"])),
        (Some(300000.0), Some(200.0))
    );
    delete(&app, "marketing_project", &show).await?;
    assert_eq!(
        results(get(&app, "campaign", &campaign).await?),
        [Some(30000.0), Some(25000.5), Some(60.0), Some(80000.0)]
    );
    // The campaign lists its projects.
    let projects = rows(&app, &format!("marketing_project?campaign=eq.{campaign}")).await?;
    assert_eq!(projects.iter().map(id).collect::<Vec<_>>(), [webinar]);
    Ok(())
}

async fn expenses(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let me = id(&app.create("employee", json!({"full_name": "李强"})).await?);
    let report = id(&app
        .create(
            "expense_report",
            json!({"title": "Shanghai customer visit", "employee": me}),
        )
        .await?);
    // Nothing to submit yet, in either language.
    let r = command(&app, "expense_report", &report, "submit", json!({})).await?;
    refused(&r, "_", "Add at least one expense line before submitting the report.")?;
    speak(&app, Some(Locale::ZhCn)).await?;
    let r = command(&app, "expense_report", &report, "submit", json!({})).await?;
    refused(&r, "_", "请先添加至少一条费用明细，再提交报销单。")?;
    speak(&app, None).await?;
    assert_eq!(get(&app, "expense_report", &report).await?["status"], "draft");

    for (text, amount) in [
        ("Taxi to Acme", 86.5),
        ("Hotel, one night", 480.0),
        ("Client dinner", 0.3),
    ] {
        app.create(
            "expense_line",
            json!({"expense_report": report, "description": text, "amount": amount,
                   "expense_date": "2026-11-18", "category": "travel"}),
        )
        .await?;
    }
    assert_eq!(
        num(&get(&app, "expense_report", &report).await?["total_amount"]),
        Some(566.8)
    );
    ran(
        &app,
        "expense_report",
        &report,
        "submit",
        json!({}),
        "Expense report submitted for approval.",
    )
    .await?;
    let r = get(&app, "expense_report", &report).await?;
    assert_eq!(
        (s(&r["status"]), s(&r["submitted_on"])),
        ("submitted", in_days(0).as_str())
    );
    assert_eq!(num(&r["total_amount"]), Some(566.8));
    // Once only.
    let again = command(&app, "expense_report", &report, "submit", json!({})).await?;
    refused(
        &again,
        "status",
        "Only a draft expense report can be submitted; this one has been submitted already.",
    )?;
    approval(&app, &report, &me).await
}

/// The status and the approval fields are read-only: a hand edit cannot
/// skip a step, the commands move the report along.
async fn approval(app: &TestApp, report: &str, me: &str) -> Result<()> {
    let r = change(app, "expense_report", report, json!({"status": "paid"})).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.body);
    assert_eq!(
        field_error(&r),
        (
            "status".to_owned(),
            "read_only".to_owned(),
            "is read-only: only the application's rules and commands change it".to_owned()
        )
    );
    assert_eq!(get(app, "expense_report", report).await?["status"], "submitted");
    // The edit form shows the status but has no input for it.
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    let url = browser.url(&format!("/app/r/expense_report/{report}/edit"));
    let page = browser.client.get(url).send().await?.text().await?;
    ensure!(
        page.contains("name=\"title\"") && !page.contains("name=\"status\""),
        "{page}"
    );
    ensure!(page.contains("Submitted"), "the status is shown: {page}");
    // Sending the record back as read is no change.
    let same = change(
        app,
        "expense_report",
        report,
        json!({"status": "submitted", "notes": "Receipts attached"}),
    )
    .await?;
    ensure!(same.status == StatusCode::OK, "{} {}", same.status, same.body);
    let r = app
        .post(
            "/api/v1/records/expense_report",
            &json!({"title": "Paid already?", "employee": me, "status": "paid"}),
        )
        .await?;
    assert_eq!(field_error(&r).1, "read_only", "{}", r.body);

    ran(
        app,
        "expense_report",
        report,
        "reject",
        json!({"reason": "Hotel receipt missing"}),
        "Expense report returned to draft.",
    )
    .await?;
    let r = get(app, "expense_report", report).await?;
    assert_eq!((s(&r["status"]), &r["submitted_on"]), ("draft", &Value::Null));
    let notes = format!("Receipts attached\n{}: Hotel receipt missing", in_days(0));
    assert_eq!(s(&r["notes"]), notes);
    let early = command(app, "expense_report", report, "approve", json!({"approver": me})).await?;
    refused(&early, "status", "Only a submitted expense report can be approved.")?;

    ran(
        app,
        "expense_report",
        report,
        "submit",
        json!({}),
        "Expense report submitted for approval.",
    )
    .await?;
    ran(
        app,
        "expense_report",
        report,
        "approve",
        json!({"approver": me}),
        "Expense report approved.",
    )
    .await?;
    let r = get(app, "expense_report", report).await?;
    assert_eq!(
        (s(&r["status"]), s(&r["approved_by"]), s(&r["approved_on"])),
        ("approved", me, in_days(0).as_str())
    );
    ran(
        app,
        "expense_report",
        report,
        "mark_paid",
        json!({"paid_on": "2026-11-30"}),
        "Expense report marked as paid.",
    )
    .await?;
    let r = get(app, "expense_report", report).await?;
    assert_eq!((s(&r["status"]), s(&r["paid_on"])), ("paid", "2026-11-30"));
    let twice = command(app, "expense_report", report, "mark_paid", json!({})).await?;
    refused(
        &twice,
        "status",
        "Only an approved expense report can be marked as paid.",
    )?;
    Ok(())
}

/// The activities a plan left on records matching `filter`, as
/// (subject, type, starts_at, assigned_to), by start.
async fn planned(app: &TestApp, filter: &str) -> Result<Vec<(String, String, String, String)>> {
    let acts = rows(app, &format!("activity?{filter}&sort=starts_at,subject")).await?;
    acts.iter()
        .map(|a| {
            ensure!(a["all_day"] == true && a["status"] == "planned", "{a}");
            Ok((
                s(&a["subject"]).to_owned(),
                s(&a["activity_type"]).to_owned(),
                s(&a["starts_at"]).to_owned(),
                s(&a["assigned_to"]).to_owned(),
            ))
        })
        .collect()
}

async fn action_plans(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    // 王芳 applies the onboarding plan signed in as herself: the employee
    // with her e-mail gets the steps that name no owner.
    let rep = id(&app
        .create(
            "employee",
            json!({"full_name": "王芳", "email": "wang.fang@example.com"}),
        )
        .await?);
    let visitor = id(&app.create("employee", json!({"full_name": "李强"})).await?);
    let auth = app.engine.auth();
    let wang = auth
        .create_user(NewUser {
            username: "wang.fang".into(),
            display_name: "王芳".into(),
            email: Some("wang.fang@example.com".into()),
            password: "a long password".into(),
            locale: Locale::En,
            is_admin: true,
        })
        .await?;
    let as_wang = app.with_token(&auth.create_token(wang.id, "flows").await?.token)?;
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let chen = id(&app
        .create("contact", json!({"full_name": "陈静", "company": acme}))
        .await?);
    let onboarding = id(&app
        .create(
            "action_plan",
            json!({"name": "New customer onboarding", "used_for": "company"}),
        )
        .await?);
    let step = |plan: &str, n: i64, subject: &str, kind: &str, offset: i64, owner: Option<&str>| {
        app.create(
            "action_plan_step",
            json!({"action_plan": plan, "step_number": n, "subject": subject, "activity_type": kind,
                   "day_offset": offset, "owner": owner}),
        )
    };
    // Entered out of order: the steps' numbers and offsets count.
    step(&onboarding, 3, "Visit the customer", "visit", 14, Some(&visitor)).await?;
    step(&onboarding, 1, "Welcome call", "call_out", 0, None).await?;
    step(&onboarding, 2, "Send the product brochure", "email", 3, None).await?;

    let done = Reply::from_response(
        as_wang
            .post(app.url(&format!("/api/v1/records/company/{acme}/commands/apply_action_plan")))
            .json(&json!({"action_plan": onboarding}))
            .send()
            .await?,
    )
    .await?;
    ensure!(done.status == StatusCode::OK, "{} {}", done.status, done.body);
    assert_eq!(
        done.body["message"],
        "Action plan “New customer onboarding” applied: 3 activities planned."
    );
    ensure!(done.body["open"].is_null(), "{}", done.body);
    let at = |n: i64| format!("{}T00:00:00.000000Z", in_days(n));
    let t = |a: &str, b: &str, c: String, d: &str| (a.to_owned(), b.to_owned(), c, d.to_owned());
    assert_eq!(
        planned(&app, &format!("company=eq.{acme}&action_plan=eq.{onboarding}")).await?,
        [
            t("Welcome call", "call_out", at(0), &rep),
            t("Send the product brochure", "email", at(3), &rep),
            t("Visit the customer", "visit", at(14), &visitor),
        ]
    );

    // A plan for opportunities, applied to one: the activities are about
    // the opportunity, its company and its main contact. In Chinese.
    let closing = id(&app
        .create(
            "action_plan",
            json!({"name": "大客户成交推进", "used_for": "opportunity"}),
        )
        .await?);
    step(&closing, 1, "约见决策人", "meeting", 2, Some(&rep)).await?;
    step(&closing, 2, "提交正式报价", "task", 5, None).await?;
    let opp = id(&app
        .create(
            "opportunity",
            json!({"name": "ERP rollout", "company": acme, "contact": chen}),
        )
        .await?);
    speak(&app, Some(Locale::ZhCn)).await?;
    ran(
        &app,
        "opportunity",
        &opp,
        "apply_action_plan",
        json!({"action_plan": closing}),
        "已应用行动计划“大客户成交推进”，共安排 2 项活动。",
    )
    .await?;
    speak(&app, None).await?;
    let acts = rows(&app, &format!("activity?opportunity=eq.{opp}&sort=starts_at")).await?;
    let links: Vec<_> = acts
        .iter()
        .map(|a| {
            (
                s(&a["subject"]),
                s(&a["company"]),
                s(&a["contact"]),
                s(&a["starts_at"]).to_owned(),
                s(&a["assigned_to"]),
            )
        })
        .collect();
    // The admin has no employee: a step without an owner stays unassigned.
    assert_eq!(
        links,
        [
            ("约见决策人", acme.as_str(), chen.as_str(), at(2), rep.as_str()),
            ("提交正式报价", acme.as_str(), chen.as_str(), at(5), ""),
        ]
    );

    // A plan for support incidents: about the incident, its customer and
    // the contact who reported it.
    let callback = id(&app
        .create(
            "action_plan",
            json!({"name": "Escalation follow-up", "used_for": "support_incident"}),
        )
        .await?);
    step(&callback, 1, "Call the customer back", "call_out", 1, None).await?;
    let incident = id(&app
        .create(
            "support_incident",
            json!({"subject": "Crash on start", "company": acme, "contact": chen}),
        )
        .await?);
    ran(
        &app,
        "support_incident",
        &incident,
        "apply_action_plan",
        json!({"action_plan": callback}),
        "Action plan “Escalation follow-up” applied: 1 activity planned.",
    )
    .await?;
    let acts = rows(&app, &format!("activity?support_incident=eq.{incident}")).await?;
    let links: Vec<_> = acts
        .iter()
        .map(|a| {
            (
                s(&a["subject"]),
                s(&a["company"]),
                s(&a["contact"]),
                s(&a["starts_at"]).to_owned(),
            )
        })
        .collect();
    assert_eq!(links, [("Call the customer back", acme.as_str(), chen.as_str(), at(1))]);

    // Refusals: a plan meant for something else, a plan no longer in use,
    // a plan without steps, no plan at all.
    let r = command(
        &app,
        "contact",
        &chen,
        "apply_action_plan",
        json!({"action_plan": closing}),
    )
    .await?;
    refused(
        &r,
        "action_plan",
        "The action plan “大客户成交推进” is not meant for this kind of record: choose a plan whose “Used for” matches.",
    )?;
    changed(&app, "action_plan", &onboarding, json!({"active": false})).await?;
    let r = command(
        &app,
        "company",
        &acme,
        "apply_action_plan",
        json!({"action_plan": onboarding}),
    )
    .await?;
    refused(
        &r,
        "action_plan",
        "The action plan “New customer onboarding” is no longer in use: choose an active plan.",
    )?;
    // The form's picker offers only what the command accepts: the active
    // plans meant for companies.
    app.create(
        "action_plan",
        json!({"name": "Key account care", "used_for": "company"}),
    )
    .await?;
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    let page = browser
        .client
        .get(browser.url(&format!("/app/r/company/{acme}")))
        .send()
        .await?
        .text()
        .await?;
    let lookup = "/app/lookup/action_plan?active=eq.true&used_for=eq.company";
    ensure!(
        page.replace("&#x2f;", "/").replace("&amp;", "&").contains(lookup),
        "the picker's URL: {page}"
    );
    let offered = browser.client.get(browser.url(lookup)).send().await?.text().await?;
    ensure!(
        offered.contains("Key account care")
            && !offered.contains("New customer onboarding")
            && !offered.contains("大客户成交推进"),
        "{offered}"
    );
    let empty = id(&app
        .create("action_plan", json!({"name": "Empty", "used_for": "contact"}))
        .await?);
    let r = command(
        &app,
        "contact",
        &chen,
        "apply_action_plan",
        json!({"action_plan": empty}),
    )
    .await?;
    refused(&r, "action_plan", "The action plan “Empty” has no steps yet.")?;
    let r = command(&app, "contact", &chen, "apply_action_plan", json!({})).await?;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        (field_error(&r).0.as_str(), field_error(&r).1.as_str()),
        ("action_plan", "required"),
        "{}",
        r.body
    );
    assert_eq!(rows(&app, "activity").await?.len(), 6, "the refusals planned nothing");
    let acts = rows(&app, &format!("activity?contact=eq.{chen}")).await?;
    ensure!(
        acts.len() == 3,
        "only the opportunity's and the incident's plans named the contact"
    );
    Ok(())
}

/// A command button expected on a record's page: entity, record id,
/// command, its parameters, its label in English and Chinese.
type Button<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], [&'a str; 2]);

/// The new commands are buttons on their records' pages, with their
/// parameters, in both languages.
async fn command_buttons(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let me = id(&app.create("employee", json!({"full_name": "李强"})).await?);
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let chen = id(&app
        .create("contact", json!({"full_name": "陈静", "company": acme}))
        .await?);
    let opp = id(&app
        .create("opportunity", json!({"name": "ERP", "company": acme}))
        .await?);
    let incident = id(&app
        .create("support_incident", json!({"subject": "Crash", "company": acme}))
        .await?);
    let report = id(&app
        .create("expense_report", json!({"title": "Trip", "employee": me}))
        .await?);
    // The buttons that need related records (`when: ... exists.true`)
    // are offered once there is one.
    app.create(
        "quote_line",
        json!({"opportunity": opp, "description": "ERP licence", "quantity": 1, "unit_price": 100}),
    )
    .await?;
    app.create(
        "expense_line",
        json!({"expense_report": report, "description": "Train", "amount": 120}),
    )
    .await?;
    let campaign = id(&app.create("campaign", json!({"name": "Launch"})).await?);
    let project = id(&app
        .create("marketing_project", json!({"name": "Stand", "campaign": campaign}))
        .await?);
    let pages: [Button<'_>; 8] = [
        (
            "support_incident",
            &incident,
            "apply_action_plan",
            &["action_plan"],
            ["Apply action plan", "应用行动计划"],
        ),
        (
            "marketing_project",
            &project,
            "apply_action_plan",
            &["action_plan"],
            ["Apply action plan", "应用行动计划"],
        ),
        (
            "opportunity",
            &opp,
            "create_order",
            &["order_number", "customer_reference"],
            ["Create order", "生成订单"],
        ),
        (
            "opportunity",
            &opp,
            "apply_action_plan",
            &["action_plan"],
            ["Apply action plan", "应用行动计划"],
        ),
        (
            "company",
            &acme,
            "apply_action_plan",
            &["action_plan"],
            ["Apply action plan", "应用行动计划"],
        ),
        (
            "contact",
            &chen,
            "apply_action_plan",
            &["action_plan"],
            ["Apply action plan", "应用行动计划"],
        ),
        (
            "support_incident",
            &incident,
            "raise_development_incident",
            &["product_version", "steps_to_reproduce"],
            ["Raise development incident", "提交研发问题单"],
        ),
        (
            "expense_report",
            &report,
            "submit",
            &[],
            ["Submit for approval", "提交审批"],
        ),
    ];
    let browser = app.sign_in("admin", relata_tests::ADMIN_PASSWORD).await?;
    for (lang, locale) in [(0, None), (1, Some(Locale::ZhCn))] {
        speak(&app, locale).await?;
        for (entity, rid, command, params, labels) in &pages {
            let url = browser.url(&format!("/app/r/{entity}/{rid}"));
            let resp = browser.client.get(url).send().await?;
            ensure!(resp.status() == StatusCode::OK, "{entity} page: {}", resp.status());
            let page = resp.text().await?;
            ensure!(
                page.contains(&format!("data-test=\"command-{command}\"")) && page.contains(labels[lang]),
                "{entity}: no {command} button labelled {:?}",
                labels[lang]
            );
            for p in *params {
                ensure!(
                    page.contains(&format!("name=\"{p}\"")),
                    "{entity}: {command} lacks its parameter {p}"
                );
            }
        }
    }
    speak(&app, None).await?;
    Ok(())
}

/// Orders created at the same moment for one company all succeed, with
/// distinct numbers from the order number's counter; a number given is kept.
async fn order_numbers(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    // All for one company: its roll-up (value class, after each order's
    // save) is updated by every order at once too, and none may fail.
    let acme = id(&app.create("company", json!({"name": "Acme Trading"})).await?);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/records/sales_order"));
        let body = json!({"company": acme, "order_date": in_days(0)});
        tasks.push(tokio::spawn(async move { client.post(url).json(&body).send().await }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let r = t.await??;
        let status = r.status();
        let body: Value = r.json().await?;
        ensure!(status == StatusCode::CREATED, "{status}: {body}");
        numbers.push(s(&body["order_number"]).to_owned());
    }
    numbers.sort();
    let day = in_days(0).replace('-', "");
    let mut expected: Vec<String> = (1..=12).map(|n| format!("SO-{day}-{n}")).collect();
    expected.sort();
    assert_eq!(numbers, expected);
    let given = app
        .create("sales_order", json!({"company": acme, "order_number": "PO-4711"}))
        .await?;
    assert_eq!(given["order_number"], "PO-4711");
    let next = app.create("sales_order", json!({"company": acme})).await?;
    assert_eq!(next["order_number"], format!("SO-{day}-13"));
    Ok(())
}

on_both_backends!(
    order_numbers,
    sales,
    support,
    marketing,
    expenses,
    action_plans,
    command_buttons
);
