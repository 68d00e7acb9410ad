//! The designer's templates, embedded in the binary and compiled once.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::editor::form::Widget;

const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("overview.html", include_str!("../../templates/overview.html")),
    ("kinds.html", include_str!("../../templates/kinds.html")),
    ("item.html", include_str!("../../templates/item.html")),
    ("form.html", include_str!("../../templates/form.html")),
    ("widget.html", include_str!("../../templates/widget.html")),
    ("scripts.html", include_str!("../../templates/scripts.html")),
    ("script.html", include_str!("../../templates/script.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("layout.html", include_str!("../../templates/layout.html")),
    ("layout_body.html", include_str!("../../templates/layout_body.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a designer template does not compile");
            }
        }
        env
    })
}

/// Renders `name` with `ctx` to text.
pub fn render_text<C: Serialize>(name: &str, ctx: C) -> Result<String, String> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("template {name}: {e:#}"))
}

/// Renders a page; a template failure is a bug, shown as a plain 500.
pub fn page<C: Serialize>(status: StatusCode, name: &str, ctx: C) -> Response {
    match render_text(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "designer template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render: see the log",
            )
                .into_response()
        }
    }
}

/// The editing form of an item (also sent back after each structural edit).
pub fn render_form(form: &Widget) -> Result<String, String> {
    render_text("form.html", minijinja::context! { form })
}

/// The body of the form layout editor (also sent back after each move).
pub fn render_layout(view: &crate::editor::layout::LayoutView) -> Result<String, String> {
    render_text("layout_body.html", minijinja::context! { view })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        for (name, _) in super::TEMPLATES {
            assert!(super::env().get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn an_item_page_renders() -> Result<(), String> {
        let root = relata::model::kind_schema("entity").unwrap_or_default();
        let item = serde_json::json!({"kind": "entity", "name": "x", "label": {"en": "X", "zh-CN": "叉"},
            "fields": [{"name": "a", "type": "text", "label": {"en": "A", "zh-CN": "甲"}}]});
        let form_html = super::render_form(&crate::editor::form::build(&root, &item, &Default::default()))?;
        let ctx = minijinja::context! { title => "entity x", kind => "entity", original => "x",
        path => "x.yaml", item_json => item.to_string(), form_html };
        // minijinja escapes `/` in HTML as `&#x2f;` (the browser reads it back).
        let page = super::render_text("item.html", ctx)?.replace("&#x2f;", "/");
        assert!(page.contains(r#"data-ptr="/fields/0/label/zh-CN""#), "{page}");
        Ok(())
    }
}
