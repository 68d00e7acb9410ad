//! The three writes (create, update, delete) inside a [`Save`], with the
//! entity's rules around them, and commands. Every path that writes
//! records (the API, the UI, scripts) comes through here.

use std::sync::Arc;

use rhai::Dynamic;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::compiled::CompiledEntity;
use super::conditions;
use super::payload;
use super::picklists;
use super::records::{
    check_codes, convert, invalid, order_errors, orders_concern, outcome_of, parse_id, stamp, write_error,
};
use super::rules::value::{record_to_dynamic, to_dynamic};
use super::rules::{CommandOutcome, Host, RuleError};
use super::saving::{computed_errors, entity_of, fields_of, read_only_errors, Save};
use super::{Engine, EngineError};
use crate::model::FieldType;
use crate::store::ed::records::{Record, WriteError};
use crate::store::ed::sequences;
use crate::store::ed::values::{to_sql, ColumnKind};

impl Engine {
    /// Creates a record in `save`.
    pub(super) async fn create_in(&self, save: &mut Save, name: &str, payload: &Json) -> Result<Record, EngineError> {
        let e = entity_of(&save.model, name)?;
        // A new record has no value to clear: a field sent as null is a
        // field not sent (its default applies, rules see no value, and a
        // required field the rules fill in need not be sent), so an empty
        // form input and a field left out mean the same.
        let payload = &without_nulls(payload);
        let before = e.rules.clone().filter(|r| r.runs_before_save());
        // With rules before the save, required fields are checked on the
        // record the rules leave (a rule may fill them in).
        let validator = if before.is_some() {
            &e.patch_validator
        } else {
            &e.create_validator
        };
        let mut errors = payload::validate(validator, payload, name);
        payload::attachment_errors(&mut errors, &e.attachments, name);
        computed_errors(&mut errors, &e, payload);
        if save.by_client() {
            read_only_errors(&mut errors, &e, payload, None);
        }
        let obj = payload.as_object();
        let id = Uuid::now_v7();
        let mut record: Map<String, Json> = e
            .def
            .fields
            .iter()
            .map(|f| {
                let v = obj.and_then(|o| o.get(&f.name)).or(f.default.as_ref());
                (f.name.clone(), v.cloned().unwrap_or(Json::Null))
            })
            .collect();
        if let Some(rules) = &before {
            // The values the client sent are checked in full before the
            // rules (codes, decimal places), so that every mistake of the
            // payload is reported at once.
            let lists = self.picklists();
            for f in &e.def.fields {
                if let Some(v) = obj.and_then(|o| o.get(&f.name)) {
                    check_codes(&mut errors, &lists, f, v, None);
                    let fresh = !errors.iter().any(|x| x.field == f.name);
                    if let (true, Some(err)) = (fresh && f.field_type.is_decimal(), payload::check_decimal(f, v)) {
                        errors.push(err);
                    }
                }
            }
            if !errors.is_empty() {
                return Err(invalid(name, errors));
            }
            let changed = record
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect();
            record = self.rules_before(save, &e, rules, id, None, &record, changed).await?;
            self.number(save, &e, &mut record).await?;
            errors = payload::validate(&e.create_validator, &Json::Object(record.clone()), name);
        }
        order_errors(&mut errors, &e, &record);
        // A client's references must be ones their pickers offer.
        if errors.is_empty() && save.by_client() {
            self.lookup_filter_errors(save, &e, &record, None, &mut errors).await?;
        }
        // Numbers are taken once the payload is known to be valid, so a
        // refused payload uses none.
        if errors.is_empty() {
            self.number(save, &e, &mut record).await?;
        }
        let backend = e.table.backend();
        let lists = self.picklists();
        let mut values = Vec::with_capacity(e.def.fields.len());
        for f in &e.def.fields {
            let v = record.get(&f.name).unwrap_or(&Json::Null);
            check_codes(&mut errors, &lists, f, v, None);
            values.push(convert(&mut errors, backend, f, v));
        }
        if !errors.is_empty() {
            return Err(invalid(name, errors));
        }
        let after = e.rules.clone().filter(|r| r.after_save.is_some());
        if after.is_some() {
            save.begin(&self.dbs).await?;
        }
        let stamp = stamp(save.actor);
        let inserted = e.table.insert(&mut save.db(&self.dbs.ed), id, stamp, values).await;
        let saved = match inserted {
            Ok(r) => r,
            Err(err) => return Err(self.explain(&e, err, Some(&record), None).await),
        };
        if let Some(rules) = &after {
            let changed = record.keys().cloned().collect();
            self.rules_after(save, &e, rules, &saved, None, changed).await?;
        }
        Ok(saved)
    }

