//! Every `/v1` answer carries `x-tally-request-id`; for a recorded request
//! it is the id of its event, so a user can find it in the request log.

use std::collections::HashSet;

use serde_json::json;
use tally_core::EventId;

use crate::harness::*;

fn id_of(resp: &reqwest::Response) -> EventId {
    let value = resp
        .headers()
        .get("x-tally-request-id")
        .unwrap_or_else(|| panic!("{} {} without a request id", resp.url(), resp.status()));
    value.to_str().unwrap().parse().unwrap()
}

fn chat(model: &str, text: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn every_v1_answer_names_its_request_and_recorded_ones_their_event() {
    let mut gw = Gw::start().await;
    let mut recorded = Vec::new();
    let ok = gw.post("/v1/chat/completions", &chat("openai/gpt-4o", "hi")).await;
    assert_eq!(ok.status(), 200);
    recorded.push(id_of(&ok));
    let mut streamed = chat("openai/gpt-4o", "hi");
    streamed["stream"] = json!(true);
    let stream = gw.post("/v1/chat/completions", &streamed).await;
    assert_eq!(stream.status(), 200);
    recorded.push(id_of(&stream));
    stream.text().await.unwrap();
    let upstream = gw
        .post("/v1/chat/completions", &chat("openai/gpt-4o", "mock:error=500"))
        .await;
    assert_eq!(upstream.status(), 500);
    recorded.push(id_of(&upstream));
    let unknown = gw.post("/v1/chat/completions", &chat("no-such-model", "hi")).await;
    assert_eq!(unknown.status(), 404);
    recorded.push(id_of(&unknown));
    let message = gw
        .post_messages(&json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 8,
                                "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(message.status(), 200);
    recorded.push(id_of(&message));

    // Answers no event stands behind still name themselves.
    let mut unrecorded = Vec::new();
    let refused = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("tk_not-a-key")
        .json(&chat("openai/gpt-4o", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    unrecorded.push(id_of(&refused));
    let models = gw
        .client
        .get(gw.url("/v1/models"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    unrecorded.push(id_of(&models));
    let usage = gw
        .client
        .get(gw.url("/v1/usage?from=2026-01-01&to=2026-01-02"))
        .bearer_auth(&gw.key)
        .send()
        .await
        .unwrap();
    unrecorded.push(id_of(&usage));

    let all: HashSet<EventId> = recorded.iter().chain(&unrecorded).copied().collect();
    assert_eq!(
        all.len(),
        recorded.len() + unrecorded.len(),
        "every answer has its own id"
    );
    let events: Vec<EventId> = gw.events().await.into_iter().map(|e| e.id).collect();
    assert_eq!(
        events.iter().copied().collect::<HashSet<_>>(),
        recorded.into_iter().collect::<HashSet<_>>()
    );
}
