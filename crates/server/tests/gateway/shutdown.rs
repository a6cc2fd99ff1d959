//! Graceful shutdown under concurrent load loses nothing: every response a
//! client received is in the store.

use serde_json::json;
use tally_core::Outcome;
use tally_mock_provider::MockConfig;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_request_is_recorded_after_a_graceful_stop() {
    let mut gw = Gw::start_with(MockConfig {
        chunk_delay: std::time::Duration::from_millis(2),
        ..MockConfig::default()
    })
    .await;
    let client = gw.client.clone();
    let url = gw.url("/v1/chat/completions");
    let key = gw.key.clone();
    let mut tasks = Vec::new();
    for i in 0..200_u32 {
        let (client, url, key) = (client.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"model": "gpt-4o", "stream": i.is_multiple_of(2),
                              "messages": [{"role": "user", "content": format!("request {i}")}]});
            match client.post(&url).bearer_auth(&key).json(&body).send().await {
                Ok(resp) if resp.status() == 200 => resp.bytes().await.is_ok(),
                _ => false,
            }
        }));
    }
    // Stop while requests are in flight: they finish, new ones are refused.
    tokio::task::yield_now().await;
    let events = gw.events().await;
    let mut answered = 0;
    for t in tasks {
        if t.await.unwrap() {
            answered += 1;
        }
    }
    let successes = events.iter().filter(|e| e.outcome == Outcome::Success).count();
    assert_eq!(successes, answered, "every answered request is recorded, none twice");
    assert!(events.len() <= 200);
}
