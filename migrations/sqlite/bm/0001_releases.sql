-- Releases of the business model. A release is immutable once applied;
-- only its status moves (pending -> applied | failed).
CREATE TABLE releases (
    number      INTEGER PRIMARY KEY,
    author      TEXT NOT NULL,
    comment     TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'failed')),
    parent      INTEGER REFERENCES releases (number),
    failure     TEXT
);

-- One row per metadata item of a release.
CREATE TABLE release_items (
    release     INTEGER NOT NULL REFERENCES releases (number),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    body        TEXT NOT NULL,   -- canonical JSON of the item
    source      TEXT NOT NULL,   -- the YAML as authored
    PRIMARY KEY (release, kind, name)
);

CREATE TRIGGER release_items_are_immutable BEFORE UPDATE ON release_items
BEGIN
    SELECT RAISE(ABORT, 'release items are immutable');
END;

-- Exactly one active release (a single row).
CREATE TABLE active_release (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    release       INTEGER NOT NULL REFERENCES releases (number),
    activated_at  TEXT NOT NULL,
    activated_by  TEXT NOT NULL
);
