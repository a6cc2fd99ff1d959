//! The POST endpoints: authenticate, read and route the request, pass it
//! upstream, and hand the response back (whole, or as a stream through
//! [`super::stream`]), recording exactly one event.
//!
//! Everything after authentication runs in a task of its own that the
//! handler awaits: a client that leaves drops the handler, not the work, so
//! the provider's answer (which it bills) is still read, within the
//! provider's timeouts and caps, and recorded as `canceled`.
//!
//! When the key's project captures bodies (read from the organization's
//! cached settings), the request body as received and the provider's body
//! as relayed go with the event ([`super::capture`]); headers never do.

use std::time::Instant;

use jiff::Timestamp;
use tally_store::ApiKey;
use tokio::sync::oneshot;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tally_core::{Endpoint, EventId, Outcome};

use super::body::RawObject;
use super::capture::Captured;
use super::event::{Draft, Ending};
use super::providers::Provider;
use super::read::{self, BodyLimits, RequestBodyError, UpstreamBodyError, error_chain};
use super::stream::{EventGuard, StreamLimits, relay};
use super::wire::{Wire, WireFormat};
use super::{Gateway, GatewayError, attribution, authenticate, usage};
use crate::AppState;
use crate::api_key::limits;
use crate::budgets;

/// Largest upstream error body read (the rest is not needed).
const MAX_ERROR_BODY: usize = 1024 * 1024;
/// Status recorded for a request whose client left before its body ended
/// (nginx's "client closed request"; no response is sent).
const CLIENT_CLOSED: u16 = 499;

/// Upstream response headers worth passing back to the client.
const PASSED_BACK: &[&str] = &["retry-after", "x-request-id", "request-id", "openai-processing-ms"];
const PASSED_BACK_PREFIXES: &[&str] = &["x-ratelimit-", "anthropic-ratelimit-"];

pub async fn chat_completions(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, WireFormat::Openai, Endpoint::ChatCompletions, headers, body).await
}

pub async fn embeddings(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, WireFormat::Openai, Endpoint::Embeddings, headers, body).await
}

pub async fn messages(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(state, WireFormat::Anthropic, Endpoint::Messages, headers, body).await
}

/// `spoken`: the wire format of the client route, for its error shape.
async fn handle(state: AppState, spoken: WireFormat, endpoint: Endpoint, headers: HeaderMap, body: Body) -> Response {
    let id = EventId::new();
    let mut response = answer(state, id, spoken, endpoint, headers, body).await;
    super::request_id::set(&mut response, id);
    response
}

/// The answer to one request, recorded as event `id`.
async fn answer(
    state: AppState,
    id: EventId,
    spoken: WireFormat,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let began = Instant::now();
    let started_at = state.gateway.clock.now();
    // Nothing about an unauthenticated request is recorded. Its body is
    // unread: the connection is closed rather than read as the next request.
    let key = match authenticate(&state, &headers).await {
        Ok(key) => key,
        Err(e) => return close_connection(e.render(spoken)),
    };
    let (present, presence) = oneshot::channel::<()>();
    let request = Request {
        id,
        spoken,
        endpoint,
        headers,
        began,
        started_at,
        key,
    };
    let work = tokio::spawn(serve(state, request, body, Presence(presence)));
    let response = work.await;
    drop(present);
    response.unwrap_or_else(|e| {
        tracing::error!(error = %e, "gateway request task failed");
        GatewayError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").render(spoken)
    })
}

/// Records a request whose body was refused as a client error, and
/// answers it closing the connection (the rest of the body is unread).
async fn refuse_body(gateway: &Gateway, spoken: WireFormat, draft: Draft, e: GatewayError) -> Response {
    let ending = Ending::failed(Outcome::ClientError, e.status.as_u16(), e.message.clone());
    gateway.recorder.record(draft.finish(ending)).await;
    close_connection(e.render(spoken))
}

/// An authenticated request, before its body is read.
struct Request {
    id: EventId,
    spoken: WireFormat,
    endpoint: Endpoint,
    headers: HeaderMap,
    began: Instant,
    started_at: Timestamp,
    key: ApiKey,
}

/// Whether the client is still waiting: its handler holds the other end.
struct Presence(oneshot::Receiver<()>);

impl Presence {
    fn left(&mut self) -> bool {
        matches!(self.0.try_recv(), Err(oneshot::error::TryRecvError::Closed))
    }
}

