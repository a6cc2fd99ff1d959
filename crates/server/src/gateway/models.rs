//! `GET /v1/models`: what this key can use, in OpenAI's list shape: every
//! model a configured provider lists, as `provider/model`, and the
//! organization's aliases.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::authenticate;
use super::wire::WireFormat;
use crate::AppState;

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let key = match authenticate(&state, &headers).await {
        Ok(key) => key,
        Err(e) => return e.render(WireFormat::Openai),
    };
    let gateway = &state.gateway;
    let mut data: Vec<Value> = Vec::new();
    for p in gateway.providers.iter() {
        let listed = p.models.iter().map(String::as_str);
        let catalogued = gateway.catalog.models_of(&p.id);
        let mut names: Vec<&str> = listed.chain(catalogued).collect();
        names.sort_unstable();
        names.dedup();
        data.extend(
            names
                .into_iter()
                .map(|m| json!({"id": format!("{}/{m}", p.id), "object": "model", "created": 0, "owned_by": p.id})),
        );
    }
    if let Ok(settings) = gateway.settings.get(state.store.as_ref(), key.org_id).await {
        data.extend(
            settings
                .mappings
                .iter()
                .map(|m| json!({"id": m.alias, "object": "model", "created": 0, "owned_by": "alias"})),
        );
    }
    Json(json!({"object": "list", "data": data})).into_response()
}
