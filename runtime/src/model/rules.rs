//! The business-rule part of the metadata language: an entity's `rules:`
//! block (which script functions run on which event), its `commands:`
//! (named actions users run from a button or the API), and a field's
//! `computed:` block.
//!
//! The scripts themselves are Rhai files of the package's `scripts/`
//! folder; this module only checks what the YAML says about them (names,
//! types, that the file is in the package). Whether the functions exist, with
//! the right number of parameters, is checked when the scripts are compiled
//! (`engine::rules`), still before a release is recorded.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::check::{Ctx, Model};
use super::items::{EntityDef, FieldDef, FieldType, Labels};

/// The folder of a package that holds its Rhai scripts, and the prefix of
/// their paths in a release.
pub const SCRIPTS_DIR: &str = "scripts";

/// The extension of a script file.
pub const SCRIPT_EXTENSION: &str = "rhai";

/// `rules:` of an entity: the script and the function run on each event.
/// Every handler is a function of the script taking no parameter; inside
/// it, `this` is the record being saved (see docs/rules.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesDef {
    /// The script file, relative to the package's `scripts/` folder (`opportunity.rhai`).
    pub script: String,
    /// Other scripts whose functions this entity's script may call, as if
    /// they were written in it (shared helpers, `lib/territory.rhai`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Fills in defaults of a new record, before anything else runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_new: Option<String>,
    /// Checks the record; reports problems with `error(field, message)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<String>,
    /// Changes the record before it is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_save: Option<String>,
    /// Runs after the record is written, in the same transaction (creates
    /// or updates other records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_save: Option<String>,
    /// Runs before a record moves to the recycle bin; an error refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_delete: Option<String>,
    /// Runs after the record moved to the recycle bin, in the same
    /// transaction (updates other records, e.g. a parent's total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_delete: Option<String>,
    /// Functions run when a field's value changes (or is first set): field -> function.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub on_change: indexmap::IndexMap<String, String>,
}

impl RulesDef {
    /// The event handlers, as (key in the YAML, function name).
    pub fn handlers(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (key, f) in [
            ("on_new", &self.on_new),
            ("validate", &self.validate),
            ("before_save", &self.before_save),
            ("after_save", &self.after_save),
            ("before_delete", &self.before_delete),
            ("after_delete", &self.after_delete),
        ] {
            if let Some(f) = f {
                out.push((key.to_owned(), f.as_str()));
            }
        }
        for (field, f) in &self.on_change {
            out.push((format!("on_change.{field}"), f.as_str()));
        }
        out
    }
}

/// A command: a named action on one record, shown as a button on its form
/// and run by `POST /api/v1/records/{entity}/{id}/commands/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandDef {
    /// Identifier, unique in the entity (`process_lead`).
    pub name: String,
    /// The button's text.
    pub label: Labels,
    /// The function of the entity's script that runs it. It takes one
    /// parameter, the map of the command's parameters; `this` is the record.
    pub function: String,
    /// What the command asks for before it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<CommandParam>,
    /// When the command applies: conditions on the record, as a list's
    /// `filter` (`{ status: ne.converted }`). On a record that does not
    /// meet them the button is not shown and running it is refused.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub when: indexmap::IndexMap<String, String>,
}

/// One input of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandParam {
    /// Identifier, the key in the parameters map.
    pub name: String,
    /// The value's type: text, long_text, integer, decimal, currency,
    /// percent, boolean, date, datetime, email, phone, url or reference.
    #[serde(rename = "type")]
    pub param_type: FieldType,
    /// The parameter must be given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The label of its input.
    pub label: Labels,
    /// The entity a reference parameter points to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The records a reference parameter's picker offers, as a field's
    /// `lookup_filter`.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub lookup_filter: indexmap::IndexMap<String, String>,
}

/// `computed:` of a field: its value is worked out by a rule, never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputedDef {
    /// A Rhai expression over `this` (the record), e.g. `this.amount * this.probability / 100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Or a function of the entity's script (no parameters; returns the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Stored in a column and recomputed on every save (true, the default),
    /// or virtual: no column, computed each time the record is read.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    // schemars leaves out a default the field is not written with: said
    // here, so an editor shows an absent `stored` as true.
    #[schemars(extend("default" = true))]
    pub stored: bool,
}

fn yes() -> bool {
    true
}

impl FieldDef {
    /// Whether the field has a column in the entity table: not an
    /// attachment, not a virtual computed field.
    pub fn has_column(&self) -> bool {
        self.field_type.is_stored_in_table() && self.computed.as_ref().is_none_or(|c| c.stored)
    }

    /// Whether the field is virtual (computed on read, no column).
    pub fn is_virtual(&self) -> bool {
        self.computed.as_ref().is_some_and(|c| !c.stored)
    }
}

/// The name of a script in a release (`opportunity.rhai`) from its package
/// path (`scripts/opportunity.rhai`), or `None` when the path is not a script.
pub fn script_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(SCRIPTS_DIR)?.strip_prefix('/')?;
    rest.ends_with(&format!(".{SCRIPT_EXTENSION}")).then_some(rest)
}

/// Checks the read-only fields (not computed ones: their own check says
/// `read_only` does not apply). A client cannot give a read-only field a
/// value, so a required one needs a default or a script to set it, and an
/// attachment (uploaded by clients) cannot be one.
fn check_read_only(ctx: &mut Ctx<'_>, e: &EntityDef, script: Option<&str>) {
    for (i, f) in e.fields.iter().enumerate() {
        if !f.read_only || f.computed.is_some() {
            continue;
        }
        let at = format!("fields[{i}].read_only");
        if f.field_type == FieldType::Attachment {
            ctx.error(
                &at,
                "`read_only` does not apply to an attachment field: clients upload its files",
            );
        } else if f.required && f.default.is_none() && script.is_none() {
            ctx.error(
                &at,
                "a required read-only field needs a `default` or business rules that set it \
                 (`rules: { script: ... }`): clients cannot send it",
            );
        }
    }
}

