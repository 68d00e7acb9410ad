//! The metadata language: the Rust types that one YAML file deserialises into.
//!
//! These types are the single source of truth: the JSON Schemas shipped in
//! `metadata/schema/` are generated from them (`relata schema`), and every
//! file is checked against those schemas before it is deserialised.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the metadata language that this runtime reads.
pub const LANGUAGE_VERSION: u32 = 1;

/// A text in every language Relata ships: a label, a description or a
/// help text, each at most 2,000 characters (docs/limits.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// English.
    #[schemars(length(max = 2000))]
    pub en: String,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    #[schemars(length(max = 2000))]
    pub zh_cn: String,
}

/// One metadata item, as found in one YAML file, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Items are read once per release, never on a request: their size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A business object with its own table.
    Entity(EntityDef),
    /// A named list of values for picklist fields.
    Picklist(PicklistDef),
    /// The layout of an entity's record page.
    Form(super::views::FormDef),
    /// A list view of an entity.
    List(super::views::ListDef),
    /// A group of the sidebar.
    Module(super::views::ModuleDef),
    /// Demo records to generate (`relata demo-data`).
    Demo(super::demo::DemoDef),
}

/// The kinds of item, by the name used in the `kind` tag.
pub const ITEM_KINDS: &[&str] = &["entity", "picklist", "form", "list", "module", "demo"];

impl Item {
    /// The item's kind, as written in its `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Entity(_) => "entity",
            Item::Picklist(_) => "picklist",
            Item::Form(_) => "form",
            Item::List(_) => "list",
            Item::Module(_) => "module",
            Item::Demo(_) => "demo",
        }
    }

    /// The item's name, unique within its kind.
    pub fn name(&self) -> &str {
        match self {
            Item::Entity(e) => &e.name,
            Item::Picklist(p) => &p.name,
            Item::Form(f) => &f.name,
            Item::List(l) => &l.name,
            Item::Module(m) => &m.name,
            Item::Demo(d) => &d.name,
        }
    }
}

/// `kind: entity`: a business object (company, contact, ...) stored in its own table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier, also the table name: `^[a-z][a-z0-9_]{0,62}$`.
    pub name: String,
    /// Singular label.
    pub label: Labels,
    /// Plural label, for lists and navigation.
    pub plural_label: Labels,
    /// What the entity is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Labels>,
    /// The field that names a record (in lookups, titles, references).
    pub display_field: String,
    /// The fields, in display order.
    pub fields: Vec<FieldDef>,
    /// Extra indexes, for the filters and sorts users run often.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDef>,
    /// Combinations of fields that must be unique among live records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<UniqueDef>,
    /// Makes the entity searchable in the global search; absent: not searchable.
    // The schema is the block's own (not "block or null"): an editor then
    // completes it and a typo in it gets a precise message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SearchDef")]
    pub search: Option<SearchDef>,
    /// The business rules: the script and the function run on each event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "super::rules::RulesDef")]
    pub rules: Option<super::rules::RulesDef>,
    /// Named actions on a record, run from a form button or the API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<super::rules::CommandDef>,
}

impl EntityDef {
    /// The fields the global search indexes, display field first, or `None`
    /// when the entity is not searchable. Duplicates are left out.
    pub fn search_fields(&self) -> Option<Vec<&str>> {
        let search = self.search.as_ref()?;
        let mut out = vec![self.display_field.as_str()];
        for f in &search.fields {
            if !out.contains(&f.as_str()) {
                out.push(f);
            }
        }
        Some(out)
    }
}

/// The `search:` block of an entity: which fields the global search looks in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchDef {
    /// Fields searched besides the display field (always searched): text,
    /// long_text, email, phone, url or picklist fields.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The type of a field. It decides the SQL column type, the JSON shape in the
/// API and the widget in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text (`max_length`, default 255).
    Text,
    /// Multi-line text.
    LongText,
    /// A whole number (64-bit).
    Integer,
    /// A decimal number (`precision`, `scale`).
    Decimal,
    /// An amount of money (`precision`, `scale` default 2).
    Currency,
    /// A percentage, 0 to 100 for 0% to 100%.
    Percent,
    /// Yes or no.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant, RFC 3339, stored in UTC.
    Datetime,
    /// An e-mail address.
    Email,
    /// A telephone number.
    Phone,
    /// A web address (http or https).
    Url,
    /// One value of a pick list (`picklist`).
    Picklist,
    /// Several values of a pick list (`picklist`).
    MultiPicklist,
    /// A link to a record of another entity (`target`).
    Reference,
    /// One or several files (`attachment`), stored outside the entity table.
    Attachment,
}

