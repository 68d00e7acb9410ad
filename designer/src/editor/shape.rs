//! What a piece of an item kind's JSON Schema asks for, reduced to the few
//! shapes the generic editor knows how to edit. The schemas are the ones the
//! runtime generates from its Rust types ([`relata::model::kind_schema`]), so
//! a new kind needs nothing here but its schema.

use serde_json::{json, Map, Value};

/// One property of an object shape.
#[derive(Debug, Clone)]
pub struct Prop {
    /// The key.
    pub key: String,
    /// Whether the schema requires it.
    pub required: bool,
    /// Its schema (unresolved).
    pub schema: Value,
}

/// The shape of a value, as the editor edits it.
#[derive(Debug, Clone)]
pub enum Shape {
    /// A fixed value (`kind`, `version`): shown, not edited.
    Const(Value),
    /// A text in every shipped language (`en`, `zh-CN`), edited side by side.
    Labels,
    /// One of a closed set of strings.
    Enum(Vec<String>),
    /// A string.
    Text,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// A boolean.
    Boolean,
    /// An object with known properties, in the schema's order.
    Object(Vec<Prop>),
    /// An array of objects: rows.
    Rows(Box<Shape>),
    /// An array of strings or numbers, edited as a comma-separated list.
    List(Box<Shape>),
    /// Anything else (maps, untyped values, alternatives of objects): JSON text.
    Json,
}

/// A shape, whether `null` is allowed, and the schema's description.
#[derive(Debug, Clone)]
pub struct Typed {
    /// The shape.
    pub shape: Shape,
    /// Whether `null` (an empty input) is allowed.
    pub nullable: bool,
    /// The help text of the schema.
    pub description: String,
    /// The value an absent property stands for (the schema's `default`).
    pub default: Option<Value>,
}

/// The languages of a [`Shape::Labels`] value.
pub const LANGUAGES: [&str; 2] = ["en", "zh-CN"];

/// Follows `$ref`s (`#/$defs/X`) inside `root`.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(s) => schema = s,
            None => break,
        }
    }
    schema
}

/// Classifies `schema` (a part of `root`).
pub fn classify(root: &Value, schema: &Value) -> Typed {
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let s = resolve(root, schema);
    let description = match description.is_empty() {
        true => s
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        false => description,
    };
    let default = schema.get("default").or_else(|| s.get("default")).cloned();
    let (shape, nullable) = shape_of(root, s);
    Typed {
        shape,
        nullable,
        description,
        default,
    }
}

fn is_null(root: &Value, s: &Value) -> bool {
    resolve(root, s).get("type").and_then(Value::as_str) == Some("null")
}

fn shape_of(root: &Value, s: &Value) -> (Shape, bool) {
    if let Some(c) = s.get("const") {
        return (Shape::Const(c.clone()), false);
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return (strings(values).map_or(Shape::Json, Shape::Enum), false);
    }
    if let Some(alts) = s.get("anyOf").or_else(|| s.get("oneOf")).and_then(Value::as_array) {
        let nullable = alts.iter().any(|a| is_null(root, a));
        let rest: Vec<&Value> = alts.iter().filter(|a| !is_null(root, a)).collect();
        let consts: Option<Vec<Value>> = rest.iter().map(|a| resolve(root, a).get("const").cloned()).collect();
        if let Some(Some(values)) = consts.map(|c| strings(&c)) {
            return (Shape::Enum(values), nullable);
        }
        return match rest.as_slice() {
            [one] => (shape_of(root, resolve(root, one)).0, nullable),
            _ => (Shape::Json, nullable),
        };
    }
    let (ty, nullable) = match s.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(ts)) => {
            let named: Vec<&str> = ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect();
            match named.as_slice() {
                [one] => (*one, ts.len() > named.len()),
                _ => return (Shape::Json, false),
            }
        }
        _ => return (Shape::Json, false),
    };
    let shape = match ty {
        "string" => Shape::Text,
        "integer" => Shape::Integer,
        "number" => Shape::Number,
        "boolean" => Shape::Boolean,
        "object" => object_shape(s),
        "array" => array_shape(root, s),
        _ => Shape::Json,
    };
    (shape, nullable)
}

fn strings(values: &[Value]) -> Option<Vec<String>> {
    values.iter().map(|v| v.as_str().map(str::to_owned)).collect()
}

