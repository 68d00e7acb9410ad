//! `relata-designer`: the offline designer's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use relata::app::{self, Server};
use relata::engine::auth::FirstAdmin;
use relata::model::read_package;
use relata_designer::client::{AdminClient, ClientError};
use relata_designer::preview::open_sandbox;
use relata_designer::promote::{changes, check, plan, plan_rollback, promote, pull, PromoteError};
use relata_designer::resolve::{conflicts, resolve, side_by_side, Keep};
use relata_designer::workspace::{new_state, Workspace};

#[derive(Debug, Parser)]
#[command(
    name = "relata-designer",
    version,
    about = "Relata's offline designer: model, check, promote"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the live runtime is and how to sign in to it.
#[derive(Debug, clap::Args)]
struct Live {
    /// The live runtime, e.g. http://127.0.0.1:8080 (`--from` when pulling,
    /// `--to` when promoting read as well).
    #[arg(long, env = "RELATA_LIVE_URL", visible_aliases = ["from", "to"])]
    url: String,
    /// An API token of an administrator of the live runtime.
    #[arg(long, env = "RELATA_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a workspace in DIR, from a package folder (default: empty).
    New {
        /// The workspace folder.
        dir: PathBuf,
        /// Start from this package (a folder like the repository's `metadata/`).
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Create a workspace in DIR from the live release of a runtime.
    Pull {
        /// The workspace folder.
        dir: PathBuf,
        #[command(flatten)]
        live: Live,
    },
    /// Check the workspace's package and list its changes since its base.
    Status {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Show what promoting the workspace would do on the live runtime: the
    /// items added, removed and changed, and the schema plan. Changes nothing.
    Diff {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        live: Live,
    },
    /// Run the workspace's model on its offline sandbox, with sample data,
    /// and serve the generated UI on localhost.
    Preview {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        addr: std::net::SocketAddr,
    },
    /// Serve the designer's web UI on the workspace: browse the model, edit
    /// any item and the scripts, with live validation (`open DIR` too).
    #[command(visible_alias = "open")]
    Serve {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Port to listen on (on 127.0.0.1 unless --host says otherwise).
        #[arg(long, default_value_t = 8091)]
        port: u16,
        /// Address to listen on; only a loopback address is served safely
        /// (the designer writes the workspace and has no sign-in).
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
    /// List the live runtime's releases, newest first.
    Releases {
        #[command(flatten)]
        live: Live,
    },
    /// Make an earlier release live again, as a new release (its data kept).
    Rollback {
        /// The release to go back to.
        release: i64,
        #[command(flatten)]
        live: Live,
        /// Why (recorded with the release).
        #[arg(long, default_value = "")]
        comment: String,
        /// A destructive step to allow, by the id the plan gives (repeat for several).
        #[arg(long)]
        confirm: Vec<String>,
        /// Print what rolling back would do (items, schema steps with their
        /// ids and the rows they touch) and change nothing.
        #[arg(long, visible_alias = "dry-run")]
        plan: bool,
    },
    /// Promote the workspace to the live runtime.
    Promote {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        live: Live,
        /// Why (recorded with the release).
        #[arg(long)]
        comment: String,
        /// A destructive step to allow, by the id the plan gives (repeat for several).
        #[arg(long)]
        confirm: Vec<String>,
    },
    /// Show the files changed both here and on the live release since the
    /// workspace's base, side by side.
    Conflicts {
        /// The workspace folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        live: Live,
    },
    /// Settle the conflict on one file: keep the workspace's text (as it is,
    /// or edited by hand to hold both changes) or take the live release's.
    Resolve {
        /// The package path of the file in conflict (e.g. common/industry.yaml).
        path: String,
        /// Which text to keep.
        #[arg(long, value_enum)]
        keep: KeepSide,
        /// The workspace folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        live: Live,
    },
}

/// `--keep` of `resolve`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KeepSide {
    /// The workspace's text.
    Mine,
    /// The live release's text.
    Theirs,
}

/// Width of each column of a side-by-side conflict.
const COLUMN: usize = 60;

fn show_conflicts(conflicts: &[relata_designer::merge::Conflict]) {
    for c in conflicts {
        println!("{}", side_by_side(c, COLUMN));
    }
}

/// Whether the runtime refused because destructive steps were not confirmed.
fn unconfirmed(e: &PromoteError) -> bool {
    matches!(e, PromoteError::Client(ClientError::Refused(r)) if r.code == "confirmation_required")
}

/// The plan, and what to pass to go ahead.
fn show_plan_to_confirm(plan: &relata_designer::plan::Plan, again: &str) {
    print!("{plan}");
    let flags = plan.confirm_flags();
    if !flags.is_empty() {
        println!("nothing was changed; to go ahead: {again} {flags}");
    }
}

/// The steps a promotion or rollback ran, with their ids.
fn show_steps(answer: &serde_json::Value) {
    for s in answer["steps"].as_array().into_iter().flatten() {
        let mark = if s["destructive"] == true { "DESTRUCTIVE " } else { "" };
        let rows = s["affected_rows"]
            .as_i64()
            .map(|n| format!(" ({n} rows)"))
            .unwrap_or_default();
        println!(
            "  {mark}{}{rows}  [{}]",
            s["description"].as_str().unwrap_or_default(),
            s["id"].as_str().unwrap_or_default()
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::New { dir, from } => {
            let files = match from {
                Some(p) => read_package(&p, None)?,
                None => Vec::new(),
            };
            Workspace::create(&dir, &files, new_state(None, None))?;
            println!("created a workspace in {} with {} file(s)", dir.display(), files.len());
        }
        Command::Pull { dir, live } => {
            let client = AdminClient::new(&live.url, &live.token);
            let ws = pull(&dir, &client).await?;
            println!(
                "pulled release {} of {} into {}",
                ws.state.base_release.unwrap_or_default(),
                live.url,
                dir.display()
            );
        }
        Command::Status { dir } => {
            let ws = Workspace::open(&dir)?;
            let c = changes(&ws)?;
            for (mark, list) in [("+", &c.added), ("-", &c.removed), ("~", &c.changed)] {
                for p in list {
                    println!("{mark} {p}");
                }
            }
            match check(&ws.files()?) {
                Ok(()) => println!("the package is valid"),
                Err(PromoteError::Invalid(errors)) => anyhow::bail!("{errors}"),
                Err(e) => return Err(e.into()),
            }
        }
        Command::Diff { dir, live } => {
            let ws = Workspace::open(&dir)?;
            let client = AdminClient::new(&live.url, &live.token);
            let (plan, merged) = plan(&ws, &client).await?;
            for p in &merged {
                println!("(merge: {p})");
            }
            print!("{plan}");
        }
        Command::Preview { dir, addr } => {
            let ws = Workspace::open(&dir)?;
            let sandbox = open_sandbox(&ws).await?;
            match sandbox.applied.release {
                Some(n) => println!("the sandbox runs the workspace's model as its release {n}"),
                None => println!("the sandbox runs the workspace's model already"),
            }
            if let Some(report) = &sandbox.sample {
                println!("sample data: {} records", report.rows);
            }
            for entity in &sandbox.filled {
                println!("sample records for {entity} (no demo item covers it)");
            }
            let server = Server::bind(sandbox.engine.clone(), addr).await?;
            let bound = server.local_addr().unwrap_or(addr);
            if let Some(FirstAdmin {
                username,
                generated_password: Some(password),
            }) = &sandbox.first_admin
            {
                println!("sign in to the sandbox as {username} with the password {password} (shown once)");
            }
            println!("preview on http://{bound}/app (Ctrl-C to stop)");
            server.run(app::shutdown_signal()).await?;
            sandbox.engine.databases().close().await;
        }
        Command::Serve { dir, port, host } => {
            let ws = Workspace::open(&dir)?;
            relata_designer::web::serve(ws, std::net::SocketAddr::new(host, port), app::shutdown_signal()).await?;
        }
        Command::Releases { live } => {
            let client = AdminClient::new(&live.url, &live.token);
            for r in client.releases().await? {
                let mark = if r.active { "*" } else { " " };
                let sum: String = r.checksum.chars().take(12).collect();
                let status = if r.status.is_empty() { "?" } else { r.status.as_str() };
                println!(
                    "{mark} {:>4}  {:<7}  {}  {:<16}  {sum}  {}",
                    r.number, status, r.created_at, r.author, r.comment
                );
                if let Some(why) = &r.failure {
                    println!("        failed: {why}");
                }
            }
        }
        Command::Rollback {
            release,
            live,
            comment,
            confirm,
            plan,
        } => {
            let client = AdminClient::new(&live.url, &live.token);
            if plan {
                let plan = plan_rollback(&client, release).await?;
                print!("{plan}");
                println!("plan only: nothing was changed");
                return Ok(());
            }
            let comment = match comment.is_empty() {
                true => format!("roll back to release {release}"),
                false => comment,
            };
            let answer = match client.rollback(release, &comment, &confirm).await {
                Err(e) => {
                    let e = PromoteError::from(e);
                    if unconfirmed(&e) {
                        let plan = plan_rollback(&client, release).await?;
                        show_plan_to_confirm(&plan, &format!("relata-designer rollback {release}"));
                    }
                    return Err(e.into());
                }
                Ok(answer) => answer,
            };
            show_steps(&answer);
            match answer["release"].as_i64() {
                Some(n) => println!("rolled back: release {n} (the items of release {release}) is live"),
                None => println!("release {release}'s items are live already"),
            }
        }
        Command::Promote {
            dir,
            live,
            comment,
            confirm,
        } => {
            let mut ws = Workspace::open(&dir)?;
            let client = AdminClient::new(&live.url, &live.token);
            let done = match promote(&mut ws, &client, &comment, &confirm).await {
                Err(PromoteError::Conflicts(c)) => {
                    show_conflicts(&c);
                    println!("settle each file with `relata-designer resolve PATH --keep mine|theirs`, then promote");
                    return Err(PromoteError::Conflicts(c).into());
                }
                Err(e) if unconfirmed(&e) => {
                    let (plan, merged) = plan(&ws, &client).await?;
                    for p in &merged {
                        println!("(merge: {p})");
                    }
                    show_plan_to_confirm(&plan, "relata-designer promote --comment ...");
                    return Err(e.into());
                }
                other => other?,
            };
            for n in &done.notes {
                println!("note: {n}");
            }
            for p in &done.merged_from_live {
                println!("merged from the live release: {p}");
            }
            show_steps(&done.answer);
            match done.release {
                Some(n) => println!("promoted: release {n} is live"),
                None => println!("nothing to promote: the live release has this package already"),
            }
        }
        Command::Conflicts { dir, live } => {
            let ws = Workspace::open(&dir)?;
            let found = conflicts(&ws, &AdminClient::new(&live.url, &live.token)).await?;
            if found.is_empty() {
                println!("no conflict: the workspace merges with the live release");
            }
            show_conflicts(&found);
        }
        Command::Resolve { path, keep, dir, live } => {
            let mut ws = Workspace::open(&dir)?;
            let keep = match keep {
                KeepSide::Mine => Keep::Mine,
                KeepSide::Theirs => Keep::Theirs,
            };
            resolve(&mut ws, &AdminClient::new(&live.url, &live.token), &path, keep).await?;
            println!("{path}: settled; promote when every conflict is");
        }
    }
    Ok(())
}
