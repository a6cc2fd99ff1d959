//! Tags a client labels a request with (`x-tally-tags`): kept in their
//! canonical text with the event, never sent upstream; a malformed list is
//! refused in the protocol's error shape and still recorded.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn tags_are_recorded_canonically_and_not_forwarded() {
    let mut gw = Gw::start().await;
    let chat = json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let send = |tags: Option<&'static str>| {
        let mut r = gw
            .client
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&gw.key)
            .json(&chat);
        if let Some(t) = tags {
            r = r.header("x-tally-tags", t);
        }
        r.send()
    };
    let ok = send(Some(" team = search , feature=rerank")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(send(None).await.unwrap().status(), 200);
    for bad in ["team", "team=a,team=b", "k=a,b=", "a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1"] {
        let resp = send(Some(bad)).await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("x-tally-tags"),
            "{body}"
        );
    }
    // Two header lines are one list.
    let two = gw
        .client
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &gw.key)
        .header("anthropic-version", "2023-06-01")
        .header("x-tally-tags", "team=ads")
        .header("x-tally-tags", "env=prod")
        .json(&json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 8,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 200);

    let received = gw.mock.received();
    assert_eq!(received.len(), 3, "refused requests never go upstream");
    for r in &received {
        assert!(
            r.headers.iter().all(|(n, _)| !n.starts_with("x-tally")),
            "{:?}",
            r.headers
        );
    }
    let mut events = gw.events().await;
    events.sort_by_key(|e| e.started_at);
    let tags: Vec<Option<String>> = events
        .iter()
        .map(|e| e.tags.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(
        tags,
        [
            Some("feature=rerank,team=search".to_owned()),
            None,
            None,
            None,
            None,
            None,
            Some("env=prod,team=ads".to_owned()),
        ]
    );
    let refused: Vec<_> = events.iter().filter(|e| e.http_status == 400).collect();
    assert_eq!(refused.len(), 4);
    assert!(refused.iter().all(|e| e.outcome == tally_core::Outcome::ClientError));
}
