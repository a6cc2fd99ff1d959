//! Secrets are shown once. An API key's secret appears only in the response
//! that creates it, a personal token's likewise, a session's only in its
//! cookie; none of them appears in any other response, in any error, or in
//! any log line.

use std::io;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tally_core::{Email, Name};
use tally_server::accounts;
use tally_store::{AccountStore, TokenKind};
use tracing_subscriber::EnvFilter;

use crate::fixture::Fx;
use crate::helpers::*;

/// The part of a secret after its prefix: what must never leak.
fn body_of(secret: &str) -> &str {
    assert!(secret.len() > 40, "not a secret: {secret}");
    &secret[4..]
}

fn assert_absent(haystack: &str, secrets: &[&str], context: &str) {
    for secret in secrets {
        assert!(
            !haystack.contains(body_of(secret)),
            "{context} contains a secret: {haystack}"
        );
    }
}

/// Every response is recorded, so each can be checked for secrets later.
struct Recorder<'a> {
    app: &'a TestApp,
    seen: Vec<(String, Value)>,
}

impl Recorder<'_> {
    async fn call(&mut self, user: Option<&TestUser>, method: Method, path: &str, body: Option<Value>) -> Value {
        let label = format!("{method} {path}");
        let (status, body) = self.app.call(user, method, path, body).await;
        self.seen.push((format!("{label} → {status}"), body.clone()));
        body
    }

    async fn expect(
        &mut self,
        user: Option<&TestUser>,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let (got, body) = self.app.call(user, method.clone(), path, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {body}");
        self.seen.push((format!("{method} {path} → {got}"), body.clone()));
        body
    }

    fn assert_none_contain(&self, secrets: &[&str]) {
        assert!(self.seen.len() > 10);
        for (label, body) in &self.seen {
            assert_absent(&body.to_string(), secrets, label);
        }
    }
}