async fn serve(state: AppState, request: Request, body: Body, mut presence: Presence) -> Response {
    let gateway = state.gateway.clone();
    let Request {
        id,
        spoken,
        endpoint,
        headers,
        began,
        started_at,
        key,
    } = request;
    let mut draft = Draft::new(id, started_at, began, key, endpoint, attribution::app(&headers));
    let bytes = match read::request(&headers, body, gateway.body_limit).await {
        Ok(bytes) => bytes,
        Err(RequestBodyError::TooLarge) => {
            let message = format!("the request body is larger than {} bytes", gateway.body_limit);
            let e = GatewayError::new(StatusCode::PAYLOAD_TOO_LARGE, message);
            return refuse_body(&gateway, spoken, draft, e).await;
        }
        Err(RequestBodyError::Silent) => {
            let message = "the client fell silent while sending the request body".to_owned();
            let e = GatewayError::new(StatusCode::REQUEST_TIMEOUT, message);
            return refuse_body(&gateway, spoken, draft, e).await;
        }
        Err(RequestBodyError::Broken(why)) => {
            let message = format!("the client stopped sending the request body: {why}");
            let ending = Ending::failed(Outcome::Canceled, CLIENT_CLOSED, message.clone());
            gateway.recorder.record(draft.finish(ending)).await;
            return close_connection(GatewayError::new(StatusCode::BAD_REQUEST, message).render(spoken));
        }
    };
    let prepared = prepare(&state, &gateway, spoken, &headers, bytes, &mut draft).await;
    let rate = draft.rate;
    let mut response = match prepared {
        Ok(upstream) => send(&gateway, spoken, upstream, draft, &mut presence).await,
        Err(e) => {
            let status = e.status.as_u16();
            gateway
                .recorder
                .record(draft.finish(Ending::failed(e.outcome, status, e.message.clone())))
                .await;
            e.render(spoken)
        }
    };
    if let Some(levels) = &rate {
        limits::set_headers(response.headers_mut(), levels);
    }
    response
}

/// Admits the request under its key's rate limits, or refuses it with 429.
fn admit(state: &AppState, draft: &mut Draft) -> Result<(), GatewayError> {
    match state.limiter.admit(&draft.key) {
        Ok(levels) => {
            draft.rate = levels;
            if draft.key.limits.tokens_per_minute.is_some() {
                draft.limiter = Some(state.limiter.clone());
            }
            Ok(())
        }
        Err(limited) => {
            draft.rate = Some(limited.levels);
            Err(GatewayError::new(StatusCode::TOO_MANY_REQUESTS, limited.message())
                .with_code("rate_limit_exceeded")
                .with_retry_after(limited.retry_after))
        }
    }
}

/// The most output tokens the request asks for (none for embeddings).
fn most_output(endpoint: Endpoint, body: &RawObject) -> u64 {
    match endpoint {
        Endpoint::Embeddings => 0,
        _ => ["max_tokens", "max_completion_tokens", "max_output_tokens"]
            .into_iter()
            .find_map(|f| body.get::<u64>(f))
            .unwrap_or(budgets::DEFAULT_OUTPUT_TOKENS),
    }
}

/// Admits the request under the budgets covering its key, reserving the
/// most it can cost (every byte of the body an input token, and the
/// output's maximum), or refuses it with 429 when one is spent.
fn reserve(state: &AppState, draft: &mut Draft, most_output: u64) -> Result<(), GatewayError> {
    let ceiling = match &draft.prices {
        Some(prices) => {
            let input = u64::try_from(draft.request.len()).unwrap_or(u64::MAX);
            tally_catalog::ceiling(prices, input, most_output)
        }
        None => tally_core::Money::ZERO,
    };
    match state.budgets.admit(&draft.key, ceiling) {
        Ok(reservation) => {
            draft.reservation = Some(reservation);
            Ok(())
        }
        Err(blocked) => {
            let e = GatewayError::new(StatusCode::TOO_MANY_REQUESTS, blocked.message())
                .with_code("budget_exceeded")
                .blocked();
            Err(match blocked.retry_after {
                Some(wait) => e.with_retry_after(wait),
                None => e,
            })
        }
    }
}

