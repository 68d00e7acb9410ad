//! Pick-list administration at run time: administrators add, rename, reorder,
//! deactivate and reactivate values. Every change is checked here, written
//! by the store, and followed by a reload of the effective lists, so the
//! next request validates against it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;

use super::auth::CurrentUser;
use super::payload::FieldError;
use super::picklists::{EffectiveList, PicklistValues};
use super::Engine;
use crate::model::check_code;
use crate::store::ed::picklists::{NewValueRow, ValueChange, ORIGIN_RUNTIME};
use crate::store::StoreError;

/// The longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// Why a pick-list operation was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum PicklistError {
    /// Only administrators change pick lists.
    #[error("only administrators may change pick lists")]
    Forbidden,
    /// No pick list of that name in the active release.
    #[error("no pick list `{0}`")]
    UnknownPicklist(String),
    /// No value with that code in the list.
    #[error("the pick list {picklist} has no value `{code}`")]
    UnknownValue {
        /// The list.
        picklist: String,
        /// The code asked for.
        code: String,
    },
    /// The input is invalid; one error per offending field.
    #[error("the pick-list change is not valid")]
    Invalid(Vec<FieldError>),
    /// The database failed; details go to the logs only.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A value to add (`POST /api/v1/picklists/{name}/values`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPicklistValue {
    /// The code records will store: an identifier, immutable once created.
    #[serde(default)]
    pub code: String,
    /// The labels, both required.
    #[serde(default)]
    pub label: LabelInput,
}

/// Labels as sent; missing ones are `None` (`null` is refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelInput {
    /// English.
    #[serde(default, deserialize_with = "present")]
    pub en: Option<String>,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN", default, deserialize_with = "present")]
    pub zh_cn: Option<String>,
}

/// A change to one value (`PATCH .../values/{code}`); absent parts stay
/// (`null` is refused: it would read as "unchanged" to some and "cleared"
/// to others).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicklistValuePatch {
    /// New labels (either or both).
    #[serde(default, deserialize_with = "present")]
    pub label: Option<LabelInput>,
    /// `false` deactivates, `true` reactivates.
    #[serde(default, deserialize_with = "present")]
    pub active: Option<bool>,
}

/// A key that is sent holds a value: `Some`, never `null`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The blanks a label may not consist of, and loses around it (as the
/// OpenAPI document states it: `[^ \t\n\r]`).
fn blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A label as stored: without the blanks around it.
fn trimmed(label: &str) -> &str {
    label.trim_matches(blank)
}

fn label_error(errors: &mut Vec<FieldError>, field: &str, text: Option<&str>, required: bool) {
    match text {
        None if required => errors.push(FieldError::new(field, "required", "is required")),
        Some(t) if t.chars().all(blank) => errors.push(FieldError::new(field, "required", "may not be empty")),
        Some(t) if t.chars().count() > MAX_LABEL_CHARS => errors.push(FieldError::new(
            field,
            "max_length",
            format!("at most {MAX_LABEL_CHARS} characters"),
        )),
        _ => {}
    }
}

fn admin(user: &CurrentUser) -> Result<(), PicklistError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(PicklistError::Forbidden)
    }
}

impl Engine {
    /// The effective pick lists (shared, read-only).
    pub fn picklists(&self) -> Arc<PicklistValues> {
        self.picklists.load_full()
    }

    /// One pick list with all its values, active or not.
    pub fn picklist(&self, name: &str) -> Result<EffectiveList, PicklistError> {
        self.picklists
            .load()
            .get(name)
            .cloned()
            .ok_or_else(|| PicklistError::UnknownPicklist(name.to_owned()))
    }

