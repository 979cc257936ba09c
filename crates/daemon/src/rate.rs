//! Per-uid token buckets: how often one uid may do something that writes durable state for
//! everyone (a permit verification appends a signed receipt to the shared chain, whose
//! retention window a flood would otherwise push legitimate receipts out of).
//!
//! A bucket holds up to `burst` tokens and refills at `per_second`; a request takes one or is
//! refused. Only uids that are short of tokens are remembered: a full bucket is the same as
//! no entry, so the map is swept of them and stays bounded by the uids active right now.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Sweep full buckets once the map holds this many uids.
const SWEEP_AT: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What a [`UidRateLimiter::take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the rate.
    Allowed,
    /// Refused; `first` is true for at most one refusal per uid per [`MARKER_INTERVAL`]
    /// (audit that one, not every refusal, or the audit log becomes the flood's target; a
    /// client spending each refilled token and then one more must not get a marker each).
    Refused { first: bool },
}

/// At most one `first` refusal per uid in this interval.
pub(crate) const MARKER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Token buckets per uid. `per_second == 0` disables the limit.
#[derive(Debug)]
pub(crate) struct UidRateLimiter {
    per_second: f64,
    burst: f64,
    /// Each uid's bucket and when its last `first` refusal was reported.
    buckets: Mutex<HashMap<u32, (Bucket, Option<Instant>)>>,
}

impl UidRateLimiter {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        (b.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Takes one token for `uid` at `now`.
    pub(crate) fn take(&self, uid: u32, now: Instant) -> Verdict {
        if self.per_second == 0.0 {
            return Verdict::Allowed;
        }
        // A poisoned lock only means a panic elsewhere mid-update; the map is still valid.
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= SWEEP_AT {
            map.retain(|_, (b, _)| self.refill(b, now) < self.burst);
        }
        let (bucket, last_marker) = map.entry(uid).or_insert((
            Bucket {
                tokens: self.burst,
                at: now,
            },
            None,
        ));
        let tokens = self.refill(bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Verdict::Allowed
        } else {
            *bucket = Bucket { tokens, at: now };
            let first =
                last_marker.is_none_or(|at| now.saturating_duration_since(at) >= MARKER_INTERVAL);
            if first {
                *last_marker = Some(now);
            }
            Verdict::Refused { first }
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_rate_and_other_uids_are_unaffected() {
        let limiter = UidRateLimiter::new(10, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.take(1000, t0), Verdict::Allowed);
        }
        assert_eq!(limiter.take(1000, t0), Verdict::Refused { first: true });
        assert_eq!(limiter.take(1000, t0), Verdict::Refused { first: false });
        // Another uid has its own bucket.
        assert_eq!(limiter.take(2000, t0), Verdict::Allowed);
        // 10/s: one token back after 100 ms; the next refusal is not reported again within
        // the marker interval, only after it.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(limiter.take(1000, t1), Verdict::Allowed);
        assert_eq!(limiter.take(1000, t1), Verdict::Refused { first: false });
        let t1b = t0 + MARKER_INTERVAL + Duration::from_millis(100);
        for _ in 0..5 {
            let _ = limiter.take(1000, t1b);
        }
        assert_eq!(limiter.take(1000, t1b), Verdict::Refused { first: true });
        // Never more than the burst, however long the pause.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..5 {
            assert_eq!(limiter.take(1000, t2), Verdict::Allowed);
        }
        assert!(matches!(limiter.take(1000, t2), Verdict::Refused { .. }));
    }

    #[test]
    fn zero_disables_and_idle_uids_are_forgotten() {
        let off = UidRateLimiter::new(0, 1);
        for _ in 0..1000 {
            assert_eq!(off.take(1, Instant::now()), Verdict::Allowed);
        }
        let limiter = UidRateLimiter::new(1000, 2);
        let t0 = Instant::now();
        for uid in 0..(4 * SWEEP_AT as u32) {
            limiter.take(uid, t0);
        }
        // A second later every bucket is full again: the next sweep drops them.
        limiter.take(u32::MAX, t0 + Duration::from_secs(1));
        assert!(limiter.tracked() <= SWEEP_AT + 1, "{}", limiter.tracked());
    }
}
