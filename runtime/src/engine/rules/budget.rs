//! What one script call may use besides operations: its deadline, the data
//! it holds (in all its variables and `this`, measured as it runs, in total
//! across concurrent calls too), its `print`/`debug` output, and a slot
//! among the calls that may run at once.
//!
//! Rhai checks the size of each value it makes, but not of a map or array
//! filled one index at a time (`m[k] = v`), and never counts map keys: a
//! script could hold gigabytes within its per-value limits. So the data a
//! call reaches is measured here, every few operations, from the variable
//! resolver (the one hook that sees the scope and `this`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Scope};

use super::sandbox::LIMITS;

/// The bookkeeping of the call running on this thread.
#[derive(Debug, Default)]
struct CallState {
    deadline: Option<Instant>,
    /// Operations seen when data was last measured, and how many more may
    /// run before the next measure (more for large data, so measuring costs
    /// a bounded share of the run).
    measured_at: u64,
    gap: u64,
    /// Operations so far, as last seen by [`tick`].
    ops: u64,
    due: bool,
    /// This call's data at its last measure, counted in [`TOTAL_DATA`].
    bytes: usize,
    /// Bytes of `print`/`debug` output written; whether the cut was logged.
    printed: usize,
    cut: bool,
}

thread_local! {
    static CALL: RefCell<Option<CallState>> = const { RefCell::new(None) };
}

/// The data of every script call running now, as last measured.
static TOTAL_DATA: AtomicUsize = AtomicUsize::new(0);

/// How many operations at least between two measures of a call's data.
const MEASURE_EVERY: u64 = 16;

/// Why a call was stopped by this module, in [`rhai::EvalAltResult::ErrorDataTooLarge`].
pub(super) const CALL_DATA: &str = "relata:call-data";
pub(super) const TOTAL: &str = "relata:total-data";
pub(super) const DEPTH: &str = "relata:data-depth";

/// Runs `f` as one script call: its own deadline (the earlier of `max` and
/// an outer call's on this thread), data measure and output budget.
pub(super) fn with_call<T>(max: Duration, f: impl FnOnce() -> T) -> T {
    let outer = CALL.with(|c| c.borrow_mut().take());
    let mine = Instant::now() + max;
    let deadline = outer.as_ref().and_then(|o| o.deadline).map_or(mine, |o| o.min(mine));
    CALL.with(|c| {
        *c.borrow_mut() = Some(CallState {
            deadline: Some(deadline),
            gap: MEASURE_EVERY,
            ..CallState::default()
        })
    });
    let out = f();
    let done = CALL.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    if let Some(done) = done {
        TOTAL_DATA.fetch_sub(done.bytes, Ordering::Relaxed);
    }
    out
}

/// Called on every operation: whether time is up; marks a data measure due.
pub(super) fn tick(ops: u64) -> bool {
    if ops % MEASURE_EVERY != 0 {
        return false;
    }
    CALL.with(|c| {
        let mut c = c.borrow_mut();
        let Some(state) = c.as_mut() else { return false };
        state.ops = ops;
        if ops >= state.measured_at + state.gap {
            state.due = true;
        }
        state.deadline.is_some_and(|d| Instant::now() > d)
    })
}

/// Measures the call's data when due: `Err` names the limit passed.
pub(super) fn check_data(scope: &Scope<'_>, this: Option<&Dynamic>) -> Result<(), &'static str> {
    let due = CALL.with(|c| c.borrow().as_ref().is_some_and(|s| s.due));
    if !due {
        return Ok(());
    }
    let roots = scope.iter_raw().map(|(_, _, v)| v).chain(this);
    let (found, stopped) = measure(roots, LIMITS.max_data_size);
    let (bytes, nodes) = (found.bytes, found.nodes);
    CALL.with(|c| {
        let mut c = c.borrow_mut();
        let Some(state) = c.as_mut() else { return Ok(()) };
        state.due = false;
        let before = state.bytes;
        state.gap = next_gap(nodes, bytes, before, state.ops.saturating_sub(state.measured_at));
        state.measured_at = state.ops;
        state.bytes = bytes;
        let total = if bytes >= before {
            TOTAL_DATA.fetch_add(bytes - before, Ordering::Relaxed) + (bytes - before)
        } else {
            TOTAL_DATA.fetch_sub(before - bytes, Ordering::Relaxed) - (before - bytes)
        };
        if stopped == Some(Stop::Depth) {
            Err(DEPTH)
        } else if stopped == Some(Stop::Size) {
            Err(CALL_DATA)
        } else if total > LIMITS.max_total_data {
            Err(TOTAL)
        } else {
            Ok(())
        }
    })
}

/// How many operations to let run before the next measure. Measuring
/// visits every value, so large data is measured less often (a few visits
/// per operation at most), but never so rarely that the data, growing as
/// fast as it did since the last measure (or at least a quarter of the
/// longest string per operation), could pass the limit by more than a few
/// operations' growth.
fn next_gap(nodes: usize, bytes: usize, before: usize, ops: u64) -> u64 {
    let cheap = nodes as u64 / 8;
    // At least a quarter of the longest string per operation: the data
    // may start growing fast at any time.
    let floor = (LIMITS.max_string_size / 4) as u64;
    let rate = (bytes.saturating_sub(before) as u64 / ops.max(1)).max(floor);
    let safe = LIMITS.max_data_size.saturating_sub(bytes) as u64 / rate;
    cheap.min(safe).max(MEASURE_EVERY)
}

/// Why measuring stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Past the byte budget given.
    Size,
    /// Arrays or maps nested deeper than [`super::sandbox::ScriptLimits::max_data_depth`].
    Depth,
}

