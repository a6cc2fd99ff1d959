//! What a client connection may cost: slow or half-sent heads, idle
//! keep-alive connections and silent bodies are closed; beyond the
//! connection cap new connections wait while established ones are served.

use std::time::Duration;

use tally_core::Outcome;
use tally_mock_provider::MockConfig;
use tally_server::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::Gw;

/// Longest a test waits for the server to act; reaching it is the failure
/// (a server without the limit never closes the connection).
const PATIENCE: Duration = Duration::from_secs(30);

fn limits(header: Duration, body: Duration, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: header,
        body_idle_timeout: body,
        max_connections,
    }
}

async fn start(limits: ConnectionLimits) -> Gw {
    Gw::start_limited(MockConfig::default(), limits).await
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut got))
        .await
        .expect("the server kept the connection open")
        .ok();
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads one whole answer to `GET /api/me` without a token (a short 401).
async fn one_answer(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /api/me HTTP/1.1\r\nhost: tally\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed before the answer");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap();
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed() {
    let gw = start(limits(Duration::from_millis(200), Duration::from_secs(60), 64)).await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    tcp.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: tally\r\n")
        .await
        .unwrap();
    until_closed(&mut tcp).await;
    assert!(gw.mock.received().is_empty());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let gw = start(limits(Duration::from_millis(200), Duration::from_secs(60), 64)).await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    let answer = one_answer(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "kept alive: {answer}"
    );
    until_closed(&mut tcp).await;
}

#[tokio::test]
async fn a_silent_gateway_body_is_answered_408_and_recorded() {
    let mut gw = start(limits(Duration::from_secs(60), Duration::from_millis(200), 64)).await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: tally\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 10000\r\n\r\n{{\"model\":",
        gw.key
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let answer = until_closed(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\""), "the protocol's error shape: {answer}");
    let events = gw.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, Outcome::ClientError, "{:?}", events[0]);
    assert_eq!(events[0].http_status, 408);
    assert!(gw.mock.received().is_empty());
}

#[tokio::test]
async fn a_silent_api_body_is_answered_408() {
    let gw = start(limits(Duration::from_secs(60), Duration::from_millis(200), 64)).await;
    let mut tcp = TcpStream::connect(gw.addr).await.unwrap();
    tcp.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nhost: tally\r\ncontent-type: application/json\r\n\
          content-length: 500\r\n\r\n{\"email\":",
    )
    .await
    .unwrap();
    let answer = until_closed(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn beyond_the_cap_new_connections_wait_and_established_ones_are_served() {
    let gw = start(limits(Duration::from_secs(60), Duration::from_secs(60), 2)).await;
    let mut served = TcpStream::connect(gw.addr).await.unwrap();
    assert!(one_answer(&mut served).await.starts_with("HTTP/1.1 401"));
    // The second slot: a connection that sends nothing.
    let silent = TcpStream::connect(gw.addr).await.unwrap();
    // Round trips on the established connection prove the server has
    // taken the silent one (accepts are in order) before the third comes.
    assert!(one_answer(&mut served).await.starts_with("HTTP/1.1 401"));
    let mut waiting = TcpStream::connect(gw.addr).await.unwrap();
    waiting
        .write_all(b"GET /api/me HTTP/1.1\r\nhost: tally\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(one_answer(&mut served).await.starts_with("HTTP/1.1 401"));
    }
    let mut buf = [0u8; 64];
    match waiting.try_read(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection beyond the cap was served: {other:?}"),
    }
    drop(silent);
    let answer = until_closed(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "served once a slot freed: {answer}");
}
