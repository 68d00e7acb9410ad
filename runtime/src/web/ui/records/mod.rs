//! Record pages: view, edit, create; and the form posts that save, delete
//! and restore. Errors come back inline, next to their fields.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde_json::Value;

use super::context::Viewer;
use super::form_data::{payload, Submitted};
use super::page::notice_text;
use super::present::{form_fields, localize_field_error};
use crate::engine::{CompiledEntity, Engine, EngineError, FieldError, ReadOptions};
use crate::model::FieldType;
use crate::store::ed::records::Record;

type Params = Query<Vec<(String, String)>>;

mod related;
mod view;

use super::message::{failure, not_found};
use related::related_lists;
use view::{record_id, render_record, Show};

fn expand_all(e: &CompiledEntity) -> ReadOptions {
    let refs: Vec<&str> = e.references().map(|(_, f)| f.name.as_str()).collect();
    ReadOptions {
        fields: None,
        expand: (!refs.is_empty()).then(|| refs.join(",")),
    }
}

/// `GET /app/r/{entity}/{id}`
pub async fn view(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    show_existing(engine, entity, id, viewer, "view", params, Vec::new()).await
}

/// `GET /app/r/{entity}/{id}/edit`
pub async fn edit(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
) -> Response {
    show_existing(engine, entity, id, viewer, "edit", Vec::new(), Vec::new()).await
}

/// A saved record's page; `refusal`: why a command just refused to run
/// (the page then answers 422).
async fn show_existing(
    engine: Arc<Engine>,
    entity: String,
    id: String,
    viewer: Viewer,
    mode: &'static str,
    params: Vec<(String, String)>,
    refusal: Vec<String>,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return not_found(&model, &viewer);
    };
    let record = match engine.get(&entity, &id, &expand_all(e)).await {
        Ok(r) => r,
        Err(err) => return failure(&model, &viewer, err),
    };
    let related = if mode == "view" {
        related_lists(&engine, &model, &engine.picklists(), &viewer, e, &id).await
    } else {
        Vec::new()
    };
    // A command's message comes back as `message=` (shown escaped, as text).
    let notice = notice_text(
        viewer.locale,
        params.iter().find(|(k, _)| k == "notice").map(|(_, v)| v.as_str()),
    )
    .or_else(|| params.iter().find(|(k, _)| k == "message").map(|(_, v)| v.clone()));
    let param = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let files = if mode == "view" {
        let error = param("file_field").zip(param("file_error"));
        super::files::panels(&engine, &viewer, e, &record, error)
    } else {
        Vec::new()
    };
    // Commands that do not apply to the record as it is get no button.
    let hidden_commands = if mode == "view" {
        engine
            .unavailable_commands(&entity, &id, viewer.actor)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(%entity, %id, error = %err, "could not tell which commands apply");
                Vec::new()
            })
    } else {
        Vec::new()
    };
    let status = if refusal.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let show = Show {
        mode,
        record: &record,
        submitted: None,
        errors: &[],
        theirs: None,
        related,
        notice,
        files,
        hidden_commands,
        refusal,
    };
    render_record(&model, &engine.picklists(), &viewer, e, show, status)
}

/// `GET /app/r/{entity}/new?field=value`: a new record, with defaults and
/// the values passed in the query (a related list's "New" sets its reference).
pub async fn new(
    State(engine): State<Arc<Engine>>,
    Path(entity): Path<String>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return not_found(&model, &viewer);
    };
    let mut record = Record::default();
    for f in &e.def.fields {
        if let Some(d) = &f.default {
            record.insert(f.name.clone(), d.clone());
        }
    }
    for (k, v) in &params {
        let Some((_, f)) = e.field(k) else { continue };
        let value = if f.field_type == FieldType::Reference {
            let target = f.target.clone().unwrap_or_default();
            match engine.get(&target, v, &ReadOptions::default()).await {
                Ok(r) => Value::Object(r.to_map()),
                Err(_) => continue,
            }
        } else {
            Value::String(v.clone())
        };
        record.insert(f.name.clone(), value);
    }
    let show = Show::form("new", &record);
    render_record(&model, &engine.picklists(), &viewer, e, show, StatusCode::OK)
}

