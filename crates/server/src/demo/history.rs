//! The demo's 90 days of history, made by sending simulated requests
//! through the gateway itself: the same routing, forwarding to the (mock)
//! provider, usage reading, pricing, event building, writer and store as
//! live traffic. Only the clock is simulated: each request runs with its
//! own instant in a task-local, read by [`HistoryClock`].

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tally_store::Store;
use tower::ServiceExt;

use super::DemoKey;
use crate::clock::Clock;
use crate::gateway::routing::Providers;
use crate::{AppState, KeyHasher};

tokio::task_local! {
    static NOW: Timestamp;
}

/// Reads the instant of the request being simulated.
struct HistoryClock;

impl Clock for HistoryClock {
    fn now(&self) -> Timestamp {
        NOW.try_with(|t| *t).unwrap_or_else(|_| Timestamp::now())
    }
}

/// (requested model, endpoint path, weight)
const MODELS: &[(&str, &str, u32)] = &[
    ("openai/gpt-4o", "/v1/chat/completions", 18),
    ("gpt-4o-mini", "/v1/chat/completions", 30),
    ("openai/o3-mini", "/v1/chat/completions", 6),
    ("openai/gpt-4.1", "/v1/chat/completions", 5),
    ("azure/gpt-4o", "/v1/chat/completions", 7),
    ("openai/text-embedding-3-small", "/v1/embeddings", 16),
    ("anthropic/claude-sonnet-4-5", "/v1/messages", 14),
    ("claude-haiku-4-5", "/v1/messages", 9),
    ("mistral/mistral-large-latest", "/v1/chat/completions", 4),
    ("groq/openai/gpt-oss-120b", "/v1/chat/completions", 5),
    ("fast", "/v1/chat/completions", 6),
    ("local/llama-3.1-8b-instruct", "/v1/chat/completions", 3),
];

const APPS: &[Option<&str>] = &[
    Some("Support Console"),
    Some("Search Indexer"),
    Some("Slack Bot"),
    Some("Eval Harness"),
    None,
    None,
];

const TEAMS: &[Option<&str>] = &[Some("search"), Some("support"), Some("support"), Some("growth"), None];
const FEATURES: &[&str] = &["rerank", "summarise", "triage"];

const PROMPTS: &[&str] = &[
    "Summarise this support ticket for the on-call engineer.",
    "Write a friendly reply to a customer asking about refunds.",
    "Classify the sentiment of the following review.",
    "Extract the product names mentioned in this paragraph.",
    "Draft release notes from these commit messages.",
    "Explain the difference between these two error logs and suggest a fix.",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if n < *w {
            return item;
        }
        n -= w;
    }
    &items[0].0
}

