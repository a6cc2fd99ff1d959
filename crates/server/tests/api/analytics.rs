//! The analytics API: exact totals against the raw events, rollups rebuilt
//! equal, who may see what, parameter errors, CSV and `/v1/usage`.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tally_core::*;
use tally_store::{ActivityStore, AnalyticsStore};

use crate::analytics_time::event;
use crate::fixture::Fx;
use crate::helpers::*;

const MODELS: [&str; 4] = [
    "openai/gpt-4o",
    "azure/gpt-4o",
    "anthropic/claude-sonnet-4-5",
    "groq/llama-3",
];
const OUTCOMES: [Outcome; 5] = [
    Outcome::Success,
    Outcome::UpstreamError,
    Outcome::GatewayError,
    Outcome::ClientError,
    Outcome::Canceled,
];

/// Random events over ~40 days for both keys of project A.
pub fn random_events(fx: &Fx, n: usize, seed: u64) -> Vec<ActivityEvent> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start: jiff::Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
    (0..n)
        .map(|_| {
            let at = start + jiff::SignedDuration::from_secs(rng.random_range(0..40 * 86_400));
            let model = MODELS[rng.random_range(0..MODELS.len())];
            let mut e = event(
                fx,
                &at.to_string(),
                model,
                rng.random_range(0..50_000_000),
                OUTCOMES[rng.random_range(0..5)],
            );
            if rng.random_bool(0.5) {
                e.api_key_id = fx.admin_key;
                e.created_by = fx.admin.id;
            }
            e.usage.input = Some(rng.random_range(0..5000));
            e.usage.cached_input = Some(rng.random_range(0..100));
            e.usage.output = Some(rng.random_range(0..900));
            e.app = [None, Some("Bot, \"v2\"".to_owned()), Some("CLI".to_owned())][rng.random_range(0..3)].clone();
            e
        })
        .collect()
}

fn in_range(e: &ActivityEvent, zone: &str, from: &str, to: &str) -> bool {
    let z = TimeZone::parse(zone).unwrap();
    let day = e.started_at.to_zoned(z.as_jiff().clone()).date().to_string();
    day.as_str() >= from && day.as_str() <= to
}

#[tokio::test]
async fn totals_equal_the_raw_events_exactly() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = random_events(&fx, 3000, 7);
    for chunk in events.chunks(257) {
        app.store.record(chunk.to_vec()).await.unwrap();
    }
    let ranges = [
        ("UTC", "2026-10-01", "2026-11-09"),
        ("Asia/Kolkata", "2026-10-05", "2026-10-20"),
        ("America/New_York", "2026-10-30", "2026-11-02"),
        ("Pacific/Chatham", "2026-10-10", "2026-10-10"),
    ];
    for (zone, from, to) in ranges {
        let picked: Vec<&ActivityEvent> = events.iter().filter(|e| in_range(e, zone, from, to)).collect();
        let cost: i64 = picked.iter().map(|e| e.cost.nanos()).sum();
        let errors = picked
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::UpstreamError | Outcome::GatewayError))
            .count();
        let input: u64 = picked.iter().map(|e| e.usage.input.unwrap()).sum();
        let q = format!("from={from}&to={to}&timezone={zone}");
        let (status, models) = app
            .get(
                &fx.owner,
                &format!("/api/analytics/models?projectId={}&{q}&view=canonical", fx.project_a),
            )
            .await;
        assert_eq!(status, 200, "{models}");
        let totals = &models["totals"];
        assert_eq!(totals["requests"], picked.len(), "{zone} {from}..{to}");
        assert_eq!(totals["cost"], Money::from_nanos(cost).to_string());
        assert_eq!(totals["errors"], errors);
        assert_eq!(totals["tokens"]["input"], input);
        // The canonical view merges azure/gpt-4o into gpt-4o.
        let gpt = models["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == "gpt-4o")
            .unwrap();
        assert_eq!(gpt["variants"], serde_json::json!(["azure/gpt-4o", "openai/gpt-4o"]));
        let by_model: i64 = picked
            .iter()
            .filter(|e| e.canonical_model.as_deref() == Some("gpt-4o"))
            .map(|e| e.cost.nanos())
            .sum();
        assert_eq!(gpt["usage"]["cost"], Money::from_nanos(by_model).to_string());

        // The time series adds up to the same totals.
        let (_, ts) = app
            .get(
                &fx.owner,
                &format!("/api/analytics/models/timeseries?projectId={}&{q}", fx.project_a),
            )
            .await;
        let series_cost: i64 = ts["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| {
                b["cost"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().parse::<Money>().unwrap().nanos())
            })
            .sum();
        assert_eq!(series_cost, cost);

        // Each key's page agrees with its share.
        let (_, key) = app
            .get(&fx.owner, &format!("/api/analytics/keys/{}?{q}", fx.dev_key))
            .await;
        let dev_cost: i64 = picked
            .iter()
            .filter(|e| e.api_key_id == fx.dev_key)
            .map(|e| e.cost.nanos())
            .sum();
        assert_eq!(key["summary"]["cost"], Money::from_nanos(dev_cost).to_string());

        // Members: spend attributed to each key's creator.
        let (_, members) = app
            .get(
                &fx.owner,
                &format!("/api/analytics/members?organizationId={}&{q}", fx.org_a),
            )
            .await;
        let sum: i64 = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["usage"]["cost"].as_str().unwrap().parse::<Money>().unwrap().nanos())
            .sum();
        assert_eq!(sum, cost);
    }
}

