//! Pick-list values as data (`relata_picklist_value`): all the SQL of
//! pick-list administration and of merging metadata defaults into the table.
//!
//! The merge rule (see docs/metadata/picklist.md): metadata values missing
//! from the table are inserted; a row is never overwritten nor deleted by a
//! release, so an administrator's renames, reorderings and deactivations
//! survive releases and rollbacks. Which values the live release offers is
//! decided when the lists are built (`engine::picklists`): a value only an
//! earlier release defined stays (old records still show its label) but is
//! inactive, and is active again when a release defines it again.

use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::params::{id_param, ts_param};
use crate::store::{BeginWrite as _, Pool, StoreError};

/// The PostgreSQL channel a pick-list change is announced on (`NOTIFY`,
/// sent by the changing transaction, so delivered when it commits).
pub const CHANNEL: &str = "relata_picklists";

/// Rows that merges of earlier versions turned into inactive run-time
/// values when a release removed them from the metadata (a run-time row no
/// administrator ever wrote: administrators' writes set `updated_by`). They
/// were metadata values and are again, active unless metadata said not:
/// the live release decides whether they are offered.
const REPAIR: &str = "UPDATE relata_picklist_value SET origin = $1, active = TRUE \
                      WHERE origin = $2 AND updated_by IS NULL";

const BUMP: &str = "UPDATE relata_picklist_version SET version = version + 1 WHERE id = 1";
const ANNOUNCE: &str = "SELECT pg_notify('relata_picklists', '')";

/// Bumps the change counter inside the changing transaction; on PostgreSQL
/// also announces the change to the other nodes.
macro_rules! bump {
    ($pool:expr, $tx:expr) => {{
        sqlx::query(BUMP).execute(&mut *$tx).await?;
        if matches!($pool, Pool::Postgres(_)) {
            sqlx::query(ANNOUNCE).execute(&mut *$tx).await?;
        }
    }};
}

/// Notices of pick-list changes made by any node (PostgreSQL `LISTEN`).
/// The listener holds a connection of the pool, so it gives up as soon as
/// the pool is closed (a close waits for every connection to come back).
pub struct PicklistNotices {
    listener: sqlx::postgres::PgListener,
    pool: sqlx::PgPool,
}

impl std::fmt::Debug for PicklistNotices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PicklistNotices")
    }
}

impl PicklistNotices {
    /// Waits for the next notice: `true` for a notice, `false` once the
    /// pool is closed (stop listening). A lost connection is reopened by the
    /// next call (notices sent meanwhile are lost: callers also compare
    /// versions from time to time); an error means it could not be.
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

/// Where a value comes from.
pub const ORIGIN_METADATA: &str = "metadata";
/// A value an administrator added, or one a release removed from metadata.
pub const ORIGIN_RUNTIME: &str = "runtime";

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicklistRow {
    /// The pick list.
    pub picklist: String,
    /// The stored code.
    pub code: String,
    /// English label.
    pub label_en: String,
    /// Simplified Chinese label.
    pub label_zh_cn: String,
    /// Sort position within the list.
    pub position: i64,
    /// Offered for new values.
    pub active: bool,
    /// `metadata` or `runtime`.
    pub origin: String,
}

/// A metadata default of one value, in the list's metadata order.
#[derive(Debug, Clone)]
pub struct DefaultValue<'a> {
    /// The stored code.
    pub code: &'a str,
    /// English label.
    pub label_en: &'a str,
    /// Simplified Chinese label.
    pub label_zh_cn: &'a str,
    /// Active when first inserted.
    pub active: bool,
}

/// A value an administrator adds.
#[derive(Debug, Clone)]
pub struct NewValueRow<'a> {
    /// The pick list.
    pub picklist: &'a str,
    /// The stored code (checked by the engine).
    pub code: &'a str,
    /// English label.
    pub label_en: &'a str,
    /// Simplified Chinese label.
    pub label_zh_cn: &'a str,
    /// Who adds it.
    pub by: Option<Uuid>,
    /// Now.
    pub now: OffsetDateTime,
}

