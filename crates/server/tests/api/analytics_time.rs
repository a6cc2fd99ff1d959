//! Local days and hours: events at chosen instants, read back through the
//! analytics API in many time zones (DST days of 23 and 25 hours, half- and
//! quarter-hour offsets). Events are written through the store's activity
//! trait; the rollups are maintained from them.

use serde_json::Value;
use tally_core::*;
use tally_store::ActivityStore;

use crate::fixture::Fx;
use crate::helpers::*;

pub fn event(fx: &Fx, at: &str, model: &str, cost_nanos: i64, outcome: Outcome) -> ActivityEvent {
    ActivityEvent {
        id: EventId::new(),
        started_at: at.parse().unwrap(),
        org_id: fx.org_a,
        project_id: fx.project_a,
        api_key_id: fx.dev_key,
        created_by: fx.developer.id,
        requested_model: Some(model.into()),
        provider: Some(model.split('/').next().unwrap().into()),
        routed_model: Some(model.into()),
        canonical_model: Some(model.rsplit('/').next().unwrap().into()),
        app: None,
        end_user: None,
        tags: None,
        endpoint: Endpoint::ChatCompletions,
        stream: false,
        outcome,
        http_status: 200,
        error: None,
        usage: Usage {
            input: Some(100),
            output: Some(10),
            ..Usage::default()
        },
        cost: Money::from_nanos(cost_nanos),
        estimated: false,
        unpriced: false,
        usage_invalid: false,
        latency_us: 1000,
        ttft_us: None,
    }
}

/// (zone, event instant, the local day it belongs to)
const DAY_CASES: &[(&str, &str, &str)] = &[
    ("UTC", "2026-03-08T23:59:59Z", "2026-03-08"),
    ("UTC", "2026-03-09T00:00:00Z", "2026-03-09"),
    // New York springs forward on 2026-03-08: a 23-hour day, EST then EDT.
    ("America/New_York", "2026-03-08T04:59:59Z", "2026-03-07"),
    ("America/New_York", "2026-03-08T05:00:00Z", "2026-03-08"),
    ("America/New_York", "2026-03-09T03:59:59Z", "2026-03-08"),
    ("America/New_York", "2026-03-09T04:00:00Z", "2026-03-09"),
    // ...and falls back on 2026-11-01: a 25-hour day.
    ("America/New_York", "2026-11-01T04:00:00Z", "2026-11-01"),
    ("America/New_York", "2026-11-02T04:59:59Z", "2026-11-01"),
    ("America/New_York", "2026-11-02T05:00:00Z", "2026-11-02"),
    // India, +05:30 all year.
    ("Asia/Kolkata", "2026-06-01T18:29:59Z", "2026-06-01"),
    ("Asia/Kolkata", "2026-06-01T18:30:00Z", "2026-06-02"),
    // Nepal, +05:45.
    ("Asia/Kathmandu", "2026-06-01T18:14:59Z", "2026-06-01"),
    ("Asia/Kathmandu", "2026-06-01T18:15:00Z", "2026-06-02"),
    // Lord Howe Island moves by 30 minutes (+11 → +10:30 on 2026-04-05).
    ("Australia/Lord_Howe", "2026-04-04T12:59:59Z", "2026-04-04"),
    ("Australia/Lord_Howe", "2026-04-04T13:00:00Z", "2026-04-05"),
    ("Australia/Lord_Howe", "2026-04-05T13:29:59Z", "2026-04-05"),
    ("Australia/Lord_Howe", "2026-04-05T13:30:00Z", "2026-04-06"),
    // Chatham Islands, +12:45 in southern winter.
    ("Pacific/Chatham", "2026-06-01T11:14:59Z", "2026-06-01"),
    ("Pacific/Chatham", "2026-06-01T11:15:00Z", "2026-06-02"),
];

fn bucket_with(ts: &Value, date: &str) -> u64 {
    ts["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["start"] == date)
        .map_or(0, |b| {
            b["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .sum()
        })
}

#[tokio::test]
async fn every_event_lands_in_its_local_day() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    for (zone, at, day) in DAY_CASES {
        app.store
            .record(vec![event(&fx, at, "openai/gpt-4o", 1, Outcome::Success)])
            .await
            .unwrap();
        let path = format!(
            "/api/analytics/models/timeseries?projectId={}&from=2026-01-01&to=2026-12-31&timezone={zone}",
            fx.project_a
        );
        let (status, ts) = app.get(&fx.owner, &path).await;
        assert_eq!(status, 200, "{ts}");
        assert_eq!(ts["buckets"].as_array().unwrap().len(), 365, "zero-padded");
        // Every event so far is counted once; the newest in its local day.
        let before = bucket_with(&ts, day);
        assert!(before >= 1, "{zone} {at} should be on {day}");
        let total: u64 = ts["totals"]["requests"].as_u64().unwrap();
        let n = DAY_CASES.iter().position(|c| c == &(*zone, *at, *day)).unwrap() as u64 + 1;
        assert_eq!(total, n);
        // A one-day range in that zone holds exactly the events of that local day.
        let one_day = format!(
            "/api/analytics/models?projectId={}&from={day}&to={day}&timezone={zone}",
            fx.project_a
        );
        let (_, models) = app.get(&fx.owner, &one_day).await;
        let expected = DAY_CASES[..n as usize]
            .iter()
            .filter(|(_, a, _)| {
                let t: jiff::Timestamp = a.parse().unwrap();
                let z = TimeZone::parse(zone).unwrap();
                t.to_zoned(z.as_jiff().clone()).date().to_string() == *day
            })
            .count() as u64;
        assert_eq!(models["totals"]["requests"], expected, "{zone} {day}");
    }
}

#[tokio::test]
async fn hourly_buckets_follow_dst() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    // 01:30 EDT and 01:30 EST on the fall-back day: two different hours.
    for at in ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"] {
        app.store
            .record(vec![event(&fx, at, "openai/gpt-4o", 1, Outcome::Success)])
            .await
            .unwrap();
    }
    let cases = [
        ("America/New_York", "2026-11-01", 25, "2026-11-01T00:00:00-04:00"),
        ("America/New_York", "2026-03-08", 23, "2026-03-08T00:00:00-05:00"),
        ("Asia/Kolkata", "2026-06-01", 24, "2026-06-01T00:00:00+05:30"),
        // The 30-minute fall-back makes one 90-minute "01:00" hour.
        ("Australia/Lord_Howe", "2026-04-05", 24, "2026-04-05T00:00:00+11:00"),
    ];
    for (zone, day, hours, first) in cases {
        let path = format!(
            "/api/analytics/models/timeseries?projectId={}&from={day}&to={day}&timezone={zone}&interval=hour",
            fx.project_a
        );
        let (status, ts) = app.get(&fx.owner, &path).await;
        assert_eq!(status, 200, "{ts}");
        let buckets = ts["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), hours, "{zone} {day}");
        assert_eq!(buckets[0]["start"], first);
    }
    let path = format!(
        "/api/analytics/models/timeseries?projectId={}&from=2026-11-01&to=2026-11-01&timezone=America/New_York&interval=hour",
        fx.project_a
    );
    let (_, ts) = app.get(&fx.owner, &path).await;
    let ones: Vec<(String, u64)> = ts["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["start"].as_str().unwrap().contains("T01:00:00"))
        .map(|b| {
            (
                b["start"].as_str().unwrap().to_owned(),
                b["requests"][0].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ones,
        [
            ("2026-11-01T01:00:00-04:00".to_owned(), 1),
            ("2026-11-01T01:00:00-05:00".to_owned(), 1)
        ],
        "the repeated hour is two buckets"
    );
}
