//! An organization's model aliases (`alias → provider/model`) and price
//! overrides. Members read them; owners and admins change them. Changes
//! reach the gateway at once in this process (and within seconds in others).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tally_catalog::PerMillion;
use tally_core::{ModelName, Money, ParseError};
use tally_store::{ModelMapping, PriceOverride};
use uuid::Uuid;

use super::access::{Access, AccessJson, OrgAccess, not_found};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::field;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingView {
    id: Uuid,
    alias: String,
    target: String,
    created_at: Timestamp,
}

impl From<&ModelMapping> for MappingView {
    fn from(m: &ModelMapping) -> Self {
        Self {
            id: m.id,
            alias: m.alias.clone(),
            target: m.target.clone(),
            created_at: m.created_at,
        }
    }
}

fn uuid_of(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(raw).map_err(|_| ApiError::not_found(what))
}

pub async fn list_mappings(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<MappingView>>, ApiError> {
    let org = member.org;
    let mappings = state.store.model_mappings(org).await?;
    Ok(Json(mappings.iter().map(MappingView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    alias: String,
    target: String,
}

pub async fn create_mapping(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, MappingBody>,
) -> Result<(StatusCode, Json<MappingView>), ApiError> {
    member.manager()?;
    let org = member.org;
    let alias = field("alias", ModelName::parse(&body.alias))?;
    let target = field("target", ModelName::parse(&body.target))?;
    let configured = target
        .as_str()
        .split_once('/')
        .is_some_and(|(provider, model)| !model.is_empty() && state.gateway.providers.get(provider).is_some());
    if !configured {
        return Err(ApiError::invalid(
            "target",
            ParseError::new(format!("`{target}` is not `provider/model` with a configured provider")),
        ));
    }
    let mapping = ModelMapping {
        id: Uuid::now_v7(),
        org_id: org,
        alias: alias.to_string(),
        target: target.to_string(),
        created_at: Timestamp::now(),
    };
    let mapping = state
        .store
        .create_model_mapping(mapping)
        .await
        .map_err(|e| ApiError::from(e).with_param("alias"))?;
    state.gateway.settings.invalidate(org);
    Ok((StatusCode::CREATED, Json(MappingView::from(&mapping))))
}

pub async fn delete_mapping(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, mapping_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    member.manager()?;
    let org = member.org;
    let id = uuid_of(&mapping_id, "model mapping")?;
    state
        .store
        .delete_model_mapping(org, id)
        .await
        .map_err(not_found("model mapping"))?;
    state.gateway.settings.invalidate(org);
    Ok(StatusCode::NO_CONTENT)
}

/// Prices as decimal strings of USD per million tokens.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceView {
    id: Uuid,
    model: String,
    input: Money,
    output: Money,
    cached_input: Option<Money>,
    cache_write: Option<Money>,
    reasoning: Option<Money>,
    created_at: Timestamp,
}

impl From<&PriceOverride> for PriceView {
    fn from(p: &PriceOverride) -> Self {
        Self {
            id: p.id,
            model: p.model.clone(),
            input: Money::from_nanos(p.input),
            output: Money::from_nanos(p.output),
            cached_input: p.cached_input.map(Money::from_nanos),
            cache_write: p.cache_write.map(Money::from_nanos),
            reasoning: p.reasoning.map(Money::from_nanos),
            created_at: p.created_at,
        }
    }
}

pub async fn list_prices(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
) -> Result<Json<Vec<PriceView>>, ApiError> {
    let org = member.org;
    let prices = state.store.price_overrides(org).await?;
    Ok(Json(prices.iter().map(PriceView::from).collect()))
}

/// Every price is a decimal string of USD per million tokens (`"2.5"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PriceBody {
    /// A routed model (`provider/model`) or a canonical model name.
    model: String,
    input: String,
    output: String,
    cached_input: Option<String>,
    cache_write: Option<String>,
    reasoning: Option<String>,
}

fn nanos(param: &str, p: Result<PerMillion, ParseError>) -> Result<i64, ApiError> {
    let p = field(param, p)?;
    i64::try_from(p.nanos()).map_err(|_| ApiError::invalid(param, ParseError::new("too large")))
}

pub async fn put_price(
    State(state): State<AppState>,
    AccessJson(member, body): AccessJson<OrgAccess, PriceBody>,
) -> Result<Json<PriceView>, ApiError> {
    member.manager()?;
    let org = member.org;
    let model = field("model", ModelName::parse(&body.model))?;
    let optional = |param: &str, v: &Option<String>| {
        v.as_deref()
            .map(|t| nanos(param, PerMillion::from_usd_per_million(t)))
            .transpose()
    };
    let price = PriceOverride {
        id: Uuid::now_v7(),
        org_id: org,
        model: model.to_string(),
        input: nanos("input", PerMillion::from_usd_per_million(&body.input))?,
        output: nanos("output", PerMillion::from_usd_per_million(&body.output))?,
        cached_input: optional("cachedInput", &body.cached_input)?,
        cache_write: optional("cacheWrite", &body.cache_write)?,
        reasoning: optional("reasoning", &body.reasoning)?,
        created_at: Timestamp::now(),
    };
    let price = state.store.put_price_override(price).await?;
    state.gateway.settings.invalidate(org);
    Ok(Json(PriceView::from(&price)))
}

pub async fn delete_price(
    State(state): State<AppState>,
    Access(member): Access<OrgAccess>,
    Path((_, price_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    member.manager()?;
    let org = member.org;
    let id = uuid_of(&price_id, "price override")?;
    state
        .store
        .delete_price_override(org, id)
        .await
        .map_err(not_found("price override"))?;
    state.gateway.settings.invalidate(org);
    Ok(StatusCode::NO_CONTENT)
}
