//! Saving records with their business rules: the rules run on a blocking
//! thread (Rhai is synchronous), and what they ask of the database comes
//! back here, to the task that owns the save's transaction. The whole save
//! (the rules before, the write, `after_save`, and every record the rules
//! write) commits or rolls back as one.
//!
//! An entity without rules pays for none of this: no thread, and no
//! transaction unless a hierarchy field moves (its check and write hold a
//! lock, [`Save::hold`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rhai::Dynamic;
use serde_json::{Map, Value as Json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::compiled::{CompiledEntity, CompiledModel};
use super::payload::FieldError;
use super::query::{parse_list, ListEnv, ListParams};
use super::rules::host::{Call, HostFailure, HostRequest};
use super::rules::value::{field_json, record_to_dynamic, to_dynamic};
use super::rules::{EntityRules, Host, RuleError, MAX_DEPTH};
use super::{Engine, EngineError};
use crate::store::ed::records::{ListError, Record};
use crate::store::{Databases, Db, Pool, StoreError, Tx};

/// One save and everything it writes: the model it runs on, who saves,
/// the transaction (begun only when a rule needs it) and the nesting depth.
pub(super) struct Save {
    pub model: Arc<CompiledModel>,
    pub actor: Option<Uuid>,
    tx: Option<Tx>,
    depth: u32,
    /// The write under way is the application's own (a command saving the
    /// changes it made), not the client's: read-only fields may change.
    pub by_app: bool,
    /// A replay: a record written in bulk (demo data) saved again through
    /// its rules as if it were being entered now, so its rules see what a
    /// create shows them: no old record, every field it has as changed
    /// (`demo/settle.rs`). Only the save itself: not what its rules write.
    pub replay: bool,
}

impl Save {
    /// A save on `model` by `actor`.
    pub fn new(model: Arc<CompiledModel>, actor: Option<Uuid>) -> Save {
        Save {
            model,
            actor,
            tx: None,
            depth: 0,
            by_app: false,
            replay: false,
        }
    }

    /// Whether the write under way is a replay (see [`Save::replay`]).
    pub fn replays(&self) -> bool {
        self.replay && self.depth == 0
    }

    /// Whether the write under way is the client's own: neither a rule's
    /// nested write nor a command saving its changes. Only a client's
    /// writes are held to the entity's read-only fields.
    pub fn by_client(&self) -> bool {
        self.depth == 0 && !self.by_app
    }

    /// Where statements run: the transaction when one is open, else the pool.
    pub fn db<'a>(&'a mut self, pool: &'a Pool) -> Db<'a> {
        match &mut self.tx {
            Some(tx) => tx.db(),
            None => Db::Pool(pool),
        }
    }

    /// Opens the transaction, if not yet open.
    pub async fn begin(&mut self, dbs: &Databases) -> Result<(), StoreError> {
        if self.tx.is_none() {
            self.tx = Some(Tx::begin(&dbs.ed).await?);
        }
        Ok(())
    }

    /// Opens the transaction if need be and holds the lock named `key` in
    /// it until the save ends ([`Tx::hold`]).
    pub async fn hold(&mut self, dbs: &Databases, key: &str) -> Result<(), StoreError> {
        self.begin(dbs).await?;
        match &mut self.tx {
            Some(tx) => tx.hold(key).await,
            None => Ok(()),
        }
    }

    /// Commits when `out` is a success; otherwise the transaction is
    /// dropped, which rolls it back.
    pub async fn finish<T>(self, out: Result<T, EngineError>) -> Result<T, EngineError> {
        let v = out?;
        if let Some(tx) = self.tx {
            tx.commit().await?;
        }
        Ok(v)
    }
}

/// The compiled entity `name` (an `Arc`, so a save may hold it across awaits).
pub(super) fn entity_of(model: &CompiledModel, name: &str) -> Result<Arc<CompiledEntity>, EngineError> {
    model
        .entity(name)
        .cloned()
        .ok_or_else(|| EngineError::UnknownEntity(name.to_owned()))
}

/// Field errors for the read-only fields a client's payload would change:
/// compared with `current` (an update) or, for a new record (`None`), with
/// the field's default. Sending the value a field already has is allowed,
/// so a client may send back a record as it read it.
pub(super) fn read_only_errors(
    errors: &mut Vec<FieldError>,
    e: &CompiledEntity,
    payload: &Json,
    current: Option<&Record>,
) {
    let Some(obj) = payload.as_object() else { return };
    for f in e.def.fields.iter().filter(|f| f.read_only && f.computed.is_none()) {
        let Some(sent) = obj.get(&f.name) else { continue };
        let before = match current {
            Some(r) => r.get(&f.name),
            None => f.default.as_ref(),
        };
        if !same_value(sent, before.unwrap_or(&Json::Null)) {
            errors.retain(|x| x.field != f.name);
            errors.push(FieldError::new(
                &f.name,
                "read_only",
                "is read-only: only the application's rules and commands change it",
            ));
        }
    }
}

/// JSON equality, with numbers compared by value (`10` and `10.0` agree).
fn same_value(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Field errors for computed fields sent in a payload: their values come
/// from the rules.
pub(super) fn computed_errors(errors: &mut Vec<FieldError>, e: &CompiledEntity, payload: &Json) {
    let Some(obj) = payload.as_object() else { return };
    let Some(rules) = &e.rules else { return };
    for c in &rules.computed {
        if obj.contains_key(&c.field) {
            errors.retain(|x| x.field != c.field);
            errors.push(FieldError::new(
                &c.field,
                "read_only",
                "is computed by a rule and cannot be sent",
            ));
        }
    }
}

fn to_failure(e: &EngineError, fatal: bool) -> HostFailure {
    let message = match e {
        EngineError::Invalid { entity, errors } => {
            let list: Vec<String> = errors.iter().map(|x| format!("{}: {}", x.field, x.message)).collect();
            format!("the {entity} is not valid: {}", list.join("; "))
        }
        EngineError::Store(_) => "the database refused the request".to_owned(),
        other => other.to_string(),
    };
    if let EngineError::Store(s) = e {
        tracing::warn!(error = %s, "a rule's database request failed");
    }
    HostFailure { message, fatal }
}

type Serving<'a> = Pin<Box<dyn Future<Output = Result<Json, HostFailure>> + Send + 'a>>;

impl Engine {
    /// Runs `script` on a blocking thread with a [`Host`] linked to this
    /// save, answering its database requests until it is done.
    pub(super) async fn run_script<T: Send + 'static>(
        &self,
        save: &mut Save,
        old: Dynamic,
        changed: Vec<String>,
        script: impl FnOnce(&Host) -> T + Send + 'static,
    ) -> Result<(T, Host), EngineError> {
        if save.depth >= MAX_DEPTH {
            return Err(EngineError::Rule(RuleError::TooDeep(MAX_DEPTH)));
        }
        let (link, mut calls) = mpsc::unbounded_channel::<Call>();
        let host = Host::new(save.model.clone(), Some(link), old, changed);
        let theirs = host.clone();
        let mut job = tokio::task::spawn_blocking(move || script(&theirs));
        let out = loop {
            tokio::select! {
                done = &mut job => break done,
                Some(call) = calls.recv() => {
                    save.depth += 1;
                    let answer = self.serve(save, call.request).await;
                    save.depth -= 1;
                    let _ = call.reply.send(answer);
                }
            }
        };
        let out = out.map_err(|e| StoreError::Corrupt(format!("a business rule's thread failed: {e}")))?;
        Ok((out, host))
    }

    /// Answers one request of a script, in the save's transaction.
    fn serve<'a>(&'a self, save: &'a mut Save, request: HostRequest) -> Serving<'a> {
        Box::pin(async move {
            let pool = &self.dbs.ed;
            match request {
                HostRequest::Find { entity, id } => {
                    let e = entity_of(&save.model, &entity).map_err(|e| to_failure(&e, false))?;
                    let Ok(uid) = Uuid::parse_str(&id) else {
                        return Ok(Json::Null);
                    };
                    let found = e.table.get_in(&mut save.db(pool), uid, None).await;
                    let found = found.map_err(|s| to_failure(&EngineError::Store(s), true))?;
                    Ok(found.map_or(Json::Null, |r| Json::Object(r.to_map())))
                }
                HostRequest::Query { entity, params } => {
                    let e = entity_of(&save.model, &entity).map_err(|e| to_failure(&e, false))?;
                    let params = ListParams {
                        me: save.actor,
                        ..ListParams::new(params)
                    };
                    let env = ListEnv {
                        limits: self.limits,
                        deleted: false,
                        zone: &self.time_zone,
                    };
                    let parsed = parse_list(&save.model, &e, &params, env).map_err(|e| to_failure(&e, false))?;
                    let page = e.table.list_in(&mut save.db(pool), &parsed.query).await;
                    let page = page.map_err(|err| match err {
                        ListError::BadCursor => to_failure(&EngineError::BadRequest("bad cursor".into()), false),
                        ListError::Store(s) => to_failure(&EngineError::Store(s), true),
                    })?;
                    Ok(Json::Array(
                        page.records.iter().map(|r| Json::Object(r.to_map())).collect(),
                    ))
                }
                HostRequest::Create { entity, values } => {
                    save.begin(&self.dbs)
                        .await
                        .map_err(|s| to_failure(&EngineError::Store(s), true))?;
                    let r = self.create_in(save, &entity, &values).await;
                    r.map(|r| Json::Object(r.to_map())).map_err(|e| to_failure(&e, true))
                }
                HostRequest::Update { entity, id, values } => {
                    save.begin(&self.dbs)
                        .await
                        .map_err(|s| to_failure(&EngineError::Store(s), true))?;
                    let r = self.update_latest(save, &entity, &id, &values).await;
                    r.map(|r| Json::Object(r.to_map())).map_err(|e| to_failure(&e, true))
                }
                HostRequest::Delete { entity, id } => {
                    save.begin(&self.dbs)
                        .await
                        .map_err(|s| to_failure(&EngineError::Store(s), true))?;
                    let r = self.delete_in(save, &entity, &id, None).await;
                    r.map(|_| Json::Null).map_err(|e| to_failure(&e, true))
                }
                HostRequest::User => {
                    let Some(id) = save.actor else { return Ok(Json::Null) };
                    match self.auth.user_by_id(id).await {
                        Ok(Some(u)) => Ok(serde_json::json!({
                            "id": u.id,
                            "username": u.username,
                            "name": u.display_name,
                            "email": u.email,
                            "locale": u.locale.unwrap_or_default().as_str(),
                            "is_admin": u.is_admin,
                        })),
                        Ok(None) => Ok(Json::Null),
                        Err(e) => Err(HostFailure {
                            message: e.to_string(),
                            fatal: false,
                        }),
                    }
                }
            }
        })
    }

    /// Updates a record at its current version (the `update()` of scripts).
    pub(super) async fn update_latest(
        &self,
        save: &mut Save,
        entity: &str,
        id: &str,
        values: &Json,
    ) -> Result<Record, EngineError> {
        let e = entity_of(&save.model, entity)?;
        let uid = super::records::parse_id(entity, id)?;
        // Locked: two saves updating one record (a parent's roll-up) wait
        // for each other instead of failing on the version.
        let current = e.table.get_locked_in(&mut save.db(&self.dbs.ed), uid).await?;
        let version = current
            .as_ref()
            .and_then(|r| r.get("row_version"))
            .and_then(Json::as_i64)
            .ok_or_else(|| EngineError::NotFound {
                entity: entity.to_owned(),
                id: id.to_owned(),
            })?;
        self.update_in(save, entity, id, Some(version), values).await
    }

    /// Runs the rules that come before a write: `on_new` (new records),
    /// `on_change` of each changed field, `before_save`, the stored computed
    /// fields, then `validate`. Returns the record's field values as they
    /// are to be written.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn rules_before(
        &self,
        save: &mut Save,
        e: &Arc<CompiledEntity>,
        rules: &Arc<EntityRules>,
        id: Uuid,
        old: Option<&Map<String, Json>>,
        record: &Map<String, Json>,
        changed: Vec<String>,
    ) -> Result<Map<String, Json>, EngineError> {
        let is_new = old.is_none();
        let old = old.map_or(Dynamic::UNIT, |o| Dynamic::from_map(record_to_dynamic(&e.def, o)));
        let mut this = record_to_dynamic(&e.def, record);
        this.insert("id".into(), Dynamic::from(id.to_string()));
        // Most rules before a save never reach the database: run them here
        // first, with no thread hop; one that asks for the database stops
        // (it has written nothing) and runs again on a thread with a link.
        let inline = Host::inline(save.model.clone(), old.clone(), changed.clone());
        let first = before_phase(rules, &inline, is_new, this.clone());
        let (result, host) = if inline.wanted_database() {
            let r = rules.clone();
            self.run_script(save, old, changed, move |host: &Host| {
                before_phase(&r, host, is_new, this)
            })
            .await?
        } else {
            (first, inline)
        };
        let this = result.map_err(EngineError::Rule)?;
        let errors = host.take_errors();
        if !errors.is_empty() {
            return Err(EngineError::Invalid {
                entity: e.def.name.clone(),
                errors,
            });
        }
        fields_of(e, rules, &this)
    }

    /// Runs `after_save` on the saved record, in the save's transaction.
    pub(super) async fn rules_after(
        &self,
        save: &mut Save,
        e: &Arc<CompiledEntity>,
        rules: &Arc<EntityRules>,
        saved: &Record,
        old: Option<&Map<String, Json>>,
        changed: Vec<String>,
    ) -> Result<(), EngineError> {
        let Some(f) = rules.after_save.clone() else {
            return Ok(());
        };
        self.run_hook(save, e, rules, "after_save", f, saved.to_map(), old, changed)
            .await
    }

    /// Runs a handler on a stored record whose changes to `this` are not
    /// written (`after_save`, `before_delete`); `error()` refuses the save.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_hook(
        &self,
        save: &mut Save,
        e: &Arc<CompiledEntity>,
        rules: &Arc<EntityRules>,
        event: &'static str,
        function: String,
        record: Map<String, Json>,
        old: Option<&Map<String, Json>>,
        changed: Vec<String>,
    ) -> Result<(), EngineError> {
        let old = old.map_or(Dynamic::UNIT, |o| Dynamic::from_map(record_to_dynamic(&e.def, o)));
        let this = record_to_dynamic(&e.def, &record);
        let r = rules.clone();
        let (result, host) = self
            .run_script(save, old, changed, move |host: &Host| {
                let mut this = Dynamic::from_map(this);
                r.call(host, event, &function, &mut this, Vec::new()).map(|_| ())
            })
            .await?;
        result.map_err(EngineError::Rule)?;
        let errors = host.take_errors();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Invalid {
                entity: e.def.name.clone(),
                errors,
            })
        }
    }
}

