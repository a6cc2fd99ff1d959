//! Projects: every member sees them; owners and admins change them (their
//! name, and whether and how long the gateway keeps their bodies).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tally_core::{Name, RetentionDays};
use tally_store::ProjectChange;

use super::NameBody;
use super::access::{Access, AccessJson, OrgAccess, ProjectAccess, not_found, require_manager};
use super::views::ProjectView;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::field;

pub async fn list(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<ProjectView>>, ApiError> {
    let projects = state.store.projects(member.org).await?;
    Ok(Json(projects.iter().map(ProjectView::from).collect()))
}

pub async fn create(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, NameBody>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    member.manager()?;
    let name = field("name", Name::parse(&body.name))?;
    let project = state.store.create_project(member.org, &name).await?;
    Ok((StatusCode::CREATED, Json(ProjectView::from(&project))))
}

pub async fn get(Access(access): Access<ProjectAccess>) -> Json<ProjectView> {
    Json(ProjectView::from(&access.project))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateBody {
    name: Option<String>,
    capture_bodies: Option<bool>,
    body_retention_days: Option<i64>,
}

/// Owners and admins rename a project and turn body capture on or off.
pub async fn update(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<ProjectAccess, UpdateBody>,
) -> Result<Json<ProjectView>, ApiError> {
    require_manager(access.role)?;
    let change = ProjectChange {
        name: body
            .name
            .as_deref()
            .map(|n| field("name", Name::parse(n)))
            .transpose()?,
        capture_bodies: body.capture_bodies,
        body_retention: body
            .body_retention_days
            .map(|d| field("bodyRetentionDays", RetentionDays::new(d)))
            .transpose()?,
    };
    let project = state
        .store
        .update_project(access.project.id, change)
        .await
        .map_err(not_found("project"))?;
    // The gateway reads the setting through the organization's cached settings.
    state.gateway.settings.invalidate(project.org_id);
    Ok(Json(ProjectView::from(&project)))
}

/// Deletes the project and revokes its keys; its recorded usage stays.
pub async fn delete(
    State(state): State<AppState>,
    Access(access): Access<ProjectAccess>,
) -> Result<StatusCode, ApiError> {
    require_manager(access.role)?;
    state
        .store
        .delete_project(access.project.id, jiff::Timestamp::now())
        .await
        .map_err(not_found("project"))?;
    Ok(StatusCode::NO_CONTENT)
}