/// Checks the rule parts of an entity: names, the script file, commands,
/// computed fields. Functions are checked against the compiled script later.
pub(super) fn check_entity_rules(ctx: &mut Ctx<'_>, e: &EntityDef, model: &Model) {
    let script = e.rules.as_ref().map(|r| r.script.as_str());
    if let Some(rules) = &e.rules {
        if !model.scripts.contains_key(&rules.script) {
            ctx.error(
                "rules.script",
                format!(
                    "no script `{}` in the package; expected a file {SCRIPTS_DIR}/{}",
                    rules.script, rules.script
                ),
            );
        }
        let mut seen = HashSet::new();
        for (i, inc) in rules.include.iter().enumerate() {
            if !model.scripts.contains_key(inc) {
                ctx.error(
                    format!("rules.include[{i}]"),
                    format!("no script `{inc}` in the package; expected a file {SCRIPTS_DIR}/{inc}"),
                );
            } else if inc == &rules.script || !seen.insert(inc.as_str()) {
                ctx.error(format!("rules.include[{i}]"), format!("`{inc}` is included twice"));
            }
        }
        for field in rules.on_change.keys() {
            if !e.fields.iter().any(|f| &f.name == field) {
                ctx.error(
                    format!("rules.on_change.{field}"),
                    format!("`{field}` is not a field of this entity"),
                );
            }
        }
    }
    let mut names = HashSet::new();
    for (i, c) in e.commands.iter().enumerate() {
        let at = format!("commands[{i}]");
        ctx.ident(format!("{at}.name"), &c.name);
        if !names.insert(c.name.as_str()) {
            ctx.error(format!("{at}.name"), format!("command `{}` is defined twice", c.name));
        }
        if script.is_none() {
            ctx.error(
                format!("{at}.function"),
                "a command runs a function of the entity's script: add `rules: { script: ... }`",
            );
        }
        if !c.when.is_empty() {
            super::views_check::check_filter(ctx, &format!("{at}.when"), e, &c.when, model, false);
        }
        let mut params = HashSet::new();
        for (j, p) in c.params.iter().enumerate() {
            let pat = format!("{at}.params[{j}]");
            ctx.ident(format!("{pat}.name"), &p.name);
            if !params.insert(p.name.as_str()) {
                ctx.error(format!("{pat}.name"), format!("`{}` is defined twice", p.name));
            }
            if matches!(
                p.param_type,
                FieldType::Picklist | FieldType::MultiPicklist | FieldType::Attachment
            ) {
                ctx.error(
                    format!("{pat}.type"),
                    format!("a command parameter cannot be {}", p.param_type.with_article()),
                );
            }
            if !p.lookup_filter.is_empty() {
                let lookup_at = format!("{pat}.lookup_filter");
                match p.target.as_ref().and_then(|t| model.entities.get(t)) {
                    _ if p.param_type != FieldType::Reference => {
                        ctx.error(lookup_at, "`lookup_filter` applies to reference parameters only")
                    }
                    Some(target) => {
                        super::views_check::check_filter(ctx, &lookup_at, target, &p.lookup_filter, model, false)
                    }
                    None => {}
                }
            }
            match (&p.target, p.param_type == FieldType::Reference) {
                (None, true) => ctx.error(format!("{pat}.target"), "a reference parameter needs `target`"),
                (Some(_), false) => ctx.error(format!("{pat}.target"), "`target` applies to reference parameters only"),
                (Some(t), true) if !model.entities.contains_key(t) => {
                    ctx.error(format!("{pat}.target"), format!("unknown entity `{t}`"))
                }
                _ => {}
            }
        }
    }
    check_read_only(ctx, e, script);
    for (i, f) in e.fields.iter().enumerate() {
        let Some(c) = &f.computed else { continue };
        let at = format!("fields[{i}].computed");
        match (&c.expression, &c.function) {
            (None, None) => ctx.error(&at, "give an `expression` or a `function`"),
            (Some(_), Some(_)) => ctx.error(&at, "give an `expression` or a `function`, not both"),
            (None, Some(_)) if script.is_none() => ctx.error(
                format!("{at}.function"),
                "a computed function belongs to the entity's script: add `rules: { script: ... }`",
            ),
            _ => {}
        }
        if matches!(f.field_type, FieldType::Attachment) {
            ctx.error(&at, "an attachment field cannot be computed");
        }
        for (flag, set) in [
            ("required", f.required),
            ("unique", f.unique && !c.stored),
            ("default", f.default.is_some()),
            ("read_only", f.read_only),
        ] {
            if set {
                ctx.error(
                    format!("fields[{i}].{flag}"),
                    format!("`{flag}` does not apply to a computed field"),
                );
            }
        }
        if !c.stored && e.display_field == f.name {
            ctx.error("display_field", "a virtual computed field cannot be the display field");
        }
        if !c.stored {
            let lists = e
                .indexes
                .iter()
                .map(|x| ("indexes", &x.fields))
                .chain(e.unique.iter().map(|x| ("unique", &x.fields)))
                .chain(e.search.iter().map(|x| ("search", &x.fields)));
            for (key, fields) in lists {
                if fields.contains(&f.name) {
                    ctx.error(
                        key,
                        format!("`{}` is a virtual computed field and has no column", f.name),
                    );
                }
            }
        }
    }
}
