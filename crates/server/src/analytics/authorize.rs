//! The one authorization rule of every analytics read (JSON and CSV alike),
//! decided by what is read (the scope) and how it is broken down (the
//! dimensions), never by which endpoint asks:
//!
//! 1. The scope: a project, for its organization's members; one API key, for
//!    those who can see it (owners and admins: every key; developers: the
//!    keys they created); a whole organization or one member's keys, for
//!    owners and admins. Not a member, or a key out of sight: 404.
//! 2. A breakdown by member (or one member's keys), for owners and admins
//!    (403 `forbidden`), of organizations on the enterprise plan (403
//!    `plan_upgrade_required`), in that order.
//! 3. A breakdown by API key of a scope wider than one key, for owners and
//!    admins (403 `forbidden`): it would show other members' keys.

use tally_core::{OrgId, Plan};
use tally_store::{Dim, Scope};

use crate::AppState;
use crate::api::access;
use crate::error::ApiError;
use crate::extract::Caller;

/// Checks that `caller` may read `scope` grouped by `dims`; returns the
/// scope's organization.
pub async fn authorize(state: &AppState, caller: &Caller, scope: Scope, dims: &[Dim]) -> Result<OrgId, ApiError> {
    let (org, role) = match scope {
        Scope::Project(id) => {
            let (project, role) = access::project(state, caller, id).await?;
            (project.org_id, role)
        }
        Scope::ApiKey(id) => {
            let (key, role) = access::api_key(state, caller, id).await?;
            (key.org_id, role)
        }
        Scope::Org(org) | Scope::Member(org, _) => (org, access::org_role(state, caller, org).await?),
    };
    let by_member = dims.contains(&Dim::Member) || matches!(scope, Scope::Member(..));
    let by_key = dims.contains(&Dim::ApiKey) && !matches!(scope, Scope::ApiKey(_));
    if !role.is_manager() {
        let refused = if by_member {
            Some("member analytics are for owners and admins")
        } else if by_key {
            Some("a breakdown by API key is for owners and admins; developers can read each of their own keys")
        } else if matches!(scope, Scope::Org(_)) {
            Some("organization-wide analytics are for owners and admins")
        } else {
            None
        };
        if let Some(message) = refused {
            return Err(ApiError::forbidden(message));
        }
    }
    if by_member && state.store.org(org).await?.plan != Plan::Enterprise {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "plan_upgrade_required",
            "member analytics need the enterprise plan",
        ));
    }
    Ok(org)
}
