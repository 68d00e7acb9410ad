//! The one Rhai engine of the process, sandboxed: limits on operations,
//! call depth, expression depth and data sizes, a wall-clock deadline per
//! call, a bound on all the data of a call and of all calls at once (see
//! [`budget`]), no `eval`, no modules, `print`/`debug` to the logs, capped. Rhai's standard
//! library reads no file, network, process or environment; nothing here adds
//! any.

use std::sync::OnceLock;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, Position};

use super::budget;

/// The limits every script call runs under.
#[derive(Debug, Clone, Copy)]
pub struct ScriptLimits {
    /// Operations (roughly: expressions evaluated) per call.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Largest array.
    pub max_array_size: usize,
    /// Largest object map.
    pub max_map_size: usize,
    /// Wall time per call, database requests included.
    pub max_time: Duration,
    /// All the data one call holds (its variables and `this`), in bytes,
    /// as measured every few operations.
    pub max_data_size: usize,
    /// All the data of the calls running at once, in bytes.
    pub max_total_data: usize,
    /// Arrays and maps nested in each other.
    pub max_data_depth: usize,
    /// `print`/`debug` output one call may write to the log, in bytes.
    pub max_output: usize,
    /// Script calls computing at once (a call waiting on the database
    /// gives its slot up meanwhile).
    pub max_concurrent: usize,
}

/// The limits in force (documented in docs/rules.md and docs/limits.md).
pub const LIMITS: ScriptLimits = ScriptLimits {
    max_operations: 1_000_000,
    max_call_levels: 32,
    max_string_size: 1024 * 1024,
    max_array_size: 10_000,
    max_map_size: 10_000,
    max_time: Duration::from_secs(2),
    max_data_size: 16 * 1024 * 1024,
    max_total_data: 64 * 1024 * 1024,
    max_data_depth: 32,
    max_output: 64 * 1024,
    max_concurrent: 4,
};

/// The value `on_progress` stops a script with when its time is up.
const TIMED_OUT: &str = "relata:time-limit";

/// The shared engine, built on first use with every host function registered.
pub(super) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new();
        e.set_max_operations(LIMITS.max_operations)
            .set_max_call_levels(LIMITS.max_call_levels)
            .set_max_expr_depths(64, 32)
            .set_max_string_size(LIMITS.max_string_size)
            .set_max_array_size(LIMITS.max_array_size)
            .set_max_map_size(LIMITS.max_map_size)
            .set_max_variables(1_000)
            .set_max_functions(1_000);
        e.disable_symbol("eval");
        // The clock is read every few operations: one operation can be
        // slow (a long string copied), so rarer reads overran the limit.
        e.on_progress(|ops| budget::tick(ops).then(|| Dynamic::from(TIMED_OUT)));
        // The variable resolver is the one hook that sees the scope and
        // `this`: it measures the call's data when a measure is due.
        #[allow(deprecated)] // "volatile", not deprecated
        e.on_var(|_, _, ctx| match budget::check_data(ctx.scope(), ctx.this_ptr()) {
            Ok(()) => Ok(None),
            Err(which) => Err(EvalAltResult::ErrorDataTooLarge(which.to_owned(), Position::NONE).into()),
        });
        e.on_print(|text| {
            if budget::may_print(text) {
                tracing::info!(target: "relata::script", "{text}");
            }
        });
        e.on_debug(|text, source, pos| {
            if budget::may_print(text) {
                tracing::debug!(target: "relata::script", source = source.unwrap_or(""), line = pos.line(), "{text}");
            }
        });
        super::api::register(&mut e);
        super::host::register(&mut e);
        e
    })
}