/// One simulated request: when, with which key, and the HTTP request.
fn request(
    rng: &mut StdRng,
    keys: &[(&DemoKey, u32)],
    day_start: Timestamp,
    days_ago: i64,
) -> (Timestamp, Request<Body>) {
    // Working hours weigh more; a request lands anywhere in the day.
    let hour = if rng.random_bool(0.75) {
        rng.random_range(7..19)
    } else {
        rng.random_range(0..24)
    };
    let at = day_start + SignedDuration::from_secs(hour * 3600 + rng.random_range(0..3600));
    let eligible: Vec<(&DemoKey, u32)> = keys
        .iter()
        .filter(|(k, _)| !((k.revoked && days_ago < 30) || (k.former && days_ago < 21)))
        .copied()
        .collect();
    let key = *pick(rng, &eligible);
    let weighted: Vec<((&str, &str), u32)> = MODELS.iter().map(|(m, p, w)| ((*m, *p), *w)).collect();
    let (model, path) = *pick(rng, &weighted);
    let mut text = PROMPTS[rng.random_range(0..PROMPTS.len())].repeat(rng.random_range(40..400));
    let roll: f64 = rng.random();
    // Now and then: an unknown model, rate limits, provider failures; often a cache hit.
    let model = if roll < 0.004 { "gpt-5-imaginary" } else { model };
    let magic = match roll {
        r if r < 0.004 => "",
        r if r < 0.024 => " mock:error=429",
        r if r < 0.032 => " mock:error=500",
        r if r < 0.2 => " mock:cache",
        _ => "",
    };
    text.push_str(magic);
    let stream = path != "/v1/embeddings" && rng.random_bool(0.4);
    // Most requests name the app's own user; most carry a team tag, some a feature.
    let user = rng
        .random_bool(0.6)
        .then(|| format!("customer-{:03}", rng.random_range(0..40)));
    let team = TEAMS[rng.random_range(0..TEAMS.len())];
    let feature = rng
        .random_bool(0.4)
        .then(|| FEATURES[rng.random_range(0..FEATURES.len())]);
    let mut body: Value = match path {
        "/v1/embeddings" => json!({"model": model, "input": [text]}),
        "/v1/messages" => json!({"model": model, "max_tokens": rng.random_range(8..25), "stream": stream,
                                 "messages": [{"role": "user", "content": text}]}),
        _ => json!({"model": model, "stream": stream, "max_tokens": rng.random_range(8..25),
                    "messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": text}]}),
    };
    if let (Some(user), Some(b)) = (&user, body.as_object_mut()) {
        if path == "/v1/messages" {
            b.insert("metadata".into(), json!({"user_id": user}));
        } else {
            b.insert("user".into(), json!(user));
        }
    }
    let mut builder = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", key.secret.expose()))
        .header("anthropic-version", "2023-06-01");
    if let Some(app) = APPS[rng.random_range(0..APPS.len())] {
        builder = builder.header("x-title", app);
    }
    let tags = match (team, feature) {
        (Some(t), Some(f)) => Some(format!("team={t},feature={f}")),
        (Some(t), None) => Some(format!("team={t}")),
        (None, Some(f)) => Some(format!("feature={f}")),
        (None, None) => None,
    };
    if let Some(tags) = tags {
        builder = builder.header("x-tally-tags", tags);
    }
    let request = builder.body(Body::from(body.to_string())).unwrap_or_default();
    (at, request)
}

/// Sends about `per_day` requests a day for `days` days before `today`
/// through a gateway on the simulated clock; returns how many were sent.
pub async fn backfill(
    store: Arc<dyn Store>,
    hasher: KeyHasher,
    providers: Providers,
    keys: &[DemoKey],
    today: Timestamp,
    days: i64,
    per_day: u32,
) -> u64 {
    let state = AppState::with_gateway(store, hasher, providers, Arc::new(HistoryClock));
    let writer = state.take_writer();
    let router = crate::app(state);
    let mut rng = StdRng::seed_from_u64(0x7a11);
    // A few heavy keys, many light ones.
    let weighted: Vec<(&DemoKey, u32)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k, 40 / (i as u32 % 7 + 1)))
        .collect();
    let mut requests = Vec::new();
    let start_of_today = today
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(today);
    for days_ago in (1..=days).rev() {
        let day_start = start_of_today - SignedDuration::from_hours(24 * days_ago);
        let weekday = day_start
            .to_zoned(jiff::tz::TimeZone::UTC)
            .weekday()
            .to_monday_zero_offset();
        let weekend = if weekday >= 5 { 0.35 } else { 1.0 };
        let growth = 0.6 + 0.8 * (days - days_ago) as f64 / days as f64;
        let n = (f64::from(per_day) * weekend * growth * rng.random_range(0.8..1.2)) as u32;
        for _ in 0..n {
            requests.push(request(&mut rng, &weighted, day_start, days_ago));
        }
    }
    let sent = requests.len() as u64;
    futures_util::stream::iter(requests)
        .map(|(at, req)| {
            let router = router.clone();
            NOW.scope(at, async move {
                let Ok(resp) = router.oneshot(req).await;
                // Read the body so streams end (and record) inside the scope.
                let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
            })
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    drop(router);
    if let Some(writer) = writer {
        writer.drained().await;
    }
    sent
}
