//! Azure OpenAI: OpenAI's bodies at
//! `/openai/deployments/{deployment}/{chat/completions,embeddings}`, which
//! require an `api-version` query and take the key in `api-key`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use crate::AppState;
use crate::embeddings::embeddings_as;
use crate::openai::{Dialect, chat_as};
use crate::stream::json_response;

pub(crate) async fn chat(
    State(state): State<Arc<AppState>>,
    Path(deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = version_error(query.as_deref()) {
        return response;
    }
    chat_as(
        Dialect::Azure {
            deployment: &deployment,
        },
        &state,
        &headers,
        &body,
    )
    .await
}

pub(crate) async fn embeddings(
    State(state): State<Arc<AppState>>,
    Path(deployment): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = version_error(query.as_deref()) {
        return response;
    }
    embeddings_as(
        Dialect::Azure {
            deployment: &deployment,
        },
        &state,
        &headers,
        &body,
    )
    .await
}

/// A request without a non-empty `api-version` is refused, as Azure does.
fn version_error(query: Option<&str>) -> Option<Response> {
    let given = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .any(|(name, value)| name == "api-version" && !value.is_empty());
    (!given).then(|| {
        let body = json!({"error": {
            "code": "MissingApiVersionParameter",
            "message": "The api-version query parameter (?api-version=) is required for all requests.",
        }});
        json_response(StatusCode::BAD_REQUEST, &body)
    })
}
