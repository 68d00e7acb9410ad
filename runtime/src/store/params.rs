//! Parameters bound as each backend stores them: instants as RFC 3339 text
//! and ids as hyphenated text on SQLite, TIMESTAMPTZ and UUID on PostgreSQL.
//! Shared by the hand-written SQL of Relata's own tables (releases,
//! users, sessions, pick-list values).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::values::format_datetime;
use crate::store::Pool;

/// An instant as `pool`'s backend stores it (text on SQLite).
pub(crate) fn ts_param(pool: &Pool, t: OffsetDateTime) -> TsParam {
    match pool {
        Pool::Sqlite(_) => TsParam::Text(format_datetime(t)),
        Pool::Postgres(_) => TsParam::Time(t),
    }
}

/// An id as `pool`'s backend stores it (hyphenated text on SQLite).
pub(crate) fn id_param(pool: &Pool, id: Uuid) -> IdParam {
    match pool {
        Pool::Sqlite(_) => IdParam::Text(id.hyphenated().to_string()),
        Pool::Postgres(_) => IdParam::Uuid(id),
    }
}

/// An instant bound as text on SQLite and as TIMESTAMPTZ on PostgreSQL.
pub(crate) enum TsParam {
    Text(String),
    Time(OffsetDateTime),
}

/// An id bound as hyphenated text on SQLite and as UUID on PostgreSQL.
pub(crate) enum IdParam {
    Text(String),
    Uuid(Uuid),
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for TsParam
where
    String: sqlx::Encode<'q, DB>,
    OffsetDateTime: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self {
            TsParam::Text(s) => s.encode_by_ref(buf),
            TsParam::Time(t) => t.encode_by_ref(buf),
        }
    }
}

impl sqlx::Type<sqlx::Sqlite> for TsParam {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl sqlx::Type<sqlx::Postgres> for TsParam {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <OffsetDateTime as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for IdParam
where
    String: sqlx::Encode<'q, DB>,
    Uuid: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self {
            IdParam::Text(s) => s.encode_by_ref(buf),
            IdParam::Uuid(u) => u.encode_by_ref(buf),
        }
    }
}

impl sqlx::Type<sqlx::Sqlite> for IdParam {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl sqlx::Type<sqlx::Postgres> for IdParam {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <Uuid as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}
