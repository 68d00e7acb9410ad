//! Exact decimal values (decimal, currency and percent fields): reading them
//! from JSON numbers without a float on the way, checking them against a
//! field's precision and scale, writing them back as JSON numbers, and the
//! scaled-integer form SQLite stores them in.
//!
//! JSON numbers keep their digits (serde_json's `arbitrary_precision`), so
//! `99999999999999.99` reaches [`Decimal`] as written.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Number, Value};

/// The largest precision of a decimal field: a value scaled by `10^scale`
/// must fit a 64-bit integer (SQLite's exact storage form).
pub const MAX_PRECISION: u32 = 18;

/// A decimal that does not fit a field's precision and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfit {
    /// More digits after the point than the scale.
    Scale,
    /// More digits before the point than `precision - scale`.
    Precision,
}

impl Misfit {
    /// The stable error code: `scale` or `precision`.
    pub fn code(self) -> &'static str {
        match self {
            Misfit::Scale => "scale",
            Misfit::Precision => "precision",
        }
    }
}

/// What a field of `precision` and `scale` accepts, in words:
/// `at most 16 digits before the point and 2 after`.
pub fn limit_words(precision: u32, scale: u32) -> String {
    let before = precision.saturating_sub(scale);
    match (before, scale) {
        (_, 0) => format!("a whole number of at most {before} digits"),
        (0, s) => format!("a number below 1 in size with at most {s} digits after the point"),
        (b, s) => format!("at most {b} digits before the point and {s} after"),
    }
}

/// A JSON number as an exact decimal (`None`: not a number, or beyond what
/// a decimal holds, 28 digits).
pub fn of_number(n: &Number) -> Option<Decimal> {
    let text = n.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

/// A JSON value as an exact decimal, if it is a number.
pub fn of_json(v: &Value) -> Option<Decimal> {
    v.as_number().and_then(of_number)
}

/// Text (a filter operand, a form input) as an exact decimal: plain or
/// scientific notation, nothing else.
pub fn of_text(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let plain = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
    if !plain {
        return None;
    }
    Decimal::from_str(t).or_else(|_| Decimal::from_scientific(t)).ok()
}

/// A metadata setting (`min`, `max`, kept as `f64`) as the decimal its
/// author wrote: the shortest text that reads back as the same float.
pub fn of_setting(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    Decimal::from_str(&f.to_string()).ok()
}

/// Whether `d` fits `precision` digits of which `scale` after the point.
/// Trailing zeros after the point do not count (`1.50` fits scale 1).
pub fn fit(d: Decimal, precision: u32, scale: u32) -> Result<(), Misfit> {
    let d = d.normalize();
    if d.scale() > scale {
        return Err(Misfit::Scale);
    }
    let before = precision.saturating_sub(scale);
    // 10^before, as a decimal (28 digits at most; precision is at most 18).
    let bound = Decimal::from_i128_with_scale(10i128.pow(before.min(28)), 0);
    if d.abs().trunc() >= bound {
        return Err(Misfit::Precision);
    }
    Ok(())
}

/// `d` as a JSON number, exactly: plain notation, no trailing zeros after
/// the point, `.0` on whole values (as floats were written, so a client
/// reading the number as a float sees no change).
pub fn to_json(d: Decimal) -> Value {
    let d = d.normalize();
    let mut text = d.to_string();
    if d.scale() == 0 {
        text.push_str(".0");
    }
    // A decimal's text is always a valid JSON number; the fallback is never taken.
    serde_json::from_str::<Number>(&text).map_or(Value::Null, Value::Number)
}

/// `d` rounded to `scale` digits, half to even (how values stored as floats
/// by older releases are read, and how `money` rounds).
pub fn round(d: Decimal, scale: u32) -> Decimal {
    d.round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven)
}

