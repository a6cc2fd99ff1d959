//! Usage summed over many requests: what every analytics answer is made of.

use serde::Serialize;

use crate::{ActivityEvent, Money, Outcome};

/// Token sums. `total` is `input + output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenTotals {
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
    pub total: u64,
}

/// Sums over a set of requests. Money stays exact; `error_rate` is a ratio
/// for display only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub requests: u64,
    pub upstream_errors: u64,
    pub gateway_errors: u64,
    pub client_errors: u64,
    pub canceled: u64,
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
    pub cost: Money,
    pub estimated: u64,
    pub unpriced: u64,
    pub usage_invalid: u64,
    pub latency_us: u64,
    pub ttft_us: u64,
    pub ttft_count: u64,
}

impl UsageTotals {
    /// One event's contribution.
    pub fn of(e: &ActivityEvent) -> Self {
        let n = |v: Option<u64>| v.unwrap_or(0);
        let is = |o: Outcome| u64::from(e.outcome == o);
        Self {
            requests: 1,
            upstream_errors: is(Outcome::UpstreamError),
            gateway_errors: is(Outcome::GatewayError),
            client_errors: is(Outcome::ClientError) + is(Outcome::Blocked),
            canceled: is(Outcome::Canceled),
            input: n(e.usage.input),
            cached_input: n(e.usage.cached_input),
            cache_write: n(e.usage.cache_write),
            output: n(e.usage.output),
            reasoning: n(e.usage.reasoning),
            cost: e.cost,
            estimated: u64::from(e.estimated),
            unpriced: u64::from(e.unpriced),
            usage_invalid: u64::from(e.usage_invalid),
            latency_us: e.latency_us,
            ttft_us: n(e.ttft_us),
            ttft_count: u64::from(e.ttft_us.is_some()),
        }
    }

    /// Adds `o`; every sum saturates at `u64::MAX` (money at its own
    /// bounds) instead of wrapping.
    pub fn add(&mut self, o: &UsageTotals) {
        let sums = [
            (&mut self.requests, o.requests),
            (&mut self.upstream_errors, o.upstream_errors),
            (&mut self.gateway_errors, o.gateway_errors),
            (&mut self.client_errors, o.client_errors),
            (&mut self.canceled, o.canceled),
            (&mut self.input, o.input),
            (&mut self.cached_input, o.cached_input),
            (&mut self.cache_write, o.cache_write),
            (&mut self.output, o.output),
            (&mut self.reasoning, o.reasoning),
            (&mut self.estimated, o.estimated),
            (&mut self.unpriced, o.unpriced),
            (&mut self.usage_invalid, o.usage_invalid),
            (&mut self.latency_us, o.latency_us),
            (&mut self.ttft_us, o.ttft_us),
            (&mut self.ttft_count, o.ttft_count),
        ];
        for (sum, v) in sums {
            *sum = sum.saturating_add(v);
        }
        self.cost = self.cost.saturating_add(o.cost);
    }

    /// Provider and gateway failures; client errors are counted apart.
    pub fn errors(&self) -> u64 {
        self.upstream_errors.saturating_add(self.gateway_errors)
    }

    /// errors / requests, 0 without requests.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors() as f64 / self.requests as f64
        }
    }

    pub fn tokens(&self) -> TokenTotals {
        TokenTotals {
            input: self.input,
            cached_input: self.cached_input,
            cache_write: self.cache_write,
            output: self.output,
            reasoning: self.reasoning,
            total: self.input.saturating_add(self.output),
        }
    }
}

/// The `Usage` JSON object of the analytics API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageView {
    pub requests: u64,
    pub errors: u64,
    pub client_errors: u64,
    pub canceled: u64,
    pub error_rate: f64,
    pub tokens: TokenTotals,
    pub cost: Money,
    pub estimated_requests: u64,
    pub unpriced_requests: u64,
    /// Requests whose reported usage was refused as invalid.
    pub invalid_usage_requests: u64,
    /// Mean latency in milliseconds (0 without requests).
    pub avg_latency_ms: u64,
}

impl From<&UsageTotals> for UsageView {
    fn from(t: &UsageTotals) -> Self {
        Self {
            requests: t.requests,
            errors: t.errors(),
            client_errors: t.client_errors,
            canceled: t.canceled,
            error_rate: t.error_rate(),
            tokens: t.tokens(),
            cost: t.cost,
            estimated_requests: t.estimated,
            unpriced_requests: t.unpriced,
            invalid_usage_requests: t.usage_invalid,
            avg_latency_ms: t.latency_us.checked_div(t.requests).unwrap_or(0) / 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_instead_of_wrapping() {
        let big = UsageTotals {
            requests: u64::MAX - 1,
            input: u64::MAX,
            output: u64::MAX,
            usage_invalid: 1,
            latency_us: u64::MAX,
            cost: Money::from_nanos(i64::MAX),
            ..UsageTotals::default()
        };
        let mut sum = big;
        sum.add(&big);
        sum.add(&big);
        assert_eq!(sum.requests, u64::MAX);
        assert_eq!((sum.input, sum.output, sum.latency_us), (u64::MAX, u64::MAX, u64::MAX));
        assert_eq!(sum.usage_invalid, 3);
        assert_eq!(sum.cost, Money::from_nanos(i64::MAX));
        assert_eq!(sum.tokens().total, u64::MAX);
        let view = UsageView::from(&sum);
        assert_eq!(view.invalid_usage_requests, 3);
    }
}
