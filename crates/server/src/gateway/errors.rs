//! Errors the gateway answers with itself, in the shape of the wire format
//! the route speaks ([`super::wire::Wire::error_body`]): OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` on OpenAI routes,
//! Anthropic's `{"type": "error", "error": {"type", "message"}}` on
//! `/v1/messages`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::wire::WireFormat;

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

    /// The error in the shape of `format`, the one the route speaks.
    pub fn render(&self, format: WireFormat) -> Response {
        let body = format.wire().error_body(self.status, &self.message);
        (self.status, Json(body)).into_response()
    }
}
