//! The gateway under `/v1`: OpenAI- and Anthropic-compatible endpoints that
//! authenticate a tally API key, route to a provider, pass the request
//! through, read usage from the response or stream, price it, and record
//! one activity event per request, whatever happens.

pub mod attribution;
mod body;
pub mod capture;
mod errors;
pub mod event;
mod models;
pub mod providers;
mod proxy;
mod read;
pub mod request_id;
pub mod routing;
pub mod settings;
pub mod sse;
mod stream;
pub mod usage;
pub mod wire;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use tally_catalog::Catalog;
use tally_store::ApiKey;

pub use self::errors::GatewayError;
use self::routing::Providers;
use self::settings::SettingsCache;
use self::writer::Recorder;
use crate::AppState;
use crate::api_key::{self, KeyRefused};
use crate::clock::Clock;

/// Largest request body the gateway accepts (413 beyond, recorded).
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// Idle connections kept open per provider host; more are opened as
/// concurrency needs them and closed when they fall idle.
pub const MAX_IDLE_PER_PROVIDER: usize = 256;

/// Everything the gateway routes need.
pub struct Gateway {
    pub providers: Providers,
    pub catalog: &'static Catalog,
    pub http: reqwest::Client,
    pub recorder: Recorder,
    pub settings: SettingsCache,
    pub clock: Arc<dyn Clock>,
    pub body_limit: usize,
}

impl Gateway {
    pub fn new(providers: Providers, recorder: Recorder, clock: Arc<dyn Clock>) -> Self {
        let connect = providers
            .iter()
            .map(|p| p.connect_timeout)
            .max()
            .unwrap_or(Duration::from_secs(10));
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .pool_idle_timeout(Duration::from_secs(90))
            // Idle connections kept per provider after a burst: each costs
            // memory (buffers, a task, a socket) until the idle timeout.
            .pool_max_idle_per_host(MAX_IDLE_PER_PROVIDER)
            .tcp_nodelay(true)
            // A redirect would carry the prompt and the provider's
            // credentials to another host: it is answered as an error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            providers,
            catalog: Catalog::builtin(),
            http,
            recorder,
            settings: SettingsCache::default(),
            clock,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/completions", post(proxy::chat_completions))
        .route("/embeddings", post(proxy::embeddings))
        .route("/messages", post(proxy::messages))
        .route("/models", get(models::list))
}

/// The request's tally API key ([`api_key::authenticate`]), or the
/// gateway's answer to a request without one.
pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<ApiKey, GatewayError> {
    api_key::authenticate(&state.keys, state.store.as_ref(), &state.hasher, headers)
        .await
        .map_err(|e| match e {
            KeyRefused::Unknown => GatewayError::new(StatusCode::UNAUTHORIZED, e.to_string()),
            KeyRefused::Expired => {
                GatewayError::new(StatusCode::UNAUTHORIZED, e.to_string()).with_code("api_key_expired")
            }
            KeyRefused::Failed => GatewayError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        })
}
