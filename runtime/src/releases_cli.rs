//! `relata releases ...`: list, show, roll back, export and import releases
//! from the command line, through the same engine calls as the admin API.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use relata::engine::promotion::{ImportOutcome, PromoteOutcome};
use relata::engine::{Engine, ReleaseExport};

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
        ReleasesCmd::Rollback {
            number,
            comment,
            confirm,
            author,
        } => report(&engine.rollback(number, author, comment, confirm).await?),
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
                .or_else(|_| serde_yaml_ng::from_str(&text))
                .with_context(|| format!("{} is not a release export", file.display()))?;
            match engine.import_release(&export, author, confirm, plan).await? {
                ImportOutcome::Plan(p) => println!("{}", serde_json::to_string_pretty(&p)?),
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
    }
    Ok(())
}

fn report(done: &PromoteOutcome) {
    for s in &done.steps {
        let tag = if s.destructive { "destructive" } else { "safe" };
        println!("[{tag}] {}", s.description);
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
