//! The browser-facing doors: login limits per account and per address,
//! bounded password hashing, the same-origin rule for cookie sessions, the
//! `Secure` cookie and formula-safe CSV.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, SET_COOKIE};
use serde_json::{Value, json};
use tally_core::Outcome;
use tally_server::login::LoginLimits;
use tally_server::security::SecuritySettings;
use tally_store::{AccountStore, ActivityStore, StoreError};

use crate::analytics_time::event;
use crate::fixture::Fx;
use crate::helpers::*;

async fn login(app: &TestApp, email: &str, password: &str, extra: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let mut req = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": password}));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let headers = resp.headers().clone();
    let (status, body) = read(resp).await;
    (status, headers, body)
}

/// A 429 in the API's error shape whose `Retry-After` is within the window.
fn assert_limited(status: StatusCode, headers: &HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_error(body, "rate_limited", None);
    let wait: u64 = headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&wait), "Retry-After: {wait}");
}

#[tokio::test]
async fn login_is_limited_per_account_then_per_address() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@a.example", "Olivia Owner").await;
    let other = app.user("other@a.example", "Otto Other").await;
    let mut statuses = Vec::new();
    for i in 0..300 {
        // The account is the normalised e-mail, however it is typed.
        let email = if i % 2 == 0 {
            owner.email.clone()
        } else {
            " OWNER@A.example".to_owned()
        };
        let (status, headers, body) = login(&app, &email, "not the password", &[]).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_limited(status, &headers, &body);
        } else {
            assert_error(&body, "invalid_credentials", None);
        }
        statuses.push(status.as_u16());
    }
    let failures = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(failures, 10, "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");

    // The right password is refused too, until the window passes.
    let (status, headers, body) = login(&app, &owner.email, PASSWORD, &[]).await;
    assert_limited(status, &headers, &body);
    assert!(!headers.contains_key(SET_COOKIE));

    // Another account from the same address still logs in…
    let (status, _, body) = login(&app, &other.email, PASSWORD, &[]).await;
    assert_eq!(status, 200, "{body}");
    // …until the address has its 50 failures (10 so far).
    for i in 0..40 {
        let (status, _, body) = login(&app, &format!("nobody{i}@a.example"), "guess", &[]).await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, headers, body) = login(&app, &other.email, PASSWORD, &[]).await;
    assert_limited(status, &headers, &body);
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let limits = LoginLimits {
        failures_per_account: 1000,
        failures_per_address: 2,
        ..LoginLimits::default()
    };
    for trust_proxy in [false, true] {
        let app = TestApp::spawn_with(SecuritySettings {
            login: limits.clone(),
            trust_proxy,
            ..SecuritySettings::default()
        })
        .await;
        let user = app.user("user@a.example", "Una User").await;
        for i in 0..2 {
            let via = [("x-forwarded-for", "203.0.113.9")];
            let (status, _, _) = login(&app, &format!("x{i}@a.example"), "guess", &via).await;
            assert_eq!(status, 401);
        }
        // Behind a trusted proxy the failures were 203.0.113.9's; else the peer's.
        let (status, _, body) = login(&app, &user.email, PASSWORD, &[("x-forwarded-for", "198.51.100.1")]).await;
        let want = if trust_proxy { 200 } else { 429 };
        assert_eq!(status, want, "trust_proxy={trust_proxy}: {body}");
    }
}

