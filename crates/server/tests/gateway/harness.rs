//! A running tally (gateway and API) in front of a running mock provider.

use std::net::SocketAddr;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;
use tally_core::{ActivityEvent, ApiKeyId, Email, Name, OrgId, Password, Plan, ProjectId, Role};
use tally_mock_provider::{MockConfig, MockProvider};
use tally_server::clock::{Clock, SystemClock};
use tally_server::gateway::providers::{Provider, ProviderConfig, WireFormat};
use tally_server::gateway::routing::Providers;
use tally_server::{AppState, ConnectionLimits, KeyHasher, accounts};
use tally_store::sqlite::SqliteStore;
use tally_store::{AccountStore, ActivityStore, TokenKind};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PROVIDER_KEY: &str = "sk-mock-provider";
/// `max_response_bytes` of the `tight` providers.
pub const TIGHT_MAX_BYTES: usize = 64 * 1024;

pub struct Gw {
    pub addr: SocketAddr,
    pub mock: MockProvider,
    pub store: SqliteStore,
    pub org: OrgId,
    /// The project of the key.
    pub project: ProjectId,
    /// A tally API key's secret, and its id.
    pub key: String,
    pub key_id: ApiKeyId,
    /// The owner's personal access token for the management API.
    pub admin_token: String,
    pub client: reqwest::Client,
    hasher: KeyHasher,
    providers: Providers,
    clock: Arc<dyn Clock>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

fn provider(id: &str, kind: WireFormat, base_url: String, tweak: impl FnOnce(&mut ProviderConfig)) -> Provider {
    let mut config = ProviderConfig {
        kind: Some(kind),
        base_url: Some(base_url),
        api_key_env: Some("MOCK_PROVIDER_KEY".into()),
        ..ProviderConfig::default()
    };
    tweak(&mut config);
    Provider::resolve(id, &config, |_| Some(PROVIDER_KEY.to_owned())).unwrap()
}

/// A preset provider (`kind` and key variable from the preset) at the mock.
fn preset(id: &str, base_url: String, tweak: impl FnOnce(&mut ProviderConfig)) -> Provider {
    let mut config = ProviderConfig {
        base_url: Some(base_url),
        ..ProviderConfig::default()
    };
    tweak(&mut config);
    Provider::resolve(id, &config, |_| Some(PROVIDER_KEY.to_owned())).unwrap()
}

/// `api_version` of the `azure-pinned` provider.
pub const PINNED_API_VERSION: &str = "2025-04-01-preview";

impl Gw {
    pub async fn start() -> Gw {
        Self::start_with(MockConfig::default()).await
    }

    pub async fn start_with(mock_config: MockConfig) -> Gw {
        Self::start_limited(mock_config, ConnectionLimits::default()).await
    }

    /// A gateway serving with the given connection limits.
    pub async fn start_limited(mock_config: MockConfig, limits: ConnectionLimits) -> Gw {
        Self::start_full(mock_config, limits, Arc::new(SystemClock)).await
    }

    /// A gateway whose requests are timed by `clock` (rate limits included).
    pub async fn start_clocked(clock: Arc<dyn Clock>) -> Gw {
        Self::start_full(MockConfig::default(), ConnectionLimits::default(), clock).await
    }

