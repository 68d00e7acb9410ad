//! The frame every page shares: language, texts, sidebar, breadcrumbs.

use std::collections::HashMap;

use serde::Serialize;

use super::context::Viewer;
use super::i18n::{Locale, MESSAGES};
use super::present::{nav, NavModule};
use crate::engine::CompiledModel;

/// A breadcrumb.
#[derive(Debug, Serialize)]
pub struct Crumb {
    /// Text.
    pub label: String,
    /// Link; none for the current page.
    pub href: Option<String>,
}

/// The shared part of every page, with the page's own data flattened in.
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    lang: &'static str,
    title: String,
    tr: HashMap<&'static str, &'static str>,
    nav: Vec<NavModule>,
    breadcrumbs: Vec<Crumb>,
    csrf: String,
    user: Option<String>,
    /// Show the Administration entries.
    admin: bool,
    here: String,
    notice: Option<String>,
    #[serde(flatten)]
    body: T,
}

/// The UI texts in `locale`, by key.
pub fn texts(locale: Locale) -> HashMap<&'static str, &'static str> {
    MESSAGES
        .iter()
        .map(|(k, en, zh)| (*k, if locale == Locale::En { *en } else { *zh }))
        .collect()
}

/// Notices a redirect may ask for (`?notice=saved`), by key.
pub fn notice_text(locale: Locale, key: Option<&str>) -> Option<String> {
    let key = match key? {
        "saved" => "saved_notice",
        "deleted" => "deleted_notice",
        "restored" => "restored_notice",
        _ => return None,
    };
    Some(locale.text(key).to_owned())
}

/// What a page is made of, besides its own data.
pub struct Frame<'a> {
    /// The model the page shows.
    pub model: &'a CompiledModel,
    /// The viewer.
    pub viewer: &'a Viewer,
    /// The page title.
    pub title: String,
    /// The trail to the page.
    pub breadcrumbs: Vec<Crumb>,
    /// The list the page belongs to, to highlight it in the sidebar.
    pub current_list: Option<&'a str>,
    /// A message to show on top.
    pub notice: Option<String>,
}

impl Frame<'_> {
    /// The page, ready to render.
    pub fn page<T: Serialize>(self, body: T) -> Page<T> {
        let locale = self.viewer.locale;
        Page {
            lang: locale.as_str(),
            title: self.title,
            tr: texts(locale),
            nav: nav(self.model, locale, self.current_list),
            breadcrumbs: self.breadcrumbs,
            csrf: self.viewer.csrf.clone(),
            user: self.viewer.user.clone(),
            admin: self.viewer.is_admin,
            here: self.viewer.here.clone(),
            notice: self.notice,
            body,
        }
    }
}