fn close_connection(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request ready to go upstream.
struct Upstream {
    request: reqwest::RequestBuilder,
    provider: std::sync::Arc<Provider>,
    /// The provider's wire format, to read its answer.
    wire: &'static dyn Wire,
    /// For OpenAI streams where the gateway added `include_usage`: hide the
    /// usage-only chunk the client did not ask for.
    hide_usage_chunk: bool,
}

async fn prepare(
    state: &AppState,
    gateway: &Gateway,
    spoken: WireFormat,
    headers: &HeaderMap,
    bytes: Bytes,
    draft: &mut Draft,
) -> Result<Upstream, GatewayError> {
    draft.request = bytes.clone();
    let settings = gateway
        .settings
        .get(state.store.as_ref(), draft.key.org_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "loading organization settings failed");
            GatewayError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?;
    if settings.capturing.contains(&draft.key.project_id) {
        draft.response = Some(Captured::default());
    }
    draft.tags = attribution::tags(headers).map_err(|e| {
        GatewayError::new(
            StatusCode::BAD_REQUEST,
            format!("the {} header is invalid: {e}", attribution::TAGS_HEADER),
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
    draft.read_end_user(&body);
    admit(state, draft)?;
    let most_output = most_output(draft.endpoint, &body);

    let route = gateway
        .providers
        .resolve(&model, &settings.mappings, gateway.catalog)
        .map_err(|e| GatewayError::new(StatusCode::NOT_FOUND, e.to_string()))?;
    let wire = route.provider.kind.wire();
    if wire.client_format() != spoken {
        return Err(GatewayError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "provider `{}` speaks the other wire format; send this model to {}",
                route.provider.id,
                wire.client_route()
            ),
        ));
    }
    draft.prices = super::settings::prices_for(
        &settings,
        gateway.catalog,
        &route.provider.id,
        &route.upstream_model,
        &route.routed,
        &route.canonical,
    )
    .map(|(prices, _)| prices);

    // Forward the body unchanged but for what the wire format rewrites
    // (the model and, on OpenAI streams, a request for usage).
    let bad = |e: serde_json::Error| GatewayError::new(StatusCode::BAD_REQUEST, e.to_string());
    let rewritten = wire
        .rewrite(&mut body, &route.upstream_model, draft.stream, draft.endpoint)
        .map_err(bad)?;
    let body = body.to_vec();

    let provider = route.provider.clone();
    let url = provider
        .url(draft.endpoint, &route.upstream_model)
        .map_err(|e| GatewayError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let mut request = gateway
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(key) = &provider.api_key {
        request = wire.authorize(request, key);
    }
    request = wire.headers(request, headers);
    for (name, value) in &provider.headers {
        request = request.header(name.clone(), value.clone());
    }
    draft.route = Some(route);
    // Last: a request refused for its budget is recorded with its route.
    reserve(state, draft, most_output)?;
    Ok(Upstream {
        request,
        provider,
        wire,
        hide_usage_chunk: rewritten.hide_usage_chunk,
    })
}

async fn send(
    gateway: &Gateway,
    spoken: WireFormat,
    upstream: Upstream,
    mut draft: Draft,
    presence: &mut Presence,
) -> Response {
    let provider = upstream.provider.clone();
    let sent = tokio::time::timeout(provider.first_byte_timeout, upstream.request.send()).await;
    let response = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let message = format!("could not reach provider `{}`: {}", provider.id, error_chain(&e));
            return fail(gateway, spoken, draft, StatusCode::BAD_GATEWAY, message).await;
        }
        Err(_) => {
            let message = format!(
                "provider `{}` did not answer within {:?}",
                provider.id, provider.first_byte_timeout
            );
            return fail(gateway, spoken, draft, StatusCode::GATEWAY_TIMEOUT, message).await;
        }
    };
    draft.first_byte = Some(draft.began.elapsed());
    let status = match client_status(&provider, &response) {
        Ok(status) => status,
        Err(message) => return refuse(gateway, spoken, draft, message).await,
    };
    let passed = passed_back(response.headers());

    if !status.is_success() {
        let limits = BodyLimits {
            max_bytes: MAX_ERROR_BODY,
            truncate: true,
            ..whole_body_limits(&provider)
        };
        let body = read::upstream(response, limits).await.unwrap_or_default();
        draft.capture(&body);
        let message = upstream_message(&body);
        let ending = Ending::failed(Outcome::UpstreamError, status.as_u16(), message);
        gateway.recorder.record(draft.finish(ending)).await;
        return build(status, passed, "application/json", Body::from(body));
    }

    if draft.stream {
        draft.first_byte = None;
        let guard = EventGuard::new(draft, gateway.recorder.clone());
        let limits = StreamLimits {
            idle: provider.idle_timeout,
            total: provider.stream_timeout,
        };
        let body = relay(response, upstream.wire, upstream.hide_usage_chunk, limits, guard);
        return build(status, passed, "text/event-stream", body);
    }

    let body = match read::upstream(response, whole_body_limits(&provider)).await {
        Ok(body) => body,
        Err(e) => {
            let message = format!("provider `{}`: {e}", provider.id);
            return match e {
                UpstreamBodyError::TooLarge(_) => refuse(gateway, spoken, draft, message).await,
                UpstreamBodyError::Silent(_) | UpstreamBodyError::Slow(_) => {
                    fail(gateway, spoken, draft, StatusCode::GATEWAY_TIMEOUT, message).await
                }
                UpstreamBodyError::Broken(_) => fail(gateway, spoken, draft, StatusCode::BAD_GATEWAY, message).await,
            };
        }
    };
    let json = match answer_json(&provider, upstream.wire, &body) {
        Ok(json) => json,
        Err(message) => return refuse(gateway, spoken, draft, message).await,
    };
    draft.capture(&body);
    let reported = upstream.wire.usage(&json);
    let mut ending = Ending {
        outcome: Outcome::Success,
        http_status: status.as_u16(),
        error: None,
        usage: reported,
        output_chars: usage::response_chars(&json),
    };
    if presence.left() {
        ending.outcome = Outcome::Canceled;
        ending.error = Some("the client disconnected before the response".into());
    }
    gateway.recorder.record(draft.finish(ending)).await;
    build(status, passed, "application/json", Body::from(body))
}

/// The limits on a provider's whole body.
fn whole_body_limits(provider: &Provider) -> BodyLimits {
    BodyLimits {
        max_bytes: provider.max_response_bytes,
        truncate: false,
        idle: provider.idle_timeout,
        total: provider.body_timeout,
    }
}

/// The upstream status, when it is one to pass on: a final status of
/// 200–299 or 400–599. Redirects are never followed (they would carry the
/// prompt and the provider's credentials elsewhere) and, like 1xx and
/// statuses HTTP does not define, are refused.
fn client_status(provider: &Provider, response: &reqwest::Response) -> Result<StatusCode, String> {
    let code = response.status().as_u16();
    let id = &provider.id;
    match code {
        200..=299 | 400..=599 => StatusCode::from_u16(code).map_err(|_| format!("provider `{id}` answered {code}")),
        300..=399 => {
            let host = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "nowhere".into());
            Err(format!(
                "provider `{id}` answered {code}, a redirect to {host}; redirects are not followed"
            ))
        }
        _ => Err(format!(
            "provider `{id}` answered {code}, which is not a valid final HTTP status"
        )),
    }
}

