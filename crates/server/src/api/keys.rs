//! API keys. Owners and admins see and manage every key of their
//! organization; developers, the keys they created. The secret appears once,
//! in the response that creates the key.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tally_core::{Name, UserId};
use tally_store::{ApiKey, User};

use super::NameBody;
use super::access::{Access, AccessJson, KeyAccess, OrgAccess, ProjectAccess, not_found};
use super::views::{ApiKeyView, CreatedApiKeyView};
use crate::AppState;
use crate::accounts::{self, AccountError};
use crate::error::ApiError;
use crate::extract::field;

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
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let creator = (!member.role.is_manager()).then_some(member.caller.user_id);
    let keys = state.store.api_keys(member.org, None, creator).await?;
    Ok(Json(views(&state, &keys).await?))
}

pub async fn list_for_project(
    State(state): State<AppState>,
    Access(access): Access<ProjectAccess>,
) -> Result<Json<Vec<ApiKeyView>>, ApiError> {
    let project = &access.project;
    let creator = (!access.role.is_manager()).then_some(access.caller.user_id);
    let keys = state.store.api_keys(project.org_id, Some(project.id), creator).await?;
    Ok(Json(views(&state, &keys).await?))
}

/// Any member may create a key in a project of their organization; they
/// become its creator, and its spend is attributed to them.
pub async fn create(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<ProjectAccess, NameBody>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>), ApiError> {
    let (project, creator) = (access.project.id, access.caller.user_id);
    let name = field("name", Name::parse(&body.name))?;
    let (key, secret) = accounts::create_api_key(state.store.as_ref(), &state.hasher, project, &name, creator)
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
    Access(access): Access<KeyAccess>,
) -> Result<Json<ApiKeyView>, ApiError> {
    Ok(Json(view(&state, &access.key).await?))
}

pub async fn update(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<KeyAccess, NameBody>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let name = field("name", Name::parse(&body.name))?;
    let key = state
        .store
        .rename_api_key(access.key.id, &name)
        .await
        .map_err(not_found("API key"))?;
    Ok(Json(view(&state, &key).await?))
}

/// Revokes the key; the gateway refuses it from the next request on.
pub async fn revoke(
    State(state): State<AppState>,
    Access(access): Access<KeyAccess>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let key = state
        .store
        .revoke_api_key(access.key.id, jiff::Timestamp::now())
        .await
        .map_err(not_found("API key"))?;
    Ok(Json(view(&state, &key).await?))
}
