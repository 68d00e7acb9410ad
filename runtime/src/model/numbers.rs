//! Numbers in user-facing JSON. Metadata keeps numeric settings (`min`,
//! `max`, ...) as `f64`, which JSON writes as `5.0`; users wrote `5` and
//! should read `5` back, in diffs, schemas and the messages made from them.

use serde_json::Value;

/// `v` as JSON: an integer when it has no fractional part (and fits), the
/// float otherwise (and `null` for NaN or an infinity, as JSON has neither).
pub fn number(v: f64) -> Value {
    // Exactly integral and inside the range where f64 holds every integer.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() == 0.0 && v.abs() <= EXACT {
        // In range and integral: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(v as i64);
    }
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// `v` with every integral float written as an integer, recursively.
pub fn tidy(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| v.clone(), number),
        Value::Array(a) => Value::Array(a.iter().map(tidy).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), tidy(x))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integral_floats_read_as_integers() {
        assert_eq!(number(5.0).to_string(), "5");
        assert_eq!(number(-3.0).to_string(), "-3");
        assert_eq!(number(0.5).to_string(), "0.5");
        assert_eq!(number(1e300).to_string(), "1e+300", "beyond exact integers: a float");
        assert_eq!(number(f64::NAN), Value::Null);
        // Compared as text, where `1` and `1.0` differ.
        assert_eq!(
            tidy(&json!({"max": 1.0, "list": [2.0, 2.5, "x"], "n": 7})).to_string(),
            json!({"max": 1, "list": [2, 2.5, "x"], "n": 7}).to_string()
        );
    }
}
