//! A mock LLM provider speaking the real OpenAI and Anthropic wire formats,
//! for tests and demos of the tally gateway.
//!
//! # Endpoints
//!
//! | path | format |
//! | --- | --- |
//! | `POST /v1/chat/completions` | OpenAI chat completion / `chat.completion.chunk` SSE |
//! | `POST /v1/embeddings` | OpenAI embeddings (`float` or `base64`) |
//! | `GET /v1/models` | OpenAI model list (Anthropic's shape when `anthropic-version` is sent) |
//! | `POST /v1/messages` | Anthropic Messages, plain or SSE |
//! | `POST /openai/deployments/{deployment}/chat/completions?api-version=…` | Azure OpenAI chat (OpenAI's, a first stream chunk of `prompt_filter_results`) |
//! | `POST /openai/deployments/{deployment}/embeddings?api-version=…` | Azure OpenAI embeddings |
//! | `POST /v1beta/openai/chat/completions` | Gemini's OpenAI-compatible chat (stream usage on the last chunk with choices) |
//! | `POST /v1beta/openai/embeddings`, `GET /v1beta/openai/models` | Gemini's OpenAI-compatible embeddings and models |
//!
//! Azure endpoints check `api-key: <key>` and refuse a request without an
//! `api-version` query (400); a body without `model` is read as naming the
//! deployment. OpenAI and Gemini endpoints check `Authorization: Bearer <key>`, Anthropic ones
//! `x-api-key` (or, when absent, `Authorization: Bearer`, which recent
//! Anthropic SDKs send), against [`MockConfig::expected_api_key`] when set.
//! `/v1/messages` requires an `anthropic-version` header, like the real API.
//!
//! # Usage formula
//!
//! `chars` counts Unicode scalar values of all text in the message contents
//! (string contents, or the `text` of content parts; images and tool calls
//! count nothing), plus the Anthropic `system` prompt.
//!
//! * prompt tokens = `ceil(chars / 4) + 8 × messages` (an Anthropic `system`
//!   counts as one more message);
//! * output tokens = `min(max_completion_tokens or max_tokens, 24)`, 24 if
//!   neither is given; the reply has exactly that many words and a stream
//!   sends one text delta per word. `finish_reason` is `length`
//!   (`stop_reason` `max_tokens`) when fewer than 24, else `stop` (`end_turn`);
//! * model names (lower-cased, after any `provider/` prefix) containing
//!   `cache` (or any request whose messages contain `mock:cache`): OpenAI reports `prompt_tokens_details.cached_tokens =
//!   floor(prompt / 2)`; Anthropic reports `cache_read_input_tokens =
//!   floor(prompt / 2)`, `cache_creation_input_tokens = 16` (on top of the
//!   prompt tokens) and `input_tokens = prompt - cache_read` (excluding cache
//!   reads and writes, as the real API does);
//! * OpenAI models starting with `o` + digit (o1, o3-mini) or containing
//!   `reasoning`/`thinking`: `completion_tokens_details.reasoning_tokens =
//!   floor(output / 3)`, included in `completion_tokens`. Anthropic reports
//!   no reasoning count;
//! * embeddings: `ceil(chars / 4)` per text input (a token-id array counts its
//!   length), no output; each input gets 8 deterministic unit-length floats.
//!
//! [`expected_usage`] computes these with the handlers' own code.
//!
//! # Magic strings
//!
//! Read from the text of the last `user` message (any input text for
//! embeddings), so they pass through a gateway untouched:
//!
//! * `mock:error=<status>` (400–599; e.g. 400, 429, 500): an error in the
//!   protocol's shape; 429 adds `retry-after: 1`;
//! * `mock:latency=<ms>`: wait that long (on top of [`MockConfig::latency`]);
//! * `mock:reset`: streams send a few frames and then the connection is
//!   aborted mid-body; non-streaming requests are closed with no response;
//! * `mock:nousage`: OpenAI formats omit usage (no `usage` field, no usage
//!   chunk). Anthropic ignores it: the real API always reports usage.
//! * `mock:usage=<json>`: the prompt count (`prompt_tokens`, Anthropic's
//!   `input_tokens`) is reported as that JSON value, as a careless provider
//!   might (`18446744073709551615`, `3.5`, `-1`, `"10"`).
//!
//! Careless-provider answers (chat and messages; `oddities.rs`):
//!
//! * `mock:redirect=<url>`: 307 with `Location: <url>`;
//! * `mock:status=<n>` (200–999, e.g. 999): that status with body `{}`;
//! * `mock:stall_body`: 200, the first bytes of a body, then silence;
//! * `mock:drip`: 200, a body of one space every 100 ms, never ending;
//! * `mock:huge=<bytes>`: 200 with a JSON body about that long (streams: one
//!   `data:` line that long), sent in 16 KiB pieces;
//! * `mock:html`: 200 with an HTML page;
//! * `mock:error_body`: 200 with an OpenAI-shaped error object.

