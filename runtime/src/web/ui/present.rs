//! Turning records and metadata into what the templates show: display text
//! in the viewer's language, widgets and their input values.

use serde::Serialize;
use serde_json::Value;

use super::i18n::{format_date, format_datetime, format_decimal, Locale};
use super::Viewer;
use crate::engine::{CompiledModel, FieldError, PicklistValues};
use crate::model::values::{form_operand, format_date as format_date_iso, parse_datetime};
use crate::model::zone::Zone;
use crate::model::{decimal_shape, decimals, FieldDef, FieldType, FormDef};
use crate::store::ed::records::Record;

/// A navigation entry.
#[derive(Debug, Serialize)]
pub struct NavItem {
    /// Text.
    pub label: String,
    /// Link.
    pub href: String,
    /// The current page belongs to it.
    pub active: bool,
}

/// A sidebar module.
#[derive(Debug, Serialize)]
pub struct NavModule {
    /// Title.
    pub label: String,
    /// Icon name (one of `model::MODULE_ICONS`, drawn by the base template).
    pub icon: Option<String>,
    /// Entries.
    pub items: Vec<NavItem>,
}

/// The sidebar of `model` in `locale`; `current` is the list shown, if any.
pub fn nav(model: &CompiledModel, locale: Locale, current: Option<&str>) -> Vec<NavModule> {
    let views = &model.views;
    views
        .modules
        .iter()
        .map(|m| NavModule {
            label: locale.pick(&m.label),
            icon: m.icon.clone(),
            items: m
                .items
                .iter()
                .filter_map(|item| {
                    let list_name = match (&item.list, &item.entity) {
                        (Some(l), _) => l.clone(),
                        (None, Some(e)) => views.default_list.get(e)?.clone(),
                        _ => return None,
                    };
                    let list = views.lists.get(&list_name)?;
                    let label = item
                        .label
                        .as_ref()
                        .map_or_else(|| locale.pick(&list.label), |l| locale.pick(l));
                    Some(NavItem {
                        label,
                        href: format!("/app/l/{list_name}"),
                        active: current == Some(list_name.as_str()),
                    })
                })
                .collect(),
        })
        .collect()
}

/// The text shown for a value of `f`, in the viewer's language and zone.
/// Pick-list codes show their effective label, deactivated ones too.
pub fn display(model: &CompiledModel, lists: &PicklistValues, viewer: &Viewer, f: &FieldDef, v: &Value) -> String {
    let locale = viewer.locale;
    if v.is_null() || v.as_str() == Some("") {
        return locale.text("none").to_owned();
    }
    let picklist_label = |code: &str| {
        lists
            .of_field(f)
            .and_then(|l| l.value(code))
            .map_or_else(|| code.to_owned(), |x| locale.pick(&x.label))
    };
    match f.field_type {
        FieldType::Boolean => locale
            .text(if v.as_bool() == Some(true) { "yes" } else { "no" })
            .to_owned(),
        FieldType::Picklist => v.as_str().map(picklist_label).unwrap_or_default(),
        FieldType::MultiPicklist => v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(picklist_label)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        FieldType::Reference => reference_label(model, f, v),
        FieldType::Date => v.as_str().map(|s| format_date(locale, s)).unwrap_or_default(),
        FieldType::Datetime => v
            .as_str()
            .map(|s| format_datetime(locale, &viewer.zone, s))
            .unwrap_or_default(),
        // Exact: the digits the API holds, never a float's.
        FieldType::Integer => decimals::of_json(v).map(|n| format_decimal(n, 0)).unwrap_or_default(),
        FieldType::Decimal | FieldType::Currency => decimals::of_json(v)
            .map(|n| format_decimal(n, decimal_shape(f).1 as usize))
            .unwrap_or_default(),
        FieldType::Percent => decimals::of_json(v)
            .map(|n| format!("{}%", format_decimal(n, decimal_shape(f).1 as usize)))
            .unwrap_or_default(),
        _ => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
    }
}

