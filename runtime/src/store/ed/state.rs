//! Which release the entity tables were last built for.

use crate::store::{Pool, StoreError};

/// The release recorded in `relata_schema_state` by the last schema apply.
pub async fn schema_state(pool: &Pool) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT release FROM relata_schema_state WHERE singleton = 1";
    Ok(match pool {
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_optional(p).await?,
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_optional(p).await?,
    })
}
