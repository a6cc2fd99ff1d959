//! Cost by end user and by tag value, and the performance view, over HTTP
//! against the raw events they count: sums exact, percentiles within the
//! histogram's stated error of the exact ones, access as the analytics.

use std::collections::BTreeMap;

use serde_json::Value;
use tally_core::latency::{self, Histogram, RELATIVE_ERROR_PERCENT};
use tally_core::*;
use tally_store::ActivityStore;

use crate::analytics::random_events;
use crate::fixture::Fx;
use crate::helpers::*;

const RANGE: &str = "from=2026-10-01&to=2026-11-09&timezone=Asia/Kolkata";

async fn seeded(app: &TestApp, fx: &Fx) -> Vec<ActivityEvent> {
    let mut events = random_events(fx, 1500, 11);
    let sets = [
        None,
        Some("team=search"),
        Some("feature=rerank,team=search"),
        Some("team=ads"),
        Some("env=prod"),
    ];
    for (i, e) in events.iter_mut().enumerate() {
        e.end_user = (i % 3 != 0).then(|| format!("user-{}", i % 17));
        e.tags = sets[i % sets.len()].and_then(|t| Tags::parse(t).unwrap());
        // Latencies over four orders of magnitude; streams have a first token.
        e.latency_us = 200 + (i as u64 * 7919 * 7919) % 20_000_000;
        e.stream = i % 2 == 0;
        // A whole answer's first byte is recorded too, and left out of TTFT.
        e.ttft_us = Some(100 + (i as u64 * 104_729) % 2_000_000);
        e.http_status = match e.outcome {
            Outcome::UpstreamError => [429, 500][i % 2],
            Outcome::GatewayError => 502,
            Outcome::ClientError => 400,
            Outcome::Blocked => 429,
            Outcome::Canceled => 499,
            Outcome::Success => 200,
        };
    }
    for chunk in events.chunks(400) {
        app.store.record(chunk.to_vec()).await.unwrap();
    }
    events
}

/// Project A's events on the local days of [`RANGE`].
fn in_range<'a>(events: &'a [ActivityEvent], fx: &Fx) -> Vec<&'a ActivityEvent> {
    let zone = TimeZone::parse("Asia/Kolkata").unwrap();
    events
        .iter()
        .filter(|e| e.project_id == fx.project_a)
        .filter(|e| {
            e.started_at
                .to_zoned(zone.as_jiff().clone())
                .date()
                .to_string()
                .as_str()
                <= "2026-11-09"
        })
        .collect()
}

fn cost(v: &Value) -> String {
    v["usage"]["cost"].as_str().unwrap().to_owned()
}

fn money(events: &[&ActivityEvent]) -> String {
    let mut total = Money::ZERO;
    for e in events {
        total = total.checked_add(e.cost).unwrap();
    }
    serde_json::to_value(total).unwrap().as_str().unwrap().to_owned()
}

#[tokio::test]
async fn end_users_and_tag_values_sum_their_raw_events_exactly() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = seeded(&app, &fx).await;
    let ours = in_range(&events, &fx);
    let q = format!("projectId={}&{RANGE}", fx.project_a);

    let (status, body) = app
        .get(&fx.developer, &format!("/api/analytics/end-users?{q}&limit=1000"))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut want: BTreeMap<Option<String>, Vec<&ActivityEvent>> = BTreeMap::new();
    for e in &ours {
        want.entry(e.end_user.clone()).or_default().push(e);
    }
    let rows = body["endUsers"].as_array().unwrap();
    assert_eq!(rows.len(), want.len());
    assert_eq!(body["count"], want.len());
    for row in rows {
        let user = row["value"].as_str().map(str::to_owned);
        let events = &want[&user];
        assert_eq!(row["usage"]["requests"], events.len(), "{user:?}");
        assert_eq!(cost(row), money(events), "{user:?}");
    }
    assert_eq!(body["totals"]["cost"].as_str().unwrap(), money(&ours));
    // The first rows, the rest summed.
    let (_, top) = app
        .get(&fx.developer, &format!("/api/analytics/end-users?{q}&limit=3"))
        .await;
    assert_eq!(top["endUsers"].as_array().unwrap().len(), 3);
    assert_eq!(top["endUsers"][0], rows[0]);
    let rest: u64 = rows[3..].iter().map(|r| r["usage"]["requests"].as_u64().unwrap()).sum();
    assert_eq!(top["others"]["requests"], rest);

    for (key, asked) in [
        ("team", "&key=team"),
        ("team", ""),
        ("feature", "&key=feature"),
        ("nope", "&key=nope"),
    ] {
        let (status, body) = app.get(&fx.developer, &format!("/api/analytics/tags?{q}{asked}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["key"], key);
        let mut want: BTreeMap<Option<&str>, Vec<&ActivityEvent>> = BTreeMap::new();
        for e in &ours {
            want.entry(e.tags.as_ref().and_then(|t| t.get(key)))
                .or_default()
                .push(e);
        }
        let rows = body["values"].as_array().unwrap();
        assert_eq!(rows.len(), want.len(), "{key}: {body}");
        for row in rows {
            let events = &want[&row["value"].as_str()];
            assert_eq!(cost(row), money(events), "{key} {}", row["value"]);
        }
        let keys: Vec<&str> = body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["key"].as_str().unwrap())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["env", "feature", "team"]);
        let team: Vec<&ActivityEvent> = ours
            .iter()
            .copied()
            .filter(|e| e.tags.as_ref().is_some_and(|t| t.get("team").is_some()))
            .collect();
        let team_row = body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == "team")
            .unwrap();
        assert_eq!(cost(team_row), money(&team));
    }

    // Doors: another organization's project is 404; bad input is 400.
    let (status, _) = app.get(&fx.outsider, &format!("/api/analytics/tags?{q}")).await;
    assert_eq!(status, 404);
    for (path, param) in [
        (format!("/api/analytics/tags?{q}&key=bad%20key"), "key"),
        (format!("/api/analytics/end-users?{q}&limit=0"), "limit"),
        (
            format!(
                "/api/analytics/end-users?projectId={}&from=2026-10-02&to=2026-10-01",
                fx.project_a
            ),
            "to",
        ),
    ] {
        let (status, body) = app.get(&fx.developer, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_error(&body, "invalid_request", Some(param));
    }
}

