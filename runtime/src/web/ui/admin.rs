//! Administration pages: pick lists at run time (`/app/admin/picklists`).
//! Administrators add, rename, reorder, deactivate and reactivate values;
//! every change goes through the same engine operations as the API.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Serialize;

use super::context::Viewer;
use super::form_data::Submitted;
use super::i18n::Locale;
use super::message::{failure, forbidden, not_found};
use super::page::{notice_text, Crumb, Frame};
use super::templates::render;
use crate::engine::{
    CompiledModel, CurrentUser, EffectiveList, Engine, EngineError, FieldError, LabelInput, NewPicklistValue,
    PicklistError, PicklistValuePatch,
};

const BASE: &str = "/app/admin/picklists";

#[derive(Debug, Serialize)]
struct ListRow {
    name: String,
    label: String,
    href: String,
    active: usize,
    total: usize,
}

#[derive(Debug, Serialize)]
struct ValueRow {
    code: String,
    label_en: String,
    label_zh: String,
    /// Shown in the viewer's language.
    label: String,
    active: bool,
    first: bool,
    last: bool,
    action: String,
}

/// What the add form re-shows after an error.
#[derive(Debug, Default, Serialize)]
struct AddForm {
    code: String,
    label_en: String,
    label_zh: String,
}

#[derive(Debug, Serialize)]
struct DetailBody {
    name: String,
    values: Vec<ValueRow>,
    add_action: String,
    errors: Vec<String>,
    form: AddForm,
}

fn frame<'a>(model: &'a CompiledModel, viewer: &'a Viewer, title: String, trail: Vec<Crumb>) -> Frame<'a> {
    Frame {
        model,
        viewer,
        title,
        breadcrumbs: trail,
        current_list: None,
        notice: None,
    }
}

/// `GET /app/admin/picklists`
pub async fn index(State(engine): State<Arc<Engine>>, viewer: Viewer) -> Response {
    let model = engine.model();
    if !viewer.is_admin {
        return forbidden(&model, &viewer);
    }
    let locale = viewer.locale;
    let lists = engine.picklists();
    let rows: Vec<ListRow> = lists
        .iter()
        .map(|l| ListRow {
            name: l.name.clone(),
            label: locale.pick(&l.label),
            href: format!("{BASE}/{}", l.name),
            active: l.values.iter().filter(|v| v.active).count(),
            total: l.values.len(),
        })
        .collect();
    let title = locale.text("picklists").to_owned();
    let trail = vec![Crumb {
        label: title.clone(),
        href: None,
    }];
    let page = frame(&model, &viewer, title, trail).page(serde_json::json!({ "lists": rows }));
    render(StatusCode::OK, "admin_picklists.html", page)
}

/// `GET /app/admin/picklists/{name}`
pub async fn detail(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    viewer: Viewer,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    if !viewer.is_admin {
        return forbidden(&model, &viewer);
    }
    let Ok(list) = engine.picklist(&name) else {
        return not_found(&model, &viewer);
    };
    let notice = notice_text(
        viewer.locale,
        params.iter().find(|(k, _)| k == "notice").map(|(_, v)| v.as_str()),
    );
    let show = Detail {
        list: &list,
        errors: &[],
        form: AddForm::default(),
        notice,
    };
    render_detail(&model, &viewer, show, StatusCode::OK)
}

struct Detail<'a> {
    list: &'a EffectiveList,
    errors: &'a [FieldError],
    form: AddForm,
    notice: Option<String>,
}

fn render_detail(model: &CompiledModel, viewer: &Viewer, show: Detail<'_>, status: StatusCode) -> Response {
    let locale = viewer.locale;
    let list = show.list;
    let n = list.values.len();
    let values = list
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| ValueRow {
            code: v.code.clone(),
            label_en: v.label.en.clone(),
            label_zh: v.label.zh_cn.clone(),
            label: locale.pick(&v.label),
            active: v.active,
            first: i == 0,
            last: i + 1 == n,
            action: format!("{BASE}/{}/values/{}", list.name, v.code),
        })
        .collect();
    let title = locale.pick(&list.label);
    let trail = vec![
        Crumb {
            label: locale.text("picklists").to_owned(),
            href: Some(BASE.to_owned()),
        },
        Crumb {
            label: title.clone(),
            href: None,
        },
    ];
    let body = DetailBody {
        name: list.name.clone(),
        values,
        add_action: format!("{BASE}/{}/values", list.name),
        errors: show.errors.iter().map(|e| localize(locale, e)).collect(),
        form: show.form,
    };
    let mut f = frame(model, viewer, title, trail);
    f.notice = show.notice;
    render(status, "admin_picklist.html", f.page(body))
}

