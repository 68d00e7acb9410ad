//! Who is asking: users, password sign-in, browser sessions and API tokens.
//!
//! - Passwords are stored as argon2id PHC strings, hashed and verified on the
//!   blocking pool, at most one per core at a time.
//! - Session secrets (cookie) and API tokens are 32 random bytes; only their
//!   SHA-256 is stored, so a copy of the database signs no one in.
//! - A session ends after [`AuthSettings::session_idle`] without use or
//!   [`AuthSettings::session_lifetime`] after sign-in, whichever comes first.
//! - Validated credentials are cached in this process for
//!   [`AuthSettings::cache_ttl`], so a request costs no database round trip
//!   for its credentials. Signing out, revoking a token, changing a password,
//!   a locale or a time zone take effect at once in this process and within
//!   the TTL in the other processes sharing the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::{OnceCell, Semaphore};
use uuid::Uuid;

use crate::model::values::format_datetime;
use crate::model::zone::Zone;
use crate::store::ed::auth::{AuthStore, NewSessionRow, NewTokenRow, NewUserRow, PreferencesRow, UserRow};
use crate::store::{Pool, StoreError};

/// The prefix of every API token, so that secret scanners and people can
/// tell one when they see it.
pub const TOKEN_PREFIX: &str = "rlt_";
/// Length of a session secret or the random part of a token: 32 bytes in
/// unpadded base64url.
const SECRET_LEN: usize = 43;
/// The username of the first administrator.
pub const FIRST_ADMIN: &str = "admin";
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Most credentials kept in the cache.
const CACHE_CAPACITY: usize = 10_000;
/// `last_seen_at` / `last_used_at` are written at most this often.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// How long sessions live and credentials stay cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    /// A session unused this long has ended (default 12 hours).
    pub session_idle: Duration,
    /// A session has ended this long after sign-in, used or not (default 7 days).
    pub session_lifetime: Duration,
    /// How long a validated session or token is trusted without asking the
    /// database again (default 10 seconds). Revocations made by another
    /// process reach this one within this time.
    pub cache_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_idle: Duration::from_secs(12 * 3600),
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            cache_ttl: Duration::from_secs(10),
        }
    }
}

/// The languages of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Locale {
    /// Every locale.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// The tag: `en` or `zh-CN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// Parses a tag exactly as [`Locale::as_str`] writes it.
    pub fn parse(tag: &str) -> Option<Locale> {
        Locale::ALL.into_iter().find(|l| l.as_str() == tag)
    }
}

/// The signed-in user of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentUser {
    /// Id (the `created_by` / `updated_by` / `owner_id` of what they write).
    pub id: Uuid,
    /// Lower-case username.
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// UI language the user chose; `None` to follow the browser.
    pub locale: Option<Locale>,
    /// Time zone the user chose; `None` to follow the browser (in the UI)
    /// or the installation's zone (in the API).
    pub time_zone: Option<Zone>,
    /// May administer Relata.
    pub is_admin: bool,
    /// The session's CSRF token; `None` when signed in with an API token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

impl CurrentUser {
    fn from_row(row: &UserRow, csrf_token: Option<String>) -> CurrentUser {
        CurrentUser {
            id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            email: row.email.clone(),
            locale: row.locale.as_deref().and_then(Locale::parse),
            // Only names the runtime accepted are stored; one the bundled
            // database no longer knows reads as no setting.
            time_zone: row.time_zone.as_deref().and_then(|z| Zone::parse(z).ok()),
            is_admin: row.is_admin,
            csrf_token,
        }
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    /// Always false for API-token users, who have none.
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf_token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), presented.as_bytes()))
    }
}

/// A change to a user's preferences: `None` leaves a setting as it is,
/// `Some(None)` clears it (back to the browser's or the installation's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// UI language.
    pub locale: Option<Option<Locale>>,
    /// Time zone.
    pub time_zone: Option<Option<Zone>>,
}

