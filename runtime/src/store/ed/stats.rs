//! Planner statistics of the entity tables.
//!
//! SQLite picks an index by its statistics (`sqlite_stat1`); without them
//! it guesses, and on a large table a guess can be very wrong: with no
//! statistics, `company = ? AND result = 'open' ORDER BY close_date` walks
//! the `(result, close_date)` index through every open opportunity rather
//! than the company's few (measured: 250-420 ms against 2 ms on 150,000
//! opportunities). Nothing else writes them, so the store does:
//!
//! - each new SQLite connection runs `PRAGMA optimize=0x10002`, which
//!   analyses the tables that need it (never analysed, or grown a lot since),
//!   reading about a thousand rows per index, so it costs milliseconds even
//!   on millions of rows;
//! - a bulk load ends with [`refresh`] (PostgreSQL: `ANALYZE`, rather than
//!   waiting for autovacuum to notice).

use crate::store::{Pool, StoreError};

/// Bounds the rows SQLite's `ANALYZE` reads per index to about a thousand
/// (an approximate analysis, as the SQLite documentation recommends for
/// `PRAGMA optimize`).
const SQLITE_LIMIT: &str = "PRAGMA analysis_limit=1000";

/// Readies a new SQLite connection: analyses the tables that need it (bit
/// 0x10000: all tables, not only those this connection used, since it has
/// used none yet).
pub async fn on_sqlite_connect(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query(SQLITE_LIMIT).execute(&mut *conn).await?;
    sqlx::query("PRAGMA optimize=0x10002").execute(&mut *conn).await?;
    Ok(())
}

/// Brings the planner statistics of every table up to date, after many
/// rows were written at once.
pub async fn refresh(pool: &Pool) -> Result<(), StoreError> {
    match pool {
        Pool::Sqlite(p) => {
            let mut c = p.acquire().await?;
            sqlx::query(SQLITE_LIMIT).execute(&mut *c).await?;
            sqlx::query("ANALYZE").execute(&mut *c).await?;
        }
        Pool::Postgres(p) => {
            sqlx::query("ANALYZE").execute(p).await?;
        }
    }
    Ok(())
}
