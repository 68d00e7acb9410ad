//! The JSON Schemas of record payloads, generated per entity from its fields,
//! and the mapping of their validation errors to field errors.

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::openapi::API_BASE;
use crate::model::{decimal_shape, describe_schema_error, EntityDef, FieldDef, FieldType};

/// The longest long text a payload may give a field without a
/// `max_length` of its own, in characters.
pub const MAX_LONG_TEXT: u32 = 100_000;

/// One problem with one field of a payload: the stable shape of 422 responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field (or `_` for the payload as a whole).
    pub field: String,
    /// A stable, machine-readable code: `required`, `type`, `format`, `max_length`, ...
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Which payload a schema is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// POST: required fields must be present.
    Create,
    /// PATCH: any subset of fields; required ones may not be emptied.
    Patch,
}

/// The JSON Schema of an entity's create or patch payload.
pub fn payload_schema(entity: &EntityDef, kind: PayloadKind) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    // Attachment fields are uploaded on their own route, never in a payload.
    for f in entity.fields.iter().filter(|f| f.has_column()) {
        props.insert(f.name.clone(), field_schema(f));
        if kind == PayloadKind::Create
            && f.required
            && f.default.is_none()
            && f.computed.is_none()
            && f.numbering.is_none()
        {
            required.push(json!(f.name));
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{} ({})", entity.label.en, if kind == PayloadKind::Create { "create" } else { "update" }),
        "type": "object",
        "additionalProperties": false,
        "properties": props,
        "required": required,
    })
}

/// The JSON Schema of one field's value.
pub fn field_schema(f: &FieldDef) -> Value {
    let mut s = Map::new();
    let nullable = |t: &str| if f.required { json!(t) } else { json!([t, "null"]) };
    match f.field_type {
        FieldType::Integer => {
            s.insert("type".into(), nullable("integer"));
        }
        t if t.is_decimal() => {
            s.insert("type".into(), nullable("number"));
        }
        FieldType::Boolean => {
            s.insert("type".into(), nullable("boolean"));
        }
        // No `enum` of codes: administrators change pick lists between
        // releases, so the engine checks codes against the effective lists
        // (engine::picklists) and this schema, compiled once per release,
        // only says "a code" and which list it comes from.
        FieldType::Picklist => {
            s.insert("type".into(), nullable("string"));
            s.insert("x-picklist".into(), json!(f.picklist));
        }
        FieldType::MultiPicklist => {
            s.insert("type".into(), nullable("array"));
            s.insert("items".into(), json!({ "type": "string" }));
            s.insert("uniqueItems".into(), json!(true));
            s.insert("x-picklist".into(), json!(f.picklist));
        }
        _ => {
            s.insert("type".into(), nullable("string"));
        }
    }
    let format = match f.field_type {
        FieldType::Date => Some("date"),
        FieldType::Datetime => Some("date-time"),
        FieldType::Email => Some("email"),
        FieldType::Url => Some("uri"),
        FieldType::Reference => Some("uuid"),
        _ => None,
    };
    if let Some(format) = format {
        s.insert("format".into(), json!(format));
    }
    if f.field_type == FieldType::Url {
        s.insert("pattern".into(), json!("^https?://"));
    }
    let unbounded_text = (f.field_type == FieldType::LongText).then_some(MAX_LONG_TEXT);
    if let Some(max) = f.max_length.or(f.field_type.default_max_length()).or(unbounded_text) {
        s.insert("maxLength".into(), json!(max));
    }
    if f.required && (f.field_type.is_short_text() || f.field_type == FieldType::LongText) {
        s.insert("minLength".into(), json!(1));
    }
    if let Some(min) = f.min {
        s.insert("minimum".into(), crate::model::numbers::number(min));
    }
    if let Some(max) = f.max {
        s.insert("maximum".into(), crate::model::numbers::number(max));
    }
    if f.field_type.is_decimal() {
        let (p, sc) = decimal_shape(f);
        s.insert("x-precision".into(), json!(p));
        s.insert("x-scale".into(), json!(sc));
    }
    s.insert(
        "description".into(),
        json!(f.help.as_ref().map_or(&f.label.en, |h| &h.en)),
    );
    if f.computed.is_some() || f.read_only {
        // Worked out or set by the application: read it; send it unchanged
        // at most.
        s.insert("readOnly".into(), json!(true));
    }
    Value::Object(s)
}

