//! Value parsers for numeric options whose errors state the range allowed
//! (clap's own answer `-1` with "invalid digit found in string"), so a
//! recipe's bad value is caught when it is planned, before any stage runs.
//!
//! The options using them also set `allow_negative_numbers`: without it clap
//! reads `-1` as an unknown flag and never asks the parser.

use std::fmt::Display;
use std::str::FromStr;

/// A whole number of at least `min`.
pub(crate) fn at_least<T>(min: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync,
{
    move |text| whole(text, min, None)
}

/// A whole number from `min` to `max`.
pub(crate) fn between<T>(min: T, max: T) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync,
{
    move |text| whole(text, min, Some(max))
}

/// A number strictly between 0 and 1 (a Jaccard threshold).
pub(crate) fn open_unit(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        _ => Err("must be a number between 0 and 1, both excluded".into()),
    }
}

/// A count of at least 1, or `all`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CountOrAll(pub(crate) Option<usize>);

/// Parses a [`CountOrAll`].
pub(crate) fn count_or_all(text: &str) -> Result<CountOrAll, String> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(CountOrAll(None));
    }
    whole(text, 1, None)
        .map(|n| CountOrAll(Some(n)))
        .map_err(|reason| format!("{reason}, or `all`"))
}

fn whole<T>(text: &str, min: T, max: Option<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    let parsed = text.trim().parse::<T>();
    if let Ok(value) = parsed
        && value >= min
        && max.is_none_or(|max| value <= max)
    {
        return Ok(value);
    }
    Err(match max {
        Some(max) => format!("must be a whole number from {min} to {max}"),
        // Digits the type cannot hold: "≥ min" would not say what is wrong.
        None if parsed.is_err() && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            "too large".to_owned()
        }
        None => format!("must be a whole number ≥ {min}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_state_their_range() {
        assert_eq!(at_least(0_u64)("7"), Ok(7));
        assert_eq!(
            at_least(0_u64)("-1"),
            Err("must be a whole number ≥ 0".to_owned())
        );
        assert_eq!(
            at_least(1_usize)("0"),
            Err("must be a whole number ≥ 1".to_owned())
        );
        assert_eq!(
            between(1_u16, u16::MAX)("70000"),
            Err("must be a whole number from 1 to 65535".to_owned())
        );
        assert_eq!(
            at_least(0_u64)("99999999999999999999"),
            Err("too large".to_owned())
        );
        assert_eq!(
            between(1_i32, 22)("-3"),
            Err("must be a whole number from 1 to 22".to_owned())
        );
        assert_eq!(between(1_i32, 22)("22"), Ok(22));
        assert!(at_least(0_u32)("1.5").is_err());
        assert_eq!(count_or_all("all"), Ok(CountOrAll(None)));
        assert_eq!(count_or_all("20000"), Ok(CountOrAll(Some(20_000))));
        assert_eq!(
            count_or_all("0"),
            Err("must be a whole number ≥ 1, or `all`".to_owned())
        );
    }
}
