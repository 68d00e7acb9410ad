//! Tests of the schema builder: pure planning (`pure`) and whole releases on
//! SQLite and, when `RELATA_TEST_PG_URL` is set, on PostgreSQL (`db`).

mod db;
mod harness;
mod pure;

use crate::model::{load_files, Model, SourceFile};

/// One field of an entity, as a YAML flow mapping (`opts` like `type: text, required: true`).
pub(super) fn f(name: &str, opts: &str) -> String {
    format!("  - {{ name: {name}, label: {{ en: {name}, zh-CN: {name} }}, {opts} }}\n")
}

/// An entity file; its display field is `name`.
pub(super) fn entity(name: &str, fields: &[String], extra: &str) -> SourceFile {
    let text = format!(
        "version: 1\nkind: entity\nname: {name}\nlabel: {{ en: {name}, zh-CN: {name} }}\n\
         plural_label: {{ en: {name}s, zh-CN: {name} }}\ndisplay_field: name\nfields:\n{}{extra}",
        fields.concat()
    );
    SourceFile {
        path: format!("{name}.yaml"),
        text,
    }
}

/// A pick list file.
pub(super) fn picklist(name: &str, codes: &[&str]) -> SourceFile {
    let values: String = codes
        .iter()
        .map(|c| format!("  - {{ code: {c}, label: {{ en: {c}, zh-CN: {c} }} }}\n"))
        .collect();
    let text =
        format!("version: 1\nkind: picklist\nname: {name}\nlabel: {{ en: {name}, zh-CN: {name} }}\nvalues:\n{values}");
    SourceFile {
        path: format!("{name}.yaml"),
        text,
    }
}

/// Builds a checked model.
pub(super) fn model(files: &[SourceFile]) -> Model {
    match load_files(files) {
        Ok((m, _)) => m,
        Err(e) => panic!("test model does not check: {e:?}"),
    }
}

/// A company with `extra` fields after its own.
pub(super) fn company(extra: &[String]) -> SourceFile {
    let mut fields = vec![
        f("name", "type: text, required: true, max_length: 200"),
        f("revenue", "type: currency"),
        f("fax", "type: phone"),
    ];
    fields.extend_from_slice(extra);
    entity("company", &fields, "")
}

/// A contact: references to company and to itself, a unique e-mail, an
/// index, a unique group and a field of every type. `change` replaces (by
/// name) or, with `None` options, removes fields.
pub(super) fn contact(change: &[(&str, Option<&str>)]) -> SourceFile {
    let base = [
        ("name", "type: text, required: true, max_length: 100"),
        ("email", "type: email, unique: true"),
        ("company", "type: reference, target: company"),
        ("manager", "type: reference, target: contact, on_delete: set_null"),
        ("stage", "type: picklist, picklist: stage, default: lead"),
        ("active", "type: boolean"),
        ("born", "type: date"),
        ("seen_at", "type: datetime"),
        ("notes", "type: long_text"),
        ("tags", "type: multi_picklist, picklist: stage"),
        ("score", "type: integer"),
        ("ratio", "type: decimal, precision: 10, scale: 3"),
        ("share", "type: percent"),
        ("phone", "type: phone, max_length: 40"),
        ("home", "type: url"),
    ];
    let fields: Vec<String> = base
        .iter()
        .filter_map(|(name, opts)| match change.iter().find(|(n, _)| n == name) {
            Some((_, Some(new))) => Some(f(name, new)),
            Some((_, None)) => None,
            None => Some(f(name, opts)),
        })
        .collect();
    let group = if fields.iter().any(|x| x.contains("name: phone,")) {
        "unique:\n  - { fields: [company, phone] }\n"
    } else {
        ""
    };
    entity(
        "contact",
        &fields,
        &format!("indexes:\n  - {{ fields: [name] }}\n{group}"),
    )
}

/// The CRM-like model most tests start from.
pub(super) fn crm() -> Vec<SourceFile> {
    vec![picklist("stage", &["lead", "customer"]), company(&[]), contact(&[])]
}
