#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use tally_mock_provider::{expected_usage, model_ids};

#[tokio::test]
async fn embeddings_float_and_base64_agree() {
    let mock = start().await;
    let body = json!({"model": "text-embedding-3-small", "input": ["hello world", "abc", "hello world"]});
    let v: Value = post_openai(&mock, "/v1/embeddings", &body).await.json().await.unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    assert_eq!(v["usage"], json!({"prompt_tokens": 7, "total_tokens": 7}));
    assert_eq!(expected_usage("/v1/embeddings", &body).input, 3 + 1 + 3);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let floats: Vec<Vec<f32>> = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["object"], "embedding");
            assert_eq!(d["index"], i);
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    assert!(floats.iter().all(|f| f.len() == 8));
    assert_eq!(floats[0], floats[2]);
    assert_ne!(floats[0], floats[1]);

    let mut b64 = body.clone();
    b64["encoding_format"] = json!("base64");
    let v: Value = post_openai(&mock, "/v1/embeddings", &b64).await.json().await.unwrap();
    for (d, expected) in v["data"].as_array().unwrap().iter().zip(&floats) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(d["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(&decoded, expected);
    }
    let single = json!({"model": "m", "input": [1, 2, 3]});
    let v: Value = post_openai(&mock, "/v1/embeddings", &single)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["usage"]["prompt_tokens"], 3);
}

#[tokio::test]
async fn models_list() {
    let mock = start().await;
    let v = models(&mock, &[]).await;
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, model_ids());
    assert_eq!(ids.len(), 12);
    for id in [
        "gpt-4o",
        "gpt-4o-mini",
        "o3-mini",
        "text-embedding-3-small",
        "claude-sonnet-4-5",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["object"] == "model" && m["created"].is_u64())
    );
}
