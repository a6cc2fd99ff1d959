//! API keys. Owners and admins see and manage every key of their
//! organization; developers, the keys they created. The secret appears once,
//! in the response that creates the key.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tally_core::{ApiKeyId, Name, OrgId, ProjectId, UserId};
use tally_store::{ApiKey, User};

use super::access::{self, not_found, org_role};
use super::views::{ApiKeyView, CreatedApiKeyView};
use crate::AppState;
use crate::accounts::{self, AccountError};
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, field, path_id};

/// Renders keys with their creators' names (one lookup per distinct creator).
async fn views(state: &AppState, keys: &[ApiKey]) -> Result<Vec<ApiKeyView>, ApiError> {
    let mut creators: HashMap<UserId, User> = HashMap::new();
    for key in keys {
        if let std::collections::hash_map::Entry::Vacant(slot) = creators.entry(key.created_by) {
            slot.insert(state.store.user(key.created_by).await?);
        }
    }
    Ok(keys
        .iter()
        .map(|k| ApiKeyView::new(k, creators.get(&k.created_by)))
        .collect())
}

async fn view(state: &AppState, key: &ApiKey) -> Result<ApiKeyView, ApiError> {
    let mut v = views(state, std::slice::from_ref(key)).await?;
    v.pop().ok_or_else(|| ApiError::internal("key view missing"))
}

pub async fn list_for_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let org: OrgId = path_id(&org_id, "organization")?;
    let role = org_role(&state, &caller, org).await?;
    let creator = (!role.is_manager()).then_some(caller.user_id);
    let keys = state.store.api_keys(org, None, creator).await?;
    Ok(Json(views(&state, &keys).await?))
}

pub async fn list_for_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let id: ProjectId = path_id(&project_id, "project")?;
    let (project, role) = access::project(&state, &caller, id).await?;
    let creator = (!role.is_manager()).then_some(caller.user_id);
    let keys = state.store.api_keys(project.org_id, Some(project.id), creator).await?;
    Ok(Json(views(&state, &keys).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    name: String,
}

/// Any member may create a key in a project of their organization; they
/// become its creator, and its spend is attributed to them.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>), ApiError> {
    let id: ProjectId = path_id(&project_id, "project")?;
    access::project(&state, &caller, id).await?;
    let name = field("name", Name::parse(&body.name))?;
    let (key, secret) = accounts::create_api_key(state.store.as_ref(), &state.hasher, id, &name, caller.user_id)
        .await
        .map_err(|e| match e {
            AccountError::Store(e) => not_found("project")(e),
            other => ApiError::internal(other),
        })?;
    let view = CreatedApiKeyView {
        key: view(&state, &key).await?,
        key_secret: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let id: ApiKeyId = path_id(&key_id, "API key")?;
    let (key, _) = access::api_key(&state, &caller, id).await?;
    Ok(Json(view(&state, &key).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let id: ApiKeyId = path_id(&key_id, "API key")?;
    access::api_key(&state, &caller, id).await?;
    let name = field("name", Name::parse(&body.name))?;
    let key = state
        .store
        .rename_api_key(id, &name)
        .await
        .map_err(not_found("API key"))?;
    Ok(Json(view(&state, &key).await?))
}

/// Revokes the key; the gateway refuses it from the next request on.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let id: ApiKeyId = path_id(&key_id, "API key")?;
    access::api_key(&state, &caller, id).await?;
    let key = state
        .store
        .revoke_api_key(id, jiff::Timestamp::now())
        .await
        .map_err(not_found("API key"))?;
    Ok(Json(view(&state, &key).await?))
}
