//! Values between the record world (JSON, typed by the entity's fields) and
//! the script world (Rhai values): decimal fields become exact decimals
//! (never floating point), dates stay `YYYY-MM-DD` strings.

use rhai::{Array, Dynamic, Map, INT};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{Map as JsonMap, Number, Value as Json};

use crate::model::{decimals, EntityDef, FieldType};

/// A JSON value as a Rhai value; `decimal` makes numbers exact decimals.
pub fn to_dynamic(v: &Json, decimal: bool) -> Dynamic {
    match v {
        Json::Null => Dynamic::UNIT,
        Json::Bool(b) => Dynamic::from_bool(*b),
        Json::Number(n) => number(n, decimal),
        Json::String(s) => Dynamic::from(s.clone()),
        Json::Array(a) => Dynamic::from_array(a.iter().map(|x| to_dynamic(x, false)).collect::<Array>()),
        Json::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, x)| (k.as_str().into(), to_dynamic(x, false)))
                .collect::<Map>(),
        ),
    }
}

fn number(n: &Number, decimal: bool) -> Dynamic {
    if !decimal {
        if let Some(i) = n.as_i64() {
            return Dynamic::from_int(i as INT);
        }
    }
    // Exact: a JSON number keeps its digits up to here.
    match decimals::of_number(n) {
        Some(d) => Dynamic::from_decimal(d),
        None => Dynamic::from_float(n.as_f64().unwrap_or_default()),
    }
}

/// A record (field name -> JSON) as a Rhai map, numbers of decimal,
/// currency and percent fields as decimals. Keys not in the entity (system
/// columns such as `id`) are kept as they are.
pub fn record_to_dynamic(e: &EntityDef, record: &JsonMap<String, Json>) -> Map {
    record
        .iter()
        .map(|(k, v)| {
            let decimal = e
                .fields
                .iter()
                .find(|f| &f.name == k)
                .is_some_and(|f| f.field_type.is_decimal());
            (k.as_str().into(), to_dynamic(v, decimal))
        })
        .collect()
}

/// A Rhai value as JSON; fails on values JSON cannot hold (functions,
/// custom types other than decimals).
pub fn to_json(v: &Dynamic) -> Result<Json, String> {
    if v.is_unit() {
        return Ok(Json::Null);
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Json::Bool(b));
    }
    if let Ok(i) = v.as_int() {
        return Ok(Json::from(i));
    }
    if let Ok(f) = v.as_float() {
        return Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| format!("{f} is not a number JSON can hold"));
    }
    if let Some(d) = v.clone().try_cast::<Decimal>() {
        return decimal_json(d);
    }
    if v.is_string() || v.is_char() {
        return Ok(Json::String(v.to_string()));
    }
    if v.is_array() {
        let a = v.clone().into_typed_array::<Dynamic>().map_err(|t| t.to_string())?;
        return a.iter().map(to_json).collect::<Result<Vec<_>, _>>().map(Json::Array);
    }
    if v.is_map() {
        let m = v.clone().try_cast::<Map>().unwrap_or_default();
        let mut out = JsonMap::with_capacity(m.len());
        for (k, x) in &m {
            out.insert(k.to_string(), to_json(x)?);
        }
        return Ok(Json::Object(out));
    }
    Err(format!("a value of type {} cannot be stored", v.type_name()))
}

/// A decimal as JSON, exactly: whole values as integers (as scripts mean
/// them), others with their digits.
fn decimal_json(d: Decimal) -> Result<Json, String> {
    let d = d.normalize();
    if d.scale() == 0 {
        if let Some(i) = d.to_i64() {
            return Ok(Json::from(i));
        }
    }
    Ok(decimals::to_json(d))
}

/// A script's value for a field, as JSON fit for that field: decimals rounded
/// to the field's scale (half away from zero), whole numbers for integers.
pub fn field_json(field_type: FieldType, scale: u32, v: &Dynamic) -> Result<Json, String> {
    if field_type.is_decimal() {
        let d = if let Some(d) = v.clone().try_cast::<Decimal>() {
            Some(d)
        } else if let Ok(i) = v.as_int() {
            Some(Decimal::from(i))
        } else if let Ok(f) = v.as_float() {
            Decimal::from_f64_retain(f)
        } else {
            None
        };
        if let Some(d) = d {
            let rounded = d.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            // As the store returns decimals: exact, with a fraction part.
            // The field's precision is checked where every value is.
            return Ok(decimals::to_json(rounded));
        }
    }
    if field_type == FieldType::Integer {
        if let Some(d) = v.clone().try_cast::<Decimal>() {
            if d.fract().is_zero() {
                if let Some(i) = d.to_i64() {
                    return Ok(Json::from(i));
                }
            }
        }
    }
    to_json(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_exact_decimals() {
        let v = json!({"a": 1, "b": "x", "c": [true, null], "d": {"e": 2.5}});
        let d = to_dynamic(&v, false);
        assert_eq!(to_json(&d).ok(), Some(v));
        let money = to_dynamic(&json!(0.1), true);
        assert!(money.is::<Decimal>());
        // Digits beyond a float's survive the way in and out.
        let big: Json = serde_json::from_str("9999999999999999.99").unwrap_or_default();
        let d = to_dynamic(&big, true);
        assert_eq!(field_json(FieldType::Currency, 2, &d).ok(), Some(big));
        let sum = Dynamic::from_decimal(Decimal::new(1, 1) + Decimal::new(2, 1));
        assert_eq!(
            field_json(FieldType::Currency, 2, &sum)
                .map(|j| j.to_string())
                .ok()
                .as_deref(),
            Some("0.3")
        );
        assert_eq!(
            field_json(FieldType::Currency, 2, &Dynamic::from_decimal(Decimal::new(12345, 3))).ok(),
            Some(json!(12.35))
        );
        assert_eq!(
            field_json(FieldType::Currency, 2, &Dynamic::from_int(3)).ok(),
            Some(json!(3.0))
        );
        assert_eq!(
            field_json(FieldType::Integer, 0, &Dynamic::from_decimal(Decimal::new(40, 1))).ok(),
            Some(json!(4))
        );
    }
}
