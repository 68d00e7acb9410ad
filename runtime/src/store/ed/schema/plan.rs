//! Planning: a pure diff of two models, confirmed against the catalog.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::catalog::{Catalog, TableInfo};
use super::restore;
use super::shape::{value_checks, Check, Shape};
pub use super::step::{Action, IndexSpec, Plan, Safety, Step};
use super::{archive_name, folded_index_name, index_name, is_managed_index, search};
use crate::model::{EntityDef, FieldDef, FieldType, Model, OnDelete};
use crate::store::Backend;

/// The indexes an entity's table has: one per reference field, the declared
/// indexes, one unique per unique field and per unique group (deduplicated
/// by name), and a folded (lower-cased) companion of each declared index that
/// starts with a short text field, for `starts_with` filters.
pub(crate) fn desired_indexes(e: &EntityDef) -> Vec<IndexSpec> {
    let one = |f: &str| vec![f.to_owned()];
    let lists = e
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Reference)
        .map(|f| (false, one(&f.name)))
        .chain(e.indexes.iter().map(|ix| (false, ix.fields.clone())))
        .chain(e.fields.iter().filter(|f| f.unique).map(|f| (true, one(&f.name))))
        .chain(e.unique.iter().map(|u| (true, u.fields.clone())));
    let mut out: Vec<IndexSpec> = Vec::new();
    for (unique, columns) in lists {
        let name = index_name(unique, &e.name, &columns);
        if !out.iter().any(|ix| ix.name == name) {
            out.push(IndexSpec {
                name,
                columns,
                unique,
                folded: false,
            });
        }
    }
    let text_firsts = e.indexes.iter().filter_map(|ix| ix.fields.first()).filter(|first| {
        e.fields
            .iter()
            .any(|f| &f.name == *first && f.field_type.is_short_text())
    });
    for column in text_firsts {
        let name = folded_index_name(&e.name, column);
        if !out.iter().any(|ix| ix.name == name) {
            out.push(IndexSpec {
                name,
                columns: vec![column.clone()],
                unique: false,
                folded: true,
            });
        }
    }
    out
}

/// Diffs `old` (None on the first release) against `new`, confirming what
/// exists in `catalog`: a table or column the model has but the database
/// lacks is created. `release` names archived tables and columns. Pure: no
/// I/O, no data read.
pub fn plan(old: Option<&Model>, new: &Model, catalog: &Catalog, release: i64) -> Plan {
    // Attachment fields have no column: adding or removing one plans nothing.
    let old = old.map(Model::stored).unwrap_or_default();
    let new = &new.stored();
    let old = &old;
    let mut p = Planner::new(catalog, release);
    for e in old.entities.values().filter(|e| !new.entities.contains_key(&e.name)) {
        p.archive_table(e);
    }
    p.create_tables(new);
    for e in new.entities.values() {
        let info = catalog.table(&e.name).or_else(|| p.restored.get(&e.name).copied());
        if let Some(info) = info {
            p.existing_table(old.entities.get(&e.name), e, info);
        }
    }
    p.searches(old, new);
    let steps = [p.drops, p.creates, p.columns, p.archives, p.keys, p.indexes, p.searches].concat();
    Plan { steps }
}

struct Planner<'a> {
    catalog: &'a Catalog,
    backend: Backend,
    release: i64,
    /// Table names taken or about to be.
    taken: BTreeSet<String>,
    /// Entities whose archived table is renamed back, with that table.
    restored: HashMap<String, &'a TableInfo>,
    drops: Vec<Step>,
    creates: Vec<Step>,
    columns: Vec<Step>,
    archives: Vec<Step>,
    keys: Vec<Step>,
    indexes: Vec<Step>,
    /// Search structures created last, over the finished tables.
    searches: Vec<Step>,
}

