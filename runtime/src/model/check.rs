//! Cross-checks across the items of a package (names, references, per-type
//! options), and the checked [`Model`] they build.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::Value;

use super::demo::DemoDef;
use super::error::{MetadataError, MetadataErrors};
use super::ident::check_ident;
use super::items::{AttachmentDef, EntityDef, FieldDef, FieldType, Item, PicklistDef, LANGUAGE_VERSION};
use super::package::SourcedItem;
use super::views::{FormDef, ListDef, ModuleDef};

/// System columns an entity's `indexes` may list besides its fields: the
/// owner (for "my records" lists) and the two instants ("recently changed").
const INDEXABLE_SYSTEM_COLUMNS: [&str; 3] = ["owner_id", "created_at", "updated_at"];

/// A checked application model: every name valid, every reference resolved.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    /// Entities by name, in package order.
    pub entities: IndexMap<String, EntityDef>,
    /// Pick lists by name, in package order.
    pub picklists: IndexMap<String, PicklistDef>,
    /// Forms by name, in package order.
    pub forms: IndexMap<String, FormDef>,
    /// Lists by name, in package order.
    pub lists: IndexMap<String, ListDef>,
    /// Modules by name, in package order.
    pub modules: IndexMap<String, ModuleDef>,
    /// Rhai scripts by name (`opportunity.rhai`, the path under `scripts/`): their text.
    pub scripts: IndexMap<String, String>,
    /// Demo-data items by name, in package order (their entities are
    /// generated in this order).
    pub demos: IndexMap<String, DemoDef>,
}

impl Model {
    /// Cross-checks schema-valid items and builds the model, or returns every error found.
    pub fn build(items: &[SourcedItem]) -> Result<Model, MetadataErrors> {
        Model::build_with_scripts(items, IndexMap::new())
    }

    /// Like [`Model::build`], with the package's scripts (name -> text),
    /// which `rules:` blocks refer to.
    pub fn build_with_scripts(
        items: &[SourcedItem],
        scripts: IndexMap<String, String>,
    ) -> Result<Model, MetadataErrors> {
        let mut errors = Vec::new();
        let mut model = Model {
            scripts,
            ..Model::default()
        };
        let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
        for si in items {
            let key = (si.item.kind(), si.item.name());
            if let Some(first) = seen.insert(key, &si.path) {
                errors.push(MetadataError::new(
                    &si.path,
                    "name",
                    format!("{} `{}` is already defined in {first}", key.0, key.1),
                ));
                continue;
            }
            match &si.item {
                Item::Entity(e) => {
                    model.entities.insert(e.name.clone(), e.clone());
                }
                Item::Picklist(p) => {
                    model.picklists.insert(p.name.clone(), p.clone());
                }
                Item::Form(f) => {
                    model.forms.insert(f.name.clone(), f.clone());
                }
                Item::List(l) => {
                    model.lists.insert(l.name.clone(), l.clone());
                }
                Item::Module(m) => {
                    model.modules.insert(m.name.clone(), m.clone());
                }
                // In file-path order, below: a release read back from the
                // store lists its items by kind and name.
                Item::Demo(_) => {}
            }
        }
        let mut demo_items: Vec<&SourcedItem> = items.iter().filter(|si| matches!(si.item, Item::Demo(_))).collect();
        demo_items.sort_by(|a, b| a.path.cmp(&b.path));
        for si in &demo_items {
            if let Item::Demo(d) = &si.item {
                model.demos.entry(d.name.clone()).or_insert_with(|| d.clone());
            }
        }
        let mut demo_scope = super::demo_check::DemoScope::collect(items, &mut errors);
        for si in items {
            let mut ctx = Ctx {
                file: &si.path,
                errors: &mut errors,
            };
            match &si.item {
                Item::Entity(e) => check_entity(&mut ctx, e, &model),
                Item::Picklist(p) => check_picklist(&mut ctx, p),
                Item::Form(f) => super::views_check::check_form(&mut ctx, f, &model),
                Item::List(l) => super::views_check::check_list(&mut ctx, l, &model),
                Item::Module(m) => {
                    super::views_check::check_module(&mut ctx, m, &model);
                    check_module_entries(&mut ctx, m, &model);
                }
                Item::Demo(_) => {}
            }
        }
        for si in demo_items {
            let mut ctx = Ctx {
                file: &si.path,
                errors: &mut errors,
            };
            if let Item::Demo(d) = &si.item {
                super::demo_check::check_demo(&mut ctx, &si.path, d, &model, &mut demo_scope);
            }
        }
        if errors.is_empty() {
            Ok(model)
        } else {
            Err(MetadataErrors(errors))
        }
    }

