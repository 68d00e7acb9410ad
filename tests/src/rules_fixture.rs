//! A small package with business rules, written by the rules tests (and
//! the rules benchmark) into temp dirs: `deal` (every handler kind, computed
//! fields, commands), `task` (written by deal's rules) and `counter` (a rule
//! that saves its own record forever, to prove the recursion guard).

use std::path::Path;

const L: &str = "{ en: X, zh-CN: 某 }";

/// `deal`: every kind of handler, a stored and a virtual computed field, commands.
pub fn deal_yaml() -> String {
    format!(
        "version: 1
kind: entity
name: deal
label: {{ en: Deal, zh-CN: 交易 }}
plural_label: {{ en: Deals, zh-CN: 交易 }}
display_field: title
fields:
  - {{ name: title, type: text, required: true, label: {L} }}
  - {{ name: stage, type: picklist, picklist: deal_stage, label: {L} }}
  - {{ name: amount, type: currency, default: 0, label: {L} }}
  - {{ name: probability, type: percent, default: 0, label: {L} }}
  - name: expected_revenue
    type: currency
    label: {{ en: Expected revenue, zh-CN: 预期收入 }}
    computed: {{ expression: 'this.amount * this.probability / 100' }}
  - name: double_amount
    type: currency
    label: {{ en: Double amount, zh-CN: 双倍金额 }}
    computed: {{ expression: 'this.amount * 2', stored: false }}
  - {{ name: code, type: text, label: {L} }}
rules:
  script: deal.rhai
  on_new: defaults
  validate: check
  before_save: tidy
  after_save: follow_up
  before_delete: guard
  on_change: {{ stage: stage_changed }}
commands:
  - name: win
    label: {{ en: Mark won, zh-CN: 标记为赢单 }}
    function: win
  - name: add_task
    label: {{ en: Add a task, zh-CN: 添加任务 }}
    function: add_task
    params:
      - {{ name: subject, type: text, required: true, label: {L} }}
      - {{ name: due, type: date, label: {L} }}
"
    )
}

/// The deal's script.
pub const DEAL_RHAI: &str = r#"// Business rules of a deal; `this` is the record.
fn defaults() {
    if this.code == () { this.code = "D-" + today(); }
}

fn stage_changed() {
    let by_stage = #{ prospect: 10, proposal: 50, won: 100, lost: 0 };
    if this.stage != () { this.probability = by_stage[this.stage]; }
}

fn tidy() {
    let t = this.title;
    t.trim();
    this.title = t;
}

fn check() {
    if this.amount < 0 {
        error("amount", #{ en: "must not be negative", "zh-CN": "不能为负数" });
    }
    if this.title == "boom" { throw "boom is not a deal"; }
    if this.title == "loop" { while true { } }
    if this.title == "huge" { let s = "x"; loop { s += s; } }
    if this.title == "deep" { deeper(0); }
    if this.title == "missing" { no_such_function(1); }
}

fn deeper(n) { deeper(n + 1) }

fn follow_up() {
    if this.title.starts_with("task:") {
        create("task", #{ title: "Follow up " + this.title, deal: this.id });
    }
    if this.title == "bad-task" {
        create("task", #{ title: "" });
    }
    // after_save sees the changes the rules before it made (the stage's
    // probability), not only the fields the client sent.
    if old() != () && this.title == "probe" && changed("probability") {
        create("task", #{ title: "Probability now " + this.probability, deal: this.id });
    }
    // On a restore, old() is the record as it was in the recycle bin.
    if old() != () && old().deleted_at != () && this.title == "task: stay out" {
        error("title", "this deal stays in the recycle bin");
    }
}

fn guard() {
    if this.stage == "won" { error("stage", "a won deal cannot be deleted"); }
}

fn win() {
    this.stage = "won";
    message("The deal is won");
}

fn add_task(params) {
    let t = create("task", #{ title: params.subject, deal: this.id, due: params.due });
    message(#{ en: "Task added", "zh-CN": "已添加任务" });
    open("task", t.id);
}
"#;

/// `task`, with a validate rule.
pub fn task_yaml() -> String {
    format!(
        "version: 1
kind: entity
name: task
label: {{ en: Task, zh-CN: 任务 }}
plural_label: {{ en: Tasks, zh-CN: 任务 }}
display_field: title
fields:
  - {{ name: title, type: text, required: true, label: {L} }}
  - {{ name: deal, type: reference, target: deal, label: {L} }}
  - {{ name: due, type: date, label: {L} }}
rules:
  script: task.rhai
  validate: check
"
    )
}

/// The task's script.
pub const TASK_RHAI: &str = r#"fn check() {
    if this.title.len() > 60 { error("title", "at most 60 characters"); }
}
"#;

/// `counter`, whose after_save updates itself again and again.
pub fn counter_yaml() -> String {
    format!(
        "version: 1
kind: entity
name: counter
label: {L}
plural_label: {L}
display_field: name
fields:
  - {{ name: name, type: text, label: {L} }}
  - {{ name: n, type: integer, default: 0, label: {L} }}
rules:
  script: counter.rhai
  after_save: again
"
    )
}

/// The counter's script.
pub const COUNTER_RHAI: &str = r#"fn again() { update("counter", this.id, #{ n: this.n + 1 }); }
"#;

/// The deal's stages.
pub fn stage_yaml() -> String {
    "version: 1
kind: picklist
name: deal_stage
label: { en: Stage, zh-CN: 阶段 }
values:
  - { code: prospect, label: { en: Prospect, zh-CN: 潜在 } }
  - { code: proposal, label: { en: Proposal, zh-CN: 方案 } }
  - { code: won, label: { en: Won, zh-CN: 赢单 } }
  - { code: lost, label: { en: Lost, zh-CN: 丢单 } }
"
    .to_owned()
}

/// The whole package as (path, text) pairs, scripts under `scripts/`.
pub fn files() -> Vec<(String, String)> {
    vec![
        ("deal.yaml".into(), deal_yaml()),
        ("deal_stage.yaml".into(), stage_yaml()),
        ("task.yaml".into(), task_yaml()),
        ("counter.yaml".into(), counter_yaml()),
        ("scripts/deal.rhai".into(), DEAL_RHAI.into()),
        ("scripts/task.rhai".into(), TASK_RHAI.into()),
        ("scripts/counter.rhai".into(), COUNTER_RHAI.into()),
    ]
}

/// Writes the package into `dir` (YAML at the top, scripts in `dir/scripts/`).
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("scripts"))?;
    for (path, text) in files() {
        std::fs::write(dir.join(path), text)?;
    }
    Ok(())
}
