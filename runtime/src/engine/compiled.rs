//! The compiled model: a release turned into everything a request needs,
//! built once and shared read-only (`Arc`) until the next release replaces it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::zone::Zone;
use crate::model::{EntityDef, FieldDef, FieldType, Model};
use crate::store::ed::records::EntityTable;
use crate::store::Backend;

use super::payload::{payload_schema, PayloadKind};
use super::rules::{EntityRules, RuleSet};
use super::views::Views;

/// The active release, compiled.
#[derive(Debug)]
pub struct CompiledModel {
    /// The release number (0 before the first release).
    pub release: i64,
    /// The release checksum.
    pub checksum: String,
    /// The checked model it was built from.
    pub model: Model,
    pub(super) entities: HashMap<String, Arc<CompiledEntity>>,
    /// Forms, lists and modules, with defaults filled in.
    pub views: Views,
    /// The calendar the model's scripts run on (`today()`): the
    /// installation's zone, set by the engine that serves the model (UTC
    /// for a model compiled elsewhere).
    pub time_zone: Zone,
}

/// One entity, ready for requests.
#[derive(Debug)]
pub struct CompiledEntity {
    /// Its definition as the table sees it: every field but the attachment
    /// fields (which have no column; see [`CompiledEntity::attachments`]).
    pub def: EntityDef,
    /// The attachment fields, in display order.
    pub attachments: Vec<FieldDef>,
    /// The virtual computed fields (no column: computed when a record is
    /// read), in declaration order.
    pub virtuals: Vec<FieldDef>,
    /// The SQL shapes of its table.
    pub table: EntityTable,
    /// Validates create payloads.
    pub create_validator: jsonschema::Validator,
    /// Validates patch payloads.
    pub patch_validator: jsonschema::Validator,
    /// For each field (by position in `def.fields`), its column index in `table`.
    field_columns: Vec<usize>,
    /// Field positions by name.
    field_index: HashMap<String, usize>,
    /// Unique groups, as field positions (single `unique: true` fields too).
    pub unique_groups: Vec<Vec<usize>>,
    /// Its business rules (scripts compiled once per release), if any.
    pub rules: Option<Arc<EntityRules>>,
}

/// Compiling failed: a bug, since the model was checked; reported, not panicked.
#[derive(Debug, thiserror::Error)]
#[error("cannot compile the model: {0}")]
pub struct CompileError(pub String);

impl CompiledModel {
    /// The model of an empty business model (before the first release).
    pub fn empty(backend: Backend) -> CompiledModel {
        CompiledModel::compile(Model::default(), 0, String::new(), backend, RuleSet::new()).unwrap_or_else(|_| {
            CompiledModel {
                release: 0,
                checksum: String::new(),
                model: Model::default(),
                entities: HashMap::new(),
                views: Views::default(),
                time_zone: Zone::utc(),
            }
        })
    }

    /// Compiles a checked model for `backend`, with the release's compiled
    /// business rules (see [`super::rules::compile`]).
    pub fn compile(
        model: Model,
        release: i64,
        checksum: String,
        backend: Backend,
        rules: RuleSet,
    ) -> Result<CompiledModel, CompileError> {
        let mut entities = HashMap::with_capacity(model.entities.len());
        for def in model.entities.values() {
            let mut e = CompiledEntity::compile(def, backend)?;
            e.rules = rules.get(&def.name).cloned();
            entities.insert(def.name.clone(), Arc::new(e));
        }
        let views = Views::build(&model);
        Ok(CompiledModel {
            release,
            checksum,
            model,
            entities,
            views,
            time_zone: Zone::utc(),
        })
    }

    /// An entity by name.
    pub fn entity(&self, name: &str) -> Option<&Arc<CompiledEntity>> {
        self.entities.get(name)
    }
}

impl CompiledEntity {
    fn compile(full: &EntityDef, backend: Backend) -> Result<CompiledEntity, CompileError> {
        let attachments: Vec<FieldDef> = full.attachment_fields().cloned().collect();
        let virtuals: Vec<FieldDef> = full.fields.iter().filter(|f| f.is_virtual()).cloned().collect();
        let def = &full.stored();
        let build = |kind| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(&payload_schema(def, kind))
                .map_err(|e| CompileError(format!("entity {}: {e}", def.name)))
        };
        let table = match attachments.is_empty() {
            true => EntityTable::new(def, backend),
            false => EntityTable::new(def, backend).with_files(),
        };
        let field_columns = def
            .fields
            .iter()
            .map(|f| {
                table
                    .column_index(&f.name)
                    .ok_or_else(|| CompileError(format!("no column for {}", f.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let field_index = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect::<HashMap<_, _>>();
        let mut unique_groups: Vec<Vec<usize>> = def
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.unique)
            .map(|(i, _)| vec![i])
            .collect();
        for u in &def.unique {
            unique_groups.push(u.fields.iter().filter_map(|n| field_index.get(n).copied()).collect());
        }
        Ok(CompiledEntity {
            def: def.clone(),
            attachments,
            virtuals,
            create_validator: build(PayloadKind::Create)?,
            patch_validator: build(PayloadKind::Patch)?,
            table,
            field_columns,
            field_index,
            unique_groups,
            rules: None,
        })
    }

    /// A field and its position, by name.
    pub fn field(&self, name: &str) -> Option<(usize, &FieldDef)> {
        let i = *self.field_index.get(name)?;
        Some((i, &self.def.fields[i]))
    }

    /// An attachment field by name.
    pub fn attachment(&self, name: &str) -> Option<&FieldDef> {
        self.attachments.iter().find(|f| f.name == name)
    }

    /// A virtual computed field by name.
    pub fn virtual_field(&self, name: &str) -> Option<&FieldDef> {
        self.virtuals.iter().find(|f| f.name == name)
    }

    /// A field a page can show by name: a stored field or a virtual one
    /// (shown read-only; it has no column to filter or sort on).
    pub fn shown_field(&self, name: &str) -> Option<&FieldDef> {
        self.field(name).map(|(_, f)| f).or_else(|| self.virtual_field(name))
    }

    /// The column index of the field at position `i`.
    pub fn column_of(&self, i: usize) -> usize {
        self.field_columns[i]
    }

    /// The reference fields, with their positions.
    pub fn references(&self) -> impl Iterator<Item = (usize, &FieldDef)> {
        self.def
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.field_type == FieldType::Reference)
    }
}
