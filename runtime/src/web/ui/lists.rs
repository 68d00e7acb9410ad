//! List views (`/app/l/{list}`, the recycle bin `/app/bin/{list}`), the
//! lookup search of reference widgets, and bulk actions.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Serialize;
use serde_json::Value;

use super::context::Viewer;
use super::page::{notice_text, Crumb, Frame};
use super::present::display_in;
use super::templates::render;
use crate::engine::{CompiledEntity, CompiledModel, Engine, EngineError, ListParams, PicklistValues};
use crate::model::FieldType;

type Params = Query<Vec<(String, String)>>;

#[derive(Debug, Serialize)]
struct Column {
    name: String,
    label: String,
    sort_href: String,
    sorted: &'static str,
    filter: String,
    numeric: bool,
    /// Neither sorted nor filtered on: attachment columns and virtual
    /// computed fields have no column in the table.
    fixed: bool,
}

#[derive(Debug, Serialize)]
struct Cell {
    text: String,
    href: Option<String>,
    numeric: bool,
    /// After the text, muted: how many files an attachment cell has.
    more: Option<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    href: String,
    title: String,
    cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
struct Choice {
    name: String,
    label: String,
    checked: bool,
}

#[derive(Debug, Serialize)]
struct Hidden {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct ListBody {
    deleted: bool,
    base_href: String,
    new_href: String,
    bin_href: String,
    bulk_href: String,
    q: String,
    hidden: Vec<Hidden>,
    choosable: Vec<Choice>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    total_text: String,
    next_href: Option<String>,
    first_href: Option<String>,
    /// The list could not be read as asked (a filter or sort that does not
    /// parse): said in the viewer's language, as an error.
    error: Option<String>,
}

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.extend_pairs(pairs);
    let q = s.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// The label of a column (a field or a listable system column), on a list
/// or a related list.
pub(super) fn column_label(e: &CompiledEntity, viewer: &Viewer, name: &str) -> String {
    match e.shown_field(name).or_else(|| e.attachment(name)) {
        Some(f) => viewer.locale.pick(&f.label),
        None if name == "created_at" => viewer.locale.text("created").to_owned(),
        None if name == "updated_at" => viewer.locale.text("updated").to_owned(),
        None => name.to_owned(),
    }
}

/// A column filter typed by a user, as a record-API filter.
/// Where the list page stops counting matches.
const UI_COUNT_CAP: u64 = 1_000;

fn column_filter(
    model: &CompiledModel,
    lists: &PicklistValues,
    e: &CompiledEntity,
    viewer: &Viewer,
    name: &str,
    text: &str,
) -> Option<(String, String)> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let Some((_, f)) = e.field(name) else {
        return Some((name.to_owned(), format!("ge.{text}")));
    };
    let compare = |t: &str| {
        for (prefix, op) in [(">=", "ge"), ("<=", "le"), (">", "gt"), ("<", "lt"), ("=", "eq")] {
            if let Some(rest) = t.strip_prefix(prefix) {
                return format!("{op}.{}", rest.trim());
            }
        }
        format!("eq.{t}")
    };
    Some(match f.field_type {
        t if t.is_short_text() || t == FieldType::LongText => (name.to_owned(), format!("contains.{text}")),
        FieldType::Boolean => {
            let yes = ["yes", "true", "1", "是", viewer.locale.text("yes")]
                .iter()
                .any(|y| y.eq_ignore_ascii_case(text));
            (name.to_owned(), format!("eq.{yes}"))
        }
        FieldType::Picklist | FieldType::MultiPicklist => {
            let lower = text.to_lowercase();
            let codes: Vec<String> = lists
                .of_field(f)
                .map(|p| {
                    p.values
                        .iter()
                        .filter(|v| {
                            viewer.locale.pick(&v.label).to_lowercase().contains(&lower) || v.code.contains(&lower)
                        })
                        .map(|v| v.code.clone())
                        .collect()
                })
                .unwrap_or_default();
            let op = if f.field_type == FieldType::Picklist {
                "in"
            } else {
                "contains"
            };
            match (op, codes.as_slice()) {
                (_, []) => (name.to_owned(), "eq.no_such_value".to_owned()),
                ("in", _) => (name.to_owned(), format!("in.({})", codes.join(","))),
                (_, [first, ..]) => (name.to_owned(), format!("contains.{first}")),
            }
        }
        FieldType::Reference => {
            let display = f
                .target
                .as_ref()
                .and_then(|t| model.model.entities.get(t))
                .map(|t| t.display_field.clone())?;
            (format!("{name}.{display}"), format!("contains.{text}"))
        }
        _ => (name.to_owned(), compare(text)),
    })
}

/// `GET /app/l/{list}`
pub async fn list_page(
    State(engine): State<Arc<Engine>>,
    Path(list): Path<String>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    show(engine, list, viewer, params, false).await
}

/// `GET /app/bin/{list}`: the deleted records of the list's entity.
pub async fn bin_page(
    State(engine): State<Arc<Engine>>,
    Path(list): Path<String>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    show(engine, list, viewer, params, true).await
}

async fn show(
    engine: Arc<Engine>,
    list_name: String,
    viewer: Viewer,
    params: Vec<(String, String)>,
    deleted: bool,
) -> Response {
    let model = engine.model();
    let lists = engine.picklists();
    let Some(list) = model.views.lists.get(&list_name) else {
        return super::message::not_found(&model, &viewer);
    };
    let Some(e) = model.entity(&list.entity) else {
        return super::message::not_found(&model, &viewer);
    };
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let chosen: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "col")
        .map(|(_, v)| v.clone())
        .filter(|c| e.shown_field(c).is_some() || e.attachment(c).is_some())
        .collect();
    let columns = if chosen.is_empty() {
        list.columns.clone()
    } else {
        chosen.clone()
    };
    let sort = get("sort").unwrap_or_else(|| list.sort.join(","));
    let q = get("q").unwrap_or_default();
    let filters: Vec<(String, String)> = params
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("f.").map(|c| (c.to_owned(), v.clone())))
        .filter(|(c, _)| columns.contains(c) && e.attachment(c).is_none())
        .collect();
    // The state of the page without paging, to build links.
    let mut state: Vec<(String, String)> = Vec::new();
    if !q.is_empty() {
        state.push(("q".into(), q.clone()));
    }
    state.extend(chosen.iter().map(|c| ("col".to_owned(), c.clone())));
    state.extend(
        filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(c, v)| (format!("f.{c}"), v.clone())),
    );

    let mut api: Vec<(String, String)> = list.filter.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    api.extend(
        filters
            .iter()
            .filter_map(|(c, v)| column_filter(&model, &lists, e, &viewer, c, v)),
    );
    if !q.is_empty() {
        api.push(("q".into(), q.clone()));
    }
    if !sort.is_empty() {
        api.push(("sort".into(), sort.clone()));
    }
    api.push(("limit".into(), list.page_size.unwrap_or(50).to_string()));
    // "1,000+" is as useful on a screen as an exact 10,000 and costs a
    // tenth: a count reads every match up to the cap, and a filter no
    // index answers (contains) reads the table to get there.
    api.push(("total".into(), UI_COUNT_CAP.to_string()));
    let refs: Vec<&str> = columns
        .iter()
        .filter(|c| e.field(c).is_some_and(|(_, f)| f.field_type == FieldType::Reference))
        .map(String::as_str)
        .collect();
    if !refs.is_empty() {
        api.push(("expand".into(), refs.join(",")));
    }
    // Attachment columns are read with the page (one query for all its
    // rows), which takes a projection: the columns shown and the title.
    if columns.iter().any(|c| e.attachment(c).is_some()) {
        let mut fields = columns.clone();
        if !fields.contains(&e.def.display_field) {
            fields.push(e.def.display_field.clone());
        }
        api.push(("fields".into(), fields.join(",")));
    }
    if let Some(cursor) = get("cursor") {
        api.push(("cursor".into(), cursor));
    }
    let result = engine
        .list(
            &e.def.name,
            &ListParams {
                pairs: api,
                quick_search: list.quick_search.clone(),
                me: viewer.actor,
                zone: Some(viewer.zone.clone()),
            },
            deleted,
        )
        .await;
    let mut error = None;
    let (records, next, total, capped, notice) = match result {
        Ok(r) => (
            r.data,
            r.next_cursor,
            r.total,
            r.total_capped,
            notice_text(viewer.locale, get("notice").as_deref()),
        ),
        Err(EngineError::BadRequest(msg)) => {
            // The detail names parameters and operators: for the log.
            tracing::info!(list = %list_name, error = %msg, "a list request did not parse");
            error = Some(viewer.locale.text("bad_list_request").to_owned());
            (Vec::new(), None, None, false, None)
        }
        Err(err) => return super::message::failure(&model, &viewer, err),
    };
    let base_href = format!("/app/{}/{}", if deleted { "bin" } else { "l" }, list_name);
    let sort_keys: Vec<&str> = sort.split(',').filter(|s| !s.is_empty()).collect();
    let column_views = columns
        .iter()
        .map(|c| {
            let sorted = match sort_keys.first() {
                Some(k) if *k == c => "asc",
                Some(k) if k.strip_prefix('-') == Some(c.as_str()) => "desc",
                _ => "",
            };
            let mut link = state.clone();
            link.push(("sort".into(), if sorted == "asc" { format!("-{c}") } else { c.clone() }));
            let numeric = e
                .shown_field(c)
                .is_some_and(|f| f.field_type == FieldType::Integer || f.field_type.is_decimal());
            let fixed = e.attachment(c).is_some() || e.virtual_field(c).is_some();
            Column {
                name: c.clone(),
                label: column_label(e, &viewer, c),
                sort_href: format!("{base_href}{}", query_string(&link)),
                sorted,
                filter: filters
                    .iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                numeric,
                fixed,
            }
        })
        .collect();
    let rows = records
        .iter()
        .map(|r| row(&model, &lists, e, &viewer, &columns, r, deleted))
        .collect();
    let mut paging = state.clone();
    paging.push(("sort".into(), sort.clone()));
    let next_href = next.map(|c| {
        let mut p = paging.clone();
        p.push(("cursor".into(), c));
        format!("{base_href}{}", query_string(&p))
    });
    let first_href = get("cursor").map(|_| format!("{base_href}{}", query_string(&paging)));
    let total_text = match (total, capped) {
        (Some(n), false) => viewer.locale.text("total").replace("{n}", &n.to_string()),
        (Some(n), true) => viewer.locale.text("total_capped").replace("{n}", &n.to_string()),
        (None, _) => String::new(),
    };
    let choosable = e
        .def
        .fields
        .iter()
        .filter(|f| f.field_type != FieldType::LongText)
        .chain(&e.virtuals)
        .chain(&e.attachments)
        .map(|f| Choice {
            name: f.name.clone(),
            label: viewer.locale.pick(&f.label),
            checked: columns.contains(&f.name),
        })
        .collect();
    let mut hidden: Vec<Hidden> = Vec::new();
    if !sort.is_empty() {
        hidden.push(Hidden {
            name: "sort".into(),
            value: sort.clone(),
        });
    }
    let title = if deleted {
        format!(
            "{} · {}",
            viewer.locale.pick(&list.label),
            viewer.locale.text("recycle_bin")
        )
    } else {
        viewer.locale.pick(&list.label)
    };
    let body = ListBody {
        deleted,
        new_href: format!("/app/r/{}/new", e.def.name),
        bin_href: if deleted {
            format!("/app/l/{list_name}")
        } else {
            format!("/app/bin/{list_name}")
        },
        bulk_href: format!("/app/bulk/{list_name}"),
        base_href,
        q,
        hidden,
        choosable,
        columns: column_views,
        rows,
        total_text,
        next_href,
        first_href,
        error,
    };
    let frame = Frame {
        model: &model,
        viewer: &viewer,
        breadcrumbs: vec![Crumb {
            label: title.clone(),
            href: None,
        }],
        title,
        current_list: Some(&list_name),
        notice,
    };
    render(StatusCode::OK, "list.html", frame.page(body))
}

