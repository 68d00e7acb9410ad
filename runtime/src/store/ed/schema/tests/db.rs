//! Whole releases against a database: SQLite always, PostgreSQL when
//! `RELATA_TEST_PG_URL` is set (each test creates its own database).

use super::harness::{describe, id, lit, some, Db};
use super::{company, contact, crm, entity, f, model, picklist};
use crate::store::ed::schema::{apply, plan, Safety, SchemaError, SchemaState};
use crate::store::{Backend, BeginWrite as _, Pool};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(&super::Db::sqlite().await).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(db) = super::Db::postgres().await {
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        }
    )*};
}

on_both!(
    first_release,
    add_field_and_entity,
    removed_field_keeps_data,
    removed_entity_keeps_table,
    widen_and_refused_narrowing,
    refused_required,
    unique_changes,
    type_conversions,
    reference_and_picklist_changes,
    failed_apply_changes_nothing,
);

async fn first_release(db: &Db) {
    let m = model(&crm());
    let p = db.release(None, &m, 1).await.expect("apply");
    assert_eq!(p.steps.len(), 2);
    let cat = db.catalog().await;
    insta::assert_snapshot!(format!("catalog_{}", db.tag()), describe(&cat, &["company", "contact"]));
    db.assert_settled(&m).await;
    assert!(plan(None, &m, &cat, 2).steps.is_empty());
    let state = db
        .rows("SELECT CAST(release AS TEXT), checksum FROM relata_schema_state")
        .await;
    assert_eq!(state, vec![some(&["1", "sum1"])]);
    // A second apply replaces the single row.
    let again = plan(Some(&m), &m, &cat, 2);
    apply(
        db.pool(),
        &again,
        &m,
        &SchemaState {
            release: 2,
            checksum: "sum2".into(),
        },
    )
    .await
    .expect("apply");
    let state = db
        .rows("SELECT CAST(release AS TEXT), checksum FROM relata_schema_state")
        .await;
    assert_eq!(state, vec![some(&["2", "sum2"])]);
}

async fn add_field_and_entity(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert("company", 1, &[("name", "'Acme'")]).await.expect("insert");
    let extra = [
        f("tier", "type: text, required: true, default: gold"),
        f("code", "type: text, required: true"),
        f("parent", "type: reference, target: company"),
    ];
    let deal = entity(
        "deal",
        &[
            f("name", "type: text"),
            f("company", "type: reference, target: company, required: true"),
        ],
        "",
    );
    let m2 = model(&[
        picklist("stage", &["lead", "customer"]),
        company(&extra),
        contact(&[]),
        deal,
    ]);
    let p = db.release(Some(&m1), &m2, 2).await.expect("release 2");
    insta::assert_snapshot!(format!("add_plan_{}", db.tag()), p.to_string());
    assert!(p.steps.iter().all(|s| s.safety == Safety::Safe));
    let rows = db
        .rows("SELECT name, tier, code, CAST(parent AS TEXT) FROM company")
        .await;
    assert_eq!(rows, vec![vec![Some("Acme".into()), Some("gold".into()), None, None]]);
    let cat = db.catalog().await;
    let info = cat.table("company").expect("company");
    assert!(info.column("tier").expect("tier").not_null);
    assert!(
        !info.column("code").expect("code").not_null,
        "required without default is added nullable"
    );
    assert_eq!(info.foreign_key("parent").map(|f| f.target.as_str()), Some("company"));
    assert!(info.indexes.iter().any(|ix| ix.name == "ix_company__parent"));
    assert!(cat.table("deal").is_some());
    db.assert_settled(&m2).await;
    // The reference is enforced.
    let bad = db.insert("deal", 2, &[("name", "'x'"), ("company", &lit(77))]).await;
    assert!(bad.is_err(), "a deal pointing nowhere was accepted");
    db.insert("deal", 3, &[("name", "'x'"), ("company", &lit(1))])
        .await
        .expect("deal");
}