/// `POST /app/r/{entity}`: create.
pub async fn create(
    State(engine): State<Arc<Engine>>,
    Path(entity): Path<String>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return not_found(&model, &viewer);
    };
    let Some(form_def) = model.views.forms.get(&entity) else {
        return not_found(&model, &viewer);
    };
    let submitted = Submitted::new(form);
    let body = payload(e, form_def, &submitted, &viewer.zone);
    let errors = required_on_form(e, form_def, &body);
    let result = if errors.is_empty() {
        inline_rule_error(engine.create(&entity, &body, viewer.actor).await)
    } else {
        Err(EngineError::Invalid {
            entity: entity.clone(),
            errors,
        })
    };
    match result {
        Ok(r) => Redirect::to(&format!("/app/r/{entity}/{}?notice=saved", record_id(&r))).into_response(),
        Err(EngineError::Invalid { errors, .. }) => {
            let record = with_chosen(&engine, e, &submitted, Record::default()).await;
            let show = Show::form("new", &record).refused(&submitted, &errors);
            render_record(
                &model,
                &engine.picklists(),
                &viewer,
                e,
                show,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(err) => failure(&model, &viewer, err),
    }
}

/// A failed rule shown on the form, above the fields, like other refusals.
fn inline_rule_error(r: Result<Record, EngineError>) -> Result<Record, EngineError> {
    match r {
        Err(EngineError::Rule(rule)) => Err(EngineError::Invalid {
            entity: String::new(),
            errors: vec![FieldError::new("_", "rule_failed", rule.to_string())],
        }),
        other => other,
    }
}

/// Fields a form marks required beyond the entity's own rules.
fn required_on_form(e: &CompiledEntity, form: &crate::model::FormDef, body: &Value) -> Vec<FieldError> {
    form_fields(form)
        .filter(|p| p.required && !p.read_only)
        .filter(|p| {
            e.field(&p.field)
                .is_some_and(|(_, f)| !f.required && !f.read_only && f.computed.is_none())
        })
        .filter(|p| {
            body.get(&p.field)
                .is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty))
        })
        .map(|p| FieldError::new(p.field.clone(), "required", "is required"))
        .collect()
}

