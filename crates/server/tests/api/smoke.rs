//! One walk through the main flow.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn owner_sets_up_an_org_with_a_project_and_a_key() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice@example.com", "Alice").await;

    let org = app
        .create(
            &alice,
            "/api/organizations",
            json!({"name": "Acme", "plan": "enterprise"}),
        )
        .await;
    assert_eq!(org["role"], "owner");
    let org_id = org["id"].as_str().unwrap();

    let project = app
        .create(
            &alice,
            &format!("/api/organizations/{org_id}/projects"),
            json!({"name": "Bot"}),
        )
        .await;
    let project_id = project["id"].as_str().unwrap();

    let key = app
        .create(
            &alice,
            &format!("/api/projects/{project_id}/api-keys"),
            json!({"name": "prod"}),
        )
        .await;
    let secret = key["keySecret"].as_str().unwrap();
    assert!(secret.starts_with("tly_"));
    assert_eq!(key["maskedKey"], format!("tly_…{}", &secret[secret.len() - 4..]));
    assert_eq!(key["createdBy"]["email"], "alice@example.com");
    assert_eq!(key["status"], "active");

    let (status, keys) = app.get(&alice, &format!("/api/projects/{project_id}/api-keys")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert!(!keys.to_string().contains(&secret[4..]));
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_that_authenticates() {
    let app = TestApp::spawn().await;
    app.user("bob@example.com", "Bob").await;
    let client = reqwest::Client::new();
    let resp = client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "Bob@Example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    let me = client
        .get(app.url("/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["user"]["email"], "bob@example.com");

    let out = client
        .post(app.url("/api/auth/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = client
        .get(app.url("/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    let bad = client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "bob@example.com", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_error(&bad.json().await.unwrap(), "invalid_credentials", None);
}