async fn removed_field_keeps_data(db: &Db) {
    let task = || {
        let fields = [
            f("name", "type: text"),
            f("company", "type: reference, target: company, on_delete: set_null"),
        ];
        entity("task", &fields, "")
    };
    let m1 = model(&[
        picklist("stage", &["lead"]),
        company(&[f("code", "type: text, required: true")]),
        contact(&[]),
        task(),
    ]);
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert(
        "company",
        1,
        &[("name", "'Acme'"), ("fax", "'555-1'"), ("code", "'C1'")],
    )
    .await
    .expect("company");
    db.insert(
        "contact",
        1,
        &[("name", "'Ann'"), ("company", &lit(1)), ("phone", "'1'")],
    )
    .await
    .expect("ann");
    db.insert(
        "contact",
        2,
        &[("name", "'Bob'"), ("company", &lit(1)), ("manager", &lit(1))],
    )
    .await
    .expect("bob");
    db.insert("task", 1, &[("name", "'Call'"), ("company", &lit(1))])
        .await
        .expect("task");
    // Company loses a NOT NULL field and a plain one; contact loses a
    // self-reference (with ON DELETE SET NULL) and a field of a unique group.
    let m2 = model(&[
        picklist("stage", &["lead"]),
        company(&[]),
        contact(&[("manager", None), ("phone", None)]),
        task(),
    ]);
    let m2 = {
        let mut m = m2;
        if let Some(c) = m.entities.get_mut("company") {
            c.fields.retain(|x| x.name != "fax");
        }
        m
    };
    let p = db.release(Some(&m1), &m2, 2).await.expect("release 2");
    insta::assert_snapshot!(format!("archive_plan_{}", db.tag()), p.to_string());
    let rows = db.rows("SELECT name, _r2_fax, _r2_code FROM company").await;
    assert_eq!(rows, vec![some(&["Acme", "555-1", "C1"])]);
    let rows = db
        .rows("SELECT name, CAST(company AS TEXT), CAST(_r2_manager AS TEXT), _r2_phone FROM contact ORDER BY name")
        .await;
    assert_eq!(rows[0], vec![Some("Ann".into()), Some(id(1)), None, Some("1".into())]);
    assert_eq!(rows[1], vec![Some("Bob".into()), Some(id(1)), Some(id(1)), None]);
    // Rebuilding company (SQLite) must not fire ON DELETE SET NULL in its children.
    assert_eq!(
        db.rows("SELECT CAST(company AS TEXT) FROM task").await,
        vec![vec![Some(id(1))]]
    );
    let cat = db.catalog().await;
    let info = cat.table("company").expect("company");
    assert!(info.column("fax").is_none() && info.column("code").is_none());
    assert!(!info.column("_r2_code").expect("archived").not_null);
    let contact_info = cat.table("contact").expect("contact");
    assert!(contact_info.foreign_key("_r2_manager").is_none());
    assert!(contact_info
        .indexes
        .iter()
        .all(|ix| !ix.columns.iter().any(|c| c.starts_with("_r2"))));
    db.assert_settled(&m2).await;
    // Keys still hold after the rebuilds: a contact must point to a company,
    // and a company in use cannot be purged.
    assert!(db
        .insert("contact", 3, &[("name", "'Cy'"), ("company", &lit(9))])
        .await
        .is_err());
    assert!(db
        .exec(&format!("DELETE FROM company WHERE id = {}", lit(1)))
        .await
        .is_err());
    db.insert("company", 2, &[("name", "'Beta'")])
        .await
        .expect("archived columns accept no value");
    // Re-adding the fields brings their archived values back; archiving
    // them again under a name already taken picks the next free one.
    db.release(Some(&m2), &m1, 3).await.expect("release 3");
    let rows = db.rows("SELECT fax, code FROM company WHERE name = 'Acme'").await;
    assert_eq!(rows, vec![some(&["555-1", "C1"])]);
    let rows = db
        .rows("SELECT CAST(manager AS TEXT), phone FROM contact ORDER BY name")
        .await;
    assert_eq!(rows, vec![vec![None, Some("1".into())], vec![Some(id(1)), None]]);
    let cat = db.catalog().await;
    assert!(cat.table("company").expect("company").column("_r2_fax").is_none());
    db.exec("ALTER TABLE company ADD COLUMN _r2_fax TEXT")
        .await
        .expect("a taken name");
    let again = plan(Some(&m1), &m2, &db.catalog().await, 2);
    assert!(
        again.to_string().contains("archive column company.fax as _r2_fax_2"),
        "{again}"
    );
}

