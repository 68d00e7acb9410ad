-- Pick-list values as data. Metadata defines each list's default values; the
-- runtime inserts the ones missing from this table after every release (and
-- at start) and never overwrites a row, so an administrator's renames,
-- reorderings and deactivations survive releases. Values only admins added
-- have origin 'runtime'. Codes are immutable: records store them, so a code
-- is never renamed or deleted, only deactivated.
CREATE TABLE relata_picklist_value (
    picklist     TEXT NOT NULL,
    code         TEXT NOT NULL,
    label_en     TEXT NOT NULL,
    label_zh_cn  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    origin       TEXT NOT NULL CHECK (origin IN ('metadata', 'runtime')),
    updated_at   TEXT NOT NULL,   -- UTC RFC 3339, microseconds, `Z`
    updated_by   TEXT,            -- user id; NULL when the runtime wrote it
    PRIMARY KEY (picklist, code)
) STRICT;
