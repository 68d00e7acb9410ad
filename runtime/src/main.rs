//! The `relata` command: serve, apply, validate, schema, releases.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use relata::app::{self, Config, Server};
use relata::engine::auth::FirstAdmin;
use relata::engine::demo::{DemoOptions, DemoProgress, DemoReport, DemoSize};
use relata::model;
use relata::model::zone::Zone;
use relata::releases_cli;

/// Relata: a metadata-driven CRM runtime.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Directory of the embedded SQLite databases and (on every backend) of
    /// attachment files, under `attachments/`.
    #[arg(long, global = true, env = "RELATA_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// PostgreSQL URL; when given, both databases live there instead of SQLite.
    #[arg(long, global = true, env = "RELATA_DATABASE_URL")]
    database_url: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "RELATA_LOG_JSON")]
    log_json: bool,
    /// The installation's IANA time zone: "today" for API calls by users
    /// who set no zone, numbering periods and scripts' `today()`. People
    /// in the UI see times in their own zone (their setting, else their
    /// browser's).
    #[arg(long, global = true, env = "RELATA_TIME_ZONE", default_value = "UTC", value_parser = Zone::parse)]
    time_zone: Zone,
    /// Seconds a database statement waits for a lock another request
    /// holds; past it the request answers 503 with `Retry-After`.
    #[arg(long, global = true, env = "RELATA_DB_LOCK_WAIT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    db_lock_wait: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API; on an empty business model, apply the metadata folder first.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "RELATA_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// The package applied as the first release when none exists.
        #[arg(long, default_value = "./metadata")]
        metadata: PathBuf,
        /// The package's Rhai scripts; default: `<metadata>/scripts`, else
        /// the `scripts` folder beside a folder named `metadata`.
        #[arg(long)]
        scripts: Option<PathBuf>,
        /// Mark cookies `Secure`: set it when Relata is reached over HTTPS.
        #[arg(long, env = "RELATA_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Password of the first administrator (`admin`), used only when no
        /// user exists yet; without it one is generated and printed once.
        #[arg(long, env = "RELATA_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// On first start (the demo entities have no records yet), load the
        /// `small` demo data, so the CRM has companies, contacts, deals ...
        #[arg(long)]
        demo: bool,
        /// Seconds a client has to send a request's line and headers
        /// (also how long an idle kept-alive connection stays open).
        #[arg(long, env = "RELATA_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_read_timeout: u64,
        /// The most connections served at once; more wait to be accepted.
        #[arg(long, env = "RELATA_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections: u64,
    },
    /// Fill the application with generated demo records (from the release's
    /// `demo` items), deterministic from a seed.
    DemoData {
        /// How much: small (a few hundred records), medium (100k contacts)
        /// or large (1M contacts).
        #[arg(long, value_enum, default_value = "small")]
        size: SizeArg,
        /// The seed of every random choice: the same seed, the same data.
        #[arg(long, default_value_t = relata::engine::demo::DEFAULT_SEED)]
        seed: u64,
        /// Add records even where the entities already have some.
        #[arg(long)]
        force: bool,
    },
    /// Give a user a new, generated password (printed once) and end the
    /// user's sessions.
    ResetPassword {
        /// The username.
        username: String,
    },
    /// Create an API token for a user and print it (it is shown only once).
    CreateToken {
        /// The username.
        username: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
    },
    /// Apply a metadata package as a new release (or print its plan);
    /// destructive steps need `--confirm`, as in the admin API.
    Apply(releases_cli::ApplyArgs),
    /// Check a metadata package and print every error.
    Validate {
        /// The package directory.
        dir: PathBuf,
        /// The package's Rhai scripts (default as for `serve`).
        #[arg(long)]
        scripts: Option<PathBuf>,
    },
    /// Write the JSON Schema of every item kind into a folder.
    Schema {
        /// Output folder.
        #[arg(default_value = "./metadata/schema")]
        out: PathBuf,
    },
    /// List, show, roll back, export or import releases (default: list).
    Releases {
        #[command(subcommand)]
        cmd: Option<releases_cli::ReleasesCmd>,
    },
}

/// The demo sizes, as the command line names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SizeArg {
    Small,
    Medium,
    Large,
}

