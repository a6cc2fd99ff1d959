//! An organization's budgets: `/api/organizations/{orgId}/budgets`. Owners
//! and admins manage them; a developer sees the budgets that cover their
//! own keys. Every answer carries the budget's current period and what its
//! scope spent in it, read from the rollups the analytics read.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tally_core::{Amount, BudgetAction, BudgetId, BudgetScope, Money, OrgId, Period, Thresholds, TimeZone};
use tally_store::{ApiKey, Budget};

use super::access::{Access, AccessJson, OrgAccess};
use crate::AppState;
use crate::budgets::spend;
use crate::error::ApiError;
use crate::extract::{field, path_id};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeView {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Option<uuid::Uuid>,
}

/// A budget's current period.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentView {
    /// `null` for a lifetime budget.
    period_start: Option<Timestamp>,
    /// When the period resets; `null` for a lifetime budget.
    resets_at: Option<Timestamp>,
    spent: Money,
    /// The amount less the spend, never below zero.
    remaining: Money,
    /// `ok`, `exceeded` (an alert-only budget past its amount) or
    /// `blocked` (a blocking budget past its amount: the gateway refuses).
    status: &'static str,
    /// The thresholds the spend has reached.
    reached: Vec<u16>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetView {
    id: BudgetId,
    scope: ScopeView,
    amount: Money,
    period: &'static str,
    timezone: String,
    action: &'static str,
    thresholds: Vec<u16>,
    created_by: tally_core::UserId,
    created_at: Timestamp,
    current: CurrentView,
}

impl BudgetView {
    pub fn new(b: &Budget, spent: Money, now: Timestamp) -> Self {
        let window = b.period.window(&b.timezone, now);
        let amount = b.amount.money();
        let over = spent >= amount;
        let reached = b.thresholds.reached(spent, b.amount).collect();
        Self {
            id: b.id,
            scope: ScopeView {
                kind: b.scope.kind(),
                id: b.scope.id(),
            },
            amount,
            period: b.period.as_str(),
            timezone: b.timezone.name().to_owned(),
            action: b.action.as_str(),
            thresholds: b.thresholds.percents().to_vec(),
            created_by: b.created_by,
            created_at: b.created_at,
            current: CurrentView {
                period_start: window.start,
                resets_at: window.end,
                spent,
                remaining: Money::from_nanos(amount.nanos().saturating_sub(spent.nanos()).max(0)),
                status: match (over, b.action) {
                    (false, _) => "ok",
                    (true, BudgetAction::Alert) => "exceeded",
                    (true, BudgetAction::Block) => "blocked",
                },
                reached,
            },
        }
    }
}

