//! Where D1 ends: |D1| = ⌊n·split⌋, computed exactly, shared by condition C
//! and condition D so that both cut a corpus at the same row.
//!
//! `split` arrives as the `f64` nearest to the decimal the user wrote, and
//! `n as f64 * split` can land just below an integer (`100 × 0.29` is
//! `28.999999999999996`), so flooring it loses a row. Instead the split is
//! read back as the *shortest decimal that rounds to the same `f64`* (what
//! `{:e}` prints; for any split written with at most 15 significant digits,
//! the very decimal that was written) and `n × digits / 10^scale` is floored
//! in 128-bit integers: exact for every row count and split, with no
//! tolerance to choose.

use crate::error::{Error, Result};

/// [`Error::Config`] unless `split` is in (0, 1].
pub(crate) fn check_split(split: f64) -> Result<()> {
    if split > 0.0 && split <= 1.0 {
        Ok(())
    } else {
        Err(Error::Config {
            option: "--split",
            reason: format!("must be in (0, 1], got {split}"),
        })
    }
}

/// The number of D1 rows of a corpus of `rows` rows: ⌊rows · split⌋, with
/// `split` taken as the decimal it was written as (see the module docs).
///
/// # Errors
/// [`Error::Config`] unless `split` is in (0, 1].
pub fn d1_rows(rows: u64, split: f64) -> Result<u64> {
    check_split(split)?;
    let (digits, scale) = decimal(split).ok_or_else(|| Error::Config {
        option: "--split",
        reason: format!("{split} cannot be read as a decimal"),
    })?;
    // digits < 10^17 and rows < 2^64, so the product fits in 128 bits.
    let product = u128::from(rows) * digits;
    let d1 = match 10u128.checked_pow(scale) {
        Some(denominator) => product / denominator,
        // 10^scale > 2^128 > product.
        None => 0,
    };
    // split ≤ 1, so d1 ≤ rows.
    Ok(u64::try_from(d1).unwrap_or(rows).min(rows))
}

/// `value` (finite, in (0, 1]) as `digits / 10^scale`, `digits` being the
/// shortest decimal that rounds back to `value`.
fn decimal(value: f64) -> Option<(u128, u32)> {
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i64 = exponent.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: u128 = format!("{int}{frac}").parse().ok()?;
    // value = int.frac × 10^exponent = digits × 10^(exponent − |frac|).
    let frac_len = i64::try_from(frac.len()).ok()?;
    let scale = u32::try_from(frac_len - exponent).ok()?;
    Some((digits, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reviewers_splits_are_exact() {
        // 100 × 0.29 is 28.999999999999996 in f64.
        assert_eq!(d1_rows(100, 0.29).unwrap(), 29);
        assert_eq!(d1_rows(100, 0.57).unwrap(), 57);
        assert_eq!(d1_rows(5000, 0.5).unwrap(), 2500);
        assert_eq!(d1_rows(7, 1.0).unwrap(), 7);
        assert_eq!(d1_rows(u64::MAX, 1.0).unwrap(), u64::MAX);
        assert_eq!(d1_rows(u64::MAX, 0.5).unwrap(), u64::MAX / 2);
        assert_eq!(d1_rows(3, 0.333_333_333_333_333_3).unwrap(), 0);
        assert_eq!(d1_rows(1_000_000, 1e-300).unwrap(), 0);
        assert_eq!(d1_rows(1000, f64::MIN_POSITIVE).unwrap(), 0);
    }

    #[test]
    fn every_percent_and_permille_split_floors_exactly() {
        for rows in 0..=1000u64 {
            for k in 1..=1000u64 {
                #[expect(clippy::cast_precision_loss, reason = "k ≤ 1000")]
                let split = k as f64 / 1000.0;
                assert_eq!(
                    d1_rows(rows, split).unwrap(),
                    rows * k / 1000,
                    "{rows} × {split}"
                );
            }
        }
    }

    #[test]
    fn splits_outside_the_unit_interval_are_refused() {
        for split in [0.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            let err = d1_rows(10, split).unwrap_err().to_string();
            assert!(err.starts_with("--split: must be in (0, 1]"), "{err}");
        }
    }
}
