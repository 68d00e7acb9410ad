//! The views of a release, with defaults filled in: every entity has a form
//! and a default list even when the metadata declares none, so a new entity
//! is usable the moment its release is applied.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::model::{
    EntityDef, FieldType, FormDef, FormFieldDef, Labels, ListDef, Model, ModuleDef, ModuleItemDef, RelatedListDef,
    SectionDef, TabDef,
};

/// The effective views of a release.
#[derive(Debug, Default)]
pub struct Views {
    /// The form of each entity, by entity name.
    pub forms: HashMap<String, FormDef>,
    /// Every list, declared or generated, by list name.
    pub lists: IndexMap<String, ListDef>,
    /// The default list of each entity, by entity name.
    pub default_list: HashMap<String, String>,
    /// The sidebar, in order.
    pub modules: Vec<ModuleDef>,
}

fn labels(en: &str, zh: &str) -> Labels {
    Labels {
        en: en.to_owned(),
        zh_cn: zh.to_owned(),
    }
}

impl Views {
    /// Builds the views of `model`.
    pub fn build(model: &Model) -> Views {
        let mut views = Views::default();
        for e in model.entities.values() {
            let declared = model
                .forms
                .get(&e.name)
                .filter(|f| f.entity == e.name)
                .or_else(|| model.forms.values().find(|f| f.entity == e.name));
            let form = declared.cloned().unwrap_or_else(|| default_form(e, model));
            views.forms.insert(e.name.clone(), form);
        }
        for l in model.lists.values() {
            views.lists.insert(l.name.clone(), l.clone());
        }
        for e in model.entities.values() {
            let declared = model
                .lists
                .get(&e.name)
                .filter(|l| l.entity == e.name)
                .or_else(|| model.lists.values().find(|l| l.entity == e.name));
            let name = match declared {
                Some(l) => l.name.clone(),
                None => {
                    let generated = default_list(e, &views.lists);
                    let name = generated.name.clone();
                    views.lists.insert(name.clone(), generated);
                    name
                }
            };
            views.default_list.insert(e.name.clone(), name);
        }
        views.modules = model.modules.values().cloned().collect();
        if views.modules.is_empty() && !model.entities.is_empty() {
            views.modules.push(ModuleDef {
                version: 1,
                name: "all".into(),
                label: labels("Records", "记录"),
                icon: None,
                order: 0,
                items: model
                    .entities
                    .keys()
                    .map(|e| ModuleItemDef {
                        list: None,
                        entity: Some(e.clone()),
                        label: None,
                    })
                    .collect(),
            });
        }
        views.modules.sort_by_key(|m| m.order);
        views
    }
}

/// One tab with every field, and one with every list of records pointing here.
fn default_form(e: &EntityDef, model: &Model) -> FormDef {
    let fields = e
        .fields
        .iter()
        .map(|f| FormFieldDef {
            field: f.name.clone(),
            read_only: false,
            required: false,
            visible_when: None,
        })
        .collect();
    let mut tabs = vec![TabDef {
        name: "general".into(),
        label: labels("General", "基本信息"),
        sections: vec![SectionDef {
            name: "main".into(),
            label: None,
            columns: Some(2),
            fields,
        }],
        related: Vec::new(),
    }];
    let related: Vec<RelatedListDef> = model
        .entities
        .values()
        .flat_map(|other| {
            other
                .fields
                .iter()
                .filter(|f| f.field_type == FieldType::Reference && f.target.as_deref() == Some(e.name.as_str()))
                .map(move |via| RelatedListDef {
                    entity: other.name.clone(),
                    via: via.name.clone(),
                    label: None,
                    columns: default_columns(other, 4, Some(&via.name)),
                    sort: vec![other.display_field.clone()],
                    filter: IndexMap::new(),
                    page_size: None,
                    tree: via.hierarchy.then(|| via.name.clone()),
                })
        })
        .collect();
    if !related.is_empty() {
        tabs.push(TabDef {
            name: "related".into(),
            label: labels("Related", "相关记录"),
            sections: Vec::new(),
            related,
        });
    }
    FormDef {
        version: 1,
        name: e.name.clone(),
        entity: e.name.clone(),
        label: None,
        tabs,
        // Every command of the entity, in declaration order.
        buttons: e
            .commands
            .iter()
            .map(|c| crate::model::ButtonDef {
                command: c.name.clone(),
                label: None,
            })
            .collect(),
    }
}

/// The display field first, then the next fields that read well in a column.
fn default_columns(e: &EntityDef, n: usize, skip: Option<&str>) -> Vec<String> {
    let mut cols = vec![e.display_field.clone()];
    for f in &e.fields {
        if cols.len() >= n {
            break;
        }
        let fits = !matches!(f.field_type, FieldType::LongText | FieldType::MultiPicklist);
        if fits && f.name != e.display_field && Some(f.name.as_str()) != skip {
            cols.push(f.name.clone());
        }
    }
    cols
}

fn default_list(e: &EntityDef, taken: &IndexMap<String, ListDef>) -> ListDef {
    let name = if taken.contains_key(&e.name) {
        format!("{}_all", e.name)
    } else {
        e.name.clone()
    };
    let quick_search = e
        .fields
        .iter()
        .filter(|f| f.field_type.is_short_text() && !f.is_virtual())
        .take(3)
        .map(|f| f.name.clone())
        .collect();
    ListDef {
        version: 1,
        name,
        entity: e.name.clone(),
        label: e.plural_label.clone(),
        columns: default_columns(e, 6, None),
        sort: vec![e.display_field.clone()],
        filter: IndexMap::new(),
        page_size: None,
        quick_search,
    }
}
