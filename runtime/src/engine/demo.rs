//! Demo data: records generated from the `demo` items of the active release
//! (`relata demo-data`, `relata serve --demo`), deterministic from a seed,
//! written through the bulk path of the entity tables.
//!
//! The generated values are valid by construction (the `demo` items are
//! checked against the entities when the release is applied), so the
//! per-record payload validation is skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Number, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CompiledEntity, CompiledModel, Engine};
use crate::model::demo::{parse_pattern, range_bound, DemoEntity, PatternPiece, PicklistGen, EPOCH_JULIAN_DAY};
use crate::model::values::{format_date, format_datetime};
use crate::model::{decimal_shape, FieldDef, FieldType};
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
            let mut gen =
                EntityGen::build(&model, ce, de, &lists, &needs, &done, options, offset).map_err(DemoError::Invalid)?;
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
                tracing::info!(entity = %de.entity, seconds = building.elapsed().as_secs_f64(), "indexes and search built");
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
            tracing::info!(records = saved, "demo records saved again with their rules");
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

/// What later entities need of an entity already generated.
#[derive(Default)]
struct Generated {
    ids: Vec<Uuid>,
    /// Kept field values, by field name, one per record.
    kept: HashMap<String, Vec<Json>>,
    /// For `matching`: record positions by the id a reference field holds.
    index: HashMap<String, HashMap<Uuid, Vec<u32>>>,
}

/// How one field gets its value.
enum Gen {
    Values(Vec<Json>, Option<Vec<f64>>),
    Words(Vec<String>),
    Codes(Vec<String>, Option<Vec<f64>>, bool),
    /// Codes by weights, others when the field at `when` is later than
    /// `after` (today's date or now, formatted as the field stores it, so
    /// the texts compare in time order).
    Upcoming {
        past: (Vec<String>, Vec<f64>),
        future: (Vec<String>, Vec<f64>),
        when: usize,
        after: String,
    },
    Name(Vec<(Vec<Vec<String>>, String)>, Vec<f64>),
    Int(i64, i64),
    Dec(f64, f64, u32),
    Date(i64, i64),
    Datetime(i64, i64),
    Pattern(Vec<PatternPiece>),
    Reference {
        target: String,
        matching: Option<usize>,
    },
    Copy {
        via: Option<usize>,
        source: String,
        field: String,
    },
    Fixed(Json),
    Parent,
    Default(Json),
}

struct FieldPlan {
    pos: usize,
    gen: Gen,
    null: f64,
    max_chars: Option<usize>,
}

struct EntityGen {
    name: String,
    fields: Vec<FieldDef>,
    plan: Vec<FieldPlan>,
    rng: ChaCha8Rng,
    count: Option<u64>,
    /// Children per parent: (parent entity, min, max).
    per_parent: Option<(String, u32, u32)>,
    /// The parent of each record to come, when per parent (drawn up front).
    parents: Vec<u32>,
    next_parent: usize,
    seq: u64,
    now_ms: u64,
    unique: HashMap<usize, HashSet<String>>,
    out: Generated,
    keep: Vec<(usize, String)>,
    index: Vec<(usize, String)>,
}

