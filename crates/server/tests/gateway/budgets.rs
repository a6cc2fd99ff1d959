//! Budgets at the gateway: a spent blocking budget refuses its scope's
//! requests with 429 in each protocol's shape until its period resets,
//! never forwards them and records them as `blocked`; concurrent requests
//! overshoot by at most one reservation; periods follow the budget's zone.
//! Time is a simulated clock.

use std::sync::Arc;

use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use tally_core::{Money, Outcome, Usage};
use tally_mock_provider::expected_usage;
use tally_server::clock::SimulatedClock;
use tally_store::AccountStore;

use crate::harness::*;

const MODEL: &str = "openai/gpt-4o";

fn chat(max_tokens: u64) -> Value {
    json!({"model": MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hello there"}]})
}

/// What one `chat(max_tokens)` costs at the mock.
fn cost_of(body: &Value) -> Money {
    let u = expected_usage("/v1/chat/completions", body);
    let usage = Usage {
        input: Some(u.input),
        cached_input: Some(u.cached_input),
        cache_write: Some(u.cache_write),
        output: Some(u.output),
        reasoning: Some(u.reasoning),
    };
    catalog_cost("openai", "gpt-4o", &usage)
}

fn nanos(m: Money) -> i64 {
    m.nanos()
}

fn usd(nanos: i64) -> String {
    Money::from_nanos(nanos).to_string()
}

async fn clocked(at: &str) -> (Gw, Arc<SimulatedClock>) {
    let clock = Arc::new(SimulatedClock::new(at.parse().unwrap()));
    (Gw::start_clocked(clock.clone()).await, clock)
}

async fn budget(gw: &Gw, body: Value) -> Value {
    let (status, b) = api(
        gw,
        Method::POST,
        &format!("/api/organizations/{}/budgets", gw.org),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{b}");
    b
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_spent_budget_blocks_until_its_day_resets() {
    let (mut gw, clock) = clocked("2026-03-01T22:00:00Z").await;
    let body = chat(10);
    let c = nanos(cost_of(&body));
    // Two requests leave it 1 nano-USD short; the third is admitted and spends it.
    let b = budget(
        &gw,
        json!({"scope": {"type": "apiKey", "id": gw.key_id}, "amount": usd(2 * c + 1),
               "period": "day", "action": "block", "thresholds": [50, 100]}),
    )
    .await;
    assert_eq!(b["current"]["spent"], "0.000000000");
    assert_eq!(b["current"]["resetsAt"], "2026-03-02T00:00:00Z");
    for _ in 0..3 {
        assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
    }
    gw.mock.clear_received();
    let refused = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), Some("7200"));
    let e: Value = refused.json().await.unwrap();
    assert_eq!(e["error"]["type"], "insufficient_quota", "{e}");
    assert_eq!(e["error"]["code"], "budget_exceeded", "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("resets at 2026-03-02T00:00:00+00:00"), "{message}");
    assert!(gw.mock.received().is_empty(), "a blocked request is never forwarded");

    // Anthropic's route answers in its own shape.
    let messages = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5,
                          "messages": [{"role": "user", "content": "hi"}]});
    let refused = gw.post_messages(&messages).await;
    assert_eq!(refused.status(), 429);
    let e: Value = refused.json().await.unwrap();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "rate_limit_error", "{e}");

    // What was spent is read from the store; a restarted tally also
    // blocks at once.
    gw.reopen().await;
    gw.mock.clear_received();
    assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 429);
    assert!(gw.mock.received().is_empty());
    let (_, b) = api(
        &gw,
        Method::GET,
        &format!("/api/organizations/{}/budgets/{}", gw.org, b["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(b["current"]["spent"], usd(3 * c));
    assert_eq!(b["current"]["status"], "blocked");
    assert_eq!(b["current"]["reached"], json!([50, 100]));

    // The next day it admits again.
    clock.set("2026-03-02T00:00:00Z".parse().unwrap());
    assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);

    let events = gw.events().await;
    let outcomes: Vec<Outcome> = events.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Success,
            Outcome::Success,
            Outcome::Success,
            Outcome::Blocked,
            Outcome::Blocked,
            Outcome::Blocked,
            Outcome::Success
        ]
    );
    let blocked = &events[3];
    assert_eq!(blocked.http_status, 429);
    assert_eq!(blocked.cost, Money::ZERO);
    assert_eq!(blocked.requested_model.as_deref(), Some(MODEL));
}

#[tokio::test]
async fn fifty_concurrent_requests_overshoot_by_at_most_one_reservation() {
    let (mut gw, _clock) = clocked("2026-03-01T12:00:00Z").await;
    let body = chat(100);
    budget(
        &gw,
        json!({"scope": {"type": "organization"}, "amount": "0.01", "period": "day", "action": "block"}),
    )
    .await;
    // The most one request reserves: every body byte an input token at
    // gpt-4o's 2.50 USD per million, 100 output tokens at 10.
    let bytes = serde_json::to_vec(&body).unwrap().len() as i64;
    let reservation = bytes * 2_500 + 100 * 10_000;
    let sends = (0..50).map(|_| gw.post("/v1/chat/completions", &body));
    let statuses: Vec<u16> = futures_util::future::join_all(sends)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    let admitted = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert!(admitted > 0 && admitted < 50, "{admitted}");
    let events = gw.events().await;
    let spent: i64 = events.iter().map(|e| e.cost.nanos()).sum();
    assert_eq!(spent, admitted * nanos(cost_of(&body)));
    assert!(
        spent < 10_000_000 + reservation,
        "spent {spent}, bound {}",
        10_000_000 + reservation
    );
    assert_eq!(
        events.iter().filter(|e| e.outcome == Outcome::Blocked).count() as i64,
        50 - admitted
    );
}

