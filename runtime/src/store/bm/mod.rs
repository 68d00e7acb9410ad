//! The business-model store: numbered, immutable releases of the metadata,
//! one row per item, and the pointer to the active one.

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use super::params::{ts_param, TsParam};
use super::{BeginWrite as _, Pool, StoreError};
use crate::model::SourceFile;

/// A release as listed: everything but its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseInfo {
    /// The release number, 1, 2, 3 ...
    pub number: i64,
    /// Who made it.
    pub author: String,
    /// Why.
    pub comment: String,
    /// SHA-256 over the items, in hex.
    pub checksum: String,
    /// When it was recorded (RFC 3339, UTC).
    pub created_at: String,
    /// `pending` (being applied), `applied` or `failed`.
    pub status: String,
    /// The release that was active when this one was made.
    pub parent: Option<i64>,
    /// Why it failed, for a failed release.
    pub failure: Option<String>,
}

/// One item of a release, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// The item's kind.
    pub kind: String,
    /// The item's name.
    pub name: String,
    /// The file it came from, relative to the package root.
    pub path: String,
    /// Canonical JSON of the item.
    pub body: String,
    /// The YAML as authored.
    pub source: String,
}

impl StoredItem {
    /// The item as a package file, to load it back.
    pub fn to_source_file(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            text: self.source.clone(),
        }
    }
}

/// What a new release is made of.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    /// Who makes it.
    pub author: &'a str,
    /// Why.
    pub comment: &'a str,
    /// Checksum over the items.
    pub checksum: &'a str,
    /// The release it was made on top of (the active one).
    pub parent: Option<i64>,
    /// The items.
    pub items: &'a [StoredItem],
}

/// The business-model store.
#[derive(Debug, Clone)]
pub struct BmStore {
    pool: Pool,
}

/// Reads a [`ReleaseInfo`] out of a row of either backend.
macro_rules! release_info {
    ($r:expr) => {
        ReleaseInfo {
            number: $r.try_get("number")?,
            author: $r.try_get("author")?,
            comment: $r.try_get("comment")?,
            checksum: $r.try_get("checksum")?,
            created_at: $r.try_get("created_at")?,
            status: $r.try_get("status")?,
            parent: $r.try_get("parent")?,
            failure: $r.try_get("failure")?,
        }
    };
}

mod audit;

pub use audit::{AuditAction, AuditEntry, NewAudit};

/// The PostgreSQL channel a new live release is announced on (`NOTIFY`,
/// sent by the activating transaction, so delivered when it commits).
pub const CHANNEL: &str = "relata_releases";

/// Notices of releases made live by any process (PostgreSQL `LISTEN`).
/// The listener holds a connection of the pool, so it gives up as soon as
/// the pool is closed.
pub struct ReleaseNotices {
    listener: sqlx::postgres::PgListener,
    pool: sqlx::PgPool,
}

impl std::fmt::Debug for ReleaseNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReleaseNotices")
    }
}

impl ReleaseNotices {
    /// Waits for the next notice: `true` for a notice, `false` once the
    /// pool is closed. A lost connection is reopened by the next call
    /// (notices sent meanwhile are lost: callers also poll).
    pub async fn next(&mut self) -> Result<bool, StoreError> {
        match self.pool.close_event().do_until(self.listener.recv()).await {
            Ok(received) => {
                received?;
                Ok(true)
            }
            Err(_closed) => Ok(false),
        }
    }
}

impl BmStore {
    /// A store over the BM pool.
    pub fn new(pool: Pool) -> Self {
        BmStore { pool }
    }

    /// Records a new release, status `pending`, and returns its number.
    pub async fn insert_pending(&self, release: &NewRelease<'_>) -> Result<i64, StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            let number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM releases")
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(&self.sql(
                "INSERT INTO releases (number, author, comment, checksum, created_at, status, parent) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
            ))
            .bind(number)
            .bind(release.author)
            .bind(release.comment)
            .bind(release.checksum)
            .bind(self.ts(now))
            .bind(release.parent)
            .execute(&mut *tx)
            .await?;
            let insert_item = self.sql(
                "INSERT INTO release_items (release, kind, name, path, body, source) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            );
            for item in release.items {
                sqlx::query(&insert_item)
                    .bind(number)
                    .bind(&item.kind)
                    .bind(&item.name)
                    .bind(&item.path)
                    .bind(&item.body)
                    .bind(&item.source)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(number)
        })
    }

    /// Marks a pending release applied and makes it the active one.
    pub async fn activate(&self, number: i64, by: &str) -> Result<(), StoreError> {
        self.activate_audited(number, by, None).await
    }

