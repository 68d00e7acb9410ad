-- Which release the entity tables of this database were built for. Written in
-- the same transaction as the DDL, so after a crash between the ED commit and
-- the BM activation the runtime knows which release the tables match.
CREATE TABLE relata_schema_state (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    release     INTEGER NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TEXT NOT NULL
);
