//! Who may see and change what. A resource in an organization the caller
//! does not belong to is "not found" (404), never "forbidden": ids do not
//! leak. Inside an organization, a role that is too low gets 403.

use tally_core::{ApiKeyId, OrgId, ProjectId, Role};
use tally_store::{ApiKey, Project, StoreError};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

/// The caller's role in `org`, or 404 when they are not a member.
pub async fn org_role(state: &AppState, caller: &Caller, org: OrgId) -> Result<Role, ApiError> {
    state
        .store
        .role_of(org, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// Owners and admins pass; developers get 403.
pub fn require_manager(role: Role) -> Result<(), ApiError> {
    if role.is_manager() {
        Ok(())
    } else {
        Err(ApiError::forbidden("only owners and admins may do this"))
    }
}

pub async fn project(state: &AppState, caller: &Caller, id: ProjectId) -> Result<(Project, Role), ApiError> {
    let project = state.store.project(id).await.map_err(not_found("project"))?;
    let role = org_role(state, caller, project.org_id)
        .await
        .map_err(renamed("project"))?;
    Ok((project, role))
}

/// A key the caller may see and manage: owners and admins, any key of their
/// organization; developers, the keys they created.
pub async fn api_key(state: &AppState, caller: &Caller, id: ApiKeyId) -> Result<(ApiKey, Role), ApiError> {
    let key = state.store.api_key(id).await.map_err(not_found("API key"))?;
    let role = org_role(state, caller, key.org_id).await.map_err(renamed("API key"))?;
    if !role.is_manager() && key.created_by != caller.user_id {
        return Err(ApiError::not_found("API key"));
    }
    Ok((key, role))
}

/// Renames a 404 to `what`; other errors (a failing store: 500) pass through.
fn renamed(what: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |e| {
        if e.status == axum::http::StatusCode::NOT_FOUND {
            ApiError::not_found(what)
        } else {
            e
        }
    }
}

/// Maps `NotFound` to a 404 naming `what`; other errors pass through.
pub fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}
