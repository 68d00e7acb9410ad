//! `relata releases ...` and `relata apply`: list, show, plan, roll back,
//! export, import and apply releases from the command line, through the
//! same engine calls and the same confirmations as the admin API.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::engine::promotion::{ImportOutcome, PlanReport, PromoteOutcome};
use crate::engine::{ApplyError, ApplyRequest, Engine, Promotion, PromotionError, ReleaseExport};
use crate::store::bm::AuditAction;
use anyhow::Context;
use clap::Subcommand;

/// What to do with releases.
#[derive(Debug, Subcommand)]
pub enum ReleasesCmd {
    /// List the releases, newest first (the active one marked `*`).
    List,
    /// Print a release and its items (kind, name, path).
    Show {
        /// The release number.
        number: i64,
    },
    /// Make an earlier release's items live again, as a new release.
    Rollback {
        /// The release to roll back to.
        number: i64,
        /// Why.
        #[arg(long)]
        comment: Option<String>,
        /// A destructive step to confirm (its id or description); repeat it.
        #[arg(long)]
        confirm: Vec<String>,
        /// Print what rolling back would do (items, schema steps with their
        /// ids and rows touched) and change nothing.
        #[arg(long)]
        plan: bool,
        /// Who rolls back.
        #[arg(long, env = "USER", default_value = "admin")]
        author: String,
    },
    /// Print a release as one export file (JSON) on standard output.
    Export {
        /// The release number.
        number: i64,
    },
    /// Import an export file as a new release (or print its plan).
    Import {
        /// The export file.
        file: PathBuf,
        /// Print the plan and change nothing.
        #[arg(long)]
        plan: bool,
        /// A destructive step to confirm (its id or description); repeat it.
        #[arg(long)]
        confirm: Vec<String>,
        /// Who imports.
        #[arg(long, env = "USER", default_value = "admin")]
        author: String,
    },
}

/// Runs one `releases` command.
pub async fn run(engine: &Engine, cmd: ReleasesCmd) -> anyhow::Result<()> {
    match cmd {
        ReleasesCmd::List => list(engine).await?,
        ReleasesCmd::Show { number } => {
            let detail = engine.release_detail(number).await?;
            let info = &detail.summary.info;
            println!(
                "release {} ({}){}",
                info.number,
                info.status,
                active(detail.summary.active)
            );
            println!(
                "author:   {}\ncreated:  {}\nchecksum: {}",
                info.author, info.created_at, info.checksum
            );
            println!("parent:   {}\ncomment:  {}", parent(info.parent), info.comment);
            for i in &detail.items {
                println!("  {:<10} {:<32} {}", i.kind, i.name, i.path);
            }
        }
        ReleasesCmd::Rollback { number, plan: true, .. } => {
            print!("{}", render_plan(&engine.plan_rollback(number).await?));
            println!("plan only: nothing was changed");
        }
        ReleasesCmd::Rollback {
            number,
            comment,
            confirm,
            author,
            plan: false,
        } => match engine.rollback(number, author, comment, confirm).await {
            Err(PromotionError::Apply(ApplyError::Unconfirmed(_))) => {
                print!("{}", render_plan(&engine.plan_rollback(number).await?));
                anyhow::bail!("nothing was changed: confirm the destructive steps to roll back")
            }
            other => report(&other?),
        },
        ReleasesCmd::Export { number } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&engine.export_release(number).await?)?
            );
        }
        ReleasesCmd::Import {
            file,
            plan,
            confirm,
            author,
        } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let export: ReleaseExport = serde_json::from_str(&text)
                .or_else(|_| {
                    let value = crate::model::yaml_limits::parse_export(&text).map_err(anyhow::Error::msg)?;
                    serde_json::from_value(value).map_err(anyhow::Error::from)
                })
                .with_context(|| format!("{} is not a release export", file.display()))?;
            match engine.import_release(&export, author, confirm, plan).await? {
                ImportOutcome::Plan(p) => {
                    print!("{}", render_plan(&p));
                    println!("plan only: nothing was changed");
                }
                ImportOutcome::Applied(done) => report(&done),
            }
        }
    }
    Ok(())
}

async fn list(engine: &Engine) -> anyhow::Result<()> {
    for r in engine.releases().await? {
        let i = &r.info;
        let mark = if r.active { "*" } else { " " };
        println!(
            "{mark} {:>4}  {}  {:<8} {:<12} {}  {}",
            i.number,
            i.created_at,
            i.status,
            i.author,
            &i.checksum[..12.min(i.checksum.len())],
            i.comment
        );
        if let Some(why) = &i.failure {
            println!("         failed: {why}");
        }
    }
    Ok(())
}

