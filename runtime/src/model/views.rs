//! The view kinds of the metadata language: `form` (a record page), `list`
//! (a list view) and `module` (a sidebar group).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::items::Labels;

/// `kind: form`: the layout of one entity's record page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier of the form.
    pub name: String,
    /// The entity whose records it shows.
    pub entity: String,
    /// The title of the page; the entity's label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Labels>,
    /// Tabs, in order; a form with one tab shows no tab bar.
    pub tabs: Vec<TabDef>,
    /// Buttons that run commands on the record (commands are defined with the
    /// business rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ButtonDef>,
}

/// One tab of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TabDef {
    /// Identifier, unique in the form.
    pub name: String,
    /// The tab's title.
    pub label: Labels,
    /// Groups of fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionDef>,
    /// Lists of records that point to this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RelatedListDef>,
}

/// A group of fields laid out in columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionDef {
    /// Identifier, unique in the tab.
    pub name: String,
    /// The section's heading; none for an untitled section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Labels>,
    /// Number of columns, 1 to 4 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u8>,
    /// The fields, filled row by row.
    pub fields: Vec<FormFieldDef>,
}

/// One field on a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormFieldDef {
    /// The entity's field.
    pub field: String,
    /// Shown but not editable on this form.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Required on this form even where the entity does not require it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// Shown only while the condition holds on the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<ConditionDef>,
}

/// A condition on one field of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionDef {
    /// The field tested.
    pub field: String,
    /// The test.
    pub op: ConditionOp,
    /// The value compared with (`eq`, `ne`) or the values (`in`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// Tests of a [`ConditionDef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    /// Equal to `value`.
    Eq,
    /// Not equal to `value`.
    Ne,
    /// One of the `value` list.
    In,
    /// Empty.
    IsNull,
    /// Not empty.
    NotNull,
}

/// A list, on a form, of the records of another entity that reference this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedListDef {
    /// The related entity.
    pub entity: String,
    /// Its reference field that points to the form's entity.
    pub via: String,
    /// The title; the related entity's plural label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Labels>,
    /// Columns: fields of the related entity.
    pub columns: Vec<String>,
    /// Sort keys, `-field` for descending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<String>,
    /// Conditions the rows also meet (field, or `reference.field`, to
    /// `OP.VALUE`, as a list's `filter`): the open incidents of a company.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub filter: indexmap::IndexMap<String, String>,
    /// Rows shown before "more" (default 10; 100 for a tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// Shows the rows as a tree along this `hierarchy` field of the related
    /// entity. When it is `via` itself, the list holds every record below
    /// the form's record (its whole team); otherwise the records that `via`
    /// links, each under its parent among them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
}

/// A button that runs a command on the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonDef {
    /// The command's name.
    pub command: String,
    /// The button's text; the command's label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Labels>,
}

/// `kind: list`: a list view of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier of the list.
    pub name: String,
    /// The entity listed.
    pub entity: String,
    /// The list's title.
    pub label: Labels,
    /// Columns shown by default (users may choose others).
    pub columns: Vec<String>,
    /// Default sort keys, `-field` for descending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<String>,
    /// Default filter: field (or `reference.field`) to `OP.VALUE`, as in the record API.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub filter: indexmap::IndexMap<String, String>,
    /// Rows per page (1-500, default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// Fields the quick-search box looks in (text fields).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_search: Vec<String>,
}

/// `kind: module`: a named group of the sidebar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier of the module.
    pub name: String,
    /// The module's title.
    pub label: Labels,
    /// An icon name (see the UI guide for the set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Position in the sidebar, smallest first.
    #[serde(default)]
    pub order: i32,
    /// The entries: lists, or entities (their default list).
    pub items: Vec<ModuleItemDef>,
}

/// One entry of a module: exactly one of `list` or `entity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleItemDef {
    /// A list by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// An entity, shown with its default list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Overrides the entry's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Labels>,
}
