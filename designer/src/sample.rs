//! Sample records for the entities of a workspace that its `demo` items do
//! not cover (an entity the analyst just added), so the preview shows them
//! with something in them. A few records per entity, made through the
//! engine (validation and rules run as for any record), with plain values
//! by field type: "<label> 1", today's date, the pick list's first active
//! value, an existing record of the referenced entity.

use std::collections::HashSet;

use relata::engine::{Engine, EngineError, ListParams};
use relata::model::{FieldDef, FieldType};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// Records made per entity.
pub const PER_ENTITY: usize = 5;

/// Makes [`PER_ENTITY`] records for every entity that no `demo` item
/// covers and that has none yet. Returns the entities filled. An entity
/// whose records cannot be made (a required reference to an empty entity,
/// a rule refusing plain values) is skipped, and said so in the log.
pub async fn fill_uncovered(engine: &Engine) -> Result<Vec<String>, EngineError> {
    let model = engine.model();
    let covered: HashSet<&str> = model
        .model
        .demos
        .values()
        .flat_map(|d| d.entities.iter().map(|e| e.entity.as_str()))
        .collect();
    let mut filled = Vec::new();
    for name in model.model.entities.keys() {
        if covered.contains(name.as_str()) || !is_empty(engine, name).await? {
            continue;
        }
        match fill(engine, name).await {
            Ok(()) => filled.push(name.clone()),
            Err(e) => tracing::warn!(entity = %name, error = %e, "no sample records for this entity"),
        }
    }
    Ok(filled)
}

async fn is_empty(engine: &Engine, entity: &str) -> Result<bool, EngineError> {
    let one = ListParams::new(vec![("limit".into(), "1".into())]);
    Ok(engine.list(entity, &one, false).await?.data.is_empty())
}

async fn fill(engine: &Engine, entity: &str) -> Result<(), EngineError> {
    let model = engine.model();
    let Some(e) = model.entity(entity) else { return Ok(()) };
    for n in 1..=PER_ENTITY {
        let mut record = Map::new();
        for f in &e.def.fields {
            // Worked out by a rule, or set by the application only.
            if f.computed.is_some() || f.read_only {
                continue;
            }
            if let Some(v) = sample_value(engine, f, n).await? {
                record.insert(f.name.clone(), v);
            }
        }
        engine.create(entity, &Value::Object(record), None).await?;
    }
    Ok(())
}

/// A plain value of `f` for the `n`th sample record (`None`: left empty).
async fn sample_value(engine: &Engine, f: &FieldDef, n: usize) -> Result<Option<Value>, EngineError> {
    let today = OffsetDateTime::now_utc().date();
    let label = &f.label.en;
    Ok(match f.field_type {
        t if t.is_short_text() => Some(json!(text_for(f, label, n))),
        FieldType::LongText => Some(json!(format!("{label} {n}"))),
        FieldType::Integer => Some(json!(n)),
        FieldType::Decimal | FieldType::Currency => Some(json!(n * 100)),
        FieldType::Percent => Some(json!(n * 10)),
        FieldType::Boolean => Some(json!(n % 2 == 0)),
        FieldType::Date => Some(json!(today.to_string())),
        FieldType::Datetime => Some(json!(format!("{today}T09:00:00Z"))),
        FieldType::Picklist | FieldType::MultiPicklist => {
            let lists = engine.picklists();
            let code = lists
                .of_field(f)
                .and_then(|l| l.values.iter().find(|v| v.active))
                .map(|v| v.code.clone());
            match (code, f.field_type) {
                (Some(c), FieldType::MultiPicklist) => Some(json!([c])),
                (Some(c), _) => Some(json!(c)),
                (None, _) => None,
            }
        }
        FieldType::Reference => match &f.target {
            Some(target) => {
                let page = ListParams::new(vec![("limit".into(), PER_ENTITY.to_string())]);
                let rows = engine.list(target, &page, false).await?.data;
                rows.get(n % rows.len().max(1)).and_then(|r| r.get("id").cloned())
            }
            None => None,
        },
        _ => None,
    })
}

/// Text that fits the field's kind and length.
fn text_for(f: &FieldDef, label: &str, n: usize) -> String {
    let text = match f.field_type {
        FieldType::Email => format!("sample{n}@example.com"),
        FieldType::Phone => format!("+86 571 8800 {n:04}"),
        FieldType::Url => format!("https://example.com/{n}"),
        _ => format!("{label} {n}"),
    };
    match f.max_length {
        Some(max) => text.chars().take(max as usize).collect(),
        None => text,
    }
}
