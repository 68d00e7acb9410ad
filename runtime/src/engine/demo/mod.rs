//! Demo data: records generated from the `demo` items of the active release
//! (`relata demo-data`, `relata serve --demo`), deterministic from a seed,
//! written through the bulk path of the entity tables.
//!
//! The generated values are valid by construction (the `demo` items are
//! checked against the entities when the release is applied), so the
//! per-record payload validation is skipped.

mod generate;
mod settle;

use generate::{EntityGen, GenContext, Generated};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use uuid::Uuid;

use super::{CompiledEntity, CompiledModel, Engine};
use crate::model::demo::{parse_pattern, DemoEntity, PatternPiece};
use crate::store::ed::bulk::BulkTx;
use crate::store::ed::records::{Stamp, WriteError};
use crate::store::ed::values::to_sql;
use crate::store::StoreError;

/// The seed used when none is given: the same demo data everywhere.
pub const DEFAULT_SEED: u64 = 20_260_101;

/// How much demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSize {
    /// A few hundred records: what `serve --demo` loads.
    Small,
    /// Tens of thousands of companies, a hundred thousand contacts.
    Medium,
    /// Hundreds of thousands of companies, a million contacts and more.
    Large,
}

impl DemoSize {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DemoSize::Small => "small",
            DemoSize::Medium => "medium",
            DemoSize::Large => "large",
        }
    }
}

/// What to load.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// How much.
    pub size: DemoSize,
    /// The seed of every random choice: the same seed gives the same data.
    pub seed: u64,
    /// Add to entities that already have records (otherwise refused).
    pub force: bool,
    /// Owner, creator and last editor of the records.
    pub owner: Option<Uuid>,
}

/// Reports progress while demo data is written (a terminal progress bar in
/// the command line; nothing in tests).
pub trait DemoProgress: Send + Sync {
    /// An entity starts, with the number of records it will get.
    fn entity(&self, name: &str, rows: u64);
    /// `rows` more records were written.
    fn advance(&self, rows: u64);
    /// The records of `name` are written and `what` is under way (building
    /// the indexes).
    fn stage(&self, _name: &str, _what: &str) {}
}

/// Progress nobody watches.
pub struct NoProgress;

