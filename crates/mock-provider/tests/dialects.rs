//! Azure OpenAI's and Gemini's dialects of OpenAI's format: paths, query,
//! auth header, and where their streams differ.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};
use tally_mock_provider::{MockConfig, MockProvider, expected_usage, reply_text};

const KEY: &str = "sk-dialect";
const AZURE_CHAT: &str = "/openai/deployments/gpt-4o/chat/completions";

async fn start_keyed() -> MockProvider {
    let config = MockConfig {
        expected_api_key: Some(KEY.to_owned()),
        ..MockConfig::default()
    };
    MockProvider::start(config).await.unwrap()
}

async fn post_azure(mock: &MockProvider, path_and_query: &str, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path_and_query}", mock.base_url()))
        .header("api-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn azure_chat_takes_api_key_and_api_version_and_names_the_model_by_deployment() {
    let mock = start_keyed().await;
    // No `model` in the body: the deployment names it.
    let body = json!({"messages": [{"role": "user", "content": "hello azure"}]});
    let url = format!("{AZURE_CHAT}?api-version=2024-10-21");
    let response = post_azure(&mock, &url, KEY, &body).await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["model"], "gpt-4o");
    let mut named = body.clone();
    named["model"] = json!("gpt-4o");
    let u = expected_usage(AZURE_CHAT, &named);
    assert_eq!(v["usage"]["prompt_tokens"], u.input);
    assert_eq!(v["choices"][0]["message"]["content"], reply_text(u.output));
    let received = &mock.received()[0];
    assert_eq!(received.path, AZURE_CHAT);
    assert_eq!(received.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(received.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(received.header("api-key"), Some(KEY));
}

#[tokio::test]
async fn azure_refuses_a_missing_api_version_or_a_bearer_key() {
    let mock = start_keyed().await;
    let body = chat_body("gpt-4o", "hi");
    for path in [AZURE_CHAT.to_owned(), format!("{AZURE_CHAT}?api-version=")] {
        let response = post_azure(&mock, &path, KEY, &body).await;
        assert_eq!(response.status(), 400, "{path}");
        let v: Value = response.json().await.unwrap();
        assert_eq!(v["error"]["code"], "MissingApiVersionParameter");
    }
    let url = format!("{AZURE_CHAT}?api-version=2024-10-21");
    assert_eq!(post_azure(&mock, &url, "sk-wrong", &body).await.status(), 401);
    let bearer = client()
        .post(format!("{}{url}", mock.base_url()))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401, "Azure reads api-key, not Authorization");
    let embeddings = "/openai/deployments/emb/embeddings";
    let response = post_azure(&mock, embeddings, KEY, &json!({"input": "x"})).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn azure_streams_open_with_prompt_filter_results() {
    let mock = start_keyed().await;
    let mut body = chat_body("gpt-4o", "stream from azure");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let url = format!("{AZURE_CHAT}?api-version=2024-10-21");
    let text = post_azure(&mock, &url, KEY, &body).await.text().await.unwrap();
    let (chunks, done) = openai_chunks(&text);
    assert!(done);
    let first = &chunks[0];
    assert_eq!(first["choices"], json!([]));
    assert!(first["prompt_filter_results"].is_array());
    assert!(first.get("usage").is_none());
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    let u = expected_usage(AZURE_CHAT, &body);
    assert_eq!(last["usage"]["completion_tokens"], u.output);
    assert_eq!(openai_text(&chunks).0, reply_text(u.output));
}

#[tokio::test]
async fn azure_embeddings() {
    let mock = start_keyed().await;
    let body = json!({"input": ["one", "two texts"]});
    let url = "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21";
    let response = post_azure(&mock, url, KEY, &body).await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["model"], "text-embedding-3-small");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["usage"]["prompt_tokens"], expected_usage(url, &body).input);
}

async fn post_gemini(mock: &MockProvider, path: &str, key: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1beta/openai{path}", mock.base_url()))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn gemini_streams_put_usage_on_the_last_chunk_with_choices() {
    let mock = start_keyed().await;
    let mut body = chat_body("gemini-2.5-flash", "stream from gemini");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let response = post_gemini(&mock, "/chat/completions", KEY, &body).await;
    assert_eq!(response.status(), 200);
    let (chunks, done) = openai_chunks(&response.text().await.unwrap());
    assert!(done);
    assert!(chunks.iter().all(|c| !c["choices"].as_array().unwrap().is_empty()));
    let last = chunks.last().unwrap();
    assert!(last["choices"][0]["finish_reason"].is_string());
    let u = expected_usage("/v1beta/openai/chat/completions", &body);
    assert_eq!(last["usage"]["prompt_tokens"], u.input);
    assert_eq!(last["usage"]["completion_tokens"], u.output);
    let with_usage = chunks.iter().filter(|c| c["usage"].is_object()).count();
    assert_eq!(with_usage, 1);
}

#[tokio::test]
async fn gemini_whole_chat_embeddings_and_models_take_a_bearer_key() {
    let mock = start_keyed().await;
    let body = chat_body("gemini-2.5-flash", "hello gemini");
    let v: Value = post_gemini(&mock, "/chat/completions", KEY, &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["usage"]["prompt_tokens"],
        expected_usage("/chat/completions", &body).input
    );
    let e = json!({"model": "gemini-embedding-001", "input": "embed me"});
    let v: Value = post_gemini(&mock, "/embeddings", KEY, &e).await.json().await.unwrap();
    assert_eq!(v["usage"]["prompt_tokens"], expected_usage("/embeddings", &e).input);
    assert_eq!(
        post_gemini(&mock, "/chat/completions", "sk-wrong", &body)
            .await
            .status(),
        401
    );
    let models = client()
        .get(format!("{}/v1beta/openai/models", mock.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 200);
    let paths: Vec<String> = mock.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1beta/openai/chat/completions",
            "/v1beta/openai/embeddings",
            "/v1beta/openai/chat/completions",
            "/v1beta/openai/models"
        ]
    );
    assert!(mock.received().iter().all(|r| r.query.is_none()));
}