impl FieldType {
    /// Every field type, in documentation order.
    pub const ALL: [FieldType; 16] = [
        FieldType::Text,
        FieldType::LongText,
        FieldType::Integer,
        FieldType::Decimal,
        FieldType::Currency,
        FieldType::Percent,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Datetime,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::Picklist,
        FieldType::MultiPicklist,
        FieldType::Reference,
        FieldType::Attachment,
    ];

    /// The name used in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::LongText => "long_text",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::MultiPicklist => "multi_picklist",
            FieldType::Reference => "reference",
            FieldType::Attachment => "attachment",
        }
    }

    /// The name with its indefinite article, for messages (`an integer`, `a text`).
    pub fn with_article(self) -> String {
        let article = match self {
            FieldType::Integer | FieldType::Email | FieldType::Attachment => "an",
            _ => "a",
        };
        format!("{article} {}", self.as_str())
    }

    /// Types stored as a string of bounded length.
    pub fn is_short_text(self) -> bool {
        matches!(
            self,
            FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Url
        )
    }

    /// Types the global search can index (their values are text).
    pub fn is_searchable(self) -> bool {
        self.is_short_text() || matches!(self, FieldType::LongText | FieldType::Picklist)
    }

    /// Types stored as an exact decimal number.
    pub fn is_decimal(self) -> bool {
        matches!(self, FieldType::Decimal | FieldType::Currency | FieldType::Percent)
    }

    /// Types with a column in the entity table (all but `attachment`, whose
    /// files live in the attachment store).
    pub fn is_stored_in_table(self) -> bool {
        self != FieldType::Attachment
    }

    /// The default `max_length` of a short text type.
    pub fn default_max_length(self) -> Option<u32> {
        match self {
            FieldType::Text => Some(255),
            FieldType::Email => Some(254),
            FieldType::Phone => Some(40),
            FieldType::Url => Some(2048),
            _ => None,
        }
    }
}

/// A plain `enum` of names (what a YAML editor completes best), rather than
/// the `oneOf` of one schema per documented variant that the derive makes.
impl JsonSchema for FieldType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FieldType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": names,
            "description": "The field's type: text, long_text, integer, decimal, currency, percent, boolean, date, datetime, email, phone, url, picklist, multi_picklist, reference or attachment."
        })
    }
}

/// The options of a field that apply to some field types only.
pub const TYPED_OPTIONS: [&str; 18] = [
    "required",
    "unique",
    "default",
    "max_length",
    "precision",
    "scale",
    "min",
    "max",
    "picklist",
    "target",
    "lookup_filter",
    "hierarchy",
    "on_delete",
    "attachment",
    "numbering",
    "not_before",
    "date_only_when",
    "computed",
];

impl FieldType {
    /// Whether option `option` of a field (a key of [`FieldDef`]) applies
    /// to a field of this type. The checks refuse the others, and the
    /// schema lists, for each of [`TYPED_OPTIONS`], the types it applies to
    /// (`x-field-types`), so an editor offers only those.
    pub fn takes(self, option: &str) -> bool {
        use FieldType as T;
        match option {
            "required" | "computed" => self != T::Attachment,
            "unique" => !matches!(self, T::LongText | T::MultiPicklist | T::Boolean | T::Attachment),
            "default" => !matches!(self, T::Reference | T::Attachment),
            "max_length" => self.is_short_text() || self == T::LongText,
            "precision" | "scale" => self.is_decimal(),
            "min" | "max" => self == T::Integer || self.is_decimal(),
            "picklist" => matches!(self, T::Picklist | T::MultiPicklist),
            "target" | "lookup_filter" | "hierarchy" | "on_delete" => self == T::Reference,
            "attachment" => self == T::Attachment,
            "numbering" => self == T::Text,
            "not_before" => matches!(self, T::Date | T::Datetime),
            "date_only_when" => self == T::Datetime,
            _ => true,
        }
    }
}

