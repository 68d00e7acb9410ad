//! The record page's view: tabs, sections, fields, buttons and stamps, built
//! from the entity's form.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

use crate::engine::{CompiledEntity, CompiledModel, FieldError, PicklistValues};
use crate::store::ed::records::Record;
use crate::web::ui::context::Viewer;
use crate::web::ui::form_data::Submitted;
use crate::web::ui::lists::default_list_href;
use crate::web::ui::page::{Crumb, Frame};
use crate::web::ui::present::{
    display, display_in, field_view, form_fields, localize_error, localize_field_error, visible, FieldInput, FieldView,
};
use crate::web::ui::templates::render;

use super::related::RelatedView;

#[derive(Debug, Serialize)]
pub(super) struct SectionView {
    label: Option<String>,
    columns: u8,
    fields: Vec<FieldView>,
}

#[derive(Debug, Serialize)]
pub(super) struct TabView {
    name: String,
    label: String,
    sections: Vec<SectionView>,
    related: Vec<RelatedView>,
}

#[derive(Debug, Serialize)]
pub(super) struct ButtonView {
    command: String,
    label: String,
    /// Where the button posts: the UI's command route.
    action: String,
    /// The command's parameters, asked for in a small form.
    params: Vec<ParamView>,
}

#[derive(Debug, Serialize)]
pub(super) struct ParamView {
    name: String,
    label: String,
    kind: &'static str,
    required: bool,
    /// A reference's picker: where it searches.
    lookup_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Stamps {
    created: String,
    updated: String,
}

#[derive(Debug, Serialize)]
pub(super) struct RecordBody {
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
    files: Vec<crate::web::ui::files::FilePanel>,
    /// A command's refusal, shown above the record.
    refusal: Vec<String>,
}

/// How a record page is shown.
pub(super) struct Show<'a> {
    pub(super) mode: &'static str,
    pub(super) record: &'a Record,
    pub(super) submitted: Option<&'a Submitted>,
    pub(super) errors: &'a [FieldError],
    pub(super) theirs: Option<&'a Record>,
    pub(super) related: Vec<RelatedView>,
    pub(super) notice: Option<String>,
    pub(super) files: Vec<crate::web::ui::files::FilePanel>,
    /// Commands whose `when` the record does not meet: no button.
    pub(super) hidden_commands: Vec<String>,
    /// Why a command just refused to run, in the viewer's language.
    pub(super) refusal: Vec<String>,
}

impl<'a> Show<'a> {
    /// A form page with nothing beside the form (no related lists, files
    /// or notice): new records and pages sent back with errors.
    pub(super) fn form(mode: &'static str, record: &'a Record) -> Show<'a> {
        Show {
            mode,
            record,
            submitted: None,
            errors: &[],
            theirs: None,
            related: Vec::new(),
            notice: None,
            files: Vec::new(),
            hidden_commands: Vec::new(),
            refusal: Vec::new(),
        }
    }

    /// The same page with what the user sent and why it was refused.
    pub(super) fn refused(mut self, submitted: &'a Submitted, errors: &'a [FieldError]) -> Show<'a> {
        self.submitted = Some(submitted);
        self.errors = errors;
        self
    }
}

pub(super) fn record_id(r: &Record) -> String {
    r.get("id").and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub(super) fn render_record(
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
                            // A computed field (stored or virtual) is worked
                            // out by a rule: shown, never typed, whatever the
                            // form item says, and nothing to show on a new
                            // record (its value comes with the first save).
                            let computed = f.computed.is_some();
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
                            if f.date_only_when.is_some() {
                                let v = show.record.get(&f.name).unwrap_or(&Value::Null);
                                view.text = display_in(model, lists, viewer, f, v, show.record);
                            }
                            view.error = show
                                .errors
                                .iter()
                                .find(|x| x.field == f.name)
                                .map(|x| localize_field_error(locale, e, x));
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
            format!("{name}: {}", localize_field_error(locale, e, x))
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
            .map(|s| crate::web::ui::i18n::format_datetime(locale, &viewer.zone, s))
            .unwrap_or_default(),
        updated: show
            .record
            .get("updated_at")
            .and_then(Value::as_str)
            .map(|s| crate::web::ui::i18n::format_datetime(locale, &viewer.zone, s))
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
            .filter(|b| !show.hidden_commands.contains(&b.command))
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
        refusal: show.refusal,
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

pub(super) fn param_view(locale: crate::web::ui::i18n::Locale, p: &crate::model::CommandParam) -> ParamView {
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
            .map(|t| crate::web::ui::present::lookup_url(t, &p.lookup_filter)),
    }
}
