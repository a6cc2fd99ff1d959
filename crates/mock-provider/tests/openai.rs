#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use tally_mock_provider::{MAX_OUTPUT_TOKENS, expected_usage, reply_text};

const CHAT: &str = "/v1/chat/completions";

#[tokio::test]
async fn chat_non_streaming_matches_expected_usage() {
    let mock = start().await;
    let body = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [{"type": "text", "text": "Say hello to the world"}]}]});
    let response = post_openai(&mock, CHAT, &body).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = response.json().await.unwrap();
    let u = expected_usage(CHAT, &body);
    // 14 + 22 = 36 chars -> 9 tokens, + 2 messages x 8.
    assert_eq!(u.input, 25);
    assert_eq!((u.output, u.cached_input, u.reasoning), (24, 0, 0));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(v["created"].is_u64());
    assert_eq!(v["model"], "gpt-4o-mini");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap();
    assert_eq!(text, reply_text(24));
    assert_eq!(text.split(' ').count(), 24);
    assert_eq!(v["usage"]["prompt_tokens"], 25);
    assert_eq!(v["usage"]["completion_tokens"], 24);
    assert_eq!(v["usage"]["total_tokens"], 49);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
}

#[tokio::test]
async fn cache_and_reasoning_models_and_max_tokens() {
    let mock = start().await;
    let mut body = chat_body("o3-mini-cache", "abcdefghi");
    body["max_completion_tokens"] = json!(10);
    body["max_tokens"] = json!(20);
    let u = expected_usage(CHAT, &body);
    assert_eq!((u.input, u.cached_input, u.output, u.reasoning), (11, 5, 10, 3));
    let v: Value = post_openai(&mock, CHAT, &body).await.json().await.unwrap();
    assert_eq!(v["usage"]["prompt_tokens"], 11);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 5);
    assert_eq!(v["usage"]["completion_tokens"], 10);
    assert_eq!(v["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["choices"][0]["message"]["content"], reply_text(10));
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage() {
    let mock = start().await;
    let mut body = chat_body("gpt-4o", "hi");
    body["stream"] = json!(true);
    let response = post_openai(&mock, CHAT, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let (chunks, done) = openai_chunks(&response.text().await.unwrap());
    assert!(done);
    assert_eq!(chunks.len(), 1 + MAX_OUTPUT_TOKENS as usize + 1);
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert!(c.get("usage").is_none(), "{c}");
        assert_eq!(c["choices"].as_array().unwrap().len(), 1);
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "stop");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["choices"][0]["finish_reason"].is_null())
    );
    let ids: Vec<&Value> = chunks.iter().map(|c| &c["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
}

#[tokio::test]
async fn stream_with_include_usage_and_exact_framing() {
    let mock = start().await;
    let mut body = chat_body("gpt-4o-cache", "Hello there, how are you?");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body["max_tokens"] = json!(5);
    let raw = post_openai(&mock, CHAT, &body).await.text().await.unwrap();
    assert!(raw.starts_with("data: {"));
    assert!(raw.ends_with("}\n\ndata: [DONE]\n\n"));
    let (chunks, done) = openai_chunks(&raw);
    assert!(done);
    // role chunk, 5 words, finish chunk, usage chunk
    assert_eq!(chunks.len(), 8);
    let (last, rest) = chunks.split_last().unwrap();
    for c in rest {
        assert!(c["usage"].is_null() && c.get("usage").is_some(), "usage: null on {c}");
    }
    assert_eq!(last["choices"], json!([]));
    let u = expected_usage(CHAT, &body);
    assert_eq!(last["usage"]["prompt_tokens"], u.input);
    assert_eq!(last["usage"]["completion_tokens"], 5);
    assert_eq!(last["usage"]["total_tokens"], u.input + 5);
    assert_eq!(last["usage"]["prompt_tokens_details"]["cached_tokens"], u.input / 2);
    assert_eq!(rest.last().unwrap()["choices"][0]["finish_reason"], "length");
}

#[tokio::test]
async fn streamed_deltas_concatenate_to_non_streamed_text() {
    let mock = start().await;
    for max in [1u64, 7, 24, 100] {
        let mut body = chat_body("gpt-4o", "tell me something");
        body["max_tokens"] = json!(max);
        let plain: Value = post_openai(&mock, CHAT, &body).await.json().await.unwrap();
        body["stream"] = json!(true);
        let raw = post_openai(&mock, CHAT, &body).await.text().await.unwrap();
        let (chunks, _) = openai_chunks(&raw);
        let (text, deltas) = openai_text(&chunks);
        assert_eq!(text, plain["choices"][0]["message"]["content"].as_str().unwrap());
        assert_eq!(deltas as u64, max.min(24));
    }
}

#[tokio::test]
async fn nousage_omits_usage_everywhere() {
    let mock = start().await;
    let mut body = chat_body("gpt-4o", "please mock:nousage");
    let v: Value = post_openai(&mock, CHAT, &body).await.json().await.unwrap();
    assert!(v.get("usage").is_none());
    assert_eq!(v["choices"][0]["message"]["content"], reply_text(24));
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (chunks, done) = openai_chunks(&post_openai(&mock, CHAT, &body).await.text().await.unwrap());
    assert!(done);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(chunks.iter().all(|c| c["choices"].as_array().unwrap().len() == 1));
    let emb = json!({"model": "text-embedding-3-small", "input": "x mock:nousage"});
    let v: Value = post_openai(&mock, "/v1/embeddings", &emb).await.json().await.unwrap();
    assert!(v.get("usage").is_none());
}

#[tokio::test]
async fn injected_errors_have_openai_shape() {
    let mock = start().await;
    for (status, kind) in [(429, "requests"), (500, "server_error"), (400, "invalid_request_error")] {
        for stream in [false, true] {
            let mut body = chat_body("gpt-4o", &format!("boom mock:error={status}"));
            body["stream"] = json!(stream);
            let v = injected_error(post_openai(&mock, CHAT, &body).await, status).await;
            let error = v["error"].as_object().unwrap();
            assert_eq!(error["type"], kind);
            assert!(error["message"].is_string());
            assert!(error.contains_key("param") && error.contains_key("code"));
            if status == 429 {
                assert_eq!(error["code"], "rate_limit_exceeded");
            }
        }
    }
    let emb = json!({"model": "text-embedding-3-small", "input": ["ok", "mock:error=429"]});
    assert_eq!(post_openai(&mock, "/v1/embeddings", &emb).await.status(), 429);
}

#[tokio::test]
async fn reset_mid_stream_fails_the_body() {
    let mock = start().await;
    let mut body = chat_body("gpt-4o", "mock:reset");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let response = post_openai(&mock, CHAT, &body).await;
    assert_eq!(response.status(), 200);
    let (partial, failed) = read_until_error(response).await;
    assert!(failed, "the body must end in an error, got {partial:?}");
    assert!(partial.starts_with("data: "));
    assert!(!partial.contains("[DONE]"));
    let (chunks, done) = openai_chunks(&partial);
    assert!(!done);
    assert_eq!(chunks.len(), 3);
}

#[tokio::test]
async fn reset_non_streaming_closes_without_response() {
    let mock = start().await;
    let body = chat_body("gpt-4o", "mock:reset");
    let result = client()
        .post(format!("{}{CHAT}", mock.base_url()))
        .json(&body)
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    let emb = json!({"model": "text-embedding-3-small", "input": "mock:reset"});
    let result = client()
        .post(format!("{}/v1/embeddings", mock.base_url()))
        .json(&emb)
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    // The server survives.
    assert_eq!(post_openai(&mock, CHAT, &chat_body("gpt-4o", "hi")).await.status(), 200);
}

#[tokio::test]
async fn bad_requests() {
    let mock = start().await;
    let response = client()
        .post(format!("{}{CHAT}", mock.base_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let response = post_openai(&mock, CHAT, &json!({"model": "gpt-4o"})).await;
    assert_eq!(response.status(), 400);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["error"]["param"], "messages");
    let response = post_openai(&mock, "/v1/nope", &json!({})).await;
    assert_eq!(response.status(), 404);
}
