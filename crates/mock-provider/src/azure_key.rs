//! Azure OpenAI's key check: the key in `api-key`, not a bearer token.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::AppState;
use crate::stream::json_response;

/// `api-key: <key>` must match `MockConfig::expected_api_key`.
pub(crate) fn auth_error(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let expected = state.config.expected_api_key.as_ref()?;
    let given = headers.get("api-key").and_then(|v| v.to_str().ok()).map(str::trim);
    if given == Some(expected.as_str()) {
        return None;
    }
    let body = json!({"error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }});
    Some(json_response(StatusCode::UNAUTHORIZED, &body))
}
