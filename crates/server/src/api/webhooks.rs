//! An organization's webhooks: `/api/organizations/{orgId}/webhooks`, for
//! owners and admins. The signing secret is shown once, when a webhook is
//! created; every delivery and attempt can be read back, and a test
//! delivery sent.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tally_core::WebhookId;
use tally_store::{Attempt, Delivery, Webhook};

use super::access::{Access, AccessJson, OrgAccess, not_found};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::path_id;

/// Deliveries listed at most.
const LISTED: u32 = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    id: WebhookId,
    url: String,
    created_by: tally_core::UserId,
    created_at: Timestamp,
    /// Only in the answer that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url.clone(),
            created_by: w.created_by,
            created_at: w.created_at,
            secret: None,
        }
    }
}

fn delivery_view(d: &Delivery, attempts: &[Attempt]) -> Value {
    json!({
        "id": d.id,
        "event": d.event,
        "state": d.state.as_str(),
        "attempts": d.attempts,
        "nextAttemptAt": (d.state == tally_store::DeliveryState::Pending).then_some(d.next_attempt_at),
        "createdAt": d.created_at,
        "payload": serde_json::from_str::<Value>(&d.payload).unwrap_or(Value::Null),
        "attemptLog": attempts.iter().map(|a| json!({
            "number": a.number,
            "at": a.at,
            "status": a.status,
            "error": a.error,
            "durationMs": a.duration_ms,
        })).collect::<Vec<_>>(),
    })
}

fn url(raw: &str) -> Result<String, ApiError> {
    crate::alerts::webhook_url(raw).map_err(|e| ApiError::invalid("url", e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlBody {
    url: String,
}

pub async fn list(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    member.manager()?;
    let hooks = state.store.webhooks(member.org).await?;
    Ok(Json(hooks.iter().map(WebhookView::from).collect()))
}

pub async fn create(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, UrlBody>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    member.manager()?;
    let url = url(&body.url)?;
    let (webhook, secret) = crate::alerts::create_webhook(
        state.store.as_ref(),
        &state.hasher,
        member.org,
        url,
        member.caller.user_id,
    )
    .await?;
    let mut view = WebhookView::from(&webhook);
    view.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn get(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<WebhookView>, ApiError> {
    member.manager()?;
    let w = state
        .store
        .webhook(member.org, path_id::<WebhookId>(&id, "webhook")?)
        .await
        .map_err(not_found("webhook"))?;
    Ok(Json(WebhookView::from(&w)))
}

pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AccessJson(member, body): AccessJson<OrgAccess, UrlBody>,
) -> Result<Json<WebhookView>, ApiError> {
    member.manager()?;
    let id = path_id::<WebhookId>(&id, "webhook")?;
    let url = url(&body.url)?;
    let w = state
        .store
        .set_webhook_url(member.org, id, &url)
        .await
        .map_err(not_found("webhook"))?;
    Ok(Json(WebhookView::from(&w)))
}

pub async fn delete(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    member.manager()?;
    state
        .store
        .delete_webhook(member.org, path_id::<WebhookId>(&id, "webhook")?)
        .await
        .map_err(not_found("webhook"))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn deliveries(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    member.manager()?;
    let list = state
        .store
        .deliveries(member.org, path_id::<WebhookId>(&id, "webhook")?, LISTED)
        .await
        .map_err(not_found("webhook"))?;
    Ok(Json(list.iter().map(|(d, a)| delivery_view(d, a)).collect()))
}

/// Queues a test delivery to the webhook, sent at once.
pub async fn test(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    member.manager()?;
    let w = state
        .store
        .webhook(member.org, path_id::<WebhookId>(&id, "webhook")?)
        .await
        .map_err(not_found("webhook"))?;
    let now = Timestamp::now();
    let payload = json!({
        "type": "test",
        "text": format!("tally: a test delivery to webhook {}", w.id),
        "webhookId": w.id,
        "sentAt": now,
    });
    let d = state.store.queue_delivery(&w, "test", payload.to_string(), now).await?;
    state.alerts.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(delivery_view(&d, &[]))))
}
