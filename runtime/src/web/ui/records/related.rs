//! The related lists of a record page (a plain list or a tree).

use serde::Serialize;
use serde_json::Value;

use crate::engine::{CompiledEntity, CompiledModel, Engine, ListParams, PicklistValues};
use crate::model::FieldType;
use crate::web::ui::context::Viewer;
use crate::web::ui::present::display_in;

use super::view::record_id;

#[derive(Debug, Serialize)]
pub(super) struct RelatedCell {
    text: String,
}

#[derive(Debug, Serialize)]
pub(super) struct RelatedRow {
    href: String,
    cells: Vec<RelatedCell>,
    /// Level in a tree (0 for a plain related list's rows).
    depth: usize,
}

#[derive(Debug, Serialize)]
pub(super) struct RelatedView {
    /// The related entity (names the section for tests and styles).
    pub(super) entity: String,
    /// Rows shown as a tree (indented by depth).
    pub(super) tree: bool,
    pub(super) label: String,
    pub(super) new_href: String,
    pub(super) more_href: Option<String>,
    pub(super) columns: Vec<String>,
    pub(super) rows: Vec<RelatedRow>,
}

pub(super) async fn related_lists(
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
                            Some(f) => display_in(model, lists, viewer, f, r.get(c).unwrap_or(&Value::Null), r),
                            // A system column (created_at, updated_at): an instant.
                            None => r
                                .get(c)
                                .and_then(Value::as_str)
                                .map(|s| crate::web::ui::i18n::format_datetime(viewer.locale, &viewer.zone, s))
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
                .map(|c| crate::web::ui::lists::column_label(re, viewer, c))
                .collect(),
            rows,
        });
    }
    out
}