fn seed_for(seed: u64, entity: &str) -> u64 {
    // FNV-1a of the entity name, mixed with the seed: each entity has its
    // own stream, so adding an entity does not change the others' data.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in entity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

/// The codes of weights by code, and their cumulative weights.
fn weighted_codes(w: &indexmap::IndexMap<String, f64>) -> (Vec<String>, Vec<f64>) {
    let weights: Vec<f64> = w.values().copied().collect();
    (w.keys().cloned().collect(), cumulative(&weights))
}

fn pick_weighted(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cum.iter().position(|c| x < *c).unwrap_or(cum.len().saturating_sub(1))
}

impl EntityGen {
    #[allow(clippy::too_many_arguments)]
    fn build(
        model: &CompiledModel,
        ce: &CompiledEntity,
        de: &DemoEntity,
        lists: &HashMap<&str, &Vec<String>>,
        needs: &Needs,
        done: &HashMap<String, Generated>,
        options: DemoOptions,
        offset: u64,
    ) -> Result<EntityGen, String> {
        let fields = ce.def.fields.clone();
        let pos_of = |name: &str| {
            fields
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| format!("{}: no field `{name}`", de.entity))
        };
        let today = OffsetDateTime::now_utc().date();
        let mut plan = Vec::new();
        let mut per_parent = None;
        if let Some(p) = &de.parent {
            let pos = pos_of(&p.field)?;
            let target = fields[pos].target.clone().unwrap_or_default();
            let r = match options.size {
                DemoSize::Small => p.per_parent.small,
                DemoSize::Medium => p.per_parent.medium,
                DemoSize::Large => p.per_parent.large,
            };
            per_parent = Some((target, r.min, r.max));
            plan.push(FieldPlan {
                pos,
                gen: Gen::Parent,
                null: 0.0,
                max_chars: None,
            });
        }
        for (name, g) in &de.fields {
            let pos = pos_of(name)?;
            let f = &fields[pos];
            let t = f.field_type;
            let gen = if let Some(v) = &g.values {
                Gen::Values(v.clone(), g.weights.as_deref().map(cumulative))
            } else if let Some(l) = &g.list {
                Gen::Words(lists.get(l.as_str()).map(|w| (*w).clone()).unwrap_or_default())
            } else if let Some(p) = &g.picklist {
                let multi = t == FieldType::MultiPicklist;
                match p {
                    PicklistGen::Any(_) => {
                        let codes = f
                            .picklist
                            .as_ref()
                            .and_then(|n| model.model.picklists.get(n))
                            .map(|l| l.values.iter().filter(|v| v.active).map(|v| v.code.clone()).collect())
                            .unwrap_or_default();
                        Gen::Codes(codes, None, multi)
                    }
                    PicklistGen::Weights(w) => match &g.upcoming {
                        None => {
                            let (codes, cum) = weighted_codes(w);
                            Gen::Codes(codes, Some(cum), multi)
                        }
                        Some(u) => {
                            let when = pos_of(&u.when)?;
                            let after = match fields[when].field_type {
                                FieldType::Date => format_date(today),
                                _ => format_datetime(OffsetDateTime::now_utc()),
                            };
                            Gen::Upcoming {
                                past: weighted_codes(w),
                                future: weighted_codes(&u.picklist),
                                when,
                                after,
                            }
                        }
                    },
                }
            } else if let Some(n) = &g.name {
                let styles = n
                    .styles
                    .iter()
                    .map(|s| {
                        let parts = s
                            .parts
                            .iter()
                            .map(|p| lists.get(p.as_str()).map(|w| (*w).clone()).unwrap_or_default())
                            .collect();
                        (parts, s.separator.clone())
                    })
                    .collect();
                let weights: Vec<f64> = n.styles.iter().map(|s| s.weight.unwrap_or(1.0)).collect();
                Gen::Name(styles, cumulative(&weights))
            } else if let Some(r) = &g.range {
                let bound = |v| range_bound(t, v, today).ok_or_else(|| format!("{}.{name}: bad range", de.entity));
                let (min, max) = (bound(&r.min)?, bound(&r.max)?);
                match t {
                    FieldType::Integer => Gen::Int(min as i64, max as i64),
                    FieldType::Date => Gen::Date(min as i64, max as i64),
                    FieldType::Datetime => Gen::Datetime(min as i64, max as i64),
                    _ => Gen::Dec(min, max, decimal_shape(f).1),
                }
            } else if let Some(p) = &g.pattern {
                Gen::Pattern(parse_pattern(p)?)
            } else if let Some(r) = &g.reference {
                let matching = g.matching.as_deref().map(pos_of).transpose()?;
                Gen::Reference {
                    target: r.clone(),
                    matching,
                }
            } else if let Some(c) = &g.copy {
                let (via, field) = c
                    .split_once('.')
                    .ok_or_else(|| format!("{}.{name}: bad copy", de.entity))?;
                let (via, source) = if via == "parent" {
                    (None, per_parent.as_ref().map(|p| p.0.clone()).unwrap_or_default())
                } else {
                    let v = pos_of(via)?;
                    (Some(v), fields[v].target.clone().unwrap_or_default())
                };
                Gen::Copy {
                    via,
                    source,
                    field: field.to_owned(),
                }
            } else if let Some(v) = &g.fixed {
                Gen::Fixed(v.clone())
            } else {
                return Err(format!("{}.{name}: no generator", de.entity));
            };
            plan.push(FieldPlan {
                pos,
                gen,
                null: g.null.unwrap_or(0.0),
                max_chars: f.max_length.or(t.default_max_length()).map(|m| m as usize),
            });
        }
        for (pos, f) in fields.iter().enumerate() {
            if let Some(d) = &f.default {
                if !plan.iter().any(|p| p.pos == pos) {
                    plan.push(FieldPlan {
                        pos,
                        gen: Gen::Default(d.clone()),
                        null: 0.0,
                        max_chars: None,
                    });
                }
            }
        }
        // The named fields of this entity that later entities need, with
        // their positions.
        let positions = |wanted: &HashMap<String, HashSet<String>>| {
            wanted
                .get(&de.entity)
                .map(|names: &HashSet<String>| {
                    names
                        .iter()
                        .filter_map(|n| Some((pos_of(n).ok()?, n.clone())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let keep = positions(&needs.kept);
        let index = positions(&needs.indexed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(options.seed ^ offset, &de.entity));
        let parents = match &per_parent {
            None => Vec::new(),
            Some((target, min, max)) => {
                let n = done.get(target).map_or(0, |g| g.ids.len());
                let mut v = Vec::new();
                for p in 0..n {
                    let k = rng.random_range(*min..=*max);
                    v.extend(std::iter::repeat_n(p as u32, k as usize));
                }
                v
            }
        };
        let count = de.count.map(|c| match options.size {
            DemoSize::Small => c.small,
            DemoSize::Medium => c.medium,
            DemoSize::Large => c.large,
        });
        let now_ms = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
        Ok(EntityGen {
            name: de.entity.clone(),
            fields,
            plan,
            rng,
            count,
            per_parent,
            parents,
            next_parent: 0,
            seq: offset,
            now_ms,
            unique: HashMap::new(),
            out: Generated::default(),
            keep,
            index,
        })
    }

    fn planned_rows(&self, _done: &HashMap<String, Generated>) -> u64 {
        match self.count {
            Some(n) => n,
            None => self.parents.len() as u64,
        }
    }

    fn into_generated(self) -> Generated {
        self.out
    }

    /// Makes the next `n` records: id and every field value, in field order.
    fn rows(&mut self, n: usize, done: &HashMap<String, Generated>) -> Result<Vec<(Uuid, Vec<Json>)>, String> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.row(done)?);
        }
        Ok(out)
    }

    fn row(&mut self, done: &HashMap<String, Generated>) -> Result<(Uuid, Vec<Json>), String> {
        self.seq += 1;
        let mut bytes = [0u8; 10];
        self.rng.fill(&mut bytes);
        // UUIDv7: the time of the load, then random bits from the seeded stream.
        let id = uuid::Builder::from_unix_timestamp_millis(self.now_ms, &bytes).into_uuid();
        let me = self.out.ids.len() as u32;
        let mut values = vec![Json::Null; self.fields.len()];
        let mut refs: Vec<Option<u32>> = vec![None; self.fields.len()];
        let parent = if self.per_parent.is_some() {
            let p = self.parents.get(self.next_parent).copied();
            self.next_parent += 1;
            p
        } else {
            None
        };
        for i in 0..self.plan.len() {
            let (pos, null, max_chars) = (self.plan[i].pos, self.plan[i].null, self.plan[i].max_chars);
            if null > 0.0 && self.rng.random::<f64>() < null {
                continue;
            }
            let v = self.value(i, &values, &mut refs, parent, done)?;
            let v = match (v, max_chars) {
                (Json::String(s), Some(m)) if s.chars().count() > m => Json::String(s.chars().take(m).collect()),
                (v, _) => v,
            };
            values[pos] = v;
        }
        for (pos, seen) in &mut self.unique {
            if let Json::String(s) = &values[*pos] {
                if !seen.insert(s.clone()) {
                    let suffix = format!(" {}", self.seq);
                    let max = self.fields[*pos]
                        .max_length
                        .or(self.fields[*pos].field_type.default_max_length())
                        .unwrap_or(255) as usize;
                    let base: String = s.chars().take(max.saturating_sub(suffix.chars().count())).collect();
                    let unique = format!("{base}{suffix}");
                    seen.insert(unique.clone());
                    values[*pos] = Json::String(unique);
                }
            }
        }
        for (pos, name) in &self.keep {
            self.out
                .kept
                .entry(name.clone())
                .or_default()
                .push(values[*pos].clone());
        }
        for (pos, name) in &self.index {
            if let Some(u) = values[*pos].as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                self.out
                    .index
                    .entry(name.clone())
                    .or_default()
                    .entry(u)
                    .or_default()
                    .push(me);
            }
        }
        self.out.ids.push(id);
        Ok((id, values))
    }

    fn value(
        &mut self,
        i: usize,
        values: &[Json],
        refs: &mut [Option<u32>],
        parent: Option<u32>,
        done: &HashMap<String, Generated>,
    ) -> Result<Json, String> {
        let pos = self.plan[i].pos;
        let rng = &mut self.rng;
        Ok(match &self.plan[i].gen {
            Gen::Values(vals, cum) => {
                let k = match cum {
                    Some(c) => pick_weighted(rng, c),
                    None => rng.random_range(0..vals.len()),
                };
                vals[k].clone()
            }
            Gen::Words(w) => Json::String(w[rng.random_range(0..w.len())].clone()),
            Gen::Codes(codes, cum, multi) => {
                if codes.is_empty() {
                    return Ok(Json::Null);
                }
                let k = match cum {
                    Some(c) => pick_weighted(rng, c),
                    None => rng.random_range(0..codes.len()),
                };
                let code = Json::String(codes[k].clone());
                if *multi {
                    Json::Array(vec![code])
                } else {
                    code
                }
            }
            Gen::Upcoming {
                past,
                future,
                when,
                after,
            } => {
                let later = values[*when].as_str().is_some_and(|v| v > after.as_str());
                let (codes, cum) = if later { future } else { past };
                match codes.is_empty() {
                    true => Json::Null,
                    false => Json::String(codes[pick_weighted(rng, cum)].clone()),
                }
            }
            Gen::Name(styles, cum) => {
                let (parts, sep) = &styles[pick_weighted(rng, cum)];
                let words: Vec<&str> = parts.iter().map(|p| p[rng.random_range(0..p.len())].as_str()).collect();
                Json::String(words.join(sep))
            }
            Gen::Int(a, b) => Json::from(rng.random_range(*a..=*b)),
            Gen::Dec(a, b, scale) => {
                let x = a + rng.random::<f64>() * (b - a);
                let m = 10f64.powi(i32::try_from(*scale).unwrap_or(2));
                let x = ((x * m).round() / m).clamp(*a, *b);
                Number::from_f64(x).map_or(Json::Null, Json::Number)
            }
            Gen::Date(a, b) => {
                let d = rng.random_range(*a..=*b);
                let day = time::Date::from_julian_day(i32::try_from(d).unwrap_or(0) + EPOCH_JULIAN_DAY)
                    .map_err(|e| e.to_string())?;
                Json::String(format_date(day))
            }
            Gen::Datetime(a, b) => {
                let s = rng.random_range(*a..=*b);
                let t = OffsetDateTime::from_unix_timestamp(s).map_err(|e| e.to_string())?;
                Json::String(format_datetime(t))
            }
            Gen::Pattern(pieces) => {
                let mut s = String::new();
                for piece in pieces {
                    match piece {
                        PatternPiece::Text(t) => s.push_str(t),
                        PatternPiece::Seq(w) => s.push_str(&format!("{:0w$}", self.seq, w = *w)),
                        PatternPiece::Digits(k) => {
                            for _ in 0..*k {
                                s.push(char::from(b'0' + rng.random_range(0..10u8)));
                            }
                        }
                        PatternPiece::Field { via, name, slug } => {
                            let v = match via {
                                None => self
                                    .fields
                                    .iter()
                                    .position(|f| &f.name == name)
                                    .map_or(Json::Null, |p| values[p].clone()),
                                Some(via) => {
                                    let (at, target) = if via == "parent" {
                                        (
                                            parent,
                                            self.per_parent.as_ref().map(|p| p.0.clone()).unwrap_or_default(),
                                        )
                                    } else {
                                        let p = self.fields.iter().position(|f| &f.name == via);
                                        (
                                            p.and_then(|p| refs[p]),
                                            p.and_then(|p| self.fields[p].target.clone()).unwrap_or_default(),
                                        )
                                    };
                                    let g = if target == self.name {
                                        Some(&self.out)
                                    } else {
                                        done.get(&target)
                                    };
                                    at.and_then(|k| g?.kept.get(name)?.get(k as usize))
                                        .cloned()
                                        .unwrap_or(Json::Null)
                                }
                            };
                            let text = match &v {
                                Json::String(t) => t.clone(),
                                Json::Null => String::new(),
                                other => other.to_string(),
                            };
                            if *slug {
                                let sl = slugify(&text);
                                s.push_str(if sl.is_empty() { "user" } else { &sl });
                            } else {
                                s.push_str(&text);
                            }
                        }
                    }
                }
                Json::String(s)
            }
            Gen::Parent => {
                let target = self.per_parent.as_ref().map(|p| p.0.clone()).unwrap_or_default();
                let Some(p) = parent else { return Ok(Json::Null) };
                refs[pos] = Some(p);
                let g = if target == self.name {
                    Some(&self.out)
                } else {
                    done.get(&target)
                };
                g.and_then(|g| g.ids.get(p as usize))
                    .map_or(Json::Null, |id| Json::String(id.hyphenated().to_string()))
            }
            Gen::Reference { target, matching } => {
                let g = if *target == self.name {
                    Some(&self.out)
                } else {
                    done.get(target)
                };
                let Some(g) = g else { return Ok(Json::Null) };
                let candidates: Option<&Vec<u32>> = match matching {
                    Some(m) => {
                        let key = values[*m].as_str().and_then(|s| Uuid::parse_str(s).ok());
                        let name = &self.fields[*m].name;
                        match key.and_then(|k| g.index.get(name)?.get(&k)) {
                            Some(c) => Some(c),
                            None => return Ok(Json::Null),
                        }
                    }
                    None => None,
                };
                let k = match candidates {
                    Some(c) if c.is_empty() => return Ok(Json::Null),
                    Some(c) => c[rng.random_range(0..c.len())],
                    None if g.ids.is_empty() => return Ok(Json::Null),
                    None => rng.random_range(0..g.ids.len()) as u32,
                };
                refs[pos] = Some(k);
                Json::String(g.ids[k as usize].hyphenated().to_string())
            }
            Gen::Copy { via, source, field } => {
                let at = match via {
                    None => parent,
                    Some(v) => refs[*v],
                };
                let g = if *source == self.name {
                    Some(&self.out)
                } else {
                    done.get(source)
                };
                at.and_then(|k| g?.kept.get(field)?.get(k as usize))
                    .cloned()
                    .unwrap_or(Json::Null)
            }
            Gen::Fixed(v) | Gen::Default(v) => v.clone(),
        })
    }
}

/// Lower-case ASCII letters and digits of a text (`Zhang Wei` -> `zhangwei`).
pub fn slugify(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{load_files, SourceFile};
    use crate::store::Backend;

    const PACKAGE: &[(&str, &str)] = &[
        (
            "org.yaml",
            "version: 1\nkind: entity\nname: org\nlabel: {en: Org, zh-CN: 组织}\nplural_label: {en: Orgs, zh-CN: 组织}\ndisplay_field: name\nfields:\n  - {name: name, type: text, required: true, unique: true, max_length: 12, label: {en: Name, zh-CN: 名称}}\n  - {name: city, type: text, label: {en: City, zh-CN: 城市}}\n  - {name: size, type: integer, min: 1, max: 9, label: {en: Size, zh-CN: 规模}}\n  - {name: rating, type: picklist, picklist: rating, label: {en: Rating, zh-CN: 评级}}\n  - {name: founded, type: date, label: {en: Founded, zh-CN: 成立}}\n  - {name: revenue, type: currency, label: {en: Revenue, zh-CN: 收入}}\n  - {name: active, type: boolean, default: true, label: {en: Active, zh-CN: 有效}}\n",
        ),
        (
            "rating.yaml",
            "version: 1\nkind: picklist\nname: rating\nlabel: {en: Rating, zh-CN: 评级}\nvalues:\n  - {code: good, label: {en: Good, zh-CN: 好}}\n  - {code: bad, label: {en: Bad, zh-CN: 差}}\n",
        ),
        (
            "person.yaml",
            "version: 1\nkind: entity\nname: person\nlabel: {en: Person, zh-CN: 人}\nplural_label: {en: People, zh-CN: 人}\ndisplay_field: full_name\nfields:\n  - {name: full_name, type: text, required: true, label: {en: Name, zh-CN: 姓名}}\n  - {name: org, type: reference, target: org, label: {en: Org, zh-CN: 组织}}\n  - {name: city, type: text, label: {en: City, zh-CN: 城市}}\n  - {name: email, type: email, label: {en: E-mail, zh-CN: 邮箱}}\n  - {name: buddy, type: reference, target: person, label: {en: Buddy, zh-CN: 伙伴}}\n",
        ),
        (
            "demo.yaml",
            "version: 1\nkind: demo\nname: d\nlists:\n  surname: [王, 李]\n  given: [伟, 芳]\n  first: [Ann, Bob]\n  last: [Lee, Kay]\n  city: [上海, London]\nentities:\n  - entity: org\n    count: {small: 30, medium: 2, large: 3}\n    fields:\n      name: {list: city}\n      city: {list: city}\n      size: {range: {min: 2, max: 4}}\n      rating: {picklist: {good: 1, bad: 0}}\n      founded: {range: {min: '2020-01-01', max: '2020-01-31'}}\n      revenue: {range: {min: 1, max: 2}, null: 0.5}\n  - entity: person\n    parent: {field: org, per_parent: {small: {min: 1, max: 3}, medium: {min: 1, max: 1}, large: {min: 1, max: 1}}}\n    fields:\n      full_name: {name: {styles: [{parts: [surname, given]}, {parts: [first, last], separator: ' '}]}}\n      city: {copy: parent.city}\n      email: {pattern: '{full_name|slug}.{n:3}@{parent.name|slug}.example'}\n      buddy: {reference: person, matching: org}\n",
        ),
    ];

    fn model() -> CompiledModel {
        let files: Vec<SourceFile> = PACKAGE
            .iter()
            .map(|(p, t)| SourceFile {
                path: (*p).into(),
                text: (*t).into(),
            })
            .collect();
        let (m, _) = load_files(&files).unwrap();
        CompiledModel::compile(
            m,
            1,
            String::new(),
            Backend::Sqlite,
            crate::engine::rules::RuleSet::new(),
        )
        .unwrap()
    }

    /// Generates every demo entity in memory, as `load_demo` does.
    fn generate(model: &CompiledModel, seed: u64) -> Vec<(String, Vec<Vec<Json>>)> {
        let plan: Vec<&DemoEntity> = model.model.demos.values().flat_map(|d| d.entities.iter()).collect();
        let lists = word_lists(model);
        let needs = Needs::of(model, &plan);
        let options = DemoOptions {
            size: DemoSize::Small,
            seed,
            force: false,
            owner: None,
        };
        let mut done = HashMap::new();
        let mut out = Vec::new();
        for de in plan {
            let ce = model.entity(&de.entity).unwrap();
            let mut g = EntityGen::build(model, ce, de, &lists, &needs, &done, options, 0).unwrap();
            if de.entity == "org" {
                g.unique.insert(0, HashSet::new());
            }
            // Ids carry the time of the load; fix it to compare runs.
            g.now_ms = 1;
            let n = g.planned_rows(&done) as usize;
            // The id goes last, for the tests to follow references.
            let rows = g
                .rows(n, &done)
                .unwrap()
                .into_iter()
                .map(|(id, mut v)| {
                    v.push(Json::String(id.hyphenated().to_string()));
                    v
                })
                .collect();
            out.push((de.entity.clone(), rows));
            done.insert(de.entity.clone(), g.into_generated());
        }
        out
    }

    #[test]
    fn generators_fill_fields_within_their_bounds() {
        let m = model();
        let data = generate(&m, 1);
        let (_, orgs) = &data[0];
        assert_eq!(orgs.len(), 30);
        let mut names = HashSet::new();
        for o in orgs {
            let name = o[0].as_str().unwrap();
            assert!(names.insert(name.to_owned()), "unique names: {name} twice");
            assert!(name.chars().count() <= 12, "{name} is longer than max_length");
            assert!(["上海", "London"].contains(&o[1].as_str().unwrap()));
            assert!((2..=4).contains(&o[2].as_i64().unwrap()));
            assert_eq!(o[3], "good", "weight 0 is never picked");
            let d = o[4].as_str().unwrap();
            assert!(("2020-01-01"..="2020-01-31").contains(&d), "{d}");
            assert!(o[5].is_null() || (1.0..=2.0).contains(&o[5].as_f64().unwrap()));
            assert_eq!(o[6], true, "defaults fill fields without a generator");
        }
        assert!(orgs.iter().any(|o| o[5].is_null()) && orgs.iter().any(|o| !o[5].is_null()));
        let (_, people) = &data[1];
        assert!((30..=90).contains(&people.len()), "{}", people.len());
        let mut cn = 0;
        for (i, p) in people.iter().enumerate() {
            let name = p[0].as_str().unwrap();
            if !name.is_ascii() {
                cn += 1;
                assert_eq!(name.chars().count(), 2, "{name}");
            } else {
                assert!(name.contains(' '), "{name}");
            }
            let org = p[1].as_str().unwrap();
            assert_eq!(p[1].as_str().map(str::len), Some(36), "the parent's id");
            let email = p[3].as_str().unwrap();
            assert!(email.contains(&format!(".{:03}@", i + 1)), "{email}");
            let _ = org;
        }
        assert!(cn > 0 && cn < people.len(), "Chinese and English names mixed");
    }

    #[test]
    fn children_copy_their_parent_and_match_references() {
        let m = model();
        let data = generate(&m, 3);
        let (_, people) = &data[1];
        // People are generated parent by parent: the city follows the org.
        let mut by_org: HashMap<&str, Vec<&Vec<Json>>> = HashMap::new();
        for p in people {
            by_org.entry(p[1].as_str().unwrap()).or_default().push(p);
        }
        for group in by_org.values() {
            let city = &group[0][2];
            assert!(group.iter().all(|p| &p[2] == city));
        }
        assert!(people.iter().any(|p| !p[4].is_null()), "some buddies");
        // A buddy (`matching: org`) works for the same org.
        let org_of: HashMap<&str, &Json> = people.iter().map(|p| (p[5].as_str().unwrap(), &p[1])).collect();
        for p in people {
            if let Some(b) = p[4].as_str() {
                assert_eq!(org_of[b], &p[1]);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_values() {
        let m = model();
        assert_eq!(generate(&m, 5), generate(&m, 5));
        assert_ne!(generate(&m, 5), generate(&m, 6));
    }

    #[test]
    fn weights_and_slugs() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let cum = cumulative(&[1.0, 0.0, 3.0]);
        let mut hits = [0; 3];
        for _ in 0..4000 {
            hits[pick_weighted(&mut rng, &cum)] += 1;
        }
        assert_eq!(hits[1], 0);
        assert!((2700..3300).contains(&hits[2]), "{hits:?}");
        assert_eq!(slugify("Zhang Wei-2"), "zhangwei2");
        assert_eq!(slugify("王伟"), "");
        assert_ne!(seed_for(1, "a"), seed_for(1, "b"));
    }
}
