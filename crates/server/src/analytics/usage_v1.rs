//! `GET /v1/usage`: a key's own usage, for scripts and end users who have
//! the key but no dashboard login.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tally_core::{UsageTotals, UsageView};
use tally_store::{Dim, Scope};

use super::models::ModelRow;
use super::{Params, Range, by_cost, sum, text};
use crate::AppState;
use crate::api_key::limits;
use crate::api_key::{KeyRefused, authenticate};
use crate::error::ApiError;

pub async fn usage(State(state): State<AppState>, headers: HeaderMap, Query(p): Query<Params>) -> Response {
    let key = match authenticate(&state.keys, state.store.as_ref(), &state.hasher, &headers).await {
        Ok(key) => key,
        Err(e) => {
            let (status, code) = match e {
                KeyRefused::Unknown => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
                KeyRefused::Expired => (StatusCode::UNAUTHORIZED, "api_key_expired"),
                KeyRefused::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            };
            return ApiError::new(status, code, e.to_string()).into_response();
        }
    };
    let range = match Range::parse(&p) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let rows = match state
        .store
        .usage(range.query(Scope::ApiKey(key.id), vec![Dim::RoutedModel]))
        .await
    {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut models: Vec<(Option<String>, UsageTotals)> =
        rows.into_iter().map(|(k, t)| (k.first().and_then(text), t)).collect();
    by_cost(&mut models, |m| m.clone().unwrap_or_default());
    let summary = sum(models.iter().map(|(_, t)| t));
    let budgets = match crate::api::budgets::of_key(&state, &key).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    Json(json!({
        "key": {"id": key.id, "name": key.name, "maskedKey": key.masked()},
        "range": range.view(),
        "summary": UsageView::from(&summary),
        "models": models.into_iter().map(|(m, t)| ModelRow::routed(m, &t)).collect::<Vec<_>>(),
        "limits": limits::levels_json(state.limiter.levels(&key)),
        "budgets": budgets,
    }))
    .into_response()
}
