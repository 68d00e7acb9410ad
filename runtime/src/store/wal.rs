//! WAL checkpoints of the SQLite ED database, on a schedule of their own.
//!
//! SQLite's automatic checkpoint runs inside whichever statement commits
//! while the log is over 1,000 pages, and only when that statement is
//! stepped to its end. Under continuous concurrent writes this goes wrong
//! both ways (measured with the record benchmark, 16 concurrent creates):
//!
//! - the log is rarely fully copied while other writers append to it, so it
//!   is rarely started again from the top; it stays over the threshold and
//!   nearly every commit checkpoints, sorting the log's index again each
//!   time (1,272 checkpoints for 2,715 creates, a tenth of all the work);
//! - a single-row `INSERT .. RETURNING` read with `fetch_one` commits when
//!   the statement is reset, which skips the automatic checkpoint: such
//!   writes grow the log without bound (a create writes some 20 to 60
//!   pages, indexes and search structure included), and the next writer
//!   that does step to the end pays for all of it.
//!
//! So the ED database never checkpoints in a request. A task on a
//! connection of its own copies the log into the database every
//! [`INTERVAL`] (`PASSIVE`: it neither waits for nor blocks anyone), and
//! once the log is over [`RESTART_PAGES`] it starts it again from the top
//! and empties the file (`TRUNCATE`: writers wait while it copies the last
//! pages, and at most [`RESTART_WAIT`] for readers of older pages to
//! finish). A log a writer starts again by itself is cut back to
//! [`JOURNAL_SIZE_LIMIT`].
//!
//! (`RESTART` would only clear the way for the next writer to start the
//! log again; `TRUNCATE` does it at once, and gives the disk back.)

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::task::JoinHandle;

/// How often the task checkpoints.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// The log size (pages) from which the task starts the log again.
pub const RESTART_PAGES: i64 = 4_096;

/// How long a restart waits for readers (the checkpoint connection's busy
/// timeout): writers wait that long at most.
pub const RESTART_WAIT: Duration = Duration::from_millis(50);

/// The size (bytes) a restarted log is cut back to.
pub const JOURNAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// `options` for a database whose log a [`Checkpointer`] looks after: no
/// checkpoint in the connections that write.
pub fn scheduled(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .pragma("wal_autocheckpoint", "0")
        .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT.to_string())
}

/// The checkpoint task of one database; stopped when dropped.
#[derive(Debug)]
pub struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database `options` opens, on a connection of
    /// its own (so it never waits for a pooled one under load).
    pub fn start(options: SqliteConnectOptions) -> Checkpointer {
        let options = options.busy_timeout(RESTART_WAIT).disable_statement_logging();
        Checkpointer {
            task: tokio::spawn(run(options)),
        }
    }

    /// Stops the task (its connection closes with it).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn run(options: SqliteConnectOptions) {
    let mut conn: Option<SqliteConnection> = None;
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match SqliteConnection::connect_with(&options).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpointer: cannot connect; retrying");
                    continue;
                }
            },
        };
        if let Err(e) = look_after(c).await {
            // A broken connection is opened again at the next tick.
            tracing::warn!(error = %e, "WAL checkpoint failed");
            if let Some(c) = conn.take() {
                let _ = c.close().await;
            }
        }
    }
}

/// One round: copy what can be copied; start the log again when it is long.
async fn look_after(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let passive = checkpoint(conn, Mode::Passive).await?;
    if passive.log_pages >= RESTART_PAGES {
        let restart = checkpoint(conn, Mode::Truncate).await?;
        if restart.busy {
            tracing::debug!(pages = restart.log_pages, "WAL restart deferred: readers busy");
        }
    }
    Ok(())
}

/// How a checkpoint goes about it (SQLite's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Copies what no reader still needs; waits for nobody.
    Passive,
    /// Copies everything, holding writers off, then starts the log again
    /// and empties its file once readers are done with it (waiting the busy
    /// timeout at most).
    Truncate,
}

/// What a checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// It could not finish: a reader or writer was in the way.
    pub busy: bool,
    /// Pages in the log (after a truncation: the pages it had).
    pub log_pages: i64,
    /// Pages of the log now copied into the database.
    pub copied_pages: i64,
}

/// Runs one checkpoint on `conn`.
pub async fn checkpoint(conn: &mut SqliteConnection, mode: Mode) -> Result<Outcome, sqlx::Error> {
    let sql = match mode {
        Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    let (busy, log_pages, copied_pages): (i64, i64, i64) = sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(Outcome {
        busy: busy != 0,
        log_pages,
        copied_pages,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::{Databases, Location, Pool};

    /// Both databases on SQLite in a throwaway directory (kept while the
    /// test holds it), and the ED pool.
    async fn sqlite() -> (tempfile::TempDir, Databases, sqlx::SqlitePool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let dbs = Databases::open(&Location::SqliteDir(dir.path().to_owned()))
            .await
            .expect("open");
        let Pool::Sqlite(pool) = dbs.ed.clone() else {
            panic!("SQLite expected");
        };
        (dir, dbs, pool)
    }

    /// The log of the ED database after a burst of writes is copied and
    /// started again by the task, without any further write or checkpoint
    /// by anyone else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_log_is_started_again_by_the_task() {
        let (_dir, _dbs, pool) = sqlite().await;
        let pool = &pool;
        sqlx::query("CREATE TABLE burst (b BLOB)")
            .execute(pool)
            .await
            .expect("table");
        // About 6,000 pages in one commit: over RESTART_PAGES.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
             INSERT INTO burst SELECT zeroblob(4000) FROM n",
        )
        .execute(pool)
        .await
        .expect("burst");

        // Watch without copying anything: a passive checkpoint of a log
        // already copied only reports its size, and a log only starts
        // again at a restart (nobody else writes here).
        let mut watcher = pool.acquire().await.expect("connection");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = None;
        while Instant::now() < deadline {
            tokio::time::sleep(INTERVAL).await;
            let now = checkpoint(&mut watcher, Mode::Passive).await.expect("checkpoint");
            if now.log_pages == 0 {
                return;
            }
            last = Some(now);
        }
        panic!("the log was not started again within 10 s: {last:?}");
    }

    /// Connections that write leave checkpoints to the task.
    #[tokio::test]
    async fn writers_do_not_checkpoint() {
        let (_dir, _dbs, pool) = sqlite().await;
        let (pages,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(&pool)
            .await
            .expect("pragma");
        assert_eq!(pages, 0);
    }
}