fn row(
    model: &CompiledModel,
    lists: &PicklistValues,
    e: &CompiledEntity,
    viewer: &Viewer,
    columns: &[String],
    r: &crate::store::ed::records::Record,
    deleted: bool,
) -> Row {
    let id = r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let cells = columns
        .iter()
        .map(|c| {
            let v = r.get(c).unwrap_or(&Value::Null);
            if e.attachment(c).is_some() {
                return file_cell(viewer, v, deleted);
            }
            match e.shown_field(c) {
                Some(f) => Cell {
                    text: display_in(model, lists, viewer, f, v, r),
                    href: if f.field_type == FieldType::Reference {
                        super::present::reference_href(f, v)
                    } else {
                        None
                    },
                    numeric: f.field_type == FieldType::Integer || f.field_type.is_decimal(),
                    more: None,
                },
                None => Cell {
                    text: v
                        .as_str()
                        .map(|s| super::i18n::format_datetime(viewer.locale, &viewer.zone, s))
                        .unwrap_or_default(),
                    href: None,
                    numeric: false,
                    more: None,
                },
            }
        })
        .collect::<Vec<_>>();
    let title = r
        .get(&e.def.display_field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Row {
        href: format!("/app/r/{}/{id}", e.def.name),
        id,
        title,
        cells,
    }
}

/// An attachment column's cell: the first file's name, linking to its
/// download (not in the recycle bin, where files are out of reach), and the
/// number of files when there are several.
fn file_cell(viewer: &Viewer, v: &Value, deleted: bool) -> Cell {
    let files = v.as_array().map(Vec::as_slice).unwrap_or_default();
    let Some(first) = files.first() else {
        return Cell {
            text: viewer.locale.text("none").to_owned(),
            href: None,
            numeric: false,
            more: None,
        };
    };
    let text = |k: &str| first.get(k).and_then(Value::as_str).map(str::to_owned);
    Cell {
        text: text("file_name").unwrap_or_default(),
        href: if deleted { None } else { text("url") },
        numeric: false,
        more: (files.len() > 1).then(|| {
            viewer
                .locale
                .text("files_count")
                .replace("{n}", &files.len().to_string())
        }),
    }
}

/// The list a record's entity returns to.
pub fn default_list_href(model: &CompiledModel, entity: &str) -> String {
    model
        .views
        .default_list
        .get(entity)
        .map_or_else(|| "/app".to_owned(), |l| format!("/app/l/{l}"))
}

#[derive(Debug, Serialize)]
struct LookupRow {
    id: String,
    label: String,
}

/// `GET /app/lookup/{entity}?q=...`: the type-ahead of reference widgets (an HTML fragment).
pub async fn lookup(
    State(engine): State<Arc<Engine>>,
    Path(entity): Path<String>,
    viewer: Viewer,
    Query(params): Params,
) -> Response {
    let model = engine.model();
    let Some(e) = model.entity(&entity) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let q = params
        .iter()
        .find(|(k, _)| k.starts_with("_lookup_") || k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let display = e.def.display_field.clone();
    let mut pairs = vec![
        ("sort".to_owned(), display.clone()),
        ("limit".to_owned(), "10".to_owned()),
        ("fields".to_owned(), display.clone()),
    ];
    if !q.trim().is_empty() {
        pairs.push(("q".into(), q));
    }
    // The picker's own conditions (a `lookup_filter`), in the record API's
    // filter form; the engine checks them like any list filter. Those bound
    // to a form field (`_bind.KEY=OP.FIELD`) take the value the page sent
    // for FIELD, and are left out while that field is empty.
    let bound: Vec<(&str, &str, &str)> = params
        .iter()
        .filter_map(|(k, v)| {
            let (op, field) = v.split_once('.')?;
            Some((k.strip_prefix("_bind.")?, op, field))
        })
        .collect();
    for (key, op, field) in &bound {
        let sent = params.iter().find(|(k, _)| k == field).map(|(_, v)| v.trim());
        if let Some(value) = sent.filter(|v| !v.is_empty()) {
            pairs.push(((*key).to_owned(), format!("{op}.{value}")));
        }
    }
    let own = |k: &str| {
        k == "q"
            || k == "field"
            || k.starts_with("_lookup_")
            || k.starts_with("_bind.")
            || bound.iter().any(|(_, _, field)| *field == k)
            || pairs.iter().any(|(p, _)| p == k)
    };
    let filters: Vec<(String, String)> = params.iter().filter(|(k, _)| !own(k)).cloned().collect();
    pairs.extend(filters);
    let rows = match engine
        .list(
            &entity,
            &ListParams {
                pairs,
                quick_search: vec![display.clone()],
                me: viewer.actor,
                zone: Some(viewer.zone.clone()),
            },
            false,
        )
        .await
    {
        Ok(r) => r
            .data
            .iter()
            .map(|r| LookupRow {
                id: r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                label: r.get(&display).and_then(Value::as_str).unwrap_or_default().to_owned(),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    render(
        StatusCode::OK,
        "lookup.html",
        serde_json::json!({ "rows": rows, "tr": super::page::texts(viewer.locale) }),
    )
}

/// `POST /app/bulk/{list}`: delete or restore the selected records.
pub async fn bulk(
    State(engine): State<Arc<Engine>>,
    Path(list_name): Path<String>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let model = engine.model();
    let Some(list) = model.views.lists.get(&list_name).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let restore = form.iter().any(|(k, v)| k == "action" && v == "restore");
    for (_, id) in form.iter().filter(|(k, _)| k == "id") {
        let done = if restore {
            engine.restore(&list.entity, id, viewer.actor).await.map(|_| ())
        } else {
            engine.delete(&list.entity, id, None, viewer.actor).await.map(|_| ())
        };
        if let Err(e) = done {
            tracing::info!(entity = %list.entity, %id, error = %e, "bulk action skipped a record");
        }
    }
    let (page, notice) = if restore { ("bin", "restored") } else { ("l", "deleted") };
    Redirect::to(&format!("/app/{page}/{list_name}?notice={notice}")).into_response()
}