/// The handlers before a write, in order: `on_new` (new records),
/// `on_change` of each changed field, `before_save`, the stored computed
/// fields, `validate`.
fn before_phase(r: &EntityRules, host: &Host, is_new: bool, this: rhai::Map) -> Result<Dynamic, RuleError> {
    let mut this = Dynamic::from_map(this);
    if let (true, Some(f)) = (is_new, &r.on_new) {
        let _ = r.call(host, "on_new", f, &mut this, Vec::new())?;
    }
    for (field, f) in &r.on_change {
        if host.0.changed.contains(field) {
            let _ = r.call(host, &format!("on_change {field}"), f, &mut this, Vec::new())?;
        }
    }
    if let Some(f) = &r.before_save {
        let _ = r.call(host, "before_save", f, &mut this, Vec::new())?;
    }
    for c in r.computed.iter().filter(|c| c.stored) {
        let v = r.compute(host, c, &mut this)?;
        if let Some(mut m) = this.write_lock::<rhai::Map>() {
            m.insert(c.field.as_str().into(), to_dynamic(&v, c.field_type.is_decimal()));
        }
    }
    if let Some(f) = &r.validate {
        let _ = r.call(host, "validate", f, &mut this, Vec::new())?;
    }
    Ok(this)
}

/// The field values of `this` after the rules, fitted to each field's type.
pub(super) fn fields_of(
    e: &CompiledEntity,
    rules: &EntityRules,
    this: &Dynamic,
) -> Result<Map<String, Json>, EngineError> {
    let Some(map) = this.read_lock::<rhai::Map>() else {
        return Err(EngineError::Rule(RuleError::BadValue {
            rule: format!("{} rules", rules.entity),
            field: "this".into(),
            message: "`this` is no longer a map".into(),
        }));
    };
    let mut out = Map::with_capacity(e.def.fields.len());
    for f in &e.def.fields {
        let v = map.get(f.name.as_str()).cloned().unwrap_or(Dynamic::UNIT);
        let scale = if f.field_type.is_decimal() {
            crate::model::decimal_shape(f).1
        } else {
            0
        };
        let json = field_json(f.field_type, scale, &v).map_err(|message| {
            EngineError::Rule(RuleError::BadValue {
                rule: format!("{} rules", rules.entity),
                field: f.name.clone(),
                message,
            })
        })?;
        out.insert(f.name.clone(), json);
    }
    Ok(out)
}