    /// Adds a value at the end of a list (admins only).
    pub async fn add_picklist_value(
        &self,
        user: &CurrentUser,
        name: &str,
        value: &NewPicklistValue,
    ) -> Result<EffectiveList, PicklistError> {
        admin(user)?;
        // Serialised with releases, which rebuild the lists too.
        let _one_at_a_time = self.applying.lock().await;
        let list = self.picklist(name)?;
        let mut errors = Vec::new();
        if let Err(e) = check_code(&value.code) {
            errors.push(FieldError::new("code", "invalid", format!("the code {e}")));
        } else if list.value(&value.code).is_some() {
            errors.push(FieldError::new(
                "code",
                "duplicate",
                format!("the pick list already has a value `{}`", value.code),
            ));
        }
        label_error(&mut errors, "label.en", value.label.en.as_deref(), true);
        label_error(&mut errors, "label.zh-CN", value.label.zh_cn.as_deref(), true);
        if !errors.is_empty() {
            return Err(PicklistError::Invalid(errors));
        }
        let row = NewValueRow {
            picklist: name,
            code: &value.code,
            label_en: trimmed(value.label.en.as_deref().unwrap_or_default()),
            label_zh_cn: trimmed(value.label.zh_cn.as_deref().unwrap_or_default()),
            by: Some(user.id),
            now: OffsetDateTime::now_utc(),
        };
        if !self.picklist_store.insert(&row).await? {
            // Another node added it meanwhile.
            return Err(PicklistError::Invalid(vec![FieldError::new(
                "code",
                "duplicate",
                format!("the pick list already has a value `{}`", value.code),
            )]));
        }
        self.reload_picklists().await?;
        self.picklist(name)
    }

    /// Renames, deactivates or reactivates one value (admins only).
    pub async fn update_picklist_value(
        &self,
        user: &CurrentUser,
        name: &str,
        code: &str,
        patch: &PicklistValuePatch,
    ) -> Result<EffectiveList, PicklistError> {
        admin(user)?;
        // Serialised with releases, which rebuild the lists too.
        let _one_at_a_time = self.applying.lock().await;
        let list = self.picklist(name)?;
        let Some(current) = list.value(code) else {
            return Err(PicklistError::UnknownValue {
                picklist: name.to_owned(),
                code: code.to_owned(),
            });
        };
        // A value the live release does not define becomes the
        // administrator's when they (re)activate it: releases leave it be.
        let adopt = patch.active.is_some() && current.origin == ORIGIN_RUNTIME;
        let mut errors = Vec::new();
        let label = patch.label.clone().unwrap_or_default();
        label_error(&mut errors, "label.en", label.en.as_deref(), false);
        label_error(&mut errors, "label.zh-CN", label.zh_cn.as_deref(), false);
        if patch.active.is_none() && label.en.is_none() && label.zh_cn.is_none() {
            errors.push(FieldError::new("_", "required", "send label and/or active"));
        }
        if !errors.is_empty() {
            return Err(PicklistError::Invalid(errors));
        }
        let change = ValueChange {
            label_en: label.en.as_deref().map(trimmed),
            label_zh_cn: label.zh_cn.as_deref().map(trimmed),
            active: patch.active,
            adopt,
        };
        let now = OffsetDateTime::now_utc();
        self.picklist_store
            .update(name, code, &change, Some(user.id), now)
            .await?;
        self.reload_picklists().await?;
        self.picklist(name)
    }

    /// Puts a list's values in the order given: every code of the list,
    /// active or not, exactly once (admins only).
    pub async fn reorder_picklist(
        &self,
        user: &CurrentUser,
        name: &str,
        codes: &[String],
    ) -> Result<EffectiveList, PicklistError> {
        admin(user)?;
        // Serialised with releases, which rebuild the lists too.
        let _one_at_a_time = self.applying.lock().await;
        let list = self.picklist(name)?;
        let mut sent: Vec<&str> = codes.iter().map(String::as_str).collect();
        let mut have: Vec<&str> = list.values.iter().map(|v| v.code.as_str()).collect();
        sent.sort_unstable();
        have.sort_unstable();
        if sent != have {
            return Err(PicklistError::Invalid(vec![FieldError::new(
                "codes",
                "not_a_permutation",
                format!("send every code of the list exactly once: {}", have.join(", ")),
            )]));
        }
        let now = OffsetDateTime::now_utc();
        self.picklist_store.reorder(name, codes, Some(user.id), now).await?;
        self.reload_picklists().await?;
        self.picklist(name)
    }