/// A new browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The secret for the cookie; shown to nobody else, stored nowhere.
    pub secret: String,
    /// Who signed in (with the session's CSRF token).
    pub user: Arc<CurrentUser>,
    /// How long the cookie may live (the session's absolute lifetime).
    pub max_age: Duration,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Username (letters, digits, `.`, `_`, `-`, `@`; stored lower-case).
    pub username: String,
    /// Name shown in the UI (the username when empty).
    pub display_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Password, at least [`MIN_PASSWORD_CHARS`] characters.
    pub password: String,
    /// UI language (users can change it, or clear it to follow their
    /// browser).
    pub locale: Locale,
    /// Administrator?
    pub is_admin: bool,
}

/// A token just created: the only time its secret is seen.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    /// Id (to revoke it).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The token, `rlt_...`: send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it was created.
    pub created_at: String,
}

/// A token as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: String,
    /// When it was last used (to the minute), if ever.
    pub last_used_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The first administrator, created on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    /// Its username.
    pub username: String,
    /// The password generated for it; `None` when the caller gave one.
    pub generated_password: Option<String>,
}

/// Errors of signing in and of managing users and tokens.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or deactivated user: deliberately one
    /// error, so that no one learns which usernames exist.
    #[error("the username or the password is wrong")]
    BadCredentials,
    /// A value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The username belongs to someone else.
    #[error("the username `{0}` is taken")]
    UsernameTaken(String),
    /// No such user.
    #[error("no user `{0}`")]
    UnknownUser(String),
    /// The user has no such live token.
    #[error("no API token with id {0}")]
    TokenNotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing or the random source failed; details go to the logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::Invalid {
        field,
        message: message.into(),
    }
}

struct Cached {
    user: Arc<CurrentUser>,
    valid_until: Instant,
}

/// Users, sessions and tokens of one runtime process.
pub struct AuthService {
    store: AuthStore,
    settings: AuthSettings,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    /// At most one argon2 computation per core at a time.
    hashing: Semaphore,
    /// Verified against when the user does not exist, so that the answer
    /// takes as long as for a wrong password.
    dummy_hash: OnceCell<String>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").field("settings", &self.settings).finish()
    }
}