/// A budget with its spend now.
pub async fn view(state: &AppState, b: &Budget) -> Result<BudgetView, ApiError> {
    let now = state.gateway.clock.now();
    let spent = spend::spent(state.store.as_ref(), b, now).await?;
    Ok(BudgetView::new(b, spent, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    scope: ScopeBody,
    amount: String,
    period: String,
    timezone: Option<String>,
    action: String,
    thresholds: Option<Vec<u16>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    amount: Option<String>,
    period: Option<String>,
    timezone: Option<String>,
    action: Option<String>,
    thresholds: Option<Vec<u16>>,
}

/// The budgets of `org` that cover some key of `keys`.
fn covering<'a>(budgets: &'a [Budget], keys: &'a [ApiKey]) -> impl Iterator<Item = &'a Budget> {
    budgets.iter().filter(|b| keys.iter().any(|k| spend::applies(b, k)))
}

/// The budgets the caller may see: all for a manager, else those covering
/// one of their own keys.
async fn visible(state: &AppState, member: &OrgAccess) -> Result<Vec<Budget>, ApiError> {
    let budgets = state.store.budgets(member.org).await?;
    if member.role.is_manager() {
        return Ok(budgets);
    }
    let keys = state
        .store
        .api_keys(member.org, None, Some(member.caller.user_id))
        .await?;
    Ok(covering(&budgets, &keys).cloned().collect())
}

pub async fn list(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<BudgetView>>, ApiError> {
    let mut out = Vec::new();
    for b in visible(&state, &member).await? {
        out.push(view(&state, &b).await?);
    }
    Ok(Json(out))
}

pub async fn get(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<BudgetView>, ApiError> {
    let id = path_id::<BudgetId>(&id, "budget")?;
    let b = visible(&state, &member)
        .await?
        .into_iter()
        .find(|b| b.id == id)
        .ok_or_else(|| ApiError::not_found("budget"))?;
    Ok(Json(view(&state, &b).await?))
}

/// The scope, once what it names is known to be of `org` (else 404).
async fn scope_in(state: &AppState, org: OrgId, body: &ScopeBody) -> Result<BudgetScope, ApiError> {
    let scope = field("scope", BudgetScope::parse(&body.kind, body.id.as_deref()))?;
    let gone = || ApiError::not_found(scope.kind()).with_param("scope.id");
    if spend::belongs(state.store.as_ref(), org, scope).await {
        Ok(scope)
    } else {
        Err(gone())
    }
}

fn zone(raw: &str) -> Result<TimeZone, ApiError> {
    field("timezone", TimeZone::parse(raw))
}

fn thresholds(raw: Vec<u16>) -> Result<Thresholds, ApiError> {
    field("thresholds", Thresholds::new(raw))
}

pub async fn create(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, CreateBody>,
) -> Result<(StatusCode, Json<BudgetView>), ApiError> {
    member.manager()?;
    let budget = Budget {
        id: BudgetId::new(),
        org_id: member.org,
        scope: scope_in(&state, member.org, &body.scope).await?,
        amount: field("amount", body.amount.parse::<Amount>())?,
        period: field("period", body.period.parse::<Period>())?,
        timezone: match body.timezone.as_deref() {
            Some(z) => zone(z)?,
            None => state.store.org(member.org).await?.timezone,
        },
        action: field("action", body.action.parse::<BudgetAction>())?,
        thresholds: thresholds(body.thresholds.unwrap_or_default())?,
        created_by: member.caller.user_id,
        created_at: Timestamp::now(),
    };
    let budget = state.store.create_budget(budget).await?;
    state.budgets.refresh(state.store.as_ref()).await;
    Ok((StatusCode::CREATED, Json(view(&state, &budget).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AccessJson(member, body): AccessJson<OrgAccess, UpdateBody>,
) -> Result<Json<BudgetView>, ApiError> {
    member.manager()?;
    let id = path_id::<BudgetId>(&id, "budget")?;
    let mut b = state
        .store
        .budget(member.org, id)
        .await
        .map_err(super::access::not_found("budget"))?;
    if let Some(amount) = body.amount {
        b.amount = field("amount", amount.parse())?;
    }
    if let Some(period) = body.period {
        b.period = field("period", period.parse())?;
    }
    if let Some(z) = body.timezone {
        b.timezone = zone(&z)?;
    }
    if let Some(action) = body.action {
        b.action = field("action", action.parse())?;
    }
    if let Some(t) = body.thresholds {
        b.thresholds = thresholds(t)?;
    }
    let b = state
        .store
        .update_budget(b)
        .await
        .map_err(super::access::not_found("budget"))?;
    state.budgets.refresh(state.store.as_ref()).await;
    Ok(Json(view(&state, &b).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    member.manager()?;
    let id = path_id::<BudgetId>(&id, "budget")?;
    state
        .store
        .delete_budget(member.org, id)
        .await
        .map_err(super::access::not_found("budget"))?;
    state.budgets.refresh(state.store.as_ref()).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The budgets covering `key`, with what each has left, for `/v1/usage`.
pub async fn of_key(state: &AppState, key: &ApiKey) -> Result<Vec<BudgetView>, ApiError> {
    let budgets = state.store.budgets(key.org_id).await?;
    let mut out = Vec::new();
    for b in covering(&budgets, std::slice::from_ref(key)) {
        out.push(view(state, b).await?);
    }
    Ok(out)
}
