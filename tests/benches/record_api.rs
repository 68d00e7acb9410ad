//! Throughput of Relata's generic, metadata-driven record API against a
//! hand-written axum + sqlx service for the same `contact` table, on SQLite
//! and on PostgreSQL, in the same run.
//!
//! Both routers are driven in-process (`tower::ServiceExt::oneshot`, no
//! sockets), so the numbers are handler + database cost. For each operation
//! the two sides alternate for a few rounds (ABBA: hand-written, generic,
//! generic, hand-written, ...) and the median of each is reported, so that drift (a growing
//! table, a warming cache) affects both alike. The ratio is hand-written
//! ops/s divided by generic ops/s, taken per round (the two sides of a
//! round run back to back, so a change of the machine's load between rounds
//! cancels out) and reported as the median of the rounds; the target is at
//! most 1.30.
//!
//! This is a measurement, not a test: it prints a table and never asserts.
//!
//! Settings (environment):
//! - `RELATA_BENCH_SECONDS` (default 2): wall time of each timed run;
//! - `RELATA_BENCH_BACKENDS` (default `sqlite,postgres`);
//! - `RELATA_BENCH_ROUNDS` (default 5): timed runs per side and operation;
//! - `RELATA_BENCH_OPS` (default `get,list,update,create`);
//! - `RELATA_BENCH_CONTACTS` (default 5000): contacts seeded per backend;
//! - `RELATA_BENCH_TASKS` (default 16): concurrent request tasks;
//! - `RELATA_BENCH_SIDES` (default `hand,generic`): the sides to run; one
//!   side alone gives no ratio, but a clean profile of that side (e.g. under
//!   `valgrind --tool=callgrind` or `perf record`).
//!
//! The stock package is applied with the contact's rules (`on_new`, `validate`) unbound
//! (the cost of rules is `rules_cost`'s subject).
//!
//! Run: `cargo bench -p relata-tests --bench record_api`. The table is also
//! written to `$CARGO_TARGET_DIR/bench-record-api.md` (default `target/`).

// `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
#![allow(clippy::manual_is_multiple_of)]

#[path = "record_api/baseline_pg.rs"]
mod baseline_pg;
#[path = "record_api/baseline_sqlite.rs"]
mod baseline_sqlite;
#[path = "record_api/driver.rs"]
mod driver;
#[path = "record_api/shared.rs"]
mod shared;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use relata::engine::auth::NewUser;
use relata::engine::{ApplyRequest, Engine, Locale};
use relata::model::{read_package, SourceFile};
use relata::store::Pool;
use relata_tests::{stock_metadata, TestApp, TestBackend};
use serde_json::{json, Value};
use uuid::Uuid;

use driver::{contact_payload, Ctx, Op, RunResult, Side, Target, TaskState};

/// Concurrent request tasks (default of `RELATA_BENCH_TASKS`; seeding uses it too).
const TASKS: usize = 16;
/// Worker threads of the runtime (the machines have 2 cores).
const WORKERS: usize = 2;
/// Companies seeded (references of the contacts).
const COMPANIES: usize = 50;
/// Records each update task owns.
const UPDATE_RECORDS_PER_TASK: usize = 32;
/// The cities of the seeded contacts: a city filter matches a tenth of them.
const CITIES: [&str; 10] = [
    "Shanghai",
    "Beijing",
    "Shenzhen",
    "Guangzhou",
    "Chengdu",
    "Hangzhou",
    "Wuhan",
    "Nanjing",
    "Xiamen",
    "Suzhou",
];
/// The ratio the generic path should stay within.
const TARGET_RATIO: f64 = 1.30;

struct Config {
    seconds: f64,
    backends: Vec<TestBackend>,
    rounds: usize,
    ops: Vec<Op>,
    contacts: usize,
    tasks: usize,
    /// Which sides run: `[hand-written, generic]`.
    sides: [bool; 2],
}

