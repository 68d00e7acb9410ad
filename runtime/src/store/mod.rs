//! The stores: the business-model (BM) store of releases and the
//! enterprise-data (ED) store of records, on SQLite or PostgreSQL.
//!
//! All SQL lives here. Identifiers in SQL only ever come from a checked
//! [`crate::model::Model`]; values are only ever bound parameters.

/// Runs `$body` with `$p` bound to the pool of either backend, for queries
/// whose text is the same on both (sqlx's types differ per backend).
/// Defined before the modules that use it.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}

pub mod bm;
pub mod ed;
pub mod files;
pub(crate) mod params;
pub mod wal;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection as _;

/// Which database product holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: two files, `bm.db` and `ed.db`.
    Sqlite,
    /// PostgreSQL: one database, schemas `relata_bm` and `relata_ed`.
    Postgres,
}

/// Errors of the storage layer. SQL errors are kept for the logs; the web
/// layer never shows their text to users.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// A migration of Relata's own tables failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The data directory could not be created.
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store holds something this runtime cannot read.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database was too busy to do it now, and the same request
    /// may well succeed a moment later: a lock not obtained within the lock
    /// wait (SQLite `SQLITE_BUSY`/`SQLITE_LOCKED`, PostgreSQL
    /// `lock_not_available`), a transaction PostgreSQL chose to abort
    /// (serialization failure, deadlock), or no pooled connection free in
    /// time. Nothing was written: the transaction was rolled back.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sql(e) => sql_is_busy(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sql_is_busy(e),
            _ => false,
        }
    }
}

fn sql_is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The extended result code; the primary one is its low byte
                // (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, ...).
                let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
                matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)
            } else if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
                matches!(db.code().as_deref(), Some(PG_LOCK_NOT_AVAILABLE | "40001" | "40P01"))
            } else {
                false
            }
        }
        _ => false,
    }
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
/// PostgreSQL's SQLSTATE for a lock not obtained within `lock_timeout`.
const PG_LOCK_NOT_AVAILABLE: &str = "55P03";

/// How the stores wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSettings {
    /// How long a statement waits for a lock another transaction holds
    /// (SQLite's busy timeout, PostgreSQL's `lock_timeout` on the ED
    /// database) before it gives up with an error that
    /// [`StoreError::is_busy`] recognises.
    pub lock_wait: Duration,
}

/// The default [`StoreSettings::lock_wait`].
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }
}