    /// The model as the entity tables see it: every entity without its
    /// attachment fields (their files live in the attachment store).
    pub fn stored(&self) -> Model {
        let mut m = self.clone();
        for e in m.entities.values_mut() {
            e.fields.retain(FieldDef::has_column);
        }
        m
    }
}

/// Where cross-check errors are collected, for one file.
pub(super) struct Ctx<'a> {
    file: &'a str,
    errors: &'a mut Vec<MetadataError>,
}

impl Ctx<'_> {
    pub(super) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(MetadataError::new(self.file, path, message));
    }

    pub(super) fn ident(&mut self, path: impl Into<String>, name: &str) {
        if let Err(e) = check_ident(name) {
            self.error(path, format!("`{name}` {e}"));
        }
    }

    pub(super) fn version(&mut self, version: u32) {
        if version != LANGUAGE_VERSION {
            self.error("version", format!("expected {LANGUAGE_VERSION}, found {version}"));
        }
    }
}

/// The icons a module may show in the sidebar; the UI's base template
/// draws each of them.
pub const MODULE_ICONS: &[&str] = &[
    "briefcase",
    "building",
    "calendar",
    "cart",
    "chart",
    "document",
    "folder",
    "home",
    "lifebuoy",
    "mail",
    "megaphone",
    "phone",
    "settings",
    "star",
    "users",
    "wrench",
];

/// A module's icon is one the UI draws, and no two of its entries read
/// the same in the sidebar (in either language): users could not tell
/// them apart.
fn check_module_entries(ctx: &mut Ctx<'_>, m: &ModuleDef, model: &Model) {
    if let Some(icon) = m.icon.as_deref().filter(|i| !MODULE_ICONS.contains(i)) {
        ctx.error(
            "icon",
            format!("unknown icon `{icon}`; expected one of: {}", MODULE_ICONS.join(", ")),
        );
    }
    let mut seen: Vec<(usize, &super::Labels)> = Vec::new();
    for (i, item) in m.items.iter().enumerate() {
        let Some(label) = entry_label(item, model) else {
            continue;
        };
        let clash = seen.iter().find_map(|(j, other)| {
            let same = |a: &str, b: &str| !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim());
            match (same(&label.en, &other.en), same(&label.zh_cn, &other.zh_cn)) {
                (true, _) => Some((*j, label.en.as_str())),
                (false, true) => Some((*j, label.zh_cn.as_str())),
                _ => None,
            }
        });
        match clash {
            Some((j, text)) => ctx.error(
                format!("items[{i}]"),
                format!("reads `{text}` like items[{j}]: give one of them a `label` of its own"),
            ),
            None => seen.push((i, label)),
        }
    }
}

/// The text a module entry shows: its own label, else its list's title (an
/// entity's: its first list's, else its plural label, as the views build it).
fn entry_label<'a>(item: &'a super::ModuleItemDef, model: &'a Model) -> Option<&'a super::Labels> {
    if let Some(l) = &item.label {
        return Some(l);
    }
    match (&item.list, &item.entity) {
        (Some(list), _) => model.lists.get(list).map(|l| &l.label),
        (None, Some(entity)) => {
            let declared = model
                .lists
                .get(entity)
                .filter(|l| &l.entity == entity)
                .or_else(|| model.lists.values().find(|l| &l.entity == entity));
            match declared {
                Some(l) => Some(&l.label),
                None => model.entities.get(entity).map(|e| &e.plural_label),
            }
        }
        (None, None) => None,
    }
}