impl Config {
    fn from_env() -> anyhow::Result<Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seconds =
            match var("RELATA_BENCH_SECONDS") {
                Some(v) => v.trim().parse::<f64>().ok().filter(|s| *s > 0.0).ok_or_else(|| {
                    anyhow!("RELATA_BENCH_SECONDS: expected a positive number of seconds, found `{v}`")
                })?,
                None => 2.0,
            };
        let backends = match var("RELATA_BENCH_BACKENDS") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| match s.to_ascii_lowercase().as_str() {
                    "sqlite" => Ok(TestBackend::Sqlite),
                    "postgres" | "postgresql" | "pg" => Ok(TestBackend::Postgres),
                    other => Err(anyhow!(
                        "RELATA_BENCH_BACKENDS: unknown backend `{other}` (expected sqlite, postgres)"
                    )),
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => vec![TestBackend::Sqlite, TestBackend::Postgres],
        };
        let rounds = match var("RELATA_BENCH_ROUNDS") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| anyhow!("RELATA_BENCH_ROUNDS: expected a positive whole number, found `{v}`"))?,
            None => 5,
        };
        let ops = match var("RELATA_BENCH_OPS") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    Op::ALL.into_iter().find(|op| op.key() == s).ok_or_else(|| {
                        anyhow!("RELATA_BENCH_OPS: unknown operation `{s}` (expected get, list, update, create)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
            None => Op::ALL.to_vec(),
        };
        let contacts = match var("RELATA_BENCH_CONTACTS") {
            Some(v) => v.trim().parse::<usize>().ok().filter(|n| *n >= 100).ok_or_else(|| {
                anyhow!("RELATA_BENCH_CONTACTS: expected a whole number of at least 100, found `{v}`")
            })?,
            None => 5_000,
        };
        let tasks = match var("RELATA_BENCH_TASKS") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| anyhow!("RELATA_BENCH_TASKS: expected a whole number from 1 to 256, found `{v}`"))?,
            None => TASKS,
        };
        let sides = match var("RELATA_BENCH_SIDES") {
            Some(v) => {
                let mut sides = [false; 2];
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match s {
                        "hand" => sides[0] = true,
                        "generic" => sides[1] = true,
                        other => {
                            return Err(anyhow!(
                                "RELATA_BENCH_SIDES: unknown side `{other}` (expected hand, generic)"
                            ))
                        }
                    }
                }
                sides
            }
            None => [true; 2],
        };
        Ok(Config {
            seconds,
            sides,
            backends,
            rounds,
            ops,
            contacts,
            tasks,
        })
    }
}

fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Record API: generic metadata path vs hand-written axum + sqlx\n"
    );
    let _ = writeln!(report, "{}\n", machine_info(&config));
    for backend in &config.backends {
        match bench_backend(*backend, &config).await? {
            Some(section) => report.push_str(&section),
            None => {
                let _ = writeln!(report, "## {backend:?}\n\nskipped (RELATA_SKIP_PG=1)\n");
            }
        }
    }
    let _ = writeln!(
        report,
        "Total benchmark time: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    println!("\n{report}");
    let path = report_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(&path, &report).with_context(|| format!("write {}", path.display()))?;
    eprintln!("written to {}", path.display());
    Ok(())
}

fn report_path() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(tests).join("target")
        });
    dir.join("bench-record-api.md")
}

fn machine_info(config: &Config) -> String {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let profile = if cfg!(debug_assertions) {
        "debug build (numbers are NOT meaningful; use `cargo bench`)"
    } else {
        "optimised build"
    };
    format!(
        "Machine: {nproc} CPUs ({cpu}). Driver: in-process `oneshot` on clones of each router, {tasks} concurrent tasks \
         on a tokio multi-thread runtime with {WORKERS} workers; each timed run lasts {secs} s; {rounds} runs per side \
         and operation, alternating hand-written and generic in ABBA order, ratio = median of the rounds' hand-written/generic ratios; {profile}. The hand-written handlers use \
         the engine's own ED pool. Ratio = hand-written ops/s / generic ops/s (target <= {TARGET_RATIO:.2}).",
        secs = config.seconds,
        rounds = config.rounds,
        tasks = config.tasks,
    )
}

/// The measurements of one operation, per side (0: hand-written, 1: generic).
struct OpStats {
    op: Op,
    runs: [Vec<f64>; 2],
    latencies: [Vec<u32>; 2],
    errors: [u64; 2],
    samples: [Vec<(u16, String)>; 2],
}

