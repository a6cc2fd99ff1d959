//! One API key's statistics.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use tally_core::{ApiKeyId, UsageView};
use tally_store::Scope;

use super::{Params, Range, RangeView, sum};
use crate::AppState;
use crate::api::access;
use crate::api::views::ApiKeyView;
use crate::error::ApiError;
use crate::extract::{Caller, path_id};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    #[serde(flatten)]
    key: ApiKeyView,
    project_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStats {
    range: RangeView,
    key: KeyInfo,
    summary: UsageView,
}

pub async fn key(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<KeyStats>, ApiError> {
    let id: ApiKeyId = path_id(&key_id, "API key")?;
    let range = Range::parse(&p)?;
    let scope = Scope::ApiKey(id);
    super::authorize::authorize(&state, &caller, scope, &[]).await?;
    let key = state.store.api_key(id).await.map_err(access::not_found("API key"))?;
    let creator = state.store.user(key.created_by).await.ok();
    let project_name = state
        .store
        .project(key.project_id)
        .await
        .ok()
        .map(|p| p.name.to_string());
    let rows = state.store.usage(range.query(scope, Vec::new())).await?;
    let summary = sum(rows.iter().map(|(_, t)| t));
    Ok(Json(KeyStats {
        range: range.view(),
        key: KeyInfo {
            key: ApiKeyView::new(&key, creator.as_ref()),
            project_name,
        },
        summary: UsageView::from(&summary),
    }))
}