impl<'a> Planner<'a> {
    fn new(catalog: &'a Catalog, release: i64) -> Planner<'a> {
        Planner {
            catalog,
            backend: catalog.backend,
            release,
            taken: catalog.names.clone(),
            restored: HashMap::new(),
            drops: Vec::new(),
            creates: Vec::new(),
            columns: Vec::new(),
            archives: Vec::new(),
            keys: Vec::new(),
            indexes: Vec::new(),
            searches: Vec::new(),
        }
    }

    fn step(safety: Safety, description: String, action: Action) -> Step {
        Step {
            safety,
            description,
            action,
        }
    }

    fn archive_table(&mut self, e: &EntityDef) {
        let Some(info) = self.catalog.table(&e.name) else {
            return;
        };
        if search::exists(self.catalog, &e.name) {
            self.drop_search(&e.name, "entity removed");
        }
        self.drop_indexes(&e.name, info, &[]);
        let archived = archive_name(self.release, &e.name, |n| self.taken.contains(n));
        self.taken.insert(archived.clone());
        self.archives.push(Self::step(
            Safety::Destructive,
            format!("archive table {} as {archived} (entity removed; data kept)", e.name),
            Action::ArchiveTable {
                table: e.name.clone(),
                archived,
            },
        ));
    }

    /// Creates the missing tables, targets before the tables that point to
    /// them; on PostgreSQL a foreign key to a table not created yet (a
    /// cycle) is added after all tables.
    fn create_tables(&mut self, new: &Model) {
        let mut pending: Vec<&EntityDef> = new
            .entities
            .values()
            .filter(|e| self.catalog.table(&e.name).is_none())
            .filter(|e| !self.restore_table(e))
            .collect();
        for e in &pending {
            self.taken.insert(e.name.clone());
        }
        let mut created: HashSet<&str> = HashSet::new();
        while !pending.is_empty() {
            let waits_for = |e: &EntityDef, created: &HashSet<&str>| -> Vec<String> {
                e.fields
                    .iter()
                    .filter(|f| f.field_type == FieldType::Reference)
                    .filter(|f| {
                        f.target
                            .as_deref()
                            .is_some_and(|t| t != e.name && !created.contains(t) && pending.iter().any(|o| o.name == t))
                    })
                    .map(|f| f.name.clone())
                    .collect()
            };
            let at = pending
                .iter()
                .position(|e| waits_for(e, &created).is_empty())
                .unwrap_or(0);
            let e = pending[at];
            let deferred = if self.backend == Backend::Postgres {
                waits_for(e, &created)
            } else {
                Vec::new()
            };
            pending.remove(at);
            created.insert(&e.name);
            let ix = desired_indexes(e).len();
            let mut description = format!("create table {} ({} fields, {ix} indexes)", e.name, e.fields.len());
            if !deferred.is_empty() {
                description.push_str(&format!(
                    "; foreign keys of {} added after the other tables",
                    deferred.join(", ")
                ));
            }
            for column in &deferred {
                self.add_foreign_key(&e.name, column, e);
            }
            self.creates.push(Self::step(
                Safety::Safe,
                description,
                Action::CreateTable {
                    table: e.name.clone(),
                    deferred_foreign_keys: deferred,
                },
            ));
        }
    }

    /// Plans renaming the newest fitting archive of `e`'s table back, if
    /// there is one; the table is then planned like an existing one.
    fn restore_table(&mut self, e: &EntityDef) -> bool {
        let catalog = self.catalog;
        let Some((archived, info)) = restore::archived_table(catalog, e) else {
            return false;
        };
        self.taken.insert(e.name.clone());
        self.restored.insert(e.name.clone(), info);
        self.creates.push(Self::step(
            Safety::Safe,
            format!(
                "restore table {} from {archived} (entity back; its records return)",
                e.name
            ),
            Action::RestoreTable {
                table: e.name.clone(),
                archived: archived.to_owned(),
            },
        ));
        true
    }

    fn add_foreign_key(&mut self, table: &str, column: &str, e: &EntityDef) {
        let Some(f) = e.fields.iter().find(|f| f.name == column) else {
            return;
        };
        let target = f.target.as_deref().unwrap_or_default();
        let action = on_delete_sql(f.on_delete.unwrap_or(OnDelete::Restrict));
        self.keys.push(Self::step(
            Safety::Safe,
            format!("add foreign key {table}.{column} -> {target}(id) on delete {action}"),
            Action::AddForeignKey {
                table: table.to_owned(),
                column: column.to_owned(),
            },
        ));
    }

    fn existing_table(&mut self, old: Option<&EntityDef>, e: &EntityDef, info: &TableInfo) {
        let table = &e.name;
        // Added columns: NOT NULL (with the default) or not.
        let mut added: HashMap<&str, bool> = HashMap::new();
        for f in &e.fields {
            let to = Shape::of(f);
            if info.column(&f.name).is_none() {
                if let Some(archived) = restore::archived_column(info, f, self.backend) {
                    self.restore_column(table, f, archived, e);
                    continue;
                }
            }
            let Some(column) = info.column(&f.name) else {
                let not_null = f.required && f.default.is_some();
                added.insert(f.name.as_str(), not_null);
                let mut d = format!("add column {table}.{} ({}", f.name, to.sql_type(self.backend));
                if not_null {
                    d.push_str(&format!(
                        " NOT NULL DEFAULT {}",
                        f.default.as_ref().map(ToString::to_string).unwrap_or_default()
                    ));
                }
                d.push(')');
                if let Some((target, _)) = to.foreign_key() {
                    d.push_str(&format!(" references {target}"));
                }
                if f.required && !not_null {
                    d.push_str("; nullable, as existing records have no value: the API requires it on new writes");
                }
                let action = Action::AddColumn {
                    table: table.clone(),
                    column: f.name.clone(),
                    not_null,
                };
                self.columns.push(Self::step(Safety::Safe, d, action));
                continue;
            };
            let old_field = old.and_then(|o| o.fields.iter().find(|of| of.name == f.name));
            // A decimal column of an older release holds floats: convert it.
            let legacy = self.backend == Backend::Sqlite
                && column.sql_type.eq_ignore_ascii_case("REAL")
                && old_field.unwrap_or(f).field_type.is_decimal();
            if legacy {
                let from = Shape {
                    legacy_real: true,
                    ..Shape::of(old_field.unwrap_or(f))
                };
                self.alter(table, &f.name, from, to);
                continue;
            }
            match old_field {
                Some(of) if Shape::of(of) != to => self.alter(table, &f.name, Shape::of(of), to),
                _ => {
                    let fk_missing = to.foreign_key().is_some() && info.foreign_key(&f.name).is_none();
                    if fk_missing && self.backend == Backend::Postgres {
                        self.add_foreign_key(table, &f.name, e);
                    }
                }
            }
        }
        if let Some(old) = old {
            let mut columns: BTreeSet<String> = info.columns.iter().map(|c| c.name.clone()).collect();
            for of in old
                .fields
                .iter()
                .filter(|of| !e.fields.iter().any(|f| f.name == of.name))
            {
                if info.column(&of.name).is_none() {
                    continue;
                }
                let archived = archive_name(self.release, &of.name, |n| columns.contains(n));
                columns.insert(archived.clone());
                self.archives_col(table, &of.name, archived);
            }
        }
        let desired = desired_indexes(e);
        self.drop_indexes(table, info, &desired);
        for ix in desired
            .into_iter()
            .filter(|ix| !info.indexes.iter().any(|have| have.name == ix.name))
        {
            // A column added without a value is all NULL: no duplicates.
            let all_null = ix.columns.iter().any(|c| added.get(c.as_str()) == Some(&false));
            let check_duplicates = ix.unique && !all_null;
            let (kind, safety, extra) = if ix.unique {
                let extra = if check_duplicates {
                    "; checks for duplicates"
                } else {
                    ""
                };
                (
                    "unique index",
                    if check_duplicates {
                        Safety::Destructive
                    } else {
                        Safety::Safe
                    },
                    extra,
                )
            } else {
                ("index", Safety::Safe, "")
            };
            let live = if ix.unique { " among live records" } else { "" };
            let columns = match ix.folded {
                true => format!("lower({})", ix.columns.join(", ")),
                false => ix.columns.join(", "),
            };
            let description = format!("create {kind} {} on {table} ({columns}){live}{extra}", ix.name);
            let action = Action::CreateIndex {
                table: table.clone(),
                index: ix,
                check_duplicates,
            };
            self.indexes.push(Self::step(safety, description, action));
        }
    }

    fn drop_search(&mut self, table: &str, why: &str) {
        self.drops.push(Self::step(
            Safety::Safe,
            format!("drop the search index of {table} ({why}; derived from the records, nothing is lost)"),
            Action::DropSearch {
                table: table.to_owned(),
            },
        ));
    }

    /// Plans the search structures, after every other step is known: one is
    /// (re)built when the field list changes, when it is missing, or when a
    /// column step could break it (on SQLite any step that may rebuild the
    /// table, which renumbers rowids and drops triggers; on PostgreSQL a
    /// type change of a searched column, which a generated column forbids).
    fn searches(&mut self, old: &Model, new: &Model) {
        for e in new.entities.values() {
            let want: Option<Vec<String>> = e.search_fields().map(|f| f.into_iter().map(str::to_owned).collect());
            let old_e = old.entities.get(&e.name);
            let had: Option<Vec<String>> = old_e
                .and_then(|o| o.search_fields())
                .map(|f| f.into_iter().map(str::to_owned).collect());
            let exists = search::exists(self.catalog, &e.name);
            let touched = self.columns.iter().chain(&self.keys).any(|s| match &s.action {
                Action::AlterColumn { table, column, .. } if *table == e.name => {
                    self.backend == Backend::Sqlite || had.as_ref().is_some_and(|h| h.contains(column))
                }
                Action::ArchiveColumn { table, .. }
                | Action::RestoreColumn { table, .. }
                | Action::AddForeignKey { table, .. } => self.backend == Backend::Sqlite && *table == e.name,
                _ => false,
            });
            let changed = want != had;
            // Built by an older runtime in a shape this one no longer keeps.
            let stale = exists && !search::current(self.catalog, &e.name);
            if exists && (want.is_none() || changed || touched || stale) {
                let why = match (&want, changed) {
                    (None, _) => "no longer searchable",
                    (Some(_), true) => "searched fields changed",
                    (Some(_), false) if touched => "its table changes",
                    (Some(_), false) => "its format changed",
                };
                self.drop_search(&e.name, why);
            }
            let Some(fields) = want else { continue };
            if exists && !changed && !touched && !stale {
                continue;
            }
            let fill = if self.catalog.table(&e.name).is_some() {
                " and fill it from the live records"
            } else {
                ""
            };
            self.searches.push(Self::step(
                Safety::Safe,
                format!(
                    "create the search index of {} over ({}){fill}",
                    e.name,
                    fields.join(", ")
                ),
                Action::CreateSearch {
                    table: e.name.clone(),
                    fields,
                },
            ));
        }
    }

    fn restore_column(&mut self, table: &str, f: &FieldDef, archived: &str, e: &EntityDef) {
        let mut d = format!(
            "restore column {table}.{} from {archived} (field back; its values return)",
            f.name
        );
        if f.required {
            d.push_str("; nullable, as records written meanwhile have no value");
        }
        self.columns.push(Self::step(
            Safety::Safe,
            d,
            Action::RestoreColumn {
                table: table.to_owned(),
                column: f.name.clone(),
                archived: archived.to_owned(),
            },
        ));
        if Shape::of(f).foreign_key().is_some() && self.backend == Backend::Postgres {
            self.add_foreign_key(table, &f.name, e);
        }
    }

    fn archives_col(&mut self, table: &str, column: &str, archived: String) {
        self.columns.push(Self::step(
            Safety::Destructive,
            format!("archive column {table}.{column} as {archived} (field removed; data kept)"),
            Action::ArchiveColumn {
                table: table.to_owned(),
                column: column.to_owned(),
                archived,
            },
        ));
    }

    fn alter(&mut self, table: &str, column: &str, from: Shape, to: Shape) {
        let checks = value_checks(&from, &to);
        let mut changes = Vec::new();
        let type_of = |s: &Shape| Shape {
            required: false,
            on_delete: None,
            ..s.clone()
        };
        if from.legacy_real {
            changes.push("stored exactly as a scaled integer (an older release stored floats)".to_owned());
        }
        if (Shape {
            legacy_real: false,
            ..type_of(&from)
        }) != type_of(&to)
        {
            changes.push(format!("{} -> {}", from.describe(), to.describe()));
        }
        match (from.required, to.required) {
            (false, true) => changes.push("now required".to_owned()),
            (true, false) => changes.push("no longer required".to_owned()),
            _ => {}
        }
        if from.target == to.target && from.on_delete != to.on_delete {
            let show = |o: Option<OnDelete>| on_delete_sql(o.unwrap_or(OnDelete::Restrict)).to_lowercase();
            changes.push(format!("on delete {} -> {}", show(from.on_delete), show(to.on_delete)));
        }
        let mut d = format!("alter column {table}.{column}: {}", changes.join(", "));
        if !checks.is_empty() {
            let list: Vec<String> = checks.iter().map(|c| check_words(c, &from)).collect();
            d.push_str(&format!("; data check: {}", list.join(", ")));
        }
        let safety = if checks.is_empty() {
            Safety::Safe
        } else {
            Safety::Destructive
        };
        let action = Action::AlterColumn {
            table: table.to_owned(),
            column: column.to_owned(),
            from,
            to,
            checks,
        };
        self.columns.push(Self::step(safety, d, action));
    }

    fn drop_indexes(&mut self, table: &str, info: &TableInfo, keep: &[IndexSpec]) {
        for ix in info.indexes.iter().filter(|ix| is_managed_index(&ix.name)) {
            if keep.iter().any(|k| k.name == ix.name) {
                continue;
            }
            self.drops.push(Self::step(
                Safety::Safe,
                format!("drop index {} on {table} ({})", ix.name, ix.columns.join(", ")),
                Action::DropIndex {
                    table: table.to_owned(),
                    name: ix.name.clone(),
                },
            ));
        }
    }
}

/// `RESTRICT` / `SET NULL`.
pub(crate) fn on_delete_sql(o: OnDelete) -> &'static str {
    match o {
        OnDelete::Restrict => "RESTRICT",
        OnDelete::SetNull => "SET NULL",
    }
}

/// A check in words, for step descriptions.
fn check_words(c: &Check, from: &Shape) -> String {
    match c {
        Check::MaxLength { max } => format!("no value longer than {max} characters"),
        Check::Integer => "every value a whole number".to_owned(),
        Check::Number { precision, scale } | Check::Fits { precision, scale } => {
            format!(
                "every value a number with at most {} digits before and {scale} after the point",
                precision.saturating_sub(*scale)
            )
        }
        Check::Whole => "every value a whole number".to_owned(),
        Check::Range { precision, scale } => format!(
            "every value below 10^{} in size (stored exactly from now on, rounded to {scale} decimal places)",
            precision.saturating_sub(*scale)
        ),
        Check::Boolean => "every value true/false, yes/no or 1/0".to_owned(),
        Check::Date => "every value a date YYYY-MM-DD".to_owned(),
        Check::Picklist { picklist } => format!("every value a code of {picklist}"),
        Check::Empty => format!("no stored value (a {} cannot be converted)", from.describe()),
        Check::NotNull => "no record without a value".to_owned(),
    }
}
