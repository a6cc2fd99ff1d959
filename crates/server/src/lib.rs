//! The HTTP edge of tally: the management API under `/api` (and, in later
//! layers, the gateway and the dashboard). Handlers parse input into core
//! types, check access, call the store and render one JSON error shape.

pub mod accounts;
mod api;
pub mod demo;
pub mod error;
mod extract;
pub mod secrets;

use std::sync::Arc;

use axum::Router;
use tally_store::Store;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use secrets::KeyHasher;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hasher: KeyHasher,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, hasher: KeyHasher) -> Self {
        Self { store, hasher }
    }
}

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", axum::routing::get(index))
        .nest("/api", api::router())
        .fallback(api::not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A minimal landing page until the dashboard is served here.
async fn index() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("index.html"))
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
