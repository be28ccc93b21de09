//! The retry policy: which failures are retried, and how long to wait.
//! Pure functions; the client applies them in its one retry loop.

use std::fmt;
use std::time::{Duration, SystemTime};

/// Why an attempt failed in a way worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetryCause {
    /// The connection could not be made.
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// A retryable HTTP status (408, 409, 429, 500, 502, 503, 504).
    Status(u16),
    /// The connection broke before the body was complete.
    Reset,
    /// A 200 answer whose body is not a chat completion (truncated JSON).
    BadBody,
}

impl fmt::Display for RetryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect => f.write_str("connect"),
            Self::Timeout => f.write_str("timeout"),
            Self::Status(s) => write!(f, "http-{s}"),
            Self::Reset => f.write_str("reset"),
            Self::BadBody => f.write_str("bad-body"),
        }
    }
}

impl RetryCause {
    /// Whether this failure says the server cannot be reached or will not
    /// serve anyone (no connection, no answer in time, a broken connection,
    /// a rate limit, a gateway with nothing behind it), as opposed to one
    /// that concerns the request (a 500 on one prompt, a garbled body).
    /// When retries run out on such causes field after field, the teacher
    /// is gone, not the fields bad.
    #[must_use]
    pub const fn means_unreachable(self) -> bool {
        matches!(
            self,
            Self::Connect | Self::Timeout | Self::Reset | Self::Status(429 | 502 | 503 | 504)
        )
    }
}

/// Whether an HTTP status is worth retrying: request timeout, conflict,
/// rate limit, and the server-side 500/502/503/504. Everything else (400,
/// 401, 403, 404, 413, 422, …) is the request's fault and would fail again.
#[must_use]
pub const fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
}

/// Exponential backoff with full jitter: attempt `n` (0-based) waits a
/// uniform time in `[0, min(cap, base · 2ⁿ))`, unless the server said how
/// long (`Retry-After`), which is honoured up to `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first ceiling (0.5 s by default).
    pub base: Duration,
    /// The largest wait (60 s by default).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_mins(1),
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0 for the first retry),
    /// given the server's `retry_after` and a uniform `unit` in `[0, 1)`.
    #[must_use]
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.cap);
        }
        let factor = 2u32.saturating_pow(attempt.min(31));
        let ceiling = self.base.saturating_mul(factor).min(self.cap);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// How long the server asks us to wait: `retry-after-ms` (milliseconds,
/// fractional allowed) first, then `Retry-After` as seconds or as an HTTP
/// date (relative to `now`; a date in the past means no wait).
#[must_use]
pub fn parse_retry_after(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    let seconds = |s: &str, scale: f64| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| Duration::from_secs_f64((v * scale).min(86_400.0)))
    };
    if let Some(d) = retry_after_ms.and_then(|s| seconds(s, 1e-3)) {
        return Some(d);
    }
    let value = retry_after?;
    seconds(value, 1.0).or_else(|| {
        let at = httpdate::parse_http_date(value.trim()).ok()?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 413, 422, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn full_jitter_doubles_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(0, None, 0.0), Duration::ZERO);
        assert_eq!(b.delay(0, None, 0.5), Duration::from_millis(250));
        assert_eq!(b.delay(3, None, 0.5), Duration::from_secs(2));
        // 0.5 s · 2^10 = 512 s, capped at 60.
        assert_eq!(b.delay(10, None, 0.5), Duration::from_secs(30));
        assert_eq!(b.delay(u32::MAX, None, 1.0), Duration::from_mins(1));
        // Retry-After wins, up to the cap.
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(3)), 0.9),
            Duration::from_secs(3)
        );
        assert_eq!(
            b.delay(0, Some(Duration::from_mins(10)), 0.9),
            Duration::from_mins(1)
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(
            parse_retry_after(None, Some("2"), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(Some("0.5"), None, now),
            Some(Duration::from_micros(500))
        );
        // 1_000_000_000 s after the epoch is Sun, 09 Sep 2001 01:46:40 GMT.
        assert_eq!(
            parse_retry_after(None, Some("Sun, 09 Sep 2001 01:46:50 GMT"), now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(None, Some("Sun, 09 Sep 2001 01:46:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(None, Some("soon"), now), None);
        assert_eq!(parse_retry_after(Some("-1"), None, now), None);
        assert_eq!(parse_retry_after(None, None, now), None);
    }
}