mod anthropic;
mod azure;
mod azure_key;
mod behaviour;
mod embeddings;
mod gemini;
mod models;
mod oddities;
mod openai;
mod stream;
mod usage;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use models::model_ids;
pub use usage::{CACHE_WRITE_TOKENS, MAX_OUTPUT_TOKENS, MockUsage, PER_MESSAGE_TOKENS, expected_usage, reply_text};

/// Largest request body accepted (Anthropic's limit).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long [`MockProvider::shutdown`] waits for open connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Server-wide behaviour.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    /// Wait before the first byte of every response.
    pub latency: Duration,
    /// Wait between stream frames.
    pub chunk_delay: Duration,
    /// When set, a missing or different key gets a 401 in the protocol's shape.
    pub expected_api_key: Option<String>,
}

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// The query string, without `?`; `None` when there was none.
    pub query: Option<String>,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The JSON body; `Null` if empty or not JSON.
    pub body: Value,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, as sent (not decoded).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// Shared record of every request a [`router`] receives.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Received>>>);

impl RequestLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request so far, in arrival order.
    pub fn snapshot(&self) -> Vec<Received> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn push(&self, received: Received) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(received);
    }
}

pub(crate) struct AppState {
    pub(crate) config: MockConfig,
}

/// The mock's routes, recording every request into `log`.
pub fn router(config: MockConfig, log: RequestLog) -> Router {
    let state = Arc::new(AppState { config });
    Router::new()
        .route("/v1/chat/completions", post(openai::chat))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route("/v1/models", get(models::list))
        .route("/v1/messages", post(anthropic::messages))
        .route("/openai/deployments/{deployment}/chat/completions", post(azure::chat))
        .route("/openai/deployments/{deployment}/embeddings", post(azure::embeddings))
        .route("/v1beta/openai/chat/completions", post(gemini::chat))
        .route("/v1beta/openai/embeddings", post(gemini::embeddings))
        .route("/v1beta/openai/models", get(models::list))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(log, record))
        .layer(DefaultBodyLimit::disable())
}

/// Serves the mock on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_log(listener, config, RequestLog::new(), shutdown).await
}

async fn serve_with_log(
    listener: TcpListener,
    config: MockConfig,
    log: RequestLog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config, log))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A running mock server. Dropping it stops the server too.
pub struct MockProvider {
    addr: SocketAddr,
    log: RequestLog,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl MockProvider {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start(config: MockConfig) -> std::io::Result<MockProvider> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    pub async fn start_on(addr: SocketAddr, config: MockConfig) -> std::io::Result<MockProvider> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let log = RequestLog::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve_with_log(listener, config, log.clone(), shutdown));
        tracing::debug!(%addr, "mock provider listening");
        Ok(MockProvider {
            addr,
            log,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash, no `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_received(&self) {
        self.log.clear();
    }

    /// Stops accepting, waits (up to 5 s) for open connections, then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut *task).await.is_err() {
            task.abort();
        }
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Records the request (buffering its body) and tags the response with a
/// request id, like both real APIs do.
async fn record(State(log): State<RequestLog>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return openai::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large.",
            "invalid_request_error",
            None,
            None,
        );
    };
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), value)
        })
        .collect();
    tracing::debug!(method = %parts.method, path = parts.uri.path(), "mock provider request");
    log.push(Received {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let id = format!("req_{}", stream::random_id(24));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value.clone());
        response.headers_mut().insert("request-id", value);
    }
    // A provider's own rate-limit level, as OpenAI sends it on every answer.
    response
        .headers_mut()
        .insert("x-ratelimit-limit-requests", HeaderValue::from_static("10000"));
    response
}

async fn not_found(request: Request) -> Response {
    let message = format!("Invalid URL ({} {})", request.method(), request.uri().path());
    openai::error(StatusCode::NOT_FOUND, &message, "invalid_request_error", None, None)
}