/// A field error of a pick-list change in the viewer's language.
fn localize(locale: Locale, e: &FieldError) -> String {
    let field = match e.field.as_str() {
        "code" => locale.text("code"),
        "label.en" => locale.text("label_en"),
        "label.zh-CN" => locale.text("label_zh"),
        _ => "",
    };
    let text = match e.code.as_str() {
        "required" => locale.text("err_required").to_owned(),
        "invalid" if e.field == "code" => locale.text("err_code").to_owned(),
        "duplicate" => locale.text("err_duplicate").to_owned(),
        "max_length" => locale.text("err_max_length").to_owned(),
        _ => e.message.clone(),
    };
    if field.is_empty() {
        text
    } else {
        format!("{field}: {text}")
    }
}

/// Turns an engine outcome into a redirect back to the list, or the page
/// with its errors.
async fn outcome(
    engine: &Engine,
    viewer: &Viewer,
    name: &str,
    result: Result<EffectiveList, PicklistError>,
    form: AddForm,
) -> Response {
    let model = engine.model();
    match result {
        Ok(_) => Redirect::to(&format!("{BASE}/{name}?notice=saved")).into_response(),
        Err(PicklistError::Forbidden) => forbidden(&model, viewer),
        Err(PicklistError::UnknownPicklist(_) | PicklistError::UnknownValue { .. }) => not_found(&model, viewer),
        Err(PicklistError::Invalid(errors)) => match engine.picklist(name) {
            Ok(list) => {
                let show = Detail {
                    list: &list,
                    errors: &errors,
                    form,
                    notice: None,
                };
                render_detail(&model, viewer, show, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(_) => not_found(&model, viewer),
        },
        Err(PicklistError::Store(s)) => failure(&model, viewer, EngineError::Store(s)),
    }
}

/// `POST /app/admin/picklists/{name}/values`: add a value.
pub async fn add(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    viewer: Viewer,
    user: CurrentUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Submitted::new(form);
    let text = |k: &str| form.one(k).unwrap_or_default().trim().to_owned();
    let again = AddForm {
        code: text("code"),
        label_en: text("label_en"),
        label_zh: text("label_zh"),
    };
    // An empty input is a missing label, reported as such.
    let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let value = NewPicklistValue {
        code: again.code.clone(),
        label: LabelInput {
            en: given(&again.label_en),
            zh_cn: given(&again.label_zh),
        },
    };
    let result = engine.add_picklist_value(&user, &name, &value).await;
    outcome(&engine, &viewer, &name, result, again).await
}

/// `POST /app/admin/picklists/{name}/values/{code}` with `action` =
/// `rename` (and the labels), `deactivate`, `reactivate`, `up` or `down`.
pub async fn change(
    State(engine): State<Arc<Engine>>,
    Path((name, code)): Path<(String, String)>,
    viewer: Viewer,
    user: CurrentUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Submitted::new(form);
    let patch = |label: Option<LabelInput>, active: Option<bool>| PicklistValuePatch { label, active };
    let result = match form.one("action").unwrap_or_default() {
        "rename" => {
            let label = LabelInput {
                en: form.one("label_en").map(str::to_owned),
                zh_cn: form.one("label_zh").map(str::to_owned),
            };
            let p = patch(Some(label), None);
            engine.update_picklist_value(&user, &name, &code, &p).await
        }
        "deactivate" => {
            let p = patch(None, Some(false));
            engine.update_picklist_value(&user, &name, &code, &p).await
        }
        "reactivate" => {
            let p = patch(None, Some(true));
            engine.update_picklist_value(&user, &name, &code, &p).await
        }
        dir @ ("up" | "down") => match moved(&engine, &name, &code, dir == "up") {
            Ok(order) => engine.reorder_picklist(&user, &name, &order).await,
            Err(e) => Err(e),
        },
        _ => Err(PicklistError::Invalid(vec![FieldError::new(
            "action",
            "invalid",
            "unknown action",
        )])),
    };
    outcome(&engine, &viewer, &name, result, AddForm::default()).await
}

/// The list's codes with `code` moved one place up or down.
fn moved(engine: &Engine, name: &str, code: &str, up: bool) -> Result<Vec<String>, PicklistError> {
    let list = engine.picklist(name)?;
    let mut order: Vec<String> = list.values.iter().map(|v| v.code.clone()).collect();
    let i = order
        .iter()
        .position(|c| c == code)
        .ok_or_else(|| PicklistError::UnknownValue {
            picklist: name.to_owned(),
            code: code.to_owned(),
        })?;
    let j = if up { i.checked_sub(1) } else { Some(i + 1) };
    if let Some(j) = j.filter(|j| *j < order.len()) {
        order.swap(i, j);
    }
    Ok(order)
}
