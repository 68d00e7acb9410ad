//! The database harness of the tests: a fresh SQLite directory or
//! PostgreSQL database per test, releases as the engine runs them, and
//! small SQL helpers.

use sqlx::Row;

use crate::model::Model;
use crate::store::ed::schema::{apply, check_data, plan, read_catalog, Catalog, Plan, SchemaError, SchemaState};
use crate::store::{Backend, Databases, Location, Pool};

pub(super) struct Db {
    dbs: Databases,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub(super) async fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let dbs = Databases::open(&Location::SqliteDir(dir.path().to_owned()))
            .await
            .expect("open sqlite");
        Db { dbs, _dir: Some(dir) }
    }

    /// A fresh database on the test PostgreSQL (see `relata_testkit::pg`);
    /// `None` only when `RELATA_SKIP_PG=1`.
    pub(super) async fn postgres() -> Option<Db> {
        let url = relata_testkit::pg::fresh_database()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))?;
        let dbs = Databases::open(&Location::Postgres(url)).await.expect("open postgres");
        Some(Db { dbs, _dir: None })
    }

    /// Closes the pools (the harness drops old test databases itself).
    pub(super) async fn finish(self) {
        self.dbs.close().await;
    }

    pub(super) fn pool(&self) -> &Pool {
        &self.dbs.ed
    }

    pub(super) fn backend(&self) -> Backend {
        self.dbs.backend()
    }

    pub(super) fn tag(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub(super) fn bool(&self, v: bool) -> &'static str {
        match (self.backend(), v) {
            (Backend::Sqlite, true) => "1",
            (Backend::Sqlite, false) => "0",
            (Backend::Postgres, true) => "true",
            (Backend::Postgres, false) => "false",
        }
    }

    pub(super) async fn catalog(&self) -> Catalog {
        read_catalog(self.pool()).await.expect("catalog")
    }

    /// Plans, checks and applies a release, as the engine does.
    pub(super) async fn release(&self, old: Option<&Model>, new: &Model, n: i64) -> Result<Plan, SchemaError> {
        let p = plan(old, new, &self.catalog().await, n);
        check_data(self.pool(), &p, new, &[]).await?;
        apply(
            self.pool(),
            &p,
            new,
            &SchemaState {
                release: n,
                checksum: format!("sum{n}"),
            },
        )
        .await?;
        Ok(p)
    }

    /// After a release, the same model plans nothing.
    pub(super) async fn assert_settled(&self, m: &Model) {
        let p = plan(Some(m), m, &self.catalog().await, 99);
        assert!(
            p.steps.is_empty(),
            "{} plan of an applied model is not empty:\n{p}",
            self.tag()
        );
    }

    pub(super) async fn exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self.pool() {
            Pool::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Pool::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        }
    }

    /// Rows of a query whose columns are all text.
    pub(super) async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self.pool() {
            Pool::Sqlite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect(sql)
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
            Pool::Postgres(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .expect(sql)
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
        }
    }

    /// Inserts a record `n` into `table` with the given columns (SQL literals).
    pub(super) async fn insert(&self, table: &str, n: u32, cols: &[(&str, &str)]) -> Result<(), sqlx::Error> {
        let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        let values: Vec<&str> = cols.iter().map(|(_, v)| *v).collect();
        let comma = if cols.is_empty() { "" } else { ", " };
        self.exec(&format!(
            "INSERT INTO {table} (id, created_at, updated_at, row_version{comma}{}) \
             VALUES ('{}', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 1{comma}{})",
            names.join(", "),
            id(n),
            values.join(", ")
        ))
        .await
    }
}

pub(super) fn id(n: u32) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

pub(super) fn lit(n: u32) -> String {
    format!("'{}'", id(n))
}

pub(super) fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_owned())).collect()
}

/// The tables as lines: columns, indexes, foreign keys.
pub(super) fn describe(cat: &Catalog, tables: &[&str]) -> String {
    let mut out = String::new();
    for t in tables {
        let Some(info) = cat.table(t) else {
            out.push_str(&format!("{t}: missing\n"));
            continue;
        };
        out.push_str(&format!("{t}\n"));
        for c in &info.columns {
            out.push_str(&format!(
                "  {} {}{}\n",
                c.name,
                c.sql_type,
                if c.not_null { " NOT NULL" } else { "" }
            ));
        }
        for ix in &info.indexes {
            let kind = match (ix.unique, ix.partial) {
                (true, true) => "unique, live only",
                (true, false) => "unique",
                _ => "",
            };
            out.push_str(&format!("  index {} ({}) {kind}\n", ix.name, ix.columns.join(", ")));
        }
        for fk in &info.foreign_keys {
            out.push_str(&format!(
                "  fk {} -> {} on delete {}\n",
                fk.column, fk.target, fk.on_delete
            ));
        }
    }
    out
}