/// Every rollup table, every row, in order.
fn dump(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(tally_store::sqlite::rollups_path(app.store.path())).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'usage_rollups' OR name GLOB 'rollup_*_*') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 10, "{tables:?}");
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5"))
            .unwrap();
        let n = stmt.column_count();
        let all: Vec<Vec<String>> = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<String>>())
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut all = all;
        all.sort();
        rows.extend(all.into_iter().map(|r| (table.clone(), r)));
    }
    rows
}

#[tokio::test]
async fn rebuilding_the_rollups_gives_what_ingestion_built() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    for chunk in random_events(&fx, 2000, 11).chunks(100) {
        app.store.record(chunk.to_vec()).await.unwrap();
    }
    // The tables are read directly: let the rollups count every event.
    app.store.flush().await.unwrap();
    let ingested = dump(&app);
    assert!(ingested.len() > 100);
    let rows = app.store.rebuild_rollups().await.unwrap();
    assert_eq!(rows as usize, ingested.len());
    assert_eq!(dump(&app), ingested);
}

#[tokio::test]
async fn member_analytics_check_membership_then_role_then_plan() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let q = "from=2026-11-01&to=2026-11-02";
    let members_a = format!("/api/analytics/members?organizationId={}&{q}", fx.org_a);
    let members_b = format!("/api/analytics/members?organizationId={}&{q}", fx.org_b);
    let detail = format!(
        "/api/analytics/members/{}?organizationId={}&{q}",
        fx.developer.id, fx.org_a
    );
    for (who, path, status, code) in [
        (&fx.outsider, &members_a, 404, "not_found"),
        (&fx.outsider, &detail, 404, "not_found"),
        (&fx.developer, &members_a, 403, "forbidden"),
        (&fx.developer, &detail, 403, "forbidden"),
        // Org B is on the pro plan.
        (&fx.outsider, &members_b, 403, "plan_upgrade_required"),
    ] {
        let (s, body) = app.get(who, path).await;
        assert_eq!(s, status, "{path}: {body}");
        assert_error(&body, code, None);
    }
    for who in [&fx.owner, &fx.admin] {
        assert_eq!(app.get(who, &members_a).await.0, 200);
        assert_eq!(app.get(who, &detail).await.0, 200);
    }
    let (s, _) = app.call(None, reqwest::Method::GET, &members_a, None).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn key_and_project_analytics_follow_visibility() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let q = "from=2026-11-01&to=2026-11-02";
    let own = format!("/api/analytics/keys/{}?{q}", fx.dev_key);
    let others = format!("/api/analytics/keys/{}?{q}", fx.admin_key);
    let project = format!("/api/analytics/models?projectId={}&{q}", fx.project_a);
    let by_key = format!("/api/analytics/models?apiKeyId={}&{q}", fx.admin_key);
    assert_eq!(app.get(&fx.developer, &own).await.0, 200);
    assert_eq!(app.get(&fx.developer, &others).await.0, 404);
    assert_eq!(app.get(&fx.developer, &by_key).await.0, 404);
    assert_eq!(app.get(&fx.developer, &project).await.0, 200);
    assert_eq!(app.get(&fx.admin, &own).await.0, 200);
    assert_eq!(app.get(&fx.outsider, &project).await.0, 404);
    assert_eq!(app.get(&fx.outsider, &own).await.0, 404);
    let (_, key) = app.get(&fx.developer, &own).await;
    assert_eq!(key["key"]["maskedKey"].as_str().unwrap().len(), "tly_…".len() + 4);
    assert_eq!(key["key"]["createdBy"]["email"], "dev@a.example");
}

