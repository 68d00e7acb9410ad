-- Attachments: one row per stored file of an `attachment` field. The bytes
-- live outside the database (the attachment store, a directory by default),
-- named by `id`; this row is what makes a file part of a record. Rows are
-- never deleted by the runtime: `deleted_at` marks a file removed or
-- replaced, and the file stays on disk until a purge (recycle semantics).
CREATE TABLE relata_attachments (
    id            UUID PRIMARY KEY,                 -- UUIDv7, also the file's key
    entity        TEXT NOT NULL,
    record_id     UUID NOT NULL,
    field         TEXT NOT NULL,
    file_name     TEXT NOT NULL,                    -- sanitised, no path
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL CHECK (size_bytes >= 0),
    sha256        TEXT NOT NULL,                    -- hex, of the stored bytes
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    UUID,
    deleted_at    TIMESTAMPTZ
);

CREATE INDEX relata_attachments_record ON relata_attachments (entity, record_id, field);
