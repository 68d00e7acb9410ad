//! Users, browser sessions and API tokens (`relata_users`,
//! `relata_sessions`, `relata_api_tokens`): all the SQL of signing in.
//!
//! Secrets never reach this module: sessions and tokens are looked up by the
//! SHA-256 (hex) of their secret, passwords are stored as PHC strings made by
//! the engine.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::values::parse_datetime;
use crate::store::params::{id_param, ts_param, IdParam, TsParam};
use crate::store::{BeginWrite as _, Pool, StoreError};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Lower-case username.
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// E-mail address, if known.
    pub email: Option<String>,
    /// argon2 PHC string.
    pub password_hash: String,
    /// `en` or `zh-CN`; `None` to follow the browser.
    pub locale: Option<String>,
    /// IANA time zone; `None` to follow the browser.
    pub time_zone: Option<String>,
    /// May administer Relata.
    pub is_admin: bool,
    /// May sign in.
    pub active: bool,
    /// When the user was created.
    pub created_at: OffsetDateTime,
    /// When the user last signed in.
    pub last_sign_in_at: Option<OffsetDateTime>,
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Absolute end of the session.
    pub expires_at: OffsetDateTime,
    /// Last time the session was seen (refreshed at most once a minute).
    pub last_seen_at: OffsetDateTime,
}

/// A live (not revoked) API token and its user.
#[derive(Debug, Clone)]
pub struct TokenUserRow {
    /// The user.
    pub user: UserRow,
    /// The token's id.
    pub token_id: Uuid,
    /// Last time the token was used (refreshed at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
}

/// An API token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Id.
    pub id: Uuid,
    /// The name its owner gave it.
    pub name: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last used (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUserRow<'a> {
    /// Id.
    pub id: Uuid,
    /// Lower-case username.
    pub username: &'a str,
    /// Name shown in the UI.
    pub display_name: &'a str,
    /// E-mail address.
    pub email: Option<&'a str>,
    /// argon2 PHC string.
    pub password_hash: &'a str,
    /// `en` or `zh-CN`; `None` to follow the browser.
    pub locale: Option<&'a str>,
    /// Administrator?
    pub is_admin: bool,
    /// Now.
    pub now: OffsetDateTime,
}

/// A change to a user's preferences: `None` leaves a setting as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreferencesRow<'a> {
    /// `en` or `zh-CN`.
    pub locale: Option<Option<&'a str>>,
    /// An IANA time zone name.
    pub time_zone: Option<Option<&'a str>>,
}

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSessionRow<'a> {
    /// SHA-256 (hex) of the cookie secret.
    pub id: &'a str,
    /// The user.
    pub user_id: Uuid,
    /// Its CSRF token.
    pub csrf_token: &'a str,
    /// Now.
    pub now: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
}

/// An API token to insert.
#[derive(Debug, Clone)]
pub struct NewTokenRow<'a> {
    /// Id.
    pub id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Its name.
    pub name: &'a str,
    /// SHA-256 (hex) of the token.
    pub token_hash: &'a str,
    /// Now.
    pub now: OffsetDateTime,
}

/// The store of users, sessions and API tokens, in the ED database.
#[derive(Debug, Clone)]
pub struct AuthStore {
    pool: Pool,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.email, u.password_hash, u.locale, u.time_zone, \
                            u.is_admin, u.active, u.created_at, u.last_sign_in_at";

/// Reads the typed columns that differ between the backends (ids and
/// instants are text on SQLite).
trait AuthRow: Row {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError>;
    fn instant(&self, col: &str) -> Result<OffsetDateTime, StoreError>;
    fn opt_instant(&self, col: &str) -> Result<Option<OffsetDateTime>, StoreError>;
}

impl AuthRow for SqliteRow {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
        let s: String = self.try_get(col)?;
        Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("{col} is not a UUID: {s}")))
    }

    fn instant(&self, col: &str) -> Result<OffsetDateTime, StoreError> {
        self.opt_instant(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("{col} is empty")))
    }

    fn opt_instant(&self, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        let s: Option<String> = self.try_get(col)?;
        s.map(|s| parse_datetime(&s).ok_or_else(|| StoreError::Corrupt(format!("{col} is not an instant: {s}"))))
            .transpose()
    }
}

impl AuthRow for PgRow {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn instant(&self, col: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(self.try_get(col)?)
    }

    fn opt_instant(&self, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.try_get(col)?)
    }
}