fn check_picklist(ctx: &mut Ctx<'_>, p: &PicklistDef) {
    ctx.version(p.version);
    ctx.ident("name", &p.name);
    if p.values.is_empty() {
        ctx.error("values", "a pick list needs at least one value");
    }
    let mut codes = HashSet::new();
    for (i, v) in p.values.iter().enumerate() {
        // A code is a data value (bound, never an SQL name): SQL's
        // reserved words (`order`, `full`) are fine codes.
        if let Err(e) = super::ident::check_code(&v.code) {
            ctx.error(format!("values[{i}].code"), format!("`{}` {e}", v.code));
        }
        if !codes.insert(v.code.as_str()) {
            ctx.error(format!("values[{i}].code"), format!("`{}` appears twice", v.code));
        }
        for (key, value) in &v.data {
            let at = format!("values[{i}].data.{key}");
            ctx.ident(&at, key);
            if !(value.is_string() || value.is_number() || value.is_boolean()) {
                ctx.error(at, "a data value is a text, a number or a boolean");
            }
        }
    }
}

/// `not_before` and `date_only_when`: options naming another field of the
/// entity, of the right type.
fn check_sibling_options(ctx: &mut Ctx<'_>, at: &str, f: &FieldDef, e: &EntityDef) {
    let sibling = |name: &str| e.fields.iter().find(|x| x.name == name && x.name != f.name);
    if let Some(other) = &f.not_before {
        let dated = matches!(f.field_type, FieldType::Date | FieldType::Datetime);
        match sibling(other) {
            None => ctx.error(
                format!("{at}.not_before"),
                format!("`{other}` is not another field of {}", e.name),
            ),
            Some(o) if !dated || o.field_type != f.field_type => ctx.error(
                format!("{at}.not_before"),
                "`not_before` compares two date fields or two datetime fields",
            ),
            Some(_) => {}
        }
    }
    if let Some(flag) = &f.date_only_when {
        if f.field_type != FieldType::Datetime {
            ctx.error(
                format!("{at}.date_only_when"),
                "`date_only_when` applies to datetime fields",
            );
        } else if sibling(flag).is_none_or(|x| x.field_type != FieldType::Boolean) {
            ctx.error(
                format!("{at}.date_only_when"),
                format!("`{flag}` is not a boolean field of {}", e.name),
            );
        }
    }
}

fn check_entity(ctx: &mut Ctx<'_>, e: &EntityDef, model: &Model) {
    ctx.version(e.version);
    ctx.ident("name", &e.name);
    if e.fields.is_empty() {
        ctx.error("fields", "an entity needs at least one field");
    }
    let mut names = HashSet::new();
    for (i, f) in e.fields.iter().enumerate() {
        if !names.insert(f.name.as_str()) {
            ctx.error(format!("fields[{i}].name"), format!("`{}` is defined twice", f.name));
        }
        check_field(ctx, &format!("fields[{i}]"), f, model);
        for (key, value) in &f.lookup_filter {
            let from = super::values::form_operand(value).map(|(_, field)| field);
            let known = |name: &str| {
                e.fields
                    .iter()
                    .any(|x| x.name == name && x.field_type != FieldType::Attachment)
            };
            if let Some(name) = from.filter(|name| !known(name)) {
                ctx.error(
                    format!("fields[{i}].lookup_filter.{key}"),
                    format!("`{{{name}}}`: `{name}` is not a field of this entity"),
                );
            }
        }
        check_sibling_options(ctx, &format!("fields[{i}]"), f, e);
        if f.hierarchy && f.target.as_deref() != Some(e.name.as_str()) {
            ctx.error(
                format!("fields[{i}].hierarchy"),
                format!("a hierarchy is a reference to the entity itself (`target: {}`)", e.name),
            );
        }
    }
    match e.fields.iter().find(|f| f.name == e.display_field) {
        None => ctx.error(
            "display_field",
            format!("`{}` is not a field of this entity", e.display_field),
        ),
        Some(f) if !f.field_type.is_short_text() => ctx.error(
            "display_field",
            format!(
                "`{}` is {} field; expected a text, email, phone or url field",
                f.name,
                f.field_type.with_article()
            ),
        ),
        Some(_) => {}
    }
    check_search(ctx, e);
    super::rules::check_entity_rules(ctx, e, model);
    let field_lists = e
        .indexes
        .iter()
        .enumerate()
        .map(|(i, ix)| (format!("indexes[{i}].fields"), &ix.fields, true))
        .chain(
            e.unique
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("unique[{i}].fields"), &u.fields, false)),
        );
    for (path, fields, index) in field_lists {
        if fields.is_empty() {
            ctx.error(&path, "list at least one field");
        }
        let mut seen = HashSet::new();
        for (j, name) in fields.iter().enumerate() {
            let system = index && INDEXABLE_SYSTEM_COLUMNS.contains(&name.as_str());
            if !system && !names.contains(name.as_str()) {
                let also = if index {
                    " (nor one of owner_id, created_at, updated_at)"
                } else {
                    ""
                };
                ctx.error(
                    format!("{path}[{j}]"),
                    format!("`{name}` is not a field of this entity{also}"),
                );
            } else if !system && e.attachment_fields().any(|f| &f.name == name) {
                ctx.error(
                    format!("{path}[{j}]"),
                    format!("`{name}` is an attachment field and has no column to index"),
                );
            } else if !seen.insert(name) {
                ctx.error(format!("{path}[{j}]"), format!("`{name}` is listed twice"));
            }
        }
    }
}