/// Fills in the virtual computed fields `names` of records just read.
/// Their expressions are small, pure and bounded by the sandbox, and cannot
/// reach the database; they run on a blocking thread all the same, so a
/// runaway one spends its time limit there, not on a server worker.
pub(super) async fn fill_virtual(
    model: &Arc<CompiledModel>,
    e: &CompiledEntity,
    names: &[String],
    records: &mut [Record],
) -> Result<(), EngineError> {
    if names.is_empty() || records.is_empty() || e.rules.is_none() {
        return Ok(());
    }
    let Some(entity) = model.entity(&e.def.name).cloned() else {
        return Ok(());
    };
    let (model, names) = (model.clone(), names.to_vec());
    let mut taken: Vec<Record> = records.iter_mut().map(std::mem::take).collect();
    let job = tokio::task::spawn_blocking(move || {
        let out = compute_virtual(&model, &entity, &names, &mut taken);
        (taken, out)
    });
    let (filled, out) = job
        .await
        .map_err(|e| StoreError::Corrupt(format!("a computed field's thread failed: {e}")))?;
    for (slot, r) in records.iter_mut().zip(filled) {
        *slot = r;
    }
    out
}

fn compute_virtual(
    model: &Arc<CompiledModel>,
    e: &CompiledEntity,
    names: &[String],
    records: &mut [Record],
) -> Result<(), EngineError> {
    let Some(rules) = &e.rules else { return Ok(()) };
    for record in records {
        let host = Host::new(model.clone(), None, Dynamic::UNIT, Vec::new());
        let mut this = Dynamic::from_map(record_to_dynamic(&e.def, &record.to_map()));
        for c in rules.virtual_fields().filter(|c| names.contains(&c.field)) {
            let v = rules.compute(&host, c, &mut this)?;
            record.insert(c.field.clone(), v);
        }
    }
    Ok(())
}