/// Adds `x-field-types` (the types an option applies to) to the typed
/// options of the field schema.
fn field_types_in_schema(schema: &mut schemars::Schema) {
    let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for option in TYPED_OPTIONS {
        let types: Vec<&str> = FieldType::ALL
            .iter()
            .filter(|t| t.takes(option))
            .map(|t| t.as_str())
            .collect();
        if let Some(p) = props.get_mut(option).and_then(|p| p.as_object_mut()) {
            p.insert("x-field-types".into(), serde_json::json!(types));
        }
    }
}

/// One field of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = field_types_in_schema)]
pub struct FieldDef {
    /// Identifier, also the column name.
    pub name: String,
    /// The field's type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The label shown next to the value.
    pub label: Labels,
    /// A hint shown to users who fill in the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Labels>,
    /// A record cannot be saved without a value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// No two live records may share a value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Only the application sets the value: defaults, business rules and
    /// commands. A client (the API, a form, an import) may send the value
    /// the record already has, never a different one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// The value a new record gets when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Longest value, in characters (text, email, phone, url, long_text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Total number of digits (decimal, currency, percent; 1 to 18, default 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    /// Digits after the decimal point (decimal default 4, currency and percent 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// Smallest value allowed (integer, decimal, currency, percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value allowed (integer, decimal, currency, percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The pick list whose values the field takes (picklist, multi_picklist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picklist: Option<String>,
    /// The entity a reference points to (reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The records a reference's picker offers: conditions on the target
    /// (field, or `reference.field`, to `OP.VALUE`, as a list's `filter`).
    /// It narrows the choice in forms, and a client's save that sets the
    /// reference to a record it does not offer is refused.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub lookup_filter: indexmap::IndexMap<String, String>,
    /// A reference to the field's own entity that arranges its records in
    /// a tree (reports to, parent company): a save that would make a record
    /// its own ancestor is refused, and a form's related list can show the
    /// records as a tree along it (`tree:`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub hierarchy: bool,
    /// What happens to this record when the referenced record is purged
    /// (reference; soft deletes never cascade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
    /// How many files, how large and of which types (attachment).
    // A plain reference in the schema (not "this or null"), so that a typo in
    // the block is reported as the unexpected key it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "AttachmentDef")]
    pub attachment: Option<AttachmentDef>,
    /// A new record without a value gets the next number of a counter
    /// (text fields): `prefix`, the period, the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NumberingDef")]
    pub numbering: Option<NumberingDef>,
    /// Another field of the entity, of the same type (date or datetime),
    /// that this one may not be before (an end and its start): a save
    /// that would put it before is refused, whoever saves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// A boolean field of the entity; while it is true the date-time is
    /// shown as its date alone (an all-day activity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_only_when: Option<String>,
    /// The value is worked out by a rule (an expression or a script
    /// function), stored on save or computed on read; never sent by clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "super::rules::ComputedDef")]
    pub computed: Option<super::rules::ComputedDef>,
}

/// `numbering:` of a text field: new records without a value are numbered
/// `{prefix}{period}{sep}{n}`, e.g. `SO-20261207-0001`, from a counter that
/// starts again each period. The counter is taken atomically in the save,
/// so concurrent saves never share a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberingDef {
    /// Text before the number (`SO-`).
    #[serde(default)]
    pub prefix: String,
    /// How often the counter starts again at 1; the period's date is
    /// written after the prefix (`day`: 20261207, `month`: 202612, `year`:
    /// 2026, `never`: nothing).
    #[serde(default)]
    pub period: NumberingPeriod,
    /// Least digits of the number, zero-padded (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<u32>,
}

/// When a numbering counter starts again: `never` (one counter for ever),
/// `year`, `month` or `day` (UTC).
// Plain comments on the variants: doc comments would make the schema a
// `oneOf` of documented constants, whose error message names no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NumberingPeriod {
    // One counter for ever.
    #[default]
    Never,
    // A counter per year, month or day.
    Year,
    Month,
    Day,
}

impl NumberingDef {
    /// The default of `digits`.
    pub const DEFAULT_DIGITS: u32 = 4;