#[tokio::test]
async fn password_hashes_run_at_most_n_at_once() {
    let app = TestApp::spawn_with(SecuritySettings {
        login: LoginLimits {
            failures_per_account: 10_000,
            failures_per_address: 10_000,
            hash_concurrency: 2,
            ..LoginLimits::default()
        },
        ..SecuritySettings::default()
    })
    .await;
    let user = app.user("user@a.example", "Una User").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let app = app.clone();
        let email = user.email.clone();
        tasks.push(tokio::spawn(async move {
            let password = if i % 4 == 0 { PASSWORD } else { "wrong" };
            login(&app, &email, password, &[]).await.0
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let want = if i % 4 == 0 { 200 } else { 401 };
        assert_eq!(t.await.unwrap(), want);
    }
    let peak = app.security.login.peak_hashes();
    assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
}

/// An app with one hashing slot, which a request waits for only 50 ms.
async fn one_hash_slot() -> TestApp {
    TestApp::spawn_with(SecuritySettings {
        login: LoginLimits {
            hash_concurrency: 1,
            hash_wait: Duration::from_millis(50),
            ..LoginLimits::default()
        },
        ..SecuritySettings::default()
    })
    .await
}

#[tokio::test]
async fn a_login_that_waits_too_long_for_a_hash_slot_gets_503() {
    let app = one_hash_slot().await;
    let user = app.user("user@a.example", "Una User").await;
    let slots = app.security.login.hash_slots();
    let held = slots.clone().acquire_owned().await.unwrap();
    let (status, headers, body) = login(&app, &user.email, PASSWORD, &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error(&body, "busy", None);
    assert!(headers.contains_key(RETRY_AFTER));
    drop(held);
    // A refusal for want of a slot is no failed guess.
    let (status, _, body) = login(&app, &user.email, PASSWORD, &[]).await;
    assert_eq!(status, 200, "{body}");
}

fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_configured_or_forwarded_over_https() {
    type Headers = &'static [(&'static str, &'static str)];
    let cases: [(bool, Headers, bool); 4] = [
        (false, &[], false),
        (false, &[("x-forwarded-proto", "https")], true),
        (false, &[("x-forwarded-proto", "http")], false),
        (true, &[], true),
    ];
    for (secure_cookies, extra, want) in cases {
        let app = TestApp::spawn_with(SecuritySettings {
            secure_cookies,
            ..SecuritySettings::default()
        })
        .await;
        let user = app.user("user@a.example", "Una User").await;
        let (status, headers, _) = login(&app, &user.email, PASSWORD, extra).await;
        assert_eq!(status, 200);
        let set = headers[SET_COOKIE].to_str().unwrap();
        let secure = set.split(';').any(|a| a.trim().eq_ignore_ascii_case("secure"));
        assert_eq!(secure, want, "secure_cookies={secure_cookies} {extra:?}: {set}");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    }
}

#[tokio::test]
async fn a_cross_site_form_post_cannot_revoke_a_key() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (status, headers, _) = login(&app, &fx.developer.email, PASSWORD, &[]).await;
    assert_eq!(status, 200);
    let cookie = session_cookie(&headers);
    let revoke = app.url(&format!("/api/api-keys/{}/revoke", fx.dev_key));
    let own_origin = format!("http://{}", app.addr);
    let active = || async {
        match app.store.active_key_by_hash(&app.hasher.hash(&fx.dev_secret)).await {
            Ok(_) => true,
            Err(StoreError::NotFound) => false,
            Err(e) => panic!("{e}"),
        }
    };
    type Headers = &'static [(&'static str, &'static str)];
    let cross: [Headers; 4] = [
        &[("origin", "http://evil.test")],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site"), ("origin", "http://sub.evil.test")],
    ];
    for extra in cross {
        let mut req = app
            .client
            .post(&revoke)
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("confirm=1");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let (status, body) = read(req.send().await.unwrap()).await;
        assert_eq!(status, 403, "{extra:?}: {body}");
        assert_error(&body, "forbidden", None);
        assert!(active().await, "{extra:?} revoked the key");
    }
    // A cross-site page cannot attach a token: bearer requests are not checked.
    let (status, body) = read(
        app.client
            .patch(app.url(&format!("/api/api-keys/{}", fx.dev_key)))
            .bearer_auth(&fx.developer.token)
            .header("origin", "http://evil.test")
            .json(&json!({"name": "renamed"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The dashboard itself (same origin) and a client that sends no Origin.
    let (status, body) = read(
        app.client
            .post(&revoke)
            .header("cookie", &cookie)
            .header("origin", &own_origin)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!active().await);
    let (status, _) = read(
        app.client
            .post(app.url("/api/auth/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn csv_text_cells_cannot_start_a_formula() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let key_name = "=HYPERLINK(\"http://evil.test\",\"x\")";
    let (key, _) = app.key(fx.project_a, key_name, &fx.developer).await;
    let apps = ["@SUM(A1)", "+1", "-2+3", "\tcmd", "\rcmd", "plain"];
    let mut events = Vec::new();
    for (i, name) in apps.iter().enumerate() {
        let mut e = event(
            &fx,
            "2026-11-01T10:00:00Z",
            "openai/gpt-4o",
            1000 + i as i64,
            Outcome::Success,
        );
        if i == 0 {
            e.routed_model = Some("=cmd|' /C calc'!A0".to_owned());
        }
        e.api_key_id = key;
        e.app = Some((*name).to_owned());
        events.push(e);
    }
    app.store.record(events).await.unwrap();
    let path = format!(
        "/api/analytics/export.csv?projectId={}&from=2026-11-01&to=2026-11-01&groupBy=apiKey,app,model",
        fx.project_a
    );
    let text = match app.get(&fx.owner, &path).await {
        (s, Value::String(text)) if s == 200 => text,
        other => panic!("{other:?}"),
    };
    assert!(
        text.contains("'=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")"),
        "{text}"
    );
    for cell in [
        "'@SUM(A1)",
        "'+1",
        "'-2+3",
        "'\tcmd",
        "\"'\rcmd\"",
        "'=cmd|' /C calc'!A0",
        ",plain,",
    ] {
        assert!(text.contains(cell), "{cell:?} in {text}");
    }
    // No field of any line starts a formula (numbers included: none is negative here).
    for line in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        for f in line.split(',') {
            let f = f.trim_start_matches('"');
            assert!(!f.starts_with(['=', '+', '-', '@', '\t', '\r']), "{f:?} in {line}");
        }
    }
}

#[tokio::test]
async fn setting_a_password_through_an_invitation_waits_for_a_hash_slot() {
    let app = one_hash_slot().await;
    let fx = Fx::build(&app).await;
    let created = app
        .create(
            &fx.owner,
            &format!("/api/organizations/{}/invitations", fx.org_a),
            json!({"email": "hire@a.example", "role": "developer"}),
        )
        .await;
    let accept = json!({"token": created["token"], "name": "New Hire", "password": "a long new password"});
    let send = || app.client.post(app.url("/api/invitations/accept")).json(&accept).send();
    let held = app.security.login.hash_slots().acquire_owned().await.unwrap();
    let refused = send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&refused.json().await.unwrap(), "busy", None);
    drop(held);
    let accepted = send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK, "the link still works");
    assert_eq!(app.security.login.peak_hashes(), 1);
}