#[tokio::test]
async fn key_secrets_appear_only_when_created() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let mut r = Recorder {
        app: &app,
        seen: Vec::new(),
    };
    let a = fx.org_a;
    let p = fx.project_a;

    let created = r
        .app
        .post(
            &fx.developer,
            &format!("/api/projects/{p}/api-keys"),
            json!({"name": "mine"}),
        )
        .await
        .1;
    let secret = created["keySecret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    // The creating response has it once, and the masked form shows only the last four.
    assert_eq!(created.to_string().matches(body_of(&secret)).count(), 1);
    assert_eq!(created["maskedKey"], format!("tly_…{}", &secret[secret.len() - 4..]));

    let owner = Some(&fx.owner);
    let dev = Some(&fx.developer);
    for who in [owner, dev, Some(&fx.admin)] {
        r.expect(who, Method::GET, &format!("/api/organizations/{a}/api-keys"), None, 200)
            .await;
        r.expect(who, Method::GET, &format!("/api/projects/{p}/api-keys"), None, 200)
            .await;
        r.expect(who, Method::GET, &format!("/api/api-keys/{id}"), None, 200)
            .await;
    }
    r.expect(
        owner,
        Method::PATCH,
        &format!("/api/api-keys/{id}"),
        Some(json!({"name": "renamed"})),
        200,
    )
    .await;
    r.expect(dev, Method::POST, &format!("/api/api-keys/{id}/revoke"), None, 200)
        .await;
    r.expect(owner, Method::POST, &format!("/api/api-keys/{id}/revoke"), None, 200)
        .await;
    r.expect(owner, Method::GET, &format!("/api/api-keys/{id}"), None, 200)
        .await;
    // Errors about the key.
    r.expect(
        owner,
        Method::PATCH,
        &format!("/api/api-keys/{id}"),
        Some(json!({"name": ""})),
        400,
    )
    .await;
    r.expect(
        Some(&fx.outsider),
        Method::GET,
        &format!("/api/api-keys/{id}"),
        None,
        404,
    )
    .await;
    r.expect(None, Method::GET, &format!("/api/api-keys/{id}"), None, 401)
        .await;
    // The secret sent as a management token, in every place one might go.
    for (header, value) in [
        ("authorization", format!("Bearer {secret}")),
        ("authorization", format!("Bearer tlp_{}", body_of(&secret))),
        ("authorization", format!("Basic {secret}")),
        ("cookie", format!("tally_session={secret}")),
        ("cookie", format!("tally_session=tls_{}", body_of(&secret))),
    ] {
        let resp = app
            .client
            .get(app.url("/api/me"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        let (status, body) = read(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_error(&body, "unauthenticated", None);
        r.seen.push((format!("{header} with the key"), body));
    }
    // Everything else a member can read.
    for path in [
        "/api/me".to_owned(),
        "/api/me/tokens".to_owned(),
        "/api/organizations".to_owned(),
        format!("/api/organizations/{a}"),
        format!("/api/organizations/{a}/members"),
        format!("/api/organizations/{a}/projects"),
        format!("/api/projects/{p}"),
    ] {
        r.call(owner, Method::GET, &path, None).await;
    }

    let fixture_secrets = [fx.dev_secret.as_str(), fx.admin_secret.as_str(), fx.secret_b.as_str()];
    r.assert_none_contain(&[&secret]);
    r.assert_none_contain(&fixture_secrets);
    // Nor does the keyed hash the store keeps.
    let hash = hex::encode(app.hasher.hash(&secret));
    for (label, body) in &r.seen {
        assert!(!body.to_string().contains(&hash), "{label}");
    }
}

#[tokio::test]
async fn token_secrets_appear_only_when_created() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@a.example", "Olivia Owner").await;
    let mut r = Recorder {
        app: &app,
        seen: Vec::new(),
    };

    let created = app.post(&owner, "/api/me/tokens", json!({"name": "ci"})).await.1;
    let token = created["tokenSecret"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tlp_"));
    assert_eq!(created.to_string().matches(body_of(&token)).count(), 1);
    let with_token = TestUser {
        token: token.clone(),
        ..owner.clone()
    };

    // A browser session: its secret is in the cookie only.
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": owner.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("tally_session=")
        .unwrap()
        .to_owned();
    assert!(session.starts_with("tls_"));
    let (_, login_body) = read(login).await;
    r.seen.push(("login".into(), login_body));

    for user in [&owner, &with_token] {
        r.expect(Some(user), Method::GET, "/api/me", None, 200).await;
        r.expect(Some(user), Method::GET, "/api/me/tokens", None, 200).await;
        r.expect(Some(user), Method::GET, "/api/organizations", None, 200).await;
    }
    r.expect(
        Some(&owner),
        Method::POST,
        "/api/me/tokens",
        Some(json!({"name": ""})),
        400,
    )
    .await;
    let tokens = app.get(&owner, "/api/me/tokens").await.1;
    let ci = tokens.as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    r.expect(Some(&owner), Method::DELETE, &format!("/api/me/tokens/{ci}"), None, 204)
        .await;
    r.expect(Some(&with_token), Method::GET, "/api/me", None, 401).await;
    r.expect(Some(&owner), Method::DELETE, &format!("/api/me/tokens/{ci}"), None, 404)
        .await;
    let logout = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("cookie", format!("tally_session={session}"))
        .send()
        .await
        .unwrap();
    let cleared = logout.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(!cleared.contains(body_of(&session)), "{cleared}");
    r.seen.push(("logout".into(), read(logout).await.1));

    r.assert_none_contain(&[&token, &session, &owner.token]);
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// With everything logged at TRACE (the request spans and events of the
/// HTTP trace layer included), no secret shows up in a log line. The test
/// runs on tokio's current-thread runtime, so the thread's default
/// subscriber sees the server's work too (the store's blocking-pool work
/// logs nothing).
#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let capture = tracing::Dispatch::new(subscriber);
    // While only one dispatcher is registered, tracing decides whether a
    // callsite is enabled by asking the default of the thread that first
    // reaches it, and caches the answer for the process: a callsite first
    // reached by another test's thread (which has no subscriber) would be off
    // for this test too. With a second dispatcher alive, every live one is
    // asked.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::dispatcher::set_default(&capture);

    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let p = fx.project_a;
    let mut secrets = vec![
        fx.dev_secret.clone(),
        fx.admin_secret.clone(),
        fx.secret_b.clone(),
        fx.owner.token.clone(),
        fx.developer.token.clone(),
    ];

    // Over HTTP: create a key, list, read, revoke.
    let created = app
        .create(
            &fx.developer,
            &format!("/api/projects/{p}/api-keys"),
            json!({"name": "logged"}),
        )
        .await;
    let secret = created["keySecret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    secrets.push(secret.clone());
    assert_eq!(
        app.get(&fx.owner, &format!("/api/projects/{p}/api-keys")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&fx.developer, &format!("/api/api-keys/{id}")).await.0,
        StatusCode::OK
    );

    // Failed requests with a wrong or garbage token, and with the key itself.
    for value in [
        format!("Bearer {secret}"),
        format!("Bearer tlp_{}", body_of(&secret)),
        format!("Bearer {}", body_of(&secret)),
        "Bearer tlp_garbage".to_owned(),
        "garbage".to_owned(),
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/projects/{p}/api-keys")))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = app
        .client
        .get(app.url("/api/me"))
        .header("cookie", format!("tally_session=tls_{}", body_of(&secret)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A personal token and a session over HTTP.
    let (_, token) = app.post(&fx.owner, "/api/me/tokens", json!({"name": "ci"})).await;
    secrets.push(token["tokenSecret"].as_str().unwrap().to_owned());
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": fx.owner.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    secrets.push(session.strip_prefix("tally_session=").unwrap().to_owned());
    let me = app
        .client
        .get(app.url("/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // What the gateway will use: creating keys and tokens, and looking keys up.
    let (key, direct) =
        accounts::create_api_key(&app.store, &app.hasher, p, &Name::parse("direct").unwrap(), fx.owner.id)
            .await
            .unwrap();
    secrets.push(direct.expose().to_owned());
    let found = app
        .store
        .active_key_by_hash(&app.hasher.hash(direct.expose()))
        .await
        .unwrap();
    assert_eq!(found.id, key.id);
    app.store.touch_api_key(key.id, jiff::Timestamp::now()).await.unwrap();
    for kind in [TokenKind::Personal, TokenKind::Session] {
        let (_, t) = accounts::create_token(&app.store, &app.hasher, fx.owner.id, kind, "direct")
            .await
            .unwrap();
        secrets.push(t.expose().to_owned());
    }
    let email = Email::parse(&fx.owner.email).unwrap();
    assert!(
        accounts::check_login(
            &app.store,
            &email,
            PASSWORD,
            app.security.login.hash_permit().await.unwrap()
        )
        .await
        .unwrap()
        .is_some()
    );
    assert!(
        accounts::check_login(
            &app.store,
            &email,
            &secret,
            app.security.login.hash_permit().await.unwrap()
        )
        .await
        .unwrap()
        .is_none()
    );
    let (_, revoked) = app
        .call(
            Some(&fx.owner),
            Method::POST,
            &format!("/api/api-keys/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(revoked["status"], "revoked");

    // Invitation links: created, looked up, refused, accepted.
    secrets.push(fx.invite_a.token.clone());
    secrets.push(fx.invite_owner_a.token.clone());
    let invited = app
        .create(
            &fx.owner,
            &format!("/api/organizations/{}/invitations", fx.org_a),
            json!({"email": "logged@a.example", "role": "developer"}),
        )
        .await;
    let invitation = invited["token"].as_str().unwrap().to_owned();
    secrets.push(invitation.clone());
    for (path, body, status) in [
        ("/api/invitations/lookup", json!({"token": invitation}), 200),
        ("/api/invitations/accept", json!({"token": fx.invite_a.token}), 403),
        (
            "/api/invitations/accept",
            json!({"token": fx.invite_owner_a.token, "name": "Pat", "password": "long enough"}),
            200,
        ),
    ] {
        let (got, _) = app.call(Some(&fx.owner), Method::POST, path, Some(body)).await;
        assert_eq!(got.as_u16(), status, "{path}");
    }

    let text = logs.text();
    // The capture works: the trace layer logged these requests, the failed ones included.
    assert!(text.contains("tower_http"), "{text}");
    assert!(text.contains(&format!("/api/projects/{p}/api-keys")), "{text}");
    assert!(text.contains("status=401"), "{text}");
    assert!(text.contains("status=201"), "{text}");
    assert!(text.contains("/api/invitations/accept"), "{text}");
    for secret in &secrets {
        assert!(
            !text.contains(body_of(secret)),
            "the logs contain a secret ({}…):\n{text}",
            &secret[..4]
        );
    }
}
