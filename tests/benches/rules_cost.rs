//! What business rules cost on a save, on SQLite: the same record saved into
//! an entity without rules and into one with typical rules (a stage ->
//! probability default on change, and a computed, stored expected_revenue =
//! amount x probability / 100). Criterion, through the engine (no HTTP,
//! the stricter comparison: HTTP adds the same cost to both sides).
//!
//! Run: `cargo bench -p relata-tests --bench rules_cost`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
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

fn saves(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let tmp = tempfile::tempdir().expect("a temp dir");
    let engine = setup(&rt, tmp.path()).expect("the bench package");
    // What a client without rules sends: it works out probability and
    // expected revenue itself.
    let plain = json!({"title": "Acme renewal", "stage": "proposal", "amount": 1234.5,
                       "probability": 50, "expected_revenue": 617.25});
    let ruled = json!({"title": "Acme renewal", "stage": "proposal", "amount": 1234.5});
    let mut group = c.benchmark_group("save_sqlite");
    group.bench_function("no_rules", |b| {
        b.iter(|| rt.block_on(engine.create("plain", &plain, None)).expect("saved"));
    });
    group.bench_function("typical_rules", |b| {
        b.iter(|| {
            let r = rt.block_on(engine.create("ruled", &ruled, None)).expect("saved");
            assert_eq!(r.get("expected_revenue"), Some(&json!(617.25)));
        });
    });
    group.finish();
}

criterion_group!(benches, saves);
criterion_main!(benches);
