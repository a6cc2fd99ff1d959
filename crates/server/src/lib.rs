//! The HTTP edge of tally: the management API under `/api`, the gateway
//! under `/v1` and the dashboard at `/`. Handlers parse input into core
//! types, check access, call the store and render one JSON error shape.

pub mod accounts;
pub mod alerts;
mod analytics;
mod api;
pub mod api_key;
pub mod budgets;
pub mod clock;
mod dashboard;
pub mod demo;
pub mod error;
mod extract;
pub mod gateway;
pub mod listen;
mod log;
pub mod login;
pub mod secrets;
pub mod security;

use std::sync::{Arc, Mutex};

use axum::Router;
use tally_store::Store;
use tokio::net::TcpListener;

use crate::api_key::cache::KeyCache;
use crate::api_key::limits::Limiter;
use crate::clock::{Clock, SystemClock};
use crate::gateway::Gateway;
use crate::gateway::routing::Providers;
use crate::gateway::writer::{DEFAULT_QUEUE, Recorder, WriterHandle};

pub use error::ApiError;
pub use listen::ConnectionLimits;
pub use secrets::KeyHasher;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: KeyHasher,
    pub gateway: Arc<Gateway>,
    /// Active API keys, cached briefly (`api_key/cache.rs`).
    pub keys: Arc<KeyCache>,
    /// API keys' rate limits (`api_key/limits.rs`), on the gateway's clock.
    pub limiter: Arc<Limiter>,
    /// Blocking budgets as last read (`budgets/`), on the gateway's clock.
    pub budgets: Arc<budgets::Budgets>,
    /// Delivers webhook payloads (`alerts/`).
    pub alerts: Arc<alerts::Sender>,
    /// Login limits, cookie and proxy settings (`security.rs`).
    pub security: Arc<security::Security>,
    /// The activity writer, taken by [`serve`] to drain it on shutdown.
    writer: Arc<Mutex<Option<WriterHandle>>>,
}

impl AppState {
    /// A state with no providers configured (the management API alone).
    pub fn new(store: Arc<dyn Store>, hasher: KeyHasher) -> Self {
        Self::with_gateway(store, hasher, Providers::default(), Arc::new(SystemClock))
    }

    /// Starts the activity writer; must be called inside a tokio runtime.
    pub fn with_gateway(store: Arc<dyn Store>, hasher: KeyHasher, providers: Providers, clock: Arc<dyn Clock>) -> Self {
        let activity: Arc<dyn tally_store::ActivityStore> = store.clone().into_activity();
        let (recorder, writer) = Recorder::start(activity, DEFAULT_QUEUE);
        let limiter = Arc::new(Limiter::new(clock.clone()));
        let alerts = Arc::new(alerts::Sender::new(hasher.clone()));
        let budgets = Arc::new(budgets::Budgets::new(
            clock.clone(),
            1,
            budgets::REFRESH,
            alerts.wake.clone(),
        ));
        let gateway = Arc::new(Gateway::new(providers, recorder, clock));
        Self {
            store,
            hasher,
            gateway,
            keys: Arc::new(KeyCache::default()),
            limiter,
            budgets,
            alerts,
            security: Arc::new(security::Security::new(security::SecuritySettings::default())),
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// Budgets assuming at least `replicas` replicas share the store, their
    /// spend read every `refresh` (see `budgets/`).
    pub fn with_budgets(mut self, replicas: u32, refresh: std::time::Duration) -> Self {
        self.budgets = Arc::new(budgets::Budgets::new(
            self.gateway.clock.clone(),
            replicas,
            refresh,
            self.alerts.wake.clone(),
        ));
        self
    }

    /// Replaces the default login limits and cookie and proxy settings.
    pub fn with_security(mut self, settings: security::SecuritySettings) -> Self {
        self.security = Arc::new(security::Security::new(settings));
        self
    }

    /// Takes the writer handle (once): after every clone of this state is
    /// gone, [`WriterHandle::drained`] completes when the queue is written.
    pub fn take_writer(&self) -> Option<WriterHandle> {
        self.writer.lock().ok().and_then(|mut w| w.take())
    }
}

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(dashboard::router())
        .nest("/api/analytics", analytics::router())
        .nest("/api/activity", log::router())
        .nest("/api", api::router())
        .nest(
            "/v1",
            gateway::router()
                .merge(analytics::v1_router())
                .layer(axum::middleware::map_response(gateway::request_id::ensure)),
        )
        .fallback(dashboard::fallback)
        // Failures are logged where they happen (an upstream 500 is not ours).
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(()))
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes in-flight requests
/// (streams included) and writes every queued activity event before
/// returning.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ConnectionLimits::default(), shutdown).await
}

/// [`serve`] with the given connection limits.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let writer = state.take_writer();
    let pruning = tokio::spawn(gateway::capture::prune(state.store.clone().into_activity()));
    // Budgets hold from the first request: read once before serving.
    state.budgets.refresh(state.store.as_ref()).await;
    let budgets = tokio::spawn(state.budgets.clone().run(state.store.clone()));
    let alerts = tokio::spawn(state.alerts.clone().run(state.store.clone()));
    let served = listen::serve_connections(listener, app(state), limits, shutdown).await;
    pruning.abort();
    budgets.abort();
    alerts.abort();
    if let Some(writer) = writer {
        writer.drained().await;
    }
    served
}
