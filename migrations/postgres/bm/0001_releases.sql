-- Releases of the business model. A release is immutable once applied;
-- only its status moves (pending -> applied | failed).
CREATE TABLE releases (
    number      BIGINT PRIMARY KEY,
    author      TEXT NOT NULL,
    comment     TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'failed')),
    parent      BIGINT REFERENCES releases (number),
    failure     TEXT
);

-- One row per metadata item of a release.
CREATE TABLE release_items (
    release     BIGINT NOT NULL REFERENCES releases (number),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    body        JSONB NOT NULL,  -- the item
    source      TEXT NOT NULL,   -- the YAML as authored
    PRIMARY KEY (release, kind, name)
);

CREATE FUNCTION release_items_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'release items are immutable';
END;
$$;

CREATE TRIGGER release_items_are_immutable BEFORE UPDATE ON release_items
    FOR EACH ROW EXECUTE FUNCTION release_items_are_immutable();

-- Exactly one active release (a single row).
CREATE TABLE active_release (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    release       BIGINT NOT NULL REFERENCES releases (number),
    activated_at  TIMESTAMPTZ NOT NULL,
    activated_by  TEXT NOT NULL
);
