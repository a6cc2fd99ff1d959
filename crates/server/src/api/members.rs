//! Memberships. People join by invitation (`invitations.rs`). Owners and
//! admins manage members; only owners grant,
//! change or remove the owner role; anyone may leave; an organization
//! always keeps an owner.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tally_core::{OrgId, Role, UserId};

use super::access::{Access, OrgAccess, not_found, org_role, require_manager, require_owner};
use super::views::MemberView;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, field, path_id};

fn ids(org_id: &str, user_id: &str) -> Result<(OrgId, UserId), ApiError> {
    Ok((path_id(org_id, "organization")?, path_id(user_id, "member")?))
}

fn owner_only(caller_role: Role) -> Result<(), ApiError> {
    require_owner(caller_role, "only owners may grant or change the owner role")
}

pub async fn list(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    member.manager()?;
    let members = state.store.members(member.org).await?;
    Ok(Json(members.iter().map(MemberView::from).collect()))
}

/// Adding members directly is gone: it created accounts with a password
/// the caller chose, told whether an e-mail had an account, and added
/// people without their consent. People join by invitation.
pub async fn add_removed() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "use_invitations",
        "members join by invitation: POST /api/organizations/{orgId}/invitations, then the invitee accepts",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    role: String,
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<MemberView>, ApiError> {
    let (org, user) = ids(&org_id, &user_id)?;
    let caller_role = org_role(&state, &caller, org).await?;
    require_manager(caller_role)?;
    let role: Role = field("role", body.role.parse())?;
    let target = state.store.member(org, user).await.map_err(not_found("member"))?;
    if role == Role::Owner || target.role == Role::Owner {
        owner_only(caller_role)?;
    }
    let member = state
        .store
        .set_role(org, user, role)
        .await
        .map_err(not_found("member"))?;
    Ok(Json(MemberView::from(&member)))
}

/// Removes a member (owners and admins), or leaves (anyone, for themselves).
/// Their keys keep working and their spend stays attributed to them.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (org, user) = ids(&org_id, &user_id)?;
    let caller_role = org_role(&state, &caller, org).await?;
    let leaving = user == caller.user_id;
    if !leaving {
        // Before looking the target up: a developer gets 403 whatever the id,
        // as with PATCH, instead of learning who is a member from 403 vs 404.
        require_manager(caller_role)?;
    }
    let target = state.store.member(org, user).await.map_err(not_found("member"))?;
    if !leaving && target.role == Role::Owner {
        owner_only(caller_role)?;
    }
    state
        .store
        .remove_member(org, user)
        .await
        .map_err(not_found("member"))?;
    Ok(StatusCode::NO_CONTENT)
}