    /// Merges the active release's metadata defaults into the table; at
    /// start and as part of applying a release.
    pub(super) async fn merge_picklist_defaults(&self, model: &crate::model::Model) -> Result<(), StoreError> {
        let defaults = super::picklists::defaults(model);
        let inserted = self
            .picklist_store
            .merge_defaults(&defaults, OffsetDateTime::now_utc())
            .await?;
        if inserted > 0 {
            tracing::info!(inserted, "pick-list defaults merged from metadata");
        }
        Ok(())
    }

    /// Rebuilds the effective lists from the table for the current model.
    pub(super) async fn reload_picklists(&self) -> Result<(), StoreError> {
        let model = self.model.load_full();
        let read = self.read_picklists(&model.model).await?;
        self.publish_picklists(read);
        Ok(())
    }

    /// The effective lists of `model` from the table, with the change
    /// counter they were read at (to publish with [`Self::publish_picklists`]).
    pub(super) async fn read_picklists(&self, model: &crate::model::Model) -> Result<ReadPicklists, StoreError> {
        // The counter first: a change committed between the two reads is
        // in the rows and makes the next check reload once more, never less.
        let version = self.picklist_store.version().await?;
        let rows = self.picklist_store.all().await?;
        Ok(ReadPicklists {
            version,
            lists: PicklistValues::build(model, &rows),
        })
    }

    /// Makes lists read by [`Self::read_picklists`] the ones requests see,
    /// and their counter the one [`Self::sync_picklists`] compares with (so
    /// this node's own changes are not taken for another node's).
    pub(super) fn publish_picklists(&self, read: ReadPicklists) {
        self.picklists.store(Arc::new(read.lists));
        self.picklist_version.store(read.version, Ordering::Release);
    }

    /// Reloads the lists if any node changed them since they were built
    /// (one cheap read of the change counter otherwise). Serialised with
    /// releases and local changes, which rebuild the lists too.
    pub async fn sync_picklists(&self) -> Result<bool, StoreError> {
        let stored = self.picklist_store.version().await?;
        if stored == self.picklist_version.load(Ordering::Acquire) {
            return Ok(false);
        }
        let _one_at_a_time = self.applying.lock().await;
        self.reload_picklists().await?;
        Ok(true)
    }

    /// Keeps this node's lists in step with changes other nodes make: on
    /// PostgreSQL at once, through `LISTEN relata_picklists` (every change
    /// sends a `NOTIFY` in its own transaction); on every backend, and as a
    /// fallback for notices lost while a connection was down, by comparing
    /// the change counter every `every`. Runs until the engine is dropped.
    pub fn watch_picklists(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        let store = self.picklist_store.clone();
        tokio::spawn(async move {
            let mut notices = match store.listen().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for pick-list changes; polling only");
                    None
                }
            };
            loop {
                // First a check: it catches a change made before the listener
                // was up; then every notice, or every `every` at the latest.
                let Some(engine) = weak.upgrade() else { return };
                if store.is_closed() {
                    return;
                }
                match engine.sync_picklists().await {
                    Ok(true) => tracing::info!("pick lists reloaded after a change on another node"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot check pick lists for changes"),
                }
                drop(engine);
                match notices.as_mut() {
                    Some(n) => {
                        tokio::select! {
                            got = n.next() => match got {
                                Ok(true) => {}
                                // The pool closed: give its connection back.
                                Ok(false) => return,
                                Err(e) => {
                                    tracing::warn!(error = %e, "pick-list notices failed; polling until they come back");
                                    tokio::time::sleep(every).await;
                                }
                            },
                            () = tokio::time::sleep(every) => {}
                        }
                    }
                    None => tokio::time::sleep(every).await,
                }
            }
        });
    }
}

/// Effective lists read from the table, not yet published.
pub(super) struct ReadPicklists {
    version: i64,
    lists: PicklistValues,
}
