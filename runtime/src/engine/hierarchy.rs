//! Hierarchies: reference fields with `hierarchy: true` (a contact's
//! *reports to*, an employee's *manager*) arrange an entity's records in a
//! tree. A save may not make a record its own ancestor, and a form's related
//! list can show the records as a tree along such a field.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::compiled::CompiledEntity;
use super::payload::FieldError;
use super::query::ListParams;
use super::saving::Save;
use super::{Engine, EngineError};
use crate::model::RelatedListDef;
use crate::store::ed::records::Record;

/// How far up a save looks for the record it changes. Deeper chains are not
/// walked to their end: an organisation is never this deep, and a cycle
/// that has so long a way round is not one a user makes by mistake.
const MAX_ANCESTORS: usize = 256;

/// How many levels a tree of "everyone below" reads (one list read each).
pub const MAX_TREE_LEVELS: usize = 12;

/// The id a reference value holds: the id itself, or an expanded record's.
fn reference_id(v: &Json) -> Option<&str> {
    match v {
        Json::String(s) => Some(s),
        Json::Object(o) => o.get("id").and_then(Json::as_str),
        _ => None,
    }
}

impl Engine {
    /// Refuses, as a field error, each `hierarchy` field of `e` whose new
    /// value in `changed` would put record `id` under itself.
    pub(super) async fn hierarchy_errors(
        &self,
        save: &mut Save,
        e: &CompiledEntity,
        id: Uuid,
        changed: &Map<String, Json>,
        errors: &mut Vec<FieldError>,
    ) -> Result<(), EngineError> {
        let gets_a_parent = e
            .def
            .fields
            .iter()
            .any(|f| f.hierarchy && changed.get(&f.name).and_then(reference_id).is_some());
        if gets_a_parent {
            // Two saves at the same moment could each close half of a loop,
            // each walk seeing the other's record as it was. The moves of
            // one entity's records are checked and written one at a time.
            save.hold(&self.dbs, &format!("relata:hierarchy:{}", e.def.name))
                .await?;
        }
        for (i, f) in e.def.fields.iter().enumerate().filter(|(_, f)| f.hierarchy) {
            let Some(parent) = changed.get(&f.name).and_then(reference_id) else {
                continue;
            };
            // A malformed id is the payload validator's to report.
            let Ok(mut at) = Uuid::parse_str(parent) else { continue };
            let mut seen = HashSet::new();
            for _ in 0..MAX_ANCESTORS {
                if at == id {
                    errors.push(FieldError::new(
                        &f.name,
                        "cycle",
                        "would put this record under itself: it is above the record chosen",
                    ));
                    break;
                }
                if !seen.insert(at) {
                    break; // a loop above, not through this record
                }
                let projection = [e.column_of(i)];
                let row = e
                    .table
                    .get_in(&mut save.db(&self.dbs.ed), at, Some(&projection))
                    .await?;
                match row.as_ref().and_then(|r| r.get(&f.name)).and_then(reference_id) {
                    Some(next) => match Uuid::parse_str(next) {
                        Ok(next) => at = next,
                        Err(_) => break,
                    },
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// The rows of a related list shown as a tree: `(depth, record)` in
    /// display order (each record followed by those below it, siblings in
    /// the list's sort), and whether rows were left out.
    ///
    /// `params` are those of the plain related list (its filter, sort,
    /// expand, the user) without the `via` condition and the limit.
    pub async fn related_tree(
        &self,
        rel: &RelatedListDef,
        tree: &str,
        id: &str,
        params: &ListParams,
        limit: usize,
    ) -> Result<(Vec<(usize, Record)>, bool), EngineError> {
        let read = |cond: (String, String), n: usize| {
            let mut p = params.clone();
            p.pairs.push(cond);
            p.pairs.push(("limit".into(), n.to_string()));
            async move { self.list(&rel.entity, &p, false).await }
        };
        let mut records: Vec<Record> = Vec::new();
        let mut more = false;
        if rel.via == tree {
            // Everyone below the record, a level at a time.
            let mut level = vec![id.to_owned()];
            for _ in 0..MAX_TREE_LEVELS {
                let room = limit.saturating_sub(records.len());
                if level.is_empty() || room == 0 {
                    more |= !level.is_empty();
                    break;
                }
                let cond = (rel.via.clone(), format!("in.({})", level.join(",")));
                let page = read(cond, room).await?;
                more |= page.next_cursor.is_some();
                level = page
                    .data
                    .iter()
                    .filter_map(|r| Some(r.get("id")?.as_str()?.to_owned()))
                    .collect();
                records.extend(page.data);
            }
        } else {
            let page = read((rel.via.clone(), format!("eq.{id}")), limit).await?;
            more = page.next_cursor.is_some();
            records = page.data;
        }
        let links: Vec<(Option<&str>, Option<&str>)> = records
            .iter()
            .map(|r| (r.get("id").and_then(Json::as_str), r.get(tree).and_then(reference_id)))
            .collect();
        let order = arrange(&links, id);
        let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
        let rows = order
            .into_iter()
            .filter_map(|(depth, k)| slots.get_mut(k)?.take().map(|r| (depth, r)))
            .collect();
        Ok((rows, more))
    }
}

/// The display order of a tree: `(depth, index)` for each of `links`
/// (`(id, parent id)` of every record, in list order). Roots are the records
/// whose parent is `top` or not among them. A record in a loop of its own
/// (reachable from no root) is shown as a root rather than lost.
fn arrange(links: &[(Option<&str>, Option<&str>)], top: &str) -> Vec<(usize, usize)> {
    let known: HashSet<&str> = links.iter().filter_map(|l| l.0).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (k, (_, parent)) in links.iter().enumerate() {
        match parent {
            Some(p) if *p != top && known.contains(p) => children.entry(p).or_default().push(k),
            _ => roots.push(k),
        }
    }
    let mut order = Vec::with_capacity(links.len());
    let mut placed = vec![false; links.len()];
    let mut walk = |start: usize, order: &mut Vec<(usize, usize)>| {
        let mut stack = vec![(start, 0)];
        while let Some((k, depth)) = stack.pop() {
            if std::mem::replace(&mut placed[k], true) {
                continue;
            }
            order.push((depth, k));
            if let Some(kids) = links[k].0.and_then(|id| children.get(id)) {
                stack.extend(kids.iter().rev().map(|&c| (c, depth + 1)));
            }
        }
    };
    for &k in &roots {
        walk(k, &mut order);
    }
    for k in 0..links.len() {
        walk(k, &mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(links: &[(&str, Option<&str>)]) -> Vec<String> {
        let links: Vec<(Option<&str>, Option<&str>)> = links.iter().map(|(i, p)| (Some(*i), *p)).collect();
        arrange(&links, "top")
            .into_iter()
            .map(|(d, k)| format!("{}{}", "-".repeat(d), links[k].0.unwrap_or("?")))
            .collect()
    }

    #[test]
    fn records_follow_their_parents_in_list_order() {
        let links = [
            ("b", Some("a")),
            ("a", None),
            ("c", Some("a")),
            ("d", Some("b")),
            ("e", Some("elsewhere")),
        ];
        assert_eq!(tree(&links), ["a", "-b", "--d", "-c", "e"]);
    }

    #[test]
    fn the_top_record_is_not_a_parent_in_the_list() {
        assert_eq!(tree(&[("x", Some("top")), ("y", Some("x"))]), ["x", "-y"]);
    }

    #[test]
    fn records_in_a_loop_are_kept() {
        let links = [("p", Some("q")), ("q", Some("p")), ("r", None)];
        assert_eq!(tree(&links), ["r", "p", "-q"]);
    }
}