impl DemoProgress for NoProgress {
    fn entity(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What was loaded.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Records written, per entity, in generation order.
    pub entities: Vec<(String, u64)>,
    /// Records written in all.
    pub rows: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl DemoReport {
    /// Records per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why demo data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The active release has no `demo` items.
    #[error("the active release has no demo items (kind: demo)")]
    NoDemo,
    /// Entities already have records and `force` was not given.
    #[error("these entities already have records: {}; nothing was written (use --force to add demo records anyway)", .0.join(", "))]
    NotEmpty(Vec<String>),
    /// The database refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A write failed (e.g. a unique value already taken).
    #[error("writing demo records of `{entity}` failed: {source}")]
    Write {
        /// The entity.
        entity: String,
        /// Why.
        source: WriteError,
    },
    /// Building the indexes or the search index again after the rows of an
    /// entity went in failed (on SQLite: e.g. two records with the value of
    /// a unique field). The entity's load was rolled back, its indexes and
    /// search included; entities loaded before it stay.
    #[error("building the indexes of `{entity}` after loading its demo records failed: {source}; its records were rolled back and its indexes and search are as they were")]
    Rebuild {
        /// The entity.
        entity: String,
        /// Why.
        source: StoreError,
    },
    /// A generator could not be built (a bug: the release was checked).
    #[error("demo item: {0}")]
    Invalid(String),
    /// Saving a loaded record again with its rules failed.
    #[error("saving demo records of `{entity}` with their rules failed: {source}")]
    Settle {
        /// The entity.
        entity: String,
        /// Why.
        source: Box<super::EngineError>,
    },
}

/// Rows generated between two bulk writes.
const CHUNK: usize = 10_000;
/// Rows written between two commits.
const ROWS_PER_COMMIT: u64 = 200_000;

impl Engine {
    /// Loads demo data into the entities the active release's `demo` items name.
    pub async fn load_demo(&self, options: DemoOptions, progress: &dyn DemoProgress) -> Result<DemoReport, DemoError> {
        let started = Instant::now();
        let snapshot = self.snapshot().await;
        let model = snapshot.model.clone();
        let plan: Vec<&DemoEntity> = model.model.demos.values().flat_map(|d| d.entities.iter()).collect();
        if plan.is_empty() {
            return Err(DemoError::NoDemo);
        }
        let pool = &self.dbs.ed;
        let mut existing = HashMap::new();
        let mut busy = Vec::new();
        for de in &plan {
            let ce = entity(&model, &de.entity)?;
            let n = ce.table.count_rows(pool).await?;
            if n > 0 {
                busy.push(format!("{} ({n})", de.entity));
            }
            existing.insert(de.entity.as_str(), n);
        }
        if !busy.is_empty() && !options.force {
            return Err(DemoError::NotEmpty(busy));
        }
        let lists = word_lists(&model);
        let needs = Needs::of(&model, &plan);
        let mut done: HashMap<String, Generated> = HashMap::new();
        let mut report = Vec::new();
        let mut total = 0u64;
        let stamp = Stamp {
            actor: options.owner,
            now: OffsetDateTime::now_utc(),
        };
        for de in &plan {
            let ce = entity(&model, &de.entity)?;
            let offset = existing.get(de.entity.as_str()).copied().unwrap_or_default();
            let mut unique: HashMap<usize, HashSet<String>> = HashMap::new();
            for (i, f) in ce.def.fields.iter().enumerate() {
                let single_group = ce.unique_groups.iter().any(|g| g == &[i]);
                if single_group && f.field_type.is_short_text() {
                    let mut seen = HashSet::new();
                    if offset > 0 {
                        seen.extend(ce.table.text_values(pool, &f.name).await?);
                    }
                    unique.insert(i, seen);
                }
            }
            let ctx = GenContext {
                model: &model,
                lists: &lists,
                needs: &needs,
                done: &done,
                options,
                offset,
            };
            let mut gen = EntityGen::build(&ctx, ce, de).map_err(DemoError::Invalid)?;
            gen.unique = unique;
            let rows = gen.planned_rows(&done);
            progress.entity(&de.entity, rows);
            let mut tx = BulkTx::begin(pool).await?;
            // SQLite: the rows go in without the table's secondary indexes
            // and search structure, which are built from them at the end,
            // in the same transaction (see `BulkTx::set_aside`).
            let full_def = model.model.entities.get(&de.entity).unwrap_or(&ce.def);
            let set_aside = rows > 0 && tx.set_aside(full_def).await?;
            let mut since_commit = 0u64;
            let mut written = 0u64;
            let mut next = match rows {
                0 => None,
                _ => Some(sql_rows(&mut gen, &done, ce, &de.entity, rows.min(CHUNK as u64))?),
            };
            while let Some(chunk) = next.take() {
                let n = chunk.len() as u64;
                let left = rows - written - n;
                // The next chunk is generated while the database writes
                // this one (the write waits on SQLite's own thread or on
                // PostgreSQL), so the two cores both work.
                let insert = ce.table.insert_many(&mut tx, stamp, options.owner, chunk);
                let generate = async {
                    match left {
                        0 => Ok(None),
                        _ => sql_rows(&mut gen, &done, ce, &de.entity, left.min(CHUNK as u64)).map(Some),
                    }
                };
                let (inserted, generated) = tokio::join!(insert, generate);
                inserted.map_err(|source| DemoError::Write {
                    entity: de.entity.clone(),
                    source,
                })?;
                next = generated?;
                written += n;
                since_commit += n;
                progress.advance(n);
                if since_commit >= ROWS_PER_COMMIT {
                    tx.commit_and_continue().await?;
                    since_commit = 0;
                }
            }
            if set_aside {
                progress.stage(&de.entity, "building indexes and search");
                let building = Instant::now();
                tx.rebuild().await.map_err(|source| DemoError::Rebuild {
                    entity: de.entity.clone(),
                    source,
                })?;
                tracing::debug!(entity = %de.entity, seconds = building.elapsed().as_secs_f64(), "indexes and search built");
            }
            tx.commit().await?;
            total += written;
            report.push((de.entity.clone(), written));
            done.insert(de.entity.clone(), gen.into_generated());
        }
        // The planner's statistics describe the tables as they are now.
        crate::store::ed::stats::refresh(pool).await?;
        // Small loads are what a first-time user looks at: their totals and
        // roll-ups are worked out by the rules (see demo_settle.rs).
        if options.size == DemoSize::Small {
            let saved = self.settle_demo(&model, &plan, options.owner, progress).await?;
            tracing::debug!(records = saved, "demo records saved again with their rules");
        }
        drop(snapshot);
        Ok(DemoReport {
            entities: report,
            rows: total,
            elapsed: started.elapsed(),
        })
    }
}

/// The word lists of every demo item, by name.
fn word_lists(model: &CompiledModel) -> HashMap<&str, &Vec<String>> {
    model
        .model
        .demos
        .values()
        .flat_map(|d| d.lists.iter().map(|(k, v)| (k.as_str(), v)))
        .collect()
}

/// Generates the next `n` rows of `gen` as SQL values in column order.
fn sql_rows(
    gen: &mut EntityGen,
    done: &HashMap<String, Generated>,
    ce: &CompiledEntity,
    entity: &str,
    n: u64,
) -> Result<Vec<(Uuid, Vec<sea_query::Value>)>, DemoError> {
    let chunk = gen.rows(n as usize, done).map_err(DemoError::Invalid)?;
    let b = ce.table.backend();
    let mut out = Vec::with_capacity(chunk.len());
    for (id, values) in chunk {
        let mut row = Vec::with_capacity(values.len());
        for (v, f) in values.iter().zip(&ce.def.fields) {
            let col = &ce.table.columns()[ce.column_of(row.len())];
            row.push(to_sql(b, col.kind, v).map_err(|e| DemoError::Invalid(format!("{entity}.{}: {e}", f.name)))?);
        }
        out.push((id, row));
    }
    Ok(out)
}

fn entity<'a>(model: &'a CompiledModel, name: &str) -> Result<&'a Arc<CompiledEntity>, DemoError> {
    model
        .entity(name)
        .ok_or_else(|| DemoError::Invalid(format!("unknown entity `{name}`")))
}

