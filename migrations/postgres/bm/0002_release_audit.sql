-- The audit trail of release changes: every promotion, rollback, import
-- and CLI apply, written in the transaction that activates the release.
CREATE TABLE release_audit (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action        TEXT NOT NULL CHECK (action IN ('apply', 'promote', 'rollback', 'import', 'recovery')),
    actor         TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    from_release  BIGINT REFERENCES releases (number),
    to_release    BIGINT NOT NULL REFERENCES releases (number),
    comment       TEXT NOT NULL,
    summary       JSONB NOT NULL   -- counts and names of changed items
);
