//! The load driver: C tasks on the benchmark's runtime send requests to a
//! router in-process (`tower::ServiceExt::oneshot`, no sockets) for a fixed
//! wall time and count the completed operations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use uuid::Uuid;

/// The four operations measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get,
    List,
    Update,
    Create,
}

impl Op {
    pub const ALL: [Op; 4] = [Op::Get, Op::List, Op::Update, Op::Create];

    pub fn label(self) -> &'static str {
        match self {
            Op::Get => "get by id",
            Op::List => "list (city filter, 50 rows)",
            Op::Update => "update (If-Match)",
            Op::Create => "create",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::List => "list",
            Op::Update => "update",
            Op::Create => "create",
        }
    }
}

/// Which implementation a router is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    HandWritten,
    Generic,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::HandWritten => "hand-written",
            Side::Generic => "generic",
        }
    }
}

/// A router and how its URLs look.
pub struct Target {
    pub side: Side,
    pub router: Router,
    /// `Authorization` sent with every request (both sides get the same
    /// header; the hand-written service ignores it).
    pub authorization: Option<HeaderValue>,
}

impl Target {
    fn collection(&self) -> &'static str {
        match self.side {
            Side::HandWritten => "/contacts",
            Side::Generic => "/api/v1/records/contact",
        }
    }

    pub fn record(&self, id: Uuid) -> String {
        format!("{}/{}", self.collection(), id.hyphenated())
    }

    fn list(&self, city: &str) -> String {
        match self.side {
            Side::HandWritten => format!("/contacts?city={city}"),
            Side::Generic => format!("/api/v1/records/contact?city=eq.{city}&sort=full_name&limit=50"),
        }
    }
}

/// What the tasks share: the seeded data and the generators of new data.
pub struct Ctx {
    /// Every seeded contact (targets of reads).
    pub ids: Vec<Uuid>,
    /// The seeded companies (references of new contacts).
    pub companies: Vec<Uuid>,
    /// The cities of the seeded contacts (the list filter).
    pub cities: Vec<&'static str>,
    /// Numbers new contacts.
    pub create_seq: AtomicU64,
    /// Makes the e-mails of this run unique.
    pub nonce: u64,
}

/// The per-task state that lives across rounds.
#[derive(Debug, Clone)]
pub struct TaskState {
    rng: u64,
    /// The records this task updates, with their current row version.
    pub owned: Vec<(Uuid, i64)>,
    next: usize,
}

