//! The request log over HTTP: pages, filters and orders against the raw
//! events, who sees which requests, one request in full, the export, and
//! every bad parameter refused in the API's error shape.

use std::collections::HashSet;

use serde_json::Value;
use tally_core::*;
use tally_store::ActivityStore;

use crate::analytics::random_events;
use crate::fixture::{Fx, Who};
use crate::helpers::*;

const RANGE: &str = "from=2026-10-01&to=2026-11-09";

/// Follows `nextCursor` from the first page to the last; the ids in order.
async fn all_ids(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/api/activity?{query}&cursor={c}"),
            None => format!("/api/activity?{query}"),
        };
        let (status, page) = app.get(user, &path).await;
        assert_eq!(status, 200, "{path}: {page}");
        out.extend(ids(&page["data"]));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("{query}: the cursor never ends");
}

fn newest_first(mut events: Vec<&ActivityEvent>, key: impl Fn(&ActivityEvent) -> i64) -> Vec<String> {
    events.sort_by(|a, b| (key(b), b.id.as_uuid()).cmp(&(key(a), a.id.as_uuid())));
    events.iter().map(|e| e.id.to_string()).collect()
}

async fn seeded(app: &TestApp, fx: &Fx) -> Vec<ActivityEvent> {
    let mut events = random_events(fx, 1200, 3);
    for (i, e) in events.iter_mut().enumerate() {
        e.stream = i % 3 == 0;
        e.end_user = (i % 4 == 0).then(|| format!("user-{}", i % 3));
        e.tags = [
            None,
            Some("team=search"),
            Some("feature=rerank,team=ads"),
            None,
            Some("team=ads"),
        ][i % 5]
            .and_then(|t| Tags::parse(t).unwrap());
        e.latency_us = (i as u64 * 7919) % 3_000_000;
        e.http_status = match e.outcome {
            Outcome::UpstreamError => 429,
            Outcome::GatewayError => 502,
            Outcome::ClientError => 400,
            _ => 200,
        };
    }
    for chunk in events.chunks(300) {
        app.store.record(chunk.to_vec()).await.unwrap();
    }
    events
}

type Pick = fn(&ActivityEvent) -> bool;

#[tokio::test]
async fn every_filter_and_order_pages_through_what_the_raw_events_hold() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = seeded(&app, &fx).await;
    let project = format!("projectId={}&{RANGE}", fx.project_a);
    let cases: Vec<(String, Pick)> = vec![
        (String::new(), |_| true),
        ("&model=gpt-4o".into(), |e| {
            e.canonical_model.as_deref() == Some("gpt-4o")
        }),
        ("&routedModel=azure/gpt-4o".into(), |e| {
            e.routed_model.as_deref() == Some("azure/gpt-4o")
        }),
        ("&provider=anthropic".into(), |e| {
            e.provider.as_deref() == Some("anthropic")
        }),
        ("&app=CLI".into(), |e| e.app.as_deref() == Some("CLI")),
        ("&tag=team:ads".into(), |e| {
            e.tags.as_ref().and_then(|t| t.get("team")) == Some("ads")
        }),
        ("&tag=feature:rerank&stream=true".into(), |e| {
            e.stream && e.tags.as_ref().and_then(|t| t.get("feature")) == Some("rerank")
        }),
        ("&app=Bot%2C%20%22v2%22".into(), |e| {
            e.app.as_deref() == Some("Bot, \"v2\"")
        }),
        ("&endUser=user-1".into(), |e| e.end_user.as_deref() == Some("user-1")),
        ("&outcome=canceled".into(), |e| e.outcome == Outcome::Canceled),
        ("&outcome=upstream_error&status=429".into(), |e| {
            e.outcome == Outcome::UpstreamError
        }),
        ("&status=502".into(), |e| e.http_status == 502),
        ("&outcome=upstream_error,gateway_error".into(), |e| {
            matches!(e.outcome, Outcome::UpstreamError | Outcome::GatewayError)
        }),
        ("&stream=true&endpoint=chat_completions".into(), |e| e.stream),
        (
            "&stream=false&estimated=false&unpriced=false&invalidUsage=false".into(),
            |e| !e.stream,
        ),
        ("&minCost=0.04".into(), |e| e.cost.nanos() >= 40_000_000),
        ("&minLatencyMs=2500".into(), |e| e.latency_us >= 2_500_000),
        // The member filter: picked below by the key's creator.
        (format!("&userId={}", fx.admin.id), |_| true),
    ];
    let admin_id = fx.admin.id;
    for (extra, pick) in &cases {
        let member_case = extra.contains("userId");
        let picked: Vec<&ActivityEvent> = events
            .iter()
            .filter(|e| pick(e) && (!member_case || e.created_by == admin_id))
            .filter(|e| e.started_at < "2026-11-10T00:00:00Z".parse().unwrap())
            .collect();
        assert!(picked.len() > 5, "{extra} selects requests");
        for (sort, key) in [
            (
                "",
                (|e: &ActivityEvent| e.started_at.as_millisecond()) as fn(&ActivityEvent) -> i64,
            ),
            ("&sort=cost", |e: &ActivityEvent| e.cost.nanos()),
            ("&sort=latency", |e: &ActivityEvent| e.latency_us as i64),
        ] {
            let query = format!("{project}{extra}{sort}&limit=71");
            let got = all_ids(&app, &fx.owner, &query).await;
            assert_eq!(got, newest_first(picked.clone(), key), "{query}");
        }
    }
    // The page a dashboard asks first: default size 50, newest first.
    let (_, page) = app.get(&fx.owner, &format!("/api/activity?{project}")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 50);
    assert_eq!(page["range"]["timezone"], "UTC");
}

