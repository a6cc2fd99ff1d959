//! OpenAI wire format: `/v1/chat/completions`, auth and errors, in the
//! dialects of the providers that speak it ([`Dialect`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::AppState;
use crate::behaviour::Behaviour;
use crate::stream::{data_frame, json_response, random_id, reset_response, sse_response, unix_now};
use crate::usage::{self, MAX_OUTPUT_TOKENS, MockUsage};

/// Frames sent before a `mock:reset` stream aborts (role chunk + 2 words).
const RESET_AFTER_FRAMES: usize = 3;
const FINGERPRINT: &str = "fp_mock";

/// Who is speaking OpenAI's format, where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect<'a> {
    /// OpenAI itself: `Authorization: Bearer`, usage in a chunk of its own.
    OpenAi,
    /// Azure OpenAI: the key in `api-key`, the model named by the
    /// deployment in the path, a first stream chunk with no choices and
    /// `prompt_filter_results`.
    Azure { deployment: &'a str },
    /// Gemini's compatible endpoint: on streams, usage rides on the last
    /// chunk with choices rather than on a chunk of its own.
    Gemini,
}

pub(crate) async fn chat(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    chat_as(Dialect::OpenAi, &state, &headers, &body).await
}

pub(crate) async fn chat_as(dialect: Dialect<'_>, state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    let body = match prelude_as(dialect, state, headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(model) = body["model"].as_str().map(str::to_owned) else {
        return missing("model");
    };
    match body["messages"].as_array() {
        None => return missing("messages"),
        Some(m) if m.is_empty() => {
            return error(
                StatusCode::BAD_REQUEST,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "invalid_request_error",
                Some("messages"),
                Some("empty_array"),
            );
        }
        Some(_) => {}
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

    let usage = usage::chat_usage(&body);
    let finish = if usage.output < MAX_OUTPUT_TOKENS {
        "length"
    } else {
        "stop"
    };
    let id = format!("chatcmpl-{}", random_id(29));
    let created = unix_now();
    let mut usage_json = (!behaviour.no_usage).then(|| usage_object(&usage));
    if let (Some(u), Some(prompt)) = (&mut usage_json, &behaviour.usage) {
        u["prompt_tokens"] = prompt.clone();
    }

    if !streaming {
        let mut response = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": usage::reply_text(usage.output),
                            "refusal": null, "annotations": []},
                "logprobs": null, "finish_reason": finish,
            }],
            "service_tier": "default", "system_fingerprint": FINGERPRINT,
        });
        if let Some(u) = usage_json {
            response["usage"] = u;
        }
        return json_response(StatusCode::OK, &response);
    }

    let include_usage = body["stream_options"]["include_usage"] == true && usage_json.is_some();
    let chunk = |choices: Value| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "service_tier": "default", "system_fingerprint": FINGERPRINT, "choices": choices,
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let choice =
        |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut frames = Vec::new();
    if let Dialect::Azure { .. } = dialect {
        frames.push(json!({
            "choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                "hate": {"filtered": false, "severity": "safe"},
                "self_harm": {"filtered": false, "severity": "safe"},
                "sexual": {"filtered": false, "severity": "safe"},
                "violence": {"filtered": false, "severity": "safe"},
            }}],
        }));
    }
    frames.push(chunk(choice(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )));
    for word in usage::reply_words(usage.output) {
        frames.push(chunk(choice(json!({"content": word}), Value::Null)));
    }
    let mut finishing = chunk(choice(json!({}), json!(finish)));
    match (include_usage, usage_json) {
        (true, Some(u)) if dialect == Dialect::Gemini => {
            finishing["usage"] = u;
            frames.push(finishing);
        }
        (true, Some(u)) => {
            frames.push(finishing);
            let mut last = chunk(json!([]));
            last["usage"] = u;
            frames.push(last);
        }
        _ => frames.push(finishing),
    }
    let mut frames: Vec<Bytes> = frames.iter().map(|f| data_frame(&f.to_string())).collect();
    frames.push(data_frame("[DONE]"));
    let reset_after = behaviour.reset.then(|| RESET_AFTER_FRAMES.min(frames.len() - 1));
    sse_response(frames, state.config.chunk_delay, reset_after)
}

/// Global latency, auth check and JSON parsing shared by the POST
/// handlers. Azure's body may leave out `model`: the deployment names it.
pub(crate) async fn prelude_as(
    dialect: Dialect<'_>,
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Response> {
    crate::behaviour::wait(state.config.latency).await;
    let refused = match dialect {
        Dialect::Azure { .. } => crate::azure_key::auth_error(state, headers),
        Dialect::OpenAi | Dialect::Gemini => auth_error(state, headers),
    };
    if let Some(response) = refused {
        return Err(response);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(mut value) if value.is_object() => {
            if let Dialect::Azure { deployment } = dialect
                && value.get("model").is_none()
            {
                value["model"] = json!(deployment);
            }
            Ok(value)
        }
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            "invalid_request_error",
            None,
            None,
        )),
    }
}

/// `Authorization: Bearer <key>` must match `MockConfig::expected_api_key`.
pub(crate) fn auth_error(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let expected = state.config.expected_api_key.as_ref()?;
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(key) if key == expected => None,
        None | Some("") => Some(error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
            None,
        )),
        Some(key) => Some(error(
            StatusCode::UNAUTHORIZED,
            &format!("Incorrect API key provided: {}.", redact(key)),
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        )),
    }
}

fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}***{tail}")
}

fn usage_object(u: &MockUsage) -> Value {
    json!({
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.total(),
        "prompt_tokens_details": {"cached_tokens": u.cached_input, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    })
}

pub(crate) fn missing(param: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Missing required parameter: '{param}'."),
        "invalid_request_error",
        Some(param),
        Some("missing_required_parameter"),
    )
}

/// The error an injected `mock:error=<status>` produces.
pub(crate) fn injected_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (message, kind, code) = match status.as_u16() {
        400 => (
            "Invalid request (injected by mock:error=400).",
            "invalid_request_error",
            None,
        ),
        401 => (
            "Incorrect API key provided (injected by mock:error=401).",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        404 => (
            "The model does not exist or you do not have access to it (injected by mock:error=404).",
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            "Rate limit reached for requests (injected by mock:error=429). Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that! (injected by mock:error=500)",
            "server_error",
            None,
        ),
        503 => (
            "The engine is currently overloaded, please try again later. (injected by mock:error=503)",
            "server_error",
            None,
        ),
        s if s < 500 => (
            "Request rejected (injected by mock:error).",
            "invalid_request_error",
            None,
        ),
        _ => (
            "The server had an error (injected by mock:error).",
            "server_error",
            None,
        ),
    };
    let mut response = error(status, message, kind, None, code);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    response
}

/// `{"error": {"message", "type", "param", "code"}}`.
pub(crate) fn error(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    json_response(status, &body)
}
