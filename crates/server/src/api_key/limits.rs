//! API keys' rate limits at the gateway: requests and tokens per minute
//! (the buckets of `tally_core::limits`), checked when a request is
//! admitted, its tokens taken when its event is finished, and reported to
//! the client in the headers OpenAI sends (`x-ratelimit-*`).
//!
//! The buckets live in this process: each replica enforces a key's limits
//! on the traffic it serves. A key whose limits change starts with full
//! buckets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use rustc_hash::FxHashMap;
use tally_core::limits::{Bucket, Level};
use tally_core::{ApiKeyId, PerMinute, RateLimits};
use tally_store::ApiKey;

use crate::clock::Clock;

/// A key's buckets, one per limit it has.
#[derive(Debug, Default)]
struct Buckets {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
}

impl Buckets {
    /// Makes the buckets match `limits` (a changed limit starts full).
    fn follow(&mut self, limits: RateLimits) {
        let fit = |b: &mut Option<Bucket>, l: Option<PerMinute>| {
            if b.map(|b| b.limit()) != l {
                *b = l.map(Bucket::new);
            }
        };
        fit(&mut self.requests, limits.requests_per_minute);
        fit(&mut self.tokens, limits.tokens_per_minute);
    }

    fn levels(&self, now: i128) -> Levels {
        Levels {
            requests: self.requests.map(|b| b.level(now)),
            tokens: self.tokens.map(|b| b.level(now)),
        }
    }
}

/// What the rate-limit headers of one answer say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Levels {
    pub requests: Option<Level>,
    pub tokens: Option<Level>,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Requests,
    Tokens,
}

/// A request refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub which: Which,
    pub limit: u32,
    /// Until the request would be admitted.
    pub retry_after: Duration,
    pub levels: Levels,
}

impl Limited {
    pub fn message(&self) -> String {
        let what = match self.which {
            Which::Requests => "requests",
            Which::Tokens => "tokens",
        };
        format!(
            "rate limit of this tally API key reached: {} {what} per minute; try again in {}",
            self.limit,
            go_duration(self.retry_after)
        )
    }
}

/// Every key's buckets.
pub struct Limiter {
    clock: Arc<dyn Clock>,
    keys: Mutex<FxHashMap<ApiKeyId, Buckets>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

impl Limiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            keys: Mutex::new(FxHashMap::default()),
        }
    }

    fn now(&self) -> i128 {
        self.clock.now().as_nanosecond()
    }

    fn with<T>(&self, key: ApiKeyId, limits: RateLimits, f: impl FnOnce(&mut Buckets) -> T) -> T {
        // Nothing panics while the lock is held; a poisoned map is still sound.
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let buckets = keys.entry(key).or_default();
        buckets.follow(limits);
        f(buckets)
    }

    /// Admits a request of `key` (taking one from its requests bucket) or
    /// refuses it; `None` for a key without limits.
    pub fn admit(&self, key: &ApiKey) -> Result<Option<Levels>, Limited> {
        if key.limits.is_unlimited() {
            return Ok(None);
        }
        let now = self.now();
        self.with(key.id, key.limits, |b| {
            let refused = |which, bucket: &Bucket, retry_after, b: &Buckets| Limited {
                which,
                limit: bucket.limit().get(),
                retry_after,
                levels: b.levels(now),
            };
            if let Some(tokens) = &b.tokens
                && let Err(wait) = tokens.admits(now)
            {
                return Err(refused(Which::Tokens, tokens, wait, b));
            }
            if let Some(mut requests) = b.requests {
                if let Err(wait) = requests.take(1, now) {
                    return Err(refused(Which::Requests, &requests, wait, b));
                }
                b.requests = Some(requests);
            }
            Ok(Some(b.levels(now)))
        })
    }

    /// The key's levels now, taking nothing; `None` for a key without limits.
    pub fn levels(&self, key: &ApiKey) -> Option<Levels> {
        if key.limits.is_unlimited() {
            return None;
        }
        let now = self.now();
        Some(self.with(key.id, key.limits, |b| b.levels(now)))
    }

    /// Takes a finished request's tokens from its key's tokens bucket.
    pub fn charge(&self, key: ApiKeyId, limits: RateLimits, tokens: u64) {
        if limits.tokens_per_minute.is_none() || tokens == 0 {
            return;
        }
        let now = self.now();
        self.with(key, limits, |b| {
            if let Some(t) = b.tokens.as_mut() {
                t.charge(tokens, now);
            }
        });
    }
}

/// A duration as OpenAI's reset headers write it (Go's form): `20ms`,
/// `1.5s`, `6m0s`.
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{}ms", ms.max(u128::from(d > Duration::ZERO)));
    }
    let (minutes, rest_ms) = (ms / 60_000, ms % 60_000);
    let seconds = format!("{}.{:03}", rest_ms / 1000, rest_ms % 1000);
    let seconds = seconds.trim_end_matches('0').trim_end_matches('.');
    if minutes == 0 {
        format!("{seconds}s")
    } else {
        format!("{minutes}m{seconds}s")
    }
}

/// The levels as `/v1/usage` shows them: per limit `{limit, remaining,
/// resetsInMs}` (milliseconds until the bucket is full), `null` for none.
pub fn levels_json(levels: Option<Levels>) -> serde_json::Value {
    let one = |l: Option<Level>| {
        l.map_or(serde_json::Value::Null, |l| {
            serde_json::json!({
                "limit": l.limit,
                "remaining": l.remaining,
                "resetsInMs": u64::try_from(l.reset.as_millis()).unwrap_or(u64::MAX),
            })
        })
    };
    let levels = levels.unwrap_or_default();
    serde_json::json!({
        "requestsPerMinute": one(levels.requests),
        "tokensPerMinute": one(levels.tokens),
    })
}

/// Sets the rate-limit headers of `levels` (replacing the provider's own).
pub fn set_headers(headers: &mut HeaderMap, levels: &Levels) {
    const REQUESTS: [&str; 3] = [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
    ];
    const TOKENS: [&str; 3] = [
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ];
    for (names, level) in [(REQUESTS, levels.requests), (TOKENS, levels.tokens)] {
        let Some(level) = level else { continue };
        let values = [
            level.limit.to_string(),
            level.remaining.to_string(),
            go_duration(level.reset),
        ];
        for (name, value) in names.into_iter().zip(values) {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// Sets `retry-after` (whole seconds) and `retry-after-ms`, both rounded
/// up: a client that waits that long is admitted.
pub fn set_retry_after(headers: &mut HeaderMap, wait: Duration) {
    let ms = wait.as_nanos().div_ceil(1_000_000).max(1);
    let seconds = ms.div_ceil(1000);
    headers.insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from(u64::try_from(seconds).unwrap_or(u64::MAX)),
    );
    if let Ok(v) = HeaderValue::try_from(ms.to_string()) {
        headers.insert(HeaderName::from_static("retry-after-ms"), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_openai_writes_them() {
        let cases = [
            (Duration::ZERO, "0ms"),
            (Duration::from_nanos(1), "1ms"),
            (Duration::from_millis(20), "20ms"),
            (Duration::from_millis(1000), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(20_125), "20.125s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(360), "6m0s"),
            (Duration::from_millis(61_200), "1m1.2s"),
        ];
        for (d, text) in cases {
            assert_eq!(go_duration(d), text, "{d:?}");
        }
    }
}