/// Per scope, whether it covers the main key and a second key in another
/// project created by the same owner.
#[tokio::test]
async fn each_scope_blocks_the_keys_it_covers_and_no_others() {
    for scope in ["organization", "project", "apiKey", "member", "otherProject"] {
        let (gw, _clock) = clocked("2026-03-01T12:00:00Z").await;
        let owner = gw.store.api_key(gw.key_id).await.unwrap().created_by;
        let other_project = gw
            .store
            .create_project(gw.org, &tally_core::Name::parse("Q").unwrap())
            .await
            .unwrap()
            .id;
        let (other_key, _) = gw.key_in(other_project, owner).await;
        let (scope_json, covers_other) = match scope {
            "organization" => (json!({"type": "organization"}), true),
            "project" => (json!({"type": "project", "id": gw.project}), false),
            "apiKey" => (json!({"type": "apiKey", "id": gw.key_id}), false),
            "member" => (json!({"type": "member", "id": owner}), true),
            _ => (json!({"type": "project", "id": other_project}), true),
        };
        let covers_main = scope != "otherProject";
        budget(
            &gw,
            json!({"scope": scope_json, "amount": "0.000000001", "period": "month", "action": "block"}),
        )
        .await;
        // An alert-only budget never blocks.
        budget(&gw, json!({"scope": {"type": "apiKey", "id": gw.key_id}, "amount": "0.000000001", "period": "day", "action": "alert"})).await;
        let body = chat(5);
        let send = |key: String| {
            let body = body.clone();
            let req = gw
                .client
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&body);
            async move { req.send().await.unwrap().status().as_u16() }
        };
        // Each key spends once (the first request is admitted at zero).
        assert_eq!(send(gw.key.clone()).await, 200, "{scope}");
        let second_main = send(gw.key.clone()).await;
        assert_eq!(second_main, if covers_main { 429 } else { 200 }, "{scope}: main key");
        let other = send(other_key.clone()).await;
        let expected_other = if covers_other && covers_main { 429 } else { 200 };
        assert_eq!(other, expected_other, "{scope}: other key");
    }
}

/// `(zone, period, before, at)`: `before` is the last instant of one
/// period, `at` the first of the next; a request at each, then the budget
/// read at `at` has spent exactly one request.
const BOUNDARIES: &[(&str, &str, &str, &str)] = &[
    ("UTC", "day", "2026-03-01T23:59:59Z", "2026-03-02T00:00:00Z"),
    (
        "America/New_York",
        "day",
        "2026-03-08T04:59:59Z",
        "2026-03-08T05:00:00Z",
    ),
    (
        "America/New_York",
        "day",
        "2026-03-09T03:59:59Z",
        "2026-03-09T04:00:00Z",
    ),
    (
        "America/New_York",
        "day",
        "2026-11-02T04:59:59Z",
        "2026-11-02T05:00:00Z",
    ),
    (
        "America/New_York",
        "week",
        "2026-11-02T04:59:59Z",
        "2026-11-02T05:00:00Z",
    ),
    ("Asia/Kolkata", "month", "2026-11-30T18:29:59Z", "2026-11-30T18:30:00Z"),
    ("Pacific/Chatham", "day", "2026-09-27T10:14:59Z", "2026-09-27T10:15:00Z"),
    (
        "Pacific/Chatham",
        "month",
        "2026-12-31T10:14:59Z",
        "2026-12-31T10:15:00Z",
    ),
];

#[tokio::test]
async fn periods_reset_at_local_midnight_in_the_budgets_zone() {
    for &(zone, period, before, at) in BOUNDARIES {
        let (mut gw, clock) = clocked(before).await;
        let b = budget(
            &gw,
            json!({"scope": {"type": "organization"}, "amount": "100", "period": period,
                   "timezone": zone, "action": "block"}),
        )
        .await;
        let body = chat(5);
        assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
        clock.set(at.parse::<Timestamp>().unwrap());
        assert_eq!(gw.post("/v1/chat/completions", &body).await.status(), 200);
        gw.reopen().await;
        let path = format!("/api/organizations/{}/budgets/{}", gw.org, b["id"].as_str().unwrap());
        let (_, b) = api(&gw, Method::GET, &path, None).await;
        let case = format!("{zone} {period} at {at}");
        assert_eq!(b["current"]["periodStart"], at, "{case}");
        assert_eq!(b["current"]["spent"], cost_of(&body).to_string(), "{case}");
    }
}
