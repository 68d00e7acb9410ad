//! Wiring: open the stores, start the engine, serve HTTP until told to stop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::engine::auth::{check_password, FirstAdmin};
use crate::engine::{
    ApplyError, ApplyOutcome, ApplyRequest, AttachmentSettings, AuthError, AuthSettings, Engine, EngineSettings, Limits,
};
use crate::model::zone::Zone;
use crate::model::{read_package, MetadataErrors};
use crate::store::{Databases, Location, StoreError, StoreSettings};
use crate::web::serve::ConnectionLimits;
use crate::web::WebOptions;

/// How often pick lists are compared with the database by default.
pub const DEFAULT_PICKLIST_POLL: Duration = Duration::from_secs(5);
/// How often the live release is compared with the database by default.
pub const DEFAULT_RELEASE_POLL: Duration = Duration::from_secs(1);

/// Everything the runtime is configured with, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the data lives.
    pub location: Location,
    /// Limits of the record API.
    pub limits: Limits,
    /// Session lifetimes and the credential cache.
    pub auth: AuthSettings,
    /// Mark cookies `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// Where attachment files go (`<data-dir>/attachments`, on every
    /// backend) and the largest file accepted.
    pub attachments: AttachmentSettings,
    /// How often a node compares its pick lists with the database (the
    /// fallback of PostgreSQL's notifications, the only way on SQLite).
    pub picklist_poll: Duration,
    /// How often a node compares the live release with the one it serves
    /// (the fallback of PostgreSQL's notifications, the only way on SQLite).
    pub release_poll: Duration,
    /// The installation's time zone (UTC unless set).
    pub time_zone: Zone,
    /// How long a database statement waits for a lock (then: 503).
    pub store: StoreSettings,
    /// The header read timeout and the connection cap of the HTTP server.
    pub connections: ConnectionLimits,
}

impl Config {
    /// SQLite under `data_dir`, or PostgreSQL when a URL is given.
    pub fn new(data_dir: PathBuf, database_url: Option<String>) -> Config {
        let attachments = AttachmentSettings::under(&data_dir);
        let location = match database_url {
            Some(url) if !url.is_empty() => Location::Postgres(url),
            _ => Location::SqliteDir(data_dir),
        };
        Config {
            location,
            limits: Limits::default(),
            auth: AuthSettings::default(),
            secure_cookies: false,
            attachments,
            picklist_poll: DEFAULT_PICKLIST_POLL,
            release_poll: DEFAULT_RELEASE_POLL,
            time_zone: Zone::utc(),
            store: StoreSettings::default(),
            connections: ConnectionLimits::default(),
        }
    }

    /// The options of the HTTP edge.
    pub fn web_options(&self) -> WebOptions {
        WebOptions {
            secure_cookies: self.secure_cookies,
            connections: self.connections,
        }
    }
}

