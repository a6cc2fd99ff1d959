//! Clients that leave: the provider still serves (and bills) the request,
//! so the gateway keeps reading its answer and records the real usage as
//! `canceled`. A client that drops mid-body is canceled too; an early error
//! with an unread body closes the connection.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tally_core::{ActivityEvent, Outcome};
use tally_mock_provider::{MockConfig, expected_usage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

const PATH: &str = "/v1/chat/completions";

fn slow_chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream,
           "messages": [{"role": "user", "content": "take your time mock:latency=3000"}]})
}

/// Waits (polling, with a deadline) until the mock has received `n` requests.
async fn until_received(gw: &Gw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while gw.mock.received().len() < n {
        assert!(Instant::now() < deadline, "the mock never received the request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `body`, and gives up once the mock has the request (while it is
/// still waiting its 3 s): the client's connection closes.
async fn leave_while_upstream_thinks(gw: &Gw, body: Value) {
    let client = gw.client.clone();
    let url = gw.url(PATH);
    let key = gw.key.clone();
    let request = tokio::spawn(async move { client.post(url).bearer_auth(key).json(&body).send().await });
    until_received(gw, 1).await;
    request.abort();
    assert!(request.await.is_err_and(|e| e.is_cancelled()), "the client left first");
}

fn assert_canceled_with_real_usage(e: &ActivityEvent, body: &Value) {
    assert_eq!(e.outcome, Outcome::Canceled, "{e:?}");
    assert!(!e.estimated, "the provider's own usage was read: {e:?}");
    let expected = expected_usage(PATH, body);
    assert_eq!(e.usage.input, Some(expected.input));
    assert_eq!(e.usage.output, Some(expected.output));
    assert_eq!(e.cost, catalog_cost("openai", "gpt-4o", &e.usage));
}

#[tokio::test]
async fn a_client_leaving_before_a_whole_answer_is_recorded_with_its_real_usage() {
    let mut gw = Gw::start().await;
    let body = slow_chat(false);
    leave_while_upstream_thinks(&gw, body.clone()).await;
    // Stopping waits for the request's work, which outlives the client.
    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_canceled_with_real_usage(&events[0], &body);
}

#[tokio::test]
async fn a_client_leaving_before_the_stream_starts_is_recorded_with_its_real_usage() {
    let mut gw = Gw::start().await;
    let body = slow_chat(true);
    leave_while_upstream_thinks(&gw, body.clone()).await;
    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_canceled_with_real_usage(&events[0], &body);
}

#[tokio::test]
async fn a_client_leaving_mid_stream_is_recorded_with_the_streams_final_usage() {
    let mut gw = Gw::start_with(MockConfig {
        chunk_delay: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await;
    let body = json!({"model": "gpt-4o", "stream": true,
                      "messages": [{"role": "user", "content": "a long answer please"}]});
    let resp = gw.post(PATH, &body).await;
    let mut stream = resp.bytes_stream();
    assert!(!stream.next().await.unwrap().unwrap().is_empty());
    drop(stream);
    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_canceled_with_real_usage(&events[0], &body);
}

/// Raw HTTP/1.1 over TCP: the request head, then `sent` of the body's bytes.
async fn raw_request(gw: &Gw, auth: &str, length: usize, sent: &[u8]) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nhost: tally\r\nauthorization: Bearer {auth}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(sent).await.unwrap();
    tcp
}

#[tokio::test]
async fn a_client_dropping_mid_body_is_canceled_not_too_large() {
    let mut gw = Gw::start().await;
    let key = gw.key.clone();
    let tcp = raw_request(&gw, &key, 10_000, br#"{"model":"gpt-4o","messages":["#).await;
    drop(tcp);
    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, Outcome::Canceled, "{:?}", events[0]);
    assert_ne!(events[0].http_status, 413);
    assert!(gw.mock.received().is_empty());
}

#[tokio::test]
async fn an_early_error_with_an_unread_body_closes_the_connection() {
    let gw = Gw::start().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}).to_string();
    // The 401 comes before the body is read: the rest of the connection
    // would otherwise be read as the next request.
    let mut tcp = raw_request(&gw, "tly_wrong", body.len(), b"").await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response head");
        answer.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
}