/// The `search:` block: known, text-like fields, each listed once.
fn check_search(ctx: &mut Ctx<'_>, e: &EntityDef) {
    let Some(search) = &e.search else { return };
    let mut seen = HashSet::new();
    for (i, name) in search.fields.iter().enumerate() {
        let path = format!("search.fields[{i}]");
        match e.fields.iter().find(|f| &f.name == name) {
            None => ctx.error(path, format!("`{name}` is not a field of this entity")),
            Some(f) if !f.field_type.is_searchable() => ctx.error(
                path,
                format!(
                    "`{name}` is a {} field; expected a text, long_text, email, phone, url or picklist field",
                    f.field_type.as_str()
                ),
            ),
            Some(_) if !seen.insert(name.as_str()) => ctx.error(path, format!("`{name}` is listed twice")),
            Some(_) => {}
        }
    }
}

/// `numbering:` applies to text fields a client or a rule may leave empty,
/// and its longest value must fit the field.
fn check_numbering(ctx: &mut Ctx<'_>, at: &str, f: &FieldDef, n: &super::NumberingDef) {
    let at = format!("{at}.numbering");
    if f.field_type != FieldType::Text {
        ctx.error(
            &at,
            format!(
                "`numbering` applies to text fields, not to {} field",
                f.field_type.with_article()
            ),
        );
        return;
    }
    if f.computed.is_some() || f.default.is_some() {
        ctx.error(&at, "a numbered field cannot also be computed or have a default");
    }
    let digits = n.digits.unwrap_or(super::NumberingDef::DEFAULT_DIGITS);
    if !(1..=12).contains(&digits) {
        ctx.error(format!("{at}.digits"), format!("expected 1 to 12, found {digits}"));
    }
    if n.prefix.chars().count() > 20 || n.prefix.chars().any(char::is_control) {
        ctx.error(format!("{at}.prefix"), "expected at most 20 printable characters");
    }
    // Prefix, an 8-digit period and its dash, and a counter past its digits.
    let longest = n.prefix.chars().count() + 9 + digits.max(10) as usize;
    if let Some(max) = f.max_length.filter(|m| (*m as usize) < longest) {
        ctx.error(
            &at,
            format!("numbers can be {longest} characters long, more than max_length ({max})"),
        );
    }
}

