-- Sign-in: users, their browser sessions and their API tokens. Timestamps are
-- UTC RFC 3339 text with microseconds and `Z` (fixed width, so they compare
-- and sort as text); ids are hyphenated UUIDs; booleans are 0/1.

-- The people who sign in. Usernames are stored lower-case (sign-in is
-- case-insensitive); the password only as an argon2id PHC string.
CREATE TABLE relata_users (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    email            TEXT,
    password_hash    TEXT NOT NULL,
    locale           TEXT CHECK (locale IN ('en', 'zh-CN')),  -- NULL: follow the browser
    is_admin         INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at       TEXT NOT NULL,
    last_sign_in_at  TEXT
) STRICT;

-- Browser sessions. The id is the SHA-256 (hex) of the secret in the
-- `relata_session` cookie: the secret itself is never stored. A session ends
-- at `expires_at` (absolute) or when `last_seen_at` is older than the idle
-- limit, whichever comes first.
CREATE TABLE relata_sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES relata_users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
) STRICT;

CREATE INDEX relata_sessions_user ON relata_sessions (user_id);
CREATE INDEX relata_sessions_expiry ON relata_sessions (expires_at);

-- API tokens for integrations, created by users. Only the SHA-256 (hex) of
-- the token is stored; the token is shown once, when it is created.
CREATE TABLE relata_api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES relata_users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
) STRICT;

CREATE INDEX relata_api_tokens_user ON relata_api_tokens (user_id);
