//! API keys. Owners and admins see and manage every key of their
//! organization; developers, the keys they created. The secret appears once,
//! in the response that creates the key.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use tally_core::{Name, ParseError, PerMinute, RateLimits, UserId};
use tally_store::{ApiKey, User};

use super::access::{Access, AccessJson, KeyAccess, OrgAccess, ProjectAccess, not_found};
use super::views::{ApiKeyView, CreatedApiKeyView};
use crate::AppState;
use crate::accounts::{self, AccountError, KeyTerms};
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

/// Present and `null` told apart: `Some(None)` clears, absent keeps.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateKeyBody {
    name: String,
    /// When the gateway starts refusing the key; absent: never.
    expires_at: Option<String>,
    /// Rate limits; absent or `null`: unlimited.
    requests_per_minute: Option<i64>,
    tokens_per_minute: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateKeyBody {
    name: Option<String>,
    /// A new expiry time, or `null` for none; absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<String>>,
    /// A new limit, or `null` for unlimited; absent: unchanged. Owners
    /// and admins only: a limit is how they hold a developer's key back.
    #[serde(default, deserialize_with = "present")]
    requests_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    tokens_per_minute: Option<Option<i64>>,
}

/// A limit of a request body (`param` names it in the error).
fn limit(param: &str, raw: Option<i64>) -> Result<Option<PerMinute>, ApiError> {
    raw.map(|n| PerMinute::new(n).map_err(|e| ApiError::invalid(param, e)))
        .transpose()
}

/// The `expiresAt` of a request body, as a time after now.
fn expiry(raw: &str) -> Result<Timestamp, ApiError> {
    field("expiresAt", accounts::key_expiry(raw, Timestamp::now()))
}

/// Any member may create a key in a project of their organization; they
/// become its creator, and its spend is attributed to them.
pub async fn create(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<ProjectAccess, CreateKeyBody>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>), ApiError> {
    let (project, creator) = (access.project.id, access.caller.user_id);
    let name = field("name", Name::parse(&body.name))?;
    let terms = KeyTerms {
        expires_at: body.expires_at.as_deref().map(expiry).transpose()?,
        limits: RateLimits {
            requests_per_minute: limit("requestsPerMinute", body.requests_per_minute)?,
            tokens_per_minute: limit("tokensPerMinute", body.tokens_per_minute)?,
        },
    };
    let store = state.store.as_ref();
    let (key, secret) = accounts::create_api_key_with(store, &state.hasher, project, &name, creator, terms)
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

/// Renames the key, sets its expiry and/or its limits (every field is
/// checked before anything changes).
pub async fn update(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<KeyAccess, UpdateKeyBody>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let name = match body.name.as_deref() {
        Some(raw) => Some(field("name", Name::parse(raw))?),
        None => None,
    };
    let expires_at = match body.expires_at {
        Some(Some(raw)) => Some(Some(expiry(&raw)?)),
        Some(None) => Some(None),
        None => None,
    };
    let requests = body
        .requests_per_minute
        .map(|raw| limit("requestsPerMinute", raw))
        .transpose()?;
    let tokens = body
        .tokens_per_minute
        .map(|raw| limit("tokensPerMinute", raw))
        .transpose()?;
    if name.is_none() && expires_at.is_none() && requests.is_none() && tokens.is_none() {
        return Err(ApiError::invalid(
            "name",
            ParseError::new("give a name, an expiresAt, a requestsPerMinute or a tokensPerMinute"),
        ));
    }
    let limits = (requests.is_some() || tokens.is_some()).then(|| RateLimits {
        requests_per_minute: requests.unwrap_or(access.key.limits.requests_per_minute),
        tokens_per_minute: tokens.unwrap_or(access.key.limits.tokens_per_minute),
    });
    if limits.is_some() && !access.role.is_manager() {
        return Err(ApiError::forbidden("only owners and admins change a key's rate limits"));
    }
    let mut key = access.key.clone();
    if let Some(name) = &name {
        key = state
            .store
            .rename_api_key(key.id, name)
            .await
            .map_err(not_found("API key"))?;
    }
    if let Some(at) = expires_at {
        key = state
            .store
            .set_api_key_expiry(key.id, at)
            .await
            .map_err(not_found("API key"))?;
    }
    if let Some(limits) = limits {
        key = state
            .store
            .set_api_key_limits(key.id, limits)
            .await
            .map_err(not_found("API key"))?;
    }
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
