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
    /// A code more precise than the status's, for the formats that carry
    /// one (OpenAI's `error.code`).
    pub code: Option<&'static str>,
    /// When to try again (`retry-after`), for a refusal that passes.
    pub retry_after: Option<std::time::Duration>,
    /// A type more precise than the status's, for OpenAI's `error.type`.
    pub kind: Option<&'static str>,
    /// How the request's event ends when it is refused with this error.
    pub outcome: tally_core::Outcome,
}

impl GatewayError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            retry_after: None,
            kind: None,
            outcome: tally_core::Outcome::ClientError,
        }
    }

    /// A refusal by a spent budget: recorded as `blocked`, typed as
    /// OpenAI types a spent quota.
    pub fn blocked(mut self) -> Self {
        self.kind = Some("insufficient_quota");
        self.outcome = tally_core::Outcome::Blocked;
        self
    }

    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The error in the shape of `format`, the one the route speaks.
    pub fn render(&self, format: WireFormat) -> Response {
        let mut body = format.wire().error_body(self.status, &self.message);
        if let (Some(code), Some(slot)) = (self.code, body.pointer_mut("/error/code")) {
            *slot = code.into();
        }
        if let (Some(kind), WireFormat::Openai, Some(slot)) = (self.kind, format, body.pointer_mut("/error/type")) {
            *slot = kind.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            crate::api_key::limits::set_retry_after(response.headers_mut(), wait);
        }
        response
    }
}
