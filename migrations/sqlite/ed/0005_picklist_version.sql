-- A counter of pick-list changes, bumped in the same transaction as every
-- change (and, on PostgreSQL, announced with NOTIFY relata_picklists). Each
-- runtime node compares it with the version its lists were built from, so
-- several nodes on one database see an administrator's change promptly.
CREATE TABLE relata_picklist_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
) STRICT;
INSERT INTO relata_picklist_version (id, version) VALUES (1, 0);
