//! Reading metadata YAML within bounds, so a hostile file is refused fast.
//!
//! The YAML parser spends time quadratic in the nesting of flow
//! collections (`[[[[...`: a 58 KiB file took 24 s, 200 KiB over 300 s),
//! before any deserializer sees an event; and aliases are replayed on each
//! use, so a few kilobytes can stand for gigabytes. So the text is scanned
//! for its nesting first (cheap, linear), then deserialized by a seed that
//! counts every value made (aliases included) and refuses a key given twice.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The largest metadata file (YAML or script), in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// How deeply mappings and sequences may nest in a YAML file.
pub const MAX_DEPTH: usize = 32;
/// Values one YAML file may stand for, aliases expanded.
pub const MAX_NODES: usize = 100_000;
/// Files in one package.
pub const MAX_FILES: usize = 2_000;

/// Parses `text` as YAML into JSON values, within the bounds above.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    if text.len() > MAX_FILE_BYTES {
        return Err(format!(
            "the file is {} bytes; a metadata file may have at most {MAX_FILE_BYTES}",
            text.len()
        ));
    }
    parse_bounded(text)
}

/// Parses a release export written as YAML (a package's files as texts,
/// so few values however large): any size the caller allows, the same
/// nesting and value bounds as a metadata file.
pub fn parse_export(text: &str) -> Result<Value, String> {
    parse_bounded(text)
}

fn parse_bounded(text: &str) -> Result<Value, String> {
    if let Some(line) = flow_too_deep(text) {
        return Err(format!(
            "line {line}: brackets nest more than {MAX_DEPTH} levels deep (the limit of metadata files)"
        ));
    }
    let count = Cell::new(0);
    let seed = Node {
        depth: 0,
        count: &count,
    };
    let de = serde_yaml_ng::Deserializer::from_str(text);
    seed.deserialize(de).map_err(|e| format!("not valid YAML: {e}"))
}

/// The line where `[`/`{` collections first nest past [`MAX_DEPTH`], if
/// they do. Brackets count where a value starts (not inside plain text,
/// quotes, comments or block scalars); block nesting needs indentation,
/// so it cannot be deep in a small file and the deserializer bounds it.
fn flow_too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    // A block scalar's indentation: lines indented more are its text.
    let mut block: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(b) = block {
            if line.trim().is_empty() || indent > b {
                continue;
            }
            block = None;
        }
        let mut prev = None::<char>; // last significant character on the line
        let mut escaped = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if q == '"' && c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    prev = Some(c);
                }
                continue;
            }
            let at_start = matches!(prev, None | Some(':' | '-' | '?' | ',' | '[' | '{'));
            match c {
                ' ' | '\t' => continue,
                '#' => break,
                '\'' | '"' if at_start => quote = Some(c),
                '[' | '{' if at_start || depth > 0 => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(n + 1);
                    }
                }
                ']' | '}' if depth > 0 => depth -= 1,
                '|' | '>' if at_start && depth == 0 => {
                    block = Some(indent);
                    break;
                }
                _ => {}
            }
            prev = Some(c);
            // A plain scalar runs to `: `, ` #` or the line's end.
            if !matches!(c, '[' | '{' | ']' | '}' | ',' | ':' | '-' | '?' | '\'' | '"') {
                while let Some(&next) = chars.peek() {
                    if next == ':' || next == ' ' || (depth > 0 && matches!(next, ',' | ']' | '}')) {
                        break;
                    }
                    chars.next();
                }
            }
        }
    }
    None
}

/// One value of the document, `depth` collections deep.
struct Node<'a> {
    depth: usize,
    count: &'a Cell<usize>,
}

impl Node<'_> {
    fn counted<E: serde::de::Error>(&self) -> Result<(), E> {
        let n = self.count.get() + 1;
        self.count.set(n);
        if n > MAX_NODES {
            return Err(E::custom(format!(
                "the file stands for more than {MAX_NODES} values (aliases counted each time they are used)"
            )));
        }
        Ok(())
    }

    fn child<E: serde::de::Error>(&self) -> Result<Self, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format!(
                "mappings and lists nest more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(Node {
            depth: self.depth + 1,
            count: self.count,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.counted()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.counted()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.counted()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child()?)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.counted()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "the key `{key}` is given twice in one mapping"
                )));
            }
            let value = map.next_value_seed(self.child()?)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn ordinary_yaml_reads_as_before() {
        let text = "kind: entity\nname: x # a comment [[[\nlabel: {en: \"it's [\", zh: '[x'}\nhelp: |\n  text with [[[[ and {{{\n  more\nlist: [1, [2, 3], {a: b}]\nn: 1.5\nflag: true\nnothing: ~\n";
        let strict = parse_yaml(text);
        let plain: Result<Value, String> = serde_yaml_ng::from_str(text).map_err(|e| e.to_string());
        assert!(strict.is_ok(), "{strict:?}");
        assert_eq!(strict, plain);
    }

    #[test]
    fn deep_flow_nesting_is_refused_fast() {
        // 200 KiB of brackets: over 300 s in the parser without the scan.
        let text = format!("a: {}", "[".repeat(200 * 1024));
        let started = Instant::now();
        let err = parse_yaml(&text).err().unwrap_or_default();
        assert!(err.contains("nest more than 32 levels"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        // The mapping is one level, its value the others.
        let ok = format!("a: {}1{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse_yaml(&ok).is_ok());
    }

    #[test]
    fn exports_are_read_within_the_same_bounds() {
        let text = format!("export: {}", "{".repeat(200 * 1024));
        let err = parse_export(&text).err().unwrap_or_default();
        assert!(err.contains("nest more than 32 levels"), "{err}");
        let big = format!("files: [\"{}\"]\n", "x".repeat(2 * MAX_FILE_BYTES));
        assert!(parse_export(&big).is_ok(), "an export may be larger than one file");
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
        }
        text.push_str(&format!("{}end: 1\n", "  ".repeat(40)));
        let err = parse_yaml(&text).err().unwrap_or_default();
        assert!(err.contains("nest more than 32 levels"), "{err}");
    }

    #[test]
    fn alias_expansion_is_bounded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h"];
        let mut prev = "a";
        for n in names {
            text.push_str(&format!("{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = n;
        }
        let err = parse_yaml(&text).err().unwrap_or_default();
        assert!(err.contains("more than 100000 values"), "{err}");
        // A few aliases are fine.
        assert!(parse_yaml("a: &a {x: 1}\nb: *a\n").is_ok());
    }

    #[test]
    fn size_and_duplicate_keys() {
        let big = format!("a: \"{}\"\n", "x".repeat(MAX_FILE_BYTES));
        let err = parse_yaml(&big).err().unwrap_or_default();
        assert!(err.contains("at most 1048576"), "{err}");
        let err = parse_yaml("name: a\nlabel: b\nname: c\n").err().unwrap_or_default();
        assert!(err.contains("the key `name` is given twice"), "{err}");
    }
}
