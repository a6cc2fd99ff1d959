//! API keys' rate limits at the gateway: requests and tokens per minute,
//! the `x-ratelimit-*` headers, 429 with `retry-after` in each protocol's
//! shape, nothing forwarded when refused, and the refusal recorded. Time is
//! a simulated clock: the buckets refill only when the test moves it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};
use tally_core::Outcome;
use tally_mock_provider::expected_usage;
use tally_server::clock::SimulatedClock;

use crate::harness::*;

fn chat() -> Value {
    json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn clocked() -> (Gw, Arc<SimulatedClock>, Timestamp) {
    let t0: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = Arc::new(SimulatedClock::new(t0));
    (Gw::start_clocked(clock.clone()).await, clock, t0)
}

async fn limit(gw: &Gw, body: Value) -> Value {
    let (status, key) = api(gw, Method::PATCH, &format!("/api/api-keys/{}", gw.key_id), Some(body)).await;
    assert_eq!(status, 200, "{key}");
    key
}

/// The key's own `/v1/usage` on the test's day.
async fn key_usage(gw: &Gw) -> Value {
    let resp = gw
        .client
        .get(gw.url("/v1/usage?from=2026-03-01&to=2026-03-01"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn requests_per_minute_refuse_until_one_refills_and_report_their_level() {
    let (mut gw, clock, t0) = clocked().await;
    let key = limit(&gw, json!({"requestsPerMinute": 3})).await;
    assert_eq!(key["requestsPerMinute"], 3);
    assert_eq!(key["tokensPerMinute"], Value::Null);

    // A full bucket of three; one refills every 20 s.
    for (remaining, reset) in [("2", "20s"), ("1", "40s"), ("0", "1m0s")] {
        let ok = gw.post("/v1/chat/completions", &chat()).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(header(&ok, "x-ratelimit-limit-requests"), Some("3"));
        assert_eq!(header(&ok, "x-ratelimit-remaining-requests"), Some(remaining));
        assert_eq!(header(&ok, "x-ratelimit-reset-requests"), Some(reset));
        assert_eq!(header(&ok, "x-ratelimit-limit-tokens"), None);
    }
    gw.mock.clear_received();
    let refused = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), Some("20"));
    assert_eq!(header(&refused, "retry-after-ms"), Some("20000"));
    assert_eq!(header(&refused, "x-ratelimit-remaining-requests"), Some("0"));
    assert!(header(&refused, "x-tally-request-id").is_some());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("3 requests per minute") && message.contains("20s"),
        "{message}"
    );
    assert!(gw.mock.received().is_empty(), "a refused request is never forwarded");

    // A second short of the refill: still refused; on it: admitted.
    clock.set(t0 + SignedDuration::from_millis(19_999));
    let early = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(early.status(), 429);
    assert_eq!(header(&early, "retry-after-ms"), Some("1"));
    clock.set(t0 + SignedDuration::from_secs(20));
    let ok = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "x-ratelimit-remaining-requests"), Some("0"));

    // Lifting the limit: the provider's own level passes through again.
    let key = limit(&gw, json!({"requestsPerMinute": null})).await;
    assert_eq!(key["requestsPerMinute"], Value::Null);
    let free = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(free.status(), 200);
    assert_eq!(header(&free, "x-ratelimit-limit-requests"), Some("10000"));

    // Every request that reached the gateway is an event; the refused ones
    // are refusals (client errors) with status 429 and no cost.
    let events = gw.events().await;
    assert_eq!(events.len(), 7);
    let refusals: Vec<_> = events.iter().filter(|e| e.http_status == 429).collect();
    assert_eq!(refusals.len(), 2);
    for e in refusals {
        assert_eq!(e.outcome, Outcome::ClientError);
        assert_eq!(e.requested_model.as_deref(), Some("openai/gpt-4o-mini"));
        assert!(e.error.as_deref().unwrap().contains("rate limit"));
        assert!(e.cost == tally_core::Money::ZERO && e.usage.total() == 0);
    }
}

