//! The model seen the way the application shows it: by module (the
//! navigation items), each entity with its forms and lists; and every item
//! by kind.

use serde::Serialize;
use serde_json::Value;

use super::items::{catalog, load, Catalog, ItemInfo};
use super::EditorError;
use crate::workspace::Workspace;

/// An entity and the items that show it.
#[derive(Debug, Clone, Serialize)]
pub struct EntityGroup {
    /// The entity's name.
    pub entity: String,
    /// The entity item (when it exists), then its forms, then its lists.
    pub items: Vec<ItemInfo>,
}

/// A module of the navigation.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleGroup {
    /// The module item.
    pub module: ItemInfo,
    /// Its entities, in navigation order.
    pub entities: Vec<EntityGroup>,
}

/// The items of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindGroup {
    /// The kind.
    pub kind: String,
    /// Its items, by name.
    pub items: Vec<ItemInfo>,
}

/// The model by module, plus the entities no module shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// The modules, by their `order` then name.
    pub modules: Vec<ModuleGroup>,
    /// Entities (with their forms and lists) in no module.
    pub elsewhere: Vec<EntityGroup>,
}

fn group(catalog: &Catalog, entity: &str) -> EntityGroup {
    let mut items: Vec<ItemInfo> = catalog.find("entity", entity).cloned().into_iter().collect();
    for kind in ["form", "list"] {
        items.extend(
            catalog
                .items
                .iter()
                .filter(|i| i.kind == kind && i.entity.as_deref() == Some(entity))
                .cloned(),
        );
    }
    EntityGroup {
        entity: entity.to_owned(),
        items,
    }
}

/// The entities a module's navigation items lead to, in order.
fn module_entities(catalog: &Catalog, module: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in module.get("items").and_then(Value::as_array).into_iter().flatten() {
        let entity = match (
            item.get("list").and_then(Value::as_str),
            item.get("entity").and_then(Value::as_str),
        ) {
            (Some(list), _) => catalog.find("list", list).and_then(|l| l.entity.clone()),
            (None, Some(e)) => Some(e.to_owned()),
            _ => None,
        };
        if let Some(e) = entity.filter(|e| !out.contains(e)) {
            out.push(e);
        }
    }
    out
}

/// The workspace's model by module.
pub fn overview(ws: &Workspace) -> Result<Overview, EditorError> {
    let catalog = catalog(ws)?;
    let mut modules = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    for m in catalog.items.iter().filter(|i| i.kind == "module") {
        let value = load(ws, "module", &m.name)?.value;
        let order = value.get("order").and_then(Value::as_i64).unwrap_or(i64::MAX);
        let entities: Vec<EntityGroup> = module_entities(&catalog, &value)
            .iter()
            .map(|e| group(&catalog, e))
            .collect();
        shown.extend(entities.iter().map(|g| g.entity.clone()));
        modules.push((
            order,
            ModuleGroup {
                module: m.clone(),
                entities,
            },
        ));
    }
    modules.sort_by(|a, b| (a.0, &a.1.module.name).cmp(&(b.0, &b.1.module.name)));
    let elsewhere = catalog
        .items
        .iter()
        .filter(|i| i.kind == "entity" && !shown.contains(&i.name))
        .map(|i| group(&catalog, &i.name))
        .collect();
    Ok(Overview {
        modules: modules.into_iter().map(|(_, m)| m).collect(),
        elsewhere,
    })
}

/// Every item, grouped by kind (in the runtime's order of kinds).
pub fn by_kind(ws: &Workspace) -> Result<Vec<KindGroup>, EditorError> {
    let catalog = catalog(ws)?;
    Ok(relata::model::ITEM_KINDS
        .iter()
        .map(|k| KindGroup {
            kind: (*k).to_owned(),
            items: catalog.items.iter().filter(|i| i.kind == *k).cloned().collect(),
        })
        .collect())
}
