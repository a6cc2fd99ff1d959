//! OpenAI `/v1/embeddings`: `float` or `base64` vectors.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::AppState;
use crate::behaviour::Behaviour;
use crate::openai::{Dialect, error, injected_error, missing, prelude_as};
use crate::stream::{json_response, reset_response};
use crate::usage;

pub(crate) async fn embeddings(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    embeddings_as(Dialect::OpenAi, &state, &headers, &body).await
}

pub(crate) async fn embeddings_as(
    dialect: Dialect<'_>,
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let body = match prelude_as(dialect, state, headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(model) = body["model"].as_str().map(str::to_owned) else {
        return missing("model");
    };
    let inputs = usage::embedding_inputs(&body["input"]);
    if inputs.is_empty() {
        return missing("input");
    }
    let base64 = match body["encoding_format"].as_str() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid value: '{other}'. Supported values are: 'float' and 'base64'."),
                "invalid_request_error",
                Some("encoding_format"),
                Some("invalid_value"),
            );
        }
    };
    let behaviour = Behaviour::from_embeddings(&body);
    crate::behaviour::wait(behaviour.latency).await;
    if let Some(status) = behaviour.error {
        return injected_error(status);
    }
    if behaviour.reset {
        return reset_response();
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = embedding_vector(input);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let mut response = json!({"object": "list", "data": data, "model": model});
    if !behaviour.no_usage {
        let u = usage::embeddings_usage(&body);
        response["usage"] = json!({"prompt_tokens": u.input, "total_tokens": u.total()});
    }
    json_response(StatusCode::OK, &response)
}

/// 8 deterministic floats derived from the input (FNV-1a + splitmix64),
/// normalised to unit length like real embeddings.
fn embedding_vector(input: &Value) -> Vec<f32> {
    let text = match input {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let seed = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let raw: Vec<f64> = (0..8u64)
        .map(|i| {
            let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::EPSILON);
    raw.iter().map(|x| (x / norm) as f32).collect()
}