/// A successful whole answer as JSON: an object that is not an error.
fn answer_json(provider: &Provider, wire: &dyn Wire, body: &[u8]) -> Result<Value, String> {
    let id = &provider.id;
    let json = match serde_json::from_slice::<Value>(body) {
        Ok(json @ Value::Object(_)) => json,
        Ok(_) => return Err(format!("provider `{id}` answered 200 with JSON that is not an object")),
        Err(e) => {
            return Err(format!(
                "provider `{id}` answered 200 with a body that is not JSON: {e}"
            ));
        }
    };
    if wire.is_error(&json) {
        let message = upstream_message(body);
        return Err(format!("provider `{id}` answered 200 with an error: {message}"));
    }
    Ok(json)
}

/// The provider's answer is unusable: 502, recorded as an upstream error.
async fn refuse(gateway: &Gateway, spoken: WireFormat, draft: Draft, message: String) -> Response {
    let status = StatusCode::BAD_GATEWAY;
    let ending = Ending::failed(Outcome::UpstreamError, status.as_u16(), message.clone());
    gateway.recorder.record(draft.finish(ending)).await;
    GatewayError::new(status, message).render(spoken)
}

async fn fail(gateway: &Gateway, spoken: WireFormat, draft: Draft, status: StatusCode, message: String) -> Response {
    let ending = Ending::failed(Outcome::GatewayError, status.as_u16(), message.clone());
    gateway.recorder.record(draft.finish(ending)).await;
    GatewayError::new(status, message).render(spoken)
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

/// The provider's own error message when its body has one, else the body.
fn upstream_message(body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    json.pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}
