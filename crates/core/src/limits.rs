//! Rate limits of an API key: requests and tokens per minute, and the
//! bucket arithmetic the gateway enforces them with (pure: the caller
//! passes the time).
//!
//! Each limit is a bucket that holds up to a minute's allowance and refills
//! continuously at that allowance per minute (GCRA, kept exact in integer
//! units of `nanoseconds × limit`). A request takes one from the requests
//! bucket when it is admitted. Tokens are known only once the answer is,
//! so a request is admitted while the tokens bucket is not empty and its
//! tokens are taken afterwards; the bucket may go below empty, and the key
//! waits until it refills.

use std::time::Duration;

use crate::ParseError;

/// A limit per minute: 1 to [`PerMinute::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PerMinute(u32);

impl PerMinute {
    /// Large enough for any key (a billion tokens a minute), small enough
    /// that the bucket's units never overflow.
    pub const MAX: u32 = 1_000_000_000;

    pub fn new(n: i64) -> Result<Self, ParseError> {
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Self)
            .ok_or_else(|| ParseError::new(format!("{n} is not a limit; expected 1 to {} per minute", Self::MAX)))
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The limits of one key; `None`: unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RateLimits {
    pub requests_per_minute: Option<PerMinute>,
    pub tokens_per_minute: Option<PerMinute>,
}

impl RateLimits {
    pub const fn is_unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

const MINUTE_NS: i128 = 60_000_000_000;

/// One limit's bucket. Times are nanoseconds on any monotonic scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    limit: PerMinute,
    /// When the bucket is full again, in units of `ns × limit` (the
    /// theoretical arrival time of GCRA); one unit of allowance is
    /// [`MINUTE_NS`] of them.
    full_at: i128,
}

/// A bucket's state as the rate-limit headers report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub limit: u32,
    /// Whole units left now (0 when empty or below).
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset: Duration,
}

impl Bucket {
    /// A full bucket.
    pub const fn new(limit: PerMinute) -> Self {
        Self { limit, full_at: 0 }
    }

    pub const fn limit(&self) -> PerMinute {
        self.limit
    }

    fn now(&self, now_ns: i128) -> i128 {
        now_ns * i128::from(self.limit.0)
    }

    /// How far below full the bucket is at `now`, in units.
    fn debt(&self, now_ns: i128) -> i128 {
        (self.full_at - self.now(now_ns)).max(0)
    }

    fn capacity(&self) -> i128 {
        MINUTE_NS * i128::from(self.limit.0)
    }

    /// Takes `n` units if the bucket holds them: `Err` with the wait until it does.
    pub fn take(&mut self, n: u64, now_ns: i128) -> Result<(), Duration> {
        let after = self.debt(now_ns) + i128::from(n) * MINUTE_NS;
        if after > self.capacity() {
            return Err(self.wait(after - self.capacity()));
        }
        self.full_at = self.now(now_ns) + after;
        Ok(())
    }

    /// Whether anything is left (`Err` with the wait until something is).
    pub fn admits(&self, now_ns: i128) -> Result<(), Duration> {
        let debt = self.debt(now_ns);
        if debt + MINUTE_NS > self.capacity() {
            return Err(self.wait(debt + MINUTE_NS - self.capacity()));
        }
        Ok(())
    }

    /// Takes `n` units whether or not they are there (tokens, once known).
    pub fn charge(&mut self, n: u64, now_ns: i128) {
        let debt = self
            .debt(now_ns)
            .saturating_add(i128::from(n).saturating_mul(MINUTE_NS));
        // Never more than a minute of waiting beyond empty per charge: a
        // single huge answer blocks the key for a minute, not for hours.
        let debt = debt.min(2 * self.capacity());
        self.full_at = self.now(now_ns) + debt;
    }

    pub fn level(&self, now_ns: i128) -> Level {
        let debt = self.debt(now_ns);
        let left = (self.capacity() - debt).max(0) / MINUTE_NS;
        Level {
            limit: self.limit.0,
            remaining: u64::try_from(left).unwrap_or(0),
            reset: self.wait(debt),
        }
    }

    /// The time `units` take to refill.
    fn wait(&self, units: i128) -> Duration {
        let ns = (units + i128::from(self.limit.0) - 1) / i128::from(self.limit.0);
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    fn per_minute(n: i64) -> PerMinute {
        PerMinute::new(n).unwrap()
    }

    #[test]
    fn limits_parse_within_bounds() {
        assert_eq!(per_minute(1).get(), 1);
        assert_eq!(per_minute(1_000_000_000).get(), PerMinute::MAX);
        for bad in [0, -1, 1_000_000_001, i64::MAX] {
            assert!(PerMinute::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_bucket_admits_a_minute_then_refills_one_at_a_time() {
        let mut b = Bucket::new(per_minute(3));
        let t0 = 1_000 * S;
        for left in [2, 1, 0] {
            b.take(1, t0).unwrap();
            assert_eq!(b.level(t0).remaining, left);
        }
        // One refills every 20 s.
        assert_eq!(b.take(1, t0), Err(Duration::from_secs(20)));
        assert_eq!(b.level(t0).reset, Duration::from_secs(60));
        assert_eq!(b.take(1, t0 + 20 * S - 1), Err(Duration::from_nanos(1)));
        b.take(1, t0 + 20 * S).unwrap();
        assert_eq!(b.level(t0 + 20 * S).remaining, 0);
        assert_eq!(b.level(t0 + 80 * S).remaining, 3);
        assert_eq!(b.level(t0 + 80 * S).reset, Duration::ZERO);
    }

    #[test]
    fn tokens_are_charged_after_and_may_go_below_empty() {
        let mut b = Bucket::new(per_minute(600));
        let t0 = 5 * S;
        b.admits(t0).unwrap();
        b.charge(900, t0);
        assert_eq!(b.level(t0).remaining, 0);
        // 300 below empty at 10 a second: 30 s until empty, 30.1 s until one is left.
        assert_eq!(b.admits(t0), Err(Duration::from_millis(30_100)));
        b.admits(t0 + 30_100_000_000).unwrap();
        assert_eq!(b.level(t0 + 90 * S).remaining, 600);
    }

    #[test]
    fn a_huge_charge_blocks_for_at_most_a_minute_beyond_empty() {
        let mut b = Bucket::new(per_minute(10));
        b.charge(u64::MAX, 0);
        assert_eq!(b.level(0).reset, Duration::from_secs(120));
        assert!(b.admits(60 * S - 1).is_err());
        b.admits(66 * S).unwrap();
    }

    #[test]
    fn large_limits_stay_exact() {
        let mut b = Bucket::new(per_minute(1_000_000_000));
        let t = 4_000_000_000 * S;
        b.take(999_999_999, t).unwrap();
        assert_eq!(b.level(t).remaining, 1);
        b.charge(1, t);
        assert_eq!(b.level(t).remaining, 0);
        assert!(b.admits(t).is_err());
        assert!(b.admits(t + 60).is_ok());
    }
}
