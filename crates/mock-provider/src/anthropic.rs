//! Anthropic wire format: `POST /v1/messages` and errors.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::AppState;
use crate::behaviour::Behaviour;
use crate::stream::{event_frame, json_response, random_id, reset_response, sse_response};
use crate::usage::{self, MAX_OUTPUT_TOKENS, MockUsage};

/// Frames sent before a `mock:reset` stream aborts: message_start,
/// content_block_start, ping and two text deltas.
const RESET_AFTER_FRAMES: usize = 5;

pub(crate) async fn messages(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    crate::behaviour::wait(state.config.latency).await;
    if let Some(response) = auth_error(&state, &headers) {
        return response;
    }
    if headers.get("anthropic-version").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(value) if value.is_object() => value,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "There was an error parsing the body of your request",
            );
        }
    };
    let Some(model) = body["model"].as_str().map(str::to_owned) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "model: Field required",
        );
    };
    if !body["messages"].is_array() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "messages: Field required",
        );
    }
    let behaviour = Behaviour::from_messages(&body);
    crate::behaviour::wait(behaviour.latency).await;
    if let Some(status) = behaviour.error {
        return injected_error(status);
    }
    if let Some(response) = crate::oddities::answer(&body) {
        return response;
    }
    let streaming = body["stream"] == true;
    if behaviour.reset && !streaming {
        return reset_response();
    }

    // The real API always reports usage, so `mock:nousage` is ignored here.
    let usage = usage::messages_usage(&body);
    let stop_reason = if usage.output < MAX_OUTPUT_TOKENS {
        "max_tokens"
    } else {
        "end_turn"
    };
    let id = format!("msg_{}", random_id(24));

    if !streaming {
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": usage::reply_text(usage.output)}],
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": usage_object(&usage, usage.output, behaviour.usage.as_ref()),
        });
        return json_response(StatusCode::OK, &message);
    }

    let mut frames = vec![
        frame(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage_object(&usage, 1, behaviour.usage.as_ref()),
            }}),
        ),
        frame(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        frame("ping", json!({"type": "ping"})),
    ];
    for word in usage::reply_words(usage.output) {
        frames.push(frame(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": word}}),
        ));
    }
    frames.push(frame(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    frames.push(frame(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": usage.output}}),
    ));
    frames.push(frame("message_stop", json!({"type": "message_stop"})));
    let reset_after = behaviour.reset.then(|| RESET_AFTER_FRAMES.min(frames.len() - 1));
    sse_response(frames, state.config.chunk_delay, reset_after)
}

fn frame(event: &str, data: Value) -> Bytes {
    event_frame(event, &data.to_string())
}

/// Anthropic usage: `input_tokens` excludes cache reads and writes
/// (`prompt`, from `mock:usage=`, replaces it).
fn usage_object(u: &MockUsage, output_tokens: u64, prompt: Option<&Value>) -> Value {
    let mut usage = json!({
        "input_tokens": u.uncached_input(),
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cached_input,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    });
    if let Some(p) = prompt {
        usage["input_tokens"] = p.clone();
    }
    usage
}

/// The key must match `MockConfig::expected_api_key`. It is read from
/// `x-api-key` or, when that is absent, from `Authorization: Bearer` (which
/// recent Anthropic SDKs send for API keys).
pub(crate) fn auth_error(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let expected = state.config.expected_api_key.as_ref()?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = header("x-api-key").or_else(|| {
        header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
    });
    match given {
        Some(key) if key == expected => None,
        None | Some("") => Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        )),
        Some(_) => Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        )),
    }
}

/// The error an injected `mock:error=<status>` produces.
pub(crate) fn injected_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        s if s < 500 => "invalid_request_error",
        _ => "api_error",
    };
    let message = format!("{kind} (injected by mock:error={})", status.as_u16());
    let mut response = error(status, kind, &message);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    response
}

/// `{"type": "error", "error": {"type", "message"}, "request_id"}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": format!("req_{}", random_id(24)),
    });
    json_response(status, &body)
}