/// The text shown for the value `v` of `f` in `record`: as [`display`],
/// but a date-time whose `date_only_when` field is true in the record (an
/// all-day activity) shows its date alone, on the viewer's calendar.
pub fn display_in(
    model: &CompiledModel,
    lists: &PicklistValues,
    viewer: &Viewer,
    f: &FieldDef,
    v: &Value,
    record: &Record,
) -> String {
    let date_only = f
        .date_only_when
        .as_deref()
        .is_some_and(|flag| record.get(flag).and_then(Value::as_bool) == Some(true));
    match v.as_str().and_then(parse_datetime) {
        Some(at) if date_only && f.field_type == FieldType::Datetime => {
            let day = viewer.zone.wall_clock(at).date;
            format_date(viewer.locale, &format_date_iso(day))
        }
        _ => display(model, lists, viewer, f, v),
    }
}

/// The display text of a referenced record (expanded) or its id.
pub fn reference_label(model: &CompiledModel, f: &FieldDef, v: &Value) -> String {
    match v {
        Value::Object(obj) => {
            let display = f
                .target
                .as_ref()
                .and_then(|t| model.model.entities.get(t))
                .map(|t| t.display_field.as_str());
            display
                .and_then(|d| obj.get(d))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        }
        Value::String(id) => id.clone(),
        _ => String::new(),
    }
}

