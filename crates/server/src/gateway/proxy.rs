//! The POST endpoints: authenticate, read and route the request, pass it
//! upstream, and hand the response back (whole, or as a stream through
//! [`super::stream`]), recording exactly one event.

use std::borrow::Cow;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tally_core::{Endpoint, Outcome};

use super::body::RawObject;
use super::event::{Draft, Ending};
use super::providers::{Provider, WireFormat};
use super::stream::{EventGuard, relay};
use super::{Gateway, GatewayError, Protocol, attribution, authenticate, usage};
use crate::AppState;

/// Largest upstream error body read (the rest is not needed).
const MAX_ERROR_BODY: usize = 1024 * 1024;
/// Largest whole (non-streamed) upstream response read.
const MAX_RESPONSE_BODY: usize = 256 * 1024 * 1024;

/// Upstream response headers worth passing back to the client.
const PASSED_BACK: &[&str] = &["retry-after", "x-request-id", "request-id", "openai-processing-ms"];
const PASSED_BACK_PREFIXES: &[&str] = &["x-ratelimit-", "anthropic-ratelimit-"];

pub async fn chat_completions(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, Protocol::OpenAi, Endpoint::ChatCompletions, headers, body).await
}

pub async fn embeddings(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, Protocol::OpenAi, Endpoint::Embeddings, headers, body).await
}

pub async fn messages(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, Protocol::Anthropic, Endpoint::Messages, headers, body).await
}

fn path_of(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::ChatCompletions => "chat/completions",
        Endpoint::Embeddings => "embeddings",
        Endpoint::Models => "models",
        Endpoint::Messages => "messages",
    }
}

async fn handle(state: AppState, protocol: Protocol, endpoint: Endpoint, headers: HeaderMap, body: Body) -> Response {
    let began = Instant::now();
    let gateway = state.gateway.clone();
    let started_at = gateway.clock.now();
    // Nothing about an unauthenticated request is recorded.
    let key = match authenticate(&state, &headers).await {
        Ok(key) => key,
        Err(e) => return e.render(protocol),
    };
    let mut draft = Draft::new(started_at, began, key, endpoint, attribution::app(&headers));
    match prepare(&state, &gateway, protocol, &headers, body, &mut draft).await {
        Ok(upstream) => send(&gateway, protocol, upstream, draft).await,
        Err(e) => {
            let status = e.status.as_u16();
            gateway
                .recorder
                .record(draft.finish(Ending::failed(Outcome::ClientError, status, e.message.clone())))
                .await;
            e.render(protocol)
        }
    }
}

/// A request ready to go upstream.
struct Upstream {
    request: reqwest::RequestBuilder,
    provider: std::sync::Arc<Provider>,
    /// For OpenAI streams where the gateway added `include_usage`: hide the
    /// usage-only chunk the client did not ask for.
    hide_usage_chunk: bool,
}

async fn prepare(
    state: &AppState,
    gateway: &Gateway,
    protocol: Protocol,
    headers: &HeaderMap,
    body: Body,
    draft: &mut Draft,
) -> Result<Upstream, GatewayError> {
    let bytes = axum::body::to_bytes(body, gateway.body_limit).await.map_err(|_| {
        GatewayError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} bytes", gateway.body_limit),
        )
    })?;
    let mut body = RawObject::parse(&bytes)
        .map_err(|e| GatewayError::new(StatusCode::BAD_REQUEST, format!("the body must be a JSON object: {e}")))?;
    let model = match body.get::<String>("model") {
        Some(m) if !m.is_empty() => m,
        _ => {
            return Err(GatewayError::new(
                StatusCode::BAD_REQUEST,
                "`model` must be a non-empty string",
            ));
        }
    };
    draft.requested_model = Some(model.chars().take(200).collect());
    draft.stream = body.get::<bool>("stream").unwrap_or(false);
    draft.request = bytes.clone();

    let settings = gateway
        .settings
        .get(state.store.as_ref(), draft.key.org_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "loading organization settings failed");
            GatewayError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?;
    let route = gateway
        .providers
        .resolve(&model, &settings.mappings, gateway.catalog)
        .map_err(|e| GatewayError::new(StatusCode::NOT_FOUND, e.to_string()))?;
    let wanted = match protocol {
        Protocol::OpenAi => WireFormat::Openai,
        Protocol::Anthropic => WireFormat::Anthropic,
    };
    if route.provider.kind != wanted {
        let path = if wanted == WireFormat::Openai {
            "/v1/messages"
        } else {
            "/v1/chat/completions"
        };
        return Err(GatewayError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "provider `{}` speaks the other wire format; send this model to {path}",
                route.provider.id
            ),
        ));
    }
    draft.prices = settings
        .prices
        .iter()
        .find(|p| p.model == route.routed)
        .or_else(|| settings.prices.iter().find(|p| p.model == route.canonical))
        .map(|p| Cow::Owned(super::settings::prices_of(p)))
        .or_else(|| {
            gateway
                .catalog
                .prices(&route.provider.id, &route.upstream_model)
                .map(Cow::Borrowed)
        });

    // Forward the body unchanged but for the model and, on OpenAI streams,
    // a request for usage.
    let bad = |e: serde_json::Error| GatewayError::new(StatusCode::BAD_REQUEST, e.to_string());
    body.set("model", &route.upstream_model).map_err(bad)?;
    let mut hide_usage_chunk = false;
    if draft.stream && draft.endpoint == Endpoint::ChatCompletions {
        let mut options = match body.get::<Value>("stream_options") {
            Some(Value::Object(o)) => o,
            _ => serde_json::Map::new(),
        };
        if options.get("include_usage").and_then(Value::as_bool) != Some(true) {
            hide_usage_chunk = true;
            options.insert("include_usage".into(), Value::Bool(true));
            body.set("stream_options", &options).map_err(bad)?;
        }
    }
    let body = body.to_vec();

    let provider = route.provider.clone();
    let mut request = gateway
        .http
        .post(provider.url(path_of(draft.endpoint)))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    request = match (provider.kind, &provider.api_key) {
        (WireFormat::Openai, Some(k)) => request.bearer_auth(k.expose()),
        (WireFormat::Anthropic, Some(k)) => request.header("x-api-key", k.expose()),
        (_, None) => request,
    };
    if provider.kind == WireFormat::Anthropic {
        let version = headers
            .get("anthropic-version")
            .cloned()
            .unwrap_or(HeaderValue::from_static("2023-06-01"));
        request = request.header("anthropic-version", version);
        if let Some(beta) = headers.get("anthropic-beta") {
            request = request.header("anthropic-beta", beta.clone());
        }
    }
    for (name, value) in &provider.headers {
        request = request.header(name.clone(), value.clone());
    }
    draft.route = Some(route);
    Ok(Upstream {
        request,
        provider,
        hide_usage_chunk,
    })
}

