//! Every class of metadata error (YAML, JSON Schema, identifier, cross
//! reference) is reported at once, naming the file, the path and what is
//! expected; a refused package changes nothing. On both backends.

use anyhow::Result;
use relata::engine::ApplyError;
use relata_tests::{on_both_backends, stock_metadata, TestApp, TestBackend};

const LABEL: &str = "{ en: X, zh-CN: 某 }";

fn entity(name: &str, fields: &str) -> String {
    format!(
        "version: 1\nkind: entity\nname: {name}\nlabel: {LABEL}\nplural_label: {LABEL}\ndisplay_field: title\nfields:\n{fields}"
    )
}

/// Applies `files`, expects a metadata refusal, returns "file: path: message" lines.
async fn refused(app: &TestApp, files: &[(&str, &str)]) -> Result<Vec<String>> {
    let before = app.engine.bm().list().await?.len();
    let release = app.engine.model().release;
    match app.apply(files).await {
        Err(ApplyError::Metadata(errs)) => {
            assert_eq!(
                app.engine.bm().list().await?.len(),
                before,
                "a refused package records no release"
            );
            assert_eq!(app.engine.model().release, release, "the live model is unchanged");
            Ok(errs.0.iter().map(ToString::to_string).collect())
        }
        other => anyhow::bail!("expected a metadata refusal, got {other:?}"),
    }
}

async fn schema_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(());
    };
    let lead = "version: 1\nkind: entity\nname: lead\nlabel: { en: Lead }\nplural_label: { en: Leads, zh-CN: 线索 }\n\
                display_field: title\nfields:\n\
                \x20 - { name: title, type: text, label: { en: T, zh-CN: 标题 }, colour: red }\n\
                \x20 - { name: amount, type: money, label: { en: A, zh-CN: 金额 } }\n\
                \x20 - { name: score, type: integer, label: { en: S, zh-CN: 分 }, required: maybe }\n";
    let errors = refused(&app, &[("sales/lead.yaml", lead)]).await?;
    assert_eq!(
        errors,
        [
            "sales/lead.yaml: label: \"zh-CN\" is a required property",
            "sales/lead.yaml: fields[0]: Additional properties are not allowed ('colour' was unexpected)",
            "sales/lead.yaml: fields[1].type: \"money\" is not allowed; expected one of: text, long_text, integer, decimal, currency, percent, boolean, date, datetime, email, phone, url, picklist, multi_picklist, reference, attachment",
            "sales/lead.yaml: fields[2].required: \"maybe\" is not of type \"boolean\"",
        ]
    );
    Ok(())
}

async fn file_level_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let errors = refused(
        &app,
        &[
            ("a.yaml", "version: 1\nkind: entity\nname: [unclosed\n"),
            ("b.yaml", "version: 1\nname: thing\n"),
            ("c.yaml", "version: 1\nkind: spaceship\nname: thing\n"),
            ("d.yaml", "- just\n- a list\n"),
            ("e.yaml", "version: 2\nkind: picklist\nname: p\nlabel: { en: P, zh-CN: 某 }\nvalues: [{ code: a, label: { en: A, zh-CN: 甲 } }]\n"),
        ],
    )
    .await?;
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert_eq!(errors[0], "a.yaml: not valid YAML: did not find expected ',' or ']' at line 4 column 1, while parsing a flow sequence at line 3 column 7");
    assert_eq!(
        errors[1],
        "b.yaml: kind: missing; expected one of: entity, picklist, form, list, module, demo"
    );
    assert_eq!(
        errors[2],
        "c.yaml: kind: unknown kind \"spaceship\"; expected one of: entity, picklist, form, list, module, demo"
    );
    assert_eq!(
        errors[3],
        "d.yaml: expected a mapping with `kind`, `version` and `name`"
    );
    assert_eq!(errors[4], "e.yaml: version: 1 was expected");
    Ok(())
}

async fn identifier_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let bad = entity(
        "Lead",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n  - { name: select, type: text, label: { en: S, zh-CN: 选 } }\n  - { name: row_version, type: integer, label: { en: R, zh-CN: 版 } }\n",
    );
    let picklist = "version: 1\nkind: picklist\nname: relata_status\nlabel: { en: S, zh-CN: 状态 }\nvalues:\n  - { code: Hot-Lead, label: { en: Hot, zh-CN: 热 } }\n  - { code: cold, label: { en: Cold, zh-CN: 冷 } }\n  - { code: cold, label: { en: Cold, zh-CN: 冷 } }\n";
    let errors = refused(&app, &[("lead.yaml", &bad), ("status.yaml", picklist)]).await?;
    assert_eq!(
        errors,
        [
            "lead.yaml: name: `Lead` must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)",
            "lead.yaml: fields[1].name: `select` is a reserved word",
            "lead.yaml: fields[2].name: `row_version` is a reserved word",
            "status.yaml: name: `relata_status` is a reserved word",
            "status.yaml: values[0].code: `Hot-Lead` must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)",
            "status.yaml: values[2].code: `cold` appears twice",
        ]
    );
    Ok(())
}

