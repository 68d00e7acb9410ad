//! The values the save suite types into a new record's form: taken from the
//! demo generator of each field (`metadata/demo/`: its values, lists, name
//! parts, pick-list weights, ranges, patterns, references and copies), else
//! from the field's type, so that a new entity gets values without a line
//! here. Chosen deterministically: the most weighted code, the middle of a
//! range, the first word of a list.

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use relata::engine::CompiledModel;
use relata::model::demo::{parse_pattern, DemoEntity, FieldGen, PatternPiece, PicklistGen};
use relata::model::values::{form_operand, format_date, relative_day};
use relata::model::{decimal_shape, EntityDef, FieldDef, FieldType};
use relata_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use time::{Date, Duration};

/// One planned value, as the record API holds it once saved.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Text, long text, e-mail, phone, web address.
    Text(String),
    /// A number, rounded to the field's scale.
    Number(f64),
    /// A checkbox.
    Bool(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    /// A wall-clock time in UTC (the browser's zone in this suite),
    /// `YYYY-MM-DDTHH:MM`.
    Datetime(String),
    /// A pick-list code.
    Code(String),
    /// Multi pick-list codes.
    Codes(Vec<String>),
    /// A record, with its display text (what the picker shows).
    Ref { id: String, label: String },
}

impl Planned {
    /// The value the record API gives back for it.
    pub fn api(&self) -> Value {
        match self {
            Planned::Text(s) | Planned::Date(s) | Planned::Code(s) => json!(s),
            Planned::Number(n) => json!(n),
            Planned::Bool(b) => json!(b),
            Planned::Datetime(s) => json!(format!("{s}:00Z")),
            Planned::Codes(c) => json!(c),
            Planned::Ref { id, .. } => json!(id),
        }
    }

    /// Whether the API's `saved` value is this one.
    pub fn matches(&self, saved: &Value) -> bool {
        match (self, saved) {
            (Planned::Number(n), v) => v.as_f64().is_some_and(|s| (s - n).abs() < 1e-6),
            (Planned::Datetime(s), Value::String(v)) => {
                relata::model::values::parse_datetime(v) == relata::model::values::parse_datetime(&format!("{s}:00Z"))
            }
            (Planned::Codes(c), Value::Array(a)) => {
                let mut a: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
                let mut c: Vec<&str> = c.iter().map(String::as_str).collect();
                a.sort_unstable();
                c.sort_unstable();
                a == c
            }
            (p, v) => &p.api() == v,
        }
    }
}

/// What the planner needs: the app (to pick and read records through the
/// API), the model, a counter for unique values.
pub struct Planner<'a> {
    pub app: &'a TestApp,
    pub model: &'a CompiledModel,
    pub today: Date,
}

/// The demo generator of `entity`, if a demo item fills it, and the named
/// lists of every demo item.
fn demo_of<'m>(model: &'m CompiledModel, entity: &str) -> (Option<&'m DemoEntity>, HashMap<&'m str, &'m [String]>) {
    let mut lists = HashMap::new();
    let mut found = None;
    for d in model.model.demos.values() {
        for (k, v) in &d.lists {
            lists.insert(k.as_str(), v.as_slice());
        }
        found = found.or_else(|| d.entities.iter().find(|e| e.entity == entity));
    }
    (found, lists)
}

/// Whether values of `f` must differ from record to record.
fn is_unique(e: &EntityDef, f: &FieldDef) -> bool {
    f.unique || e.unique.iter().any(|u| u.fields.contains(&f.name))
}

fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if out.is_empty() {
        "user".into()
    } else {
        out
    }
}

fn cut(s: &str, f: &FieldDef) -> String {
    match f.max_length.or(f.field_type.default_max_length()) {
        Some(max) => s.chars().take(max as usize).collect(),
        None => s.to_owned(),
    }
}

fn round_to(f: &FieldDef, n: f64) -> f64 {
    let scale = match f.field_type {
        FieldType::Integer => 0,
        _ => decimal_shape(f).1,
    };
    let p = 10f64.powi(i32::try_from(scale).unwrap_or(2));
    (n * p).round() / p
}