/// The link to the record a reference points to.
pub fn reference_href(f: &FieldDef, v: &Value) -> Option<String> {
    let id = match v {
        Value::Object(obj) => obj.get("id").and_then(Value::as_str)?,
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    Some(format!("/app/r/{}/{id}", f.target.as_deref()?))
}

/// The text put in an input for a value of `f`; an instant as the
/// wall-clock time of `zone` (what a `datetime-local` input holds).
pub fn input_value(f: &FieldDef, v: &Value, zone: &Zone) -> String {
    match (f.field_type, v) {
        (_, Value::Null) => String::new(),
        (FieldType::Reference, Value::Object(obj)) => {
            obj.get("id").and_then(Value::as_str).unwrap_or_default().to_owned()
        }
        (FieldType::Datetime, Value::String(s)) => match parse_datetime(s) {
            Some(at) => {
                let local = zone.wall_clock(at);
                format!("{}T{:02}:{:02}", format_date_iso(local.date), local.hour, local.minute)
            }
            None => s.clone(),
        },
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// An option of a select.
#[derive(Debug, Serialize)]
pub struct OptionView {
    /// The code.
    pub value: String,
    /// What users see.
    pub label: String,
    /// Currently chosen.
    pub selected: bool,
    /// A deactivated value, offered only because the record has it.
    pub inactive: bool,
}

/// A field on a record page.
#[derive(Debug, Serialize)]
pub struct FieldView {
    /// Field name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Help text.
    pub help: Option<String>,
    /// Widget kind: an input type, or textarea, checkbox, select, multiselect, lookup.
    pub kind: &'static str,
    /// Value for the widget.
    pub input: String,
    /// Display text (view mode).
    pub text: String,
    /// Link (references, e-mail, web).
    pub href: Option<String>,
    /// Choices of selects.
    pub options: Vec<OptionView>,
    /// Shown as required.
    pub required: bool,
    /// Not editable here.
    pub read_only: bool,
    /// The error to show next to it.
    pub error: Option<String>,
    /// On a conflict: the value saved by someone else meanwhile.
    pub their_value: Option<String>,
    /// Longest text.
    pub max_length: Option<u32>,
    /// Step of number inputs.
    pub step: Option<String>,
    /// The entity a lookup searches.
    pub target: Option<String>,
    /// Where a lookup searches: the target's lookup route with the field's
    /// `lookup_filter`.
    pub lookup_url: Option<String>,
    /// The form's inputs a lookup sends along (`hx-include`): the fields its
    /// `lookup_filter` takes values from (`eq.{company}`).
    pub lookup_include: String,
    /// The text of the chosen record in a lookup.
    pub lookup_text: String,
}

fn widget(f: &FieldDef) -> (&'static str, Option<String>) {
    match f.field_type {
        FieldType::LongText => ("textarea", None),
        FieldType::Integer => ("number", Some("1".into())),
        FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
            let scale = decimal_shape(f).1;
            (
                "number",
                Some(if scale == 0 {
                    "1".into()
                } else {
                    format!("0.{}1", "0".repeat(scale as usize - 1))
                }),
            )
        }
        FieldType::Boolean => ("checkbox", None),
        FieldType::Date => ("date", None),
        FieldType::Datetime => ("datetime-local", None),
        FieldType::Email => ("email", None),
        FieldType::Phone => ("tel", None),
        FieldType::Url => ("url", None),
        FieldType::Picklist => ("select", None),
        FieldType::MultiPicklist => ("multiselect", None),
        FieldType::Reference => ("lookup", None),
        FieldType::Text => ("text", None),
        // Shown by the attachment panel of the record page, never as an input.
        FieldType::Attachment => ("attachment", None),
    }
}

/// Builds the view of one field. `value` is the record's value (references
/// expanded); `raw` the text the user submitted, when re-showing a form.
pub struct FieldInput<'a> {
    /// The field.
    pub def: &'a FieldDef,
    /// Stored (or defaulted) value.
    pub value: &'a Value,
    /// Submitted values, when re-showing a submitted form.
    pub submitted: Option<Vec<String>>,
    /// Overrides from the form.
    pub read_only: bool,
    /// Overrides from the form.
    pub required: bool,
}

/// The view of one field.
pub fn field_view(model: &CompiledModel, lists: &PicklistValues, viewer: &Viewer, input: FieldInput<'_>) -> FieldView {
    let locale = viewer.locale;
    let f = input.def;
    let (kind, step) = widget(f);
    let text = display(model, lists, viewer, f, input.value);
    let href = match f.field_type {
        FieldType::Reference => reference_href(f, input.value),
        FieldType::Email => input.value.as_str().map(|e| format!("mailto:{e}")),
        FieldType::Url => input
            .value
            .as_str()
            .filter(|u| u.starts_with("http"))
            .map(str::to_owned),
        _ => None,
    };
    let value_text = input.submitted.as_ref().map_or_else(
        || input_value(f, input.value, &viewer.zone),
        |s| s.last().cloned().unwrap_or_default(),
    );
    let chosen: Vec<String> = match &input.submitted {
        Some(s) => s.clone(),
        None => match input.value {
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        },
    };
    // Active values in the administrators' order, plus a deactivated value
    // the record has, so that saving the form keeps it.
    let options = lists
        .of_field(f)
        .map(|l| {
            l.values
                .iter()
                .filter(|v| v.active || chosen.contains(&v.code))
                .map(|v| OptionView {
                    value: v.code.clone(),
                    label: if v.active {
                        locale.pick(&v.label)
                    } else {
                        format!("{} ({})", locale.pick(&v.label), locale.text("inactive_value"))
                    },
                    selected: chosen.contains(&v.code),
                    inactive: !v.active,
                })
                .collect()
        })
        .unwrap_or_default();
    // A lookup shows the chosen record's text; on a form sent back, the
    // record the user chose (the page puts it, read again, in `value`).
    let lookup_text = match (&input.submitted, f.field_type) {
        (_, t) if t != FieldType::Reference => String::new(),
        (None, _) => reference_label(model, f, input.value),
        (Some(sent), _) => {
            let chosen = input.value.get("id").and_then(Value::as_str);
            if chosen.is_some() && chosen == sent.last().map(String::as_str) {
                reference_label(model, f, input.value)
            } else {
                String::new()
            }
        }
    };
    FieldView {
        name: f.name.clone(),
        label: locale.pick(&f.label),
        help: f.help.as_ref().map(|h| locale.pick(h)),
        kind,
        input: value_text,
        text,
        href,
        options,
        required: f.required || input.required,
        read_only: input.read_only,
        error: None,
        their_value: None,
        max_length: f.max_length.or(f.field_type.default_max_length()),
        step,
        target: f.target.clone(),
        lookup_url: f.target.as_deref().map(|t| lookup_url(t, &f.lookup_filter)),
        lookup_include: f
            .lookup_filter
            .values()
            .filter_map(|v| form_operand(v))
            .map(|(_, field)| format!("[name={field}]"))
            .collect::<Vec<_>>()
            .join(", "),
        lookup_text,
    }
}

/// The type-ahead route of a reference's picker: `/app/lookup/{target}`
/// with the conditions the picker applies (a `lookup_filter`).
pub fn lookup_url(target: &str, filter: &indexmap::IndexMap<String, String>) -> String {
    let mut url = format!("/app/lookup/{target}");
    if !filter.is_empty() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in filter {
            // A condition on a form field's value: `_bind.KEY=OP.FIELD`; the
            // page sends the field's current value along (`hx-include`).
            match form_operand(v) {
                Some((op, field)) => query.append_pair(&format!("_bind.{k}"), &format!("{op}.{field}")),
                None => query.append_pair(k, v),
            };
        }
        url.push('?');
        url.push_str(&query.finish());
    }
    url
}