impl From<SizeArg> for DemoSize {
    fn from(s: SizeArg) -> DemoSize {
        match s {
            SizeArg::Small => DemoSize::Small,
            SizeArg::Medium => DemoSize::Medium,
            SizeArg::Large => DemoSize::Large,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// What is logged unless `RELATA_LOG` says otherwise: what an operator
/// acts on (start, stop, warnings, errors), not each step of start-up.
const DEFAULT_LOG: &str = "info,sqlx=warn,tower_http=info";

/// Logs go to standard error (standard output is for what a command
/// prints: a token, a report), coloured only on a terminal, so that files
/// and pipes get plain text.
fn init_tracing(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELATA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::new(cli.data_dir, cli.database_url);
    config.time_zone = cli.time_zone;
    config.store.lock_wait = std::time::Duration::from_secs(cli.db_lock_wait);
    match cli.command {
        Command::Serve {
            addr,
            metadata,
            scripts,
            secure_cookies,
            admin_password,
            demo,
            header_read_timeout,
            max_connections,
        } => {
            config.secure_cookies = secure_cookies;
            config.connections = relata::web::serve::ConnectionLimits {
                header_read_timeout: std::time::Duration::from_secs(header_read_timeout),
                max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            };
            let app::Prepared { engine, first_admin } =
                app::prepare(&config, &metadata, scripts.as_deref(), admin_password).await?;
            if demo {
                if let Some(report) = app::demo_on_first_start(&engine, &Bar::new()).await? {
                    log_report(&report, DemoSize::Small);
                }
            }
            let server = Server::bind(engine.clone(), addr)
                .await?
                .with_options(config.web_options());
            let bound = server.local_addr().unwrap_or(addr);
            tracing::info!(
                release = engine.model().release,
                "Relata is serving on http://{bound}/app"
            );
            if let Some(first) = first_admin {
                announce_first_admin(&first, bound);
            }
            server.run(app::shutdown_signal()).await.context("server failed")?;
            engine.databases().close().await;
        }
        Command::Apply(args) => {
            let engine = app::open(&config).await?;
            let result = releases_cli::apply(&engine, args).await;
            engine.databases().close().await;
            result?;
        }
        Command::DemoData { size, seed, force } => {
            let engine = app::open(&config).await?;
            let options = DemoOptions {
                size: size.into(),
                seed,
                force,
                owner: app::demo_owner(&engine).await?,
            };
            let report = engine.load_demo(options, &Bar::new()).await;
            engine.databases().close().await;
            print_report(&report?, options.size);
        }
        Command::ResetPassword { username } => {
            let engine = app::open(&config).await?;
            let password = engine.auth().reset_password(&username, None).await?;
            println!("new password of {username}: {password}");
            println!("(shown only now; the user's sessions have ended)");
            engine.databases().close().await;
        }
        Command::CreateToken { username, name } => {
            let engine = app::open(&config).await?;
            let user = engine
                .auth()
                .user(&username)
                .await?
                .with_context(|| format!("no user `{username}`"))?;
            let token = engine.auth().create_token(user.id, &name).await?;
            println!("{}", token.token);
            eprintln!(
                "API token `{}` (id {}) for {}: shown only now; send it as `Authorization: Bearer <token>`",
                token.name, token.id, user.username
            );
            engine.databases().close().await;
        }
        Command::Validate { dir, scripts } => {
            let files = model::read_package(&dir, scripts.as_deref())?;
            relata::engine::validate_package(&files)?;
            println!("{}: {} file(s), no errors", dir.display(), files.len());
        }
        Command::Schema { out } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for kind in model::ITEM_KINDS {
                let schema = model::kind_schema(kind).context("no schema")?;
                let path = out.join(format!("{kind}.schema.json"));
                std::fs::write(&path, serde_json::to_string_pretty(&schema)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
        Command::Releases { cmd } => {
            let engine = app::open(&config).await?;
            let result = releases_cli::run(&engine, cmd.unwrap_or(releases_cli::ReleasesCmd::List)).await;
            engine.databases().close().await;
            result?;
        }
    }
    Ok(())
}

/// Tells, once, how to sign in as the administrator this start created: a
/// block on standard error after the start-up logs, so that a generated
/// password is not lost among them (and stays out of standard output,
/// which scripts read).
fn announce_first_admin(first: &FirstAdmin, addr: SocketAddr) {
    eprint!("{}", first_admin_notice(first, addr));
}

/// The text of [`announce_first_admin`].
fn first_admin_notice(first: &FirstAdmin, addr: SocketAddr) -> String {
    let line = "=".repeat(72);
    let password = match &first.generated_password {
        Some(p) => format!(
            "    password: {p}\n\n\
             Keep it safe: it is not stored anywhere readable and will NOT be shown again.\n\
             (Lost it? `relata reset-password {}` sets a new one.)\n",
            first.username
        ),
        None => "    password: the one given in --admin-password / RELATA_ADMIN_PASSWORD\n".to_owned(),
    };
    format!(
        "\n{line}\n\
         Relata created the first administrator. Sign in at\n\n\
         \x20   http://{addr}/app\n\n\
         \x20   username: {}\n\
         {password}\
         {line}\n\n",
        first.username
    )
}

/// The progress bar of a demo load: on a terminal only.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Bar {
        use std::io::IsTerminal;
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix:>18} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(bar)
    }
}

impl DemoProgress for Bar {
    fn entity(&self, name: &str, rows: u64) {
        self.0.reset();
        self.0.set_length(rows);
        self.0.set_position(0);
        self.0.set_prefix(name.to_owned());
    }

    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }

    fn stage(&self, name: &str, what: &str) {
        self.0.set_prefix(format!("{name}: {what}"));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn print_report(report: &DemoReport, size: DemoSize) {
    for (entity, n) in &report.entities {
        println!("{entity:>20}  {n:>9}");
    }
    println!(
        "demo data ({}): {} records in {:.1} s, {:.0} records/s",
        size.as_str(),
        report.rows,
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
}

/// `serve --demo`: one line, not a table (the server's output is for the
/// operator; `relata demo-data` prints the table).
fn log_report(report: &DemoReport, size: DemoSize) {
    tracing::info!(
        "loaded the {} demo data: {} records of {} entities in {:.1} s",
        size.as_str(),
        report.rows,
        report.entities.len(),
        report.elapsed.as_secs_f64()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_start_notice_says_where_who_and_the_password() {
        let first = FirstAdmin {
            username: "admin".into(),
            generated_password: Some("Abc-def-ghi-jkm-npq".into()),
        };
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("an address");
        let text = first_admin_notice(&first, addr);
        for part in [
            "http://127.0.0.1:8080/app",
            "username: admin",
            "password: Abc-def-ghi-jkm-npq",
            "NOT be shown again",
        ] {
            assert!(text.contains(part), "{part} missing from:\n{text}");
        }
        // The README check reads the password from its own line.
        assert!(text.lines().any(|l| l.trim() == "password: Abc-def-ghi-jkm-npq"));
        let given = FirstAdmin {
            username: "admin".into(),
            generated_password: None,
        };
        assert!(first_admin_notice(&given, addr).contains("RELATA_ADMIN_PASSWORD"));
    }
}
