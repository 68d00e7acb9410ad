//! Record pages: view, edit, create; and the form posts that save, delete
//! and restore. Errors come back inline, next to their fields.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Serialize;
use serde_json::Value;

use super::context::Viewer;
use super::form_data::{payload, Submitted};
use super::lists::default_list_href;
use super::page::{notice_text, Crumb, Frame};
use super::present::{display, field_view, form_fields, localize_error, visible, FieldInput, FieldView};
use super::templates::render;
use crate::engine::{
    CompiledEntity, CompiledModel, Engine, EngineError, FieldError, ListParams, PicklistValues, ReadOptions,
};
use crate::model::FieldType;
use crate::store::ed::records::Record;

type Params = Query<Vec<(String, String)>>;

#[derive(Debug, Serialize)]
struct SectionView {
    label: Option<String>,
    columns: u8,
    fields: Vec<FieldView>,
}

#[derive(Debug, Serialize)]
struct RelatedCell {
    text: String,
}

#[derive(Debug, Serialize)]
struct RelatedRow {
    href: String,
    cells: Vec<RelatedCell>,
    /// Level in a tree (0 for a plain related list's rows).
    depth: usize,
}

#[derive(Debug, Serialize)]
struct RelatedView {
    /// The related entity (names the section for tests and styles).
    entity: String,
    /// Rows shown as a tree (indented by depth).
    tree: bool,
    label: String,
    new_href: String,
    more_href: Option<String>,
    columns: Vec<String>,
    rows: Vec<RelatedRow>,
}

#[derive(Debug, Serialize)]
struct TabView {
    name: String,
    label: String,
    sections: Vec<SectionView>,
    related: Vec<RelatedView>,
}

#[derive(Debug, Serialize)]
struct ButtonView {
    command: String,
    label: String,
    /// Where the button posts: the UI's command route.
    action: String,
    /// The command's parameters, asked for in a small form.
    params: Vec<ParamView>,
}

#[derive(Debug, Serialize)]
struct ParamView {
    name: String,
    label: String,
    kind: &'static str,
    required: bool,
    /// A reference's picker: where it searches.
    lookup_url: Option<String>,
}

#[derive(Debug, Serialize)]
struct Stamps {
    created: String,
    updated: String,
}

#[derive(Debug, Serialize)]
struct RecordBody {
    mode: &'static str,
    version: i64,
    tabs: Vec<TabView>,
    buttons: Vec<ButtonView>,
    errors: bool,
    general_errors: Vec<String>,
    conflict: bool,
    edit_href: String,
    delete_href: String,
    action_href: String,
    cancel_href: String,
    stamps: Option<Stamps>,
    files: Vec<super::files::FilePanel>,
}

/// How a record page is shown.
struct Show<'a> {
    mode: &'static str,
    record: &'a Record,
    submitted: Option<&'a Submitted>,
    errors: &'a [FieldError],
    theirs: Option<&'a Record>,
    related: Vec<RelatedView>,
    notice: Option<String>,
    files: Vec<super::files::FilePanel>,
}

impl<'a> Show<'a> {
    /// A form page with nothing beside the form (no related lists, files
    /// or notice): new records and pages sent back with errors.
    fn form(mode: &'static str, record: &'a Record) -> Show<'a> {
        Show {
            mode,
            record,
            submitted: None,
            errors: &[],
            theirs: None,
            related: Vec::new(),
            notice: None,
            files: Vec::new(),
        }
    }

    /// The same page with what the user sent and why it was refused.
    fn refused(mut self, submitted: &'a Submitted, errors: &'a [FieldError]) -> Show<'a> {
        self.submitted = Some(submitted);
        self.errors = errors;
        self
    }
}

