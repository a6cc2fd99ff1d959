//! Anthropic's Messages API, whole and streamed.

use serde_json::{Value, json};
use tally_core::{Endpoint, Money, Outcome};
use tally_mock_provider::expected_usage;

use crate::harness::*;

fn message(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "stream": stream,
           "system": "Be brief.", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn whole_message_counts_cache_reads_and_writes() {
    let mut gw = Gw::start().await;
    let body = message(
        "anthropic/claude-sonnet-4-5",
        "mock:cache summarise our handbook",
        false,
    );
    let resp = gw.post_messages(&body).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["type"], "message");
    let received = &gw.mock.received()[0];
    assert_eq!(received.header("x-api-key"), Some(PROVIDER_KEY));
    assert_eq!(received.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(received.body["model"], "claude-sonnet-4-5");

    let events = gw.events().await;
    let e = &events[0];
    let x = expected_usage("/v1/messages", &body);
    assert!(x.cached_input > 0 && x.cache_write > 0);
    assert_eq!(e.endpoint, Endpoint::Messages);
    assert_eq!(e.usage.input, Some(x.input));
    assert_eq!(e.usage.cached_input, Some(x.cached_input));
    assert_eq!(e.usage.cache_write, Some(x.cache_write));
    assert_eq!(e.usage.output, Some(x.output));
    // claude-sonnet-4-5 per token: input 3000, cache write 3750, cache read 300, output 15000 nano-USD.
    let by_hand =
        (x.uncached_input() * 3_000 + x.cache_write * 3_750 + x.cached_input * 300 + x.output * 15_000) as i64;
    assert_eq!(e.cost, Money::from_nanos(by_hand));
}

#[tokio::test]
async fn streamed_message_merges_start_and_delta_usage() {
    let mut gw = Gw::start().await;
    let body = message("claude-sonnet-4-5", "tell me something", true);
    let resp = gw.post_messages(&body).await;
    assert_eq!(resp.status(), 200);
    let text = String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap();
    for name in ["message_start", "content_block_delta", "message_delta", "message_stop"] {
        assert!(text.contains(&format!("event: {name}\n")), "{name} forwarded: {text}");
    }
    let events = gw.events().await;
    let e = &events[0];
    let x = expected_usage("/v1/messages", &body);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.routed_model.as_deref(), Some("anthropic/claude-sonnet-4-5"));
    assert_eq!(e.usage.input, Some(x.input));
    assert_eq!(e.usage.output, Some(x.output));
    assert!(e.stream && !e.estimated);
}

#[tokio::test]
async fn errors_use_anthropic_shape() {
    let mut gw = Gw::start().await;
    let resp = gw
        .client
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "tly_wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    // An OpenAI-format model sent to the Anthropic route is refused, recorded.
    let resp = gw.post_messages(&message("openai/gpt-4o", "x", false)).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let events = gw.events().await;
    assert_eq!(events.len(), 1, "the unauthenticated request is not recorded");
    assert_eq!(events[0].outcome, Outcome::ClientError);
}
