//! Reading a request body as JSON strictly: a key given twice in one
//! object is refused (serde_json keeps the last silently, so a client
//! could not tell which value counted), and so is nesting deeper than a
//! request ever needs.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How deeply arrays and objects may nest in a request body.
pub const MAX_DEPTH: usize = 32;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON (serde_json's message, with line and column).
    Malformed(String),
    /// An object gives this key twice (the JSON path of the object, `$` at the top).
    DuplicateKey { key: String, at: String },
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// Parses `bytes` as one JSON value, refusing duplicate keys and deep nesting.
pub fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Node {
        depth: 0,
        path: "$".to_owned(),
        found: &found,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => Err(found.into_inner().unwrap_or_else(|| Refusal::Malformed(e.to_string()))),
    }
}

/// One value of the document, at `path`, `depth` containers deep.
struct Node<'a> {
    depth: usize,
    path: String,
    found: &'a RefCell<Option<Refusal>>,
}

impl Node<'_> {
    fn child(&self, step: String) -> Result<Self, Refusal> {
        if self.depth >= MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        Ok(Node {
            depth: self.depth + 1,
            path: step,
            found: self.found,
        })
    }

    fn refuse<E: serde::de::Error>(&self, why: Refusal) -> E {
        let text = format!("{why:?}");
        *self.found.borrow_mut() = Some(why);
        E::custom(text)
    }
}

/// The key under which serde_json hands over a number's digits.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let child = self
                .child(format!("{}[{}]", self.path, out.len()))
                .map_err(|w| self.refuse(w))?;
            match seq.next_element_seed(child)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut next = map.next_key::<String>()?;
        // serde_json keeps a number's digits (`arbitrary_precision`, for
        // exact money) by handing it over as a one-entry map.
        if next.as_deref() == Some(NUMBER_TOKEN) {
            let digits: String = map.next_value()?;
            let n: serde_json::Number = serde_json::from_str(&digits).map_err(serde::de::Error::custom)?;
            return Ok(Value::Number(n));
        }
        while let Some(key) = next.take() {
            if out.contains_key(&key) {
                return Err(self.refuse(Refusal::DuplicateKey {
                    key,
                    at: self.path.clone(),
                }));
            }
            let child = self.child(format!("{}.{key}", self.path)).map_err(|w| self.refuse(w))?;
            let value = map.next_value_seed(child)?;
            out.insert(key, value);
            next = map.next_key::<String>()?;
        }
        Ok(Value::Object(out))
    }
}

/// Checks a `Content-Type` header: `application/json`, with at most a
/// `charset=utf-8` parameter (JSON is UTF-8). `Err` says what was wrong.
pub fn check_content_type(header: Option<&str>) -> Result<(), String> {
    let Some(header) = header else {
        return Err("send the body as application/json (no Content-Type was given)".to_owned());
    };
    let mut parts = header.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(format!("send the body as application/json, not `{media}`"));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        if !name.trim().eq_ignore_ascii_case("charset") {
            return Err(format!(
                "application/json takes no parameter but charset=utf-8; found `{}`",
                param.trim()
            ));
        }
        if !value.eq_ignore_ascii_case("utf-8") {
            return Err(format!("JSON is UTF-8: charset `{value}` is not accepted"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_named() {
        assert_eq!(
            parse(br#"{"a": 1, "b": {"c": 1, "c": 2}}"#),
            Err(Refusal::DuplicateKey {
                key: "c".into(),
                at: "$.b".into()
            })
        );
        assert_eq!(
            parse(br#"{"name": "x", "name": "y"}"#),
            Err(Refusal::DuplicateKey {
                key: "name".into(),
                at: "$".into()
            })
        );
        // The same key in two objects is fine.
        let ok = parse(br#"[{"a": 1}, {"a": 2}]"#);
        assert_eq!(ok.ok().and_then(|v| v.as_array().map(Vec::len)), Some(2));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(deep.as_bytes()), Err(Refusal::TooDeep));
        let deeper = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert_eq!(parse(deeper.as_bytes()), Err(Refusal::TooDeep));
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let text = br#"{"s": "x", "n": -3, "u": 18446744073709551615, "f": 1.5, "b": true, "z": null, "a": [1, "2"]}"#;
        let strict = parse(text).ok();
        let plain: Option<Value> = serde_json::from_slice(text).ok();
        assert_eq!(strict, plain);
        assert!(matches!(parse(b"{\"a\": 1} x"), Err(Refusal::Malformed(_))));
        assert!(matches!(parse(b"{\"a\": "), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=UTF-8")).is_ok());
        assert!(check_content_type(Some("application/json;charset=\"utf-8\"")).is_ok());
        assert!(check_content_type(None).is_err());
        assert!(check_content_type(Some("application/jsonx")).is_err());
        assert!(check_content_type(Some("application/vnd.api+json")).is_err());
        assert!(check_content_type(Some("text/plain")).is_err());
        assert!(check_content_type(Some("application/json; charset=latin1")).is_err());
        assert!(check_content_type(Some("application/json; boundary=x")).is_err());
    }
}
