//! `/api/organizations/{orgId}/budgets`: who may see and change which
//! budget, what bad input gets (and that it changes nothing), and
//! `/v1/usage` listing the budgets that cover the key.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixture::Fx;
use crate::helpers::*;

fn path(org: tally_core::OrgId) -> String {
    format!("/api/organizations/{org}/budgets")
}

fn month(scope: Value) -> Value {
    json!({"scope": scope, "amount": "25.50", "period": "month", "timezone": "Asia/Kolkata",
           "action": "block", "thresholds": [100, 50, 80]})
}

/// The fixture with five budgets in org A (org, project A, the admin's
/// key, the admin as member, the developer's key) and one in org B.
async fn budgets(app: &TestApp, fx: &Fx) -> (Vec<String>, String) {
    let scopes = [
        json!({"type": "organization"}),
        json!({"type": "project", "id": fx.project_a}),
        json!({"type": "apiKey", "id": fx.admin_key}),
        json!({"type": "member", "id": fx.admin.id}),
        json!({"type": "apiKey", "id": fx.dev_key}),
    ];
    let mut ids = Vec::new();
    for scope in scopes {
        let b = app.create(&fx.owner, &path(fx.org_a), month(scope)).await;
        ids.push(b["id"].as_str().unwrap().to_owned());
    }
    let theirs = app
        .create(&fx.outsider, &path(fx.org_b), month(json!({"type": "organization"})))
        .await;
    (ids, theirs["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_budget_is_created_with_its_period_and_spend() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let b = app
        .create(
            &fx.admin,
            &path(fx.org_a),
            month(json!({"type": "project", "id": fx.project_a})),
        )
        .await;
    assert_eq!(b["scope"], json!({"type": "project", "id": fx.project_a}));
    assert_eq!(b["amount"], "25.500000000");
    assert_eq!(b["period"], "month");
    assert_eq!(b["timezone"], "Asia/Kolkata");
    assert_eq!(b["action"], "block");
    assert_eq!(b["thresholds"], json!([50, 80, 100]));
    assert_eq!(b["createdBy"], fx.admin.id.to_string());
    let current = &b["current"];
    assert_eq!(current["spent"], "0.000000000");
    assert_eq!(current["remaining"], "25.500000000");
    assert_eq!(current["status"], "ok");
    assert_eq!(current["reached"], json!([]));
    // Kolkata's months start at 18:30 UTC the day before.
    assert!(
        current["periodStart"].as_str().unwrap().ends_with("T18:30:00Z"),
        "{current}"
    );
    assert!(
        current["resetsAt"].as_str().unwrap().ends_with("T18:30:00Z"),
        "{current}"
    );

    // Defaults: UTC, no thresholds; a lifetime has no window.
    let total = app
        .create(
            &fx.owner,
            &path(fx.org_a),
            json!({"scope": {"type": "organization"}, "amount": "1", "period": "total", "action": "alert"}),
        )
        .await;
    assert_eq!(total["timezone"], "UTC");
    assert_eq!(total["thresholds"], json!([]));
    assert_eq!(total["current"]["periodStart"], Value::Null);
    assert_eq!(total["current"]["resetsAt"], Value::Null);

    // Changed in place; the scope stays.
    let one = format!("{}/{}", path(fx.org_a), b["id"].as_str().unwrap());
    let (status, changed) = app
        .patch(
            &fx.owner,
            &one,
            json!({"amount": "5", "period": "week", "timezone": "UTC", "action": "alert", "thresholds": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["amount"].as_str(), changed["period"].as_str()),
        (Some("5.000000000"), Some("week"))
    );
    assert_eq!(changed["scope"], b["scope"]);
    let (status, _) = app.delete(&fx.owner, &one).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&fx.owner, &one).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found", None);
}

#[tokio::test]
async fn managers_see_every_budget_and_developers_those_of_their_keys() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (ids, _) = budgets(&app, &fx).await;
    async fn listed(app: &TestApp, who: &TestUser, org: tally_core::OrgId) -> Vec<String> {
        let (status, list) = app.get(who, &path(org)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        crate::helpers::ids(&list)
    }
    assert_eq!(listed(&app, &fx.owner, fx.org_a).await, ids);
    assert_eq!(listed(&app, &fx.admin, fx.org_a).await, ids);
    // The developer's key is in project A: the organization's, the
    // project's and its own budget cover it.
    assert_eq!(
        listed(&app, &fx.developer, fx.org_a).await,
        [ids[0].clone(), ids[1].clone(), ids[4].clone()]
    );
    let (status, _) = app.get(&fx.developer, &format!("{}/{}", path(fx.org_a), ids[1])).await;
    assert_eq!(status, StatusCode::OK);
}

/// `(caller, method, budget, body, status, code)`: `budget` picks one of
/// org A's five (0–4), or 5 for org B's, addressed under org A.
type Row = (&'static str, Method, usize, Option<fn(&Fx) -> Value>, u16, &'static str);

fn rows() -> Vec<Row> {
    let change: fn(&Fx) -> Value = |_| json!({"amount": "1"});
    vec![
        ("developer", Method::GET, 2, None, 404, "not_found"),
        ("developer", Method::PATCH, 0, Some(change), 403, "forbidden"),
        ("developer", Method::DELETE, 4, None, 403, "forbidden"),
        ("outsider", Method::GET, 0, None, 404, "not_found"),
        ("outsider", Method::PATCH, 0, Some(change), 404, "not_found"),
        ("outsider", Method::DELETE, 0, None, 404, "not_found"),
        ("owner", Method::GET, 5, None, 404, "not_found"),
        ("owner", Method::PATCH, 5, Some(change), 404, "not_found"),
        ("owner", Method::DELETE, 5, None, 404, "not_found"),
        ("anonymous", Method::GET, 0, None, 401, "unauthenticated"),
        ("anonymous", Method::DELETE, 0, None, 401, "unauthenticated"),
    ]
}

/// Both organizations' budgets, as their owners list them.
async fn snapshot(app: &TestApp, fx: &Fx) -> (Value, Value) {
    (
        app.get(&fx.owner, &path(fx.org_a)).await.1,
        app.get(&fx.outsider, &path(fx.org_b)).await.1,
    )
}

#[tokio::test]
async fn doors_hold_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (mut ids, theirs) = budgets(&app, &fx).await;
    ids.push(theirs);
    let before = snapshot(&app, &fx).await;
    for (who, method, which, body, status, code) in rows() {
        let caller = match who {
            "developer" => Some(&fx.developer),
            "outsider" => Some(&fx.outsider),
            "owner" => Some(&fx.owner),
            _ => None,
        };
        let url = format!("{}/{}", path(fx.org_a), ids[which]);
        let (got, err) = app.call(caller, method.clone(), &url, body.map(|b| b(&fx))).await;
        assert_eq!(got.as_u16(), status, "{who} {method} {which}: {err}");
        assert_error(&err, code, None);
    }
    // Creating: developers may not; the outsider does not see org A.
    let create = month(json!({"type": "organization"}));
    let (status, _) = app.post(&fx.developer, &path(fx.org_a), create.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post(&fx.outsider, &path(fx.org_a), create).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(snapshot(&app, &fx).await, before);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let good = || month(json!({"type": "organization"}));
    let with = |field: &str, value: Value| {
        let mut b = good();
        b[field] = value;
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("amount", json!("0")), 400, "amount"),
        (with("amount", json!("-5")), 400, "amount"),
        (with("amount", json!("ten")), 400, "amount"),
        (with("amount", json!("1.0000000001")), 400, "amount"),
        (with("period", json!("year")), 400, "period"),
        (with("timezone", json!("Mars/Olympus")), 400, "timezone"),
        (with("action", json!("stop")), 400, "action"),
        (with("thresholds", json!([0])), 400, "thresholds"),
        (with("thresholds", json!([1001])), 400, "thresholds"),
        (with("scope", json!({"type": "team"})), 400, "scope"),
        (with("scope", json!({"type": "project"})), 400, "scope"),
        (with("scope", json!({"type": "project", "id": "nope"})), 400, "scope"),
        (
            with("scope", json!({"type": "project", "id": fx.project_b})),
            404,
            "scope.id",
        ),
        (
            with("scope", json!({"type": "apiKey", "id": fx.key_b})),
            404,
            "scope.id",
        ),
        (
            with("scope", json!({"type": "member", "id": fx.outsider.id})),
            404,
            "scope.id",
        ),
    ];
    for (body, status, param) in cases {
        let (got, err) = app.post(&fx.owner, &path(fx.org_a), body.clone()).await;
        assert_eq!(got.as_u16(), status, "{body}: {err}");
        assert_eq!(err["error"]["param"], param, "{body}: {err}");
    }
    let (got, _) = app
        .post(&fx.owner, &path(fx.org_a), with("currency", json!("EUR")))
        .await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
    let (_, list) = app.get(&fx.owner, &path(fx.org_a)).await;
    assert_eq!(list, json!([]));

    let b = app.create(&fx.owner, &path(fx.org_a), good()).await;
    let one = format!("{}/{}", path(fx.org_a), b["id"].as_str().unwrap());
    for body in [
        json!({"amount": "0"}),
        json!({"period": "hour"}),
        json!({"scope": {"type": "organization"}}),
    ] {
        let (got, _) = app.patch(&fx.owner, &one, body.clone()).await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(app.get(&fx.owner, &one).await.1, b);
}

#[tokio::test]
async fn a_keys_own_usage_lists_the_budgets_that_cover_it() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (ids, _) = budgets(&app, &fx).await;
    let resp = app
        .client
        .get(app.url("/v1/usage?from=2026-01-01&to=2026-01-31"))
        .bearer_auth(&fx.dev_secret)
        .send()
        .await
        .unwrap();
    let (status, usage) = read(resp).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(
        crate::helpers::ids(&usage["budgets"]),
        [ids[0].clone(), ids[1].clone(), ids[4].clone()]
    );
    assert_eq!(usage["budgets"][0]["current"]["remaining"], "25.500000000");
}

#[tokio::test]
async fn the_openapi_document_names_every_field_of_budgets_and_webhooks() {
    use std::collections::HashSet;
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (ids, _) = budgets(&app, &fx).await;
    let (_, doc) = app.call(None, Method::GET, "/api/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    let declared =
        |schema: &Value| -> HashSet<String> { schema["properties"].as_object().unwrap().keys().cloned().collect() };
    let fields = |v: &Value| -> HashSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    let (_, b) = app.get(&fx.owner, &format!("{}/{}", path(fx.org_a), ids[0])).await;
    assert_eq!(fields(&b), declared(&schemas["Budget"]));
    assert_eq!(
        fields(&b["current"]),
        declared(&schemas["Budget"]["properties"]["current"])
    );
    let hooks = format!("/api/organizations/{}/webhooks", fx.org_a);
    let created = app
        .create(&fx.owner, &hooks, json!({"url": "http://127.0.0.1:9/x"}))
        .await;
    assert_eq!(fields(&created), declared(&schemas["Webhook"]));
    let one = format!("{hooks}/{}", created["id"].as_str().unwrap());
    let (status, delivery) = app.post(&fx.owner, &format!("{one}/test"), json!(null)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{delivery}");
    assert_eq!(fields(&delivery), declared(&schemas["WebhookDelivery"]));
    for (path, methods) in [
        ("/api/organizations/{orgId}/budgets", &["get", "post"][..]),
        (
            "/api/organizations/{orgId}/budgets/{budgetId}",
            &["get", "patch", "delete"],
        ),
        ("/api/organizations/{orgId}/webhooks", &["get", "post"]),
        (
            "/api/organizations/{orgId}/webhooks/{webhookId}",
            &["get", "patch", "delete"],
        ),
        ("/api/organizations/{orgId}/webhooks/{webhookId}/deliveries", &["get"]),
        ("/api/organizations/{orgId}/webhooks/{webhookId}/test", &["post"]),
    ] {
        for m in methods {
            assert!(doc["paths"][path][m]["responses"].is_object(), "{m} {path}");
        }
    }
    assert!(schemas["KeyUsageResponse"]["properties"]["budgets"].is_object());
}

#[tokio::test]
async fn a_budget_without_a_zone_takes_the_organizations() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let org = format!("/api/organizations/{}", fx.org_a);
    let (_, shown) = app.get(&fx.owner, &org).await;
    assert_eq!(shown["timezone"], "UTC");
    let (status, err) = app.patch(&fx.admin, &org, json!({"timezone": "Mars/Olympus"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&err, "invalid_request", Some("timezone"));
    let (status, _) = app
        .patch(&fx.developer, &org, json!({"timezone": "Asia/Kolkata"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = app.patch(&fx.admin, &org, json!({"timezone": "Pacific/Chatham"})).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["timezone"], "Pacific/Chatham");
    let (_, me) = app.get(&fx.developer, "/api/me").await;
    assert!(
        me["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["timezone"] == "Pacific/Chatham"),
        "{me}"
    );

    let b = app
        .create(
            &fx.owner,
            &path(fx.org_a),
            json!({"scope": {"type": "organization"}, "amount": "1", "period": "day", "action": "alert"}),
        )
        .await;
    assert_eq!(b["timezone"], "Pacific/Chatham");
    // Chatham's days start at 10:15 or 11:15 UTC.
    assert!(b["current"]["periodStart"].as_str().unwrap().contains(":15:00"), "{b}");
    let (_, other) = app.get(&fx.outsider, &format!("/api/organizations/{}", fx.org_b)).await;
    assert_eq!(other["timezone"], "UTC", "another organization keeps its own");
}