/// Field errors for attachment fields sent in a JSON payload, replacing the
/// generic `unknown_field` error with one that says where files go.
pub fn attachment_errors(errors: &mut [FieldError], attachments: &[FieldDef], entity: &str) {
    for err in errors.iter_mut() {
        if err.code == "unknown_field" && attachments.iter().any(|f| f.name == err.field) {
            err.code = "attachment_field".into();
            err.message = format!(
                "is an attachment field; upload files with POST {API_BASE}/records/{entity}/{{id}}/attachments/{}",
                err.field
            );
        }
    }
}

/// Every error of `payload` against a compiled payload validator, as field errors.
pub fn validate(validator: &jsonschema::Validator, payload: &Value, entity: &str) -> Vec<FieldError> {
    validator
        .iter_errors(payload)
        .flat_map(|e| {
            let field = e.instance_path().as_str().split('/').nth(1).unwrap_or("").to_owned();
            match e.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default().to_owned();
                    vec![FieldError::new(name, "required", "is required")]
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|u| FieldError::new(u.clone(), "unknown_field", format!("is not a field of {entity}")))
                    .collect(),
                // Only required fields refuse null: say so in those words.
                ValidationErrorKind::Type { .. } if e.instance().is_null() && !field.is_empty() => {
                    vec![FieldError::new(field, "required", "is required")]
                }
                kind => {
                    let field = if field.is_empty() { "_".to_owned() } else { field };
                    vec![FieldError::new(field, code_of(kind), describe_schema_error(&e))]
                }
            }
        })
        .collect()
}

fn code_of(kind: &ValidationErrorKind) -> &'static str {
    match kind {
        ValidationErrorKind::Type { .. } => "type",
        ValidationErrorKind::Format { .. } => "format",
        ValidationErrorKind::MaxLength { .. } => "max_length",
        ValidationErrorKind::MinLength { .. } => "required",
        ValidationErrorKind::Enum { .. } => "not_in_picklist",
        ValidationErrorKind::Minimum { .. } | ValidationErrorKind::ExclusiveMinimum { .. } => "minimum",
        ValidationErrorKind::Maximum { .. } | ValidationErrorKind::ExclusiveMaximum { .. } => "maximum",
        ValidationErrorKind::Pattern { .. } => "format",
        ValidationErrorKind::UniqueItems => "duplicate_items",
        _ => "invalid",
    }
}

/// Checks a decimal value exactly (no float on the way) against the
/// field's precision and scale, which JSON Schema cannot say, and against
/// its `min` and `max` (which the schema checks only as floats). Too many
/// digits after the point are refused, never rounded.
pub fn check_decimal(f: &FieldDef, v: &Value) -> Option<FieldError> {
    use crate::model::decimals;
    if !v.is_number() {
        return None; // not a number: the schema says so
    }
    let (p, s) = decimal_shape(f);
    let limit = decimals::limit_words(p, s);
    let Some(d) = decimals::of_json(v) else {
        return Some(FieldError::new(&f.name, "precision", limit));
    };
    if let Err(misfit) = decimals::fit(d, p, s) {
        return Some(FieldError::new(&f.name, misfit.code(), limit));
    }
    let bound = |b: Option<f64>| b.and_then(decimals::of_setting);
    if let Some(min) = bound(f.min).filter(|min| d < *min) {
        return Some(FieldError::new(&f.name, "minimum", format!("must be at least {min}")));
    }
    if let Some(max) = bound(f.max).filter(|max| d > *max) {
        return Some(FieldError::new(&f.name, "maximum", format!("must be at most {max}")));
    }
    None
}
