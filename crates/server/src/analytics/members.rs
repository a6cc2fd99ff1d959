//! Spend by member: who on the team spends what. Spend is attributed to the
//! member who created the key. For owners and admins of enterprise
//! organizations only.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use tally_core::{Email, Money, Name, OrgId, ParseError, Role, UsageTotals, UsageView, UserId};
use tally_store::{Dim, DimValue, Scope};

use super::{Params, Range, RangeView, by_cost, id_param, sum, text};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, path_id};

/// The organization of a member analytics request, after the shared rule
/// (see `authorize.rs`): not a member → 404; not owner or admin → 403
/// `forbidden`; not on the enterprise plan → 403 `plan_upgrade_required`.
async fn authorize(state: &AppState, caller: &Caller, p: &Params) -> Result<OrgId, ApiError> {
    let org: OrgId = id_param(p, "organizationId")?
        .ok_or_else(|| ApiError::invalid("organizationId", ParseError::new("is required")))?;
    super::authorize::authorize(state, caller, Scope::Org(org), &[Dim::Member]).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRow {
    user_id: Option<UserId>,
    name: String,
    email: Option<Email>,
    role: Option<Role>,
    former: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    member_count: Option<usize>,
    api_key_count: usize,
    usage: UsageView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersView {
    range: RangeView,
    members: Vec<MemberRow>,
    totals: UsageView,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<MembersView>, ApiError> {
    let org = authorize(&state, &caller, &p).await?;
    let range = Range::parse(&p)?;
    let members = state.store.members(org).await?;
    let keys = state.store.api_keys(org, None, None).await?;
    let mut key_counts: HashMap<UserId, usize> = HashMap::new();
    for k in &keys {
        *key_counts.entry(k.created_by).or_default() += 1;
    }
    let mut spend: HashMap<UserId, UsageTotals> = HashMap::new();
    for (key, t) in state
        .store
        .usage(range.query(Scope::Org(org), vec![Dim::Member]))
        .await?
    {
        if let Some(DimValue::Id(u)) = key.first() {
            spend.insert(UserId::from_uuid(*u), t);
        }
    }

    let current: BTreeSet<UserId> = members.iter().map(|m| m.user_id).collect();
    let mut rows: Vec<(MemberRow, UsageTotals)> = members
        .iter()
        .map(|m| {
            let t = spend.get(&m.user_id).copied().unwrap_or_default();
            let row = MemberRow {
                user_id: Some(m.user_id),
                name: m.name.to_string(),
                email: Some(m.email.clone()),
                role: Some(m.role),
                former: false,
                member_count: None,
                api_key_count: key_counts.get(&m.user_id).copied().unwrap_or(0),
                usage: UsageView::from(&t),
            };
            (row, t)
        })
        .collect();
    // Everyone who created keys or spent here but is no longer a member.
    let former: BTreeSet<UserId> = key_counts
        .keys()
        .chain(spend.keys())
        .filter(|u| !current.contains(u))
        .copied()
        .collect();
    if !former.is_empty() {
        let t = sum(former.iter().filter_map(|u| spend.get(u)));
        let row = MemberRow {
            user_id: None,
            name: "Former members".to_owned(),
            email: None,
            role: None,
            former: true,
            member_count: Some(former.len()),
            api_key_count: former.iter().map(|u| key_counts.get(u).copied().unwrap_or(0)).sum(),
            usage: UsageView::from(&t),
        };
        rows.push((row, t));
    }
    by_cost(&mut rows, |r| r.name.clone());
    let totals = sum(rows.iter().map(|(_, t)| t));
    Ok(Json(MembersView {
        range: range.view(),
        members: rows.into_iter().map(|(r, _)| r).collect(),
        totals: UsageView::from(&totals),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInfo {
    user_id: UserId,
    name: Name,
    email: Email,
    role: Option<Role>,
    former: bool,
    api_key_count: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MostUsed {
    model: Option<String>,
    provider: Option<String>,
    app: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranked {
    #[serde(flatten)]
    label: HashMap<&'static str, Option<String>>,
    usage: UsageView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Day {
    date: String,
    cost: Money,
    requests: u64,
    tokens: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDetail {
    range: RangeView,
    member: MemberInfo,
    summary: UsageView,
    most_used: MostUsed,
    cost_by_model: Vec<Ranked>,
    top_providers: Vec<Ranked>,
    top_apps: Vec<Ranked>,
    timeseries: Vec<Day>,
}

/// Rows of one text dimension, by cost; and the label with the most requests.
fn ranked(
    rows: Vec<(Vec<DimValue>, UsageTotals)>,
    field: &'static str,
    skip_none: bool,
) -> (Vec<Ranked>, Option<String>) {
    let mut list: Vec<(Option<String>, UsageTotals)> = rows
        .into_iter()
        .map(|(k, t)| (k.first().and_then(text), t))
        .filter(|(l, _)| !(skip_none && l.is_none()))
        .collect();
    let most = list
        .iter()
        .filter(|(l, _)| l.is_some())
        .max_by(|(a, x), (b, y)| x.requests.cmp(&y.requests).then_with(|| b.cmp(a)))
        .and_then(|(l, _)| l.clone());
    by_cost(&mut list, |l| l.clone().unwrap_or_default());
    let out = list
        .into_iter()
        .map(|(l, t)| Ranked {
            label: HashMap::from([(field, l)]),
            usage: UsageView::from(&t),
        })
        .collect();
    (out, most)
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<MemberDetail>, ApiError> {
    let org = authorize(&state, &caller, &p).await?;
    let range = Range::parse(&p)?;
    let user_id: UserId = path_id(&user_id, "member")?;
    let role = state.store.role_of(org, user_id).await?;
    let keys = state.store.api_keys(org, None, Some(user_id)).await?;
    // A former member is still here through the keys they created.
    if role.is_none() && keys.is_empty() {
        return Err(ApiError::not_found("member"));
    }
    let user = state.store.user(user_id).await?;
    let scope = Scope::Member(org, user_id);
    let q = |dims: Vec<Dim>| range.query(scope, dims);
    let summary = sum(state.store.usage(q(Vec::new())).await?.iter().map(|(_, t)| t));
    let (cost_by_model, model) = ranked(state.store.usage(q(vec![Dim::CanonicalModel])).await?, "model", false);
    let (top_providers, provider) = ranked(state.store.usage(q(vec![Dim::Provider])).await?, "provider", true);
    let (top_apps, app) = ranked(state.store.usage(q(vec![Dim::App])).await?, "app", true);

    let days = range.day_starts()?;
    let starts: Vec<i64> = days.iter().map(|(_, b)| *b).collect();
    let mut per_day = vec![UsageTotals::default(); days.len()];
    let daily = range.query_periods(scope, vec![Dim::Bucket], starts.clone());
    for (key, t) in state.store.usage(daily).await? {
        // Labelled by the store with its day's first bucket.
        if let Some(DimValue::Bucket(b)) = key.first()
            && let Ok(i) = starts.binary_search(b)
        {
            per_day[i].add(&t);
        }
    }
    let timeseries = days
        .iter()
        .zip(per_day)
        .map(|((d, _), t)| Day {
            date: d.to_string(),
            cost: t.cost,
            requests: t.requests,
            tokens: t.tokens().total,
        })
        .collect();

    Ok(Json(MemberDetail {
        range: range.view(),
        member: MemberInfo {
            user_id,
            name: user.name,
            email: user.email,
            role,
            former: role.is_none(),
            api_key_count: keys.len(),
        },
        summary: UsageView::from(&summary),
        most_used: MostUsed { model, provider, app },
        cost_by_model,
        top_providers,
        top_apps,
        timeseries,
    }))
}