/// `POST /app/r/{entity}/{id}`: save an edit at the version the form was read at.
pub async fn update(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return not_found(&model, &viewer);
    };
    let Some(form_def) = model.views.forms.get(&entity) else {
        return not_found(&model, &viewer);
    };
    let submitted = Submitted::new(form);
    let version = submitted.one("_version").and_then(|v| v.parse::<i64>().ok());
    let body = payload(e, form_def, &submitted, &viewer.zone);
    let errors = required_on_form(e, form_def, &body);
    let result = if errors.is_empty() {
        inline_rule_error(engine.update(&entity, &id, version, &body, viewer.actor).await)
    } else {
        Err(EngineError::Invalid {
            entity: entity.clone(),
            errors,
        })
    };
    match result {
        Ok(_) => Redirect::to(&format!("/app/r/{entity}/{id}?notice=saved")).into_response(),
        Err(EngineError::Invalid { errors, .. }) => {
            let record = current(&engine, e, &id).await.unwrap_or_default();
            let record = with_chosen(&engine, e, &submitted, record).await;
            let show = Show::form("edit", &record).refused(&submitted, &errors);
            render_record(
                &model,
                &engine.picklists(),
                &viewer,
                e,
                show,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(EngineError::Conflict { current: theirs, .. }) => {
            // Show the user's values, the other change next to them, and the
            // new version, so saving again is a deliberate choice.
            let theirs = current(&engine, e, &id).await.unwrap_or(*theirs);
            let mine = with_chosen(&engine, e, &submitted, submitted_as_record(e, &body, &theirs)).await;
            let mut show = Show::form("edit", &mine).refused(&submitted, &[]);
            show.theirs = Some(&theirs);
            render_record(&model, &engine.picklists(), &viewer, e, show, StatusCode::CONFLICT)
        }
        Err(err) => failure(&model, &viewer, err),
    }
}

/// `record` with the records chosen in the submitted form's lookups, read
/// again, so that a form sent back shows their names, not empty boxes.
/// A chosen id that does not resolve is left out (its input stays empty).
async fn with_chosen(engine: &Engine, e: &CompiledEntity, submitted: &Submitted, mut record: Record) -> Record {
    for (_, f) in e.references() {
        let Some(id) = submitted.one(&f.name).map(str::trim).filter(|s| !s.is_empty()) else {
            continue;
        };
        let Some(target) = f.target.as_deref() else { continue };
        if let Ok(chosen) = engine.get(target, id, &ReadOptions::default()).await {
            record.insert(f.name.clone(), Value::Object(chosen.to_map()));
        }
    }
    record
}

async fn current(engine: &Engine, e: &CompiledEntity, id: &str) -> Option<Record> {
    engine.get(&e.def.name, id, &expand_all(e)).await.ok()
}

/// The record as the user meant to save it: theirs, overwritten by the payload.
fn submitted_as_record(e: &CompiledEntity, body: &Value, theirs: &Record) -> Record {
    let mut mine = theirs.clone();
    if let Some(obj) = body.as_object() {
        for (k, v) in obj {
            if e.field(k).is_some() {
                mine.insert(k.clone(), v.clone());
            }
        }
    }
    mine
}

/// `POST /app/r/{entity}/{id}/delete`
pub async fn delete(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    let version = Submitted::new(form).one("_version").and_then(|v| v.parse::<i64>().ok());
    match engine.delete(&entity, &id, version, viewer.actor).await {
        Ok(_) => {
            let list = model.views.default_list.get(&entity).cloned().unwrap_or_default();
            Redirect::to(&format!("/app/l/{list}?notice=deleted")).into_response()
        }
        Err(EngineError::Conflict { .. }) => Redirect::to(&format!("/app/r/{entity}/{id}")).into_response(),
        Err(err) => failure(&model, &viewer, err),
    }
}

/// `POST /app/r/{entity}/{id}/restore`
pub async fn restore(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
) -> Response {
    let model = engine.model();
    match engine.restore(&entity, &id, viewer.actor).await {
        Ok(_) => Redirect::to(&format!("/app/r/{entity}/{id}?notice=restored")).into_response(),
        Err(err) => failure(&model, &viewer, err),
    }
}

/// `POST /app/r/{entity}/{id}/commands/{name}`: runs a command from its
/// button (and its small form of parameters), then opens what it says, or
/// comes back to the record with its message.
pub async fn command(
    State(engine): State<Arc<Engine>>,
    Path((entity, id, name)): Path<(String, String, String)>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return not_found(&model, &viewer);
    };
    let def = e
        .rules
        .as_ref()
        .and_then(|r| r.commands.get(&name))
        .map(|c| c.def.clone());
    let Some(def) = def else {
        return not_found(&model, &viewer);
    };
    let submitted = Submitted::new(form);
    let mut params = serde_json::Map::new();
    for p in &def.params {
        use crate::model::FieldType as T;
        let raw = submitted.one(&p.name).unwrap_or_default().trim().to_owned();
        let v = match p.param_type {
            T::Boolean => Value::Bool(matches!(raw.as_str(), "on" | "true" | "1")),
            _ if raw.is_empty() => Value::Null,
            T::Integer => raw.parse::<i64>().map_or(Value::String(raw.clone()), Value::from),
            T::Decimal | T::Currency | T::Percent => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::String(raw.clone()), Value::Number),
            _ => Value::String(raw),
        };
        params.insert(p.name.clone(), v);
    }
    let back = format!("/app/r/{entity}/{id}");
    match engine
        .command(&entity, &id, &name, &Value::Object(params), viewer.actor)
        .await
    {
        Ok(outcome) => {
            let query = outcome
                .message
                .as_deref()
                .map(|m| {
                    format!(
                        "?message={}",
                        form_urlencoded::byte_serialize(m.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            let target = match &outcome.open {
                Some(o) if o.get("url").is_some() => o["url"].as_str().unwrap_or(&back).to_owned(),
                Some(o) => format!(
                    "/app/r/{}/{}{query}",
                    o["entity"].as_str().unwrap_or(&entity),
                    o["id"].as_str().unwrap_or(&id)
                ),
                None => format!("{back}{query}"),
            };
            Redirect::to(&target).into_response()
        }
        // Refused: the record stays in view, with why, in words.
        Err(EngineError::Invalid { errors, .. }) => {
            let lines = refusal_lines(&viewer, e, &def, &errors);
            show_existing(engine.clone(), entity, id, viewer, "view", Vec::new(), lines).await
        }
        Err(EngineError::Rule(rule)) => {
            let failed = FieldError::new("_", "rule_failed", rule.to_string());
            let lines = refusal_lines(&viewer, e, &def, &[failed]);
            show_existing(engine.clone(), entity, id, viewer, "view", Vec::new(), lines).await
        }
        Err(err) => failure(&model, &viewer, err),
    }
}

/// A command's refusal in the viewer's language: a heading naming the
/// command, then each error, a rule's own sentence as it is and any other
/// after the label of its field or parameter.
fn refusal_lines(
    viewer: &Viewer,
    e: &CompiledEntity,
    def: &crate::model::CommandDef,
    errors: &[FieldError],
) -> Vec<String> {
    let locale = viewer.locale;
    let mut lines = vec![locale
        .text("command_refused")
        .replace("{command}", &locale.pick(&def.label))];
    for x in errors {
        let field = e.field(&x.field).map(|(_, f)| f);
        let text = localize_field_error(locale, e, x);
        let label = field.map(|f| locale.pick(&f.label)).or_else(|| {
            def.params
                .iter()
                .find(|p| p.name == x.field)
                .map(|p| locale.pick(&p.label))
        });
        lines.push(match label {
            Some(label) if x.code != "rule" => format!("{label}: {text}"),
            _ => text,
        });
    }
    lines
}