    async fn start_full(mut mock_config: MockConfig, limits: ConnectionLimits, clock: Arc<dyn Clock>) -> Gw {
        mock_config.expected_api_key = Some(PROVIDER_KEY.to_owned());
        let mock = MockProvider::start(mock_config).await.unwrap();
        let base = mock.base_url();
        let providers = Providers::new([
            provider("openai", WireFormat::Openai, format!("{base}/v1"), |_| {}),
            provider("anthropic", WireFormat::Anthropic, base.clone(), |_| {}),
            // The Azure preset: the mock's base URL stands in for a resource's endpoint.
            preset("azure", base.clone(), |_| {}),
            provider("azure-pinned", WireFormat::Azure, base.clone(), |c| {
                c.api_version = Some(PINNED_API_VERSION.into())
            }),
            // The Gemini preset, its base URL's path kept.
            preset("gemini", format!("{base}/v1beta/openai"), |_| {}),
            provider("house", WireFormat::Openai, format!("{base}/v1"), |c| {
                c.models = vec!["house-model".into()]
            }),
            provider("slow", WireFormat::Openai, format!("{base}/v1"), |c| {
                c.first_byte_timeout_secs = Some(1)
            }),
            // Short limits for careless-provider tests.
            provider("tight", WireFormat::Openai, format!("{base}/v1"), |c| {
                c.idle_timeout_secs = Some(1);
                c.body_timeout_secs = Some(2);
                c.max_response_bytes = Some(TIGHT_MAX_BYTES);
            }),
            provider("tight-anthropic", WireFormat::Anthropic, base.clone(), |c| {
                c.max_response_bytes = Some(TIGHT_MAX_BYTES);
            }),
            // Nothing listens on port 1: connections are refused.
            provider("dead", WireFormat::Openai, "http://127.0.0.1:1/v1".into(), |_| {}),
        ]);

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let hasher = KeyHasher::load_or_create(dir.path()).unwrap();
        let owner = accounts::create_user(
            &store,
            &Email::parse("owner@example.com").unwrap(),
            &Name::parse("Owner").unwrap(),
            &Password::parse("owner-password").unwrap(),
        )
        .await
        .unwrap();
        let org = store
            .create_org(&Name::parse("Org").unwrap(), Plan::Enterprise, owner.id)
            .await
            .unwrap()
            .id;
        let project = store.create_project(org, &Name::parse("P").unwrap()).await.unwrap().id;
        let (key, secret) = accounts::create_api_key(&store, &hasher, project, &Name::parse("k").unwrap(), owner.id)
            .await
            .unwrap();
        let (_, pat) = accounts::create_token(&store, &hasher, owner.id, TokenKind::Personal, "t")
            .await
            .unwrap();

        let state = AppState::with_gateway(
            Arc::new(store.clone()),
            hasher.clone(),
            providers.clone(),
            clock.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(tally_server::serve_with(listener, state, limits, async move {
            let _ = stopped.await;
        }));
        Gw {
            addr,
            mock,
            store,
            org,
            project,
            key: secret.expose().to_owned(),
            key_id: key.id,
            admin_token: pat.expose().to_owned(),
            client: reqwest::Client::new(),
            hasher,
            providers,
            clock,
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs JSON with the tally key as a bearer token.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs JSON to `/v1/messages` the way Anthropic's clients do: the
    /// tally key in `x-api-key`, with `anthropic-version`.
    pub async fn post_messages(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/messages"))
            .header("x-api-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Adds a developer to the organization; returns their id and
    /// personal access token.
    pub async fn developer_token(&self) -> (tally_core::UserId, String) {
        let dev = accounts::create_user(
            &self.store,
            &Email::parse("dev@example.com").unwrap(),
            &Name::parse("Dev").unwrap(),
            &Password::parse("dev-password").unwrap(),
        )
        .await
        .unwrap();
        self.store.add_member(self.org, dev.id, Role::Developer).await.unwrap();
        let (_, pat) = accounts::create_token(&self.store, &self.hasher, dev.id, TokenKind::Personal, "dev")
            .await
            .unwrap();
        (dev.id, pat.expose().to_owned())
    }

    /// A new key in `project`, created by `by`; its secret and id.
    pub async fn key_in(&self, project: ProjectId, by: tally_core::UserId) -> (String, ApiKeyId) {
        let (key, secret) =
            accounts::create_api_key(&self.store, &self.hasher, project, &Name::parse("k2").unwrap(), by)
                .await
                .unwrap();
        (secret.expose().to_owned(), key.id)
    }

    /// Stops tally gracefully: in-flight requests finish, the queue drains.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }

    /// Stops tally (which writes every queued event), then serves it again
    /// over the same store and clock, at a new address: what was recorded
    /// can be read through it, without waiting for the writer.
    pub async fn reopen(&mut self) {
        self.stop().await;
        let state = AppState::with_gateway(
            Arc::new(self.store.clone()),
            self.hasher.clone(),
            self.providers.clone(),
            self.clock.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        self.served = Some(tokio::spawn(tally_server::serve(listener, state, async move {
            let _ = stopped.await;
        })));
        self.stop = Some(stop);
    }

    /// Restarts tally (so every queued event is written) and returns every
    /// recorded event, oldest first; tally serves on afterwards.
    pub async fn store_events(&mut self) -> Vec<ActivityEvent> {
        self.reopen().await;
        let mut events = self.store.recent_events(self.org, 100_000).await.unwrap();
        events.reverse();
        events
    }

    /// Stops tally, then returns every recorded event, oldest first.
    pub async fn events(&mut self) -> Vec<ActivityEvent> {
        self.stop().await;
        let mut events = self.store.recent_events(self.org, 100_000).await.unwrap();
        events.reverse();
        events
    }
}

/// Calls the management API as the organization's owner.
pub async fn api(gw: &Gw, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = gw.client.request(method, gw.url(path)).bearer_auth(&gw.admin_token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The exact cost of `usage` for `model` of `provider` in the built-in catalog.
pub fn catalog_cost(provider: &str, model: &str, usage: &tally_core::Usage) -> tally_core::Money {
    let prices = tally_catalog::Catalog::builtin().prices(provider, model).unwrap();
    tally_catalog::cost(prices, usage)
}

pub fn now() -> Timestamp {
    Timestamp::now()
}