#[tokio::test]
async fn tokens_per_minute_are_taken_when_known_and_refuse_once_spent() {
    let (mut gw, clock, t0) = clocked().await;
    let per_request = expected_usage("/v1/chat/completions", &chat()).total();
    let limit_tokens = per_request + per_request / 2;
    limit(&gw, json!({"tokensPerMinute": limit_tokens, "requestsPerMinute": 100})).await;

    let first = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(first.status(), 200);
    // The level at admission: the tokens are not known yet.
    assert_eq!(
        header(&first, "x-ratelimit-remaining-tokens"),
        Some(&*limit_tokens.to_string())
    );
    assert_eq!(
        header(&first, "x-ratelimit-limit-tokens"),
        Some(&*limit_tokens.to_string())
    );
    let second = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(second.status(), 200, "half the tokens are left");
    let left = limit_tokens - per_request;
    assert_eq!(
        header(&second, "x-ratelimit-remaining-tokens"),
        Some(&*left.to_string())
    );

    // Now below empty by `2 × per_request − limit`: one token comes back
    // every 60 s / limit; the key waits until one is there.
    let debt = 2 * per_request - limit_tokens;
    let wait_ms = ((debt + 1) * 60_000).div_ceil(limit_tokens);
    let refused = gw
        .post_messages(&json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after-ms"), Some(&*wait_ms.to_string()));
    assert_eq!(
        header(&refused, "retry-after"),
        Some(&*wait_ms.div_ceil(1000).to_string())
    );
    assert_eq!(header(&refused, "x-ratelimit-remaining-tokens"), Some("0"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "error", "Anthropic's shape: {body}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("tokens per minute"));

    // `/v1/usage` shows what is left, taking nothing.
    let usage = key_usage(&gw).await;
    let limits = &usage["limits"];
    assert_eq!(limits["tokensPerMinute"]["limit"], limit_tokens, "{usage}");
    assert_eq!(limits["tokensPerMinute"]["remaining"], 0);
    assert_eq!(
        limits["requestsPerMinute"]["remaining"], 98,
        "refused requests take none"
    );

    clock.set(t0 + SignedDuration::from_millis(i64::try_from(wait_ms).unwrap()));
    let again = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "x-ratelimit-remaining-tokens"), Some("1"));
    assert_eq!(gw.events().await.len(), 4);
}

#[tokio::test]
async fn a_key_without_limits_passes_the_providers_headers_and_a_limited_key_gets_its_own() {
    let (gw, _clock, _) = clocked().await;
    let free = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(free.status(), 200);
    assert_eq!(
        header(&free, "x-ratelimit-limit-requests"),
        Some("10000"),
        "the provider's"
    );
    limit(&gw, json!({"requestsPerMinute": 1000000000})).await;
    let limited = gw.post("/v1/chat/completions", &chat()).await;
    assert_eq!(header(&limited, "x-ratelimit-limit-requests"), Some("1000000000"));
    assert_eq!(
        limited.headers().get_all("x-ratelimit-limit-requests").iter().count(),
        1,
        "tally's header replaces the provider's"
    );
}

#[tokio::test]
async fn limits_are_validated_and_only_managers_change_them() {
    let (gw, _clock, _) = clocked().await;
    let path = format!("/api/api-keys/{}", gw.key_id);
    for bad in [
        json!({"requestsPerMinute": 0}),
        json!({"tokensPerMinute": -5}),
        json!({"tokensPerMinute": 1000000001}),
    ] {
        let (status, body) = api(&gw, Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        let param = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(body["error"]["param"], param.as_str(), "{body}");
    }
    let (status, body) = api(&gw, Method::PATCH, &path, Some(json!({"requestsPerMinute": "ten"}))).await;
    assert_eq!(status, 400, "{body}");
    let (_, key) = api(&gw, Method::GET, &path, None).await;
    assert_eq!(key["requestsPerMinute"], Value::Null, "nothing changed");

    // A developer may create a key with limits but not lift them.
    let (_, dev) = gw.developer_token().await;
    let project_keys = format!("/api/projects/{}/api-keys", gw.project);
    let created = gw
        .client
        .post(gw.url(&project_keys))
        .bearer_auth(&dev)
        .json(&json!({"name": "dev key", "requestsPerMinute": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["requestsPerMinute"], 10, "{created}");
    let own = format!("/api/api-keys/{}", created["id"].as_str().unwrap());
    let lift = gw
        .client
        .patch(gw.url(&own))
        .bearer_auth(&dev)
        .json(&json!({"requestsPerMinute": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(lift.status(), 403);
    let rename = gw
        .client
        .patch(gw.url(&own))
        .bearer_auth(&dev)
        .json(&json!({"name": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), 200);
    let renamed: Value = rename.json().await.unwrap();
    assert_eq!(renamed["requestsPerMinute"], 10, "{renamed}");
}

#[tokio::test]
async fn a_streams_tokens_are_taken_before_its_client_sees_the_end() {
    let (gw, _clock, _) = clocked().await;
    limit(&gw, json!({"tokensPerMinute": 10000})).await;
    let mut body = chat();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let streamed = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(streamed.status(), 200);
    assert_eq!(header(&streamed, "x-ratelimit-remaining-tokens"), Some("10000"));
    let text = streamed.text().await.unwrap();
    assert!(text.contains("[DONE]"), "{text}");
    let used = expected_usage("/v1/chat/completions", &body).total();

    let usage = key_usage(&gw).await;
    assert_eq!(usage["limits"]["tokensPerMinute"]["remaining"], 10000 - used, "{usage}");
    assert_eq!(usage["limits"]["requestsPerMinute"], Value::Null);
}
