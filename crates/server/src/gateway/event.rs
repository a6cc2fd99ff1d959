//! Building the one activity event of a request: who, which model, what
//! happened, how many tokens, and the exact cost, computed once here.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use jiff::Timestamp;
use tally_catalog::Prices;
use tally_core::{ActivityEvent, Endpoint, EventId, Money, Outcome, Usage};

use super::body::RawObject;
use super::capture::{self, Captured};
use super::usage::Reported;
use super::writer::Recorded;
use crate::api_key::limits::{Levels, Limiter};
use crate::budgets::Reservation;
use tally_store::ApiKey;

use super::routing::Route;
use super::usage;

/// Longest error text kept on an event, in characters.
pub const MAX_ERROR_CHARS: usize = 500;

/// What is known about a request before its response ends.
#[derive(Debug)]
pub struct Draft {
    /// The event's id, also the request id the client is answered with.
    pub id: EventId,
    pub started_at: Timestamp,
    pub began: Instant,
    pub key: ApiKey,
    pub endpoint: Endpoint,
    pub app: Option<String>,
    /// The client's own user (see [`Draft::read_end_user`]).
    pub end_user: Option<String>,
    /// The client's tags (the `x-tally-tags` header).
    pub tags: Option<tally_core::Tags>,
    pub requested_model: Option<String>,
    pub route: Option<Route>,
    pub prices: Option<Cow<'static, Prices>>,
    pub stream: bool,
    /// The request body as received; read to estimate missing usage, and
    /// kept (cut) when the project captures bodies.
    pub request: Bytes,
    /// The response as relayed so far, when the key's project captures
    /// bodies (`None` when it does not).
    pub response: Option<Captured>,
    pub first_byte: Option<Duration>,
    /// The key's rate-limit levels once the request is admitted, for the
    /// answer's headers (`None` for a key without limits).
    pub rate: Option<Levels>,
    /// Where the request's tokens are taken when it ends, if its key has a
    /// tokens limit.
    pub limiter: Option<Arc<Limiter>>,
    /// What the request reserved on the budgets covering it, once admitted.
    pub reservation: Option<Reservation>,
}

/// How the response ended, as far as the event is concerned.
#[derive(Debug, Clone)]
pub struct Ending {
    pub outcome: Outcome,
    pub http_status: u16,
    pub error: Option<String>,
    /// Usage as reported (or refused), if it was.
    pub usage: Option<Reported>,
    /// Characters of generated text seen, for an estimate.
    pub output_chars: u64,
}

impl Ending {
    pub fn failed(outcome: Outcome, http_status: u16, error: impl Into<String>) -> Self {
        Self {
            outcome,
            http_status,
            error: Some(error.into()),
            usage: None,
            output_chars: 0,
        }
    }
}

pub fn truncate(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_ERROR_CHARS).collect();
    if text.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

impl Draft {
    pub fn new(
        id: EventId,
        started_at: Timestamp,
        began: Instant,
        key: ApiKey,
        endpoint: Endpoint,
        app: Option<String>,
    ) -> Self {
        Self {
            id,
            started_at,
            began,
            key,
            endpoint,
            app,
            end_user: None,
            tags: None,
            requested_model: None,
            route: None,
            prices: None,
            stream: false,
            request: Bytes::new(),
            response: None,
            first_byte: None,
            rate: None,
            limiter: None,
            reservation: None,
        }
    }

    /// Adds to the captured response, if the project captures bodies.
    pub fn capture(&mut self, relayed: &[u8]) {
        if let Some(response) = self.response.as_mut() {
            response.push(relayed);
        }
    }

    /// Reads the end user from the request body: OpenAI's `user`,
    /// Anthropic's `metadata.user_id` (a value of another type is ignored).
    pub fn read_end_user(&mut self, body: &RawObject) {
        #[derive(serde::Deserialize)]
        struct Metadata {
            user_id: Option<String>,
        }
        let id = match self.endpoint {
            Endpoint::Messages => body.get::<Metadata>("metadata").and_then(|m| m.user_id),
            _ => body.get::<String>("user"),
        };
        self.end_user = id.as_deref().and_then(tally_core::activity::end_user);
    }

    /// The finished event, with the bodies when the project captures them.
    /// Success or cancellation without reported usage, or with usage refused
    /// as invalid, is estimated (and flagged); tokens without a price cost
    /// zero and are flagged unpriced. Its tokens are taken from the key's
    /// tokens limit here, the one place every request ends, and its
    /// budget reservation swapped for its cost.
    pub fn finish(mut self, ending: Ending) -> Recorded {
        let bodies = self
            .response
            .take()
            .map(|response| capture::bodies(self.id, self.key.project_id, self.started_at, &self.request, response));
        let limiter = self.limiter.take();
        let reservation = self.reservation.take();
        let (key, limits) = (self.key.id, self.key.limits);
        let event = self.event(ending);
        if let Some(limiter) = limiter {
            limiter.charge(key, limits, event.usage.total());
        }
        let settle = reservation.map(|r| r.finish(event.cost));
        Recorded { event, bodies, settle }
    }

    fn event(self, ending: Ending) -> ActivityEvent {
        let (reported, usage_invalid) = match ending.usage {
            Some(Ok(u)) => (Some(u).filter(|u| !u.is_unreported()), false),
            Some(Err(_)) => (None, true),
            None => (None, false),
        };
        let served = matches!(ending.outcome, Outcome::Success | Outcome::Canceled);
        let (usage, estimated) = match reported {
            Some(u) => (u, false),
            None if served => {
                let request: serde_json::Value = serde_json::from_slice(&self.request).unwrap_or_default();
                let guess = usage::estimate(usage::prompt_chars(&request), ending.output_chars);
                // An estimate is held to the same range as a report.
                match guess.checked() {
                    Ok(guess) => (guess, true),
                    Err(_) => (Usage::default(), false),
                }
            }
            None => (Usage::default(), false),
        };
        let (cost, unpriced) = match (&self.prices, usage.total() > 0) {
            (Some(prices), _) => (tally_catalog::cost(prices, &usage), false),
            (None, true) => (Money::ZERO, true),
            (None, false) => (Money::ZERO, false),
        };
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let route = self.route.as_ref();
        ActivityEvent {
            id: self.id,
            started_at: self.started_at,
            org_id: self.key.org_id,
            project_id: self.key.project_id,
            api_key_id: self.key.id,
            created_by: self.key.created_by,
            requested_model: self.requested_model,
            provider: route.map(|r| r.provider.id.clone()),
            routed_model: route.map(|r| r.routed.clone()),
            canonical_model: route.map(|r| r.canonical.clone()),
            app: self.app,
            end_user: self.end_user,
            tags: self.tags,
            endpoint: self.endpoint,
            stream: self.stream,
            outcome: ending.outcome,
            http_status: ending.http_status,
            error: ending.error.as_deref().map(truncate),
            usage,
            cost,
            estimated,
            unpriced,
            usage_invalid,
            latency_us: micros(self.began.elapsed()),
            ttft_us: self.first_byte.map(micros),
        }
    }
}
