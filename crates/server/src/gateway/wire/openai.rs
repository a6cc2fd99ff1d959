//! OpenAI's wire format, which most providers speak (Groq, Mistral,
//! DeepSeek, Together, OpenRouter, xAI, Gemini's compatible endpoint,
//! vLLM, …): `Authorization: Bearer`, the model in the body, usage in a
//! `usage` object and, on streams asked for it, in a last chunk.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tally_core::Endpoint;

use super::{Rewritten, Target, Wire, WireError, WireFormat};
use crate::gateway::body::RawObject;
use crate::gateway::usage::{self, Reported, StreamTally};
use crate::secrets::Secret;

pub struct OpenAi;

/// The path of an endpoint below an OpenAI-style base.
pub(super) fn path(endpoint: Endpoint) -> Result<&'static str, WireError> {
    match endpoint {
        Endpoint::ChatCompletions => Ok("chat/completions"),
        Endpoint::Embeddings => Ok("embeddings"),
        Endpoint::Models => Ok("models"),
        Endpoint::Messages => Err(WireError::NoEndpoint("messages")),
    }
}

impl Wire for OpenAi {
    fn client_format(&self) -> WireFormat {
        WireFormat::Openai
    }

    fn client_route(&self) -> &'static str {
        "/v1/chat/completions"
    }

    fn url(&self, target: &Target, endpoint: Endpoint, _model: &str) -> Result<String, WireError> {
        Ok(format!("{}/{}", target.base_url, path(endpoint)?))
    }

    fn authorize(&self, request: reqwest::RequestBuilder, key: &Secret) -> reqwest::RequestBuilder {
        request.bearer_auth(key.expose())
    }

    /// The model, and on chat streams a request for usage (the chunk it
    /// adds is hidden when the client did not ask for it).
    fn rewrite(
        &self,
        body: &mut RawObject,
        model: &str,
        stream: bool,
        endpoint: Endpoint,
    ) -> Result<Rewritten, serde_json::Error> {
        body.set("model", &model)?;
        let mut rewritten = Rewritten::default();
        if stream && endpoint == Endpoint::ChatCompletions {
            let mut options = match body.get::<Value>("stream_options") {
                Some(Value::Object(o)) => o,
                _ => serde_json::Map::new(),
            };
            if options.get("include_usage").and_then(Value::as_bool) != Some(true) {
                rewritten.hide_usage_chunk = true;
                options.insert("include_usage".into(), Value::Bool(true));
                body.set("stream_options", &options)?;
            }
        }
        Ok(rewritten)
    }

    fn is_error(&self, answer: &Value) -> bool {
        answer.get("error").is_some_and(|e| !e.is_null())
    }

    fn usage(&self, answer: &Value) -> Option<Reported> {
        answer.get("usage").and_then(usage::openai)
    }

    /// A chunk's usage wherever it comes: in a usage-only chunk (OpenAI,
    /// Azure) or on the last chunk with choices (Gemini). Azure's first
    /// chunk (no choices, `prompt_filter_results`, no usage) is passed on.
    fn stream_event(&self, tally: &mut StreamTally, event: &Value) -> bool {
        tally.openai_chunk(event)
    }

    fn error_body(&self, status: StatusCode, message: &str) -> Value {
        let (kind, code) = match status {
            StatusCode::UNAUTHORIZED => ("invalid_request_error", "invalid_api_key"),
            StatusCode::NOT_FOUND => ("invalid_request_error", "model_not_found"),
            StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request_error", "request_too_large"),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limit_error", "rate_limit_exceeded"),
            StatusCode::GATEWAY_TIMEOUT => ("api_error", "upstream_timeout"),
            StatusCode::BAD_GATEWAY => ("api_error", "upstream_unreachable"),
            s if s.is_server_error() => ("api_error", "internal_error"),
            _ => ("invalid_request_error", "invalid_request"),
        };
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
    }
}
