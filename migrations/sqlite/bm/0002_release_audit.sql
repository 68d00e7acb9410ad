-- The audit trail of release changes: every promotion, rollback, import
-- and CLI apply, written in the transaction that activates the release.
CREATE TABLE release_audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    action        TEXT NOT NULL CHECK (action IN ('apply', 'promote', 'rollback', 'import', 'recovery')),
    actor         TEXT NOT NULL,
    at            TEXT NOT NULL,
    from_release  INTEGER REFERENCES releases (number),
    to_release    INTEGER NOT NULL REFERENCES releases (number),
    comment       TEXT NOT NULL,
    summary       TEXT NOT NULL    -- JSON: counts and names of changed items
);