impl AuthService {
    /// A service over the ED database.
    pub fn new(ed: Pool, settings: AuthSettings) -> AuthService {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        AuthService {
            store: AuthStore::new(ed),
            settings,
            cache: Mutex::new(HashMap::new()),
            hashing: Semaphore::new(cores),
            dummy_hash: OnceCell::new(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> AuthSettings {
        self.settings
    }

    /// Creates the first administrator (`admin`) when there is no user at
    /// all, with `password` or else a generated one, returned so that the
    /// caller shows it once. `None` when users exist already.
    pub async fn ensure_first_admin(&self, password: Option<String>) -> Result<Option<FirstAdmin>, AuthError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match password.filter(|p| !p.is_empty()) {
            Some(p) => (p, false),
            None => (generate_password()?, true),
        };
        let user = NewUser {
            username: FIRST_ADMIN.into(),
            display_name: "Administrator".into(),
            email: None,
            password: password.clone(),
            locale: Locale::En,
            is_admin: true,
        };
        // No language chosen: the administrator's pages follow the browser.
        match self.insert_user(user, None).await {
            Ok(_) => Ok(Some(FirstAdmin {
                username: FIRST_ADMIN.into(),
                generated_password: generated.then_some(password),
            })),
            // Another process created it at the same moment.
            Err(AuthError::UsernameTaken(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a user.
    pub async fn create_user(&self, user: NewUser) -> Result<CurrentUser, AuthError> {
        let locale = Some(user.locale);
        self.insert_user(user, locale).await
    }

    async fn insert_user(&self, user: NewUser, locale: Option<Locale>) -> Result<CurrentUser, AuthError> {
        let username = normalise_username(&user.username);
        check_username(&username)?;
        check_password(&user.password)?;
        let display_name = match user.display_name.trim() {
            "" => username.clone(),
            name => name.to_owned(),
        };
        if display_name.chars().count() > 200 {
            return Err(invalid("display_name", "at most 200 characters"));
        }
        let email = user.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        if email.is_some_and(|e| !e.contains('@') || e.len() > 254) {
            return Err(invalid("email", "not an e-mail address"));
        }
        let hash = self.hash_password(user.password).await?;
        let id = Uuid::now_v7();
        let row = NewUserRow {
            id,
            username: &username,
            display_name: &display_name,
            email,
            password_hash: &hash,
            locale: locale.map(Locale::as_str),
            is_admin: user.is_admin,
            now: OffsetDateTime::now_utc(),
        };
        if !self.store.insert_user(&row).await? {
            return Err(AuthError::UsernameTaken(username));
        }
        Ok(CurrentUser {
            id,
            username,
            display_name,
            email: email.map(str::to_owned),
            locale,
            time_zone: None,
            is_admin: user.is_admin,
            csrf_token: None,
        })
    }

    /// A user by username (case-insensitive).
    pub async fn user(&self, username: &str) -> Result<Option<CurrentUser>, AuthError> {
        let username = normalise_username(username);
        Ok(self
            .store
            .user_by_username(&username)
            .await?
            .map(|row| CurrentUser::from_row(&row, None)))
    }

    /// A user by id (for the `user()` of business rules).
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<CurrentUser>, AuthError> {
        Ok(self
            .store
            .user_by_id(id)
            .await?
            .map(|row| CurrentUser::from_row(&row, None)))
    }

    /// Sets a user's password (a generated one when `None`, returned) and
    /// ends all of the user's sessions.
    pub async fn reset_password(&self, username: &str, password: Option<String>) -> Result<String, AuthError> {
        let username = normalise_username(username);
        let row = self
            .store
            .user_by_username(&username)
            .await?
            .ok_or_else(|| AuthError::UnknownUser(username.clone()))?;
        let password = match password.filter(|p| !p.is_empty()) {
            Some(p) => p,
            None => generate_password()?,
        };
        check_password(&password)?;
        let hash = self.hash_password(password.clone()).await?;
        self.store.set_password(row.id, &hash).await?;
        self.forget_user(row.id);
        Ok(password)
    }

    /// Checks a username and password and starts a session. Unknown users,
    /// deactivated users and wrong passwords get the same error after the
    /// same work.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Session, AuthError> {
        let username = normalise_username(username);
        let row = if check_username(&username).is_ok() {
            self.store.user_by_username(&username).await?
        } else {
            None
        };
        let hash = match &row {
            Some(r) if r.active => r.password_hash.clone(),
            _ => self.dummy_hash().await?,
        };
        let verified = password.len() <= MAX_PASSWORD_BYTES && self.verify_password(password, hash).await?;
        let user = match row {
            Some(r) if r.active && verified => r,
            _ => return Err(AuthError::BadCredentials),
        };
        let now = OffsetDateTime::now_utc();
        let secret = random_secret()?;
        let csrf_token = random_secret()?;
        let expires_at = now + self.settings.session_lifetime;
        self.store
            .insert_session(&NewSessionRow {
                id: &hex::encode(digest(&secret)),
                user_id: user.id,
                csrf_token: &csrf_token,
                now,
                expires_at,
            })
            .await?;
        self.store.set_last_sign_in(user.id, now).await?;
        // Housekeeping, on the rare path: sessions that ended go.
        if let Err(e) = self
            .store
            .delete_ended_sessions(now, now - self.settings.session_idle)
            .await
        {
            tracing::warn!(error = %e, "could not remove ended sessions");
        }
        let current = Arc::new(CurrentUser::from_row(&user, Some(csrf_token)));
        tracing::info!(user = %user.username, "signed in");
        Ok(Session {
            secret,
            user: current,
            max_age: self.settings.session_lifetime,
        })
    }

    /// The user of a live session, from the cookie's secret.
    pub async fn session(&self, secret: &str) -> Result<Option<Arc<CurrentUser>>, AuthError> {
        if !is_secret(secret) {
            return Ok(None);
        }
        let key = digest(secret);
        if let Some(user) = self.cached(&key) {
            return Ok(Some(user));
        }
        let now = OffsetDateTime::now_utc();
        let idle = self.settings.session_idle;
        let id = hex::encode(key);
        let Some(row) = self.store.live_session(&id, now, now - idle).await? else {
            return Ok(None);
        };
        let mut last_seen = row.last_seen_at;
        if now - last_seen > touch_interval(idle) {
            match self.store.touch_session(&id, now).await {
                Ok(()) => last_seen = now,
                Err(e) => tracing::warn!(error = %e, "could not refresh a session"),
            }
        }
        let user = Arc::new(CurrentUser::from_row(&row.user, Some(row.csrf_token)));
        let ends = row.expires_at.min(last_seen + idle);
        self.remember(key, user.clone(), remaining(now, ends));
        Ok(Some(user))
    }

    /// Ends a session (nothing happens for an unknown secret).
    pub async fn sign_out(&self, secret: &str) -> Result<(), AuthError> {
        if !is_secret(secret) {
            return Ok(());
        }
        let key = digest(secret);
        self.forget(&key);
        self.store.delete_session(&hex::encode(key)).await?;
        Ok(())
    }

    /// Creates an API token for a user; its secret is in the result only.
    pub async fn create_token(&self, user_id: Uuid, name: &str) -> Result<NewToken, AuthError> {
        // As the OpenAPI document states it: 1 to 100 characters, not only
        // blanks (stored without the blanks around it).
        let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
        if name.chars().count() > 100 || name.chars().all(blank) {
            return Err(invalid("name", "give the token a name of 1 to 100 characters"));
        }
        let name = name.trim_matches(blank);
        let token = format!("{TOKEN_PREFIX}{}", random_secret()?);
        let id = Uuid::now_v7();
        let now = OffsetDateTime::now_utc();
        self.store
            .insert_token(&NewTokenRow {
                id,
                user_id,
                name,
                token_hash: &hex::encode(digest(&token)),
                now,
            })
            .await?;
        Ok(NewToken {
            id,
            name: name.to_owned(),
            token,
            created_at: format_datetime(now),
        })
    }

    /// A user's tokens, newest first (revoked ones included).
    pub async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<TokenInfo>, AuthError> {
        Ok(self
            .store
            .tokens_of(user_id)
            .await?
            .into_iter()
            .map(|t| TokenInfo {
                id: t.id,
                name: t.name,
                created_at: format_datetime(t.created_at),
                last_used_at: t.last_used_at.map(format_datetime),
                revoked_at: t.revoked_at.map(format_datetime),
            })
            .collect())
    }

    /// Revokes one of a user's tokens; it stops working at once in this
    /// process and within the cache TTL in the others.
    pub async fn revoke_token(&self, user_id: Uuid, token_id: &str) -> Result<(), AuthError> {
        let not_found = || AuthError::TokenNotFound(token_id.to_owned());
        let id = Uuid::parse_str(token_id).map_err(|_| not_found())?;
        let hash = self
            .store
            .revoke_token(user_id, id, OffsetDateTime::now_utc())
            .await?
            .ok_or_else(not_found)?;
        let mut key = [0u8; 32];
        if hex::decode_to_slice(&hash, &mut key).is_ok() {
            self.forget(&key);
        }
        Ok(())
    }

    /// The user of a live API token.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Arc<CurrentUser>>, AuthError> {
        if !token.strip_prefix(TOKEN_PREFIX).is_some_and(is_secret) {
            return Ok(None);
        }
        let key = digest(token);
        if let Some(user) = self.cached(&key) {
            return Ok(Some(user));
        }
        let Some(row) = self.store.live_token(&hex::encode(key)).await? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        if row.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL) {
            if let Err(e) = self.store.touch_token(row.token_id, now).await {
                tracing::warn!(error = %e, "could not record a token's use");
            }
        }
        let user = Arc::new(CurrentUser::from_row(&row.user, None));
        self.remember(key, user.clone(), self.settings.cache_ttl);
        Ok(Some(user))
    }

    /// Sets a user's UI language; `None`: follow the browser.
    pub async fn set_locale(&self, user_id: Uuid, locale: Option<Locale>) -> Result<(), AuthError> {
        let patch = Preferences {
            locale: Some(locale),
            ..Preferences::default()
        };
        self.set_preferences(user_id, &patch).await
    }

    /// Changes a user's preferences at once, all or none.
    pub async fn set_preferences(&self, user_id: Uuid, patch: &Preferences) -> Result<(), AuthError> {
        let row = PreferencesRow {
            locale: patch.locale.map(|l| l.map(Locale::as_str)),
            time_zone: patch.time_zone.as_ref().map(|z| z.as_ref().map(Zone::name)),
        };
        if !self.store.update_preferences(user_id, &row).await? {
            return Err(AuthError::UnknownUser(user_id.to_string()));
        }
        self.forget_user(user_id);
        Ok(())
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<CurrentUser>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(key)
            .filter(|c| c.valid_until > Instant::now())
            .map(|c| c.user.clone())
    }

    fn remember(&self, key: [u8; 32], user: Arc<CurrentUser>, left: Duration) {
        let ttl = self.settings.cache_ttl.min(left);
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, c| c.valid_until > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                user,
                valid_until: now + ttl,
            },
        );
    }

    fn forget(&self, key: &[u8; 32]) {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    fn forget_user(&self, user_id: Uuid) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, c| c.user.id != user_id);
    }