/// Why the runtime could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Applying a release failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Signing in, users or tokens failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Loading demo data failed.
    #[error(transparent)]
    Demo(#[from] crate::engine::demo::DemoError),
    /// Reading the package failed.
    #[error(transparent)]
    Metadata(#[from] MetadataErrors),
    /// The first administrator's password (`--admin-password`,
    /// `RELATA_ADMIN_PASSWORD`) breaks the password policy.
    #[error("the administrator password (--admin-password or RELATA_ADMIN_PASSWORD) is not acceptable: {0}; nothing was written")]
    AdminPassword(AuthError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the databases and starts the engine.
pub async fn open(config: &Config) -> Result<Arc<Engine>, AppError> {
    let dbs = Databases::open_with(&config.location, config.store).await?;
    let settings = EngineSettings {
        limits: config.limits,
        auth: config.auth,
        attachments: config.attachments.clone(),
        time_zone: config.time_zone.clone(),
    };
    let engine = Engine::start(dbs, settings).await?;
    engine.watch_picklists(config.picklist_poll);
    engine.watch_releases(config.release_poll);
    Ok(engine)
}

/// A server's state before it binds: the engine, and the first
/// administrator when this start created it.
pub struct Prepared {
    /// The started engine.
    pub engine: Arc<Engine>,
    /// The administrator created now (no user existed), with the generated
    /// password when none was given.
    pub first_admin: Option<FirstAdmin>,
}

/// What `serve` does before it listens: checks the administrator password
/// it was given (first, so that a refused one leaves the data directory
/// untouched), opens the stores, applies the package as release 1 when the
/// business model is empty, and creates the first administrator when no
/// user exists.
pub async fn prepare(
    config: &Config,
    metadata: &Path,
    scripts: Option<&Path>,
    admin_password: Option<String>,
) -> Result<Prepared, AppError> {
    let admin_password = admin_password.filter(|p| !p.is_empty());
    if let Some(p) = &admin_password {
        check_password(p).map_err(AppError::AdminPassword)?;
    }
    let engine = open(config).await?;
    bootstrap(&engine, metadata, scripts).await?;
    let first_admin = engine.auth().ensure_first_admin(admin_password).await?;
    Ok(Prepared { engine, first_admin })
}

/// Applies the package in `dir` (with its scripts found the default way,
/// see [`read_package`]) as a new release.
pub async fn apply_dir(
    engine: &Engine,
    dir: &Path,
    author: &str,
    comment: &str,
    plan_only: bool,
) -> Result<ApplyOutcome, AppError> {
    apply_package(engine, dir, None, author, comment, plan_only).await
}

/// Applies the package in `dir`, with the Rhai scripts of `scripts` (or
/// found the default way), as a new release.
pub async fn apply_package(
    engine: &Engine,
    dir: &Path,
    scripts: Option<&Path>,
    author: &str,
    comment: &str,
    plan_only: bool,
) -> Result<ApplyOutcome, AppError> {
    let files = read_package(dir, scripts)?;
    let req = ApplyRequest {
        files,
        author: author.to_owned(),
        comment: comment.to_owned(),
        plan_only,
    };
    Ok(engine.apply(req).await?)
}

/// Applies `dir` as the first release when the business model is empty.
pub async fn bootstrap(engine: &Engine, dir: &Path, scripts: Option<&Path>) -> Result<(), AppError> {
    if !engine.has_release().await? {
        let outcome = apply_package(
            engine,
            dir,
            scripts,
            "relata",
            "initial release from the stock application",
            false,
        )
        .await?;
        tracing::info!(release = ?outcome.release, dir = %dir.display(), "applied the first release");
    }
    Ok(())
}

/// Who owns demo records: the first administrator, when there is one.
pub async fn demo_owner(engine: &Engine) -> Result<Option<uuid::Uuid>, AppError> {
    Ok(engine
        .auth()
        .user(crate::engine::auth::FIRST_ADMIN)
        .await?
        .map(|u| u.id))
}

/// `serve --demo`: loads the `small` demo data (default seed, owned by the
/// first administrator) unless the demo entities already have records, as
/// they do after the first start. `None` when nothing was loaded.
pub async fn demo_on_first_start(
    engine: &Engine,
    progress: &dyn crate::engine::demo::DemoProgress,
) -> Result<Option<crate::engine::demo::DemoReport>, AppError> {
    use crate::engine::demo::{DemoError, DemoOptions, DemoSize, DEFAULT_SEED};
    let options = DemoOptions {
        size: DemoSize::Small,
        seed: DEFAULT_SEED,
        force: false,
        owner: demo_owner(engine).await?,
    };
    match engine.load_demo(options, progress).await {
        Ok(report) => Ok(Some(report)),
        Err(DemoError::NotEmpty(_)) => {
            tracing::info!("the demo entities have records already: no demo data loaded");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    engine: Arc<Engine>,
    options: WebOptions,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(engine: Arc<Engine>, addr: SocketAddr) -> Result<Server, AppError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| AppError::Bind { addr, source })?;
        Ok(Server {
            listener,
            engine,
            options: WebOptions::default(),
        })
    }

    /// Sets the options of the HTTP edge (cookie flags, connection limits).
    pub fn with_options(mut self, options: WebOptions) -> Server {
        self.options = options;
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let limits = self.options.connections;
        let app = crate::web::router_with(self.engine, self.options);
        crate::web::serve::serve(self.listener, app, limits, shutdown).await;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
