//! The UI's templates, embedded in the binary and compiled once.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

const TEMPLATES: [(&str, &str); 10] = [
    ("base.html", include_str!("../../../templates/ui/base.html")),
    ("home.html", include_str!("../../../templates/ui/home.html")),
    ("list.html", include_str!("../../../templates/ui/list.html")),
    ("record.html", include_str!("../../../templates/ui/record.html")),
    ("message.html", include_str!("../../../templates/ui/message.html")),
    ("lookup.html", include_str!("../../../templates/ui/lookup.html")),
    ("search.html", include_str!("../../../templates/ui/search.html")),
    (
        "preferences.html",
        include_str!("../../../templates/ui/preferences.html"),
    ),
    (
        "admin_picklists.html",
        include_str!("../../../templates/ui/admin_picklists.html"),
    ),
    (
        "admin_picklist.html",
        include_str!("../../../templates/ui/admin_picklist.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a UI template does not compile");
            }
        }
        env
    })
}

/// Renders a template with `ctx`; a rendering failure is logged and shown
/// as a plain 500 page (it is a bug, never the user's fault).
pub fn render<C: Serialize>(status: StatusCode, name: &str, ctx: C) -> Response {
    match env().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, detail = ?e.detail(), "UI template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Something went wrong</h1><p>It has been logged.</p>"),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        let env = super::env();
        for (name, _) in super::TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