#[tokio::test]
async fn invalid_parameters_name_the_param() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let p = fx.project_a;
    let cases: Vec<(String, &str)> = vec![
        (format!("/api/analytics/models?projectId={p}&to=2026-01-01"), "from"),
        (format!("/api/analytics/models?projectId={p}&from=2026-01-01"), "to"),
        (
            format!("/api/analytics/models?projectId={p}&from=2026-13-01&to=2026-12-01"),
            "from",
        ),
        (
            format!("/api/analytics/models?projectId={p}&from=2026-02-01&to=2026-01-01"),
            "to",
        ),
        (
            format!("/api/analytics/models?projectId={p}&from=2025-01-01&to=2026-01-02"),
            "to",
        ),
        (
            format!("/api/analytics/models?projectId={p}&from=2026-01-01&to=2026-01-02&timezone=Moon/Base"),
            "timezone",
        ),
        (
            format!("/api/analytics/models?projectId={p}&from=2026-01-01&to=2026-01-02&view=both"),
            "view",
        ),
        (
            "/api/analytics/models?projectId=nope&from=2026-01-01&to=2026-01-02".to_owned(),
            "projectId",
        ),
        (
            "/api/analytics/models?from=2026-01-01&to=2026-01-02".to_owned(),
            "projectId",
        ),
        (
            format!("/api/analytics/models/timeseries?projectId={p}&from=2026-01-01&to=2026-03-01&interval=hour"),
            "interval",
        ),
        (
            format!("/api/analytics/models/timeseries?projectId={p}&from=2026-01-01&to=2026-01-02&interval=week"),
            "interval",
        ),
        (
            "/api/analytics/members?from=2026-01-01&to=2026-01-02".to_owned(),
            "organizationId",
        ),
        (
            format!("/api/analytics/export.csv?projectId={p}&from=2026-01-01&to=2026-01-02&groupBy=color"),
            "groupBy",
        ),
    ];
    for (path, param) in cases {
        let (status, body) = app.get(&fx.owner, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_error(&body, "invalid_request", Some(param));
    }
}

#[tokio::test]
async fn csv_export_is_rfc_4180() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = random_events(&fx, 500, 3);
    app.store.record(events.clone()).await.unwrap();
    let path = format!(
        "/api/analytics/export.csv?organizationId={}&from=2026-10-01&to=2026-11-15&groupBy=app,model&interval=none",
        fx.org_a
    );
    let resp = app
        .client
        .get(app.url(&path))
        .bearer_auth(&fx.owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("app,model,requests,errors,"));
    assert!(
        text.contains("\"Bot, \"\"v2\"\"\""),
        "a comma and quotes are quoted: {}",
        &text[..300.min(text.len())]
    );
    let header: Vec<&str> = lines[0].split(',').collect();
    let cost_at = header.iter().position(|h| *h == "cost_usd").unwrap();
    // Sum the cost column (the last-but-two field of each row, counted from the end).
    let from_end = header.len() - cost_at;
    let total: i64 = lines[1..]
        .iter()
        .map(|l| {
            let fields: Vec<&str> = l.rsplitn(from_end + 1, ',').collect();
            fields[from_end - 1].parse::<Money>().unwrap().nanos()
        })
        .sum();
    let expected: i64 = events.iter().map(|e| e.cost.nanos()).sum();
    assert_eq!(total, expected);
}