#[tokio::test]
async fn a_row_carries_the_recorded_fields_in_the_viewers_zone() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let mut e = crate::analytics_time::event(
        &fx,
        "2026-10-05T20:00:00Z",
        "openai/gpt-4o",
        1_234_567,
        Outcome::Success,
    );
    e.app = Some("CLI".into());
    e.end_user = Some("alice".into());
    e.stream = true;
    e.ttft_us = Some(250_000);
    e.latency_us = 1_250_000;
    e.usage.output = Some(500);
    app.store.record(vec![e.clone()]).await.unwrap();
    let q = format!(
        "/api/activity?projectId={}&from=2026-10-06&to=2026-10-06&timezone=Asia/Kolkata",
        fx.project_a
    );
    let (status, page) = app.get(&fx.owner, &q).await;
    assert_eq!(status, 200, "{page}");
    let row = &page["data"][0];
    assert_eq!(row["id"], e.id.to_string());
    assert_eq!(row["startedAt"], "2026-10-06T01:30:00+05:30");
    assert_eq!(row["startedAtUtc"], "2026-10-05T20:00:00Z");
    assert_eq!(row["model"], "gpt-4o");
    assert_eq!(row["routedModel"], "openai/gpt-4o");
    assert_eq!(row["apiKeyName"], "dev key");
    assert_eq!(row["userId"], fx.developer.id.to_string());
    assert_eq!(row["endUser"], "alice");
    assert_eq!(row["cost"], "0.001234567");
    assert_eq!(row["tokens"]["output"], 500);
    assert_eq!(row["tokens"]["total"], 600);
    assert_eq!(
        (row["latencyUs"].as_u64(), row["ttftUs"].as_u64()),
        (Some(1_250_000), Some(250_000))
    );
    assert_eq!(page["nextCursor"], Value::Null);

    // The whole request: who, what, and how it was priced.
    let (status, d) = app
        .get(&fx.owner, &format!("/api/activity/{}?timezone=Asia/Kolkata", e.id))
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["requestId"], e.id.to_string());
    assert_eq!(d["startedAt"], "2026-10-06T01:30:00+05:30");
    assert_eq!(d["key"]["name"], "dev key");
    assert!(d["key"]["maskedKey"].is_string());
    assert_eq!(d["member"]["email"], "dev@a.example");
    assert_eq!(d["project"]["name"], "Project A");
    assert_eq!(d["tokensPerSecond"].as_f64(), Some(500.0));
    assert_eq!(d["pricing"]["source"], "catalog");
    let charges = d["pricing"]["charges"].as_array().unwrap();
    let classes: Vec<&str> = charges.iter().map(|c| c["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["input", "cached_input", "cache_write", "output", "reasoning"]);
    assert_eq!(charges[0]["tokens"], 100);
    // The recorded cost is not the catalog's (the fixture made it up).
    let usage = e.usage;
    let prices = tally_catalog::Catalog::builtin().prices("openai", "gpt-4o").unwrap();
    assert_eq!(d["pricing"]["costNow"], tally_catalog::cost(prices, &usage).to_string());
    assert_eq!(d["pricing"]["matchesRecorded"], false);
    assert_eq!(d["cost"], "0.001234567");
}

#[tokio::test]
async fn who_sees_which_requests() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = seeded(&app, &fx).await;
    let mut b = crate::analytics_time::event(&fx, "2026-10-05T20:00:00Z", "openai/gpt-4o", 5, Outcome::Success);
    (b.org_id, b.project_id, b.api_key_id, b.created_by) = (fx.org_b, fx.project_b, fx.key_b, fx.outsider.id);
    app.store.record(vec![b.clone()]).await.unwrap();
    let of = |key: ApiKeyId| -> HashSet<String> {
        events
            .iter()
            .filter(|e| e.api_key_id == key)
            .map(|e| e.id.to_string())
            .collect()
    };
    let (dev, admin) = (of(fx.dev_key), of(fx.admin_key));
    let both: HashSet<String> = dev.union(&admin).cloned().collect();
    let only_b: HashSet<String> = [b.id.to_string()].into();
    let org = format!("organizationId={}", fx.org_a);
    let project = format!("projectId={}", fx.project_a);
    let dev_key = format!("apiKeyId={}", fx.dev_key);
    let admin_key = format!("apiKeyId={}", fx.admin_key);
    let by_dev = format!("{org}&userId={}", fx.developer.id);
    let project_by_admin = format!("{project}&userId={}", fx.admin.id);
    let self_filter = format!("{project}&userId={}", fx.developer.id);
    let org_b_member = format!("organizationId={}&userId={}", fx.org_b, fx.outsider.id);
    let org_b = format!("organizationId={}", fx.org_b);
    // (who, scope, status, the requests seen)
    let cases: Vec<(Who, &str, u16, Option<&HashSet<String>>)> = vec![
        (Who::Owner, &org, 200, Some(&both)),
        (Who::Admin, &project, 200, Some(&both)),
        (Who::Owner, &by_dev, 200, Some(&dev)),
        (Who::Admin, &project_by_admin, 200, Some(&admin)),
        (Who::Owner, &dev_key, 200, Some(&dev)),
        // A developer sees the requests of their own keys only.
        (Who::Developer, &project, 200, Some(&dev)),
        (Who::Developer, &self_filter, 200, Some(&dev)),
        (Who::Developer, &dev_key, 200, Some(&dev)),
        (Who::Developer, &admin_key, 404, None),
        (Who::Developer, &org, 403, None),
        (Who::Developer, &project_by_admin, 403, None),
        // Another organization's resources are not found.
        (Who::Outsider, &project, 404, None),
        (Who::Outsider, &org, 404, None),
        (Who::Outsider, &dev_key, 404, None),
        (Who::Owner, &org_b, 404, None),
        (Who::Outsider, &org_b, 200, Some(&only_b)),
        // Member filters need the enterprise plan, as in the analytics.
        (Who::Outsider, &org_b_member, 403, None),
        (Who::Anonymous, &project, 401, None),
    ];
    for (who, scope, status, seen) in cases {
        let path = format!("/api/activity?{scope}&{RANGE}&limit=200");
        let (got, body) = app.call(fx.who(who), reqwest::Method::GET, &path, None).await;
        assert_eq!(got.as_u16(), status, "{who:?} {scope}: {body}");
        if let Some(seen) = seen {
            let user = fx.who(who).unwrap();
            let ids: HashSet<String> = all_ids(&app, user, &format!("{scope}&{RANGE}&limit=200"))
                .await
                .into_iter()
                .collect();
            assert_eq!(&ids, seen, "{who:?} {scope}");
        } else if status != 401 {
            assert!(body["error"]["code"].is_string(), "{body}");
        }
    }
    let (_, body) = app
        .get(&fx.outsider, &format!("/api/activity?{org_b_member}&{RANGE}"))
        .await;
    assert_error(&body, "plan_upgrade_required", None);
    let (_, body) = app.get(&fx.developer, &format!("/api/activity?{org}&{RANGE}")).await;
    assert_error(&body, "forbidden", None);

    // One request in full: the same doors.
    let dev_event = events.iter().find(|e| e.api_key_id == fx.dev_key).unwrap().id;
    let admin_event = events.iter().find(|e| e.api_key_id == fx.admin_key).unwrap().id;
    let cases = [
        (Who::Owner, dev_event, 200),
        (Who::Admin, admin_event, 200),
        (Who::Developer, dev_event, 200),
        (Who::Developer, admin_event, 404),
        (Who::Outsider, dev_event, 404),
        (Who::Owner, b.id, 404),
        (Who::Outsider, b.id, 200),
        (Who::Owner, EventId::new(), 404),
        (Who::Anonymous, dev_event, 401),
    ];
    for (who, id, status) in cases {
        let (got, body) = app
            .call(fx.who(who), reqwest::Method::GET, &format!("/api/activity/{id}"), None)
            .await;
        assert_eq!(got.as_u16(), status, "{who:?} {id}: {body}");
    }
    let (status, body) = app.get(&fx.owner, "/api/activity/not-an-id").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn bad_parameters_are_refused_naming_them() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    seeded(&app, &fx).await;
    let p = format!("projectId={}&{RANGE}", fx.project_a);
    let (_, first) = app.get(&fx.owner, &format!("/api/activity?{p}&limit=3")).await;
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let cases: Vec<(String, &str)> = vec![
        (RANGE.to_string(), "projectId"),
        (format!("{p}&organizationId={}", fx.org_a), "projectId"),
        (format!("projectId=nope&{RANGE}"), "projectId"),
        (format!("projectId={}", fx.project_a), "from"),
        (format!("{p}&timezone=Mars/Base"), "timezone"),
        (format!("{p}&limit=0"), "limit"),
        (format!("{p}&limit=201"), "limit"),
        (format!("{p}&limit=ten"), "limit"),
        (format!("{p}&cursor=garbage"), "cursor"),
        (format!("{p}&cursor={cursor}&sort=cost"), "cursor"),
        (format!("{p}&sort=cheapest"), "sort"),
        (format!("{p}&outcome=exploded"), "outcome"),
        (format!("{p}&outcome=success,"), "outcome"),
        (format!("{p}&endpoint=images"), "endpoint"),
        (format!("{p}&status=99"), "status"),
        (format!("{p}&status=abc"), "status"),
        (format!("{p}&stream=yes"), "stream"),
        (format!("{p}&invalidUsage=1"), "invalidUsage"),
        (format!("{p}&minCost=-1"), "minCost"),
        (format!("{p}&minCost=0.0000000001"), "minCost"),
        (format!("{p}&minLatencyMs=-5"), "minLatencyMs"),
        (format!("{p}&minLatencyMs=999999999999"), "minLatencyMs"),
        (format!("{p}&tag=team"), "tag"),
        (format!("{p}&tag=bad%20key:x"), "tag"),
        (format!("{p}&tag=team:a%2Cb"), "tag"),
        (format!("{p}&model="), "model"),
        (format!("{p}&app={}", "x".repeat(300)), "app"),
        (format!("{p}&userId=someone"), "userId"),
        (format!("{p}&modle=gpt-4o"), "modle"),
    ];
    for (query, param) in cases {
        let (status, body) = app.get(&fx.owner, &format!("/api/activity?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_error(&body, "invalid_request", Some(param));
    }
    for (query, param) in [
        (format!("{p}&format=xlsx"), "format"),
        (format!("{p}&limit=5"), "limit"),
    ] {
        let (status, body) = app.get(&fx.owner, &format!("/api/activity/export.csv?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_error(&body, "invalid_request", Some(param));
    }
}

#[tokio::test]
async fn the_export_streams_every_matching_request_as_csv_and_ndjson() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let mut events = random_events(&fx, 4500, 11);
    for e in &mut events {
        e.started_at = "2026-10-03T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
            + jiff::SignedDuration::from_millis(e.started_at.as_millisecond() % 86_400_000);
    }
    events[0].app = Some("=HYPERLINK(\"x\")".into());
    events[0].error = Some("line one\nline, two".into());
    for chunk in events.chunks(500) {
        app.store.record(chunk.to_vec()).await.unwrap();
    }
    let q = format!("projectId={}&from=2026-10-03&to=2026-10-03", fx.project_a);
    let resp = app
        .client
        .get(app.url(&format!("/api/activity/export.csv?{q}")))
        .bearer_auth(&fx.owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("tally-requests-2026-10-03-2026-10-03.csv")
    );
    let csv = resp.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("id,started_at,started_at_utc,requested_model"),
        "{header}"
    );
    assert!(header.contains(",cost_usd,"));
    let wanted = newest_first(events.iter().collect(), |e| e.started_at.as_millisecond());
    // Ids in the first cell, newest first, every request once (a quoted
    // error holds a line break, so rows are found by their leading id).
    let got: Vec<String> = csv
        .split("\r\n")
        .skip(1)
        .filter(|l| l.len() > 36 && l.as_bytes()[8] == b'-')
        .map(|l| l[..36].to_owned())
        .collect();
    assert_eq!(got.len(), 4500);
    assert_eq!(got, wanted);
    let row = csv.lines().find(|l| l.starts_with(&events[0].id.to_string())).unwrap();
    assert!(row.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{row}");
    assert!(csv.contains("\"line one\nline, two\""));

    let resp = app
        .client
        .get(app.url(&format!(
            "/api/activity/export.csv?{q}&format=ndjson&outcome=success&timezone=Asia/Kolkata"
        )))
        .bearer_auth(&fx.developer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mine: Vec<String> = newest_first(
        events
            .iter()
            .filter(|e| e.outcome == Outcome::Success && e.created_by == fx.developer.id)
            .filter(|e| {
                e.started_at >= "2026-10-02T18:30:00Z".parse().unwrap()
                    && e.started_at < "2026-10-03T18:30:00Z".parse().unwrap()
            })
            .collect(),
        |e| e.started_at.as_millisecond(),
    );
    let got: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, mine, "a developer exports their own keys' requests");
    assert!(
        rows.iter()
            .all(|r| r["startedAt"].as_str().unwrap().ends_with("+05:30"))
    );
}

#[tokio::test]
async fn the_openapi_document_names_every_field_and_parameter_of_the_log() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let events = seeded(&app, &fx).await;
    let (_, doc) = app.call(None, reqwest::Method::GET, "/api/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    let declared =
        |schema: &Value| -> HashSet<String> { schema["properties"].as_object().unwrap().keys().cloned().collect() };
    let row_fields = declared(&schemas["LogEvent"]);
    let (_, page) = app
        .get(&fx.owner, &format!("/api/activity?projectId={}&{RANGE}", fx.project_a))
        .await;
    let page_fields: HashSet<String> = page.as_object().unwrap().keys().cloned().collect();
    assert_eq!(page_fields, declared(&schemas["LogPage"]));
    let served: HashSet<String> = page["data"][0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(served, row_fields, "a row has every declared field and no other");
    let (_, detail) = app.get(&fx.owner, &format!("/api/activity/{}", events[0].id)).await;
    let mut detail_fields = row_fields.clone();
    detail_fields.extend(declared(&schemas["LogEventDetail"]["allOf"][1]));
    let served: HashSet<String> = detail.as_object().unwrap().keys().cloned().collect();
    assert_eq!(served, detail_fields);
    // Every parameter the log takes is documented, and only those.
    let documented: HashSet<String> = doc["paths"]["/api/activity"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let probe = format!("/api/activity?projectId={}&{RANGE}&", fx.project_a);
    for name in &documented {
        let (status, body) = app.get(&fx.owner, &format!("{probe}{name}=%00bad")).await;
        if status == 400 {
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                !message.contains("not a parameter of the request log"),
                "{name}: {message}"
            );
        }
    }
    let (status, body) = app.get(&fx.owner, &format!("{probe}undocumented=1")).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_request", Some("undocumented"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a parameter of the request log")
    );
}
