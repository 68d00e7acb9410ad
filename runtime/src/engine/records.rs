//! Record operations: validate, convert, write, and explain what the
//! database refused in terms of fields.

use std::collections::HashMap;

use sea_query::Value;
use serde_json::Value as Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::attachments::AttachmentInfo;
use super::compiled::CompiledEntity;
use super::payload::{self, FieldError};
use super::picklists::{self, PicklistValues};
use super::query::{parse_list, projection, ListEnv, ListParams};
use super::saving::{fill_virtual, Save};
use super::{Engine, EngineError, Snapshot};
use crate::model::values::parse_datetime;
use crate::model::{FieldDef, FieldType};
use crate::store::ed::attachments::AttachmentRow;
use crate::store::ed::records::{ListError, Record, Stamp, WriteError, WriteOutcome};
use crate::store::ed::values::{to_sql, ColumnKind};
use crate::store::StoreError;

/// Options of a read: projection and expansion.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// `fields=`: the fields to return (id and row_version always come).
    pub fields: Option<String>,
    /// `expand=`: reference fields to replace by the referenced record.
    pub expand: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone)]
pub struct ListResult {
    /// The records.
    pub data: Vec<Record>,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
    /// The number of matches, when asked for, capped at the count cap.
    pub total: Option<u64>,
    /// Whether the total stopped at the cap.
    pub total_capped: bool,
}

fn entity<'m>(snap: &'m Snapshot<'_>, name: &str) -> Result<&'m CompiledEntity, EngineError> {
    snap.model
        .entity(name)
        .map(|e| &**e)
        .ok_or_else(|| EngineError::UnknownEntity(name.to_owned()))
}

pub(super) fn parse_id(entity: &str, id: &str) -> Result<Uuid, EngineError> {
    Uuid::parse_str(id).map_err(|_| EngineError::NotFound {
        entity: entity.to_owned(),
        id: id.to_owned(),
    })
}

pub(super) fn stamp(actor: Option<Uuid>) -> Stamp {
    Stamp {
        actor,
        now: OffsetDateTime::now_utc(),
    }
}

/// A record just written, with its virtual computed fields, as a read
/// would return it.
async fn with_virtuals(
    snap: &Snapshot<'_>,
    entity_name: &str,
    written: Result<Record, EngineError>,
) -> Result<Record, EngineError> {
    let mut record = written?;
    let e = entity(snap, entity_name)?;
    let names: Vec<String> = e.virtuals.iter().map(|f| f.name.clone()).collect();
    fill_virtual(&snap.model, e, &names, std::slice::from_mut(&mut record)).await?;
    Ok(record)
}

impl Engine {
    /// Creates a record from a JSON payload, running the entity's rules.
    pub async fn create(&self, entity_name: &str, payload: &Json, actor: Option<Uuid>) -> Result<Record, EngineError> {
        let snap = self.snapshot().await;
        let mut save = Save::new(snap.model.clone(), actor);
        let out = self.create_in(&mut save, entity_name, payload).await;
        with_virtuals(&snap, entity_name, save.finish(out).await).await
    }

    /// Applies a partial update at the version the caller read, running the
    /// entity's rules.
    pub async fn update(
        &self,
        entity_name: &str,
        id: &str,
        version: Option<i64>,
        patch: &Json,
        actor: Option<Uuid>,
    ) -> Result<Record, EngineError> {
        let snap = self.snapshot().await;
        let mut save = Save::new(snap.model.clone(), actor);
        let out = self.update_in(&mut save, entity_name, id, version, patch).await;
        with_virtuals(&snap, entity_name, save.finish(out).await).await
    }

    /// Moves a record to the recycle bin, after its `before_delete` rule.
    pub async fn delete(
        &self,
        entity_name: &str,
        id: &str,
        version: Option<i64>,
        actor: Option<Uuid>,
    ) -> Result<Record, EngineError> {
        let snap = self.snapshot().await;
        let mut save = Save::new(snap.model.clone(), actor);
        let out = self.delete_in(&mut save, entity_name, id, version).await;
        save.finish(out).await
    }

