//! How long a promotion of a stock-size package takes (issue 6: "under 2 s
//! on SQLite and PostgreSQL, excluding data-rewriting steps"), end to end
//! through `POST /admin/api/v1/promote` on a running runtime: HTTP, JSON,
//! validation and rule compilation, diff, schema plan, data checks, DDL,
//! activation and the swap of the live model.
//!
//! Per backend: a `TestApp` with the stock package and the `small` demo
//! data (so tables are not empty), then `RELATA_BENCH_ROUNDS` rounds of two
//! promotions, each a real new release:
//! - (a) label only: the contact's label gets the round's number (no DDL);
//! - (b) DDL: a new field on contact and a new entity with a form and a
//!   list (new table, new column, no data rewrite). The extras of earlier
//!   rounds stay (removing them would be a destructive step), so the
//!   package grows by three items a round; the table gives the range.
//!
//! Same-run baselines on the same files: `validate_package` in-process
//! (YAML, JSON Schema, cross references, Rhai compilation: the part that
//! does not touch a database; its parsing part, `load_files`, is shown
//! too) and `POST /admin/api/v1/plan` (validation,
//! diff, schema plan, data checks and affected rows; writes nothing).
//!
//! This is a measurement, not a test: it prints a table and never asserts.
//!
//! Settings (environment):
//! - `RELATA_BENCH_ROUNDS` (default 10);
//! - `RELATA_BENCH_BACKENDS` (default `sqlite,postgres`).
//!
//! Run: `cargo bench -p relata-tests --bench promotion`. The table is also
//! written to `$CARGO_TARGET_DIR/bench-promotion.md` (default `target/`).

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _};
use relata::engine::demo::{DemoOptions, DemoSize, NoProgress, DEFAULT_SEED};
use relata::engine::validate_package;
use relata::model::{load_files, read_package, SourceFile};
use relata_tests::{stock_metadata, TestApp, TestBackend};
use reqwest::StatusCode;
use serde_json::{json, Value};

const API: &str = "/admin/api/v1";
const CONTACT: &str = "marketing/contact.yaml";
const CONTACT_LABEL: &str = "label: { en: Contact, zh-CN: 联系人 }";

