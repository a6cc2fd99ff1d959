//! The Azure OpenAI and Gemini presets, through the mock's Azure and
//! Gemini dialects: what went upstream (path, api-version, auth header,
//! body) and what was recorded (provider, usage, cost).

use serde_json::{Value, json};
use tally_core::{ActivityEvent, Endpoint, Outcome};
use tally_mock_provider::{Received, expected_usage, reply_text};
use tally_server::gateway::wire::DEFAULT_API_VERSION;

use crate::harness::*;

const CHAT: &str = "/v1/chat/completions";
const EMBEDDINGS: &str = "/v1/embeddings";

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

fn streamed(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body
}

/// The `data:` chunks of a stream, and whether it ended with `[DONE]`.
fn chunks(text: &str) -> (Vec<Value>, bool) {
    let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    let done = data.last() == Some(&"[DONE]");
    let json = data
        .iter()
        .filter(|d| **d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    (json, done)
}

fn reply(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// The one request the mock received.
fn only(gw: &Gw) -> Received {
    let received = gw.mock.received();
    assert_eq!(received.len(), 1, "{received:?}");
    received.into_iter().next().unwrap()
}

fn assert_azure_request(r: &Received, path: &str, api_version: &str) {
    assert_eq!(r.path, path);
    assert_eq!(r.query_param("api-version"), Some(api_version));
    assert_eq!(r.header("api-key"), Some(PROVIDER_KEY));
    assert_eq!(r.header("authorization"), None, "the key goes in api-key only");
}

fn assert_gemini_request(r: &Received, path: &str) {
    assert_eq!(r.path, path);
    assert_eq!(r.query, None);
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {PROVIDER_KEY}").as_str())
    );
    assert_eq!(r.header("api-key"), None);
}

/// A successful event of `provider`, priced from the catalog at the
/// routed model, with the mock's usage for `body` sent to `path`.
fn assert_recorded(e: &ActivityEvent, provider: &str, model: &str, path: &str, body: &Value) {
    let expected = expected_usage(path, body);
    assert_eq!(e.outcome, Outcome::Success, "{:?}", e.error);
    assert_eq!(e.provider.as_deref(), Some(provider));
    assert_eq!(e.routed_model.as_deref(), Some(format!("{provider}/{model}").as_str()));
    assert_eq!(e.usage.input, Some(expected.input));
    assert_eq!(e.usage.output, Some(expected.output));
    assert!(!e.estimated && !e.unpriced && !e.usage_invalid);
    assert_eq!(e.cost, catalog_cost(provider, model, &e.usage));
    assert!(e.cost.nanos() > 0, "priced");
}

#[tokio::test]
async fn azure_whole_chat_goes_to_its_deployment_with_api_key_and_api_version() {
    let mut gw = Gw::start().await;
    let body = chat("azure/gpt-4o", "Hello from Azure");
    let resp = gw.post(CHAT, &body).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let expected = expected_usage(CHAT, &body);
    assert_eq!(answer["choices"][0]["message"]["content"], reply_text(expected.output));

    let r = only(&gw);
    assert_azure_request(&r, "/openai/deployments/gpt-4o/chat/completions", DEFAULT_API_VERSION);
    // The body is OpenAI's, `model` kept as the deployment's name.
    let mut forwarded = body.clone();
    forwarded["model"] = json!("gpt-4o");
    assert_eq!(r.body, forwarded);

    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].endpoint, Endpoint::ChatCompletions);
    assert_recorded(&events[0], "azure", "gpt-4o", CHAT, &body);
}

#[tokio::test]
async fn azure_streams_pass_the_filter_chunk_and_hide_the_usage_chunk() {
    let mut gw = Gw::start().await;
    let body = streamed(chat("azure/gpt-4o", "stream from Azure"));
    let resp = gw.post(CHAT, &body).await;
    assert_eq!(resp.status(), 200);
    let (chunks, done) = chunks(&resp.text().await.unwrap());
    assert!(done);
    // Azure's first chunk (no choices, no usage) reaches the client as sent.
    assert_eq!(chunks[0]["choices"], json!([]));
    assert!(chunks[0]["prompt_filter_results"].is_array());
    // The usage-only chunk the gateway asked for is not passed on.
    assert!(chunks.iter().all(|c| !c["usage"].is_object()), "{chunks:?}");
    let expected = expected_usage(CHAT, &body);
    assert_eq!(reply(&chunks), reply_text(expected.output));

    let r = only(&gw);
    assert_azure_request(&r, "/openai/deployments/gpt-4o/chat/completions", DEFAULT_API_VERSION);
    assert_eq!(r.body["stream_options"]["include_usage"], json!(true));

    let events = gw.events().await;
    assert!(events[0].stream);
    assert_recorded(&events[0], "azure", "gpt-4o", CHAT, &body);
}

