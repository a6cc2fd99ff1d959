//! Provider usage is untrusted input: absurd counts are refused, flagged on
//! the event and in the analytics, and never poison the sums.

use serde_json::{Value, json};
use tally_core::{MAX_TOKENS, Outcome, UsageTotals, UsageView};
use tally_store::{AnalyticsStore, Dim, Scope, UsageQuery};

use crate::harness::*;

fn chat(text: &str, stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": text}]})
}

fn message(text: &str, stream: bool) -> Value {
    json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn absurd_usage_is_flagged_invalid_and_normal_requests_are_counted() {
    let mut gw = Gw::start().await;
    let absurd = [
        "18446744073709551615",
        "9223372036854775807",
        "1000000001",
        "3.0",
        "-1",
        "\"12\"",
    ];
    for (i, value) in absurd.iter().enumerate() {
        let text = format!("hello mock:usage={value}");
        let stream = i % 2 == 1;
        let resp = gw.post("/v1/chat/completions", &chat(&text, stream)).await;
        assert_eq!(resp.status(), 200, "{value}");
        resp.bytes().await.unwrap();
        let resp = gw.post_messages(&message(&text, stream)).await;
        assert_eq!(resp.status(), 200, "{value}");
        resp.bytes().await.unwrap();
    }
    for _ in 0..5 {
        let resp = gw.post("/v1/chat/completions", &chat("hello", false)).await;
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
    }
    let events = gw.events().await;
    assert_eq!(events.len(), 2 * absurd.len() + 5);
    let (invalid, normal) = events.split_at(2 * absurd.len());
    for e in invalid {
        assert!(e.usage_invalid, "{e:?}");
        assert_eq!(e.outcome, Outcome::Success);
        assert!(e.estimated, "a served request with refused usage is estimated: {e:?}");
        for n in [e.usage.input, e.usage.output].into_iter().flatten() {
            assert!(n < MAX_TOKENS, "never a wrapped count: {e:?}");
        }
    }
    assert!(normal.iter().all(|e| !e.usage_invalid && !e.estimated));

    let rows = gw
        .store
        .usage(UsageQuery {
            scope: Scope::Org(gw.org),
            from_bucket: 0,
            to_bucket: i64::MAX / 2,
            group_by: vec![Dim::Provider],
            cuts: Vec::new(),
        })
        .await
        .unwrap();
    let mut t = UsageTotals::default();
    for (_, r) in &rows {
        t.add(r);
    }
    let view = UsageView::from(&t);
    assert_eq!(view.requests, events.len() as u64);
    assert_eq!(view.invalid_usage_requests, invalid.len() as u64);
    let sum: u64 = events.iter().map(|e| e.usage.total()).sum();
    assert_eq!(view.tokens.total, sum);
}
