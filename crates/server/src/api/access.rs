//! Who may see and change what. A resource in an organization the caller
//! does not belong to is "not found" (404), never "forbidden": ids do not
//! leak. Inside an organization, a role that is too low gets 403.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tally_core::{ApiKeyId, OrgId, ProjectId, Role};
use tally_store::{ApiKey, Project, StoreError};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, path_id};

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

/// What a request may reach, checked from the caller and the ids of its
/// path. The caller is authenticated first (401); an id that is malformed
/// or names what the caller may not see is 404.
pub trait PathAccess: Sized + Send {
    fn check(
        state: &AppState,
        caller: Caller,
        path: &HashMap<String, String>,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

/// A member of the organization the path names (`{orgId}`).
pub struct OrgAccess {
    pub caller: Caller,
    pub org: OrgId,
    pub role: Role,
}

impl OrgAccess {
    /// Owners and admins pass; developers get 403.
    pub fn manager(&self) -> Result<Role, ApiError> {
        require_manager(self.role)?;
        Ok(self.role)
    }
}

impl PathAccess for OrgAccess {
    async fn check(state: &AppState, caller: Caller, path: &HashMap<String, String>) -> Result<Self, ApiError> {
        let org = path_id(param(path, "orgId")?, "organization")?;
        let role = org_role(state, &caller, org).await?;
        Ok(Self { caller, org, role })
    }
}

/// A project (`{projectId}`) of an organization the caller belongs to.
pub struct ProjectAccess {
    pub caller: Caller,
    pub project: Project,
    pub role: Role,
}

impl PathAccess for ProjectAccess {
    async fn check(state: &AppState, caller: Caller, path: &HashMap<String, String>) -> Result<Self, ApiError> {
        let id = path_id(param(path, "projectId")?, "project")?;
        let (project, role) = project(state, &caller, id).await?;
        Ok(Self { caller, project, role })
    }
}

/// An API key (`{keyId}`) the caller may see and manage (see [`api_key`]).
pub struct KeyAccess {
    pub key: ApiKey,
    /// The caller's role in the key's organization.
    pub role: Role,
}

impl PathAccess for KeyAccess {
    async fn check(state: &AppState, caller: Caller, path: &HashMap<String, String>) -> Result<Self, ApiError> {
        let id = path_id(param(path, "keyId")?, "API key")?;
        let (key, role) = api_key(state, &caller, id).await?;
        Ok(Self { key, role })
    }
}

fn param<'a>(path: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    path.get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::internal(format!("route without {{{name}}}")))
}

/// The caller and the ids of the path, as the route captured them.
async fn caller_and_path(parts: &mut Parts, state: &AppState) -> Result<(Caller, HashMap<String, String>), Response> {
    let caller = Caller::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let Path(path) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((caller, path))
}

/// An extractor of what a request without a body may reach.
pub struct Access<A>(pub A);

impl<A: PathAccess> FromRequestParts<AppState> for Access<A> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (caller, path) = caller_and_path(parts, state).await?;
        let access = A::check(state, caller, &path)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(access))
    }
}

/// What a request may reach, and its JSON body. The body is read before
/// access is checked, so a bad body is 400 whoever sends it.
pub struct AccessJson<A, T>(pub A, pub T);

impl<A: PathAccess, T: DeserializeOwned + Send> FromRequest<AppState> for AccessJson<A, T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let (caller, path) = caller_and_path(&mut parts, state).await?;
        let ApiJson(body) = ApiJson::<T>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let access = A::check(state, caller, &path)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(access, body))
    }
}

/// Owners pass; others get 403 with `message`.
pub fn require_owner(role: Role, message: &'static str) -> Result<(), ApiError> {
    if role == Role::Owner {
        Ok(())
    } else {
        Err(ApiError::forbidden(message))
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
