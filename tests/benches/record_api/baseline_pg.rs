//! The hand-written baseline on PostgreSQL: one `contact` table, typed rows,
//! runtime `sqlx::query_as`, no metadata. The pool's search path already
//! points at the ED schema.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::shared::{date_fmt, db_error, error, etag, if_match, ContactPatch, ListQuery, NewContact, Page, Photo};

macro_rules! columns {
    () => {
        "id, created_at, created_by, updated_at, updated_by, owner_id, row_version, deleted_at, \
         full_name, salutation, company, job_title, department, reports_to, email, phone, mobile, \
         preferred_channel, city, territory, birthday, anniversary, key_contact, last_contacted_at, \
         do_not_call, relationship_notes"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO contact (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26) RETURNING ",
    columns!()
);
const GET: &str = concat!(
    "SELECT ",
    columns!(),
    ", ",
    "(SELECT json_agg(json_build_array(a.id, a.field, a.file_name, a.content_type, a.size_bytes, \
         a.created_at))::text FROM relata_attachments a WHERE a.entity = 'contact' AND a.record_id = contact.id \
         AND a.deleted_at IS NULL) AS photo",
    " FROM contact WHERE id = $1 AND deleted_at IS NULL"
);
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM contact WHERE city = $1 AND deleted_at IS NULL ORDER BY full_name, id LIMIT 51"
);
const UPDATE: &str = concat!(
    "UPDATE contact SET job_title = $1, updated_at = $2, row_version = row_version + 1 \
     WHERE id = $3 AND row_version = $4 AND deleted_at IS NULL RETURNING ",
    columns!()
);

/// A contact row.
#[derive(Debug, sqlx::FromRow, Serialize)]
pub struct Contact {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub updated_by: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub row_version: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    pub full_name: String,
    pub salutation: Option<String>,
    pub company: Option<Uuid>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub reports_to: Option<Uuid>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub preferred_channel: Option<String>,
    pub city: Option<String>,
    pub territory: Option<Uuid>,
    #[serde(with = "date_fmt::option")]
    pub birthday: Option<Date>,
    #[serde(with = "date_fmt::option")]
    pub anniversary: Option<Date>,
    pub key_contact: Option<bool>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_contacted_at: Option<OffsetDateTime>,
    pub do_not_call: Option<bool>,
    pub relationship_notes: Option<String>,
}

/// A contact row with its photo files (what `GET /contacts/{id}` selects).
#[derive(Debug, sqlx::FromRow, Serialize)]
pub struct ContactWithPhoto {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub contact: Contact,
    #[serde(skip)]
    #[sqlx(rename = "photo")]
    pub photo_json: Option<String>,
    #[sqlx(skip)]
    pub photo: Photo,
}

/// The routes: `/contacts` and `/contacts/{id}`.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/contacts", post(create).get(list))
        .route("/contacts/{id}", get(get_one).patch(update))
        .with_state(pool)
}

fn one(status: StatusCode, c: Contact) -> Response {
    (status, etag(c.row_version), Json(c)).into_response()
}

fn with_photo(mut c: ContactWithPhoto) -> Response {
    match Photo::parse(c.photo_json.as_deref()) {
        Ok(photo) => c.photo = photo,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
    (StatusCode::OK, etag(c.contact.row_version), Json(c)).into_response()
}

async fn create(State(pool): State<PgPool>, Json(new): Json<NewContact>) -> Response {
    let now = OffsetDateTime::now_utc();
    let row = sqlx::query_as::<_, Contact>(INSERT)
        .bind(Uuid::now_v7())
        .bind(now)
        .bind(None::<Uuid>)
        .bind(now)
        .bind(None::<Uuid>)
        .bind(None::<Uuid>)
        .bind(1_i64)
        .bind(None::<OffsetDateTime>)
        .bind(new.full_name)
        .bind(new.salutation)
        .bind(new.company)
        .bind(new.job_title)
        .bind(new.department)
        .bind(None::<Uuid>)
        .bind(new.email)
        .bind(new.phone)
        .bind(new.mobile)
        .bind(new.preferred_channel.unwrap_or_else(|| "email".to_owned()))
        .bind(new.city)
        .bind(None::<Uuid>)
        .bind(new.birthday)
        .bind(None::<Date>)
        .bind(false)
        .bind(new.last_contacted_at)
        .bind(new.do_not_call.unwrap_or(false))
        .bind(new.relationship_notes)
        .fetch_one(&pool)
        .await;
    match row {
        Ok(c) => one(StatusCode::CREATED, c),
        Err(e) => db_error(e),
    }
}

async fn get_one(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Response {
    match sqlx::query_as::<_, ContactWithPhoto>(GET)
        .bind(id)
        .fetch_optional(&pool)
        .await
    {
        Ok(Some(c)) => with_photo(c),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", format!("no contact with id {id}")),
        Err(e) => db_error(e),
    }
}

async fn list(State(pool): State<PgPool>, Query(q): Query<ListQuery>) -> Response {
    match sqlx::query_as::<_, Contact>(LIST).bind(q.city).fetch_all(&pool).await {
        Ok(mut rows) => {
            rows.truncate(50);
            Json(Page { data: rows }).into_response()
        }
        Err(e) => db_error(e),
    }
}

async fn update(
    State(pool): State<PgPool>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(patch): Json<ContactPatch>,
) -> Response {
    let Some(version) = if_match(&headers) else {
        return error(StatusCode::PRECONDITION_REQUIRED, "if_match_required", "send If-Match");
    };
    let row = sqlx::query_as::<_, Contact>(UPDATE)
        .bind(patch.job_title)
        .bind(OffsetDateTime::now_utc())
        .bind(id)
        .bind(version)
        .fetch_optional(&pool)
        .await;
    match row {
        Ok(Some(c)) => one(StatusCode::OK, c),
        Ok(None) => error(
            StatusCode::CONFLICT,
            "version_conflict",
            "the contact changed or does not exist",
        ),
        Err(e) => db_error(e),
    }
}
