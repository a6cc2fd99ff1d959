#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use tally_mock_provider::{MockConfig, MockProvider, serve};

fn keyed() -> MockConfig {
    MockConfig {
        expected_api_key: Some("sk-right".to_owned()),
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn base_url_and_received_log() {
    let mock = start().await;
    assert_eq!(mock.base_url(), format!("http://127.0.0.1:{}", mock.addr().port()));
    let chat = chat_body("gpt-4o", "hi");
    post_openai(&mock, "/v1/chat/completions", &chat).await;
    let msg = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "yo"}]});
    post_anthropic(&mock, &msg).await;
    client()
        .get(format!("{}/v1/models?limit=5", mock.base_url()))
        .send()
        .await
        .unwrap();
    let got = mock.received();
    assert_eq!(got.len(), 3);
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(got[0].body, chat);
    assert_eq!(got[0].header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(got[1].body, msg);
    assert_eq!(got[1].header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(got[1].header("anthropic-version"), Some("2023-06-01"));
    assert!(
        got[1]
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json")
    );
    assert_eq!((got[2].method.as_str(), got[2].path.as_str()), ("GET", "/v1/models"));
    assert_eq!(got[2].body, Value::Null);
    mock.clear_received();
    assert!(mock.received().is_empty());
    mock.shutdown().await;
}

#[tokio::test]
async fn openai_auth() {
    let mock = MockProvider::start(keyed()).await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let body = chat_body("gpt-4o", "hi");
    for auth in [None, Some("Bearer sk-wrong-key-1234"), Some("sk-right")] {
        let mut request = client().post(&url).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        let v: Value = response.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(!v["error"]["message"].as_str().unwrap().contains("sk-wrong-key-1234"));
    }
    let ok = client()
        .post(&url)
        .bearer_auth("sk-right")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let models = client()
        .get(format!("{}/v1/models", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(models.status(), 401);
}

#[tokio::test]
async fn anthropic_auth() {
    let mock = MockProvider::start(keyed()).await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    // (x-api-key, authorization): x-api-key wins when both are present.
    let cases = [
        (None, None, 401),
        (Some("sk-wrong"), None, 401),
        (Some("sk-wrong"), Some("Bearer sk-right"), 401),
        (None, Some("Bearer sk-wrong"), 401),
        (None, Some("Bearer sk-right"), 200),
    ];
    for (key, bearer, status) in cases {
        let mut request = client()
            .post(&url)
            .header("anthropic-version", "2023-06-01")
            .json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        if let Some(bearer) = bearer {
            request = request.header("authorization", bearer);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{key:?} {bearer:?}");
        if status == 401 {
            let v: Value = response.json().await.unwrap();
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], "authentication_error");
        }
    }
    let ok = client()
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "sk-right")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn latency_and_chunk_delay() {
    let config = MockConfig {
        latency: Duration::from_millis(150),
        chunk_delay: Duration::from_millis(20),
        ..MockConfig::default()
    };
    let mock = MockProvider::start(config).await.unwrap();
    let started = Instant::now();
    let mut body = chat_body("gpt-4o", "hi");
    body["max_tokens"] = json!(5);
    body["stream"] = json!(true);
    let response = post_openai(&mock, "/v1/chat/completions", &body).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    response.text().await.unwrap();
    // 8 frames (role, 5 words, finish, [DONE]) -> 7 gaps of 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(150 + 7 * 20));

    let quick = start().await;
    let started = Instant::now();
    post_openai(&quick, "/v1/chat/completions", &chat_body("gpt-4o", "mock:latency=200")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn non_streaming_reset_sends_no_bytes() {
    let mock = start().await;
    let body = chat_body("gpt-4o", "mock:reset").to_string();
    let addr = mock.addr();
    let received = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(request.as_bytes()).unwrap();
        let mut received = Vec::new();
        // Either a clean EOF or a reset: both mean "closed"; a timeout fails.
        if let Err(e) = tcp.read_to_end(&mut received) {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        received
    })
    .await
    .unwrap();
    assert!(received.is_empty(), "{:?}", String::from_utf8_lossy(&received));
}

#[tokio::test]
async fn serve_runs_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, MockConfig::default(), async move {
        let _ = stopped.await;
    }));
    let response = client().get(format!("http://{addr}/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