/// The stock package with the contact labelled for `label_round` and the
/// extras of rounds `0..extras`.
fn package(stock: &[SourceFile], label_round: usize, extras: usize) -> anyhow::Result<Vec<SourceFile>> {
    let mut files = stock.to_vec();
    let contact = files
        .iter_mut()
        .find(|f| f.path == CONTACT)
        .with_context(|| format!("no {CONTACT} in the stock package"))?;
    ensure!(
        contact.text.contains(CONTACT_LABEL) && contact.text.contains("\nfields:\n"),
        "{CONTACT} changed shape: update the benchmark"
    );
    let mut text = contact.text.replacen(
        CONTACT_LABEL,
        &format!("label: {{ en: Contact r{label_round}, zh-CN: 联系人 r{label_round} }}"),
        1,
    );
    let mut fields = String::from("\nfields:\n");
    for i in 0..extras {
        let _ = writeln!(
            fields,
            "  - {{ name: bench_note_{i}, type: text, max_length: 200, label: {{ en: Bench note {i}, zh-CN: 备注 {i} }} }}"
        );
    }
    text = text.replacen("\nfields:\n", &fields, 1);
    contact.text = text;
    for i in 0..extras {
        files.extend(extra_entity(i));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Entity `bench_thing_i` with a form and a list.
fn extra_entity(i: usize) -> [SourceFile; 3] {
    let name = format!("bench_thing_{i}");
    let entity = format!(
        "version: 1\nkind: entity\nname: {name}\n\
         label: {{ en: Bench thing {i}, zh-CN: 测试 {i} }}\n\
         plural_label: {{ en: Bench things {i}, zh-CN: 测试 {i} }}\n\
         display_field: name\nfields:\n\
         \x20 - {{ name: name, type: text, required: true, max_length: 120, label: {{ en: Name, zh-CN: 名称 }} }}\n\
         \x20 - {{ name: contact, type: reference, target: contact, label: {{ en: Contact, zh-CN: 联系人 }} }}\n\
         \x20 - {{ name: due, type: date, label: {{ en: Due, zh-CN: 到期 }} }}\n\
         \x20 - {{ name: amount, type: currency, label: {{ en: Amount, zh-CN: 金额 }} }}\n\
         \x20 - {{ name: note, type: long_text, label: {{ en: Note, zh-CN: 备注 }} }}\n"
    );
    let form = format!(
        "version: 1\nkind: form\nname: {name}\nentity: {name}\ntabs:\n\
         \x20 - name: overview\n    label: {{ en: Overview, zh-CN: 概况 }}\n    sections:\n\
         \x20     - name: main\n        columns: 2\n        fields:\n\
         \x20         - field: name\n          - field: contact\n          - field: due\n          - field: amount\n\
         \x20     - name: notes\n        columns: 1\n        fields:\n          - field: note\n"
    );
    let list = format!(
        "version: 1\nkind: list\nname: {name}\nentity: {name}\n\
         label: {{ en: Bench things {i}, zh-CN: 测试 {i} }}\n\
         columns: [name, contact, due, amount]\nsort: [name]\n"
    );
    [
        SourceFile {
            path: format!("bench/{name}.yaml"),
            text: entity,
        },
        SourceFile {
            path: format!("bench/{name}_form.yaml"),
            text: form,
        },
        SourceFile {
            path: format!("bench/{name}_list.yaml"),
            text: list,
        },
    ]
}

fn as_json(files: &[SourceFile]) -> Value {
    Value::Array(files.iter().map(|f| json!({"path": f.path, "text": f.text})).collect())
}

/// Timings of one kind of promotion, in milliseconds.
#[derive(Default)]
struct Series {
    parse: Vec<f64>,
    validate: Vec<f64>,
    plan: Vec<f64>,
    promote: Vec<f64>,
    items: Vec<usize>,
    steps: Vec<usize>,
}

/// `validate_package`, `POST /plan` and `POST /promote` of one package;
/// returns the new live release.
async fn measure(app: &TestApp, files: &[SourceFile], live: i64, comment: &str, s: &mut Series) -> anyhow::Result<i64> {
    let t = Instant::now();
    let parsed = load_files(files);
    s.parse.push(ms(t));
    drop(parsed);
    let t = Instant::now();
    let checked = validate_package(files);
    s.validate.push(ms(t));
    if let Err(e) = checked {
        bail!("{comment}: the package does not validate: {e}");
    }
    let body = as_json(files);
    let t = Instant::now();
    let plan = app
        .post(&format!("{API}/plan"), &json!({"files": body, "base_release": live}))
        .await?;
    s.plan.push(ms(t));
    ensure!(
        plan.status == StatusCode::OK,
        "{comment}: plan gave {} {}",
        plan.status,
        plan.body
    );
    let t = Instant::now();
    let done = app
        .post(
            &format!("{API}/promote"),
            &json!({"files": body, "base_release": live, "comment": comment}),
        )
        .await?;
    s.promote.push(ms(t));
    ensure!(
        done.status == StatusCode::OK,
        "{comment}: promote gave {} {}",
        done.status,
        done.body
    );
    let release = done.body["release"]
        .as_i64()
        .with_context(|| format!("{comment}: no new release: {}", done.body))?;
    s.items.push(files.len());
    s.steps.push(done.body["steps"].as_array().map_or(0, Vec::len));
    Ok(release)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nearest-rank 90th percentile.
fn p90(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((v.len() as f64) * 0.9).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn range(v: &[usize]) -> String {
    let (lo, hi) = (v.iter().min().copied(), v.iter().max().copied());
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
        (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
        _ => "-".into(),
    }
}

async fn bench_backend(backend: TestBackend, rounds: usize) -> anyhow::Result<Option<String>> {
    let stock = read_package(&stock_metadata(), None)?;
    let Some(app) = TestApp::spawn(backend, Some(&stock_metadata())).await? else {
        return Ok(None);
    };
    let t = Instant::now();
    let demo = app
        .engine
        .load_demo(
            DemoOptions {
                size: DemoSize::Small,
                seed: DEFAULT_SEED,
                force: false,
                owner: None,
            },
            &NoProgress,
        )
        .await?;
    let demo_s = t.elapsed().as_secs_f64();
    let mut live = app.engine.model().release;
    // Warm-up: one promotion of each kind, not counted (first compile of
    // the JSON Schemas, prepared statements, page cache).
    let mut warm = Series::default();
    live = measure(&app, &package(&stock, 1000, 0)?, live, "warm-up label", &mut warm).await?;
    let (mut label, mut ddl) = (Series::default(), Series::default());
    for i in 0..rounds {
        let files = package(&stock, i, i)?;
        live = measure(&app, &files, live, &format!("bench {i}: label"), &mut label).await?;
        let files = package(&stock, i, i + 1)?;
        live = measure(&app, &files, live, &format!("bench {i}: DDL"), &mut ddl).await?;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {backend:?}\n\nStock package + `small` demo data ({} records, loaded in {demo_s:.1} s); \
         {rounds} rounds, last release {live}.\n",
        demo.rows
    );
    let _ = writeln!(
        out,
        "| promotion | items (files) | schema steps | `validate_package` median / p90 ms (of which parsing, `load_files`) | `POST /plan` median / p90 ms | **`POST /promote` median / p90 ms** | < 2 s |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
    for (name, s) in [
        ("(a) label change only (no DDL)", &label),
        ("(b) new field on contact + new entity, form, list (DDL)", &ddl),
    ] {
        let verdict = if p90(&s.promote) < 2000.0 { "yes" } else { "**no**" };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {:.0} / {:.0} ({:.0}) | {:.0} / {:.0} | **{:.0}** / {:.0} | {verdict} |",
            range(&s.items),
            range(&s.steps),
            median(&s.validate),
            p90(&s.validate),
            median(&s.parse),
            median(&s.plan),
            p90(&s.plan),
            median(&s.promote),
            p90(&s.promote),
        );
    }
    Ok(Some(out))
}

fn machine() -> String {
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
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let profile = if cfg!(debug_assertions) {
        "debug build (numbers are NOT meaningful; use `cargo bench`)"
    } else {
        "optimised build"
    };
    format!("Machine: {nproc} CPUs ({cpu}), load average {load} at the start; {profile}.")
}

fn setting(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow::anyhow!("{name}: expected a positive whole number, found `{v}`")),
    }
}

fn backends() -> anyhow::Result<Vec<TestBackend>> {
    let v = std::env::var("RELATA_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "sqlite" => Ok(TestBackend::Sqlite),
            "postgres" => Ok(TestBackend::Postgres),
            other => bail!("RELATA_BENCH_BACKENDS: unknown backend `{other}` (expected sqlite, postgres)"),
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    if std::env::args().skip(1).any(|a| a != "--bench") {
        bail!("promotion takes no arguments (settings: RELATA_BENCH_ROUNDS, RELATA_BENCH_BACKENDS)");
    }
    let rounds = setting("RELATA_BENCH_ROUNDS", 10)?;
    let backends = backends()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut report = format!("# Promotion of a stock-size package\n\n{}\n\n", machine());
    for backend in backends {
        match rt.block_on(bench_backend(backend, rounds))? {
            Some(section) => report.push_str(&section),
            None => {
                let _ = writeln!(report, "## {backend:?}\n\nskipped (RELATA_SKIP_PG=1)");
            }
        }
        report.push('\n');
    }
    let _ = writeln!(
        report,
        "Total benchmark time: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    println!("\n{report}");
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let out = std::path::Path::new(&dir).join("bench-promotion.md");
    std::fs::write(&out, &report).with_context(|| format!("write {}", out.display()))?;
    eprintln!("written to {}", out.display());
    Ok(())
}