/// A field error in the viewer's language.
pub fn localize_error(locale: Locale, f: Option<&FieldDef>, e: &FieldError) -> String {
    let zh = locale == Locale::ZhCn;
    let max = f
        .and_then(|f| f.max_length.or(f.field_type.default_max_length()))
        .unwrap_or(0);
    let scale = f.map_or(2, |f| decimal_shape(f).1);
    match e.code.as_str() {
        "required" => {
            if zh {
                "此项为必填项。".into()
            } else {
                "This field is required.".into()
            }
        }
        "max_length" => {
            if zh {
                format!("最多 {max} 个字符。")
            } else {
                format!("At most {max} characters.")
            }
        }
        "unique" => {
            if zh {
                "已有其他记录使用此值。".into()
            } else {
                "Another record already has this value.".into()
            }
        }
        "not_found" => {
            if zh {
                "所选记录不存在。".into()
            } else {
                "The chosen record does not exist.".into()
            }
        }
        "not_in_picklist" => {
            if zh {
                "请从列表中选择一个值。".into()
            } else {
                "Choose a value from the list.".into()
            }
        }
        "scale" => {
            if zh {
                format!("小数点后最多 {scale} 位。")
            } else {
                format!("At most {scale} digits after the decimal point.")
            }
        }
        "precision" => {
            if zh {
                "数值过大。".into()
            } else {
                "The number is too large.".into()
            }
        }
        "minimum" => match f.and_then(|f| f.min) {
            Some(m) if zh => format!("不能小于 {m}。"),
            Some(m) => format!("Must be at least {m}."),
            None if zh => "数值太小。".into(),
            None => "The value is too small.".into(),
        },
        "maximum" => match f.and_then(|f| f.max) {
            Some(m) if zh => format!("不能大于 {m}。"),
            Some(m) => format!("Must be at most {m}."),
            None if zh => "数值太大。".into(),
            None => "The value is too large.".into(),
        },
        "type" | "format" | "invalid" => {
            let what = f.map(|f| f.field_type).map_or("value", |t| match (t, zh) {
                (FieldType::Integer, false) => "a whole number",
                (FieldType::Integer, true) => "整数",
                (FieldType::Decimal | FieldType::Currency | FieldType::Percent, false) => "a number",
                (FieldType::Decimal | FieldType::Currency | FieldType::Percent, true) => "数字",
                (FieldType::Email, false) => "an e-mail address",
                (FieldType::Email, true) => "电子邮件地址",
                (FieldType::Url, false) => "a web address starting with http:// or https://",
                (FieldType::Url, true) => "以 http:// 或 https:// 开头的网址",
                (FieldType::Date, false) => "a date",
                (FieldType::Date, true) => "日期",
                (FieldType::Datetime, false) => "a date and time",
                (FieldType::Datetime, true) => "日期和时间",
                (_, false) => "a valid value",
                (_, true) => "有效的值",
            });
            if zh {
                format!("请输入{what}。")
            } else {
                format!("Enter {what}.")
            }
        }
        // A rule's own message, already in the user's language (`error()`
        // takes a text per language).
        "rule" => e.message.clone(),
        // A rule that threw: what it said is for the administrator, after
        // words the user can read.
        "rule_failed" => format!(
            "{} ({})",
            if zh {
                "业务规则未能运行，记录未保存。"
            } else {
                "A business rule could not run; nothing was saved."
            },
            e.message
        ),
        code => fixed_message(code, zh).map_or_else(|| e.message.clone(), str::to_owned),
    }
}

