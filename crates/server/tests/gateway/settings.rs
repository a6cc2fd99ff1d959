//! Organization aliases and price overrides, set through the API and used
//! by the gateway at once.

use serde_json::json;
use tally_core::Money;

use crate::harness::*;

#[tokio::test]
async fn aliases_route_and_keep_the_canonical_model() {
    let mut gw = Gw::start().await;
    let path = format!("/api/organizations/{}/model-mappings", gw.org);
    let (status, created) = api(
        &gw,
        reqwest::Method::POST,
        &path,
        Some(json!({"alias": "fast", "target": "azure/gpt-4o"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = api(
        &gw,
        reqwest::Method::POST,
        &path,
        Some(json!({"alias": "fast", "target": "openai/gpt-4o"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, err) = api(
        &gw,
        reqwest::Method::POST,
        &path,
        Some(json!({"alias": "x", "target": "nowhere/gpt-4o"})),
    )
    .await;
    assert_eq!((status, err["error"]["param"].as_str()), (400, Some("target")));

    let resp = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(gw.mock.received()[0].body["model"], "gpt-4o");
    let (_, list) = api(&gw, reqwest::Method::GET, &path, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let events = gw.events().await;
    let e = &events[0];
    assert_eq!(e.requested_model.as_deref(), Some("fast"));
    assert_eq!(e.routed_model.as_deref(), Some("azure/gpt-4o"));
    assert_eq!(e.canonical_model.as_deref(), Some("gpt-4o"));
    assert_eq!(e.cost, catalog_cost("azure", "gpt-4o", &e.usage));
}

#[tokio::test]
async fn price_overrides_replace_the_catalog_price() {
    let mut gw = Gw::start().await;
    let path = format!("/api/organizations/{}/price-overrides", gw.org);
    let (status, view) = api(
        &gw,
        reqwest::Method::PUT,
        &path,
        Some(json!({"model": "gpt-4o", "input": "1", "output": "2"})),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["input"], "1.000000000");
    let (status, err) = api(
        &gw,
        reqwest::Method::PUT,
        &path,
        Some(json!({"model": "gpt-4o", "input": "1e-3", "output": "2"})),
    )
    .await;
    assert_eq!((status, err["error"]["param"].as_str()), (400, Some("input")));
    // A priced house model: the override makes it priced.
    api(
        &gw,
        reqwest::Method::PUT,
        &path,
        Some(json!({"model": "house/house-model", "input": "0.5", "output": "0.5"})),
    )
    .await;

    let chat = |m: &str| json!({"model": m, "messages": [{"role": "user", "content": "price me"}]});
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("openai/gpt-4o")).await.status(),
        200
    );
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("house-model")).await.status(),
        200
    );
    let events = gw.events().await;
    let u = events[0].usage;
    // $1 / M input = 1000 nano-USD per token, $2 / M output = 2000.
    assert_eq!(
        events[0].cost,
        Money::from_nanos((u.input.unwrap() * 1_000 + u.output.unwrap() * 2_000) as i64)
    );
    let h = events[1].usage;
    assert!(!events[1].unpriced);
    assert_eq!(
        events[1].cost,
        Money::from_nanos(((h.input.unwrap() + h.output.unwrap()) * 500) as i64)
    );
}