fn record_id(r: &Record) -> String {
    r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn render_record(
    model: &CompiledModel,
    lists: &PicklistValues,
    viewer: &Viewer,
    e: &CompiledEntity,
    show: Show<'_>,
    status: StatusCode,
) -> Response {
    let locale = viewer.locale;
    let form = model
        .views
        .forms
        .get(&e.def.name)
        .cloned()
        .unwrap_or_else(|| crate::model::FormDef {
            version: 1,
            name: e.def.name.clone(),
            entity: e.def.name.clone(),
            label: None,
            tabs: Vec::new(),
            buttons: Vec::new(),
        });
    let id = record_id(show.record);
    let mut related = show.related.into_iter();
    let tabs: Vec<TabView> = form
        .tabs
        .iter()
        .map(|t| TabView {
            name: t.name.clone(),
            label: locale.pick(&t.label),
            sections: t
                .sections
                .iter()
                .map(|s| SectionView {
                    label: s.label.as_ref().map(|l| locale.pick(l)),
                    columns: s.columns.unwrap_or(2),
                    fields: s
                        .fields
                        .iter()
                        .filter(|p| show.mode != "view" || visible(p.visible_when.as_ref(), show.record))
                        .filter_map(|p| {
                            let f = e.shown_field(&p.field)?;
                            // A virtual field is worked out on read: shown,
                            // never typed, and nothing to show on a new record.
                            let computed = f.is_virtual();
                            if computed && show.mode == "new" {
                                return None;
                            }
                            let input = FieldInput {
                                def: f,
                                value: show.record.get(&f.name).unwrap_or(&Value::Null),
                                submitted: show.submitted.and_then(|s| s.all(&f.name).cloned()),
                                read_only: p.read_only || computed || f.read_only,
                                required: p.required,
                            };
                            let mut view = field_view(model, lists, viewer, input);
                            view.error = show
                                .errors
                                .iter()
                                .find(|x| x.field == f.name)
                                .map(|x| localize_error(locale, Some(f), x));
                            view.their_value = show.theirs.and_then(|t| {
                                let theirs = t.get(&f.name).unwrap_or(&Value::Null);
                                let mine = show.record.get(&f.name).unwrap_or(&Value::Null);
                                (theirs != mine).then(|| display(model, lists, viewer, f, theirs))
                            });
                            Some(view)
                        })
                        .collect(),
                })
                .collect(),
            related: t.related.iter().filter_map(|_| related.next()).collect(),
        })
        .filter_map(|mut t| {
            // The new and edit forms show fields only: a section with none
            // (files are uploaded on the saved record) and a tab of related
            // lists (of a record that may not exist yet) would be empty.
            if show.mode == "view" {
                return Some(t);
            }
            t.sections.retain(|s| !s.fields.is_empty());
            (!t.sections.is_empty() || !t.related.is_empty()).then_some(t)
        })
        .collect();
    let known: Vec<&str> = form_fields(&form).map(|p| p.field.as_str()).collect();
    let general_errors = show
        .errors
        .iter()
        .filter(|x| !known.contains(&x.field.as_str()))
        .map(|x| {
            if x.field == "_" {
                return localize_error(locale, None, x);
            }
            let name = e
                .field(&x.field)
                .map_or_else(|| x.field.clone(), |(_, f)| locale.pick(&f.label));
            format!(
                "{name}: {}",
                localize_error(locale, e.field(&x.field).map(|(_, f)| f), x)
            )
        })
        .collect();
    let title_text = show
        .record
        .get(&e.def.display_field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let title = match (show.mode, title_text) {
        ("new", _) => locale
            .text("new_record")
            .replace("{entity}", &locale.pick(&e.def.label)),
        (_, Some(t)) => t.to_owned(),
        _ => locale.pick(&e.def.label),
    };
    let stamps = (show.mode == "view").then(|| Stamps {
        created: show
            .record
            .get("created_at")
            .and_then(Value::as_str)
            .map(|s| super::i18n::format_datetime(locale, &viewer.zone, s))
            .unwrap_or_default(),
        updated: show
            .record
            .get("updated_at")
            .and_then(Value::as_str)
            .map(|s| super::i18n::format_datetime(locale, &viewer.zone, s))
            .unwrap_or_default(),
    });
    let base = format!("/app/r/{}", e.def.name);
    let version = show
        .theirs
        .unwrap_or(show.record)
        .get("row_version")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let body = RecordBody {
        mode: show.mode,
        version,
        tabs,
        buttons: form
            .buttons
            .iter()
            .map(|b| {
                let def = e
                    .rules
                    .as_ref()
                    .and_then(|r| r.commands.get(&b.command))
                    .map(|c| &c.def);
                let label = b
                    .label
                    .as_ref()
                    .or(def.map(|d| &d.label))
                    .map_or_else(|| b.command.clone(), |l| locale.pick(l));
                ButtonView {
                    command: b.command.clone(),
                    label,
                    action: format!("{base}/{id}/commands/{}", b.command),
                    params: def
                        .map(|d| d.params.iter().map(|p| param_view(locale, p)).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        errors: !show.errors.is_empty(),
        general_errors,
        conflict: show.theirs.is_some(),
        edit_href: format!("{base}/{id}/edit"),
        delete_href: format!("{base}/{id}/delete"),
        action_href: if show.mode == "new" {
            base.clone()
        } else {
            format!("{base}/{id}")
        },
        cancel_href: if show.mode == "new" {
            default_list_href(model, &e.def.name)
        } else {
            format!("{base}/{id}")
        },
        stamps,
        files: show.files,
    };
    let list_name = model.views.default_list.get(&e.def.name).map(String::as_str);
    let breadcrumbs = vec![
        Crumb {
            label: locale.pick(&e.def.plural_label),
            href: Some(default_list_href(model, &e.def.name)),
        },
        Crumb {
            label: title.clone(),
            href: None,
        },
    ];
    let frame = Frame {
        model,
        viewer,
        title,
        breadcrumbs,
        current_list: list_name,
        notice: show.notice,
    };
    render(status, "record.html", frame.page(body))
}

/// The page for a missing record or entity.
pub fn not_found(model: &CompiledModel, viewer: &Viewer) -> Response {
    message(model, viewer, StatusCode::NOT_FOUND, viewer.locale.text("not_found"))
}

/// The page for a signed-in user who may not see what they asked for.
pub fn forbidden(model: &CompiledModel, viewer: &Viewer) -> Response {
    message(model, viewer, StatusCode::FORBIDDEN, viewer.locale.text("forbidden"))
}

fn message(model: &CompiledModel, viewer: &Viewer, status: StatusCode, text: &str) -> Response {
    let title = viewer.locale.text("error_title").to_owned();
    let frame = Frame {
        model,
        viewer,
        title: title.clone(),
        breadcrumbs: Vec::new(),
        current_list: None,
        notice: None,
    };
    render(
        status,
        "message.html",
        frame.page(serde_json::json!({ "message": text })),
    )
}

/// The page for an unexpected engine error (logged; never shown raw).
pub fn failure(model: &CompiledModel, viewer: &Viewer, err: EngineError) -> Response {
    match err {
        EngineError::NotFound { .. } | EngineError::UnknownEntity(_) => not_found(model, viewer),
        EngineError::BadRequest(msg) => message(model, viewer, StatusCode::BAD_REQUEST, &msg),
        EngineError::UnknownCommand { .. } => not_found(model, viewer),
        // A rule that threw or went past a limit: its message names the rule.
        EngineError::Rule(r) => message(model, viewer, StatusCode::UNPROCESSABLE_ENTITY, &r.to_string()),
        EngineError::Invalid { errors, .. } => {
            let text: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, localize_error(viewer.locale, None, e)))
                .collect();
            message(model, viewer, StatusCode::UNPROCESSABLE_ENTITY, &text.join(" "))
        }
        other => {
            tracing::error!(error = %other, "UI request failed");
            message(
                model,
                viewer,
                StatusCode::INTERNAL_SERVER_ERROR,
                viewer.locale.text("error_title"),
            )
        }
    }
}

fn expand_all(e: &CompiledEntity) -> ReadOptions {
    let refs: Vec<&str> = e.references().map(|(_, f)| f.name.as_str()).collect();
    ReadOptions {
        fields: None,
        expand: (!refs.is_empty()).then(|| refs.join(",")),
    }
}

async fn related_lists(
    engine: &Engine,
    model: &CompiledModel,
    lists: &PicklistValues,
    viewer: &Viewer,
    e: &CompiledEntity,
    id: &str,
) -> Vec<RelatedView> {
    let Some(form) = model.views.forms.get(&e.def.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rel in form.tabs.iter().flat_map(|t| t.related.iter()) {
        let Some(re) = model.entity(&rel.entity) else { continue };
        let mut pairs: Vec<(String, String)> = rel.filter.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !rel.sort.is_empty() {
            pairs.push(("sort".into(), rel.sort.join(",")));
        }
        let refs: Vec<&str> = rel
            .columns
            .iter()
            .filter(|c| re.field(c).is_some_and(|(_, f)| f.field_type == FieldType::Reference))
            .map(String::as_str)
            .collect();
        if !refs.is_empty() {
            pairs.push(("expand".into(), refs.join(",")));
        }
        let mut params = ListParams {
            me: viewer.actor,
            zone: Some(viewer.zone.clone()),
            ..ListParams::new(pairs)
        };
        let read = match &rel.tree {
            Some(tree) => {
                let limit = rel.page_size.unwrap_or(100) as usize;
                engine.related_tree(rel, tree, id, &params, limit).await
            }
            None => {
                params.pairs.push((rel.via.clone(), format!("eq.{id}")));
                params
                    .pairs
                    .push(("limit".into(), rel.page_size.unwrap_or(10).to_string()));
                let page = engine.list(&rel.entity, &params, false).await;
                page.map(|p| (p.data.into_iter().map(|r| (0, r)).collect(), p.next_cursor.is_some()))
            }
        };
        let (records, more) = read.unwrap_or_else(|err| {
            tracing::warn!(entity = %rel.entity, error = %err, "related list failed");
            (Vec::new(), false)
        });
        let rows = records
            .iter()
            .map(|(depth, r)| RelatedRow {
                depth: *depth,
                href: format!("/app/r/{}/{}", re.def.name, record_id(r)),
                cells: rel
                    .columns
                    .iter()
                    .map(|c| RelatedCell {
                        text: match re.shown_field(c) {
                            Some(f) => display(model, lists, viewer, f, r.get(c).unwrap_or(&Value::Null)),
                            // A system column (created_at, updated_at): an instant.
                            None => r
                                .get(c)
                                .and_then(Value::as_str)
                                .map(|s| super::i18n::format_datetime(viewer.locale, &viewer.zone, s))
                                .unwrap_or_default(),
                        },
                    })
                    .collect(),
            })
            .collect();
        let more_href = more.then(|| {
            model
                .views
                .default_list
                .get(&re.def.name)
                .map(|l| format!("/app/l/{l}?f.{}={}", rel.via, id))
                .unwrap_or_default()
        });
        out.push(RelatedView {
            entity: re.def.name.clone(),
            tree: rel.tree.is_some(),
            label: rel
                .label
                .as_ref()
                .map_or_else(|| viewer.locale.pick(&re.def.plural_label), |l| viewer.locale.pick(l)),
            new_href: format!("/app/r/{}/new?{}={id}", re.def.name, rel.via),
            more_href,
            columns: rel
                .columns
                .iter()
                .map(|c| super::lists::column_label(re, viewer, c))
                .collect(),
            rows,
        });
    }
    out
}

/// `GET /app/r/{entity}/{id}`
pub async fn view(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    show_existing(engine, entity, id, viewer, "view", params).await
}

/// `GET /app/r/{entity}/{id}/edit`
pub async fn edit(
    State(engine): State<Arc<Engine>>,
    Path((entity, id)): Path<(String, String)>,
    viewer: Viewer,
) -> Response {
    show_existing(engine, entity, id, viewer, "edit", Vec::new()).await
}

async fn show_existing(
    engine: Arc<Engine>,
    entity: String,
    id: String,
    viewer: Viewer,
    mode: &'static str,
    params: Vec<(String, String)>,
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
    let show = Show {
        mode,
        record: &record,
        submitted: None,
        errors: &[],
        theirs: None,
        related,
        notice,
        files,
    };
    render_record(&model, &engine.picklists(), &viewer, e, show, StatusCode::OK)
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
            let record = Record::default();
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
        .filter(|p| e.field(&p.field).is_some_and(|(_, f)| !f.required && !f.read_only))
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
            let mine: Record = submitted_as_record(e, &body, &theirs);
            let mut show = Show::form("edit", &mine).refused(&submitted, &[]);
            show.theirs = Some(&theirs);
            render_record(&model, &engine.picklists(), &viewer, e, show, StatusCode::CONFLICT)
        }
        Err(err) => failure(&model, &viewer, err),
    }
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

fn param_view(locale: super::i18n::Locale, p: &crate::model::CommandParam) -> ParamView {
    use crate::model::FieldType as T;
    let kind = match p.param_type {
        T::Integer | T::Decimal | T::Currency | T::Percent => "number",
        T::Boolean => "checkbox",
        T::Date => "date",
        T::Datetime => "datetime-local",
        T::Email => "email",
        T::Url => "url",
        T::Reference => "lookup",
        _ => "text",
    };
    ParamView {
        name: p.name.clone(),
        label: locale.pick(&p.label),
        kind,
        required: p.required,
        lookup_url: p
            .target
            .as_deref()
            .map(|t| super::present::lookup_url(t, &p.lookup_filter)),
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
        Err(err) => failure(&model, &viewer, err),
    }
}