/// A change to one value; `None` keeps what is stored.
#[derive(Debug, Clone, Default)]
pub struct ValueChange<'a> {
    /// New English label.
    pub label_en: Option<&'a str>,
    /// New Simplified Chinese label.
    pub label_zh_cn: Option<&'a str>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// Make the value an administrator's (origin `runtime`): set when an
    /// administrator reactivates or deactivates a value the live release
    /// does not define, so that their choice, not the releases', rules it.
    pub adopt: bool,
}

/// The store of pick-list values, in the ED database.
#[derive(Debug, Clone)]
pub struct PicklistStore {
    pool: Pool,
}

const COLUMNS: &str = "picklist, code, label_en, label_zh_cn, position, active, origin";

fn row<R>(r: &R) -> Result<PicklistRow, StoreError>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    i64: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    bool: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(PicklistRow {
        picklist: r.try_get("picklist")?,
        code: r.try_get("code")?,
        label_en: r.try_get("label_en")?,
        label_zh_cn: r.try_get("label_zh_cn")?,
        position: r.try_get("position")?,
        active: r.try_get("active")?,
        origin: r.try_get("origin")?,
    })
}

impl PicklistStore {
    /// A store over the ED pool.
    pub fn new(pool: Pool) -> Self {
        PicklistStore { pool }
    }

    /// Whether the pool was closed (the runtime is shutting down).
    pub fn is_closed(&self) -> bool {
        match &self.pool {
            Pool::Sqlite(p) => p.is_closed(),
            Pool::Postgres(p) => p.is_closed(),
        }
    }

