//! The plan's data: steps, their safety and their actions.

use std::fmt;

use serde::Serialize;

use super::shape::{Check, Shape};

/// The schema change of one release: steps in the order they run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The steps.
    pub steps: Vec<Step>,
}

/// One change to one table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Whether the step can lose or reject a stored value.
    pub safety: Safety,
    /// What it does, for the administrator.
    pub description: String,
    /// What it does, for the machine.
    pub action: Action,
}

/// Whether a step can lose or reject a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    /// It cannot.
    Safe,
    /// It can: archives data, or narrows what a column accepts (then it has
    /// data checks, run by [`super::check_data`]).
    Destructive,
}

/// An index the builder manages. Unique indexes cover live records only
/// (`WHERE deleted_at IS NULL`), so a record in the recycle bin does not
/// block a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexSpec {
    /// The index name (`ix_...` / `ux_...`, `lx_...` when `folded`).
    pub name: String,
    /// The indexed columns.
    pub columns: Vec<String>,
    /// UNIQUE among live records.
    pub unique: bool,
    /// On the lower-cased value of its one text column: what answers a
    /// case-insensitive `starts_with` filter from an index.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub folded: bool,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// Create an entity's table with its keys and indexes.
    CreateTable {
        /// The table.
        table: String,
        /// Reference columns whose foreign key is added by a later
        /// [`Action::AddForeignKey`] (PostgreSQL, target created later).
        deferred_foreign_keys: Vec<String>,
    },
    /// Add a field's column (with its foreign key, if a reference).
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// `NOT NULL DEFAULT <default>`: the field is required and has a default.
        not_null: bool,
    },
    /// Change a column's type, NOT NULL or foreign key.
    AlterColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The old shape.
        from: Shape,
        /// The new shape.
        to: Shape,
        /// The checks of stored values the change needs.
        checks: Vec<Check>,
    },
    /// Rename a removed field's column, keep its data, drop its constraints.
    ArchiveColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its new name.
        archived: String,
    },
    /// Rename a removed entity's table, keep its data, drop its foreign keys.
    ArchiveTable {
        /// The table.
        table: String,
        /// Its new name.
        archived: String,
    },
    /// Bring a table archived by an earlier release back under its entity's
    /// name, with its rows (the entity is in the model again).
    RestoreTable {
        /// The entity's table name.
        table: String,
        /// The archived table's name.
        archived: String,
    },
    /// Bring a column archived by an earlier release back under its field's
    /// name, with its values (the field is in the model again).
    RestoreColumn {
        /// The table.
        table: String,
        /// The field's column name.
        column: String,
        /// The archived column's name.
        archived: String,
    },
    /// Add the foreign key of a reference column.
    AddForeignKey {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// Create an index.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: IndexSpec,
        /// A new unique index on a table with data: duplicates must be counted first.
        check_duplicates: bool,
    },
    /// Drop an index the model no longer asks for.
    DropIndex {
        /// The table.
        table: String,
        /// The index.
        name: String,
    },
    /// Drop the search structure of an entity (derived data: nothing is lost).
    DropSearch {
        /// The table.
        table: String,
    },
    /// Create the search structure of an entity and fill it from the live records.
    CreateSearch {
        /// The table.
        table: String,
        /// The searched columns, display field first.
        fields: Vec<String>,
    },
}

impl Action {
    /// The table the action changes.
    pub fn table(&self) -> &str {
        match self {
            Action::CreateTable { table, .. }
            | Action::AddColumn { table, .. }
            | Action::AlterColumn { table, .. }
            | Action::ArchiveColumn { table, .. }
            | Action::ArchiveTable { table, .. }
            | Action::RestoreTable { table, .. }
            | Action::RestoreColumn { table, .. }
            | Action::AddForeignKey { table, .. }
            | Action::CreateIndex { table, .. }
            | Action::DropIndex { table, .. }
            | Action::DropSearch { table }
            | Action::CreateSearch { table, .. } => table,
        }
    }
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Safety::Safe => "safe",
            Safety::Destructive => "destructive",
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.safety, self.description)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}

impl Step {
    /// A stable id for the step: `s-` and 12 hex digits of the SHA-256 of
    /// its description, so a plan shown to an administrator and the plan
    /// computed again at promotion name the same step the same way.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let hash = hex::encode(Sha256::digest(self.description.as_bytes()));
        format!("s-{}", &hash[..12])
    }
}

impl Plan {
    /// Whether any step is destructive.
    pub fn is_destructive(&self) -> bool {
        self.steps.iter().any(|s| s.safety == Safety::Destructive)
    }
}