async fn cross_reference_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let lead = entity(
        "lead",
        "  - { name: name, type: text, label: { en: N, zh-CN: 名 } }\n\
         \x20 - { name: company, type: reference, target: compny, label: { en: C, zh-CN: 公司 } }\n\
         \x20 - { name: source, type: picklist, picklist: lead_sorce, label: { en: S, zh-CN: 来源 } }\n\
         \x20 - { name: owner, type: reference, label: { en: O, zh-CN: 负责人 } }\n\
         \x20 - { name: amount, type: currency, max_length: 5, scale: 9, precision: 4, label: { en: A, zh-CN: 金额 } }\n\
         \x20 - { name: name, type: integer, default: many, label: { en: D, zh-CN: 重 } }\n\
         indexes:\n  - fields: [name, nmae]\n  - fields: [owner_id, updated_at, owner_id]\n\
         unique:\n  - fields: [owner_id]\n",
    );
    let dup = entity(
        "lead",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n",
    );
    let errors = refused(&app, &[("sales/lead.yaml", &lead), ("sales/lead_copy.yaml", &dup)]).await?;
    assert_eq!(
        errors,
        [
            "sales/lead_copy.yaml: name: entity `lead` is already defined in sales/lead.yaml",
            "sales/lead.yaml: fields[1].target: unknown entity `compny`",
            "sales/lead.yaml: fields[2].picklist: unknown pick list `lead_sorce`",
            "sales/lead.yaml: fields[3].target: a reference field needs `target`",
            "sales/lead.yaml: fields[4].max_length: `max_length` does not apply to a currency field",
            "sales/lead.yaml: fields[4].scale: expected at most the precision (4), found 9",
            "sales/lead.yaml: fields[5].name: `name` is defined twice",
            "sales/lead.yaml: fields[5].default: \"many\" is not a valid integer value",
            "sales/lead.yaml: display_field: `title` is not a field of this entity",
            "sales/lead.yaml: indexes[0].fields[1]: `nmae` is not a field of this entity (nor one of owner_id, created_at, \
             updated_at)",
            "sales/lead.yaml: indexes[1].fields[2]: `owner_id` is listed twice",
            "sales/lead.yaml: unique[0].fields[0]: `owner_id` is not a field of this entity",
        ]
    );
    Ok(())
}

async fn search_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let lead = entity(
        "lead",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: score, type: integer, label: { en: S, zh-CN: 分 } }\n\
         \x20 - { name: notes, type: long_text, label: { en: N, zh-CN: 备注 } }\n\
         search:\n  fields: [notes, titel, score, notes]\n",
    );
    let typo = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\nsearch: { fields: [title], weight: 2 }\n",
    );
    let errors = refused(&app, &[("sales/deal.yaml", &typo)]).await?;
    assert_eq!(
        errors,
        ["sales/deal.yaml: search: Additional properties are not allowed ('weight' was unexpected)"]
    );
    let errors = refused(&app, &[("sales/lead.yaml", &lead)]).await?;
    assert_eq!(
        errors,
        [
            "sales/lead.yaml: search.fields[1]: `titel` is not a field of this entity",
            "sales/lead.yaml: search.fields[2]: `score` is a integer field; expected a text, long_text, email, phone, url or picklist field",
            "sales/lead.yaml: search.fields[3]: `notes` is listed twice",
        ]
    );
    Ok(())
}

