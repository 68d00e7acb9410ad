//! Cross-checks of the view kinds: every entity, field, list and reference
//! they name exists and fits.

use std::collections::HashSet;

use super::check::{Ctx, Model};
use super::items::{EntityDef, FieldType};
use super::values::{form_operand, USER_COLUMNS};
use super::views::{ConditionOp, FormDef, ListDef, ModuleDef};

/// System columns a list may show or sort on.
const LISTABLE_SYSTEM_COLUMNS: [&str; 2] = ["created_at", "updated_at"];

/// Filter operators of the record API (`OP.VALUE`).
const FILTER_OPS: [&str; 11] = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "contains",
    "starts_with",
    "in",
    "is",
    "not",
];

fn entity<'m>(ctx: &mut Ctx<'_>, model: &'m Model, path: &str, name: &str) -> Option<&'m EntityDef> {
    let e = model.entities.get(name);
    if e.is_none() {
        ctx.error(path, format!("unknown entity `{name}`"));
    }
    e
}

fn has_field(e: &EntityDef, name: &str) -> bool {
    e.fields.iter().any(|f| f.name == name)
}

fn is_attachment(e: &EntityDef, name: &str) -> bool {
    e.fields
        .iter()
        .any(|f| f.name == name && f.field_type == FieldType::Attachment)
}

/// A virtual computed field is shown (lists, forms) but has no column.
fn virtual_message(name: &str, verb: &str) -> String {
    format!("`{name}` is a virtual computed field (worked out when a record is read, not stored) and cannot be {verb}")
}

fn column_ok(e: &EntityDef, name: &str) -> bool {
    has_field(e, name) || LISTABLE_SYSTEM_COLUMNS.contains(&name)
}

/// Where a column list is: a list shows attachment fields (the files'
/// count and first name), a related list does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Columns {
    List,
    Related,
}

fn check_columns(ctx: &mut Ctx<'_>, path: &str, e: &EntityDef, columns: &[String], kind: Columns) {
    if columns.is_empty() {
        ctx.error(path, "list at least one column");
    }
    for (i, c) in columns.iter().enumerate() {
        if !column_ok(e, c) {
            ctx.error(format!("{path}[{i}]"), format!("`{c}` is not a field of {}", e.name));
        } else if is_attachment(e, c) && kind == Columns::Related {
            ctx.error(
                format!("{path}[{i}]"),
                format!("`{c}` is an attachment field: a related list cannot show it (a list can)"),
            );
        } else if is_attachment(e, c) && i == 0 {
            ctx.error(
                format!("{path}[{i}]"),
                format!(
                    "`{c}` is an attachment field: the first column links to the record, so it must be another field"
                ),
            );
        }
    }
}

fn check_sort(ctx: &mut Ctx<'_>, path: &str, e: &EntityDef, sort: &[String]) {
    for (i, key) in sort.iter().enumerate() {
        let name = key.strip_prefix('-').unwrap_or(key);
        match e.fields.iter().find(|f| f.name == name) {
            Some(f) if f.is_virtual() => ctx.error(format!("{path}[{i}]"), virtual_message(name, "sorted on")),
            Some(f)
                if matches!(
                    f.field_type,
                    FieldType::LongText | FieldType::MultiPicklist | FieldType::Attachment
                ) =>
            {
                ctx.error(
                    format!("{path}[{i}]"),
                    format!(
                        "`{name}` is {} field and cannot be sorted on",
                        f.field_type.with_article()
                    ),
                )
            }
            Some(_) => {}
            None if LISTABLE_SYSTEM_COLUMNS.contains(&name) => {}
            None => ctx.error(format!("{path}[{i}]"), format!("`{name}` is not a field of {}", e.name)),
        }
    }
}

