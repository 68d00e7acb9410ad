//! The everyday forms and commands of the stock CRM as a user meets them
//! on first use (issue 17): forms post what they show and save, empty
//! inputs mean "no value", pickers and saves agree on which records a
//! reference may name, a refused command keeps the record in view, and the
//! activity and opportunity rules do what their fields say. Over HTTP, as
//! the browser posts forms, on both backends.

use anyhow::{ensure, Context, Result};
use relata::engine::Locale;
use relata_tests::records::{change, changed, field_error, get, id, speak, stock};
use relata_tests::{on_both_backends, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::json;

struct Page {
    status: StatusCode,
    location: String,
    html: String,
}

async fn page(r: reqwest::Response) -> Result<Page> {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok(Page {
        status,
        location,
        html: r.text().await?,
    })
}

/// GETs a UI page as the admin.
async fn open(app: &TestApp, path: &str) -> Result<Page> {
    page(
        app.with_token(app.token.as_deref().context("token")?)?
            .get(app.url(path))
            .send()
            .await?,
    )
    .await
}

/// POSTs a UI form as the admin (not following the redirect).
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Result<Page> {
    let client = app.with_token(app.token.as_deref().context("token")?)?;
    page(client.post(app.url(path)).form(form).send().await?).await
}

/// The names of the inputs a form page posts (its own, not `_csrf` and
/// the lookups' text boxes), in order.
fn input_names(html: &str) -> Vec<String> {
    let form = html.split("class=\"record-form\"").nth(1).unwrap_or_default();
    let mut names: Vec<String> = form
        .split('<')
        .filter(|tag| ["input ", "select ", "textarea "].iter().any(|t| tag.starts_with(t)))
        .filter_map(|tag| tag.split(" name=\"").nth(1)?.split('"').next())
        .filter(|n| !n.starts_with('_'))
        .map(str::to_owned)
        .collect();
    names.dedup();
    names
}

/// The id at the end of a record URL.
fn id_in(location: &str) -> String {
    let path = location.split('?').next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Item 1: a computed field is a value on every form, never an input, and
/// a campaign saves from its forms, new and edit.
async fn computed_fields_are_never_inputs(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let new = open(&app, "/app/r/campaign/new").await?;
    ensure!(new.status == StatusCode::OK);
    let names = input_names(&new.html);
    ensure!(names.contains(&"budget".to_owned()), "the form has inputs: {names:?}");
    for computed in ["actual_cost", "projects_budget", "actual_leads", "actual_revenue"] {
        ensure!(
            !names.contains(&computed.to_owned()),
            "{computed} is an input: {names:?}"
        );
    }
    // Everything the form shows, posted as a browser would (empty inputs
    // empty), plus a computed field slipped in: saved, the computed value
    // the rule's.
    let mut form: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
    form.retain(|(n, _)| !["name", "budget"].contains(n));
    form.extend([("name", "Spring fair"), ("budget", "5000"), ("actual_cost", "99")]);
    let saved = post(&app, "/app/r/campaign", &form).await?;
    ensure!(
        saved.status == StatusCode::SEE_OTHER,
        "{}: {}",
        saved.status,
        saved.html
    );
    let campaign = id_in(&saved.location);
    let stored = get(&app, "campaign", &campaign).await?;
    ensure!(stored["budget"].as_f64() == Some(5000.0), "{stored}");
    ensure!(stored["actual_cost"].as_f64() != Some(99.0), "{stored}");

    // The edit form: the roll-ups read as values; saving works.
    let edit = open(&app, &format!("/app/r/campaign/{campaign}/edit")).await?;
    let names = input_names(&edit.html);
    ensure!(!names.contains(&"actual_cost".to_owned()), "{names:?}");
    ensure!(edit.html.contains("data-field=\"actual_cost\""), "the roll-up is shown");
    let version = stored["row_version"].as_i64().context("version")?.to_string();
    let form = [
        ("_version", version.as_str()),
        ("name", "Spring fair 2027"),
        ("budget", "6000"),
        ("actual_leads", ""),
    ];
    let saved = post(&app, &format!("/app/r/campaign/{campaign}"), &form).await?;
    ensure!(
        saved.status == StatusCode::SEE_OTHER,
        "{}: {}",
        saved.status,
        saved.html
    );
    ensure!(get(&app, "campaign", &campaign).await?["name"] == "Spring fair 2027");
    Ok(())
}

/// Item 1, the class: a refusal the engine words in English reads in the
/// user's language on the form (a reporting loop: code `cycle`).
async fn form_errors_read_in_the_users_language(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = app.create("company", json!({ "name": "Acme" })).await?;
    let boss = app
        .create("contact", json!({ "full_name": "Boss", "company": id(&acme) }))
        .await?;
    let aide = app
        .create(
            "contact",
            json!({ "full_name": "Aide", "company": id(&acme), "reports_to": id(&boss) }),
        )
        .await?;
    speak(&app, Some(Locale::ZhCn)).await?;
    let version = boss["row_version"].as_i64().context("version")?.to_string();
    let form = [
        ("_version", version.as_str()),
        ("full_name", "Boss"),
        ("company", &id(&acme)),
        ("reports_to", &id(&aide)),
    ];
    let refused = post(&app, &format!("/app/r/contact/{}", id(&boss)), &form).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(
        refused.html.contains("这样会使记录成为其自身的下级。"),
        "{}",
        refused.html
    );
    ensure!(
        !refused.html.contains("would put this record"),
        "no English: {}",
        refused.html
    );
    Ok(())
}

/// Item 2: an empty input is a field left out: the rules fill a quote
/// line's item and price from its product, and the quantity takes its
/// default. The API agrees; on update, null clears and required refuses.
async fn an_empty_input_is_a_field_left_out(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = app.create("company", json!({ "name": "Acme" })).await?;
    let deal = app
        .create("opportunity", json!({ "name": "Pumps", "company": id(&acme) }))
        .await?;
    let pump = app
        .create("product", json!({ "name": "Pump P-100", "price": 250 }))
        .await?;
    let form = [
        ("opportunity", id(&deal)),
        ("line_number", String::new()),
        ("product", id(&pump)),
        ("description", String::new()),
        ("quantity", String::new()),
        ("unit_price", String::new()),
        ("discount", String::new()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = post(&app, "/app/r/quote_line", &form).await?;
    ensure!(
        saved.status == StatusCode::SEE_OTHER,
        "{}: {}",
        saved.status,
        saved.html
    );
    let line = get(&app, "quote_line", &id_in(&saved.location)).await?;
    ensure!(line["description"] == "Pump P-100", "{line}");
    ensure!(line["unit_price"].as_f64() == Some(250.0), "{line}");
    ensure!(line["quantity"].as_f64() == Some(1.0), "the default: {line}");

    // The API: null on create is the field left out.
    let body = json!({ "opportunity": id(&deal), "product": id(&pump), "description": null, "quantity": null });
    let r = app.post("/api/v1/records/quote_line", &body).await?;
    ensure!(r.status == StatusCode::CREATED, "{}: {}", r.status, r.body);
    ensure!(r.body["description"] == "Pump P-100" && r.body["quantity"].as_f64() == Some(1.0));
    // On update, null clears an optional field and is refused on a required one.
    let line_id = id(&r.body);
    let cleared = changed(&app, "quote_line", &line_id, json!({ "discount": null })).await?;
    ensure!(cleared["discount"].is_null(), "{cleared}");
    let r = change(&app, "quote_line", &line_id, json!({ "description": null })).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    ensure!(
        field_error(&r).0 == "description" && field_error(&r).1 == "required",
        "{}",
        r.body
    );
    Ok(())
}

/// Item 3: a contact picker offers the people of the company on the form,
/// and a save naming a contact of another company is refused (API and
/// form, in the user's language); a save that moves the company away from
/// its contact too.
async fn references_keep_to_their_lookup_filter(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = app.create("company", json!({ "name": "Acme" })).await?;
    let other = app.create("company", json!({ "name": "Zeta Third" })).await?;
    let ann = app
        .create("contact", json!({ "full_name": "Ann Acme", "company": id(&acme) }))
        .await?;
    let zed = app
        .create("contact", json!({ "full_name": "Aaron Zeta", "company": id(&other) }))
        .await?;

    // The forms' pickers send the company along.
    for (entity, field) in [
        ("support_incident", "contact"),
        ("opportunity", "contact"),
        ("sales_order", "contact"),
    ] {
        let form = open(&app, &format!("/app/r/{entity}/new")).await?;
        let input = form
            .html
            .split(&format!("name=\"_lookup_{field}\""))
            .nth(1)
            .context("the lookup")?;
        let input = input.split('>').next().unwrap_or_default();
        ensure!(input.contains("hx-include=\"[name=company]\""), "{entity}: {input}");
    }
    let offered = open(
        &app,
        &format!("/app/lookup/contact?_bind.company=eq.company&company={}", id(&acme)),
    )
    .await?;
    ensure!(
        offered.html.contains("Ann Acme") && !offered.html.contains("Aaron Zeta"),
        "{}",
        offered.html
    );

    // The API refuses a contact of a third company, naming the field.
    let body = json!({ "subject": "Pump leaks", "company": id(&acme), "contact": id(&zed) });
    let r = app.post("/api/v1/records/support_incident", &body).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}: {}", r.status, r.body);
    let (field, code, _) = field_error(&r);
    ensure!(
        (field.as_str(), code.as_str()) == ("contact", "lookup_filter"),
        "{}",
        r.body
    );
    let incident = app
        .create(
            "support_incident",
            json!({ "subject": "Pump leaks", "company": id(&acme), "contact": id(&ann) }),
        )
        .await?;
    // Moving the company away from the contact: refused too.
    let r = change(
        &app,
        "support_incident",
        &id(&incident),
        json!({ "company": id(&other) }),
    )
    .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}: {}", r.status, r.body);
    ensure!(field_error(&r).1 == "lookup_filter", "{}", r.body);
    // No company: any contact.
    let lead_deal = app
        .create("opportunity", json!({ "name": "X", "company": id(&acme) }))
        .await?;
    let r = change(&app, "opportunity", &id(&lead_deal), json!({ "contact": id(&zed) })).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // The form says so in Chinese, next to the field.
    speak(&app, Some(Locale::ZhCn)).await?;
    let form = [
        ("subject", "Pump leaks"),
        ("company", &id(&acme)),
        ("contact", &id(&zed)),
    ];
    let refused = post(&app, "/app/r/support_incident", &form).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(
        refused.html.contains("所选记录不在此处可选的范围内"),
        "{}",
        refused.html
    );
    Ok(())
}

/// Item 4: a form sent back with an error shows the records chosen in its
/// lookups by name, not empty boxes.
async fn a_refused_form_keeps_the_chosen_names(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let acme = app.create("company", json!({ "name": "Acme Pumps" })).await?;
    let refused = post(&app, "/app/r/contact", &[("full_name", " "), ("company", &id(&acme))]).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    let text_box = refused
        .html
        .split("name=\"_lookup_company\"")
        .next()
        .and_then(|before| before.rsplit("<input").next())
        .context("the company's text box")?;
    ensure!(text_box.contains("value=\"Acme Pumps\""), "{text_box}");
    ensure!(
        refused.html.contains(&format!("value=\"{}\"", id(&acme))),
        "the id is kept"
    );
    Ok(())
}

/// Item 5: a command that does not apply is not offered; one refused keeps
/// the record in view with a human message in the user's language; a bad
/// list request is an error, in words.
async fn commands_say_why_and_only_show_when_they_apply(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let lead = app
        .create(
            "lead",
            json!({ "topic": "Pumps for the new plant", "company_name": "Acme" }),
        )
        .await?;
    let lead_id = id(&lead);
    let page = open(&app, &format!("/app/r/lead/{lead_id}")).await?;
    ensure!(
        page.html.contains("data-test=\"command-process_lead\""),
        "offered while open"
    );
    let ran = post(&app, &format!("/app/r/lead/{lead_id}/commands/process_lead"), &[]).await?;
    ensure!(ran.status == StatusCode::SEE_OTHER, "{}: {}", ran.status, ran.html);
    let page = open(&app, &format!("/app/r/lead/{lead_id}")).await?;
    ensure!(
        !page.html.contains("data-test=\"command-process_lead\""),
        "not offered once converted"
    );

    // Run anyway (an old page): refused on the lead's own page, in Chinese,
    // no field names.
    speak(&app, Some(Locale::ZhCn)).await?;
    let again = post(&app, &format!("/app/r/lead/{lead_id}/commands/process_lead"), &[]).await?;
    ensure!(again.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", again.status);
    ensure!(again.html.contains("data-test=\"command-refused\""), "{}", again.html);
    ensure!(again.html.contains("此线索已经转化过了"), "{}", again.html);
    ensure!(again.html.contains("Pumps for the new plant"), "the lead stays in view");
    ensure!(
        !again.html.contains("status:") && !again.html.contains("_:"),
        "{}",
        again.html
    );

    // A required parameter left empty: the parameter's label, in Chinese.
    let acme = app.create("company", json!({ "name": "Zeta Pumps" })).await?;
    let refused = post(
        &app,
        &format!("/app/r/company/{}/commands/create_opportunity", id(&acme)),
        &[],
    )
    .await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.html.contains("此项为必填项。"), "{}", refused.html);

    // A list request that does not parse: an error box, in the user's words.
    let list = open(&app, "/app/l/contact?sort=no_such_column").await?;
    ensure!(list.html.contains("data-test=\"list-error\""), "{}", list.html);
    ensure!(list.html.contains("无法按这些筛选或排序条件显示列表"), "{}", list.html);
    ensure!(
        !list.html.contains("no_such_column`"),
        "no developer message: {}",
        list.html
    );
    Ok(())
}

/// Item 5: a command that needs related records (an order from the quote
/// lines) is offered only once there is one; the same condition filters a
/// list through the API; a bad one says why.
async fn commands_wait_for_the_related_records_they_need(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let company = app.create("company", json!({ "name": "Quote Works" })).await?;
    let deal = app
        .create("opportunity", json!({ "name": "Ten pumps", "company": id(&company) }))
        .await?;
    let deal_id = id(&deal);
    let button = "data-test=\"command-create_order\"";
    let page = open(&app, &format!("/app/r/opportunity/{deal_id}")).await?;
    ensure!(!page.html.contains(button), "no order without a quote line");
    let run = app
        .post(
            &format!("/api/v1/records/opportunity/{deal_id}/commands/create_order"),
            &json!({}),
        )
        .await?;
    // Run anyway (the API, an old page): refused, the function's own words first.
    ensure!(
        run.status == StatusCode::UNPROCESSABLE_ENTITY
            && run.body["error"]["details"][0]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Add quote lines first")),
        "{}",
        run.body
    );
    let with_lines =
        |deal: &str| format!("/api/v1/records/opportunity?quote_line.opportunity=exists.true&id=eq.{deal}");
    ensure!(app.get(&with_lines(&deal_id)).await?.body["data"] == json!([]));

    let line = app
        .create(
            "quote_line",
            json!({ "opportunity": deal_id, "description": "Pump", "quantity": 10, "unit_price": 100 }),
        )
        .await?;
    let page = open(&app, &format!("/app/r/opportunity/{deal_id}")).await?;
    ensure!(page.html.contains(button), "offered with a quote line");
    let listed = app.get(&with_lines(&deal_id)).await?;
    ensure!(listed.body["data"][0]["id"] == deal_id, "{}", listed.body);
    let without = format!("/api/v1/records/opportunity?quote_line.opportunity=exists.false&id=eq.{deal_id}");
    ensure!(app.get(&without).await?.body["data"] == json!([]));

    // A line in the recycle bin does not count.
    relata_tests::records::delete(&app, "quote_line", &id(&line)).await?;
    let page = open(&app, &format!("/app/r/opportunity/{deal_id}")).await?;
    ensure!(!page.html.contains(button), "no order once the line is deleted");

    // A reference that does not lead here is refused with its reason.
    let bad = app
        .get("/api/v1/records/opportunity?quote_line.product=exists.true")
        .await?;
    ensure!(bad.status == StatusCode::BAD_REQUEST, "{}", bad.body);
    ensure!(
        bad.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`product` is not a reference field of quote_line to opportunity")),
        "{}",
        bad.body
    );
    Ok(())
}

/// Item 7: an activity cannot end before it starts; Done completes it; an
/// all-day activity shows its day alone; a won deal moves to the won stage
/// at 100 %, a lost one to 0 %.
async fn activity_and_opportunity_rules(backend: TestBackend) -> Result<()> {
    let Some(app) = stock(backend).await? else {
        return Ok(());
    };
    let body = json!({
        "subject": "Visit", "starts_at": "2026-11-03T10:00:00Z", "ends_at": "2026-11-03T09:00:00Z"
    });
    let r = app.post("/api/v1/records/activity", &body).await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}: {}", r.status, r.body);
    ensure!(
        field_error(&r).0 == "ends_at" && field_error(&r).1 == "not_before",
        "{}",
        r.body
    );
    speak(&app, Some(Locale::ZhCn)).await?;
    let form = [
        ("subject", "Visit"),
        ("starts_at", "2026-11-03T10:00"),
        ("ends_at", "2026-11-03T09:00"),
    ];
    let refused = post(&app, "/app/r/activity", &form).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.html.contains("不能早于“开始时间”。"), "{}", refused.html);
    speak(&app, Some(Locale::En)).await?;

    let visit = app
        .create(
            "activity",
            json!({ "subject": "Visit", "starts_at": "2026-11-03T10:00:00Z" }),
        )
        .await?;
    // Ending before the stored start, in a patch that leaves the start: refused.
    let r = change(
        &app,
        "activity",
        &id(&visit),
        json!({ "ends_at": "2026-11-02T10:00:00Z" }),
    )
    .await?;
    ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let done = changed(&app, "activity", &id(&visit), json!({ "done": true })).await?;
    ensure!(done["status"] == "completed", "{done}");
    let reopened = changed(&app, "activity", &id(&visit), json!({ "done": false })).await?;
    ensure!(reopened["status"] == "planned", "{reopened}");
    let closed = changed(&app, "activity", &id(&visit), json!({ "status": "completed" })).await?;
    ensure!(closed["done"] == true, "{closed}");

    let all_day = app
        .create(
            "activity",
            json!({ "subject": "Trade fair", "starts_at": "2026-11-03T00:00:00Z", "all_day": true }),
        )
        .await?;
    let page = open(&app, &format!("/app/r/activity/{}", id(&all_day))).await?;
    let starts = page
        .html
        .split("data-field=\"starts_at\"")
        .nth(1)
        .context("starts_at")?;
    let starts = starts.split("</div>\n").take(2).collect::<String>();
    ensure!(starts.contains("3 Nov 2026") && !starts.contains("00:00"), "{starts}");

    let acme = app.create("company", json!({ "name": "Acme" })).await?;
    let deal = app
        .create(
            "opportunity",
            json!({ "name": "Pumps", "company": id(&acme), "stage": "needs" }),
        )
        .await?;
    ensure!(deal["probability"].as_f64() == Some(40.0), "{deal}");
    let won = changed(&app, "opportunity", &id(&deal), json!({ "result": "won" })).await?;
    ensure!(
        won["stage"] == "satisfied" && won["probability"].as_f64() == Some(100.0),
        "{won}"
    );
    let lost = app
        .create(
            "opportunity",
            json!({ "name": "Valves", "company": id(&acme), "stage": "proposal" }),
        )
        .await?;
    let lost = changed(&app, "opportunity", &id(&lost), json!({ "result": "lost" })).await?;
    ensure!(
        lost["stage"] == "proposal" && lost["probability"].as_f64() == Some(0.0),
        "{lost}"
    );
    Ok(())
}

on_both_backends!(
    computed_fields_are_never_inputs,
    form_errors_read_in_the_users_language,
    an_empty_input_is_a_field_left_out,
    references_keep_to_their_lookup_filter,
    a_refused_form_keeps_the_chosen_names,
    commands_say_why_and_only_show_when_they_apply,
    commands_wait_for_the_related_records_they_need,
    activity_and_opportunity_rules,
);
