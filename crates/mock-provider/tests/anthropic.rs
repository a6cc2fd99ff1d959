#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use tally_mock_provider::{CACHE_WRITE_TOKENS, expected_usage, reply_text};

const MESSAGES: &str = "/v1/messages";

fn body(model: &str, text: &str, max_tokens: u64) -> Value {
    json!({"model": model, "max_tokens": max_tokens,
           "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn non_streaming_message() {
    let mock = start().await;
    let mut b = body("claude-sonnet-4-5", "Hello, Claude", 1024);
    b["system"] = json!([{"type": "text", "text": "Be brief."}]);
    let response = post_anthropic(&mock, &b).await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.unwrap();
    let u = expected_usage(MESSAGES, &b);
    // 13 + 9 = 22 chars -> 6 tokens, + (1 message + system) x 8.
    assert_eq!((u.input, u.cached_input, u.cache_write, u.output), (22, 0, 0, 24));
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["content"], json!([{"type": "text", "text": reply_text(24)}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    assert_eq!(v["usage"]["input_tokens"], 22);
    assert_eq!(v["usage"]["output_tokens"], 24);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
}

#[tokio::test]
async fn cache_model_excludes_cache_tokens_from_input() {
    let mock = start().await;
    let b = body("claude-cache-test", "abcdefghijklmnopqrstuvwxyz0123456789", 3);
    let u = expected_usage(MESSAGES, &b);
    // 36 chars -> 9, + 8 = 17 prompt tokens: 8 cached, 9 uncached, 16 written.
    assert_eq!(u.cached_input, 8);
    assert_eq!(u.cache_write, CACHE_WRITE_TOKENS);
    assert_eq!(u.input, 17 + 16);
    assert_eq!(u.uncached_input(), 9);
    let v: Value = post_anthropic(&mock, &b).await.json().await.unwrap();
    assert_eq!(v["usage"]["input_tokens"], 9);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 8);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 16);
    assert_eq!(v["usage"]["output_tokens"], 3);
    assert_eq!(v["stop_reason"], "max_tokens");
}

#[tokio::test]
async fn streaming_events_and_framing() {
    let mock = start().await;
    let mut b = body("claude-cache-haiku", "What is the weather?", 4);
    b["stream"] = json!(true);
    let response = post_anthropic(&mock, &b).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let raw = response.text().await.unwrap();
    assert!(raw.starts_with("event: message_start\ndata: {"));
    assert!(raw.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    let events = anthropic_events(&raw);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let u = expected_usage(MESSAGES, &b);
    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert!(start["stop_reason"].is_null());
    assert_eq!(start["usage"]["input_tokens"], u.uncached_input());
    assert_eq!(start["usage"]["cache_read_input_tokens"], u.cached_input);
    assert_eq!(start["usage"]["cache_creation_input_tokens"], 16);
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert_eq!(events[1].1["content_block"], json!({"type": "text", "text": ""}));
    let delta = &events[8].1;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(delta["usage"], json!({"output_tokens": 4}));
    for (_, d) in &events[3..7] {
        assert_eq!(d["index"], 0);
        assert_eq!(d["delta"]["type"], "text_delta");
    }
}

#[tokio::test]
async fn streamed_deltas_concatenate_to_non_streamed_text() {
    let mock = start().await;
    for max in [1u64, 9, 24, 4096] {
        let mut b = body("claude-haiku-4-5", "tell me a story", max);
        let plain: Value = post_anthropic(&mock, &b).await.json().await.unwrap();
        b["stream"] = json!(true);
        let raw = post_anthropic(&mock, &b).await.text().await.unwrap();
        let deltas: Vec<String> = anthropic_events(&raw)
            .into_iter()
            .filter(|(n, _)| n == "content_block_delta")
            .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(deltas.len() as u64, max.min(24));
        assert_eq!(deltas.concat(), plain["content"][0]["text"].as_str().unwrap());
    }
}

#[tokio::test]
async fn nousage_is_ignored() {
    let mock = start().await;
    let b = body("claude-sonnet-4-5", "x mock:nousage", 5);
    let v: Value = post_anthropic(&mock, &b).await.json().await.unwrap();
    assert_eq!(v["usage"]["output_tokens"], 5);
    assert_eq!(v["usage"]["input_tokens"], expected_usage(MESSAGES, &b).input);
}

#[tokio::test]
async fn injected_errors_have_anthropic_shape() {
    let mock = start().await;
    for (status, kind) in [
        (429, "rate_limit_error"),
        (500, "api_error"),
        (400, "invalid_request_error"),
        (529, "overloaded_error"),
    ] {
        for stream in [false, true] {
            let mut b = body("claude-sonnet-4-5", &format!("mock:error={status} please"), 10);
            b["stream"] = json!(stream);
            let v = injected_error(post_anthropic(&mock, &b).await, status).await;
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], kind);
            assert!(v["error"]["message"].is_string());
        }
    }
}

#[tokio::test]
async fn reset_mid_stream_and_without_response() {
    let mock = start().await;
    let mut b = body("claude-sonnet-4-5", "mock:reset", 100);
    b["stream"] = json!(true);
    let response = post_anthropic(&mock, &b).await;
    assert_eq!(response.status(), 200);
    let (partial, failed) = read_until_error(response).await;
    assert!(failed, "the body must end in an error, got {partial:?}");
    let names: Vec<String> = anthropic_events(&partial).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 5);
    assert_eq!(names[0], "message_start");
    assert!(!partial.contains("message_stop"));

    b["stream"] = json!(false);
    let result = client()
        .post(format!("{}{MESSAGES}", mock.base_url()))
        .header("anthropic-version", "2023-06-01")
        .json(&b)
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn missing_version_and_bad_body() {
    let mock = start().await;
    let response = client()
        .post(format!("{}{MESSAGES}", mock.base_url()))
        .json(&body("claude-sonnet-4-5", "hi", 10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let response = post_anthropic(&mock, &json!({"model": "claude-sonnet-4-5"})).await;
    assert_eq!(response.status(), 400);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["type"], "error");
}

#[tokio::test]
async fn models_in_anthropic_shape() {
    let mock = start().await;
    let v = models(&mock, &[("anthropic-version", "2023-06-01")]).await;
    assert_eq!(v["has_more"], false);
    let data = v["data"].as_array().unwrap();
    assert!(
        data.iter()
            .all(|m| m["type"] == "model" && m["id"].as_str().unwrap().starts_with("claude-"))
    );
    assert_eq!(v["first_id"], data[0]["id"]);
}
