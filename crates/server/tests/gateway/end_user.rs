//! The end user a client names for a request (OpenAI's `user`, Anthropic's
//! `metadata.user_id`) is recorded with its event, and the body still goes
//! upstream as sent.

use serde_json::{Value, json};

use crate::harness::*;

fn chat(extra: Value) -> Value {
    let mut body = json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    merge(&mut body, extra);
    body
}

fn embedding(extra: Value) -> Value {
    let mut body = json!({"model": "openai/text-embedding-3-small", "input": "hi"});
    merge(&mut body, extra);
    body
}

fn message(extra: Value) -> Value {
    let mut body = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]});
    merge(&mut body, extra);
    body
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
}

#[tokio::test]
async fn end_users_are_read_per_protocol_bounded_and_forwarded() {
    let long = "é".repeat(300);
    let cases: Vec<(&str, Value, Option<String>)> = vec![
        (
            "/v1/chat/completions",
            chat(json!({"user": "alice@example.com"})),
            Some("alice@example.com".into()),
        ),
        (
            "/v1/chat/completions",
            chat(json!({"user": long})),
            Some("é".repeat(256)),
        ),
        ("/v1/chat/completions", chat(json!({"user": 42})), None),
        ("/v1/chat/completions", chat(json!({"user": ""})), None),
        // Anthropic's field is not OpenAI's.
        (
            "/v1/chat/completions",
            chat(json!({"metadata": {"user_id": "bob"}})),
            None,
        ),
        ("/v1/chat/completions", chat(json!({})), None),
        (
            "/v1/embeddings",
            embedding(json!({"user": "carol"})),
            Some("carol".into()),
        ),
        (
            "/v1/messages",
            message(json!({"metadata": {"user_id": "dave-42"}})),
            Some("dave-42".into()),
        ),
        ("/v1/messages", message(json!({"metadata": {"user_id": null}})), None),
        ("/v1/messages", message(json!({"user": "erin"})), None),
    ];
    let mut gw = Gw::start().await;
    for (path, body, _) in &cases {
        let resp = if *path == "/v1/messages" {
            gw.post_messages(body).await
        } else {
            gw.post(path, body).await
        };
        assert_eq!(resp.status(), 200, "{path} {body}");
    }
    // Upstream got every body as sent, end-user fields included.
    let received = gw.mock.received();
    assert_eq!(received.len(), cases.len());
    for (r, (_, body, _)) in received.iter().zip(&cases) {
        for field in ["user", "metadata"] {
            assert_eq!(r.body.get(field), body.get(field), "{field} of {body}");
        }
    }
    let mut events = gw.events().await;
    events.sort_by_key(|e| e.started_at);
    let got: Vec<Option<String>> = events.into_iter().map(|e| e.end_user).collect();
    let want: Vec<Option<String>> = cases.into_iter().map(|(_, _, w)| w).collect();
    assert_eq!(got, want);
}