async fn attachment_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let doc = entity(
        "doc",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - name: files\n    type: attachment\n    label: { en: F, zh-CN: 文件 }\n    unique: true\n    required: true\n    default: x.pdf\n\
         \x20   attachment: { max_size_mb: 0, types: [pdf, image/*] }\n\
         \x20 - { name: note, type: text, label: { en: N, zh-CN: 注 }, attachment: { multiple: true } }\n\
         indexes:\n  - fields: [files]\n",
    );
    let shown = entity(
        "shown",
        "  - { name: title, type: attachment, label: { en: T, zh-CN: 标题 } }\n",
    );
    let list = "version: 1\nkind: list\nname: docs\nentity: doc\nlabel: { en: D, zh-CN: 文 }\n\
                columns: [files, title]\nsort: [files]\nfilter: { files: eq.x }\nquick_search: [files]\n";
    let errors = refused(
        &app,
        &[("doc.yaml", &doc), ("shown.yaml", &shown), ("docs_list.yaml", list)],
    )
    .await?;
    assert_eq!(
        errors,
        [
            "doc.yaml: fields[1].unique: an attachment field cannot be unique",
            "doc.yaml: fields[1].required: an attachment field cannot be required: files are uploaded after the record is saved",
            "doc.yaml: fields[1].attachment.max_size_mb: expected 1 to 1024, found 0",
            "doc.yaml: fields[1].attachment.types[0]: `pdf` is not a media type such as application/pdf or image/*",
            "doc.yaml: fields[1].default: an attachment field cannot have a default",
            "doc.yaml: fields[2].attachment: `attachment` does not apply to a text field",
            "doc.yaml: indexes[0].fields[0]: `files` is an attachment field and has no column to index",
            "shown.yaml: display_field: `title` is an attachment field; expected a text, email, phone or url field",
            "docs_list.yaml: columns[0]: `files` is an attachment field: the first column links to the record, so it must be another field",
            "docs_list.yaml: sort[0]: `files` is an attachment field and cannot be sorted on",
            "docs_list.yaml: filter.files: `files` is an attachment field and cannot be filtered on",
            "docs_list.yaml: quick_search[0]: `files` is an attachment field; quick search looks in text fields",
        ]
    );
    let typo = entity(
        "typo",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: f, type: attachment, label: { en: F, zh-CN: 文件 }, attachment: { max_mb: 3 } }\n",
    );
    let errors = refused(&app, &[("typo.yaml", &typo)]).await?;
    assert_eq!(
        errors,
        ["typo.yaml: fields[1].attachment: Additional properties are not allowed ('max_mb' was unexpected)"]
    );
    Ok(())
}

/// A virtual computed field is shown in lists but has no column: a list
/// cannot sort, filter or quick-search on it.
async fn virtual_field_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let deal = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: amount, type: currency, label: { en: A, zh-CN: 金额 } }\n\
         \x20 - name: twice\n    type: text\n    label: { en: D, zh-CN: 双倍 }\n\
         \x20   computed: { expression: 'this.title + this.title', stored: false }\n",
    );
    let list = "version: 1\nkind: list\nname: deals\nentity: deal\nlabel: { en: D, zh-CN: 交易 }\n\
                columns: [title, twice]\nsort: [-twice]\nfilter: { twice: eq.x }\nquick_search: [title, twice]\n";
    let errors = refused(&app, &[("deal.yaml", &deal), ("deals_list.yaml", list)]).await?;
    let why = "is a virtual computed field (worked out when a record is read, not stored)";
    assert_eq!(
        errors,
        [
            format!("deals_list.yaml: sort[0]: `twice` {why} and cannot be sorted on"),
            format!("deals_list.yaml: filter.twice: `twice` {why} and cannot be filtered on"),
            format!("deals_list.yaml: quick_search[1]: `twice` {why} and cannot be searched"),
        ]
    );
    Ok(())
}

/// A read-only field only the application sets: a required one needs a
/// default or rules, an attachment or a computed field cannot be one.
async fn read_only_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let deal = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: number, type: text, required: true, read_only: true, label: { en: N, zh-CN: 编号 } }\n\
         \x20 - { name: stage, type: text, required: true, read_only: true, default: new, label: { en: S, zh-CN: 阶段 } }\n\
         \x20 - { name: scan, type: attachment, read_only: true, label: { en: F, zh-CN: 文件 } }\n\
         \x20 - name: twice\n    type: text\n    read_only: true\n    label: { en: D, zh-CN: 双倍 }\n\
         \x20   computed: { expression: 'this.title + this.title' }\n",
    );
    let errors = refused(&app, &[("deal.yaml", &deal)]).await?;
    assert_eq!(
        errors,
        [
            "deal.yaml: fields[1].read_only: a required read-only field needs a `default` or business rules \
             that set it (`rules: { script: ... }`): clients cannot send it",
            "deal.yaml: fields[3].read_only: `read_only` does not apply to an attachment field: clients upload \
             its files",
            "deal.yaml: fields[4].read_only: `read_only` does not apply to a computed field",
        ]
    );
    Ok(())
}

/// A picker's `lookup_filter` is checked like a list's filter, on the
/// reference's target, and applies to references only.
async fn lookup_filter_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let deal = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: parent, type: reference, target: deal, lookup_filter: { titel: eq.x, title: like.x }, label: { en: P, zh-CN: 上级 } }\n\
         \x20 - { name: code, type: text, lookup_filter: { title: eq.x }, label: { en: C, zh-CN: 代码 } }\n\
         \x20 - { name: boss, type: reference, target: deal, lookup_filter: { title: eq.me, owner_id: eq.me }, label: { en: B, zh-CN: 上司 } }\n\
         \x20 - { name: peer, type: reference, target: deal, lookup_filter: { boss: \"eq.{boss}\", code: \"eq.{nope}\" }, label: { en: P, zh-CN: 同级 } }\n",
    );
    let errors = refused(&app, &[("deal.yaml", &deal)]).await?;
    assert_eq!(
        errors,
        [
            "deal.yaml: fields[1].lookup_filter.titel: `titel` is not a field of deal",
            "deal.yaml: fields[1].lookup_filter.title: expected OP.VALUE with OP one of eq, ne, lt, le, gt, ge, \
             contains, starts_with, in, is, not, found `like.x`",
            "deal.yaml: fields[2].lookup_filter: `lookup_filter` does not apply to a text field",
            "deal.yaml: fields[3].lookup_filter.title: `me` (the signed-in user) compares with owner_id, created_by or \
             updated_by",
            "deal.yaml: fields[4].lookup_filter.code: `{nope}`: `nope` is not a field of this entity",
        ]
    );
    Ok(())
}

/// `numbering` applies to text fields without a default, and its numbers
/// must fit the field.
async fn numbering_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let deal = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: n, type: integer, numbering: { prefix: D- }, label: { en: N, zh-CN: 编号 } }\n\
         \x20 - { name: code, type: text, max_length: 12, numbering: { prefix: DEAL-, period: day, digits: 0 }, label: { en: C, zh-CN: 代码 } }\n\
         \x20 - { name: ref, type: text, default: x, numbering: { period: weekly }, label: { en: R, zh-CN: 参考 } }\n",
    );
    let errors = refused(&app, &[("deal.yaml", &deal)]).await?;
    assert_eq!(
        errors,
        [
            "deal.yaml: fields[3].numbering.period: \"weekly\" is not allowed; expected one of: never, year, month, day",
        ]
    );
    let deal = deal.replace("period: weekly", "period: year");
    let errors = refused(&app, &[("deal.yaml", &deal)]).await?;
    assert_eq!(
        errors,
        [
            "deal.yaml: fields[1].numbering: `numbering` applies to text fields, not to an integer field",
            "deal.yaml: fields[2].numbering.digits: expected 1 to 12, found 0",
            "deal.yaml: fields[2].numbering: numbers can be 24 characters long, more than max_length (12)",
            "deal.yaml: fields[3].numbering: a numbered field cannot also be computed or have a default",
        ]
    );
    Ok(())
}

/// `hierarchy` is for a reference to the entity itself, and a related
/// list's `tree` follows such a field of the related entity; its `filter`
/// is checked like a list's.
async fn hierarchy_errors(backend: TestBackend) -> Result<()> {
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(());
    };
    let deal = entity(
        "deal",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n\
         \x20 - { name: parent, type: reference, target: deal, hierarchy: true, label: { en: P, zh-CN: 上级 } }\n\
         \x20 - { name: partner, type: reference, target: deal, label: { en: O, zh-CN: 伙伴 } }\n\
         \x20 - { name: team, type: reference, target: team, hierarchy: true, label: { en: T, zh-CN: 团队 } }\n",
    );
    let team = entity(
        "team",
        "  - { name: title, type: text, label: { en: T, zh-CN: 标题 } }\n",
    );
    let form = "version: 1\nkind: form\nname: team\nentity: team\ntabs:\n  - name: deals\n    label: { en: D, zh-CN: 交易 }\n    related:\n\
                \x20     - { entity: deal, via: team, tree: partner, columns: [title] }\n\
                \x20     - { entity: deal, via: team, tree: nope, columns: [title] }\n\
                \x20     - { entity: deal, via: team, tree: parent, columns: [title], filter: { titel: eq.x, title: \"eq.{title}\" } }\n";
    let files = [
        ("deal.yaml", deal.as_str()),
        ("team.yaml", team.as_str()),
        ("team_form.yaml", form),
    ];
    let errors = refused(&app, &files).await?;
    assert_eq!(
        errors,
        [
            "deal.yaml: fields[3].hierarchy: a hierarchy is a reference to the entity itself (`target: deal`)",
            "team_form.yaml: tabs[0].related[0].tree: `deal.partner` is not a hierarchy (a reference to deal with \
             `hierarchy: true`)",
            "team_form.yaml: tabs[0].related[1].tree: `nope` is not a field of deal",
            "team_form.yaml: tabs[0].related[2].filter.titel: `titel` is not a field of deal",
            "team_form.yaml: tabs[0].related[2].filter.title: a value from the form (`{field}`) is only for a reference \
             field's `lookup_filter`",
        ]
    );
    Ok(())
}

on_both_backends!(
    hierarchy_errors,
    numbering_errors,
    lookup_filter_errors,
    read_only_errors,
    virtual_field_errors,
    attachment_errors,
    schema_errors,
    file_level_errors,
    identifier_errors,
    cross_reference_errors,
    search_errors
);