    /// Brings a record back from the recycle bin, with its `after_save`
    /// rule (so what rules derive from the record counts it again).
    pub async fn restore(&self, entity_name: &str, id: &str, actor: Option<Uuid>) -> Result<Record, EngineError> {
        let snap = self.snapshot().await;
        let mut save = Save::new(snap.model.clone(), actor);
        let out = self.restore_in(&mut save, entity_name, id).await;
        with_virtuals(&snap, entity_name, save.finish(out).await).await
    }

    /// Reads one live record.
    pub async fn get(&self, entity_name: &str, id: &str, opts: &ReadOptions) -> Result<Record, EngineError> {
        let snap = self.snapshot().await;
        let e = entity(&snap, entity_name)?;
        let uid = parse_id(entity_name, id)?;
        let shape = projection(e, opts)?;
        let not_found = || EngineError::NotFound {
            entity: entity_name.to_owned(),
            id: id.to_owned(),
        };
        // Each attachment field reads as the list of its files: without a
        // projection all of them, fetched in the same statement as the row;
        // with one, those `fields=` names.
        let whole = shape.columns.is_none() && shape.keep.is_none();
        let mut record = if whole && !e.attachments.is_empty() {
            let (mut record, files) = e.table.get_with_files(&self.dbs.ed, uid).await?.ok_or_else(not_found)?;
            for (field, infos) in super::attachments::by_field(e, &files) {
                record.insert(field, serde_json::to_value(infos).unwrap_or_default());
            }
            record
        } else {
            e.table
                .get(&self.dbs.ed, uid, shape.columns.as_deref())
                .await?
                .ok_or_else(not_found)?
        };
        let one = std::slice::from_mut(&mut record);
        self.expand(&snap, e, one, &shape.expand).await?;
        fill_virtual(&snap.model, e, &shape.virtuals, one).await?;
        if !shape.attachments.is_empty() {
            self.attach_files(e, one, &shape.attachments).await?;
        }
        shape.trim(one);
        Ok(record)
    }

    /// Lists live records, or the recycle bin.
    pub async fn list(&self, entity_name: &str, params: &ListParams, deleted: bool) -> Result<ListResult, EngineError> {
        let snap = self.snapshot().await;
        let e = entity(&snap, entity_name)?;
        let env = ListEnv {
            limits: self.limits,
            deleted,
            zone: &self.time_zone,
        };
        let mut parsed = parse_list(&snap.model, e, params, env)?;
        // Attachment fields read as their files, fetched with the rows.
        parsed.query.with_files = !parsed.projection.attachments.is_empty();
        let page = e
            .table
            .list(&self.dbs.ed, &parsed.query)
            .await
            .map_err(|err| match err {
                ListError::BadCursor => EngineError::BadRequest("the cursor does not belong to this query".into()),
                ListError::Store(s) => EngineError::Store(s),
            })?;
        let mut data = page.records;
        let shape = &parsed.projection;
        for (record, files) in data.iter_mut().zip(&page.files) {
            for (field, infos) in super::attachments::by_field(e, files) {
                if shape.attachments.contains(&field) {
                    record.insert(field, serde_json::to_value(infos).unwrap_or_default());
                }
            }
        }
        self.expand(&snap, e, &mut data, &shape.expand).await?;
        fill_virtual(&snap.model, e, &shape.virtuals, &mut data).await?;
        shape.trim(&mut data);
        let (total, total_capped) = if let Some(cap) = parsed.total {
            let n = e.table.count(&self.dbs.ed, &parsed.query, cap).await?;
            (Some(n.min(cap)), n > cap)
        } else {
            (None, false)
        };
        let next_cursor = page.next.map(|v| parsed.cursor_for(v));
        Ok(ListResult {
            data,
            next_cursor,
            total,
            total_capped,
        })
    }

