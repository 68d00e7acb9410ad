//! The one Rhai engine of the process, sandboxed: limits on operations,
//! call depth, expression depth and data sizes, a wall-clock deadline per
//! call, no `eval`, no modules, `print`/`debug` to the logs. Rhai's standard
//! library reads no file, network, process or environment; nothing here adds
//! any.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine};

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
}

/// The limits in force (documented in docs/rules.md).
pub const LIMITS: ScriptLimits = ScriptLimits {
    max_operations: 1_000_000,
    max_call_levels: 32,
    max_string_size: 1024 * 1024,
    max_array_size: 10_000,
    max_map_size: 10_000,
    max_time: Duration::from_secs(2),
};

/// The value `on_progress` stops a script with when its time is up.
pub(super) const TIMED_OUT: &str = "relata:time-limit";

thread_local! {
    /// The deadline of the script call running on this thread, if any.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Sets this thread's deadline for the duration of `f` (restoring the outer
/// one, so nested calls on one thread keep the earliest).
pub(super) fn with_deadline<T>(max: Duration, f: impl FnOnce() -> T) -> T {
    let outer = DEADLINE.with(Cell::get);
    let mine = Instant::now() + max;
    let deadline = outer.map_or(mine, |o| o.min(mine));
    DEADLINE.with(|d| d.set(Some(deadline)));
    let out = f();
    DEADLINE.with(|d| d.set(outer));
    out
}

fn past_deadline() -> bool {
    DEADLINE.with(Cell::get).is_some_and(|d| Instant::now() > d)
}

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
        e.on_progress(|ops| {
            // Reading the clock every 1024 operations costs nothing measurable.
            if ops % 1024 == 0 && past_deadline() {
                Some(Dynamic::from(TIMED_OUT))
            } else {
                None
            }
        });
        e.on_print(|text| tracing::info!(target: "relata::script", "{text}"));
        e.on_debug(|text, source, pos| {
            tracing::debug!(target: "relata::script", source = source.unwrap_or(""), line = pos.line(), "{text}");
        });
        super::api::register(&mut e);
        super::host::register(&mut e);
        e
    })
}