impl TaskState {
    pub fn new(seed: u64, owned: Vec<(Uuid, i64)>) -> TaskState {
        TaskState {
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            owned,
            next: 0,
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The outcome of one timed run of one side.
#[derive(Debug, Default)]
pub struct RunResult {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latency of every request, in microseconds.
    pub latencies: Vec<u32>,
    /// A few failing responses: status and body.
    pub error_samples: Vec<(u16, String)>,
}

impl RunResult {
    pub fn ops_per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The JSON payload of a contact.
pub fn contact_payload(n: u64, city: &str, email: &str, company: Option<Uuid>) -> Value {
    const FIRST: [&str; 24] = [
        "Wei", "Fang", "Li", "Min", "Jing", "Lei", "Yan", "Hao", "Xin", "Tao", "Mei", "Jun", "Anna", "Lukas", "Sofia",
        "Noah", "Emma", "Liam", "Mia", "Elias", "Hannah", "Paul", "Lea", "Jonas",
    ];
    const LAST: [&str; 24] = [
        "Wang",
        "Li",
        "Zhang",
        "Liu",
        "Chen",
        "Yang",
        "Huang",
        "Zhao",
        "Wu",
        "Zhou",
        "Xu",
        "Sun",
        "Muller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
    ];
    const TITLES: [&str; 8] = [
        "Purchasing Manager",
        "Chief Financial Officer",
        "Head of IT",
        "Sales Director",
        "Project Engineer",
        "Office Manager",
        "Chief Executive Officer",
        "Logistics Coordinator",
    ];
    const DEPARTMENTS: [&str; 6] = ["Purchasing", "Finance", "IT", "Sales", "Engineering", "Operations"];
    const SALUTATIONS: [&str; 4] = ["mr", "ms", "dr", "prof"];
    const CHANNELS: [&str; 6] = ["email", "phone", "mobile", "wechat", "mail", "visit"];
    let pick = |list: &[&'static str], k: u64| list[(k % list.len() as u64) as usize];
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16;
    let mut v = json!({
        "full_name": format!("{} {}", pick(&FIRST, h), pick(&LAST, h / 31)),
        "salutation": pick(&SALUTATIONS, h / 7),
        "job_title": pick(&TITLES, h / 11),
        "department": pick(&DEPARTMENTS, h / 13),
        "email": email,
        "phone": format!("+86 21 {:04} {:04}", h % 10_000, n % 10_000),
        "mobile": format!("+86 13{} {:04} {:04}", h % 10, (h / 10) % 10_000, n % 10_000),
        "preferred_channel": pick(&CHANNELS, h / 17),
        "city": city,
        "birthday": format!("{}-{:02}-{:02}", 1950 + h % 50, 1 + (h / 3) % 12, 1 + (h / 5) % 28),
        "do_not_call": h % 9 == 0,
    });
    if let Some(c) = company {
        v["company"] = json!(c.hyphenated().to_string());
    }
    if h % 3 == 0 {
        v["last_contacted_at"] = json!(format!("2025-{:02}-{:02}T09:30:00Z", 1 + h % 12, 1 + (h / 7) % 28));
    }
    if h % 4 == 0 {
        v["relationship_notes"] = json!(
            "Met at the trade fair in Hannover; decides on the yearly framework contract together with \
             purchasing. Prefers short written summaries after each call."
        );
    }
    v
}

/// Cities of the contacts created during the benchmark: none is a city of
/// the seeded contacts, so creating does not grow the listed pages.
const NEW_CITIES: [&str; 4] = ["Tianjin", "Chongqing", "Qingdao", "Dalian"];

impl Target {
    /// A request to this target.
    pub fn request(&self, method: Method, uri: &str, if_match: Option<i64>, body: Option<Vec<u8>>) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(auth) = &self.authorization {
            b = b.header(header::AUTHORIZATION, auth.clone());
        }
        if let Some(v) = if_match {
            b = b.header(header::IF_MATCH, format!("\"{v}\""));
        }
        let body = match body {
            Some(bytes) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        b.body(body).expect("a valid request")
    }
}

pub async fn call(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let resp = match router.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (status, headers, body)
}

/// The row version of a response: its ETag, else `row_version` in the body.
fn version_of(headers: &HeaderMap, body: &[u8]) -> Option<i64> {
    if let Some(v) = headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        if let Ok(n) = v.trim_matches('"').parse() {
            return Some(n);
        }
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("row_version").and_then(Value::as_i64)
}

/// One task's loop until `deadline`.
async fn task(
    target: Arc<Target>,
    op: Op,
    ctx: Arc<Ctx>,
    mut st: TaskState,
    deadline: Instant,
) -> (RunResult, TaskState) {
    let mut r = RunResult {
        latencies: Vec::with_capacity(16_384),
        ..RunResult::default()
    };
    loop {
        let t0 = Instant::now();
        if t0 >= deadline {
            break;
        }
        let mut updating = None;
        let req = match op {
            Op::Get => {
                let id = ctx.ids[(st.next_rand() % ctx.ids.len() as u64) as usize];
                target.request(Method::GET, &target.record(id), None, None)
            }
            Op::List => {
                let city = ctx.cities[(st.next_rand() % ctx.cities.len() as u64) as usize];
                target.request(Method::GET, &target.list(city), None, None)
            }
            Op::Update => {
                let i = st.next % st.owned.len();
                st.next += 1;
                let (id, version) = st.owned[i];
                updating = Some(i);
                let body = serde_json::to_vec(&json!({ "job_title": format!("Account Manager {}", version + 1) }))
                    .unwrap_or_default();
                target.request(Method::PATCH, &target.record(id), Some(version), Some(body))
            }
            Op::Create => {
                let seq = ctx.create_seq.fetch_add(1, Ordering::Relaxed);
                let email = format!("new{seq}.{}.{}@bench.example.net", target.side.label(), ctx.nonce);
                let city = NEW_CITIES[(seq % NEW_CITIES.len() as u64) as usize];
                let company = ctx
                    .companies
                    .get((st.next_rand() % ctx.companies.len().max(1) as u64) as usize)
                    .copied();
                let body =
                    serde_json::to_vec(&contact_payload(seq + 1_000_000, city, &email, company)).unwrap_or_default();
                target.request(Method::POST, target.collection(), None, Some(body))
            }
        };
        let (status, headers, body) = call(&target.router, req).await;
        r.latencies
            .push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        if status.is_success() {
            r.ok += 1;
            if let Some(i) = updating {
                match version_of(&headers, &body) {
                    Some(v) => st.owned[i].1 = v,
                    None => st.owned[i].1 += 1,
                }
            }
        } else {
            r.errors += 1;
            if r.error_samples.len() < 3 {
                r.error_samples.push((
                    status.as_u16(),
                    String::from_utf8_lossy(&body).chars().take(400).collect(),
                ));
            }
            if let Some(i) = updating {
                // Resynchronise the version (outside the measured count).
                let (id, _) = st.owned[i];
                let (s, h, b) = call(
                    &target.router,
                    target.request(Method::GET, &target.record(id), None, None),
                )
                .await;
                if s.is_success() {
                    if let Some(v) = version_of(&h, &b) {
                        st.owned[i].1 = v;
                    }
                }
            }
        }
    }
    (r, st)
}

/// Runs `op` against `target` with one task per state for `duration`.
pub async fn run(
    target: &Arc<Target>,
    op: Op,
    ctx: &Arc<Ctx>,
    states: Vec<TaskState>,
    duration: Duration,
) -> (RunResult, Vec<TaskState>) {
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = states
        .into_iter()
        .map(|st| tokio::spawn(task(target.clone(), op, ctx.clone(), st, deadline)))
        .collect();
    let mut total = RunResult::default();
    let mut states = Vec::with_capacity(handles.len());
    for h in handles {
        let (r, st) = h.await.expect("a benchmark task panicked");
        total.ok += r.ok;
        total.errors += r.errors;
        total.latencies.extend(r.latencies);
        for s in r.error_samples {
            if total.error_samples.len() < 5 {
                total.error_samples.push(s);
            }
        }
        states.push(st);
    }
    total.elapsed = start.elapsed();
    (total, states)
}
