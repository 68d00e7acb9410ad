//! The live runtime's answer to "what would promoting this do", typed and
//! rendered for a terminal: the items added, removed and changed (with a
//! field-level diff), and the schema steps, destructive ones marked with
//! the rows they touch.

use std::fmt::{self, Write as _};

use serde::Deserialize;
use serde_json::Value;

/// What promoting a package would do.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    /// The live release it was compared with.
    pub live_release: Option<i64>,
    /// The package is the live release already.
    #[serde(default)]
    pub unchanged: bool,
    /// Item by item.
    pub diff: ItemDiff,
    /// The schema steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Stored values that would make the promotion fail.
    #[serde(default)]
    pub refusals: Vec<Refusal>,
}

/// Stored values that stop a step, named.
#[derive(Debug, Clone, Deserialize)]
pub struct Refusal {
    /// The entity.
    #[serde(default)]
    pub entity: String,
    /// The field, when about one field.
    #[serde(default)]
    pub field: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// How many rows are in the way.
    #[serde(default)]
    pub count: i64,
    /// Some of them: `{"id": ..., "value": ...}`.
    #[serde(default)]
    pub examples: Vec<Value>,
}

impl fmt::Display for Refusal {
    /// Whole: the examples are what the administrator must fix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}.{field}: {}", self.entity, self.reason)?,
            None => write!(f, "{}: {}", self.entity, self.reason)?,
        }
        write!(f, " ({} row(s))", self.count)?;
        for e in &self.examples {
            match (e.get("id").and_then(Value::as_str), e.get("value")) {
                (Some(id), Some(v)) => write!(f, "\n    {id} = {v}")?,
                _ => write!(f, "\n    {e}")?,
            }
        }
        Ok(())
    }
}

/// Items added, removed and changed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemDiff {
    /// New items.
    #[serde(default)]
    pub added: Vec<ItemRef>,
    /// Removed items.
    #[serde(default)]
    pub removed: Vec<ItemRef>,
    /// Changed items, with their changes.
    #[serde(default)]
    pub changed: Vec<ChangedItem>,
}

/// An item by kind and name.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemRef {
    /// `entity`, `form`, `script` ...
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// A changed item.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangedItem {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What changed, by JSON pointer into its body.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change: a JSON pointer and the old and new values.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// Where (RFC 6901; empty: the whole body, as for a script).
    pub path: String,
    /// Before (absent: added).
    pub old: Option<Value>,
    /// After (absent: removed).
    pub new: Option<Value>,
}

/// A schema step.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// Its stable id (to confirm it).
    pub id: String,
    /// What it does.
    pub description: String,
    /// Archives data or narrows what a column accepts.
    #[serde(default)]
    pub destructive: bool,
    /// Rows it touches, for destructive and narrowing steps.
    pub affected_rows: Option<u64>,
}

impl Plan {
    /// The destructive steps, which a promotion must confirm.
    pub fn destructive(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.destructive)
    }

    /// The flags that confirm every destructive step
    /// (`--confirm s-1 --confirm s-2`); empty when there is none.
    pub fn confirm_flags(&self) -> String {
        self.destructive()
            .map(|s| format!("--confirm {}", s.id))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    match text.chars().count() {
        n if n > 80 => format!("{}…", text.chars().take(79).collect::<String>()),
        _ => text,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unchanged {
            return writeln!(f, "the package is the live release already");
        }
        let mut out = String::new();
        for i in &self.diff.added {
            let _ = writeln!(out, "+ {} {}", i.kind, i.name);
        }
        for i in &self.diff.removed {
            let _ = writeln!(out, "- {} {}", i.kind, i.name);
        }
        for i in &self.diff.changed {
            let _ = writeln!(out, "~ {} {}", i.kind, i.name);
            for c in &i.changes {
                let at = if c.path.is_empty() { "(text)" } else { c.path.as_str() };
                let _ = match (&c.old, &c.new) {
                    (Some(o), Some(n)) => writeln!(out, "    {at}: {} -> {}", short(o), short(n)),
                    (None, Some(n)) => writeln!(out, "    {at}: added {}", short(n)),
                    (Some(o), None) => writeln!(out, "    {at}: removed {}", short(o)),
                    (None, None) => writeln!(out, "    {at}"),
                };
            }
        }
        if self.steps.is_empty() {
            out.push_str("schema: no change\n");
        } else {
            out.push_str("schema:\n");
            for s in &self.steps {
                let mark = if s.destructive { "DESTRUCTIVE " } else { "" };
                let rows = s.affected_rows.map(|n| format!(" ({n} rows)")).unwrap_or_default();
                let _ = writeln!(out, "  {mark}{}{rows}  [{}]", s.description, s.id);
            }
        }
        for r in &self.refusals {
            let _ = writeln!(out, "refused: {r}");
        }
        let flags = self.confirm_flags();
        if !flags.is_empty() {
            let _ = writeln!(out, "destructive steps need confirming: {flags}");
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_items_changes_and_destructive_steps() -> anyhow::Result<()> {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "live_release": 3, "unchanged": false,
            "diff": {
                "added": [{"kind": "entity", "name": "site_survey"}],
                "removed": [],
                "changed": [{"kind": "entity", "name": "contact", "changes": [
                    {"path": "/label/en", "old": "Contact", "new": "Person"},
                    {"path": "/fields/3", "old": {"name": "fax"}}
                ]}]
            },
            "steps": [
                {"id": "s-1", "description": "create table site_survey", "destructive": false},
                {"id": "s-2", "description": "archive column contact.fax", "destructive": true, "affected_rows": 118}
            ],
            "refusals": []
        }))?;
        assert_eq!(
            plan.to_string(),
            "+ entity site_survey\n~ entity contact\n    /label/en: \"Contact\" -> \"Person\"\n    \
             /fields/3: removed {\"name\":\"fax\"}\nschema:\n  create table site_survey  [s-1]\n  \
             DESTRUCTIVE archive column contact.fax (118 rows)  [s-2]\n\
             destructive steps need confirming: --confirm s-2\n"
        );
        assert_eq!(plan.destructive().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["s-2"]);
        Ok(())
    }

    #[test]
    fn refusals_are_shown_whole() -> anyhow::Result<()> {
        let long = "x".repeat(300);
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "live_release": 3,
            "diff": {},
            "steps": [],
            "refusals": [{"entity": "contact", "field": "code", "reason": "values longer than 20 characters",
                          "count": 1, "examples": [{"id": "0190-abc", "value": long}]}]
        }))?;
        let shown = plan.to_string();
        assert!(
            shown.contains(&format!(
                "refused: contact.code: values longer than 20 characters (1 row(s))\n    0190-abc = \"{long}\"\n"
            )),
            "{shown}"
        );
        Ok(())
    }
}