    async fn hash_password(&self, password: String) -> Result<String, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| AuthError::Internal(format!("hashing a password: {e}")))
        })
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?
    }

    async fn verify_password(&self, password: &str, hash: String) -> Result<bool, AuthError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()))
            .await
            .map(|r| r.is_ok())
            .map_err(|e| AuthError::Internal(e.to_string()))
    }

    async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| async { self.hash_password(random_secret()?).await })
            .await
            .cloned()
    }
}

fn touch_interval(idle: Duration) -> Duration {
    TOUCH_INTERVAL.min(idle / 4)
}

fn remaining(now: OffsetDateTime, end: OffsetDateTime) -> Duration {
    Duration::try_from(end - now).unwrap_or(Duration::ZERO)
}

/// SHA-256 of a secret: the cache key, and in hex the stored id.
fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 random bytes as unpadded base64url (43 characters).
pub fn random_secret() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Internal(format!("random source: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether `s` has the shape of a [`random_secret`] (checked before any
/// lookup, so garbage costs nothing).
fn is_secret(s: &str) -> bool {
    s.len() == SECRET_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A password of 20 characters (120 random bits) without look-alikes.
fn generate_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 40];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Internal(format!("random source: {e}")))?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let password: String = bytes
        .iter()
        .filter(|&&b| usize::from(b) < limit)
        .take(20)
        .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect();
    if password.len() < 20 {
        // Astronomically unlikely; try again.
        return generate_password();
    }
    Ok(password)
}

