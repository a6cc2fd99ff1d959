//! A little live traffic while the demo runs, so today's charts move: a
//! request every few seconds, over HTTP, to the demo's own gateway.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::secrets::Secret;

const LIVE_MODELS: &[(&str, &str)] = &[
    ("gpt-4o-mini", "/v1/chat/completions"),
    ("openai/gpt-4o", "/v1/chat/completions"),
    ("anthropic/claude-sonnet-4-5", "/v1/messages"),
    ("openai/text-embedding-3-small", "/v1/embeddings"),
];

/// Runs until the process ends: one request every 2 to 6 seconds.
pub async fn run(base_url: String, keys: Vec<Secret>) {
    if keys.is_empty() {
        return;
    }
    let client = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(0x11fe);
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(2_000..6_000))).await;
        let key = &keys[rng.random_range(0..keys.len())];
        let (model, path) = LIVE_MODELS[rng.random_range(0..LIVE_MODELS.len())];
        let body = match path {
            "/v1/embeddings" => json!({"model": model, "input": "live demo traffic"}),
            _ => {
                json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "Live demo traffic: say hello."}]})
            }
        };
        let sent = client
            .post(format!("{base_url}{path}"))
            .bearer_auth(key.expose())
            .header("anthropic-version", "2023-06-01")
            .header("x-title", "Live Demo")
            .json(&body)
            .send()
            .await;
        if let Ok(resp) = sent {
            let _ = resp.bytes().await;
        }
    }
}
