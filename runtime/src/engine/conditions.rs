//! Conditions in a list's filter form held on one record: a reference's
//! `lookup_filter` on save (a client may only set a reference to a record
//! its field's picker would offer: the contact of the company chosen on the
//! form, an active action plan) and a command's `when` (it applies to the
//! record as it is). Each check is one query on the entity with the
//! conditions and one more, `id=eq.{the record}`, in the save's transaction.

use serde_json::{Map, Value as Json};

use super::compiled::CompiledEntity;
use super::payload::FieldError;
use super::query::{parse_list, ListEnv, ListParams};
use super::saving::{entity_of, Save};
use super::{Engine, EngineError};
use crate::model::values::form_operand;
use crate::model::{CommandDef, FieldDef};
use crate::store::ed::records::ListError;
use uuid::Uuid;

impl Engine {
    /// Adds a `lookup_filter` error for each reference of `record` (the
    /// values about to be written) whose target its field's `lookup_filter`
    /// does not offer. On an update (`before` is the stored record) only
    /// references that change, or whose form values (`eq.{company}`)
    /// change, are checked: a record saved before the filter existed stays
    /// editable. Fields with an error already are skipped.
    pub(super) async fn lookup_filter_errors(
        &self,
        save: &mut Save,
        e: &CompiledEntity,
        record: &Map<String, Json>,
        before: Option<&Map<String, Json>>,
        errors: &mut Vec<FieldError>,
    ) -> Result<(), EngineError> {
        for f in e.def.fields.iter().filter(|f| !f.lookup_filter.is_empty()) {
            let Some(Json::String(chosen)) = record.get(&f.name) else {
                continue;
            };
            if errors.iter().any(|x| x.field == f.name) || !touched(f, record, before) {
                continue;
            }
            if !self.offered(save, f, chosen, record).await? {
                errors.push(FieldError::new(
                    &f.name,
                    "lookup_filter",
                    format!("is not one of the records this field offers ({})", describe(f)),
                ));
            }
        }
        Ok(())
    }

    /// Whether the picker of `f`, on a form holding `record`, offers `chosen`.
    async fn offered(
        &self,
        save: &mut Save,
        f: &FieldDef,
        chosen: &str,
        record: &Map<String, Json>,
    ) -> Result<bool, EngineError> {
        let Some(target) = f.target.as_deref() else {
            return Ok(true);
        };
        let t = entity_of(&save.model, target)?;
        let mut pairs = Vec::new();
        for (key, condition) in &f.lookup_filter {
            match form_operand(condition) {
                // Bound to a field of the form: left out while it is empty,
                // as the picker leaves it out.
                Some((op, field)) => match record.get(field).and_then(operand) {
                    Some(v) => pairs.push((key.clone(), format!("{op}.{v}"))),
                    None => continue,
                },
                None => pairs.push((key.clone(), condition.clone())),
            }
        }
        self.meets(save, &t, chosen, pairs).await
    }

    /// Whether command `def` applies to the record `id` of `e` (its `when`).
    pub(super) async fn applies(
        &self,
        save: &mut Save,
        e: &CompiledEntity,
        def: &CommandDef,
        id: &str,
    ) -> Result<bool, EngineError> {
        if def.when.is_empty() {
            return Ok(true);
        }
        let conditions = def.when.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self.meets(save, e, id, conditions).await
    }

    /// The commands of the record `id` of `entity` that do not apply to it
    /// as it is (their `when` does not hold): the record page leaves out
    /// their buttons.
    pub async fn unavailable_commands(
        &self,
        entity: &str,
        id: &str,
        actor: Option<Uuid>,
    ) -> Result<Vec<String>, EngineError> {
        let snap = self.snapshot().await;
        let e = entity_of(&snap.model, entity)?;
        let Some(rules) = e.rules.clone() else {
            return Ok(Vec::new());
        };
        let mut save = Save::new(snap.model.clone(), actor);
        let mut out = Vec::new();
        for (name, c) in &rules.commands {
            if !self.applies(&mut save, &e, &c.def, id).await? {
                out.push(name.clone());
            }
        }
        Ok(out)
    }

    /// Whether the live record `id` of `e` meets `conditions` (a list's
    /// filter pairs), read in the save's transaction.
    pub(super) async fn meets(
        &self,
        save: &mut Save,
        e: &CompiledEntity,
        id: &str,
        conditions: Vec<(String, String)>,
    ) -> Result<bool, EngineError> {
        let mut pairs = vec![("id".to_owned(), format!("eq.{id}")), ("limit".into(), "1".into())];
        pairs.extend(conditions);
        let params = ListParams {
            me: save.actor,
            ..ListParams::new(pairs)
        };
        let env = ListEnv {
            limits: self.limits,
            deleted: false,
            zone: &self.time_zone,
        };
        let parsed = parse_list(&save.model, e, &params, env)?;
        let page = e.table.list_in(&mut save.db(&self.dbs.ed), &parsed.query).await;
        let page = page.map_err(|err| match err {
            ListError::BadCursor => EngineError::BadRequest("bad cursor".into()),
            ListError::Store(s) => EngineError::Store(s),
        })?;
        Ok(!page.records.is_empty())
    }
}

/// Whether the save sets `f`, or changes a form value its filter reads.
fn touched(f: &FieldDef, record: &Map<String, Json>, before: Option<&Map<String, Json>>) -> bool {
    let Some(before) = before else { return true };
    let differs = |name: &str| record.get(name) != before.get(name);
    differs(&f.name)
        || f.lookup_filter
            .values()
            .filter_map(|c| form_operand(c))
            .any(|(_, field)| differs(field))
}

/// A form value as a filter operand; `None` when empty.
fn operand(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) if s.is_empty() => None,
        Json::String(s) => Some(s.clone()),
        Json::Object(o) => o.get("id").and_then(Json::as_str).map(str::to_owned),
        other => Some(other.to_string()),
    }
}

/// The filter in its YAML words, for API clients: `company: eq.{company}`.
fn describe(f: &FieldDef) -> String {
    f.lookup_filter
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a patch sets a reference with a `lookup_filter`, or a field
/// such a filter reads (so the update needs the stored record to check).
pub(super) fn concerns(e: &CompiledEntity, patch: &Json) -> bool {
    let Some(obj) = patch.as_object() else { return false };
    e.def.fields.iter().filter(|f| !f.lookup_filter.is_empty()).any(|f| {
        obj.contains_key(&f.name)
            || f.lookup_filter
                .values()
                .filter_map(|c| form_operand(c))
                .any(|(_, field)| obj.contains_key(field))
    })
}