    /// Like [`BmStore::activate`], writing `audit` (if any) in the same
    /// transaction, so the trail never misses or invents an activation.
    pub async fn activate_audited(
        &self,
        number: i64,
        by: &str,
        audit: Option<&NewAudit<'_>>,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            if let Some(a) = audit {
                sqlx::query(&self.audit_insert_sql())
                    .bind(a.action.as_str())
                    .bind(by)
                    .bind(self.ts(now))
                    .bind(a.from_release)
                    .bind(number)
                    .bind(a.comment)
                    .bind(a.summary.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE releases SET status = 'applied' WHERE number = $1")
                .bind(number)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&self.sql(
                "INSERT INTO active_release (singleton, release, activated_at, activated_by) \
                 VALUES (1, $1, $2, $3) ON CONFLICT (singleton) DO UPDATE SET \
                 release = excluded.release, activated_at = excluded.activated_at, \
                 activated_by = excluded.activated_by",
            ))
            .bind(number)
            .bind(self.ts(now))
            .bind(by)
            .execute(&mut *tx)
            .await?;
            if matches!(self.pool, Pool::Postgres(_)) {
                sqlx::query("SELECT pg_notify('relata_releases', '')")
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Listens for releases made live by any process: `Some` on
    /// PostgreSQL, `None` on SQLite (which has no notifications; the live
    /// release is polled).
    pub async fn listen(&self) -> Result<Option<ReleaseNotices>, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
                listener.listen(CHANNEL).await?;
                Ok(Some(ReleaseNotices {
                    listener,
                    pool: p.clone(),
                }))
            }
        }
    }

    /// Whether the pool was closed (the runtime is shutting down).
    pub fn is_closed(&self) -> bool {
        match &self.pool {
            Pool::Sqlite(p) => p.is_closed(),
            Pool::Postgres(p) => p.is_closed(),
        }
    }

    /// Marks a pending release failed, with the reason.
    pub async fn mark_failed(&self, number: i64, why: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |p| {
            sqlx::query("UPDATE releases SET status = 'failed', failure = $2 WHERE number = $1 AND status = 'pending'")
                .bind(number)
                .bind(why)
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// The active release's number, if any release was ever applied.
    pub async fn active(&self) -> Result<Option<i64>, StoreError> {
        on_pool!(&self.pool, |p| {
            Ok(
                sqlx::query_scalar("SELECT release FROM active_release WHERE singleton = 1")
                    .fetch_optional(p)
                    .await?,
            )
        })
    }

    /// The number the next release will get.
    pub async fn next_number(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, |p| {
            Ok(sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM releases")
                .fetch_one(p)
                .await?)
        })
    }

    /// Every release, newest first.
    pub async fn list(&self) -> Result<Vec<ReleaseInfo>, StoreError> {
        let sql = format!("SELECT {} FROM releases ORDER BY number DESC", self.info_columns());
        on_pool!(&self.pool, |p| {
            let rows = sqlx::query(&sql).fetch_all(p).await?;
            rows.iter().map(|r| Ok(release_info!(r))).collect()
        })
    }

    /// One release, if it exists.
    pub async fn get(&self, number: i64) -> Result<Option<ReleaseInfo>, StoreError> {
        let sql = format!("SELECT {} FROM releases WHERE number = $1", self.info_columns());
        on_pool!(&self.pool, |p| {
            match sqlx::query(&sql).bind(number).fetch_optional(p).await? {
                Some(r) => Ok(Some(release_info!(r))),
                None => Ok(None),
            }
        })
    }

    /// The items of a release, ordered by kind and name.
    pub async fn items(&self, number: i64) -> Result<Vec<StoredItem>, StoreError> {
        let body = match self.pool {
            Pool::Sqlite(_) => "body",
            Pool::Postgres(_) => "body::text",
        };
        let sql = format!(
            "SELECT kind, name, path, {body} AS body, source FROM release_items \
             WHERE release = $1 ORDER BY kind, name"
        );
        on_pool!(&self.pool, |p| {
            let rows = sqlx::query(&sql).bind(number).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    Ok(StoredItem {
                        kind: r.try_get("kind")?,
                        name: r.try_get("name")?,
                        path: r.try_get("path")?,
                        body: r.try_get("body")?,
                        source: r.try_get("source")?,
                    })
                })
                .collect()
        })
    }

    fn info_columns(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "number, author, comment, checksum, created_at, status, parent, failure",
            Pool::Postgres(_) => {
                "number, author, comment, checksum, \
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, status, parent, failure"
            }
        }
    }

    /// SQLite accepts `$1` placeholders too; PostgreSQL needs the JSONB cast
    /// for the item body.
    fn sql(&self, sql: &str) -> String {
        match self.pool {
            Pool::Sqlite(_) => sql.to_owned(),
            Pool::Postgres(_) => sql.replace("$5, $6)", "$5::jsonb, $6)"),
        }
    }

    fn ts(&self, t: OffsetDateTime) -> TsParam {
        ts_param(&self.pool, t)
    }
}
