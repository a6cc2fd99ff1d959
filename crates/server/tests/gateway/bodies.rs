//! Body capture through the gateway: off by default; once the owner turns
//! it on, the request as sent and the response as received by the client
//! (whole or streamed) are shown in the request's detail, cut at 64 KiB,
//! and never a key; retention deletes them.

use reqwest::Method;
use serde_json::{Value, json};
use tally_store::ActivityStore;

use crate::harness::*;

/// The cap on each captured body (`gateway::capture::MAX_BODY`).
const CAP: usize = 64 * 1024;

fn chat(content: &str, stream: bool) -> Value {
    json!({"model": "openai/gpt-4o", "stream": stream, "messages": [{"role": "user", "content": content}]})
}

/// Sends a chat completion; the request id and the body the client got.
async fn send(gw: &Gw, body: &Value) -> (String, String) {
    let resp = gw.post("/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-tally-request-id"].to_str().unwrap().to_owned();
    (id, resp.text().await.unwrap())
}

async fn capture(gw: &Gw, on: bool) -> Value {
    let path = format!("/api/projects/{}", gw.project);
    let (status, project) = api(gw, Method::PATCH, &path, Some(json!({"captureBodies": on}))).await;
    assert_eq!(status, 200, "{project}");
    project
}

async fn detail(gw: &Gw, id: &str) -> Value {
    let (status, detail) = api(gw, Method::GET, &format!("/api/activity/{id}"), None).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

/// Every stored body, request and response, read under the store.
fn stored_bodies(gw: &Gw) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(gw.store.path()).unwrap();
    let mut stmt = conn.prepare("SELECT request, response FROM request_bodies").unwrap();
    let rows = stmt
        .query_map([], |r| Ok([r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?]))
        .unwrap();
    rows.flat_map(Result::unwrap).collect()
}

#[tokio::test]
async fn nothing_is_captured_by_default() {
    let mut gw = Gw::start().await;
    let (id, _) = send(&gw, &chat("hello", false)).await;
    gw.reopen().await;
    let detail = detail(&gw, &id).await;
    assert_eq!(detail["bodies"], Value::Null);
    assert_eq!(detail["project"]["captureBodies"], false);
    assert!(stored_bodies(&gw).is_empty());
}

#[tokio::test]
async fn the_owner_turns_capture_on_and_both_bodies_are_shown() {
    let mut gw = Gw::start().await;
    let project = capture(&gw, true).await;
    assert_eq!(
        (&project["captureBodies"], &project["bodyRetentionDays"]),
        (&json!(true), &json!(7))
    );
    let whole = chat("hello there", false);
    let streamed = chat("tell me more", true);
    let (whole_id, whole_answer) = send(&gw, &whole).await;
    let (stream_id, stream_answer) = send(&gw, &streamed).await;
    assert!(stream_answer.contains("data: [DONE]"), "{stream_answer}");
    gw.reopen().await;

    for (id, sent, answer) in [
        (&whole_id, &whole, &whole_answer),
        (&stream_id, &streamed, &stream_answer),
    ] {
        let detail = detail(&gw, id).await;
        let bodies = &detail["bodies"];
        assert_eq!(bodies["request"], serde_json::to_string(sent).unwrap(), "as sent");
        assert_eq!(bodies["response"], answer.as_str(), "as the client got it");
        assert_eq!(bodies["requestTruncated"], false);
        assert_eq!(bodies["responseTruncated"], false);
        assert_eq!(detail["project"]["captureBodies"], true);
    }
    // Neither the client's tally key nor the provider's key is stored,
    // in a body or anywhere else in the data directory.
    let stored = stored_bodies(&gw);
    assert_eq!(stored.len(), 4);
    let dir = gw.store.path().parent().unwrap();
    let files: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| std::fs::read(f.unwrap().path()).unwrap_or_default())
        .collect();
    for secret in [gw.key.as_bytes(), PROVIDER_KEY.as_bytes()] {
        for bytes in stored.iter().chain(&files) {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret), "a key was stored");
        }
    }

    // Past the project's retention (7 days) the bodies are gone; the event stays.
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(8 * 24);
    assert_eq!(gw.store.prune_bodies(later).await.unwrap(), 2);
    let detail = detail(&gw, &whole_id).await;
    assert_eq!(detail["bodies"], Value::Null);
    assert_eq!(detail["requestId"], whole_id.as_str());
}

#[tokio::test]
async fn bodies_longer_than_the_cap_are_cut_and_flagged() {
    let mut gw = Gw::start().await;
    capture(&gw, true).await;
    // A long prompt; and answers of 100 000 bytes, whole and streamed.
    let (long_id, _) = send(&gw, &chat(&"a".repeat(CAP), false)).await;
    let (huge_id, huge) = send(&gw, &chat("mock:huge=100000", false)).await;
    let (huge_stream_id, huge_stream) = send(&gw, &chat("mock:huge=100000", true)).await;
    // Turned off again: nothing more is kept.
    capture(&gw, false).await;
    let (off_id, _) = send(&gw, &chat("hello", false)).await;
    gw.reopen().await;

    let bodies = detail(&gw, &long_id).await["bodies"].clone();
    assert_eq!(bodies["request"].as_str().unwrap().len(), CAP);
    assert_eq!(
        (&bodies["requestTruncated"], &bodies["responseTruncated"]),
        (&json!(true), &json!(false))
    );
    for (id, answer) in [(&huge_id, &huge), (&huge_stream_id, &huge_stream)] {
        let bodies = detail(&gw, id).await["bodies"].clone();
        assert!(answer.len() > CAP);
        assert_eq!(bodies["response"], answer[..CAP], "the first 64 KiB");
        assert_eq!(
            (&bodies["requestTruncated"], &bodies["responseTruncated"]),
            (&json!(false), &json!(true))
        );
    }
    let detail = detail(&gw, &off_id).await;
    assert_eq!(
        (&detail["bodies"], &detail["project"]["captureBodies"]),
        (&Value::Null, &json!(false))
    );
}