impl OpStats {
    fn median(&self, side: usize) -> f64 {
        let mut v = self.runs[side].clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        }
    }

    /// The ratio hand-written / generic of each round (both sides of a
    /// round run back to back, so a change of the machine's load between
    /// rounds cancels out), as median, lowest and highest.
    fn paired_ratio(&self) -> (f64, f64, f64) {
        let mut v: Vec<f64> = self.runs[0]
            .iter()
            .zip(&self.runs[1])
            .map(|(h, g)| if *g > 0.0 { h / g } else { f64::INFINITY })
            .collect();
        if v.is_empty() {
            return (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        }
        v.sort_by(f64::total_cmp);
        let median = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        (median, v[0], v[v.len() - 1])
    }

    fn add(&mut self, side: usize, r: RunResult) {
        self.runs[side].push(r.ops_per_sec());
        self.latencies[side].extend(r.latencies);
        self.errors[side] += r.errors;
        for s in r.error_samples {
            if self.samples[side].len() < 5 {
                self.samples[side].push(s);
            }
        }
    }
}

/// The stock package with the contact's rules (`on_new`, `validate`) unbound: the
/// benchmark measures the generic record path against a hand-written one,
/// and a business rule (its cost is `rules_cost`'s subject) is work the
/// hand-written side does not do.
fn package_without_contact_rules() -> anyhow::Result<Vec<SourceFile>> {
    let mut files = read_package(&stock_metadata(), None)?;
    let contact = files
        .iter_mut()
        .find(|f| f.path.ends_with("/contact.yaml"))
        .context("the stock package has no contact.yaml")?;
    let is_binding = |l: &str| ["on_new:", "validate:"].iter().any(|b| l.trim_start().starts_with(b));
    let bound = contact.text.lines().filter(|l| is_binding(l)).count();
    anyhow::ensure!(
        bound == 2,
        "expected the on_new and validate bindings in contact.yaml, found {bound}"
    );
    contact.text = contact
        .text
        .lines()
        .filter(|l| !is_binding(l))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(files)
}

async fn bench_backend(backend: TestBackend, config: &Config) -> anyhow::Result<Option<String>> {
    let name = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    eprintln!("[{name}] starting the runtime and applying the stock metadata (contact rules unbound)");
    let Some(app) = TestApp::spawn(backend, None).await? else {
        return Ok(None);
    };
    app.engine
        .apply(ApplyRequest {
            files: package_without_contact_rules()?,
            author: "bench".into(),
            comment: "stock application, contact without rules".into(),
            plan_only: false,
        })
        .await?;
    let engine = app.engine.clone();
    let pool = engine.databases().ed.clone();
    let (hand_router, server, connections) = match &pool {
        Pool::Sqlite(p) => {
            let v: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(p).await?;
            (
                baseline_sqlite::router(p.clone()),
                format!("SQLite {v} (WAL)"),
                p.options().get_max_connections(),
            )
        }
        Pool::Postgres(p) => {
            let v: String = sqlx::query_scalar("SHOW server_version").fetch_one(p).await?;
            (
                baseline_pg::router(p.clone()),
                format!("PostgreSQL {v}"),
                p.options().get_max_connections(),
            )
        }
    };

    let t = Instant::now();
    let (companies, ids) = seed(&engine, config.contacts).await?;
    eprintln!(
        "[{name}] seeded {} companies and {} contacts through the engine in {:.1} s",
        companies.len(),
        ids.len(),
        t.elapsed().as_secs_f64()
    );
    if let Pool::Postgres(p) = &pool {
        // What autovacuum would do soon after a bulk load.
        sqlx::query("ANALYZE").execute(p).await?;
    }

    let token = bench_token(&engine).await?;
    let authorization = Some(
        axum::http::HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the token is not a valid header value")?,
    );
    let targets = [
        Arc::new(Target {
            side: Side::HandWritten,
            router: hand_router,
            authorization: authorization.clone(),
        }),
        Arc::new(Target {
            side: Side::Generic,
            router: relata::web::router(engine.clone()),
            authorization,
        }),
    ];
    let check = compare_responses(&targets, ids[0]).await;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let ctx = Arc::new(Ctx {
        ids: ids.clone(),
        companies,
        cities: CITIES.to_vec(),
        create_seq: AtomicU64::new(0),
        nonce,
    });

    // Each side updates its own records, keeping their versions across runs.
    let per_task = UPDATE_RECORDS_PER_TASK.min(ids.len() / (2 * config.tasks)).max(1);
    let mut update_states: [Vec<TaskState>; 2] = [0, 1].map(|side| {
        (0..config.tasks)
            .map(|t| {
                let from = ((side * config.tasks + t) * per_task) % ids.len();
                let owned = (0..per_task).map(|k| (ids[(from + k) % ids.len()], 1_i64)).collect();
                TaskState::new((t + 1) as u64, owned)
            })
            .collect()
    });

    let duration = Duration::from_secs_f64(config.seconds);
    let warmup = Duration::from_secs_f64((config.seconds / 4.0).min(0.5));
    let mut results = Vec::new();
    for &op in &config.ops {
        let mut stats = OpStats {
            op,
            runs: [vec![], vec![]],
            latencies: [vec![], vec![]],
            errors: [0, 0],
            samples: [vec![], vec![]],
        };
        for round in 0..=config.rounds {
            // ABBA: the side that goes first alternates, so linear drift cancels.
            let order = if round % 2 == 1 { [0, 1] } else { [1, 0] };
            for side in order.into_iter().filter(|s| config.sides[*s]) {
                let states = match op {
                    Op::Update => std::mem::take(&mut update_states[side]),
                    _ => (0..config.tasks)
                        .map(|t| TaskState::new((round * 1000 + t + 1) as u64, Vec::new()))
                        .collect(),
                };
                let (r, states) = driver::run(
                    &targets[side],
                    op,
                    &ctx,
                    states,
                    if round == 0 { warmup } else { duration },
                )
                .await;
                if op == Op::Update {
                    update_states[side] = states;
                }
                if round == 0 {
                    if r.errors > 0 {
                        stats.errors[side] += r.errors;
                        stats.samples[side].extend(r.error_samples);
                    }
                    continue; // warm-up
                }
                eprintln!(
                    "[{name}] {:<6} round {round} {:<12} {:>9.0} ops/s{}",
                    op.key(),
                    targets[side].side.label(),
                    r.ops_per_sec(),
                    if r.errors > 0 {
                        format!("  ({} errors)", r.errors)
                    } else {
                        String::new()
                    }
                );
                stats.add(side, r);
            }
        }
        results.push(stats);
    }
    let section = render(name, &server, connections, config, &results, &check);
    drop(targets);
    drop(app);
    Ok(Some(section))
}