fn check_field(ctx: &mut Ctx<'_>, at: &str, f: &FieldDef, model: &Model) {
    let t = f.field_type;
    let tn = t.as_str();
    ctx.ident(format!("{at}.name"), &f.name);
    let a_tn = t.with_article();
    let not_for = |opt: &str| format!("`{opt}` does not apply to {a_tn} field");
    if let Some(len) = f.max_length {
        if !(t.is_short_text() || t == FieldType::LongText) {
            ctx.error(format!("{at}.max_length"), not_for("max_length"));
        } else if len == 0 || (t.is_short_text() && len > 10_000) {
            ctx.error(
                format!("{at}.max_length"),
                format!("expected 1 to 10000 for a {tn} field, found {len}"),
            );
        }
    }
    if f.precision.is_some() || f.scale.is_some() {
        if !t.is_decimal() {
            let opt = if f.precision.is_some() { "precision" } else { "scale" };
            ctx.error(format!("{at}.{opt}"), not_for(opt));
        } else {
            let (p, s) = decimal_shape(f);
            let max = super::decimals::MAX_PRECISION;
            if !(1..=max).contains(&p) {
                // Values are exact: a value scaled by 10^scale fits 64 bits.
                ctx.error(format!("{at}.precision"), format!("expected 1 to {max}, found {p}"));
            } else if s > p {
                ctx.error(
                    format!("{at}.scale"),
                    format!("expected at most the precision ({p}), found {s}"),
                );
            }
        }
    }
    let numeric = t == FieldType::Integer || t.is_decimal();
    for (opt, v) in [("min", f.min), ("max", f.max)] {
        if v.is_some() && !numeric {
            ctx.error(format!("{at}.{opt}"), not_for(opt));
        }
    }
    if let (Some(min), Some(max)) = (f.min, f.max) {
        if min > max {
            ctx.error(
                format!("{at}.max"),
                format!("expected at least min ({min}), found {max}"),
            );
        }
    }
    let needs_picklist = matches!(t, FieldType::Picklist | FieldType::MultiPicklist);
    match (&f.picklist, needs_picklist) {
        (None, true) => ctx.error(format!("{at}.picklist"), format!("a {tn} field needs `picklist`")),
        (Some(_), false) => ctx.error(format!("{at}.picklist"), not_for("picklist")),
        (Some(p), true) if !model.picklists.contains_key(p) => {
            ctx.error(format!("{at}.picklist"), format!("unknown pick list `{p}`"))
        }
        _ => {}
    }
    let is_ref = t == FieldType::Reference;
    match (&f.target, is_ref) {
        (None, true) => ctx.error(format!("{at}.target"), "a reference field needs `target`"),
        (Some(_), false) => ctx.error(format!("{at}.target"), not_for("target")),
        (Some(target), true) if !model.entities.contains_key(target) => {
            ctx.error(format!("{at}.target"), format!("unknown entity `{target}`"))
        }
        _ => {}
    }
    if let Some(n) = &f.numbering {
        check_numbering(ctx, at, f, n);
    }
    if !f.lookup_filter.is_empty() {
        let lookup_at = format!("{at}.lookup_filter");
        match f.target.as_ref().and_then(|t| model.entities.get(t)) {
            _ if !is_ref => ctx.error(lookup_at, not_for("lookup_filter")),
            Some(target) => super::views_check::check_filter(ctx, &lookup_at, target, &f.lookup_filter, model, true),
            None => {} // the unknown target is reported above
        }
    }
    if f.on_delete.is_some() && !is_ref {
        ctx.error(format!("{at}.on_delete"), not_for("on_delete"));
    }
    if f.unique && matches!(t, FieldType::LongText | FieldType::MultiPicklist | FieldType::Boolean) {
        ctx.error(format!("{at}.unique"), format!("a {tn} field cannot be unique"));
    }
    if t == FieldType::Attachment {
        check_attachment(ctx, at, f);
    } else if f.attachment.is_some() {
        ctx.error(format!("{at}.attachment"), not_for("attachment"));
    }
    if let Some(default) = &f.default {
        if let Err(why) = check_default(f, default, model) {
            ctx.error(format!("{at}.default"), why);
        }
    }
}

/// The rules of an attachment field: its files live outside the table, so
/// nothing that needs a column (unique, default, required) applies.
fn check_attachment(ctx: &mut Ctx<'_>, at: &str, f: &FieldDef) {
    if f.unique {
        ctx.error(format!("{at}.unique"), "an attachment field cannot be unique");
    }
    if f.required {
        ctx.error(
            format!("{at}.required"),
            "an attachment field cannot be required: files are uploaded after the record is saved",
        );
    }
    let Some(a) = &f.attachment else { return };
    if let Some(mb) = a.max_size_mb {
        if !(1..=AttachmentDef::MAX_SIZE_MB).contains(&mb) {
            ctx.error(
                format!("{at}.attachment.max_size_mb"),
                format!("expected 1 to {}, found {mb}", AttachmentDef::MAX_SIZE_MB),
            );
        }
    }
    for (i, t) in a.types.iter().enumerate() {
        if !is_media_type_pattern(t) {
            ctx.error(
                format!("{at}.attachment.types[{i}]"),
                format!("`{t}` is not a media type such as application/pdf or image/*"),
            );
        }
    }
}

