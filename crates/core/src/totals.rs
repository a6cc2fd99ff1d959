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
            client_errors: is(Outcome::ClientError),
            canceled: is(Outcome::Canceled),
            input: n(e.usage.input),
            cached_input: n(e.usage.cached_input),
            cache_write: n(e.usage.cache_write),
            output: n(e.usage.output),
            reasoning: n(e.usage.reasoning),
            cost: e.cost,
            estimated: u64::from(e.estimated),
            unpriced: u64::from(e.unpriced),
            latency_us: e.latency_us,
            ttft_us: n(e.ttft_us),
            ttft_count: u64::from(e.ttft_us.is_some()),
        }
    }

    pub fn add(&mut self, o: &UsageTotals) {
        self.requests += o.requests;
        self.upstream_errors += o.upstream_errors;
        self.gateway_errors += o.gateway_errors;
        self.client_errors += o.client_errors;
        self.canceled += o.canceled;
        self.input += o.input;
        self.cached_input += o.cached_input;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.reasoning += o.reasoning;
        self.cost = self.cost.saturating_add(o.cost);
        self.estimated += o.estimated;
        self.unpriced += o.unpriced;
        self.latency_us += o.latency_us;
        self.ttft_us += o.ttft_us;
        self.ttft_count += o.ttft_count;
    }

    /// Provider and gateway failures; client errors are counted apart.
    pub fn errors(&self) -> u64 {
        self.upstream_errors + self.gateway_errors
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
            total: self.input + self.output,
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
            avg_latency_ms: t.latency_us.checked_div(t.requests).unwrap_or(0) / 1000,
        }
    }
}
