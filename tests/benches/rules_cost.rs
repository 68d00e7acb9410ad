//! What business rules cost on a save, on SQLite: the same record saved into
//! an entity without rules and into one with typical rules (a stage ->
//! probability default on change, and a computed, stored expected_revenue =
//! amount x probability / 100), through the engine (no HTTP, the stricter
//! comparison: HTTP adds the same cost to both sides).
//!
//! A paired measurement, not two separate ones: each round saves into both
//! entities in alternation (ABBA: plain, ruled, ruled, plain, ...) and
//! divides the mean time of a ruled save by the mean time of a plain save
//! *of the same round*. The median of the rounds' ratios is reported. Timed
//! one after the other (as criterion does), whichever side ran second paid
//! for the first side's growth of the database and for any change of the
//! machine's load in between, which on these shared machines moved the
//! ratio by more than the rules cost (1.09x to 1.46x in three runs).
//!
//! Settings: `RELATA_BENCH_ROUNDS` (default 30), `RELATA_BENCH_PAIRS`
//! (saves of each side per round, default 200).
//!
//! Run: `cargo bench -p relata-tests --bench rules_cost`. The result is
//! also written to `$CARGO_TARGET_DIR/bench-rules-cost.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use relata::app::{self, Config};
use relata::engine::Engine;
use serde_json::json;

const L: &str = "{ en: X, zh-CN: 某 }";

fn entity(name: &str, rules: bool) -> String {
    let computed = if rules {
        "\n    computed: { expression: 'this.amount * this.probability / 100' }"
    } else {
        ""
    };
    let block = if rules {
        "rules:\n  script: deal.rhai\n  on_change: { stage: stage_changed }\n"
    } else {
        ""
    };
    format!(
        "version: 1\nkind: entity\nname: {name}\nlabel: {L}\nplural_label: {L}\ndisplay_field: title\nfields:\n\
         \x20 - {{ name: title, type: text, required: true, label: {L} }}\n\
         \x20 - {{ name: stage, type: picklist, picklist: stage, label: {L} }}\n\
         \x20 - {{ name: amount, type: currency, label: {L} }}\n\
         \x20 - {{ name: probability, type: percent, label: {L} }}\n\
         \x20 - name: expected_revenue\n    type: currency\n    label: {L}{computed}\n{block}"
    )
}

const SCRIPT: &str = "fn stage_changed() {\n    let p = #{ prospect: 10, proposal: 50, won: 100, lost: 0 };\n    if this.stage != () { this.probability = p[this.stage]; }\n}\n";

const STAGES: &str = "version: 1
kind: picklist
name: stage
label: { en: S, zh-CN: 阶段 }
values:
  - { code: prospect, label: { en: P, zh-CN: 潜 } }
  - { code: proposal, label: { en: Q, zh-CN: 案 } }
  - { code: won, label: { en: W, zh-CN: 赢 } }
  - { code: lost, label: { en: L, zh-CN: 丢 } }
";

fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> anyhow::Result<Arc<Engine>> {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(pkg.join("scripts"))?;
    std::fs::write(pkg.join("plain.yaml"), entity("plain", false))?;
    std::fs::write(pkg.join("ruled.yaml"), entity("ruled", true))?;
    std::fs::write(pkg.join("stage.yaml"), STAGES)?;
    std::fs::write(pkg.join("scripts/deal.rhai"), SCRIPT)?;
    rt.block_on(async {
        let engine = app::open(&Config::new(dir.join("data"), None)).await?;
        app::apply_dir(&engine, &pkg, "bench", "bench", false).await?;
        Ok(engine)
    })
}

/// One round: mean µs of a plain save, mean µs of a ruled save.
fn round(rt: &tokio::runtime::Runtime, engine: &Engine, pairs: usize) -> anyhow::Result<(f64, f64)> {
    let plain = json!({"title": "Acme renewal", "stage": "proposal", "amount": 1234.5,
                       "probability": 50, "expected_revenue": 617.25});
    let ruled = json!({"title": "Acme renewal", "stage": "proposal", "amount": 1234.5});
    let (mut t_plain, mut t_ruled) = (Duration::ZERO, Duration::ZERO);
    for i in 0..pairs * 2 {
        // ABBA: plain, ruled, ruled, plain, plain, ruled, ...
        let ruled_turn = matches!(i % 4, 1 | 2);
        let start = Instant::now();
        if ruled_turn {
            let r = rt.block_on(engine.create("ruled", &ruled, None))?;
            t_ruled += start.elapsed();
            anyhow::ensure!(
                r.get("expected_revenue") == Some(&json!(617.25)),
                "the rules did not run: {:?}",
                r.get("expected_revenue")
            );
        } else {
            rt.block_on(engine.create("plain", &plain, None))?;
            t_plain += start.elapsed();
        }
    }
    let per = |t: Duration| t.as_secs_f64() * 1e6 / pairs as f64;
    Ok((per(t_plain), per(t_ruled)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.75))
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

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    if std::env::args().skip(1).any(|a| a != "--bench") {
        anyhow::bail!("rules_cost takes no arguments (settings: RELATA_BENCH_ROUNDS, RELATA_BENCH_PAIRS)");
    }
    let rounds = setting("RELATA_BENCH_ROUNDS", 30)?;
    let pairs = setting("RELATA_BENCH_PAIRS", 200)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir()?;
    let engine = setup(&rt, tmp.path())?;
    // Warm-up: caches, prepared statements, the first pages of both tables.
    round(&rt, &engine, pairs)?;
    let mut plain = Vec::new();
    let mut ruled = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let (p, r) = round(&rt, &engine, pairs)?;
        plain.push(p);
        ruled.push(r);
        ratios.push(r / p);
    }
    let (q1, q3) = quartiles(ratios.clone());
    let ratio = median(ratios);
    let verdict = if ratio <= 1.2 { "pass" } else { "**over**" };
    let table = format!(
        "| save | median µs per save (of {rounds} rounds x {pairs} saves) |\n|---|---:|\n\
         | no rules | {:.1} |\n| typical rules | {:.1} |\n\
         | ratio (median of the rounds' ratios; quartiles) | **{ratio:.2}x** ({q1:.2} - {q3:.2}); target 1.2x: {verdict} |\n",
        median(plain),
        median(ruled),
    );
    println!("{table}");
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let out = std::path::Path::new(&dir).join("bench-rules-cost.md");
    std::fs::write(&out, &table)?;
    println!("written to {}", out.display());
    Ok(())
}
