//! Planning without a database.

use super::{crm, entity, f, model};
use crate::model::Model;
use crate::store::ed::schema::ddl;
use crate::store::ed::schema::plan::desired_indexes;
use crate::store::ed::schema::{archive_name, fit, index_name, plan, Action, Catalog, Plan, Safety};
use crate::store::Backend;

/// The DDL of the plan's CreateTable and AddForeignKey steps.
fn create_ddl(plan: &Plan, m: &Model, b: Backend) -> String {
    let mut out = Vec::new();
    for step in &plan.steps {
        match &step.action {
            Action::CreateTable {
                table,
                deferred_foreign_keys,
            } => {
                let e = &m.entities[table];
                out.push(ddl::create_table(
                    b,
                    table,
                    table,
                    &ddl::entity_columns(b, e, deferred_foreign_keys),
                ));
                out.extend(desired_indexes(e).iter().map(|ix| ddl::create_index(b, table, ix)));
            }
            Action::AddForeignKey { table, column } => {
                let fdef = m.entities[table]
                    .fields
                    .iter()
                    .find(|x| &x.name == column)
                    .expect("field");
                let (target, od) = super::super::Shape::of(fdef)
                    .foreign_key()
                    .map(|(t, o)| (t.to_owned(), o))
                    .expect("ref");
                out.push(ddl::add_foreign_key(table, column, &target, od));
            }
            _ => {}
        }
    }
    out.join(";\n") + ";\n"
}

#[test]
fn first_release_creates_every_table_on_sqlite() {
    let m = model(&crm());
    let p = plan(None, &m, &Catalog::empty(Backend::Sqlite), 1);
    assert!(p.steps.iter().all(|s| s.safety == Safety::Safe));
    insta::assert_snapshot!("first_release_plan_sqlite", p.to_string());
    insta::assert_snapshot!("first_release_ddl_sqlite", create_ddl(&p, &m, Backend::Sqlite));
}

#[test]
fn first_release_creates_every_table_on_postgres() {
    let m = model(&crm());
    let p = plan(None, &m, &Catalog::empty(Backend::Postgres), 1);
    insta::assert_snapshot!("first_release_plan_postgres", p.to_string());
    insta::assert_snapshot!("first_release_ddl_postgres", create_ddl(&p, &m, Backend::Postgres));
}

#[test]
fn plan_serializes_for_the_admin() {
    let m = model(&crm());
    let p = plan(None, &m, &Catalog::empty(Backend::Postgres), 1);
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(json["steps"][0]["safety"], "safe");
    assert_eq!(json["steps"][0]["action"]["op"], "create_table");
    assert_eq!(json["steps"][0]["action"]["table"], "company");
}

#[test]
fn targets_are_created_first_and_cycles_defer_foreign_keys_on_postgres() {
    let files = [
        entity(
            "person",
            &[f("name", "type: text"), f("employer", "type: reference, target: firm")],
            "",
        ),
        entity(
            "firm",
            &[f("name", "type: text"), f("boss", "type: reference, target: person")],
            "",
        ),
        entity(
            "office",
            &[f("name", "type: text"), f("firm", "type: reference, target: firm")],
            "",
        ),
    ];
    let m = model(&files);
    let pg = plan(None, &m, &Catalog::empty(Backend::Postgres), 1);
    insta::assert_snapshot!("cycle_plan_postgres", pg.to_string());
    insta::assert_snapshot!("cycle_ddl_postgres", create_ddl(&pg, &m, Backend::Postgres));
    let lite = plan(None, &m, &Catalog::empty(Backend::Sqlite), 1);
    assert!(lite.steps.iter().all(
        |s| matches!(&s.action, Action::CreateTable { deferred_foreign_keys, .. } if deferred_foreign_keys.is_empty())
    ));
}

#[test]
fn names_fit_in_63_bytes_and_archives_avoid_taken_names() {
    let long = "a".repeat(60);
    let ix = index_name(false, &long, &["b".repeat(30)]);
    assert_eq!(ix.len(), 63);
    assert_ne!(ix, index_name(false, &long, &["c".repeat(30)]));
    assert_eq!(fit("short".into()), "short");
    assert_eq!(archive_name(3, "fax", |_| false), "_r3_fax");
    assert_eq!(archive_name(3, "fax", |n| n == "_r3_fax"), "_r3_fax_2");
    let archived = archive_name(12, &long, |n| n.len() == 63 && !n.ends_with("_2"));
    assert_eq!(archived.len(), 63);
    assert!(archived.ends_with("_2"));
}

/// A searchable company: the plan creates its search index after the
/// tables, and the DDL is the FTS5 table and triggers / the tsvector column.
#[test]
fn search_index_plan_and_ddl() {
    use crate::store::ed::schema::search;
    let files = [entity(
        "company",
        &[
            f("name", "type: text"),
            f("rank", "type: text"),
            f("notes", "type: long_text"),
            f("size", "type: integer"),
        ],
        "search: { fields: [rank, notes, name] }\n",
    )];
    let m = model(&files);
    for b in [Backend::Sqlite, Backend::Postgres] {
        let p = plan(None, &m, &Catalog::empty(b), 1);
        let Some(Action::CreateSearch { table, fields }) = p.steps.last().map(|s| &s.action) else {
            panic!("no search step: {p}");
        };
        assert_eq!(fields, &["name", "rank", "notes"], "display field first, once");
        let tag = format!("{b:?}").to_lowercase();
        insta::assert_snapshot!(
            format!("search_ddl_{tag}"),
            format!("{p}\n{};\n", search::create(b, table, fields).join(";\n"))
        );
    }
    // Unchanged search on an existing table: no step; removed: a drop.
    let same = plan(Some(&m), &m, &Catalog::empty(Backend::Sqlite), 2);
    assert!(same
        .steps
        .iter()
        .all(|s| !matches!(s.action, Action::DropSearch { .. })));
}

#[test]
fn declared_indexes_led_by_text_get_a_folded_companion_for_prefix_filters() {
    let fields = [
        f("name", "type: text, required: true, max_length: 200"),
        f("city", "type: text, max_length: 100"),
        f("size", "type: integer"),
    ];
    let indexes = "indexes:\n  - fields: [city, name]\n  - fields: [city]\n  - fields: [size, name]\n";
    let m = model(&[entity("shop", &fields, indexes)]);
    let specs = desired_indexes(&m.entities["shop"]);
    let folded: Vec<(&str, &[String])> = specs
        .iter()
        .filter(|ix| ix.folded)
        .map(|ix| (ix.name.as_str(), ix.columns.as_slice()))
        .collect();
    // One per leading text column, however many indexes it leads; none for
    // an index led by a number.
    assert_eq!(folded, [("lx_shop__city", &["city".to_owned()][..])]);
    let ix = specs.iter().find(|ix| ix.folded).expect("folded index");
    assert_eq!(
        ddl::create_index(Backend::Sqlite, "shop", ix),
        r#"CREATE INDEX IF NOT EXISTS "lx_shop__city" ON "shop" (lower("city"), "id")"#
    );
    let p = plan(None, &m, &Catalog::empty(Backend::Sqlite), 1);
    assert!(p.to_string().contains("create table shop (3 fields, 4 indexes)"), "{p}");
}
