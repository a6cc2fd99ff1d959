//! Errors in each protocol's own shape: OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` on OpenAI routes,
//! Anthropic's `{"type": "error", "error": {"type", "message"}}` on
//! `/v1/messages`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which protocol a route speaks, for its error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Anthropic,
}

/// An error the gateway itself answers with.
#[derive(Debug, Clone)]
pub struct GatewayError {
    pub status: StatusCode,
    pub message: String,
}

impl GatewayError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn render(&self, protocol: Protocol) -> Response {
        let (openai_type, openai_code, anthropic_type) = match self.status {
            StatusCode::UNAUTHORIZED => ("invalid_request_error", "invalid_api_key", "authentication_error"),
            StatusCode::NOT_FOUND => ("invalid_request_error", "model_not_found", "not_found_error"),
            StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request_error", "request_too_large", "request_too_large"),
            StatusCode::GATEWAY_TIMEOUT => ("api_error", "upstream_timeout", "api_error"),
            StatusCode::BAD_GATEWAY => ("api_error", "upstream_unreachable", "api_error"),
            s if s.is_server_error() => ("api_error", "internal_error", "api_error"),
            _ => ("invalid_request_error", "invalid_request", "invalid_request_error"),
        };
        let body = match protocol {
            Protocol::OpenAi => json!({"error": {
                "message": self.message, "type": openai_type, "param": null, "code": openai_code
            }}),
            Protocol::Anthropic => json!({"type": "error", "error": {"type": anthropic_type, "message": self.message}}),
        };
        (self.status, Json(body)).into_response()
    }
}