/// A user and an API token for the generic API (which requires one).
async fn bench_token(engine: &Engine) -> anyhow::Result<String> {
    let user = engine
        .auth()
        .create_user(NewUser {
            username: "bench".into(),
            display_name: "Benchmark".into(),
            email: None,
            password: "bench-password-1234".into(),
            locale: Locale::En,
            is_admin: true,
        })
        .await
        .context("creating the benchmark user")?;
    Ok(engine
        .auth()
        .create_token(user.id, "record_api benchmark")
        .await
        .context("creating the benchmark token")?
        .token)
}

/// Seeds companies and contacts through the engine; returns their ids.
async fn seed(engine: &Arc<Engine>, contacts: usize) -> anyhow::Result<(Vec<Uuid>, Vec<Uuid>)> {
    const NAMES: [&str; 10] = [
        "Huaxin",
        "Sino-Tech",
        "Bergmann",
        "Pacific Rim",
        "Jade River",
        "Nordlicht",
        "Golden Bridge",
        "Lotus",
        "Alpenblick",
        "Red Lantern",
    ];
    const KINDS: [&str; 5] = [
        "Trading Co., Ltd.",
        "Machinery GmbH",
        "Logistics",
        "Electronics Ltd.",
        "Consulting",
    ];
    let mut companies = Vec::with_capacity(COMPANIES);
    for i in 0..COMPANIES {
        let body = json!({
            "name": format!("{} {} {}", NAMES[i % NAMES.len()], KINDS[(i / NAMES.len()) % KINDS.len()], i),
            "city": CITIES[i % CITIES.len()],
            "employees": 20 + (i as i64 * 37) % 5000,
        });
        let r = engine
            .create("company", &body, None)
            .await
            .with_context(|| format!("seeding company {i}"))?;
        companies.push(id_of(&r)?);
    }
    let shared = Arc::new(companies.clone());
    let mut handles = Vec::with_capacity(TASKS);
    for t in 0..TASKS {
        let engine = engine.clone();
        let companies = shared.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut i = t;
            while i < contacts {
                let company = (i % 5 != 0).then(|| companies[i % companies.len()]);
                let email = format!("contact{i}@seed.example.com");
                let body = contact_payload(i as u64, CITIES[i % CITIES.len()], &email, company);
                let r = engine
                    .create("contact", &body, None)
                    .await
                    .with_context(|| format!("seeding contact {i}: {body}"))?;
                ids.push((i, id_of(&r)?));
                i += TASKS;
            }
            anyhow::Ok(ids)
        }));
    }
    let mut all = Vec::with_capacity(contacts);
    for h in handles {
        all.extend(h.await.context("a seeding task panicked")??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok((companies, all.into_iter().map(|(_, id)| id).collect()))
}

fn id_of(record: &relata::store::ed::records::Record) -> anyhow::Result<Uuid> {
    record
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| anyhow!("the engine returned a record without an id: {record:?}"))
}

