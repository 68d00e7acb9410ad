//! Skipping part of the test suite on purpose (`RELATA_SKIP_PG`,
//! `RELATA_SKIP_BROWSER`), loudly.
//!
//! A skipped test still reports `ok` to the test harness, so each skip
//! writes one line straight to the process's standard error, which the
//! harness does not capture (it captures only `print!`/`eprint!`):
//!
//! ```text
//! SKIPPED: browser::sign_in_and_out (RELATA_SKIP_BROWSER is set: no browser test runs)
//! ```
//!
//! `cargo test ... 2>&1 | grep '^SKIPPED:'` lists them, `grep -c` counts
//! them. CI never skips: with `CI` set, asking for a skip is an error.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Mutex;

/// `true` when the variable `var` asks for a skip: `1`, `true`, `yes` or
/// `on`, in any case (anything else, or unset, runs the tests).
pub fn requested(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| is_yes(&v))
}

/// The spellings of "yes" a skip variable accepts.
pub fn is_yes(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// `true` when running in CI (`CI` set to anything but empty or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
}

/// Records that the running test skips (part of) its work because `var`
/// is set: one `SKIPPED:` line on standard error, past the harness's
/// capture. Refused in CI, which must run everything.
pub fn report(var: &str, what: &str) -> anyhow::Result<()> {
    if in_ci() {
        anyhow::bail!("{var} is set but so is CI: CI never skips {what}. Unset {var}.");
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    // One line per test and variable, however often the test asks.
    static SEEN: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());
    let fresh = SEEN
        .lock()
        .map(|mut seen| seen.insert((test.to_owned(), var.to_owned())))
        .unwrap_or(true);
    if !fresh {
        return Ok(());
    }
    // A line of its own: the harness may be half-way through one (`-q`
    // prints a dot per test), and `grep '^SKIPPED:'` must find every skip.
    let mut line = format!("\nSKIPPED: {test} ({var} is set: {what} skipped)\n");
    let first_of_var = SEEN
        .lock()
        .map(|mut seen| seen.insert((String::new(), var.to_owned())))
        .unwrap_or(false);
    if first_of_var {
        line.insert_str(
            0,
            &format!(
                "\n*** {var} is set: tests that need it report `ok` without running that part. \
                 Each skip prints a SKIPPED: line; count them with `grep -c '^SKIPPED:'`. ***\n"
            ),
        );
    }
    // Straight to the file descriptor: `eprintln!` would be captured and
    // shown only for a failing test.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn skip_variables_accept_the_usual_spellings_of_yes() {
        for yes in ["1", "true", "TRUE", "True", "yes", "YES", "on", " 1 "] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "0", "false", "no", "off", "2", "skip"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