#[tokio::test]
async fn azure_embeddings_and_a_configured_api_version() {
    let mut gw = Gw::start().await;
    let body = json!({"model": "azure/text-embedding-3-small", "input": ["one text", "and another"]});
    assert_eq!(gw.post(EMBEDDINGS, &body).await.status(), 200);
    let r = only(&gw);
    assert_azure_request(
        &r,
        "/openai/deployments/text-embedding-3-small/embeddings",
        DEFAULT_API_VERSION,
    );
    gw.mock.clear_received();

    // A provider of the Azure kind with its own api_version.
    let pinned = chat("azure-pinned/gpt-4o", "pinned");
    assert_eq!(gw.post(CHAT, &pinned).await.status(), 200);
    let r = only(&gw);
    assert_azure_request(&r, "/openai/deployments/gpt-4o/chat/completions", PINNED_API_VERSION);

    let events = gw.events().await;
    assert_eq!(events.len(), 2);
    let e = &events[0];
    assert_eq!(e.endpoint, Endpoint::Embeddings);
    assert_eq!(e.usage.output, Some(0));
    assert_recorded(e, "azure", "text-embedding-3-small", EMBEDDINGS, &body);
    assert_eq!(events[1].provider.as_deref(), Some("azure-pinned"));
    assert_eq!(events[1].outcome, Outcome::Success);
}

#[tokio::test]
async fn azure_models_that_name_no_deployment_are_refused_before_upstream() {
    let mut gw = Gw::start().await;
    // No deployment at all: not a route.
    let resp = gw.post(CHAT, &chat("azure/", "x")).await;
    assert_eq!(resp.status(), 404);
    // Not one path segment: refused rather than cut or escaped.
    for model in ["azure/a/b", "azure/my deployment", "azure/..", "azure/x?api-version=1"] {
        let resp = gw.post(CHAT, &chat(model, "x")).await;
        assert_eq!(resp.status(), 400, "{model}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains("is not an Azure deployment name"), "{message}");
    }
    // Azure speaks OpenAI's format to clients, not Anthropic's.
    let resp = gw
        .post_messages(&json!({"model": "azure/gpt-4o", "max_tokens": 5,
                               "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["type"], "error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("send this model to /v1/chat/completions")
    );
    assert!(gw.mock.received().is_empty(), "nothing went upstream");
    let events = gw.events().await;
    assert_eq!(events.len(), 6, "each refusal recorded");
    assert!(events.iter().all(|e| e.outcome == Outcome::ClientError));
    let statuses: Vec<u16> = events.iter().map(|e| e.http_status).collect();
    assert_eq!(statuses, [404, 400, 400, 400, 400, 400]);
}

#[tokio::test]
async fn gemini_whole_chat_and_embeddings_use_the_compatible_endpoint() {
    let mut gw = Gw::start().await;
    let body = chat("gemini/gemini-2.5-flash", "Hello Gemini");
    let resp = gw.post(CHAT, &body).await;
    assert_eq!(resp.status(), 200);
    let r = only(&gw);
    assert_gemini_request(&r, "/v1beta/openai/chat/completions");
    assert_eq!(r.body["model"], "gemini-2.5-flash");
    gw.mock.clear_received();

    let embed = json!({"model": "gemini/gemini-embedding-001", "input": "embed this text"});
    assert_eq!(gw.post(EMBEDDINGS, &embed).await.status(), 200);
    assert_gemini_request(&only(&gw), "/v1beta/openai/embeddings");

    let events = gw.events().await;
    assert_eq!(events.len(), 2);
    assert_recorded(&events[0], "gemini", "gemini-2.5-flash", CHAT, &body);
    assert_eq!(events[1].endpoint, Endpoint::Embeddings);
    assert_recorded(&events[1], "gemini", "gemini-embedding-001", EMBEDDINGS, &embed);
}

#[tokio::test]
async fn gemini_streams_read_usage_from_the_last_chunk_with_choices() {
    let mut gw = Gw::start().await;
    let body = streamed(chat("gemini/gemini-2.5-flash", "stream from Gemini"));
    let resp = gw.post(CHAT, &body).await;
    assert_eq!(resp.status(), 200);
    let (chunks, done) = chunks(&resp.text().await.unwrap());
    assert!(done);
    let expected = expected_usage(CHAT, &body);
    // Gemini's usage rides on a chunk with text: it is passed on, not hidden.
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"].as_array().is_some_and(|a| !a.is_empty()))
    );
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], expected.output);
    assert_eq!(reply(&chunks), reply_text(expected.output));

    let r = only(&gw);
    assert_gemini_request(&r, "/v1beta/openai/chat/completions");
    assert_eq!(r.body["stream_options"]["include_usage"], json!(true));

    let events = gw.events().await;
    assert!(events[0].stream);
    assert_recorded(&events[0], "gemini", "gemini-2.5-flash", CHAT, &body);
}