async fn send(gateway: &Gateway, protocol: Protocol, upstream: Upstream, mut draft: Draft) -> Response {
    let sent = tokio::time::timeout(upstream.provider.first_byte_timeout, upstream.request.send()).await;
    let response = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let message = format!(
                "could not reach provider `{}`: {}",
                upstream.provider.id,
                error_chain(&e)
            );
            return fail(gateway, protocol, draft, StatusCode::BAD_GATEWAY, message).await;
        }
        Err(_) => {
            let message = format!(
                "provider `{}` did not answer within {:?}",
                upstream.provider.id, upstream.provider.first_byte_timeout
            );
            return fail(gateway, protocol, draft, StatusCode::GATEWAY_TIMEOUT, message).await;
        }
    };
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let passed = passed_back(response.headers());
    draft.first_byte = Some(draft.began.elapsed());

    if !status.is_success() {
        let body = read_limited(response, MAX_ERROR_BODY).await.unwrap_or_default();
        let message = upstream_message(&body);
        let ending = Ending::failed(Outcome::UpstreamError, status.as_u16(), message);
        gateway.recorder.record(draft.finish(ending)).await;
        return build(status, passed, "application/json", Body::from(body));
    }

    if draft.stream {
        draft.first_byte = None;
        let guard = EventGuard::new(draft, gateway.recorder.clone());
        let body = relay(
            response,
            protocol,
            upstream.hide_usage_chunk,
            upstream.provider.idle_timeout,
            guard,
        );
        return build(status, passed, "text/event-stream", body);
    }

    match read_limited(response, MAX_RESPONSE_BODY).await {
        Ok(body) => {
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let reported = match protocol {
                Protocol::OpenAi => json.get("usage").and_then(usage::openai),
                Protocol::Anthropic => json.get("usage").and_then(usage::anthropic),
            };
            let ending = Ending {
                outcome: Outcome::Success,
                http_status: status.as_u16(),
                error: None,
                usage: reported,
                output_chars: usage::response_chars(&json),
            };
            gateway.recorder.record(draft.finish(ending)).await;
            build(status, passed, "application/json", Body::from(body))
        }
        Err(e) => {
            let message = format!(
                "the response from `{}` broke off: {}",
                upstream.provider.id,
                error_chain(&e)
            );
            fail(gateway, protocol, draft, StatusCode::BAD_GATEWAY, message).await
        }
    }
}

async fn fail(gateway: &Gateway, protocol: Protocol, draft: Draft, status: StatusCode, message: String) -> Response {
    let ending = Ending::failed(Outcome::GatewayError, status.as_u16(), message.clone());
    gateway.recorder.record(draft.finish(ending)).await;
    GatewayError::new(status, message).render(protocol)
}

fn build(
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    content_type: &'static str,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == "text/event-stream" {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    for (name, value) in headers {
        h.append(name, value);
    }
    response
}

fn passed_back(headers: &reqwest::header::HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            PASSED_BACK.contains(&n) || PASSED_BACK_PREFIXES.iter().any(|p| n.starts_with(p))
        })
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
                HeaderValue::from_bytes(value.as_bytes()).ok()?,
            ))
        })
        .collect()
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(Bytes::from(out))
}

/// The provider's own error message when its body has one, else the body.
fn upstream_message(body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    json.pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