    /// The change counter: it grows with every change to pick-list values.
    pub async fn version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT version FROM relata_picklist_version WHERE id = 1";
        on_pool!(&self.pool, |p| Ok(sqlx::query_scalar::<_, i64>(sql)
            .fetch_optional(p)
            .await?
            .unwrap_or_default()))
    }

    /// Listens for changes announced by any node: `Some` on PostgreSQL,
    /// `None` on SQLite (which has no notifications; versions are polled).
    pub async fn listen(&self) -> Result<Option<PicklistNotices>, StoreError> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
                listener.listen(CHANNEL).await?;
                Ok(Some(PicklistNotices {
                    listener,
                    pool: p.clone(),
                }))
            }
        }
    }

    /// Every stored value, by list and position.
    pub async fn all(&self) -> Result<Vec<PicklistRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM relata_picklist_value ORDER BY picklist, position, code");
        on_pool!(&self.pool, |p| sqlx::query(&sql)
            .fetch_all(p)
            .await?
            .iter()
            .map(row)
            .collect())
    }

    /// Merges the metadata defaults of the lists given into the table, in one
    /// transaction, and returns how many values were inserted. Values are
    /// only inserted (a fresh list in metadata order; a new value of a known
    /// list at its end), never overwritten nor deleted: which values a
    /// release offers is worked out from the release when the lists are
    /// built (see `engine::picklists`), so the table keeps each row's origin
    /// (who created it) and the administrators' labels, order and
    /// deactivations. Idempotent, so a merge a crash interrupted is simply
    /// redone at the next start.
    pub async fn merge_defaults(
        &self,
        lists: &[(&str, Vec<DefaultValue<'_>>)],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let now = ts_param(&self.pool, now);
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            let repaired = sqlx::query(REPAIR)
                .bind(ORIGIN_METADATA)
                .bind(ORIGIN_RUNTIME)
                .execute(&mut *tx)
                .await?;
            let mut inserted = 0;
            for (list, defaults) in lists {
                let stored: Vec<String> =
                    sqlx::query_scalar("SELECT code FROM relata_picklist_value WHERE picklist = $1")
                        .bind(*list)
                        .fetch_all(&mut *tx)
                        .await?;
                let mut position: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM relata_picklist_value WHERE picklist = $1",
                )
                .bind(*list)
                .fetch_one(&mut *tx)
                .await?;
                for d in defaults.iter().filter(|d| !stored.iter().any(|c| c == d.code)) {
                    let done = sqlx::query(
                        "INSERT INTO relata_picklist_value \
                         (picklist, code, label_en, label_zh_cn, position, active, origin, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (picklist, code) DO NOTHING",
                    )
                    .bind(*list)
                    .bind(d.code)
                    .bind(d.label_en)
                    .bind(d.label_zh_cn)
                    .bind(position)
                    .bind(d.active)
                    .bind(ORIGIN_METADATA)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                    inserted += done.rows_affected();
                    position += 1;
                }
            }
            if inserted > 0 || repaired.rows_affected() > 0 {
                bump!(&self.pool, tx);
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }

    /// Adds a value at the end of its list; `Ok(false)` when the code exists.
    pub async fn insert(&self, v: &NewValueRow<'_>) -> Result<bool, StoreError> {
        // The position is computed in the statement, so two adds cannot
        // take the same one.
        let sql = "INSERT INTO relata_picklist_value \
                   (picklist, code, label_en, label_zh_cn, position, active, origin, updated_at, updated_by) \
                   SELECT $1, $2, $3, $4, COALESCE(MAX(position), -1) + 1, $5, $6, $7, $8 \
                   FROM relata_picklist_value WHERE picklist = $1 \
                   ON CONFLICT (picklist, code) DO NOTHING";
        let by = v.by.map(|id| id_param(&self.pool, id));
        let now = ts_param(&self.pool, v.now);
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query(sql)
                .bind(v.picklist)
                .bind(v.code)
                .bind(v.label_en)
                .bind(v.label_zh_cn)
                .bind(true)
                .bind(ORIGIN_RUNTIME)
                .bind(&now)
                .bind(&by)
                .execute(&mut *tx)
                .await?;
            let added = done.rows_affected() == 1;
            if added {
                bump!(&self.pool, tx);
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Changes labels and/or the active flag of one value; `Ok(false)` when
    /// there is no such value.
    pub async fn update(
        &self,
        picklist: &str,
        code: &str,
        change: &ValueChange<'_>,
        by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE relata_picklist_value SET \
                   label_en = COALESCE($3, label_en), label_zh_cn = COALESCE($4, label_zh_cn), \
                   active = COALESCE($5, active), updated_at = $6, updated_by = $7, \
                   origin = CASE WHEN $8 THEN $9 ELSE origin END \
                   WHERE picklist = $1 AND code = $2";
        let by = by.map(|id| id_param(&self.pool, id));
        let now = ts_param(&self.pool, now);
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query(sql)
                .bind(picklist)
                .bind(code)
                .bind(change.label_en)
                .bind(change.label_zh_cn)
                .bind(change.active)
                .bind(&now)
                .bind(&by)
                .bind(change.adopt)
                .bind(ORIGIN_RUNTIME)
                .execute(&mut *tx)
                .await?;
            let updated = done.rows_affected() == 1;
            if updated {
                bump!(&self.pool, tx);
            }
            tx.commit().await?;
            Ok(updated)
        })
    }

    /// Gives the codes of a list the positions 0, 1, 2... in the order
    /// given, in one transaction. The caller checks that `codes` is a
    /// permutation of the list's codes.
    pub async fn reorder(
        &self,
        picklist: &str,
        codes: &[String],
        by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE relata_picklist_value SET position = $3, updated_at = $4, updated_by = $5 \
                   WHERE picklist = $1 AND code = $2";
        let by = by.map(|id| id_param(&self.pool, id));
        let now = ts_param(&self.pool, now);
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            for (position, code) in (0_i64..).zip(codes) {
                sqlx::query(sql)
                    .bind(picklist)
                    .bind(code)
                    .bind(position)
                    .bind(&now)
                    .bind(&by)
                    .execute(&mut *tx)
                    .await?;
            }
            bump!(&self.pool, tx);
            tx.commit().await?;
            Ok(())
        })
    }
}