/// `type/subtype` or `type/*`, in the characters media types use (RFC 6838).
fn is_media_type_pattern(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty() && s.len() <= 127 && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match t.split_once('/') {
        Some((family, "*")) => token(family),
        Some((family, sub)) => token(family) && token(sub),
        None => false,
    }
}

/// The (precision, scale) of a decimal-like field, with the type's defaults.
pub fn decimal_shape(f: &FieldDef) -> (u32, u32) {
    let default_scale = if f.field_type == FieldType::Decimal { 4 } else { 2 };
    (f.precision.unwrap_or(18), f.scale.unwrap_or(default_scale))
}

pub(super) fn check_default(f: &FieldDef, v: &Value, model: &Model) -> Result<(), String> {
    let codes = |name: &Option<String>| -> Vec<String> {
        name.as_ref()
            .and_then(|n| model.picklists.get(n))
            .map(|p| p.values.iter().filter(|v| v.active).map(|v| v.code.clone()).collect())
            .unwrap_or_default()
    };
    let ok = match f.field_type {
        FieldType::Reference => return Err("a reference field cannot have a default".into()),
        FieldType::Attachment => return Err("an attachment field cannot have a default".into()),
        FieldType::Integer => v.is_i64(),
        FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
            // A default is written like any value: it must fit, exactly.
            let (p, s) = decimal_shape(f);
            let fits = super::decimals::of_json(v).is_some_and(|d| super::decimals::fit(d, p, s).is_ok());
            if v.is_number() && !fits {
                return Err(format!("{v} does not fit: {}", super::decimals::limit_words(p, s)));
            }
            v.is_number()
        }
        FieldType::Boolean => v.is_boolean(),
        FieldType::Date => v.as_str().is_some_and(|s| super::values::parse_date(s).is_some()),
        FieldType::Datetime => v.as_str().is_some_and(|s| super::values::parse_datetime(s).is_some()),
        FieldType::Picklist => {
            let codes = codes(&f.picklist);
            return match v.as_str() {
                Some(s) if codes.iter().any(|c| c == s) => Ok(()),
                _ => Err(format!("expected one of the active codes: {}", codes.join(", "))),
            };
        }
        FieldType::MultiPicklist => {
            let codes = codes(&f.picklist);
            v.as_array().is_some_and(|a| {
                a.iter()
                    .all(|x| x.as_str().is_some_and(|s| codes.iter().any(|c| c == s)))
            })
        }
        _ => v.as_str().is_some_and(|s| {
            f.max_length
                .or(f.field_type.default_max_length())
                .is_none_or(|m| s.chars().count() <= m as usize)
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{v} is not a valid {} value", f.field_type.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{load_files, SourceFile};

    const LABEL: &str = "{ en: X, zh-CN: 某 }";

    fn errors(files: &[(&str, String)]) -> Vec<String> {
        let files: Vec<SourceFile> = files
            .iter()
            .map(|(path, text)| SourceFile {
                path: (*path).to_owned(),
                text: text.clone(),
            })
            .collect();
        match load_files(&files) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    fn entity(name: &str, plural: &str) -> (&'static str, String) {
        let path: &'static str = Box::leak(format!("{name}.yaml").into_boxed_str());
        let text = format!(
            "version: 1\nkind: entity\nname: {name}\nlabel: {LABEL}\nplural_label: {plural}\n\
             display_field: title\nfields:\n  - {{ name: title, type: text, label: {LABEL} }}\n"
        );
        (path, text)
    }

    #[test]
    fn decimal_precision_is_at_most_18_and_defaults_fit() {
        let field = |f: &str| {
            let text = format!(
                "version: 1\nkind: entity\nname: e\nlabel: {LABEL}\nplural_label: {LABEL}\n\
                 display_field: title\nfields:\n  - {{ name: title, type: text, label: {LABEL} }}\n  - {f}\n"
            );
            errors(&[("e.yaml", text)])
        };
        assert!(field(&format!("{{ name: a, type: currency, precision: 18, label: {LABEL} }}")).is_empty());
        assert_eq!(
            field(&format!(
                "{{ name: a, type: decimal, precision: 19, scale: 2, label: {LABEL} }}"
            )),
            ["e.yaml: fields[1].precision: expected 1 to 18, found 19"]
        );
        assert_eq!(
            field(&format!(
                "{{ name: a, type: currency, default: 0.001, label: {LABEL} }}"
            )),
            ["e.yaml: fields[1].default: 0.001 does not fit: at most 16 digits before the point and 2 after"]
        );
        assert!(field(&format!(
            "{{ name: a, type: currency, default: 19.99, label: {LABEL} }}"
        ))
        .is_empty());
    }

    fn module(icon: &str, items: &str) -> (&'static str, String) {
        let text = format!("version: 1\nkind: module\nname: m\nlabel: {LABEL}\nicon: {icon}\nitems:\n{items}");
        ("m.yaml", text)
    }

    #[test]
    fn a_module_flags_entries_that_read_the_same_and_unknown_icons() {
        let a = entity("visit", "{ en: Visits, zh-CN: 拜访 }");
        let b = entity("call", "{ en: visits, zh-CN: 电话 }");
        let c = entity("memo", "{ en: Memos, zh-CN: 拜访 }");
        let items = "  - entity: visit\n  - entity: call\n  - entity: memo\n  - entity: visit\n    label: { en: My visits, zh-CN: 我的拜访 }\n";
        let got = errors(&[a.clone(), b.clone(), c.clone(), module("rocket", items)]);
        let icons = super::MODULE_ICONS.join(", ");
        assert_eq!(
            got,
            [
                format!("m.yaml: icon: unknown icon `rocket`; expected one of: {icons}"),
                "m.yaml: items[1]: reads `visits` like items[0]: give one of them a `label` of its own".to_owned(),
                "m.yaml: items[2]: reads `拜访` like items[0]: give one of them a `label` of its own".to_owned(),
            ]
        );
        let fixed = "  - entity: visit\n  - entity: call\n    label: { en: Calls, zh-CN: 电话 }\n  - entity: memo\n    label: { en: Memos, zh-CN: 备忘 }\n";
        assert_eq!(errors(&[a, b, c, module("megaphone", fixed)]), Vec::<String>::new());
    }

    #[test]
    fn pick_list_codes_may_be_sql_words() {
        let list = "version: 1\nkind: picklist\nname: scope\nlabel: { en: S, zh-CN: 范 }\nvalues:\n\
                    \x20 - { code: full, label: { en: F, zh-CN: 全 } }\n\
                    \x20 - { code: order, label: { en: O, zh-CN: 单 } }\n\
                    \x20 - { code: Group, label: { en: G, zh-CN: 团 } }\n";
        assert_eq!(
            errors(&[("scope.yaml", list.to_owned())]),
            ["scope.yaml: values[2].code: `Group` must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)"]
        );
    }

    /// A list's filter (and a command's `when`) may ask for related records
    /// through a reference to the entity; anything else is refused.
    #[test]
    fn related_record_conditions_name_a_reference_here() {
        let head = "version: 1\nkind: entity\nname: deal\nlabel: { en: D, zh-CN: 单 }\nplural_label: { en: D, zh-CN: 单 }\ndisplay_field: title\n";
        let deal = format!("{head}fields:\n  - {{ name: title, type: text, label: {LABEL} }}\n");
        let line = format!(
            "version: 1\nkind: entity\nname: line\nlabel: {{ en: L, zh-CN: 行 }}\nplural_label: {{ en: L, zh-CN: 行 }}\ndisplay_field: title\n\
             fields:\n  - {{ name: title, type: text, label: {LABEL} }}\n  - {{ name: deal, type: reference, target: deal, label: {LABEL} }}\n"
        );
        let list = |filter: &str| {
            format!("version: 1\nkind: list\nname: l\nlabel: {LABEL}\nentity: deal\ncolumns: [title]\nfilter: {{ {filter} }}\n")
        };
        let run = |filter: &str| {
            errors(&[
                ("deal.yaml", deal.clone()),
                ("line.yaml", line.clone()),
                ("l.yaml", list(filter)),
            ])
        };
        assert!(
            run("line.deal: exists.true").is_empty(),
            "{:?}",
            run("line.deal: exists.true")
        );
        assert!(run("line.deal: exists.false").is_empty());
        assert_eq!(
            run("line.title: exists.true"),
            ["l.yaml: filter.line.title: `title` is not a reference field of line to deal"]
        );
        assert_eq!(
            run("line.deal: exists.maybe"),
            ["l.yaml: filter.line.deal: expected exists.true or exists.false"]
        );
        assert_eq!(
            run("nothing: exists.true"),
            ["l.yaml: filter.nothing: `exists` takes ENTITY.FIELD, a reference field of another entity to deal"]
        );
    }

    /// The checks refuse exactly the typed options that
    /// `FieldType::takes` says do not apply (what the schema tells editors).
    #[test]
    fn the_checks_refuse_the_options_a_type_does_not_take() {
        use crate::model::{FieldType, TYPED_OPTIONS};
        let list = "version: 1\nkind: picklist\nname: p\nlabel: { en: P, zh-CN: 选 }\nvalues: [{ code: a, label: { en: A, zh-CN: 甲 } }]\n";
        for t in FieldType::ALL {
            let tn = t.as_str();
            let default = match t {
                FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent => "1",
                FieldType::Boolean => "true",
                FieldType::Date => "'2026-01-01'",
                FieldType::Datetime => "'2026-01-01T00:00:00Z'",
                FieldType::Picklist => "a",
                FieldType::MultiPicklist => "[a]",
                _ => "x",
            };
            for option in TYPED_OPTIONS {
                let value = match option {
                    "required" | "unique" | "hierarchy" => "true".to_owned(),
                    "default" => default.to_owned(),
                    "max_length" | "precision" => "10".to_owned(),
                    "scale" | "min" => "0".to_owned(),
                    "max" => "5".to_owned(),
                    "picklist" => "p".to_owned(),
                    "target" => "t".to_owned(),
                    "lookup_filter" => "{ title: eq.x }".to_owned(),
                    "on_delete" => "restrict".to_owned(),
                    "attachment" => "{}".to_owned(),
                    "numbering" => "{ prefix: N- }".to_owned(),
                    "not_before" | "date_only_when" => "g".to_owned(),
                    _ => "{ expression: '()' }".to_owned(),
                };
                let mut base = format!("name: f, type: {tn}, label: {LABEL}");
                if matches!(t, FieldType::Picklist | FieldType::MultiPicklist) && option != "picklist" {
                    base.push_str(", picklist: p");
                }
                if t == FieldType::Reference && option != "target" {
                    base.push_str(", target: t");
                }
                // The sibling field `not_before` and `date_only_when` name.
                let sibling = match (option, t) {
                    ("not_before", FieldType::Date) => "date",
                    ("not_before", _) => "datetime",
                    _ => "boolean",
                };
                let text = format!(
                    "version: 1\nkind: entity\nname: t\nlabel: {LABEL}\nplural_label: {LABEL}\ndisplay_field: title\n\
                     fields:\n  - {{ name: title, type: text, label: {LABEL} }}\n  - {{ {base}, {option}: {value} }}\n\
                     \x20 - {{ name: g, type: {sibling}, label: {LABEL} }}\n"
                );
                let got = errors(&[("p.yaml", list.to_owned()), ("t.yaml", text)]);
                let at = format!("t.yaml: fields[1].{option}");
                let refused = got
                    .iter()
                    .any(|e| e.starts_with(&format!("{at}:")) || e.starts_with(&format!("{at}.")));
                assert_eq!(refused, !t.takes(option), "{tn} with {option}: {got:#?}");
            }
        }
    }
}