    /// Gives each numbered field the new record left empty the next number
    /// of its counter (`numbering:`), in the save's transaction if open.
    async fn number(
        &self,
        save: &mut Save,
        e: &CompiledEntity,
        record: &mut Map<String, Json>,
    ) -> Result<(), EngineError> {
        for f in &e.def.fields {
            let Some(n) = &f.numbering else { continue };
            if !record.get(&f.name).is_none_or(Json::is_null) {
                continue;
            }
            // Periods (a daily or monthly counter) follow the installation's calendar.
            let (period, head) = n.period_of(self.time_zone.date_of(time::OffsetDateTime::now_utc()));
            let counter = format!("{}.{}.{period}", e.def.name, f.name);
            let next = sequences::next(&mut save.db(&self.dbs.ed), &counter).await?;
            record.insert(f.name.clone(), Json::String(n.format(&head, next)));
        }
        Ok(())
    }

    /// Updates a record in `save` at `version`.
    pub(super) async fn update_in(
        &self,
        save: &mut Save,
        name: &str,
        id: &str,
        version: Option<i64>,
        patch: &Json,
    ) -> Result<Record, EngineError> {
        let e = entity_of(&save.model, name)?;
        let id = parse_id(name, id)?;
        let mut errors = payload::validate(&e.patch_validator, patch, name);
        payload::attachment_errors(&mut errors, &e.attachments, name);
        computed_errors(&mut errors, &e, patch);
        let backend = e.table.backend();
        let lists = self.picklists();
        let rules = e
            .rules
            .clone()
            .filter(|r| r.runs_before_update() || r.after_save.is_some());
        let pool = &self.dbs.ed;
        // The stored record: rules need it (old values); so does a
        // deactivated code, which may only stay where it is.
        // So does a read-only field the client sends: it may only send it
        // unchanged.
        let guarded = save.by_client() && e.def.fields.iter().any(|f| f.read_only);
        // A client's references are held to their `lookup_filter`, which may
        // read fields the patch leaves as stored.
        let filtered = save.by_client() && conditions::concerns(&e, patch);
        let needs_current = rules.is_some()
            || filtered
            || orders_concern(&e, patch)
            || patch.as_object().is_some_and(|obj| {
                obj.iter().any(|(n, v)| {
                    e.field(n)
                        .is_some_and(|(_, f)| picklists::has_inactive(&lists, f, v) || (guarded && f.read_only))
                })
            });
        if !errors.is_empty() {
            return Err(invalid(name, errors));
        }
        if rules.is_some() && version.is_none() {
            return Err(EngineError::PreconditionRequired);
        }
        let current = if needs_current {
            e.table.get_in(&mut save.db(pool), id, None).await?
        } else {
            None
        };
        if guarded {
            if let Some(cur) = &current {
                read_only_errors(&mut errors, &e, patch, Some(cur));
            }
        }
        let mut sets = Vec::new();
        let mut old = None;
        let mut changed = Vec::new();
        // The new values of hierarchy fields, checked for loops below.
        let mut moves = Map::new();
        match (&rules, &current) {
            (Some(r), Some(cur)) => {
                let before = cur.to_map();
                let mut record: Map<String, Json> = e
                    .def
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), before.get(&f.name).cloned().unwrap_or(Json::Null)))
                    .collect();
                let sent = patch.as_object().cloned().unwrap_or_default();
                for (k, v) in &sent {
                    if before.get(k) != Some(v) && e.field(k).is_some() {
                        changed.push(k.clone());
                    }
                    record.insert(k.clone(), v.clone());
                }
                // A replay shows the rules the record as a create would:
                // no old record, every field it has as entered now.
                let replay = save.replays();
                if replay {
                    changed = record
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, _)| k.clone())
                        .collect();
                }
                if r.runs_before_update() || (replay && r.on_new.is_some()) {
                    let seen_old = (!replay).then_some(&before);
                    record = self
                        .rules_before(save, &e, r, id, seen_old, &record, changed.clone())
                        .await?;
                    let errs = payload::validate(&e.patch_validator, &Json::Object(record.clone()), name);
                    errors.extend(errs);
                }
                for (i, f) in e.def.fields.iter().enumerate() {
                    let v = record.get(&f.name).unwrap_or(&Json::Null);
                    let differs = before.get(&f.name) != Some(v);
                    // `after_save` sees what the rules before it changed too.
                    if differs && !changed.contains(&f.name) {
                        changed.push(f.name.clone());
                    }
                    if sent.contains_key(&f.name) || differs {
                        if f.hierarchy && differs {
                            moves.insert(f.name.clone(), v.clone());
                        }
                        check_codes(&mut errors, &lists, f, v, before.get(&f.name));
                        sets.push((e.column_of(i), convert(&mut errors, backend, f, v)));
                    }
                }
                order_errors(&mut errors, &e, &record);
                if errors.is_empty() && filtered {
                    self.lookup_filter_errors(save, &e, &record, Some(&before), &mut errors)
                        .await?;
                }
                old = (!replay).then_some(before);
            }
            (Some(_), None) => {
                return Err(EngineError::NotFound {
                    entity: name.to_owned(),
                    id: id.to_string(),
                })
            }
            (None, _) => {
                // The record as it will be: the stored one, patched.
                if let (Some(cur), Some(obj)) = (&current, patch.as_object()) {
                    let before = cur.to_map();
                    let mut record = before.clone();
                    record.extend(obj.iter().map(|(k, v)| (k.clone(), v.clone())));
                    order_errors(&mut errors, &e, &record);
                    if errors.is_empty() && filtered {
                        self.lookup_filter_errors(save, &e, &record, Some(&before), &mut errors)
                            .await?;
                    }
                }
                if let Some(obj) = patch.as_object() {
                    for (n, v) in obj {
                        if let Some((i, f)) = e.field(n) {
                            if f.hierarchy {
                                moves.insert(n.clone(), v.clone());
                            }
                            let kept = current.as_ref().and_then(|r| r.get(n));
                            check_codes(&mut errors, &lists, f, v, kept);
                            sets.push((e.column_of(i), convert(&mut errors, backend, f, v)));
                        }
                    }
                }
            }
        }
        if errors.is_empty() && !moves.is_empty() {
            self.hierarchy_errors(save, &e, id, &moves, &mut errors).await?;
        }
        if !errors.is_empty() {
            return Err(invalid(name, errors));
        }
        let version = version.ok_or(EngineError::PreconditionRequired)?;
        let after = rules.filter(|r| r.after_save.is_some());
        if after.is_some() {
            save.begin(&self.dbs).await?;
        }
        let stamp = stamp(save.actor);
        let updated = e
            .table
            .update(&mut save.db(&self.dbs.ed), id, version, stamp, sets)
            .await;
        let outcome = match updated {
            Ok(outcome) => outcome_of(name, id, Some(version), outcome)?,
            Err(err) => return Err(self.explain(&e, err, patch.as_object(), Some(id)).await),
        };
        if let Some(r) = &after {
            self.rules_after(save, &e, r, &outcome, old.as_ref(), changed).await?;
        }
        Ok(outcome)
    }

    /// Moves a record to the recycle bin in `save`, between `before_delete`
    /// and `after_delete`.
    pub(super) async fn delete_in(
        &self,
        save: &mut Save,
        name: &str,
        id: &str,
        version: Option<i64>,
    ) -> Result<Record, EngineError> {
        let e = entity_of(&save.model, name)?;
        let uid = parse_id(name, id)?;
        let pool = &self.dbs.ed;
        if let Some(r) = e.rules.clone() {
            if let Some(f) = r.before_delete.clone() {
                let current = e.table.get_in(&mut save.db(pool), uid, None).await?;
                let current = current.ok_or_else(|| EngineError::NotFound {
                    entity: name.to_owned(),
                    id: id.to_owned(),
                })?;
                self.run_hook(save, &e, &r, "before_delete", f, current.to_map(), None, Vec::new())
                    .await?;
            }
        }
        let after = e.rules.clone().and_then(|r| r.after_delete.clone().map(|f| (r, f)));
        if after.is_some() {
            save.begin(&self.dbs).await?;
        }
        let stamp = stamp(save.actor);
        let outcome = e
            .table
            .soft_delete(&mut save.db(&self.dbs.ed), uid, version, stamp)
            .await
            .map_err(write_error)?;
        let deleted = outcome_of(name, uid, version, outcome)?;
        if let Some((r, f)) = after {
            self.run_hook(save, &e, &r, "after_delete", f, deleted.to_map(), None, Vec::new())
                .await?;
        }
        Ok(deleted)
    }

    /// Brings a record back from the recycle bin in `save`, then runs its
    /// `after_save` (`old()` is the record as it was in the bin; no field
    /// counts as changed).
    pub(super) async fn restore_in(&self, save: &mut Save, name: &str, id: &str) -> Result<Record, EngineError> {
        let e = entity_of(&save.model, name)?;
        let uid = parse_id(name, id)?;
        let pool = &self.dbs.ed;
        let after = e.rules.clone().filter(|r| r.after_save.is_some());
        let binned = match after {
            Some(_) => {
                save.begin(&self.dbs).await?;
                e.table.get_any(&mut save.db(pool), uid).await?.map(|r| r.to_map())
            }
            None => None,
        };
        let stamp = stamp(save.actor);
        let outcome = e.table.restore(&mut save.db(&self.dbs.ed), uid, stamp).await;
        let restored = match outcome {
            Ok(outcome) => outcome_of(name, uid, None, outcome)?,
            Err(WriteError::Unique) => {
                let current = e.table.get_any(&mut save.db(pool), uid).await?.map(|r| r.to_map());
                let errs = self.unique_errors(&e, current.as_ref(), Some(uid)).await;
                return Err(invalid(name, errs));
            }
            Err(err) => return Err(write_error(err)),
        };
        if let Some(rules) = &after {
            self.rules_after(save, &e, rules, &restored, binned.as_ref(), Vec::new())
                .await?;
        }
        Ok(restored)
    }

    /// Runs command `command` of a record with `params`, in one transaction;
    /// changes the command makes to `this` are saved (with the entity's
    /// rules). Returns what to show or open next.
    pub async fn command(
        &self,
        entity_name: &str,
        id: &str,
        command: &str,
        params: &Json,
        actor: Option<Uuid>,
    ) -> Result<CommandOutcome, EngineError> {
        let snap = self.snapshot().await;
        let mut save = Save::new(snap.model.clone(), actor);
        let out = self.command_in(&mut save, entity_name, id, command, params).await;
        save.finish(out).await
    }

    async fn command_in(
        &self,
        save: &mut Save,
        name: &str,
        id: &str,
        command: &str,
        params: &Json,
    ) -> Result<CommandOutcome, EngineError> {
        let e = entity_of(&save.model, name)?;
        let unknown = || EngineError::UnknownCommand {
            entity: name.to_owned(),
            command: command.to_owned(),
        };
        let rules = e.rules.clone().ok_or_else(unknown)?;
        let def = rules.commands.get(command).ok_or_else(unknown)?.def.clone();
        let uid = parse_id(name, id)?;
        let args = command_params(&e.table.backend(), &def, params).map_err(|errors| invalid(name, errors))?;
        save.begin(&self.dbs).await?;
        let current = e.table.get_in(&mut save.db(&self.dbs.ed), uid, None).await?;
        let current = current.ok_or_else(|| EngineError::NotFound {
            entity: name.to_owned(),
            id: id.to_owned(),
        })?;
        // Whether the command applies (`when`) is known before it runs, but
        // said after: a function that refuses with its own `error()` gives
        // the better message. Either way the transaction is dropped.
        let applies = self.applies(save, &e, &def, &uid.to_string()).await?;
        let before = current.to_map();
        let this = record_to_dynamic(&e.def, &before);
        let r = Arc::clone(&rules);
        let cmd = command.to_owned();
        let (result, host) = self
            .run_script(
                save,
                Dynamic::UNIT,
                Vec::new(),
                move |host: &Host| -> Result<Dynamic, RuleError> {
                    let mut this = Dynamic::from_map(this);
                    let _ = r.command(host, &cmd, &mut this, args)?;
                    Ok(this)
                },
            )
            .await?;
        let this = result.map_err(EngineError::Rule)?;
        let errors = host.take_errors();
        if !errors.is_empty() {
            return Err(invalid(name, errors));
        }
        if !applies {
            let when: Vec<String> = def.when.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            return Err(invalid(
                name,
                vec![payload::FieldError::new(
                    "_",
                    "not_available",
                    format!("`{command}` does not apply to this record (when {})", when.join(", ")),
                )],
            ));
        }
        let after = fields_of(&e, &rules, &this)?;
        let computed: Vec<&str> = rules.computed.iter().map(|c| c.field.as_str()).collect();
        let changes: Map<String, Json> = after
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v) && !computed.contains(&k.as_str()))
            .collect();
        if !changes.is_empty() {
            let version = before.get("row_version").and_then(Json::as_i64);
            // The command's own changes: read-only fields are its to set.
            save.by_app = true;
            let saved = self.update_in(save, name, id, version, &Json::Object(changes)).await;
            save.by_app = false;
            saved?;
        }
        Ok(host.outcome())
    }
}

