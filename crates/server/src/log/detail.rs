//! `GET /api/activity/{eventId}`: every recorded field of one request,
//! with who and what it belongs to, how it was priced and, when its
//! project captured them, its bodies.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use tally_core::{ActivityEvent, EventId, Money, Name, ProjectId, TimeZone, UserId};
use tally_store::RequestBodies;

use super::view::EventView;
use crate::AppState;
use crate::analytics::Params;
use crate::api::access;
use crate::api::views::ApiKeyView;
use crate::error::ApiError;
use crate::extract::{Caller, path_id};
use crate::gateway::routing::Providers;
use crate::gateway::settings::prices_for;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    #[serde(flatten)]
    event: EventView,
    /// The id the gateway answered with in `x-tally-request-id`.
    request_id: EventId,
    timezone: String,
    /// The key as it is now (`null` when it is no longer stored).
    key: Option<ApiKeyView>,
    project: ProjectRef,
    member: MemberRef,
    /// Output tokens per second after the first token, for streams with
    /// output.
    tokens_per_second: Option<f64>,
    pricing: Pricing,
    /// The bodies captured (`null` when none were, or they are past their
    /// project's retention).
    bodies: Option<BodiesView>,
}

/// Captured bodies as text: bytes that are not UTF-8 are replaced.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BodiesView {
    request: String,
    response: String,
    request_truncated: bool,
    response_truncated: bool,
}

impl From<RequestBodies> for BodiesView {
    fn from(b: RequestBodies) -> Self {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Self {
            request: text(&b.request),
            response: text(&b.response),
            request_truncated: b.request_truncated,
            response_truncated: b.response_truncated,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProjectRef {
    id: ProjectId,
    name: Option<Name>,
    /// Whether the project captures bodies now (`null` when it is deleted).
    capture_bodies: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberRef {
    user_id: UserId,
    name: Option<Name>,
    email: Option<String>,
}

/// The request's tokens at the prices that apply to its model now. The
/// event records its cost, not the prices: when an override or the
/// catalog changed since, `matchesRecorded` is false and `cost` of the
/// event stays what was charged.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pricing {
    /// `override`, `catalog`, or `null` when the model has no price now.
    source: Option<&'static str>,
    charges: Vec<ChargeView>,
    /// The sum of the charges, rounded once (as the gateway prices).
    cost_now: Option<Money>,
    matches_recorded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChargeView {
    class: &'static str,
    tokens: u64,
    /// USD per million tokens.
    price_per_million: String,
    cost: Money,
}

async fn pricing(state: &AppState, e: &ActivityEvent) -> Result<Pricing, ApiError> {
    let unpriced = Pricing {
        source: None,
        charges: Vec::new(),
        cost_now: None,
        matches_recorded: e.cost == Money::ZERO,
    };
    let (Some(provider), Some(routed), Some(canonical)) = (&e.provider, &e.routed_model, &e.canonical_model) else {
        return Ok(unpriced);
    };
    let Some(upstream) = Providers::upstream_of(provider, routed) else {
        return Ok(unpriced);
    };
    let settings = state.gateway.settings.get(state.store.as_ref(), e.org_id).await?;
    let Some((prices, source)) = prices_for(&settings, state.gateway.catalog, provider, upstream, routed, canonical)
    else {
        return Ok(unpriced);
    };
    let now = tally_catalog::cost(&prices, &e.usage);
    Ok(Pricing {
        source: Some(source.as_str()),
        charges: tally_catalog::charges(&prices, &e.usage)
            .iter()
            .map(|c| ChargeView {
                class: c.class,
                tokens: c.tokens,
                price_per_million: c.price.to_string(),
                cost: c.cost(),
            })
            .collect(),
        cost_now: Some(now),
        matches_recorded: now == e.cost,
    })
}

fn tokens_per_second(e: &ActivityEvent) -> Option<f64> {
    let output = e.usage.output.filter(|n| *n > 0)?;
    let after_first = e.latency_us.checked_sub(e.ttft_us?).filter(|us| *us > 0)?;
    e.stream.then(|| output as f64 / (after_first as f64 / 1e6))
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Detail>, ApiError> {
    let id: EventId = path_id(&raw, "request")?;
    let tz = match p.get("timezone") {
        Some(name) => TimeZone::parse(name).map_err(|e| ApiError::invalid("timezone", e))?,
        None => TimeZone::utc(),
    };
    let e = state.store.event(id).await.map_err(access::not_found("request"))?;
    // Another organization's request, or another member's for a developer:
    // not found, like every resource out of sight.
    let role = access::org_role(&state, &caller, e.org_id).await.map_err(|e| {
        if e.status == axum::http::StatusCode::NOT_FOUND {
            ApiError::not_found("request")
        } else {
            e
        }
    })?;
    if !role.is_manager() && e.created_by != caller.user_id {
        return Err(ApiError::not_found("request"));
    }
    let key = state.store.api_key(e.api_key_id).await.ok();
    let user = state.store.user(e.created_by).await.ok();
    let project = state.store.project(e.project_id).await.ok();
    let pricing = pricing(&state, &e).await?;
    let bodies = state.store.bodies(e.id).await?;
    let detail = Detail {
        request_id: e.id,
        timezone: tz.name().to_owned(),
        key: key.as_ref().map(|k| ApiKeyView::new(k, user.as_ref())),
        project: ProjectRef {
            id: e.project_id,
            capture_bodies: project.as_ref().map(|p| p.capture_bodies),
            name: project.map(|p| p.name),
        },
        member: MemberRef {
            user_id: e.created_by,
            name: user.as_ref().map(|u| u.name.clone()),
            email: user.as_ref().map(|u| u.email.to_string()),
        },
        tokens_per_second: tokens_per_second(&e),
        pricing,
        bodies: bodies.map(BodiesView::from),
        event: EventView::new(e.clone(), &tz, key.map(|k| k.name)),
    };
    Ok(Json(detail))
}