    /// Sets each of `fields` (attachment fields) of every record to the
    /// descriptors of its live files, oldest first: one query for all the
    /// records, however many.
    async fn attach_files(
        &self,
        e: &CompiledEntity,
        records: &mut [Record],
        fields: &[String],
    ) -> Result<(), EngineError> {
        let ids: Vec<Uuid> = records
            .iter()
            .filter_map(|r| r.get("id").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok()))
            .collect();
        let rows = self.attachment_rows.list_for(&e.def.name, &ids).await?;
        let mut by_record: HashMap<Uuid, Vec<&AttachmentRow>> = HashMap::new();
        for row in &rows {
            by_record.entry(row.record_id).or_default().push(row);
        }
        for r in records.iter_mut() {
            let id = r.get("id").and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok());
            let own = id.and_then(|id| by_record.get(&id));
            for field in fields {
                let files: Vec<Json> = own
                    .into_iter()
                    .flatten()
                    .filter(|row| row.field == *field)
                    .map(|row| serde_json::to_value(AttachmentInfo::of(&row.file())).unwrap_or_default())
                    .collect();
                r.insert(field.clone(), Json::Array(files));
            }
        }
        Ok(())
    }

    /// Replaces reference ids by the referenced records, one query per field.
    async fn expand(
        &self,
        snap: &Snapshot<'_>,
        e: &CompiledEntity,
        records: &mut [Record],
        fields: &[String],
    ) -> Result<(), EngineError> {
        for name in fields {
            let Some((_, f)) = e.field(name) else { continue };
            let Some(target) = f.target.as_deref().and_then(|t| snap.model.entity(t)) else {
                continue;
            };
            let ids: Vec<Uuid> = records
                .iter()
                .filter_map(|r| r.get(name).and_then(Json::as_str).and_then(|s| Uuid::parse_str(s).ok()))
                .collect();
            let found = target.table.get_many(&self.dbs.ed, &ids).await?;
            for r in records.iter_mut() {
                let Some(Json::String(id)) = r.get(name) else { continue };
                let hit = found
                    .iter()
                    .find(|t| t.get("id").and_then(Json::as_str) == Some(id.as_str()));
                if let Some(hit) = hit {
                    r.insert(name.clone(), Json::Object(hit.to_map()));
                }
            }
        }
        Ok(())
    }

    /// Turns a refused write into field errors, looking up which values clash.
    pub(super) async fn explain(
        &self,
        e: &CompiledEntity,
        err: WriteError,
        payload: Option<&serde_json::Map<String, Json>>,
        id: Option<Uuid>,
    ) -> EngineError {
        let name = &e.def.name;
        match err {
            WriteError::Unique => {
                let mut errs = self.unique_errors(e, payload, id).await;
                if errs.is_empty() {
                    errs.push(FieldError::new(
                        "_",
                        "unique",
                        "another record already has these values",
                    ));
                }
                invalid(name, errs)
            }
            WriteError::ForeignKey => {
                let mut errs = Vec::new();
                for (_, f) in e.references() {
                    let Some(Json::String(v)) = payload.and_then(|p| p.get(&f.name)) else {
                        continue;
                    };
                    let target = self.model().entity(f.target.as_deref().unwrap_or_default()).cloned();
                    let exists = match (target, Uuid::parse_str(v)) {
                        (Some(t), Ok(uid)) => t.table.exists(&self.dbs.ed, uid).await.unwrap_or(false),
                        _ => false,
                    };
                    if !exists {
                        errs.push(FieldError::new(
                            &f.name,
                            "not_found",
                            format!("no {} with id {v}", f.target.as_deref().unwrap_or_default()),
                        ));
                    }
                }
                if errs.is_empty() {
                    errs.push(FieldError::new("_", "reference", "a referenced record does not exist"));
                }
                invalid(name, errs)
            }
            WriteError::Store(s) => EngineError::Store(s),
        }
    }

    pub(super) async fn unique_errors(
        &self,
        e: &CompiledEntity,
        view: Option<&serde_json::Map<String, Json>>,
        except: Option<Uuid>,
    ) -> Vec<FieldError> {
        let Some(view) = view else { return Vec::new() };
        let backend = e.table.backend();
        let mut errs = Vec::new();
        for group in &e.unique_groups {
            let mut values = Vec::new();
            for &i in group {
                let f = &e.def.fields[i];
                let Some(v) = view.get(&f.name).filter(|v| !v.is_null()) else {
                    break;
                };
                let Ok(sql) = to_sql(backend, ColumnKind::of_field(f), v) else {
                    break;
                };
                values.push((e.column_of(i), sql));
            }
            if values.len() != group.len() {
                continue;
            }
            if e.table
                .exists_with(&self.dbs.ed, &values, except)
                .await
                .unwrap_or(false)
            {
                let names: Vec<&str> = group.iter().map(|&i| e.def.fields[i].name.as_str()).collect();
                let msg = if names.len() == 1 {
                    "another record already has this value".to_owned()
                } else {
                    format!("another record already has these values of {}", names.join(", "))
                };
                errs.push(FieldError::new(names[0], "unique", msg));
            }
        }
        errs
    }
}