impl Planner<'_> {
    /// Values for every input of `entity`'s form (`inputs`, the field names
    /// the form offers), in the order the demo generator gives them, then
    /// the others by type. `n` makes unique values unique.
    pub async fn plan(&self, entity: &str, inputs: &[String], n: u64) -> Result<Vec<(String, Planned)>> {
        let e = self.model.model.entities.get(entity).context("no such entity")?;
        let (demo, lists) = demo_of(self.model, entity);
        let mut out: Vec<(String, Planned)> = Vec::new();
        let gens: Vec<(&String, &FieldGen)> = demo.map(|d| d.fields.iter().collect()).unwrap_or_default();
        // The parent's reference is filled with a parent, like the demo does.
        let parent_field = demo.and_then(|d| d.parent.as_ref()).map(|p| p.field.as_str());
        let mut order: Vec<(&FieldDef, Option<&FieldGen>)> = Vec::new();
        for (name, g) in &gens {
            if let Some(f) = e.fields.iter().find(|f| &f.name == *name) {
                order.push((f, Some(g)));
            }
        }
        if let Some(pf) = parent_field.and_then(|p| e.fields.iter().find(|f| f.name == p)) {
            if !order.iter().any(|(f, _)| f.name == pf.name) {
                order.insert(0, (pf, None));
            }
        }
        for f in &e.fields {
            if !order.iter().any(|(o, _)| o.name == f.name) {
                order.push((f, None));
            }
        }
        for (f, g) in order {
            if !inputs.contains(&f.name) {
                continue;
            }
            let v = match g {
                Some(g) => self.by_generator(e, (f, g), &lists, &out, parent_field, n).await?,
                None => None,
            };
            let v = match v {
                Some(v) => Some(v),
                None => self.by_type(e, f, &out, n).await?,
            };
            if let Some(v) = v {
                out.push((f.name.clone(), v));
            }
        }
        Ok(out)
    }

    async fn by_generator(
        &self,
        e: &EntityDef,
        (f, g): (&FieldDef, &FieldGen),
        lists: &HashMap<&str, &[String]>,
        planned: &[(String, Planned)],
        parent_field: Option<&str>,
        n: u64,
    ) -> Result<Option<Planned>> {
        let unique = |s: String| if is_unique(e, f) { format!("{s} {n}") } else { s };
        let text = |s: String| Some(self.typed_text(f, unique(s)));
        if let Some(v) = &g.fixed {
            return Ok(self.value_of(f, v));
        }
        if let Some(values) = &g.values {
            // The most weighted value (the first on a tie).
            let weights = g.weights.clone().unwrap_or_default();
            let best = (0..values.len())
                .max_by(|a, b| {
                    let w = |i: &usize| weights.get(*i).copied().unwrap_or(1.0);
                    w(a).total_cmp(&w(b)).then(b.cmp(a))
                })
                .and_then(|i| values.get(i));
            return Ok(best.and_then(|v| self.value_of(f, v)));
        }
        if let Some(list) = &g.list {
            let word = lists.get(list.as_str()).and_then(|l| l.first()).cloned();
            return Ok(word.and_then(text));
        }
        if let Some(name) = &g.name {
            let style = name.styles.first().context("a name generator with no style")?;
            let parts: Vec<String> = style
                .parts
                .iter()
                .filter_map(|p| lists.get(p.as_str()).and_then(|l| l.first()).cloned())
                .collect();
            return Ok(text(parts.join(&style.separator)));
        }
        if let Some(p) = &g.picklist {
            return Ok(self.code(f, Some(p)));
        }
        if let Some(r) = &g.range {
            return Ok(self.middle(f, &r.min, &r.max));
        }
        if let Some(pattern) = &g.pattern {
            let pieces = parse_pattern(pattern).map_err(anyhow::Error::msg)?;
            let mut s = String::new();
            for piece in pieces {
                match piece {
                    PatternPiece::Text(t) => s.push_str(&t),
                    PatternPiece::Seq(w) => s.push_str(&format!("{n:0w$}")),
                    PatternPiece::Digits(k) => s.extend("3141592653589793238462643".chars().cycle().take(k)),
                    PatternPiece::Field { via, name, slug: sl } => {
                        let v = match via {
                            None => match planned.iter().find(|(k, _)| *k == name) {
                                Some((_, Planned::Text(t))) => t.clone(),
                                Some((_, Planned::Ref { label, .. })) => label.clone(),
                                _ => String::new(),
                            },
                            Some(via) => {
                                let field = if via == "parent" {
                                    parent_field.unwrap_or_default()
                                } else {
                                    &via
                                };
                                self.read_through(e, planned, field, &name)
                                    .await?
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned()
                            }
                        };
                        s.push_str(&if sl { slug(&v) } else { v });
                    }
                }
            }
            // A pattern without the sequence number is made unique too.
            return Ok(Some(
                self.typed_text(f, if pattern.contains("{n") { s } else { unique(s) }),
            ));
        }
        if let Some(target) = &g.reference {
            let mut filter: Vec<(String, String)> = Vec::new();
            if let Some(m) = &g.matching {
                if let Some((_, Planned::Ref { id, .. })) = planned.iter().find(|(k, _)| k == m) {
                    filter.push((m.clone(), format!("eq.{id}")));
                }
            }
            return self.reference(f, target, filter, planned).await;
        }
        if let Some(copy) = &g.copy {
            let (via, name) = copy.split_once('.').context("a copy without a dot")?;
            let field = if via == "parent" {
                parent_field.unwrap_or_default()
            } else {
                via
            };
            let v = self.read_through(e, planned, field, name).await?;
            if v.is_null() {
                return Ok(None);
            }
            return match f.field_type {
                FieldType::Reference => {
                    let target = f.target.as_deref().context("a reference's target")?;
                    let id = v.as_str().context("a reference's id")?;
                    Ok(Some(Planned::Ref {
                        id: id.to_owned(),
                        label: self.label_of(target, id).await?,
                    }))
                }
                _ => Ok(self.value_of(f, &v)),
            };
        }
        Ok(None)
    }

    /// A text value as the form keeps it: cut to the field's length; an
    /// e-mail or web address checked for shape by its input.
    fn typed_text(&self, f: &FieldDef, s: String) -> Planned {
        Planned::Text(cut(&s, f))
    }

    fn value_of(&self, f: &FieldDef, v: &Value) -> Option<Planned> {
        Some(match f.field_type {
            FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
                Planned::Number(round_to(f, v.as_f64()?))
            }
            FieldType::Boolean => Planned::Bool(v.as_bool()?),
            FieldType::Date => Planned::Date(v.as_str()?.chars().take(10).collect()),
            FieldType::Datetime => Planned::Datetime(v.as_str()?.chars().take(16).collect()),
            FieldType::Picklist => Planned::Code(v.as_str()?.to_owned()),
            FieldType::MultiPicklist => Planned::Codes(
                v.as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            FieldType::Reference | FieldType::Attachment => return None,
            _ => Planned::Text(cut(v.as_str()?, f)),
        })
    }

    /// The most weighted active code of `f`'s pick list (`any`: the first
    /// active one).
    fn code(&self, f: &FieldDef, g: Option<&PicklistGen>) -> Option<Planned> {
        let list = f.picklist.as_ref().and_then(|p| self.model.model.picklists.get(p))?;
        let active: Vec<&str> = list
            .values
            .iter()
            .filter(|v| v.active)
            .map(|v| v.code.as_str())
            .collect();
        let code = match g {
            Some(PicklistGen::Weights(w)) => w
                .iter()
                .filter(|(c, w)| **w > 0.0 && active.contains(&c.as_str()))
                .fold(None::<(&String, f64)>, |best, (c, w)| match best {
                    Some((_, bw)) if bw >= *w => best,
                    _ => Some((c, *w)),
                })
                .map(|(c, _)| c.clone()),
            _ => active.first().map(|c| (*c).to_owned()),
        }?;
        Some(if f.field_type == FieldType::MultiPicklist {
            Planned::Codes(vec![code])
        } else {
            Planned::Code(code)
        })
    }

    /// The middle of a `range` generator's bounds.
    fn middle(&self, f: &FieldDef, min: &Value, max: &Value) -> Option<Planned> {
        use relata::model::demo::{range_bound, EPOCH_JULIAN_DAY};
        let lo = range_bound(f.field_type, min, self.today)?;
        let hi = range_bound(f.field_type, max, self.today)?;
        let mid = (lo + hi) / 2.0;
        Some(match f.field_type {
            FieldType::Date => Planned::Date(format_date(
                Date::from_julian_day(i32::try_from(mid.floor() as i64).ok()? + EPOCH_JULIAN_DAY).ok()?,
            )),
            FieldType::Datetime => {
                let day =
                    Date::from_julian_day(i32::try_from((mid / 86_400.0).floor() as i64).ok()? + EPOCH_JULIAN_DAY)
                        .ok()?;
                Planned::Datetime(format!("{}T09:30", format_date(day)))
            }
            _ => Planned::Number(round_to(f, mid)),
        })
    }

    /// A value by the field's type alone (no demo generator).
    async fn by_type(
        &self,
        e: &EntityDef,
        f: &FieldDef,
        planned: &[(String, Planned)],
        n: u64,
    ) -> Result<Option<Planned>> {
        let label = f.label.en.clone();
        Ok(match f.field_type {
            FieldType::Text => {
                let s = if is_unique(e, f) { format!("{label} {n}") } else { label };
                Some(Planned::Text(cut(&s, f)))
            }
            FieldType::LongText => Some(Planned::Text(format!("{label}: 保存测试 saved by the suite"))),
            FieldType::Email => Some(Planned::Text(format!("save.{}.{n}@example.com", slug(&f.name)))),
            FieldType::Phone => Some(Planned::Text(format!("+86 138 0000 {:04}", n % 10_000))),
            FieldType::Url => Some(Planned::Text(format!("https://example.com/{n}"))),
            FieldType::Integer | FieldType::Decimal | FieldType::Currency | FieldType::Percent => {
                let lo = f.min.unwrap_or(0.0);
                let hi = f.max.unwrap_or(lo + 100.0);
                Some(Planned::Number(round_to(f, (lo + (hi - lo).min(200.0) / 2.0).max(lo))))
            }
            FieldType::Boolean => Some(Planned::Bool(true)),
            // Dates without a generator come after every date planned so
            // far (an end after its start).
            FieldType::Date | FieldType::Datetime => {
                let latest = planned
                    .iter()
                    .filter_map(|(_, p)| match p {
                        Planned::Date(d) => relata::model::values::parse_date(d),
                        Planned::Datetime(d) => relata::model::values::parse_date(&d[..10]),
                        _ => None,
                    })
                    .max();
                let day = latest.map_or(self.today, |d| d + Duration::days(1));
                Some(if f.field_type == FieldType::Date {
                    Planned::Date(format_date(day))
                } else {
                    Planned::Datetime(format!("{}T10:45", format_date(day)))
                })
            }
            FieldType::Picklist | FieldType::MultiPicklist => self.code(f, None),
            FieldType::Reference => {
                let target = f.target.clone().context("a reference's target")?;
                self.reference(f, &target, Vec::new(), planned).await?
            }
            FieldType::Attachment => None,
        })
    }

    /// A record of `target` the field's picker offers (its `lookup_filter`,
    /// with the values planned for the fields it names), narrowed by
    /// `filter`; a new one when none exists and the field is required.
    async fn reference(
        &self,
        f: &FieldDef,
        target: &str,
        mut filter: Vec<(String, String)>,
        planned: &[(String, Planned)],
    ) -> Result<Option<Planned>> {
        for (k, v) in &f.lookup_filter {
            match form_operand(v) {
                Some((op, field)) => {
                    if let Some((_, Planned::Ref { id, .. })) = planned.iter().find(|(n, _)| n == field) {
                        filter.push((k.clone(), format!("{op}.{id}")));
                    }
                }
                None => filter.push((k.clone(), v.clone())),
            }
        }
        let t = self
            .model
            .model
            .entities
            .get(target)
            .context("a reference to no entity")?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", "1");
        query.append_pair("sort", &t.display_field);
        for (k, v) in &filter {
            query.append_pair(k, v);
        }
        let found = self
            .app
            .get(&format!("/api/v1/records/{target}?{}", query.finish()))
            .await?;
        ensure!(found.status == StatusCode::OK, "listing {target}: {}", found.body);
        let id = match found.body["data"][0]["id"].as_str() {
            Some(id) => id.to_owned(),
            None if f.required && filter.is_empty() => Box::pin(create_record(self.app, self.model, target, 0)).await?,
            None => return Ok(None),
        };
        Ok(Some(Planned::Ref {
            label: self.label_of(target, &id).await?,
            id,
        }))
    }

    /// The display text of a record.
    pub async fn label_of(&self, target: &str, id: &str) -> Result<String> {
        let t = self.model.model.entities.get(target).context("no such entity")?;
        let r = self.app.get(&format!("/api/v1/records/{target}/{id}")).await?;
        ensure!(r.status == StatusCode::OK, "reading {target} {id}: {}", r.body);
        Ok(match &r.body[&t.display_field] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }

    /// `field` of the record the planned reference `via` (a field of `e`)
    /// points to.
    async fn read_through(
        &self,
        e: &EntityDef,
        planned: &[(String, Planned)],
        via: &str,
        field: &str,
    ) -> Result<Value> {
        let Some((_, Planned::Ref { id, .. })) = planned.iter().find(|(k, _)| k == via) else {
            return Ok(Value::Null);
        };
        let target = e
            .fields
            .iter()
            .find(|f| f.name == via)
            .and_then(|f| f.target.clone())
            .context("a copy through no reference")?;
        let r = self.app.get(&format!("/api/v1/records/{target}/{id}")).await?;
        ensure!(r.status == StatusCode::OK, "reading {target} {id}: {}", r.body);
        Ok(r.body[field].clone())
    }
}

