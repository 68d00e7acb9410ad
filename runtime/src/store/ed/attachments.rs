//! The rows of `relata_attachments`: which stored file belongs to which
//! record and field. All the SQL of attachments; the bytes themselves are in
//! the [`crate::store::files`] store.

use sea_query::{Alias, Expr, Func, Query, SimpleExpr};
use serde_json::Value as Json;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::values::{format_datetime, parse_datetime};
use crate::store::{Backend, BeginWrite as _, Pool, StoreError};

/// One attachment row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRow {
    /// Id (UUIDv7), also the key of the file in the file store.
    pub id: Uuid,
    /// The entity of the record.
    pub entity: String,
    /// The record.
    pub record_id: Uuid,
    /// The attachment field.
    pub field: String,
    /// The file's name, sanitised.
    pub file_name: String,
    /// The media type it is served with.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
    /// When it was uploaded.
    pub created_at: OffsetDateTime,
    /// Who uploaded it.
    pub created_by: Option<Uuid>,
    /// When it was removed or replaced.
    pub deleted_at: Option<OffsetDateTime>,
}

impl AttachmentRow {
    /// What a reader of the record sees of it.
    pub fn file(&self) -> AttachedFile {
        AttachedFile {
            id: self.id,
            field: self.field.clone(),
            file_name: self.file_name.clone(),
            content_type: self.content_type.clone(),
            size_bytes: self.size_bytes,
            created_at: self.created_at,
        }
    }
}

/// A live file of a record, as read together with the record (see
/// [`files_column`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    /// Id of the attachment row (and key of the file).
    pub id: Uuid,
    /// The attachment field.
    pub field: String,
    /// The file's name, sanitised.
    pub file_name: String,
    /// The media type it is served with.
    pub content_type: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// When it was uploaded.
    pub created_at: OffsetDateTime,
}

/// The columns of a file in the JSON array of [`files_column`], in order.
const FILE_COLUMNS: [&str; 6] = ["id", "field", "file_name", "content_type", "size_bytes", "created_at"];

/// A select-list expression giving, as JSON text, the live files of the row
/// of entity table `table` it is selected with: a correlated sub-select on
/// the `(entity, record_id, field)` index, so that reading a record with its
/// files is one statement, not two round trips.
pub fn files_column(backend: Backend, table: &str) -> SimpleExpr {
    let a = Alias::new("relata_attachments");
    let (row_fn, agg_fn) = match backend {
        Backend::Sqlite => ("json_array", "json_group_array"),
        Backend::Postgres => ("json_build_array", "json_agg"),
    };
    let row = Func::cust(Alias::new(row_fn))
        .args(FILE_COLUMNS.map(|c| SimpleExpr::from(Expr::col((a.clone(), Alias::new(c))))));
    let agg: SimpleExpr = Func::cust(Alias::new(agg_fn)).arg(row).into();
    let agg = match backend {
        Backend::Sqlite => agg,
        Backend::Postgres => agg.cast_as(Alias::new("text")),
    };
    let sub = Query::select()
        .expr(agg)
        .from(a.clone())
        .and_where(Expr::col((a.clone(), Alias::new("entity"))).eq(table))
        .and_where(Expr::col((a.clone(), Alias::new("record_id"))).equals((Alias::new(table), Alias::new("id"))))
        .and_where(Expr::col((a, Alias::new("deleted_at"))).is_null())
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(sub.into_sub_query_statement()))
}

