//! Running a read or a write and decoding its rows into records, on
//! either backend.

use sea_query_binder::SqlxValues;
use serde_json::Value as Json;
use sqlx::Row;

use super::{EntityTable, Names, Record, WriteError};
use crate::store::ed::attachments::{parse_files, AttachedFile};
use crate::store::ed::values::{from_pg, from_sqlite, ColumnKind};
use crate::store::{Db, Pool, StoreError};

impl EntityTable {
    pub(super) async fn fetch(
        &self,
        db: &mut Db<'_>,
        sql: &str,
        values: SqlxValues,
        projection: Option<&[usize]>,
    ) -> Result<Vec<Record>, StoreError> {
        let cols = self.projected(projection);
        let names = self.names_of(&cols);
        let q = |v| sqlx::query_with(sql, v);
        match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = q(values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, &names, from_sqlite)
            }
            Db::Sqlite(c) => {
                let rows = q(values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, &names, from_sqlite)
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, &names, from_pg)
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, &names, from_pg)
            }
        }
    }

    /// [`Self::fetch`] of a statement whose last column is the records'
    /// files ([`files_column`]).
    pub(super) async fn fetch_with_files(
        &self,
        db: &mut Db<'_>,
        sql: &str,
        values: SqlxValues,
        projection: Option<&[usize]>,
    ) -> Result<(Vec<Record>, Vec<Vec<AttachedFile>>), StoreError> {
        let cols = self.projected(projection);
        let names = self.names_of(&cols);
        let files_at = cols.len();
        let q = |v| sqlx::query_with(sql, v);
        let rows: Vec<(Record, Option<String>)> = match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = q(values).fetch_all(p).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_sqlite)?
            }
            Db::Sqlite(c) => {
                let rows = q(values).fetch_all(&mut **c).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_sqlite)?
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_pg)?
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_with_files(&rows, &cols, &names, files_at, from_pg)?
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        let mut files = Vec::with_capacity(rows.len());
        for (record, text) in rows {
            records.push(record);
            files.push(parse_files(text.as_deref())?);
        }
        Ok((records, files))
    }

    fn decode_with_files<R: Row>(
        &self,
        rows: &[R],
        cols: &[usize],
        names: &Names,
        files_at: usize,
        get: impl Fn(&R, usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Vec<(Record, Option<String>)>, StoreError>
    where
        for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        rows.iter()
            .map(|r| Ok((self.decode(cols, names, |i, k| get(r, i, k))?, r.try_get(files_at)?)))
            .collect()
    }

    pub(super) async fn fetch_write(
        &self,
        db: &mut Db<'_>,
        sql: &str,
        values: SqlxValues,
    ) -> Result<Vec<Record>, WriteError> {
        let cols = self.projected(None);
        let names = &self.names;
        Ok(match db {
            Db::Pool(Pool::Sqlite(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, names, from_sqlite)?
            }
            Db::Sqlite(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, names, from_sqlite)?
            }
            Db::Pool(Pool::Postgres(p)) => {
                let rows = sqlx::query_with(sql, values).fetch_all(p).await?;
                self.decode_all(&rows, &cols, names, from_pg)?
            }
            Db::Postgres(c) => {
                let rows = sqlx::query_with(sql, values).fetch_all(&mut **c).await?;
                self.decode_all(&rows, &cols, names, from_pg)?
            }
        })
    }

    fn decode_all<R>(
        &self,
        rows: &[R],
        cols: &[usize],
        names: &Names,
        get: impl Fn(&R, usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Vec<Record>, StoreError> {
        rows.iter()
            .map(|r| self.decode(cols, names, |i, k| get(r, i, k)))
            .collect()
    }

    pub(super) fn decode(
        &self,
        cols: &[usize],
        names: &Names,
        get: impl Fn(usize, ColumnKind) -> Result<Json, sqlx::Error>,
    ) -> Result<Record, StoreError> {
        let mut values = Vec::with_capacity(cols.len());
        for (pos, i) in cols.iter().enumerate() {
            values.push(get(pos, self.columns[*i].kind)?);
        }
        Ok(Record::new(names.clone(), values))
    }

    /// The names of the columns `cols` (shared when it is the whole row).
    fn names_of(&self, cols: &[usize]) -> Names {
        if cols.len() == self.columns.len() {
            self.names.clone()
        } else {
            cols.iter().map(|i| self.columns[*i].name.clone()).collect()
        }
    }
}