/// The words for an error code whose message takes no value, by language.
fn fixed_message(code: &str, zh: bool) -> Option<&'static str> {
    let (en, zh_cn) = match code {
        "read_only" => (
            "Only the application sets this value.",
            "此值由系统自动设置，不能修改。",
        ),
        "unknown_field" => ("This is not a field of the record.", "这不是该记录的字段。"),
        "attachment_field" => (
            "Files are uploaded on the saved record.",
            "请在保存后的记录上上传文件。",
        ),
        "cycle" => (
            "This would put the record under itself.",
            "这样会使记录成为其自身的下级。",
        ),
        "reference" => ("A chosen record does not exist.", "所选的某条记录不存在。"),
        "duplicate_items" => ("A value is chosen twice.", "有值被重复选择。"),
        "not_before" => (
            "This is earlier than the date it may not precede.",
            "此时间早于它不能早于的时间。",
        ),
        "lookup_filter" => (
            "This record is not one of the choices offered here; pick one from the list.",
            "所选记录不在此处可选的范围内，请从列表中选择。",
        ),
        "not_available" => (
            "This action does not apply to the record as it is now.",
            "此操作不适用于记录的当前状态。",
        ),
        _ => return None,
    };
    Some(if zh { zh_cn } else { en })
}

/// Every error code the engine reports on a field (a test checks each has
/// words in both languages, so no form shows an engine's English message).
#[cfg(test)]
const ERROR_CODES: &[&str] = &[
    "required",
    "max_length",
    "unique",
    "not_found",
    "not_in_picklist",
    "scale",
    "precision",
    "minimum",
    "maximum",
    "type",
    "format",
    "invalid",
    "read_only",
    "unknown_field",
    "attachment_field",
    "cycle",
    "reference",
    "duplicate_items",
    "lookup_filter",
    "not_available",
    "not_before",
];

/// An error of a field of `e` in the viewer's language, naming the other
/// field where the error is about two (`not_before`: an end before its start).
pub fn localize_field_error(locale: Locale, e: &crate::engine::CompiledEntity, x: &FieldError) -> String {
    let f = e.field(&x.field).map(|(_, f)| f);
    let other = f
        .and_then(|f| f.not_before.as_deref())
        .and_then(|o| e.field(o))
        .map(|(_, o)| locale.pick(&o.label));
    match (x.code.as_str(), other) {
        ("not_before", Some(other)) if locale == Locale::ZhCn => format!("不能早于“{other}”。"),
        ("not_before", Some(other)) => format!("Must not be before “{other}”."),
        _ => localize_error(locale, f, x),
    }
}

/// Every field placed on a form, in order, with its overrides.
pub fn form_fields(form: &FormDef) -> impl Iterator<Item = &crate::model::FormFieldDef> {
    form.tabs
        .iter()
        .flat_map(|t| t.sections.iter().flat_map(|s| s.fields.iter()))
}

/// Whether a form field's visibility condition holds on `record`.
pub fn visible(cond: Option<&crate::model::ConditionDef>, record: &Record) -> bool {
    use crate::model::ConditionOp;
    let Some(c) = cond else { return true };
    let v = record.get(&c.field).unwrap_or(&Value::Null);
    let v = match v {
        Value::Object(o) => o.get("id").unwrap_or(&Value::Null),
        other => other,
    };
    match c.op {
        ConditionOp::Eq => c.value.as_ref() == Some(v),
        ConditionOp::Ne => c.value.as_ref() != Some(v),
        ConditionOp::In => c
            .value
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| a.contains(v)),
        ConditionOp::IsNull => v.is_null(),
        ConditionOp::NotNull => !v.is_null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form never shows the engine's English message for a code it
    /// knows: every code has words of its own in both languages.
    #[test]
    fn every_error_code_reads_in_both_languages() {
        let engine_text = "an engine's message in English";
        for code in ERROR_CODES {
            let e = FieldError::new("x", *code, engine_text);
            for locale in [Locale::En, Locale::ZhCn] {
                let shown = localize_error(locale, None, &e);
                assert!(!shown.contains(engine_text), "{code} in {locale:?}: {shown}");
                if locale == Locale::ZhCn {
                    assert!(!shown.is_ascii(), "{code} in Chinese: {shown}");
                }
            }
        }
    }
}