/// What a measure found so far.
#[derive(Debug, Default)]
pub(super) struct Measured {
    /// Bytes: an estimate counting each slot, string, key and map entry.
    pub bytes: usize,
    /// Values visited.
    pub nodes: usize,
}

/// Measures the data reachable from `roots`, stopping once past `stop`
/// bytes or too deeply nested (a script can nest arrays thousands deep,
/// and a walk must not follow them that far).
pub(super) fn measure<'a>(roots: impl Iterator<Item = &'a Dynamic>, stop: usize) -> (Measured, Option<Stop>) {
    let mut m = Measured::default();
    for root in roots {
        if let Err(why) = walk(root, 0, stop, &mut m) {
            return (m, Some(why));
        }
    }
    (m, None)
}

fn walk(v: &Dynamic, depth: usize, stop: usize, m: &mut Measured) -> Result<(), Stop> {
    // A map entry beyond its value: the key's inline part and the tree's share.
    const ENTRY: usize = 48;
    m.bytes += std::mem::size_of::<Dynamic>();
    m.nodes += 1;
    if m.bytes > stop {
        return Err(Stop::Size);
    }
    if depth > LIMITS.max_data_depth {
        return Err(Stop::Depth);
    }
    if v.is_shared() {
        // A value captured by a closure; one in use by the running
        // operation is skipped (the next measure sees it).
        if let Some(inner) = v.read_lock::<Dynamic>() {
            walk(&inner, depth + 1, stop, m)?;
        }
    } else if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        m.bytes += s.len();
    } else if let Some(a) = v.read_lock::<rhai::Array>() {
        for x in a.iter() {
            walk(x, depth + 1, stop, m)?;
        }
    } else if let Some(map) = v.read_lock::<rhai::Map>() {
        for (k, x) in map.iter() {
            m.bytes += ENTRY + k.len();
            walk(x, depth + 1, stop, m)?;
        }
    } else if let Some(b) = v.read_lock::<rhai::Blob>() {
        m.bytes += b.len();
    }
    if m.bytes > stop {
        return Err(Stop::Size);
    }
    Ok(())
}

/// Whether `text` may still be written to the log by this call; the first
/// refusal logs that the output was cut.
pub(super) fn may_print(text: &str) -> bool {
    CALL.with(|c| {
        let mut c = c.borrow_mut();
        let Some(state) = c.as_mut() else { return true };
        if state.printed + text.len() <= LIMITS.max_output {
            state.printed += text.len();
            return true;
        }
        if !state.cut {
            state.cut = true;
            tracing::warn!(
                target: "relata::script",
                "script output cut: a call may print at most {} bytes; the rest of its print/debug output is dropped",
                LIMITS.max_output
            );
        }
        false
    })
}

/// The slots of script calls that may compute at once. `free` may go
/// below zero for a moment: a call back from the database takes its slot
/// again after a bounded wait, taken or not.
struct Slots {
    free: Mutex<isize>,
    freed: Condvar,
}

// The limit is a small constant: the cast cannot wrap.
#[allow(clippy::cast_possible_wrap)]
static SLOTS: Slots = Slots {
    free: Mutex::new(LIMITS.max_concurrent as isize),
    freed: Condvar::new(),
};