fn object_shape(s: &Value) -> Shape {
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return Shape::Json;
    };
    let keys: Vec<&str> = props.keys().map(String::as_str).collect();
    if keys == LANGUAGES {
        return Shape::Labels;
    }
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Shape::Object(
        props
            .iter()
            .map(|(k, v)| Prop {
                key: k.clone(),
                required: required.contains(&k.as_str()),
                schema: v.clone(),
            })
            .collect(),
    )
}

fn array_shape(root: &Value, s: &Value) -> Shape {
    let Some(items) = s.get("items") else {
        return Shape::Json;
    };
    let item = classify(root, items);
    match item.shape {
        Shape::Object(_) if !item.nullable => Shape::Rows(Box::new(item.shape)),
        Shape::Text | Shape::Integer | Shape::Number | Shape::Enum(_) if !item.nullable => {
            Shape::List(Box::new(item.shape))
        }
        _ => Shape::Json,
    }
}

/// The value a new, empty `shape` starts with: the required properties of
/// objects with their own empty values, empty strings and lists, `false`, 0,
/// the first choice of an enumeration.
pub fn empty_value(root: &Value, shape: &Shape) -> Value {
    match shape {
        Shape::Const(v) => v.clone(),
        Shape::Labels => json!({ "en": "", "zh-CN": "" }),
        Shape::Enum(values) => values.first().map_or(Value::Null, |v| json!(v)),
        Shape::Text => json!(""),
        Shape::Integer | Shape::Number => json!(0),
        Shape::Boolean => json!(false),
        Shape::Object(props) => {
            let mut out = Map::new();
            for p in props.iter().filter(|p| p.required) {
                let t = classify(root, &p.schema);
                out.insert(p.key.clone(), empty_value(root, &t.shape));
            }
            Value::Object(out)
        }
        Shape::Rows(_) | Shape::List(_) => json!([]),
        Shape::Json => Value::Null,
    }
}

/// The shape of the value at `pointer` inside an item of `root`'s kind
/// (`None` when the schema has no such place).
pub fn shape_at(root: &Value, pointer: &str) -> Option<Typed> {
    let mut t = classify(root, root);
    for seg in pointer.split('/').skip(1) {
        let next = match &t.shape {
            Shape::Object(props) => props.iter().find(|p| p.key == seg).map(|p| classify(root, &p.schema)),
            Shape::Rows(item) | Shape::List(item) if seg.parse::<usize>().is_ok() => Some(Typed {
                shape: (**item).clone(),
                nullable: false,
                description: String::new(),
                default: None,
            }),
            _ => None,
        };
        t = next?;
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity() -> Value {
        relata::model::kind_schema("entity").unwrap_or_default()
    }

    #[test]
    fn entity_schema_reads_as_editor_shapes() {
        let root = entity();
        let at = |p: &str| shape_at(&root, p).map(|t| (format!("{:?}", t.shape), t.nullable));
        assert!(matches!(
            shape_at(&root, ""),
            Some(Typed {
                shape: Shape::Object(_),
                ..
            })
        ));
        assert_eq!(at("/kind"), Some(("Const(String(\"entity\"))".into(), false)));
        assert_eq!(at("/label"), Some(("Labels".into(), false)));
        assert_eq!(at("/description"), Some(("Labels".into(), true)));
        assert_eq!(at("/fields/0/max_length"), Some(("Integer".into(), true)));
        assert_eq!(at("/fields/0/required"), Some(("Boolean".into(), false)));
        assert_eq!(at("/fields/0/default"), Some(("Json".into(), false)));
        assert!(matches!(
            shape_at(&root, "/fields/0/on_delete"),
            Some(Typed { shape: Shape::Enum(ref v), nullable: true, .. }) if v == &["restrict", "set_null"]
        ));
        assert!(
            matches!(shape_at(&root, "/fields/0/type"), Some(Typed { shape: Shape::Enum(ref v), .. }) if v.len() > 10)
        );
        assert!(matches!(
            shape_at(&root, "/search/fields"),
            Some(Typed {
                shape: Shape::List(_),
                ..
            })
        ));
        assert!(shape_at(&root, "/nope").is_none());
    }

    #[test]
    fn a_new_item_has_its_required_properties() {
        let root = entity();
        let t = classify(&root, &root);
        let v = empty_value(&root, &t.shape);
        assert_eq!(v["kind"], "entity");
        assert_eq!(v["version"], 1);
        assert_eq!(v["label"], json!({"en": "", "zh-CN": ""}));
        assert_eq!(v["fields"], json!([]));
        assert!(v.get("search").is_none());
    }
}