async fn removed_entity_keeps_table(db: &Db) {
    let deal = || {
        entity(
            "deal",
            &[
                f("name", "type: text, unique: true"),
                f("company", "type: reference, target: company"),
            ],
            "",
        )
    };
    let mut files = crm();
    files.push(deal());
    let m1 = model(&files);
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert("company", 1, &[("name", "'Acme'")]).await.expect("company");
    db.insert("deal", 1, &[("name", "'Big'"), ("company", &lit(1))])
        .await
        .expect("deal");
    let m2 = model(&crm());
    let p = db.release(Some(&m1), &m2, 2).await.expect("release 2");
    insta::assert_snapshot!(format!("archive_table_plan_{}", db.tag()), p.to_string());
    assert_eq!(db.rows("SELECT name FROM _r2_deal").await, vec![some(&["Big"])]);
    assert!(db.catalog().await.table("deal").is_none());
    db.assert_settled(&m2).await;
    // The archived rows no longer hold the company.
    db.exec(&format!("DELETE FROM company WHERE id = {}", lit(1)))
        .await
        .expect("purge");
    // Bringing the entity back restores its table, but not with a reference
    // to the purged company: refused, naming the row, nothing changed.
    let m3 = model(&files);
    match db.release(Some(&m2), &m3, 3).await {
        Err(SchemaError::Refused(r)) => {
            assert_eq!(
                (r.len(), r[0].field.as_deref(), r[0].count),
                (1, Some("company"), 1),
                "{r:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(db.rows("SELECT name FROM _r2_deal").await, vec![some(&["Big"])]);
    db.exec("UPDATE _r2_deal SET company = NULL").await.expect("cleared");
    let p = db.release(Some(&m2), &m3, 3).await.expect("release 3");
    assert!(p.to_string().contains("restore table deal from _r2_deal"), "{p}");
    assert_eq!(db.rows("SELECT name FROM deal").await, vec![some(&["Big"])]);
    assert!(db.catalog().await.table("_r2_deal").is_none());
    db.assert_settled(&m3).await;
    assert!(
        db.insert("deal", 2, &[("name", "'Big'")]).await.is_err(),
        "unique again"
    );
    db.insert("deal", 2, &[("name", "'Small'")]).await.expect("new deal");
    // Removing it again archives it under the next release's name.
    db.release(Some(&m3), &m2, 4).await.expect("release 4");
    assert_eq!(
        db.rows("SELECT name FROM _r4_deal ORDER BY name").await,
        vec![some(&["Big"]), some(&["Small"])]
    );
}

async fn widen_and_refused_narrowing(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert("contact", 1, &[("name", "'Ann'"), ("phone", "'12345'")])
        .await
        .expect("ann");
    db.insert(
        "contact",
        2,
        &[("name", "'Bob'"), ("phone", "'123456789012345678901234567890'")],
    )
    .await
    .expect("bob");
    let m2 = model(&[
        picklist("stage", &["lead", "customer"]),
        company(&[]),
        contact(&[("phone", Some("type: phone, max_length: 60"))]),
    ]);
    let p = db.release(Some(&m1), &m2, 2).await.expect("widen");
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.steps[0].safety, Safety::Safe);
    insta::assert_snapshot!(format!("widen_plan_{}", db.tag()), p.to_string());
    if db.backend() == Backend::Postgres {
        let cat = db.catalog().await;
        assert_eq!(
            cat.table("contact")
                .and_then(|t| t.column("phone"))
                .map(|c| c.sql_type.as_str()),
            Some("character varying(60)")
        );
    }
    db.assert_settled(&m2).await;
    let m3 = model(&[
        picklist("stage", &["lead", "customer"]),
        company(&[]),
        contact(&[("phone", Some("type: phone, max_length: 10"))]),
    ]);
    let before = db.catalog().await;
    let err = db
        .release(Some(&m2), &m3, 3)
        .await
        .expect_err("narrowing must be refused");
    let SchemaError::Refused(refusals) = err else {
        panic!("expected a refusal, got {err:?}")
    };
    insta::assert_json_snapshot!(format!("narrow_refusal_{}", db.tag()), refusals);
    assert_eq!(db.catalog().await, before, "a refused plan changed the schema");
    // Shorten the value and the change goes through.
    db.exec(&format!("UPDATE contact SET phone = '123' WHERE id = {}", lit(2)))
        .await
        .expect("update");
    db.release(Some(&m2), &m3, 3)
        .await
        .expect("narrowing without long values");
    db.assert_settled(&m3).await;
}

async fn refused_required(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert("contact", 1, &[("name", "'Ann'"), ("email", "'ann@x.org'")])
        .await
        .expect("ann");
    db.insert("contact", 2, &[("name", "'Bob'")]).await.expect("bob");
    db.insert("contact", 3, &[("name", "'Cy'")]).await.expect("cy");
    let m2 = model(&[
        picklist("stage", &["lead", "customer"]),
        company(&[]),
        contact(&[("email", Some("type: email, unique: true, required: true"))]),
    ]);
    let err = db
        .release(Some(&m1), &m2, 2)
        .await
        .expect_err("required must be refused");
    let SchemaError::Refused(refusals) = err else {
        panic!("expected a refusal, got {err:?}")
    };
    assert_eq!(refusals.len(), 1);
    assert_eq!((refusals[0].field.as_deref(), refusals[0].count), (Some("email"), 2));
    assert_eq!(refusals[0].examples[0]["id"], id(2));
    assert!(
        !db.catalog()
            .await
            .table("contact")
            .and_then(|t| t.column("email"))
            .expect("email")
            .not_null
    );
    db.exec("UPDATE contact SET email = name || '@x.org' WHERE email IS NULL")
        .await
        .expect("fill");
    let p = db.release(Some(&m1), &m2, 2).await.expect("required with values");
    assert_eq!(p.steps[0].safety, Safety::Destructive);
    assert!(
        db.catalog()
            .await
            .table("contact")
            .and_then(|t| t.column("email"))
            .expect("email")
            .not_null
    );
    assert!(db.insert("contact", 4, &[("name", "'Di'")]).await.is_err());
    db.assert_settled(&m2).await;
}

async fn unique_changes(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    let deleted = ("deleted_at", "'2024-02-01T00:00:00Z'");
    db.insert("company", 1, &[("name", "'Acme'")]).await.expect("1");
    db.insert("company", 2, &[("name", "'Acme'")]).await.expect("2");
    db.insert("company", 3, &[("name", "'Beta'")]).await.expect("3");
    db.insert("company", 4, &[("name", "'Beta'"), deleted])
        .await
        .expect("4");
    let unique_name = [picklist("stage", &["lead", "customer"]), company(&[]), contact(&[])];
    let mut m2 = model(&unique_name);
    if let Some(name) = m2
        .entities
        .get_mut("company")
        .and_then(|c| c.fields.iter_mut().find(|x| x.name == "name"))
    {
        name.unique = true;
    }
    let err = db
        .release(Some(&m1), &m2, 2)
        .await
        .expect_err("duplicates must be refused");
    let SchemaError::Refused(refusals) = err else {
        panic!("expected a refusal, got {err:?}")
    };
    insta::assert_json_snapshot!(format!("unique_refusal_{}", db.tag()), refusals);
    // With one Acme in the recycle bin the index can be built.
    db.exec(&format!(
        "UPDATE company SET deleted_at = '2024-02-01T00:00:00Z' WHERE id = {}",
        lit(2)
    ))
    .await
    .expect("delete");
    let p = db
        .release(Some(&m1), &m2, 2)
        .await
        .expect("unique without live duplicates");
    assert_eq!(p.steps.len(), 1);
    db.assert_settled(&m2).await;
    // A value in the recycle bin can be reused; a live one cannot.
    db.insert("company", 5, &[("name", "'Gamma'"), deleted])
        .await
        .expect("deleted gamma");
    db.insert("company", 6, &[("name", "'Gamma'")])
        .await
        .expect("live gamma next to a deleted one");
    assert!(
        db.insert("company", 7, &[("name", "'Gamma'")]).await.is_err(),
        "two live records share a unique value"
    );
    // Dropping the unique is safe.
    let p = db.release(Some(&m2), &m1, 3).await.expect("drop unique");
    assert!(p.steps.iter().all(|s| s.safety == Safety::Safe));
    db.insert("company", 7, &[("name", "'Gamma'")])
        .await
        .expect("no longer unique");
}

async fn type_conversions(db: &Db) {
    // SQLite stores a decimal as its value times 10^scale (ratio: scale 3).
    let sqlite = db.tag() == "sqlite";
    let dec = |v: &'static str, scaled: &'static str| if sqlite { scaled } else { v };
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    let t = db.bool(true);
    db.insert(
        "contact",
        1,
        &[
            ("name", "'Ann'"),
            ("notes", "' 42 '"),
            ("active", t),
            ("ratio", dec("1.25", "1250")),
            ("score", "7"),
        ],
    )
    .await
    .expect("ann");
    db.insert(
        "contact",
        2,
        &[("name", "'Bob'"), ("notes", "'abc'"), ("ratio", dec("12.5", "12500"))],
    )
    .await
    .expect("bob");
    let changed = |change: &[(&str, Option<&str>)]| {
        model(&[picklist("stage", &["lead", "customer"]), company(&[]), contact(change)])
    };
    // Text to integer: 'abc' is in the way.
    let m2 = changed(&[("notes", Some("type: integer"))]);
    let SchemaError::Refused(r) = db.release(Some(&m1), &m2, 2).await.expect_err("abc is no number") else {
        panic!("refusal")
    };
    assert_eq!((r[0].count, r[0].examples[0]["value"].as_str()), (1, Some("abc")));
    // Boolean to date cannot convert while there are values; decimal loses digits.
    let m3 = changed(&[
        ("active", Some("type: date")),
        ("ratio", Some("type: decimal, precision: 5, scale: 1")),
    ]);
    let SchemaError::Refused(r) = db.release(Some(&m1), &m3, 2).await.expect_err("refused") else {
        panic!("refusal")
    };
    let got: Vec<(Option<&str>, i64)> = r.iter().map(|x| (x.field.as_deref(), x.count)).collect();
    assert_eq!(got, vec![(Some("active"), 1), (Some("ratio"), 1)]);
    // Fixed data converts, on SQLite by a rebuild, on PostgreSQL by ALTER TYPE USING.
    db.exec(&format!(
        "UPDATE contact SET notes = '-5', active = NULL, ratio = {} WHERE id IN ({}, {})",
        dec("1.5", "1500"),
        lit(1),
        lit(2)
    ))
    .await
    .expect("fix");
    db.exec(&format!("UPDATE contact SET notes = ' 42 ' WHERE id = {}", lit(1)))
        .await
        .expect("fix");
    let m4 = changed(&[
        ("notes", Some("type: integer")),
        ("active", Some("type: date")),
        ("ratio", Some("type: decimal, precision: 5, scale: 1")),
        ("score", Some("type: text, max_length: 20")),
    ]);
    let p = db.release(Some(&m1), &m4, 2).await.expect("convert");
    insta::assert_snapshot!(format!("convert_plan_{}", db.tag()), p.to_string());
    let rows = db
        .rows("SELECT name, CAST(notes + 1 AS TEXT), CAST(ratio * 2 AS TEXT), score, CAST(active AS TEXT) FROM contact ORDER BY name")
        .await;
    // 1.5 * 2, at the new scale 1 on SQLite.
    let ratio3 = dec("3.0", "30");
    assert_eq!(
        rows[0],
        vec![
            Some("Ann".into()),
            Some("43".into()),
            Some(ratio3.into()),
            Some("7".into()),
            None
        ]
    );
    assert_eq!(
        rows[1],
        vec![Some("Bob".into()), Some("-4".into()), Some(ratio3.into()), None, None]
    );
    db.assert_settled(&m4).await;
}

async fn reference_and_picklist_changes(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert("company", 1, &[("name", "'Acme'")]).await.expect("company");
    db.insert(
        "contact",
        1,
        &[("name", "'Ann'"), ("home", "'lead'"), ("company", &lit(1))],
    )
    .await
    .expect("ann");
    db.insert("contact", 2, &[("name", "'Bob'"), ("home", "'https://bob.example'")])
        .await
        .expect("bob");
    let changed = |change: &[(&str, Option<&str>)]| {
        model(&[picklist("stage", &["lead", "customer"]), company(&[]), contact(change)])
    };
    // A url becomes a picklist: only codes of the list may stay.
    let m2 = changed(&[("home", Some("type: picklist, picklist: stage"))]);
    let SchemaError::Refused(r) = db.release(Some(&m1), &m2, 2).await.expect_err("not a code") else {
        panic!("refusal")
    };
    assert_eq!(
        (r[0].count, r[0].examples[0]["value"].as_str()),
        (1, Some("https://bob.example"))
    );
    // A reference that changes target cannot keep its values.
    let m3 = changed(&[("company", Some("type: reference, target: contact"))]);
    let SchemaError::Refused(r) = db.release(Some(&m1), &m3, 2).await.expect_err("points to companies") else {
        panic!("refusal")
    };
    assert_eq!((r[0].field.as_deref(), r[0].count), (Some("company"), 1));
    // Changing only the delete action is safe.
    let m4 = changed(&[("company", Some("type: reference, target: company, on_delete: set_null"))]);
    let p = db.release(Some(&m1), &m4, 2).await.expect("on delete");
    assert!(p.steps.iter().all(|s| s.safety == Safety::Safe), "{p}");
    let cat = db.catalog().await;
    assert_eq!(
        cat.table("contact")
            .and_then(|t| t.foreign_key("company"))
            .map(|f| f.on_delete.as_str()),
        Some("SET NULL")
    );
    db.assert_settled(&m4).await;
    db.exec(&format!("DELETE FROM company WHERE id = {}", lit(1)))
        .await
        .expect("purge sets null");
    assert_eq!(
        db.rows("SELECT CAST(company AS TEXT) FROM contact ORDER BY name").await,
        vec![vec![None], vec![None]]
    );
    db.exec("UPDATE contact SET home = 'customer' WHERE name = 'Bob'")
        .await
        .expect("fix");
    let m5 = changed(&[
        ("company", Some("type: reference, target: company, on_delete: set_null")),
        ("home", Some("type: picklist, picklist: stage")),
    ]);
    db.release(Some(&m4), &m5, 3).await.expect("picklist");
    db.assert_settled(&m5).await;
}

/// A step that fails in the database (here: a conversion the data check
/// would have refused, with the check skipped) rolls back every step.
async fn failed_apply_changes_nothing(db: &Db) {
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    db.insert(
        "contact",
        1,
        &[("name", "'Ann'"), ("notes", "'abc'"), ("phone", "'1234567890'")],
    )
    .await
    .expect("ann");
    let mut files = crm();
    files[2] = contact(&[
        ("notes", Some("type: integer")),
        ("phone", Some("type: phone, max_length: 5")),
    ]);
    files.push(entity("deal", &[f("name", "type: text")], ""));
    files[1] = company(&[f("tier", "type: text")]);
    let m2 = model(&files);
    let before = db.catalog().await;
    let p = plan(Some(&m1), &m2, &before, 2);
    let err = apply(
        db.pool(),
        &p,
        &m2,
        &SchemaState {
            release: 2,
            checksum: "sum2".into(),
        },
    )
    .await;
    assert!(err.is_err(), "a conversion of 'abc' to integer went through");
    assert_eq!(db.catalog().await, before);
    assert_eq!(
        db.rows("SELECT notes, phone FROM contact").await,
        vec![some(&["abc", "1234567890"])]
    );
    let state = db.rows("SELECT CAST(release AS TEXT) FROM relata_schema_state").await;
    assert_eq!(state, vec![some(&["1"])]);
    // Only the length is in the way now: the text fits, the guard stops the rest.
    db.exec("UPDATE contact SET notes = '12'").await.expect("fix");
    let err = apply(
        db.pool(),
        &p,
        &m2,
        &SchemaState {
            release: 2,
            checksum: "sum2".into(),
        },
    )
    .await;
    assert!(err.is_err(), "a value longer than the new limit went through");
    assert_eq!(db.catalog().await, before);
}

/// PostgreSQL: a table another session keeps locked is retried, then
/// reported; a lock released in time lets the change through.
#[tokio::test]
async fn lock_timeouts_are_retried_then_reported() {
    let Some(db) = Db::postgres().await else { return };
    let Pool::Postgres(pg) = db.pool() else { return };
    let m1 = model(&crm());
    db.release(None, &m1, 1).await.expect("release 1");
    let m2 = model(&[
        picklist("stage", &["lead", "customer"]),
        company(&[f("tier", "type: text")]),
        contact(&[]),
    ]);
    // Released after 3 s: the first attempts time out, a later one succeeds.
    let mut holder = pg.begin_write().await.expect("begin");
    sqlx::query("LOCK TABLE company IN ACCESS SHARE MODE")
        .execute(&mut *holder)
        .await
        .expect("lock");
    let release_later = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        holder.rollback().await.expect("unlock");
    });
    let started = std::time::Instant::now();
    db.release(Some(&m1), &m2, 2).await.expect("applied after a retry");
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    release_later.await.expect("unlocker");
    // Held throughout: every attempt times out.
    let mut holder = pg.begin_write().await.expect("begin");
    sqlx::query("LOCK TABLE company IN ACCESS SHARE MODE")
        .execute(&mut *holder)
        .await
        .expect("lock");
    let err = db.release(Some(&m2), &m1, 3).await.expect_err("locked");
    assert!(
        matches!(&err, SchemaError::LockTimeout { table, attempts: 6 } if table == "company"),
        "{err:?}"
    );
    holder.rollback().await.expect("unlock");
    assert!(db
        .catalog()
        .await
        .table("company")
        .and_then(|t| t.column("tier"))
        .is_some());
    db.finish().await;
}
