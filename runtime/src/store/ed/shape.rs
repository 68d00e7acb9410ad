//! Statements built once with sea-query and bound many times.
//!
//! A request should not pay for building the same SQL text again: a
//! [`Shape`] is built from a sea-query statement whose parameters are
//! markers, remembers where each marker landed among the statement's bound
//! values, and later binds real values in that order. Values the statement
//! carries itself (the `1` of `row_version + 1`) are kept as they are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder, Value, Values};
use sea_query_binder::{SqlxBinder, SqlxValues};

use crate::store::Backend;

/// The prefix of marker values; no real parameter is built with it.
const MARKER: &str = "\u{0}relata-param-";

#[derive(Debug, Clone)]
enum Slot {
    /// The n-th parameter given to [`Shape::bind`].
    Param(usize),
    /// A value of the statement itself.
    Fixed(Value),
}

/// The SQL text of a statement and how to bind its parameters.
#[derive(Debug, Clone)]
pub struct Shape {
    sql: String,
    slots: Vec<Slot>,
    params: usize,
}

impl Shape {
    /// Builds the statement `make` returns for `params` marker values.
    pub fn prepare<S: SqlxBinder>(backend: Backend, params: usize, make: impl FnOnce(&[Value]) -> S) -> Shape {
        let markers: Vec<Value> = (0..params)
            .map(|i| Value::String(Some(Box::new(format!("{MARKER}{i}")))))
            .collect();
        let stmt = make(&markers);
        let (sql, values) = match backend {
            Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
            Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
        };
        let slots = values
            .0
             .0
            .into_iter()
            .map(|v| match &v {
                Value::String(Some(s)) => match s.strip_prefix(MARKER).and_then(|n| n.parse().ok()) {
                    Some(n) => Slot::Param(n),
                    None => Slot::Fixed(v),
                },
                _ => Slot::Fixed(v),
            })
            .collect();
        Shape { sql, slots, params }
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement's values with `params` in their places. A caller
    /// passing fewer parameters than the shape was prepared with is a bug
    /// (caught by a debug assertion); a release build binds NULL there.
    pub fn bind(&self, params: Vec<Value>) -> SqlxValues {
        debug_assert_eq!(params.len(), self.params, "parameters of {}", self.sql);
        // A parameter may be used more than once (the time of a delete is
        // both `deleted_at` and `updated_at`): clone, never take.
        let values = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Fixed(v) => v.clone(),
                Slot::Param(n) => params.get(*n).cloned().unwrap_or(Value::String(None)),
            })
            .collect();
        SqlxValues(Values(values))
    }
}

/// Shapes that depend on which columns a request touches (an UPDATE's SET
/// list), built on first use. Bounded: past [`ShapeCache::CAPACITY`] column
/// sets, shapes are built per request instead of remembered.
#[derive(Debug, Default)]
pub struct ShapeCache {
    shapes: Mutex<HashMap<Box<[usize]>, Arc<Shape>>>,
}

impl ShapeCache {
    /// How many shapes one cache keeps.
    pub const CAPACITY: usize = 256;

    /// The shape for `key`, built by `build` when not cached.
    pub fn get_or_build(&self, key: &[usize], build: impl FnOnce() -> Shape) -> Arc<Shape> {
        if let Some(s) = self.lock().get(key) {
            return s.clone();
        }
        let shape = Arc::new(build());
        let mut shapes = self.lock();
        if shapes.len() < Self::CAPACITY {
            shapes.insert(key.into(), shape.clone());
        }
        shape
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<[usize]>, Arc<Shape>>> {
        self.shapes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use sea_query::{Alias, Expr, Query};

    use super::*;

    #[test]
    fn binds_parameters_where_the_markers_landed() {
        // Parameters given in one order, used by the statement in another.
        let shape = Shape::prepare(Backend::Postgres, 2, |p| {
            Query::update()
                .table(Alias::new("t"))
                .value(Alias::new("a"), p[1].clone())
                .value(Alias::new("v"), Expr::col(Alias::new("v")).add(1))
                .and_where(Expr::col(Alias::new("id")).eq(p[0].clone()))
                .to_owned()
        });
        assert_eq!(
            shape.sql(),
            r#"UPDATE "t" SET "a" = $1, "v" = "v" + $2 WHERE "id" = $3"#
        );
        let values = shape.bind(vec![Value::from("the id"), Value::from(7i64)]);
        assert_eq!(
            values.0 .0,
            vec![Value::from(7i64), Value::Int(Some(1)), Value::from("the id")]
        );
        // A parameter used twice is bound twice.
        let twice = Shape::prepare(Backend::Sqlite, 1, |p| {
            Query::update()
                .table(Alias::new("t"))
                .value(Alias::new("a"), p[0].clone())
                .value(Alias::new("b"), p[0].clone())
                .to_owned()
        });
        assert_eq!(twice.bind(vec![Value::from(3i64)]).0 .0, vec![Value::from(3i64); 2]);
    }

    #[test]
    fn the_cache_builds_once_per_key() {
        let cache = ShapeCache::default();
        let mut built = 0;
        for _ in 0..3 {
            cache.get_or_build(&[1, 2], || {
                built += 1;
                Shape::prepare(Backend::Sqlite, 0, |_| Query::select().expr(Expr::val(1)).to_owned())
            });
        }
        assert_eq!(built, 1);
    }
}
