//! A careless (or hostile) provider: bodies that stall, drip, or never end,
//! answers that are not JSON, error objects under 200, invalid statuses and
//! redirects. The client gets an error in the protocol's shape, never a
//! truncated or bogus 200, and the event says why.

use futures_util::StreamExt;
use serde_json::{Value, json};
use tally_core::Outcome;
use tally_mock_provider::{MockConfig, MockProvider};

use crate::harness::*;

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// Table: (model, magic string, status to the client, outcome, words the
/// event's error must contain).
#[tokio::test]
async fn careless_whole_answers_become_errors_in_the_protocols_shape() {
    let huge = format!("mock:huge={}", TIGHT_MAX_BYTES * 4);
    let cases: &[(&str, &str, u16, Outcome, &str)] = &[
        ("tight/gpt-4o", "mock:stall_body", 504, Outcome::GatewayError, "silent"),
        ("tight/gpt-4o", "mock:drip", 504, Outcome::GatewayError, "within"),
        ("tight/gpt-4o", &huge, 502, Outcome::UpstreamError, "larger than"),
        ("gpt-4o", "mock:html", 502, Outcome::UpstreamError, "not JSON"),
        ("gpt-4o", "mock:error_body", 502, Outcome::UpstreamError, "overloaded"),
        ("gpt-4o", "mock:status=999", 502, Outcome::UpstreamError, "999"),
    ];
    let mut gw = Gw::start().await;
    for (model, magic, status, _, _) in cases {
        let resp = gw.post("/v1/chat/completions", &chat(model, magic)).await;
        assert_eq!(resp.status(), *status, "{magic}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "api_error", "{magic}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    let events = gw.events().await;
    assert_eq!(events.len(), cases.len());
    for (e, (_, magic, status, outcome, why)) in events.iter().zip(cases) {
        assert_eq!((e.outcome, e.http_status), (*outcome, *status), "{magic}: {e:?}");
        let error = e.error.as_deref().unwrap_or_default();
        assert!(error.contains(why), "{magic}: {error}");
        assert!(!e.estimated, "{magic}: nothing is estimated for a failure");
    }
}

#[tokio::test]
async fn anthropic_answers_over_the_cap_are_refused_in_anthropic_shape() {
    let mut gw = Gw::start().await;
    let body = json!({"model": "tight-anthropic/claude-sonnet-4-5", "max_tokens": 10,
        "messages": [{"role": "user", "content": format!("mock:huge={}", TIGHT_MAX_BYTES * 2)}]});
    let resp = gw.post_messages(&body).await;
    assert_eq!(resp.status(), 502);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["error"]["type"], "api_error");
    let events = gw.events().await;
    assert_eq!(events[0].outcome, Outcome::UpstreamError);
}

#[tokio::test]
async fn a_stream_event_over_the_cap_breaks_the_stream_and_is_recorded() {
    let mut gw = Gw::start().await;
    let mut body = chat("gpt-4o", &format!("mock:huge={}", 2 * 1024 * 1024));
    body["stream"] = json!(true);
    let resp = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut got = 0;
    let mut broke = false;
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(bytes) => got += bytes.len(),
            Err(_) => broke = true,
        }
    }
    assert!(broke, "the client sees the stream break");
    assert!(got < 1024 * 1024, "the oversized event was not relayed");
    let events = gw.events().await;
    assert_eq!(events[0].outcome, Outcome::UpstreamError);
    assert!(events[0].error.as_deref().unwrap().contains("larger than"));
}

#[tokio::test]
async fn redirects_are_not_followed_and_are_upstream_errors() {
    let elsewhere = MockProvider::start(MockConfig::default()).await.unwrap();
    let target = format!("{}/v1/chat/completions", elsewhere.base_url());
    let mut gw = Gw::start().await;
    let resp = gw
        .post(
            "/v1/chat/completions",
            &chat("gpt-4o", &format!("secret prompt mock:redirect={target}")),
        )
        .await;
    assert_eq!(resp.status(), 502);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["error"]["type"], "api_error");
    assert!(elsewhere.received().is_empty(), "neither prompt nor key went elsewhere");
    let events = gw.events().await;
    let e = &events[0];
    assert_eq!((e.outcome, e.http_status), (Outcome::UpstreamError, 502));
    let error = e.error.as_deref().unwrap();
    assert!(error.contains("307"), "{error}");
    assert!(error.contains("127.0.0.1"), "the Location host is named: {error}");
}

#[tokio::test]
async fn duplicate_model_keys_are_refused() {
    let mut gw = Gw::start().await;
    for body in [
        r#"{"model":"house-model","messages":[{"role":"user","content":"x"}],"model":"gpt-4o"}"#,
        r#"{"model":"gpt-4o","stream":false,"stream":true,"messages":[]}"#,
    ] {
        let resp = gw
            .client
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&gw.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let answer: Value = resp.json().await.unwrap();
        assert!(answer["error"]["message"].as_str().unwrap().contains("duplicate"));
    }
    assert!(gw.mock.received().is_empty());
    let events = gw.events().await;
    assert!(events.iter().all(|e| e.outcome == Outcome::ClientError));
}
