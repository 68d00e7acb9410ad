//! The global search: every searchable entity of the active release, best
//! matches first within each, bounded per entity and overall.

use crate::model::Labels;
use crate::store::ed::search::{search_entity, SearchQuery};

use super::{Engine, EngineError};

/// Results per entity when none is asked for.
pub const DEFAULT_PER_ENTITY: u32 = 5;
/// Most results per entity a caller may ask for.
pub const MAX_PER_ENTITY: u32 = 50;
/// Most results of one search, over all entities.
pub const MAX_TOTAL: usize = 200;

/// The records of one entity that a search found.
#[derive(Debug, Clone)]
pub struct SearchGroup {
    /// The entity.
    pub entity: String,
    /// Its singular label.
    pub label: Labels,
    /// Its plural label.
    pub plural_label: Labels,
    /// The records, best first.
    pub hits: Vec<SearchHit>,
}

/// One record found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The record id.
    pub id: String,
    /// The value of the entity's display field.
    pub display: String,
    /// Relevance within the entity (higher is better; not comparable across
    /// entities, whose statistics differ).
    pub score: f64,
}

impl Engine {
    /// Searches every searchable entity for `text`: at most `per_entity`
    /// records each (clamped to 1..=[`MAX_PER_ENTITY`]), at most
    /// [`MAX_TOTAL`] in all, groups in package order. Records in the recycle
    /// bin are never found; an empty or blank text finds nothing.
    pub async fn search(&self, text: &str, per_entity: Option<u32>) -> Result<Vec<SearchGroup>, EngineError> {
        if text.chars().count() > super::query::MAX_SEARCH_CHARS {
            return Err(EngineError::BadRequest(format!(
                "q: at most {} characters",
                super::query::MAX_SEARCH_CHARS
            )));
        }
        let Some(query) = SearchQuery::parse(text) else {
            return Ok(Vec::new());
        };
        let limit = per_entity.unwrap_or(DEFAULT_PER_ENTITY).clamp(1, MAX_PER_ENTITY);
        let snap = self.snapshot().await;
        let mut groups = Vec::new();
        let mut total = 0;
        for e in snap.model.model.entities.values() {
            let Some(fields) = e.search_fields() else { continue };
            let room = MAX_TOTAL.saturating_sub(total);
            if room == 0 {
                break;
            }
            let limit = limit.min(u32::try_from(room).unwrap_or(u32::MAX));
            let hits = search_entity(&self.dbs.ed, &e.name, &fields, &query, limit).await?;
            if hits.is_empty() {
                continue;
            }
            total += hits.len();
            groups.push(SearchGroup {
                entity: e.name.clone(),
                label: e.label.clone(),
                plural_label: e.plural_label.clone(),
                hits: hits
                    .into_iter()
                    .map(|h| SearchHit {
                        display: h.display.unwrap_or_else(|| h.id.clone()),
                        id: h.id,
                        score: h.score,
                    })
                    .collect(),
            });
        }
        Ok(groups)
    }
}