/// Parses what [`files_column`] selected (NULL when there is no file on
/// PostgreSQL), oldest first.
pub fn parse_files(text: Option<&str>) -> Result<Vec<AttachedFile>, StoreError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let bad = || corrupt("(files of a record)", text);
    let rows: Vec<Vec<Json>> = serde_json::from_str(text).map_err(|_| bad())?;
    let mut files = rows
        .iter()
        .map(|r| {
            let s = |i: usize| r.get(i).and_then(Json::as_str).ok_or_else(bad);
            Ok(AttachedFile {
                id: Uuid::parse_str(s(0)?).map_err(|_| bad())?,
                field: s(1)?.to_owned(),
                file_name: s(2)?.to_owned(),
                content_type: s(3)?.to_owned(),
                size_bytes: r.get(4).and_then(Json::as_i64).ok_or_else(bad)?,
                created_at: parse_datetime(s(5)?).ok_or_else(bad)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // UUIDv7 ids sort in upload order.
    files.sort_by_key(|f| f.id);
    Ok(files)
}

/// The store of attachment rows, in the ED database.
#[derive(Debug, Clone)]
pub struct AttachmentRows {
    pool: Pool,
}

const COLUMNS: &str = "id, entity, record_id, field, file_name, content_type, size_bytes, sha256, \
                       created_at, created_by, deleted_at";

fn corrupt(col: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("relata_attachments.{col} holds `{v}`"))
}

fn sqlite_row(r: &SqliteRow) -> Result<AttachmentRow, StoreError> {
    let uuid = |col: &str| -> Result<Uuid, StoreError> {
        let s: String = r.try_get(col)?;
        Uuid::parse_str(&s).map_err(|_| corrupt(col, &s))
    };
    let instant = |col: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        let s: Option<String> = r.try_get(col)?;
        s.map(|s| parse_datetime(&s).ok_or_else(|| corrupt(col, &s)))
            .transpose()
    };
    let created_by: Option<String> = r.try_get("created_by")?;
    Ok(AttachmentRow {
        id: uuid("id")?,
        entity: r.try_get("entity")?,
        record_id: uuid("record_id")?,
        field: r.try_get("field")?,
        file_name: r.try_get("file_name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        created_at: instant("created_at")?.ok_or_else(|| corrupt("created_at", ""))?,
        created_by: created_by
            .map(|s| Uuid::parse_str(&s).map_err(|_| corrupt("created_by", &s)))
            .transpose()?,
        deleted_at: instant("deleted_at")?,
    })
}

fn pg_row(r: &PgRow) -> Result<AttachmentRow, StoreError> {
    Ok(AttachmentRow {
        id: r.try_get("id")?,
        entity: r.try_get("entity")?,
        record_id: r.try_get("record_id")?,
        field: r.try_get("field")?,
        file_name: r.try_get("file_name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        deleted_at: r.try_get("deleted_at")?,
    })
}

const INSERT: &str = "INSERT INTO relata_attachments (id, entity, record_id, field, file_name, content_type, \
                      size_bytes, sha256, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const RETIRE: &str = "UPDATE relata_attachments SET deleted_at = $1 \
                      WHERE entity = $2 AND record_id = $3 AND field = $4 AND deleted_at IS NULL";

impl AttachmentRows {
    /// A store over the ED pool.
    pub fn new(pool: Pool) -> Self {
        AttachmentRows { pool }
    }

    /// Inserts `row`. With `replace`, first marks the live rows of the same
    /// record and field deleted, in the same transaction (a single-file
    /// field then never shows two files, nor none).
    pub async fn insert(&self, row: &AttachmentRow, replace: bool) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_write().await?;
                let now = format_datetime(row.created_at);
                if replace {
                    sqlx::query(RETIRE)
                        .bind(&now)
                        .bind(&row.entity)
                        .bind(row.record_id.to_string())
                        .bind(&row.field)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(INSERT)
                    .bind(row.id.to_string())
                    .bind(&row.entity)
                    .bind(row.record_id.to_string())
                    .bind(&row.field)
                    .bind(&row.file_name)
                    .bind(&row.content_type)
                    .bind(row.size_bytes)
                    .bind(&row.sha256)
                    .bind(&now)
                    .bind(row.created_by.map(|u| u.to_string()))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin_write().await?;
                if replace {
                    sqlx::query(RETIRE)
                        .bind(row.created_at)
                        .bind(&row.entity)
                        .bind(row.record_id)
                        .bind(&row.field)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(INSERT)
                    .bind(row.id)
                    .bind(&row.entity)
                    .bind(row.record_id)
                    .bind(&row.field)
                    .bind(&row.file_name)
                    .bind(&row.content_type)
                    .bind(row.size_bytes)
                    .bind(&row.sha256)
                    .bind(row.created_at)
                    .bind(row.created_by)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// A live (not deleted) attachment by id.
    pub async fn get(&self, id: Uuid) -> Result<Option<AttachmentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM relata_attachments WHERE id = $1 AND deleted_at IS NULL");
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query(&sql)
                .bind(id.to_string())
                .fetch_optional(p)
                .await?
                .map(|r| sqlite_row(&r))
                .transpose(),
            Pool::Postgres(p) => sqlx::query(&sql)
                .bind(id)
                .fetch_optional(p)
                .await?
                .map(|r| pg_row(&r))
                .transpose(),
        }
    }

    /// The live attachments of several records of one entity (a list
    /// page), oldest first, in one query.
    pub async fn list_for(&self, entity: &str, record_ids: &[Uuid]) -> Result<Vec<AttachmentRow>, StoreError> {
        if record_ids.is_empty() {
            return Ok(Vec::new());
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let marks: Vec<String> = (2..record_ids.len() + 2).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT {COLUMNS} FROM relata_attachments \
                     WHERE entity = $1 AND record_id IN ({}) AND deleted_at IS NULL ORDER BY id",
                    marks.join(", ")
                );
                let mut q = sqlx::query(&sql).bind(entity);
                for id in record_ids {
                    q = q.bind(id.to_string());
                }
                q.fetch_all(p).await?.iter().map(sqlite_row).collect()
            }
            Pool::Postgres(p) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM relata_attachments \
                     WHERE entity = $1 AND record_id = ANY($2) AND deleted_at IS NULL ORDER BY id"
                );
                sqlx::query(&sql)
                    .bind(entity)
                    .bind(record_ids)
                    .fetch_all(p)
                    .await?
                    .iter()
                    .map(pg_row)
                    .collect()
            }
        }
    }

    /// Marks a live attachment deleted; false when there was none.
    pub async fn mark_deleted(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        let sql = "UPDATE relata_attachments SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL";
        let done = match &self.pool {
            Pool::Sqlite(p) => sqlx::query(sql)
                .bind(format_datetime(now))
                .bind(id.to_string())
                .execute(p)
                .await?
                .rows_affected(),
            Pool::Postgres(p) => sqlx::query(sql).bind(now).bind(id).execute(p).await?.rows_affected(),
        };
        Ok(done > 0)
    }
}