/// The exact nearest-rank percentile.
fn exact(mut values: Vec<u64>, per_mille: u64) -> u64 {
    values.sort_unstable();
    let rank = (values.len() as u64 * per_mille).div_ceil(1000).max(1);
    values[rank as usize - 1]
}

fn close(got: f64, exact_us: u64, what: &str) {
    let exact_ms = exact_us as f64 / 1000.0;
    // The histogram's error, plus the response's rounding to 0.1 ms.
    let err = (got - exact_ms).abs();
    assert!(
        err <= exact_ms * RELATIVE_ERROR_PERCENT / 100.0 + 0.05,
        "{what}: {got} ms against {exact_ms} ms"
    );
}

#[tokio::test]
async fn performance_percentiles_and_statuses_follow_the_raw_events() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = seeded(&app, &fx).await;
    let ours = in_range(&events, &fx);
    let q = format!("projectId={}&{RANGE}", fx.project_a);
    let (status, body) = app.get(&fx.developer, &format!("/api/analytics/performance?{q}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["relativeErrorPercent"], RELATIVE_ERROR_PERCENT);

    let check = |perf: &Value, of: &[&&ActivityEvent], what: &str| {
        assert_eq!(perf["requests"], of.len(), "{what}");
        let lat: Vec<u64> = of.iter().map(|e| e.latency_us).collect();
        // Exactly what the histogram of the raw events gives, and close to the truth.
        let mut h = Histogram::default();
        for us in &lat {
            h.add(latency::bin_of(*us), 1);
        }
        for (name, q) in [("p50", 500), ("p95", 950), ("p99", 990)] {
            let got = perf["latencyMs"][name].as_f64().unwrap();
            let from_bins = (h.percentile(q as u32).unwrap() as f64 / 100.0).round() / 10.0;
            assert_eq!(got, from_bins, "{what} {name}");
            close(got, exact(lat.clone(), q), &format!("{what} latency {name}"));
        }
        let ttft: Vec<u64> = of.iter().filter(|e| e.stream).filter_map(|e| e.ttft_us).collect();
        if ttft.is_empty() {
            assert!(perf["ttftMs"].is_null(), "{what}");
        } else {
            assert_eq!(perf["ttftMs"]["requests"], ttft.len(), "{what}");
            for (name, q) in [("p50", 500), ("p95", 950)] {
                close(
                    perf["ttftMs"][name].as_f64().unwrap(),
                    exact(ttft.clone(), q),
                    &format!("{what} ttft {name}"),
                );
            }
        }
    };
    let all: Vec<&&ActivityEvent> = ours.iter().collect();
    check(&body["overall"], &all, "overall");
    let models = body["models"].as_array().unwrap();
    assert!(models.len() >= 3, "{body}");
    for m in models {
        let of: Vec<&&ActivityEvent> = ours
            .iter()
            .filter(|e| {
                e.canonical_model.as_deref() == m["model"].as_str() && e.provider.as_deref() == m["provider"].as_str()
            })
            .collect();
        check(m, &of, m["model"].as_str().unwrap());
    }
    for p in body["providers"].as_array().unwrap() {
        let of: Vec<&&ActivityEvent> = ours
            .iter()
            .filter(|e| e.provider.as_deref() == p["provider"].as_str())
            .collect();
        check(p, &of, p["provider"].as_str().unwrap());
    }

    // Requests by status and outcome per local day.
    let statuses: Vec<i64> = body["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 400, 429, 499, 500, 502]);
    let zone = TimeZone::parse("Asia/Kolkata").unwrap();
    let buckets = body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 40);
    for b in buckets {
        let day = b["start"].as_str().unwrap();
        let that_day: Vec<&&ActivityEvent> = ours
            .iter()
            .filter(|e| e.started_at.to_zoned(zone.as_jiff().clone()).date().to_string() == day)
            .collect();
        for (i, code) in statuses.iter().enumerate() {
            let n = that_day.iter().filter(|e| i64::from(e.http_status) == *code).count();
            assert_eq!(b["statuses"][i], n, "{day} {code}");
        }
        let n = |o: Outcome| that_day.iter().filter(|e| e.outcome == o).count();
        assert_eq!(b["outcomes"]["success"], n(Outcome::Success), "{day}");
        assert_eq!(b["outcomes"]["upstreamError"], n(Outcome::UpstreamError), "{day}");
        assert_eq!(b["outcomes"]["canceled"], n(Outcome::Canceled), "{day}");
    }

    // One key: a developer reads their own, not the admin's.
    let (status, mine) = app
        .get(
            &fx.developer,
            &format!("/api/analytics/performance?apiKeyId={}&{RANGE}", fx.dev_key),
        )
        .await;
    assert_eq!(status, 200, "{mine}");
    let of: Vec<&&ActivityEvent> = ours.iter().filter(|e| e.api_key_id == fx.dev_key).collect();
    check(&mine["overall"], &of, "the developer's key");
    let (status, _) = app
        .get(
            &fx.developer,
            &format!("/api/analytics/performance?apiKeyId={}&{RANGE}", fx.admin_key),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get(&fx.developer, &format!("/api/analytics/performance?{q}&interval=week"))
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_request", Some("interval"));
}
