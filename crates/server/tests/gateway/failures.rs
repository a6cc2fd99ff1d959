//! Every way a request can fail still leaves exactly one event (except an
//! unauthenticated one, which is attributed to nobody).

use serde_json::{Value, json};
use tally_core::{Money, Outcome};

use tally_store::AccountStore;

use crate::harness::*;

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn bad_keys_get_401_in_openai_shape_and_record_nothing() {
    let mut gw = Gw::start().await;
    for auth in [None, Some("tly_not-a-key"), Some("sk-openai-style")] {
        let mut req = gw
            .client
            .post(gw.url("/v1/chat/completions"))
            .json(&chat("gpt-4o", "x"));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert!(body["error"]["message"].is_string());
    }
    // Revocation takes effect on the next request.
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "ok")).await.status(),
        200
    );
    gw.store.revoke_api_key(gw.key_id, now()).await.unwrap();
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "again")).await.status(),
        401
    );
    assert_eq!(gw.mock.received().len(), 1);
    assert_eq!(gw.events().await.len(), 1);
}

/// A key past its expiry time gets 401 with its own code, in each route's
/// shape, and reaches no provider; clearing the expiry lets it through on
/// the next request (the key cache does not hide either change).
#[tokio::test]
async fn an_expired_key_gets_401_with_its_own_code_and_records_nothing() {
    let mut gw = Gw::start().await;
    let ahead = now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    gw.store.set_api_key_expiry(gw.key_id, Some(ahead)).await.unwrap();
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "ok")).await.status(),
        200
    );

    let past = now().checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
    gw.store.set_api_key_expiry(gw.key_id, Some(past)).await.unwrap();
    let resp = gw.post("/v1/chat/completions", &chat("gpt-4o", "late")).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["code"], "api_key_expired");
    assert_eq!(body["error"]["message"], "this tally API key has expired");
    let message = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 8,
                         "messages": [{"role": "user", "content": "late"}]});
    let resp = gw.post_messages(&message).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["message"], "this tally API key has expired");
    assert_eq!(gw.mock.received().len(), 1);

    gw.store.set_api_key_expiry(gw.key_id, None).await.unwrap();
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "again")).await.status(),
        200
    );
    assert_eq!(gw.mock.received().len(), 2);
    // Only the two requests that went through are recorded.
    assert_eq!(gw.events().await.len(), 2);
}

/// Another process sharing the database (here a second store on the same
/// file) revokes the key: the gateway's key cache lets it through for at
/// most `api_key::cache::TTL`, then refuses it. Polled, not slept: the test fails if
/// the key is still accepted five seconds on.
#[tokio::test]
async fn a_revocation_by_another_process_takes_effect_within_the_cache_ttl() {
    let gw = Gw::start().await;
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "cached"))
            .await
            .status(),
        200
    );
    let other = tally_store::sqlite::SqliteStore::open_file(gw.store.path()).unwrap();
    let revoked_at = std::time::Instant::now();
    other.revoke_api_key(gw.key_id, now()).await.unwrap();
    let mut accepted_after = 0;
    loop {
        let status = gw.post("/v1/chat/completions", &chat("gpt-4o", "poll")).await.status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        accepted_after += 1;
        assert!(
            revoked_at.elapsed() < tally_server::api_key::cache::TTL * 5,
            "still accepted {accepted_after} requests after the revocation"
        );
    }
    // Past the TTL it stays refused.
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "after")).await.status(),
        401
    );
}

#[tokio::test]
async fn client_errors_are_recorded() {
    let mut gw = Gw::start().await;
    let malformed = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let unknown = gw
        .post("/v1/chat/completions", &chat("nobody/never-heard-of-it", "x"))
        .await;
    assert_eq!(unknown.status(), 404);
    let no_model = gw.post("/v1/chat/completions", &json!({"messages": []})).await;
    assert_eq!(no_model.status(), 400);
    let huge = "x".repeat(33 * 1024 * 1024);
    let too_big = gw
        .client
        .post(gw.url("/v1/embeddings"))
        .bearer_auth(&gw.key)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    assert!(gw.mock.received().is_empty(), "nothing reached the provider");

    let events = gw.events().await;
    let statuses: Vec<u16> = events.iter().map(|e| e.http_status).collect();
    assert_eq!(statuses, [400, 404, 400, 413]);
    assert!(
        events
            .iter()
            .all(|e| e.outcome == Outcome::ClientError && e.cost == Money::ZERO && e.error.is_some())
    );
    assert_eq!(events[1].requested_model.as_deref(), Some("nobody/never-heard-of-it"));
}

#[tokio::test]
async fn upstream_errors_pass_through_and_are_recorded() {
    let mut gw = Gw::start().await;
    let resp = gw.post("/v1/chat/completions", &chat("gpt-4o", "mock:error=429")).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].is_string());
    let resp = gw.post("/v1/chat/completions", &chat("gpt-4o", "mock:error=500")).await;
    assert_eq!(resp.status(), 500);

    let events = gw.events().await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[0].outcome, events[0].http_status),
        (Outcome::UpstreamError, 429)
    );
    assert_eq!(
        (events[1].outcome, events[1].http_status),
        (Outcome::UpstreamError, 500)
    );
    assert!(events[0].error.as_deref().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn unreachable_and_slow_providers_are_gateway_errors() {
    let mut gw = Gw::start().await;
    let resp = gw.post("/v1/chat/completions", &chat("dead/gpt-4o", "x")).await;
    assert_eq!(resp.status(), 502);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "api_error");
    let resp = gw
        .post("/v1/chat/completions", &chat("slow/gpt-4o", "mock:latency=3000"))
        .await;
    assert_eq!(resp.status(), 504);

    let events = gw.events().await;
    assert_eq!((events[0].outcome, events[0].http_status), (Outcome::GatewayError, 502));
    assert_eq!((events[1].outcome, events[1].http_status), (Outcome::GatewayError, 504));
    assert_eq!(events[1].provider.as_deref(), Some("slow"));
}

#[tokio::test]
async fn upstream_reset_mid_stream_breaks_the_client_stream() {
    let mut gw = Gw::start().await;
    let mut body = chat("gpt-4o", "mock:reset");
    body["stream"] = json!(true);
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "the client sees the stream break");
    let events = gw.events().await;
    assert_eq!(events[0].outcome, Outcome::UpstreamError);
    assert!(events[0].error.as_deref().unwrap().contains("broke off"));
}

#[tokio::test]
async fn missing_usage_is_estimated_and_unknown_prices_are_flagged() {
    let mut gw = Gw::start().await;
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "mock:nousage hello"))
            .await
            .status(),
        200
    );
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("house-model", "hello"))
            .await
            .status(),
        200
    );
    let events = gw.events().await;
    assert!(events[0].estimated && !events[0].unpriced);
    assert!(events[0].cost > Money::ZERO);
    assert_eq!(events[1].routed_model.as_deref(), Some("house/house-model"));
    assert!(events[1].unpriced && !events[1].estimated);
    assert_eq!(events[1].cost, Money::ZERO);
}
