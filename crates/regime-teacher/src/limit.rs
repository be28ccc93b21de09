//! Optional requests-per-minute and tokens-per-minute limits, as token
//! buckets that refill continuously.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// One bucket: `capacity` units, refilled at `capacity` per minute.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    level: f64,
    updated: Instant,
}

impl Bucket {
    fn new(per_minute: u32, now: Instant) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self {
            capacity,
            level: capacity,
            updated: now,
        }
    }

    /// How long until `amount` units are available (zero: take them now).
    fn wait_for(&mut self, amount: f64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.capacity / 60.0).min(self.capacity);
        self.updated = now;
        // A single request larger than the whole bucket waits for a full one.
        let amount = amount.min(self.capacity);
        if self.level >= amount {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((amount - self.level) * 60.0 / self.capacity)
        }
    }

    fn take(&mut self, amount: f64) {
        self.level -= amount.min(self.capacity);
    }
}

/// The rpm and tpm buckets of one client.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<(Option<Bucket>, Option<Bucket>)>,
}

impl RateLimiter {
    /// Limits of `rpm` requests and `tpm` tokens per minute (`None`: no
    /// limit of that kind).
    #[must_use]
    pub fn new(rpm: Option<u32>, tpm: Option<u32>) -> Self {
        let now = Instant::now();
        Self {
            buckets: Mutex::new((
                rpm.map(|r| Bucket::new(r, now)),
                tpm.map(|t| Bucket::new(t, now)),
            )),
        }
    }

    /// Waits until one request of `tokens` tokens fits both budgets, then
    /// takes it. Callers are served one at a time, so a large request is
    /// not starved by small ones.
    #[expect(clippy::cast_precision_loss, reason = "token counts below 2^52")]
    pub async fn acquire(&self, tokens: u64) {
        let mut buckets = self.buckets.lock().await;
        loop {
            let now = Instant::now();
            let wait_r = buckets
                .0
                .as_mut()
                .map_or(Duration::ZERO, |b| b.wait_for(1.0, now));
            let wait_t = buckets
                .1
                .as_mut()
                .map_or(Duration::ZERO, |b| b.wait_for(tokens as f64, now));
            let wait = wait_r.max(wait_t);
            if wait.is_zero() {
                if let Some(b) = buckets.0.as_mut() {
                    b.take(1.0);
                }
                if let Some(b) = buckets.1.as_mut() {
                    b.take(tokens as f64);
                }
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(60, t0);
        assert_eq!(b.wait_for(60.0, t0), Duration::ZERO);
        b.take(60.0);
        // Empty: one unit per second.
        assert_eq!(b.wait_for(1.0, t0), Duration::from_secs(1));
        assert_eq!(b.wait_for(1.0, t0 + Duration::from_secs(1)), Duration::ZERO);
        // More than the capacity waits for a full bucket, not forever.
        b.take(1.0);
        assert_eq!(
            b.wait_for(1000.0, t0 + Duration::from_secs(1)),
            Duration::from_mins(1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_spaces_requests() {
        let limiter = RateLimiter::new(Some(120), None);
        let start = Instant::now();
        for _ in 0..122 {
            limiter.acquire(1).await;
        }
        // 120 at once, then two more at 0.5 s each.
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(1), "{took:?}");
        assert!(took < Duration::from_millis(1100), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn tpm_counts_tokens() {
        let limiter = RateLimiter::new(None, Some(600));
        let start = Instant::now();
        limiter.acquire(600).await;
        limiter.acquire(300).await;
        // 300 tokens at 10 per second.
        let took = start.elapsed();
        assert!(
            took >= Duration::from_secs(30) && took < Duration::from_millis(30_100),
            "{took:?}"
        );
    }
}