/// The options of `relata apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The package directory.
    pub dir: PathBuf,
    /// The package's Rhai scripts (default as for `serve`).
    #[arg(long)]
    pub scripts: Option<PathBuf>,
    /// Why this release.
    #[arg(long, default_value = "")]
    pub comment: String,
    /// Who applies it.
    #[arg(long, env = "USER", default_value = "admin")]
    pub author: String,
    /// Print the plan (items, schema steps with their ids and the rows
    /// they touch) and change nothing.
    #[arg(long)]
    pub plan: bool,
    /// A destructive step to confirm (its id or description); repeat it.
    /// Without every one confirmed nothing is applied, as in the admin API.
    #[arg(long)]
    pub confirm: Vec<String>,
}

/// `relata apply`: plans, or applies with the admin API's confirmations.
/// A server running on the same databases loads the new release by itself
/// (it watches the live release, see `Engine::watch_releases`).
pub async fn apply(engine: &Engine, args: ApplyArgs) -> anyhow::Result<()> {
    let files = crate::model::read_package(&args.dir, args.scripts.as_deref())?;
    if args.plan {
        let report = engine.plan_package(&files, None).await?;
        print!("{}", render_plan(&report));
        println!("plan only: nothing was changed");
        return Ok(());
    }
    let req = ApplyRequest {
        files: files.clone(),
        author: args.author,
        comment: args.comment,
        plan_only: false,
    };
    let how = Promotion {
        action: AuditAction::Apply,
        base_release: None,
        confirm: Some(args.confirm),
    };
    match engine.apply_as(req, &how).await {
        Ok(outcome) => {
            print!("{}", outcome.plan);
            match outcome.release {
                Some(n) => println!("release {n} is active"),
                None => println!("the package is the active release already: nothing to do"),
            }
            Ok(())
        }
        Err(ApplyError::Unconfirmed(_)) => {
            print!("{}", render_plan(&engine.plan_package(&files, None).await?));
            anyhow::bail!("nothing was applied: confirm the destructive steps")
        }
        Err(e) => Err(e.into()),
    }
}

/// A plan for a terminal: the items added, removed and changed (with what
/// changed in each), the schema steps with their ids (destructive ones with
/// the rows they touch), the stored values that stop it, whole, and the
/// exact `--confirm` flags that let it run.
pub fn render_plan(p: &PlanReport) -> String {
    let mut out = String::new();
    if p.unchanged {
        out.push_str("the package is the live release already\n");
    }
    for i in &p.diff.added {
        let _ = writeln!(out, "+ {} {}", i.kind, i.name);
    }
    for i in &p.diff.removed {
        let _ = writeln!(out, "- {} {}", i.kind, i.name);
    }
    for i in &p.diff.changed {
        let _ = writeln!(out, "~ {} {}", i.kind, i.name);
        for c in &i.changes {
            let at = if c.path.is_empty() { "(text)" } else { c.path.as_str() };
            let show = |v: &serde_json::Value| v.to_string();
            let _ = match (&c.old, &c.new) {
                (Some(o), Some(n)) => writeln!(out, "    {at}: {} -> {}", show(o), show(n)),
                (None, Some(n)) => writeln!(out, "    {at}: added {}", show(n)),
                (Some(o), None) => writeln!(out, "    {at}: removed {}", show(o)),
                (None, None) => writeln!(out, "    {at}"),
            };
        }
    }
    if p.steps.is_empty() {
        out.push_str("schema: no change\n");
    } else {
        out.push_str("schema:\n");
        for s in &p.steps {
            let mark = if s.destructive { "DESTRUCTIVE " } else { "" };
            let rows = s.affected_rows.map(|n| format!(" ({n} rows)")).unwrap_or_default();
            let _ = writeln!(out, "  [{}] {mark}{}{rows}", s.id, s.description);
        }
    }
    for r in &p.refusals {
        let _ = writeln!(out, "refused: {r}");
    }
    let confirm: Vec<String> = p
        .steps
        .iter()
        .filter(|s| s.destructive)
        .map(|s| format!("--confirm {}", s.id))
        .collect();
    if !confirm.is_empty() {
        let _ = writeln!(out, "to go ahead, confirm each destructive step: {}", confirm.join(" "));
    }
    out
}

fn report(done: &PromoteOutcome) {
    for s in &done.steps {
        let tag = if s.destructive { "destructive" } else { "safe" };
        println!("[{tag}] [{}] {}", s.id, s.description);
    }
    match done.release {
        Some(n) => println!("release {n} is active"),
        None => println!("the release is active already: nothing to do"),
    }
}

fn active(yes: bool) -> &'static str {
    if yes {
        ", active"
    } else {
        ""
    }
}

fn parent(p: Option<i64>) -> String {
    p.map_or_else(|| "-".to_owned(), |n| n.to_string())
}