/// Which fields of which entity later entities read (`copy`, `{parent.x}`),
/// and by which reference fields records must be found (`matching`).
#[derive(Default)]
struct Needs {
    kept: HashMap<String, HashSet<String>>,
    indexed: HashMap<String, HashSet<String>>,
}

impl Needs {
    fn of(model: &CompiledModel, plan: &[&DemoEntity]) -> Needs {
        let mut needs = Needs::default();
        for de in plan {
            let Some(ce) = model.entity(&de.entity) else { continue };
            let target_of = |field: &str| -> Option<String> {
                ce.def
                    .fields
                    .iter()
                    .find(|f| f.name == field)
                    .and_then(|f| f.target.clone())
            };
            let parent = de.parent.as_ref().and_then(|p| target_of(&p.field));
            for g in de.fields.values() {
                if let Some((via, name)) = g.copy.as_deref().and_then(|c| c.split_once('.')) {
                    let source = if via == "parent" {
                        parent.clone()
                    } else {
                        target_of(via)
                    };
                    if let Some(s) = source {
                        needs.kept.entry(s).or_default().insert(name.to_owned());
                    }
                }
                if let Some(pieces) = g.pattern.as_deref().and_then(|p| parse_pattern(p).ok()) {
                    for piece in pieces {
                        if let PatternPiece::Field {
                            via: Some(via), name, ..
                        } = piece
                        {
                            let source = if via == "parent" {
                                parent.clone()
                            } else {
                                target_of(&via)
                            };
                            if let Some(s) = source {
                                needs.kept.entry(s).or_default().insert(name);
                            }
                        }
                    }
                }
                if let (Some(r), Some(m)) = (&g.reference, &g.matching) {
                    needs.indexed.entry(r.clone()).or_default().insert(m.clone());
                    needs.kept.entry(r.clone()).or_default().insert(m.clone());
                }
            }
        }
        needs
    }
}