fn user_row<R>(r: &R) -> Result<UserRow, StoreError>
where
    R: AuthRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    bool: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(UserRow {
        id: r.uuid("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        locale: r.try_get("locale")?,
        time_zone: r.try_get("time_zone")?,
        is_admin: r.try_get("is_admin")?,
        active: r.try_get("active")?,
        created_at: r.instant("created_at")?,
        last_sign_in_at: r.opt_instant("last_sign_in_at")?,
    })
}

fn session_row<R>(r: &R) -> Result<SessionRow, StoreError>
where
    R: AuthRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    bool: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SessionRow {
        user: user_row(r)?,
        csrf_token: r.try_get("csrf_token")?,
        expires_at: r.instant("s_expires_at")?,
        last_seen_at: r.instant("s_last_seen_at")?,
    })
}

fn token_user_row<R>(r: &R) -> Result<TokenUserRow, StoreError>
where
    R: AuthRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
    bool: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(TokenUserRow {
        user: user_row(r)?,
        token_id: r.uuid("token_id")?,
        last_used_at: r.opt_instant("t_last_used_at")?,
    })
}

fn token_row<R>(r: &R) -> Result<TokenRow, StoreError>
where
    R: AuthRow,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: for<'d> sqlx::Decode<'d, R::Database> + sqlx::Type<R::Database>,
{
    Ok(TokenRow {
        id: r.uuid("id")?,
        name: r.try_get("name")?,
        created_at: r.instant("created_at")?,
        last_used_at: r.opt_instant("last_used_at")?,
        revoked_at: r.opt_instant("revoked_at")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl AuthStore {
    /// A store over the ED pool.
    pub fn new(pool: Pool) -> Self {
        AuthStore { pool }
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, |p| Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM relata_users"
        )
        .fetch_one(p)
        .await?))
    }

    /// Inserts a user; `Ok(false)` when the username is taken.
    pub async fn insert_user(&self, u: &NewUserRow<'_>) -> Result<bool, StoreError> {
        let sql = "INSERT INTO relata_users \
                   (id, username, display_name, email, password_hash, locale, is_admin, active, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8)";
        let res = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(self.id(u.id))
            .bind(u.username)
            .bind(u.display_name)
            .bind(u.email)
            .bind(u.password_hash)
            .bind(u.locale)
            .bind(u.is_admin)
            .bind(self.ts(u.now))
            .execute(p)
            .await
            .map(|_| ()));
        match res {
            Ok(()) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A user by (lower-case) username.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM relata_users u WHERE u.username = $1");
        on_pool!(&self.pool, |p| {
            match sqlx::query(&sql).bind(username).fetch_optional(p).await? {
                Some(r) => Ok(Some(user_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM relata_users u WHERE u.id = $1");
        on_pool!(&self.pool, |p| {
            match sqlx::query(&sql).bind(self.id(id)).fetch_optional(p).await? {
                Some(r) => Ok(Some(user_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// Records a successful sign-in.
    pub async fn set_last_sign_in(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        let sql = "UPDATE relata_users SET last_sign_in_at = $2 WHERE id = $1";
        on_pool!(&self.pool, |p| {
            sqlx::query(sql).bind(self.id(id)).bind(self.ts(now)).execute(p).await?;
            Ok(())
        })
    }

    /// Changes a user's preferences in one statement (the settings the
    /// patch leaves out keep their values); `false` when there is no such
    /// user.
    pub async fn update_preferences(&self, id: Uuid, patch: &PreferencesRow<'_>) -> Result<bool, StoreError> {
        let sql = "UPDATE relata_users SET \
                   locale = CASE WHEN $2 THEN $3 ELSE locale END, \
                   time_zone = CASE WHEN $4 THEN $5 ELSE time_zone END \
                   WHERE id = $1";
        on_pool!(&self.pool, |p| {
            let done = sqlx::query(sql)
                .bind(self.id(id))
                .bind(patch.locale.is_some())
                .bind(patch.locale.flatten())
                .bind(patch.time_zone.is_some())
                .bind(patch.time_zone.flatten())
                .execute(p)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Replaces a user's password hash and ends all of the user's sessions,
    /// in one transaction; `false` when there is no such user.
    pub async fn set_password(&self, id: Uuid, password_hash: &str) -> Result<bool, StoreError> {
        on_pool!(&self.pool, |p| {
            let mut tx = p.begin_write().await?;
            let done = sqlx::query("UPDATE relata_users SET password_hash = $2 WHERE id = $1")
                .bind(self.id(id))
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM relata_sessions WHERE user_id = $1")
                .bind(self.id(id))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records a new session.
    pub async fn insert_session(&self, s: &NewSessionRow<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO relata_sessions (id, user_id, csrf_token, created_at, expires_at, last_seen_at) \
                   VALUES ($1, $2, $3, $4, $5, $4)";
        on_pool!(&self.pool, |p| {
            sqlx::query(sql)
                .bind(s.id)
                .bind(self.id(s.user_id))
                .bind(s.csrf_token)
                .bind(self.ts(s.now))
                .bind(self.ts(s.expires_at))
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// The live session with this id and its active user: not past
    /// `expires_at`, and seen after `idle_cutoff`.
    pub async fn live_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.expires_at AS s_expires_at, s.last_seen_at AS s_last_seen_at \
             FROM relata_sessions s JOIN relata_users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active"
        );
        on_pool!(&self.pool, |p| {
            match sqlx::query(&sql)
                .bind(id)
                .bind(self.ts(now))
                .bind(self.ts(idle_cutoff))
                .fetch_optional(p)
                .await?
            {
                Some(r) => Ok(Some(session_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// Moves a session's `last_seen_at` forward.
    pub async fn touch_session(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let sql = "UPDATE relata_sessions SET last_seen_at = $2 WHERE id = $1";
        on_pool!(&self.pool, |p| {
            sqlx::query(sql).bind(id).bind(self.ts(now)).execute(p).await?;
            Ok(())
        })
    }

    /// Ends a session.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, |p| {
            sqlx::query("DELETE FROM relata_sessions WHERE id = $1")
                .bind(id)
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// Removes the sessions that have ended; returns how many.
    pub async fn delete_ended_sessions(
        &self,
        now: OffsetDateTime,
        idle_cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM relata_sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
        on_pool!(&self.pool, |p| {
            let done = sqlx::query(sql)
                .bind(self.ts(now))
                .bind(self.ts(idle_cutoff))
                .execute(p)
                .await?;
            Ok(done.rows_affected())
        })
    }

    /// Records a new API token.
    pub async fn insert_token(&self, t: &NewTokenRow<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO relata_api_tokens (id, user_id, name, token_hash, created_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        on_pool!(&self.pool, |p| {
            sqlx::query(sql)
                .bind(self.id(t.id))
                .bind(self.id(t.user_id))
                .bind(t.name)
                .bind(t.token_hash)
                .bind(self.ts(t.now))
                .execute(p)
                .await?;
            Ok(())
        })
    }

    /// The unrevoked token with this hash and its active user.
    pub async fn live_token(&self, token_hash: &str) -> Result<Option<TokenUserRow>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at AS t_last_used_at \
             FROM relata_api_tokens t JOIN relata_users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active"
        );
        on_pool!(&self.pool, |p| {
            match sqlx::query(&sql).bind(token_hash).fetch_optional(p).await? {
                Some(r) => Ok(Some(token_user_row(&r)?)),
                None => Ok(None),
            }
        })
    }

    /// Moves a token's `last_used_at` forward.
    pub async fn touch_token(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        let sql = "UPDATE relata_api_tokens SET last_used_at = $2 WHERE id = $1";
        on_pool!(&self.pool, |p| {
            sqlx::query(sql).bind(self.id(id)).bind(self.ts(now)).execute(p).await?;
            Ok(())
        })
    }

    /// A user's tokens, newest first.
    pub async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<TokenRow>, StoreError> {
        let sql = "SELECT id, name, created_at, last_used_at, revoked_at FROM relata_api_tokens \
                   WHERE user_id = $1 ORDER BY created_at DESC, id DESC";
        on_pool!(&self.pool, |p| {
            let rows = sqlx::query(sql).bind(self.id(user_id)).fetch_all(p).await?;
            rows.iter().map(token_row).collect()
        })
    }

    /// Revokes one of a user's tokens and returns its hash (to forget it
    /// from caches); `None` when the user has no such unrevoked token.
    pub async fn revoke_token(
        &self,
        user_id: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let sql = "UPDATE relata_api_tokens SET revoked_at = $3 \
                   WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING token_hash";
        on_pool!(&self.pool, |p| Ok(sqlx::query_scalar(sql)
            .bind(self.id(id))
            .bind(self.id(user_id))
            .bind(self.ts(now))
            .fetch_optional(p)
            .await?))
    }

    fn ts(&self, t: OffsetDateTime) -> TsParam {
        ts_param(&self.pool, t)
    }

    fn id(&self, id: Uuid) -> IdParam {
        id_param(&self.pool, id)
    }
}
