//! The throwaway PostgreSQL of the test suite hands out distinct, usable,
//! empty databases.

use relata_tests::pg::fresh_database;
use sqlx::{Connection as _, Executor as _, PgConnection};

/// Tables, views and sequences outside PostgreSQL's own schemas.
async fn user_relations(conn: &mut PgConnection) -> anyhow::Result<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
         AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

#[tokio::test]
async fn two_calls_give_two_distinct_usable_empty_databases() -> anyhow::Result<()> {
    let Some(first) = fresh_database().await? else {
        eprintln!("RELATA_SKIP_PG=1: skipping");
        return Ok(());
    };
    let second = fresh_database()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the second call skipped but the first did not"))?;
    assert_ne!(first, second);

    let mut names = Vec::new();
    for url in [&first, &second] {
        let mut conn = PgConnection::connect(url).await?;
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await?;
        assert_eq!(one, 1);
        assert_eq!(user_relations(&mut conn).await?, 0, "{url} is not empty");
        let name: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await?;
        assert!(name.starts_with("relata_t_"), "{name}");
        assert!(url.contains(&name), "{url} vs {name}");
        names.push(name);
        conn.close().await?;
    }
    assert_ne!(names[0], names[1]);

    // Writes in one database do not show in the other.
    let mut a = PgConnection::connect(&first).await?;
    a.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await?;
    assert_eq!(user_relations(&mut a).await?, 1);
    a.close().await?;
    let mut b = PgConnection::connect(&second).await?;
    assert_eq!(user_relations(&mut b).await?, 0);
    b.close().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_calls_all_succeed() -> anyhow::Result<()> {
    let calls = (0..8).map(|_| tokio::spawn(fresh_database()));
    let mut urls = Vec::new();
    for call in calls {
        match call.await?? {
            Some(url) => urls.push(url),
            None => return Ok(()), // RELATA_SKIP_PG=1
        }
    }
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 8);
    Ok(())
}