fn normalise_username(username: &str) -> String {
    username.trim().to_lowercase()
}

fn check_username(username: &str) -> Result<(), AuthError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@');
    if username.is_empty() || username.len() > 64 || !username.chars().all(ok_char) {
        return Err(invalid("username", "1 to 64 letters, digits, `.`, `_`, `-` or `@`"));
    }
    Ok(())
}

/// Checks a password against the policy (length), before anything is stored.
pub fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid("password", format!("at least {MIN_PASSWORD_CHARS} characters")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(invalid("password", format!("at most {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

/// Compares two byte strings in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_shape_checked_before_lookups() -> Result<(), AuthError> {
        let s = random_secret()?;
        assert!(is_secret(&s), "{s}");
        assert_ne!(s, random_secret()?);
        assert!(!is_secret("short"));
        assert!(!is_secret(&format!("{}!", &s[1..])));
        Ok(())
    }

    #[test]
    fn generated_passwords_are_long_and_unambiguous() -> Result<(), AuthError> {
        let p = generate_password()?;
        assert_eq!(p.len(), 20);
        assert!(!p.contains(['0', 'O', 'l', '1', 'I']), "{p}");
        check_password(&p)
    }

    #[test]
    fn usernames_are_case_insensitive_and_plain() {
        assert_eq!(normalise_username("  Li.Wei@Acme "), "li.wei@acme");
        assert!(check_username("li.wei@acme").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_username("名字").is_err());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn locales_round_trip() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.as_str()), Some(l));
        }
        assert_eq!(Locale::parse("zh-cn"), None);
    }
}
