//! The generator of one entity's demo records: a plan per field (ranges,
//! weighted pick lists, patterns, references, copies from the parent),
//! drawn from a seeded random source so every run gives the same data.

use std::collections::{HashMap, HashSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Number, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{DemoOptions, DemoSize, Needs};
use crate::engine::{CompiledEntity, CompiledModel};
use crate::model::demo::{
    parse_pattern, range_bound, CountRange, DemoEntity, FieldGen, PatternPiece, PicklistGen, SizeCounts, SizeRanges,
    EPOCH_JULIAN_DAY,
};
use crate::model::values::{format_date, format_datetime};
use crate::model::{decimal_shape, FieldDef, FieldType};

/// What later entities need of an entity already generated.
#[derive(Default)]
pub(super) struct Generated {
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

pub(super) struct EntityGen {
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
    pub(super) unique: HashMap<usize, HashSet<String>>,
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

/// What generating one entity's records reads besides its demo item.
pub(super) struct GenContext<'a> {
    pub model: &'a CompiledModel,
    /// The word lists of the release, by name.
    pub lists: &'a HashMap<&'a str, &'a Vec<String>>,
    /// What later entities read of the records generated.
    pub needs: &'a Needs,
    /// The entities generated so far.
    pub done: &'a HashMap<String, Generated>,
    pub options: DemoOptions,
    /// How many records the entity has already (numbers continue from there).
    pub offset: u64,
}

/// Turns a demo item's field generators into plans, for one entity.
struct Planner<'a> {
    ctx: &'a GenContext<'a>,
    de: &'a DemoEntity,
    fields: &'a [FieldDef],
    /// The entity of the parent, when records are made per parent.
    parent: Option<&'a str>,
    today: time::Date,
}

impl Planner<'_> {
    fn pos_of(&self, name: &str) -> Result<usize, String> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| format!("{}: no field `{name}`", self.de.entity))
    }

    /// How field `name` is filled by generator `g`.
    fn field_gen(&self, name: &str, g: &FieldGen) -> Result<Gen, String> {
        let f = &self.fields[self.pos_of(name)?];
        let t = f.field_type;
        let lists = self.ctx.lists;
        let words = |list: &str| lists.get(list).map(|w| (*w).clone()).unwrap_or_default();
        Ok(if let Some(v) = &g.values {
            Gen::Values(v.clone(), g.weights.as_deref().map(cumulative))
        } else if let Some(l) = &g.list {
            Gen::Words(words(l))
        } else if let Some(p) = &g.picklist {
            self.picklist_gen(f, p, g)?
        } else if let Some(n) = &g.name {
            let styles = n
                .styles
                .iter()
                .map(|s| (s.parts.iter().map(|p| words(p)).collect(), s.separator.clone()))
                .collect();
            let weights: Vec<f64> = n.styles.iter().map(|s| s.weight.unwrap_or(1.0)).collect();
            Gen::Name(styles, cumulative(&weights))
        } else if let Some(r) = &g.range {
            let bound =
                |v| range_bound(t, v, self.today).ok_or_else(|| format!("{}.{name}: bad range", self.de.entity));
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
            let matching = g.matching.as_deref().map(|m| self.pos_of(m)).transpose()?;
            Gen::Reference {
                target: r.clone(),
                matching,
            }
        } else if let Some(c) = &g.copy {
            let (via, field) = c
                .split_once('.')
                .ok_or_else(|| format!("{}.{name}: bad copy", self.de.entity))?;
            let (via, source) = if via == "parent" {
                (None, self.parent.unwrap_or_default().to_owned())
            } else {
                let v = self.pos_of(via)?;
                (Some(v), self.fields[v].target.clone().unwrap_or_default())
            };
            Gen::Copy {
                via,
                source,
                field: field.to_owned(),
            }
        } else if let Some(v) = &g.fixed {
            Gen::Fixed(v.clone())
        } else {
            return Err(format!("{}.{name}: no generator", self.de.entity));
        })
    }

    /// A pick-list field: any active code, weighted codes, or weighted codes
    /// that depend on whether the record's date is past or to come.
    fn picklist_gen(&self, f: &FieldDef, p: &PicklistGen, g: &FieldGen) -> Result<Gen, String> {
        let multi = f.field_type == FieldType::MultiPicklist;
        Ok(match (p, &g.upcoming) {
            (PicklistGen::Any(_), _) => {
                let codes = f
                    .picklist
                    .as_ref()
                    .and_then(|n| self.ctx.model.model.picklists.get(n))
                    .map(|l| l.values.iter().filter(|v| v.active).map(|v| v.code.clone()).collect())
                    .unwrap_or_default();
                Gen::Codes(codes, None, multi)
            }
            (PicklistGen::Weights(w), None) => {
                let (codes, cum) = weighted_codes(w);
                Gen::Codes(codes, Some(cum), multi)
            }
            (PicklistGen::Weights(w), Some(u)) => {
                let when = self.pos_of(&u.when)?;
                let after = match self.fields[when].field_type {
                    FieldType::Date => format_date(self.today),
                    _ => format_datetime(OffsetDateTime::now_utc()),
                };
                Gen::Upcoming {
                    past: weighted_codes(w),
                    future: weighted_codes(&u.picklist),
                    when,
                    after,
                }
            }
        })
    }

    /// The plan of every field the item or a default fills.
    fn plans(&self) -> Result<Vec<FieldPlan>, String> {
        let mut plan = Vec::new();
        if let Some(p) = &self.de.parent {
            plan.push(FieldPlan {
                pos: self.pos_of(&p.field)?,
                gen: Gen::Parent,
                null: 0.0,
                max_chars: None,
            });
        }
        for (name, g) in &self.de.fields {
            let pos = self.pos_of(name)?;
            let f = &self.fields[pos];
            plan.push(FieldPlan {
                pos,
                gen: self.field_gen(name, g)?,
                null: g.null.unwrap_or(0.0),
                max_chars: f.max_length.or(f.field_type.default_max_length()).map(|m| m as usize),
            });
        }
        for (pos, f) in self.fields.iter().enumerate() {
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
        Ok(plan)
    }

    /// The named fields of this entity that later entities need (`wanted`),
    /// with their positions.
    fn positions(&self, wanted: &HashMap<String, HashSet<String>>) -> Vec<(usize, String)> {
        wanted
            .get(&self.de.entity)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| Some((self.pos_of(n).ok()?, n.clone())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl DemoSize {
    /// The number of records for this size.
    fn count(self, counts: SizeCounts) -> u64 {
        match self {
            DemoSize::Small => counts.small,
            DemoSize::Medium => counts.medium,
            DemoSize::Large => counts.large,
        }
    }

    /// The children per parent for this size.
    fn range(self, ranges: SizeRanges) -> CountRange {
        match self {
            DemoSize::Small => ranges.small,
            DemoSize::Medium => ranges.medium,
            DemoSize::Large => ranges.large,
        }
    }
}

impl EntityGen {
    /// The generator of `de`'s records, for entity `ce`.
    pub(super) fn build(ctx: &GenContext<'_>, ce: &CompiledEntity, de: &DemoEntity) -> Result<EntityGen, String> {
        let fields = ce.def.fields.clone();
        let options = ctx.options;
        let mut per_parent = None;
        if let Some(p) = &de.parent {
            let pos = fields
                .iter()
                .position(|f| f.name == p.field)
                .ok_or_else(|| format!("{}: no field `{}`", de.entity, p.field))?;
            let target = fields[pos].target.clone().unwrap_or_default();
            let r = options.size.range(p.per_parent);
            per_parent = Some((target, r.min, r.max));
        }
        let planner = Planner {
            ctx,
            de,
            fields: &fields,
            parent: per_parent.as_ref().map(|p: &(String, u32, u32)| p.0.as_str()),
            today: OffsetDateTime::now_utc().date(),
        };
        let plan = planner.plans()?;
        let keep = planner.positions(&ctx.needs.kept);
        let index = planner.positions(&ctx.needs.indexed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(options.seed ^ ctx.offset, &de.entity));
        let parents = match &per_parent {
            None => Vec::new(),
            Some((target, min, max)) => {
                let n = ctx.done.get(target).map_or(0, |g| g.ids.len());
                let mut v = Vec::new();
                for p in 0..n {
                    let k = rng.random_range(*min..=*max);
                    v.extend(std::iter::repeat_n(p as u32, k as usize));
                }
                v
            }
        };
        let count = de.count.map(|c| options.size.count(c));
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
            seq: ctx.offset,
            now_ms,
            unique: HashMap::new(),
            out: Generated::default(),
            keep,
            index,
        })
    }

    pub(super) fn planned_rows(&self, _done: &HashMap<String, Generated>) -> u64 {
        match self.count {
            Some(n) => n,
            None => self.parents.len() as u64,
        }
    }

    pub(super) fn into_generated(self) -> Generated {
        self.out
    }

    /// Makes the next `n` records: id and every field value, in field order.
    pub(super) fn rows(
        &mut self,
        n: usize,
        done: &HashMap<String, Generated>,
    ) -> Result<Vec<(Uuid, Vec<Json>)>, String> {
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
    use super::super::word_lists;
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
            let ctx = GenContext {
                model,
                lists: &lists,
                needs: &needs,
                done: &done,
                options,
                offset: 0,
            };
            let mut g = EntityGen::build(&ctx, ce, de).unwrap();
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