    /// The counter's period key and the text before the number on `date`
    /// (UTC): `("20261207", "SO-20261207-")`.
    pub fn period_of(&self, date: time::Date) -> (String, String) {
        let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
        let key = match self.period {
            NumberingPeriod::Never => String::new(),
            NumberingPeriod::Year => format!("{y:04}"),
            NumberingPeriod::Month => format!("{y:04}{m:02}"),
            NumberingPeriod::Day => format!("{y:04}{m:02}{d:02}"),
        };
        let head = if key.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}{key}-", self.prefix)
        };
        (key, head)
    }

    /// The value for number `n` after `head`.
    pub fn format(&self, head: &str, n: i64) -> String {
        let width = self.digits.unwrap_or(Self::DEFAULT_DIGITS) as usize;
        format!("{head}{n:0width$}")
    }
}

/// The limits of an `attachment` field. Every key is optional: one file of at
/// most [`AttachmentDef::DEFAULT_MAX_SIZE_MB`] MB, of any type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDef {
    /// Several files (true) or one, which an upload replaces (false, default).
    #[serde(default, skip_serializing_if = "is_false")]
    pub multiple: bool,
    /// Largest file, in megabytes (MiB, 1 to 1024; default 10). The server's
    /// own ceiling applies on top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_mb: Option<u32>,
    /// Accepted media types, exact (`application/pdf`) or a whole family
    /// (`image/*`); any type when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

impl AttachmentDef {
    /// The size limit when none is given, in MB.
    pub const DEFAULT_MAX_SIZE_MB: u32 = 10;
    /// The largest `max_size_mb` the metadata may ask for.
    pub const MAX_SIZE_MB: u32 = 1024;

    /// The size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        u64::from(self.max_size_mb.unwrap_or(Self::DEFAULT_MAX_SIZE_MB)) * 1024 * 1024
    }

    /// Whether `content_type` (lower-case essence, no parameters) is accepted.
    pub fn accepts(&self, content_type: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| type_matches(t, content_type))
    }
}

/// Whether a media-type pattern (`image/png`, `image/*`, `*/*`) matches a type.
pub fn type_matches(pattern: &str, content_type: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let content_type = content_type.trim().to_ascii_lowercase();
    match pattern.strip_suffix("/*") {
        Some("*") => true,
        Some(family) => content_type.split_once('/').is_some_and(|(f, _)| f == family),
        None => pattern == content_type,
    }
}

impl EntityDef {
    /// The entity as its table sees it: without the attachment fields and
    /// the virtual computed fields, which have no column.
    pub fn stored(&self) -> EntityDef {
        let mut e = self.clone();
        e.fields.retain(FieldDef::has_column);
        e
    }

    /// The attachment fields.
    pub fn attachment_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.field_type == FieldType::Attachment)
    }
}

impl FieldDef {
    /// The attachment limits of an attachment field (defaults when no block is given).
    pub fn attachment_limits(&self) -> AttachmentDef {
        self.attachment.clone().unwrap_or_default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The foreign-key action of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// The referenced record cannot be purged while this one points to it (default).
    Restrict,
    /// The reference is cleared.
    SetNull,
}

/// An index over one or more fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexDef {
    /// The indexed fields, most selective first.
    pub fields: Vec<String>,
}

/// A combination of fields that must be unique among live (not deleted) records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UniqueDef {
    /// The fields whose values, together, must be unique.
    pub fields: Vec<String>,
}

/// `kind: picklist`: the values a picklist field may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PicklistDef {
    /// Version of the metadata language; always 1 for now.
    pub version: u32,
    /// Identifier, referenced by fields.
    pub name: String,
    /// What the list is, for administrators.
    pub label: Labels,
    /// The values, in the order they are offered unless `order` says otherwise.
    pub values: Vec<PicklistValue>,
}

/// One value of a pick list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PicklistValue {
    /// The stored code: `^[a-z][a-z0-9_]{0,62}$`.
    pub code: String,
    /// What users see.
    pub label: Labels,
    /// Sort position; values without one keep their file order after those with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// Inactive values are no longer offered, but stay readable on old records.
    #[serde(default = "default_true")]
    pub active: bool,
    /// Facts about the value for business rules (`probability: 10` for a
    /// sales stage): identifiers to text, numbers or booleans, read by
    /// scripts with `picklist_data(list, code)`.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub data: indexmap::IndexMap<String, serde_json::Value>,
}

fn default_true() -> bool {
    true
}
