//! Test harness: a real server on an ephemeral port over a fresh store.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tally_core::{ApiKeyId, Email, Name, OrgId, Plan, ProjectId, Role, TokenId, UserId};
use tally_server::security::{Security, SecuritySettings};
use tally_server::{AppState, KeyHasher, accounts, secrets};
use tally_store::sqlite::SqliteStore;
use tally_store::{AccountStore, TokenKind};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: SqliteStore,
    pub hasher: KeyHasher,
    pub client: reqwest::Client,
    /// The server's login limiter and settings.
    pub security: Arc<Security>,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

/// A user with a personal access token.
#[derive(Clone)]
pub struct TestUser {
    pub id: UserId,
    pub email: String,
    pub token: String,
    pub token_id: TokenId,
}

pub const PASSWORD: &str = "correct horse battery";

/// One argon2 hash of [`PASSWORD`] shared by every user the harness creates:
/// hashing costs tens of milliseconds, and the authorization matrix creates
/// hundreds of users. Login still verifies against a real argon2id hash.
static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| secrets::hash_password(PASSWORD).unwrap());

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(SecuritySettings::default()).await
    }

    /// A server with these login limits and cookie and proxy settings.
    pub async fn spawn_with(settings: SecuritySettings) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let hasher = KeyHasher::load_or_create(dir.path()).unwrap();
        let state = AppState::new(Arc::new(store.clone()), hasher.clone()).with_security(settings);
        let security = state.security.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(tally_server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            store,
            hasher,
            client: reqwest::Client::new(),
            security,
            _dir: dir,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates a user (password [`PASSWORD`]) with a personal access token named "tests".
    pub async fn user(&self, email: &str, name: &str) -> TestUser {
        let hash = PASSWORD_HASH.clone();
        let user = self
            .store
            .create_user(&Email::parse(email).unwrap(), &Name::parse(name).unwrap(), &hash)
            .await
            .unwrap();
        let (token, secret) = accounts::create_token(&self.store, &self.hasher, user.id, TokenKind::Personal, "tests")
            .await
            .unwrap();
        TestUser {
            id: user.id,
            email: email.to_owned(),
            token: secret.expose().to_owned(),
            token_id: token.id,
        }
    }

    pub async fn org(&self, name: &str, plan: Plan, owner: &TestUser) -> OrgId {
        self.store
            .create_org(&Name::parse(name).unwrap(), plan, owner.id)
            .await
            .unwrap()
            .id
    }

    pub async fn member(&self, org: OrgId, user: &TestUser, role: Role) {
        self.store.add_member(org, user.id, role).await.unwrap();
    }

    pub async fn project(&self, org: OrgId, name: &str) -> ProjectId {
        self.store
            .create_project(org, &Name::parse(name).unwrap())
            .await
            .unwrap()
            .id
    }

    /// Creates an API key through the account functions; returns its id and secret.
    pub async fn key(&self, project: ProjectId, name: &str, creator: &TestUser) -> (ApiKeyId, String) {
        let (key, secret) = accounts::create_api_key(
            &self.store,
            &self.hasher,
            project,
            &Name::parse(name).unwrap(),
            creator.id,
        )
        .await
        .unwrap();
        (key.id, secret.expose().to_owned())
    }

    /// Sends raw bytes with an optional content type; returns status and body as in [`TestApp::call`].
    pub async fn raw(
        &self,
        user: Option<&TestUser>,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).body(body);
        if let Some(user) = user {
            req = req.bearer_auth(&user.token);
        }
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        read(req.send().await.unwrap()).await
    }

    /// Sends a request as `user` (or anonymously) and returns status and JSON body
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        user: Option<&TestUser>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(user) = user {
            req = req.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> (StatusCode, Value) {
        self.call(Some(user), Method::GET, path, None).await
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(user), Method::POST, path, Some(body)).await
    }

    /// POSTs as `user`, asserts 201 Created and returns the body.
    pub async fn create(&self, user: &TestUser, path: &str, body: Value) -> Value {
        let (status, created) = self.post(user, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    pub async fn patch(&self, user: &TestUser, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(user), Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> (StatusCode, Value) {
        self.call(Some(user), Method::DELETE, path, None).await
    }
}

/// Status and JSON body (`Value::Null` when empty, a string when not JSON).
pub async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// The `id` of every element of a JSON array, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array: {list}"))
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The string fields `a` and `b` of every element of a JSON array, in order.
pub fn pairs<C: FromIterator<(String, String)>>(list: &Value, a: &str, b: &str) -> C {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array: {list}"))
        .iter()
        .map(|v| (v[a].as_str().unwrap().to_owned(), v[b].as_str().unwrap().to_owned()))
        .collect()
}

/// Asserts the API's error shape with `code` (and `param`, when given).
pub fn assert_error(body: &Value, code: &str, param: Option<&str>) {
    let err = &body["error"];
    assert_eq!(err["code"], code, "error body: {body}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error body: {body}"
    );
    if let Some(param) = param {
        assert_eq!(err["param"], param, "error body: {body}");
    }
}
