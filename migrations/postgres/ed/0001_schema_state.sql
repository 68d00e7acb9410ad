-- Which release the entity tables of this database were built for. Written in
-- the same transaction as the DDL.
CREATE TABLE relata_schema_state (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    release     BIGINT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL
);