/// Beginning a transaction that writes, the same way on both backends.
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken (waiting up
/// to the busy timeout) when the transaction starts. A deferred `BEGIN`
/// that reads first cannot wait for it later: SQLite refuses its first
/// write at once (`SQLITE_BUSY`, "database is locked", no busy timeout)
/// when another writer committed meanwhile. Plain `Pool::begin` is
/// refused by clippy (`clippy.toml`) so that no write transaction starts
/// deferred by accident.
pub(crate) trait BeginWrite {
    /// The database of the pool.
    type Db: sqlx::Database;
    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send + '_;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send + '_ {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    #[allow(clippy::disallowed_methods)] // PostgreSQL takes row locks as it writes.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send + '_ {
        self.begin()
    }
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// SQLite files in this directory.
    SqliteDir(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// A pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Pool {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Pool {
    /// The backend of this pool.
    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Where a statement runs: straight on the pool (each statement its own
/// transaction), or on the connection of an open transaction.
#[derive(Debug)]
pub enum Db<'a> {
    /// The pool.
    Pool(&'a Pool),
    /// An open SQLite transaction.
    Sqlite(&'a mut sqlx::SqliteConnection),
    /// An open PostgreSQL transaction.
    Postgres(&'a mut sqlx::PgConnection),
}

impl<'a> From<&'a Pool> for Db<'a> {
    fn from(p: &'a Pool) -> Self {
        Db::Pool(p)
    }
}

/// An open transaction on one of the two backends; rolled back when dropped
/// without [`Tx::commit`].
#[derive(Debug)]
pub enum Tx {
    /// SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Begins a transaction on `pool`.
    pub async fn begin(pool: &Pool) -> Result<Tx, StoreError> {
        Ok(match pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_write().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin_write().await?),
        })
    }

    /// Statements in the transaction.
    pub fn db(&mut self) -> Db<'_> {
        match self {
            Tx::Sqlite(t) => Db::Sqlite(t),
            Tx::Postgres(t) => Db::Postgres(t),
        }
    }

    /// Holds the lock named `key` until this transaction ends: transactions
    /// that take the same key run one after another from that point. For a
    /// check that reads rows its write does not touch (a hierarchy walk),
    /// which row locks cannot protect.
    ///
    /// SQLite has nothing to do: an IMMEDIATE transaction holds the
    /// database's write lock from its start. PostgreSQL takes an advisory
    /// transaction lock on a 64-bit hash of the key.
    pub async fn hold(&mut self, key: &str) -> Result<(), StoreError> {
        if let Tx::Postgres(t) = self {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// The schema holding the BM tables on PostgreSQL.
pub const PG_BM_SCHEMA: &str = "relata_bm";
/// The schema holding the ED tables on PostgreSQL.
pub const PG_ED_SCHEMA: &str = "relata_ed";

/// Both databases, connected and migrated.
#[derive(Debug, Clone)]
pub struct Databases {
    /// The business-model database.
    pub bm: Pool,
    /// The enterprise-data database.
    pub ed: Pool,
    schema_epoch: SchemaEpoch,
    /// The ED database's WAL checkpoints (SQLite), stopped with the last
    /// clone.
    checkpointer: Option<Arc<wal::Checkpointer>>,
}

/// When the ED schema last changed, so that PostgreSQL connections opened
/// before are retired: their cached statements may describe result types the
/// DDL changed ("cached plan must not change result type"). SQLite re-prepares
/// by itself.
#[derive(Debug, Clone)]
struct SchemaEpoch {
    base: Instant,
    changed_nanos: Arc<AtomicU64>,
}

impl SchemaEpoch {
    fn new() -> Self {
        SchemaEpoch {
            base: Instant::now(),
            changed_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    fn mark(&self) {
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.changed_nanos.store(now.max(1), Ordering::Release);
    }

    /// Whether a connection of this age predates the last schema change.
    fn is_stale(&self, age: Duration) -> bool {
        let changed = self.changed_nanos.load(Ordering::Acquire);
        if changed == 0 {
            return false;
        }
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let age = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
        now.saturating_sub(age) < changed
    }
}

impl Databases {
    /// Connects to both databases and runs Relata's own migrations, with
    /// the default [`StoreSettings`].
    pub async fn open(location: &Location) -> Result<Databases, StoreError> {
        Databases::open_with(location, StoreSettings::default()).await
    }

    /// Connects to both databases and runs Relata's own migrations.
    pub async fn open_with(location: &Location, settings: StoreSettings) -> Result<Databases, StoreError> {
        let schema_epoch = SchemaEpoch::new();
        let wait = settings.lock_wait;
        let dbs = match location {
            Location::SqliteDir(dir) => {
                let ed = wal::scheduled(sqlite_options(dir, "ed.db", wait)?);
                Databases {
                    bm: Pool::Sqlite(sqlite_pool(sqlite_options(dir, "bm.db", wait)?, 2, wait).await?),
                    ed: Pool::Sqlite(sqlite_pool(ed.clone(), 8, wait).await?),
                    schema_epoch,
                    checkpointer: Some(Arc::new(wal::Checkpointer::start(ed))),
                }
            }
            Location::Postgres(url) => Databases {
                bm: Pool::Postgres(pg_pool(url, PG_BM_SCHEMA, 4, None, wait).await?),
                ed: Pool::Postgres(pg_pool(url, PG_ED_SCHEMA, 16, Some(schema_epoch.clone()), wait).await?),
                schema_epoch,
                checkpointer: None,
            },
        };
        dbs.migrate().await?;
        Ok(dbs)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.bm {
            Pool::Sqlite(p) => sqlx::migrate!("../migrations/sqlite/bm").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("../migrations/postgres/bm").run(p).await?,
        }
        match &self.ed {
            Pool::Sqlite(p) => sqlx::migrate!("../migrations/sqlite/ed").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("../migrations/postgres/ed").run(p).await?,
        }
        Ok(())
    }

    /// The backend both databases are on.
    pub fn backend(&self) -> Backend {
        self.ed.backend()
    }

    /// Records that the ED schema just changed: pooled connections opened
    /// before are retired as they are next acquired.
    pub fn mark_schema_changed(&self) {
        self.schema_epoch.mark();
    }

    /// Closes both pools (and stops the checkpoints).
    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
        self.bm.close().await;
        self.ed.close().await;
    }
}

/// How every connection to the SQLite file `file` in `dir` is opened: a
/// statement that meets another connection's lock waits up to `lock_wait`.
fn sqlite_options(dir: &Path, file: &str, lock_wait: Duration) -> Result<SqliteConnectOptions, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
        path: dir.to_owned(),
        source,
    })?;
    Ok(SqliteConnectOptions::new()
        .filename(dir.join(file))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(lock_wait)
        .pragma("temp_store", "memory")
        .statement_cache_capacity(512))
}

async fn sqlite_pool(options: SqliteConnectOptions, max: u32, wait: Duration) -> Result<SqlitePool, StoreError> {
    Ok(SqlitePoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        // A request that finds every connection in use waits for one as
        // long as for a lock, then gets the same "busy, try again" answer.
        .acquire_timeout(wait)
        // A connection to a local file does not go stale; the default ping
        // on every acquire is a round trip to the connection's thread per
        // statement.
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(async move { ed::stats::on_sqlite_connect(conn).await }))
        .connect_with(options)
        .await?)
}

async fn pg_pool(
    url: &str,
    schema: &str,
    max: u32,
    epoch: Option<SchemaEpoch>,
    wait: Duration,
) -> Result<PgPool, StoreError> {
    // The schema must exist before a connection can put it on its search path.
    let base = PgConnectOptions::from_str(url)?;
    let setup = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(base.clone())
        .await?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&setup)
        .await?;
    setup.close().await;
    // A statement waits for a lock as long as on SQLite, then fails with
    // `lock_not_available` (a "busy, try again" answer) rather than
    // waiting for ever behind a stuck transaction. Schema changes set
    // their own, shorter, wait (`SET LOCAL`).
    let lock_timeout = format!("{}ms", wait.as_millis().max(1));
    let options = base
        .options([("search_path", schema), ("lock_timeout", lock_timeout.as_str())])
        .statement_cache_capacity(512);
    // sqlx pings a pooled connection before every use by default: a round
    // trip per statement. A connection in steady use is known to be alive;
    // one that sat idle may have been cut (a server restart, a firewall), so
    // only those are pinged, and dropped if the ping fails.
    let pool = PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(wait)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            let stale_schema = epoch.as_ref().is_some_and(|e| e.is_stale(meta.age));
            Box::pin(async move {
                if stale_schema {
                    return Ok(false);
                }
                Ok(meta.idle_for < PG_PING_AFTER_IDLE || conn.ping().await.is_ok())
            })
        });
    Ok(pool.connect_with(options).await?)
}