/// Reads one record through both routers and says how the JSON differs.
async fn compare_responses(targets: &[Arc<Target>; 2], id: Uuid) -> String {
    let mut bodies = Vec::new();
    for t in targets {
        let (status, _, bytes) =
            driver::call(&t.router, t.request(axum::http::Method::GET, &t.record(id), None, None)).await;
        if !status.is_success() {
            return format!(
                "{} GET gave {status}: {}",
                t.side.label(),
                String::from_utf8_lossy(&bytes)
            );
        }
        bodies.push((
            serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            bytes.len(),
        ));
    }
    let (a, b) = (&bodies[0].0, &bodies[1].0);
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return "a response was not a JSON object".into();
    };
    let mut diffs = Vec::new();
    for (k, va) in a {
        match b.get(k) {
            None => diffs.push(format!("`{k}` only in hand-written")),
            Some(vb) if vb != va => diffs.push(format!("`{k}`: {va} vs {vb}")),
            Some(_) => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        diffs.push(format!("`{k}` only in generic"));
    }
    let order_same = a.keys().eq(b.keys());
    format!(
        "Response check (one seeded contact, GET): {} fields each, {} / {} bytes; {}{}",
        a.len(),
        bodies[0].1,
        bodies[1].1,
        if diffs.is_empty() {
            "same values".to_owned()
        } else {
            format!("differences: {}", diffs.join("; "))
        },
        if order_same {
            ", same field order."
        } else {
            ", different field order."
        }
    )
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn render(name: &str, server: &str, connections: u32, config: &Config, results: &[OpStats], check: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {server} ({name}; ED pool of {connections} connections; {} contacts seeded)\n",
        config.contacts
    );
    let _ = writeln!(
        s,
        "| op | hand-written ops/s | generic ops/s | ratio (median of rounds) | rounds' range | target ≤ {TARGET_RATIO:.2} |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|:---:|");
    for r in results {
        let (h, g) = (r.median(0), r.median(1));
        let (ratio, low, high) = r.paired_ratio();
        let verdict = if ratio <= TARGET_RATIO { "pass" } else { "**over**" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {ratio:.2} | {low:.2} - {high:.2} | {verdict} |",
            r.op.label(),
            thousands(h),
            thousands(g)
        );
    }
    let _ = writeln!(
        s,
        "\nDetails (ops/s of each timed run; latency over all timed runs; errors include the warm-up):\n"
    );
    let _ = writeln!(s, "| op | side | runs ops/s | p50 µs | p99 µs | errors |");
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|");
    for r in results {
        for side in 0..2 {
            let mut lat = r.latencies[side].clone();
            lat.sort_unstable();
            let runs: Vec<String> = r.runs[side].iter().map(|v| thousands(*v)).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.op.key(),
                if side == 0 { "hand-written" } else { "generic" },
                runs.join(", "),
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                r.errors[side]
            );
        }
    }
    let _ = writeln!(s, "\n{check}\n");
    for r in results {
        for side in 0..2 {
            for (status, body) in &r.samples[side] {
                let _ = writeln!(
                    s,
                    "- error sample, {} {}: {status} {body}",
                    r.op.key(),
                    if side == 0 { "hand-written" } else { "generic" }
                );
            }
        }
    }
    if results.iter().any(|r| r.samples.iter().any(|v| !v.is_empty())) {
        s.push('\n');
    }
    s
}
