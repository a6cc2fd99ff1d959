//! OpenAI-format routes: chat (whole and streamed), embeddings, models.

use serde_json::{Value, json};
use tally_core::{Endpoint, Money, Outcome, Usage};
use tally_mock_provider::expected_usage;

use crate::harness::*;

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}], "temperature": 0.5})
}

fn usage_of(u: tally_mock_provider::MockUsage, cached: bool, reasoning: bool) -> Usage {
    Usage {
        input: Some(u.input),
        cached_input: Some(u.cached_input).filter(|_| cached),
        cache_write: None,
        output: Some(u.output),
        reasoning: Some(u.reasoning).filter(|_| reasoning),
    }
}

#[tokio::test]
async fn whole_chat_is_passed_through_priced_and_recorded() {
    let mut gw = Gw::start().await;
    let body = chat("openai/gpt-4o", "Hello there, how are you?");
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-title", "Support Console")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let expected = expected_usage("/v1/chat/completions", &body);
    assert_eq!(answer["usage"]["prompt_tokens"], expected.input);

    // Upstream saw the same body but for the model, and the provider's key.
    let received = gw.mock.received();
    assert_eq!(received.len(), 1);
    let mut forwarded = body.clone();
    forwarded["model"] = json!("gpt-4o");
    assert_eq!(received[0].body, forwarded);
    assert_eq!(
        received[0].header("authorization"),
        Some(format!("Bearer {PROVIDER_KEY}").as_str())
    );

    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.endpoint, Endpoint::ChatCompletions);
    assert_eq!(e.http_status, 200);
    assert_eq!(e.requested_model.as_deref(), Some("openai/gpt-4o"));
    assert_eq!(e.provider.as_deref(), Some("openai"));
    assert_eq!(e.routed_model.as_deref(), Some("openai/gpt-4o"));
    assert_eq!(e.canonical_model.as_deref(), Some("gpt-4o"));
    assert_eq!(e.app.as_deref(), Some("Support Console"));
    assert_eq!(e.api_key_id, gw.key_id);
    assert!(!e.stream && !e.estimated && !e.unpriced);
    let usage = usage_of(expected, false, false);
    assert_eq!(e.usage.input, usage.input);
    assert_eq!(e.usage.output, usage.output);
    // gpt-4o: $2.50 / M input, $10 / M output.
    let by_hand = Money::from_nanos((expected.input * 2_500 + expected.output * 10_000) as i64);
    assert_eq!(e.cost, by_hand);
    assert!(e.ttft_us.is_some_and(|t| t <= e.latency_us), "time to first byte");
}

#[tokio::test]
async fn cached_and_reasoning_tokens_are_read() {
    let mut gw = Gw::start().await;
    let body = chat("openai/o3-mini", "mock:cache please: explain caching in detail");
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let events = gw.events().await;
    let e = &events[0];
    let expected = expected_usage("/v1/chat/completions", &body);
    assert!(expected.reasoning > 0, "o3-mini reasons in the mock");
    assert_eq!(e.usage.reasoning, Some(expected.reasoning));
    assert!(expected.cached_input > 0);
    assert_eq!(e.usage.cached_input, Some(expected.cached_input));
    assert_eq!(e.usage.output, Some(expected.output));
    assert_eq!(e.cost, catalog_cost("openai", "o3-mini", &e.usage));
}

async fn read_stream(resp: reqwest::Response) -> String {
    String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap()
}

fn data_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn streams_hide_the_usage_chunk_the_client_did_not_ask_for() {
    let mut gw = Gw::start().await;
    let mut body = chat("gpt-4o", "stream me a reply");
    body["stream"] = json!(true);
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = read_stream(resp).await;
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let chunks = data_lines(&text);
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"].as_array().is_some_and(|a| !a.is_empty())),
        "no usage-only chunk: {text}"
    );
    let reply: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        reply,
        tally_mock_provider::reply_text(expected_usage("/v1/chat/completions", &body).output)
    );

    // The gateway asked upstream for usage on the client's behalf.
    assert_eq!(
        gw.mock.received()[0].body["stream_options"]["include_usage"],
        json!(true)
    );

    let events = gw.events().await;
    let e = &events[0];
    let expected = expected_usage("/v1/chat/completions", &body);
    assert!(e.stream);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(
        e.routed_model.as_deref(),
        Some("openai/gpt-4o"),
        "bare name routed through the catalog"
    );
    assert_eq!(e.usage.input, Some(expected.input));
    assert_eq!(e.usage.output, Some(expected.output));
    assert!(!e.estimated);
    assert!(e.ttft_us.is_some_and(|t| t <= e.latency_us));
}

#[tokio::test]
async fn streams_keep_the_usage_chunk_the_client_asked_for() {
    let mut gw = Gw::start().await;
    let mut body = chat("openai/gpt-4o-mini", "stream with usage");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let text = read_stream(gw.post("/v1/chat/completions", &body).await).await;
    let chunks = data_lines(&text);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    let expected = expected_usage("/v1/chat/completions", &body);
    assert_eq!(last["usage"]["completion_tokens"], expected.output);
    let events = gw.events().await;
    assert_eq!(events[0].usage.output, Some(expected.output));
}

#[tokio::test]
async fn embeddings_are_priced_on_input() {
    let mut gw = Gw::start().await;
    let body = json!({"model": "openai/text-embedding-3-small", "input": ["one text", "and another"]});
    let resp = gw.post("/v1/embeddings", &body).await;
    assert_eq!(resp.status(), 200);
    let events = gw.events().await;
    let e = &events[0];
    let expected = expected_usage("/v1/embeddings", &body);
    assert_eq!(e.endpoint, Endpoint::Embeddings);
    assert_eq!(e.usage.input, Some(expected.input));
    assert_eq!(e.usage.output, Some(0));
    // text-embedding-3-small: $0.02 / M tokens = 20 nano-USD per token.
    assert_eq!(e.cost, Money::from_nanos(expected.input as i64 * 20));
}

#[tokio::test]
async fn models_lists_what_the_key_can_use() {
    let gw = Gw::start().await;
    let resp = gw
        .client
        .get(gw.url("/v1/models"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"house/house-model"));
    assert!(ids.contains(&"openai/gpt-4o"));
    assert!(ids.contains(&"anthropic/claude-sonnet-4-5"));
}