/// The scaled integer SQLite stores for `d` at `scale`: `12.34` at scale 2
/// is `1234`. `None` when `d` has more digits after the point than `scale`
/// or the result leaves 64 bits (checked values never do).
pub fn to_scaled(d: Decimal, scale: u32) -> Option<i64> {
    let mut m = d.normalize();
    if m.scale() > scale {
        return None;
    }
    m.rescale(scale);
    if m.scale() != scale {
        return None; // too many digits to rescale
    }
    i64::try_from(m.mantissa()).ok()
}

/// The decimal a scaled integer stands for.
pub fn of_scaled(i: i64, scale: u32) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(i), scale.min(28))
}

/// A float read from an older release's REAL column, as the decimal it
/// was meant to be: rounded to the field's scale, half to even.
pub fn of_legacy_float(f: f64, scale: u32) -> Option<Decimal> {
    let d = Decimal::from_f64_retain(f).or_else(|| of_setting(f))?;
    Some(round(d, scale))
}

/// `d` as an `f64`, for the few places that only display or estimate.
pub fn approx(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn json_numbers_keep_their_digits() {
        let v: Value = serde_json::from_str("[99999999999999.99, 0.000001, 1e19, 1.50]").unwrap_or_default();
        let got: Vec<Option<Decimal>> = v.as_array().into_iter().flatten().map(of_json).collect();
        assert_eq!(
            got,
            vec![
                Some(dec("99999999999999.99")),
                Some(dec("0.000001")),
                Some(dec("10000000000000000000")),
                Some(dec("1.5"))
            ]
        );
        assert_eq!(to_json(dec("99999999999999.99")).to_string(), "99999999999999.99");
        assert_eq!(to_json(dec("-9999999999999999.99")).to_string(), "-9999999999999999.99");
        assert_eq!(to_json(dec("0.000001")).to_string(), "0.000001");
        assert_eq!(to_json(dec("1500.00")).to_string(), "1500.0");
        assert_eq!(to_json(dec("0.30")).to_string(), "0.3");
    }

    #[test]
    fn fit_counts_digits_on_both_sides() {
        assert_eq!(fit(dec("9999999999999999.99"), 18, 2), Ok(()));
        assert_eq!(fit(dec("-9999999999999999.99"), 18, 2), Ok(()));
        assert_eq!(fit(dec("10000000000000000"), 18, 2), Err(Misfit::Precision));
        assert_eq!(fit(dec("0.001"), 18, 2), Err(Misfit::Scale));
        assert_eq!(fit(dec("1.50"), 18, 1), Ok(()));
        assert_eq!(fit(dec("0.000001"), 18, 6), Ok(()));
        assert_eq!(fit(dec("0.5"), 2, 2), Ok(()));
        assert_eq!(fit(dec("1"), 2, 2), Err(Misfit::Precision));
        assert_eq!(limit_words(18, 2), "at most 16 digits before the point and 2 after");
    }

    #[test]
    fn scaled_integers_are_exact() {
        assert_eq!(to_scaled(dec("9999999999999999.99"), 2), Some(999_999_999_999_999_999));
        assert_eq!(to_scaled(dec("-0.01"), 2), Some(-1));
        assert_eq!(to_scaled(dec("0.000001"), 6), Some(1));
        assert_eq!(to_scaled(dec("0.001"), 2), None);
        assert_eq!(of_scaled(999_999_999_999_999_999, 2), dec("9999999999999999.99"));
        assert_eq!(of_scaled(1, 6), dec("0.000001"));
        // Floats of older releases: the nearest value at the scale.
        assert_eq!(of_legacy_float(0.1 + 0.2, 2), Some(dec("0.3")));
        assert_eq!(of_legacy_float(99999999999999.98, 2), Some(dec("99999999999999.98")));
        assert_eq!(of_text(" 0.1 "), Some(dec("0.1")));
        assert_eq!(of_text("1e-6"), Some(dec("0.000001")));
        assert_eq!(of_text("0x10"), None);
        assert_eq!(of_setting(0.1), Some(dec("0.1")));
    }
}
