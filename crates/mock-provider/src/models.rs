//! `GET /v1/models`: a fixed list, in OpenAI's shape, or in Anthropic's shape
//! (Claude models only) when the request carries `anthropic-version`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::stream::json_response;
use crate::{AppState, anthropic, openai};

/// `(id, owned_by, created unix seconds, display name)`.
const MODELS: [(&str, &str, u64, &str); 12] = [
    ("gpt-4o", "system", 1_715_367_049, "GPT-4o"),
    ("gpt-4o-mini", "system", 1_721_172_741, "GPT-4o mini"),
    ("gpt-4.1", "system", 1_744_316_542, "GPT-4.1"),
    ("gpt-4.1-mini", "system", 1_744_318_173, "GPT-4.1 mini"),
    ("o1", "system", 1_734_375_816, "o1"),
    ("o3-mini", "system", 1_737_146_383, "o3-mini"),
    ("o4-mini", "system", 1_744_225_351, "o4-mini"),
    (
        "text-embedding-3-small",
        "system",
        1_705_948_997,
        "text-embedding-3-small",
    ),
    (
        "text-embedding-3-large",
        "system",
        1_705_953_180,
        "text-embedding-3-large",
    ),
    ("claude-sonnet-4-5", "anthropic", 1_759_104_000, "Claude Sonnet 4.5"),
    ("claude-haiku-4-5", "anthropic", 1_760_486_400, "Claude Haiku 4.5"),
    ("claude-opus-4-1", "anthropic", 1_754_352_000, "Claude Opus 4.1"),
];

/// The model ids `GET /v1/models` lists (OpenAI shape).
pub fn model_ids() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.0).collect()
}

pub(crate) async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    crate::behaviour::wait(state.config.latency).await;
    if headers.contains_key("anthropic-version") {
        if let Some(response) = anthropic::auth_error(&state, &headers) {
            return response;
        }
        let data: Vec<Value> = MODELS
            .iter()
            .filter(|m| m.1 == "anthropic")
            .map(|(id, _, created, name)| {
                json!({"type": "model", "id": id, "display_name": name,
                       "created_at": rfc3339_date(*created)})
            })
            .collect();
        let first = data.first().map(|m| m["id"].clone());
        let last = data.last().map(|m| m["id"].clone());
        let body = json!({"data": data, "has_more": false, "first_id": first, "last_id": last});
        return json_response(StatusCode::OK, &body);
    }
    if let Some(response) = openai::auth_error(&state, &headers) {
        return response;
    }
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, owner, created, _)| json!({"id": id, "object": "model", "created": created, "owned_by": owner}))
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

/// `YYYY-MM-DDT00:00:00Z` for a Unix timestamp (civil-from-days algorithm).
fn rfc3339_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T00:00:00Z")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_date(1_759_104_000), "2025-09-29T00:00:00Z");
        assert_eq!(super::rfc3339_date(951_782_400), "2000-02-29T00:00:00Z");
    }
}
