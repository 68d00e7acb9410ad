//! A record read from an entity table: the values of a row, in column order,
//! beside the column names shared by every row of the same read.
//!
//! Rows are the hot path of every list and read. Keeping the names once per
//! query (an `Arc`) instead of once per row avoids a string copy and a hash
//! per column per row; a record still reads like a map (`get`) and
//! serialises as a JSON object in column order.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};

/// The column names of the records of one read, in order.
pub type Names = Arc<[String]>;

/// One record: column name to JSON value, in column order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    names: Names,
    values: Vec<Json>,
    /// Values set under names the read did not have (rare: callers adding
    /// to a record); kept after the columns.
    extra: Vec<(String, Json)>,
}

impl Record {
    /// A record of `values` under `names` (as many of each).
    pub fn new(names: Names, values: Vec<Json>) -> Record {
        debug_assert_eq!(names.len(), values.len());
        Record {
            names,
            values,
            extra: Vec::new(),
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The value of `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self.position(name) {
            Some(i) => self.values.get(i),
            None => self.extra.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        }
    }

    /// Sets `name` to `value` (replacing, or adding after the columns).
    pub fn insert(&mut self, name: String, value: Json) {
        if let Some(i) = self.position(&name) {
            self.values[i] = value;
        } else if let Some(slot) = self.extra.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.extra.push((name, value));
        }
    }

    /// Keeps only the values whose name `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let (names, values): (Vec<String>, Vec<Json>) = self
            .names
            .iter()
            .zip(std::mem::take(&mut self.values))
            .filter(|(n, _)| keep(n))
            .map(|(n, v)| (n.clone(), v))
            .unzip();
        self.names = names.into();
        self.values = values;
        self.extra.retain(|(n, _)| keep(n));
    }

    /// How many values the record has.
    pub fn len(&self) -> usize {
        self.values.len() + self.extra.len()
    }

    /// Whether the record has no values (a projection can leave none).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every name and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(&self.values)
            .chain(self.extra.iter().map(|(n, v)| (n.as_str(), v)))
    }

    /// The record as a JSON object.
    pub fn to_map(&self) -> Map<String, Json> {
        self.iter().map(|(n, v)| (n.to_owned(), v.clone())).collect()
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len() + self.extra.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

impl From<Map<String, Json>> for Record {
    fn from(map: Map<String, Json>) -> Record {
        let (names, values): (Vec<String>, Vec<Json>) = map.into_iter().unzip();
        Record::new(names.into(), values)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_writes_and_serialises_like_a_json_object_in_column_order() {
        let names: Names = vec!["id".to_owned(), "name".to_owned()].into();
        let mut r = Record::new(names, vec![json!("a1"), json!("Acme")]);
        assert_eq!(r.get("name"), Some(&json!("Acme")));
        assert_eq!(r.get("city"), None);
        r.insert("name".into(), json!("Acme Ltd"));
        r.insert("company".into(), json!({"id": "c1"}));
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some(r#"{"id":"a1","name":"Acme Ltd","company":{"id":"c1"}}"#)
        );
        assert_eq!(
            Json::Object(r.to_map()),
            json!({"id": "a1", "name": "Acme Ltd", "company": {"id": "c1"}})
        );
        let mut kept = r.clone();
        kept.retain(|n| n != "name");
        assert_eq!(
            Json::Object(kept.to_map()),
            json!({"id": "a1", "company": {"id": "c1"}})
        );
        let back = Record::from(r.to_map());
        assert_eq!(back.get("company"), Some(&json!({"id": "c1"})));
        assert_eq!(
            back.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["id", "name", "company"]
        );
    }
}
