//! Gemini's OpenAI-compatible endpoint under `/v1beta/openai`: OpenAI's
//! format and `Authorization: Bearer`, with stream usage on the last chunk
//! that has choices.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use crate::AppState;
use crate::embeddings::embeddings_as;
use crate::openai::{Dialect, chat_as};

pub(crate) async fn chat(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    chat_as(Dialect::Gemini, &state, &headers, &body).await
}

pub(crate) async fn embeddings(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    embeddings_as(Dialect::Gemini, &state, &headers, &body).await
}