thread_local! {
    /// Whether the call running on this thread holds a slot.
    static HOLDS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Takes a slot, waiting up to `wait`; `false` when none was free (unless
/// `anyway`, which takes it all the same after the wait).
fn acquire(wait: Duration, anyway: bool) -> bool {
    let until = Instant::now() + wait;
    let mut free = SLOTS.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    while *free <= 0 {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            if anyway {
                break;
            }
            return false;
        };
        free = SLOTS
            .freed
            .wait_timeout(free, left)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
    *free -= 1;
    true
}

fn release() {
    let mut free = SLOTS.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *free += 1;
    SLOTS.freed.notify_one();
}

/// This thread's slot among the script calls computing at once, freed on
/// drop. A call nested in another on the same thread shares its slot.
#[derive(Debug)]
pub(super) struct Slot {
    mine: bool,
}

impl Slot {
    /// Waits up to `wait` for a slot; `None` when all stay taken.
    pub(super) fn take(wait: Duration) -> Option<Slot> {
        if HOLDS.with(std::cell::Cell::get) {
            return Some(Slot { mine: false });
        }
        if !acquire(wait, false) {
            return None;
        }
        HOLDS.with(|h| h.set(true));
        Some(Slot { mine: true })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.mine {
            HOLDS.with(|h| h.set(false));
            release();
        }
    }
}

/// Runs `f` (a wait for the database) with this thread's slot given up,
/// so the scripts of the nested save can run; takes it back after.
pub(super) fn without_slot<T>(f: impl FnOnce() -> T) -> T {
    if !HOLDS.with(std::cell::Cell::get) {
        return f();
    }
    release();
    let out = f();
    acquire(LIMITS.max_time, true);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex as StdMutex};

    use rhai::{CallFnOptions, EvalAltResult, Map};

    use super::super::sandbox::engine;
    use super::*;

    /// The tests share the process-wide total and slots: one at a time.
    static SERIAL: StdMutex<()> = StdMutex::new(());

    /// Runs `f()` of `src` as a rule call would, `this` a map; the error
    /// (as the value Rhai stopped with) and `this` afterwards.
    fn run(src: &str) -> (Option<String>, Map, Duration) {
        let e = engine();
        let ast = e.compile(src).expect("the test script compiles");
        let mut this = Dynamic::from_map(Map::new());
        let started = Instant::now();
        let result = with_call(LIMITS.max_time, || {
            let options = CallFnOptions::new().eval_ast(false).bind_this_ptr(&mut this);
            e.call_fn_with_options::<Dynamic>(options, &mut Scope::new(), &ast, "f", ())
        });
        let elapsed = started.elapsed();
        let err = result.err().map(|e| match *e {
            EvalAltResult::ErrorDataTooLarge(what, ..) => what,
            EvalAltResult::ErrorTerminated(..) => "time".to_owned(),
            other => other.to_string(),
        });
        (err, this.try_cast::<Map>().unwrap_or_default(), elapsed)
    }

    fn count(this: &Map) -> usize {
        this.get("n")
            .and_then(|n| n.as_int().ok())
            .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    /// A 512 KiB string, built in a few operations.
    const HALF_MEG: &str = r#"let s = "x"; for i in 0..19 { s += s; }"#;

    #[test]
    fn a_map_filled_by_index_stops_near_the_limit() {
        let _one = SERIAL.lock();
        let src = format!(
            r#"fn f() {{ {HALF_MEG} let m = #{{}}; for i in 0..100000 {{ m["k" + i] = s + i; this.n = i; }} }}"#
        );
        let (err, this, _) = run(&src);
        assert_eq!(err.as_deref(), Some(CALL_DATA));
        // Each entry holds half a MiB: the call stopped within 2 MiB of
        // its 16 MiB (without the measure it ran on for hundreds).
        let held = count(&this) * 512 * 1024;
        assert!(held <= LIMITS.max_data_size + 2 * 1024 * 1024, "{held} bytes held");
        assert!(held >= LIMITS.max_data_size / 2, "stopped early: {held} bytes held");
    }

    #[test]
    fn keys_and_arrays_filled_by_index_count_too() {
        let _one = SERIAL.lock();
        let keys =
            format!(r#"fn f() {{ {HALF_MEG} let m = #{{}}; for i in 0..100000 {{ m[s + i] = i; this.n = i; }} }}"#);
        let (err, this, _) = run(&keys);
        assert_eq!(err.as_deref(), Some(CALL_DATA));
        assert!(count(&this) * 512 * 1024 <= LIMITS.max_data_size + 2 * 1024 * 1024);
        let array = format!(
            r#"fn f() {{ {HALF_MEG} let a = []; a.pad(9000, 0); for i in 0..9000 {{ a[i] = s + i; this.n = i; }} }}"#
        );
        let (err, this, _) = run(&array);
        assert_eq!(err.as_deref(), Some(CALL_DATA));
        assert!(count(&this) * 512 * 1024 <= LIMITS.max_data_size + 2 * 1024 * 1024);
        // `this` is measured too (Rhai counts the strings it holds, not its keys).
        let record = format!(r#"fn f() {{ {HALF_MEG} for i in 0..100000 {{ this[s + i] = i; this.n = i; }} }}"#);
        let (err, this, _) = run(&record);
        assert_eq!(err.as_deref(), Some(CALL_DATA));
        assert!(count(&this) * 512 * 1024 <= LIMITS.max_data_size + 2 * 1024 * 1024);
    }

    #[test]
    fn deep_nesting_stops() {
        let _one = SERIAL.lock();
        let (err, _, _) = run("fn f() { let a = []; for i in 0..100000 { a = [a]; } }");
        assert_eq!(err.as_deref(), Some(DEPTH));
    }

    #[test]
    fn small_data_runs_untouched() {
        let _one = SERIAL.lock();
        let (err, this, _) =
            run(r#"fn f() { let m = #{}; for i in 0..5000 { m["k" + (i % 100)] = [i, "text"]; this.n = i; } }"#);
        assert_eq!(err, None);
        assert_eq!(count(&this), 4999);
    }

    #[test]
    fn a_slow_loop_stops_within_the_time_limit() {
        let _one = SERIAL.lock();
        // Every operation copies a 512 KiB string: slow operations, so a
        // clock read every 1,024 of them overran the limit by seconds.
        let src = format!(r#"fn f() {{ {HALF_MEG} loop {{ let t = s.to_upper(); }} }}"#);
        let (err, _, elapsed) = run(&src);
        assert_eq!(err.as_deref(), Some("time"));
        assert!(
            elapsed < LIMITS.max_time + Duration::from_millis(500),
            "stopped after {elapsed:?}"
        );
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Sink(Arc<StdMutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn print_output_is_capped_and_the_cut_logged() {
        let _one = SERIAL.lock();
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let (err, _, _) = tracing::subscriber::with_default(subscriber, || {
            run(r#"fn f() { for i in 0..20000 { print("a line of output, number " + i); debug(i); } }"#)
        });
        assert_eq!(err, None);
        let log = String::from_utf8_lossy(&sink.0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned();
        let printed = log.lines().filter(|l| l.contains("a line of output")).count();
        // 20,000 lines were printed; those that fit 64 KiB were logged.
        assert!(printed > 100, "{printed} lines logged");
        assert!(printed * 26 <= LIMITS.max_output, "{printed} lines logged");
        assert_eq!(
            log.matches("script output cut").count(),
            1,
            "{}",
            &log[log.len().saturating_sub(500)..]
        );
    }

    #[test]
    fn the_total_of_calls_running_at_once_is_bounded() {
        let _one = SERIAL.lock();
        // Six calls of 12 MiB each: each within its own limit, 72 MiB in
        // all, past the 64 MiB of all calls together.
        let src = format!(
            r#"fn f() {{ {HALF_MEG} let m = #{{}}; for i in 0..24 {{ m["k" + i] = s + i; }} let y = 0; loop {{ y += 1; }} }}"#
        );
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let src = src.clone();
                std::thread::spawn(move || run(&src).0)
            })
            .collect();
        let errors: Vec<Option<String>> = threads.into_iter().map(|t| t.join().ok().flatten()).collect();
        assert!(errors.iter().any(|e| e.as_deref() == Some(TOTAL)), "{errors:?}");
        assert!(errors.iter().all(|e| e.as_deref() != Some(CALL_DATA)), "{errors:?}");
        assert_eq!(TOTAL_DATA.load(Ordering::Relaxed), 0, "every call gave its share back");
    }

    #[test]
    fn slots_bound_the_calls_computing_at_once() {
        let _one = SERIAL.lock();
        let held: Vec<Slot> = (0..LIMITS.max_concurrent)
            .map(|_| std::thread::spawn(|| Slot::take(Duration::ZERO)))
            .filter_map(|t| t.join().ok().flatten())
            .collect();
        assert_eq!(held.len(), LIMITS.max_concurrent);
        let more = std::thread::spawn(|| Slot::take(Duration::from_millis(50)).is_some()).join();
        assert_eq!(more.ok(), Some(false), "no slot beyond the limit");
        drop(held);
        let again = std::thread::spawn(|| Slot::take(Duration::ZERO).is_some()).join();
        assert_eq!(again.ok(), Some(true));
    }
}
