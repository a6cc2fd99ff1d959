//! Budget alerts delivered to a real HTTP server started by the test: each
//! threshold once per period, signed (the signature recomputed here from
//! the secret shown at creation), a refused delivery retried, every attempt
//! logged, nothing fired again after a restart, and the test action.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tally_server::clock::SimulatedClock;
use tokio::sync::mpsc;

use crate::harness::*;

/// What the receiver got, and what it answered.
struct Got {
    headers: HeaderMap,
    body: Value,
    raw: Bytes,
    answered: u16,
}

/// A webhook receiver on its own port: refuses the first `refuse` calls
/// with 500, accepts the rest with 204.
async fn receiver(refuse: usize) -> (String, mpsc::UnboundedReceiver<Got>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, raw: Bytes| {
            let (tx, calls) = (tx.clone(), calls.clone());
            async move {
                let status = if calls.fetch_add(1, Ordering::SeqCst) < refuse {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                };
                let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                let _ = tx.send(Got {
                    headers,
                    body,
                    raw,
                    answered: status.as_u16(),
                });
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Got>) -> Got {
    tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
        .await
        .expect("a delivery within a minute")
        .unwrap()
}

/// Checks `x-tally-signature` against the secret, as a receiver would.
fn verify(secret: &str, got: &Got) {
    let header = got.headers["x-tally-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.raw);
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("the signature verifies");
    let age = jiff::Timestamp::now().as_second() - t.parse::<i64>().unwrap();
    assert!((0..120).contains(&age), "signed {age} s ago");
}

fn chat() -> Value {
    json!({"model": "openai/gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hello"}]})
}

#[tokio::test]
async fn thresholds_fire_once_to_a_signed_webhook_and_a_refused_delivery_is_retried() {
    let clock = Arc::new(SimulatedClock::new("2026-03-01T12:00:00Z".parse().unwrap()));
    let mut gw = Gw::start_clocked(clock.clone()).await;
    let (url, mut rx) = receiver(1).await;
    let hooks = format!("/api/organizations/{}/webhooks", gw.org);
    let (status, hook) = api(&gw, Method::POST, &hooks, Some(json!({"url": url}))).await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    let one = format!("{hooks}/{}", hook["id"].as_str().unwrap());
    let (_, shown) = api(&gw, Method::GET, &one, None).await;
    assert_eq!(shown.get("secret"), None, "the secret is shown once");

    // One request is half of the amount; the second reaches it.
    assert_eq!(gw.post("/v1/chat/completions", &chat()).await.status(), 200);
    let spent_one = {
        let events = gw.store_events().await;
        events[0].cost
    };
    let (status, budget) = api(
        &gw,
        Method::POST,
        &format!("/api/organizations/{}/budgets", gw.org),
        Some(json!({"scope": {"type": "organization"}, "amount": (tally_core::Money::from_nanos(2 * spent_one.nanos())).to_string(),
                    "period": "day", "timezone": "America/New_York", "action": "alert", "thresholds": [50, 100]})),
    )
    .await;
    assert_eq!(status, 201, "{budget}");

    // 50 %: refused once, delivered on the retry, the same signed body.
    let refused = next(&mut rx).await;
    let retried = next(&mut rx).await;
    assert_eq!((refused.answered, retried.answered), (500, 204));
    assert_eq!(refused.body, retried.body);
    verify(&secret, &refused);
    verify(&secret, &retried);
    assert_eq!(retried.headers["x-tally-event"], "budget.threshold");
    let alert = &retried.body;
    assert_eq!(alert["type"], "budget.threshold");
    assert_eq!(alert["threshold"], 50);
    assert_eq!(alert["spent"], spent_one.to_string());
    assert_eq!(alert["budget"]["id"], budget["id"]);
    assert_eq!(alert["budget"]["scope"], json!({"type": "organization", "id": null}));
    assert_eq!(alert["periodStart"], "2026-03-01T05:00:00Z");
    assert_eq!(alert["resetsAt"], "2026-03-02T05:00:00Z");
    let text = alert["text"].as_str().unwrap();
    assert!(
        text.contains("organization budget")
            && text.contains("has reached 50%")
            && text.contains("2026-03-02T00:00:00-05:00"),
        "{text}"
    );

    // 100 %: delivered at once.
    assert_eq!(gw.post("/v1/chat/completions", &chat()).await.status(), 200);
    let full = next(&mut rx).await;
    assert_eq!((full.answered, full.body["threshold"].as_u64()), (204, Some(100)));
    verify(&secret, &full);

    // Restarted, nothing fires again: the test delivery is the next to come.
    gw.reopen().await;
    let (status, queued) = api(&gw, Method::POST, &format!("{one}/test"), None).await;
    assert_eq!(status, 202, "{queued}");
    let test = next(&mut rx).await;
    assert_eq!(test.body["type"], "test", "{}", test.body);
    verify(&secret, &test);

    let (_, log) = api(&gw, Method::GET, &format!("{one}/deliveries"), None).await;
    let states: Vec<(&str, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["event"].as_str().unwrap(), d["attempts"].as_u64().unwrap()))
        .collect();
    assert_eq!(states, [("test", 1), ("budget.threshold", 1), ("budget.threshold", 2)]);
    let first = &log[2];
    assert_eq!(first["state"], "delivered");
    assert_eq!(first["payload"]["threshold"], 50);
    let statuses: Vec<u64> = first["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 204]);
    assert!(first["attemptLog"][0]["error"].as_str().unwrap().contains("500"));
}

#[tokio::test]
async fn webhooks_are_for_managers_checked_and_kept_per_organization() {
    let gw = Gw::start().await;
    let hooks = format!("/api/organizations/{}/webhooks", gw.org);
    for bad in ["ftp://example.com/x", "not a url", "http://", ""] {
        let (status, e) = api(&gw, Method::POST, &hooks, Some(json!({"url": bad}))).await;
        assert_eq!(status, 400, "{bad}: {e}");
        assert_eq!(e["error"]["param"], "url");
    }
    let (_, list) = api(&gw, Method::GET, &hooks, None).await;
    assert_eq!(list, json!([]));
    let (status, hook) = api(
        &gw,
        Method::POST,
        &hooks,
        Some(json!({"url": "https://hooks.example/x"})),
    )
    .await;
    assert_eq!(status, 201);
    let one = format!("{hooks}/{}", hook["id"].as_str().unwrap());

    let (_, dev) = gw.developer_token().await;
    for (method, path) in [
        (Method::GET, hooks.clone()),
        (Method::GET, one.clone()),
        (Method::DELETE, one.clone()),
        (Method::GET, format!("{one}/deliveries")),
        (Method::POST, format!("{one}/test")),
    ] {
        let resp = gw
            .client
            .request(method.clone(), gw.url(&path))
            .bearer_auth(&dev)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    let elsewhere = format!(
        "/api/organizations/{}/webhooks/{}",
        tally_core::OrgId::new(),
        hook["id"].as_str().unwrap()
    );
    assert_eq!(api(&gw, Method::GET, &elsewhere, None).await.0, 404);
    let (status, moved) = api(&gw, Method::PATCH, &one, Some(json!({"url": "http://hooks.example/y"}))).await;
    assert_eq!((status, moved["url"].as_str()), (200, Some("http://hooks.example/y")));
    assert_eq!(api(&gw, Method::DELETE, &one, None).await.0, 204);
    assert_eq!(api(&gw, Method::GET, &one, None).await.0, 404);
}
