//! Projects: every member sees them; owners and admins change them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tally_core::{Name, OrgId, ProjectId};

use super::access::{self, not_found, org_role, require_manager};
use super::views::ProjectView;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Caller, field, path_id};

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Vec<ProjectView>>, ApiError> {
    let org: OrgId = path_id(&org_id, "organization")?;
    org_role(&state, &caller, org).await?;
    let projects = state.store.projects(org).await?;
    Ok(Json(projects.iter().map(ProjectView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(org_id): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    let org: OrgId = path_id(&org_id, "organization")?;
    require_manager(org_role(&state, &caller, org).await?)?;
    let name = field("name", Name::parse(&body.name))?;
    let project = state.store.create_project(org, &name).await?;
    Ok((StatusCode::CREATED, Json(ProjectView::from(&project))))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> Result<Json<ProjectView>, ApiError> {
    let id: ProjectId = path_id(&project_id, "project")?;
    let (project, _) = access::project(&state, &caller, id).await?;
    Ok(Json(ProjectView::from(&project)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<ProjectView>, ApiError> {
    let id: ProjectId = path_id(&project_id, "project")?;
    let (_, role) = access::project(&state, &caller, id).await?;
    require_manager(role)?;
    let name = field("name", Name::parse(&body.name))?;
    let project = state
        .store
        .rename_project(id, &name)
        .await
        .map_err(not_found("project"))?;
    Ok(Json(ProjectView::from(&project)))
}

/// Deletes the project and revokes its keys; its recorded usage stays.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ProjectId = path_id(&project_id, "project")?;
    let (_, role) = access::project(&state, &caller, id).await?;
    require_manager(role)?;
    state
        .store
        .delete_project(id, jiff::Timestamp::now())
        .await
        .map_err(not_found("project"))?;
    Ok(StatusCode::NO_CONTENT)
}