pub(super) fn convert(errors: &mut Vec<FieldError>, backend: crate::store::Backend, f: &FieldDef, v: &Json) -> Value {
    let kind = ColumnKind::of_field(f);
    if f.field_type.is_decimal() {
        if let Some(err) = payload::check_decimal(f, v) {
            errors.push(err);
        }
    }
    if f.field_type == FieldType::Reference && v.is_null() && f.required {
        errors.push(FieldError::new(&f.name, "required", "is required"));
    }
    match to_sql(backend, kind, v) {
        Ok(sql) => sql,
        Err(why) => {
            // The JSON Schema already reported type errors; add only new ones.
            if !errors.iter().any(|e| e.field == f.name) {
                errors.push(FieldError::new(&f.name, "invalid", why));
            }
            crate::store::ed::values::null_of(backend, kind)
        }
    }
}

/// Adds a `not_before` error for each field of `record` (the values about
/// to be written) that is before the field its `not_before` names (an end
/// before its start). Either empty: nothing to compare.
pub(super) fn order_errors(errors: &mut Vec<FieldError>, e: &CompiledEntity, record: &serde_json::Map<String, Json>) {
    for f in &e.def.fields {
        let Some(other) = f.not_before.as_deref() else { continue };
        let (Some(Json::String(a)), Some(Json::String(b))) = (record.get(&f.name), record.get(other)) else {
            continue;
        };
        let before = match f.field_type {
            FieldType::Datetime => match (parse_datetime(a), parse_datetime(b)) {
                (Some(a), Some(b)) => a < b,
                _ => false, // not a date-time: the type check says so
            },
            _ => a < b, // ISO dates sort as text
        };
        if before && !errors.iter().any(|x| x.field == f.name) {
            errors.push(FieldError::new(
                &f.name,
                "not_before",
                format!("must not be before {other}"),
            ));
        }
    }
}

/// Whether a patch sets a field some `not_before` compares (so the update
/// needs the stored record to compare with).
pub(super) fn orders_concern(e: &CompiledEntity, patch: &Json) -> bool {
    let Some(obj) = patch.as_object() else { return false };
    e.def.fields.iter().any(|f| {
        f.not_before
            .as_deref()
            .is_some_and(|other| obj.contains_key(&f.name) || obj.contains_key(other))
    })
}

/// Adds a `not_in_picklist` error unless the JSON Schema already refused
/// the value (wrong type) or its codes are acceptable.
pub(super) fn check_codes(
    errors: &mut Vec<FieldError>,
    lists: &PicklistValues,
    f: &FieldDef,
    v: &Json,
    current: Option<&Json>,
) {
    if errors.iter().any(|e| e.field == f.name) {
        return;
    }
    if let Err(err) = picklists::check_field(lists, f, v, current) {
        errors.push(err);
    }
}

pub(super) fn invalid(entity: &str, errors: Vec<FieldError>) -> EngineError {
    EngineError::Invalid {
        entity: entity.to_owned(),
        errors,
    }
}

pub(super) fn write_error(err: WriteError) -> EngineError {
    match err {
        WriteError::Store(s) => EngineError::Store(s),
        other => EngineError::Store(StoreError::Corrupt(other.to_string())),
    }
}

pub(super) fn outcome_of(
    entity: &str,
    id: Uuid,
    version: Option<i64>,
    outcome: WriteOutcome,
) -> Result<Record, EngineError> {
    match outcome {
        WriteOutcome::Done(r) => Ok(r),
        WriteOutcome::NotFound => Err(EngineError::NotFound {
            entity: entity.to_owned(),
            id: id.to_string(),
        }),
        WriteOutcome::Conflict(current) => Err(EngineError::Conflict {
            expected: version.unwrap_or_default(),
            current: Box::new(current),
        }),
    }
}