/// A record of `entity` with every required field filled in by type, made
/// through the API (for a required reference to an entity with no record).
pub async fn create_record(app: &TestApp, model: &CompiledModel, entity: &str, depth: usize) -> Result<String> {
    create_with(app, model, entity, Map::new(), depth).await
}

async fn create_with(
    app: &TestApp,
    model: &CompiledModel,
    entity: &str,
    mut body: Map<String, Value>,
    depth: usize,
) -> Result<String> {
    ensure!(depth < 8, "references nest too deep to make a {entity}");
    let e = &model.model.entities[entity];
    let given: Vec<String> = body.keys().cloned().collect();
    for f in e
        .fields
        .iter()
        .filter(|f| f.required && f.computed.is_none() && !given.contains(&f.name))
    {
        let value = match f.field_type {
            FieldType::Text | FieldType::LongText | FieldType::Phone => json!(format!("Saved {}", f.name)),
            FieldType::Email => json!(format!("saved.{}@example.com", f.name)),
            FieldType::Url => json!("https://example.com/saved"),
            FieldType::Integer => json!(f.min.unwrap_or(1.0).max(0.0).ceil() as i64),
            FieldType::Decimal | FieldType::Currency | FieldType::Percent => json!(f.min.unwrap_or(1.0).max(0.0)),
            FieldType::Boolean => json!(false),
            FieldType::Date => json!("2026-01-15"),
            FieldType::Datetime => json!("2026-01-15T09:00:00Z"),
            FieldType::Picklist | FieldType::MultiPicklist => {
                let code = f
                    .picklist
                    .as_ref()
                    .and_then(|p| model.model.picklists.get(p))
                    .and_then(|p| p.values.iter().find(|v| v.active))
                    .map(|v| v.code.clone())
                    .context("a pick list with a value")?;
                if f.field_type == FieldType::Picklist {
                    json!(code)
                } else {
                    json!([code])
                }
            }
            FieldType::Reference => {
                let target = f.target.as_deref().context("a reference's target")?;
                let found = app.get(&format!("/api/v1/records/{target}?limit=1")).await?;
                match found.body["data"][0]["id"].as_str() {
                    Some(id) => json!(id),
                    None => json!(Box::pin(create_record(app, model, target, depth + 1)).await?),
                }
            }
            FieldType::Attachment => continue,
        };
        body.insert(f.name.clone(), value);
    }
    let made = app.create(entity, Value::Object(body)).await?;
    Ok(made["id"].as_str().context("the new record's id")?.to_owned())
}

/// `today`'s date in UTC (the suite's browser zone).
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// Relative days (`today-30`) as the demo bounds use them.
#[allow(dead_code)]
pub fn day(s: &str) -> Option<Date> {
    relative_day(s, today())
}