/// Checks a `form`.
pub(super) fn check_form(ctx: &mut Ctx<'_>, f: &FormDef, model: &Model) {
    ctx.version(f.version);
    ctx.ident("name", &f.name);
    let Some(e) = entity(ctx, model, "entity", &f.entity) else {
        return;
    };
    if f.tabs.is_empty() {
        ctx.error("tabs", "a form needs at least one tab");
    }
    let mut tab_names = HashSet::new();
    let mut placed = HashSet::new();
    for (t, tab) in f.tabs.iter().enumerate() {
        let at = format!("tabs[{t}]");
        ctx.ident(format!("{at}.name"), &tab.name);
        if !tab_names.insert(&tab.name) {
            ctx.error(format!("{at}.name"), format!("`{}` is used by another tab", tab.name));
        }
        if tab.sections.is_empty() && tab.related.is_empty() {
            ctx.error(&at, "a tab needs at least one section or related list");
        }
        let mut section_names = HashSet::new();
        for (s, section) in tab.sections.iter().enumerate() {
            let at = format!("{at}.sections[{s}]");
            ctx.ident(format!("{at}.name"), &section.name);
            if !section_names.insert(&section.name) {
                ctx.error(
                    format!("{at}.name"),
                    format!("`{}` is used by another section of this tab", section.name),
                );
            }
            if let Some(c) = section.columns {
                if !(1..=4).contains(&c) {
                    ctx.error(format!("{at}.columns"), format!("expected 1 to 4, found {c}"));
                }
            }
            for (i, ff) in section.fields.iter().enumerate() {
                let at = format!("{at}.fields[{i}]");
                if !has_field(e, &ff.field) {
                    ctx.error(
                        format!("{at}.field"),
                        format!("`{}` is not a field of {}", ff.field, e.name),
                    );
                } else if !placed.insert(&ff.field) {
                    ctx.error(format!("{at}.field"), format!("`{}` is already on this form", ff.field));
                }
                if let Some(cond) = &ff.visible_when {
                    if !has_field(e, &cond.field) {
                        ctx.error(
                            format!("{at}.visible_when.field"),
                            format!("`{}` is not a field of {}", cond.field, e.name),
                        );
                    }
                    let needs_value = matches!(cond.op, ConditionOp::Eq | ConditionOp::Ne | ConditionOp::In);
                    match (&cond.value, needs_value) {
                        (None, true) => ctx.error(format!("{at}.visible_when.value"), "this test needs a `value`"),
                        (Some(v), true) if cond.op == ConditionOp::In && !v.is_array() => {
                            ctx.error(format!("{at}.visible_when.value"), "`in` needs a list of values")
                        }
                        (Some(_), false) => ctx.error(format!("{at}.visible_when.value"), "this test takes no `value`"),
                        _ => {}
                    }
                }
            }
        }
        for (r, rel) in tab.related.iter().enumerate() {
            let at = format!("{at}.related[{r}]");
            let Some(re) = entity(ctx, model, &format!("{at}.entity"), &rel.entity) else {
                continue;
            };
            match re.fields.iter().find(|x| x.name == rel.via) {
                None => ctx.error(
                    format!("{at}.via"),
                    format!("`{}` is not a field of {}", rel.via, re.name),
                ),
                Some(v) if v.target.as_deref() != Some(e.name.as_str()) => ctx.error(
                    format!("{at}.via"),
                    format!("`{}.{}` does not reference {}", re.name, rel.via, e.name),
                ),
                Some(_) => {}
            }
            check_columns(ctx, &format!("{at}.columns"), re, &rel.columns, Columns::Related);
            check_sort(ctx, &format!("{at}.sort"), re, &rel.sort);
            check_filter(ctx, &format!("{at}.filter"), re, &rel.filter, model, false);
            if rel.page_size.is_some_and(|n| !(1..=100).contains(&n)) {
                ctx.error(format!("{at}.page_size"), "expected 1 to 100");
            }
            if let Some(tree) = &rel.tree {
                match re.fields.iter().find(|x| &x.name == tree) {
                    None => ctx.error(format!("{at}.tree"), format!("`{tree}` is not a field of {}", re.name)),
                    Some(t) if !t.hierarchy => ctx.error(
                        format!("{at}.tree"),
                        format!(
                            "`{}.{tree}` is not a hierarchy (a reference to {0} with `hierarchy: true`)",
                            re.name
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    for (b, button) in f.buttons.iter().enumerate() {
        ctx.ident(format!("buttons[{b}].command"), &button.command);
        let known = model
            .entities
            .get(&f.entity)
            .is_none_or(|e| e.commands.iter().any(|c| c.name == button.command));
        if !known {
            ctx.error(
                format!("buttons[{b}].command"),
                format!("`{}` is not a command of {}", button.command, f.entity),
            );
        }
    }
}

/// Checks conditions in the record API's filter form (`field` or
/// `reference.field` to `OP.VALUE`) on entity `e`, reported under `at`: a
/// list's `filter`, a reference's `lookup_filter`.
/// `from_form`: a value may be a field of the form being filled in
/// (`eq.{company}`, a reference field's `lookup_filter`); the caller checks
/// that field.
pub(super) fn check_filter(
    ctx: &mut Ctx<'_>,
    at: &str,
    e: &EntityDef,
    filter: &indexmap::IndexMap<String, String>,
    model: &Model,
    from_form: bool,
) {
    for (key, value) in filter {
        let at = format!("{at}.{key}");
        if let Some(flag) = value.strip_prefix("exists.") {
            check_related(ctx, &at, e, key, flag, model);
            continue;
        }
        let (target, field) = match key.split_once('.') {
            None => (Some(e), key.as_str()),
            Some((reference, field)) => {
                let target = e
                    .fields
                    .iter()
                    .find(|f| f.name == reference && f.field_type == FieldType::Reference)
                    .and_then(|f| f.target.as_ref())
                    .and_then(|t| model.entities.get(t));
                if target.is_none() {
                    ctx.error(&at, format!("`{reference}` is not a reference field of {}", e.name));
                }
                (target, field)
            }
        };
        if let Some(t) = target {
            if !column_ok(t, field) && !USER_COLUMNS.contains(&field) {
                ctx.error(&at, format!("`{field}` is not a field of {}", t.name));
            } else if is_attachment(t, field) {
                ctx.error(
                    &at,
                    format!("`{field}` is an attachment field and cannot be filtered on"),
                );
            } else if t.fields.iter().any(|f| f.name == field && f.is_virtual()) {
                ctx.error(&at, virtual_message(field, "filtered on"));
            }
        }
        let (op, operand) = value.split_once('.').unzip();
        if !from_form && form_operand(value).is_some() {
            ctx.error(
                &at,
                "a value from the form (`{field}`) is only for a reference field's `lookup_filter`",
            );
        }
        if operand == Some("me") && !USER_COLUMNS.contains(&field) {
            ctx.error(
                &at,
                "`me` (the signed-in user) compares with owner_id, created_by or updated_by",
            );
        }
        if !op.is_some_and(|op| FILTER_OPS.contains(&op)) {
            ctx.error(
                &at,
                format!(
                    "expected OP.VALUE with OP one of {}, found `{value}`",
                    FILTER_OPS.join(", ")
                ),
            );
        }
    }
}

/// Checks `ENTITY.VIA: exists.true|false` (some live record of ENTITY
/// references the record through VIA, or none does).
fn check_related(ctx: &mut Ctx<'_>, at: &str, e: &EntityDef, key: &str, flag: &str, model: &Model) {
    if flag != "true" && flag != "false" {
        ctx.error(at, "expected exists.true or exists.false");
    }
    let Some((entity, via)) = key.split_once('.') else {
        ctx.error(
            at,
            format!(
                "`exists` takes ENTITY.FIELD, a reference field of another entity to {}",
                e.name
            ),
        );
        return;
    };
    let points_here = model.entities.get(entity).is_some_and(|r| {
        r.fields
            .iter()
            .any(|f| f.name == via && f.field_type == FieldType::Reference && f.target.as_deref() == Some(&e.name))
    });
    if !points_here {
        ctx.error(
            at,
            format!("`{via}` is not a reference field of {entity} to {}", e.name),
        );
    }
}

/// Checks a `list`.
pub(super) fn check_list(ctx: &mut Ctx<'_>, l: &ListDef, model: &Model) {
    ctx.version(l.version);
    ctx.ident("name", &l.name);
    let Some(e) = entity(ctx, model, "entity", &l.entity) else {
        return;
    };
    check_columns(ctx, "columns", e, &l.columns, Columns::List);
    check_sort(ctx, "sort", e, &l.sort);
    check_filter(ctx, "filter", e, &l.filter, model, false);
    if l.page_size.is_some_and(|n| !(1..=500).contains(&n)) {
        ctx.error("page_size", "expected 1 to 500");
    }
    for (i, name) in l.quick_search.iter().enumerate() {
        match e.fields.iter().find(|f| &f.name == name) {
            Some(f) if f.is_virtual() => ctx.error(format!("quick_search[{i}]"), virtual_message(name, "searched")),
            Some(f) if f.field_type.is_short_text() || f.field_type == FieldType::LongText => {}
            Some(f) => ctx.error(
                format!("quick_search[{i}]"),
                format!(
                    "`{name}` is {} field; quick search looks in text fields",
                    f.field_type.with_article()
                ),
            ),
            None => ctx.error(
                format!("quick_search[{i}]"),
                format!("`{name}` is not a field of {}", e.name),
            ),
        }
    }
}

/// Checks a `module`.
pub(super) fn check_module(ctx: &mut Ctx<'_>, m: &ModuleDef, model: &Model) {
    ctx.version(m.version);
    ctx.ident("name", &m.name);
    if m.items.is_empty() {
        ctx.error("items", "a module needs at least one item");
    }
    for (i, item) in m.items.iter().enumerate() {
        let at = format!("items[{i}]");
        match (&item.list, &item.entity) {
            (Some(list), None) => {
                if !model.lists.contains_key(list) {
                    ctx.error(format!("{at}.list"), format!("unknown list `{list}`"));
                }
            }
            (None, Some(entity_name)) => {
                entity(ctx, model, &format!("{at}.entity"), entity_name);
            }
            _ => ctx.error(&at, "give exactly one of `list` or `entity`"),
        }
    }
}
