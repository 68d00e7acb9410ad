//! Counters of numbered fields: the next number of a named sequence, taken
//! with one atomic upsert (`INSERT .. ON CONFLICT DO UPDATE .. RETURNING`),
//! in the caller's transaction when there is one. Two saves, on any number
//! of connections or nodes, never get the same number. Inside a transaction
//! that rolls back, the number is given back with it; outside one, a save
//! that fails after taking its number leaves a gap: numbers may have gaps,
//! never repeats.

use crate::store::{Db, Pool, StoreError};

const NEXT: &str = "INSERT INTO relata_sequences (name, value) VALUES ($1, 1) \
                    ON CONFLICT (name) DO UPDATE SET value = relata_sequences.value + 1 RETURNING value";

/// The next number of sequence `name` (1 for a new one).
pub async fn next(db: &mut Db<'_>, name: &str) -> Result<i64, StoreError> {
    Ok(match db {
        Db::Pool(Pool::Sqlite(p)) => sqlx::query_scalar(NEXT).bind(name).fetch_one(p).await?,
        Db::Sqlite(c) => sqlx::query_scalar(NEXT).bind(name).fetch_one(&mut **c).await?,
        Db::Pool(Pool::Postgres(p)) => sqlx::query_scalar(NEXT).bind(name).fetch_one(p).await?,
        Db::Postgres(c) => sqlx::query_scalar(NEXT).bind(name).fetch_one(&mut **c).await?,
    })
}
