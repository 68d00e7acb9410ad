//! The effective pick lists: the values stored in `relata_picklist_value`
//! (metadata defaults merged in, administrators' changes on top), built once
//! per change and shared read-only behind their own atomic pointer. They are
//! run-time data, not part of a release, so they live apart from the
//! [`super::CompiledModel`]; record validation checks codes against them.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value as Json;

use super::payload::FieldError;
use crate::model::{FieldDef, FieldType, Labels, Model};
use crate::store::ed::picklists::{DefaultValue, PicklistRow, ORIGIN_METADATA, ORIGIN_RUNTIME};

/// Every pick list of the active release, with its effective values.
#[derive(Debug, Default)]
pub struct PicklistValues {
    lists: HashMap<String, EffectiveList>,
    /// List names in metadata order.
    order: Vec<String>,
}

/// One pick list as users and validation see it.
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveList {
    /// The list's name.
    pub name: String,
    /// What the list is (from metadata).
    pub label: Labels,
    /// Every value, active or not, by position.
    pub values: Vec<EffectiveValue>,
}

/// One value of a pick list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveValue {
    /// The stored code; never changes.
    pub code: String,
    /// What users see.
    pub label: Labels,
    /// Offered for new values; inactive values stay readable on old records.
    pub active: bool,
    /// `metadata` (a default of the active release) or `runtime` (an
    /// administrator's value, or one only an earlier release defined).
    pub origin: String,
}

/// Why a code is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStatus {
    /// Active: any write may set it.
    Active,
    /// Deactivated: only a record that has it already may keep it.
    Inactive,
    /// Not a value of the list.
    Unknown,
}

impl PicklistValues {
    /// Builds the effective lists of `model` from the stored rows (ordered by
    /// list and position). Lists that metadata no longer has are left out;
    /// their rows stay in the table.
    pub fn build(model: &Model, rows: &[PicklistRow]) -> PicklistValues {
        let mut lists: HashMap<String, EffectiveList> = model
            .picklists
            .values()
            .map(|p| {
                let list = EffectiveList {
                    name: p.name.clone(),
                    label: p.label.clone(),
                    values: Vec::new(),
                };
                (p.name.clone(), list)
            })
            .collect();
        for r in rows {
            let (Some(list), Some(def)) = (lists.get_mut(&r.picklist), model.picklists.get(&r.picklist)) else {
                continue;
            };
            let (active, origin) = effective(r, def.values.iter().any(|v| v.code == r.code));
            list.values.push(EffectiveValue {
                code: r.code.clone(),
                label: Labels {
                    en: r.label_en.clone(),
                    zh_cn: r.label_zh_cn.clone(),
                },
                active,
                origin: origin.to_owned(),
            });
        }
        PicklistValues {
            lists,
            order: model.picklists.keys().cloned().collect(),
        }
    }

    /// A list by name.
    pub fn get(&self, name: &str) -> Option<&EffectiveList> {
        self.lists.get(name)
    }

    /// Every list, in metadata order.
    pub fn iter(&self) -> impl Iterator<Item = &EffectiveList> {
        self.order.iter().filter_map(|n| self.lists.get(n))
    }

    /// The list of a picklist or multi_picklist field.
    pub fn of_field(&self, f: &FieldDef) -> Option<&EffectiveList> {
        f.picklist.as_deref().and_then(|p| self.get(p))
    }
}

impl EffectiveList {
    /// A value by code.
    pub fn value(&self, code: &str) -> Option<&EffectiveValue> {
        self.values.iter().find(|v| v.code == code)
    }

    /// Whether a code may be written.
    pub fn status(&self, code: &str) -> CodeStatus {
        match self.value(code) {
            Some(v) if v.active => CodeStatus::Active,
            Some(_) => CodeStatus::Inactive,
            None => CodeStatus::Unknown,
        }
    }
}

/// A stored value's state under the live release, worked out from the
/// release rather than stored, so that every release (a promotion, a
/// rollback, a re-promotion) gives exactly its own lists whatever came
/// before: a value the release defines is active unless an administrator
/// deactivated it; a value only an earlier release defined is inactive
/// (kept for the records that have it); an administrator's own value is as
/// they left it. The origin shown is `metadata` for the release's values.
fn effective(r: &PicklistRow, in_release: bool) -> (bool, &'static str) {
    if in_release {
        (r.active, ORIGIN_METADATA)
    } else if r.origin == ORIGIN_RUNTIME {
        (r.active, ORIGIN_RUNTIME)
    } else {
        (false, ORIGIN_RUNTIME)
    }
}

/// The metadata defaults of every list of `model`, in the order metadata
/// offers them (`order` first, then file order), for the store's merge.
pub fn defaults(model: &Model) -> Vec<(&str, Vec<DefaultValue<'_>>)> {
    model
        .picklists
        .values()
        .map(|p| {
            let mut values: Vec<_> = p.values.iter().enumerate().collect();
            values.sort_by_key(|(i, v)| (v.order.unwrap_or(i32::MAX), *i));
            let defaults = values
                .into_iter()
                .map(|(_, v)| DefaultValue {
                    code: &v.code,
                    label_en: &v.label.en,
                    label_zh_cn: &v.label.zh_cn,
                    active: v.active,
                })
                .collect();
            (p.name.as_str(), defaults)
        })
        .collect()
}

/// The codes of a picklist or multi_picklist value.
fn codes(v: &Json) -> Vec<&str> {
    match v {
        Json::String(s) => vec![s.as_str()],
        Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Checks the codes of one field's value against its effective list. A
/// deactivated code passes only when `current` (the value the record has
/// now) holds it already.
pub fn check_field(lists: &PicklistValues, f: &FieldDef, v: &Json, current: Option<&Json>) -> Result<(), FieldError> {
    if !matches!(f.field_type, FieldType::Picklist | FieldType::MultiPicklist) {
        return Ok(());
    }
    let kept = current.map(codes).unwrap_or_default();
    let list_name = f.picklist.as_deref().unwrap_or_default();
    for code in codes(v) {
        let status = lists.get(list_name).map_or(CodeStatus::Unknown, |l| l.status(code));
        let refused = match status {
            CodeStatus::Active => false,
            // Keeping a deactivated value leaves the record editable.
            CodeStatus::Inactive => !kept.contains(&code),
            CodeStatus::Unknown => true,
        };
        if refused {
            return Err(FieldError::new(
                &f.name,
                "not_in_picklist",
                format!("`{code}` is not an active value of the pick list {list_name}"),
            ));
        }
    }
    Ok(())
}

/// Whether a value holds a deactivated code (so that checking it needs the
/// record's current value).
pub fn has_inactive(lists: &PicklistValues, f: &FieldDef, v: &Json) -> bool {
    lists
        .of_field(f)
        .is_some_and(|l| codes(v).iter().any(|c| l.status(c) == CodeStatus::Inactive))
}