/// The daily export by model, line by line against the raw events: every
/// number, and the order (days ascending, then models by name).
#[tokio::test]
async fn daily_csv_export_matches_the_raw_events_line_by_line() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let mut events = random_events(&fx, 600, 17);
    for (i, e) in events.iter_mut().enumerate() {
        e.estimated = i % 7 == 0;
        e.unpriced = i % 11 == 0;
    }
    app.store.record(events.clone()).await.unwrap();
    let mut expected: std::collections::BTreeMap<(String, String), UsageTotals> = std::collections::BTreeMap::new();
    for e in &events {
        let day = e.started_at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
        let model = e.routed_model.clone().unwrap_or_default();
        expected.entry((day, model)).or_default().add(&UsageTotals::of(e));
    }
    let path = format!(
        "/api/analytics/export.csv?organizationId={}&from=2026-10-01&to=2026-11-15&groupBy=model&interval=day",
        fx.org_a
    );
    let (status, body) = app.get(&fx.owner, &path).await;
    assert_eq!(status, 200);
    let text = body.as_str().expect("CSV, not JSON");
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(
        lines.next().unwrap(),
        "date,model,requests,errors,client_errors,input_tokens,cached_input_tokens,cache_write_tokens,\
         output_tokens,reasoning_tokens,total_tokens,cost_usd,estimated_requests,unpriced_requests"
    );
    let got: Vec<&str> = lines.collect();
    let want: Vec<String> = expected
        .iter()
        .map(|((day, model), t)| {
            let k = t.tokens();
            format!(
                "{day},{model},{},{},{},{},{},{},{},{},{},{},{},{}",
                t.requests,
                t.errors(),
                t.client_errors,
                k.input,
                k.cached_input,
                k.cache_write,
                k.output,
                k.reasoning,
                k.total,
                t.cost,
                t.estimated,
                t.unpriced
            )
        })
        .collect();
    assert!(want.len() > 100, "{}", want.len());
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_key_reads_its_own_usage_at_v1_usage() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = random_events(&fx, 300, 5);
    app.store.record(events.clone()).await.unwrap();
    let url = app.url("/v1/usage?from=2026-09-01&to=2026-12-01");
    let resp = app.client.get(&url).bearer_auth(&fx.dev_secret).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let own: Vec<&ActivityEvent> = events.iter().filter(|e| e.api_key_id == fx.dev_key).collect();
    assert_eq!(body["summary"]["requests"], own.len());
    let cost: i64 = own.iter().map(|e| e.cost.nanos()).sum();
    assert_eq!(body["summary"]["cost"], Money::from_nanos(cost).to_string());
    let per_model: HashMap<String, usize> = own.iter().fold(HashMap::new(), |mut m, e| {
        *m.entry(e.routed_model.clone().unwrap()).or_default() += 1;
        m
    });
    for row in body["models"].as_array().unwrap() {
        assert_eq!(row["usage"]["requests"], per_model[row["model"].as_str().unwrap()]);
    }
    let resp = app.client.get(&url).bearer_auth("tly_nope").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    // The API's one error shape, as the OpenAPI document says.
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert_eq!(body["error"]["message"], "missing, unknown or revoked tally API key");
}

#[tokio::test]
async fn the_openapi_document_lists_every_analytics_endpoint() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.call(None, reqwest::Method::GET, "/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/analytics/models",
        "/api/analytics/models/timeseries",
        "/api/analytics/keys/{apiKeyId}",
        "/api/analytics/members",
        "/api/analytics/members/{userId}",
        "/api/analytics/export.csv",
        "/v1/usage",
        "/api/activity",
        "/api/activity/{eventId}",
        "/api/activity/export.csv",
        "/api/analytics/end-users",
        "/api/analytics/tags",
        "/api/analytics/performance",
    ] {
        assert!(
            doc["paths"][path]["get"]["responses"]["200"].is_object(),
            "{path} documented"
        );
    }
    assert!(
        doc["info"]["description"].as_str().unwrap().contains("errorRate"),
        "definitions included"
    );
}
