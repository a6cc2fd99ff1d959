//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tally_mock_provider::{MockConfig, MockProvider};

pub async fn start() -> MockProvider {
    MockProvider::start(MockConfig::default()).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A chat body with one user message.
pub fn chat_body(model: &str, text: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// POSTs `body` to `path` with OpenAI auth.
pub async fn post_openai(mock: &MockProvider, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", mock.base_url()))
        .bearer_auth("sk-test")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// POSTs `body` to `/v1/messages` with Anthropic headers.
pub async fn post_anthropic(mock: &MockProvider, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// GETs `/v1/models` with `headers` and reads the JSON answer.
pub async fn models(mock: &MockProvider, headers: &[(&str, &str)]) -> Value {
    let mut request = client().get(format!("{}/v1/models", mock.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Reads an injected error: `status`, `Retry-After: 1` on a 429 and none
/// otherwise, and the JSON body.
pub async fn injected_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(retry.as_deref(), (status == 429).then_some("1"));
    response.json().await.unwrap()
}

/// Splits an SSE body into frames, asserting every frame ends with a blank line.
pub fn frames(body: &str) -> Vec<String> {
    assert!(body.ends_with("\n\n"), "body must end with a blank line: {body:?}");
    let frames: Vec<String> = body
        .strip_suffix("\n\n")
        .unwrap()
        .split("\n\n")
        .map(str::to_owned)
        .collect();
    for frame in &frames {
        assert!(!frame.is_empty(), "empty frame in {body:?}");
    }
    frames
}

/// Parses OpenAI frames: each is exactly one `data: ` line. Returns the JSON
/// chunks and whether the stream ended with `data: [DONE]`.
pub fn openai_chunks(body: &str) -> (Vec<Value>, bool) {
    let mut chunks = Vec::new();
    let mut done = false;
    for frame in frames(body) {
        assert!(!frame.contains('\n'), "one line per frame: {frame:?}");
        let data = frame.strip_prefix("data: ").expect("data: prefix");
        assert!(!done, "nothing may follow [DONE]");
        if data == "[DONE]" {
            done = true;
        } else {
            chunks.push(serde_json::from_str(data).unwrap());
        }
    }
    (chunks, done)
}

/// Parses Anthropic frames: `event: NAME\ndata: JSON`, with `type == NAME`.
pub fn anthropic_events(body: &str) -> Vec<(String, Value)> {
    frames(body)
        .iter()
        .map(|frame| {
            let (event, data) = frame.split_once('\n').expect("two lines");
            let event = event.strip_prefix("event: ").expect("event: prefix");
            let data = data.strip_prefix("data: ").expect("data: prefix");
            assert!(!data.contains('\n'));
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], event);
            (event.to_owned(), data)
        })
        .collect()
}

/// Concatenated `delta.content` of OpenAI chunks, and the number of non-empty deltas.
pub fn openai_text(chunks: &[Value]) -> (String, usize) {
    let deltas: Vec<&str> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    (deltas.concat(), deltas.len())
}

/// Reads the body chunk by chunk until an error; returns what arrived and
/// whether the body failed.
pub async fn read_until_error(mut response: reqwest::Response) -> (String, bool) {
    let mut received = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => return (String::from_utf8(received).unwrap(), false),
            Err(_) => return (String::from_utf8(received).unwrap(), true),
        }
    }
}
