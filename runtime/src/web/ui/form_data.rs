//! Submitted HTML forms to record payloads: the form's fields, by type, with
//! empty inputs as "no value".

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::engine::CompiledEntity;
use crate::model::values::format_datetime;
use crate::model::zone::Zone;
use crate::model::{FieldType, FormDef};

/// The submitted values by name (a name may repeat: multi-selects).
#[derive(Debug, Default, Clone)]
pub struct Submitted(pub HashMap<String, Vec<String>>);

impl Submitted {
    /// Groups `(name, value)` pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        Submitted(map)
    }

    /// The last value of `name`.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Option<&Vec<String>> {
        self.0.get(name)
    }
}

/// The payload of the editable fields of `form` found in `submitted`, with
/// typed times read on the clocks of `zone`. Values that do not parse are
/// passed on as text, so the record's JSON Schema reports them against the
/// right field.
pub fn payload(entity: &CompiledEntity, form: &FormDef, submitted: &Submitted, zone: &Zone) -> Value {
    let mut out = Map::new();
    for placed in super::present::form_fields(form).filter(|p| !p.read_only) {
        // Read-only and computed fields are the application's: never posted,
        // whatever the form item says.
        let Some((_, f)) = entity
            .field(&placed.field)
            .filter(|(_, f)| !f.read_only && f.computed.is_none())
        else {
            continue;
        };
        let Some(values) = submitted.all(&f.name) else { continue };
        let last = values.last().map(|s| s.trim()).unwrap_or_default();
        let v = match f.field_type {
            FieldType::Boolean => Value::Bool(values.iter().any(|v| v == "true")),
            FieldType::MultiPicklist => Value::Array(
                values
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.clone()))
                    .collect(),
            ),
            _ if last.is_empty() => Value::Null,
            FieldType::Integer => last
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(last.into())),
            // Exact: the digits typed, no float on the way.
            FieldType::Decimal | FieldType::Currency | FieldType::Percent => crate::model::decimals::of_text(last)
                .map(crate::model::decimals::to_json)
                .unwrap_or_else(|| Value::String(last.into())),
            // A datetime-local input sends a wall-clock time, no zone.
            FieldType::Datetime => zone
                .instant_of(last)
                .map_or_else(|| Value::String(last.into()), |at| Value::String(format_datetime(at))),
            _ => Value::String(last.to_owned()),
        };
        out.insert(f.name.clone(), v);
    }
    Value::Object(out)
}