/// How long a pooled PostgreSQL connection may sit idle and still be used
/// without a ping first.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(2);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn sqlite_with(wait: Duration) -> (tempfile::TempDir, Databases) {
        let dir = tempfile::tempdir().unwrap();
        let dbs = Databases::open_with(
            &Location::SqliteDir(dir.path().to_owned()),
            StoreSettings { lock_wait: wait },
        )
        .await
        .unwrap();
        (dir, dbs)
    }

    /// A write transaction that reads first (a release takes the next
    /// number, then inserts it) and a write that comes between its read
    /// and its write both succeed: the latter waits for the former. (A
    /// deferred `BEGIN` let the other write commit in between, and the
    /// transaction's own write then failed at once with "database is
    /// locked", without waiting.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_transaction_that_reads_first_is_not_refused() {
        let (_dir, dbs) = sqlite_with(Duration::from_secs(10)).await;
        let Pool::Sqlite(ed) = dbs.ed.clone() else {
            panic!("not SQLite")
        };
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(&ed).await.unwrap();
        let mut tx = ed.begin_write().await.unwrap();
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(x), 0) + 1 FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let other = {
            let ed = ed.clone();
            tokio::spawn(async move { sqlx::query("INSERT INTO t VALUES (100)").execute(&ed).await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query("INSERT INTO t VALUES ($1)")
            .bind(next)
            .execute(&mut *tx)
            .await
            .expect("the transaction's write, not `database is locked`");
        tx.commit().await.unwrap();
        other.await.unwrap().expect("the other write, after the transaction");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(&ed)
            .await
            .unwrap();
        assert_eq!(rows, [1, 100]);
        dbs.close().await;
    }

    /// A write that waits for the lock longer than the lock wait fails
    /// with an error recognised as "busy" (the web edge answers 503), on
    /// SQLite and PostgreSQL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lock_held_past_the_wait_is_busy() {
        let (_dir, dbs) = sqlite_with(Duration::from_millis(200)).await;
        let Pool::Sqlite(ed) = &dbs.ed else {
            panic!("not SQLite")
        };
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(ed).await.unwrap();
        let mut holder = ed.begin_write().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *holder)
            .await
            .unwrap();
        let err = StoreError::from(sqlx::query("INSERT INTO t VALUES (2)").execute(ed).await.unwrap_err());
        assert!(err.is_busy(), "{err}");
        holder.rollback().await.unwrap();
        assert!(!StoreError::Corrupt("x".into()).is_busy());
        let refused = sqlx::query("INSERT INTO nope VALUES (1)")
            .execute(ed)
            .await
            .unwrap_err();
        assert!(!StoreError::from(refused).is_busy());
        dbs.close().await;

        let Some(url) = relata_testkit::pg::fresh_database()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
        else {
            return;
        };
        let settings = StoreSettings {
            lock_wait: Duration::from_millis(200),
        };
        let dbs = Databases::open_with(&Location::Postgres(url), settings).await.unwrap();
        let Pool::Postgres(ed) = &dbs.ed else {
            panic!("not PostgreSQL")
        };
        sqlx::query("CREATE TABLE t (x INTEGER)").execute(ed).await.unwrap();
        let mut holder = ed.begin_write().await.unwrap();
        sqlx::query("LOCK TABLE t IN EXCLUSIVE MODE")
            .execute(&mut *holder)
            .await
            .unwrap();
        let err = StoreError::from(sqlx::query("INSERT INTO t VALUES (2)").execute(ed).await.unwrap_err());
        assert!(err.is_busy(), "{err}");
        holder.rollback().await.unwrap();
        dbs.close().await;
    }

    /// A pooled connection cut by the server while idle (a restart, a
    /// firewall) is found by the ping before use and replaced: the next
    /// statement does not fail.
    #[tokio::test]
    async fn an_idle_postgres_connection_cut_by_the_server_is_replaced() {
        let Some(url) = relata_testkit::pg::fresh_database()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
        else {
            return;
        };
        let dbs = Databases::open(&Location::Postgres(url.clone())).await.unwrap();
        let Pool::Postgres(ed) = &dbs.ed else {
            panic!("not PostgreSQL")
        };
        let pid = "SELECT pg_backend_pid()";
        let before: i32 = sqlx::query_scalar(pid).fetch_one(ed).await.unwrap();
        let admin = PgPool::connect(&url).await.unwrap();
        // Every connection to the database but this one: whichever the
        // pool hands out next was cut.
        let cut: Vec<(i32, bool)> = sqlx::query_as(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(cut.contains(&(before, true)), "{cut:?}");
        tokio::time::sleep(PG_PING_AFTER_IDLE + Duration::from_millis(300)).await;
        let after: i32 = sqlx::query_scalar(pid)
            .fetch_one(ed)
            .await
            .expect("the pool should replace the connection the server cut");
        assert_ne!(before, after);
        admin.close().await;
        dbs.close().await;
    }
}
