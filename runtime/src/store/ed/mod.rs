//! The enterprise-data store: the entity tables (built by [`schema`]) and the
//! records in them ([`records`]).
//!
//! Storage conventions, shared by the schema builder and the record store:
//!
//! | field type                  | SQLite (STRICT table)    | PostgreSQL         |
//! |-----------------------------|--------------------------|--------------------|
//! | text, email, phone, url     | TEXT                     | VARCHAR(max_length)|
//! | long_text                   | TEXT                     | TEXT               |
//! | integer                     | INTEGER                  | BIGINT             |
//! | decimal, currency, percent  | REAL                     | NUMERIC(p, s)      |
//! | boolean                     | INTEGER (0/1)            | BOOLEAN            |
//! | date                        | TEXT `YYYY-MM-DD`        | DATE               |
//! | datetime                    | TEXT UTC, micros, `Z`    | TIMESTAMPTZ        |
//! | picklist                    | TEXT                     | VARCHAR(63)        |
//! | multi_picklist              | TEXT (JSON array)        | TEXT (JSON array)  |
//! | reference, id, *_by, owner  | TEXT (hyphenated UUID)   | UUID               |
//! | attachment                  | no column: rows in `relata_attachments` ([`attachments`]) |

pub mod attachments;
pub mod auth;
pub mod bulk;
pub mod picklists;
pub mod record;
pub mod records;
pub mod schema;
pub mod search;
pub mod sequences;
pub mod shape;
pub mod state;
pub mod stats;
pub mod values;
