//! Organizations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tally_core::{Name, Plan, Role};

use super::access::{Access, AccessJson, OrgAccess};
use super::views::OrgView;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, field};

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<OrgView>>, ApiError> {
    let orgs = state.store.orgs_of_user(caller.user_id).await?;
    Ok(Json(orgs.iter().map(|(o, role)| OrgView::new(o, *role)).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    plan: Option<String>,
}

/// Any signed-in user may create an organization and becomes its owner.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<OrgView>), ApiError> {
    let name = field("name", Name::parse(&body.name))?;
    let plan = body
        .plan
        .as_deref()
        .map(|p| field("plan", p.parse::<Plan>()))
        .transpose()?
        .unwrap_or(Plan::Free);
    let org = state.store.create_org(&name, plan, caller.user_id).await?;
    Ok((StatusCode::CREATED, Json(OrgView::new(&org, Role::Owner))))
}

pub async fn get(State(state): State<AppState>, Access(member): Access<OrgAccess>) -> Result<Json<OrgView>, ApiError> {
    let org = state.store.org(member.org).await?;
    Ok(Json(OrgView::new(&org, member.role)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    name: Option<String>,
    plan: Option<String>,
    timezone: Option<String>,
}

/// Owners and admins rename and set the zone; only owners change the plan.
pub async fn update(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, UpdateBody>,
) -> Result<Json<OrgView>, ApiError> {
    let role = member.manager()?;
    let name = body
        .name
        .as_deref()
        .map(|n| field("name", Name::parse(n)))
        .transpose()?;
    let plan = body
        .plan
        .as_deref()
        .map(|p| field("plan", p.parse::<Plan>()))
        .transpose()?;
    let zone = body
        .timezone
        .as_deref()
        .map(|z| field("timezone", tally_core::TimeZone::parse(z)))
        .transpose()?;
    if plan.is_some() && role != Role::Owner {
        return Err(ApiError::forbidden("only owners may change the plan"));
    }
    let mut org = state.store.update_org(member.org, name.as_ref(), plan).await?;
    if let Some(zone) = zone {
        org = state.store.set_org_timezone(member.org, &zone).await?;
    }
    Ok(Json(OrgView::new(&org, role)))
}