/// `payload` without its null members (anything else as it is).
fn without_nulls(payload: &Json) -> Json {
    match payload {
        Json::Object(obj) => Json::Object(
            obj.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The parameters of a command, checked against its declaration.
fn command_params(
    backend: &crate::store::Backend,
    def: &crate::model::CommandDef,
    params: &Json,
) -> Result<rhai::Map, Vec<payload::FieldError>> {
    let obj = match params {
        Json::Object(o) => o,
        _ => {
            return Err(vec![payload::FieldError::new(
                "_",
                "type",
                "send the parameters as a JSON object",
            )])
        }
    };
    let mut errors = Vec::new();
    let mut out = rhai::Map::new();
    for k in obj.keys() {
        if !def.params.iter().any(|p| &p.name == k) {
            errors.push(payload::FieldError::new(
                k,
                "unknown_field",
                format!("is not a parameter of {}", def.name),
            ));
        }
    }
    for p in &def.params {
        let v = obj.get(&p.name).unwrap_or(&Json::Null);
        if v.is_null() || v.as_str().is_some_and(str::is_empty) {
            if p.required {
                errors.push(payload::FieldError::new(&p.name, "required", "is required"));
            }
            out.insert(p.name.as_str().into(), Dynamic::UNIT);
            continue;
        }
        let shape_ok = match p.param_type {
            FieldType::Integer => v.is_i64(),
            t if t.is_decimal() => v.is_number(),
            FieldType::Boolean => v.is_boolean(),
            _ => v.is_string(),
        };
        let converts = if p.param_type.is_decimal() {
            crate::model::decimals::of_json(v).is_some()
        } else {
            to_sql(*backend, ColumnKind::of_type(p.param_type), v).is_ok()
        };
        if !(shape_ok && converts) {
            errors.push(payload::FieldError::new(
                &p.name,
                "type",
                format!("expected {} value", p.param_type.with_article()),
            ));
            continue;
        }
        out.insert(p.name.as_str().into(), to_dynamic(v, p.param_type.is_decimal()));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
