//! The management API under `/api`.

pub(crate) mod access;
mod auth;
pub(crate) mod budgets;
mod invitations;
mod keys;
mod members;
mod model_settings;
mod orgs;
mod projects;
pub(crate) mod views;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::ApiError;

/// The body of a create or rename that takes only a name.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    name: String,
}

/// Management bodies are small; anything bigger is refused with 413.
const BODY_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::analytics::openapi))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/me/tokens", get(auth::list_tokens).post(auth::create_token))
        .route("/me/tokens/{tokenId}", axum::routing::delete(auth::delete_token))
        .route("/organizations", get(orgs::list).post(orgs::create))
        .route("/organizations/{orgId}", get(orgs::get).patch(orgs::update))
        .route(
            "/organizations/{orgId}/members",
            get(members::list).post(members::add_removed),
        )
        .route(
            "/organizations/{orgId}/invitations",
            get(invitations::list).post(invitations::create),
        )
        .route(
            "/organizations/{orgId}/invitations/{invitationId}",
            axum::routing::delete(invitations::revoke),
        )
        .route("/invitations/lookup", post(invitations::show))
        .route("/invitations/accept", post(invitations::accept))
        .route(
            "/organizations/{orgId}/members/{userId}",
            axum::routing::patch(members::update).delete(members::remove),
        )
        .route(
            "/organizations/{orgId}/projects",
            get(projects::list).post(projects::create),
        )
        .route("/organizations/{orgId}/api-keys", get(keys::list_for_org))
        .route(
            "/organizations/{orgId}/budgets",
            get(budgets::list).post(budgets::create),
        )
        .route(
            "/organizations/{orgId}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/organizations/{orgId}/webhooks/{webhookId}",
            get(webhooks::get).patch(webhooks::update).delete(webhooks::delete),
        )
        .route(
            "/organizations/{orgId}/webhooks/{webhookId}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/organizations/{orgId}/webhooks/{webhookId}/test", post(webhooks::test))
        .route(
            "/organizations/{orgId}/budgets/{budgetId}",
            get(budgets::get).patch(budgets::update).delete(budgets::delete),
        )
        .route(
            "/organizations/{orgId}/model-mappings",
            get(model_settings::list_mappings).post(model_settings::create_mapping),
        )
        .route(
            "/organizations/{orgId}/model-mappings/{mappingId}",
            axum::routing::delete(model_settings::delete_mapping),
        )
        .route(
            "/organizations/{orgId}/price-overrides",
            get(model_settings::list_prices).put(model_settings::put_price),
        )
        .route(
            "/organizations/{orgId}/price-overrides/{priceId}",
            axum::routing::delete(model_settings::delete_price),
        )
        .route(
            "/projects/{projectId}",
            get(projects::get).patch(projects::update).delete(projects::delete),
        )
        .route(
            "/projects/{projectId}/api-keys",
            get(keys::list_for_project).post(keys::create),
        )
        .route("/api-keys/{keyId}", get(keys::get).patch(keys::update))
        .route("/api-keys/{keyId}/revoke", post(keys::revoke))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(crate::security::same_origin))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}
