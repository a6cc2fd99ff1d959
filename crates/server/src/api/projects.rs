//! Projects: every member sees them; owners and admins change them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use tally_core::Name;

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

pub async fn update(
    State(state): State<AppState>,
    AccessJson(access, body): AccessJson<ProjectAccess, NameBody>,
) -> Result<Json<ProjectView>, ApiError> {
    require_manager(access.role)?;
    let name = field("name", Name::parse(&body.name))?;
    let project = state
        .store
        .rename_project(access.project.id, &name)
        .await
        .map_err(not_found("project"))?;
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
