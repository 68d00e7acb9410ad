-- Sign-in: users, their browser sessions and their API tokens.

-- The people who sign in. Usernames are stored lower-case (sign-in is
-- case-insensitive); the password only as an argon2id PHC string.
CREATE TABLE relata_users (
    id               UUID PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    email            TEXT,
    password_hash    TEXT NOT NULL,
    locale           TEXT CHECK (locale IN ('en', 'zh-CN')),  -- NULL: follow the browser
    is_admin         BOOLEAN NOT NULL DEFAULT FALSE,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMPTZ NOT NULL,
    last_sign_in_at  TIMESTAMPTZ
);

-- Browser sessions. The id is the SHA-256 (hex) of the secret in the
-- `relata_session` cookie: the secret itself is never stored. A session ends
-- at `expires_at` (absolute) or when `last_seen_at` is older than the idle
-- limit, whichever comes first.
CREATE TABLE relata_sessions (
    id            TEXT PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES relata_users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX relata_sessions_user ON relata_sessions (user_id);
CREATE INDEX relata_sessions_expiry ON relata_sessions (expires_at);

-- API tokens for integrations, created by users. Only the SHA-256 (hex) of
-- the token is stored; the token is shown once, when it is created.
CREATE TABLE relata_api_tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES relata_users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE INDEX relata_api_tokens_user ON relata_api_tokens (user_id);
