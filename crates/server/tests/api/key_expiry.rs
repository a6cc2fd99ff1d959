//! Keys that expire: an expiry time on creation and through `PATCH`,
//! checked before anything changes, shown as the key's status, and
//! refused by `/v1/usage` with its own code once it has come.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tally_core::Plan;
use tally_store::AccountStore;

use crate::helpers::*;

/// Whole seconds: keys keep their times to the millisecond.
fn in_hours(h: i64) -> String {
    Timestamp::from_second(Timestamp::now().as_second() + h * 3600)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn keys_take_an_expiry_that_is_checked_shown_and_enforced() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@example.com", "Owner").await;
    let org = app.org("Acme", Plan::Pro, &owner).await;
    let project = app.project(org, "web").await;
    let keys = format!("/api/projects/{project}/api-keys");

    // Refused, and nothing is created.
    for (bad, why) in [
        (json!("tomorrow"), "RFC 3339"),
        (json!("2001-01-01T00:00:00Z"), "future"),
        (json!(in_hours(24 * 366 * 11)), "ten years"),
    ] {
        let (status, body) = app.post(&owner, &keys, json!({"name": "ci", "expiresAt": bad})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["param"], "expiresAt", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (status, listed) = app.get(&owner, &keys).await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 0);

    let at = in_hours(2);
    let created = app.create(&owner, &keys, json!({"name": "ci", "expiresAt": at})).await;
    let key = created.clone();
    assert_eq!(key["status"], "active");
    assert_eq!(
        key["expiresAt"].as_str().unwrap().parse::<Timestamp>().unwrap(),
        at.parse::<Timestamp>().unwrap()
    );
    let secret = created["keySecret"].as_str().unwrap().to_owned();
    let path = format!("/api/api-keys/{}", key["id"].as_str().unwrap());

    // PATCH: a bad expiry changes nothing, not even a name given with it.
    let (status, _) = app
        .patch(&owner, &path, json!({"name": "renamed", "expiresAt": "soon"}))
        .await;
    assert_eq!(status, 400);
    let (_, unchanged) = app.get(&owner, &path).await;
    assert_eq!(
        (unchanged["name"].clone(), unchanged["expiresAt"].clone()),
        (json!("ci"), key["expiresAt"].clone())
    );
    let (status, _) = app.patch(&owner, &path, json!({})).await;
    assert_eq!(status, 400);
    // Cleared, then set again; the name stays.
    let (status, cleared) = app.patch(&owner, &path, json!({"expiresAt": null})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (cleared["name"].clone(), cleared["expiresAt"].clone()),
        (json!("ci"), Value::Null)
    );
    let (_, set) = app.patch(&owner, &path, json!({"expiresAt": in_hours(1)})).await;
    assert!(set["expiresAt"].is_string());

    let usage = app.url("/v1/usage?from=2026-09-01&to=2026-12-01");
    let resp = app.client.get(&usage).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // Its time comes (set through the store: the API takes only future times).
    let id = key["id"].as_str().unwrap().parse().unwrap();
    let past = Timestamp::now().checked_sub(SignedDuration::from_secs(1)).unwrap();
    app.store.set_api_key_expiry(id, Some(past)).await.unwrap();
    let (_, expired) = app.get(&owner, &path).await;
    assert_eq!(expired["status"], "expired");
    let resp = app.client.get(&usage).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "api_key_expired");
    assert_eq!(body["error"]["message"], "this tally API key has expired");
}
