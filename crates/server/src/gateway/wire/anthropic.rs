//! Anthropic's Messages API: `x-api-key` and `anthropic-version` (the
//! client's, else `2023-06-01`; `anthropic-beta` passed on), usage split
//! over `message_start` and `message_delta` events on streams.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Value, json};
use tally_core::Endpoint;

use super::{Rewritten, Target, Wire, WireError, WireFormat};
use crate::gateway::body::RawObject;
use crate::gateway::usage::{self, Reported, StreamTally};
use crate::secrets::Secret;

/// Sent when the client names no `anthropic-version`.
const DEFAULT_VERSION: &str = "2023-06-01";

pub struct Anthropic;

impl Wire for Anthropic {
    fn client_format(&self) -> WireFormat {
        WireFormat::Anthropic
    }

    fn client_route(&self) -> &'static str {
        "/v1/messages"
    }

    fn url(&self, target: &Target, endpoint: Endpoint, _model: &str) -> Result<String, WireError> {
        match endpoint {
            Endpoint::Messages => Ok(format!("{}/v1/messages", target.base_url)),
            Endpoint::Models => Ok(format!("{}/v1/models", target.base_url)),
            Endpoint::ChatCompletions => Err(WireError::NoEndpoint("chat/completions")),
            Endpoint::Embeddings => Err(WireError::NoEndpoint("embeddings")),
        }
    }

    fn authorize(&self, request: reqwest::RequestBuilder, key: &Secret) -> reqwest::RequestBuilder {
        request.header("x-api-key", key.expose())
    }

    fn headers(&self, mut request: reqwest::RequestBuilder, client: &HeaderMap) -> reqwest::RequestBuilder {
        let version = client
            .get("anthropic-version")
            .cloned()
            .unwrap_or(HeaderValue::from_static(DEFAULT_VERSION));
        request = request.header("anthropic-version", version);
        if let Some(beta) = client.get("anthropic-beta") {
            request = request.header("anthropic-beta", beta.clone());
        }
        request
    }

    fn rewrite(
        &self,
        body: &mut RawObject,
        model: &str,
        _stream: bool,
        _endpoint: Endpoint,
    ) -> Result<Rewritten, serde_json::Error> {
        body.set("model", &model)?;
        Ok(Rewritten::default())
    }

    fn is_error(&self, answer: &Value) -> bool {
        answer.get("type").and_then(Value::as_str) == Some("error")
    }

    fn usage(&self, answer: &Value) -> Option<Reported> {
        answer.get("usage").and_then(usage::anthropic)
    }

    fn stream_event(&self, tally: &mut StreamTally, event: &Value) -> bool {
        tally.anthropic_event(event);
        false
    }

    fn error_body(&self, status: StatusCode, message: &str) -> Value {
        let kind = match status {
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            s if s.is_server_error() => "api_error",
            _ => "invalid_request_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": message}})
    }
}
